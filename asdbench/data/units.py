"""The unit of work of training and scoring: the clips of one machine of one split, as a run embeds and scores
them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Machine:
    """The manifest rows of one machine of one split (``train``: its training clips, ``test``: its test clips)."""

    split: str
    machine: str
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def key(self) -> str:
        return f"{self.split}.{self.machine}"


def machines_of(manifests: Mapping[str, pd.DataFrame]) -> list[Machine]:
    """Every machine of every split, in the order a run embeds them."""
    machines = []
    for split, manifest in manifests.items():
        for machine, rows in manifest.groupby("machine", sort=True):
            machines.append(Machine(split, str(machine), rows[rows["subset"] == "train"].reset_index(drop=True),
                                    rows[rows["subset"] == "test"].reset_index(drop=True)))
    return machines
