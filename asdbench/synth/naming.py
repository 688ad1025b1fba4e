"""What a synthetic dataset holds beside its audio, in its year's layout (asdbench.data.layouts): where each clip
goes and what it is named, and the organisers' tables (attribute tables, the evaluator's ground truth, released
hidden attributes).

Eval test clips get short names, numbered in a shuffled order that reveals nothing (per machine section, and per
domain where a year's names say it); their labelled names in the ground truth carry the same number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asdbench.data.layout import (
    NO_ATTRIBUTE,
    EvalTruth,
    attribute_string,
    clip_file_name,
    eval_test_file_name,
    supplemental_file_name,
    write_attributes_csv,
    write_ground_truth,
    write_hidden_attributes,
)
from asdbench.data.layout2020 import EVAL_DATA_LIST, clip_file_name_2020, eval_test_file_name_2020, write_eval_data_list
from asdbench.data.layout2021 import clip_file_name_2021, eval_test_file_name_2021, write_ground_truth_2021
from asdbench.data.years import YEARS
from asdbench.synth.plans import SUPPLEMENTAL, ClipPlan
from asdbench.synth.presets import Preset, is_hidden
from asdbench.synth.soundmodels import name_seed, seed_name


def clip_folder(out: Path, plan: ClipPlan, preset: Preset) -> Path:
    """The folder a clip goes in: its machine's ``train/``, ``test/`` (``source_test/`` or ``target_test/`` in the
    2021 layout) or ``supplemental/``."""
    folder = f"{plan.domain}_test" if preset.layout == "domain-folders" and plan.subset == "test" else plan.subset
    return out / f"{plan.split}_data" / "raw" / plan.machine / folder


def file_names(plans: list[ClipPlan], preset: Preset, seed: int) -> list[tuple[str, int]]:
    """(file name, index in it) of every clip, as distributed."""
    short = _short_indices(plans, preset, seed)
    return [
        (_short_name(plan, short[position], preset), short[position]) if position in short
        else (supplemental_file_name(plan.content, plan.index + 1, plan.section), plan.index + 1)
        if plan.subset == SUPPLEMENTAL
        else (labelled_name(plan, plan.index, preset, hidden=is_hidden(preset, plan.machine)), plan.index)
        for position, plan in enumerate(plans)
    ]


def labelled_name(plan: ClipPlan, index: int, preset: Preset, *, hidden: bool) -> str:
    """A clip's name with its label (and domain and attributes, where the layout names them)."""
    if preset.layout == "ids":
        return clip_file_name_2020(plan.label, plan.section, index)
    tail = NO_ATTRIBUTE if hidden else attribute_string(plan.attributes)
    if preset.layout == "domain-folders":  # a test clip's name has no attribute tail
        return clip_file_name_2021(plan.subset, plan.domain, plan.label, index, tail if plan.subset == "train" else "",
                                   plan.section)
    return clip_file_name(plan.subset, plan.domain, plan.label, index, tail, plan.section)


def _short_indices(plans: list[ClipPlan], preset: Preset, seed: int) -> dict[int, int]:
    """Position of each eval test clip -> its number in its short name, shuffled per machine section (and domain,
    where the layout names the domain in the short name)."""
    by_domain = preset.layout == "domain-folders"
    groups: dict[tuple[str, str, str], list[int]] = {}
    for position, plan in enumerate(plans):
        if plan.split == "eval" and plan.subset == "test":
            groups.setdefault((plan.machine, plan.section, plan.domain if by_domain else ""), []).append(position)
    short: dict[int, int] = {}
    for (machine, section, domain), positions in sorted(groups.items()):
        key = (seed, name_seed(seed_name(machine, section))) + ((name_seed(domain),) if domain else ())
        order = np.random.default_rng(np.random.SeedSequence(key, spawn_key=(2,)))
        short.update(zip(positions, order.permutation(len(positions)).tolist()))
    return short


def _short_name(plan: ClipPlan, index: int, preset: Preset) -> str:
    if preset.layout == "ids":
        return eval_test_file_name_2020(plan.section, index)
    if preset.layout == "domain-folders":
        return eval_test_file_name_2021(plan.domain, index, plan.section)
    return eval_test_file_name(index, plan.section)


def write_tables(out: Path, clips: list[tuple[ClipPlan, tuple[str, int]]], preset: Preset) -> None:
    """The organisers' tables of every train and test clip (``clips``: (plan, (file name, index in it))), in the
    layout of the preset's year: attribute tables, the evaluator's ground truth of the eval test clips, and for
    hidden machines the released correspondence of file names to full names."""
    if preset.layout == "ids":
        _write_eval_data_list(out, clips, preset)
        return
    by_section: dict[tuple[str, str, str], list[tuple[ClipPlan, str, int]]] = {}
    for plan, (name, index) in clips:
        by_section.setdefault((plan.split, plan.machine, plan.section), []).append((plan, name, index))
    for (split, machine, section), clips_of in by_section.items():
        if preset.layout == "domain-folders":
            _write_truth_2021(out, machine, section, clips_of)
        else:
            _write_tables_of_section(out, split, machine, section, clips_of, preset)


def _write_tables_of_section(out: Path, split: str, machine: str, section: str,
                             clips: list[tuple[ClipPlan, str, int]], preset: Preset) -> None:
    hidden = is_hidden(preset, machine)
    rows, truth, correspondence = [], [], {"train": [], "test": []}
    for plan, name, index in clips:
        full = labelled_name(plan, index, preset, hidden=False)
        if split == "eval" and plan.subset == "test":
            truth.append(EvalTruth(name, labelled_name(plan, index, preset, hidden=hidden), full,
                                   plan.label == "anomaly", plan.domain == "target"))
        else:
            rows.append((plan.subset, name, {} if hidden else plan.attributes))
        if hidden:
            correspondence[plan.subset].append((name, full))
    write_attributes_csv(out / f"{split}_data" / "raw" / machine, machine, section, rows)
    if truth:  # the 2022 evaluator's ground truth has no attributes file of this form
        write_ground_truth(out / "ground_truth", machine, section, truth,
                           with_attributes=YEARS[preset.year].ground_truth != "evaluator-2022")
    for subset, pairs in correspondence.items():
        if pairs:
            write_hidden_attributes(out / "hidden_attributes", split, machine, section, subset, pairs)


def _write_truth_2021(out: Path, machine: str, section: str, clips: list[tuple[ClipPlan, str, int]]) -> None:
    for domain in ("source", "target"):
        rows = [(name, plan.label == "anomaly") for plan, name, _ in clips
                if plan.split == "eval" and plan.subset == "test" and plan.domain == domain]
        if rows:
            write_ground_truth_2021(out / "ground_truth", machine, section, domain, rows)


def _write_eval_data_list(out: Path, clips: list[tuple[ClipPlan, tuple[str, int]]], preset: Preset) -> None:
    rows: dict[str, list[tuple[str, str, bool]]] = {}
    for plan, (name, index) in clips:
        if plan.split == "eval" and plan.subset == "test":
            rows.setdefault(plan.machine, []).append(
                (name, labelled_name(plan, index, preset, hidden=False), plan.label == "anomaly"))
    if rows:
        write_eval_data_list(out / "ground_truth" / EVAL_DATA_LIST, rows)
