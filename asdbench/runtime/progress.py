"""Progress bars that suit both a terminal and a log file.

On a terminal (or in a notebook) :func:`progress_bar` is tqdm's usual redrawn bar. When stderr is redirected
to a file, tqdm would still redraw with carriage returns, so that a log holds every update of every bar on one
huge line; there it prints one plain line per update instead, at most every :data:`LOG_INTERVAL_SECONDS`, and
nothing for a bar that finishes sooner.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

from tqdm import tqdm
from tqdm.autonotebook import tqdm as notebook_tqdm  # the widget bar in a notebook, tqdm itself elsewhere

LOG_INTERVAL_SECONDS = 30.0
LOG_COLUMNS = 100
# what tqdm writes to redraw in place: carriage returns and "cursor up" for nested bars
_REDRAW = re.compile(r"\r|\x1b\[A")


class _Lines:
    """A stream for tqdm that turns each redraw into a line of its own, and drops the blank ones that erase and
    a repeat of the previous line (a closing bar draws its final state again)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> int:
        line = _REDRAW.sub("", text).strip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def on_terminal() -> bool:
    """Whether bars are redrawn in place (stderr is a terminal, or this is a notebook), not printed as log lines."""
    return notebook_tqdm is not tqdm or sys.stderr.isatty()


def progress_bar(iterable: Any = None, **options: Any) -> tqdm:
    """``tqdm(iterable, **options)`` on a terminal; in a log, plain lines at a modest rate.

    The log's stream is also not stderr itself as far as tqdm knows, so ``tqdm.write`` (the epoch lines) does
    not print the bars again after each of its lines, as it does to redraw them on a terminal.
    """
    if options.get("disable") or on_terminal():
        return notebook_tqdm(iterable, **options)
    # maxinterval too: tqdm's monitor thread would otherwise print a bar that has not printed for 10 s
    return tqdm(iterable, file=_Lines(sys.stderr), mininterval=LOG_INTERVAL_SECONDS, delay=LOG_INTERVAL_SECONDS,
                maxinterval=LOG_INTERVAL_SECONDS,
                ncols=LOG_COLUMNS, ascii=True, **options)
