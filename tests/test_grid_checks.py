"""What a grid checks before any work, and what is not a run's failure: a machine without the device asked for,
data that are not there."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import get_registry
from asdbench.errors import DataNotFound, HostError
from asdbench.grid.expand import load_grid
from asdbench.store.store import Store
from tests.helpers.cli import cli_error
from tests.helpers.fake_system import trainings
from tests.helpers.grids import grid_file


def error_files(store_root):
    return sorted(store_root.rglob("error.json"))


@pytest.mark.parametrize("device", ["gpu", "cuda"])
def test_a_device_this_machine_lacks_is_no_runs_failure(fake_system, tiny_dataset, tmp_path, monkeypatch, device):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("ASDBENCH_DEVICE", device)
    spec = load_grid(grid_file(tmp_path, tiny_dataset, seeds=(1,))).runs[0].spec
    with pytest.raises(HostError, match=f"ASDBENCH_DEVICE={device}"):
        Store(tmp_path / "store").attempt(spec, get_registry())
    assert error_files(tmp_path / "store") == [] and trainings(fake_system) == 0


def test_a_missing_dataset_root_is_no_runs_failure(fake_system, tmp_path):
    spec = load_grid(grid_file(tmp_path, tmp_path / "not-mounted", seeds=(1,))).runs[0].spec
    with pytest.raises(DataNotFound, match="not-mounted not found on this machine"):
        Store(tmp_path / "store").attempt(spec, get_registry())
    assert error_files(tmp_path / "store") == []


def test_a_grid_without_its_data_is_one_line_and_writes_nothing(fake_system, tmp_path, capsys):
    """leaderboard/table2.toml without its data printed 31 lines and made 30 error folders (issue 26)."""
    path = grid_file(tmp_path, tmp_path / "not-mounted")
    line = cli_error(["grid", str(path), "--out", str(tmp_path / "store")], capsys)
    assert "grid.toml [all 6 runs]: dataset root " in line and "not-mounted not found on this machine" in line
    assert not (tmp_path / "store").exists() and trainings(fake_system) == 0


def test_each_cause_is_said_once_with_the_runs_it_concerns_before_any_training(fake_system, tiny_dataset, tmp_path,
                                                                              capsys):
    path = grid_file(tmp_path, tiny_dataset)
    path.write_text(path.read_text() + textwrap.dedent(f"""
        [[variants.data]]
        name = "tiny"
        [[variants.data]]
        name = "elsewhere"
        "dataset.root" = "{tmp_path / 'elsewhere'}"
        [[variants.backend]]
        name = "knn"
        [[variants.backend]]
        name = "kmeans 500"
        "system.backend" = {{name = "kmeans-target", clusters = 500}}
    """))
    assert main(["grid", str(path), "--out", str(tmp_path / "store")]) == 2
    head, *causes = capsys.readouterr().err.strip().splitlines()
    assert head.startswith("asdbench: error: ") and head.endswith(
        "grid.toml: 2 problems found before any work (nothing was trained, nothing written), in 18 of 24 runs:")
    assert causes[0].startswith("  [system={small, wide}, data=tiny, backend=kmeans 500, seed={1, 2, 3}] (6 runs): "
                                "dev/")
    assert "source-domain training clips for 500 clusters" in causes[0]
    assert causes[1].startswith("  [system={small, wide}, data=elsewhere, backend={knn, kmeans 500}, seed={1, 2, 3}] "
                                "(12 runs): dataset root ")
    assert not (tmp_path / "store").exists() and trainings(fake_system) == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_device_this_machine_lacks_stops_a_grid_before_any_work(fake_system, tiny_dataset, tmp_path, monkeypatch,
                                                                  capsys, workers):
    monkeypatch.setenv("ASDBENCH_DEVICE", "gpu")
    line = cli_error(["grid", str(grid_file(tmp_path, tiny_dataset)), "--workers", workers, "--out",
                      str(tmp_path / "store")], capsys)
    assert line.startswith("asdbench: error: ASDBENCH_DEVICE=gpu: not a torch device")
    assert not (tmp_path / "store").exists() and trainings(fake_system) == 0


@pytest.mark.slow
def test_a_finished_grid_reads_back_where_its_data_are_not(fake_system, tiny_dataset, tmp_path, capsys):
    """What is done is not checked again: a store is read back on a machine without the data."""
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    path = grid_file(tmp_path, data, seeds=(1,))
    assert main(["grid", str(path), "--out", str(tmp_path / "store")]) == 0
    data.rename(tmp_path / "moved")
    assert main(["grid", str(path), "--out", str(tmp_path / "store")]) == 0
    assert "2 of 2 runs done" in capsys.readouterr().out and trainings(fake_system) == 2
