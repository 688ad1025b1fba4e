"""The unit of work of training, scoring and pseudo-labelling: one section of one machine type of one split.

DCASE 2023-2026 have one section per machine type (``00``); DCASE 2020-2022 several (their year facts say which,
:mod:`asdbench.data.years`). Embeddings, scores, score files, labels and pseudo-labels are computed and stored per
unit, keyed as :func:`embedding_key` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

EMBEDDING_KEYS = 2
"""The version of the embedding keys (:func:`embedding_key`), stored in every embeddings file: 2 is
``<split>.<machine>.<section>.<train|test>``; version 1 (no section) files are read as damaged and computed again
from the training's checkpoints."""


def embedding_key(split: str, machine: str, section: str, subset: str) -> str:
    """The key of a unit's embeddings of one subset, in a training's stored embeddings and in what
    ``TrainedSystems.embeddings`` returns: ``dev.fan.00.train``."""
    return f"{split}.{machine}.{section}.{subset}"


@dataclass(frozen=True)
class Unit:
    """The manifest rows of one section of one machine type of one split (``train``: its training clips, ``test``:
    its test clips)."""

    split: str
    machine: str
    section: str
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def key(self) -> str:
        """``<split>.<machine>.<section>``: how messages, scores and pseudo-label spaces name the unit."""
        return f"{self.split}.{self.machine}.{self.section}"

    def embedding_key(self, subset: str) -> str:
        return embedding_key(self.split, self.machine, self.section, subset)


def units_of(manifests: Mapping[str, pd.DataFrame]) -> list[Unit]:
    """Every unit of every split, in the order a run embeds them (by split, then machine, then section)."""
    units = []
    for split, manifest in manifests.items():
        for (machine, section), rows in manifest.groupby(["machine", "section"], sort=True):
            units.append(Unit(split, str(machine), str(section), rows[rows["subset"] == "train"].reset_index(drop=True),
                              rows[rows["subset"] == "test"].reset_index(drop=True)))
    return units
