"""The machine types of each year's official data, so that data read as another year's is not read in silence.

A year decides how a dataset is read (channels, which options exist) and which published figures its results
are set beside; 2024 data read as ``dcase2023`` (``dataset.name``, ``--year``) would otherwise run as if nothing
were wrong. A machine folder not in its year's list is warned about, not refused: a re-packaging may add or
rename machines, and the user's data is still read. The lists, and where each comes from, are in
docs/datasets.md; datasets written by ``asdbench synth`` (a ``synth.json`` at their root) use machine names of
their own and are not checked.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from asdbench.data.layout import INFO_FILE

_DEV_2023 = frozenset({"bearing", "fan", "gearbox", "slider", "ToyCar", "ToyTrain", "valve"})
KNOWN_MACHINES: dict[int, dict[str, frozenset[str]]] = {
    2023: {"dev": _DEV_2023,
           "eval": frozenset({"bandsaw", "grinder", "shaker", "ToyDrone", "ToyNscale", "ToyTank", "Vacuum"})},
    2024: {"dev": _DEV_2023,
           "eval": frozenset({"3DPrinter", "AirCompressor", "BrushlessMotor", "HairDryer", "HoveringDrone",
                              "RoboticArm", "Scanner", "ToothBrush", "ToyCircuit"})},
    2025: {"dev": _DEV_2023,
           "eval": frozenset({"AutoTrash", "BandSealer", "CoffeeGrinder", "HomeCamera", "Polisher", "ScrewFeeder",
                              "ToyPet", "ToyRCCar"})},
    2026: {"dev": frozenset({"ToyCar", "ToyCarEmu", "bearingEmu", "fan", "gearboxEmu", "sliderEmu", "valveEmu"}),
           "eval": frozenset({"ToyDrone", "ToothBrush", "SewingMachine", "BlowerDustCollector", "Sander"})},
}
"""Year -> split -> the organisers' machine types (docs/datasets.md gives the source of each list)."""


def warn_unknown_machines(root: Path, machines: Iterable[str], year: int, split: str, where: Path) -> None:
    """Warn, naming ``where`` (the split's folder), about machines not in ``year``'s ``split`` list, and which
    other years list them all; nothing for a synthetic dataset at ``root``."""
    if (root / INFO_FILE).exists():
        return
    known = KNOWN_MACHINES[year][split]
    unknown = sorted(set(machines) - known, key=str.lower)
    if not unknown:
        return
    years = [other for other, lists in KNOWN_MACHINES.items() if other != year and set(unknown) <= lists[split]]
    hint = (f"they are DCASE {' and '.join(map(str, years))} {split} machines: is the year right (dataset.name, "
            "--year)?") if years else f"read as DCASE {year} data all the same (the lists: docs/datasets.md)"
    warnings.warn(f"{where}: {', '.join(unknown)} {'is not a' if len(unknown) == 1 else 'are not'} DCASE {year} "
                  f"Task 2 {split} machine{'s' if len(unknown) > 1 else ''} ({', '.join(sorted(known, key=str.lower))}); "
                  f"{hint}", stacklevel=3)
