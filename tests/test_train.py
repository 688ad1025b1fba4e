"""The generic trainer: seeded, resumable to identical checkpoints, NaN losses stop with a clear error."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from asdbench.errors import TrainingError
from asdbench.training.checkpoints import checkpoint_path
from asdbench.training.epochloss import EpochLoss
from asdbench.training.loop import TrainingPlan, train
from tests.helpers.training import assert_same_states, data, make_system, plan, states


@pytest.mark.slow
def test_resume_after_interruption_gives_identical_checkpoints(training_registry, tmp_path, monkeypatch):
    clips, targets = data()
    reference = train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "a",
                      device=torch.device("cpu"), progress=False)

    import asdbench.training.loop as train_module

    real_save, saves = train_module.save_checkpoint, []

    def save_then_die(state, path):  # "kill" the process right after epoch 3 is on disk
        real_save(state, path)
        saves.append(path.name)
        if state["epoch"] == 3 and path.name == "last.pt":
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "b", device=torch.device("cpu"),
              progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    resumed = train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "b",
                    device=torch.device("cpu"), progress=False)
    assert [p.name for p in resumed] == ["epoch_002.pt", "epoch_004.pt"]
    assert_same_states(states(reference), states(resumed))
    assert not (tmp_path / "b" / "last.pt").exists(), "the last epoch is a kept one: no copy of it as last.pt"


@pytest.mark.slow
def test_a_kill_between_a_kept_epoch_and_last_resumes_after_the_kept_epoch(training_registry, tmp_path, monkeypatch):
    """end_epoch saves the kept checkpoint, then removes last.pt: a kill between the two leaves last.pt an epoch
    behind, and the resumed training starts from the kept epoch, neither training it again nor rewriting its file."""
    clips, targets = data()
    reference = train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "a",
                      device=torch.device("cpu"), progress=False)

    import asdbench.training.loop as train_module

    real_save = train_module.save_checkpoint

    def save_then_die(state, path):
        real_save(state, path)
        if path.name == "epoch_002.pt":
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "b", device=torch.device("cpu"),
              progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    kept = (tmp_path / "b" / "epoch_002.pt").stat()
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=True)["epoch"] == 1
    resumed = train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "b",
                    device=torch.device("cpu"), progress=False)
    again = (tmp_path / "b" / "epoch_002.pt").stat()
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns), "epoch 2 was not trained again"
    assert_same_states(states(reference), states(resumed))


@pytest.mark.slow
def test_resumed_training_says_from_which_epoch_unless_silenced(training_registry, tmp_path, capsys):
    clips, targets = data()
    short = plan(epochs=2, checkpoints=(1, 2))
    train(make_system(training_registry), clips, targets, 3, short, tmp_path, device=torch.device("cpu"),
          progress=False)
    assert capsys.readouterr() == ("", "")
    train(make_system(training_registry), clips, targets, 3, plan(), tmp_path, device=torch.device("cpu"),
          progress=True)
    assert "resuming from epoch 2 of 4" in capsys.readouterr().out


@pytest.mark.slow
def test_one_bar_counts_the_whole_training_from_where_it_resumes(training_registry, tmp_path, monkeypatch):
    """The training bar's ETA is the training's: it spans every epoch and a resumed training starts it at the
    batches already trained."""
    from asdbench.training import loop as train_module

    class RecordingBar:
        def __init__(self, **options):
            self.options, self.n, self.postfix = options, options["initial"], ""
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n=1):
            self.n += n

        def set_postfix_str(self, text, refresh=True):
            self.postfix = text

    bars = []
    clips, targets = data()
    steps = -(-len(clips) // plan().batch_size)
    train(make_system(training_registry), clips, targets, 3, plan(epochs=2, checkpoints=(1, 2)), tmp_path,
          device=torch.device("cpu"), progress=False)
    monkeypatch.setattr(train_module, "progress_bar", RecordingBar)
    train(make_system(training_registry), clips, targets, 3, plan(), tmp_path, device=torch.device("cpu"),
          progress=True)
    (bar,) = bars
    assert (bar.options["desc"], bar.options["total"], bar.options["initial"]) == ("training", 4 * steps, 2 * steps)
    assert bar.n == 4 * steps
    assert bar.postfix.startswith("epoch 4/4, loss ")


@pytest.mark.slow
def test_finished_training_is_not_repeated(training_registry, tmp_path):
    clips, targets = data()
    train(make_system(training_registry), clips, targets, 3, plan(), tmp_path, device=torch.device("cpu"),
          progress=False)
    before = checkpoint_path(tmp_path, 4).stat().st_mtime_ns
    train(make_system(training_registry), clips, targets, 3, plan(), tmp_path, device=torch.device("cpu"),
          progress=False)
    assert checkpoint_path(tmp_path, 4).stat().st_mtime_ns == before


@pytest.mark.slow
def test_other_seed_gives_other_weights(training_registry, tmp_path):
    clips, targets = data()
    a = train(make_system(training_registry), clips, targets, 3, plan(), tmp_path / "a", device=torch.device("cpu"),
              progress=False)
    other = TrainingPlan(**{**plan().__dict__, "seed": 4})
    b = train(make_system(training_registry), clips, targets, 3, other, tmp_path / "b", device=torch.device("cpu"),
              progress=False)
    left, right = states(a)[-1], states(b)[-1]
    assert any(not torch.equal(left[k], right[k]) for k in left)


@pytest.mark.slow
def test_training_reduces_the_loss(training_registry, tmp_path):
    clips, targets = data()
    train(make_system(training_registry), clips, targets, 3, plan(epochs=8, checkpoints=(1, 8)), tmp_path,
          device=torch.device("cpu"), progress=False)
    first = torch.load(checkpoint_path(tmp_path, 1), weights_only=True)["loss"]
    last = torch.load(checkpoint_path(tmp_path, 8), weights_only=True)["loss"]
    assert last < first


@pytest.mark.slow
def test_nan_loss_stops_with_a_clear_error_and_keeps_finished_epochs(training_registry, tmp_path):
    clips, targets = data()
    system = make_system(training_registry)
    system.loss.scale = float("nan")  # set after validation, which refuses a non-finite option
    with pytest.raises(TrainingError, match="loss is nan at epoch 1, step 1"):
        train(system, clips, targets, 3, plan(), tmp_path,
              device=torch.device("cpu"), progress=False)
    assert not (tmp_path / "last.pt").exists()


def test_the_running_loss_is_read_back_every_few_steps_and_is_the_mean_read_step_by_step():
    """Losses stay on the device until every_steps of them are pending; the mean is then the one a read after
    every step gave (Python floats, step by step), to the last bit."""
    values = torch.from_numpy(np.random.default_rng(0).normal(2, 1, size=(10, 2)).astype(np.float32))
    losses = EpochLoss(1, [Path("a"), Path("b")], every_steps=4, every_seconds=math.inf)
    assert [losses.add(step) for step in values] == [False, False, False, True] * 2 + [False, False]
    assert losses.steps_read == 8
    expected = [0.0, 0.0]
    for step, row in enumerate(values.tolist(), start=1):
        expected = [mean + (value - mean) / step for mean, value in zip(expected, row)]
    assert losses.read().tolist() == expected
    assert losses.steps_read == 10


def test_a_non_finite_loss_read_back_later_names_its_own_step_and_training():
    losses = EpochLoss(3, [Path("seed1"), Path("seed2")], every_steps=4, every_seconds=math.inf)
    for _step in range(1, 6):
        losses.add(torch.tensor([1.0, 1.0]))
    losses.add(torch.tensor([1.0, float("inf")]))  # step 6, read back with step 8
    losses.add(torch.tensor([float("nan"), float("nan")]))
    with pytest.raises(TrainingError, match=r"loss is inf at epoch 3, step 6; .* kept in seed2\."):
        losses.add(torch.tensor([1.0, 1.0]))


@pytest.mark.slow
def test_a_nan_loss_found_at_the_epoch_end_names_its_step_and_its_epoch_is_not_saved(training_registry, tmp_path,
                                                                                       monkeypatch):
    """Training reads its losses back every READ_EVERY_STEPS steps or READ_EVERY_SECONDS seconds only (here:
    once an epoch, at its end); a NaN loss at epoch 2, step 3 of 4 is found then, named as it happened, and the
    NaN weights of the steps after it are never saved: last.pt stays epoch 1's."""
    import asdbench.training.epochloss as epochloss

    monkeypatch.setattr(epochloss, "READ_EVERY_STEPS", 1000)
    monkeypatch.setattr(epochloss, "READ_EVERY_SECONDS", math.inf)
    reads = []
    real_read = EpochLoss.read
    monkeypatch.setattr(EpochLoss, "read", lambda self: reads.append(self.epoch) or real_read(self))
    clips, targets = data()
    system = make_system(training_registry)
    real_loss, calls = system.training_loss, []

    def nan_at_epoch_2_step_3(waveforms, targets):
        calls.append(None)
        loss = real_loss(waveforms, targets)
        return loss * float("nan") if len(calls) == 4 + 3 else loss

    monkeypatch.setattr(system, "training_loss", nan_at_epoch_2_step_3)
    with pytest.raises(TrainingError, match="loss is nan at epoch 2, step 3; training stopped"):
        train(system, clips, targets, 3, plan(), tmp_path, device=torch.device("cpu"), progress=False)
    assert len(calls) == 8, "the steps after the NaN one ran: the check comes at the read"
    assert reads == [1, 2], "one read back per epoch"
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 1
    assert not checkpoint_path(tmp_path, 2).exists()


@pytest.mark.slow
def test_weights_that_are_not_finite_are_never_saved(training_registry, tmp_path, monkeypatch):
    """A finite loss whose update makes a weight infinite (the last step of epoch 1 here) leaves no checkpoint."""
    clips, targets = data()
    real_step, steps = torch.optim.AdamW.step, []

    def poisoned_at_step_4(self, *args, **kwargs):
        result = real_step(self, *args, **kwargs)
        steps.append(None)
        if len(steps) == 4:
            with torch.no_grad():
                self.param_groups[0]["params"][1][0] = float("inf")
        return result

    monkeypatch.setattr(torch.optim.AdamW, "step", poisoned_at_step_4)
    with pytest.raises(TrainingError, match=r"weights are not finite after epoch 1 \(the first: networks\.0\.layer"
                                            r"\.0\.bias\); training stopped before saving them"):
        train(make_system(training_registry), clips, targets, 3, plan(), tmp_path, device=torch.device("cpu"),
              progress=False)
    assert not list(tmp_path.glob("*.pt"))
