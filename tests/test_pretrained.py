"""The pretrained feature spaces (asdbench-pretrained): architectures at the published size, checkpoints in the
published formats saved and read back through the real loading code, frontends against librosa/numpy, the
clear error without weights, resampling and windowing, and checked downloads (without any network)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import shlex

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile
import torch

from asdbench.contract.registry import Registry
from asdbench.errors import AsdbenchError
from asdbench_pretrained import checkpoints, cnn14, factories, openl3, weights
from asdbench_pretrained.audio import resample, resampled_length
from asdbench_pretrained.cnn14 import Cnn14, LogMel, Spectrogram, load_cnn14
from asdbench_pretrained.openl3 import KapreMelSpectrogram, OpenL3, frame, load_openl3, window_starts
from asdbench_pretrained.spaces import OpenL3Space, PannsSpace

RATE = 16_000


pytestmark = pytest.mark.usefixtures("empty_models_dir")  # no test sees the user's models folder


@pytest.fixture
def clips(tmp_path) -> pd.DataFrame:
    """Three short 16 kHz clips (0.6, 0.6 and 0.5 s) in a manifest with the core's `path` column."""
    rng = np.random.default_rng(0)
    paths = []
    for index, seconds in enumerate((0.6, 0.6, 0.5)):
        t = np.arange(int(seconds * RATE)) / RATE
        audio = 0.3 * np.sin(2 * np.pi * (300 + 200 * index) * t) + 0.05 * rng.normal(size=t.size)
        path = tmp_path / f"section_00_source_train_normal_{index:04d}_a_1.wav"
        soundfile.write(path, audio.astype(np.float32), RATE, subtype="PCM_16")
        paths.append(str(path))
    return pd.DataFrame({"path": paths, "machine": "fan", "subset": "train"})


def randomise_statistics(model: torch.nn.Module, seed: int) -> None:
    """Give every BatchNorm non-trivial statistics, so that a checkpoint that failed to load would show."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))


def waveforms(manifest: pd.DataFrame, index: int) -> np.ndarray:
    audio, _ = soundfile.read(manifest["path"][index], dtype="float32")
    return audio


# --- architectures at the published size ------------------------------------------------------------------


def test_cnn14_has_the_published_size_and_keys():
    with torch.device("meta"):
        model = Cnn14()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert trainable == 80_753_615  # the paper's 80.8 M
    assert frozen == 2 * 513 * 1024 + 513 * 64  # the STFT kernels and the mel bank, stored in the checkpoint
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert len(shapes) == 84
    assert shapes["spectrogram_extractor.stft.conv_real.weight"] == (513, 1, 1024)
    assert shapes["spectrogram_extractor.stft.conv_imag.weight"] == (513, 1, 1024)
    assert shapes["logmel_extractor.melW"] == (513, 64)
    assert shapes["bn0.running_var"] == (64,) and "bn0.num_batches_tracked" in shapes
    assert shapes["conv_block1.conv1.weight"] == (64, 1, 3, 3)
    assert shapes["conv_block6.conv2.weight"] == (2048, 2048, 3, 3)
    assert shapes["fc1.weight"] == (2048, 2048) and shapes["fc_audioset.weight"] == (527, 2048)


def test_openl3_has_the_published_size_and_keys():
    with torch.device("meta"):
        model = OpenL3()
    parameters = sum(p.numel() for p in model.parameters())
    statistics = sum(b.numel() for k, b in model.named_buffers() if k.endswith(("running_mean", "running_var")))
    assert parameters + statistics == 4_689_860  # Keras' count for the mel128 audio network
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert len(shapes) == 3 + 8 * 5 + 8 * 2
    assert shapes["speclayer.dft_real_kernels"] == (1025, 1, 2048)
    assert shapes["speclayer.mel_basis"] == (128, 1025)
    assert shapes["batch_normalization_1.weight"] == (1,)
    assert shapes["conv2d_1.weight"] == (64, 1, 3, 3)
    assert shapes["audio_embedding_layer.weight"] == (512, 512, 3, 3)
    assert model.batch_normalization_8.eps == 1e-3


# --- frontends --------------------------------------------------------------------------------------------


def test_cnn14_frontend_is_librosas_log_mel():
    audio = np.random.default_rng(1).normal(scale=0.1, size=cnn14.SAMPLE_RATE).astype(np.float32)
    power = librosa.feature.melspectrogram(y=audio, sr=32000, n_fft=1024, hop_length=320, window="hann",
                                           center=True, pad_mode="reflect", power=2.0, n_mels=64, fmin=50,
                                           fmax=14000)
    expected = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None).T
    with torch.inference_mode():
        ours = LogMel()(Spectrogram()(torch.from_numpy(audio)[None]))[0, 0].numpy()
    assert ours.shape == (101, 64)
    np.testing.assert_allclose(ours, expected, atol=1e-3)


def test_openl3_frontend_is_kapre_0_1_4_mel128():
    audio = np.random.default_rng(2).normal(scale=0.1, size=openl3.SAMPLE_RATE)
    with torch.inference_mode():
        ours = KapreMelSpectrogram()(torch.tensor(audio, dtype=torch.float32)[None])[0, 0].numpy()
    padded = np.pad(audio, (982, 982))  # TF "same" padding of 48000 samples, kernel 2048, stride 242
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(2048) / 2048)
    frames = np.stack([padded[i * 242 : i * 242 + 2048] * window for i in range(199)])
    bank = librosa.filters.mel(sr=48000, n_fft=2048, n_mels=128, fmin=0, fmax=24000, htk=True, norm=1)
    decibel = 10 * np.log10(np.maximum(np.sqrt(bank @ (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T), 1e-10))
    expected = np.maximum(decibel - decibel.max(), -80.0)
    assert ours.shape == (128, 199)
    np.testing.assert_allclose(ours, expected, atol=1e-3)


# --- resampling and windowing -----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [cnn14.SAMPLE_RATE, openl3.SAMPLE_RATE])
def test_resampling_from_16_khz_keeps_the_pitch(rate):
    tone = np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE).astype(np.float32)
    out = resample(tone[None], rate)
    assert out.dtype == np.float32 and out.shape == (1, rate) == (1, resampled_length(RATE, rate))
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert np.argmax(spectrum) * rate / out.shape[1] == pytest.approx(1000.0)
    assert spectrum[: int(0.9 * out.shape[1] / 2)].sum() > 0.999 * spectrum.sum()  # nothing above 8 kHz appears


def test_model_rates():
    assert (cnn14.SAMPLE_RATE, openl3.SAMPLE_RATE) == (32_000, 48_000)


@pytest.mark.parametrize(("seconds", "windows"), [(0.5, 1), (1.0, 6), (10.0, 96), (12.0, 116), (18.0, 176)])
def test_openl3_windows_follow_torchopenl3(seconds, windows):
    """1 s windows, hop 0.1 s, half a window of zeros in front, the end padded to a whole hop."""
    samples = int(seconds * openl3.SAMPLE_RATE)
    length = samples + 24_000
    expected = 1 if length <= 48_000 else 1 + int(np.ceil((length - 48_000) / 4_800))
    assert window_starts(samples)[1] == expected == windows
    clip = torch.arange(1, samples + 1, dtype=torch.float32)[None]
    framed = frame(clip)
    assert framed.shape == (1, windows, 48_000)
    assert framed[0, 0, 23_999] == 0 and framed[0, 0, 24_000] == 1  # centred: the clip starts mid-window
    if windows > 1:
        assert framed[0, 1, 0] == framed[0, 0, 4_800]


# --- checkpoints through the real loading path ------------------------------------------------------------


def test_panns_checkpoint_round_trip(tmp_path, clips):
    torch.manual_seed(0)
    model = Cnn14().eval()
    randomise_statistics(model, seed=0)
    path = tmp_path / "Cnn14_mAP=0.431.pth"
    torch.save({"iteration": 660000, "model": model.state_dict()}, path)  # the published file's layout

    space = factories.panns(None, weights=str(path), batch_size=3, device="cpu", clip_seconds=0.75)
    seen = []
    space.model.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    first = space.embed(clips)
    second = space.embed(clips)

    assert first.shape == (3, 2048) and first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)
    assert seen == [(3, 24_000)] * 2  # every clip tiled to 0.75 s from its start, then at 32 kHz
    tiled = np.resize(waveforms(clips, 2), 12_000)  # the 0.5 s clip and its first half again
    with torch.inference_mode():  # the loaded weights are the saved ones
        direct = model(torch.from_numpy(resample(tiled[None], 32_000)))
    np.testing.assert_allclose(first[2], direct[0].numpy(), rtol=1e-4, atol=1e-5)


def test_openl3_checkpoint_round_trip(tmp_path, clips):
    torch.manual_seed(0)
    model = OpenL3().eval()
    randomise_statistics(model, seed=1)
    path = tmp_path / "torchopenl3_mel128_env_512.pth.tar"
    torch.save(model.state_dict(), path)  # torchopenl3 publishes the bare state dict

    space = factories.openl3(None, weights=str(path), batch_size=3, device="cpu", clip_seconds=0)
    seen = []
    space.model.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    first = space.embed(clips)
    second = space.embed(clips)

    assert first.shape == (3, 512) and first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)
    # whole clips at 48 kHz, grouped by length: the 0.5 s clip's one window, then the 0.6 s clips' 2 + 2 in
    # chunks of 3
    assert seen == [(1, 48_000), (3, 48_000), (1, 48_000)] * 2
    with torch.inference_mode():  # window embeddings of a 0.6 s clip, averaged
        windows = frame(torch.from_numpy(resample(waveforms(clips, 1)[None], 48_000)))[0]
        direct = model(windows).mean(dim=0)
    assert windows.shape[0] == 2
    np.testing.assert_allclose(first[1], direct.numpy(), rtol=1e-4, atol=1e-5)


def test_a_checkpoint_of_another_width_is_refused(tmp_path):
    path = tmp_path / "Cnn14_mAP=0.431.pth"
    torch.save({"model": Cnn14(channels=(4, 4, 8, 8, 16, 16)).state_dict()}, path)
    with pytest.raises(AsdbenchError, match=r"Cnn14_mAP=0.431.pth: does not fit the Cnn14 architecture.*shapes"):
        load_cnn14(path)
    torch.save({"state": {}}, path)
    with pytest.raises(AsdbenchError, match="state dict under 'model'"):
        load_cnn14(path)


def test_a_file_that_is_not_the_published_one_is_refused(tmp_path):
    path = tmp_path / "torchopenl3_mel128_env_512.pth.tar"
    path.write_text("<html>rate limited</html>")  # what a failed download often leaves
    with pytest.raises(AsdbenchError, match="is not the published torchopenl3_mel128_env_512.pth.tar"):
        load_openl3(path)


def test_a_training_checkpoint_is_read_in_full_only_if_it_is_the_published_file(tmp_path, monkeypatch):
    """The PANNs training code also pickles its sampler's numpy arrays, which weights_only loading refuses."""
    path = tmp_path / "Cnn14_mAP=0.431.pth"
    torch.save({"model": {"w": torch.ones(2)}, "sampler": {"indexes": np.arange(5), "pointer": 3}}, path)
    with pytest.raises(AsdbenchError, match="cannot be read as plain tensors .* is not the published"):
        checkpoints.read(path, "panns")
    published = dataclasses.replace(weights.WEIGHTS["panns"], checksum=weights.digest(path, "md5"))
    monkeypatch.setitem(weights.WEIGHTS, "panns", published)
    assert checkpoints.read(path, "panns")["sampler"]["pointer"] == 3


# --- without weights --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("space", "name", "filename", "source"), [
    (factories.panns, "panns", "Cnn14_mAP=0.431.pth", "https://zenodo.org/record/3987831/files/Cnn14_mAP%3D0.431.pth"),
    (factories.openl3, "openl3", "torchopenl3_mel128_env_512.pth.tar",
     "https://github.com/torchopenl3/torchopenl3-models/raw/master/torchopenl3_mel128_env_512.pth.tar"),
])
def test_missing_weights_say_what_to_put_where(space, name, filename, source, empty_models_dir, tmp_path):
    with pytest.raises(AsdbenchError) as error:
        space(None)
    message = str(error.value)
    assert str(empty_models_dir / filename) in message and source in message
    assert weights.WEIGHTS[name].checksum in message and "ASDBENCH_MODELS_DIR" in message

    with pytest.raises(AsdbenchError, match=r"nowhere\.pth \(the `weights` option\) does not exist"):
        space(None, weights=str(tmp_path / "nowhere.pth"))

    (empty_models_dir / filename).write_bytes(b"")  # found in the default place; read only when embedding
    assert space(None, device="cpu").weights == empty_models_dir / filename


def test_registered_through_the_entry_point(empty_models_dir, monkeypatch):
    registry = Registry()
    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest_dir: fetched.append((name, dest_dir)))
    for name, space in (("panns", PannsSpace), ("openl3", OpenL3Space)):
        registration = registry.get("feature_spaces", name)
        assert registration.distribution == "asdbench-pretrained"
        assert registration.options() == {"weights": "", "batch_size": 32, "device": "auto", "clip_seconds": 18.0}
        (empty_models_dir / weights.WEIGHTS[name].filename).write_bytes(b"")
        assert isinstance(registry.create("feature_spaces", name, None, device="cpu"), space)
        registration.meta["fetch_weights"]()
        assert fetched[-1] == (name, empty_models_dir)


# --- checked downloads (the network is replaced by bytes in memory) ---------------------------------------


def test_fetch_keeps_only_a_download_with_the_published_checksum(tmp_path, monkeypatch):
    payload = b"pretend weights"
    entry = weights.WeightFile(name="panns", filename="Cnn14_mAP=0.431.pth", url="https://example.invalid/w",
                               algorithm="md5", checksum=hashlib.md5(payload).hexdigest(), source="a test")
    monkeypatch.setitem(weights.WEIGHTS, "panns", entry)
    served = []
    monkeypatch.setattr(weights.urllib.request, "urlopen",
                        lambda url, timeout: served.append(url) or io.BytesIO(payload))

    path = weights.fetch("panns", tmp_path / "models")
    assert path.read_bytes() == payload and served == [entry.url]
    assert weights.fetch("panns", tmp_path / "models") == path and len(served) == 1  # a good file is kept

    monkeypatch.setitem(weights.WEIGHTS, "panns", dataclasses.replace(entry, checksum="0" * 32))
    with pytest.raises(AsdbenchError, match="published file has 0{32}; nothing was saved"):
        weights.fetch("panns", tmp_path / "other")
    assert not (tmp_path / "other" / entry.filename).exists()
    assert list((tmp_path / "other").iterdir()) == []  # no temporary left behind


def test_git_blob_checksum_is_gits(tmp_path):
    path = tmp_path / "hello"
    path.write_bytes(b"hello\n")
    assert weights.digest(path, "git-blob-sha1") == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object


def test_models_fetch_command_reports_a_failed_download_clearly(tmp_path, capsys, monkeypatch):
    """No network in tests: the download fails, and the error says what to fetch by hand and where."""
    import urllib.request

    from asdbench.cli.main import main

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    destination = tmp_path / "fetched"
    assert main(["models", "fetch", "panns", "--dir", str(destination)]) == 2
    error = capsys.readouterr().err
    assert "could not download" in error and "Cnn14_mAP=0.431.pth" in error
    assert not list(destination.iterdir()), "nothing half-written is left behind"
    assert main(["models", "fetch", "class"]) == 2


def test_missing_weights_suggest_a_fetch_command_that_the_cli_accepts(empty_models_dir, monkeypatch):
    from asdbench.cli.main import main

    with pytest.raises(AsdbenchError) as error:
        factories.panns(None)
    suggested = re.search(r"`asdbench (models fetch [^`]*)`", str(error.value)).group(1)
    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest_dir: fetched.append((name, dest_dir)) or dest_dir)
    assert main(shlex.split(suggested)) == 0  # argparse would exit with status 2 on what it cannot parse
    assert fetched == [("panns", empty_models_dir)]
