"""Which model of a training embeds a unit, by name, without torch: for the store's checks and a grid's progress as
for the training itself (:mod:`asdbench.store.models`)."""

from __future__ import annotations

from asdbench.data.units import Unit
from asdbench.spec.schema import MACHINEWISE_SPLIT


def model_name(unit: Unit, machinewise: bool | str) -> str | None:
    """The name of the model that embeds ``unit``: None (the shared model), its machine type
    (``train.machinewise = true``), or ``<split>.<machine>`` (``machinewise = "split"``)."""
    if not machinewise:
        return None
    return f"{unit.split}.{unit.machine}" if machinewise == MACHINEWISE_SPLIT else unit.machine
