"""A result notices that the code which made it has changed (asdbench.store.codeprint, asdbench.store.stale): a plugin author
who flips the sign of an editable backend's score after a grid finished is stopped by the next grid, by name,
before any work; ``--rerun changed`` recomputes, ``--keep-results`` keeps and records; ``status`` says stale; a
leaderboard mixing code says so. The grids are of never-trained systems (``train.epochs = 0``): no training."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import use_registry
from asdbench.grid.execute import execute_grid
from asdbench.grid.expand import load_grid
from asdbench.store import codeprint
from asdbench.store.stale import CodeChanged
from tests.helpers.distributions import write_distribution, write_editable_distribution
from tests.helpers.grids import fake_system_base, finished_stamps

BACKEND = """
    import numpy as np
    from asdbench.hookspecs import hookimpl

    SIGN = 1.0

    class Distance:
        def fit(self, embeddings, domains):
            self.centre = embeddings.mean(0)
        def score(self, embeddings):
            return SIGN * np.linalg.norm(embeddings - self.centre, axis=1) + 2.0

    @hookimpl
    def asdbench_register_backends(register):
        register("edited-distance", Distance)
"""
MODULES = ("asdbench_fake_system", "asdbench_edited_backend")


@pytest.fixture
def plugins(fake_system, site, tmp_path, monkeypatch) -> dict[str, Path]:
    """The fake system (a regular install of one module) and an editable backend distribution; each one's source
    file, to edit."""
    project = tmp_path / "asdbench-edited-backend"
    backend = write_editable_distribution(site, project, "asdbench-edited-backend", MODULES[1], BACKEND)
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # an edit within the same second is read back
    new_process()
    yield {"asdbench-fake-system": tmp_path / "site" / f"{MODULES[0]}.py", "asdbench-edited-backend": backend}
    new_process()


def new_process() -> None:
    """What a new asdbench process sees: the edited source imported afresh, its code hashed afresh."""
    for name in MODULES:
        sys.modules.pop(name, None)
    codeprint.forget_installed()


def edit(source: Path, old: str, new: str) -> None:
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new))
    new_process()


def grid_toml(tmp_path: Path, root: Path, seeds: list[int], name: str = "grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(fake_system_base(root) + f"""
backend = "edited-distance"
[base.train]
epochs = 0

[axes]
seed = {seeds}

[table]
rows = "seed"
columns = "split"
""")
    return path


def asdbench(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with use_registry(None):  # a registry loaded afresh from the installed distributions, as a new process
        code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def results(out: Path) -> dict[Path, dict]:
    return {path.parent: json.loads(path.read_text())["splits"] for path in out.glob("*/*/results.json")}


@pytest.fixture
def finished(plugins, tiny_dataset, tmp_path, capsys) -> tuple[Path, Path]:
    """A grid of two runs, finished with the plugins as installed; the grid file and the store."""
    grid, out = grid_toml(tmp_path, tiny_dataset, [1, 2]), tmp_path / "runs"
    assert asdbench(capsys, "grid", str(grid), "--out", str(out))[0] == 0
    return grid, out


def test_every_training_and_scoring_records_the_code_of_what_it_used(finished, plugins):
    _, out = finished
    trainings = [path.parent for path in out.glob("*/trained.json")]
    assert len(trainings) == 2, "one per seed"
    for training in trainings:
        trained = json.loads((training / "code.json").read_text())
        assert trained["stage"] == "training"
        assert set(trained["distributions"]) == {"asdbench", "asdbench-fake-system"}
    for run in out.glob("*/*/results.json"):
        scored = json.loads((run.parent / "code.json").read_text())
        assert set(scored["distributions"]) == {"asdbench", "asdbench-edited-backend"}
        entry = scored["distributions"]["asdbench-edited-backend"]
        assert entry["version"] == "0.1.0" and entry["source"].startswith("sha256:")


def test_unchanged_code_reuses_the_finished_runs_without_a_word(finished, capsys):
    grid, out = finished
    stamps = finished_stamps(out)
    code, stdout, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out))
    assert code == 0 and "2 of 2 runs done" in stdout and stderr.strip() == ""
    assert finished_stamps(out) == stamps


def test_an_edited_backend_stops_the_next_grid_before_any_work_naming_it_and_its_runs(finished, plugins, capsys):
    grid, out = finished
    before = sorted(p.relative_to(out) for p in out.rglob("*") if p.name != ".lock")
    edit(plugins["asdbench-edited-backend"], "SIGN = 1.0", "SIGN = -1.0")
    code, stdout, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out))
    assert code == 2 and "runs done" not in stdout
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("asdbench: error: 2 runs in ") and "--rerun changed" in lines[0]
    assert len(lines) == 2 and lines[1].startswith("  asdbench-edited-backend: source ") and ": 2 runs (" in lines[1]
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.name != ".lock") == before, "nothing was touched"

    code, stdout, _ = asdbench(capsys, "status", str(grid), "--out", str(out))
    assert "2 runs: 0 done, 2 stale" in stdout and "2 trainings: 2 done" in stdout, "the training is not stale"


def test_the_grid_api_refuses_as_the_command_does(finished, plugins):
    grid, out = finished
    edit(plugins["asdbench-edited-backend"], "SIGN = 1.0", "SIGN = -1.0")
    with use_registry(None), pytest.raises(CodeChanged, match="asdbench-edited-backend: source .*: 2 runs"):
        execute_grid(load_grid(grid), out, progress=False)


def test_rerun_changed_rescores_from_the_kept_embeddings_and_sets_the_old_results_aside(finished, plugins, capsys):
    grid, out = finished
    old = results(out)
    embeddings = {p: p.stat().st_mtime_ns for p in out.glob("*/embeddings/*.npz")}
    edit(plugins["asdbench-edited-backend"], "SIGN = 1.0", "SIGN = -1.0")
    code, stdout, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out), "--rerun", "changed")
    assert code == 0 and "2 of 2 runs done" in stdout and stderr.count("set aside as ") == 2
    new = results(out)
    for run, splits in old.items():
        auc = splits["dev"]["machines"][0]["auc_source"]
        assert new[run]["dev"]["machines"][0]["auc_source"] == pytest.approx(1 - auc), "scored by the edited code"
        assert len(list(run.parent.glob(f"{run.name}.stale-*/results.json"))) == 1, "the old results are kept"
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/embeddings/*.npz")} == embeddings, "not trained again"
    assert asdbench(capsys, "grid", str(grid), "--out", str(out))[0] == 0, "now made with the installed code"


def test_an_edited_system_plugin_makes_its_trainings_stale_and_rerun_retrains_them(finished, plugins, capsys):
    grid, out = finished
    edit(plugins["asdbench-fake-system"], "torch.log1p(x)", "torch.log1p(2 * x)")
    code, _, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out))
    assert code == 2 and "  asdbench-fake-system: source " in stderr and "edited-backend" not in stderr
    code, stdout, _ = asdbench(capsys, "status", str(grid), "--out", str(out))
    assert "2 stale" in stdout and "2 trainings: 0 done, 2 stale" in stdout
    code, _, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out), "--rerun", "changed")
    assert code == 0 and stderr.count("set aside as ") == 2, "each training, with its scoring inside"
    assert len(list(out.glob("*.stale-*/*/results.json"))) == 2 and len(list(out.glob("*/*/results.json"))) == 4


def test_a_new_scoring_of_a_stale_training_is_among_the_runs_named(finished, plugins, capsys):
    grid, out = finished
    wider = grid.with_name("quantiles.toml")
    wider.write_text(grid.read_text().replace("[axes]", '[axes]\n"system.decision_quantile" = [0.9, 0.8]'))
    edit(plugins["asdbench-fake-system"], "torch.log1p(x)", "torch.log1p(2 * x)")
    code, _, stderr = asdbench(capsys, "grid", str(wider), "--out", str(out))
    assert code == 2 and "error: 4 runs in " in stderr and ": 4 runs (" in stderr, "2 finished, 2 to score from them"


def test_keep_results_keeps_them_records_the_choice_and_is_not_asked_again(finished, plugins, capsys):
    grid, out = finished
    old = results(out)
    edit(plugins["asdbench-edited-backend"], "SIGN = 1.0", "SIGN = -1.0")
    code, stdout, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out), "--keep-results")
    assert code == 0 and "2 of 2 runs done" in stdout and "kept 2 finished" in stderr
    assert results(out) == old
    for run in old:
        (kept,) = json.loads((run / "code.json").read_text())["kept"]
        assert kept["changes"][0].startswith("asdbench-edited-backend: source ")
        assert kept["installed"]["asdbench-edited-backend"]["source"] != json.loads(
            (run / "code.json").read_text())["distributions"]["asdbench-edited-backend"]["source"]
    code, _, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out))
    assert code == 0 and stderr.strip() == ""
    assert "2 stale" in asdbench(capsys, "status", str(grid), "--out", str(out))[1], "still not today's code"


def test_a_leaderboard_whose_cells_mix_code_says_so_under_the_table(finished, plugins, tiny_dataset, tmp_path, capsys):
    grid, out = finished
    code, table, _ = asdbench(capsys, "leaderboard", str(grid), "--out", str(out))
    assert code == 0 and "mix" not in table
    edit(plugins["asdbench-edited-backend"], "SIGN = 1.0", "SIGN = -1.0")
    wider = grid_toml(tmp_path, tiny_dataset, [1, 2, 3], name="wider.toml")
    assert asdbench(capsys, "grid", str(wider), "--out", str(out), "--keep-results")[0] == 0
    code, table, _ = asdbench(capsys, "leaderboard", str(wider), "--out", str(out))
    assert code == 0
    assert table.strip().splitlines()[-1] == ("note: these cells mix results made with different code of "
                                              "asdbench-edited-backend (`asdbench status` shows the runs made with "
                                              "other code than is installed as stale)")


def test_run_refuses_a_finished_run_made_with_other_code(finished, plugins, tiny_dataset, tmp_path, capsys):
    _, out = finished
    spec = tmp_path / "one.toml"
    spec.write_text(grid_toml(tmp_path, tiny_dataset, [1]).read_text().replace("[base.", "[").replace("[base]", "seed = 1")
                    .split("[axes]")[0])
    assert asdbench(capsys, "run", str(spec), "--out", str(out))[0] == 0
    edit(plugins["asdbench-edited-backend"], "SIGN = 1.0", "SIGN = -1.0")
    code, _, stderr = asdbench(capsys, "run", str(spec), "--out", str(out))
    assert code == 2 and "error: 1 runs in " in stderr and "asdbench-edited-backend: source" in stderr


def test_a_scoring_without_its_code_record_is_damaged_and_scored_again(finished, capsys):
    """Every scoring records its code before it scores: one without it was cut short or damaged."""
    grid, out = finished
    for record in out.glob("*/*/code.json"):
        record.unlink()
    assert "2 runs: 0 done, 0 stale, 0 running, 0 failed, 2 damaged" in asdbench(capsys, "status", str(grid), "--out",
                                                                                str(out))[1]
    code, stdout, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out))
    assert code == 0 and "2 of 2 runs done" in stdout
    assert stderr.count("no code.json beside it, which every scoring writes first") == 2
    assert len(list(out.glob("*/*/code.json"))) == 2 and len(list(out.glob("*/*/results.json.damaged-*"))) == 2


@pytest.mark.parametrize(("record", "damage", "said"), [
    ("code.json", "missing", "missing, though it is written before anything is computed"),
    ("data.json", "missing", "missing, though it is written before anything is computed"),
    ("code.json", "no fingerprint", "field 'distributions' is None, not a fingerprint"),
])
def test_a_training_without_its_code_or_data_record_is_refused_and_left_as_it_is(finished, capsys, record, damage,
                                                                                 said):
    """What made the checkpoints and embeddings of such a training cannot be told: the grid stops naming it, and
    nothing in the store is moved or written; the user deletes it (or uses another store) to train it again."""
    grid, out = finished
    training = sorted(path.parent for path in out.glob("*/trained.json"))[0]
    if damage == "missing":
        (training / record).unlink()
    else:
        (training / record).write_text(json.dumps({"stage": "training"}))
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file() and path.name != ".lock"}
    code, _, stderr = asdbench(capsys, "grid", str(grid), "--out", str(out))
    assert code == 2 and stderr.count("\n") == 1
    assert f"{training / record}: {said}" in stderr
    assert f"made the training {training} cannot be told" in stderr and "delete it" in stderr
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file() and path.name != ".lock"} == before
    assert "2 runs: 1 done, 0 stale, 0 running, 0 failed, 1 damaged" in asdbench(capsys, "status", str(grid), "--out",
                                                                                str(out))[1]


def test_a_version_change_is_named_as_such(site):
    write_distribution(site, "asdbench-versioned", "asdbench_versioned", "VALUE = 1\n", version="1.0")
    made_with = {"asdbench-versioned": codeprint.distribution_print("asdbench-versioned", codeprint.SCORING)}
    assert made_with["asdbench-versioned"]["source"].startswith("sha256:")
    installed = {"asdbench-versioned": {**made_with["asdbench-versioned"], "version": "1.1"}}
    assert [c.what for c in codeprint.changes(made_with, installed)] == ["version 1.0 -> 1.1"]
    assert [c.what for c in codeprint.changes(made_with, {})] == ["not used now"]
    assert codeprint.changes(made_with, made_with) == []


def test_the_core_counts_the_modules_that_compute_numbers_per_stage():
    package = Path(codeprint.__file__).parent.parent
    training, scoring = ({p.relative_to(package).as_posix() for p in codeprint.core_files(stage)}
                         for stage in (codeprint.TRAINING, codeprint.SCORING))
    assert {"training/loop.py", "training/embed.py", "store/stages.py", "data/audio.py"} <= training
    for report in ("scoring/metrics.py", "scoring/official.py", "scoring/reports/dcase2021.py"):
        assert report in scoring and report not in training, "a metrics fix rescores only"
    assert not {p for p in scoring if p.startswith(("cli/", "report/", "grid/", "files/"))}, "a CLI edit: nothing stale"
    assert "store/store.py" not in scoring and not any(p.endswith("__init__.py") for p in scoring)
    listed = codeprint.NOT_NUMERIC | codeprint.SCORING_ONLY
    assert all((package / path).exists() for path in listed), "a listed module that no longer exists"
