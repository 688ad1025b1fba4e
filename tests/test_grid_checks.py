"""What a grid checks before any work, and what is not a run's failure: a machine without the device asked for,
data that are not there."""

from __future__ import annotations

import pytest

from asdbench.contract.registry import get_registry
from asdbench.errors import DataNotFound, HostError
from asdbench.grid.expand import load_grid
from asdbench.store.store import Store
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
