"""Inputs and weights of the golden tests, made the same way in two environments.

``generate.py`` runs the authors' code (its own venv) on these; ``tests/test_golden.py`` runs asdbench on the
same. Everything comes from numpy's PCG64 with fixed seeds, which gives the same numbers on every platform
and numpy version, so the golden files hold only outputs, and a SHA-256 of each input guards against drift.
Only numpy here: this module is imported by both environments.
"""

from __future__ import annotations

import hashlib

import numpy as np

SAMPLE_RATE = 16_000
FRONTEND_SECONDS = 0.25
"""Frontend outputs are stored whole for two clips this short (every bin and frame)."""
LONG_SECONDS = 18
"""The reference's clip length; frontends on it are stored as per-bin and per-frame means."""
SYSTEM_SECONDS = 5
"""Clip length of the whole-system step: the shortest whole second the spectrum branch (>= 4.38 s) and the
4096-point STFT branch (>= 36 frames) both accept."""
SYSTEM_BATCH = 4
SYSTEM_CLASSES = 3
EMBEDDING_DIM = 128


def rng(name: str) -> np.random.Generator:
    """A generator seeded from a name, so that every input and every weight tensor has its own stream."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


def waveforms(name: str, count: int, seconds: float) -> np.ndarray:
    """Machine-like test clips: a few harmonics with jitter, plus noise; float32 ``(count, seconds * 16 kHz)``."""
    generator = rng(f"waveforms/{name}")
    samples = int(round(seconds * SAMPLE_RATE))
    t = np.arange(samples) / SAMPLE_RATE
    clips = []
    for _ in range(count):
        base = generator.uniform(80, 400)
        tone = sum(generator.uniform(0.1, 1) / k * np.sin(2 * np.pi * k * base * t + generator.uniform(0, 2 * np.pi))
                   for k in range(1, 6))
        clips.append(0.3 * tone + 0.05 * generator.standard_normal(samples))
    return np.asarray(clips, dtype=np.float32)


def tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Deterministic values for one weight or buffer called ``name`` (the reference's state-dict key).

    Scales keep activations in a sane range: weights N(0, 1/fan_in), batch-norm affine 1 + N(0, 0.1^2) and
    N(0, 0.1^2), running means N(0, 0.1^2), running variances U(0.5, 1.5).
    """
    generator = rng(f"tensor/{name}")
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_var":
        values = generator.uniform(0.5, 1.5, shape)
    elif leaf in ("running_mean", "bias"):
        values = 0.1 * generator.standard_normal(shape)
    elif len(shape) == 1:  # a batch-norm scale
        values = 1 + 0.1 * generator.standard_normal(shape)
    else:
        values = generator.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
    return values.astype(np.float32)


def soft_targets(name: str, batch: int, classes: int) -> np.ndarray:
    """Mixup-like soft targets: two one-hots mixed with a random weight, rows summing to one."""
    generator = rng(f"targets/{name}")
    first, second = generator.integers(0, classes, batch), generator.integers(0, classes, batch)
    weight = generator.uniform(size=(batch, 1))
    eye = np.eye(classes)
    return (weight * eye[first] + (1 - weight) * eye[second]).astype(np.float32)


def one_hot_targets(name: str, batch: int, classes: int) -> np.ndarray:
    labels = rng(f"labels/{name}").integers(0, classes, batch)
    return np.eye(classes, dtype=np.float32)[labels]


def embeddings(name: str, count: int, dim: int) -> np.ndarray:
    """Gaussian rows, float32."""
    return rng(f"embeddings/{name}").standard_normal((count, dim)).astype(np.float32)


def scoring_set(checkpoint: int) -> dict[str, np.ndarray]:
    """One machine's embeddings at one checkpoint: L2-normalised, float32, with domains and test labels.

    Source clips gather around 6 operating conditions, target clips around one shifted condition, anomalies
    are displaced; each checkpoint moves every clip a little, as further training would. 120 source and 10
    target training clips, 100 test clips (50 per domain, 20 anomalies each).
    """
    layout = rng("scoring/layout")
    dim = 32
    conditions = layout.standard_normal((6, dim))
    target_condition = conditions[0] + 0.8 * layout.standard_normal(dim)
    train_source = conditions[layout.integers(0, 6, 120)] + 0.5 * layout.standard_normal((120, dim))
    train_target = target_condition + 0.5 * layout.standard_normal((10, dim))
    test_is_target = np.repeat([0, 1], 50)
    test_is_anomaly = np.tile(np.repeat([0, 1], [30, 20]), 2)
    centres = np.where(test_is_target[:, None] == 1, target_condition, conditions[layout.integers(0, 6, 100)])
    spread = 0.5 * layout.standard_normal((100, dim))
    displacement = 0.6 * test_is_anomaly[:, None] * layout.standard_normal((100, dim))
    test = centres + spread + displacement
    drift = rng(f"scoring/checkpoint-{checkpoint}")
    train = np.concatenate([train_source, train_target])
    train = train + 0.2 * drift.standard_normal(train.shape)
    test = test + 0.2 * drift.standard_normal(test.shape)

    def unit(rows: np.ndarray) -> np.ndarray:
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    return {
        "train": unit(train),
        "train_is_target": np.repeat([0, 1], [120, 10]),
        "test": unit(test),
        "test_is_target": test_is_target,
        "test_is_anomaly": test_is_anomaly,
    }


SCORING_CHECKPOINTS = (12, 14, 16)


def summary(name: str, values: np.ndarray) -> np.ndarray:
    """Sum, L1, L2 and 8 fixed entries of a large tensor (the entries' positions depend on its name only)."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    picks = rng(f"summary/{name}").integers(0, flat.size, 8)
    return np.concatenate([[flat.sum(), np.abs(flat).sum(), np.linalg.norm(flat)], flat[picks]])


def fingerprint(array: np.ndarray) -> np.ndarray:
    """Sum, sum of squares, first and last value of an input, stored beside the outputs that were made from it.

    A test first checks that it rebuilt the same input (to float noise: trigonometry may round differently on
    another CPU), so a changed input generator fails as such instead of as a difference of outputs.
    """
    flat = np.asarray(array, dtype=np.float64).ravel()
    return np.array([flat.sum(), np.square(flat).sum(), flat[0], flat[-1]])


def cluster_points(name: str) -> tuple[np.ndarray, int]:
    """A 2-D point set like one domain of one machine after UMAP, and the most clusters BIC may choose.

    "source-*": 150-250 points around 2-7 centres of different spreads; "target-*": 10 points (one machine's
    target clips) around 1 or 2 centres. Points are in random order, as clips are.
    """
    generator = rng(f"clusters/{name}")
    if name.startswith("source"):
        centres = generator.uniform(-8, 8, (int(generator.integers(2, 8)), 2))
        count, limit = int(generator.integers(150, 251)), 16
    else:
        centres = generator.uniform(-3, 3, (int(generator.integers(1, 3)), 2))
        count, limit = 10, 2
    spread = generator.uniform(0.3, 1.5, len(centres))
    members = generator.integers(0, len(centres), count)
    return centres[members] + spread[members, None] * generator.standard_normal((count, 2)), limit


CLUSTER_SETS = tuple(f"source-{i}" for i in range(6)) + tuple(f"target-{i}" for i in range(6))


ASDKIT_SETS = ("asdkit-a", "asdkit-b")
"""Two machines for ASDKit's backends (tests/golden/make_asdkit_reference.py)."""


def asdkit_set(name: str) -> dict[str, np.ndarray]:
    """One DCASE-sized machine: 990 source and 10 target training clips (as a DCASE 2023 / 2024 machine has), 200
    test clips (100 per domain, 40 anomalies each), 64-dim embeddings, L2-normalised float32 (as ASDKit's
    ``*_extract.npz`` holds them). Source clips gather around 3-10 operating conditions of different spreads,
    target clips around one shifted condition; anomalies are displaced."""
    generator = rng(f"asdkit/{name}")
    dim, sources, targets = 64, 990, 10
    conditions = generator.standard_normal((int(generator.integers(3, 11)), dim))
    spreads = generator.uniform(0.3, 0.8, len(conditions))
    target_condition = conditions[0] + 0.8 * generator.standard_normal(dim)
    members = generator.integers(0, len(conditions), sources)
    train_source = conditions[members] + spreads[members, None] * generator.standard_normal((sources, dim))
    train_target = target_condition + 0.5 * generator.standard_normal((targets, dim))
    test_is_target = np.repeat([0, 1], 100)
    test_is_anomaly = np.tile(np.repeat([0, 1], [60, 40]), 2)
    test_members = generator.integers(0, len(conditions), 200)
    centres = np.where(test_is_target[:, None] == 1, target_condition, conditions[test_members])
    spread = np.where(test_is_target == 1, 0.5, spreads[test_members])[:, None]
    test = centres + spread * generator.standard_normal((200, dim))
    test = test + 0.7 * test_is_anomaly[:, None] * generator.standard_normal((200, dim))

    def unit(rows: np.ndarray) -> np.ndarray:
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    return {
        "train": unit(np.concatenate([train_source, train_target])),
        "train_is_target": np.repeat([0, 1], [sources, targets]),
        "test": unit(test),
        "test_is_target": test_is_target,
        "test_is_anomaly": test_is_anomaly,
    }


BASELINE_AE_SECONDS = 1.5
"""Clip length of the DCASE baseline's golden sets: 47 log-mel frames, 43 vectors of 5 frames."""
BASELINE_AE_SETS = {"with-target": (8, 3, 4), "source-only": (6, 0, 3)}
"""Name -> (source training clips, target training clips, test clips) of a machine for the DCASE baseline's code."""


def baseline_ae_set(name: str) -> dict[str, np.ndarray]:
    """One machine's clips for the DCASE baseline's golden test: training clips (source first) and test clips."""
    source, target, test = BASELINE_AE_SETS[name]
    return {"train": waveforms(f"baseline-ae/{name}/train", source + target, BASELINE_AE_SECONDS),
            "train_domains": np.array(["source"] * source + ["target"] * target),
            "test": waveforms(f"baseline-ae/{name}/test", test, BASELINE_AE_SECONDS)}


SPECAUG_BATCH = 4
SPECAUG_SHORT_SECONDS = 1.0
SPECAUG_LONG_SECONDS = 4.0
"""The clips ASDKit's SpecAug is run on (tests/golden/make_asdkit_reference.py): 4 a case, of 1 s (63 frames of
its default STFT, fewer than its widest time mask) or 4 s."""
SPECAUG_STRIDE = 32
"""Every 32nd sample of SpecAug's output is stored (8 per hop of its default STFT): a mask placed otherwise changes
them."""


MOBILENET_SECONDS = 2.05
"""Clip length of the MobileNetV2 baseline's golden set: 65 log-mel frames, 2 images of 64 frames per clip."""
MOBILENET_CLIPS = 3
MOBILENET_CLASSES = 3
"""Sections of the golden model's head."""


def mobilenet_clips() -> np.ndarray:
    """The clips of the MobileNetV2 baseline's golden test."""
    return waveforms("mobilenet", MOBILENET_CLIPS, MOBILENET_SECONDS)


def mobilenet_weight(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Deterministic values for the Keras MobileNetV2 weight ``name`` (``<layer>/<index>``, the index in the layer's
    ``get_weights()``) of Keras ``shape``: kernels N(0, 2 / fan_in), fan_in = the values each output reads
    (``kh * kw`` for a depthwise kernel), the dense kernel N(0, 4 / fan_in), biases and batch-norm offsets
    N(0, 0.1^2), batch-norm scales U(0.5, 1.5). Batch-norm moving statistics are not made here: the reference sets
    them from the activations and stores them."""
    generator = rng(f"mobilenet/{name}")
    layer, index = name.rsplit("/", 1)
    if len(shape) == 1:
        values = generator.uniform(0.5, 1.5, shape) if index == "0" and "BN" in layer.upper() \
            else 0.1 * generator.standard_normal(shape)
    else:
        fan_in = int(np.prod(shape[:2])) if "depthwise" in layer else int(np.prod(shape[:-1]))
        scale = 2.0 if len(shape) == 2 else 1.0
        values = scale * generator.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    return values.astype(np.float32)
