"""What is checked for every run of a grid (or for one run) before any work: each dataset's manifests read once
(clip names, attributes, ground truth: no audio is decoded), and every run's backend built from its options and given
each machine section's training domains (its ``check_data``), so that a bad backend option, a dataset that is not
there or too little data for a backend stops the work before anything is trained, with each cause said once with
the runs it concerns, and nothing written to the store. ``ASDBENCH_DEVICE`` and ``ASDBENCH_CPU_ALLOCATOR`` are
checked too, where the work runs on this machine.

What only training or scoring finds out (a NaN loss, a plugin that raises while it trains) is still each run's own
failure, recorded in the store (:mod:`asdbench.store.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asdbench.contract.boundary import plugin_call
from asdbench.contract.registry import Registry
from asdbench.data.units import Unit, units_of
from asdbench.errors import AsdbenchError, PreflightError
from asdbench.runtime.devices import check_device_variable
from asdbench.runtime.heap import cpu_allocator
from asdbench.spec.identity import RunSpec, canonical_json
from asdbench.store.datacheck import open_dataset
from asdbench.store.modelnames import model_name
from asdbench.store.reading import RunState
from asdbench.store.stale import survey


@dataclass(frozen=True)
class Problem:
    """One cause that stops the work, and the runs it concerns (in the order given)."""

    cause: str
    runs: list[RunSpec]


@dataclass(frozen=True)
class DataSize:
    """What a run's dataset holds for its splits: the clips it trains on, every clip it embeds, its machine types, and
    the models its training trains (one, or one per machine type (and split) of a machinewise training)."""

    training_clips: int
    clips: int
    machines: int = 1
    models: int = 1


@dataclass(frozen=True)
class Checked:
    """What the checks found: the problems (none: the work may start) and, per run hash, its data's size."""

    problems: list[Problem]
    sizes: dict[str, DataSize]


def check_runs(specs: list[RunSpec], registry: Registry, *, device: bool = True) -> Checked:
    """Check ``specs`` before any work (the module's docstring says what); ``device``: whether the work runs on this
    machine, so that ``ASDBENCH_DEVICE`` must name a device it has and ``ASDBENCH_CPU_ALLOCATOR`` an allocator it can
    honour (a :class:`~asdbench.errors.HostError` if not)."""
    if device:
        check_device_variable()
        cpu_allocator()
    datasets = _Datasets(registry)
    backends: dict[tuple[str, str], str | None] = {}
    causes: dict[str, list[RunSpec]] = {}
    sizes = {}
    for spec in specs:
        try:
            units = datasets.units(spec.dataset)
        except (AsdbenchError, OSError) as exc:
            causes.setdefault(_reason(exc), []).append(spec)
            continue
        sizes[spec.hash] = DataSize(sum(len(unit.train) for unit in units),
                                    sum(len(unit.train) + len(unit.test) for unit in units),
                                    len({unit.machine for unit in units}),
                                    len({model_name(unit, spec.train.get("machinewise", False)) for unit in units}))
        component = spec.system.get("backend")
        key = (canonical_json({"backend": component}), canonical_json(spec.dataset))
        if key not in backends:
            backends[key] = _backend_problem(component, units, registry)
        if backends[key] is not None:
            causes.setdefault(backends[key], []).append(spec)
    return Checked([Problem(cause, runs) for cause, runs in causes.items()], sizes)


def to_compute(specs: list[RunSpec], store: Any, registry: Registry, changed_code: str) -> list[RunSpec]:
    """The runs of ``specs`` that ``store`` (an :class:`asdbench.store.store.Store`) would compute: those not done,
    and the done ones that ``--rerun changed`` (``changed_code`` "rerun") computes again. What is done is not
    checked again, so that a finished grid reads back where its data are not."""
    again = survey(specs, store, registry).stale_runs if changed_code == "rerun" else set()
    return [spec for spec in specs if store.state(spec) is not RunState.DONE or spec.hash in again]


def refuse(problems: list[Problem]) -> None:
    """Raise :class:`PreflightError` for the problems of a run computed alone, if any."""
    if len(problems) == 1:
        raise PreflightError(problems[0].cause)
    if problems:
        raise PreflightError(f"{len(problems)} problems found before any work:\n"
                             + "\n".join(f"  {problem.cause}" for problem in problems))


class _Datasets:
    """Each dataset's manifest of each split, read once; the units of a run's splits."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.manifests: dict[tuple[str, str], Any] = {}
        self.failures: dict[str, Exception] = {}

    def units(self, dataset: dict[str, Any]) -> list[Unit]:
        key = canonical_json({k: v for k, v in dataset.items() if k != "splits"})
        if key in self.failures:
            raise self.failures[key]
        try:
            opened = None
            for split in dataset["splits"]:
                if (key, split) not in self.manifests:
                    opened = opened or open_dataset(dataset, self.registry)
                    self.manifests[key, split] = opened.manifest(split)
        except (AsdbenchError, OSError) as exc:
            self.failures[key] = exc
            raise
        return units_of({split: self.manifests[key, split] for split in dataset["splits"]})


def _backend_problem(component: dict[str, Any] | None, units: list[Unit], registry: Registry) -> str | None:
    """Why the backend ``component`` cannot score these units (built from its options, then its ``check_data`` on
    each unit's training domains), naming the first unit it refuses; None when it can."""
    if component is None:
        return "system.backend is required to score a run"
    try:
        backend = registry.build("backends", component)
    except AsdbenchError as exc:
        return f"system.backend: {exc}"
    if not hasattr(backend, "check_data"):
        return None
    refused = []
    for unit in units:
        try:
            with plugin_call(registry.get("backends", component["name"]), "check_data"):
                backend.check_data(unit.train["domain"].to_numpy())
        except AsdbenchError as exc:
            refused.append(f"{unit.split}/{unit.machine} section {unit.section}: {exc}")
    if not refused:
        return None
    return refused[0] + (f" (and {len(refused) - 1} more machine sections)" if len(refused) > 1 else "")


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, AsdbenchError):
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
