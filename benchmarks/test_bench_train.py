"""Training throughput and scoring time of the paper's main system (CPU here; CUDA when present)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asdbench.devices import default_device
from asdbench.plugins import get_registry
from asdbench.spec import validate_spec
from asdbench.system import build_system
from asdbench.train import autocast

SECONDS = 4.5
BATCH = 64


@pytest.fixture(scope="module")
def system():
    spec = validate_spec({
        "dataset": {"name": "synth", "root": "unused"},
        "system": {
            "frontends": [{"name": "spectrum"}, {"name": "stft", "n_fft": 256}, {"name": "stft", "n_fft": 4096}],
            "networks": ["spectrum-cnn", "spectrogram-resnet", "spectrogram-resnet"],
            "loss": "scac", "aux": "subspace", "augmentations": ["mixup"], "backend": "kmeans-target",
        },
    }, get_registry())
    torch.manual_seed(0)
    return build_system(spec.system, get_registry(), num_classes=60, num_samples=int(SECONDS * 16000))


def test_training_step(benchmark, system):
    device = default_device()
    system.to(device).train()
    optimiser = torch.optim.AdamW([p for p in system.parameters() if p.requires_grad], lr=1e-3)
    waveforms = torch.randn(BATCH, int(SECONDS * 16000), device=device)
    targets = torch.nn.functional.one_hot(torch.randint(0, 60, (BATCH,)), 60).float().to(device)

    def step():
        with autocast(device, "auto"):
            loss = system.training_loss(waveforms, targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    benchmark.pedantic(step, rounds=3, warmup_rounds=1)
    benchmark.extra_info["clips_per_second"] = BATCH / benchmark.stats["mean"]
    benchmark.extra_info["device"] = str(device)


def test_embedding_batch(benchmark, system):
    device = default_device()
    system.to(device).eval()
    waveforms = torch.randn(BATCH, int(SECONDS * 16000), device=device)

    def embed():
        with torch.inference_mode(), autocast(device, "auto"):
            return system.embed(waveforms)

    result = benchmark.pedantic(embed, rounds=3, warmup_rounds=1)
    assert np.isfinite(result.float().cpu().numpy()).all()
    benchmark.extra_info["clips_per_second"] = BATCH / benchmark.stats["mean"]
