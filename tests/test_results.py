"""Results a person can take away: `asdbench results` (tidy rows), several tables per grid, table options on the
command line, heat maps that say what they show, and --compare's limits. The runs' results are written straight
into a store (tests.helpers.stored): no training."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from asdbench.cli.main import main
from asdbench.grid.expand import load_grid
from asdbench.report import heatmap as heatmaps
from asdbench.report import leaderboard, results
from asdbench.store.store import Store
from tests.helpers.grids import grid_file
from tests.helpers.stored import MACHINES, TWO_TABLES, store_reports
from tests.helpers.stored import report as drawn_report


@pytest.fixture
def stored(fake_system, tiny_dataset, tmp_path):
    """2 systems x 2 seeds with stored reports, tabled twice; (grid file, store, reports)."""
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    path.write_text(path.read_text().split("[table]")[0] + TWO_TABLES)
    store = Store(tmp_path / "store")
    return path, store, store_reports(load_grid(path), store)


def run_cli(*arguments, capsys):
    status = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_results_has_a_row_per_run_split_machine_and_metric(stored, capsys):
    path, store, reports = stored
    status, out, _ = run_cli("results", path, "--out", store.root, capsys=capsys)
    rows = pd.read_csv(io.StringIO(out), keep_default_na=False)
    grid = load_grid(path)
    machine_rows = rows[rows["level"] == "machine"]
    assert status == 0 and list(rows.columns[:3]) == ["system", "seed", "split"]
    assert len(machine_rows) == sum(value is not None for r in reports.values() for s in r.values()
                                    for m in s.machines for name, value in m.__dict__.items()
                                    if name not in ("machine", "section")), "each value a machine section has"
    assert len(machine_rows) > len(grid.runs) * 2 * len(MACHINES) * 4
    for run in grid.runs:
        for split, report in reports[run.spec.hash].items():
            mine = rows[(rows["run"] == run.spec.hash) & (rows["split"] == split)]
            assert set(mine["system"]) == {run.coordinates["system"]} and set(mine["seed"]) == {run.spec.seed}
            official = mine[(mine["level"] == "split") & (mine["metric"] == "official_score")]["value"]
            assert official.tolist() == [report.official_score], "the value as stored, to the bit"
            assert set(mine["report"]) == {"dcase2023"}, "the report each value is of"
            fan = mine[(mine["machine"] == "fan") & (mine["metric"] == "auc_source")]["value"]
            assert fan.tolist() == [next(m.auc_source for m in report.machines if m.machine == "fan")]
    assert set(rows[rows["level"] == "split"]["machine"]) == {""}


def test_results_json_holds_the_same_rows(stored, capsys, tmp_path):
    path, store, _ = stored
    csv = pd.read_csv(io.StringIO(run_cli("results", path, "--out", store.root, capsys=capsys)[1]),
                      keep_default_na=False)
    status, out, _ = run_cli("results", path, "--out", store.root, "--format", "json", "--write",
                             tmp_path / "r.json", capsys=capsys)
    rows = json.loads((tmp_path / "r.json").read_text())
    assert status == 0 and out == f"{len(csv)} rows: {tmp_path / 'r.json'}\n"
    assert len(rows) == len(csv) and rows[0].keys() == set(csv.columns)
    assert [r["value"] for r in rows] == csv["value"].tolist()


def test_results_of_unfinished_runs_say_so(stored, capsys):
    path, store, _ = stored
    run = load_grid(path).runs[0]
    (store.directory(run.spec) / "results.json").unlink()
    status, out, err = run_cli("results", path, "--out", store.root, capsys=capsys)
    assert status == 0 and run.spec.hash not in out
    assert "1 of 4 runs have not finished and have no rows" in err


def test_parquet_without_an_engine_is_refused_before_any_work(stored, capsys, monkeypatch, tmp_path):
    path, store, _ = stored
    real = results.importlib.util.find_spec
    monkeypatch.setattr(results.importlib.util, "find_spec",
                        lambda name: None if name in results.PARQUET_ENGINES else real(name))
    status, out, err = run_cli("results", path, "--out", store.root, "--format", "parquet", "--write",
                               tmp_path / "r.parquet", capsys=capsys)
    assert status == 2 and out == "" and not (tmp_path / "r.parquet").exists()
    assert "--format parquet needs pyarrow or fastparquet, and neither is installed" in err


def test_parquet_is_written_where_an_engine_is_installed(stored, capsys, tmp_path):
    pytest.importorskip("pyarrow")
    path, store, _ = stored
    assert run_cli("results", path, "--out", store.root, "--format", "parquet", capsys=capsys)[0] == 2
    run_cli("results", path, "--out", store.root, "--format", "parquet", "--write", tmp_path / "r.parquet",
            capsys=capsys)
    csv = pd.read_csv(io.StringIO(run_cli("results", path, "--out", store.root, capsys=capsys)[1]),
                      keep_default_na=False)
    assert pd.read_parquet(tmp_path / "r.parquet")["value"].tolist() == csv["value"].tolist()


def test_every_table_is_rendered_and_one_is_picked_with_table(stored, capsys):
    path, store, _ = stored
    _, out, _ = run_cli("leaderboard", path, "--out", store.root, capsys=capsys)
    titles = [line for line in out.splitlines() if line.startswith("### ")]
    assert titles == ["### grid: official_score (%), mean (std) over seed, 2 runs a cell",
                      "### grid: hmean (%), mean (std) over seed, 2 runs a cell"]
    _, second, _ = run_cli("leaderboard", path, "--out", store.root, "--table", "2", capsys=capsys)
    assert second.startswith("### grid: hmean") and "dev hmean" in second and "official_score" not in second
    status, _, err = run_cli("leaderboard", path, "--out", store.root, "--table", "3", capsys=capsys)
    assert status == 2 and "--table 3: " in err and "has 2 tables" in err
    status, _, err = run_cli("leaderboard", path, "--out", store.root, "--json", store.root / "c.json", capsys=capsys)
    assert status == 2 and "has 2 tables: --compare, --json, --check and --format csv|json take one" in err
    status, _, err = run_cli("leaderboard", path, "--out", store.root, "--format", "csv", capsys=capsys)
    assert status == 2 and "name it with --table N" in err
    status, out, _ = run_cli("leaderboard", path, "--out", store.root, "--format", "csv", "--table", "2",
                             capsys=capsys)
    assert status == 0 and out.startswith("row,column,expected,mean,std,count,unit")


def test_a_table_given_on_the_command_line(stored, capsys):
    path, store, _ = stored
    _, out, _ = run_cli("leaderboard", path, "--out", store.root, "--rows", "machine", "--columns", "system", "split",
                        "--value", "auc_target", capsys=capsys)
    assert out.startswith("### grid: auc_target (%)") and "| machine " in out and "| fan " in out
    status, _, err = run_cli("leaderboard", path, "--out", store.root, "--rows", "colour", capsys=capsys)
    assert status == 2 and "table.rows names 'colour', which is no variant group, axis" in err


def test_a_single_table_file_keeps_working(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(grid_file(tmp_path, tiny_dataset, seeds=(1,)))
    assert len(grid.tables) == 1 and grid.table.rows == ["system"]


def test_equal_values_have_a_std_of_zero_not_rounding_noise(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2, 3))
    store = Store(tmp_path / "store")
    grid = load_grid(path)
    store_reports(grid, store, report_for=lambda index, number: drawn_report(number))  # every seed of a system scores alike
    cells = leaderboard.table_frame(grid, store.root)
    assert (cells["std"] == 0).all()
    assert "e-1" not in leaderboard.render(grid, store.root, "csv")


def test_compare_says_when_too_few_pairs_can_never_reach_significance(stored, capsys):
    path, store, _ = stored
    status, out, _ = run_cli("leaderboard", path, "--out", store.root, "--table", "1", "--compare", "small", "wide",
                             capsys=capsys)
    described = out.split("wide - small: ")[1]
    assert status == 0 and described.startswith("4 pairs, mean difference")
    assert "with 4 pairs the test cannot reach p < 0.05 whatever the differences (its smallest p is 0.125; it " \
           "needs 6 pairs)" in described
    assert leaderboard.smallest_p(6) < 0.05 <= leaderboard.smallest_p(5) and leaderboard.pairs_needed() == 6


def test_compare_refuses_an_unknown_row_before_printing_the_table(stored, capsys):
    path, store, _ = stored
    status, out, err = run_cli("leaderboard", path, "--out", store.root, "--table", "1", "--compare", "small",
                               "medium", capsys=capsys)
    assert status == 2 and out == ""
    assert "--compare names 'medium', which is no row of this table; rows: small, wide" in err


def test_a_heat_map_says_what_it_shows(stored, monkeypatch, tmp_path):
    path, store, _ = stored
    drawn = {}
    monkeypatch.setattr(heatmaps, "save_figure", lambda figure, out: drawn.setdefault("figure", figure) and out)
    grid = load_grid(path)
    heatmaps.heatmap(grid.with_table(grid.tables[1]), store.root, tmp_path / "h.png")
    axis = drawn["figure"].axes[0]
    assert axis.get_title() == "grid: hmean (%)\nmean (std) over seed, 2 runs a cell"
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("split / machine", "system")
    texts = [t.get_text() for t in axis.texts]
    assert len(texts) == 2 * 2 * 3 and all(t.count("\n") == 2 and t.endswith("n=2") for t in texts)
    bold = [t.get_text() for t in axis.get_xticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["dev hmean", "eval hmean"], "the aggregate columns are set apart"
    image = axis.images[0]
    assert (image.norm.vmin, image.norm.vmax) == (0, 100), "a fixed scale, not the table's own range"
    red, green, blue, _ = image.cmap(image.norm(50.0))
    assert min(red, green, blue) > 0.9, "chance is the neutral colour"


def test_a_partial_cell_shows_k_of_n():
    cell = pd.Series({"mean": 0.5, "std": 0.01, "count": 2, "expected": 3, "published": False})
    assert heatmaps._cell_text(cell) == "50.00\n(1.00)\n[2/3]"
    assert heatmaps._cell_text(pd.Series({"mean": np.nan, "std": np.nan, "count": 0, "expected": 3,
                                          "published": False})) == "missing"
    figure = pd.Series({"mean": 0.6883, "std": 0.0094, "count": 5, "expected": np.nan, "published": True, "mark": 1})
    assert heatmaps._cell_text(figure) == "68.83\n(0.94)\nn=5 [1]"
    assert heatmaps.chance_centred("auc_source_hmean") and not heatmaps.chance_centred("official_score_ci95")
    assert not heatmaps.chance_centred("f1_target")
