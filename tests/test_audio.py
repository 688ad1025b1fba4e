"""The decode-once cache: reuse across processes, invalidation, concurrent fillers, killed fillers, corruption."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from asdbench.data import audio
from asdbench.data.audio import AudioCache, decode
from asdbench.errors import DataError


@pytest.fixture
def wavs(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, seconds in enumerate([0.5, 0.25, 0.75]):
        path = tmp_path / "audio" / f"clip{i}.wav"
        path.parent.mkdir(exist_ok=True)
        soundfile.write(path, rng.uniform(-0.5, 0.5, int(16000 * seconds)), 16000, subtype="PCM_16")
        paths.append(path)
    return paths


def test_cached_clips_equal_decoded_audio(tmp_path, wavs):
    clips = AudioCache(tmp_path / "cache").load(wavs, progress=False)
    assert clips.samples.dtype == np.int16, "16-bit PCM is stored exactly, at half the size of float32"
    for index, path in enumerate(wavs):
        np.testing.assert_array_equal(clips.clip(index), decode(path))


def test_batch_tiles_short_clips_and_crops_long_ones(tmp_path, wavs):
    clips = AudioCache(tmp_path / "cache").load(wavs, progress=False)
    short = decode(wavs[1])
    batch = clips.batch([1, 2], 6000)
    np.testing.assert_array_equal(batch[0], np.resize(short, 6000))
    np.testing.assert_array_equal(batch[1], decode(wavs[2])[:6000])
    offset = clips.batch([2], 6000, starts=[100])
    np.testing.assert_array_equal(offset[0], decode(wavs[2])[100:6100])


def count_decodes(monkeypatch):
    calls = []
    real = audio._decode_int16
    monkeypatch.setattr(audio, "_decode_int16", lambda path: calls.append(path) or real(path))
    return calls


def test_second_load_reuses_without_decoding(tmp_path, wavs, monkeypatch):
    calls = count_decodes(monkeypatch)
    AudioCache(tmp_path / "cache").load(wavs, progress=False)
    AudioCache(tmp_path / "cache").load(wavs, progress=False)
    assert len(calls) == len(wavs)


LOAD_IN_CHILD = """
import sys, numpy as np
from asdbench.data import audio
audio._decode_int16 = audio.decode = lambda path: (_ for _ in ()).throw(SystemExit("decoded " + path))
clips = audio.AudioCache(sys.argv[1]).load(sys.argv[2:], progress=False)
print(float(np.abs(clips.clip(0)).sum()))
"""


@pytest.mark.slow
def test_other_processes_reuse_the_cache(tmp_path, wavs):
    first = AudioCache(tmp_path / "cache").load(wavs, progress=False)
    result = subprocess.run([sys.executable, "-c", LOAD_IN_CHILD, str(tmp_path / "cache"), *map(str, wavs)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(float(np.abs(first.clip(0)).sum()))


def test_changed_file_invalidates_its_group(tmp_path, wavs, monkeypatch):
    cache = AudioCache(tmp_path / "cache")
    cache.load(wavs, progress=False)
    soundfile.write(wavs[0], np.full(800, 0.25), 16000, subtype="PCM_16")
    os.utime(wavs[0], ns=(time.time_ns(), time.time_ns() + 10**9))
    clips = cache.load(wavs, progress=False)
    np.testing.assert_allclose(clips.clip(0), 0.25, atol=1e-4)


def test_corrupt_entry_is_rebuilt(tmp_path, wavs):
    cache = AudioCache(tmp_path / "cache")
    key = cache.key(wavs)
    cache.load(wavs, progress=False)
    data = tmp_path / "cache" / f"{key}.npy"
    np.save(data, np.zeros(10, np.int16))
    with pytest.warns(UserWarning, match=f"{data.name}: audio cache entry does not match"):
        clips = cache.load(wavs, progress=False)
    np.testing.assert_array_equal(clips.clip(2), decode(wavs[2]))


# The fillers are forked so that they inherit the monkeypatched (slow or hanging) decoder; they only decode
# and exit, so Python 3.12+'s warning about forking a multi-threaded process does not apply to them.
FORK_WITH_THREADS = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


def _fill(cache_dir, paths, queue):
    clips = AudioCache(cache_dir).load(paths, progress=False)
    queue.put(float(np.abs(np.asarray(clips.samples, dtype=np.float64)).sum()))


@pytest.mark.slow
@FORK_WITH_THREADS
def test_concurrent_fillers_end_with_one_valid_entry(tmp_path, wavs, monkeypatch):
    slow = audio._decode_int16
    monkeypatch.setattr(audio, "_decode_int16", lambda path: time.sleep(0.2) or slow(path))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_fill, args=(tmp_path / "cache", wavs, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    sums = {queue.get(timeout=5) for _ in workers}
    assert len(sums) == 1
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    assert not list((tmp_path / "cache").glob(".*tmp*"))


@pytest.mark.slow
@FORK_WITH_THREADS
def test_killed_filler_blocks_nobody(tmp_path, wavs, monkeypatch):
    monkeypatch.setattr(audio, "_decode_int16", lambda path: time.sleep(60))
    context = multiprocessing.get_context("fork")
    filler = context.Process(target=_fill, args=(tmp_path / "cache", wavs, context.Queue()))
    filler.start()
    deadline = time.time() + 10
    while not list((tmp_path / "cache").glob("*.lock")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    os.kill(filler.pid, signal.SIGKILL)
    filler.join()
    monkeypatch.undo()
    clips = AudioCache(tmp_path / "cache").load(wavs, progress=False)
    np.testing.assert_array_equal(clips.clip(0), decode(wavs[0]))


@pytest.mark.parametrize(("rate", "channels", "message"), [(8000, 1, "8000 Hz"), (16000, 2, "2 channels")])
def test_wrong_format_names_the_file(tmp_path, rate, channels, message):
    path = tmp_path / "bad.wav"
    soundfile.write(path, np.zeros((800, channels)), rate)
    with pytest.raises(DataError, match=f"bad.wav: .*{message}"):
        AudioCache(tmp_path / "cache").load([path], progress=False)


def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(DataError, match="gone.wav: audio file not found"):
        AudioCache(tmp_path / "cache").load([tmp_path / "gone.wav"], progress=False)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF nonsense")
    with pytest.raises(DataError, match="junk.wav: unreadable audio"):
        AudioCache(tmp_path / "cache").load([junk], progress=False)
