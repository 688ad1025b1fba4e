"""The command line: errors are one clear line (a traceback only with --debug)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from asdbench.cli.main import main


def test_user_error_prints_one_line_without_traceback(tmp_path, capsys):
    spec = tmp_path / "run.toml"
    spec.write_text('[dataset]\nname = "synth"\nroot = "x"\n[system]\nfrontends = ["mel"]\n')
    assert main(["spec", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("asdbench: error: ") and "system.frontends[0].name" in err and "spectrum" in err
    assert "Traceback" not in err


def test_debug_flag_shows_the_traceback(tmp_path, capsys):
    assert main(["--debug", "spec", str(tmp_path / "missing.toml")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_spec_command_prints_canonical_form_and_hash(tmp_path, capsys):
    spec = tmp_path / "run.toml"
    spec.write_text('seed = 2\n[dataset]\nname = "synth"\nroot = "data"\n[system]\nfrontends = ["spectrum"]\n'
                    'backend = {name = "knn", k = 2}\n')
    assert main(["spec", str(spec)]) == 0
    out = capsys.readouterr().out
    assert '"k": 2' in out and str(tmp_path / "data") in out
    training, scoring, run = out.strip().splitlines()[-3:]
    assert training.startswith("training: ") and scoring.startswith("scoring: ")
    assert run == f"run: {training.removeprefix('training: ')}/{scoring.removeprefix('scoring: ')}"


@pytest.mark.slow
def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "asdbench", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("asdbench ")


@pytest.mark.slow
def test_output_into_a_closed_pipe_ends_quietly():
    """`asdbench plugins | head -1`: once the reader has gone, no traceback, the shell's SIGPIPE status."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", "asdbench", "plugins"], stdout=write, stderr=subprocess.PIPE,
                                text=True, timeout=120)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (141, "")
