"""Training classes from the manifest: attributes vs machine-only, never shared between machines or sections."""

from __future__ import annotations

import pandas as pd
import pytest

from asdbench.data.labels import build_labels
from asdbench.errors import SpecError


def rows():
    return pd.DataFrame({
        "dataset": "dcase2024", "split": ["dev"] * 5 + ["eval"],
        "machine": ["fan", "fan", "fan", "valve", "valve", "drone"], "section": "00",
        "domain": ["source", "source", "target", "source", "source", "source"],
        "attribute_string": ["m-n_W", "m-n_X", "m-n_W", "noAttribute", "noAttribute", "noAttribute"],
    })


def test_attribute_classes_combine_machine_domain_and_attributes():
    labels = build_labels(rows(), "attributes")
    assert labels.num_classes == 5
    assert labels.names[labels.indices[0]] == "dcase2024/dev/fan/00/source/m-n_W"
    assert labels.indices[3] == labels.indices[4]
    assert labels.indices[0] != labels.indices[2], "the same attributes in another domain are another class"


def test_machine_classes_ignore_attributes():
    labels = build_labels(rows(), "machine")
    assert labels.num_classes == 4
    assert labels.indices[0] == labels.indices[1]
    assert len({labels.names[i].split("/")[2] for i in labels.indices}) == 3


def test_sections_of_one_machine_are_other_classes_and_one_section_keeps_the_order_of_before():
    two = rows().assign(section=["00", "01", "00", "00", "01", "00"])
    labels = build_labels(two, "machine")
    assert labels.indices[0] != labels.indices[1] and labels.indices[3] != labels.indices[4]
    names_without_section = sorted({name.replace("/00/", "/") for name in build_labels(rows(), "attributes").names})
    assert [name.replace("/00/", "/") for name in build_labels(rows(), "attributes").names] == names_without_section


def test_unknown_mode_is_an_error():
    with pytest.raises(SpecError, match="speed"):
        build_labels(rows(), "speed")
