"""The loss and the anomaly scores of a network whose clip embedding is three blocks of per-class values
(``[cross-entropy | 2022 score | 2021 score]``, C values each: :mod:`asdbench_methods.mobilenet`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from asdbench.api import AsdbenchError

BLOCKS = ("cross-entropy", "2022", "2021")
"""The blocks of the embedding, in order."""


def block_count(dim: int, who: str) -> int:
    """The number of classes C of a ``3C``-wide embedding; an error naming ``who`` otherwise."""
    if dim < len(BLOCKS) or dim % len(BLOCKS):
        raise AsdbenchError(f"{who}: needs embeddings of three per-class blocks (such as network "
                            f"'dcase-mobilenetv2' gives), got {dim} values")
    return dim // len(BLOCKS)


class ImageCrossEntropy(nn.Module):
    """The mean over a batch of clips of their images' mean categorical cross-entropy at the clip's class: Keras's
    ``categorical_crossentropy`` over the baseline's batches of images when every clip has as many images."""

    def __init__(self, branch_dims: Sequence[int], num_classes: int, /) -> None:
        super().__init__()
        if len(branch_dims) != 1 or branch_dims[0] != len(BLOCKS) * num_classes:
            raise AsdbenchError(f"loss 'image-cross-entropy': needs one branch of 3 x {num_classes} classes per-class "
                                f"values (network 'dcase-mobilenetv2'), got branches of {list(branch_dims)}")
        self.num_classes = num_classes

    def forward(self, branches: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        cross_entropy = branches[0][:, : self.num_classes]
        return (targets * cross_entropy).sum(dim=1).mean()


class MobileNetScore:
    """A clip's anomaly score: its block ``formula`` ("2022" or "2021") at the unit's class, the mean over its
    images of the baseline's per-image score for its own section."""

    def __init__(self, *, formula: str) -> None:
        self.offset = BLOCKS.index(formula)
        self.column: int | None = None

    def fit(self, embeddings: np.ndarray, domains: np.ndarray, class_index: int) -> None:
        classes = block_count(embeddings.shape[1], "backend 'mobilenet-score'")
        if not 0 <= class_index < classes:
            raise AsdbenchError(f"backend 'mobilenet-score': class {class_index} is not one of the model's {classes} "
                                "(a section not seen in training has no score; the baseline's is NaN)")
        self.column = self.offset * classes + class_index

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        if self.column is None:
            raise AsdbenchError("backend 'mobilenet-score': score() before fit()")
        return np.asarray(embeddings[:, self.column])


def check_input() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class blocks of 3 classes from random logits: 20 training clips (16 source, 4 target) and 7 test clips."""
    from asdbench_methods.mobilenet import class_blocks

    generator = torch.Generator().manual_seed(0)
    train, test = (class_blocks(torch.randn(count, 3, generator=generator)).numpy() for count in (20, 7))
    return train, np.array(["source"] * 16 + ["target"] * 4), test
