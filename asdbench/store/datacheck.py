"""Runs record the fingerprint of the data they were made on (``data.json``); a run directory, checkpoint or
label table is reused only for the same data. Regenerating a synthetic dataset with another generator
version or seed, at the same path, would otherwise bring back results computed on the old one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asdbench.contract.registry import Registry
from asdbench.errors import DataError
from asdbench.files.atomic import write_json_atomic
from asdbench.files.damaged import DamagedFile
from asdbench.store.layout import DATA_FILE, read_json


def open_dataset(dataset: dict[str, Any], registry: Registry) -> Any:
    """The dataset object a spec's canonical ``dataset`` section names."""
    return registry.build("datasets", {k: v for k, v in dataset.items() if k != "splits"})


def fingerprint_of(dataset: Any, splits: list[str]) -> str | None:
    """The dataset's fingerprint, or None for a dataset type that has none (see hookspecs.Dataset)."""
    method = getattr(dataset, "fingerprint", None)
    return method(splits) if method else None


def current_fingerprint(dataset: dict[str, Any], registry: Registry) -> str | None:
    """What the spec's dataset holds now; None where that cannot be told here (no fingerprint, or the data
    is not readable on this machine, as when a store is read elsewhere): then nothing is checked."""
    try:
        return fingerprint_of(open_dataset(dataset, registry), dataset["splits"])
    except (DataError, OSError):
        return None


def check(run_dir: Path, fingerprint: str | None) -> None:
    """Raise if the finished training ``run_dir`` recorded other data than ``fingerprint`` (None: what the data
    is now cannot be told here, and nothing is checked). One that recorded none is damaged
    (:mod:`asdbench.store.checks`) and is not reused."""
    if fingerprint is not None:
        _compare(run_dir, fingerprint)


def record(run_dir: Path, fingerprint: str | None) -> None:
    """Record ``fingerprint`` (None for a dataset type that has none) in a starting or resuming training,
    refusing to resume one begun on other data, or one whose checkpoints record no data at all."""
    if (run_dir / DATA_FILE).exists():
        if fingerprint is not None:
            _compare(run_dir, fingerprint)
    elif any((run_dir / "checkpoints").rglob("*.pt")):  # a machinewise training's are in checkpoints/<machine>/
        raise DataError(f"{run_dir} holds checkpoints but no {DATA_FILE}, which asdbench writes before it trains: "
                        "which data they were made on cannot be told, so they cannot be resumed. Use another store "
                        "(--out) or delete that training.")
    write_json_atomic(run_dir / DATA_FILE, {"fingerprint": fingerprint})


def _compare(run_dir: Path, fingerprint: str) -> None:
    """A damaged record is refused as a differing one is: which data the run was made on cannot be told."""
    try:
        recorded = (read_json(run_dir / DATA_FILE) or {}).get("fingerprint")
    except DamagedFile as exc:
        raise DataError(f"{exc}; which data {run_dir} was made on cannot be told, so its results cannot be trusted. "
                        "Use another store (--out) or delete that run.") from None
    if recorded is None:
        raise DataError(f"{run_dir} records no fingerprint of the data it was made on (no {DATA_FILE}, or one of a "
                        f"dataset type that had none), but its dataset has one now ({fingerprint}): which data it was "
                        "made on cannot be told. Use another store (--out) or delete that run.")
    if recorded != fingerprint:
        raise DataError(f"{run_dir} was made on other data (fingerprint {recorded}) than its dataset holds now "
                        f"({fingerprint}), e.g. a dataset regenerated at the same path: its results would be "
                        "stale. Use another store (--out) or delete that run.")
