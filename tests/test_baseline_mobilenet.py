"""The DCASE 2021/2022 Task 2 MobileNetV2 baseline against its own code: ``log-mel`` (both years' padding),
``dcase-mobilenetv2``, ``image-cross-entropy`` and ``mobilenet-score`` (both formulas) on fixed clips and weights.

``tests/golden/mobilenet_baseline.npz`` holds what the baselines' modules compute
(y-kawagu/dcase2021_task2_baseline_mobile_net_v2 at e2bb4f7, Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2 at
aaf3932), made by ``tests/golden/regenerate_mobilenet.sh``; ``tests/golden/inputs.py`` rebuilds the clips and the
weights here, and the batch-norm moving statistics the reference set are read from the file. The network is fed the
baseline's own features, so that a difference is found where it arises.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from asdbench.contract.registry import get_registry
from asdbench.errors import AsdbenchError
from asdbench.spec.validate import validate_spec
from asdbench_methods.mobilenet import ConvBN, DCASEMobileNetV2
from tests.golden import inputs

GOLDEN = Path(__file__).parent / "golden" / "mobilenet_baseline.npz"
CLASSES = inputs.MOBILENET_CLASSES
SOFTMAX_ATOL = 1e-4
"""Float32 noise of two implementations through 53 layers on log-mel images in dB: measured 2.2e-5, where the same
network in float64 is 1.3e-5 from Keras (Keras's own float32 noise). Symmetric padding of the stride-2 convolutions
instead of Keras's moves it by 0.68 (docs/mobilenet-baseline.md, "Checked")."""


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        stored = dict(data)
    np.testing.assert_allclose(inputs.fingerprint(inputs.mobilenet_clips().ravel()), stored["input"], rtol=1e-9,
                               err_msg="tests/golden/inputs.py no longer rebuilds the generator's input")
    return stored


def keras_layers(network: DCASEMobileNetV2) -> list[tuple[ConvBN, str, str]]:
    """Each conv + batch-norm of the network with the names of its Keras layers (kernel, batch norm)."""
    model = network.mobilenet
    layers = [(model.stem, "Conv1", "bn_Conv1")]
    for index, block in enumerate(model.blocks):
        prefix = "expanded_conv" if index == 0 else f"block_{index}"
        if index:
            layers.append((block.expand, f"{prefix}_expand", f"{prefix}_expand_BN"))
        layers += [(block.depthwise, f"{prefix}_depthwise", f"{prefix}_depthwise_BN"),
                   (block.project, f"{prefix}_project", f"{prefix}_project_BN")]
    return [*layers, (model.head, "Conv_1", "Conv_1_bn")]


def load_golden_weights(network: DCASEMobileNetV2, golden: dict[str, np.ndarray]) -> None:
    """The reference's weights, Keras layouts turned into torch's: conv kernels HWIO -> OIHW, depthwise kernels
    (H, W, C, 1) -> (C, 1, H, W), the dense kernel transposed."""
    for layer, conv_name, bn_name in keras_layers(network):
        conv = next(m for m in layer if isinstance(m, nn.Conv2d))
        norm = next(m for m in layer if isinstance(m, nn.BatchNorm2d))
        out_channels, in_channels, height, width = conv.weight.shape
        if conv.groups > 1:
            kernel = inputs.mobilenet_weight(f"{conv_name}/0", (height, width, out_channels, 1)).transpose(2, 3, 0, 1)
        else:
            kernel = inputs.mobilenet_weight(f"{conv_name}/0", (height, width, in_channels, out_channels))
            kernel = kernel.transpose(3, 2, 0, 1)
        conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel))
        channels = (norm.num_features,)
        norm.weight.data = torch.from_numpy(inputs.mobilenet_weight(f"{bn_name}/0", channels))
        norm.bias.data = torch.from_numpy(inputs.mobilenet_weight(f"{bn_name}/1", channels))
        norm.running_mean.data = torch.from_numpy(golden[f"moving/{bn_name}/mean"])
        norm.running_var.data = torch.from_numpy(golden[f"moving/{bn_name}/variance"])
    dense = network.mobilenet.classifier
    dense.weight.data = torch.from_numpy(inputs.mobilenet_weight("predictions/0", (1280, CLASSES)).T.copy())
    dense.bias.data = torch.from_numpy(inputs.mobilenet_weight("predictions/1", (CLASSES,)))


@pytest.fixture(scope="module")
def network(golden) -> DCASEMobileNetV2:
    made = get_registry().create("networks", "dcase-mobilenetv2", golden["features/2022"].shape[1:], CLASSES)
    load_golden_weights(made, golden)
    return made.eval()


@pytest.fixture(scope="module")
def embedded(network, golden) -> np.ndarray:
    with torch.no_grad():
        return network(torch.from_numpy(golden["features/2022"])).numpy()


def test_log_mel_images_equal_the_2022_baselines(golden):
    vectors = get_registry().create("frontends", "log-mel", frames=64)(torch.from_numpy(inputs.mobilenet_clips()))
    assert vectors.shape == golden["features/2022"].shape
    np.testing.assert_allclose(vectors.numpy(), golden["features/2022"], rtol=0, atol=2e-4)  # dB, as the AE's


def test_log_mel_images_with_reflect_padding_equal_the_2021_baselines(golden):
    """librosa 0.6.0's reflect padding (as librosa 0.9.1 computes it with pad_mode='reflect', see the generator)."""
    frontend = get_registry().create("frontends", "log-mel", frames=64, pad_mode="reflect")
    vectors = frontend(torch.from_numpy(inputs.mobilenet_clips()[:1]))[0].numpy()
    np.testing.assert_allclose(vectors, golden["features/2021"], rtol=0, atol=2e-4)
    zeros = get_registry().create("frontends", "log-mel", frames=64)(torch.from_numpy(inputs.mobilenet_clips()[:1]))
    assert np.abs(zeros[0].numpy() - golden["features/2021"]).max() > 1.0, "the padding changes the edge frames"


def test_the_network_is_kerass_mobilenetv2_alpha_half(network, golden):
    counted = sum(p.numel() for p in network.parameters()) + sum(
        b.numel() for name, b in network.named_buffers() if name.endswith(("running_mean", "running_var")))
    assert counted == int(golden["count_params"]) == 710_067


def test_the_softmax_of_every_image_equals_kerass(network, golden):
    images = torch.from_numpy(golden["features/2022"])
    with torch.no_grad():
        softmax = network.image_logits(images).softmax(dim=1).numpy()
    np.testing.assert_allclose(softmax.reshape(golden["softmax"].shape), golden["softmax"], rtol=0, atol=SOFTMAX_ATOL)


@pytest.mark.parametrize(("block", "name"), [(0, "cross-entropy"), (1, "score/2022"), (2, "score/2021")])
def test_each_per_class_block_equals_the_baselines_expression(embedded, golden, block, name):
    assert embedded.shape == (len(golden[name]), 3 * CLASSES)
    np.testing.assert_allclose(embedded[:, block * CLASSES : (block + 1) * CLASSES], golden[name], rtol=0,
                               atol=1e-4)


@pytest.mark.parametrize("formula", ["2022", "2021"])
@pytest.mark.parametrize("section", range(CLASSES))
def test_mobilenet_score_is_the_baselines_score_at_the_units_section(embedded, golden, formula, section):
    backend = get_registry().create("backends", "mobilenet-score", formula=formula)
    backend.fit(embedded, np.array(["source"] * len(embedded)), class_index=section)
    np.testing.assert_allclose(backend.score(embedded), golden[f"score/{formula}"][:, section], rtol=0, atol=1e-4)


def test_image_cross_entropy_is_the_mean_over_clips_of_kerass_at_their_section(embedded, golden):
    loss = get_registry().create("losses", "image-cross-entropy", [3 * CLASSES], CLASSES)
    sections = torch.tensor([2, 0, 1])
    value = loss([torch.from_numpy(embedded)], nn.functional.one_hot(sections, CLASSES).float())
    expected = golden["cross-entropy"][np.arange(3), sections.numpy()].mean()
    np.testing.assert_allclose(value.item(), expected, rtol=0, atol=1e-4)  # as the blocks it is the mean of


def test_a_section_the_model_has_no_class_for_is_refused_not_nan(embedded):
    backend = get_registry().create("backends", "mobilenet-score")
    with pytest.raises(AsdbenchError, match=r"class 3 is not one of the model's 3 .* the baseline's is NaN"):
        backend.fit(embedded, np.array(["source"] * len(embedded)), class_index=CLASSES)


def test_training_keeps_every_eighth_image_and_embedding_every_one():
    frontend = get_registry().create("frontends", "log-mel", frames=64, train_frame_hop=8)
    clip = torch.from_numpy(inputs.waveforms("mobilenet/hop", 1, 3.0))
    every = frontend.eval()(clip)
    assert every.shape[1] == frontend.output_shape(clip.shape[-1])[0] == 31  # 94 frames
    eighth = frontend.train()(clip)
    assert eighth.shape[1] == frontend.output_shape(clip.shape[-1])[0] == 4
    torch.testing.assert_close(eighth, every[:, ::8])


def test_the_new_log_mel_options_stay_out_of_the_identity_at_their_defaults():
    def spec(**options):
        return validate_spec({"dataset": {"name": "synth", "root": "data"},
                              "system": {"frontends": [{"name": "log-mel", **options}], "networks": ["dcase-ae"],
                                         "loss": "reconstruction", "backend": "reconstruction-mse",
                                         "embeddings": "raw"}}, get_registry())

    default = spec()
    assert set(default.system["frontends"][0]) == {"name", "n_mels", "frames", "frame_hop", "n_fft", "hop_length",
                                                   "power", "f_min", "f_max"}
    assert spec(pad_mode="constant", train_frame_hop=0).training_hash == default.training_hash
    assert len({default.training_hash, spec(pad_mode="reflect").training_hash,
                spec(train_frame_hop=8).training_hash}) == 3
