"""The core's dataset readers, registered through the same hook as any plugin (as datasette's defaults are).

One reader per year of the table of year facts (:mod:`asdbench.data.years`), ``dcase2023`` ..., reads the official
layout in place, with the options its row names besides ``root``: ``ground_truth`` (the evaluator's ground-truth
folder, for the eval split), ``hidden_attributes`` (the released attributes of machines that conceal them),
``supplemental`` ("none" or "train": train on the clean machine sound of the machines' ``supplemental/`` folders
too) and, for two-channel data, ``channel`` (0: the near microphone, as the official baseline reads; 1: the far
microphone; "both" is refused while no frontend takes two channels). docs/datasets.md describes each. ``synth``
reads what ``asdbench synth`` wrote, whose year style and sections are in its ``synth.json`` and whose ground truth
and hidden attributes live inside the dataset root.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from asdbench.compat import SYNTH_OMITTED_AT_DEFAULT
from asdbench.contract.constraints import OneOf
from asdbench.data.layout import INFO_FILE
from asdbench.data.years import SPLITS, YEARS, Year
from asdbench.errors import DataError, DataNotFound, SpecError
from asdbench.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    import pandas as pd

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
    sections: dict[str, tuple[str, ...]] | None = None  # per split, where they are not the year's (synth)

    def manifest(self, split: str) -> pd.DataFrame:
        if split not in SPLITS:
            raise DataError(f"dataset {self.name!r} has no split {split!r}; splits: {', '.join(SPLITS)}")
        from asdbench.data.manifest import build_manifest  # pandas and soundfile only when data is read

        return build_manifest(
            self.root, self.year, split, ground_truth=self.ground_truth, hidden_attributes=self.hidden_attributes,
            supplemental=self.supplemental, channel=self.channel,
            sections=self.sections[split] if self.sections is not None else None,
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


OPTION_MEANINGS = {
    "root": "the folder holding dev_data/ and eval_data/ (relative to the spec file)",
    "ground_truth": "the official evaluator's ground-truth folder, for the eval split's labels and domains",
    "hidden_attributes": "the released hidden attributes of the machines that conceal them",
    "supplemental": "\"train\": the clean machine sound of the supplemental/ folders are training clips too",
    "channel": "the microphone read: 0 near (as the official baseline), 1 far",
}
"""What each reader option means, in the words ``asdbench plugins show dataset NAME`` prints
(:mod:`asdbench.contract.describe`)."""


def _option_lines(names: list[str]) -> str:
    return "\n".join(f"``{name}``: {OPTION_MEANINGS[name]}." for name in names)


def _reader_options(year: Year) -> list[inspect.Parameter]:
    """The keyword options of ``year``'s reader, as its row names them (:data:`asdbench.data.years.READER_OPTIONS`)."""
    declared = {
        "ground_truth": (str | None, None),
        "hidden_attributes": (str | None, None),
        "supplemental": (SUPPLEMENTAL_OPTION, "none"),
        "channel": (Annotated[int, OneOf(*range(year.channels))], 0),
    }
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=declared[name][1],
                              annotation=declared[name][0]) for name in year.options]


def year_reader(year: Year) -> Callable[..., DcaseDataset]:
    """The reader of ``year``'s official layout: ``reader(root, **options)``, whose signature (what the core reads
    as the dataset's options) holds the options of ``year``'s row."""
    parameters = _reader_options(year)
    defaults = {parameter.name: parameter.default for parameter in parameters}

    def reader(root: str, **options: Any) -> DcaseDataset:
        given = {**defaults, **options}  # the core validated the options against the signature below
        paths = {name: _optional_path(given.pop(name, None)) for name in ("ground_truth", "hidden_attributes")}
        return DcaseDataset(year.dataset, year.year, _root(root), **paths, **given)

    reader.__signature__ = inspect.Signature(
        [inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str), *parameters],
        return_annotation=DcaseDataset)
    reader.__name__ = reader.__qualname__ = year.dataset
    reader.__doc__ = (f"DCASE {year.year} Task 2 in the official layout, read in place.\n\n"
                      + _option_lines(["root", *(p.name for p in parameters)]))
    return reader


def synth_description(root: Path) -> tuple[int, dict[str, tuple[str, ...]] | None]:
    """The year style and, where they are its own, the sections per split of the dataset ``asdbench synth`` wrote
    at ``root`` (from its ``synth.json``)."""
    info_file = root / INFO_FILE
    try:
        info = json.loads(info_file.read_text())
        year = int(info["year"])
        sections = ({split: tuple(map(str, info["sections"][split])) for split in SPLITS} if "sections" in info
                    else None)
    except FileNotFoundError as exc:
        raise DataError(f"{info_file} not found: {root} is not a complete dataset written by `asdbench synth`") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{info_file} is not a valid synth description ({exc})") from exc
    return year, sections


def synth(root: str, supplemental: SUPPLEMENTAL_OPTION = "none", channel: CHANNEL_OPTION = 0) -> DcaseDataset:
    """A dataset written by ``asdbench synth``; its year style and sections come from its ``synth.json``.

    ``root``: the folder ``asdbench synth`` wrote (relative to the spec file).
    ``supplemental``: "train": the clean machine sound of the supplemental/ folders are training clips too.
    ``channel``: the microphone read, of a two-channel (2026-style) dataset: 0 near, 1 far.
    """
    path = _root(root)
    if not path.exists():
        raise DataNotFound(f"dataset root {path} not found on this machine: the data are elsewhere, not mounted, or "
                           "not written yet (`asdbench synth`)")
    year, sections = synth_description(path)
    info_file = path / INFO_FILE
    hidden = path / "hidden_attributes"
    return DcaseDataset("synth", year, path, path / "ground_truth", hidden if hidden.is_dir() else None, info_file,
                        supplemental=supplemental, channel=channel, sections=sections)


@hookimpl
def asdbench_register_datasets(register: Register) -> None:
    for year in YEARS.values():
        register(year.dataset, year_reader(year), description=f"DCASE {year.year} Task 2 in the official layout")
    register("synth", synth, description="a synthetic dataset written by `asdbench synth`",
             omit_defaults=SYNTH_OMITTED_AT_DEFAULT)
