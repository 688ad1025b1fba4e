"""``--set KEY=VALUE`` on the command line: the spec it gives is the edited file's, hash and all; a bad key or value
is one line naming the option."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asdbench.cli.main import main
from asdbench.errors import SpecError
from asdbench.grid.expand import load_grid
from asdbench.spec.overrides import apply_overrides, parse_override, parse_overrides
from asdbench.spec.validate import load_spec
from tests.helpers.cli import cli_error
from tests.helpers.grids import grid_file

SPEC = """
seed = 2
[dataset]
name = "synth"
root = "data"
[system]
frontends = ["spectrum", {name = "stft", n_fft = 256}]
networks = ["spectrum-cnn", "spectrogram-resnet"]
loss = "scac"
backend = "knn"
[train]
epochs = 4
checkpoints = [2, 4]
"""


def spec_file(tmp_path, text=SPEC, name="run.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def hashes(path, *options, capsys):
    assert main(["spec", str(path), *options]) == 0
    return capsys.readouterr().out.strip().splitlines()[-3:]


@pytest.mark.parametrize(("options", "old", "new"), [
    (["--set", "train.epochs=1", "--set", "train.checkpoints=[1]"],
     "epochs = 4\ncheckpoints = [2, 4]", "epochs = 1\ncheckpoints = [1]"),
    (["--set", 'system.backend={name="knn", k=3}'], 'backend = "knn"', "backend = {name = \"knn\", k = 3}"),
    (["--set", "system.backend.k=3"], 'backend = "knn"', "backend = {name = \"knn\", k = 3}"),
    (["--set", "system.frontends[1].n_fft=512"], "n_fft = 256", "n_fft = 512"),
    (["--set", "system.networks[0]=\"spectrogram-resnet\""], '["spectrum-cnn"', '["spectrogram-resnet"'),
    (["--set", "system.aux=\"subspace\""], 'loss = "scac"', 'loss = "scac"\naux = "subspace"'),
])
def test_set_gives_the_hashes_of_the_edited_file(tmp_path, capsys, options, old, new):
    edited = spec_file(tmp_path, SPEC.replace(old, new), "edited.toml")
    assert SPEC.replace(old, new) != SPEC
    assert hashes(spec_file(tmp_path), *options, capsys=capsys) == hashes(edited, capsys=capsys)


def test_a_dataset_path_given_on_the_command_line_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    spec = load_spec(spec_file(tmp_path), overrides=parse_overrides(["dataset.root=\"mine\""]))
    assert spec.dataset["root"] == str(tmp_path / "elsewhere" / "mine")
    assert load_spec(spec_file(tmp_path)).dataset["root"] == str(tmp_path / "data")  # the file's: beside it


@pytest.mark.parametrize(("option", "message"), [
    ("train.epochs=one", "--set train.epochs=one: 'one' is not a TOML value"),
    ("system.labels=machine", "a string needs quotes, as in the file: --set 'system.labels=\"machine\"'"),
    ("train.epochs", "--set train.epochs: expected KEY=VALUE"),
    ("train..epochs=1", "--set train..epochs=1: 'train..epochs' is not a dotted path"),
    ("train.epochs=1\nseed = 3", "--set 'train.epochs=1\\nseed = 3': expected KEY=VALUE on one line"),
    ("train.epochs.x=1", "--set train.epochs.x=1: train.epochs is 4, not a table"),
    ("system.frontends[2].n_fft=1", "--set system.frontends[2].n_fft=1: system.frontends[2] is past the end of a list "
                                    "of 2"),
    ("system.augmentations[0].probability=1", "system.augmentations is not set, so it has no [0]"),
    ("train.epochz=1", "train.epochz: unknown field; expected one of: epochs, "),
    ("system.backend.k=0", "system.backend.k: expected a number >= 1, got 0 (given as --set system.backend.k=0)"),
])
def test_a_bad_override_is_one_line_naming_the_option(tmp_path, capsys, option, message):
    line = cli_error(["spec", str(spec_file(tmp_path)), "--set", option], capsys)
    assert message in line


def test_an_unknown_field_set_on_the_command_line_says_so(tmp_path, capsys):
    line = cli_error(["spec", str(spec_file(tmp_path)), "--set", "train.epochz=1"], capsys)
    assert line.endswith("(given as --set train.epochz=1)")


def test_one_field_set_twice_is_refused(tmp_path, capsys):
    line = cli_error(["spec", str(spec_file(tmp_path)), "--set", "seed=1", "--set", "seed=2"], capsys)
    assert "--set seed=1 and --set seed=2 set one field" in line


def test_set_changes_a_grids_base_as_the_edited_base_would(fake_system, tiny_dataset, tmp_path):
    path = grid_file(tmp_path, tiny_dataset)
    edited = grid_file(tmp_path, tiny_dataset, name="edited.toml")
    edited.write_text(edited.read_text().replace("epochs = 4", "epochs = 2").replace("checkpoints = [2, 4]",
                                                                                      "checkpoints = [1, 2]"))
    overridden = load_grid(path, overrides=parse_overrides(["train.epochs=2", "train.checkpoints=[1, 2]"]))
    assert [run.spec.hash for run in overridden.runs] == [run.spec.hash for run in load_grid(edited).runs]
    assert [run.spec.hash for run in overridden.runs] != [run.spec.hash for run in load_grid(path).runs]


@pytest.mark.parametrize(("option", "replaced"), [
    ("system.networks=[\"fake-dense\"]", "variant 'wide' of 'system' of "),
    ("system.networks[0].embedding_dim=4", "variant 'wide' of 'system' of "),
    ("seed=7", "axis 'seed' of "),
])
def test_set_of_a_field_the_grid_varies_is_refused(fake_system, tiny_dataset, tmp_path, option, replaced):
    with pytest.raises(SpecError, match=f"{re.escape(f'--set {option}: {replaced}')}.*grid.toml sets"):
        load_grid(grid_file(tmp_path, tiny_dataset), overrides=parse_overrides([option]))


def test_set_in_a_grid_names_the_option_and_the_run(fake_system, tiny_dataset, tmp_path, capsys):
    line = cli_error(["status", str(grid_file(tmp_path, tiny_dataset, seeds=(1,))), "--set", "train.lr=-1"], capsys)
    assert "grid.toml [all 2 runs]: train.lr" in line and line.endswith("(given as --set train.lr=-1)")


@pytest.mark.slow
def test_run_stores_the_overridden_spec(fake_system, tiny_dataset, tmp_path, capsys):
    spec = tmp_path / "run.toml"
    spec.write_text(grid_file(tmp_path, tiny_dataset).read_text().split("[[variants")[0].replace("[base.", "[")
                    .replace("[base]\n", "seed = 1\n"))
    edited = tmp_path / "edited.toml"
    edited.write_text(spec.read_text().replace("epochs = 4", "epochs = 2").replace("[2, 4]", "[2]"))
    assert main(["run", str(spec), "--out", str(tmp_path / "store"), "--set", "train.epochs=2",
                 "--set", "train.checkpoints=[2]"]) == 0
    capsys.readouterr()
    expected = load_spec(edited)
    stored = json.loads((tmp_path / "store" / expected.hash / "spec.json").read_text())
    assert stored == expected.canonical and stored["train"]["epochs"] == 2


VALUES = st.recursive(st.integers(-2**63, 2**63 - 1) | st.booleans() | st.text(max_size=20),
                      lambda inner: st.lists(inner, max_size=4), max_leaves=8)


def toml_value(value):
    """``value`` written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, str):
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7f or c in '"\\' else c
                             for c in value) + '"'
    return str(value)


@given(VALUES)
def test_any_toml_value_is_set_as_written(value):
    override = parse_override(f"system.backend.k={toml_value(value)}")
    assert override.value == value
    assert apply_overrides({"system": {"backend": "knn"}}, [override]) == {
        "system": {"backend": {"name": "knn", "k": value}}}


def test_a_dataset_path_takes_an_environment_variable_or_its_default(tmp_path, monkeypatch, capsys):
    dcase = SPEC.replace('name = "synth"', 'name = "dcase2023"')
    path = spec_file(tmp_path, dcase.replace('root = "data"', 'root = "${MY_DATA:-/data}/ci"\n'
                                             'ground_truth = "${MY_TRUTH}/evaluator"'))
    monkeypatch.delenv("MY_DATA", raising=False)
    monkeypatch.setenv("MY_TRUTH", str(tmp_path / "truth"))
    assert load_spec(path).dataset["root"] == "/data/ci"
    monkeypatch.setenv("MY_DATA", str(tmp_path / "mine"))
    spec = load_spec(path)
    assert (spec.dataset["root"], spec.dataset["ground_truth"]) == (str(tmp_path / "mine" / "ci"),
                                                                    str(tmp_path / "truth" / "evaluator"))
    edited = spec_file(tmp_path, dcase.replace('root = "data"', f'root = "{tmp_path}/mine/ci"\n'
                                               f'ground_truth = "{tmp_path}/truth/evaluator"'), "edited.toml")
    assert spec.hash == load_spec(edited).hash
    monkeypatch.setenv("MY_TRUTH", "")
    line = cli_error(["spec", str(path)], capsys)
    assert "dataset.ground_truth: '${MY_TRUTH}/evaluator' refers to ${MY_TRUTH}, which is not set" in line
