"""A WAV file cut short: its header promises more samples than the file holds.

libsndfile reads such a file without complaint, as far as its bytes go, so a clip cut off by an interrupted
copy or download would be scored as a shorter clip. The RIFF chunks are walked here (a few small reads per
file, no audio decoded) and a ``data`` chunk longer than the rest of the file is an error naming the file.
Files that are not RIFF WAVE (RF64, other formats), and streaming headers whose sizes are placeholders
(0 or 0xFFFFFFFF), are left to libsndfile.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from asdbench.errors import DataError

_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
"""What writers that cannot seek back put in the size fields."""


def check_whole_wav(path: str | Path) -> None:
    """Raise a DataError naming ``path`` if its ``data`` chunk claims more bytes than follow it."""
    try:
        found = _data_chunk(path)
    except OSError:
        return  # a file that cannot be opened or read is libsndfile's to name, as for any other file
    if found is None:
        return
    declared, available, frame = found
    if declared in _UNKNOWN_SIZES or available >= declared:
        return
    raise DataError(f"{path}: truncated WAV file: its header gives {declared // frame} samples, the file holds "
                    f"{available // frame} ({available} of {declared} bytes of audio), e.g. an interrupted copy "
                    "or download; expected the whole file")


def _data_chunk(path: str | Path) -> tuple[int, int, int] | None:
    """The ``data`` chunk's declared size, the bytes that follow its header and the bytes per sample frame (from
    the ``fmt `` chunk, before ``data`` in every WAV writer's output); None for a file that is not RIFF WAVE."""
    frame = 1
    with open(path, "rb") as handle:
        riff = handle.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None
        for chunk, size, start in _chunks(handle):
            if chunk == b"fmt ":
                body = handle.read(14)
                frame = max(struct.unpack("<H", body[12:14])[0], 1) if len(body) == 14 else 1
            elif chunk == b"data":
                return size, handle.seek(0, 2) - start, frame
    return None


def _chunks(handle: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """(id, declared size, offset of the body) of each chunk after the RIFF header, ``handle`` at the body."""
    while len(header := handle.read(8)) == 8:
        size = struct.unpack("<I", header[4:])[0]
        start = handle.tell()
        yield header[:4], size, start
        handle.seek(start + size + size % 2)  # chunks are padded to an even length
