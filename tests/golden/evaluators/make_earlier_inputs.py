"""Write our own inputs for the DCASE 2020, 2021 and 2022 evaluators: a ground truth in each one's format and three
systems' submission files in each year's layout.

``python make_earlier_inputs.py OUT`` (numpy only; run by ``regenerate.sh``) writes

- ``OUT/dcase2020/eval_data_list.csv``: the 2020 evaluator's ground truth (a line with the machine type, then rows
  ``id_<nn>_<8 digits>.wav,<labelled name>,<0|1>``, sorted by name within a machine type, as the real file is, since
  the evaluator pairs its rows with the sorted score rows by position) and ``OUT/dcase2020/systems/<system>/
  anomaly_score_<machine>_id_<nn>.csv``;
- ``OUT/dcase2021/ground_truth_data/ground_truth_<machine>_section_<nn>_<source|target>_test.csv`` (rows
  ``section_<nn>_<domain>_test_<4 digits>.wav,<0|1>``; one file with CRLF line ends, as the real fan section 05
  target file has) and ``systems/<system>/`` score and decision files per section and domain;
- ``OUT/dcase2022/ground_truth_{data,domain}/ground_truth_<machine>_section_<nn>_test.csv`` (rows
  ``section_<nn>_<4 digits>.wav,<0|1>``; domain 1 = target) and ``systems/<system>/`` score and decision files per
  section.

Every clip, label and score is drawn here from a fixed seed; nothing comes from the real data. Three machine types
of three sections (2020: two and three machine IDs), classes and domains of unequal sizes, so that the 2021 and 2022
evaluators' per-machine "source" and "target harmonic mean" rows cut their rows where those evaluators cut them
(after one row: 3 machine types // 2, and 3 sections // 2), not at the domains. The systems reach the corners:

- ``ties``: scores rounded to one decimal, so that normal and anomalous clips tie; rows shuffled;
- ``continuous``: full-precision scores; mixer's target-domain decisions of section 04 are all "normal", so its
  precision's denominator is zero and its F1 is 0, which the harmonic means clamp;
- ``inverted``: blender's anomalies of section (2020: machine ID) 03 score below every normal clip (AUCs of 0,
  clamped in the official score), and kettle decides "anomalous" for every clip.

(2020 has no decisions: its systems are the same without them.)
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

SEED = 20261210
SYSTEMS = ("ties", "continuous", "inverted")
SECTIONS = ("03", "04", "05")
MACHINES = {  # machine -> per section: (source normal, target normal, source anomaly, target anomaly)
    "blender": ((20, 8, 10, 6), (15, 15, 8, 9), (12, 6, 7, 5)),
    "kettle": ((18, 12, 9, 9), (10, 14, 6, 8), (16, 9, 8, 4)),
    "mixer": ((14, 10, 7, 7), (12, 7, 5, 9), (9, 13, 6, 6)),
}
IDS_2020 = {"blender": {"01": (30, 20), "03": (25, 30), "05": (18, 12)}, "kettle": {"05": (40, 22), "06": (20, 26)}}
"""2020: machine type -> machine ID -> (normal, anomalous) clips."""


def write(path: Path, rows: list[list[str]], line_end: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator=line_end).writerows(rows)


def draw(system: str, machine: str, section: str, anomaly: np.ndarray, target: np.ndarray,
         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A system's scores and decisions for one machine section's clips."""
    drawn = rng.normal(size=len(anomaly)) + 1.1 * anomaly - 0.5 * (anomaly & target)
    if system == "ties":
        drawn = np.round(drawn, 1)
    if system == "inverted" and machine == "blender" and section == "03":
        drawn = np.where(anomaly, -10.0 - rng.random(len(anomaly)), rng.random(len(anomaly)))
    decisions = (drawn > np.quantile(drawn, 0.65)).astype(int)
    if system == "continuous" and machine == "mixer" and section == "04":
        decisions[target] = 0
    if system == "inverted" and machine == "kettle":
        decisions[:] = 1
    return drawn, decisions


def section_clips(counts: tuple[int, ...], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(anomaly, target) of a section's clips, in a random order."""
    kinds = [(False, False), (False, True), (True, False), (True, True)]  # (anomaly, target), as MACHINES counts
    clips = np.array([kind for kind, count in zip(kinds, counts) for _ in range(count)], dtype=bool)
    clips = clips[rng.permutation(len(clips))]
    return clips[:, 0], clips[:, 1]


def rows_of(names: list[str], values: np.ndarray, rng: np.random.Generator, decisions: bool = False) -> list[list[str]]:
    order = rng.permutation(len(names))
    return [[names[i], str(int(values[i])) if decisions else repr(float(values[i]))] for i in order]


def make_2021(out: Path, rng: np.random.Generator) -> None:
    for machine, per_section in MACHINES.items():
        for section, counts in zip(SECTIONS, per_section):
            anomaly, target = section_clips(counts, rng)
            for system in SYSTEMS:
                scores, decisions = draw(system, machine, section, anomaly, target, rng)
                for domain, in_domain in (("source", ~target), ("target", target)):
                    names = [f"section_{section}_{domain}_test_{i:04d}.wav" for i in range(in_domain.sum())]
                    stem = f"{machine}_section_{section}_{domain}_test"
                    folder = out / "systems" / system
                    write(folder / f"anomaly_score_{stem}.csv", rows_of(names, scores[in_domain], rng))
                    write(folder / f"decision_result_{stem}.csv", rows_of(names, decisions[in_domain], rng, True))
            for domain, in_domain in (("source", ~target), ("target", target)):
                names = [f"section_{section}_{domain}_test_{i:04d}.wav" for i in range(in_domain.sum())]
                line_end = "\r\n" if (machine, section, domain) == ("mixer", "05", "target") else "\n"
                write(out / "ground_truth_data" / f"ground_truth_{machine}_section_{section}_{domain}_test.csv",
                      [[name, str(int(a))] for name, a in zip(names, anomaly[in_domain])], line_end)


def make_2022(out: Path, rng: np.random.Generator) -> None:
    for machine, per_section in MACHINES.items():
        for section, counts in zip(SECTIONS, per_section):
            anomaly, target = section_clips(counts, rng)
            names = [f"section_{section}_{i:04d}.wav" for i in range(len(anomaly))]
            name = f"ground_truth_{machine}_section_{section}_test.csv"
            write(out / "ground_truth_data" / name, [[n, str(int(a))] for n, a in zip(names, anomaly)])
            write(out / "ground_truth_domain" / name, [[n, str(int(t))] for n, t in zip(names, target)])
            for system in SYSTEMS:
                scores, decisions = draw(system, machine, section, anomaly, target, rng)
                folder = out / "systems" / system
                write(folder / f"anomaly_score_{machine}_section_{section}_test.csv", rows_of(names, scores, rng))
                write(folder / f"decision_result_{machine}_section_{section}_test.csv",
                      rows_of(names, decisions, rng, True))


def make_2020(out: Path, rng: np.random.Generator) -> None:
    truth: list[list[str]] = []
    for machine, ids in IDS_2020.items():
        truth.append([machine])
        for machine_id, (normal, anomalous) in ids.items():
            anomaly = np.arange(normal + anomalous) >= normal
            anomaly = anomaly[rng.permutation(len(anomaly))]
            names = [f"id_{machine_id}_{i:08d}.wav" for i in range(len(anomaly))]
            counters = {False: iter(rng.permutation(500)), True: iter(rng.permutation(500))}
            truth += [[name, f"{'anomaly' if a else 'normal'}_id_{machine_id}_{next(counters[bool(a)]):08d}.wav",
                       str(int(a))] for name, a in zip(names, anomaly)]
            for system in SYSTEMS:
                scores, _ = draw(system, machine, machine_id, anomaly, np.zeros(len(anomaly), bool), rng)
                write(out / "systems" / system / f"anomaly_score_{machine}_id_{machine_id}.csv",
                      rows_of(names, scores, rng))
    write(out / "eval_data_list.csv", truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    make_2020(out / "dcase2020", rng)
    make_2021(out / "dcase2021", rng)
    make_2022(out / "dcase2022", rng)


if __name__ == "__main__":
    main()
