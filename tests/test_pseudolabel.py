"""Pseudo-labelling: feature spaces, Noise/Resize, BIC, reproducible label tables and their join into training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from asdbench.cli.main import main
from asdbench.contract.protocols import FeatureSpaceContext
from asdbench.contract.registry import get_registry
from asdbench.data.labels import build_labels
from asdbench.data.manifest import build_manifest
from asdbench.errors import AsdbenchError, SpecError
from asdbench.pseudolabel.labelling import unit_rows, units_to_label
from asdbench.spec.validate import validate_spec
from asdbench.store import codeprint
from asdbench.store.pseudolabels import LABELS, compute, identity
from asdbench.store.store import Store
from asdbench_methods import labelling_factories
from asdbench_methods.featurespaces import mix_at_snr, resize, resize_ratio
from tests.helpers.codeedits import edited

LIGHT_SYSTEM = {
    "frontends": [{"name": "stft", "n_fft": 1024}],
    "networks": ["spectrogram-resnet"],
    "loss": "scac",
    "backend": {"name": "kmeans-target", "clusters": 4},
}
TRAIN = {"epochs": 1, "checkpoints": [1], "batch_size": 16, "clip_seconds": 2.5}


TINY_CLUSTERER = {"name": "gmm-bic", "selection": "in-sample"}
"""The tiny preset has 2 target clips a machine: too few for the published 5-fold held-out BIC."""


def spec_for(root, space, **pseudolabel):
    return validate_spec({
        "seed": 2,
        "dataset": {"name": "synth", "root": str(root)},
        "system": {**LIGHT_SYSTEM, "labels": f"pseudo:{space}"},
        "pseudolabel": {"clusterer": TINY_CLUSTERER, **pseudolabel},
        "train": TRAIN,
    }, get_registry())


@pytest.fixture(scope="module")
def manifests(tiny_dataset):
    return {split: build_manifest(tiny_dataset, 2024, split, ground_truth=tiny_dataset / "ground_truth",
                                  hidden_attributes=tiny_dataset / "hidden_attributes") for split in ("dev", "eval")}


def context(manifests, tmp_path, spec):
    return FeatureSpaceContext(spec.dataset, spec.system, spec.train, spec.seed, manifests, tmp_path / "space",
                               Store(tmp_path / "runs").systems(spec, get_registry(), progress=False))


def label(spec, registry, root, manifests):
    """The label table of ``spec``, computed in (or read back from) the store at ``root``."""
    return compute(spec, registry, root, manifests, systems=Store(root).systems(spec, registry, progress=False),
                   progress=False)


def machine_rows(manifests, split="dev"):
    manifest = manifests[split]
    return unit_rows(manifest, *units_to_label(manifest, "unlabelled")[0])


def test_noise_mixes_at_the_drawn_snr():
    torch.manual_seed(0)
    signal, noise = torch.rand(4, 10, 20), torch.rand(4, 10, 20) * 7
    snr = torch.tensor([-5.0, -1.0, 2.0, 4.9])
    mixed = mix_at_snr(signal, noise, snr)
    added = mixed - signal
    measured = 10 * torch.log10(signal.pow(2).mean((1, 2)) / added.pow(2).mean((1, 2)))
    torch.testing.assert_close(measured, snr, atol=1e-4, rtol=0)


def test_resize_ratios_and_shapes():
    ratios = resize_ratio(10_000, torch.Generator().manual_seed(0))
    low, high = ratios[ratios < 1], ratios[ratios > 1]
    assert 0.5 <= low.min() and low.max() < 0.8 and 1.2 <= high.min() and high.max() < 1.5
    assert abs(len(low) - len(high)) < 500
    spectrogram = torch.rand(40, 50)
    for ratio in (0.6, 1.3):
        for along_time in (True, False):
            assert resize(spectrogram, ratio, along_time).shape == (40, 50)
    compressed = resize(spectrogram, 0.5, along_time=True)
    torch.testing.assert_close(compressed[:, :25], compressed[:, 25:50])  # a time-compressed clip is tiled


def test_bic_chooses_the_number_of_well_separated_blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    points = np.concatenate([c + rng.normal(scale=0.5, size=(60, 2)) for c in centres])
    labels = labelling_factories.gmm_bic(seed=0).fit_predict(points, 16)
    assert len(set(labels)) == 4
    assert len(set(labelling_factories.gmm_bic(seed=0).fit_predict(points[:60], 2))) == 1


def test_hdbscan_keeps_its_largest_clusters_within_max_clusters():
    """HDBSCAN picks its own count; above max_clusters the smaller clusters join their nearest kept one, so the
    output passes the clusterer contract (at most max_clusters labels) on data with many dense groups."""
    rng = np.random.default_rng(0)
    sizes = [60, 50, 40, 30, 20, 20]
    centres = 20 * np.arange(len(sizes))[:, None] * np.array([[1.0, 0.0]])
    points = np.concatenate([c + rng.normal(scale=0.3, size=(n, 2)) for c, n in zip(centres, sizes)])
    clusterer = labelling_factories.hdbscan(min_cluster_size=10)
    found = clusterer.fit_predict(points, 16)
    assert len(set(found)) == 6
    capped = clusterer.fit_predict(points, 3)
    assert len(set(capped)) == 3
    groups = np.split(capped, np.cumsum(sizes)[:-1])
    assert all(len(set(group)) == 1 for group in groups) and len({g[0] for g in groups[:3]}) == 3
    assert groups[3][0] == groups[2][0] and groups[5][0] == groups[2][0], "joined to the nearest kept cluster"


def test_held_out_bic_needs_a_fold_per_clip_and_valid_options():
    points = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(AsdbenchError, match="4 clips are too few for held-out BIC over 5 folds"):
        labelling_factories.gmm_bic().fit_predict(points, 2)
    assert len(set(labelling_factories.gmm_bic(folds=2).fit_predict(points, 2))) <= 2
    with pytest.raises(AsdbenchError, match=r"gmm_bic\.selection: expected one of 'held-out', 'in-sample', got 'aic'"):
        labelling_factories.gmm_bic(selection="aic")
    with pytest.raises(AsdbenchError, match=r"gmm_bic\.folds: expected a number >= 2, got 1"):
        labelling_factories.gmm_bic(folds=1)


def test_bad_clusterer_options_fail_at_validation_before_anything_is_built(tiny_dataset, monkeypatch):
    registry = get_registry()
    created, create = [], registry.create
    monkeypatch.setattr(registry, "create", lambda kind, *args, **kwargs: created.append(kind) or create(
        kind, *args, **kwargs))
    with pytest.raises(SpecError, match="pseudolabel.clusterer.selection: expected one of 'held-out', 'in-sample'"):
        spec_for(tiny_dataset, "triplet", clusterer={"name": "gmm-bic", "selection": "aic"})  # validation refuses
    assert created == []


def test_ground_truth_space_names_the_hidden_attributes(manifests, tmp_path):
    spec = spec_for(tmp_path, "ground-truth")
    rows = machine_rows(manifests)
    labels = get_registry().create("feature_spaces", "ground-truth", context(manifests, tmp_path, spec)).embed(rows)
    assert labels.shape == (len(rows),)
    assert all(labels[rows["subset"] == "train"] != "")
    hidden = rows["hidden_attributes"].map(lambda a: "_".join(f"{k}_{v}" for k, v in a.items()))
    assert list(labels[rows["subset"] == "train"]) == list(hidden[rows["subset"] == "train"])


def test_ground_truth_without_truth_is_a_clear_error(manifests, tmp_path):
    spec = spec_for(tmp_path, "ground-truth")
    rows = machine_rows(manifests).assign(hidden_attributes=[{}] * len(machine_rows(manifests)))
    with pytest.raises(AsdbenchError, match="hidden_attributes"):
        get_registry().create("feature_spaces", "ground-truth", context(manifests, tmp_path, spec)).embed(rows)


@pytest.mark.slow
def test_triplet_space_embeds_every_clip_in_128_dimensions(manifests, tmp_path):
    spec = spec_for(tmp_path, "triplet")
    space = get_registry().create("feature_spaces", "triplet", context(manifests, tmp_path, spec),
                                  epochs=1, clip_seconds=2.5)
    rows = machine_rows(manifests)
    embeddings = space.embed(rows)
    assert embeddings.shape == (len(rows), 128) and np.isfinite(embeddings).all()


@pytest.mark.slow
def test_class_space_trains_the_system_on_available_labels(manifests, tiny_dataset, tmp_path):
    spec = spec_for(tiny_dataset, "class")
    space = get_registry().create("feature_spaces", "class", context(manifests, tmp_path, spec))
    rows = machine_rows(manifests, "eval")
    embeddings = space.embed(rows)
    assert embeddings.shape == (len(rows), 128)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, rtol=1e-5)  # z_cat, normalised
    unlabelled_row = validate_spec({**{k: spec.canonical[k] for k in ("seed", "dataset", "train")},
                                    "system": {**spec.system, "labels": "attributes"}}, get_registry())
    trained = Store(tmp_path / "runs").training_directory(unlabelled_row)
    assert (trained / "trained.json").exists(), "the model is the training of the system's N/A row, in the store"


@pytest.mark.slow
def test_label_table_is_reproducible_and_prefixed(manifests, tiny_dataset, tmp_path):
    spec = spec_for(tiny_dataset, "triplet", feature_space={"name": "triplet", "epochs": 1, "clip_seconds": 2.5},
                    reducer="none", max_clusters_source=3)
    first = label(spec, get_registry(), tmp_path / "a", manifests)
    second = label(spec, get_registry(), tmp_path / "b", manifests)
    pd.testing.assert_frame_equal(first.table, second.table)
    units = {units_to_label(m, "unlabelled")[0] for m in manifests.values()}
    assert set(first.table[["machine", "section"]].itertuples(index=False, name=None)) == units
    for _, row in first.table.iterrows():
        assert row["label"].startswith(f"pseudo/{row['split']}/{row['machine']}/{row['section']}/{row['domain']}/")
    assert first.table.groupby(["machine", "domain"])["label"].nunique().max() <= 3
    assert set(first.quality) == {f"{s}.{m}.{n}" for s, m, n in first.table[["split", "machine", "section"]]
                                  .drop_duplicates().itertuples(index=False)}
    stamp = (first.directory / "labels.csv").stat().st_mtime_ns
    label(spec, get_registry(), tmp_path / "a", manifests)
    assert (first.directory / "labels.csv").stat().st_mtime_ns == stamp, "a finished table is read back"


def test_label_table_joins_into_training_classes(manifests, tiny_dataset, tmp_path):
    spec = spec_for(tiny_dataset, "ground-truth")
    table = label(spec, get_registry(), tmp_path, manifests)
    train = pd.concat([m[m["subset"] == "train"] for m in manifests.values()], ignore_index=True)
    labels = build_labels(train, "attributes", table.by_path())
    names = pd.Series(labels.names)[labels.indices].to_numpy()
    pseudo = train["path"].isin(table.table["path"]).to_numpy()
    assert pseudo.any() and (~pseudo).any()
    assert all(n.startswith("pseudo/") for n in names[pseudo])
    assert not any(n.startswith("pseudo/") for n in names[~pseudo]), "attributed machines keep their classes"


def test_all_machines_mode_and_spec_errors(manifests, tiny_dataset, tmp_path):
    assert units_to_label(manifests["dev"], "all") == [(m, "00") for m in sorted(manifests["dev"]["machine"].unique())]
    with pytest.raises(SpecError, match="differs from system.labels"):
        spec_for(tiny_dataset, "triplet", feature_space="class")
    with pytest.raises(SpecError, match="pseudolabel.machines"):
        spec_for(tiny_dataset, "triplet", machines="some")
    with pytest.raises(SpecError, match=r"\[pseudolabel\] is given"):
        validate_spec({"dataset": {"name": "synth", "root": "x"}, "system": LIGHT_SYSTEM,
                       "pseudolabel": {"reducer": "none"}}, get_registry())


@pytest.mark.slow
def test_pseudolabel_and_plot_space_commands(tiny_dataset, tmp_path, capsys):
    spec_file = tmp_path / "pl.toml"
    spec_file.write_text(f"""
seed = 2
[dataset]
name = "synth"
root = "{tiny_dataset}"
[system]
labels = "pseudo:triplet"
frontends = [{{name = "stft", n_fft = 1024}}]
networks = ["spectrogram-resnet"]
loss = "scac"
backend = {{name = "kmeans-target", clusters = 4}}
[pseudolabel]
feature_space = {{name = "triplet", epochs = 1, clip_seconds = 2.5}}
reducer = "none"
clusterer = {{name = "gmm-bic", selection = "in-sample"}}
max_clusters_source = 3
""")
    assert main(["pseudolabel", str(spec_file), "--out", str(tmp_path / "runs")]) == 0
    assert "ari" in capsys.readouterr().out
    [directory] = list((tmp_path / "runs" / "pseudolabels").iterdir())
    machine = next((directory / "spaces").glob("dev.*.npz")).name.split(".")[1]
    assert main(["plot-space", str(directory), "--machine", machine, "--out", str(tmp_path / "space.png")]) == 0
    assert (tmp_path / "space.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot-space", str(directory), "--machine", "lathe"]) == 2


def test_a_table_made_with_other_code_is_set_aside_and_computed_again(manifests, tiny_dataset, tmp_path, capsys,
                                                                      monkeypatch):
    spec = spec_for(tiny_dataset, "ground-truth")
    first = label(spec, get_registry(), tmp_path, manifests)
    recorded = json.loads((first.directory / "code.json").read_text())
    assert recorded["stage"] == "pseudolabels" and "asdbench-methods" in recorded["distributions"]
    stamp = (first.directory / LABELS).stat().st_mtime_ns
    label(spec, get_registry(), tmp_path, manifests)
    assert (first.directory / LABELS).stat().st_mtime_ns == stamp and not capsys.readouterr().err, "same code: read"

    edited(monkeypatch, "asdbench-methods")
    again = label(spec, get_registry(), tmp_path, manifests)
    [aside] = [p for p in first.directory.parent.iterdir() if p.name.startswith(f"{first.directory.name}.stale-")]
    assert (aside / LABELS).stat().st_mtime_ns == stamp, "the old table is kept, set aside"
    assert f"{first.directory} was made with other code (asdbench-methods: source" in capsys.readouterr().err
    pd.testing.assert_frame_equal(again.table, first.table)
    assert json.loads((again.directory / "code.json").read_text())["distributions"]["asdbench-methods"][
        "source"] == "sha256:edited", "computed again, with the installed code"


def test_a_table_without_its_code_record_is_incomplete_and_computed_again(manifests, tiny_dataset, tmp_path, capsys):
    """A table writes its code.json before its labels.csv: labels without it were not written whole."""
    spec = spec_for(tiny_dataset, "ground-truth")
    first = label(spec, get_registry(), tmp_path, manifests)
    stamp = (first.directory / LABELS).stat().st_mtime_ns
    (first.directory / "code.json").unlink()
    again = label(spec, get_registry(), tmp_path, manifests)
    assert again.directory == first.directory and (first.directory / LABELS).stat().st_mtime_ns != stamp
    assert codeprint.recorded(again.directory) is not None
    pd.testing.assert_frame_equal(again.table, first.table)


@pytest.mark.slow
def test_a_system_a_feature_space_trained_with_other_code_is_trained_again(tiny_dataset, tmp_path, capsys,
                                                                         monkeypatch):
    spec = spec_for(tiny_dataset, "class")
    systems = Store(tmp_path / "runs").systems(spec, get_registry(), progress=False)
    system = {**spec.system, "labels": "attributes"}
    systems.embeddings(system, 1)
    [trained] = [p for p in (tmp_path / "runs").iterdir() if p.name != "featurespaces"]
    [space] = (tmp_path / "runs" / "featurespaces").iterdir()
    assert json.loads((space / "systems.json").read_text()) == {"trainings": [trained.name]}, \
        "the feature space names the training it needs, which no grid names (asdbench prune keeps it)"
    stamp = (trained / "trained.json").stat().st_mtime_ns
    edited(monkeypatch, "asdbench-methods")
    systems.embeddings(system, 1)
    [aside] = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(f"{trained.name}.stale-")]
    assert (aside / "trained.json").stat().st_mtime_ns == stamp, "the old training is kept, set aside"
    assert f"{trained} was made with other code (asdbench-methods: source" in capsys.readouterr().err
    assert json.loads((trained / "code.json").read_text())["distributions"]["asdbench-methods"]["source"] == \
        "sha256:edited", "trained again, with the installed code"


def test_a_tables_code_is_that_of_its_components_not_of_the_runs_system(tiny_dataset):
    spec = spec_for(tiny_dataset, "ground-truth")
    other = validate_spec({"seed": 2, "dataset": {"name": "synth", "root": str(tiny_dataset)},
                           "system": {**LIGHT_SYSTEM, "labels": "pseudo:ground-truth", "backend": "knn"},
                           "pseudolabel": {"clusterer": TINY_CLUSTERER}, "train": TRAIN}, get_registry())
    assert "system" not in identity(spec, get_registry())
    stages = [codeprint.distributions(s.canonical, codeprint.PSEUDOLABELS, get_registry()) for s in (spec, other)]
    assert stages[0] == stages[1] == ["asdbench", "asdbench-methods"]
    core = {p.name for p in codeprint.core_files(codeprint.PSEUDOLABELS)}
    assert "labelling.py" in core and "metrics.py" not in core
