"""Training-free systems (``train.epochs = 0``): what validation says, and `asdbench run`, `grid`, `status` and
`leaderboard` end to end on the tiny synthetic set with a seeded, never-trained network and the ``genrep``
backend."""

from __future__ import annotations

import json

import pytest

from asdbench.cli import main
from asdbench.errors import SpecError
from asdbench.plugins import get_registry
from asdbench.spec import load_spec, validate_spec

def spec_toml(root, train: str = "epochs = 0", seed: int = 1, prefix: str = "") -> str:
    """A run spec whose tables are named ``[<prefix>dataset]`` etc. (``prefix = "base."`` for a grid's base)."""
    return f"""{"[base]" if prefix else ""}
seed = {seed}
[{prefix}dataset]
name = "synth"
root = "{root}"
[{prefix}system]
frontends = [{{name = "spectrum"}}]
networks = ["spectrum-cnn"]
backend = {{name = "genrep", k = 1, mix_support = 990, alpha = 0.9}}
[{prefix}train]
{train}
clip_seconds = 4.5
"""


def raw(train: dict, **system) -> dict:
    return {"dataset": {"name": "synth", "root": "/data"},
            "system": {"frontends": ["spectrum"], "networks": ["spectrum-cnn"], "backend": "genrep", **system},
            "train": train}


def test_untrained_system_keeps_checkpoint_0_and_training_options_leave_its_identity():
    registry = get_registry()
    spec = validate_spec(raw({"epochs": 0}), registry)
    assert spec.train["checkpoints"] == [0]
    same = validate_spec(raw({"epochs": 0, "lr": 0.5, "batch_size": 3, "weight_decay": 0.0, "stack_seeds": 4,
                              "checkpoints": [0]}), registry)
    assert same.training_hash == spec.training_hash
    assert validate_spec(raw({"epochs": 0, "clip_seconds": 2.0}), registry).training_hash != spec.training_hash


@pytest.mark.parametrize(("system", "field"), [({"loss": "scac"}, "system.loss"), ({"aux": "subspace"}, "system.aux"),
                                              ({"augmentations": ["mixup"]}, "system.augmentations"),
                                              ({"labels": "pseudo:ground-truth"}, "system.labels")])
def test_what_only_training_uses_is_refused_without_training(system, field):
    with pytest.raises(SpecError, match=f"^{field}: train.epochs = 0"):
        validate_spec(raw({"epochs": 0}, **system), get_registry())


def test_run_embeds_the_system_as_built_and_records_results_like_any_run(tiny_dataset, tmp_path, capsys):
    spec_file = tmp_path / "genrep.toml"
    spec_file.write_text(spec_toml(tiny_dataset))
    spec = load_spec(spec_file)
    out = tmp_path / "runs"
    assert main(["run", str(spec_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "## Official score (%)" in printed and f"genrep: run {spec.hash}" in printed
    training = out / spec.training_hash
    assert not (training / "checkpoints").exists(), "nothing trained: no checkpoint files"
    assert sorted(p.name for p in (training / "embeddings").iterdir()) == ["epoch_000.npz"]
    results = json.loads((training / spec.scoring_hash / "results.json").read_text())
    assert 0 < results["splits"]["eval"]["official_score"] <= 1
    embeddings = (training / "embeddings" / "epoch_000.npz").stat().st_mtime_ns
    assert main(["run", str(spec_file), "--out", str(out)]) == 0  # read back, not recomputed
    assert (training / "embeddings" / "epoch_000.npz").stat().st_mtime_ns == embeddings


def test_grid_of_stacked_seeds_then_status_and_leaderboard(tiny_dataset, tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    base = spec_toml(tiny_dataset, train="epochs = 0\nstack_seeds = 2", prefix="base.")
    grid.write_text(base + '\n[axes]\nseed = [1, 2]\n"system.backend.domain_normalisation" = [true, false]\n'
                    '\n[table]\nrows = "system.backend.domain_normalisation"\ncolumns = "split"\n')
    out = tmp_path / "runs"
    assert main(["grid", str(grid), "--out", str(out)]) == 0
    assert len(list(out.glob("*/embeddings/epoch_000.npz"))) == 2, "one training per seed, shared by both scorings"
    capsys.readouterr()
    assert main(["status", str(grid), "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("done") >= 4
    assert main(["leaderboard", str(grid), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "mean (std) over seed" in table and "4 runs, scored from 2 trainings" in table
