"""The CPU's channels-last training path (``train.memory_format = "channels_last"``, with asdbench's BatchNorm2d)
computes what the CPU's default, contiguous tensors, computes, to float32 rounding: outputs, loss, gradients and a
few optimiser steps of the paper's spectrum + spectrogram system."""

from __future__ import annotations

import pytest
import torch

from asdbench.api import BatchNorm2d
from asdbench.contract.registry import get_registry
from asdbench.spec.validate import validate_spec
from asdbench.training.loop import TrainingPlan, make_optimiser, place
from asdbench.training.system import System, build_system
from tests.helpers.training import CPU

SAMPLES = 70_016  # 4.38 s: the fewest the spectrum branch takes (35,008 bins)
BATCH = 8
"""BatchNorm over fewer clips makes the steps chaotic: on 3 clips, two runs of the way before whose inputs differ by
1e-7 had third-step losses 2 % apart (measured); on 8, 2e-5 apart."""
STEPS = 3
LR = 1e-5
"""AdamW's first steps move every weight by about lr whatever its gradient's size, so float noise that flips the sign
of a near-zero gradient moves a weight by 2 lr: the weights are compared to that bound, tight at this lr."""
pytestmark = pytest.mark.usefixtures("one_block_resnets")


def build(memory_format: str) -> tuple[System, TrainingPlan]:
    spec = validate_spec({
        "dataset": {"name": "synth", "root": "unused"},
        "system": {"frontends": ["spectrum", {"name": "stft", "n_fft": 256}],
                   "networks": ["spectrum-cnn", "spectrogram-resnet"], "loss": "scac", "aux": "subspace",
                   "backend": "knn"},
        "train": {"epochs": 1, "checkpoints": [1], "batch_size": BATCH, "lr": LR,
                  "memory_format": memory_format},
    }, get_registry())
    torch.manual_seed(0)
    system = build_system(spec.system, get_registry(), num_classes=3, num_samples=SAMPLES)
    plan = TrainingPlan.from_spec(spec.train, 1, SAMPLES)
    place(system, CPU, plan).train()
    return system, plan


def test_auto_keeps_the_cpu_contiguous():
    """Channels-last is the CPU's option, not its default: a plugin's nn.BatchNorm2d would get torch's inaccurate
    channels-last kernel there (docs/performance.md)."""
    system, _ = build("auto")
    assert all(p.is_contiguous() for p in system.parameters())
    assert any(not p.is_contiguous() for p in build("channels_last")[0].parameters())


def close(fast: torch.Tensor, before: torch.Tensor, what: str, scale: float | None = None) -> None:
    """Equal to float32 rounding relative to the tensor's scale: sums over thousands of products, then
    BatchNorm, which scales a difference up by the inverse of the batch's spread (an error in the fast path differs
    by the tensor's whole scale).
    ``scale``: the scale to be relative to, by default ``before``'s largest magnitude."""
    scale = float(before.detach().abs().max()) if scale is None else scale
    torch.testing.assert_close(fast, before, rtol=1e-3, atol=1e-4 * scale, msg=what)


@pytest.mark.slow
def test_the_fast_cpu_path_trains_as_the_way_before():
    generator = torch.Generator().manual_seed(1)
    waveforms = torch.randn(BATCH, SAMPLES, generator=generator) * torch.linspace(0.1, 1, BATCH)[:, None]
    targets = torch.eye(3)[torch.arange(BATCH) % 3]
    runs = {fast: build("channels_last" if fast else "contiguous") for fast in (True, False)}
    fast_system, before_system = (runs[fast][0] for fast in (True, False))
    assert any(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
               for p in fast_system.parameters()), "the fast path's 2-D convolutions are channels-last"

    for fast_branch, before_branch in zip(fast_system.branch_embeddings(waveforms),
                                          before_system.branch_embeddings(waveforms)):
        close(fast_branch, before_branch, "branch embeddings")

    optimisers = {fast: make_optimiser(system, plan) for fast, (system, plan) in runs.items()}
    for step in range(STEPS):
        losses = {}
        for fast, (system, _) in runs.items():
            optimisers[fast].zero_grad()
            losses[fast] = system.training_loss(waveforms, targets)
            losses[fast].backward()
        close(losses[True], losses[False], f"loss of step {step + 1}")
        if step == 0:  # relative to the largest gradient: a sum that cancels to near 0 keeps the noise of its terms
            pairs = [(name, fast.grad, before.grad) for (name, fast), before
                     in zip(fast_system.named_parameters(), before_system.parameters()) if fast.grad is not None]
            largest = max(float(before.abs().max()) for _, _, before in pairs)
            for name, fast, before in pairs:
                close(fast, before, f"gradient of {name}", largest)
        for optimiser in optimisers.values():
            optimiser.step()
    for (name, fast), before in zip(fast_system.state_dict().items(), before_system.state_dict().values()):
        if fast.is_floating_point():
            torch.testing.assert_close(fast, before, rtol=0, atol=2 * LR * STEPS, msg=name)


def test_batch_norm_in_channels_last_is_as_accurate_as_contiguous_and_keeps_batchnorm2d_s_state():
    """Against float64: asdbench's layer within a few times the contiguous kernel's error, where torch 2.13's
    channels-last kernel is ~300 times further off; running statistics and the batch count as nn.BatchNorm2d's."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(8, 16, 32, 256, generator=generator) * 0.5 + 3
    output_grad = torch.randn(features.shape, generator=generator) * 0.01

    def run(layer: torch.nn.Module, layout: torch.memory_format, dtype: torch.dtype = torch.float32):
        layer = layer.to(dtype)
        torch.nn.init.uniform_(layer.weight.data, 0.5, 1.5, generator=torch.Generator().manual_seed(1))
        x = features.to(dtype, copy=True, memory_format=layout).requires_grad_(True)
        y = layer(x)
        y.backward(output_grad.to(dtype))
        return [t.double() for t in (y.detach(), x.grad, layer.weight.grad, layer.running_mean, layer.running_var)]

    exact = run(torch.nn.BatchNorm2d(16), torch.contiguous_format, torch.float64)
    contiguous = run(BatchNorm2d(16), torch.contiguous_format)
    fast_layer = BatchNorm2d(16)
    fast = run(fast_layer, torch.channels_last)
    for name, got, before, wanted in zip(("output", "input gradient", "weight gradient", "running mean",
                                          "running variance"), fast, contiguous, exact):
        error, contiguous_error = (float((t - wanted).abs().max() / wanted.abs().max()) for t in (got, before))
        assert error <= 4 * contiguous_error + 1e-7, name
    assert int(fast_layer.num_batches_tracked) == 1
    fast_layer.eval()
    x = features.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fast_layer(x), torch.nn.functional.batch_norm(
        x, fast_layer.running_mean, fast_layer.running_var, fast_layer.weight, fast_layer.bias, eps=fast_layer.eps))
