"""The pseudo-labelling space's figure: named feature space, named axes, domains told apart, a bounded legend."""

from __future__ import annotations

import numpy as np
import pytest

from asdbench.errors import AsdbenchError
from asdbench.report.plots import LEGEND_ENTRIES, MARKERS, space_figure
from tests.helpers.stored import space_file


@pytest.mark.parametrize(("reducer", "axis_name"), [("umap", "UMAP"), ("none", "dimension")])
def test_title_names_the_feature_space_and_axes_the_reducer(tmp_path, reducer, axis_name):
    figure = space_figure(space_file(tmp_path, reducer))
    assert "fan section 00 (dev)" in figure._suptitle.get_text() and "'triplet'" in figure._suptitle.get_text()
    for axis in figure.axes:
        assert (axis.get_xlabel(), axis.get_ylabel()) == (f"{axis_name} 1", f"{axis_name} 2")


def test_source_and_target_have_their_own_markers_and_the_legend_is_bounded(tmp_path):
    figure = space_figure(space_file(tmp_path, clusters=30))
    pseudo = figure.axes[1]
    markers = {collection.get_label().split()[0]: collection.get_paths()[0] for collection in pseudo.collections}
    assert set(markers) == set(MARKERS)
    assert len(markers["source"].vertices) != len(markers["target"].vertices), "a circle and a triangle"
    legend = pseudo.get_legend()
    assert len(legend.get_texts()) == LEGEND_ENTRIES and legend.get_title().get_text() == "16 of 40 labels"
    assert legend.get_bbox_to_anchor().y1 < pseudo.get_window_extent().y0 + 1, "below the panel, not over it"


def test_unreadable_spec_is_named(tmp_path):
    path = space_file(tmp_path)
    (tmp_path / "spec.json").write_text("{")
    with pytest.raises(AsdbenchError, match="spec.json: cannot read"):
        space_figure(path)


def test_a_space_of_pickled_strings_is_refused_naming_the_file(tmp_path):
    """asdbench wrote a space's strings as pickled objects before 0.1.0; nothing pickled is read (no code runs from
    a data file), and computing the table again rewrites it."""
    path = space_file(tmp_path)
    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    np.savez(path, **{**arrays, "labels": arrays["labels"].astype(object)})
    with pytest.raises(AsdbenchError, match=f"{path}: not a pseudo-labelling space asdbench wrote .*allow_pickle=False"):
        space_figure(path)
