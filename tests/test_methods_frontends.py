"""The spectrum and STFT frontends against the reference notes' sizes and a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asdbench.errors import AsdbenchError
from asdbench_methods import factories

EIGHTEEN_SECONDS = 18 * 16000


def numpy_stft(signal: np.ndarray, n_fft: int) -> np.ndarray:
    """|DFT| of every centred, reflect-padded, periodic-Hann frame, divided by the window's L2 norm: (bins, frames)."""
    hop = n_fft // 2
    padded = np.pad(signal, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    starts = range(0, len(padded) - n_fft + 1, hop)
    frames = np.stack([padded[s : s + n_fft] * window for s in starts], axis=1)
    return np.abs(np.fft.rfft(frames, axis=0)) / np.sqrt((window**2).sum())


def test_spectrum_is_the_magnitude_of_the_whole_clips_dft():
    x = torch.randn(2, 1001)
    out = factories.spectrum()(x)
    assert out.shape == (2, *factories.spectrum().output_shape(1001))
    np.testing.assert_allclose(out.numpy(), np.abs(np.fft.rfft(x.numpy(), axis=-1)), rtol=1e-4, atol=1e-4)
    assert factories.spectrum().output_shape(EIGHTEEN_SECONDS) == (144001,)


@pytest.mark.parametrize(("n_fft", "bins", "frames"), [(256, 125, 2251), (1024, 500, 563), (4096, 1997, 141)])
def test_stft_sizes_for_18_s_clips_match_the_reference(n_fft, bins, frames):
    assert factories.stft(n_fft=n_fft).output_shape(EIGHTEEN_SECONDS) == (bins, frames)


@pytest.mark.parametrize(("n_fft", "first_hz"), [(256, 250.0), (1024, 203.125), (4096, 203.125)])
def test_stft_keeps_bins_from_the_first_at_or_above_200_hz_up_to_8000_hz(n_fft, first_hz):
    stft = factories.stft(n_fft=n_fft)
    assert stft.first_bin * 16000 / n_fft == first_hz
    assert (stft.first_bin - 1) * 16000 / n_fft < 200.0
    assert (stft.end_bin - 1) * 16000 / n_fft == 8000.0


@pytest.mark.parametrize("n_fft", [64, 256])
def test_stft_matches_a_direct_window_normalised_dft(n_fft):
    signal = np.random.default_rng(n_fft).normal(size=2000).astype(np.float32)
    stft = factories.stft(n_fft=n_fft)
    out = stft(torch.from_numpy(signal)[None])[0].numpy()
    expected = numpy_stft(signal.astype(np.float64), n_fft)[stft.first_bin : stft.end_bin]
    assert out.shape == expected.shape == stft.output_shape(len(signal))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_stft_of_a_tiny_batch_has_the_announced_shape():
    x = torch.randn(2, 32000)
    stft = factories.stft(n_fft=64, f_min=0.0, f_max=4000.0)
    out = stft(x)
    assert out.shape == (2, *stft.output_shape(32000)) == (2, 17, 1001)


def test_temporal_norm_subtracts_each_bins_mean_over_time():
    x = torch.randn(2, 8000)
    plain = factories.stft(n_fft=256)(x)
    normalised = factories.stft(n_fft=256, temporal_norm=True)(x)
    torch.testing.assert_close(normalised, plain - plain.mean(dim=-1, keepdim=True))
    torch.testing.assert_close(normalised.mean(-1), torch.zeros(2, plain.shape[1]), atol=1e-5, rtol=0)


def test_frontends_compute_on_the_device_of_their_input():
    # The meta device stands in for an accelerator: a window left on the CPU would make torch.stft fail.
    stft = factories.stft(n_fft=64).to("meta")
    assert "window" in dict(stft.named_buffers())
    x = torch.empty(2, 1600, device="meta")
    assert stft(x).device == x.device and stft(x).shape == (2, *stft.output_shape(1600))
    assert factories.spectrum()(x).device == x.device


@pytest.mark.parametrize(("options", "message"), [
    ({"n_fft": 300}, r"stft\.n_fft: expected a power of two, got 300"),
    ({"n_fft": 8}, r"stft\.n_fft: expected a number >= 16, got 8"),
    ({"f_min": 9000.0}, r"stft\.f_min: expected a number >= 0 and < 8000, got 9000\.0"),
    ({"f_min": -1.0}, r"stft\.f_min: expected a number >= 0"),
    ({"f_max": 9000.0}, r"stft\.f_max: expected a number > 0 and <= 8000, got 9000\.0"),
    ({"f_min": 4000.0, "f_max": 1000.0}, "'stft': need f_min < f_max"),
    ({"n_fft": 16, "f_min": 100.0, "f_max": 900.0}, "'stft': no bin"),
])
def test_bad_stft_options_are_errors_naming_the_frontend_and_option(options, message):
    with pytest.raises(AsdbenchError, match=message):
        factories.stft(**options)
