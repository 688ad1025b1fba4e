"""Start-up of the command line: the commands that load every plugin but build nothing should answer at once.

Each command runs in a fresh interpreter, as a user's shell runs it, so the time is the imports plus the work:
registering the plugins (``plugins``) and validating a spec against their factories' signatures (``spec``).
The target is under 1.5 s each on a small shared CPU machine; importing torch alone takes longer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parents[1] / "leaderboard" / "paper-base.toml"


@pytest.mark.parametrize("arguments", [["--help"], ["plugins"], ["spec", str(SPEC)]], ids=["help", "plugins", "spec"])
def test_command_start_up(benchmark, arguments):
    command = [sys.executable, "-m", "asdbench", *arguments]
    done = benchmark.pedantic(subprocess.run, args=(command,), kwargs={"capture_output": True, "check": True},
                              rounds=7, warmup_rounds=1, iterations=1)
    assert done.stdout
