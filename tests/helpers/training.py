"""Small trainings for the trainer's tests: fake components that train in milliseconds on arrays of noise (a
registry of them is conftest's ``training_registry``), and the paper's system on 1 s clips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from asdbench.contract.registry import Registry, get_registry
from asdbench.data.clips import ClipSource
from asdbench.hookspecs import hookimpl
from asdbench.spec.identity import RunSpec
from asdbench.spec.validate import validate_spec
from asdbench.training.loop import TrainingPlan
from asdbench.training.system import System, build_system

CPU = torch.device("cpu")
SAMPLES = 16000
"""The paper system's training length here: 1 s."""


class ArrayClips:
    """A stand-in for a cached clip group: the trainer only needs lengths and batch()."""

    def __init__(self, clips: np.ndarray) -> None:
        self.clips = clips
        self.lengths = np.full(len(clips), clips.shape[1])

    def __len__(self) -> int:
        return len(self.clips)

    def batch(self, indices, num_samples, starts=None, out=None):
        starts = np.zeros(len(indices), int) if starts is None else starts
        out = np.empty((len(indices), num_samples), np.float32) if out is None else out
        out[:] = np.stack([self.clips[i, s : s + num_samples] for i, s in zip(indices, starts)])
        return out


class Magnitude(nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x).abs()[:, :32]

    def output_shape(self, num_samples):
        return (32,)


class Dense(nn.Module):
    def __init__(self, input_shape, /, *, embedding_dim: int = 8):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.layer = nn.Sequential(nn.Linear(input_shape[0], 16), nn.ReLU(), nn.Linear(16, embedding_dim))

    def forward(self, x):
        return self.layer(torch.log1p(x))


class SoftmaxLoss(nn.Module):
    def __init__(self, branch_dims, num_classes, /, *, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.head = nn.Linear(sum(branch_dims), num_classes)

    def forward(self, branches, targets):
        logits = self.head(torch.cat(branches, dim=1)) * self.scale
        return -(targets * torch.log_softmax(logits, dim=1)).sum(1).mean()


class Jitter(nn.Module):
    """Random gain: proves augmentation randomness is part of the seeded, resumable state."""

    def forward(self, x, targets):
        if not self.training:
            return x, targets
        return x * (1 + 0.1 * torch.rand(len(x), 1, device=x.device)), targets


class Fakes:
    @hookimpl
    def asdbench_register_frontends(self, register):
        register("magnitude", Magnitude)

    @hookimpl
    def asdbench_register_networks(self, register):
        register("dense", Dense)

    @hookimpl
    def asdbench_register_losses(self, register):
        register("softmax", SoftmaxLoss)

    @hookimpl
    def asdbench_register_augmentations(self, register):
        register("jitter", Jitter)

    @hookimpl
    def asdbench_register_backends(self, register):
        register("none", lambda: None)


def make_system(registry: Registry, scale: float = 1.0, num_classes: int = 3) -> System:
    """Two branches of the fake components, jitter augmentation, seeded: the same weights every call."""
    spec = validate_spec({
        "dataset": {"name": "synth", "root": "unused"},
        "system": {"frontends": ["magnitude", "magnitude"], "networks": ["dense", "dense"],
                   "loss": {"name": "softmax", "scale": scale}, "augmentations": ["jitter"], "backend": "none"},
    }, registry)
    torch.manual_seed(0)
    return build_system(spec.system, registry, num_classes=num_classes, num_samples=256)


def data() -> tuple[ClipSource, np.ndarray]:
    """30 noise clips of 300 samples in two groups, three classes of growing loudness."""
    rng = np.random.default_rng(0)
    targets = np.repeat(np.arange(3), 10)
    clips = rng.normal(size=(30, 300)) * (1 + targets[:, None])
    return ClipSource([ArrayClips(clips[:12]), ArrayClips(clips[12:])]), targets


def plan(epochs: int = 4, checkpoints: Sequence[int] = (2, 4)) -> TrainingPlan:
    return TrainingPlan(epochs=epochs, batch_size=8, lr=1e-2, weight_decay=0.01, checkpoints=list(checkpoints),
                        seed=3, precision="auto", num_samples=256)


def states(paths: Sequence[Path]) -> list[dict[str, torch.Tensor]]:
    """The model weights of each checkpoint."""
    return [torch.load(p, weights_only=True)["model"] for p in paths]


def assert_same_states(a: Sequence[dict[str, torch.Tensor]], b: Sequence[dict[str, torch.Tensor]]) -> None:
    """Bit for bit."""
    for left, right in zip(a, b):
        assert left.keys() == right.keys()
        for key in left:
            assert torch.equal(left[key], right[key]), key


def system_spec(**train: object) -> RunSpec:
    """The paper's system with two small STFT branches (both kinds of randomness: mixup and FeatEx)."""
    return validate_spec({
        "dataset": {"name": "synth", "root": "unused"},
        "system": {"frontends": [{"name": "stft", "n_fft": 256}, {"name": "stft", "n_fft": 512}],
                   "networks": ["spectrogram-resnet", "spectrogram-resnet"],
                   "loss": "scac", "aux": "featex", "augmentations": ["mixup"], "backend": "knn"},
        "train": {"epochs": 1, "checkpoints": [1], "batch_size": 6, **train},
    }, get_registry())


def noise_clips() -> tuple[ClipSource, np.ndarray]:
    """Twelve clips of 1 s of noise at growing levels, in three classes."""
    rng = np.random.default_rng(0)
    waves = rng.normal(size=(12, SAMPLES)) * np.linspace(0.1, 1, 12)[:, None]
    return ClipSource([ArrayClips(waves.astype(np.float32))]), np.arange(12) % 3


def make(seed: int, **train: object) -> tuple[System, TrainingPlan]:
    """A fresh system of :func:`system_spec`, its weights drawn from ``seed``, and its training plan."""
    spec = system_spec(**train)
    torch.manual_seed(seed)
    system = build_system(spec.system, get_registry(), num_classes=3, num_samples=SAMPLES)
    return system, TrainingPlan.from_spec(spec.train, seed, SAMPLES)
