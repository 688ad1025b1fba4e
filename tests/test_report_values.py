"""Every value of the evaluators' report can be a leaderboard's value, read from what runs store.

The runs' results are written straight into a store (no training, tests.helpers.stored), so the expected cells
are the reports' own values.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from asdbench.errors import SpecError
from asdbench.grid.expand import load_grid
from asdbench.report import leaderboard
from asdbench.store.checks import scoring_problem
from asdbench.store.layout import RESULTS
from asdbench.store.reading import RunState
from asdbench.store.store import Store
from tests.helpers.grids import grid_file
from tests.helpers.stored import MACHINES, store_reports


@pytest.fixture
def stored(fake_system, tiny_dataset, tmp_path):
    """A grid of 2 systems x 2 seeds whose runs' results.json hold computed reports; (grid file, store, reports)."""
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    store = Store(tmp_path / "store")
    return path, store, store_reports(load_grid(path), store)


def with_value(path, value, columns='"split"'):
    path.write_text(path.read_text().split("[table]")[0]
                    + f'[table]\nrows = "system"\ncolumns = {columns}\nvalue = "{value}"\n')
    return load_grid(path)


def expected_cells(grid, reports, value) -> dict[tuple[str, str], float]:
    """Mean over seeds of each (system, split[ machine]) value of the stored reports."""
    values: dict[tuple[str, str], list[float]] = {}
    for run in grid.runs:
        for split, split_report in reports[run.spec.hash].items():
            if value in leaderboard.SPLIT_VALUES:
                found = {split: split_report.split_values()[value]}
            else:
                found = {f"{split} {m.machine}": getattr(m, value) for m in split_report.machines}
            for column, number in found.items():
                values.setdefault((run.coordinates["system"], column), []).append(number)
    return {key: float(np.mean(numbers)) for key, numbers in values.items()}


@pytest.mark.parametrize("value", ["official_score_ci95", "f1_hmean", "auc_target_amean", "official_score_amean"])
def test_a_splits_report_value_is_a_table_value(stored, value):
    path, store, reports = stored
    grid = with_value(path, value)
    cells = leaderboard.table_frame(grid, store.root).set_index(["row", "column"])["mean"]
    expected = expected_cells(grid, reports, value)
    assert cells.to_dict() == pytest.approx(expected, rel=1e-12)
    assert all(number is not None and 0 < number < 1 for number in expected.values())


@pytest.mark.parametrize("value", ["auc_all", "precision_target", "recall_source"])
def test_a_machines_report_value_is_a_per_machine_table_value(stored, value):
    path, store, reports = stored
    grid = with_value(path, value, columns='["split", "machine"]')
    cells = leaderboard.table_frame(grid, store.root).set_index(["row", "column"])["mean"]
    assert cells.to_dict() == pytest.approx(expected_cells(grid, reports, value), rel=1e-12)
    assert len(cells) == 2 * 2 * len(MACHINES)


def test_a_typo_lists_every_value_and_a_splits_value_is_refused_per_machine(stored):
    path, store, _ = stored
    with pytest.raises(SpecError, match=r"table.value must be one of official_score, official_score_ci95, "
                                        r"auc_amean, .*f1_target_hmean, .*auc_all, got 'f1_hmaen'"):
        leaderboard.table_frame(with_value(path, "f1_hmaen"), store.root)
    with pytest.raises(SpecError, match="'f1_hmean' is a split's value, not a machine's: a table per machine "
                                        "shows one of auc_source"):
        leaderboard.table_frame(with_value(path, "f1_hmean", columns='["split", "machine"]'), store.root)


@pytest.mark.parametrize(("lacking", "named"), [
    ("auc_all", "splits.dev.machines[0]: no 'auc_all'"),
    ("official_score_ci95", "splits.dev: no 'official_score_ci95'"),
    ("means", "splits.dev: no 'means'"),
])
def test_a_record_lacking_a_value_of_the_report_is_damaged_not_a_blank_cell(stored, lacking, named):
    """Every scoring stores the whole report: a results.json without part of it is damaged (the next grid sets it
    aside and scores the run again, tests/test_stored_files.py), and its cells are missing, not blank."""
    path, store, _ = stored
    grid = with_value(path, "auc_all" if lacking == "auc_all" else "official_score_ci95",
                      columns='["split", "machine"]' if lacking == "auc_all" else '"split"')
    record = store.directory(grid.runs[1].spec) / RESULTS
    results = json.loads(record.read_text())
    for split in results["splits"].values():
        for part in split["machines"] if lacking == "auc_all" else [split]:
            del part[lacking]
    record.write_text(json.dumps(results))
    assert store.state(grid.runs[1].spec) is RunState.DAMAGED
    assert named in scoring_problem(record.parent)[1]
    assert "[1/2]" in leaderboard.render(grid, store.root)


def test_a_value_undefined_in_a_finished_record_is_named(stored):
    path, store, _ = stored
    grid = with_value(path, "official_score_ci95")
    record = store.directory(grid.runs[1].spec) / RESULTS
    results = json.loads(record.read_text())
    results["splits"]["dev"]["official_score_ci95"] = None  # fewer than two clips of a class: no jackknife
    record.write_text(json.dumps(results))
    assert store.state(grid.runs[1].spec) is RunState.DONE
    with pytest.raises(SpecError, match=f"{record}: 'official_score_ci95' is undefined \\(split dev\\), so this "
                                        "table cannot show it"):
        leaderboard.table_frame(grid, store.root)
