"""Bad input named when it is read: damaged audio, damaged cache entries, malformed official-format files,
unwritable output and cache directories, and a plugin that exits while being imported (issue 13, sections 1, 3).

Each case is one line naming the file (and line) at fault, a non-zero exit from the CLI without a traceback, and
nothing written before it lost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asdbench.cli.main import main
from asdbench.contract.registry import Registry
from asdbench.data.audio import AudioCache, decode
from asdbench.data.manifest import build_manifest
from asdbench.errors import DataError, PathError
from tests.helpers.cli import cli_error
from tests.helpers.distributions import write_distribution

FAN_TRAIN = Path("dev_data/raw/fan/train")


@pytest.fixture
def dataset(tiny_dataset, tmp_path) -> Path:
    """A private copy of the tiny dataset, to damage."""
    return Path(shutil.copytree(tiny_dataset, tmp_path / "data"))


def first_clip(folder: Path) -> Path:
    return sorted(folder.glob("*.wav"))[0]


# --- 1. audio ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_name_the_file(tmp_path, value):
    path = tmp_path / "clip.wav"
    samples = np.zeros(1600, np.float32)
    samples[100] = value
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(DataError, match=r"clip\.wav: 1 NaN or infinite samples, the first at sample 100"):
        AudioCache(tmp_path / "cache").load([path], progress=False)
    assert not list((tmp_path / "cache").glob("*.npy")), "nothing is cached from a bad file"


@pytest.mark.parametrize("subset", ["train", "test"])
def test_nan_clip_is_named_by_the_cli_not_blamed_on_a_score_file(dataset, tmp_path, subset, capsys):
    path = first_clip(dataset / "dev_data/raw/fan" / subset)
    samples = decode(path)
    samples[5] = np.nan
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    line = cli_error(["baseline", str(dataset), "--splits", "dev", "--out", str(tmp_path / "scores")], capsys)
    assert f"{path}: 1 NaN or infinite samples" in line


def test_wav_without_samples_names_the_file(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0), 16000, subtype="PCM_16")
    assert soundfile.info(str(path)).frames == 0
    with pytest.raises(DataError, match=r"empty\.wav: no samples"):
        AudioCache(tmp_path / "cache").load([path], progress=False)


def test_machine_whose_training_clips_are_all_silent_is_named(dataset, tmp_path, capsys):
    folder = dataset / FAN_TRAIN
    for path in folder.glob("*.wav"):
        soundfile.write(path, np.zeros(1600), 16000, subtype="PCM_16")
    line = cli_error(["baseline", str(dataset), "--splits", "dev", "--out", str(tmp_path / "scores")], capsys)
    assert f"{folder}: all {len(list(folder.glob('*.wav')))} clips of machine 'fan' are silent" in line


def test_one_silent_clip_is_allowed(tmp_path):
    paths = [tmp_path / "silent.wav", tmp_path / "sound.wav"]
    soundfile.write(paths[0], np.zeros(800), 16000, subtype="PCM_16")
    soundfile.write(paths[1], np.full(800, 0.25), 16000, subtype="PCM_16")
    assert len(AudioCache(tmp_path / "cache").load(paths, progress=False)) == 2


def test_upper_case_wav_extension_is_read_like_wav(dataset):
    before = build_manifest(dataset, 2024, "dev")
    path = first_clip(dataset / FAN_TRAIN)
    path.rename(path.with_suffix(".WAV"))
    after = build_manifest(dataset, 2024, "dev")
    assert len(after) == len(before)
    row = after[after["path"] == str(path.with_suffix(".WAV"))].iloc[0]
    assert row["file"] == path.name, "named as the organisers' files name it, so score files match"
    assert row["attributes"] == before[before["path"] == str(path)].iloc[0]["attributes"]


def test_cache_entry_overwritten_with_garbage_of_the_same_size_is_rebuilt(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for index in range(3):
        paths.append(tmp_path / f"clip{index}.wav")
        soundfile.write(paths[-1], rng.uniform(-0.5, 0.5, 4000), 16000, subtype="PCM_16")
    cache = AudioCache(tmp_path / "cache")
    cache.load(paths, progress=False)
    data = tmp_path / "cache" / f"{cache.key(paths)}.npy"
    header = len(data.read_bytes()) - 3 * 4000 * 2
    with open(data, "r+b") as handle:  # the .npy header kept, so the array still has the right shape
        handle.seek(header)
        handle.write(rng.integers(0, 256, 3 * 4000 * 2, dtype=np.uint8).tobytes())
    with pytest.warns(UserWarning, match=f"{data}: audio cache entry does not match its index or checksum"):
        clips = AudioCache(tmp_path / "cache").load(paths, progress=False)
    for index, path in enumerate(paths):
        np.testing.assert_array_equal(clips.clip(index), decode(path))


# --- 3. official-format files -----------------------------------------------------------------------------


def test_ground_truth_row_with_one_column_names_file_and_line(dataset, capsys):
    path = dataset / "ground_truth/ground_truth_data/ground_truth_ToyTank_section_00_test.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].split(",")[0]
    path.write_text("\n".join(lines) + "\n")
    line = cli_error(["manifest", "--dataset-root", str(dataset), "--year", "2024", "--split", "eval",
                      "--ground-truth", str(dataset / "ground_truth")], capsys)
    assert f"{path}, line 3: 1 column(s)" in line and "expected at least 2" in line


def test_hidden_attributes_row_with_one_column_names_file_and_line(dataset):
    path = dataset / "hidden_attributes/dev_data/gearbox/attributes_00_train_correspondence.csv"
    path.write_text(path.read_text() + "section_00_source_train_normal_0099_a_1.wav\n")
    line = len(path.read_text().splitlines())
    with pytest.raises(DataError, match=rf"{path}, line {line}: 1 column\(s\)"):
        build_manifest(dataset, 2024, "dev", hidden_attributes=dataset / "hidden_attributes")


def test_attributes_file_that_is_not_utf8_names_file_and_line(dataset, capsys):
    path = dataset / "dev_data/raw/fan/attributes_00.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"spd", b"sp\xe9d")  # Latin-1
    path.write_bytes(b"\n".join(lines))
    line = cli_error(["manifest", "--dataset-root", str(dataset), "--year", "2024", "--split", "dev"], capsys)
    assert f"{path}, line 4: byte 0xe9 is not UTF-8" in line


def test_attributes_row_with_a_key_and_no_value_names_file_and_line(dataset):
    path = dataset / "dev_data/raw/fan/attributes_00.csv"
    lines = path.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:4])  # ...,spd,24,lod
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{path}, line 3: attribute 'lod' has no value"):
        build_manifest(dataset, 2024, "dev")


def test_attributes_row_with_a_value_and_no_key_names_file_and_line(dataset):
    path = dataset / "dev_data/raw/fan/attributes_00.csv"
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    lines[2] = ",".join([cells[0], "", cells[2], *cells[3:]])  # ...,,24,...
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{path}, line 3: value '{cells[2]}' has no attribute name"):
        build_manifest(dataset, 2024, "dev")


def test_attributes_file_with_a_byte_order_mark_is_read(dataset):
    path = dataset / "dev_data/raw/fan/attributes_00.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(build_manifest(dataset, 2024, "dev"))


# --- 3. output and cache directories ----------------------------------------------------------------------

OUT_COMMANDS = {
    "run": ["run", "{missing}", "--out", "{out}"],
    "grid": ["grid", "{missing}", "--out", "{out}"],
    "pseudolabel": ["pseudolabel", "{missing}", "--out", "{out}"],
    "baseline": ["baseline", "{missing}", "--out", "{out}"],
    "synth": ["synth", "{out}", "--preset", "tiny"],
}


@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_out_that_is_a_file_is_refused_first_and_left_alone(command, tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("earlier results\n")
    args = [a.format(out=out, missing=tmp_path / "missing.toml") for a in OUT_COMMANDS[command]]
    line = cli_error(args, capsys)
    assert f"{out} is a file; expected a directory" in line, "checked before the spec or dataset is read"
    assert out.read_text() == "earlier results\n"


def test_out_below_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    line = cli_error(["synth", str(tmp_path / "file" / "data"), "--preset", "tiny"], capsys)
    assert f"cannot be created: {tmp_path / 'file'} is a file" in line


def test_cache_dir_that_is_a_file_is_named(dataset, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache-file"
    cache.write_text("not a directory")
    monkeypatch.setenv("ASDBENCH_CACHE_DIR", str(cache))
    line = cli_error(["baseline", str(dataset), "--splits", "dev", "--out", str(tmp_path / "scores")], capsys)
    assert f"audio cache directory ($ASDBENCH_CACHE_DIR) {cache} is a file" in line
    assert cache.read_text() == "not a directory"


def test_an_empty_cache_dir_variable_means_unset_not_the_working_directory(dataset, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ASDBENCH_CACHE_DIR", "")
    monkeypatch.chdir(tmp_path)
    AudioCache().load([first_clip(dataset / FAN_TRAIN)], progress=False)
    assert list((home / ".cache/asdbench/audio").glob("*.npy")) and not list(tmp_path.glob("*.npy"))


def test_a_damaged_cache_entry_is_one_warning_line_and_rebuilt(dataset, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ASDBENCH_CACHE_DIR", str(cache))
    args = ["baseline", str(dataset), "--splits", "dev", "--out", str(tmp_path / "scores")]
    assert main(args) == 0
    first = capsys.readouterr().out
    entry = sorted(cache.glob("*.npy"))[0]
    entry.write_bytes(b"\0" * entry.stat().st_size)  # same size, other bytes: only the checksum tells
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out == first
    [line] = err.splitlines()
    assert line.startswith("asdbench: warning: ") and f"{entry}: audio cache entry does not match" in line


def without_root_privilege() -> None:
    """In the child, before exec: drop the capabilities that let root ignore file permissions.

    Root bypasses permissions, so a permission test must not run with them. Switching to ``nobody`` is not enough
    here: the interpreter may live where only root can read it (e.g. /root/.pyenv). Dropping CAP_DAC_OVERRIDE
    and CAP_DAC_READ_SEARCH from the bounding set makes the exec'd process a root that obeys permissions.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_unprivileged(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in a process that file permissions apply to (skipped where that cannot be arranged)."""
    options = {}
    if os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("running as root, which bypasses permissions, and capabilities can only be dropped on Linux")
        options["preexec_fn"] = without_root_privilege
    try:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, env={**os.environ, **env},
                              timeout=300, **options)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"running as root, which bypasses permissions, and root privilege cannot be dropped ({exc})")


def read_only_folder(path: Path) -> Path:
    path.mkdir()
    path.chmod(0o555)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("command", ["synth", "run"])
def test_out_that_is_not_writable_is_refused(command, tmp_path):
    readonly = read_only_folder(tmp_path / "readonly")
    out = readonly / "out"
    args = ["synth", str(out), "--preset", "tiny"] if command == "synth" else \
        ["run", str(tmp_path / "missing.toml"), "--out", str(out)]
    result = run_unprivileged(["-m", "asdbench", *args])
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    what = "OUT" if command == "synth" else "--out"
    assert f"asdbench: error: {what} {out} cannot be created: {readonly} is not writable" in result.stderr
    assert not out.exists()


LOAD_AUDIO = """
import sys
from asdbench.data.audio import AudioCache
from asdbench.errors import AsdbenchError
try:
    AudioCache().load([sys.argv[1]], progress=False)
except AsdbenchError as exc:
    sys.exit(f"asdbench: error: {exc}")
"""


@pytest.mark.slow
def test_cache_dir_that_is_not_writable_is_named(tmp_path):
    cache = read_only_folder(tmp_path / "cache")
    clip = tmp_path / "clip.wav"
    soundfile.write(clip, np.full(800, 0.25), 16000, subtype="PCM_16")
    result = run_unprivileged(["-c", LOAD_AUDIO, str(clip)], ASDBENCH_CACHE_DIR=str(cache))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"audio cache directory ($ASDBENCH_CACHE_DIR) {cache} is not writable" in result.stderr


def test_writable_directory_accepts_what_can_be_created(tmp_path):
    from asdbench.files.paths import writable_directory

    assert writable_directory(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists(), "the check creates nothing"
    (tmp_path / "f").write_text("")
    with pytest.raises(PathError, match="is a file"):
        writable_directory(tmp_path / "f", "--out")


# --- 3. plugins -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "shown"), [("sys.exit(3)", "sys.exit(3)"), ("sys.exit()", "sys.exit(None)"),
                                             ("raise SystemExit('bye')", "sys.exit('bye')")])
def test_plugin_that_exits_while_imported_is_a_named_load_failure(site, call, shown):
    write_distribution(site, "asdbench-exits", "asdbench_exits_plugin", f"import sys\n{call}\n", "0.3")
    registry = Registry()
    [failure] = [f for f in registry.failures if f.distribution == "asdbench-exits"]
    assert failure.error == f"called {shown} while being imported"
    assert "asdbench-exits 0.3" in failure.message
    assert registry.get("backends", "knn"), "the other plugins still load"


def test_plugin_that_exits_while_imported_is_reported_by_the_cli(site, capsys):
    import asdbench.contract.registry as plugins

    write_distribution(site, "asdbench-exits", "asdbench_exits_plugin", "import sys\nsys.exit(3)\n")
    with plugins.use_registry(None):
        assert main(["plugins"]) == 0
    err = capsys.readouterr().err
    assert "asdbench-exits" in err and "called sys.exit(3) while being imported" in err


def test_keyboard_interrupt_while_importing_a_plugin_still_stops(site):
    write_distribution(site, "asdbench-interrupts", "asdbench_interrupts_plugin", "raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        Registry()


def test_ground_truth_attributes_row_with_one_column_names_file_and_line(dataset):
    from asdbench.scoring.scorefiles import labelled_aliases

    path = next((dataset / "ground_truth" / "ground_truth_attributes").rglob("*.csv"))
    path.write_text(path.read_text() + "section_00_0999.wav\n")
    machine = path.name.removeprefix("ground_truth_").split("_section_")[0]
    line = len(path.read_text().splitlines())
    with pytest.raises(DataError, match=rf"{path}, line {line}: 1 column\(s\)"):
        labelled_aliases(dataset / "ground_truth", machine, "00")
