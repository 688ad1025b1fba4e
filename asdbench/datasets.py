"""The core's dataset readers, registered through the same hook as any plugin (as datasette's defaults are).

``dcase2023`` and ``dcase2024`` read the official layouts in place; ``synth`` reads what ``asdbench synth``
wrote, whose ground truth and hidden attributes live inside the dataset root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from asdbench.errors import DataError
from asdbench.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    import pandas as pd

SPLITS = ("dev", "eval")


@dataclass(frozen=True)
class DcaseDataset:
    """A DCASE Task 2 dataset in the official layout, with optional ground truth for its eval split."""

    name: str
    year: int
    root: Path
    ground_truth: Path | None = None
    hidden_attributes: Path | None = None
    description: Path | None = None  # a file that tells this dataset apart from others at its root

    def manifest(self, split: str) -> pd.DataFrame:
        if split not in SPLITS:
            raise DataError(f"dataset {self.name!r} has no split {split!r}; splits: {', '.join(SPLITS)}")
        from asdbench.data.dcase import build_manifest  # pandas and soundfile only when data is read

        return build_manifest(
            self.root, self.year, split, ground_truth=self.ground_truth, hidden_attributes=self.hidden_attributes
        )

    def fingerprint(self, splits: list[str]) -> str:
        """What the dataset's files of ``splits`` are now (see asdbench.data.fingerprint)."""
        from asdbench.data.fingerprint import fingerprint

        files = [self.root / f"{split}_data" for split in splits]
        return fingerprint([*files, *(p for p in (self.ground_truth, self.hidden_attributes, self.description) if p)])


def _optional_path(value: str | None) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


def dcase2023(root: str, ground_truth: str | None = None) -> DcaseDataset:
    return DcaseDataset("dcase2023", 2023, Path(root).expanduser().resolve(), _optional_path(ground_truth))


def dcase2024(root: str, ground_truth: str | None = None, hidden_attributes: str | None = None) -> DcaseDataset:
    return DcaseDataset(
        "dcase2024", 2024, Path(root).expanduser().resolve(), _optional_path(ground_truth),
        _optional_path(hidden_attributes),
    )


def synth(root: str) -> DcaseDataset:
    """A dataset written by ``asdbench synth``; its year style comes from its ``synth.json``."""
    path = Path(root).expanduser().resolve()
    info_file = path / "synth.json"
    try:
        info = json.loads(info_file.read_text())
        year = int(info["year"])
    except FileNotFoundError:
        raise DataError(f"{info_file} not found: {path} is not a complete dataset written by `asdbench synth`")
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{info_file} is not a valid synth description ({exc})") from exc
    hidden = path / "hidden_attributes"
    return DcaseDataset("synth", year, path, path / "ground_truth", hidden if hidden.is_dir() else None, info_file)


@hookimpl
def asdbench_register_datasets(register: Register) -> None:
    register("dcase2023", dcase2023, description="DCASE 2023 Task 2 in the official layout")
    register("dcase2024", dcase2024, description="DCASE 2024 Task 2 in the official layout")
    register("synth", synth, description="a synthetic dataset written by `asdbench synth`")
