"""Headless Chromium for the report site's browser tests: Debian's ``chromium`` driven by Playwright, pages that
record what went wrong and every request they made, and the check that a site's page loads offline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts" / "report"
"""Where the browser tests leave their screenshots, to be looked at in review (git-ignored)."""
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
"""Headless Chromium in a container, with nothing it does on its own behalf (updates, sync) that reaches a network;
Playwright adds --headless and a fresh --user-data-dir."""


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser; the test is skipped with the reason where Chromium or Playwright is missing (the sites are
    still checked as data)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def recording_page(browser: Any) -> Iterator[Any]:
    """A page that records its console errors and uncaught exceptions (``problems``) and every request it makes
    (``requests``)."""
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    opened = context.new_page()
    opened.problems, opened.requests = [], []
    opened.on("console", lambda message: message.type == "error" and opened.problems.append(message.text))
    opened.on("pageerror", lambda error: opened.problems.append(str(error)))
    opened.on("request", lambda request: opened.requests.append(request.url))
    try:
        yield opened
    finally:
        context.close()


def load_offline(page: Any, site: Path, charts: int, screenshot: str) -> None:
    """Open ``site``'s index, wait until its ``charts`` charts are drawn, keep a screenshot in :data:`ARTIFACTS`,
    and check that nothing went wrong and that every request stayed on the file system."""
    page.goto((site / "index.html").as_uri())
    page.wait_for_function(f"document.querySelectorAll('canvas[data-chart]').length === {charts} && "
                           "Array.from(document.querySelectorAll('canvas')).every(c => Chart.getChart(c))")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / screenshot, full_page=True)
    assert page.problems == []
    assert page.requests and all(url.startswith("file://") for url in page.requests), page.requests
