"""Feature-space embeddings as a store level of their own: computed once for every reducer and clusterer, set aside
when made with other code, claimed, and recording their failures (asdbench.store.featurespaces, asdbench.store.once)."""

from __future__ import annotations

import json
import shutil
import zlib
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from asdbench.contract.registry import Registry
from asdbench.data.manifest import build_manifest
from asdbench.errors import AsdbenchError, WriteError
from asdbench.hookspecs import hookimpl
from asdbench.pseudolabel.labelling import units_to_label
from asdbench.spec.validate import validate_spec
from asdbench.store import featurespaces, once
from asdbench.store.listing import SPACE, TABLE, entries, unreferenced
from asdbench.store.pseudolabels import LABELS, compute, identity
from asdbench.store.reading import ERROR
from asdbench.store.store import Store
from tests.helpers.codeedits import edited

SYSTEM = {"frontends": [{"name": "stft", "n_fft": 1024}], "networks": ["spectrogram-resnet"], "loss": "scac",
          "backend": {"name": "kmeans-target", "clusters": 4}, "labels": "pseudo:counted"}
CLUSTERERS = [{"name": "gmm-bic", "selection": "in-sample"}, {"name": "hdbscan", "min_cluster_size": 3},
              {"name": "kmeans"}]
"""The tiny preset has 2 target clips a machine: too few for the published 5-fold held-out BIC."""


class CountedSpace:
    """Clips as 2-D blobs around 3 centres (which one, and the noise, drawn from the clip's path), every unit
    embedded counted."""

    embedded: ClassVar[list[str]] = []
    failing: ClassVar[set[str]] = set()
    """Units (``<split>.<machine>``) whose embedding raises."""

    def __init__(self, context, /) -> None:
        self.context = context

    def embed(self, rows: pd.DataFrame) -> np.ndarray:
        unit = f"{rows['split'].iloc[0]}.{rows['machine'].iloc[0]}"
        if unit in self.failing:
            raise RuntimeError(f"no embedding for {unit}")
        self.embedded.append(unit)
        out = []
        for path in rows["path"]:
            rng = np.random.default_rng(zlib.crc32(path.encode()))
            out.append(np.eye(3)[rng.integers(3), :2] * 5 + rng.normal(size=2))
        return np.array(out)


class Counted:
    @hookimpl
    def asdbench_register_feature_spaces(self, register):
        register("counted", CountedSpace)


@pytest.fixture(scope="module")
def registry():
    return Registry(extra_plugins=[Counted()])


@pytest.fixture(scope="module")
def manifests(tiny_dataset):
    return {split: build_manifest(tiny_dataset, 2024, split) for split in ("dev", "eval")}


@pytest.fixture(autouse=True)
def count(monkeypatch):
    monkeypatch.setattr(CountedSpace, "embedded", [])
    monkeypatch.setattr(CountedSpace, "failing", set())
    return CountedSpace.embedded


def spec_for(root, registry, seed=2, **pseudolabel):
    """A labelling of the counted space; at most 3 source clusters, which keeps the GMM's BIC search short."""
    return validate_spec({"seed": seed, "dataset": {"name": "synth", "root": str(root)}, "system": SYSTEM,
                          "pseudolabel": {"feature_space": "counted", "reducer": "none", "clusterer": CLUSTERERS[0],
                                          "max_clusters_source": 3, **pseudolabel}}, registry)


def label(spec, registry, root, manifests):
    return compute(spec, registry, root, manifests, systems=Store(root).systems(spec, registry, progress=False),
                   progress=False)


def units(manifests):
    return sorted(f"{split}.{machine}" for split, manifest in manifests.items()
                  for machine, _ in units_to_label(manifest, "unlabelled"))


def test_a_clusterer_and_cluster_count_sweep_embeds_once_and_labels_as_from_scratch(registry, manifests,
                                                                                    tiny_dataset, tmp_path, count):
    """Reducers are swept the same way: a table reduces the stored embeddings. Two UMAP settings cost numba's
    compilation (~15 s) here; benchmarks/test_bench_pseudolabel.py sweeps them over a Triplet space, counted."""
    sweep = [spec_for(tiny_dataset, registry, clusterer=clusterer, max_clusters_source=limit)
             for limit in (2, 3) for clusterer in CLUSTERERS]
    tables = [label(spec, registry, tmp_path / "sweep", manifests) for spec in sweep]
    assert count == units(manifests), "each unit embedded once for the whole sweep"
    [space] = (tmp_path / "sweep" / "featurespaces").iterdir()
    assert {t.feature_space for t in tables} == {space}, "each table names the feature space it clustered"
    assert sorted(p.name for p in (space / "units").iterdir()) == [f"{u}.00.npz" for u in units(manifests)]
    assert len({t.directory for t in tables}) == len(sweep) == 6
    for index, (spec, table) in enumerate(zip(sweep, tables)):
        alone = label(spec, registry, tmp_path / f"scratch{index}", manifests)
        pd.testing.assert_frame_equal(table.table, alone.table)
    assert len(count) == len(units(manifests)) * (1 + len(sweep)), "from scratch: embedded again for each table"


def test_the_tables_identity_is_what_it_was_and_the_feature_spaces_leaves_out_the_labelling(registry, tiny_dataset):
    """A table's hash is that of its identity before feature spaces were stored apart: every stored table is found."""
    spec = spec_for(tiny_dataset, registry, clusterer="kmeans", max_clusters_source=5, transductive=True)
    old_identity = {"dataset": spec.dataset, "data": identity(spec, registry)["data"], "seed": 2,
                    "pseudolabel": spec.canonical["pseudolabel"]}
    assert identity(spec, registry) == old_identity
    assert featurespaces.identity(spec, registry) == {
        **{key: value for key, value in old_identity.items() if key != "pseudolabel"}, "feature_space": {"name": "counted"}}
    other = spec_for(tiny_dataset, registry, reducer={"name": "umap", "n_neighbors": 4}, machines="all")
    assert featurespaces.identity(other, registry) == featurespaces.identity(spec, registry)
    assert identity(other, registry) != identity(spec, registry)


def test_a_table_computed_before_feature_spaces_were_stored_apart_is_read_back(registry, manifests, tiny_dataset,
                                                                               tmp_path, count):
    spec = spec_for(tiny_dataset, registry)
    first = label(spec, registry, tmp_path, manifests)
    (first.directory / "featurespace.json").unlink()  # as a table of before was left
    shutil.rmtree(tmp_path / "featurespaces")
    stamp = (first.directory / LABELS).stat().st_mtime_ns
    count.clear()
    again = label(spec, registry, tmp_path, manifests)
    assert again.directory == first.directory and (first.directory / LABELS).stat().st_mtime_ns == stamp
    assert count == [] and not (tmp_path / "featurespaces").exists() and again.feature_space is None


def test_embeddings_made_with_other_code_are_set_aside_and_computed_again(registry, manifests, tiny_dataset, tmp_path,
                                                                          count, monkeypatch, capsys):
    spec = spec_for(tiny_dataset, registry)
    first = label(spec, registry, tmp_path, manifests)
    [space] = (tmp_path / "featurespaces").iterdir()
    assert json.loads((space / "code.json").read_text())["stage"] == "featurespace"
    assert "asdbench-methods" not in json.loads((space / "code.json").read_text())["distributions"], \
        "the reducer's and clusterer's distribution does not make the embeddings"

    edited(monkeypatch, "asdbench-methods")  # the clusterer's code: the table again, on the same embeddings
    label(spec, registry, tmp_path, manifests)
    assert count == units(manifests) and not list((tmp_path / "featurespaces").glob("*.stale-*"))
    [table_aside] = (tmp_path / "pseudolabels").glob(f"{first.directory.name}.stale-*")

    edited(monkeypatch, "asdbench")  # the core's: the embeddings again, and so the table
    again = label(spec, registry, tmp_path, manifests)
    assert count == units(manifests) * 2
    [aside] = (tmp_path / "featurespaces").glob(f"{space.name}.stale-*")
    assert len(list((tmp_path / "pseudolabels").glob(f"{first.directory.name}.stale-*"))) == 2, "both kept"
    assert sorted(p.name for p in (aside / "units").iterdir()) == sorted(p.name for p in (space / "units").iterdir())
    assert f"{space} was made with other code (asdbench: source" in capsys.readouterr().err
    assert json.loads((space / "code.json").read_text())["distributions"]["asdbench"]["source"] == "sha256:edited"
    pd.testing.assert_frame_equal(again.table, first.table)


def test_a_damaged_or_foreign_unit_file_is_set_aside_and_embedded_again(registry, manifests, tiny_dataset, tmp_path,
                                                                        count, capsys):
    spec = spec_for(tiny_dataset, registry)
    first = label(spec, registry, tmp_path, manifests)
    [space] = (tmp_path / "featurespaces").iterdir()
    damaged, foreign = sorted((space / "units").iterdir())
    damaged.write_bytes(b"not a zip")
    with foreign.open("wb") as handle:
        np.savez(handle, output=np.zeros((2, 2)), paths=np.array(["a.wav", "b.wav"]))
    count.clear()
    (first.directory / LABELS).unlink()
    again = label(spec, registry, tmp_path, manifests)
    assert count == units(manifests)
    err = capsys.readouterr().err
    assert f"{damaged} is damaged" in err and f"{foreign} is damaged (it embeds 2 clips that are not the" in err
    pd.testing.assert_frame_equal(again.table, first.table)


def test_a_failed_feature_space_or_labelling_leaves_its_error(registry, manifests, tiny_dataset, tmp_path, count):
    spec = spec_for(tiny_dataset, registry)
    unit = units(manifests)[-1]  # embedded last
    CountedSpace.failing.add(unit)
    with pytest.raises(AsdbenchError, match=f"no embedding for {unit}"):
        label(spec, registry, tmp_path, manifests)
    [table] = (tmp_path / "pseudolabels").iterdir()
    [space] = (tmp_path / "featurespaces").iterdir()
    for directory in (table, space):
        assert f"no embedding for {unit}" in json.loads((directory / ERROR).read_text())["error"]
        assert "Traceback" in json.loads((directory / ERROR).read_text())["traceback"]
    assert {e.kind: e.state for e in entries(tmp_path)} == {TABLE: "failed", SPACE: "failed"}
    assert len(list((space / "units").iterdir())) == 1, "the unit embedded before the failure is kept"

    CountedSpace.failing.clear()
    label(spec, registry, tmp_path, manifests)
    assert not (table / ERROR).exists() and not (space / ERROR).exists(), "a success clears the failure"
    assert {e.kind: e.state for e in entries(tmp_path)} == {TABLE: "done", SPACE: "done"}
    assert count == units(manifests), "each unit embedded once: the one before the failure is not embedded again"


def test_a_kept_table_keeps_its_feature_space_and_the_rest_is_pruned(registry, manifests, tiny_dataset, tmp_path):
    kept = label(spec_for(tiny_dataset, registry), registry, tmp_path, manifests)
    dropped = label(spec_for(tiny_dataset, registry, clusterer="kmeans"), registry, tmp_path, manifests)
    other_seed = spec_for(tiny_dataset, registry, seed=3)
    other = label(other_seed, registry, tmp_path, manifests)
    found = unreferenced(tmp_path, set(), set(), {kept.directory.name})
    assert {e.path for e in found} == {dropped.directory, other.directory,
                                       featurespaces.directory_of(other_seed, registry, tmp_path)}
    assert not [e for e in unreferenced(tmp_path, set(), set(), None) if e.kind in (TABLE, SPACE)]


def test_a_level_is_computed_once_waited_for_and_its_failure_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(once, "POLL_SECONDS", 0)
    refusals, computed = [None, None], []

    class Lock:
        def release(self):
            pass

    def claim(directory):  # another process holds it twice, then has finished it
        return refusals.pop(0) if refusals else Lock()

    once.compute_once(tmp_path, claim=claim, finished=lambda: not refusals, compute=lambda: computed.append(1),
                      progress=False)
    assert computed == [] and refusals == [], "held elsewhere: waited for, then found finished, never computed"
    once.compute_once(tmp_path, claim=lambda d: Lock(), finished=lambda: bool(computed),
                      compute=lambda: computed.append(1), progress=False)
    assert computed == [1]

    def fail():
        raise ValueError("bad option")

    with pytest.raises(ValueError):
        once.compute_once(tmp_path, claim=lambda d: Lock(), finished=lambda: False, compute=fail, progress=False)
    assert json.loads((tmp_path / ERROR).read_text())["error"] == "ValueError: bad option"
    (tmp_path / ERROR).unlink()

    def full_disk():
        raise WriteError("disk full")

    with pytest.raises(WriteError):
        once.compute_once(tmp_path, claim=lambda d: Lock(), finished=lambda: False, compute=full_disk, progress=False)
    assert not (tmp_path / ERROR).exists(), "a store that cannot be written is no failure of the level"

