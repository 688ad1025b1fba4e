"""Write tiny BEATs and EAT checkpoints in the published layouts, for leaderboard/sota-synth.toml (CI).

They are the golden models of tests/golden (made by microsoft/unilm's and cwx-worst-one/EAT's own code: 2 layers,
width 32), the EAT one with a positions table long enough for the grid's 4.5 s clips. A leaderboard made with them
checks that every system of leaderboard/sota.toml runs end to end; its numbers mean nothing.

    python leaderboard/make_tiny_weights.py DIR      # writes DIR/BEATs_tiny.pt and DIR/EAT_tiny.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
EAT_TIME_PATCHES = 32  # 4.5 s: 448 fbank frames, padded to 448, = 28 patches of 16 frames; the golden table has 12


def write_tiny_weights(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    beats = torch.load(GOLDEN / "beats_reference.pt", weights_only=True)
    beats_path = directory / "BEATs_tiny.pt"
    torch.save({"cfg": beats["cfg"], "model": beats["model"]}, beats_path)
    eat = torch.load(GOLDEN / "eat_reference.pt", weights_only=True)
    eat["cfg"]["model"]["modalities"]["image"]["max_length"] = EAT_TIME_PATCHES
    key = "modality_encoders.IMAGE.fixed_positional_encoder.positions"
    width = eat["model"][key].shape[-1]
    eat["model"][key] = torch.randn(1, EAT_TIME_PATCHES * 8, width, generator=torch.Generator().manual_seed(0))
    eat_path = directory / "EAT_tiny.pt"
    torch.save({"cfg": eat["cfg"], "model": eat["model"]}, eat_path)
    return beats_path, eat_path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for path in write_tiny_weights(Path(sys.argv[1])):
        print(path)
