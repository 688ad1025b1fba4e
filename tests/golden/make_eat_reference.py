"""Makes ``eat_reference.pt``: a tiny EAT checkpoint in the published fairseq layout with the outputs of the public
implementation, which ``tests/test_eat.py`` compares asdbench's own code against. Run once, by hand, outside the
asdbench venv:

    git clone https://github.com/cwx-worst-one/EAT        # models/ read at commit 06c1c34
    python3.11 -m venv /tmp/eatvenv && /tmp/eatvenv/bin/pip install --no-deps timm omegaconf   # timm 1.0.31
    echo $PWD/.venv/lib/python3.11/site-packages > /tmp/eatvenv/lib/python3.11/site-packages/asdbench.pth
    /tmp/eatvenv/bin/python tests/golden/make_eat_reference.py EAT tests/golden/beats_reference.pt \\
        tests/golden/eat_reference.pt

EAT's ``models/EAT_pretraining.py``, ``images.py``, ``base.py``, ``modules.py`` and ``mae.py`` run as they are
published. What they import from fairseq (which does not install on Python 3.11) is stubbed here, and none of it
computes the encoder's output: ``BaseFairseqModel`` is ``nn.Module``; ``EMAModule`` keeps, as fairseq's does with
``ema_fp32``, a float copy of the teacher's state dict (``fp32_params``, saved as the ``_ema`` entry);
``restore`` loads it back; ``init_bert_params`` and the decoder's parameter-free ``LayerNorm`` / ``SamePad2d`` / ``TransposeLast`` are plain
modules (every weight is then set at random anyway). timm's ``Mlp``, ``DropPath`` and ``PatchEmbed`` are timm's
own files, imported without timm's ``__init__`` (which needs torchvision). Python 3.11 refuses a dataclass
instance as another dataclass field's default, as EAT's configs have them; the configs are made hashable
(``unsafe_hash``) so that they import, which changes nothing they hold.

The input is the EAT fbank that ``make_beats_reference.py`` computed with torchaudio's ``kaldi.fbank`` (stored in
``beats_reference.pt``), prepared as ASDKit's ``asdkit/models/pretrained_models/eat/tools.py`` ``preprocess`` does
(padded with zeros to a multiple of 32 frames, then normalised), and encoded as ASDKit encodes it:
``extract_features(x, mode="IMAGE", mask=False, remove_extra_tokens=False)["x"]`` after its strict load and
``remove_pretraining_modules``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import math
import sys
import types
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

PACKAGE = "eat_models"


def module(name: str, **attributes: object) -> types.ModuleType:
    made = types.ModuleType(name)
    made.__dict__.update(attributes)
    sys.modules[name] = made
    return made


def stub_timm() -> None:
    site = next(Path(p) / "timm" for p in sys.path if (Path(p) / "timm" / "layers" / "mlp.py").is_file())
    for name, path in (("timm", site), ("timm.layers", site / "layers")):
        module(name, __path__=[str(path)])
    mlp = importlib.import_module("timm.layers.mlp")
    drop = importlib.import_module("timm.layers.drop")
    helpers = importlib.import_module("timm.layers.helpers")
    patch = importlib.import_module("timm.layers.patch_embed")
    module("timm.models", __path__=[])
    module("timm.models.layers", to_2tuple=helpers.to_2tuple)
    module("timm.models.vision_transformer", Mlp=mlp.Mlp, DropPath=drop.DropPath, PatchEmbed=patch.PatchEmbed,
           Block=nn.Module)


class EMAModule:
    """fairseq's ``EMAModule`` as far as a saved state dict shows it: the teacher's float state dict."""

    def __init__(self, model: nn.Module, config: object, copy_model: bool = True, **_: object) -> None:
        self.model = model
        self.fp32_params = self._float(model.state_dict())

    @staticmethod
    def _float(state: dict) -> OrderedDict:
        return OrderedDict((k, v.float().clone() if v.is_floating_point() else v.clone()) for k, v in state.items())

    def restore(self, state: dict, build_fp32_params: bool = False) -> None:
        self.model.load_state_dict(state, strict=False)
        if build_fp32_params:
            self.fp32_params = self._float(state)


class Parameterless(nn.Module):
    def __init__(self, *_: object, **__: object) -> None:
        super().__init__()


def stub_fairseq() -> None:
    def register_model(*_: object, **__: object):
        return lambda cls: cls

    module("fairseq", __path__=[])
    module("fairseq.modules", __path__=[], EMAModule=EMAModule, EMAModuleConfig=lambda **kw: kw,
           LayerNorm=Parameterless, SamePad=Parameterless, SamePad2d=Parameterless, TransposeLast=Parameterless,
           GradMultiply=None)
    module("fairseq.modules.transformer_sentence_encoder", init_bert_params=lambda m: None)
    module("fairseq.dataclass", FairseqDataclass=object)
    module("fairseq.models", __path__=[], BaseFairseqModel=nn.Module, register_model=register_model)
    module("fairseq.models.wav2vec", __path__=[])
    module("fairseq.models.wav2vec.wav2vec2", TransformerSentenceEncoderLayer=nn.Module)
    module("fairseq.data", __path__=[])
    module("fairseq.data.data_utils", compute_mask_indices=None)
    module("fairseq.utils", index_put=None)
    module("fairseq.tasks", FairseqTask=object)


def hashable_dataclasses() -> None:
    original = dataclasses.dataclass

    def dataclass(cls=None, /, **kwargs):
        kwargs.setdefault("unsafe_hash", True)
        return original(**kwargs) if cls is None else original(cls, **kwargs)

    dataclasses.dataclass = functools.wraps(original)(dataclass)


def load_eat(models_dir: Path) -> types.ModuleType:
    module(PACKAGE, __path__=[str(models_dir)])
    for name in ("modules", "mae", "base", "images", "EAT_pretraining"):
        spec = importlib.util.spec_from_file_location(f"{PACKAGE}.{name}", models_dir / f"{name}.py")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[f"{PACKAGE}.EAT_pretraining"]


MODEL = {  # config/pretraining_AS2M.yaml's model fields (and Data2VecMultiConfig's defaults), at a small width
    "_name": "data2vec_multi", "depth": 2, "num_heads": 2, "embed_dim": 32, "mlp_ratio": 1.5, "norm_eps": 1e-6,
    "norm_affine": True, "layer_norm_first": False, "encoder_dropout": 0.0, "post_mlp_drop": 0.0,
    "attention_dropout": 0.0, "activation_dropout": 0.0, "dropout_input": 0.0, "layerdrop": 0.0,
    "start_drop_path_rate": 0.0, "end_drop_path_rate": 0.0, "end_of_block_targets": False, "clone_batch": 16,
    "ema_decay": 0.9998, "ema_end_decay": 0.99999, "ema_encoder_only": False, "cls_loss": 1.0, "recon_loss": 0.0,
    "d2v_loss": 1.0, "utterance_level": False, "mae_init": False, "skip_ema": False, "supported_modality": "IMAGE",
    "modalities": {"image": {
        "type": "IMAGE", "in_chans": 1, "patch_size": 16, "embed_dim": 32, "prenet_depth": 0, "num_extra_tokens": 1,
        "init_extra_token_zero": False, "use_alibi_encoder": False, "fixed_positions": True, "target_length": 1024,
        "max_length": 12, "inverse_mask": True, "mask_prob": 0.8, "mask_length": 5, "ema_local_encoder": True,
        "decoder": {"decoder_dim": 16, "decoder_groups": 4, "decoder_kernel": 3, "decoder_layers": 2,
                    "input_dropout": 0.0},
    }},
}


def build(eat: types.ModuleType) -> nn.Module:
    images = sys.modules[f"{PACKAGE}.images"]
    base = sys.modules[f"{PACKAGE}.base"]
    modules = sys.modules[f"{PACKAGE}.modules"]
    image = dict(MODEL["modalities"]["image"])
    decoder = modules.D2vDecoderConfig(**image.pop("decoder"))
    image.pop("type")
    image_cfg = images.D2vImageConfig(decoder=decoder, num_alibi_heads=MODEL["num_heads"],
                                      model_depth=MODEL["depth"], **image)
    fields = {f.name for f in dataclasses.fields(eat.Data2VecMultiConfig)}
    top = {k: v for k, v in MODEL.items() if k in fields and k not in ("modalities", "supported_modality")}
    cfg = eat.Data2VecMultiConfig(modalities=eat.D2vModalitiesConfig(image=image_cfg), max_update=1,
                                  ema_anneal_end_step=1, seed=1, **top)
    assert base.Modality.IMAGE.value == eat.Modality.IMAGE.value
    return eat.Data2VecMultiModel(cfg, [eat.Modality.IMAGE], skip_ema=False)


def main(eat_dir: str, beats_reference: str, out: str) -> None:
    hashable_dataclasses()
    stub_timm()
    stub_fairseq()
    eat = load_eat(Path(eat_dir) / "models")
    torch.manual_seed(0)
    model = build(eat)
    published = model.state_dict()  # what fairseq's trainer saves as "model", the EMA teacher under "_ema"
    with torch.no_grad():  # every tensor away from its initial value, so that one left unloaded would show
        for tensor in published.values():
            if torch.is_tensor(tensor):
                tensor.add_(0.05 * torch.randn_like(tensor))
    model = build(eat)
    model.load_state_dict(published, strict=True)  # as ASDKit's construct_data2vec, then:
    model.remove_pretraining_modules(modality="image")
    model.eval()

    reference = torch.load(beats_reference, weights_only=True)
    fbank = reference["fbank_eat"]  # (B, T, 128), kaldi.fbank as EAT's feature_extract.py computes it
    target = math.ceil(fbank.shape[1] / 32) * 32  # ASDKit's calc_target_length
    image = torch.nn.functional.pad(fbank.unsqueeze(1), (0, 0, 0, target - fbank.shape[1]))
    image = (image - -4.268) / (4.569 * 2)  # ASDKit's preprocess: pad with zeros, then normalise
    with torch.no_grad():
        tokens = model.extract_features(image, mode="IMAGE", mask=False, remove_extra_tokens=False)["x"]
    torch.save({"cfg": {"model": MODEL}, "model": published,
                "tokens": tokens}, out)
    ema = published["_ema"]
    print(f"{out}: {len(published) - 1} tensors and _ema ({len(ema)} tensors); tokens {tuple(tokens.shape)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
