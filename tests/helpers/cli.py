"""Running the command line in a test and reading the one error line it prints."""

from __future__ import annotations

from asdbench.cli.main import main


def cli_error(args: list[str], capsys) -> str:
    """The one line the CLI prints for a failing command (asserting exit status 2 and no traceback)."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.startswith("asdbench: error:")]
    return line
