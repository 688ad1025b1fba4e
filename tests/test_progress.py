"""Progress bars: redrawn on a terminal, plain lines at a modest rate in a log file."""

from __future__ import annotations

import io

from tqdm import tqdm

from asdbench.runtime import progress
from asdbench.runtime.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_the_redrawn_bar(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    list(progress_bar(range(3), desc="work"))
    assert "\r" in terminal.getvalue()


def test_log_gets_one_plain_line_per_update(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOG_INTERVAL_SECONDS", 0)
    with progress_bar(total=3, desc="grid", unit="run") as bar:
        for _ in range(3):
            bar.update()
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith("grid: 100%") and "3/3" in lines[-1]
    assert all("\r" not in line and "\x1b" not in line and line.startswith("grid:") for line in lines)
    assert 3 <= len(lines) <= 5 and len(set(lines)) == len(lines)


def test_log_does_not_repeat_a_bar_after_each_written_line(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOG_INTERVAL_SECONDS", 0)
    with progress_bar(total=2, desc="grid", unit="run") as bar:
        printed = len(capsys.readouterr().err.splitlines())
        for epoch in range(5):
            tqdm.write(f"epoch {epoch}")
        assert capsys.readouterr().err == ""
        bar.update(2)
    assert printed <= 1


def test_log_is_quiet_for_bars_shorter_than_the_interval(capsys):
    for _ in progress_bar(range(1000), desc="decoding audio"):
        pass
    assert capsys.readouterr().err == ""


def test_disabled_bar_prints_nothing(capsys):
    list(progress_bar(range(3), disable=True))
    assert capsys.readouterr() == ("", "")
