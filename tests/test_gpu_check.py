"""benchmarks/gpu_check.sh --small runs every part of the GPU check on tiny data on the CPU, so that the script
cannot rot between the rare runs on a GPU (its figures mean nothing here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.sh"


@pytest.mark.slow
def test_the_gpu_check_runs_small_on_the_cpu_and_reports_every_figure(tmp_path):
    result = subprocess.run([str(SCRIPT), "--small", "--out", str(tmp_path)], capture_output=True, text=True,
                            env={**os.environ, "PYTHON": sys.executable, "ASDBENCH_DEVICE": "cpu"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert (report["mode"], report["device"], report["data"]["preset"]) == ("small", "cpu", "tiny")

    training = {row["configuration"]: row for row in report["training"]}
    assert list(training) == ["fp32", "bf16", "fp32, 2 stacked seeds", "bf16, 2 stacked seeds"]
    for row in training.values():
        assert row["clips_per_second"] > 0 and row["projected_run_minutes"] > 0 and row["peak_rss_mib"] > 0
        # clips/s is rounded to 0.1 from the seconds as measured, which the report rounds to 0.001
        clips, seconds = row["steps"] * row["batch_size"] * row["seeds"], row["seconds"]
        assert round(clips / (seconds + 5e-4), 1) <= row["clips_per_second"] <= round(clips / (seconds - 5e-4), 1)
        assert (row["peak_gpu_mib"], row["gpu_utilisation_percent"]) == (None, None)
        assert row["gpu_utilisation_note"] == "not a GPU (cpu)"
        assert row["gflop_per_second"] == round(report["step_gflop"] * row["steps"] * row["seeds"] / seconds, 1) > 0
        assert (row["peak_kind"], row["peak_tflop_per_second"], row["peak_fraction"]) == (None, None, None)
    assert report["peaks"] is None and report["step_gflop"] > 0
    assert [row["configuration"] for row in report["skipped"]] == ["fp32, compiled", "bf16, compiled"]
    assert report["failed"] == []
    assert report["embedding"]["clips_per_second"] > 0

    scores = report["scores"]
    assert scores["seeds"] == [1] and "a short training" in scores["what"]
    assert all(0 <= score <= 1 for score in scores["fp32"] + scores["bf16"])
    assert scores["bf16_minus_fp32"] == [scores["bf16"][0] - scores["fp32"][0]]

    table = result.stdout
    assert "| configuration" in table and "| fp32, 2 stacked seeds" in table and "GFLOP/s |" in table
    assert "n/a (CPU)" in table and f"{report['step_gflop']} GFLOP per step and seed" in table
    assert "skipped: fp32, compiled: torch.compile is skipped on the CPU" in table
    assert "bf16 against fp32: official score of the dev split after 1 epoch(s)" in table
    assert f"figures written to {tmp_path / 'gpu_check.json'}" in table


@pytest.mark.slow
def test_gpu_utilisation_is_read_for_torch_s_gpu_from_nvidia_smi(tmp_path, monkeypatch):
    """nvidia-smi lists every GPU by UUID; the samples of torch's device (found by its UUID) are kept."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(SCRIPT.parent))
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nwhile true; do echo 'GPU-aaaa-1, 12'; echo 'GPU-BBBB-2, 87'; sleep 0.05; done\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(gpu_check.torch.cuda, "get_device_properties",
                        lambda device: type("Properties", (), {"uuid": "bbbb-2"})())
    with gpu_check.Utilisation(gpu_check.torch.device("cuda")) as utilisation:
        threading.Event().wait(0.3)
    assert utilisation.samples and set(utilisation.samples) == {87} and utilisation.mean == 87
    assert utilisation.note == f"{len(utilisation.samples)} samples"
    monkeypatch.setattr(gpu_check.torch.cuda, "get_device_properties",
                        lambda device: type("Properties", (), {"uuid": "cccc-3"})())
    with gpu_check.Utilisation(gpu_check.torch.device("cuda")) as utilisation:
        threading.Event().wait(0.2)
    assert utilisation.mean is None
    assert utilisation.note == "nvidia-smi listed ['GPU-BBBB-2', 'GPU-aaaa-1'], not torch's GPU-cccc-3"


def gpu_peaks():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_peaks
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return gpu_peaks


@pytest.mark.parametrize(("name", "model"), [
    ("NVIDIA H100 80GB HBM3", "H100 SXM"), ("NVIDIA H100 PCIe", "H100 PCIe"), ("NVIDIA H100 NVL", "H100 NVL"),
    ("NVIDIA H200", "H200 SXM"), ("NVIDIA H200 NVL", "H200 NVL"), ("NVIDIA A100-SXM4-80GB", "A100"),
    ("NVIDIA A100 80GB PCIe", "A100"), ("NVIDIA GeForce RTX 4090", None), ("NVIDIA H100", None),
])
def test_the_gpu_check_knows_the_peaks_of_the_datasheets_gpus_by_torch_s_names(name, model):
    peaks = gpu_peaks().peaks_of(name)
    assert (peaks.model if peaks else None) == model


def test_fp32_is_measured_against_the_tf32_peak_while_cudnn_may_use_it(monkeypatch):
    module = gpu_peaks()
    assert module.peak_for(module.H100_SXM, "bf16") == ("bf16", 989.5)
    monkeypatch.setattr(module.torch.backends.cudnn, "allow_tf32", True)
    assert module.peak_for(module.H100_SXM, "fp32") == ("tf32", 494.5)
    monkeypatch.setattr(module.torch.backends.cudnn, "allow_tf32", False)
    assert module.peak_for(module.A100, "fp32") == ("fp32", 19.5)
