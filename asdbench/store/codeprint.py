"""The code fingerprint of a training or a scoring: which distributions' code made it, at which version and source.

A run's identity (:mod:`asdbench.spec.validate`) says what it IS; its code fingerprint says what it was made WITH, so
that a result whose code has changed since (an editable plugin edited, a plugin upgraded) is noticed rather
than shown as if today's code computed it (:mod:`asdbench.store.stale`). For each distribution whose components a
stage uses, the fingerprint holds its version and a digest of its source: the ``*.py`` files of its
top-level packages (those its ``asdbench`` entry points are in), by path relative to the package and content.
The digest is taken for every install kind alike: editable installs report whatever version their metadata had
when installed (0.1.0 forever), and a wheel reinstalled with the same version is caught too; the paths are
relative, so machines sharing a store with the same code agree. Each distribution is hashed once per process.

Granularity. A training uses the dataset reader, its system's frontends, networks, losses and augmentations,
its pseudo-labelling's feature space, reducer and clusterer, and the core; a scoring uses the dataset reader,
its backend and the core. For the core only the modules on the way from audio to a number count
(:data:`NOT_NUMERIC` lists the others: the command line, tables, scheduling, locks, file plumbing, spec
validation, whose effect the identity already holds), and a training leaves out the modules that only
evaluate scores (:data:`SCORING_ONLY`): a fix to the metrics marks scorings stale (rescored from the stored
embeddings in seconds), not trainings. A new core module counts until it is listed here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from asdbench import __version__
from asdbench.contract.registry import CORE_DISTRIBUTION, ENTRY_POINT_GROUP, Registry
from asdbench.files.atomic import write_json_atomic
from asdbench.files.damaged import DamagedFile
from asdbench.store.layout import CODE_FILE, read_json

TRAINING, SCORING, PSEUDOLABELS, FEATURESPACE = "training", "scoring", "pseudolabels", "featurespace"
STAGES = (TRAINING, SCORING, PSEUDOLABELS, FEATURESPACE)
"""A pseudo-label table (``<store>/pseudolabels/<hash>``) is a stage of its own: runs of other systems share it,
so it depends on the dataset reader and the pseudo-labelling components only (and on the system's training
components where its feature space trains the run's system, ``uses_system``). The feature-space embeddings it
clusters (``<store>/featurespaces/<hash>``) are another, shared by tables of other reducers and clusterers: they
depend on the dataset reader and the feature space only (with the same ``uses_system`` rule)."""

NOT_NUMERIC = frozenset({
    "__main__.py", "api.py", "compat.py", "errors.py", "hookspecs.py",
    "cli", "files", "grid", "report", "spec",
    "contract/constraints.py", "contract/kinds.py", "contract/protocols.py", "contract/registration.py",
    "contract/registry.py", "contract/selfcheck.py", "runtime/heap.py", "runtime/progress.py", "training/prefetch.py",
    "scoring/baseline.py", "store/checks.py", "store/claims.py", "store/codeprint.py", "store/datacheck.py",
    "store/layout.py", "store/reading.py", "store/stale.py", "store/store.py", "store/history.py",
    "store/provenance.py", "store/listing.py", "store/once.py",
})
"""The core's files and folders (paths under ``asdbench/``) that compute no number a run stores: editing them
marks nothing stale. Every package's ``__init__.py`` holds only its docstring and counts for nothing either.
``hookspecs`` holds the hooks only; ``runtime/heap`` only decides whether freed memory is kept (the same bits either
way, tests/test_cpu_heap.py); ``scoring/baseline`` is `asdbench baseline`'s own pipeline, which no run uses;
``store/checks`` only decides whether a stored file is read or set aside; ``store/stages`` (which computes a
training and a scoring) counts."""
SCORING_ONLY = frozenset({"scoring/metrics.py", "scoring/scorefiles.py", "scoring/jackknife.py", "scoring/means.py",
                          "scoring/official.py", "scoring/reports"})
"""Core files that only evaluate score files: part of a scoring's fingerprint, not of a training's."""

Print = dict[str, str | None]
"""One distribution's entry: ``{"version": ..., "source": "sha256:..." or None where no source is found}``."""


@dataclass(frozen=True)
class Change:
    """How one distribution differs between what a stage was made with and what is installed now."""

    distribution: str
    what: str


def fingerprint(canonical: Mapping[str, Any], stage: str, registry: Registry) -> dict[str, Print]:
    """The installed code a ``stage`` ("training" or "scoring") of the run ``canonical`` uses, by distribution."""
    return {name: distribution_print(name, stage) for name in distributions(canonical, stage, registry)}


def distributions(canonical: Mapping[str, Any], stage: str, registry: Registry) -> list[str]:
    """The distributions whose components ``stage`` of the run uses, the core included, sorted."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    return sorted({CORE_DISTRIBUTION, *(registry.get(kind, name).distribution
                                        for kind, name in _components(canonical, stage, registry))})


def record(directory: Path, canonical: Mapping[str, Any], stage: str, registry: Registry) -> None:
    """Write the fingerprint of the code ``stage`` is computed with into ``directory`` (``code.json``)."""
    write_json_atomic(directory / CODE_FILE, {"stage": stage,
                                              "distributions": fingerprint(canonical, stage, registry)})


def read_record(directory: Path) -> dict[str, Any]:
    """A training's or scoring's ``code.json``; an empty record where it has none or it cannot be read."""
    try:
        return read_json(directory / CODE_FILE) or {}
    except DamagedFile:
        return {}


def recorded(directory: Path) -> dict[str, Print] | None:
    """The fingerprint a training or scoring directory recorded; None where its ``code.json`` is missing or
    unreadable: nothing can then be said about its code, and a finished training or scoring is damaged
    (:mod:`asdbench.store.checks`)."""
    distributions = read_record(directory).get("distributions")
    return distributions if isinstance(distributions, dict) else None


def changes(made_with: Mapping[str, Print], installed: Mapping[str, Print]) -> list[Change]:
    """What differs, per distribution, between a recorded fingerprint and the installed code's."""
    found = []
    for name in sorted({*made_with, *installed}):
        old, new = made_with.get(name), installed.get(name)
        if old is None or new is None:
            found.append(Change(name, "not used then" if old is None else "not used now"))
        elif old.get("version") != new.get("version"):
            found.append(Change(name, f"version {old.get('version')} -> {new.get('version')}"))
        elif old.get("source") != new.get("source"):
            found.append(Change(name, f"source {_short(old.get('source'))} -> {_short(new.get('source'))}"))
    return found


def distribution_print(name: str, stage: str) -> Print:
    """Version and source digest of an installed distribution (for the core: its numeric modules for ``stage``)."""
    return _core_print(stage) if name == CORE_DISTRIBUTION else _plugin_print(name)


def core_files(stage: str) -> list[Path]:
    """The core's modules that count for ``stage``: every one under ``asdbench/`` but those :data:`NOT_NUMERIC`
    names (and, but for a scoring, :data:`SCORING_ONLY`), and the packages' ``__init__.py``."""
    left_out = NOT_NUMERIC | (SCORING_ONLY if stage != SCORING else frozenset())
    package = _core_package()
    return sorted(path for path in package.rglob("*.py") if path.name != "__init__.py"
                  and not _listed(path.relative_to(package), left_out))


def _core_package() -> Path:
    """The ``asdbench`` package's folder."""
    return Path(__file__).resolve().parent.parent


def _listed(path: Path, listed: frozenset[str]) -> bool:
    """Whether ``path`` (relative to the package) or a folder above it is in ``listed``."""
    return any(Path(*path.parts[:depth]).as_posix() in listed for depth in range(1, len(path.parts) + 1))


@cache
def _core_print(stage: str) -> Print:
    return {"version": __version__, "source": _digest(_named(_core_package(), core_files(stage)))}


@cache
def _plugin_print(name: str) -> Print:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:  # a plugin registered in process (tests, notebooks): no source to hash
        return {"version": "", "source": None}
    roots = package_roots(name)
    files = [pair for root in roots for pair in _named(root, root.rglob("*.py") if root.is_dir() else [root])]
    return {"version": dist.version, "source": _digest(files) if files else None}


def package_roots(name: str) -> list[Path]:
    """Where a distribution's code is: the core's package folder, or a plugin distribution's top-level packages (or
    single modules) wherever they are installed; none for a name that is not installed."""
    if name == CORE_DISTRIBUTION:
        return [_core_package()]
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return []
    return sorted(filter(None, map(_package_root, _top_level_modules(dist))))


def forget_installed() -> None:
    """Hash the installed code again on next use: for a long-lived process (a notebook, a test) in which a
    plugin's code was edited and reloaded."""
    _core_print.cache_clear()
    _plugin_print.cache_clear()


def _components(canonical: Mapping[str, Any], stage: str, registry: Registry) -> Iterable[tuple[str, str]]:
    from asdbench.spec.schema import SYSTEM_COMPONENTS

    yield "datasets", canonical["dataset"]["name"]
    pseudo = canonical.get("pseudolabel")
    if pseudo is not None and stage != SCORING:
        labelling = (("feature_space", "feature_spaces"), ("reducer", "reducers"), ("clusterer", "clusterers"))
        for key, kind in labelling[:1] if stage == FEATURESPACE else labelling:
            yield kind, pseudo[key]["name"]
    if stage in (PSEUDOLABELS, FEATURESPACE) and not registry.get(
            "feature_spaces", pseudo["feature_space"]["name"]).meta.get("uses_system"):
        return
    for key, (kind, many) in SYSTEM_COMPONENTS.items():
        if (key == "backend") != (stage == SCORING) or key not in canonical["system"]:
            continue
        for component in canonical["system"][key] if many else [canonical["system"][key]]:
            yield kind, component["name"]


def _top_level_modules(dist: metadata.Distribution) -> set[str]:
    """The top-level modules of a plugin distribution: those its entry points load, and its top_level.txt."""
    names = {ep.module.split(".")[0] for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP}
    return names | set((dist.read_text("top_level.txt") or "").split())


def _package_root(module: str) -> Path | None:
    """A top-level package's directory or a single module's file, wherever it is installed (editable or not)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None


def _named(root: Path, files: Iterable[Path]) -> list[tuple[str, Path]]:
    """Each file with its path from ``root``'s parent on (``pkg/sub/mod.py``, ``mod.py``)."""
    return [(file.relative_to(root.parent).as_posix(), file) for file in files]


def _digest(files: list[tuple[str, Path]]) -> str:
    """SHA-256 over each file's relative path and content: the same code gives the same digest wherever it is
    installed."""
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(json.dumps(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()}"


def _short(source: str | None) -> str:
    return source.removeprefix("sha256:")[:12] if source else "(none)"
