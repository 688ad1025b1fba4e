"""The official submission files: rows ``file name,score`` in ``anomaly_score_*.csv`` and ``file name,0|1`` in
``decision_result_*.csv``, no header, named by the year's layout (:data:`LAYOUTS`, the keys of
:data:`asdbench.data.years.SCORE_FILES`):

- ``section`` (2022-2026): ``anomaly_score_<machine>_section_<nn>_test.csv`` and ``decision_result_...``, every test
  clip of a machine section;
- ``section-domain`` (2021): ``anomaly_score_<machine>_section_<nn>_<source|target>_test.csv`` and
  ``decision_result_...``, one pair per domain, each of that domain's test clips (the 2021 test clips lie in
  ``source_test/`` and ``target_test/``, so a clip's domain is known);
- ``id`` (2020): ``anomaly_score_<machine>_id_<nn>.csv`` per machine ID (asdbench's section), and no decision files
  (the 2020 task asked for none).

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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from asdbench.data.layout import LABELLED_NAME, ground_truth_file, read_rows
from asdbench.data.years import SCORE_FILES
from asdbench.errors import ScoreFileError
from asdbench.files.atomic import write_text_atomic
from asdbench.scoring.official import Report, evaluate

SCORES, DECISIONS = "anomaly_score", "decision_result"
DOMAINS = ("source", "target")


@dataclass(frozen=True)
class Layout:
    """How one year's submission files are named (a key of :data:`asdbench.data.years.SCORE_FILES`)."""

    name: str
    stem: str
    """A file's name is ``{kind}_<stem>.csv``; ``stem`` has ``{machine}``, ``{section}`` (and ``{domain}``)."""
    decisions: bool
    """Whether the layout has decision files."""

    @property
    def by_domain(self) -> bool:
        return "{domain}" in self.stem

    def path(self, directory: Path, kind: str, machine: str, section: str, domain: str | None = None) -> Path:
        """The file of ``kind`` (:data:`SCORES` or :data:`DECISIONS`) of a machine section (and domain)."""
        return Path(directory) / f"{kind}_{self.stem.format(machine=machine, section=section, domain=domain)}.csv"

    def files(self, directory: Path, kind: str, machine: str, section: str,
              rows: pd.DataFrame) -> list[tuple[Path, pd.DataFrame, str | None]]:
        """Each file of ``kind`` of a machine section, with the test ``rows`` it holds and their domain (None for a
        file of every domain): one per domain of the rows for a layout by domain, which needs every clip's
        domain."""
        if not self.by_domain:
            return [(self.path(directory, kind, machine, section), rows, None)]
        unknown = rows[~rows["domain"].isin(DOMAINS)]
        if len(unknown):
            raise ScoreFileError(f"{machine} section {section}: {len(unknown)} test clips of unknown domain (e.g. "
                                 f"{unknown['file'].iloc[0]}); the {self.name} layout's files are per domain: "
                                 f"{SCORE_FILES[self.name]}")
        return [(self.path(directory, kind, machine, section, domain), rows[rows["domain"] == domain], domain)
                for domain in DOMAINS if (rows["domain"] == domain).any()]


LAYOUTS = {layout.name: layout for layout in (
    Layout("section", "{machine}_section_{section}_test", decisions=True),
    Layout("section-domain", "{machine}_section_{section}_{domain}_test", decisions=True),
    Layout("id", "{machine}_id_{section}", decisions=False),
)}
"""The submission-file layouts by name, as :data:`asdbench.data.years.SCORE_FILES` describes them."""


def layout_of(name: str) -> Layout:
    if name not in LAYOUTS:
        raise ValueError(f"unknown score-file layout {name!r}; layouts: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def score_file(directory: Path, machine: str, section: str) -> Path:
    """The score file of a machine section in the ``section`` layout (2022-2026)."""
    return LAYOUTS["section"].path(directory, SCORES, machine, section)


def decision_file(directory: Path, machine: str, section: str) -> Path:
    """The decision file of a machine section in the ``section`` layout (2022-2026)."""
    return LAYOUTS["section"].path(directory, DECISIONS, machine, section)


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def write_scores(out_dir: Path, machine: str, section: str, scores: pd.DataFrame, *,
                 layout: str = "section") -> list[Path]:
    """``scores``: columns file, score (and domain, for a layout by domain). Scores are written with full float
    precision (repr). Returns the files written."""
    return [_write_rows(path, [(f, repr(float(s))) for f, s in zip(rows["file"], rows["score"])])
            for path, rows, _ in layout_of(layout).files(out_dir, SCORES, machine, section, scores)]


def write_decisions(out_dir: Path, machine: str, section: str, decisions: pd.DataFrame, *,
                    layout: str = "section") -> list[Path]:
    """``decisions``: columns file, decision (0 normal / 1 anomalous) (and domain, for a layout by domain)."""
    if not layout_of(layout).decisions:
        raise ValueError(f"the {layout} layout has no decision files")
    return [_write_rows(path, [(f, str(int(d))) for f, d in zip(rows["file"], rows["decision"])])
            for path, rows, _ in layout_of(layout).files(out_dir, DECISIONS, machine, section, decisions)]


def labelled_aliases(ground_truth: Path, machine: str, section: str) -> dict[str, str]:
    """Labelled name (with .wav) -> short name of a machine's eval test clips, from ``ground_truth_attributes``.

    Empty where the ground truth has no attributes file: then only short names are accepted.
    """
    path = ground_truth_file(Path(ground_truth), "attributes", machine, section)
    if not path.exists():
        return {}
    return {f"{row[1]}.wav": row[0] for row in read_rows(path, columns=2)}


def _read_file(path: Path, rows: pd.DataFrame, value: str, aliases: dict[str, str],
               domain: str | None = None) -> pd.DataFrame:
    """One submission file checked against the test ``rows`` it must hold (one machine section's, or, in a layout
    by domain, those of its ``domain``); returns (file, machine, section, value)."""
    what = "this machine section" + (f"'s {domain} domain" if domain else "")
    expected = set(rows["file"])
    values: dict[str, float] = {}
    try:
        with open(path, newline="") as handle:
            lines = list(csv.reader(handle))
    except FileNotFoundError:
        raise ScoreFileError(f"{path} not found: every machine section of the split needs one"
                             f"{' per domain' if domain else ''}") from None
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
            raise ScoreFileError(f"{path}, line {number}: {line[0]!r} is not a test clip of {what}{hint}")
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


def read_scores(scores_dir: Path, test_manifest: pd.DataFrame, *, ground_truth: Path | None = None,
                layout: str = "section") -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scores (and decisions, when every machine section has its decision files) for every machine section of the
    manifest, from the files of ``layout`` (a key of :data:`LAYOUTS`).

    ``ground_truth``: the evaluator's ground-truth folder, whose attribute files let eval rows use labelled names.
    """
    scores_dir, files = Path(scores_dir), layout_of(layout)
    if not scores_dir.is_dir():
        raise ScoreFileError(f"{scores_dir} is not a directory of score files")
    scores, decisions, known = [], [], set()
    groups = list(test_manifest.groupby(["machine", "section"], sort=True))
    for (machine, section), rows in groups:
        aliases = labelled_aliases(ground_truth, machine, section) if ground_truth is not None else {}
        for path, held, domain in files.files(scores_dir, SCORES, machine, section, rows):
            known.add(path.name)
            if not path.exists():
                raise ScoreFileError(f"{path} not found: every machine section of the split needs one"
                                     f"{' per domain' if domain else ''} (the {layout} layout: {SCORE_FILES[layout]})")
            scores.append(_read_file(path, held, "score", aliases, domain))
        if not files.decisions:
            continue
        for path, held, domain in files.files(scores_dir, DECISIONS, machine, section, rows):
            known.add(path.name)
            if path.exists():
                decisions.append(_read_file(path, held, "decision", aliases, domain))
    stray = sorted(p.name for pattern in (f"{SCORES}_*.csv", f"{DECISIONS}_*.csv")
                   for p in scores_dir.glob(pattern) if p.name not in known)
    if stray:
        raise ScoreFileError(f"{scores_dir / stray[0]}: no such machine section in the test set"
                             f"{'' if files.decisions else f' (the {layout} layout has no decision files)'}")
    if decisions and len(decisions) != len(scores):
        raise ScoreFileError(f"{scores_dir}: decision files exist for some machines but not all")
    return pd.concat(scores, ignore_index=True), (pd.concat(decisions, ignore_index=True) if decisions else None)


def evaluate_directory(scores_dir: Path, test_manifest: pd.DataFrame, *, ground_truth: Path | None = None,
                       metric: str = "dcase2023", layout: str = "section") -> Report:
    """The official report ``metric`` (a key of :data:`asdbench.data.years.METRICS`) of a directory of submission
    files of ``layout`` against the test clips of one split."""
    scores, decisions = read_scores(scores_dir, test_manifest, ground_truth=ground_truth, layout=layout)
    return evaluate(metric, test_manifest, scores, decisions)
