"""Published figures in grid files: read and checked before any run, shown beside the measured cells in every
output of ``asdbench leaderboard``, and compared with them by ``--check-published`` (asdbench.grid.published,
asdbench.report.published).

The runs' results are written straight into a store (tests.helpers.stored), so every cell's mean is known without
training.
"""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from asdbench.cli.main import main
from asdbench.errors import SpecError
from asdbench.grid.expand import load_grid
from asdbench.report import gate, leaderboard
from asdbench.store.store import Store
from tests.helpers.grids import grid_file
from tests.helpers.site import pages
from tests.helpers.stored import store_reports

PAPER = "Somebody et al., Some Conference 2025, Table 2, p. 3"
PAGE = "https://example.org/results"


def published(wide_dev: float = 60.0, wide_eval: float = 55.5, extra: str = "") -> str:
    """Figures for row "wide" from two sources: dev with std and n, eval without."""
    return textwrap.dedent(f"""
        [[table.published]]
        source = "paper"
        system = "wide"
        n = 5
        figures = [{{split = "dev", mean = {wide_dev}, std = 1.25}}]

        [[table.published]]
        source = "page"
        figures = [{{system = "wide", split = "eval", mean = {wide_eval}}}]
        {extra}
        [sources]
        paper = "{PAPER}"
        page = "{PAGE}"
    """)


@pytest.fixture
def stored(fake_system, tiny_dataset, tmp_path):
    """A grid of 2 systems x 2 seeds, by system and split, whose runs' results are in a store: (grid file, store)."""
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    store = Store(tmp_path / "store")
    store_reports(load_grid(path), store)
    return path, store


def with_figures(path, text):
    path.write_text(path.read_text() + text)
    return path


def measured(path, store):
    return leaderboard.table_frame(load_grid(path), store.root).set_index(["row", "column"])["mean"]


def measured_rows(markdown: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.split("|")] for line in markdown.splitlines() if line.startswith("|")]
    return [row for row in rows if row[1] in ("small", "wide")]


def test_markdown_shows_each_published_row_after_its_measured_row_with_a_mark_and_a_footnote_per_source(stored):
    path, store = stored
    before = leaderboard.render(load_grid(path), store.root)
    text = leaderboard.render(load_grid(with_figures(path, published())), store.root)
    lines = text.splitlines()
    rows = [line.split("|")[1].strip() for line in lines if line.startswith("|")][2:]
    assert rows == ["small", "wide", "wide (published)"]
    published_row = next(line for line in lines if line.startswith("| wide (published)"))
    assert [cell.strip() for cell in published_row.split("|")[2:4]] == ["60.00 (1.25) [1]", "55.50 [2]"]
    assert f"[1] {PAPER}; mean (std) over 5 runs" in lines and f"[2] {PAGE}" in lines
    # the measured rows, the best marks and the title are as they were without figures
    assert measured_rows(before) == measured_rows(text) and len(measured_rows(text)) == 2
    assert lines[0] == before.splitlines()[0]


def test_json_and_csv_flag_published_cells_with_their_source_in_fractions(stored):
    path, store = stored
    grid = load_grid(with_figures(path, published()))
    cells = json.loads(leaderboard.render(grid, store.root, "json"))
    figures = [cell for cell in cells if cell["published"]]
    assert [(c["row"], c["column"], c["mean"], c["std"], c["count"], c["source"], c["unit"]) for c in figures] == [
        ("wide", "dev", pytest.approx(0.6), pytest.approx(0.0125), 5, PAPER, "fraction"),
        ("wide", "eval", pytest.approx(0.555), None, None, PAGE, "fraction")]
    runs = [cell for cell in cells if not cell["published"]]
    assert len(runs) == 4 and {cell["source"] for cell in runs} == {None} and {c["count"] for c in runs} == {2}
    header, *rows = leaderboard.render(grid, store.root, "csv").splitlines()
    assert header.split(",")[-2:] == ["published", "source"] and sum(row.count(",True,") for row in rows) == 2


def test_the_heat_map_draws_published_rows_apart(stored, tmp_path):
    from asdbench.report.heatmap import heatmap

    path, store = stored
    out = heatmap(load_grid(with_figures(path, published(extra=REFERENCE))), store.root, tmp_path / "map.png")
    assert out.stat().st_size > 0


@pytest.mark.parametrize(("figures", "message"), [
    (published().replace('system = "wide"', 'system = "tall"'),
     r"table.published\[0\] \(row 'tall'\): system 'tall' is no label of this table; its system labels: small, wide"),
    (published().replace('split = "dev"', 'split = "test"'),
     r"table.published\[0\] \(row 'wide'\): split 'test' is not a split of its runs \(dev, eval\)"),
    (published(wide_dev=0.6),
     r"table.published\[0\] \(row 'wide'\): mean 0.6 is not a official_score in percent .*write 60, not 0.6"),
    (published(wide_eval=140),
     r"table.published\[1\] \(row 'wide'\): mean 140 is not a official_score in percent"),
    (published().replace('source = "page"', 'source = "pgae"'),
     r"table.published\[1\]: source 'pgae' is not a key of \[sources\] \(keys: paper, page\)"),
    (published().replace('split = "eval", ', ''),
     r"table.published\[1\] \(row 'wide'\): names no 'split'"),
    (published().replace('split = "eval", ', 'split = "eval", seed = 1, '),
     r"table.published\[1\] \(row 'wide'\): 'seed' is no coordinate of this table, which shows system, split"),
    (published().replace('split = "eval"', 'split = "dev"'),
     r"table.published\[1\] \(row 'wide'\): system 'wide', split 'dev' has a published figure already "
     r"\(table.published\[0\] \(row 'wide'\)\)"),
    (published().replace("\nn = 5", "\nn = 0"), r"table.published\[0\] \(row 'wide'\): n must be a positive whole"),
])
def test_a_bad_published_figure_is_refused_naming_the_grid_file_and_the_row(stored, figures, message):
    path, _ = stored
    with pytest.raises(SpecError, match=f"^{path}: {message}"):
        load_grid(with_figures(path, figures))


def test_a_grid_with_a_bad_published_figure_stops_before_any_run(stored, capsys):
    path, store = stored
    with_figures(path, published(wide_dev=0.6))
    assert main(["grid", str(path), "--out", str(store.root / "new")]) == 2
    assert "table.published[0] (row 'wide'): mean 0.6" in capsys.readouterr().err
    assert not (store.root / "new").exists()


def test_a_published_machine_a_synthetic_dataset_lacks_is_refused_when_drawn(stored):
    path, store = stored
    path.write_text(path.read_text().replace('columns = "split"', 'columns = ["split", "machine"]\nvalue = "hmean"')
                    + published().replace('split = "dev"', 'split = "dev", machine = "fan"')
                    .replace('split = "eval"', 'split = "eval", machine = "pump"'))
    with pytest.raises(SpecError, match=f"{path}: the published figure of row 'wide', column 'eval pump' names a "
                                        "column this table does not have; its columns: dev fan, dev valve"):
        leaderboard.render(load_grid(path), store.root)


def test_check_published_passes_within_and_fails_outside_the_points_given(stored, capsys):
    path, store = stored
    means = measured(path, store)
    dev, evaluation = 100 * means[("wide", "dev")], 100 * means[("wide", "eval")]
    with_figures(path, published(wide_dev=round(dev + 1.5, 2), wide_eval=round(evaluation - 0.25, 2)))
    command = ["leaderboard", str(path), "--out", str(store.root), "--check-published"]
    capsys.readouterr()
    assert main([*command, "2"]) == 0
    printed = capsys.readouterr().out
    assert f"| wide  | dev      | {dev:.2f}      | {dev + 1.5:.2f}       | -1.50        | yes" in printed
    assert "every one of 2 cells is within 2 points of its published figure" in printed
    assert "no published figure for 2 cells: small / dev, small / eval" in printed
    assert main([*command, "1"]) == 1
    printed = capsys.readouterr().out
    assert "| -1.50        | NO" in printed and "| +0.25        | yes" in printed
    assert f"REPRODUCTION: 1 of 2 cells are not within 1 points of the figure published for them in {path}" in printed


def test_check_published_counts_a_cell_without_a_finished_run_as_not_reproduced(stored, capsys):
    path, store = stored
    grid = load_grid(with_figures(path, published()))
    for run in grid.runs:
        if run.coordinates["system"] == "wide":
            (store.directory(run.spec) / "results.json").unlink()
    assert main(["leaderboard", str(path), "--out", str(store.root), "--check-published", "100"]) == 1
    assert "| wide  | dev      | missing    | 60.00       |              | NO" in capsys.readouterr().out


def test_check_published_refuses_a_table_without_figures(stored, capsys):
    path, store = stored
    assert main(["leaderboard", str(path), "--out", str(store.root), "--check-published", "3"]) == 2
    assert f"{path}: this table has no published figures of measured rows to check against" in capsys.readouterr().err


REFERENCE = """
[[table.published]]
source = "page"
reference = true
system = "challenge top rank"
figures = [{split = "eval", mean = 71.25}]
"""


def test_a_reference_row_the_grid_does_not_run_comes_after_the_measured_rows(stored):
    path, store = stored
    grid = load_grid(with_figures(path, published(extra=REFERENCE)))
    lines = leaderboard.render(grid, store.root).splitlines()
    rows = [line.split("|")[1].strip() for line in lines if line.startswith("|")][2:]
    assert rows == ["small", "wide", "wide (published)", "challenge top rank (published)"]
    reference = next(line for line in lines if line.startswith("| challenge top rank (published)"))
    assert [cell.strip() for cell in reference.split("|")[2:4]] == ["", "71.25 [2]"]
    cells = json.loads(leaderboard.render(grid, store.root, "json"))
    assert [(c["row"], c["column"], c["published"], c["source"]) for c in cells if c["row"] == "challenge top rank"] \
        == [("challenge top rank", "eval", True, PAGE)]


def test_check_published_leaves_reference_rows_unchecked_and_names_them(stored, capsys):
    path, store = stored
    means = measured(path, store)
    dev, evaluation = 100 * means[("wide", "dev")], 100 * means[("wide", "eval")]
    with_figures(path, published(wide_dev=round(dev, 2), wide_eval=round(evaluation, 2), extra=REFERENCE))
    capsys.readouterr()
    assert main(["leaderboard", str(path), "--out", str(store.root), "--check-published", "1"]) == 0
    printed = capsys.readouterr().out
    assert "every one of 2 cells is within 1 points" in printed
    assert not re.search(r"^\| challenge top rank +\|", printed, re.MULTILINE), "compared with no measured cell"
    assert "reference rows, shown for context and checked against nothing: challenge top rank" in printed


def test_check_published_refuses_a_table_with_reference_rows_only(stored, capsys):
    path, store = stored
    with_figures(path, REFERENCE + f'[sources]\npage = "{PAGE}"\n')
    assert main(["leaderboard", str(path), "--out", str(store.root), "--check-published", "3"]) == 2
    assert "no published figures of measured rows" in capsys.readouterr().err


@pytest.mark.parametrize(("figures", "message"), [
    (REFERENCE.replace("challenge top rank", "wide"),
     r"table.published\[2\] \(row 'wide'\): system 'wide' is a row of measured runs; reference = true is for a row"),
    (REFERENCE.replace("true", '"yes"'), r"table.published\[2\]: reference must be true .* got 'yes'"),
    (REFERENCE.replace('split = "eval"', 'split = "test"'),
     r"table.published\[2\] \(row 'challenge top rank'\): split 'test' is not a split of its runs \(dev, eval\)"),
])
def test_a_bad_reference_row_is_refused_naming_the_grid_file_and_the_row(stored, figures, message):
    path, _ = stored
    with pytest.raises(SpecError, match=f"^{path}: {message}"):
        load_grid(with_figures(path, published(extra=figures)))


def test_the_regression_gate_ignores_published_cells_and_check_published_ignores_the_gate(stored, tmp_path, capsys):
    path, store = stored
    grid = load_grid(with_figures(path, published(wide_dev=1.5, wide_eval=99)))
    reference = tmp_path / "committed.json"
    reference.write_text(leaderboard.render(grid, store.root, "json"))
    cells = json.loads(reference.read_text())
    assert gate.regressions(grid, store.root, cells, tolerance=0) == []  # JSON keeps the cells' 12 decimals
    assert main(["leaderboard", str(path), "--out", str(store.root), "--check", str(reference)]) == 0
    assert "no cell fell more than 3.0 points below" in capsys.readouterr().out
    assert main(["leaderboard", str(path), "--out", str(store.root), "--check", str(reference),
                 "--check-published", "3"]) == 1
    printed = capsys.readouterr().out
    assert "REPRODUCTION: 2 of 2 cells" in printed and "no cell fell more than 3.0 points below" in printed


def test_the_report_site_shows_published_rows_marked_with_their_sources_and_no_runs(stored, tmp_path):
    path, store = stored
    site = tmp_path / "report-site"  # tmp_path / "site" holds the fake system's distribution
    before = leaderboard.table_frame(load_grid(path), store.root)
    assert main(["report", str(with_figures(path, published(extra=REFERENCE))), "--out", str(store.root),
                 "--site", str(site)]) == 0
    index = pages(site)["index.html"]
    cells = index.numbers["tables"][0]["cells"]
    figures = [cell for cell in cells if cell["published"] and cell["mean"] is not None]
    assert [(c["row"], c["column"], c["mean"], c["std"], c["source"]) for c in figures] == [
        ("wide (published)", "dev", 0.6, 0.0125, PAPER), ("wide (published)", "eval", 0.555, None, PAGE),
        ("challenge top rank (published)", "eval", 0.7125, None, PAGE)]
    assert not any(c["best"] for c in figures)
    shown = {(c["row"], c["column"]): c["mean"] for c in cells if not c["published"]}
    assert shown == {(row, column): mean for row, column, mean in zip(before["row"], before["column"], before["mean"])}
    assert f"[1] {PAPER}" not in index.text and PAPER in index.text and PAGE in index.text
    assert "wide (published)" in index.text
    assert not any("published" in name for name in pages(site)), "a published row has no page: no runs behind it"
