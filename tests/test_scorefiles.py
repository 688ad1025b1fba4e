"""Submission files: round trip, row-by-row validation, `asdbench evaluate` end to end."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdbench.cli.main import main
from asdbench.data.manifest import build_manifest
from asdbench.data.units import units_of
from asdbench.errors import ScoreFileError
from asdbench.scoring.ensemble import evaluate_split, write_split
from asdbench.scoring.metrics import evaluate_frame
from asdbench.scoring.scorefiles import (
    LAYOUTS,
    decision_file,
    evaluate_directory,
    read_scores,
    score_file,
    write_decisions,
)
from tests.helpers.scores import write_all


@pytest.fixture(scope="module")
def eval_test(tiny_dataset):
    manifest = build_manifest(tiny_dataset, 2024, "eval", ground_truth=tiny_dataset / "ground_truth")
    return manifest[manifest["subset"] == "test"].reset_index(drop=True)


def test_round_trip_matches_direct_evaluation(tmp_path, eval_test):
    rng = np.random.default_rng(0)
    frame = write_all(tmp_path, eval_test, rng.normal(size=len(eval_test)))
    scores, decisions = read_scores(tmp_path, eval_test)
    direct = evaluate_frame(eval_test, frame[["file", "machine", "section", "score"]],
                            frame[["file", "machine", "section", "decision"]])
    assert evaluate_directory(tmp_path, eval_test).to_dict() == direct.to_dict()
    assert decisions is not None and set(decisions["decision"]) <= {0, 1}


def test_labelled_names_map_through_ground_truth_attributes_as_both_evaluators_do(tmp_path, eval_test,
                                                                                    tiny_dataset):
    scores_dir, ground_truth = tmp_path / "scores", tmp_path / "ground_truth"
    shutil.copytree(tiny_dataset / "ground_truth", ground_truth)
    write_all(scores_dir, eval_test)
    reference = evaluate_directory(scores_dir, eval_test).to_dict()
    machine = eval_test["machine"].iloc[0]
    # in the real ground truth a clip's labelled id differs from its short id: give every clip a new one
    attributes_file = ground_truth / "ground_truth_attributes" / f"ground_truth_{machine}_section_00_test.csv"
    truth = pd.read_csv(attributes_file, header=None, dtype=str)
    truth[1] = [re.sub(r"_(\d{4})_", f"_{9999 - i:04d}_", name, count=1) for i, name in enumerate(truth[1])]
    truth.to_csv(attributes_file, header=False, index=False)
    path = score_file(scores_dir, machine, "00")
    rows = pd.read_csv(path, header=None, dtype={0: str, 1: float})
    rows[0] = rows[0].map(dict(zip(truth[0], truth[1] + ".wav")))
    rows.to_csv(path, header=False, index=False, float_format="%.17g")
    assert evaluate_directory(scores_dir, eval_test, ground_truth=ground_truth).to_dict() == reference
    with pytest.raises(ScoreFileError, match="ground_truth_attributes"):
        evaluate_directory(scores_dir, eval_test)


def corrupt(path, edit):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[1:], "have no row"),
        (lambda lines: lines + ["section_00_9999.wav,0.5"], "not a test clip of this machine section"),
        (lambda lines: lines + [lines[0]], "appears twice"),
        (lambda lines: [lines[0].split(",")[0] + ",nan"] + lines[1:], "must be finite"),
        (lambda lines: [lines[0].split(",")[0] + ",high"] + lines[1:], "is not a number"),
        (lambda lines: [lines[0] + ",extra"] + lines[1:], "expected 'file name,score'"),
    ],
)
def test_bad_score_files_are_clear_errors_naming_the_file(tmp_path, eval_test, edit, message):
    write_all(tmp_path, eval_test, decisions=False)
    path = score_file(tmp_path, eval_test["machine"].iloc[0], "00")
    corrupt(path, edit)
    with pytest.raises(ScoreFileError, match=message) as error:
        evaluate_directory(tmp_path, eval_test)
    assert path.name in str(error.value)


def test_missing_score_file_stray_file_and_bad_decisions(tmp_path, eval_test):
    write_all(tmp_path, eval_test)
    machine = eval_test["machine"].iloc[0]
    corrupt(decision_file(tmp_path, machine, "00"), lambda lines: [lines[0].split(",")[0] + ",2"] + lines[1:])
    with pytest.raises(ScoreFileError, match="must be 0 or 1"):
        evaluate_directory(tmp_path, eval_test)
    decision_file(tmp_path, machine, "00").unlink()
    with pytest.raises(ScoreFileError, match="some machines but not all"):
        evaluate_directory(tmp_path, eval_test)
    for stray in ("anomaly_score_lathe_section_00_test.csv", "decision_result_press_section_00_test.csv"):
        shutil.copy(score_file(tmp_path, machine, "00"), tmp_path / stray)
        with pytest.raises(ScoreFileError, match=f"{stray}: no such machine"):
            evaluate_directory(tmp_path, eval_test)
        (tmp_path / stray).unlink()
    for path in tmp_path.glob("*.csv"):
        path.unlink()
    with pytest.raises(ScoreFileError, match="not found"):
        evaluate_directory(tmp_path, eval_test)


def test_eval_without_ground_truth_cannot_be_evaluated(tmp_path, tiny_dataset):
    manifest = build_manifest(tiny_dataset, 2024, "eval")
    test = manifest[manifest["subset"] == "test"]
    write_all(tmp_path, test)
    with pytest.raises(ScoreFileError, match="--ground-truth"):
        evaluate_directory(tmp_path, test)


def test_evaluate_command_prints_table_and_json(tmp_path, eval_test, tiny_dataset, capsys):
    write_all(tmp_path, eval_test)
    args = ["evaluate", str(tmp_path), "--dataset-root", str(tiny_dataset), "--year", "2024", "--split", "eval",
            "--ground-truth", str(tiny_dataset / "ground_truth")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "official score" in out and "AUC (source)" in out and eval_test["machine"].iloc[0] in out
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {m["machine"] for m in report["machines"]} == set(eval_test["machine"])
    assert 0 < report["official_score"] < 1


def earlier_test_clips(domains: bool) -> pd.DataFrame:
    """Test clips as the 2020 (``domains`` false: machine IDs as sections, every clip of the source domain) and
    2021 readers give them: two machines, two sections, both classes (and domains)."""
    rows = [{"machine": machine, "section": section, "subset": "test", "path": "/x.wav", "domain": domain,
             "label": "anomaly" if index % 2 else "normal",
             "file": f"section_{section}_{domain}_test_{index:04d}.wav" if domains else f"id_{section}_{index:08d}.wav"}
            for machine in ("fan", "ToyCar") for section in ("03", "04")
            for domain in (("source", "target") if domains else ("source",)) for index in range(6)]
    return pd.DataFrame(rows)


def test_the_2021_layout_has_a_score_and_a_decision_file_per_domain_each_of_its_clips(tmp_path):
    test = earlier_test_clips(domains=True)
    frame = write_all(tmp_path, test, layout="section-domain")
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names[:2] == ["anomaly_score_ToyCar_section_03_source_test.csv",
                         "anomaly_score_ToyCar_section_03_target_test.csv"]
    assert len(names) == 2 * 2 * 2 * 2
    target = pd.read_csv(tmp_path / "decision_result_fan_section_04_target_test.csv", header=None)
    assert set(target[0]) == set(test[(test["machine"] == "fan") & (test["section"] == "04")
                                      & (test["domain"] == "target")]["file"])
    scores, decisions = read_scores(tmp_path, test, layout="section-domain")
    merged = scores.merge(frame, on=["machine", "section", "file"], suffixes=("", "_written"))
    assert len(merged) == len(test) and (merged["score"] == merged["score_written"]).all()
    assert decisions is not None and len(decisions) == len(test)
    # a clip of the other domain in a domain's file is refused, naming the file and the domain
    source = tmp_path / "anomaly_score_fan_section_04_source_test.csv"
    lines = source.read_text().splitlines()
    other = target[0].iloc[0]
    source.write_text("\n".join([f"{other},0.5", *lines[1:]]) + "\n")
    with pytest.raises(ScoreFileError, match=f"{source.name}, line 1: '{other}' is not a test clip of this machine "
                                             "section's source domain"):
        evaluate_directory(tmp_path, test, metric="dcase2021", layout="section-domain")


def test_a_missing_file_of_a_layout_names_it_and_the_layout(tmp_path):
    test = earlier_test_clips(domains=True)
    write_all(tmp_path, test)  # the 2022-2026 names, not 2021's
    with pytest.raises(ScoreFileError, match="anomaly_score_ToyCar_section_03_source_test.csv not found: every machine "
                                             "section of the split needs one per domain \\(the section-domain layout"):
        evaluate_directory(tmp_path, test, metric="dcase2021", layout="section-domain")
    with pytest.raises(ScoreFileError, match="unknown domain.*section-domain layout's files are per domain"):
        write_all(tmp_path / "other", test.assign(domain="unknown"), layout="section-domain")


def test_the_2020_layout_has_a_score_file_per_machine_id_and_no_decision_files(tmp_path):
    test = earlier_test_clips(domains=False)
    write_all(tmp_path, test, decisions=False, layout="id")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"anomaly_score_{machine}_id_{section}.csv" for machine in ("ToyCar", "fan") for section in ("03", "04")]
    scores, decisions = read_scores(tmp_path, test, layout="id")
    assert len(scores) == len(test) and decisions is None
    report = evaluate_directory(tmp_path, test, metric="dcase2020", layout="id")
    assert [(unit.machine, unit.section) for unit in report.machines] == [
        (machine, section) for machine in ("ToyCar", "fan") for section in ("03", "04")]
    with pytest.raises(ValueError, match="the id layout has no decision files"):
        write_decisions(tmp_path, "fan", "03", test.assign(decision=0), layout="id")
    (tmp_path / "decision_result_fan_id_03.csv").write_text("id_03_00000000.wav,1\n")
    with pytest.raises(ScoreFileError, match="decision_result_fan_id_03.csv: no such machine section in the test "
                                             "set \\(the id layout has no decision files\\)"):
        evaluate_directory(tmp_path, test, metric="dcase2020", layout="id")


def test_every_layout_names_its_files_as_the_year_facts_say():
    for name, layout in LAYOUTS.items():
        stem = layout.path(Path("x"), "anomaly_score", "fan", "03", "source" if layout.by_domain else None).name
        assert stem == {"section": "anomaly_score_fan_section_03_test.csv", "id": "anomaly_score_fan_id_03.csv",
                        "section-domain": "anomaly_score_fan_section_03_source_test.csv"}[name]


@pytest.mark.parametrize(("metric", "layout", "domains"), [("dcase2020", "id", False),
                                                            ("dcase2021", "section-domain", True),
                                                            ("dcase2022", "section", True)])
def test_a_scoring_writes_and_evaluates_the_files_of_its_years_layout(tmp_path, metric, layout, domains):
    """What store.stages does with a run's ensemble scores, for each layout: the year's files, decisions where the
    layout has them (a threshold per unit, from its training clips' scores), the year's report."""
    test = earlier_test_clips(domains)
    train = test.assign(subset="train", label="normal", file="train_" + test["file"])
    units = units_of({"eval": pd.concat([train, test], ignore_index=True)})
    rng = np.random.default_rng(0)
    scores = {unit.key: (rng.random(len(unit.train)), rng.random(len(unit.test))) for unit in units}
    write_split(units, scores, tmp_path, quantile=0.9, layout=layout)
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(path.name for unit in units for kind in ("anomaly_score", "decision_result")
                             if kind == "anomaly_score" or LAYOUTS[layout].decisions
                             for path, _, _ in LAYOUTS[layout].files(tmp_path, kind, unit.machine, unit.section,
                                                                     unit.test))
    report = evaluate_split(tmp_path, test, metric=metric, layout=layout)
    assert report is not None and report.METRIC == metric
    assert evaluate_split(tmp_path, test.assign(label="unknown"), metric=metric, layout=layout) is None
