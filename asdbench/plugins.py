"""The plugin manager: loads the ``asdbench`` entry points and answers lookups by kind and name.

Every registration hook of every plugin is called once, with a ``register`` callable bound to that plugin, so
that a duplicate name can name both plugins and ``asdbench plugins`` can say which distribution provides what.
A plugin that fails to import is recorded (with its distribution) and skipped; the others still load.

Environment variables, for benchmark hygiene (as datasette does):

- ``ASDBENCH_LOAD_PLUGINS``: comma-separated distribution names; only those entry points are loaded (an empty
  value loads none). The core's own dataset readers are always loaded.
- ``ASDBENCH_TRACE_PLUGINS=1``: print every hook call to stderr.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from asdbench import hookspecs
from asdbench.errors import PluginError

ENTRY_POINT_GROUP = "asdbench"
CORE_DISTRIBUTION = "asdbench"


@dataclass(frozen=True)
class Registration:
    """One named factory of one kind, and where it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    distribution: str
    version: str
    meta: dict[str, Any] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """The factory's keyword options and their defaults (``inspect.Parameter.empty`` when required)."""
        return {
            p.name: p.default
            for p in self._parameters()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def accepts_any_option(self) -> bool:
        return any(p.kind is p.VAR_KEYWORD for p in self._parameters())

    def _parameters(self) -> list[inspect.Parameter]:
        try:
            return list(inspect.signature(self.factory).parameters.values())
        except (TypeError, ValueError):
            raise PluginError(
                f"{self.kind[:-1]} {self.name!r} from plugin {self.plugin!r} ({self.distribution}) has a factory "
                "whose options cannot be inspected; register a function or class with keyword parameters"
            ) from None


@dataclass(frozen=True)
class LoadFailure:
    """An entry point that could not be imported or registered."""

    entry_point: str
    distribution: str
    version: str
    error: str


@dataclass(frozen=True)
class _Source:
    plugin: str
    distribution: str
    version: str


class Registry:
    """Everything registered by the loaded plugins, indexed by kind and name."""

    def __init__(self, *, entry_points: bool = True, extra_plugins: Iterable[object] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[LoadFailure] = []
        self._sources: dict[int, _Source] = {}
        self._entries: dict[str, dict[str, Registration]] = {kind: {} for kind in hookspecs.KINDS}
        self.conflicts: dict[tuple[str, str], str] = {}
        if os.environ.get("ASDBENCH_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        self._register_core()
        if entry_points:
            self._load_entry_points()
        for plugin in extra_plugins:
            self.add_plugin(plugin, distribution="(registered in process)", version="")
        self._collect()

    # --- loading ------------------------------------------------------------------------------------------

    def _register_core(self) -> None:
        from asdbench import datasets  # the core's own dataset readers, registered like any plugin

        self.add_plugin(datasets, distribution=CORE_DISTRIBUTION, version=_version(CORE_DISTRIBUTION))

    def add_plugin(self, plugin: object, *, distribution: str, version: str, name: str | None = None) -> None:
        """Register a plugin object (module or instance) with the hook manager; call :meth:`refresh` after."""
        plugin_name = name or _plugin_name(plugin)
        self.pm.register(plugin, name=plugin_name)
        self._sources[id(plugin)] = _Source(plugin_name, distribution, version)

    def _load_entry_points(self) -> None:
        allowed = _allowed_distributions()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist_name = ep.dist.name if ep.dist else "(unknown distribution)"
            dist_version = ep.dist.version if ep.dist else ""
            if allowed is not None and _normalise(dist_name) not in allowed:
                continue
            try:
                plugin = ep.load()
                self.add_plugin(plugin, distribution=dist_name, version=dist_version, name=ep.name)
            except Exception as exc:  # a broken plugin must not take the others down
                self.failures.append(
                    LoadFailure(f"{ep.name} = {ep.value}", dist_name, dist_version, f"{type(exc).__name__}: {exc}")
                )

    def refresh(self) -> None:
        """Re-run every registration hook (after :meth:`add_plugin` or ``unregister``)."""
        self._entries = {kind: {} for kind in hookspecs.KINDS}
        self.conflicts = {}
        self._collect()

    def _collect(self) -> None:
        for kind in hookspecs.KINDS:
            hook = getattr(self.pm.hook, f"asdbench_register_{kind}")
            for impl in hook.get_hookimpls():
                source = self._sources.get(id(impl.plugin)) or _Source(impl.plugin_name, "(unknown)", "")
                try:
                    impl.function(register=self._register_callback(kind, source))
                except Exception as exc:
                    self.failures.append(
                        LoadFailure(source.plugin, source.distribution, source.version,
                                    f"asdbench_register_{kind} raised {type(exc).__name__}: {exc}")
                    )

    def _register_callback(self, kind: str, source: _Source) -> hookspecs.Register:
        def register(name: str, factory: Callable[..., Any], **meta: Any) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {source.plugin!r} registered a {kind[:-1]} with an invalid name {name!r}")
            if not callable(factory):
                raise PluginError(f"plugin {source.plugin!r} registered {kind} {name!r} with a non-callable factory")
            existing = self._entries[kind].get(name)
            if existing is not None:
                # Recorded, not raised: the other names of both plugins stay usable, this one does not.
                self.conflicts[(kind, name)] = (
                    f"{kind} {name!r} is registered twice: by plugin {existing.plugin!r} "
                    f"({existing.distribution}) and by plugin {source.plugin!r} ({source.distribution})"
                )
                return
            self._entries[kind][name] = Registration(
                kind, name, factory, source.plugin, source.distribution, source.version, dict(meta)
            )

        return register

    # --- lookups ------------------------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        return sorted(self._kind(kind))

    def get(self, kind: str, name: str) -> Registration:
        entries = self._kind(kind)
        if (kind, name) in self.conflicts:
            raise PluginError(self.conflicts[(kind, name)] + "; uninstall or rename one of them")
        if name not in entries:
            known = ", ".join(sorted(entries)) or "(none)"
            message = f"unknown {kind[:-1].replace('_', ' ')} {name!r}; registered {kind}: {known}"
            if self.failures:
                failed = "; ".join(f"{f.distribution} ({f.entry_point}): {f.error}" for f in self.failures)
                message += f". Plugins that failed to load: {failed}"
            raise PluginError(message)
        return entries[name]

    def create(self, kind: str, name: str, *runtime: Any, **options: Any) -> Any:
        """Build the named component: ``runtime`` arguments (positional-only in the factory), then options."""
        return self.get(kind, name).factory(*runtime, **options)

    def all(self) -> list[Registration]:
        return [reg for kind in hookspecs.KINDS for reg in sorted(self._entries[kind].values(), key=lambda r: r.name)]

    def _kind(self, kind: str) -> dict[str, Registration]:
        if kind not in self._entries:
            raise PluginError(f"unknown plugin kind {kind!r}; kinds: {', '.join(hookspecs.KINDS)}")
        return self._entries[kind]

    @property
    def hook(self) -> Any:
        """The lifecycle hooks, e.g. ``registry.hook.asdbench_run_started(run_dir=..., spec=...)``."""
        return self.pm.hook

    def distributions(self) -> dict[str, str]:
        """Every distribution that contributed a plugin, with its version: what a run records as provenance."""
        return {s.distribution: s.version for s in self._sources.values()}


def _plugin_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _normalise(distribution: str) -> str:
    return distribution.lower().replace("_", "-")


def _allowed_distributions() -> set[str] | None:
    value = os.environ.get("ASDBENCH_LOAD_PLUGINS")
    if value is None:
        return None
    return {_normalise(part.strip()) for part in value.split(",") if part.strip()}


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded from entry points on first use."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
