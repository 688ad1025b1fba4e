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
from asdbench.report import leaderboard, summary
from asdbench.scoring.means import clamped_hmean
from asdbench.store.checks import scoring_problem
from asdbench.store.layout import RESULTS
from asdbench.store.reading import RunState
from asdbench.store.store import Store
from tests.helpers.grids import grid_file
from tests.helpers.reports import manifest, report_of
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
                                        r"auc_amean, .*f1_target_hmean, .*auc_all, .*pauc_target, auc, got 'f1_hmaen'"):
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


YEARS = {"dcase2020": ({"fan": ("01", "03"), "ToyCar": ("05", "06")}, False),
         "dcase2021": ({"fan": ("03", "04"), "ToyCar": ("03", "04")}, True),
         "dcase2022": ({"fan": ("03", "04"), "ToyCar": ("03", "04")}, True)}
"""The machine types and sections (2020: machine IDs) of each earlier year's stored reports, and whether their test
clips have two domains."""


@pytest.fixture(params=list(YEARS))
def stored_year(request, fake_system, tiny_dataset, tmp_path):
    """As ``stored``, the runs' reports those of an earlier year's evaluator: (metric, grid file, store, reports)."""
    metric = request.param
    machines, domains = YEARS[metric]
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    store = Store(tmp_path / "store")
    reports = store_reports(load_grid(path), store, report_for=lambda index, number: report_of(
        metric, manifest(machines, 9, 10 * index + number, domains=domains), decisions=metric != "dcase2020"))
    return metric, path, store, reports


def test_an_earlier_years_records_are_whole_and_table_per_machine_and_section(stored_year):
    """A 2021 or 2022 table per machine shows its sections, a 2020 one its machine IDs (``fan id 01``); each cell is the
    stored hmean of a machine section, the harmonic mean of the year's own official values (2021: both domains' AUCs
    and pAUCs; 2020: AUC and pAUC), and the aggregate cell that of every machine shown."""
    metric, path, store, reports = stored_year
    value = "hmean"
    path.write_text(path.read_text().split("[table]")[0] + '[table]\nrows = "system"\ncolumns = ["split", '
                    '"machine"]\nvalue = "hmean"\naggregate = "hmean"\n')
    grid = load_grid(path)
    assert all(store.state(run.spec) is RunState.DONE for run in grid.runs)
    expected: dict[tuple[str, str], list[float]] = {}
    for run in grid.runs:
        for split, split_report in reports[run.spec.hash].items():
            system = run.coordinates["system"]
            for unit in split_report.machines:
                column = f"{split} {unit.machine} {split_report.UNIT_WORD} {unit.section}"
                expected.setdefault((system, column), []).append(getattr(unit, value))
                assert unit.hmean == clamped_hmean([getattr(unit, name) for name in split_report.SCORE_FIELDS])
            scored = [getattr(unit, name) for unit in split_report.machines for name in split_report.SCORE_FIELDS]
            expected.setdefault((system, f"{split} hmean"), []).append(clamped_hmean(scored))
    cells = leaderboard.table_frame(grid, store.root).set_index(["row", "column"])["mean"]
    assert cells.to_dict() == pytest.approx({key: float(np.mean(v)) for key, v in expected.items()}, rel=1e-12)
    assert len(cells) == 2 * 2 * (4 + 1)
    unit, word = split_report.machines[0], "id" if metric == "dcase2020" else "section"
    assert f"{unit.machine} {word} {unit.section}" in leaderboard.render(grid, store.root)


def test_a_value_an_earlier_years_report_has_not_is_named_with_the_values_it_has(stored_year):
    metric, path, store, _ = stored_year
    missing = {"dcase2020": "official_score", "dcase2021": "auc_all", "dcase2022": "auc_pauc_amean"}[metric]
    grid = with_value(path, missing, columns='["split", "machine"]' if missing == "auc_all" else '"split"')
    with pytest.raises(SpecError, match=f"'{missing}' is not a value of the {metric} report, whose "
                                        f"{'machines' if missing == 'auc_all' else 'splits'} have "):
        leaderboard.table_frame(grid, store.root)
    if metric == "dcase2020":  # its summary, ASDKit's official20, is what a table of 2020 splits shows
        cells = leaderboard.table_frame(with_value(path, "auc_pauc_amean"), store.root)
        assert cells["mean"].between(0, 1).all() and len(cells) == 4


def test_a_summary_marks_2020s_figure_as_no_official_score(stored_year):
    metric, _, _, reports = stored_year
    systems = {f"run {index}": splits for index, splits in enumerate(reports.values())}
    table = summary.official_table(systems)
    first = next(iter(systems.values()))["dev"]
    if metric == "dcase2020":
        assert f"{100 * first.means['auc_pauc_amean']:.2f}*" in table
        assert "* mean of AUC and pAUC over machine types (ASDKit's official20; 2020 has no official score)" in table
    else:
        assert f"{100 * first.official_score:.2f} " in table and "*" not in table
    assert f"fan {'id' if metric == 'dcase2020' else 'section'} 03" in summary.machine_table(systems)


def test_an_earlier_years_record_that_lies_is_damaged_and_named(stored_year):
    """What a results.json of each year's report must hold: its year's machine values as numbers, no official score
    in a 2020 report, means per machine type in [0, 1], a report the metric names."""
    metric, path, store, _ = stored_year
    spec = load_grid(path).runs[1].spec
    record = store.directory(spec) / RESULTS
    kept = record.read_text()
    lacking = {"dcase2020": "pauc", "dcase2021": "pauc_target", "dcase2022": "auc_all"}[metric]
    edits = {f"no {lacking!r}": lambda split: split["machines"][0].pop(lacking),
             "machine_means.fan.auc_amean is 1.5": lambda split: split["machine_means"]["fan"].update(auc_amean=1.5),
             "metric is 'dcase1999', not an official report": lambda split: split.update(metric="dcase1999")}
    if metric == "dcase2020":
        edits["official_score is 0.5, but a dcase2020 report has none"] = lambda split: split.update(official_score=0.5)
    for said, edit in edits.items():
        results = json.loads(kept)
        edit(results["splits"]["dev"])
        record.write_text(json.dumps(results))
        assert store.state(spec) is RunState.DAMAGED, said
        assert said in scoring_problem(record.parent)[1]
    record.write_text(kept)
    assert store.state(spec) is RunState.DONE
