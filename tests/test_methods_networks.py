"""The branch networks against the reference notes' parameter counts, built through the frontends' shapes."""

from __future__ import annotations

import pytest
import torch

from asdbench.errors import AsdbenchError
from asdbench_methods import factories

EIGHTEEN_SECONDS = 18 * 16000


def trainable(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def spectrogram_branch(n_fft: int, num_samples: int = EIGHTEEN_SECONDS, **options) -> torch.nn.Module:
    return factories.spectrogram_resnet(factories.stft(n_fft=n_fft).output_shape(num_samples), **options)


def test_spectrum_branch_for_18_s_clips_has_the_reference_size():
    assert trainable(factories.spectrum_cnn(factories.spectrum().output_shape(EIGHTEEN_SECONDS))) == 1_662_208


@pytest.mark.parametrize(("n_fft", "parameters"), [(256, 772_106), (1024, 972_536), (4096, 1_757_610)])
def test_spectrogram_branches_for_18_s_clips_have_the_reference_sizes(n_fft, parameters):
    assert trainable(spectrogram_branch(n_fft)) == parameters


def test_main_extractor_has_the_reference_size():
    branches = [factories.spectrum_cnn(factories.spectrum().output_shape(EIGHTEEN_SECONDS)), spectrogram_branch(4096),
                spectrogram_branch(256)]
    assert sum(map(trainable, branches)) == 4_191_924


@pytest.mark.parametrize(("frontend", "factory", "num_samples"), [
    (factories.spectrum(), factories.spectrum_cnn, 72000),  # the spectrum branch needs clips of at least 4.38 s
    (factories.stft(n_fft=256), factories.spectrogram_resnet, 32000),
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
    assert network(torch.empty(2, *factories.stft(n_fft=256).output_shape(8000), device="meta")).device.type == "meta"


def test_inputs_too_small_for_a_network_say_what_to_change():
    with pytest.raises(AsdbenchError, match="'spectrum-cnn'.*clips of at least 4.38 s"):
        factories.spectrum_cnn(factories.spectrum().output_shape(32000))
    with pytest.raises(AsdbenchError, match="'spectrogram-resnet'.*1997 bins x 16 frames.*longer clips"):
        spectrogram_branch(4096, 32000)
    with pytest.raises(AsdbenchError, match="20 bins.*larger n_fft"):
        factories.spectrogram_resnet((20, 100))


@pytest.mark.parametrize(("factory", "shape"), [(factories.spectrum_cnn, (40000, 2)), (factories.spectrogram_resnet, (40000,))])
def test_a_network_rejects_an_input_of_the_wrong_rank(factory, shape):
    with pytest.raises(AsdbenchError, match="input shape"):
        factory(shape)


@pytest.mark.parametrize(("factory", "shape"), [(factories.spectrum_cnn, (40000,)), (factories.spectrogram_resnet, (64, 64))])
def test_embedding_dim_must_be_positive(factory, shape):
    with pytest.raises(AsdbenchError, match=r"embedding_dim: expected a number >= 1, got 0"):
        factory(shape, embedding_dim=0)
