"""Makes ``beats_reference.pt``: a tiny BEATs checkpoint in the published layout with the outputs of the public
implementation, which ``tests/test_beats.py`` compares asdbench's own code against. Run once, by hand, outside the
asdbench venv (asdbench has no torchaudio, and must not):

    git clone https://github.com/microsoft/unilm          # beats/ read at commit 732d834
    python3.11 -m venv /tmp/tavenv && /tmp/tavenv/bin/pip download --no-deps -d /tmp/tadl torchaudio
    /tmp/tavenv/bin/pip install --no-deps /tmp/tadl/torchaudio-*.whl   # 2.11.1 from PyPI, the newest
    echo $PWD/.venv/lib/python3.11/site-packages > /tmp/tavenv/lib/python3.11/site-packages/asdbench.pth
    /tmp/tavenv/bin/python tests/golden/make_beats_reference.py unilm/beats tests/golden/beats_reference.pt

torchaudio 2.11's compiled extension does not load with the pinned torch (2.13), and only ``kaldi.mfcc`` needs
it: ``torchaudio/compliance/kaldi.py`` is loaded from the wheel's files behind an empty ``torchaudio`` module, so
that ``kaldi.fbank`` runs exactly as published. The BEATs code is imported from the checkout as it is.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import torch


def load_kaldi() -> types.ModuleType:
    site = next(Path(p) for p in sys.path if (Path(p) / "torchaudio" / "compliance" / "kaldi.py").is_file())
    location = site / "torchaudio" / "compliance" / "kaldi.py"
    sys.modules["torchaudio"] = types.ModuleType("torchaudio")  # kaldi.py imports it for mfcc only
    kaldi_spec = importlib.util.spec_from_file_location("torchaudio.compliance.kaldi", location)
    kaldi = importlib.util.module_from_spec(kaldi_spec)
    kaldi_spec.loader.exec_module(kaldi)
    compliance = types.ModuleType("torchaudio.compliance")
    compliance.kaldi = kaldi
    sys.modules["torchaudio"].compliance = compliance
    sys.modules["torchaudio.compliance"] = compliance
    sys.modules["torchaudio.compliance.kaldi"] = kaldi
    return kaldi


CONFIG = {  # the published BEATs_iter3 cfg's fields, at a small width
    "input_patch_size": 16, "embed_dim": 24, "conv_bias": False, "encoder_layers": 2, "encoder_embed_dim": 32,
    "encoder_ffn_embed_dim": 48, "encoder_attention_heads": 2, "activation_fn": "gelu", "layer_norm_first": False,
    "deep_norm": True, "dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0, "encoder_layerdrop": 0.05,
    "dropout_input": 0.0, "conv_pos": 16, "conv_pos_groups": 4, "relative_position_embedding": True,
    "num_buckets": 320, "max_distance": 800, "gru_rel_pos": True, "finetuned_model": False,
    "layer_wise_gradient_decay_ratio": 1.0, "predictor_dropout": 0.1, "predictor_class": 527,
}


def main(beats_dir: str, out: str) -> None:
    kaldi = load_kaldi()
    sys.path.insert(0, beats_dir)
    from BEATs import BEATs, BEATsConfig  # the public implementation, from its checkout

    torch.manual_seed(0)
    model = BEATs(BEATsConfig(CONFIG)).eval()
    with torch.no_grad():  # every tensor away from its initial value, so that one left unloaded would show
        for tensor in model.state_dict().values():
            tensor.add_(0.05 * torch.randn_like(tensor))
    seconds = torch.arange(11_200) / 16_000
    waveforms = torch.stack([0.3 * torch.sin(2 * torch.pi * 440 * seconds), 0.1 * torch.randn(11_200)])
    with torch.no_grad():
        features, _ = model.extract_features(waveforms)
    fbank_beats = torch.stack([kaldi.fbank(w[None] * 2**15, num_mel_bins=128, sample_frequency=16000,
                                           frame_length=25, frame_shift=10) for w in waveforms])  # BEATs.preprocess
    fbank_eat = torch.stack([kaldi.fbank((w - w.mean())[None], htk_compat=True, sample_frequency=16000,
                                         use_energy=False, window_type="hanning", num_mel_bins=128, dither=0.0,
                                         frame_shift=10) for w in waveforms])  # EAT's feature_extract.py
    torch.save({"cfg": CONFIG, "model": model.state_dict(), "waveforms": waveforms, "features": features,
                "fbank_beats": fbank_beats, "fbank_eat": fbank_eat}, out)
    print(f"{out}: {len(model.state_dict())} tensors, features {tuple(features.shape)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
