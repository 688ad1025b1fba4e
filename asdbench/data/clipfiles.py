"""The clip files of a folder, read or refused, never left out: a link that leads nowhere, a folder named like a
clip, a WAV file of the wrong rate or channels or cut short is an error naming the file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import soundfile

from asdbench.data.layout import SAMPLE_RATE, channel_count
from asdbench.data.wavheader import check_whole_wav
from asdbench.data.years import Year
from asdbench.errors import DataError


def clip_files(folder: Path) -> list[Path]:
    """The ``.wav`` files of a folder, whatever the case of their extension (``.WAV`` from some copies); an entry
    named like a clip that is no readable file (a broken link, a folder) is an error naming it, not left out."""
    named = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    for path in named:
        if not path.is_file():
            raise DataError(f"{path}: named like a clip, but {what_is(path)}; expected a WAV file")
    return named


def what_is(path: Path) -> str:
    """What a path that is not a file is, in words."""
    if path.is_symlink():
        try:
            path.stat()
        except FileNotFoundError:
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link that leads back to itself (a loop)"
            return f"a symbolic link that cannot be followed ({exc.strerror})"
    return "a folder" if path.is_dir() else "not a regular file"


def clip_name(path: Path) -> str:
    """A clip's name as the organisers' files spell it: ``x.WAV`` and ``x`` are ``x.wav``."""
    return f"{path.stem}.wav" if path.suffix.lower() == ".wav" else f"{path.name}.wav"


def check_audio_file(path: Path, year: Year) -> None:
    """16 kHz with the channels of ``year``'s data, readable, whole: checked from the header."""
    check_whole_wav(path)
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise DataError(f"{path}: unreadable audio ({exc})") from None
    if info.samplerate != SAMPLE_RATE:
        raise DataError(f"{path}: sample rate {info.samplerate} Hz; DCASE Task 2 audio is {SAMPLE_RATE} Hz")
    if info.channels != year.channels:
        raise DataError(f"{path}: {channel_count(info.channels)}; DCASE {year.year} Task 2 audio is "
                        f"{channel_count(year.channels)}")
