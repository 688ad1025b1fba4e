"""Decode once: a cache of decoded clips, one memory-mapped array per group of files.

A group (the caller passes one machine + split + subset) is keyed by the identity of its files: absolute path,
size and modification time of each, so editing or replacing a file invalidates its group. The samples are
stored concatenated, as int16 when every file is 16-bit PCM (exact, half the size of float32) and float32
otherwise, beside a JSON index of offsets and lengths. Any later epoch, run or process opens the memmap
without decoding.

Of two-channel files (DCASE 2026: near and far microphone) only the channel a run reads is decoded and stored,
and the channel is part of the key: a run on the near microphone and one on the far microphone each decode once.
A mono group's key and index name no channel: it has one.

Concurrency: filling a group holds an OS file lock (``filelock``), so one process decodes while the others
wait and then reuse its result; the lock dies with its holder, so a killed filler blocks nobody. Entries are
written under temporary names and renamed into place, the index last, so a reader never sees half an entry.

Integrity: the index records a CRC-32 of the array bytes, verified the first time a process opens the entry (a
CRC rather than a cryptographic digest: several times faster over a DCASE dev set's gigabytes, docs/performance.md;
later opens in the same process cost nothing). An entry whose data does not
match its index or its checksum, e.g. overwritten by something else, is never used: it is rebuilt from the audio
files, with a warning naming it.

Bad audio is refused while decoding, naming the file: a WAV file cut short (asdbench.data.wavheader), no
samples, NaN or infinite samples, and a group whose clips are all silent (a machine cannot be trained or scored
on silence).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile
from filelock import FileLock

from asdbench.data.layout import SAMPLE_RATE, channel_count
from asdbench.data.wavheader import check_whole_wav
from asdbench.errors import DataError
from asdbench.files.atomic import atomic_path, write_json_atomic
from asdbench.files.paths import writable_directory
from asdbench.runtime.progress import progress_bar

if TYPE_CHECKING:
    import pandas as pd

CACHE_VERSION = 2  # in every key: entries of another format are never read
INT16_SCALE = 1.0 / 32768.0


def decode(path: str | Path, *, channels: int = 1, channel: int = 0) -> np.ndarray:
    """Samples of channel ``channel`` of one 16 kHz file of ``channels`` channels (default: a mono file) as
    float32 in [-1, 1); a DataError names the file otherwise."""
    return _read(path, "float32", channels, channel)


def _decode_int16(path: str | Path, *, channels: int = 1, channel: int = 0) -> np.ndarray:
    """The exact 16-bit samples of one channel of a PCM_16 file."""
    return _read(path, "int16", channels, channel)


def _read(path: str | Path, dtype: str, channels: int, channel: int) -> np.ndarray:
    check_whole_wav(path)
    try:
        audio, rate = soundfile.read(str(path), dtype=dtype, always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise DataError(f"{path}: unreadable audio ({exc})") from None
    _check_format(path, rate, audio.shape[1], channels)
    samples = np.ascontiguousarray(audio[:, channel])
    _check_samples(path, samples)
    return samples


def _check_format(path: str | Path, rate: int, found: int, channels: int) -> None:
    if rate != SAMPLE_RATE:
        raise DataError(f"{path}: sample rate {rate} Hz; expected {SAMPLE_RATE} Hz")
    if found != channels:
        raise DataError(f"{path}: {channel_count(found)}; expected {channel_count(channels)}")


def _check_samples(path: str | Path, samples: np.ndarray) -> None:
    if not len(samples):
        raise DataError(f"{path}: no samples (a header without audio); expected a clip of 16 kHz samples")
    if samples.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(samples))
        if len(bad):
            raise DataError(f"{path}: {len(bad)} NaN or infinite samples, the first at sample {bad[0]} "
                            f"({samples[bad[0]]}); expected finite audio")


def _check_not_all_silent(paths: Sequence[str], clips: Sequence[np.ndarray]) -> None:
    """A group (one machine's train or test clips) in which every sample of every clip is 0."""
    if any(clip.any() for clip in clips):
        return
    folders = sorted({str(Path(p).parent) for p in paths})
    machine = Path(folders[0]).parent.name if len(folders) == 1 else "?"
    raise DataError(f"{folders[0]}: all {len(clips)} clips of machine {machine!r} are silent (every sample is 0); "
                    "expected recorded sound")


@dataclass(frozen=True)
class ClipArray:
    """The clips of one cached group: ``samples`` (memory-mapped), their ``offsets`` and ``lengths``."""

    paths: list[str]
    offsets: np.ndarray
    lengths: np.ndarray
    samples: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def clip(self, index: int) -> np.ndarray:
        start = int(self.offsets[index])
        samples = self.samples[start : start + int(self.lengths[index])]
        return self._to_float(samples, np.empty(len(samples), dtype=np.float32))

    def batch(self, indices: Sequence[int] | np.ndarray, num_samples: int,
              starts: Sequence[int] | np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """float32 ``(len(indices), num_samples)``, written into ``out`` when given: each clip from ``starts[i]``
        (default 0), tiled from its start if short."""
        out = np.empty((len(indices), num_samples), dtype=np.float32) if out is None else out
        for row, index in enumerate(indices):
            offset, length = int(self.offsets[index]), int(self.lengths[index])
            start = offset + (int(starts[row]) if starts is not None else 0)
            if offset + length - start >= num_samples:
                self._to_float(self.samples[start : start + num_samples], out[row])
            else:  # tile the whole clip from its start, as the reference does for short clips
                head = min(length, num_samples)
                self._to_float(self.samples[offset : offset + head], out[row, :head])
                _tile(out[row], head)
        return out

    @staticmethod
    def _to_float(samples: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``samples`` as float32 in ``out``; int16 scaled to [-1, 1) exactly (the scale is a power of 2)."""
        if samples.dtype == np.int16:
            return np.multiply(samples, np.float32(INT16_SCALE), out=out, dtype=np.float32)
        out[...] = samples
        return out


def _tile(row: np.ndarray, filled: int) -> None:
    """Repeat ``row[:filled]`` over the whole of ``row``, as ``np.resize`` does, by doubling the filled part."""
    if filled == 0:  # an empty clip (the cache refuses them): zeros, as np.resize gives, not an endless loop
        row[:] = 0
        return
    while filled < len(row):
        count = min(filled, len(row) - filled)
        row[filled : filled + count] = row[:count]
        filled += count


def default_cache_dir() -> Path:
    """``$ASDBENCH_CACHE_DIR``, or ``~/.cache/asdbench/audio`` where it is unset or empty: an empty value means
    unset, as an empty ``$XDG_CACHE_HOME`` does, not the working directory."""
    return Path(os.environ.get("ASDBENCH_CACHE_DIR") or Path.home() / ".cache" / "asdbench" / "audio")


class AudioCache:
    """Decoded audio shared by every epoch, run and process that reads the same files."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self._what = "audio cache directory" + (" ($ASDBENCH_CACHE_DIR)" if root is None else "")

    def key(self, paths: Sequence[str | Path], channels: int = 1, channel: int = 0) -> str:
        digest = hashlib.sha256(f"asdbench-audio/{CACHE_VERSION}".encode())
        if channels != 1:  # a mono group has one channel: its key names none
            digest.update(f"\0channel {channel} of {channels}".encode())
        for path in paths:
            resolved = Path(path).resolve()
            try:
                stat = resolved.stat()
            except FileNotFoundError:
                raise DataError(f"{resolved}: audio file not found") from None
            digest.update(f"\0{resolved}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:32]

    def load(self, paths: Sequence[str | Path], *, channels: int = 1, channel: int = 0,
             progress: bool = True) -> ClipArray:
        """The group's clips, decoding them first if no valid entry exists: channel ``channel`` of files that
        must each have ``channels`` channels (default: mono files)."""
        if not paths:
            raise DataError("no audio files given to the cache")
        if not 0 <= channel < channels:
            raise DataError(f"channel {channel} of {channel_count(channels)} audio does not exist")
        key = self.key(paths, channels, channel)
        entry = self._open(key, paths, channels, channel, warn=True)
        if entry is not None:
            return entry
        writable_directory(self.root, self._what)
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f"{key}.lock")):
            entry = self._open(key, paths, channels, channel)  # another process may have filled it while we waited
            if entry is None:
                self._fill(key, paths, channels, channel, progress)
                entry = self._open(key, paths, channels, channel)
        if entry is None:
            raise DataError(f"audio cache entry {self.root / key} could not be read back after writing it")
        return entry

    def load_rows(self, rows: pd.DataFrame, *, progress: bool = True) -> ClipArray:
        """The clips of manifest rows, each read at the channel its row names (columns ``channels`` and
        ``channel``; a manifest without them describes mono files, as every manifest did before DCASE 2026)."""
        if not {"channels", "channel"} <= set(rows.columns):
            return self.load(list(rows["path"]), progress=progress)
        layouts = rows[["channels", "channel"]].drop_duplicates()
        if len(layouts) > 1:
            raise DataError(f"{rows['path'].iloc[0]} and the other clips of one group are to be read at different "
                            f"channels ({layouts.to_dict('records')}); a group is read at one channel")
        channels, channel = (int(value) for value in layouts.iloc[0]) if len(layouts) else (1, 0)
        return self.load(list(rows["path"]), channels=channels, channel=channel, progress=progress)

    def _open(self, key: str, paths: Sequence[str | Path], channels: int, channel: int, *,
              warn: bool = False) -> ClipArray | None:
        """The entry, or None if it is absent or damaged (``warn``: say so, naming the damaged file)."""
        index_file, data_file = self.root / f"{key}.json", self.root / f"{key}.npy"
        try:
            index = json.loads(index_file.read_text())
        except (FileNotFoundError, ValueError, OSError):
            return None  # absent, or being replaced: the data is only trusted once its index is whole
        resolved = [str(Path(p).resolve()) for p in paths]
        lengths = np.asarray(index.get("lengths", []), dtype=np.int64)
        try:
            samples = np.load(data_file, mmap_mode="r", allow_pickle=False)
        except (FileNotFoundError, ValueError, OSError):
            samples = None
        if (index.get("paths") != resolved or (index.get("channels", 1), index.get("channel", 0)) != (channels, channel)
                or samples is None or samples.ndim != 1
                or len(samples) != int(lengths.sum()) or not _intact(data_file, samples, index.get("crc32"))):
            if warn:
                warnings.warn(f"{data_file}: audio cache entry does not match its index or checksum (damaged or "
                              "overwritten); rebuilding it from the audio files", stacklevel=3)
            return None
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return ClipArray(resolved, offsets, lengths, samples)

    def _fill(self, key: str, paths: Sequence[str | Path], channels: int, channel: int, progress: bool) -> None:
        resolved = [str(Path(p).resolve()) for p in paths]
        as_int16 = all(_subtype(p) == "PCM_16" for p in resolved)
        reader = _decode_int16 if as_int16 else decode
        layout = {"channels": channels, "channel": channel} if channels != 1 else {}
        clips = [reader(p, **layout) for p in progress_bar(resolved, desc="decoding audio", unit="file",
                                                           disable=not progress, leave=False)]
        _check_not_all_silent(resolved, clips)
        samples = np.concatenate(clips)
        with atomic_path(self.root / f"{key}.npy") as temporary:
            with open(temporary, "wb") as handle:
                np.save(handle, samples)
        # the index last: its presence (and agreement with the data) marks a whole entry
        write_json_atomic(self.root / f"{key}.json",
                          {"version": CACHE_VERSION, "paths": resolved, "lengths": [len(c) for c in clips],
                           "crc32": zlib.crc32(samples), **layout})


_VERIFIED: set[tuple[str, int, int, int]] = set()
"""Data files whose checksum this process has verified, by path, inode, size and modification time."""


def _intact(data_file: Path, samples: np.ndarray, crc32: int | None) -> bool:
    """Whether the entry's array bytes have the checksum its index recorded; computed once per file per process."""
    stat = data_file.stat()
    identity = (str(data_file), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if identity in _VERIFIED:
        return True
    if crc32 is None or zlib.crc32(samples) != crc32:
        return False
    _VERIFIED.add(identity)
    return True


def _subtype(path: str) -> str:
    try:
        return soundfile.info(path).subtype
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise DataError(f"{path}: unreadable audio ({exc})") from None

