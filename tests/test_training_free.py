"""Training-free systems (``train.epochs = 0``): what validation says, and `asdbench run`, `grid`, `status` and
`leaderboard` end to end on the tiny synthetic set with a seeded, never-trained network and the ``genrep``
backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdbench.cli.main import main
from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import SpecError
from asdbench.hookspecs import hookimpl
from asdbench.scoring.scorefiles import score_file
from asdbench.spec.validate import load_spec, validate_spec
from asdbench.store.datacheck import open_dataset
from asdbench.store.layout import trained_embeddings
from asdbench.store.store import Store
from asdbench_methods import factories

REPOSITORY = Path(__file__).resolve().parents[1]

def spec_toml(root, train: str = "epochs = 0", seed: int = 1, prefix: str = "") -> str:
    """A run spec whose tables are named ``[<prefix>dataset]`` etc. (``prefix = "base."`` for a grid's base)."""
    return f"""{"[base]" if prefix else ""}
seed = {seed}
[{prefix}dataset]
name = "synth"
root = "{root}"
[{prefix}system]
embeddings = "raw"
frontends = [{{name = "spectrum"}}]
networks = ["spectrum-cnn"]
backend = {{name = "genrep", k = 1, mix_support = 990, alpha = 0.9}}
[{prefix}train]
{train}
clip_seconds = 4.5
"""


def raw(train: dict, **system) -> dict:
    return {"dataset": {"name": "synth", "root": "/data"},
            "system": {"frontends": ["spectrum"], "networks": ["spectrum-cnn"], "backend": "genrep",
                       "embeddings": "raw", **system},
            "train": train}


class StandInBEATs:
    """``beats-fbank`` and ``beats`` with the options examples/genrep.toml gives them, where asdbench-pretrained
    does not register them (this test is about the example's backend and training sections)."""

    @staticmethod
    @hookimpl
    def asdbench_register_frontends(register):
        register("beats-fbank", lambda: None)

    @staticmethod
    @hookimpl
    def asdbench_register_networks(register):
        def beats(input_shape, /, *, finetune: str = "lora", embedding_dim: int = 128):
            return None

        register("beats", beats)


def test_the_genrep_example_validates():
    registry = Registry()
    if "beats" not in registry.names("networks"):
        registry = Registry(extra_plugins=[StandInBEATs()])
    spec = load_spec(REPOSITORY / "examples" / "genrep.toml", registry)
    assert spec.train["epochs"] == 0 and spec.train["checkpoints"] == [0]
    assert spec.system["backend"] == {"name": "genrep", "k": 1, "mix_support": 990, "alpha": 0.9,
                                      "domain_normalisation": True}
    assert spec.system["networks"][0]["finetune"] == "frozen" and spec.system["networks"][0]["embedding_dim"] == 0


def test_untrained_system_keeps_checkpoint_0_and_training_options_leave_its_identity():
    registry = get_registry()
    spec = validate_spec(raw({"epochs": 0}), registry)
    assert spec.train["checkpoints"] == [0]
    same = validate_spec(raw({"epochs": 0, "lr": 0.5, "batch_size": 3, "weight_decay": 0.0, "stack_seeds": 4,
                              "checkpoints": [0]}, labels="machine"), registry)
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
    (training / "trained.json").unlink()  # killed after embedding: resumes without embedding again
    (training / spec.scoring_hash / "results.json").unlink()
    assert main(["run", str(spec_file), "--out", str(out)]) == 0
    assert (training / "embeddings" / "epoch_000.npz").stat().st_mtime_ns == embeddings
    assert json.loads((training / spec.scoring_hash / "results.json").read_text()) == results


def test_genrep_scores_z_cat_as_the_networks_output_it(tiny_dataset, tmp_path):
    """system.embeddings = "raw": the stored embeddings are z_cat unnormalised, and genrep's scores are those of a
    genrep backend fitted to them."""
    spec_file = tmp_path / "genrep.toml"
    spec_file.write_text(spec_toml(tiny_dataset))
    spec, store = load_spec(spec_file), Store(tmp_path / "runs")
    store.run(spec, get_registry(), progress=False)
    arrays = trained_embeddings(store.training_directory(spec), 0)
    key = next(k.removesuffix(".train") for k in arrays if k.startswith("eval.") and k.endswith(".train"))
    assert not np.allclose(np.linalg.norm(arrays[f"{key}.train"], axis=1), 1.0)
    manifest = open_dataset(spec.dataset, get_registry()).manifest("eval")
    rows = manifest[manifest["machine"] == key.split(".")[1]]
    backend = factories.genrep()
    backend.fit(arrays[f"{key}.train"], rows[rows["subset"] == "train"]["domain"].to_numpy())
    stored = pd.read_csv(score_file(store.directory(spec) / "scores" / "eval", *key.split(".")[1:3]), header=None)
    np.testing.assert_allclose(stored[1].to_numpy(), backend.score(arrays[f"{key}.test"]), rtol=1e-12)


@pytest.mark.parametrize(("system", "message"), [
    ({"embeddings": "normalised"}, "backend 'genrep' .* scores z_cat as the networks output it"),
    ({"backend": "knn"}, "backend 'knn' .* expects it L2-normalised"),
    ({"embeddings": "unit"}, "expected one of 'normalised', 'raw', got 'unit'"),
])
def test_raw_embeddings_go_with_a_backend_registered_for_them(system, message):
    with pytest.raises(SpecError, match="^system.embeddings: .*" + message):
        validate_spec(raw({"epochs": 0}, **system), get_registry())


def test_normalised_embeddings_leave_the_canonical_form_as_it_was():
    registry = get_registry()
    spec = validate_spec(raw({"epochs": 0}, backend="knn", embeddings="normalised"), registry)
    assert "embeddings" not in spec.system
    assert spec.training_hash == validate_spec({**raw({"epochs": 0}, backend="knn"), "system": {
        "frontends": ["spectrum"], "networks": ["spectrum-cnn"], "backend": "knn"}}, registry).training_hash


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
