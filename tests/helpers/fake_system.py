"""The fake system: a cheap frontend, network and loss installed as a plugin distribution, which grids can train in
seconds, in this process and in the processes it starts; its loss logs a line per system built."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.distributions import write_distribution

FAKE_SYSTEM = """
    import os
    import torch
    from torch import nn
    from asdbench.hookspecs import hookimpl

    class Magnitude(nn.Module):
        def forward(self, x):
            return torch.fft.rfft(x).abs()[:, :64]
        def output_shape(self, num_samples):
            return (64,)

    class Dense(nn.Module):
        def __init__(self, input_shape, /, *, embedding_dim: int = 8):
            super().__init__()
            self.embedding_dim = embedding_dim
            self.layer = nn.Linear(input_shape[0], embedding_dim)
        def forward(self, x):
            return self.layer(torch.log1p(x))

    class Softmax(nn.Module):
        def __init__(self, branch_dims, num_classes, /, *, slow: float = 0.0):
            super().__init__()
            self.head = nn.Linear(sum(branch_dims), num_classes)
            self.slow = slow
            with open(os.environ["FAKE_SYSTEM_LOG"], "a") as log:  # one line per run executed (or resumed)
                log.write(f"{os.getpid()}\\n")
        def forward(self, branches, targets):
            import time
            time.sleep(self.slow)
            logits = self.head(torch.cat(branches, 1))
            return -(targets * torch.log_softmax(logits, 1)).sum(1).mean()

    @hookimpl
    def asdbench_register_frontends(register):
        register("fake-magnitude", Magnitude)

    @hookimpl
    def asdbench_register_networks(register):
        register("fake-dense", Dense)

    @hookimpl
    def asdbench_register_losses(register):
        register("fake-softmax", Softmax)
"""


def install_fake_system(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the fake system as a distribution in ``directory``/site, visible to the registries this process loads
    afterwards (``plugins.use_registry(None)``) and to every process it starts (through PYTHONPATH); returns the log
    its loss writes a line to per run."""
    site = directory / "site"
    site.mkdir()
    write_distribution(site, "asdbench-fake-system", "asdbench_fake_system", FAKE_SYSTEM)
    log = directory / "executions.log"
    log.touch()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAKE_SYSTEM_LOG", str(log))
    return log


def trainings(log: Path) -> int:
    """How many systems the fake plugin built: one per training (or checkpoint re-creation)."""
    return len(log.read_text().split())
