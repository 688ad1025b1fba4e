"""``specaug`` against ASDKit's SpecAug (``asdkit/augmentations/specaug.py`` at ed27d82, with torchaudio 2.1.1's
masks): the same waveforms, torch seeded alike, the same output to float noise.

``tests/golden/asdkit.npz`` holds every 32nd sample of ASDKit's output and a summary of all of it
(tests/golden/make_asdkit_reference.py, run by tests/golden/regenerate_asdkit.sh); ``tests/golden/inputs.py`` rebuilds
the waveforms here. Both draw their masks from torch's CPU generator in the same order, so equal outputs mean equal
draws, masks and STFT round trips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asdbench.contract.registry import get_registry
from asdbench.errors import AsdbenchError
from asdbench.spec.validate import validate_spec
from tests.golden import inputs

GOLDEN = Path(__file__).parent / "golden" / "asdkit.npz"
TOLERANCE = 1e-6
"""Both compute in float32 through the same torch.stft and torch.istft: bit-identical where measured (torch 2.13.0
CPU); the margin is for another CPU's FFT (waveforms of amplitude about 0.5)."""
CASES = {
    "default-1s": ({}, inputs.SPECAUG_SHORT_SECONDS, (0, 1, 2)),
    "default-4s": ({}, inputs.SPECAUG_LONG_SECONDS, (3, 4)),
    "always-narrow": ({"time_width": 20, "time_probability": 1.0, "freq_width": 30, "freq_probability": 1.0},
                      inputs.SPECAUG_LONG_SECONDS, (5,)),
    "hamming-512": ({"time_width": 40, "freq_width": 60, "n_fft": 512, "window": "hamming"},
                    inputs.SPECAUG_LONG_SECONDS, (6, 7)),
    "time-only-hop-300": ({"time_probability": 1.0, "freq_width": 0, "hop_length": 300},
                          inputs.SPECAUG_LONG_SECONDS, (8,)),
}
"""Golden case (make_asdkit_reference.SPECAUG, ASDKit's option names there) -> (specaug's options, seconds, seeds)."""


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        return dict(data)


def specaug(**options) -> torch.nn.Module:
    return get_registry().create("augmentations", "specaug", **options).train()


@pytest.mark.parametrize("case", CASES)
def test_specaug_equals_asdkits_specaug(golden, case):
    options, seconds, seeds = CASES[case]
    waves = inputs.waveforms(f"specaug/{case}", inputs.SPECAUG_BATCH, seconds)
    np.testing.assert_allclose(inputs.fingerprint(waves.ravel()), golden[f"specaug/{case}/input"], rtol=1e-9,
                               atol=1e-9, err_msg="tests/golden/inputs.py no longer rebuilds the generator's input")
    augmentation = specaug(**options)
    targets = torch.eye(inputs.SPECAUG_BATCH)
    for seed in seeds:
        torch.manual_seed(seed)
        output, kept = augmentation(torch.from_numpy(waves), targets)
        assert kept is targets
        np.testing.assert_allclose(output.numpy()[:, :: inputs.SPECAUG_STRIDE], golden[f"specaug/{case}/{seed}"],
                                   rtol=0, atol=TOLERANCE, err_msg=f"{case}, seed {seed}")
        np.testing.assert_allclose(inputs.summary(f"specaug/{case}/{seed}", output.numpy()),
                                   golden[f"specaug/{case}/{seed}/summary"], rtol=1e-5, atol=1e-4)


def test_the_golden_cases_mask_something_and_leave_some_clips_whole(golden):
    """The cases are worth comparing: a masked clip moves far from its input, and with probability 0.5 some clip
    of the batch only goes through the STFT and back."""
    waves = inputs.waveforms("specaug/default-4s", inputs.SPECAUG_BATCH, inputs.SPECAUG_LONG_SECONDS)
    changes = [np.abs(golden[f"specaug/default-4s/{seed}"] - waves[:, :: inputs.SPECAUG_STRIDE]).max(axis=1)
               for seed in (3, 4)]
    changes = np.concatenate(changes)
    assert changes.max() > 0.1 and changes.min() < 1e-5


def test_specaug_changes_nothing_outside_training_nor_the_targets():
    augmentation = specaug().eval()
    waves, targets = torch.randn(2, 16000), torch.eye(2)
    same, kept = augmentation(waves, targets)
    assert same is waves and kept is targets


def test_a_time_mask_zeroes_the_frames_it_covers():
    """Given draws, the mask is the deterministic part: frames [2, 5) of clip 0 only, clip 1's mask not applied."""
    from asdbench_methods.augmentations import MaskDraws, SpecAugment

    magnitude = torch.ones(2, 3, 8)
    draws = MaskDraws(torch.tensor([True, False]), torch.tensor([2, 2]), torch.tensor([5, 5]))
    masked = SpecAugment.mask(magnitude, draws, axis=-1)
    assert masked[0, :, 2:5].eq(0).all() and masked[0, :, :2].eq(1).all() and masked[0, :, 5:].eq(1).all()
    assert masked[1].eq(1).all()
    frequency = SpecAugment.mask(magnitude, draws, axis=-2)
    assert frequency[0, 2:].eq(0).all() and frequency[0, :2].eq(1).all() and frequency[1].eq(1).all()


def test_a_hop_longer_than_the_window_is_refused_when_built():
    with pytest.raises(AsdbenchError, match=r"specaug: hop_length \(2048\) must be at most n_fft \(1024\)"):
        specaug(hop_length=2048)


def test_a_spec_with_specaug_validates_and_is_another_training(tmp_path):
    base = {"dataset": {"name": "synth", "root": str(tmp_path)},
            "system": {"frontends": ["spectrum"], "networks": ["spectrum-cnn"], "loss": "scac",
                       "augmentations": ["mixup"], "backend": "knn"}}
    with_specaug = {**base, "system": {**base["system"], "augmentations": ["mixup", {"name": "specaug",
                                                                                     "time_width": 40}]}}
    plain, augmented = validate_spec(base, get_registry()), validate_spec(with_specaug, get_registry())
    assert augmented.system["augmentations"][1] == {
        "name": "specaug", "time_width": 40, "time_probability": 0.5, "freq_width": 80, "freq_probability": 0.5,
        "n_fft": 1024, "hop_length": 0, "window": "hann"}
    assert plain.training_hash != augmented.training_hash and plain.scoring_hash == augmented.scoring_hash
