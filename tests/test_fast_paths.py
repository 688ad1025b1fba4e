"""The fast paths compute what the plain path computes: stacked seeds, channels-last, torch.compile, and scoring
every machine with one load per checkpoint (CPU). The spectrogram-resnets have one residual block (conftest's
``one_block_resnets``): what is compared does not depend on the depth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from asdbench.contract.registry import Registry, get_registry
from asdbench.data.clips import ClipSource
from asdbench.errors import TrainingError
from asdbench.scoring.ensemble import ensemble_scores
from asdbench.spec.validate import validate_spec
from asdbench.training.checkpoints import checkpoint_path
from asdbench.training.embed import EMBED_BATCH_CLIPS, UnitClips, embed, embed_batch_size, embed_checkpoint
from asdbench.training.loop import TrainingPlan, place, replay, train
from asdbench.training.stacked import StackedMember, stacked_epoch_runner, stacking_problem, train_stacked
from asdbench.training.system import build_system
from tests.helpers.training import CPU, SAMPLES, ArrayClips, Fakes, data, make, make_system, noise_clips, plan

SEEDS = (1, 2)
pytestmark = pytest.mark.usefixtures("one_block_resnets")


@pytest.fixture(scope="module")
def clips():
    return noise_clips()


@pytest.mark.slow
def test_stacked_seeds_train_as_each_seed_alone(clips, tmp_path):
    """Same data order, crops, mixup and FeatEx draws per seed: the epoch's mean loss agrees to float noise
    (another random draw would move it by percents). Weights agree within AdamW's amplification of that noise:
    an update is about lr * sign(gradient) whatever the gradient's size, so a near-zero gradient element whose
    sign flips moves a weight by up to 2 lr per step."""
    source, targets = clips
    alone, stacked_members = {}, []
    for seed in SEEDS:
        system, plan = make(seed)
        alone[seed] = train(system, source, targets, 3, plan, tmp_path / f"alone{seed}", device=CPU, progress=False)
        system, plan = make(seed)
        stacked_members.append(StackedMember(system, source, targets, 3, plan, tmp_path / f"stacked{seed}"))
    stacked = train_stacked(stacked_members, device=CPU, progress=False)
    steps = 2
    for seed, checkpoints in zip(SEEDS, stacked):
        assert [p.name for p in checkpoints] == [p.name for p in alone[seed]] == ["epoch_001.pt"]
        mine, theirs = (torch.load(p[0], weights_only=True) for p in (checkpoints, alone[seed]))
        assert mine["model"].keys() == theirs["model"].keys()
        assert mine["optimiser"]["state"].keys() == theirs["optimiser"]["state"].keys()
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-4)
        for key, value in mine["model"].items():
            if value.is_floating_point() and "running" not in key:
                torch.testing.assert_close(value, theirs["model"][key], rtol=0, atol=2 * 1e-3 * steps, msg=key)
    one, two = (torch.load(p[0], weights_only=True)["loss"] for p in stacked)
    assert one != pytest.approx(two, rel=1e-3), "each seed trains its own model"


@pytest.mark.slow
def test_one_stacked_step_of_the_paper_system_is_the_step_alone_in_float64(tmp_path, monkeypatch):
    """The paper's two-branch system (spectrum-cnn + spectrogram-resnet, SCAC, subspace aux, mixup), one AdamW
    step per epoch for two epochs, in float64: stacked and alone agree to 1e-9 in loss, gradients and weights.
    Data order, crops, mixup draws, BatchNorm statistics and optimiser state are therefore handled as alone;
    what float32 training shows beyond this is float noise that training amplifies (hence the separate
    identity of stacked trainings, asdbench.spec.identity.training_identity)."""
    torch.set_default_dtype(torch.float64)
    try:
        samples, rng = 72000, np.random.default_rng(1)
        waves = rng.normal(size=(4, samples)) * np.linspace(0.1, 1, 4)[:, None]
        source, targets = ClipSource([ArrayClips(waves)]), np.arange(4) % 2
        monkeypatch.setattr(ArrayClips, "batch", lambda self, indices, num_samples, starts=None, out=None:
                            np.copyto(out, self.clips[np.asarray(indices), :num_samples], casting="unsafe") or out)
        spec = validate_spec({
            "dataset": {"name": "synth", "root": "unused"},
            "system": {"frontends": ["spectrum", {"name": "stft", "n_fft": 256}],
                       "networks": ["spectrum-cnn", "spectrogram-resnet"], "loss": "scac", "aux": "subspace",
                       "augmentations": ["mixup"], "backend": "knn"},
            "train": {"epochs": 2, "checkpoints": [2], "batch_size": 4}}, get_registry())
        gradients = []
        real_step = torch.optim.AdamW.step
        monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, *a, **k: gradients.append(
            [p.grad.clone() for group in self.param_groups for p in group["params"]]) or real_step(self, *a, **k))

        def build():
            torch.manual_seed(1)
            return build_system(spec.system, get_registry(), num_classes=2, num_samples=samples)

        plan = TrainingPlan.from_spec(spec.train, 1, samples)
        alone = train(build(), source, targets, 2, plan, tmp_path / "alone", device=CPU, progress=False)
        [stacked] = train_stacked([StackedMember(build(), source, targets, 2, plan, tmp_path / "stacked")],
                                device=CPU, progress=False)
    finally:
        torch.set_default_dtype(torch.float32)
    assert len(gradients) == 4
    for mine, theirs in zip(gradients[2:], gradients[:2]):
        for a, b in zip(mine, theirs):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9 * max(float(g.abs().max()) for g in theirs))
    mine, theirs = (torch.load(p[0], weights_only=True) for p in (stacked, alone))
    assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
    for key, value in theirs["model"].items():
        if value.is_floating_point():
            torch.testing.assert_close(mine["model"][key], value, rtol=1e-9, atol=1e-9, msg=key)


@pytest.mark.slow
def test_a_stacked_training_re_creates_an_unkept_checkpoint_the_stacked_way(clips, tmp_path):
    """A scoring that needs an epoch a stacked training did not keep gets that epoch trained again as the
    stacked training computed it, bit for bit; the plain loop would give another checkpoint (float noise)."""
    source, targets = clips
    kept = {}
    for name, epochs in (("kept", [1, 2]), ("replayed", [2]), ("plain", [2])):
        system, plan = make(1, epochs=2, checkpoints=epochs)
        initial = {key: value.clone() for key, value in system.state_dict().items()}
        member = StackedMember(system, source, targets, 3, plan, tmp_path / name)
        train_stacked([member], device=CPU, progress=False)
        if name != "kept":
            replay(system, source, targets, 3, plan, member.checkpoint_dir, [1], initial_state=initial, device=CPU,
                   progress=False, run_epoch=stacked_epoch_runner(member, CPU) if name == "replayed" else None)
        kept[name] = torch.load(checkpoint_path(member.checkpoint_dir, 1), weights_only=True)
    for key, value in kept["kept"]["model"].items():
        assert torch.equal(kept["replayed"]["model"][key], value), key
    assert kept["replayed"]["loss"] == kept["kept"]["loss"]
    assert any(not torch.equal(kept["plain"]["model"][key], value) for key, value in kept["kept"]["model"].items())


def test_runs_that_differ_in_more_than_the_seed_are_not_stacked(clips, tmp_path):
    source, targets = clips
    first = StackedMember(*make(1)[:1], source, targets, 3, make(1)[1], tmp_path / "a")
    other_plan = dataclasses.replace(first.plan, seed=2, batch_size=4)
    second = dataclasses.replace(first, plan=other_plan, checkpoint_dir=tmp_path / "b")
    assert stacking_problem([first, second]) == "their training plans differ in more than the seed"
    with pytest.raises(TrainingError, match="cannot be trained stacked: their training plans differ"):
        train_stacked([first, second], device=CPU, progress=False)


def test_channels_last_gives_the_contiguous_embeddings(clips):
    source, _ = clips
    embeddings = {}
    for memory_format in ("contiguous", "channels_last"):
        system, plan = make(1, memory_format=memory_format)
        place(system, CPU, plan)
        embeddings[memory_format] = embed(system, source, SAMPLES, CPU, precision="fp32")
    np.testing.assert_allclose(embeddings["channels_last"], embeddings["contiguous"], atol=1e-5)


@pytest.mark.slow
def test_compiled_small_networks_train_to_the_plain_checkpoints_within_float_noise(tmp_path):
    """On a small dense system, whose updates AdamW does not amplify as much, compiled and plain training agree
    to float noise weight for weight."""
    registry = Registry(entry_points=False, extra_plugins=[Fakes()])
    clips, targets = data()
    checkpoints = {}
    for compiled in (False, True):
        system = make_system(registry)
        checkpoints[compiled] = train(system, clips, targets, 3, dataclasses.replace(plan(2, (2,)), compile=compiled),
                                      tmp_path / str(compiled), device=CPU, progress=False)
    plain, compiled = (torch.load(c[0], weights_only=True)["model"] for c in (checkpoints[False], checkpoints[True]))
    for key in plain:
        torch.testing.assert_close(compiled[key], plain[key], rtol=1e-4, atol=1e-5, msg=key)


@pytest.mark.slow
def test_compiled_networks_train_to_the_plain_checkpoints(clips, tmp_path):
    """The paper's system has two spectrogram-resnet branches of different input sizes, which share one
    ``forward``: compiling both must work in training (dynamo's automatic dynamic shapes made inductor fail
    on the second branch's batch-norm graph), keep the state-dict keys, and change the checkpoint by float
    noise only (up to AdamW's amplification of it, see the stacked test above)."""
    source, targets = clips
    states = {}
    for compiled in (False, True):
        system, plan = make(1, compile=compiled)
        checkpoint = train(system, source, targets, 3, plan, tmp_path / str(compiled), device=CPU, progress=False)
        assert all(network._compiled_call_impl is not None for network in system.networks) == compiled
        states[compiled] = torch.load(checkpoint[0], weights_only=True)
    plain, compiled = states[False], states[True]
    assert plain["model"].keys() == compiled["model"].keys(), "compiled runs keep the plain state-dict keys"
    assert compiled["loss"] == pytest.approx(plain["loss"], rel=1e-4)
    steps = 2
    for key, value in compiled["model"].items():
        if value.is_floating_point() and "running" not in key:
            torch.testing.assert_close(value, plain["model"][key], rtol=0, atol=2 * 1e-3 * steps, msg=key)


def test_scoring_all_machines_per_checkpoint_load_equals_one_machine_and_checkpoint_at_a_time(clips, tmp_path):
    """asdbench loads each checkpoint once and embeds every machine in batches; the reference starts one
    process per machine and checkpoint. Both give each clip the same ensemble score."""
    source, _ = clips
    checkpoints = []
    for seed in SEEDS:
        system, _ = make(seed)
        checkpoints.append(tmp_path / f"epoch_{seed:03d}.pt")
        torch.save({"model": system.state_dict()}, checkpoints[-1])
    domains = np.array(["source"] * 4 + ["target"] * 2)
    machines = [UnitClips("dev", name, "00", pd.DataFrame({"domain": domains}), pd.DataFrame({"file": list("abcdef")}),
                             ClipSource([ArrayClips(waves)]), ClipSource([ArrayClips(waves[::-1].copy())]))
                for name, waves in (("fan", source.groups[0].clips[:6]), ("valve", source.groups[0].clips[6:]))]

    def make_backend():
        return get_registry().create("backends", "kmeans-target", clusters=2)

    system = make(3)[0]
    fast = ensemble_scores([embed_checkpoint(system, checkpoint, machines, num_samples=SAMPLES, device=CPU,
                                             precision="auto", progress=False) for checkpoint in checkpoints],
                           machines, make_backend)
    for machine in machines:
        per_checkpoint = []
        for checkpoint in checkpoints:
            system = make(4)[0]  # a fresh process's model, then the checkpoint's weights
            system.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
            train_embeddings, test_embeddings = (embed(system, clips, SAMPLES, CPU, precision="fp32", batch_size=1)
                                                 for clips in (machine.train_clips, machine.test_clips))
            backend = make_backend()
            backend.fit(train_embeddings, domains)
            per_checkpoint.append([backend.score(train_embeddings), backend.score(test_embeddings)])
        plain_train, plain_test = np.mean(per_checkpoint, axis=0)
        np.testing.assert_allclose(fast[machine.key][0], plain_train, atol=1e-6)
        np.testing.assert_allclose(fast[machine.key][1], plain_test, atol=1e-6)


def test_embeddings_in_large_batches_are_the_small_batch_ones_within_float_noise():
    """CUDA embeds 512 clips of 18 s a batch (asdbench.training.embed.EMBED_BATCH_SECONDS_CUDA), the CPU 64 clips as
    before. The batch size changes only how the convolutions block their sums: float32 rounding, up to 1.2e-7
    measured on these unit-length embeddings. 1e-5 allows for that and is far below any distance a backend
    tells apart. Batches are made in a background thread and embedded in order."""
    rng = np.random.default_rng(5)
    source = ClipSource([ArrayClips((rng.normal(size=(70, SAMPLES)) * np.linspace(0.1, 1, 70)[:, None])
                                    .astype(np.float32))])
    system, _ = make(1)
    default = embed(system, source, SAMPLES, CPU, precision="fp32")  # 64 + 6
    assert default.shape == (70, 256) and default.dtype == np.float32
    for batch_size in (70, 9):  # one batch, as on CUDA; eight
        np.testing.assert_allclose(embed(system, source, SAMPLES, CPU, precision="fp32", batch_size=batch_size),
                                   default, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(default, axis=1), 1, rtol=1e-6)


def test_embedding_batches_are_sized_for_the_device():
    assert embed_batch_size(CPU, 18 * 16000) == embed_batch_size(CPU, 16000) == EMBED_BATCH_CLIPS == 64
    cuda = torch.device("cuda")
    assert embed_batch_size(cuda, 18 * 16000) == 512
    assert embed_batch_size(cuda, int(4.5 * 16000)) == 2048
    assert embed_batch_size(cuda, 10_000 * 16000) == 1


@pytest.mark.slow
def test_stacked_seeds_train_in_bf16_on_the_cpu(clips, tmp_path):
    """vmap's batch-norm rule makes the CPU kernel refuse bf16 features with float32 running statistics (torch
    2.13); the stacked networks normalise float32 copies there, as the kernel does for them outside vmap. A
    stacked bf16 epoch then gives the epoch alone's loss within bf16 rounding (8 bits of mantissa: 1e-2)."""
    source, targets = clips
    losses = {}
    for way in ("alone", "stacked"):
        system, plan = make(1, precision="bf16")
        if way == "alone":
            (checkpoint,) = train(system, source, targets, 3, plan, tmp_path / way, device=CPU, progress=False)
        else:
            [(checkpoint,)] = train_stacked([StackedMember(system, source, targets, 3, plan, tmp_path / way)],
                                            device=CPU, progress=False)
        losses[way] = torch.load(checkpoint, weights_only=True)["loss"]
    assert losses["stacked"] == pytest.approx(losses["alone"], rel=1e-2)
