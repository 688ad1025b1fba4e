"""Training classes from the manifest: attributes vs machine-only, never shared between machines."""

from __future__ import annotations

import pandas as pd
import pytest

from asdbench.data.labels import build_labels
from asdbench.errors import SpecError


def rows():
    return pd.DataFrame({
        "dataset": "dcase2024", "split": ["dev"] * 5 + ["eval"],
        "machine": ["fan", "fan", "fan", "valve", "valve", "drone"],
        "domain": ["source", "source", "target", "source", "source", "source"],
        "attribute_string": ["m-n_W", "m-n_X", "m-n_W", "noAttribute", "noAttribute", "noAttribute"],
    })


def test_attribute_classes_combine_machine_domain_and_attributes():
    labels = build_labels(rows(), "attributes")
    assert labels.num_classes == 5
    assert labels.names[labels.indices[0]] == "dcase2024/dev/fan/source/m-n_W"
    assert labels.indices[3] == labels.indices[4]
    assert labels.indices[0] != labels.indices[2], "the same attributes in another domain are another class"


def test_machine_classes_ignore_attributes():
    labels = build_labels(rows(), "machine")
    assert labels.num_classes == 4
    assert labels.indices[0] == labels.indices[1]
    assert len({labels.names[i].split("/")[2] for i in labels.indices}) == 3


def test_unknown_mode_is_an_error():
    with pytest.raises(SpecError, match="speed"):
        build_labels(rows(), "speed")
