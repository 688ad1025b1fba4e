"""`asdbench report`: a grid's static site. Its numbers are those of `asdbench results` and `asdbench leaderboard`
for the same store (read back from every page, embedded and shown), it names no address outside itself, and it
replaces only a folder it wrote. The runs' results are written straight into a store (tests.helpers.stored): no
training; one run trained on pseudo-labels has a space of each kind (a plane, and classes named directly).

The browser tests (slow) at the end open the same site in headless Chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import use_registry
from asdbench.grid.expand import load_grid
from asdbench.report import leaderboard
from asdbench.report.site.build import MARKER
from asdbench.store.store import Store
from tests.helpers.browser import ARTIFACTS, load_offline
from tests.helpers.fake_system import install_fake_system
from tests.helpers.grids import grid_file
from tests.helpers.site import pages
from tests.helpers.stored import TWO_TABLES, space_file, store_reports

SCORE_FILE = "anomaly_score_fan_section_00_test.csv"
GATE = Path(__file__).resolve().parent.parent / "leaderboard" / "gate.toml"


@pytest.fixture(scope="module")
def reported(tmp_path_factory, tiny_dataset):
    """A grid of 2 systems x 2 seeds with stored reports, its first run with a score file and pseudo-label spaces,
    reported; (grid file, store root, site, tidy rows as `asdbench results --format json` writes them)."""
    tmp_path = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as monkeypatch, use_registry(None):
        install_fake_system(tmp_path, monkeypatch)
        path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
        path.write_text(path.read_text().split("[table]")[0] + TWO_TABLES)
        store = Store(tmp_path / "store")
        grid = load_grid(path)
        store_reports(grid, store)
        _pseudo_labelled(store, store.directory(grid.runs[0].spec))
        site = tmp_path / "report-site"
        assert main(["report", str(path), "--out", str(store.root), "--site", str(site)]) == 0
        assert main(["results", str(path), "--out", str(store.root), "--format", "json", "--write",
                     str(tmp_path / "results.json")]) == 0
        yield path, store.root, site, json.loads((tmp_path / "results.json").read_text())


def _pseudo_labelled(store: Store, run_dir: Path) -> None:
    """Make ``run_dir`` a run trained on pseudo-labels (a space with a plane, one without), with a score file."""
    table = store.root / "pseudolabels" / "0123456789abcdef"
    space_file(table, name="dev.fan.00")
    space_file(table, name="dev.valve.00", dimensions=1)
    results = json.loads((run_dir / "results.json").read_text())
    results["pseudolabel"] = {"directory": str(table)}
    results["score_files"]["dev"] = [SCORE_FILE]
    (run_dir / "scores" / "dev").mkdir(parents=True)
    (run_dir / "scores" / "dev" / SCORE_FILE).write_text("section_00_0000.wav,0.5\n")
    (run_dir / "results.json").write_text(json.dumps(results))


def test_every_page_embeds_the_rows_of_asdbench_results(reported):
    _, _, site, rows = reported
    found = pages(site)
    assert found["index.html"].numbers["results"] == rows, "the index: every row, as `results` gives them"
    run_pages = {name: page for name, page in found.items() if name.startswith("runs/")}
    assert len(run_pages) == 4
    for name, page in run_pages.items():
        run = "/".join(name.split("/")[1:3])
        assert page.numbers["results"] == [row for row in rows if row["run"] == run] != []
    row_pages = {name: page for name, page in found.items() if name.startswith("tables/")}
    assert len(row_pages) == 4, "a page per row of each of the two tables"
    for page in row_pages.values():
        runs = {row["run"] for row in page.numbers["results"]}
        assert len(runs) == 2 and page.numbers["results"] == [row for row in rows if row["run"] in runs]


def test_every_value_shown_is_a_value_of_asdbench_results(reported):
    _, _, site, rows = reported
    by_key = {(row["run"], row["split"], row["machine"], row["metric"]): row["value"] for row in rows}
    shown = 0
    for name, page in pages(site).items():
        for cell in page.cells:
            if "machine" in cell and "metric" in cell:
                key = (cell["run"], cell["split"], cell["machine"], cell["metric"])
                assert float(cell["value"]) == by_key[key], (name, key)
                shown += 1
    machine_rows = [row for row in rows if row["level"] == "machine"]
    assert shown == 3 * len(machine_rows), "each machine value on its run's page and its row's page of each table"


def test_table_cells_are_the_leaderboards_with_its_best_marks(reported):
    path, store, site, _ = reported
    index = pages(site)["index.html"]
    for number, table in enumerate(load_grid(path).tables, start=1):
        grid = load_grid(path).with_table(table)
        expected = leaderboard.table_frame(grid, store).to_dict(orient="records")
        embedded = index.numbers["tables"][number - 1]["cells"]
        assert sorted((c["row"], c["column"], c["mean"], c["std"], c["count"]) for c in embedded) == \
            sorted((c["row"], c["column"], c["mean"], c["std"], c["count"]) for c in expected), "to 12 decimals"
        bold = {(c["row"], c["column"]) for c in embedded if c["best"]}
        markdown = leaderboard.render(grid, store)
        assert len(bold) == markdown.count("**") // 2 and bold, "the best cell of each column, as the table bolds"
    shown = [(cell["row"], cell["column"], float(cell["mean"])) for cell in index.cells]
    assert shown == [(c["row"], c["column"], c["mean"]) for t in index.numbers["tables"] for c in t["cells"]]


def test_a_row_page_compares_with_every_other_row_as_leaderboard_compare(reported):
    path, store, site, _ = reported
    grid = load_grid(path)
    page = pages(site)["tables/1/1-small.html"]
    comparison = page.numbers["comparisons"]
    assert [c["other"] for c in comparison] == ["wide"]
    assert comparison[0] == {"other": "wide", **leaderboard.compare(grid, store, "wide", "small")}
    assert "small − wide: 4 pairs, mean difference" in page.text


def test_the_site_holds_everything_it_links_to_and_names_no_other_address(reported):
    _, _, site, _ = reported
    found = pages(site)
    for name, page in found.items():
        for link in page.links:
            assert "://" not in link and not link.startswith("//"), f"{name} names {link}"
            target = (site / name).parent / link.split("#")[0]
            assert target.resolve().is_file(), f"{name} links to {link}, which the site lacks"
    assert (site / "assets" / "chart.umd.min.js").read_text().startswith("/*!\n * Chart.js v4.6.1")
    assert "://" not in (site / "assets" / "site.js").read_text()


def test_a_pseudo_labelled_run_shows_its_spaces_and_score_files(reported):
    path, store, site, _ = reported
    run = load_grid(path).runs[0].spec.hash
    page = pages(site)[f"runs/{run}/index.html"]
    assert "../../../spaces/0123456789abcdef/dev.fan.00.png" in page.links
    assert "valve section 00 (dev) Its feature space names classes directly" in page.text
    assert f"../../../runs/{run}/scores/dev/{SCORE_FILE}" in page.links
    assert (site / "runs" / run / "scores" / "dev" / SCORE_FILE).read_text() == "section_00_0000.wav,0.5\n"
    assert (site / "heatmaps" / "table-1.png").is_file() and (site / "heatmaps" / "table-2.png").is_file()


def test_report_replaces_its_own_site_and_no_other_folder(reported, tmp_path, capsys):
    path, store, site, _ = reported
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    assert main(["report", str(path), "--out", str(store), "--site", str(other)]) == 2
    assert "a folder that asdbench report did not write" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep" and len(list(other.iterdir())) == 1
    again = tmp_path / "again"
    shutil.copytree(site, again)
    (again / "stray.txt").write_text("left from before")
    assert main(["report", str(path), "--out", str(store), "--site", str(again)]) == 0
    assert (again / MARKER).is_file() and not (again / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "mine"], "no temporary folder left"


@pytest.mark.slow
def test_the_index_loads_offline_with_its_charts_and_no_error(reported, page):
    _, _, site, _ = reported
    load_offline(page, site, charts=2, screenshot="index.png")
    assert page.evaluate("Chart.version") == "4.6.1"


@pytest.mark.slow
def test_sorting_a_column_reorders_its_rows(reported, page):
    _, _, site, _ = reported
    page.goto((site / "index.html").as_uri())
    table = page.locator("table[data-table='2']")
    means = "rows => rows.map(r => Number(r.querySelector('td[data-column=\"dev hmean\"]').dataset.mean))"
    header = table.locator("thead th", has_text="dev hmean")
    header.click()
    ascending = table.locator("tbody tr").evaluate_all(means)
    header.click()
    descending = table.locator("tbody tr").evaluate_all(means)
    assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)
    assert ascending != descending, "two rows of different means change places"
    assert header.get_attribute("aria-sort") == "descending" and page.problems == []


@pytest.mark.slow
def test_a_drill_down_shows_the_numbers_of_asdbench_results(reported, page):
    path, _, site, rows = reported
    page.goto((site / "index.html").as_uri())
    page.locator("table[data-table='1'] tbody tr[data-row='wide'] td[data-column='eval'] a").click()
    page.wait_for_url("**/tables/1/2-wide.html")
    shown = page.locator("table.machines td[data-metric='auc_source']").evaluate_all(
        "cells => cells.map(c => [c.parentNode.dataset.run, c.parentNode.dataset.split, c.parentNode.dataset.machine, "
        "c.textContent.trim()])")
    wide = {run.spec.hash for run in load_grid(path).runs if run.coordinates["system"] == "wide"}
    expected = [[row["run"], row["split"], row["machine"], f"{100 * row['value']:.2f}"] for row in rows
                if row["run"] in wide and row["metric"] == "auc_source"]
    assert sorted(shown) == sorted(expected) and len(shown) == 2 * 2 * 2, "2 runs x 2 splits x 2 machines"
    comparison = page.locator("p.comparison:visible")
    assert comparison.inner_text().startswith("wide − small: 4 pairs")
    page.locator("table.machines a").first.click()
    page.wait_for_url("**/runs/**/index.html")
    assert "provenance" in page.inner_text("main") and page.problems == []
    page.screenshot(path=ARTIFACTS / "run.png", full_page=True)


@pytest.fixture(scope="module")
def ci_grid_site(tmp_path_factory):
    """The CI gate's grid file as committed (leaderboard/gate.toml: 5 rows x 3 seeds, the two baseline rows sharing
    their trainings), a result written for each of its runs, reported: (grid, site, `asdbench results` rows)."""
    tmp_path = tmp_path_factory.mktemp("gate-report")
    grid = load_grid(GATE)
    store = Store(tmp_path / "store")
    store_reports(grid, store)
    site = tmp_path / "report-site"
    assert main(["report", str(GATE), "--out", str(store.root), "--site", str(site)]) == 0
    assert main(["results", str(GATE), "--out", str(store.root), "--format", "json", "--write",
                 str(tmp_path / "results.json")]) == 0
    return grid, site, json.loads((tmp_path / "results.json").read_text())


def test_the_ci_grids_site_holds_every_row_and_the_numbers_of_asdbench_results(ci_grid_site):
    grid, site, rows = ci_grid_site
    found = pages(site)
    assert found["index.html"].numbers["results"] == rows and len(rows) > 0
    cells = found["index.html"].numbers["tables"][0]["cells"]
    assert list(dict.fromkeys(cell["row"] for cell in cells)) == [variant for variant in dict.fromkeys(
        run.coordinates["system"] for run in grid.runs)]
    assert all(cell["count"] == 3 for cell in cells), "three seeds a cell"
    assert sum(name.startswith("runs/") for name in found) == len(grid.runs) == 15


@pytest.mark.slow
def test_the_ci_grids_site_loads_sorts_and_drills_down_in_a_browser(ci_grid_site, page):
    grid, site, rows = ci_grid_site
    load_offline(page, site, charts=1, screenshot="gate.png")
    table = page.locator("table[data-table='1']")
    table.locator("thead th", has_text="eval").click()
    means = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.querySelector('td[data-column=\"eval\"]').dataset.mean))")
    assert means == sorted(means) and len(means) == 5
    row = "DCASE baseline (selective Mahalanobis)"
    table.locator(f"tbody tr[data-row='{row}'] td[data-column='dev'] a").click()
    page.wait_for_load_state()
    shown = page.locator("table.machines td[data-metric='pauc']").evaluate_all(
        "cells => cells.map(c => [c.parentNode.dataset.run, c.parentNode.dataset.split, c.parentNode.dataset.machine, "
        "c.textContent.trim()])")
    behind = {run.spec.hash for run in grid.runs if run.coordinates["system"] == row}
    expected = [[r["run"], r["split"], r["machine"], f"{100 * r['value']:.2f}"] for r in rows
                if r["run"] in behind and r["metric"] == "pauc" and r["level"] == "machine"]
    assert sorted(shown) == sorted(expected) and len(shown) == 3 * 2 * 2, "3 runs x 2 splits x 2 machines"
    assert page.problems == []
