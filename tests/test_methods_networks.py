"""Frontends and branch networks against the reference notes' shapes and parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asdbench.errors import AsdbenchError
from asdbench_methods.frontends import STFT, Spectrum
from asdbench_methods.networks import SpectrogramNetwork, SpectrumNetwork

EIGHTEEN_SECONDS = 18 * 16000


def trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_spectrum_branch_for_18_s_clips():
    shape = Spectrum().output_shape(EIGHTEEN_SECONDS)
    assert shape == (144001,)
    assert trainable(SpectrumNetwork(shape)) == 1_662_208


@pytest.mark.parametrize(("n_fft", "bins", "frames", "parameters"), [
    (256, 125, 2251, 772_106), (1024, 500, 563, 972_536), (4096, 1997, 141, 1_757_610),
])
def test_spectrogram_branches_for_18_s_clips(n_fft, bins, frames, parameters):
    shape = STFT(n_fft=n_fft).output_shape(EIGHTEEN_SECONDS)
    assert shape == (bins, frames)
    assert trainable(SpectrogramNetwork(shape)) == parameters


def test_main_extractor_has_the_reference_size():
    branches = [SpectrumNetwork(Spectrum().output_shape(EIGHTEEN_SECONDS))]
    branches += [SpectrogramNetwork(STFT(n_fft=n).output_shape(EIGHTEEN_SECONDS)) for n in (256, 4096)]
    assert sum(map(trainable, branches)) == 4_191_924


@pytest.mark.parametrize(("n_fft", "first_hz"), [(256, 250.0), (1024, 203.125), (4096, 203.125)])
def test_stft_keeps_bins_from_200_hz_to_nyquist(n_fft, first_hz):
    stft = STFT(n_fft=n_fft)
    assert stft.first_bin * 16000 / n_fft == first_hz
    assert (stft.end_bin - 1) * 16000 / n_fft == 8000.0


def test_stft_matches_a_direct_window_normalised_dft():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=2048).astype(np.float32)
    n_fft, hop = 256, 128
    out = STFT(n_fft=n_fft)(torch.from_numpy(signal)[None])[0].numpy()
    padded = np.pad(signal, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frame = 5
    expected = np.abs(np.fft.rfft(padded[frame * hop : frame * hop + n_fft] * window)) / np.sqrt((window**2).sum())
    np.testing.assert_allclose(out[:, frame], expected[4:129], rtol=1e-4, atol=1e-5)
    assert out.shape == STFT(n_fft=n_fft).output_shape(2048)


def test_temporal_norm_removes_each_bins_mean():
    x = torch.randn(2, 8000)
    normalised = STFT(n_fft=256, temporal_norm=True)(x)
    torch.testing.assert_close(normalised.mean(-1), torch.zeros(2, normalised.shape[1]), atol=1e-5, rtol=0)


def test_bad_stft_options_are_errors():
    with pytest.raises(AsdbenchError, match="power of two"):
        STFT(n_fft=300)
    with pytest.raises(AsdbenchError, match="f_min"):
        STFT(f_min=9000.0)


def test_networks_run_and_learn_on_short_clips():
    x = torch.randn(3, 72000)
    for frontend, factory in ((Spectrum(), SpectrumNetwork), (STFT(n_fft=1024), SpectrogramNetwork)):
        network = factory(frontend.output_shape(72000), embedding_dim=16)
        z = network(frontend(x))
        assert z.shape == (3, 16) and network.embedding_dim == 16
        z.pow(2).sum().backward()
        assert all(p.grad is not None for p in network.parameters() if p.requires_grad)


def test_inputs_too_small_for_a_network_say_what_to_change():
    with pytest.raises(AsdbenchError, match="clip_seconds"):
        SpectrumNetwork(Spectrum().output_shape(32000))
    with pytest.raises(AsdbenchError, match="too small"):
        SpectrogramNetwork(STFT(n_fft=4096).output_shape(32000))
