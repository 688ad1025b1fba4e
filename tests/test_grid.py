"""Grids: stable expansion, kill -9 and resume, two processes on one grid, Dask equals local."""

from __future__ import annotations

import json
import random
import signal
import time

import pytest

from asdbench.errors import SpecError
from asdbench.grid.execute import execute_grid, grid_status
from asdbench.grid.expand import load_grid
from asdbench.report import gate, leaderboard
from asdbench.scoring.metrics import clamped_hmean
from asdbench.store.reading import RunState
from asdbench.store.store import Store
from tests.helpers.grids import finished_stamps, grid_file, start_asdbench


def test_expansion_is_the_product_and_hashes_are_stable(fake_system, tiny_dataset, tmp_path):
    grid = load_grid(grid_file(tmp_path, tiny_dataset))
    assert len(grid.runs) == 2 * 3
    assert {tuple(r.coordinates.items()) for r in grid.runs} == {
        (("system", v), ("seed", s)) for v in ("small", "wide") for s in (1, 2, 3)}
    again = load_grid(grid_file(tmp_path, tiny_dataset, name="again.toml"))
    assert [r.spec.hash for r in grid.runs] == [r.spec.hash for r in again.runs]
    assert len({r.spec.hash for r in grid.runs}) == 6
    wide = next(r for r in grid.runs if r.coordinates["system"] == "wide")
    assert wide.spec.system["networks"] == [{"name": "fake-dense", "embedding_dim": 16}]


def test_grid_errors_name_the_file_and_variant(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    path.write_text(path.read_text().replace('"system.networks"', '"system.netwerks"'))
    with pytest.raises(SpecError, match=r"grid.toml \[system=wide, seed=1\]: system.netwerks"):
        load_grid(path)


def test_every_run_is_validated_and_each_cause_said_once_with_its_runs(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset)
    path.write_text(path.read_text().replace('"system.networks"', '"system.netwerks"')
                    .replace("seed = [1, 2, 3]", "seed = [1, 2, 3, -1]"))
    with pytest.raises(SpecError) as refused:
        load_grid(path)
    head, *causes = str(refused.value).splitlines()
    assert head.endswith("grid.toml: 2 problems in the runs' specs, in 5 of 8 runs:")
    assert causes[0].startswith("  [system={small, wide}, seed=-1] (2 runs): seed: expected an integer")
    assert causes[1].startswith("  [system=wide, seed={1, 2, 3}] (3 runs): system.netwerks: unknown field")


@pytest.mark.slow
def test_kill_9_then_rerun_gives_the_uninterrupted_leaderboard(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, slow=0.05)
    grid = load_grid(path)
    execute_grid(grid, tmp_path / "reference", progress=False)
    expected = leaderboard.render(grid, tmp_path / "reference")

    store = tmp_path / "killed"
    rng = random.Random(0)
    # Kill once the grid has finished 1, 3 and 4 of its 6 runs, a random moment (shorter than a run) later:
    # the kills land inside runs whatever the machine's speed, and never after the last one.
    for finished in (1, 3, 4):
        process = start_asdbench("grid", str(path), "--out", str(store))
        deadline = time.monotonic() + 120
        while len(finished_stamps(store)) < finished and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
    before = finished_stamps(store)
    assert 4 <= len(before) < len(grid.runs), "the kills must interrupt the grid"
    process = start_asdbench("grid", str(path), "--out", str(store))
    assert process.wait(timeout=300) == 0, process.stderr.read()
    after = finished_stamps(store)
    assert {run: after[run] for run in before} == before, "no finished run is recomputed"
    assert leaderboard.render(grid, store) == expected
    assert {row["state"] for row in grid_status(grid, store)} == {"done"}


@pytest.mark.slow
def test_two_processes_on_one_grid_compute_each_run_once(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, slow=0.05)  # the grid outlasts the second process's start-up
    first, second = (start_asdbench("grid", str(path), "--out", str(tmp_path / "store")) for _ in range(2))
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0, first.stderr.read() + second.stderr.read()
    executions = fake_system.read_text().split()
    assert len(executions) == len(load_grid(path).runs)
    assert len(set(executions)) == 2, "both processes did part of the work"


def test_failed_run_keeps_its_error_and_the_grid_goes_on(fake_system, tiny_dataset, tmp_path, monkeypatch):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    grid = load_grid(path)
    monkeypatch.setenv("FAKE_SYSTEM_LOG", str(tmp_path / "missing-dir" / "log"))  # every run fails to build
    outcomes = execute_grid(grid, tmp_path / "store", progress=False)
    assert all(o.state is RunState.FAILED for o in outcomes.values())
    error = Store(tmp_path / "store").error(grid.runs[0].spec)
    assert "FileNotFoundError" in error["error"] and "Traceback" in error["traceback"]
    assert "missing" in leaderboard.render(grid, tmp_path / "store")


@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_results(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    grid = load_grid(path)
    execute_grid(grid, tmp_path / "local", progress=False)
    execute_grid(grid, tmp_path / "dask", executor="dask", workers=2, progress=False)
    for run in grid.runs:
        assert Store(tmp_path / "dask").results(run.spec) == Store(tmp_path / "local").results(run.spec)


@pytest.mark.slow
def test_leaderboard_marks_best_partial_and_missing_cells(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    grid = load_grid(path)
    store = Store(tmp_path / "store")
    from asdbench.contract.registry import get_registry

    small = [r for r in grid.runs if r.coordinates["system"] == "small"]
    store.attempt(small[0].spec, get_registry())
    text = leaderboard.render(grid, tmp_path / "store")
    small_row = next(line for line in text.splitlines() if line.startswith("| small"))
    wide_row = next(line for line in text.splitlines() if line.startswith("| wide"))
    assert small_row.count("[1/2]") == 2 and "**" in small_row
    assert wide_row.replace(" ", "") == "|wide|missing|missing|", "no run is shown as missing, never as a number"


@pytest.mark.slow
def test_per_machine_table_marks_unfinished_runs_missing_in_every_machine_and_hmean(fake_system, tiny_dataset,
                                                                                    tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    path.write_text(path.read_text().replace('columns = "split"', 'columns = ["split", "machine"]\n'
                                             'value = "hmean"\naggregate = "hmean"'))
    grid = load_grid(path)
    from asdbench.contract.registry import get_registry

    small = next(r for r in grid.runs if r.coordinates["system"] == "small")
    Store(tmp_path / "store").attempt(small.spec, get_registry())
    text = leaderboard.render(grid, tmp_path / "store")
    header = next(line for line in text.splitlines() if line.startswith("| system"))
    wide_row = next(line for line in text.splitlines() if line.startswith("| wide"))
    assert header.count("|") == 8, "2 machines and an hmean per split"
    assert wide_row.replace(" ", "") == "|wide" + "|missing" * 6 + "|"


@pytest.mark.slow
def test_per_machine_table_shows_its_machines_and_each_splits_hmean_over_them(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2))
    path.write_text(path.read_text().replace('columns = "split"', 'columns = ["split", "machine"]\n'
                                             'value = "hmean"\nmachines = ["fan", "gearbox", "ToyTank"]\n'
                                             'aggregate = "hmean"'))
    grid = load_grid(path)
    execute_grid(grid, tmp_path / "store", progress=False)
    cells = leaderboard.table_frame(grid, tmp_path / "store")
    assert list(dict.fromkeys(cells["column"])) == ["dev fan", "dev gearbox", "dev hmean", "eval ToyTank",
                                                    "eval hmean"]
    records = leaderboard.records(grid, tmp_path / "store")
    small = records[records["system"] == "small"]
    mean = cells.set_index(["row", "column"])["mean"]
    # dev shows every dev machine: its hmean over them is the official score; eval's is ToyTank's own hmean
    official_dev = small[small["machine"].isna() & (small["split"] == "dev")]["official_score"].mean()
    assert mean[("small", "dev hmean")] == pytest.approx(official_dev)
    assert mean[("small", "eval hmean")] == pytest.approx(small[small["machine"] == "ToyTank"]["hmean"].mean())
    assert "HoveringDrone" not in leaderboard.render(grid, tmp_path / "store")
    # without splits in the table, one hmean over the machines of both (Table III's "24w/o")
    path.write_text(path.read_text().replace('columns = ["split", "machine"]', 'columns = "machine"'))
    grid = load_grid(path)
    cells = leaderboard.table_frame(grid, tmp_path / "store")
    assert list(dict.fromkeys(cells["column"])) == ["fan", "gearbox", "ToyTank", "hmean"]
    per_run = small[small["machine"].isin(["fan", "gearbox", "ToyTank"])].groupby("seed")[
        ["auc_source", "auc_target", "pauc"]].apply(lambda run: clamped_hmean(run.to_numpy().ravel()))
    assert cells.set_index(["row", "column"])["mean"][("small", "hmean")] == pytest.approx(per_run.mean())


@pytest.mark.parametrize(("table", "message"), [
    ('aggregate = "hmean"', "needs 'machine' in table.rows or table.columns and value = 'hmean'"),
    ('aggregate = "mean"', "table.aggregate must be one of hmean"),
    ('machines = "fan"', "table.machines must be a non-empty list"),
    ('colums = "split"', "unknown table field 'colums'"),
])
def test_table_errors_name_the_field(fake_system, tiny_dataset, tmp_path, table, message):
    path = grid_file(tmp_path, tiny_dataset)
    path.write_text(path.read_text().replace('columns = "split"', f'columns = "split"\n{table}'))
    with pytest.raises(SpecError, match=message):
        load_grid(path)


@pytest.mark.slow
def test_one_run_per_cell_shows_no_spread_and_no_best_and_files_name_their_unit(fake_system, tiny_dataset,
                                                                                tmp_path):
    grid = load_grid(grid_file(tmp_path, tiny_dataset, seeds=(1,)))
    execute_grid(grid, tmp_path / "store", progress=False)
    text = leaderboard.render(grid, tmp_path / "store")
    assert text.splitlines()[0].endswith("official_score (%), one run per cell")
    assert "**" not in text and "(" not in text.split("| small")[1].splitlines()[0]
    cells = json.loads(leaderboard.render(grid, tmp_path / "store", "json"))
    assert {cell["unit"] for cell in cells} == {"fraction"} and all(0 <= cell["mean"] <= 1 for cell in cells)
    assert "unit" in leaderboard.render(grid, tmp_path / "store", "csv").splitlines()[0].split(",")


@pytest.mark.slow
def test_compare_pairs_rows_over_seeds_and_splits(fake_system, tiny_dataset, tmp_path, capsys):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1, 2, 3))
    grid = load_grid(path)
    execute_grid(grid, tmp_path / "store", progress=False)
    result = leaderboard.compare(grid, tmp_path / "store", "small", "wide")
    records = leaderboard.records(grid, tmp_path / "store")
    scores = records[records["machine"].isna()].pivot_table(index=["seed", "split"], columns="system",
                                                              values="official_score")
    assert result["pairs"] == len(scores) == 3 * len(scores.index.unique("split"))
    assert result["mean_difference"] == pytest.approx((scores["wide"] - scores["small"]).mean())
    assert 0 <= result["p_value"] <= 1
    from asdbench.cli.main import main

    capsys.readouterr()
    assert main(["leaderboard", str(path), "--out", str(tmp_path / "store"), "--compare", "small", "wide"]) == 0
    printed = capsys.readouterr().out
    assert f"mean difference {100 * result['mean_difference']:+.2f} points of percent" in printed
    assert "mean (std) over seed" in printed and "**" in printed
    with pytest.raises(SpecError, match="--compare names 'tall', which is no row of this table; rows: small, wide"):
        leaderboard.compare(grid, tmp_path / "store", "small", "tall")


@pytest.mark.slow
def test_regression_gate_flags_cells_below_tolerance_and_missing_cells(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    grid = load_grid(path)
    store = tmp_path / "store"
    execute_grid(grid, store, progress=False)
    committed = leaderboard.table_frame(grid, store).to_dict("records")
    assert gate.regressions(grid, store, committed, tolerance=0.0) == []

    raised = [dict(cell) for cell in committed]
    raised[0]["mean"] += 0.02
    raised.append({"row": "tall", "column": raised[0]["column"], "mean": 0.5})
    failures = gate.regressions(grid, store, raised, tolerance=0.01)
    assert [(f["row"], f["column"], f["now"]) for f in failures] == [
        (committed[0]["row"], committed[0]["column"], pytest.approx(committed[0]["mean"])),
        ("tall", committed[0]["column"], None)]
    assert gate.regressions(grid, store, raised[:1], tolerance=0.03) == []

    from asdbench.cli.main import main

    reference = tmp_path / "committed.json"
    reference.write_text(leaderboard.render(grid, store, "json"))
    assert main(["leaderboard", str(path), "--out", str(store), "--check", str(reference)]) == 0
    reference.write_text(json.dumps(raised))
    assert main(["leaderboard", str(path), "--out", str(store), "--check", str(reference)]) == 1


def test_regression_gate_without_a_committed_table_names_the_file(fake_system, tiny_dataset, tmp_path, capsys):
    from asdbench.cli.main import main

    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    assert main(["leaderboard", str(path), "--out", str(tmp_path / "store"), "--check", "nowhere.json"]) == 2
    assert "nowhere.json: no committed leaderboard to check against" in capsys.readouterr().err


@pytest.mark.slow
def test_stacked_trainings_are_other_runs_than_trainings_alone(fake_system, tiny_dataset, tmp_path, monkeypatch):
    """Stacked training equals training alone only up to float noise, which training amplifies, so a grid with
    train.stack_seeds = 2 trains into directories of its own (the unstacked ones keep their hashes), stacks seeds
    1+2 of each system and trains seed 3 in a stack of one, and status and the leaderboard find its runs from
    the grid file alone."""
    import asdbench.store.stages
    from asdbench.cli.main import main

    stacked_sizes = []
    real = asdbench.store.stages.train_stacked
    monkeypatch.setattr(asdbench.store.stages, "train_stacked", lambda members, **kw: stacked_sizes.append(len(members))
                        or real(members, **kw))
    alone = load_grid(grid_file(tmp_path, tiny_dataset, seeds=(1, 2, 3)))
    text = (tmp_path / "grid.toml").read_text().replace("batch_size = 8", "batch_size = 8\nstack_seeds = 2")
    (tmp_path / "stacked.toml").write_text(text)
    stacked = load_grid(tmp_path / "stacked.toml")
    execute_grid(alone, tmp_path / "store", progress=False)
    assert stacked_sizes == []
    execute_grid(stacked, tmp_path / "store", progress=False)
    assert stacked_sizes == [2, 1, 2, 1], "seeds 1+2 of each system stacked, seed 3 in a stack of its own"
    store = Store(tmp_path / "store")
    for plain, run in zip(alone.runs, stacked.runs):
        assert plain.coordinates == run.coordinates
        assert run.spec.training_hash != plain.spec.training_hash
        assert run.spec.scoring_hash == plain.spec.scoring_hash
        identity = json.loads((store.training_directory(run.spec) / "training.json").read_text())
        assert identity["train"]["stacked"] is True and "stack_seeds" not in identity["train"]
        assert "stacked" not in json.loads((store.training_directory(plain.spec) / "training.json").read_text())["train"]
        assert store.state(run.spec) is RunState.DONE and store.state(plain.spec) is RunState.DONE
        for split, report in store.results(plain.spec)["splits"].items():  # close, not equal
            assert store.results(run.spec)["splits"][split]["official_score"] == pytest.approx(
                report["official_score"], abs=0.05)
    assert [row["state"] for row in grid_status(stacked, tmp_path / "store")] == ["done"] * 6
    table = leaderboard.render(stacked, tmp_path / "store", "json")
    assert json.loads(table) and all(cell["mean"] is not None for cell in json.loads(table))
    assert main(["status", str(tmp_path / "stacked.toml"), "--out", str(tmp_path / "store")]) == 0
    assert main(["leaderboard", str(tmp_path / "stacked.toml"), "--out", str(tmp_path / "store")]) == 0
    (tmp_path / "bad.toml").write_text(text.replace("stack_seeds = 2", "stack_seeds = 0"))
    with pytest.raises(SpecError, match="train.stack_seeds: expected a number >= 1"):
        load_grid(tmp_path / "bad.toml")
