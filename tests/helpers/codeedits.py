"""Code edited between two computations, as a test sees it within one process."""

from __future__ import annotations

from asdbench.store import codeprint


def edited(monkeypatch, distribution: str) -> None:
    """What a new process sees after ``distribution``'s source was edited: another source digest."""
    installed = codeprint.distribution_print
    monkeypatch.setattr(codeprint, "distribution_print", lambda name, stage: (
        {**installed(name, stage), "source": "sha256:edited"} if name == distribution else installed(name, stage)))
