"""train.warmup_steps: a linear learning-rate warm-up from 0, counted over the whole run, as ASDKit's BEATs and
EAT recipes schedule it (timm's CosineLRScheduler with warmup_lr_init 0 and lr_min = lr, stepped per step)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from torch.optim.optimizer import register_optimizer_step_pre_hook

from asdbench.contract.registry import get_registry
from asdbench.errors import SpecError
from asdbench.spec.validate import validate_spec
from asdbench.training.loop import train
from asdbench.training.stacked import StackedMember, train_stacked
from tests.helpers.training import CPU, assert_same_states, data, make, make_system, noise_clips, plan, states


def timm_warmup(lr: float, warmup: int, step: int) -> float:
    t = step - 1
    return 0.0 + t * ((lr - 0.0) / warmup) if t < warmup else lr


@pytest.fixture
def rates():
    seen: list[float] = []
    handle = register_optimizer_step_pre_hook(lambda optimiser, args, kwargs: seen.append(
        optimiser.param_groups[0]["lr"]))
    yield seen
    handle.remove()


def test_the_rate_of_every_step_is_timms_warmup_to_the_bit():
    warm = replace(plan(), warmup_steps=6)
    assert [warm.learning_rate(k) for k in range(1, 10)] == [timm_warmup(warm.lr, 6, k) for k in range(1, 10)]
    assert warm.learning_rate(1) == 0.0 and warm.learning_rate(7) == warm.lr == warm.learning_rate(10_000)
    assert [plan().learning_rate(k) for k in (1, 2, 100)] == [plan().lr] * 3


@pytest.mark.slow
def test_training_steps_run_at_the_warmup_rates_across_epochs(training_registry, tmp_path, rates):
    clips, targets = data()  # 30 clips in batches of 8: 4 steps an epoch
    warm = replace(plan(epochs=3, checkpoints=(3,)), warmup_steps=6)
    train(make_system(training_registry), clips, targets, 3, warm, tmp_path, device=CPU, progress=False)
    assert rates == [timm_warmup(warm.lr, 6, k) for k in range(1, 13)]


@pytest.mark.slow
def test_a_resumed_warmup_continues_where_it_stopped(training_registry, tmp_path, rates):
    clips, targets = data()
    warm = replace(plan(epochs=3, checkpoints=(3,)), warmup_steps=6)
    straight = train(make_system(training_registry), clips, targets, 3, warm, tmp_path / "straight", device=CPU,
                     progress=False)
    first = replace(warm, epochs=1, checkpoints=[1])
    train(make_system(training_registry), clips, targets, 3, first, tmp_path / "resumed", device=CPU, progress=False)
    rates.clear()
    resumed = train(make_system(training_registry), clips, targets, 3, warm, tmp_path / "resumed", device=CPU,
                    progress=False)
    assert rates == [timm_warmup(warm.lr, 6, k) for k in range(5, 13)]
    assert_same_states(states(resumed), states(straight))


@pytest.mark.slow
@pytest.mark.usefixtures("one_block_resnets")
def test_stacked_seeds_warm_up_alike(tmp_path, rates):
    source, targets = noise_clips()  # 12 clips in batches of 6: 2 steps
    members = []
    for seed in (1, 2):
        system, warm = make(seed, warmup_steps=3)
        members.append(StackedMember(system, source, targets, 3, warm, tmp_path / f"seed{seed}"))
    train_stacked(members, device=CPU, progress=False)
    lr = members[0].plan.lr
    assert rates == [timm_warmup(lr, 3, 1)] * 2 + [timm_warmup(lr, 3, 2)] * 2


def spec(**train):
    return validate_spec({"dataset": {"name": "synth", "root": "unused"},
                          "system": {"frontends": ["spectrum"], "networks": ["spectrum-cnn"], "loss": "scac",
                                     "backend": "knn"},
                          "train": train}, get_registry())


def test_no_warmup_leaves_the_canonical_form_and_the_identity_as_they_were():
    assert "warmup_steps" not in spec().canonical["train"]
    assert spec(warmup_steps=0).hash == spec().hash
    warm = spec(warmup_steps=5000)
    assert warm.canonical["train"]["warmup_steps"] == 5000 and warm.hash != spec().hash


@pytest.mark.parametrize("value", [-1, 2.5, True, "5000"])
def test_a_warmup_that_is_not_a_count_of_steps_is_refused(value):
    with pytest.raises(SpecError, match="train.warmup_steps"):
        spec(warmup_steps=value)
