"""No code runs from a data file (issue 22 §4): a malicious pickle planted in each kind of file asdbench reads runs
nothing and is a clear error (or is set aside and computed again), and a path read from a store file stays in the
store."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from asdbench.cli.main import main
from asdbench.data.audio import AudioCache
from asdbench.errors import AsdbenchError
from asdbench.files.damaged import DamagedFile
from asdbench.report.plots import space_figure
from asdbench.store.layout import embeddings_path, trained_embeddings
from asdbench.training.checkpoints import load_checkpoint
from asdbench_pretrained import checkpoints, weights

HASH = "0123456789abcdef"


class Payload:
    """Unpickled, it writes ``marker``: what a shared store would be enough to run on whoever reads it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


def malicious_npz(path: Path, marker: Path, **arrays: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays, planted=np.array([Payload(marker)], dtype=object))
    return path


def space(directory: Path, marker: Path) -> Path:
    (directory / "spec.json").parent.mkdir(parents=True, exist_ok=True)
    (directory / "spec.json").write_text(json.dumps({"pseudolabel": {"feature_space": {"name": "triplet"},
                                                                     "reducer": {"name": "umap"}}}))
    return malicious_npz(directory / "spaces" / "dev.fan.00.npz", marker, coordinates=np.zeros((2, 2)))


def test_a_space_file_is_read_without_running_its_pickle(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(AsdbenchError, match=r"dev\.fan\.00\.npz: not a pseudo-labelling space.*allow_pickle=False"):
        space_figure(space(tmp_path / "labels", marker))
    assert not marker.exists()


def test_plot_space_refuses_a_pickled_space_in_one_line(tmp_path, capsys):
    marker = tmp_path / "ran"
    directory = tmp_path / "store" / "pseudolabels" / HASH
    space(directory, marker)
    assert main(["plot-space", str(directory), "--machine", "fan", "--out", str(tmp_path / "a.png")]) == 2
    assert not marker.exists() and "dev.fan.00.npz: not a pseudo-labelling space" in capsys.readouterr().err


def test_embeddings_with_a_pickle_are_set_aside_unrun(tmp_path, capsys):
    marker = tmp_path / "ran"
    path = malicious_npz(embeddings_path(tmp_path, 2), marker, **{"dev.fan.train": np.zeros((2, 3))})
    with pytest.raises(DamagedFile, match="epoch_002.npz was damaged"):
        trained_embeddings(tmp_path, 2)
    assert not marker.exists() and not path.exists() and "Object arrays cannot be loaded" in capsys.readouterr().err


def test_a_pickled_audio_cache_entry_is_rebuilt_unrun(tmp_path):
    marker = tmp_path / "ran"
    clip = tmp_path / "section_00_source_train_normal_0000_.wav"
    soundfile.write(clip, np.full(1600, 0.25), 16000, subtype="PCM_16")
    cache = AudioCache(tmp_path / "cache")
    key = cache.key([clip])
    cache.load([clip], progress=False)
    np.save(cache.root / f"{key}.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.warns(UserWarning, match="does not match its index"):
        loaded = cache.load([clip], progress=False)
    assert not marker.exists() and len(loaded.samples) == 1600


def test_a_pickled_checkpoint_is_set_aside_unrun(tmp_path, capsys):
    marker = tmp_path / "ran"
    path = tmp_path / "last.pt"
    torch.save({"epoch": 1, "model": Payload(marker)}, path)
    assert load_checkpoint(path) is None
    assert not marker.exists() and not path.exists() and "last.pt is damaged" in capsys.readouterr().err


@pytest.mark.parametrize("published", [False, True])
def test_pretrained_weights_with_code_run_nothing_even_when_published(tmp_path, monkeypatch, published):
    """A weight file that holds more than tensors is read only if it is the published file, and then by an
    unpickler that runs nothing of it: a compromised download or mirror runs no code either."""
    marker = tmp_path / "ran"
    path = tmp_path / "Cnn14_mAP=0.431.pth"
    torch.save({"model": {"w": torch.ones(2)}, "sampler": Payload(marker)}, path)
    if published:
        monkeypatch.setitem(weights.WEIGHTS, "panns", dataclasses.replace(weights.WEIGHTS["panns"],
                                                                            checksum=weights.digest(path, "md5")))
        state = checkpoints.read(path, "panns")
        assert isinstance(state["sampler"], checkpoints.Foreign) and torch.equal(state["model"]["w"], torch.ones(2))
    else:
        with pytest.raises(AsdbenchError, match="cannot be read as plain tensors .* is not the published"):
            checkpoints.read(path, "panns")
    assert not marker.exists()


def test_a_fairseq_checkpoint_s_foreign_classes_stay_inert(tmp_path):
    """The fairseq reader's own unpickler turns a class outside weights_only's list into data: nothing runs."""
    marker = tmp_path / "ran"
    path = tmp_path / "fairseq.pt"
    torch.save({"cfg": {}, "model": {"w": torch.zeros(2)}, "extra_state": Payload(marker)}, path)
    state = checkpoints.read_fairseq(path, "eat")
    assert not marker.exists()
    assert isinstance(state["extra_state"], checkpoints.Foreign) and torch.equal(state["model"]["w"], torch.zeros(2))


def test_a_run_record_cannot_point_plot_space_outside_its_store(tmp_path, capsys):
    """pseudolabel.directory names a table of the run's own store: it is read there, never where the record says."""
    marker = tmp_path / "ran"
    elsewhere = tmp_path / "elsewhere" / "pseudolabels" / HASH
    space(elsewhere, marker)
    run = tmp_path / "store" / "t" / "s"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps({"pseudolabel": {"directory": str(elsewhere)}}))
    assert main(["plot-space", str(run), "--machine", "fan"]) == 2
    error = capsys.readouterr().err
    assert not marker.exists() and f"in {tmp_path / 'store' / 'pseudolabels' / HASH}" in error


@pytest.mark.parametrize("named", ["/etc", "../../../../tmp", "pseudolabels/../../x", None])
def test_a_record_naming_another_folder_is_refused_by_its_field(tmp_path, capsys, named):
    training = tmp_path / "store" / "t"
    training.mkdir(parents=True)
    (training / "trained.json").write_text(json.dumps({"pseudolabel": {"directory": named}}))
    assert main(["plot-space", str(training), "--machine", "fan"]) == 2
    error = capsys.readouterr().err
    assert f"{training / 'trained.json'}: field pseudolabel.directory" in error and "refusing" in error


def test_plot_space_names_a_garbage_results_file(tmp_path, capsys):
    run = tmp_path / "store" / "t" / "s"
    run.mkdir(parents=True)
    (run / "results.json").write_bytes(b"\x00garbage{")
    assert main(["plot-space", str(run), "--machine", "fan"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{run / 'results.json'} is damaged" in error


def test_every_numpy_and_torch_read_refuses_pickles():
    """A new reader of a data file must not bring pickles back: every np.load and torch.load in asdbench and the
    plugins says allow_pickle=False or weights_only=True (the fairseq reader's inert unpickler excepted)."""
    roots = [Path(__file__).parents[1] / "asdbench", Path(__file__).parents[1] / "plugins"]
    offending = []
    for root in roots:
        for source in root.rglob("*.py"):
            for number, line in enumerate(source.read_text().splitlines(), start=1):
                if "np.load(" in line and "allow_pickle=False" not in line:
                    offending.append(f"{source}:{number}")
                if "torch.load(" in line and "weights_only=True" not in line and "pickle_module=_inert_pickle" \
                        not in line and "/tests/" not in str(source):
                    offending.append(f"{source}:{number}")
    assert offending == []


def test_a_space_whose_arrays_are_not_arrays_is_named(tmp_path):
    path = tmp_path / "labels" / "spaces" / "dev.fan.00.npz"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("coordinates.npy", b"not an array")
    with pytest.raises(AsdbenchError, match="not a pseudo-labelling space"):
        space_figure(path)
