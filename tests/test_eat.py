"""EAT (asdbench-pretrained): the EAT encoder against the public code's own outputs (``tests/golden/eat_reference.pt``,
made by ``tests/golden/make_eat_reference.py`` with ``cwx-worst-one/EAT``'s ``models/``), the published fairseq
layout (what is dropped, by name), ASDKit's padding, LoRA / frozen / full fine-tuning, checkpoints without the
published weights, the clear errors, the spec's options, and a whole ``asdbench run`` with an EAT branch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy
import pytest
import torch

from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import AsdbenchError, SpecError
from asdbench.spec.validate import validate_spec
from asdbench.store.store import Store
from asdbench_pretrained import checkpoints, factories, weights
from asdbench_pretrained.eat import EAT, PAD_VALUE, EATConfig, pretraining_only
from asdbench_pretrained.eatnet import EATNetwork, load_eat
from asdbench_pretrained.lora import LoRALinear

GOLDEN = Path(__file__).parent / "golden" / "eat_reference.pt"
BEATS_GOLDEN = Path(__file__).parent / "golden" / "beats_reference.pt"  # its waveforms and torchaudio's EAT fbank


pytestmark = pytest.mark.usefixtures("empty_models_dir")  # no test sees the user's models folder


@pytest.fixture(scope="module")
def golden() -> dict:
    reference = torch.load(GOLDEN, weights_only=True)
    inputs = torch.load(BEATS_GOLDEN, weights_only=True)
    return {**reference, "waveforms": inputs["waveforms"], "fbank_eat": inputs["fbank_eat"]}


@pytest.fixture
def tiny_weights(golden, tmp_path) -> Path:
    """The golden model as a published fairseq file: ``{"cfg": ..., "model": ...}``, the EMA teacher and the
    decoder included."""
    path = tmp_path / "EAT_tiny.pt"
    torch.save({"cfg": golden["cfg"], "model": golden["model"]}, path)
    return path


def widened(tiny_weights: Path, path: Path, time_patches: int) -> Path:
    """The tiny checkpoint with a positions table of ``time_patches`` time steps (its own covers 12: 1.9 s)."""
    state = torch.load(tiny_weights, weights_only=True)
    state["cfg"]["model"]["modalities"]["image"]["max_length"] = time_patches
    state["model"]["modality_encoders.IMAGE.fixed_positional_encoder.positions"] = torch.randn(1, time_patches * 8, 32)
    torch.save(state, path)
    return path


def network(path: Path, frames: int = 68, **options) -> EATNetwork:
    return factories.eat((128, frames), weights=str(path), **options)


def features(golden: dict) -> torch.Tensor:
    return factories.eat_fbank()(golden["waveforms"])  # (2, 128, 68)


# --- the encoder against the public implementation ---------------------------------------------------------


def test_eat_loads_the_published_layout_and_computes_what_the_public_code_computes(golden, tiny_weights):
    model = load_eat(tiny_weights).eval()
    published = set(golden["model"])
    dropped = {key for key in published if pretraining_only(key)}
    assert dropped == {"_ema", *(f"modality_encoders.IMAGE.decoder.{k}" for k in (
        "blocks.0.0.weight", "blocks.0.0.bias", "blocks.1.0.weight", "blocks.1.0.bias", "proj.weight", "proj.bias"))}
    assert set(model.state_dict()) == published - dropped  # strict: nothing else missing or unexpected
    normalised = (golden["fbank_eat"].transpose(1, 2) + 4.268) / (2 * 4.569)  # torchaudio's fbank, as ASDKit's
    with torch.no_grad():
        tokens = model(normalised)
        ours = model(features(golden))  # asdbench's own fbank
    assert tokens.shape == golden["tokens"].shape == (2, 1 + 6 * 8, 32)  # 68 frames padded to 96: 6 x 8 patches
    torch.testing.assert_close(tokens, golden["tokens"], atol=1e-5, rtol=0)
    torch.testing.assert_close(ours, golden["tokens"], atol=1e-4, rtol=0)


def test_eat_base_has_the_published_size_and_keys():
    with torch.device("meta"):
        model = EAT(EATConfig())
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert shapes["modality_encoders.IMAGE.local_encoder.proj.weight"] == (768, 1, 16, 16)
    assert shapes["modality_encoders.IMAGE.fixed_positional_encoder.positions"] == (1, 768 * 8, 768)
    assert shapes["modality_encoders.IMAGE.extra_tokens"] == (1, 1, 768)
    assert shapes["blocks.11.attn.qkv.weight"] == (2304, 768) and shapes["blocks.11.mlp.fc1.weight"] == (3072, 768)
    assert len(shapes) == 6 + 12 * 12  # as the golden file's encoder keys: 6 + 2 * 12
    assert 85e6 < sum(p.numel() for p in model.parameters()) < 86e6
    assert model.num_tokens(998) == 1 + 64 * 8  # a 10 s clip: 998 frames, padded to 1024 as EAT was trained
    assert [block.drop_path.rate for block in model.blocks][::11] == [0.0, 0.1]  # ASDKit's stochastic depth


def test_clips_are_padded_as_asdkit_pads_them(golden, tiny_weights):
    model = load_eat(tiny_weights).eval()
    fbank = features(golden)
    padded = torch.cat([fbank, torch.full((2, 128, 96 - 68), PAD_VALUE)], dim=2)
    assert PAD_VALUE == pytest.approx(4.268 / (2 * 4.569))  # a zero log mel, normalised
    with torch.no_grad():
        torch.testing.assert_close(model(fbank), model(padded), atol=0, rtol=0)
        assert model(fbank[..., :64]).shape == (2, 1 + 4 * 8, 32)  # 64 frames: already a multiple of 32


def test_a_checkpoint_pickling_foreign_classes_is_read_without_running_them(golden, tmp_path, monkeypatch):
    package = tmp_path / "eat_user_code"
    package.mkdir()
    (package / "__init__.py").write_text("import enum\n\nclass Modality(enum.Enum):\n    AUDIO = 1\n    IMAGE = 2\n\n"
                                         "class Meter:\n    def __init__(self):\n        self.sum = 3.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import eat_user_code  # the stand-in for EAT's own code, importable only while saving

    cfg = {"model": {**golden["cfg"]["model"], "supported_modality": eat_user_code.Modality.IMAGE}}
    path = tmp_path / "fairseq.pt"
    extra = {"metrics": eat_user_code.Meter(), "previous_training_time": numpy.float64(3.5)}  # as fairseq's meters
    torch.save({"cfg": cfg, "model": golden["model"], "extra_state": extra}, path)
    monkeypatch.delitem(sys.modules, "eat_user_code")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    with pytest.raises(ModuleNotFoundError):
        torch.load(path, weights_only=False)  # a full load would need EAT's code, and run it
    state = checkpoints.read_fairseq(path, "eat")
    modality, meter = state["cfg"]["model"]["supported_modality"], state["extra_state"]["metrics"]
    assert isinstance(modality, checkpoints.Foreign) and modality.args == (2,)
    assert isinstance(meter, checkpoints.Foreign) and meter.state == {"sum": 3.0}
    assert isinstance(state["extra_state"]["previous_training_time"], checkpoints.Foreign)  # numpy's, inert
    assert set(load_eat(path).state_dict()) == {k for k in golden["model"] if not pretraining_only(k)}


# --- the network: options, fine-tuning, checkpoints --------------------------------------------------------


def test_network_pools_and_projects(tiny_weights, golden):
    fbank = features(golden)
    projected = network(tiny_weights, embedding_dim=16).eval()
    assert projected(fbank).shape == (2, 16) and projected.embedding_dim == 16
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as training runs it on CUDA
        half = projected(fbank)
    torch.testing.assert_close(half.float(), projected(fbank), atol=0.1, rtol=0.1)
    cls = network(tiny_weights, embedding_dim=0, finetune="frozen").eval()
    assert cls.embedding_dim == 32
    torch.testing.assert_close(cls(fbank), golden["tokens"][:, 0], atol=1e-4, rtol=0)  # ASDKit's "cls" mode
    mean = network(tiny_weights, embedding_dim=0, finetune="frozen", pooling="mean").eval()
    torch.testing.assert_close(mean(fbank), golden["tokens"][:, 1:].mean(dim=1), atol=1e-4, rtol=0)  # "seq"
    stats = network(tiny_weights, embedding_dim=0, pooling="attentive-stats").eval()
    assert stats(fbank).shape == (2, 32)


def _step(model: EATNetwork, fbank: torch.Tensor) -> dict[str, torch.Tensor]:
    """One AdamW step (weight decay on) as asdbench's trainer makes it; the state before the step. Stochastic depth
    is off, so that every block's weights get a gradient."""
    for block in model.backbone.blocks:
        block.drop_path.rate = 0.0
    before = {k: v.clone() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    before.update({f"backbone.{k}": v.clone() for k, v in model.backbone.state_dict().items()})
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.1)
    model.train()
    model(fbank).pow(2).sum().backward()
    optimiser.step()
    return before


@pytest.mark.slow
def test_lora_trains_only_the_adapters_and_the_projection(tiny_weights, golden):
    model = network(tiny_weights, lora_rank=4, lora_alpha=8.0, embedding_dim=8)
    adapted = [name for name, module in model.named_modules() if isinstance(module, LoRALinear)]
    assert sorted(adapted) == ["backbone.blocks.0.attn.qkv", "backbone.blocks.1.attn.qkv"]
    before = _step(model, features(golden))
    after = {f"backbone.{k}": v for k, v in model.backbone.state_dict().items()}
    after.update({k: v for k, v in model.state_dict().items() if k.startswith("projection")})
    changed = {k for k, v in after.items() if not torch.equal(v, before[k])}
    assert changed == {*(f"{name}.lora_{m}" for name in adapted for m in "AB"), "projection.weight",
                       "projection.bias"}
    assert model.backbone.blocks[0].attn.qkv.scaling == 2.0


@pytest.mark.slow
def test_full_fine_tuning_trains_everything_but_the_fixed_positions(tiny_weights, golden):
    model = network(tiny_weights, finetune="full", embedding_dim=8)
    assert not [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    before = _step(model, features(golden))
    unchanged = {k for k, v in model.backbone.state_dict().items() if torch.equal(v, before[f"backbone.{k}"])}
    assert unchanged == {"modality_encoders.IMAGE.fixed_positional_encoder.positions"}


@pytest.mark.slow
def test_frozen_backbone_stays_in_inference_mode(tiny_weights, golden):
    model = network(tiny_weights, finetune="frozen", embedding_dim=8).train()
    assert model.training and not model.backbone.training
    fbank = features(golden)
    torch.testing.assert_close(model(fbank), model(fbank))  # no stochastic depth
    before = _step(model, fbank)
    assert all(torch.equal(v, before[f"backbone.{k}"]) for k, v in model.backbone.state_dict().items())


@pytest.mark.slow
def test_checkpoints_leave_out_the_published_weights_and_check_them(tiny_weights, golden, tmp_path):
    model = network(tiny_weights, lora_rank=4, embedding_dim=8)
    _step(model, features(golden))
    wrapped = torch.nn.ModuleList([model])  # as in a System: the keys carry a prefix
    state = wrapped.state_dict()
    assert sorted(k for k in state if "lora" not in k) == ["0.projection.bias",
                                                           "0.projection.weight", "0.weights_sha256"]
    path = tmp_path / "epoch.pt"
    torch.save({"model": state}, path)
    fresh = torch.nn.ModuleList([network(tiny_weights, lora_rank=4, embedding_dim=8)])
    fresh.load_state_dict(torch.load(path, weights_only=True)["model"])  # strict: nothing reported missing
    model.eval(), fresh.eval()
    torch.testing.assert_close(fresh[0](features(golden)), model(features(golden)), atol=0, rtol=0)

    other = tmp_path / "other.pt"
    published = torch.load(tiny_weights, weights_only=True)
    published["model"]["blocks.0.norm1.bias"] += 1
    torch.save(published, other)
    stranger = torch.nn.ModuleList([network(other, lora_rank=4, embedding_dim=8)])
    with pytest.raises(AsdbenchError, match=r"'eat': this checkpoint was trained on a weight file with SHA-256 "
                                            r"[0-9a-f]{64}, but .*other\.pt"):
        stranger.load_state_dict(state)


# --- clear errors -----------------------------------------------------------------------------------------


def test_a_truncated_or_wrong_checkpoint_is_a_clear_error_naming_the_file(tiny_weights, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_weights.read_bytes()[:5000])
    with pytest.raises(AsdbenchError, match=r"truncated\.pt: not a readable PyTorch file") as error:
        network(truncated)
    assert "\n" not in str(error.value)

    state = torch.load(tiny_weights, weights_only=True)
    model_cfg = state["cfg"]["model"]

    def save(name: str, cfg: dict, model: dict) -> Path:
        path = tmp_path / name
        torch.save({"cfg": {"model": cfg}, "model": model}, path)
        return path

    narrow = save("narrow.pt", {**model_cfg, "embed_dim": 16,
                                "modalities": {"image": {**model_cfg["modalities"]["image"], "embed_dim": 16}}},
                  state["model"])
    with pytest.raises(AsdbenchError, match=r"narrow\.pt: does not fit the EAT architecture.*shapes differ"):
        network(narrow)
    extra = save("extra.pt", model_cfg, {**state["model"], "blocks.0.extra": torch.zeros(1)})
    with pytest.raises(AsdbenchError, match=r"extra\.pt: .*1 unexpected keys \(first: blocks\.0\.extra\)"):
        network(extra)
    without = {k: v for k, v in state["model"].items() if k != "modality_encoders.IMAGE.extra_tokens"}
    with pytest.raises(AsdbenchError, match=r"missing\.pt: .*1 keys missing \(first: .*extra_tokens\)"):
        network(save("missing.pt", model_cfg, without))
    classifier = save("classifier.pt", {**model_cfg, "_name": "mae_image_classification"}, state["model"])
    with pytest.raises(AsdbenchError, match=r"classifier\.pt: cfg\.model\._name is 'mae_image_classification'"):
        network(classifier)
    pre_ln = save("pre_ln.pt", {**model_cfg, "layer_norm_first": True}, state["model"])
    with pytest.raises(AsdbenchError, match=r"pre_ln\.pt: cfg\.model\.layer_norm_first is True; .* it is False"):
        network(pre_ln)
    unresolved = save("unresolved.pt", {**model_cfg, "depth": "${model.layers}"}, state["model"])
    with pytest.raises(AsdbenchError, match=r"unresolved\.pt: cfg field depth is '\$\{model\.layers\}', not a"):
        network(unresolved)
    bare = tmp_path / "bare.pt"
    torch.save(state["model"], bare)
    with pytest.raises(AsdbenchError, match=r"bare\.pt: not an EAT checkpoint: expected a fairseq checkpoint"):
        network(bare)


def test_missing_weights_say_what_to_put_where(empty_models_dir, tmp_path):
    with pytest.raises(AsdbenchError) as error:
        factories.eat((128, 68))
    message = str(error.value)
    assert str(empty_models_dir / "EAT-base_epoch10_pt.pt") in message and "ASDBENCH_MODELS_DIR" in message
    assert weights.WEIGHTS["eat"].url in message and "asdbench models fetch eat" in message
    with pytest.raises(AsdbenchError, match=r"nowhere\.pt \(the `weights` option\) does not exist"):
        factories.eat((128, 68), weights=str(tmp_path / "nowhere.pt"))


def test_wrong_input_is_refused(tiny_weights):
    with pytest.raises(AsdbenchError, match="'eat-fbank' frontend"):
        factories.eat((257, 70), weights=str(tiny_weights))
    with pytest.raises(AsdbenchError, match=r"clips give 200 fbank frames, 112 patches, more than the 96 positions"):
        factories.eat((128, 200), weights=str(tiny_weights))  # the tiny table covers 12 time patches


def test_models_fetch_finds_the_network(empty_models_dir, monkeypatch):
    from asdbench.cli.main import main

    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest_dir: fetched.append((name, dest_dir)) or dest_dir)
    assert main(["models", "fetch", "eat"]) == 0
    assert fetched == [("eat", empty_models_dir)]


# --- specs and a whole run --------------------------------------------------------------------------------


def _spec(root: Path, weights_path: Path, **train) -> dict:
    return {
        "seed": 1,
        "dataset": {"name": "synth", "root": str(root)},
        "system": {"labels": "attributes", "frontends": ["spectrum", "eat-fbank"],
                   "networks": ["spectrum-cnn", {"name": "eat", "weights": str(weights_path), "lora_rank": 4,
                                                 "embedding_dim": 16}],
                   "loss": "scac", "backend": {"name": "kmeans-target", "clusters": 4}},
        "train": {"epochs": 1, "checkpoints": [1], "batch_size": 16, "clip_seconds": 4.5, **train},
    }


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("lora_rank", 0, "expected a number >= 1"), ("finetune", "partial", "expected one of 'lora'"),
    ("lora_targets", ["q_proj"], "expected a non-empty list of qkv, proj, fc1, fc2"),
    ("embedding_dim", -1, "expected a number >= 0"),
    ("pooling", "max", "expected one of 'cls', 'mean', 'attentive-stats'"),
])
def test_spec_checks_the_options(tmp_path, option, value, expected):
    spec = _spec(tmp_path, tmp_path / "w.pt")
    spec["system"]["networks"][1][option] = value
    with pytest.raises(SpecError, match=rf"system\.networks\[1\]\.{option}: {expected}"):
        validate_spec(spec, Registry())


def test_stacked_seeds_are_refused_at_validation(tmp_path):
    with pytest.raises(SpecError, match=r"system\.networks\[1\]: network 'eat' .* cannot be trained with "
                                        r"train\.stack_seeds > 1"):
        validate_spec(_spec(tmp_path, tmp_path / "w.pt", stack_seeds=2), Registry())


@pytest.mark.slow
def test_a_run_mixes_eat_with_the_papers_branches(tiny_dataset, tiny_weights, tmp_path):
    wide = widened(tiny_weights, tmp_path / "EAT_wide.pt", 28)  # 4.5 s clips: 448 frames, 28 time patches
    spec = validate_spec(_spec(tiny_dataset, wide), get_registry())
    network_spec = spec.canonical["system"]["networks"][1]
    assert network_spec["lora_alpha"] == 8.0 and network_spec["pooling"] == "cls"  # defaults filled in
    store = Store(tmp_path / "runs")
    results = store.run(spec, get_registry(), progress=False)
    checkpoint = torch.load(store.training_directory(spec) / "checkpoints" / "epoch_001.pt", weights_only=True)
    kept = [key for key in checkpoint["model"] if key.startswith("networks.1.")]
    assert kept and all("lora_" in key or "projection" in key or "weights_sha256" in key for key in kept)
    assert all(0 < results["splits"][split]["official_score"] <= 1 for split in ("dev", "eval"))


def test_plugin_check_runs_the_network_when_its_weights_are_in_place(tiny_weights, empty_models_dir):
    from asdbench.contract.selfcheck import check_component

    registry = Registry()
    registration = registry.get("networks", "eat")
    skipped = check_component(registry, registration)
    assert not skipped.failed and skipped.result.startswith("skipped: input (128, 313): 'eat' needs")
    widened(tiny_weights, empty_models_dir / "EAT-base_epoch10_pt.pt", 20)  # the check's 313 frames: 320 padded
    checked = check_component(registry, registration)
    assert not checked.failed and checked.result == "ok: (2, 128, 313) -> (2, 128)"
