"""The official submission format: ``anomaly_score_<machine>_section_00_test.csv`` (file name, score) and
``decision_result_<machine>_section_00_test.csv`` (file name, 0/1), no header, one row per test clip.

Reading checks every row against the test manifest: a missing, extra, duplicated or unknown row, a
non-numeric or non-finite score, a decision other than 0/1 or a row of the wrong width is a
:class:`ScoreFileError` naming the file. (The official evaluator aligns rows by sorting file names and so
silently mis-scores such files; we refuse them.) As the 2024 evaluator does, an eval clip may also be named by
its labelled name (``section_00_source_test_normal_0001_noAttribute.wav``) instead of its short name.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd

from asdbench.atomic import write_text_atomic
from asdbench.data.layout import clip_file_name, parse_file_name
from asdbench.errors import ScoreFileError
from asdbench.metrics import EvaluationReport, evaluate_frame


def score_file(directory: Path, machine: str, section: str = "00") -> Path:
    return Path(directory) / f"anomaly_score_{machine}_section_{section}_test.csv"


def decision_file(directory: Path, machine: str, section: str = "00") -> Path:
    return Path(directory) / f"decision_result_{machine}_section_{section}_test.csv"


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def write_scores(out_dir: Path, machine: str, scores: pd.DataFrame, section: str = "00") -> Path:
    """``scores``: columns file, score. Scores are written with full float precision (repr)."""
    return _write_rows(score_file(out_dir, machine, section),
                       [(f, repr(float(s))) for f, s in zip(scores["file"], scores["score"])])


def write_decisions(out_dir: Path, machine: str, decisions: pd.DataFrame, section: str = "00") -> Path:
    """``decisions``: columns file, decision (0 normal / 1 anomalous)."""
    return _write_rows(decision_file(out_dir, machine, section),
                       [(f, str(int(d))) for f, d in zip(decisions["file"], decisions["decision"])])


def _aliases(rows: pd.DataFrame) -> dict[str, str]:
    """Labelled name -> short name for eval clips whose ground truth is known."""
    aliases = {}
    for file, domain, label, attribute_string in rows[["file", "domain", "label", "attribute_string"]].itertuples(
        index=False
    ):
        parsed = parse_file_name(file)
        if not parsed.attribute_string and label != "unknown":
            aliases[clip_file_name("test", domain, label, parsed.index, attribute_string, parsed.section)] = file
    return aliases


def _read_file(path: Path, rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """One submission file checked against one machine's test rows; returns (file, machine, value)."""
    expected = set(rows["file"])
    aliases = _aliases(rows)
    values: dict[str, float] = {}
    try:
        with open(path, newline="") as handle:
            lines = list(csv.reader(handle))
    except FileNotFoundError:
        raise ScoreFileError(f"{path} not found: every machine of the split needs one") from None
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if len(line) != 2:
            raise ScoreFileError(f"{path}, line {number}: expected 'file name,{value}', got {line!r}")
        name = aliases.get(line[0], line[0])
        if name not in expected:
            raise ScoreFileError(f"{path}, line {number}: {line[0]!r} is not a test clip of this machine")
        if name in values:
            raise ScoreFileError(f"{path}, line {number}: {line[0]!r} appears twice")
        values[name] = _parse_value(line[1], value, path, number)
    missing = sorted(expected - set(values))
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise ScoreFileError(f"{path}: {len(missing)} test clips have no row ({shown})")
    machine = rows["machine"].iloc[0]
    return pd.DataFrame({"file": list(values), "machine": machine, value: list(values.values())})


def _parse_value(text: str, value: str, path: Path, number: int) -> float:
    try:
        parsed = float(text)
    except ValueError:
        raise ScoreFileError(f"{path}, line {number}: {value} {text!r} is not a number") from None
    if not math.isfinite(parsed):
        raise ScoreFileError(f"{path}, line {number}: {value} is {text}; scores must be finite")
    if value == "decision" and parsed not in (0.0, 1.0):
        raise ScoreFileError(f"{path}, line {number}: decision {text!r} must be 0 or 1")
    return parsed


def read_scores(scores_dir: Path, test_manifest: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scores (and decisions, when every machine has a decision file) for every machine of the manifest."""
    scores_dir = Path(scores_dir)
    if not scores_dir.is_dir():
        raise ScoreFileError(f"{scores_dir} is not a directory of score files")
    scores, decisions = [], []
    groups = list(test_manifest.groupby(["machine", "section"], sort=True))
    for (machine, section), rows in groups:
        scores.append(_read_file(score_file(scores_dir, machine, section), rows, "score"))
        path = decision_file(scores_dir, machine, section)
        if path.exists():
            decisions.append(_read_file(path, rows, "decision"))
    known = {score_file(scores_dir, m, s).name for (m, s), _ in groups}
    stray = sorted(p.name for p in scores_dir.glob("anomaly_score_*.csv") if p.name not in known)
    if stray:
        raise ScoreFileError(f"{scores_dir / stray[0]}: no such machine in the test set")
    if decisions and len(decisions) != len(groups):
        raise ScoreFileError(f"{scores_dir}: decision files exist for some machines but not all")
    return pd.concat(scores, ignore_index=True), (pd.concat(decisions, ignore_index=True) if decisions else None)


def evaluate_directory(scores_dir: Path, test_manifest: pd.DataFrame) -> EvaluationReport:
    """Official metrics of a directory of submission files against the test clips of one split."""
    scores, decisions = read_scores(scores_dir, test_manifest)
    return evaluate_frame(test_manifest, scores, decisions)
