"""A report site read back as data: each page's embedded numbers, its values as shown, and every address it names."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any


class Page(HTMLParser):
    """One page of a report: ``numbers`` (its embedded JSON), ``links`` (every href and src), ``cells`` (the
    attributes of every element with a ``data-value`` or ``data-mean``, with ``run``, ``machine`` and ``section``
    from its row), ``text`` (what it says)."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.numbers: Any = None
        self.links: list[str] = []
        self.cells: list[dict[str, str]] = []
        self._row: dict[str, str] = {}
        self._script: str | None = None
        self._chunks: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.text = " ".join(" ".join(self._chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.links += [found[name] for name in ("href", "src") if name in found]
        if tag == "tr":
            self._row = {name[5:]: value for name, value in found.items() if name.startswith("data-")}
        if "data-value" in found or "data-mean" in found:
            self.cells.append({**self._row, **{name[5:]: value for name, value in found.items()
                                               if name.startswith("data-")}})
        if tag == "script" and found.get("id") == "numbers":
            self._script = ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script += data
        else:
            self._chunks.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.numbers = json.loads(self._script)
            self._script = None


def pages(site: Path) -> dict[str, Page]:
    """Every HTML page of the site, by its path relative to the site's root."""
    return {str(path.relative_to(site)): Page(path) for path in sorted(site.rglob("*.html"))}
