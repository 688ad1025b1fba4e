"""Text for a terminal: tables whose free-text column is cut to the width the others leave, sizes in words."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

MINIMUM = 12
"""The narrowest free-text column: on a terminal narrower than the other columns and this, lines wrap rather than
say nothing (the built-in plugins' list fits 80 columns)."""
PADDING = 2
"""What tabulate adds to a header for its column's width, and puts between columns."""


def fitted_table(rows: list[dict[str, Any]], column: str, width: int) -> str:
    """``rows`` as a plain table of at most ``width`` characters a line: ``column`` (the last, free text) cut short
    with "..." where it would pass the edge."""
    if not rows:
        return ""
    others = [key for key in rows[0] if key != column]
    widths = {key: max(len(key) + PADDING, *(len(str(row[key])) for row in rows)) for key in others}
    room = max(MINIMUM, width - sum(widths.values()) - PADDING * len(others))
    cut = [{**row, column: shortened(str(row[column]), room)} for row in rows]
    return tabulate(cut, headers="keys", tablefmt="simple", disable_numparse=True)


def room_left(rows: list[dict[str, str]], columns: list[str], width: int) -> int:
    """The width left to a last column, beside ``columns`` of ``rows``, on a line of ``width`` characters."""
    used = sum(max(len(key) + PADDING, *(len(row[key]) for row in rows)) + PADDING for key in columns)
    return max(MINIMUM, width - used)


def shortened(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 3].rstrip() + "..."


def human_size(count: int) -> str:
    """``count`` bytes as ``812 B``, ``40.7 KB``, ``112.9 MB``, ``7.8 GB`` (powers of 1000)."""
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
