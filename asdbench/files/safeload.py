"""Reading ``.npz`` files without running code from them.

``np.load`` with ``allow_pickle=True`` unpickles an object array, and a pickle can run any code: a shared store would
then be enough to run code on whoever reads it. asdbench reads every array with ``allow_pickle=False``, with one
exception kept for files it wrote itself before it wrote strings as strings: pseudo-labelling spaces holding object
arrays of file names and labels. Those are read by an unpickler that knows only numpy's array reconstruction, and
kept only if they hold nothing but strings.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ARRAY_GLOBALS = frozenset({("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
                           ("numpy", "ndarray"), ("numpy", "dtype")})
"""The only globals a pickled object array of strings names."""
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class UnsafeArray(ValueError):
    """An array in a numpy file that would need code run to be read."""


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise UnsafeArray(f"it pickles {module}.{name}, which asdbench never writes; nothing of it was run")


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``, object arrays of strings read as string arrays. Raises
    :class:`UnsafeArray` for any other pickled content, and numpy's or zipfile's errors for a damaged file."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member_name in archive.namelist():
            key = member_name.removesuffix(".npy")
            with archive.open(member_name) as member:
                version = np.lib.format.read_magic(member)
                if version not in HEADER_READERS:
                    raise ValueError(f"array {key!r}: numpy format version {version} is not one asdbench writes")
                _, _, dtype = HEADER_READERS[version](member)
                if dtype.hasobject:  # the pickle follows the header
                    arrays[key] = _strings(member, key)
                    continue
            with archive.open(member_name) as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def _strings(member: Any, key: str) -> np.ndarray:
    try:
        array = _ArrayUnpickler(member).load()
    except UnsafeArray as exc:
        raise UnsafeArray(f"array {key!r}: {exc}") from None
    if not isinstance(array, np.ndarray) or not all(isinstance(item, str) for item in array.ravel()):
        raise UnsafeArray(f"array {key!r}: an object array of other things than strings")
    return array.astype(str)
