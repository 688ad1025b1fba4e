"""Every spec, grid and table is validated before any work: each bad input below is refused by the command line
in one line naming the file and the field, with a non-zero exit and no traceback."""

from __future__ import annotations

import re
import textwrap
from typing import Annotated

import numpy as np
import pytest

from asdbench.cli.main import main
from asdbench.contract.constraints import OneOf, Range, Satisfies
from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import SpecError
from asdbench.grid.expand import load_grid
from asdbench.hookspecs import hookimpl
from asdbench.report import heatmap as heatmaps
from asdbench.spec.validate import validate_spec
from asdbench.store.store import Store
from tests.helpers.grids import grid_file

SPEC = """\
seed = 1
[dataset]
name = "synth"
root = "data"
[system]
frontends = [{name = "spectrum"}, {name = "stft", n_fft = 256}]
networks = ["spectrum-cnn", "spectrogram-resnet"]
loss = "scac"
augmentations = ["mixup"]
backend = "knn"
"""


def refused(capsys, argv: list[str], *fragments: str) -> str:
    """Run the command line; assert it fails with one line holding every fragment and no traceback."""
    assert main(argv) != 0
    err = capsys.readouterr().err
    lines = [line for line in re.split(r"[\r\n]", err) if line.strip() and not line.startswith("grid ")]  # a bar
    assert len(lines) == 1 and lines[0].startswith("asdbench: error: "), err
    assert "Traceback" not in err and all(fragment in lines[0] for fragment in fragments), err
    return lines[0]


# --- run specs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field", "expected"), [
    ('backend = "knn"', 'backend = {name = "knn", k = 0}', "system.backend.k", "a number >= 1, got 0"),
    ('backend = "knn"', 'backend = {name = "kmeans-target", clusters = 0}', "system.backend.clusters", ">= 1"),
    ("n_fft = 256", "n_fft = 0", "system.frontends[1].n_fft", "a number >= 16, got 0"),
    ("n_fft = 256", "n_fft = 300", "system.frontends[1].n_fft", "a power of two, got 300"),
    ('{name = "stft", n_fft = 256}', '{name = "stft", f_max = 9000.0}', "system.frontends[1].f_max", "<= 8000"),
    ('"mixup"', '{name = "mixup", probability = 1.5}', "system.augmentations[0].probability",
     "a number >= 0 and <= 1, got 1.5"),
    ('"mixup"', '{name = "mixup", probability = nan}', "system.augmentations[0].probability",
     "a finite number, got nan"),
    ('loss = "scac"', 'loss = {name = "arcface", margin = 2.0}', "system.loss.margin", "< 1.5708"),
    ('loss = "scac"', 'loss = {name = "scac", subclusters = 0}', "system.loss.subclusters", ">= 1"),
    ('"spectrum-cnn"', '{name = "spectrum-cnn", embedding_dim = 0}', "system.networks[0].embedding_dim", ">= 1"),
    ("seed = 1", "seed = 1\n[train]\nclip_seconds = inf", "train.clip_seconds", "finite"),
])
def test_spec_refuses_an_out_of_range_option_naming_file_and_field(tmp_path, capsys, old, new, field, expected):
    spec = tmp_path / "run.toml"
    assert old in SPEC
    spec.write_text(SPEC.replace(old, new))
    refused(capsys, ["spec", str(spec)], f"{spec}: {field}: expected", expected)


def test_the_unchanged_spec_is_accepted(tmp_path, capsys):
    spec = tmp_path / "run.toml"
    spec.write_text(SPEC)
    assert main(["spec", str(spec)]) == 0


@pytest.mark.parametrize(("section", "option", "value", "expected"), [
    ("reducer", "umap", "n_neighbors = 1", "n_neighbors: expected a number >= 2"),
    ("clusterer", "gmm-bic", 'covariance = "ful"', "covariance: expected one of 'full', 'tied'"),
    ("clusterer", "gmm-bic", "folds = 1", "folds: expected a number >= 2"),
    ("clusterer", "hdbscan", "min_cluster_size = 1", "min_cluster_size: expected a number >= 2"),
    ("feature_space", "panns", "batch_size = 0", "batch_size: expected a number >= 1"),
    ("feature_space", "triplet", "lr = 0.0", "lr: expected a number > 0"),
])
def test_pseudo_labelling_options_are_checked_too(tmp_path, capsys, section, option, value, expected):
    space = option if section == "feature_space" else "ground-truth"
    spec = tmp_path / "run.toml"
    spec.write_text(SPEC.replace('loss = "scac"', f'loss = "scac"\nlabels = "pseudo:{space}"')
                    + f'[pseudolabel.{section}]\nname = "{option}"\n{value}\n')
    refused(capsys, ["spec", str(spec)], f"pseudolabel.{section}.", expected)


def test_spec_path_that_is_a_directory_or_not_utf8_is_named(tmp_path, capsys):
    folder = tmp_path / "run.toml"
    folder.mkdir()
    refused(capsys, ["spec", str(folder)], str(folder), "is a directory")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(SPEC.replace("synth", "synth\xe9").encode("latin-1"))
    refused(capsys, ["spec", str(latin)], str(latin), "not a UTF-8 text file")


# --- the declaration mechanism, as a third-party plugin uses it -------------------------------------------


class Declared:
    """An inline plugin whose factory declares its options' constraints (evaluated annotations)."""

    @staticmethod
    def factory(*, k: Annotated[int, Range(ge=1, lt=10)] = 1,
                mode: Annotated[str, OneOf("a", "b")] = "a",
                even: Annotated[int, Satisfies(lambda n: n % 2 == 0, "an even number")] = 2,
                free: float = 0.5):
        raise AssertionError("validation never builds the component")

    @hookimpl
    def asdbench_register_backends(self, register):
        register("declared", self.factory)


POSTPONED = textwrap.dedent("""
    from __future__ import annotations
    from typing import Annotated
    from asdbench.api import Range, hookimpl

    def factory(*, k: Annotated[int, Range(gt=0)] = 1):
        raise AssertionError("not built")

    def unreadable(*, k: Annotated[int, Rnage(gt=0)] = 1):
        raise AssertionError("not built")

    @hookimpl
    def asdbench_register_backends(register):
        register("postponed", factory)
        register("unreadable", unreadable)
""")


def spec_with_backend(backend: dict) -> dict:
    return {"dataset": {"name": "synth", "root": "data"}, "system": {"frontends": ["spectrum"], "backend": backend}}


@pytest.mark.parametrize(("options", "message"), [
    ({"k": 0}, "system.backend.k: expected a number >= 1 and < 10, got 0"),
    ({"k": 10}, "system.backend.k: expected a number >= 1 and < 10, got 10"),
    ({"mode": "c"}, "system.backend.mode: expected one of 'a', 'b', got 'c'"),
    ({"even": 3}, "system.backend.even: expected an even number, got 3"),
    ({"free": float("inf")}, "system.backend.free: expected a finite number, got inf"),
])
def test_declared_constraints_are_checked(tmp_path, options, message):
    registry = Registry(entry_points=True, extra_plugins=[Declared()])
    with pytest.raises(SpecError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        validate_spec(spec_with_backend({"name": "declared", **options}), registry, base_dir=tmp_path)
    valid = validate_spec(spec_with_backend({"name": "declared", "k": 9, "mode": "b", "even": 4}), registry,
                          base_dir=tmp_path)
    assert valid.system["backend"] == {"name": "declared", "k": 9, "mode": "b", "even": 4, "free": 0.5}


def test_postponed_annotations_are_read_and_an_unreadable_one_names_the_plugin(tmp_path):
    module = type(textwrap)("asdbench_postponed_example")
    exec(compile(POSTPONED, "asdbench_postponed_example.py", "exec"), module.__dict__)  # noqa: S102 - our own example
    registry = Registry(entry_points=True, extra_plugins=[module])
    with pytest.raises(SpecError, match=r"system\.backend\.k: expected a number > 0, got 0"):
        validate_spec(spec_with_backend({"name": "postponed", "k": 0}), registry, base_dir=tmp_path)
    assert validate_spec(spec_with_backend({"name": "postponed", "k": 3}), registry,
                         base_dir=tmp_path).system["backend"]["k"] == 3
    with pytest.raises(SpecError, match="backend 'unreadable'.*annotation of option 'k'.*Rnage"):
        validate_spec(spec_with_backend({"name": "unreadable"}), registry, base_dir=tmp_path)


# --- grids and tables -------------------------------------------------------------------------------------


def write_grid(tmp_path, body: str) -> str:
    (tmp_path / "run.toml").write_text(SPEC)
    path = tmp_path / "grid.toml"
    path.write_text('base = "run.toml"\n' + textwrap.dedent(body))
    return str(path)


@pytest.mark.parametrize(("body", "expected"), [
    ('axes = ["seed", 1]\n', "axes must be a table"),
    ('[variants]\nsystem = ["A"]\n', "variants.system must be a non-empty list of [[variants.system]] tables"),
    ("[axes]\nseed = [1]\n[table]\nrows = 5\n", "table.rows must name a group"),
    ('[axes]\nseed = [1]\n[table]\nvalue = "oficial_score"\n', "table.value must be one of official_score"),
    ('[axes]\n"system.backend" = [{name = "knn", k = 0}]\n', "system.backend.k: expected a number >= 1"),
    ('table = 3\n', "table must be a table"),
    # issue 22 §6: grids that showed one run as two rows, counted it twice, or hid or overrode a variant
    ("[axes]\nseed = [1, 1]\n", "axes.seed lists 1 twice: it would be one run counted twice in every mean"),
    ('[[variants.system]]\nname = "A"\n[[variants.system]]\nname = "B"\n"train.compile" = true\n',
     "[system=A] and [system=B] are one run ("),
    ('[axes]\n"system.backend" = ["knn", {name = "knn", k = 1}]\n',
     "[system.backend=knn] and [system.backend={'name': 'knn', 'k': 1}] are one run ("),
    ('[[variants.split]]\nname = "A"\n[[variants.split]]\nname = "B"\nseed = 2\n',
     "variants.split: 'split' is a coordinate of the results (split, machine, section)"),
    ('[[variants.system]]\nname = "A"\nseed = 7\n[[variants.system]]\nname = "B"\n[axes]\nseed = [1, 2]\n',
     "axis 'seed' sets 'seed', replacing the 'seed' that variant 'A' of 'system' sets"),
    ('[[variants.k]]\nname = "k=3"\n"system.backend.k" = 3\n[axes]\n"system.backend" = ["knn", "kmeans-target"]\n',
     "axis 'system.backend' sets 'system.backend', replacing the 'system.backend.k' that variant 'k=3' of 'k' sets"),
    ('[axes]\nseed = [1, 2]\n[table]\nrows = "seed"\ncolumns = "seed"\n',
     "table.rows and table.columns both name 'seed'"),
    ('[axes]\nseed = [1, 2]\n[table]\nrows = ["seed", "seed"]\n', "table.rows names 'seed' twice"),
])
def test_grid_refuses_a_malformed_grid_before_running_anything(tmp_path, capsys, body, expected):
    path = write_grid(tmp_path, body)
    refused(capsys, ["grid", path, "--out", str(tmp_path / "runs")], path, expected)
    assert not (tmp_path / "runs").exists(), "nothing ran"


def test_grid_file_that_is_a_directory_is_named(tmp_path, capsys):
    refused(capsys, ["status", str(tmp_path)], str(tmp_path), "is a directory")


def test_unreachable_dask_scheduler_is_named_quickly(tiny_dataset, tmp_path, capsys):
    import time

    path = write_grid(tmp_path, "[axes]\nseed = [1]\n")
    started = time.monotonic()  # the grid's checks pass (its data are there), then the scheduler does not answer
    refused(capsys, ["grid", path, "--set", f'dataset.root="{tiny_dataset}"', "--executor", "dask", "--scheduler",
                     "tcp://127.0.0.1:1", "--out", str(tmp_path / "runs")], "tcp://127.0.0.1:1",
            "no Dask scheduler answered")
    assert time.monotonic() - started < 25, "Dask's own connect timeout is 30 s"


def test_never_run_grid_compare_and_heatmap_are_refused(tmp_path, capsys):
    path = write_grid(tmp_path, '[[variants.system]]\nname = "A"\n[[variants.system]]\nname = "B"\n'
                                '"system.backend" = {name = "knn", k = 3}\n')
    (tmp_path / "runs").mkdir()
    out = ["--out", str(tmp_path / "runs")]
    refused(capsys, ["leaderboard", path, *out, "--compare", "A", "B"], path, "no finished run")
    refused(capsys, ["leaderboard", path, *out, "--heatmap", str(tmp_path / "map.png")], path, "no finished run")
    assert not (tmp_path / "map.png").exists()


@pytest.mark.parametrize(("content", "expected"), [
    ('{"row": "A"}', "expected a list of cells"),
    ("[1, 2]", "cell [0]: expected an object with row, column and mean"),
    ('[{"row": "A", "column": "dev", "mean": "high"}]', "cell [0].mean: expected a number or null"),
])
def test_leaderboard_check_with_a_misshapen_file_names_it(tmp_path, capsys, content, expected):
    path = write_grid(tmp_path, "")
    reference = tmp_path / "committed.json"
    reference.write_text(content)
    refused(capsys, ["leaderboard", path, "--out", str(tmp_path / "runs"), "--check", str(reference)],
            str(reference), expected)


@pytest.mark.slow
def test_table_machines_must_name_machines_of_the_finished_results(fake_system, tiny_dataset, tmp_path, capsys):
    path = grid_file(tmp_path, tiny_dataset, seeds=(1,))
    path.write_text(path.read_text().replace('columns = "split"', 'columns = "machine"\nvalue = "hmean"\n'
                                             'machines = ["fann"]'))
    grid = load_grid(path)
    small = next(r for r in grid.runs if r.coordinates["system"] == "small")
    out = ["--out", str(tmp_path / "store")]
    (tmp_path / "store").mkdir()
    assert main(["leaderboard", str(path), *out]) == 0, "before any run finishes there is nothing to check against"
    capsys.readouterr()
    Store(tmp_path / "store").attempt(small.spec, get_registry())
    refused(capsys, ["leaderboard", str(path), *out], str(path), "table.machines names 'fann'",
            "machines: fan, gearbox")

    path.write_text(path.read_text().replace('columns = "machine"\nvalue = "hmean"\nmachines = ["fann"]',
                                             'columns = "split"'))
    heatmap = tmp_path / "map.png"
    assert main(["leaderboard", str(path), *out, "--heatmap", str(heatmap)]) == 0
    import matplotlib.image

    pixels = matplotlib.image.imread(heatmap)[..., :3]
    grey = np.all(np.abs(pixels - int(heatmaps.MISSING_COLOUR[1:3], 16) / 255) < 0.01, axis=-1)
    assert grey.sum() > 1000, "the 'wide' row, never run, is drawn grey"


def test_baseline_refuses_zero_bands(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["baseline", str(tmp_path), "--bands", "0", "--out", str(tmp_path / "out")])
    assert exit_.value.code != 0
    assert "argument --bands: expected a positive integer, got '0'" in capsys.readouterr().err



# --- issue 22 §6: the remaining spec and grid cases ---------------------------------------------------------


def test_an_auxiliary_loss_given_as_the_main_loss_is_refused(tmp_path, capsys):
    spec = tmp_path / "run.toml"
    spec.write_text(SPEC.replace('loss = "scac"', 'loss = "featex"'))
    refused(capsys, ["spec", str(spec)], f"{spec}: system.loss: loss 'featex'", "is an auxiliary term, not a main loss",
            "give it as system.aux", "main losses: adacos, adaproj, arcface, image-cross-entropy, reconstruction, scac, subspace")
    spec.write_text(SPEC.replace('loss = "scac"', 'loss = "scac"\naux = "featex"'))
    assert main(["spec", str(spec)]) == 0


def test_a_run_spec_given_for_a_grid_and_a_grid_given_for_a_run_say_which_file_is_which(tmp_path, capsys):
    grid = write_grid(tmp_path, "[axes]\nseed = [1, 2]\n")
    spec = str(tmp_path / "run.toml")
    for command in ("status", "leaderboard", "grid"):
        refused(capsys, [command, spec, "--out", str(tmp_path / "runs")],
                f"{spec} is a run spec (it has seed, dataset, system), not a grid file: `asdbench run`, `spec` and "
                "`pseudolabel` take run specs")
    for command in ("run", "spec"):
        refused(capsys, [command, grid], f"{grid} is a grid file (it has base, axes), not a run spec: "
                "`asdbench grid`, `status` and `leaderboard` take grid files")
    assert not (tmp_path / "runs").exists()


def test_a_grid_nested_thousands_deep_is_named(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    path.write_text(f'base = "run.toml"\n[axes]\nseed = {"[" * 5000}{"]" * 5000}\n')
    refused(capsys, ["status", str(path)], f"{path}: arrays or tables nested more than 64 deep")


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_grid_refuses_fewer_than_one_worker(tmp_path, capsys, workers):
    path = write_grid(tmp_path, "[axes]\nseed = [1, 2]\n")
    with pytest.raises(SystemExit) as exit_:
        main(["grid", path, "--out", str(tmp_path / "runs"), "--workers", workers])
    assert exit_.value.code != 0
    assert f"argument --workers: expected a positive integer, got '{workers}'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_knn_k_above_a_machines_training_clips_fails_before_any_training(tiny_dataset, tmp_path, capsys):
    spec = tmp_path / "run.toml"
    spec.write_text(SPEC.replace('root = "data"', f'root = "{tiny_dataset}"')
                    .replace('backend = "knn"', 'backend = {name = "knn", k = 100000}'))
    line = refused(capsys, ["run", str(spec), "--out", str(tmp_path / "runs")],
                   "backend 'knn': k=100000 but only", "training clips; lower the backend's `k` option")
    assert re.search(r"dev/\w+", line), line  # the split and machine
    assert not list((tmp_path / "runs").glob("*/checkpoints/*")), "nothing was trained"
