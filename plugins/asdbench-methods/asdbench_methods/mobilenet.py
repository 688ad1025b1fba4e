"""The DCASE 2021/2022 Task 2 MobileNetV2 baseline's classifier: Keras's MobileNetV2 on log-mel images, the section
classifier head in the network, and a clip embedded as three blocks of per-class values from which its loss and its
two anomaly scores are computed without the images (docs/mobilenet-baseline.md).

Sources: ``keras_model.py`` of y-kawagu/dcase2021_task2_baseline_mobile_net_v2 (e2bb4f7) and
Kota-Dohi/dcase2022_task2_baseline_mobile_net_v2 (aaf3932), which build
``keras.applications.mobilenet_v2.MobileNetV2(input_shape=(64, 128, 3), alpha=0.5, weights=None,
classes=n_sections)`` on the image copied into three channels; the layers as Keras 2.8's ``mobilenet_v2.py`` builds
them.
"""

from __future__ import annotations

import torch
from torch import nn

from asdbench.api import AsdbenchError, BatchNorm2d

FLOOR = 2.220446049250313e-16
"""``sys.float_info.epsilon``: the baseline's floor under ``p`` and ``1 - p`` before the logarithms (``01_test.py``)."""

BATCH_NORM = {"eps": 1e-3, "momentum": 1e-3}
"""Keras's ``BatchNormalization(epsilon=1e-3, momentum=0.999)``: torch's momentum is one minus Keras's."""

BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
"""MobileNetV2's inverted residual blocks: (expansion, base channels, repeats, first stride)."""

EVAL_IMAGES = 512
"""Images per forward pass outside training: a clip has 250 (a 10 s clip, every vector), and a batch of clips would
otherwise hold every image's activations at once. Batch norm uses its running statistics then, so the pieces are
independent."""


def divisible(value: float, divisor: int = 8) -> int:
    """Keras's ``_make_divisible``: ``value`` rounded to a multiple of ``divisor``, never below 90% of it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBN(nn.Sequential):
    """Conv2d without bias, batch norm, and ReLU6 unless ``activation`` is false. A stride-2 convolution pads one row
    and column of zeros after the input only, as Keras's ``ZeroPadding2D(correct_pad(...))`` + ``'valid'`` (and
    ``'same'``, on even sizes) do; stride 1 pads symmetrically (``'same'``)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int, *, groups: int = 1,
                 activation: bool = True) -> None:
        layers: list[nn.Module] = [nn.ZeroPad2d((0, 1, 0, 1))] if stride == 2 else []
        layers += [nn.Conv2d(inputs, outputs, kernel, stride, 0 if stride == 2 else kernel // 2, groups=groups,
                             bias=False), BatchNorm2d(outputs, **BATCH_NORM)]
        if activation:
            layers.append(nn.ReLU6())
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """1x1 expansion (absent when ``expansion`` is 1), 3x3 depthwise, 1x1 linear projection; the input added back
    when the shapes allow (stride 1, as many channels out as in)."""

    def __init__(self, inputs: int, outputs: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = inputs * expansion
        self.expand = ConvBN(inputs, hidden, 1, 1) if expansion != 1 else nn.Identity()
        self.depthwise = ConvBN(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvBN(hidden, outputs, 1, 1, activation=False)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """Keras's ``MobileNetV2(alpha, include_top=True, classes)``: ``(N, 3, H, W)`` images -> ``(N, classes)``
    logits (its softmax is applied by whoever reads them)."""

    def __init__(self, classes: int, alpha: float) -> None:
        super().__init__()
        channels = divisible(32 * alpha)
        self.stem = ConvBN(3, channels, 3, 2)
        blocks = []
        for expansion, base, repeats, stride in BLOCKS:
            outputs = divisible(int(base * alpha))
            for index in range(repeats):
                blocks.append(InvertedResidual(channels, outputs, stride if index == 0 else 1, expansion))
                channels = outputs
        self.blocks = nn.Sequential(*blocks)
        last = divisible(1280 * alpha) if alpha > 1.0 else 1280
        self.head = ConvBN(channels, last, 1, 1)
        self.classifier = nn.Linear(last, classes)
        for module in self.modules():  # Keras's defaults: Glorot-uniform kernels, zero biases
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.blocks(self.stem(images))).mean(dim=(2, 3)))


def class_blocks(logits: torch.Tensor) -> torch.Tensor:
    """``(N, C)`` logits of N images -> ``(N, 3C)``: per class c, the image's cross-entropy ``-log p_c``, its 2022
    score ``log(max(1 - p_c, eps)) - log(max(p_c, eps))`` and its 2021 score ``log(max(1 - p_c, eps) -
    log(max(p_c, eps)))``, as ``01_test.py`` writes them (2022 lines 171-172; 2021 lines 168-169, whose parenthesis
    closes after the second logarithm), in float32 as the baseline computes them on ``predict``'s output."""
    logits = logits.float()
    probabilities = logits.softmax(dim=1)
    log_p = probabilities.clamp_min(FLOOR).log()
    log_q = (1.0 - probabilities).clamp_min(FLOOR)
    return torch.cat([-logits.log_softmax(dim=1), log_q.log() - log_p, (log_q - log_p).log()], dim=1)


class DCASEMobileNetV2(nn.Module):
    """``(B, V, frames * n_mels)`` log-mel vectors -> ``(B, 3C)``: each vector as a ``frames x n_mels`` image (rows =
    time) in three identical channels through :class:`MobileNetV2`, then the mean over the clip's images of each of
    :func:`class_blocks`' values: ``[cross-entropy | 2022 score | 2021 score]``, C values each, class order.

    The mean cross-entropy at the clip's class is the loss (``image-cross-entropy``), a block at the unit's class
    its anomaly score (``mobilenet-score``). A clip's images are one batch-norm batch with the other clips' in
    training, as the baseline's batches of 32 images are.
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, /, *, alpha: float, frames: int) -> None:
        super().__init__()
        if len(input_shape) != 2 or input_shape[1] % frames:
            raise AsdbenchError(f"network 'dcase-mobilenetv2': needs feature vectors (V, frames * n_mels) per clip, "
                                f"such as frontend 'log-mel' gives, with frames={frames}; got input shape "
                                f"{input_shape}")
        if num_classes < 1:
            raise AsdbenchError("network 'dcase-mobilenetv2': needs at least one class to classify")
        self.frames, self.mels = frames, input_shape[1] // frames
        if min(self.frames, self.mels) < 32:
            raise AsdbenchError(f"network 'dcase-mobilenetv2': images of {self.frames} x {self.mels} are smaller "
                                "than MobileNetV2's five halvings allow (32 x 32 at least)")
        self.num_classes = num_classes
        self.embedding_dim = 3 * num_classes
        self.mobilenet = MobileNetV2(num_classes, alpha)

    def image_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, V, D) -> (B * V, C)``: the logits of every image, clip by clip."""
        images = features.reshape(-1, 1, self.frames, self.mels).expand(-1, 3, -1, -1)
        if self.training:
            return self.mobilenet(images)
        return torch.cat([self.mobilenet(part) for part in images.split(EVAL_IMAGES)])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        blocks = class_blocks(self.image_logits(features))
        return blocks.reshape(features.shape[0], -1, self.embedding_dim).mean(dim=1)
