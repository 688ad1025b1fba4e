"""Fixed-length waveform batches across several cached clip groups (one group per machine and subset).

Training draws a random crop where a clip is longer than the training length (clips shorter than it are
tiled from their start, as the reference does); scoring always starts at offset 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from asdbench.data.audio import ClipArray


class ClipSource:
    """Clips of several :class:`ClipArray` groups, addressed by one index in group order."""

    def __init__(self, groups: Sequence[ClipArray]) -> None:
        self.groups = list(groups)
        self._offsets = np.cumsum([0] + [len(group) for group in self.groups])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @property
    def lengths(self) -> np.ndarray:
        return np.concatenate([np.asarray(group.lengths) for group in self.groups])

    def batch(self, indices: Sequence[int] | np.ndarray, num_samples: int,
              rng: np.random.Generator | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """float32 ``(len(indices), num_samples)``, written into ``out`` when given (a pinned buffer, say); random
        crop offsets from ``rng`` when given, drawn group by group in group order."""
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(indices), num_samples), dtype=np.float32) if out is None else out
        group_of = np.searchsorted(self._offsets, indices, side="right") - 1
        for group_index in np.unique(group_of):
            rows = np.flatnonzero(group_of == group_index)
            group = self.groups[group_index]
            local = indices[rows] - self._offsets[group_index]
            starts = None
            if rng is not None:
                spare = np.maximum(np.asarray(group.lengths)[local] - num_samples, 0)
                starts = rng.integers(0, spare + 1)
            for i, row in enumerate(rows):  # row by row, straight into ``out``: no copy of the whole batch
                group.batch(local[i : i + 1], num_samples, starts=None if starts is None else starts[i : i + 1],
                            out=out[row : row + 1])
        return out
