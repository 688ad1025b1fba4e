"""The branch networks against the reference notes' parameter counts, built through the frontends' shapes."""

from __future__ import annotations

import pytest
import torch

from asdbench.errors import AsdbenchError
from asdbench_methods.frontends import STFT, Spectrum
from asdbench_methods.networks import SpectrogramNetwork, SpectrumNetwork

EIGHTEEN_SECONDS = 18 * 16000


def trainable(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def spectrogram_branch(n_fft: int, num_samples: int = EIGHTEEN_SECONDS, **options) -> SpectrogramNetwork:
    return SpectrogramNetwork(STFT(n_fft=n_fft).output_shape(num_samples), **options)


def test_spectrum_branch_for_18_s_clips_has_the_reference_size():
    assert trainable(SpectrumNetwork(Spectrum().output_shape(EIGHTEEN_SECONDS))) == 1_662_208


@pytest.mark.parametrize(("n_fft", "parameters"), [(256, 772_106), (1024, 972_536), (4096, 1_757_610)])
def test_spectrogram_branches_for_18_s_clips_have_the_reference_sizes(n_fft, parameters):
    assert trainable(spectrogram_branch(n_fft)) == parameters


def test_main_extractor_has_the_reference_size():
    branches = [SpectrumNetwork(Spectrum().output_shape(EIGHTEEN_SECONDS)), spectrogram_branch(4096),
                spectrogram_branch(256)]
    assert sum(map(trainable, branches)) == 4_191_924


@pytest.mark.parametrize(("frontend", "factory", "num_samples"), [
    (Spectrum(), SpectrumNetwork, 72000),  # the spectrum branch needs clips of at least 4.38 s
    (STFT(n_fft=256), SpectrogramNetwork, 32000),
])
def test_networks_embed_and_pass_gradients_down_to_their_first_layer(frontend, factory, num_samples):
    torch.manual_seed(0)
    network = factory(frontend.output_shape(num_samples), embedding_dim=16)
    z = network(frontend(torch.randn(2, num_samples)))
    assert z.shape == (2, 16) and network.embedding_dim == 16
    z.pow(2).sum().backward()
    # Not every gradient is non-zero: SE(16, r=16) has a single hidden ReLU unit, which may be dead for a batch.
    assert all(p.grad is not None for p in network.parameters())
    assert next(network.parameters()).grad.abs().sum() > 0


def test_networks_run_on_the_device_of_their_input():
    network = spectrogram_branch(256, 8000).to("meta")
    assert network(torch.empty(2, *STFT(n_fft=256).output_shape(8000), device="meta")).device.type == "meta"


def test_inputs_too_small_for_a_network_say_what_to_change():
    with pytest.raises(AsdbenchError, match="'spectrum-cnn'.*4.38 s.*clip_seconds"):
        SpectrumNetwork(Spectrum().output_shape(32000))
    with pytest.raises(AsdbenchError, match="'spectrogram-resnet'.*1997 bins x 16 frames.*longer clips"):
        spectrogram_branch(4096, 32000)
    with pytest.raises(AsdbenchError, match="20 bins.*larger n_fft"):
        SpectrogramNetwork((20, 100))


@pytest.mark.parametrize(("factory", "shape"), [(SpectrumNetwork, (40000, 2)), (SpectrogramNetwork, (40000,))])
def test_a_network_rejects_an_input_of_the_wrong_rank(factory, shape):
    with pytest.raises(AsdbenchError, match="input shape"):
        factory(shape)


@pytest.mark.parametrize(("factory", "shape"), [(SpectrumNetwork, (40000,)), (SpectrogramNetwork, (64, 64))])
def test_embedding_dim_must_be_positive(factory, shape):
    with pytest.raises(AsdbenchError, match="embedding_dim"):
        factory(shape, embedding_dim=0)
