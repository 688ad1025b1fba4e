"""The classes a discriminative system trains on, built from the manifest's training clips.

- ``attributes``: machine type + section + domain + attribute string, the paper's labelled condition. For a
  machine whose attributes are hidden (``noAttribute``) this is machine type + section + domain, as in the
  challenge.
- ``machine``: machine type + section + domain only (the "N/A" condition of Table III, attributes concealed
  everywhere).
- ``section``: machine type + section only, no domain: the DCASE 2021/2022 MobileNetV2 baseline's classes (its
  ``common.py`` reads ``section_[0-9][0-9]`` from each file name, nothing else). Each unit's training clips are then
  one class.

- pseudo-labels: a label table (asdbench.pseudolabel.labelling) overrides the classes of the clips it names; the other
  machines keep their attribute classes.

Every class name starts with the machine type and section (and, but for ``section``, the domain), so no two machine
sections ever share a class.
Classes are numbered in the order of their names; a year with one section per machine (``00`` everywhere) numbers
them as it did before sections were part of the names, since the same segment inserted in every name keeps their
order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from asdbench.errors import SpecError


@dataclass(frozen=True)
class ClassLabels:
    """One integer class per training clip, and the class names in index order."""

    indices: np.ndarray
    names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.names)


def class_names(train: pd.DataFrame, mode: str) -> pd.Series:
    section = train["dataset"] + "/" + train["split"] + "/" + train["machine"] + "/" + train["section"]
    if mode == "section":
        return section
    prefix = section + "/" + train["domain"]
    if mode == "machine":
        return prefix
    if mode == "attributes":
        return prefix + "/" + train["attribute_string"]
    raise SpecError(f"system.labels: unknown label mode {mode!r}")


def build_labels(train: pd.DataFrame, mode: str, overrides: pd.Series | None = None) -> ClassLabels:
    """Classes of the training clips ``train`` (manifest rows with subset == "train").

    ``overrides`` maps clip paths to pseudo-labels, which replace those clips' classes.
    """
    names = class_names(train, mode)
    if overrides is not None:
        names = train["path"].map(overrides).fillna(names)
    categories = sorted(names.unique())
    lookup = {name: index for index, name in enumerate(categories)}
    return ClassLabels(names.map(lookup).to_numpy(dtype=np.int64), categories)


def unit_class_index(train: pd.DataFrame, mode: str, names: list[str], unit: str) -> int:
    """The index in ``names`` (a model's classes, in index order) of the one class of a unit's training clips
    ``train``, for a scoring that needs it (a backend registered with ``unit_class=True``). ``unit`` names the unit
    in errors."""
    classes = class_names(train, mode).unique() if len(train) else []
    if len(classes) != 1:
        raise SpecError(f"{unit}: a backend that scores by the unit's class needs one class per unit, but its "
                        f"training clips have {len(classes)} under system.labels = {mode!r} (use 'section')")
    if classes[0] not in names:
        raise SpecError(f"{unit}: its class {classes[0]!r} is not one its model trained on")
    return names.index(classes[0])
