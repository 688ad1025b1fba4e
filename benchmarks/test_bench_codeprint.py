"""The cost of a run's code fingerprint (asdbench.store.codeprint): what each process pays once, hashing the core's
numeric modules and the sources of the plugin distributions a training and a scoring of the paper's system use.
The target is a few milliseconds: it is paid by `grid`, `run` and `status` before any work."""

from __future__ import annotations

from pathlib import Path

from asdbench.contract.registry import get_registry
from asdbench.spec.validate import load_spec
from asdbench.store import codeprint

SPEC = Path(__file__).resolve().parents[1] / "leaderboard" / "paper-base.toml"


def test_code_fingerprint_of_a_training_and_a_scoring(benchmark):
    registry = get_registry()
    spec = load_spec(SPEC, registry)

    def both_stages() -> list[dict]:
        codeprint.forget_installed()  # as a new process: nothing hashed yet
        return [codeprint.fingerprint(spec.canonical, stage, registry) for stage in codeprint.STAGES]

    training, scoring = benchmark.pedantic(both_stages, rounds=20, warmup_rounds=1, iterations=1)
    assert "asdbench-methods" in training and "asdbench" in scoring
