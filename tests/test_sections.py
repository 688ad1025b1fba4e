"""A section is a unit of work: the `sections` preset (two sections per machine, dev 00-01 and eval 02-03, as DCASE
2020-2022 have several) is read section by section, trained, scored and evaluated per machine section, pseudo-labelled
per section, and rendered as a per-machine-and-section leaderboard, from the command line."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdbench.cli.main import main
from asdbench.data.layout import attributes_file
from asdbench.data.manifest import build_manifest
from asdbench.data.readers import synth_description
from asdbench.data.units import EMBEDDING_KEYS, embedding_key, units_of
from asdbench.errors import DataError
from asdbench.files.damaged import DamagedFile
from asdbench.store.layout import EMBEDDING_KEYS_ENTRY, embeddings_path, trained_embeddings
from asdbench.synth.generate import generate

SECTIONS = {"dev": ("00", "01"), "eval": ("02", "03")}


@pytest.fixture(scope="module")
def sections_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sections") / "data"
    generate(root, "sections", seed=0, progress=False)
    return root


def manifest(root: Path, split: str) -> pd.DataFrame:
    return build_manifest(root, 2024, split, ground_truth=root / "ground_truth",
                          hidden_attributes=root / "hidden_attributes", sections=SECTIONS[split])


def test_every_section_is_read_with_its_own_attributes_ground_truth_and_released_attributes(sections_dataset):
    assert synth_description(sections_dataset) == (2024, SECTIONS)
    for split, sections in SECTIONS.items():
        rows = manifest(sections_dataset, split)
        assert sorted(rows["section"].unique()) == list(sections)
        for (machine, section), unit in rows.groupby(["machine", "section"]):
            assert set(unit["subset"]) == {"train", "test"}
            assert unit["file"].str.startswith(f"section_{section}_").all(), (machine, section)
        assert (rows["label"] != "unknown").all(), "the ground truth of every eval section is read"
        hidden = rows[(rows["attribute_string"] == "noAttribute") & (rows["subset"] == "train")]
        assert len(hidden) and hidden["hidden_attributes"].map(bool).all(), "released attributes of every section"
    units = units_of({split: manifest(sections_dataset, split) for split in SECTIONS})
    assert [u.key for u in units][:2] == ["dev.fan.00", "dev.fan.01"] and len(units) == 8
    assert units[1].embedding_key("train") == embedding_key("dev", "fan", "01", "train") == "dev.fan.01.train"


def test_the_dataset_plugin_reads_a_synthetic_dataset_with_its_own_sections(sections_dataset):
    from asdbench.contract.registry import get_registry

    dataset = get_registry().create("datasets", "synth", root=str(sections_dataset))
    assert sorted(dataset.manifest("eval")["section"].unique()) == ["02", "03"]


def test_a_year_read_with_its_own_sections_refuses_another_section_naming_the_file(sections_dataset):
    with pytest.raises(DataError, match=r"train/section_02_\w+\.wav: section 02; \w+ of the DCASE 2024 Task 2 eval data "
                                        "has section 00"):
        build_manifest(sections_dataset, 2024, "eval")
    with pytest.raises(DataError, match=r"ground truth of section 02 of \w+, which it does not have"):
        build_manifest(sections_dataset, 2024, "eval", ground_truth=sections_dataset / "ground_truth")


@pytest.fixture
def copy(sections_dataset, tmp_path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(sections_dataset, root)
    return root


def test_a_section_without_clips_is_refused_naming_the_folder(copy):
    for path in (copy / "dev_data/raw/fan/test").glob("section_01_*.wav"):
        path.unlink()
    with pytest.raises(DataError, match=r"fan/test: no test clips of section 01; this dev machine has sections 00, 01"):
        manifest(copy, "dev")


def test_a_clip_missing_from_its_sections_attribute_table_names_that_table(copy):
    table = attributes_file(copy / "dev_data/raw/fan", "01")
    lines = table.read_text().splitlines()
    table.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    with pytest.raises(DataError, match=r"no row .* in .*fan/attributes_01\.csv"):
        manifest(copy, "dev")


def test_embeddings_with_keys_of_another_version_are_set_aside(tmp_path, capsys):
    path = embeddings_path(tmp_path, 1)
    path.parent.mkdir(parents=True)
    np.savez(path, **{"dev.fan.train": np.zeros((2, 3))})  # version 1: no section, no version entry
    with pytest.raises(DamagedFile, match="written with other embedding keys"):
        trained_embeddings(tmp_path, 1)
    assert not path.exists() and "embedding keys are of version no version" in capsys.readouterr().err
    np.savez(path, **{"dev.fan.00.train": np.zeros((2, 3)), EMBEDDING_KEYS_ENTRY: np.array(EMBEDDING_KEYS)})
    assert list(trained_embeddings(tmp_path, 1)) == ["dev.fan.00.train"]


GRID = """
[base]
[base.dataset]
name = "synth"
root = "{root}"
[base.system]
frontends = [{{name = "stft", n_fft = 256}}]
networks = [{{name = "spectrogram-resnet"}}]
loss = "scac"
backend = {{name = "kmeans-target", clusters = 2}}
[base.train]
epochs = 1
checkpoints = [1]
batch_size = 16
clip_seconds = 1.0

[[variants.labels]]
name = "attributes"
[[variants.labels]]
name = "pseudo GT"
"system.labels" = "pseudo:ground-truth"
"pseudolabel.reducer" = "none"

[axes]
seed = [1, 2]

[table]
rows = ["labels", "machine"]
columns = "split"
value = "hmean"
"""


@pytest.mark.slow
def test_a_grid_trains_scores_evaluates_and_tables_every_machine_section(sections_dataset, tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(root=sections_dataset))
    out = tmp_path / "runs"
    assert main(["grid", str(grid), "--out", str(out)]) == 0
    results = sorted(out.glob("*/*/results.json"))
    assert len(results) == 4
    for path in results:
        record = json.loads(path.read_text())
        for split, sections in SECTIONS.items():
            machines = record["splits"][split]["machines"]
            assert sorted((m["machine"], m["section"]) for m in machines) == sorted(
                (machine, section) for machine in {m["machine"] for m in machines} for section in sections)
            scores = path.parent / "scores" / split
            assert sorted(p.name for p in scores.glob("anomaly_score_*.csv")) == sorted(
                f"anomaly_score_{m['machine']}_section_{m['section']}_test.csv" for m in machines)
        # the stored figures are those of the official score files, evaluated again per section from the CLI
        capsys.readouterr()
        assert main(["evaluate", str(path.parent / "scores" / "eval"), "--dataset-root", str(sections_dataset),
                     "--year", "2024", "--split", "eval", "--ground-truth", str(sections_dataset / "ground_truth"),
                     "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == record["splits"]["eval"]
        embeddings = trained_embeddings(path.parent.parent, 1)
        assert {key.rsplit(".", 1)[0] for key in embeddings} >= {"dev.fan.00", "dev.fan.01", "eval.ToyTank.03"}
    tables = sorted((out / "pseudolabels").glob("*/labels.csv"))
    assert len(tables) == 2, "one table per seed"
    labels = pd.read_csv(tables[0], dtype=str)
    assert set(labels["section"]) == {"00", "01", "02", "03"}, "every section of the concealed machines is labelled"
    assert labels.apply(lambda r: r["label"].startswith(f"pseudo/{r['split']}/{r['machine']}/{r['section']}/"),
                        axis=1).all()
    capsys.readouterr()
    assert main(["leaderboard", str(grid), "--out", str(out), "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)
    rows = {cell["row"] for cell in cells}
    assert {"attributes / fan / section 00", "attributes / fan / section 01",
            "pseudo GT / ToyTank / section 03"} <= rows
    assert all(cell["count"] == 2 for cell in cells), "each cell: one machine section over two seeds, never two"
    capsys.readouterr()
    assert main(["plot-space", str(tables[0].parent), "--machine", "gearbox"]) == 2
    assert "has a space per section in" in capsys.readouterr().err
    assert main(["plot-space", str(tables[0].parent), "--machine", "gearbox", "--section", "01"]) == 2
    assert "names classes directly; it has no 2-D space" in capsys.readouterr().err, "the GT space: labels only"


def test_a_table_that_names_the_section_keeps_its_own_layout():
    from asdbench.report.leaderboard import _with_sections

    machines = pd.DataFrame({"split": "dev", "machine": ["fan", "fan"], "section": ["00", "01"]})
    assert _with_sections(["system", "machine"], ["split"], machines) == (["system", "machine", "section"], ["split"])
    assert _with_sections(["section"], ["machine"], machines) == (["section"], ["machine"])
    one = machines.assign(section="00")
    assert _with_sections(["system", "machine"], ["split"], one) == (["system", "machine"], ["split"])


def test_sections_need_no_new_grid_word(tmp_path):
    """``section`` is a coordinate of the results, as split and machine: no variant group or axis may take it."""
    from asdbench.errors import SpecError
    from asdbench.grid.expand import load_grid

    grid = tmp_path / "grid.toml"
    grid.write_text(textwrap.dedent("""
        [base]
        [base.dataset]
        name = "synth"
        root = "data"
        [base.system]
        backend = "knn"
        [[variants.section]]
        name = "a"
    """))
    with pytest.raises(SpecError, match="section"):
        load_grid(grid)
