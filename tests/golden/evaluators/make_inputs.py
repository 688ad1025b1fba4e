"""Write our own inputs for the official evaluators: a ground truth in their format and three systems' files.

``python make_inputs.py OUT`` (numpy only; run by ``regenerate.sh``) writes ``OUT/ground_truth/`` (the
evaluators' ``ground_truth_{data,domain,attributes}/ground_truth_<machine>_section_00_test.csv``) and
``OUT/systems/<system>/`` (``anomaly_score_*`` and ``decision_result_*`` files, the submission format). Every
clip, label and score is drawn here from a fixed seed; nothing comes from the real data.

Three machines with unequal domain and class sizes (so that AUC (all) is not the mean of the domains' AUCs), and
three systems that reach the evaluators' corners:

- ``ties``: scores rounded to one decimal, so that normal and anomalous clips tie; every fourth row names its
  clip by its labelled name, which the evaluators map back through ``ground_truth_attributes``; rows shuffled;
- ``continuous``: full-precision scores; mixer's target-domain decisions are all "normal", so its precision's
  denominator is zero (clamped at machine epsilon) and its F1 is 0, which the F1 harmonic means clamp;
- ``inverted``: blender's anomalies score below every normal clip (AUC (source) and (target) 0, clamped in the
  official score), and kettle decides "anomalous" for every clip.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

SEED = 20261201
MACHINES = {  # machine -> clips: (source normal, target normal, source anomaly, target anomaly)
    "blender": (30, 10, 12, 8),
    "kettle": (25, 25, 10, 15),
    "mixer": (20, 6, 9, 5),
}
SYSTEMS = ("ties", "continuous", "inverted")


def clips(machine: str, counts: tuple[int, ...], rng: np.random.Generator) -> list[dict]:
    """The machine's test clips in a random order, short names numbered in that order, and labelled names."""
    kinds = [(domain, label) for label in ("normal", "anomaly") for domain in ("source", "target")]
    rows = [{"domain": domain, "label": label} for (domain, label), count in zip(kinds, counts) for _ in range(count)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    counters: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        # labelled ids count each class apart, as the real files' do: they are not the short names' ids
        number = counters[row["domain"], row["label"]] = counters.get((row["domain"], row["label"]), -1) + 1
        row["short"] = f"section_00_{index:04d}.wav"
        row["labelled"] = f"section_00_{row['domain']}_test_{row['label']}_{number:04d}_spd_{rng.integers(1, 4)}"
    return rows


def scores(system: str, machine: str, rows: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    anomaly = np.array([row["label"] == "anomaly" for row in rows])
    target = np.array([row["domain"] == "target" for row in rows])
    drawn = rng.normal(size=len(rows)) + 1.2 * anomaly - 0.6 * (anomaly & target)
    if system == "ties":
        drawn = np.round(drawn, 1)
    if system == "inverted" and machine == "blender":
        drawn = np.where(anomaly, -10.0 - rng.random(len(rows)), rng.random(len(rows)))
    decisions = (drawn > np.quantile(drawn, 0.7)).astype(int)
    if system == "continuous" and machine == "mixer":
        decisions[target] = 0
    if system == "inverted" and machine == "kettle":
        decisions[:] = 1
    return drawn, decisions


def write(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    for machine, counts in MACHINES.items():
        rows = clips(machine, counts, rng)
        name = f"ground_truth_{machine}_section_00_test.csv"
        by_short = sorted(rows, key=lambda row: row["short"])
        write(out / "ground_truth" / "ground_truth_data" / name,
              [[row["short"], str(int(row["label"] == "anomaly"))] for row in by_short])
        write(out / "ground_truth" / "ground_truth_domain" / name,
              [[row["short"], str(int(row["domain"] == "target"))] for row in by_short])
        write(out / "ground_truth" / "ground_truth_attributes" / name, [[row["short"], row["labelled"]] for row in by_short])
        for system in SYSTEMS:
            drawn, decisions = scores(system, machine, rows, rng)
            names = [f"{row['labelled']}.wav" if system == "ties" and index % 4 == 0 else row["short"]
                     for index, row in enumerate(rows)]
            order = rng.permutation(len(rows))
            folder = out / "systems" / system
            write(folder / f"anomaly_score_{machine}_section_00_test.csv",
                  [[names[i], repr(float(drawn[i]))] for i in order])
            write(folder / f"decision_result_{machine}_section_00_test.csv",
                  [[names[i], str(int(decisions[i]))] for i in order])


if __name__ == "__main__":
    main()
