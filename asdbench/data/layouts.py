"""How each layout of DCASE Task 2 data is read: the folders of a machine's clips, how a clip's name is parsed, and
where the evaluator's ground truth says what. A year's facts name its layout (:attr:`asdbench.data.years.Year.layout`);
the manifest (:mod:`asdbench.data.manifest`) reads every layout through this one description.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asdbench.data.layout import ParsedName, parse_file_name
from asdbench.data.layout2020 import parse_2020_name, read_truth_2020, truth_units_2020
from asdbench.data.layout2021 import DOMAIN_TEST_FOLDERS, parse_2021_name, read_truth_2021, truth_units_2021
from asdbench.data.truth import read_ground_truth, truth_units


@dataclass(frozen=True)
class Layout:
    """One way of laying out a year's data."""

    test_folders: Mapping[str, str | None]
    """The folders of a machine's test clips, beside ``train/``, and the domain every clip of each has (None: its
    name says)."""
    parse: Callable[[str], ParsedName]
    """A clip's name -> its fields; a DataError naming the forms where it is not a clip name of the layout."""
    attribute_tables: bool
    """Whether a machine has an ``attributes_<nn>.csv`` per section."""
    read_truth: Callable[[Path, str, str], dict[str, dict]]
    """(ground-truth folder or file, machine, section) -> eval test name -> its label, domain and attributes."""
    truth_units: Callable[[Path], list[tuple[Path, str, str]]]
    """(ground-truth folder or file) -> (file, machine, section) of every machine section it covers."""


LAYOUTS: dict[str, Layout] = {
    "ids": Layout({"test": None}, parse_2020_name, False, read_truth_2020, truth_units_2020),
    "domain-folders": Layout(DOMAIN_TEST_FOLDERS, parse_2021_name, False, read_truth_2021, truth_units_2021),
    "sections": Layout({"test": None}, parse_file_name, True, read_ground_truth, truth_units),
}
"""Every layout, by the name a year's facts give it (the descriptions: :data:`asdbench.data.years.LAYOUTS`)."""
