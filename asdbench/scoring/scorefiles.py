"""The official submission format: ``anomaly_score_<machine>_section_<nn>_test.csv`` (file name, score) and
``decision_result_<machine>_section_<nn>_test.csv`` (file name, 0/1), no header, one row per test clip of each
machine section.

Reading checks every row against the test manifest: a missing, extra, duplicated or unknown row, a
non-numeric or non-finite score, a decision other than 0/1 or a row of the wrong width is a
:class:`ScoreFileError` naming the file. (The official evaluator aligns rows by sorting file names and so
silently mis-scores such files; we refuse them.) As both official evaluators (2023 and 2024) do, an eval clip may
also be named by its labelled name (``section_00_target_test_normal_0031_car_C1_spd_1_mic_2.wav``) instead of its
short name (``section_00_0001.wav``): the ground truth's ``ground_truth_attributes`` file maps one to the other.
Its ids differ from the short names', so the mapping needs that file, not just the manifest.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pandas as pd

from asdbench.data.layout import LABELLED_NAME, ground_truth_file, read_rows
from asdbench.errors import ScoreFileError
from asdbench.files.atomic import write_text_atomic
from asdbench.scoring.metrics import EvaluationReport, evaluate_frame


def score_file(directory: Path, machine: str, section: str) -> Path:
    return Path(directory) / f"anomaly_score_{machine}_section_{section}_test.csv"


def decision_file(directory: Path, machine: str, section: str) -> Path:
    return Path(directory) / f"decision_result_{machine}_section_{section}_test.csv"


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def write_scores(out_dir: Path, machine: str, section: str, scores: pd.DataFrame) -> Path:
    """``scores``: columns file, score. Scores are written with full float precision (repr)."""
    return _write_rows(score_file(out_dir, machine, section),
                       [(f, repr(float(s))) for f, s in zip(scores["file"], scores["score"])])


def write_decisions(out_dir: Path, machine: str, section: str, decisions: pd.DataFrame) -> Path:
    """``decisions``: columns file, decision (0 normal / 1 anomalous)."""
    return _write_rows(decision_file(out_dir, machine, section),
                       [(f, str(int(d))) for f, d in zip(decisions["file"], decisions["decision"])])


def labelled_aliases(ground_truth: Path, machine: str, section: str) -> dict[str, str]:
    """Labelled name (with .wav) -> short name of a machine's eval test clips, from ``ground_truth_attributes``.

    Empty where the ground truth has no attributes file: then only short names are accepted.
    """
    path = ground_truth_file(Path(ground_truth), "attributes", machine, section)
    if not path.exists():
        return {}
    return {f"{row[1]}.wav": row[0] for row in read_rows(path, columns=2)}


def _read_file(path: Path, rows: pd.DataFrame, value: str, aliases: dict[str, str]) -> pd.DataFrame:
    """One submission file checked against one machine section's test rows; returns (file, machine, section,
    value)."""
    expected = set(rows["file"])
    values: dict[str, float] = {}
    try:
        with open(path, newline="") as handle:
            lines = list(csv.reader(handle))
    except FileNotFoundError:
        raise ScoreFileError(f"{path} not found: every machine section of the split needs one") from None
    except IsADirectoryError:
        raise ScoreFileError(f"{path} is a directory; expected a score file (CSV)") from None
    except OSError as error:
        raise ScoreFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise ScoreFileError(f"{path}: not a text CSV file ({error})") from None
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if len(line) != 2:
            raise ScoreFileError(f"{path}, line {number}: expected 'file name,{value}', got {line!r}")
        name = aliases.get(line[0], line[0])
        if name not in expected:
            hint = (" (a labelled eval name is accepted only with the ground truth's ground_truth_attributes file)"
                    if LABELLED_NAME.match(name) and not aliases else "")
            raise ScoreFileError(f"{path}, line {number}: {line[0]!r} is not a test clip of this machine section{hint}")
        if name in values:
            raise ScoreFileError(f"{path}, line {number}: {line[0]!r} appears twice")
        values[name] = _parse_value(line[1], value, path, number)
    missing = sorted(expected - set(values))
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise ScoreFileError(f"{path}: {len(missing)} test clips have no row ({shown})")
    return pd.DataFrame({"file": list(values), "machine": rows["machine"].iloc[0], "section": rows["section"].iloc[0],
                         value: list(values.values())})


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


def read_scores(scores_dir: Path, test_manifest: pd.DataFrame, *,
                ground_truth: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scores (and decisions, when every machine section has a decision file) for every machine section of the
    manifest.

    ``ground_truth``: the evaluator's ground-truth folder, whose attribute files let eval rows use labelled names.
    """
    scores_dir = Path(scores_dir)
    if not scores_dir.is_dir():
        raise ScoreFileError(f"{scores_dir} is not a directory of score files")
    scores, decisions = [], []
    groups = list(test_manifest.groupby(["machine", "section"], sort=True))
    for (machine, section), rows in groups:
        aliases = labelled_aliases(ground_truth, machine, section) if ground_truth is not None else {}
        scores.append(_read_file(score_file(scores_dir, machine, section), rows, "score", aliases))
        path = decision_file(scores_dir, machine, section)
        if path.exists():
            decisions.append(_read_file(path, rows, "decision", aliases))
    known = {f(scores_dir, m, s).name for (m, s), _ in groups for f in (score_file, decision_file)}
    stray = sorted(p.name for pattern in ("anomaly_score_*.csv", "decision_result_*.csv")
                   for p in scores_dir.glob(pattern) if p.name not in known)
    if stray:
        raise ScoreFileError(f"{scores_dir / stray[0]}: no such machine section in the test set")
    if decisions and len(decisions) != len(groups):
        raise ScoreFileError(f"{scores_dir}: decision files exist for some machines but not all")
    return pd.concat(scores, ignore_index=True), (pd.concat(decisions, ignore_index=True) if decisions else None)


def evaluate_directory(scores_dir: Path, test_manifest: pd.DataFrame, *,
                       ground_truth: Path | None = None) -> EvaluationReport:
    """Official metrics of a directory of submission files against the test clips of one split."""
    scores, decisions = read_scores(scores_dir, test_manifest, ground_truth=ground_truth)
    return evaluate_frame(test_manifest, scores, decisions)
