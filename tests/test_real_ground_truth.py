"""asdbench on the official evaluators' real eval ground truth (DCASE 2023 and 2024 Task 2).

Each year's eval layout is built in a temporary folder from the CSVs: every test clip under its short name and
a few labelled train clips per machine, all 0.1 s of placeholder audio. What asdbench reads and scores there is
compared with values taken from the CSVs by tests/helpers/realdata.py itself. The CSVs cannot be committed (their
licence forbids redistribution): tests/data/evaluators/README.md says how to fetch them, and the tests skip without
them.
tests/test_real_format.py runs the same checks on committed, invented rows in the same formats.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.realdata import Layout, check_evaluate, check_labelled_eval_test_hidden, check_manifest, eval_layout

EVALUATORS = Path(os.environ.get("ASDBENCH_EVALUATORS", Path(__file__).parent / "data" / "evaluators"))
HIDDEN_2024 = {"AirCompressor", "HoveringDrone", "ToothBrush"}  # the full names are in ground_truth_attributes


@pytest.fixture(scope="module", params=[2023, 2024], ids=["dcase2023", "dcase2024"])
def real(request, tmp_path_factory) -> Layout:
    truth_dir = EVALUATORS / f"dcase{request.param}"
    if not (truth_dir / "ground_truth_data").is_dir():
        pytest.skip(f"{truth_dir} does not hold the evaluator's ground truth (see tests/data/evaluators/README.md)")
    layout = eval_layout(truth_dir, request.param, tmp_path_factory.mktemp(f"dcase{request.param}"), train_limit=3)
    assert all(len(rows) == 200 for rows in layout.truth.values())
    return layout


def test_manifest_reads_every_real_name_label_domain_and_attribute(real):
    check_manifest(real, HIDDEN_2024 if real.year == 2024 else set())


def test_evaluate_command_equals_the_official_score(real, tmp_path, capsys):
    check_evaluate(real, tmp_path, capsys)


def test_released_hidden_attributes_of_labelled_eval_test_clips(real, tmp_path):
    """Eval test clips named as the re-released data names them (labelled, noAttribute) get their hidden
    attributes from the correspondence files, the same as the short names get them from the ground truth."""
    check_labelled_eval_test_hidden(real, tmp_path)
