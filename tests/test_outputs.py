"""Where asdbench writes (issue 22, section 6): a file the user names is written through a symlink and never onto
a folder, FIFO or device; a write the system refuses (a full disk, a read-only store, a full standard output) is
one line naming the path and the errno, with a non-zero exit, and nothing written before lost; and the
leaderboard's checks refuse what would pass without checking anything."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from asdbench.cli.main import main
from asdbench.errors import PathError, WriteError
from asdbench.files.atomic import write_text_atomic
from tests.helpers.grids import finished_stamps

GRID = """\
[base]
[base.dataset]
name = "synth"
root = "data"
[base.system]
backend = "knn"
[[variants.system]]
name = "A"
[[variants.system]]
name = "B"
"system.backend" = {name = "knn", k = 3}
[axes]
seed = [1, 2]
"""


def refused(capsys, argv: list[str], *fragments: str) -> str:
    """Run the command line; assert it exits 2 with one error line holding every fragment, and no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines()  # less a grid's progress: its bar, and its trainings' lines
             if line.strip() and not line.startswith(("grid ", "training "))]
    assert len(lines) == 1 and lines[0].startswith("asdbench: error: "), err
    assert all(fragment in lines[0] for fragment in fragments), err
    return lines[0]


@pytest.fixture
def grid(tmp_path) -> Path:
    """A grid of four runs, never run, and its (empty) store ``tmp_path / "runs"``."""
    path = tmp_path / "grid.toml"
    path.write_text(GRID)
    (tmp_path / "runs").mkdir()
    return path


def leaderboard(grid: Path, *options: str) -> list[str]:
    return ["leaderboard", str(grid), "--out", str(grid.parent / "runs"), *options]


# --- what a write to a name lands in -----------------------------------------------------------------------


def test_a_symlink_is_written_through_and_kept(tmp_path):
    target = tmp_path / "kept" / "table.md"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "table.md"
    link.symlink_to(target)
    write_text_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "table.md"], "no temporary left beside the link"


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "cells.json"
    link.symlink_to(tmp_path / "cells-2026.json")
    write_text_atomic(link, "[]\n")
    assert link.is_symlink() and (tmp_path / "cells-2026.json").read_text() == "[]\n"


@pytest.mark.parametrize(("make", "kind"), [
    (os.mkfifo, "a named pipe (FIFO)"),
    (os.mkdir, "a directory"),
])
def test_a_name_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path, make, kind):
    path = tmp_path / "out.json"
    make(path)
    with pytest.raises(PathError, match=re.escape(f"{path} is {kind}, not a regular file")):
        write_text_atomic(path, "[]\n")
    assert path.exists() and not path.is_file(), "still what it was"


def private_null(folder: Path) -> Path:
    """A character device like /dev/null, in ``folder``: a test that the device is left alone must not risk the
    system's own (the code before this fix, run as root, replaced it with a regular file)."""
    path = folder / "null"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD)")
    return path


def test_a_device_behind_a_symlink_is_refused_and_left_alone(tmp_path):
    device, link = private_null(tmp_path), tmp_path / "out.json"
    link.symlink_to(device)
    with pytest.raises(PathError, match=f"a symlink to {device}.* is a character device, not a regular file"):
        write_text_atomic(link, "[]\n")
    assert link.is_symlink() and device.is_char_device()


def test_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(PathError, match="a symlink that cannot be followed"):
        write_text_atomic(tmp_path / "a", "x")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EPERM])
def test_a_refused_write_names_the_file_not_its_temporary_and_keeps_the_old_content(tmp_path, monkeypatch, code):
    path = tmp_path / "results.json"
    path.write_text("old\n")
    monkeypatch.setattr(os, "fsync", _refusing(code))
    with pytest.raises(WriteError, match=re.escape(f"cannot write {path}: {os.strerror(code)} "
                                                   f"({errno.errorcode[code]})")):
        write_text_atomic(path, "new\n")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def _refusing(code: int, where: Path | None = None, after=lambda: True):
    """An os.fsync (or os.open) that fails with ``code`` once ``after()`` holds, for files under ``where``."""
    fsync, open_ = os.fsync, os.open

    def refuse(target, *args):
        name = os.readlink(f"/proc/self/fd/{target}") if isinstance(target, int) else os.fspath(target)
        if after() and (where is None or name.startswith(str(where))):
            raise OSError(code, os.strerror(code), None if isinstance(target, int) else name)
        return (fsync if isinstance(target, int) else open_)(target, *args)

    return refuse


# --- the command line's outputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--write", "--json", "--heatmap"])
@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir])
def test_leaderboard_outputs_that_are_no_regular_file_are_refused_first(grid, capsys, option, make):
    path = grid.parent / "out"
    make(path)
    refused(capsys, leaderboard(grid, option, str(path)), f"{option} {path} is a", "not a regular file")
    assert capsys.readouterr().out == "", "refused before the table is printed"


def test_leaderboard_json_onto_a_device_leaves_the_device(grid, capsys):
    device = private_null(grid.parent)
    refused(capsys, leaderboard(grid, "--json", str(device)), f"--json {device} is a character device")
    assert device.is_char_device()


def test_leaderboard_write_through_a_symlink_keeps_the_link(grid, capsys):
    target = grid.parent / "table-2026.md"
    (grid.parent / "table.md").symlink_to(target)
    assert main(leaderboard(grid, "--write", str(grid.parent / "table.md"))) == 0
    assert (grid.parent / "table.md").is_symlink() and target.read_text() + "\n" == capsys.readouterr().out


def test_leaderboard_output_below_a_file_is_named(grid, capsys):
    (grid.parent / "FILE").write_text("x")
    refused(capsys, leaderboard(grid, "--write", str(grid.parent / "FILE" / "t.md")),
            f"--write {grid.parent / 'FILE' / 't.md'}: folder {grid.parent / 'FILE'} is a file")


@pytest.mark.parametrize(("first", "second"), [("--write", "--json"), ("--json", "--check")])
def test_two_leaderboard_files_naming_one_file_are_refused(grid, capsys, first, second):
    path = grid.parent / "cells.json"
    path.write_text(json.dumps([{"row": "A", "column": "dev", "mean": 0.6}]))
    refused(capsys, leaderboard(grid, first, str(path), second, str(path)), f"{first} and {second} both name")
    assert json.loads(path.read_text())[0]["mean"] == 0.6, "left alone"


def test_manifest_csv_that_is_a_directory_is_refused_before_reading(tiny_dataset, tmp_path, capsys):
    refused(capsys, ["manifest", "--dataset-root", str(tiny_dataset), "--year", "2024", "--split", "dev",
                     "--csv", str(tmp_path)], f"--csv {tmp_path} is a directory")


def test_run_plot_that_is_a_directory_is_refused_before_any_work(tmp_path, capsys):
    refused(capsys, ["run", str(tmp_path / "never-read.toml"), "--out", str(tmp_path / "runs"),
                     "--plot", str(tmp_path)], f"--plot {tmp_path} is a directory")


def test_plot_space_out_that_is_a_fifo_is_refused_before_drawing(tmp_path, capsys):
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "dev.fan.00.npz").write_bytes(b"never read")
    os.mkfifo(tmp_path / "space.png")
    refused(capsys, ["plot-space", str(tmp_path), "--machine", "fan", "--out", str(tmp_path / "space.png")],
            f"--out {tmp_path / 'space.png'} is a named pipe (FIFO)")


def test_models_fetch_into_a_file_names_the_option(tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    refused(capsys, ["models", "fetch", "panns", "--dir", str(tmp_path / "FILE")],
            f"--dir {tmp_path / 'FILE'} is a file; expected a directory")
    assert (tmp_path / "FILE").read_text() == "x"


@pytest.mark.parametrize(("make", "expected"), [
    (os.mkdir, "is a directory; expected a score file"),
    (lambda path: path.write_bytes(b"\xff\xfe\x00garbage"), "not a text CSV file"),
])
def test_evaluate_on_a_score_file_that_cannot_be_read_names_it(tiny_dataset, tmp_path, capsys, make, expected):
    scores = tmp_path / "scores"
    scores.mkdir()
    path = scores / "anomaly_score_fan_section_00_test.csv"
    make(path)
    refused(capsys, ["evaluate", str(scores), "--dataset-root", str(tiny_dataset), "--year", "2024",
                     "--split", "dev"], str(path), expected)


# --- standard output ----------------------------------------------------------------------------------------


class FullStream:
    """A standard output on a full disk: every write fails with ENOSPC."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        pass


def test_a_full_standard_output_is_one_line(grid, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", FullStream())
    assert main(leaderboard(grid)) == 2
    err = capsys.readouterr().err
    assert err == "asdbench: error: cannot write to standard output: No space left on device (ENOSPC)\n"


@pytest.mark.slow
def test_leaderboard_into_dev_full_is_one_line_and_exits_non_zero(grid):
    """`asdbench leaderboard ... > /dev/full`: the table stays in Python's buffer until the end, where Python's own
    flush would fail with "Exception ignored" and exit 120."""
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "asdbench", *leaderboard(grid)], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (
        2, "asdbench: error: cannot write to standard output: No space left on device (ENOSPC)\n")


# --- the run store -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "leaderboard"])
def test_a_store_that_does_not_exist_is_an_error_not_a_table_of_pending_runs(grid, capsys, command):
    refused(capsys, [command, str(grid), "--out", str(grid.parent / "rnus")],
            f"--out {grid.parent / 'rnus'}: no run store there")
    assert not (grid.parent / "rnus").exists()


def test_a_store_that_is_a_file_is_named(grid, capsys):
    (grid.parent / "store").write_text("x")
    refused(capsys, ["status", str(grid), "--out", str(grid.parent / "store")], "is a file, not a run store")


def untrained_grid(tmp_path: Path, root: Path) -> Path:
    """Two runs of a system that is not trained (epochs = 0): a grid that runs fast."""
    path = tmp_path / "untrained.toml"
    path.write_text(f'[base]\n[base.dataset]\nname = "synth"\nroot = "{root}"\n[base.system]\n'
                    'frontends = ["spectrum"]\nnetworks = ["spectrum-cnn"]\nbackend = {name = "knn", k = 1}\n'
                    '[base.train]\nepochs = 0\nclip_seconds = 4.5\n[axes]\nseed = [1, 2]\n')
    return path


@pytest.mark.parametrize(("code", "call"), [(errno.ENOSPC, "fsync"), (errno.EROFS, "open")])
def test_a_store_that_fills_up_mid_grid_stops_it_in_one_line_and_loses_nothing(tiny_dataset, tmp_path,
                                                                               monkeypatch, capsys, code, call):
    """The disk fills (or turns read-only) once the first run has finished: every write of the store fails from
    then on, the atomic writes' (fsync) as the lock files' (open)."""
    grid, store = untrained_grid(tmp_path, tiny_dataset), tmp_path / "runs"
    monkeypatch.setattr(os, call, _refusing(code, store, after=lambda: bool(finished_stamps(store))))
    line = refused(capsys, ["grid", str(grid), "--out", str(store)], str(store), f"({errno.errorcode[code]})")
    assert "error.json" not in line, "the store's failure is not recorded as a run's"
    [first] = finished = finished_stamps(store)
    assert json.loads((first / "results.json").read_text())["splits"]
    assert not list(store.rglob("error.json")), "no run is marked failed for the store's fault"

    monkeypatch.undo()  # space freed: the grid goes on from where it stopped
    assert main(["grid", str(grid), "--out", str(store)]) == 0
    assert len(finished_stamps(store)) == 2 and finished_stamps(store)[first] == finished[first]


# --- leaderboard checks that would check nothing ---------------------------------------------------------------


@pytest.mark.parametrize("tolerance", ["nan", "inf", "-1", "three"])
def test_check_tolerance_must_be_a_finite_number_of_points(grid, capsys, tolerance):
    with pytest.raises(SystemExit) as exit_:
        main(leaderboard(grid, "--check", "cells.json", "--tolerance", tolerance))
    assert exit_.value.code == 2
    assert f"argument --tolerance: expected a finite number of points >= 0, got '{tolerance}'" in \
        capsys.readouterr().err


@pytest.mark.parametrize(("cells", "expected"), [
    ([], "no cell with a mean to check against (0 cells)"),
    ([{"row": "A", "column": "dev", "mean": None}], "no cell with a mean to check against (1 cells)"),
    ([{"row": "A", "column": "dev", "mean": float("nan")}], "cell [0].mean: expected a finite number or null"),
])
def test_check_against_cells_that_check_nothing_is_refused(grid, capsys, cells, expected):
    reference = grid.parent / "cells.json"
    reference.write_text(json.dumps(cells))
    refused(capsys, leaderboard(grid, "--check", str(reference)), str(reference), expected)


def test_compare_of_a_row_with_itself_is_refused_before_any_file_is_written(grid, capsys):
    table = grid.parent / "table.md"
    refused(capsys, leaderboard(grid, "--compare", "A", "A", "--write", str(table)), "--compare names row 'A' twice")
    assert not table.exists()
