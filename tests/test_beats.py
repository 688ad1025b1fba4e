"""BEATs (asdbench-pretrained): the Kaldi fbank frontends and the BEATs transformer against the public code's own
outputs (``tests/golden/beats_reference.pt``, made by ``tests/golden/make_beats_reference.py`` with torchaudio and
``microsoft/unilm``'s ``beats/``), the published key layout, LoRA / frozen / full fine-tuning, checkpoints without
the published weights, the clear errors, the spec's options, and a whole ``asdbench run`` with a BEATs branch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import AsdbenchError, SpecError
from asdbench.spec.validate import validate_spec
from asdbench.store.store import Store
from asdbench_pretrained import factories, weights
from asdbench_pretrained.beats import BEATs, BEATsConfig, relative_buckets
from asdbench_pretrained.beatsnet import BEATsNetwork, load_beats
from asdbench_pretrained.fbank import KaldiFbank, num_frames
from asdbench_pretrained.lora import LoRALinear
from asdbench_pretrained.pooling import AttentiveStatsPooling

GOLDEN = Path(__file__).parent / "golden" / "beats_reference.pt"


pytestmark = pytest.mark.usefixtures("empty_models_dir")  # no test sees the user's models folder


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDEN, weights_only=True)


@pytest.fixture
def tiny_weights(golden, tmp_path) -> Path:
    """The golden model as a published file: ``{"cfg": ..., "model": ...}``."""
    path = tmp_path / "BEATs_tiny.pt"
    torch.save({"cfg": golden["cfg"], "model": golden["model"]}, path)
    return path


def network(path: Path, frames: int = 70, **options) -> BEATsNetwork:
    return factories.beats((128, frames), weights=str(path), **options)


# --- the frontends ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("frontend", "key"), [(factories.beats_fbank, "fbank_beats"), (factories.eat_fbank, "fbank_eat")])
def test_fbank_is_torchaudio_kaldi_fbank(golden, frontend, key):
    reference = golden[key].transpose(1, 2)  # kaldi.fbank gives (T, 128); frontends give (128, T)
    module = frontend()
    ours = module.log_mel(golden["waveforms"])
    assert ours.shape == reference.shape == (2, *module.output_shape(golden["waveforms"].shape[1]))
    # A bin far below its frame's peak is at float32's limit: the pure tone (row 0) spans e^26 in one frame, and
    # the noise (row 1) has bins near the DC removal's null e^21 below the peak, which move by 2e-3 with the CPU's
    # FFT code path. Bins within e^15 of each frame's peak agree to 1e-3; the noise's other bins to 1e-2.
    for row in range(2):
        loud = reference[row] > reference[row].amax(dim=0, keepdim=True) - 15
        torch.testing.assert_close(ours[row][loud], reference[row][loud], atol=1e-3, rtol=0)
    torch.testing.assert_close(ours[1], reference[1], atol=1e-2, rtol=0)
    assert not list(module.parameters()) and not module.state_dict()


def test_fbank_normalisation_and_frame_count():
    audio = torch.randn(3, 16_000) * 0.1
    beats = factories.beats_fbank()
    torch.testing.assert_close(beats(audio), (beats.log_mel(audio) - 15.41663) / (2 * 6.55582))
    eat = factories.eat_fbank()
    torch.testing.assert_close(eat(audio), (eat.log_mel(audio) + 4.268) / (2 * 4.569))
    assert [num_frames(n) for n in (399, 400, 559, 560, 16_000)] == [0, 1, 1, 2, 98]
    with torch.autocast("cpu", dtype=torch.bfloat16):  # training's bf16 autocast leaves the features in float32
        autocast = beats(audio)
    assert autocast.dtype == torch.float32 and torch.equal(autocast, beats(audio))
    with pytest.raises(ValueError, match="unknown fbank preset"):
        KaldiFbank("wav2vec")


# --- the transformer against the public implementation -----------------------------------------------------


def test_beats_loads_the_published_layout_and_computes_what_the_public_code_computes(golden, tiny_weights):
    model = load_beats(tiny_weights).eval()
    assert set(model.state_dict()) == set(golden["model"])  # strict: nothing missing, nothing unexpected
    with torch.no_grad():
        features = model(factories.beats_fbank()(golden["waveforms"]))
    assert features.shape == golden["features"].shape == (2, 4 * 8, 32)
    torch.testing.assert_close(features[1], golden["features"][1], atol=2e-4, rtol=0)
    torch.testing.assert_close(features[0], golden["features"][0], atol=2e-3, rtol=0)  # the tone's fbank noise


def test_beats_base_has_the_published_size_and_keys():
    config = BEATsConfig(deep_norm=True, relative_position_embedding=True, num_buckets=320, max_distance=800,
                         gru_rel_pos=True)
    with torch.device("meta"):
        model = BEATs(config)
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert shapes["patch_embedding.weight"] == (512, 1, 16, 16) and "patch_embedding.bias" not in shapes
    assert shapes["post_extract_proj.weight"] == (768, 512)
    assert shapes["encoder.pos_conv.0.weight_g"] == (1, 1, 128)
    assert shapes["encoder.pos_conv.0.weight_v"] == (768, 48, 128)
    assert shapes["encoder.layers.11.self_attn.relative_attention_bias.weight"] == (320, 12)
    assert shapes["encoder.layers.0.self_attn.grep_linear.weight"] == (8, 64)
    assert shapes["encoder.layers.0.self_attn.grep_a"] == (1, 12, 1, 1)
    assert len(shapes) == 5 + 5 + 12 * 20  # as the golden file: 5 + 5 + 2 * 20
    assert 90e6 < sum(p.numel() for p in model.parameters()) < 91e6  # BEATs' 90 M


def test_relative_buckets_are_t5_buckets():
    buckets = relative_buckets(1000, 320, 800, torch.device("cpu"))
    assert buckets[0, 0] == 0 and buckets[5, 3] == 2 and buckets[3, 5] == 160 + 2
    assert buckets[0, 79] == 160 + 79 and buckets[0, 999] == 319 and buckets[999, 0] == 159


# --- the network: options, fine-tuning, checkpoints --------------------------------------------------------


def test_network_pools_and_projects(tiny_weights, golden):
    features = factories.beats_fbank()(golden["waveforms"])
    projected = network(tiny_weights, embedding_dim=16).eval()
    assert projected(features).shape == (2, 16) and projected.embedding_dim == 16
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as training runs it on CUDA
        half = projected(features)
    torch.testing.assert_close(half.float(), projected(features), atol=0.1, rtol=0.1)
    raw = network(tiny_weights, embedding_dim=0, finetune="frozen").eval()
    assert raw.embedding_dim == 32
    torch.testing.assert_close(raw(features), golden["features"].mean(dim=1), atol=2e-3, rtol=0)


def test_time_pooling_averages_each_frequency_patch_over_time_as_genrep(tiny_weights, golden):
    """GenRep's --temporal_pooling: reshape(B, T/16, 8, D).mean(1), on the public code's time-major patches."""
    features = factories.beats_fbank()(golden["waveforms"])
    pooled = network(tiny_weights, pooling="time", embedding_dim=0, finetune="frozen").eval()
    assert pooled.embedding_dim == 8 * 32
    expected = golden["features"].reshape(2, 4, 8, 32).mean(dim=1).flatten(1)
    torch.testing.assert_close(pooled(features), expected, atol=2e-3, rtol=0)
    assert network(tiny_weights, pooling="time", embedding_dim=16)(features).shape == (2, 16)


def test_layer_k_is_the_output_of_the_first_k_layers(tiny_weights, golden):
    """``layer = k``: what the same model with its layers after the k-th removed computes (GenRep reads the 4th; a
    config of k layers would not do: DeepNorm scales every residual by the model's layer count)."""
    features = factories.beats_fbank()(golden["waveforms"])
    last = network(tiny_weights, embedding_dim=0, finetune="frozen").eval()
    torch.testing.assert_close(network(tiny_weights, embedding_dim=0, finetune="frozen", layer=2).eval()(features),
                               last(features), atol=0, rtol=0)
    first = network(tiny_weights, embedding_dim=0, finetune="frozen", layer=1).eval()
    cut = load_beats(tiny_weights)
    cut.encoder.layers = cut.encoder.layers[:1]
    with torch.no_grad():
        expected = cut.eval()(features).mean(dim=1)
    torch.testing.assert_close(first(features), expected, atol=1e-6, rtol=0)
    assert not torch.allclose(first(features), last(features), atol=1e-3)
    with pytest.raises(AsdbenchError, match="layer = 3, but .* has 2 layers"):
        network(tiny_weights, layer=3)


def test_the_genrep_release_is_read_from_its_own_file(empty_models_dir, tiny_weights):
    with pytest.raises(AsdbenchError) as error:
        factories.beats((128, 70), release="iter3-as2m-cpt1")
    message = str(error.value)
    assert message.startswith("network 'beats' (release 'iter3-as2m-cpt1') needs the pretrained weights file")
    assert str(empty_models_dir / "BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt1.pt") in message
    assert weights.WEIGHTS["beats-as2m-cpt1"].url in message and "models fetch" not in message
    (empty_models_dir / "BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt1.pt").write_bytes(tiny_weights.read_bytes())
    assert factories.beats((128, 70), release="iter3-as2m-cpt1", embedding_dim=0).embedding_dim == 32


def test_attentive_stats_pooling_with_uniform_attention_is_mean_and_std():
    torch.manual_seed(0)
    pooling = AttentiveStatsPooling(32).eval()
    last = pooling.attention[4]
    torch.nn.init.zeros_(last.weight), torch.nn.init.zeros_(last.bias)  # equal logits: uniform weights
    pooling.output = torch.nn.Identity()
    features = torch.randn(3, 20, 32)
    pooled = pooling(features)
    torch.testing.assert_close(pooled[:, :32], features.mean(dim=1))
    torch.testing.assert_close(pooled[:, 32:], features.std(dim=1, unbiased=False), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_attentive_pooling_trains_with_a_frozen_backbone(tiny_weights, golden):
    model = network(tiny_weights, finetune="frozen", pooling="attentive-stats", embedding_dim=0)
    assert model.embedding_dim == 32 and model(factories.beats_fbank()(golden["waveforms"])).shape == (2, 32)
    before = _step(model, factories.beats_fbank()(golden["waveforms"]))
    changed = {k for k, v in model.state_dict().items() if k in before and not torch.equal(v, before[k])}
    assert changed and all(k.startswith("pooling.") for k in changed)
    assert all(torch.equal(v, before[f"backbone.{k}"]) for k, v in model.backbone.state_dict().items())


def _step(model: BEATsNetwork, features: torch.Tensor) -> dict[str, torch.Tensor]:
    """One AdamW step (weight decay on) as asdbench's trainer makes it; the state before the step. No layer is
    dropped (the golden cfg's encoder_layerdrop), so that every layer's weights get a gradient."""
    model.backbone.encoder.layerdrop = 0.0
    before = {k: v.clone() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    before.update({f"backbone.{k}": v.clone() for k, v in model.backbone.state_dict().items()})
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.1)
    model.train()
    model(features).pow(2).sum().backward()
    optimiser.step()
    return before


@pytest.mark.slow
def test_lora_trains_only_the_adapters_and_the_projection(tiny_weights, golden):
    model = network(tiny_weights, lora_rank=4, lora_alpha=8.0, embedding_dim=8)
    adapted = [name for name, module in model.named_modules() if isinstance(module, LoRALinear)]
    assert sorted(adapted) == [f"backbone.encoder.layers.{i}.self_attn.{p}" for i in (0, 1) for p in ("q_proj",
                                                                                                     "v_proj")]
    before = _step(model, factories.beats_fbank()(golden["waveforms"]))
    after = {f"backbone.{k}": v for k, v in model.backbone.state_dict().items()}
    after.update({k: v for k, v in model.state_dict().items() if k.startswith("projection")})
    changed = {k for k, v in after.items() if not torch.equal(v, before[k])}
    assert changed == {*(f"{name}.lora_{m}" for name in adapted for m in "AB"), "projection.weight",
                       "projection.bias"}
    assert model.backbone.encoder.layers[0].self_attn.q_proj.scaling == 2.0


@pytest.mark.slow
def test_full_fine_tuning_trains_everything(tiny_weights, golden):
    model = network(tiny_weights, finetune="full", embedding_dim=8)
    assert not [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    before = _step(model, factories.beats_fbank()(golden["waveforms"]))
    unchanged = {k for k, v in model.backbone.state_dict().items() if torch.equal(v, before[f"backbone.{k}"])}
    assert unchanged == set()


@pytest.mark.slow
def test_frozen_backbone_stays_in_inference_mode(tiny_weights, golden):
    model = network(tiny_weights, finetune="frozen", embedding_dim=8).train()
    assert model.training and not model.backbone.training
    features = factories.beats_fbank()(golden["waveforms"])
    torch.testing.assert_close(model(features), model(features))  # no dropout
    before = _step(model, features)
    assert all(torch.equal(v, before[f"backbone.{k}"]) for k, v in model.backbone.state_dict().items())


@pytest.mark.slow
def test_checkpoints_leave_out_the_published_weights_and_check_them(tiny_weights, golden, tmp_path):
    model = network(tiny_weights, lora_rank=4, embedding_dim=8)
    _step(model, factories.beats_fbank()(golden["waveforms"]))
    wrapped = torch.nn.ModuleList([model])  # as in a System: the keys carry a prefix
    state = wrapped.state_dict()
    assert sorted(k for k in state if "lora" not in k) == ["0.projection.bias",
                                                           "0.projection.weight", "0.weights_sha256"]
    path = tmp_path / "epoch.pt"
    torch.save({"model": state}, path)
    fresh = torch.nn.ModuleList([network(tiny_weights, lora_rank=4, embedding_dim=8)])
    fresh.load_state_dict(torch.load(path, weights_only=True)["model"])  # strict: nothing reported missing
    features = factories.beats_fbank()(golden["waveforms"])
    model.eval(), fresh.eval()
    torch.testing.assert_close(fresh[0](features), model(features), atol=0, rtol=0)

    other = tmp_path / "other.pt"
    published = torch.load(tiny_weights, weights_only=True)
    published["model"]["layer_norm.bias"] += 1
    torch.save(published, other)
    stranger = torch.nn.ModuleList([network(other, lora_rank=4, embedding_dim=8)])
    with pytest.raises(AsdbenchError, match=r"trained on a weight file with SHA-256 [0-9a-f]{64}, but .*other\.pt"):
        stranger.load_state_dict(state)


# --- clear errors -----------------------------------------------------------------------------------------


def test_a_truncated_or_wrong_checkpoint_is_a_clear_error_naming_the_file(tiny_weights, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_weights.read_bytes()[:5000])
    with pytest.raises(AsdbenchError, match=r"truncated\.pt: not a readable PyTorch file") as error:
        network(truncated)
    assert "\n" not in str(error.value)

    state = torch.load(tiny_weights, weights_only=True)
    narrow = tmp_path / "narrow.pt"
    torch.save({"cfg": {**state["cfg"], "encoder_embed_dim": 16}, "model": state["model"]}, narrow)
    with pytest.raises(AsdbenchError, match=r"narrow\.pt: does not fit the BEATs architecture.*shapes differ"):
        network(narrow)
    extra = tmp_path / "extra.pt"
    torch.save({"cfg": state["cfg"], "model": {**state["model"], "encoder.extra": torch.zeros(1)}}, extra)
    with pytest.raises(AsdbenchError, match=r"extra\.pt: .*1 unexpected keys \(first: encoder\.extra\)"):
        network(extra)
    bare = tmp_path / "bare.pt"
    torch.save(state["model"], bare)
    with pytest.raises(AsdbenchError, match=r"bare\.pt: not a BEATs checkpoint: expected a dict with 'cfg'"):
        network(bare)


def test_missing_weights_say_what_to_put_where(empty_models_dir, tmp_path):
    with pytest.raises(AsdbenchError) as error:
        factories.beats((128, 70))
    message = str(error.value)
    assert str(empty_models_dir / "BEATs_iter3.pt") in message and "ASDBENCH_MODELS_DIR" in message
    assert weights.WEIGHTS["beats"].url in message and "asdbench models fetch beats" in message
    with pytest.raises(AsdbenchError, match=r"nowhere\.pt \(the `weights` option\) does not exist"):
        factories.beats((128, 70), weights=str(tmp_path / "nowhere.pt"))


def test_wrong_input_is_refused(tiny_weights):
    with pytest.raises(AsdbenchError, match="'beats-fbank' frontend"):
        factories.beats((257, 70), weights=str(tiny_weights))
    with pytest.raises(AsdbenchError, match="fewer than one 16-frame patch"):
        factories.beats((128, 10), weights=str(tiny_weights))


def test_models_fetch_finds_the_network(empty_models_dir, monkeypatch):
    from asdbench.cli.main import main

    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest_dir: fetched.append((name, dest_dir)) or dest_dir)
    assert main(["models", "fetch", "beats"]) == 0
    assert fetched == [("beats", empty_models_dir)]


def test_fetch_without_a_published_checksum_says_so(tmp_path, monkeypatch):
    import io

    monkeypatch.setattr(weights.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"beats"))
    with pytest.warns(UserWarning, match="no checksum, so the download .* is unchecked; its SHA-256 is"):
        path = weights.fetch("beats", tmp_path)
    assert path.read_bytes() == b"beats"


# --- specs and a whole run --------------------------------------------------------------------------------


def _spec(root: Path, weights_path: Path, **train) -> dict:
    return {
        "seed": 1,
        "dataset": {"name": "synth", "root": str(root)},
        "system": {"labels": "attributes", "frontends": ["spectrum", "beats-fbank"],
                   "networks": ["spectrum-cnn", {"name": "beats", "weights": str(weights_path), "lora_rank": 4,
                                                 "embedding_dim": 16}],
                   "loss": "scac", "backend": {"name": "kmeans-target", "clusters": 4}},
        "train": {"epochs": 1, "checkpoints": [1], "batch_size": 16, "clip_seconds": 4.5, **train},
    }


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("lora_rank", 0, "expected a number >= 1"), ("finetune", "partial", "expected one of 'lora'"),
    ("lora_targets", ["k_proj", "mlp"], "expected a non-empty list of q_proj"),
    ("lora_dropout", 1.0, "expected a number >= 0 and < 1"), ("embedding_dim", -1, "expected a number >= 0"),
    ("pooling", "max", "expected one of 'mean', 'attentive-stats'"),
])
def test_spec_checks_the_options(tmp_path, option, value, expected):
    spec = _spec(tmp_path, tmp_path / "w.pt")
    spec["system"]["networks"][1][option] = value
    with pytest.raises(SpecError, match=rf"system\.networks\[1\]\.{option}: {expected}"):
        validate_spec(spec, Registry())


def test_stacked_seeds_are_refused_at_validation(tmp_path):
    with pytest.raises(SpecError, match=r"system\.networks\[1\]: network 'beats' .* cannot be trained with "
                                        r"train\.stack_seeds > 1"):
        validate_spec(_spec(tmp_path, tmp_path / "w.pt", stack_seeds=2), Registry())


@pytest.mark.slow
def test_a_run_mixes_beats_with_the_papers_branches(tiny_dataset, tiny_weights, tmp_path):
    spec = validate_spec(_spec(tiny_dataset, tiny_weights), get_registry())
    assert spec.canonical["system"]["networks"][1]["lora_alpha"] == 8.0  # defaults filled in
    store = Store(tmp_path / "runs")
    results = store.run(spec, get_registry(), progress=False)
    checkpoint = torch.load(store.training_directory(spec) / "checkpoints" / "epoch_001.pt", weights_only=True)
    kept = [key for key in checkpoint["model"] if key.startswith("networks.1.")]
    assert kept and all("lora_" in key or "projection" in key or "weights_sha256" in key for key in kept)
    assert all(0 < results["splits"][split]["official_score"] <= 1 for split in ("dev", "eval"))


def test_plugin_check_runs_the_network_when_its_weights_are_in_place(tiny_weights, empty_models_dir):
    from asdbench.contract.selfcheck import check_component

    registry = Registry()
    registration = registry.get("networks", "beats")
    skipped = check_component(registry, registration)
    assert not skipped.failed and skipped.result.startswith("skipped: input (128, 313): 'beats' needs")
    (empty_models_dir / "BEATs_iter3.pt").write_bytes(tiny_weights.read_bytes())
    checked = check_component(registry, registration)
    assert not checked.failed and checked.result == "ok: (2, 128, 313) -> (2, 128)"
    for name in ("beats-fbank", "eat-fbank"):
        result = check_component(registry, registry.get("frontends", name))
        assert result.result == "ok: (2, 16000) -> (2, 128, 98)"
