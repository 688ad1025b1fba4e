"""The core's dataset readers, registered through the same hook as any plugin (as datasette's defaults are).

``dcase2023`` to ``dcase2026`` read the official layouts in place; ``synth`` reads what ``asdbench synth``
wrote, whose ground truth and hidden attributes live inside the dataset root. Two options exist from DCASE 2025
on (docs/datasets.md): ``supplemental`` ("none" or "train": train on the clean machine sound of the machines'
``supplemental/`` folders too) and, for two-channel data (DCASE 2026), ``channel`` (0: the near microphone, as
the official baseline reads; 1: the far microphone; "both" is refused while no frontend takes two channels).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from asdbench.compat import SYNTH_OMITTED_AT_DEFAULT
from asdbench.contract.constraints import OneOf
from asdbench.data.layout import INFO_FILE
from asdbench.errors import DataError, SpecError
from asdbench.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    import pandas as pd

SPLITS = ("dev", "eval")
SUPPLEMENTAL_OPTION = Annotated[str, OneOf("none", "train")]
CHANNEL_OPTION = Annotated[int, OneOf(0, 1)]
TWO_CHANNELS = "both"


@dataclass(frozen=True)
class DcaseDataset:
    """A DCASE Task 2 dataset in the official layout, with optional ground truth for its eval split."""

    name: str
    year: int
    root: Path
    ground_truth: Path | None = None
    hidden_attributes: Path | None = None
    description: Path | None = None  # a file that tells this dataset apart from others at its root
    supplemental: str = "none"
    channel: int = 0

    def manifest(self, split: str) -> pd.DataFrame:
        if split not in SPLITS:
            raise DataError(f"dataset {self.name!r} has no split {split!r}; splits: {', '.join(SPLITS)}")
        from asdbench.data.manifest import build_manifest  # pandas and soundfile only when data is read

        return build_manifest(
            self.root, self.year, split, ground_truth=self.ground_truth, hidden_attributes=self.hidden_attributes,
            supplemental=self.supplemental, channel=self.channel,
        )

    def fingerprint(self, splits: list[str]) -> str:
        """What the dataset's files of ``splits`` are now (see asdbench.data.fingerprint)."""
        from asdbench.data.fingerprint import fingerprint

        files = [self.root / f"{split}_data" for split in splits]
        return fingerprint([*files, *(p for p in (self.ground_truth, self.hidden_attributes, self.description) if p)])


def refuse_two_channel_input(dataset: dict[str, Any], system: Any) -> None:
    """``channel = "both"`` would feed a frontend two-channel waveforms, and none takes them: the frontend contract
    (asdbench.contract.protocols.Frontend) is mono waveforms ``(B, L)``. Refused naming the spec's frontends (``system``:
    its raw ``[system]`` table), before the option's type is checked, so that the reason is the message."""
    if dataset.get("channel") != TWO_CHANNELS:
        return
    frontends = system.get("frontends", []) if isinstance(system, dict) else []
    names = [f.get("name") if isinstance(f, dict) else f for f in frontends] if isinstance(frontends, list) else []
    names = names or ["(none given)"]
    raise SpecError(f"dataset.channel: 'both' needs a frontend that takes two-channel waveforms, and no frontend "
                    f"does (system.frontends: {', '.join(map(str, names))}; every frontend takes mono waveforms "
                    "(B, L), asdbench.contract.protocols.Frontend); use 0 (near microphone, as the official baseline) or 1 "
                    "(far microphone)")


def _optional_path(value: str | None) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


def _root(value: str) -> Path:
    """``dataset.root`` resolved; a file there is an error (a missing folder is not: a store may be read on a
    machine without its data)."""
    root = Path(value).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise DataError(f"dataset.root: {root} is a file, not a folder; expected the folder holding dev_data/ and "
                        "eval_data/")
    return root


def dcase2023(root: str, ground_truth: str | None = None) -> DcaseDataset:
    return DcaseDataset("dcase2023", 2023, _root(root), _optional_path(ground_truth))


def dcase2024(root: str, ground_truth: str | None = None, hidden_attributes: str | None = None) -> DcaseDataset:
    return DcaseDataset("dcase2024", 2024, _root(root), _optional_path(ground_truth), _optional_path(hidden_attributes))


def dcase2025(root: str, ground_truth: str | None = None, hidden_attributes: str | None = None,
              supplemental: SUPPLEMENTAL_OPTION = "none") -> DcaseDataset:
    return DcaseDataset("dcase2025", 2025, _root(root), _optional_path(ground_truth),
                        _optional_path(hidden_attributes), supplemental=supplemental)


def dcase2026(root: str, ground_truth: str | None = None, hidden_attributes: str | None = None,
              supplemental: SUPPLEMENTAL_OPTION = "none", channel: CHANNEL_OPTION = 0) -> DcaseDataset:
    return DcaseDataset("dcase2026", 2026, _root(root), _optional_path(ground_truth),
                        _optional_path(hidden_attributes), supplemental=supplemental, channel=channel)


def synth(root: str, supplemental: SUPPLEMENTAL_OPTION = "none", channel: CHANNEL_OPTION = 0) -> DcaseDataset:
    """A dataset written by ``asdbench synth``; its year style comes from its ``synth.json``."""
    path = _root(root)
    info_file = path / INFO_FILE
    try:
        info = json.loads(info_file.read_text())
        year = int(info["year"])
    except FileNotFoundError as exc:
        raise DataError(f"{info_file} not found: {path} is not a complete dataset written by `asdbench synth`") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{info_file} is not a valid synth description ({exc})") from exc
    hidden = path / "hidden_attributes"
    return DcaseDataset("synth", year, path, path / "ground_truth", hidden if hidden.is_dir() else None, info_file,
                        supplemental=supplemental, channel=channel)


@hookimpl
def asdbench_register_datasets(register: Register) -> None:
    register("dcase2023", dcase2023, description="DCASE 2023 Task 2 in the official layout")
    register("dcase2024", dcase2024, description="DCASE 2024 Task 2 in the official layout")
    register("dcase2025", dcase2025, description="DCASE 2025 Task 2 in the official layout (with supplemental/)")
    register("dcase2026", dcase2026, description="DCASE 2026 Task 2 in the official layout (two-channel audio)")
    register("synth", synth, description="a synthetic dataset written by `asdbench synth`",
             omit_defaults=SYNTH_OMITTED_AT_DEFAULT)
