"""Stored run files checked for what they say, not only for being readable.

A store's directories are named by the hashes of what they hold (:mod:`asdbench.spec.validate`), and the files in them
say it again: a scoring's ``spec.json`` and ``results.json`` name its training and scoring hashes, a training's
``training.json`` is its identity and ``trained.json`` names it. A file copied from a sibling directory, or
replaced by another run's, reads well but lies; each function here says what is wrong with one kind of file
(a line naming the file and the field), or returns None when the file agrees with its place. The store treats
a file that lies as it treats an unreadable one: its run is ``damaged``, and the next attempt sets the file
aside and computes what it held again (:mod:`asdbench.store.store`). Nothing here reads torch or the dataset, so
``asdbench status`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from asdbench.errors import AsdbenchError
from asdbench.files.damaged import DamagedFile, set_aside
from asdbench.scoring.official import REPORTS, metric_of
from asdbench.spec.identity import RunSpec, spec_hash
from asdbench.store.layout import (
    CODE_FILE,
    DATA_FILE,
    RESULTS,
    SPEC,
    TRAINED,
    TRAINING_SPEC,
    embeddings_path,
    read_json,
    trained_embeddings,
)

SCORES = "scores"
SCORE_FILES = "score_files"
"""The field of ``results.json`` that lists, per split, the score and decision files the scoring wrote."""
SPLIT_FIELDS = ("official_score", "official_score_ci95", "means", "machines")
"""What each split's report in ``results.json`` holds, whichever evaluator's report it is
(:meth:`asdbench.scoring.official.Report.to_dict`); the ``metric`` it names (none: the 2023 report) says which
values every machine section holds as numbers (``REQUIRED_UNIT_VALUES``: precision, recall and F1 are null where no
decisions were scored) and whether its official score is one (null in a 2020 report, which has none); the split's
``official_score_ci95`` is null where it is undefined."""


Problem = tuple[Path, str]
"""A stored file that lies, and what is wrong with it (a line that names the file)."""


class UnknownOrigin(AsdbenchError):
    """A finished training whose code or data fingerprint is missing or unreadable: which code or data made its
    checkpoints and embeddings cannot be told, so none of it is reused or set aside file by file."""


def scoring_problem(run_dir: Path) -> Problem | None:
    """What is wrong with a finished scoring's ``results.json`` (unreadable, or lying: :func:`results_problem`)
    or its ``spec.json`` (:func:`identity_problem`); None when both agree with their place, or when it has no
    results yet."""
    results = _read(run_dir / RESULTS)
    if isinstance(results, tuple):
        return results
    if results is None:
        return None
    problem = results_problem(run_dir / RESULTS, results)
    if problem is not None:
        return run_dir / RESULTS, problem
    if not (run_dir / CODE_FILE).exists():  # set the results aside: the run is scored again, its code recorded
        return run_dir / RESULTS, f"{run_dir / RESULTS}: no {CODE_FILE} beside it, which every scoring writes first"
    problem = _fingerprint_problem(run_dir / CODE_FILE)
    if problem is not None:
        return problem
    spec = _read(run_dir / SPEC)
    if isinstance(spec, dict):
        return _problem(run_dir / SPEC, identity_problem(run_dir / SPEC, spec))
    return spec


def training_problem(training_dir: Path) -> Problem | None:
    """What is wrong with a training's ``training.json`` (:func:`identity_problem`) or its ``trained.json``
    (unreadable, or naming another training), or, once it is finished, with its ``code.json`` and ``data.json``
    (missing or unreadable); None when they agree with their place or are not there yet."""
    for name in (TRAINING_SPEC, TRAINED):
        content = _read(training_dir / name)
        if isinstance(content, dict):
            path = training_dir / name
            found = identity_problem(path, content) if name == TRAINING_SPEC else named_problem(path, content,
                                                                                                 ("training",))
            content = _problem(path, found)
        if content is not None:
            return content
    if not (training_dir / TRAINED).exists():
        return None
    return _fingerprint_problem(training_dir / CODE_FILE) or _fingerprint_problem(training_dir / DATA_FILE)


def set_aside_problem(problem: Problem) -> Path:
    """Set aside the file a problem names (:func:`asdbench.files.damaged.set_aside`), saying what is wrong with it.
    A training's ``code.json`` or ``data.json`` is not set aside: the training is refused (:class:`UnknownOrigin`)
    and left as it is, since the checkpoints and embeddings it holds are what cannot be trusted."""
    path, message = problem
    if path.name in (CODE_FILE, DATA_FILE) and (path.parent / TRAINING_SPEC).exists():
        raise UnknownOrigin(f"{message}: which {'code' if path.name == CODE_FILE else 'data'} made the training "
                            f"{path.parent} cannot be told, so it cannot be reused; delete it (or use another --out) "
                            "to train it again")
    return set_aside(path, message.removeprefix(f"{path} is damaged: ").removeprefix(f"{path}: "))


def identity_problem(path: Path, content: dict[str, Any]) -> str | None:
    """What is wrong with a training's ``training.json`` or a scoring's ``spec.json``: the hashes of what it
    says must be the names of its directory (and, for ``spec.json``, of its training's)."""
    if path.name == TRAINING_SPEC:
        found = {"training": _hash_of(lambda: spec_hash(content))}
        expected = {"training": path.parent.name}
    else:
        spec = RunSpec(content)
        found = {"training": _hash_of(lambda: spec.training_hash), "scoring": _hash_of(lambda: spec.scoring_hash)}
        expected = {"training": path.parent.parent.name, "scoring": path.parent.name}
    for level, name in expected.items():
        if found[level] != name:
            return (f"{path}: says {'a training' if level == 'training' else 'a scoring'} of hash {found[level]}, "
                    f"but lies in the directory of {name}: it is another run's, or not a spec")
    return None


def named_problem(path: Path, content: dict[str, Any], levels: tuple[str, ...]) -> str | None:
    """What is wrong with a ``trained.json`` (``levels`` = ("training",)) or ``results.json`` (("training",
    "scoring")): it must name the hashes of its directories."""
    directories = {"scoring": path.parent.name, "training": path.parent.parent.name} if len(levels) == 2 else {
        "training": path.parent.name}
    for level in levels:
        if level not in content:
            return f"{path}: no field {level!r}: it does not say which {level} it is of"
        if content[level] != directories[level]:
            return (f"{path}: field {level!r} is {content[level]!r}, but the file lies in the directory of "
                    f"{directories[level]}: it was copied from another run")
    return None


def results_problem(path: Path, results: dict[str, Any]) -> str | None:
    """What is wrong with a scoring's ``results.json``: the hashes it names, its metrics (each a number in [0, 1],
    or null where undefined) and the score files it lists (each still in ``scores/``)."""
    problem = named_problem(path, results, ("training", "scoring"))
    if problem is None and not isinstance(results.get("splits"), dict):
        problem = f"{path}: field 'splits' is {results.get('splits')!r}, not an object of reports per split"
    for split, report in (results.get("splits") or {}).items():
        problem = problem or _report_problem(path, split, report)
    return problem or _missing_scores(path, results)


def embeddings_problem(path: Path, arrays: Mapping[str, np.ndarray], clips: Mapping[str, tuple[int, int]]) -> str | None:
    """What is wrong with a training's ``embeddings/epoch_XXX.npz``, given each unit key's (train, test) clip counts
    (:attr:`asdbench.data.units.Unit.key`): an array per unit and subset, of one row per clip, unit by unit of one
    width, all finite."""
    for unit, counts in clips.items():
        widths = set()
        for subset, count in zip(("train", "test"), counts):
            key = f"{unit}.{subset}"
            if key not in arrays:
                return f"{path}: no embeddings of {key} (it has {', '.join(sorted(arrays)) or 'none'})"
            array = arrays[key]
            if array.ndim != 2 or array.shape[0] != count or not np.issubdtype(array.dtype, np.number):
                return (f"{path}: {key} holds a {array.dtype} array of shape {array.shape}, not one row of numbers "
                        f"per clip ({count} clips)")
            if not np.isfinite(array).all():
                return f"{path}: {key} holds {int((~np.isfinite(array)).sum())} values that are NaN or infinite"
            widths.add(array.shape[1])
        if len(widths) > 1:
            return f"{path}: the train and test embeddings of {unit} differ in width ({sorted(widths)})"
    return None


def checked_embeddings(training_dir: Path, epoch: int, clips: Mapping[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """A finished training's embeddings at ``epoch`` (:func:`asdbench.store.layout.trained_embeddings`), checked against
    ``clips`` (:func:`embeddings_problem`); a file that does not fit is set aside, to be computed again from the
    training's checkpoint when the training is next claimed, and raises :class:`DamagedFile`."""
    arrays = trained_embeddings(training_dir, epoch)
    path = embeddings_path(training_dir, epoch)
    problem = embeddings_problem(path, arrays, clips)
    if problem is not None:
        set_aside(path, problem.removeprefix(f"{path}: "))
        raise DamagedFile(f"{problem}; it is set aside, run again to compute it again from its checkpoint")
    return arrays


def score_files(out_dir: Path) -> list[str]:
    """The score and decision files a scoring wrote in ``out_dir`` (one split's), as ``results.json`` lists them."""
    return sorted(p.name for pattern in ("anomaly_score_*.csv", "decision_result_*.csv") for p in out_dir.glob(pattern))


def _read(path: Path) -> dict[str, Any] | Problem | None:
    """A stored JSON object; the problem when it is unreadable; None when absent."""
    try:
        return read_json(path)
    except DamagedFile as exc:
        return path, str(exc)


def _fingerprint_problem(path: Path) -> Problem | None:
    """What is wrong with a finished stage's ``code.json`` or ``data.json``: missing, unreadable, or without its
    fingerprint (``distributions``, ``fingerprint``: null only for a dataset type that has none)."""
    content = _read(path)
    if content is None:
        return path, f"{path}: missing, though it is written before anything is computed"
    if isinstance(content, tuple):
        return content
    field, kind = ("distributions", dict) if path.name == CODE_FILE else ("fingerprint", str | None)
    if field not in content or not isinstance(content[field], kind):
        return path, f"{path}: field {field!r} is {content.get(field)!r}, not a fingerprint"
    return None


def _problem(path: Path, message: str | None) -> Problem | None:
    return None if message is None else (path, message)


def _hash_of(compute: Any) -> str | None:
    try:
        return compute()
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _report_problem(path: Path, split: str, report: Any) -> str | None:
    if report is None:
        return None  # a split without ground truth has no metrics
    where = f"{path}: splits.{split}"
    if not isinstance(report, dict) or not isinstance(report.get("machines"), list):
        return f"{where}: not a report of machines and metrics"
    kind = REPORTS.get(metric_of(report))
    if kind is None:
        return f"{where}.metric is {report['metric']!r}, not an official report ({', '.join(REPORTS)})"
    lacking = [field for field in SPLIT_FIELDS if field not in report]
    if lacking:
        return f"{where}: no {lacking[0]!r}: not a whole report of the split"
    if not isinstance(report["means"], dict):
        return f"{where}.means is {report['means']!r}, not an object of means"
    if "official_score" not in kind.SPLIT_VALUES and report["official_score"] is not None:
        return f"{where}.official_score is {report['official_score']!r}, but a {kind.METRIC} report has none"
    values = [(f"{where}.{field}", report[field]) for field in SPLIT_FIELDS[:2]]
    values += [(f"{where}.means.{name}", value) for name, value in report["means"].items()]
    machine_means = report.get("machine_means", {})
    if not isinstance(machine_means, dict) or not all(isinstance(means, dict) for means in machine_means.values()):
        return f"{where}.machine_means is {machine_means!r}, not an object of each machine type's means"
    values += [(f"{where}.machine_means.{machine}.{name}", value) for machine, means in machine_means.items()
               for name, value in means.items()]
    for index, machine in enumerate(report["machines"]):
        if not isinstance(machine, dict) or not isinstance(machine.get("machine"), str):
            return f"{where}.machines[{index}]: not a machine's metrics"
        lacking = [name for name in kind.REQUIRED_UNIT_VALUES if name not in machine]
        if lacking:
            return f"{where}.machines[{index}]: no {lacking[0]!r}: not all of the machine's metrics"
        values += [(f"{where}.machines[{index}].{name}", value) for name, value in machine.items()
                   if name not in ("machine", "section")]
    required = (*((f"{where}.official_score",) if "official_score" in kind.SPLIT_VALUES else ()),
                *(f".{name}" for name in kind.REQUIRED_UNIT_VALUES))
    for field, value in values:
        if value is None and not field.endswith(required):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1 or math.isnan(value):
            return f"{field} is {value!r}, not a metric in [0, 1]"
    return None


def _missing_scores(path: Path, results: dict[str, Any]) -> str | None:
    """The first score or decision file that ``results.json`` lists and ``scores/`` lacks."""
    if SCORE_FILES not in results:
        return f"{path}: no field {SCORE_FILES!r}: it does not list the score files it wrote"
    listed = results[SCORE_FILES]
    if not isinstance(listed, dict):
        return f"{path}: field {SCORE_FILES!r} is {listed!r}, not an object of the score files per split"
    for split, names in listed.items():
        for name in names if isinstance(names, list) else []:
            if not isinstance(name, str) or Path(name).name != name:
                return f"{path}: field {SCORE_FILES}.{split} names {name!r}, not a file of scores/{split}"
            if not (path.parent / SCORES / split / name).is_file():
                return f"{path.parent / SCORES / split / name}: missing from the finished run {path.parent}"
    return None
