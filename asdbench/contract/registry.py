"""The plugin manager: loads the ``asdbench`` entry points, checks what plugins register, answers lookups.

Every registration hook of every plugin is called once, with a ``register`` callable bound to that plugin, so
that a duplicate name can name both plugins and ``asdbench plugins`` can say which distribution provides what.
A plugin that fails to import, implements a hook that does not exist (a misspelt name), or registers a factory
the core cannot call as its kind's contract says (asdbench.contract.kinds.CONTRACTS) is recorded in
:attr:`Registry.failures`, with its distribution, and left out; the others still load.

Environment variables, for benchmark hygiene (as datasette does):

- ``ASDBENCH_LOAD_PLUGINS``: comma-separated distribution names; only those entry points are loaded (an empty
  value loads none; a name that matches no installed plugin distribution is recorded as a failure). The core's
  own dataset readers are always loaded.
- ``ASDBENCH_TRACE_PLUGINS=1``: print every registration and every hook call to stderr.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from asdbench import hookspecs
from asdbench.contract.boundary import check_product, plugin_call
from asdbench.contract.kinds import CONTRACTS, Kind, singular
from asdbench.contract.registration import LoadFailure, Registration, factory_signature, registration_problem
from asdbench.errors import AsdbenchError, PluginError

ENTRY_POINT_GROUP = "asdbench"
CORE_DISTRIBUTION = "asdbench"
LOAD_VARIABLE = "ASDBENCH_LOAD_PLUGINS"
HOOKS = tuple(name for name in vars(hookspecs) if name.startswith("asdbench_"))


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
        self._load_failures: list[LoadFailure] = []
        self._registration_failures: list[LoadFailure] = []
        self._sources: dict[int, _Source] = {}
        self._entries: dict[str, dict[str, Registration]] = {kind: {} for kind in CONTRACTS}
        self.conflicts: dict[tuple[str, str], str] = {}
        self._shadowed: list[Registration] = []
        self._left_out: set[str] = set()
        """Plugin distributions installed but not loaded: :data:`LOAD_VARIABLE` does not name them."""
        self._load_setting = ""
        """:data:`LOAD_VARIABLE` as the entry points were loaded."""
        self._trace = bool(os.environ.get("ASDBENCH_TRACE_PLUGINS"))
        if self._trace:
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        self._register_core()
        if entry_points:
            self._load_entry_points()
        for plugin in extra_plugins:
            self.add_plugin(plugin, distribution="(registered in process)", version="")
        self._collect()

    @property
    def failures(self) -> list[LoadFailure]:
        """Plugins that failed to load, and registrations that were refused."""
        return [*self._load_failures, *self._registration_failures]

    # --- loading ------------------------------------------------------------------------------------------

    def _register_core(self) -> None:
        """The core's own plugins (its dataset readers), found through its entry points like any plugin's, and
        loaded whatever :data:`LOAD_VARIABLE` says: a registry without them could read no dataset."""
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.dist is not None and _normalise(ep.dist.name) == CORE_DISTRIBUTION:
                self._load_entry_point(ep)

    def add_plugin(self, plugin: object, *, distribution: str, version: str, name: str | None = None) -> None:
        """Register a plugin object (module or instance) with the hook manager; call :meth:`refresh` after.

        A plugin that pluggy refuses (a hook implementation whose arguments its hook does not have) or that
        implements a hook asdbench does not have is recorded as a failure and left out.
        """
        plugin_name = name or _plugin_name(plugin)
        try:
            self.pm.register(plugin, name=plugin_name)
        except (pluggy.PluginValidationError, ValueError) as exc:  # ValueError: a plugin name already taken
            self._load_failures.append(LoadFailure(plugin_name, distribution, version, " ".join(str(exc).split())))
            return
        unknown = _unknown_hooks(self.pm, plugin)
        if unknown:
            self.pm.unregister(plugin)
            self._load_failures.append(LoadFailure(plugin_name, distribution, version, "; ".join(unknown)))
            return
        self._sources[id(plugin)] = _Source(plugin_name, distribution, version)

    def _load_entry_points(self) -> None:
        allowed = _allowed_distributions()
        self._load_setting = os.environ.get(LOAD_VARIABLE, "")
        found: set[str] = set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist_name = ep.dist.name if ep.dist else "(unknown distribution)"
            if _normalise(dist_name) == CORE_DISTRIBUTION:
                continue  # loaded by _register_core
            found.add(_normalise(dist_name))
            if allowed is not None and _normalise(dist_name) not in allowed:
                self._left_out.add(dist_name)
                continue
            self._load_entry_point(ep)
        for missing in sorted((allowed or set()) - found - {CORE_DISTRIBUTION}):
            self._load_failures.append(LoadFailure(LOAD_VARIABLE, missing, "", _not_a_plugin(missing, found)))

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist_name = ep.dist.name if ep.dist else "(unknown distribution)"
        dist_version = ep.dist.version if ep.dist else ""
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            error = f"{type(exc).__name__}: {exc}"
        except SystemExit as exc:  # nor end every command silently (KeyboardInterrupt still stops asdbench)
            error = f"called sys.exit({exc.code!r}) while being imported"
        else:
            self.add_plugin(plugin, distribution=dist_name, version=dist_version, name=ep.name)
            return
        self._load_failures.append(LoadFailure(f"{ep.name} = {ep.value}", dist_name, dist_version, error))

    def refresh(self) -> None:
        """Re-run every registration hook (after :meth:`add_plugin` or ``unregister``)."""
        self._entries = {kind: {} for kind in CONTRACTS}
        self.conflicts = {}
        self._shadowed = []
        self._registration_failures = []
        self._collect()

    def _collect(self) -> None:
        # Called directly rather than through pluggy, so that each call gets a ``register`` bound to its plugin.
        for kind in CONTRACTS.values():
            for impl in getattr(self.pm.hook, kind.hook).get_hookimpls():
                source = self._sources.get(id(impl.plugin)) or _Source(impl.plugin_name, "(unknown)", "")
                try:
                    impl.function(register=self._register_callback(kind, source))
                except Exception as exc:
                    self._registration_failures.append(
                        LoadFailure(source.plugin, source.distribution, source.version,
                                    f"{kind.hook} raised {type(exc).__name__}: {exc}")
                    )

    def _register_callback(self, kind: Kind, source: _Source) -> hookspecs.Register:
        def register(name: str, factory: Callable[..., Any], **meta: Any) -> None:
            problem = registration_problem(kind, name, factory, meta)
            if problem:
                self._registration_failures.append(LoadFailure(source.plugin, source.distribution, source.version,
                                                               f"{kind.singular} {name!r} refused: {problem}"))
                self._trace_registration(kind, source, name, f"refused: {problem}")
                return
            registration = Registration(
                kind.name, name, factory, source.plugin, source.distribution, source.version, dict(meta)
            )
            existing = self._entries[kind.name].get(name)
            if existing is not None:
                # Recorded, not raised: the other names of both plugins stay usable, this one does not.
                self.conflicts[(kind.name, name)] = (
                    f"{kind.singular} {name!r} is registered twice: by plugin {existing.plugin!r} "
                    f"({existing.distribution}) and by plugin {source.plugin!r} ({source.distribution})"
                )
                self._shadowed.append(registration)
                self._trace_registration(kind, source, name, f"duplicate of {existing.distribution}'s")
                return
            self._entries[kind.name][name] = registration
            self._trace_registration(kind, source, name, "")

        return register

    def _trace_registration(self, kind: Kind, source: _Source, name: str, note: str) -> None:
        if self._trace:
            print(f"{kind.hook}: {source.distribution} registered {kind.singular} {name!r}"
                  + (f" ({note})" if note else ""), file=sys.stderr)

    # --- lookups ------------------------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        return sorted(self._kind(kind))

    def get(self, kind: str, name: str) -> Registration:
        entries = self._kind(kind)
        if (kind, name) in self.conflicts:
            raise PluginError(self.conflicts[(kind, name)] + "; uninstall or rename one of them")
        if name not in entries:
            known = ", ".join(sorted(entries)) or "(none)"
            message = f"unknown {singular(kind)} {name!r}; registered {kind}: {known}"
            if self.failures:
                message += ". Plugins that failed to load or register: " + "; ".join(f.message for f in self.failures)
            if self._left_out:
                message += f". {self._left_out_message(name)}"
            raise PluginError(message)
        return entries[name]

    def _left_out_message(self, name: str) -> str:
        """What :data:`LOAD_VARIABLE` loaded and left out, for a name that none of the loaded plugins registers."""
        named = sorted(_names(self._load_setting) - {CORE_DISTRIBUTION})
        loaded = f"the core and {', '.join(named)}" if named else "the core"
        return (f"{LOAD_VARIABLE} is set to {self._load_setting!r}: it loads {loaded} only, leaving "
                f"out {', '.join(sorted(self._left_out))}; add the distribution that registers {name!r} to it, or "
                "unset it")

    def build(self, kind: str, component: Mapping[str, Any], *runtime: Any) -> Any:
        """Build a component from its canonical spec ``{"name": ..., **options}`` (see :meth:`create`)."""
        return self.create(kind, component["name"], *runtime,
                           **{key: value for key, value in component.items() if key != "name"})

    def create(self, kind: str, name: str, *runtime: Any, **options: Any) -> Any:
        """Build the named component: ``factory(*runtime, **options)``, the runtime arguments its kind's contract
        names (asdbench.contract.kinds.CONTRACTS). ``runtime`` holds the kind's required runtime arguments, or those
        and its optional ones, of which the factory is given those it declares. A failure inside the factory, or a
        product without the members of its kind's protocol, raises a PluginError naming the component."""
        registration = self.get(kind, name)
        contract = CONTRACTS[kind]
        expected, optional = contract.runtime, contract.optional_runtime
        if len(runtime) not in {len(expected), len(expected) + len(optional)}:
            raise TypeError(f"a {singular(kind)} factory is called with the {len(expected)} runtime "
                            f"arguments {expected} (and the optional {optional}), not {len(runtime)}")
        declared = registration.optional_runtime()
        if declared and len(runtime) == len(expected):
            raise TypeError(f"{registration.label} declares the runtime arguments {declared}, which were not given")
        given = dict(zip(optional, runtime[len(expected):]))
        runtime = (*runtime[:len(expected)], *(given[name] for name in declared if name in given))
        try:
            factory_signature(registration.factory).bind(*runtime, **options)
        except TypeError as exc:
            raise PluginError(f"{registration.label} cannot be built with options {options}: {exc}") from None
        with plugin_call(registration, "factory"):
            product = registration.factory(*runtime, **options)
        check_product(product, registration)
        return product

    def weights_of(self, name: str) -> Registration:
        """The component named ``name`` that has published weights to fetch (registered with ``fetch_weights``),
        whatever its kind; an AsdbenchError naming those that have when none does, or when several do."""
        fetchable = [r for r in self.all() if "fetch_weights" in r.meta and not self.is_duplicate(r)]
        matches = [r for r in fetchable if r.name == name]
        if not matches:
            known = ", ".join(sorted({r.name for r in fetchable})) or "none"
            raise AsdbenchError(f"no registered component named {name!r} has weights to fetch; those that do: {known}")
        if len({id(r.meta["fetch_weights"]) for r in matches}) > 1:
            raise AsdbenchError(f"{name!r} names weights of several components: {', '.join(r.label for r in matches)}")
        return matches[0]

    def all(self) -> list[Registration]:
        """Every registration, by kind and name; both of a name registered twice (see :meth:`is_duplicate`)."""
        registrations = [*(r for entries in self._entries.values() for r in entries.values()), *self._shadowed]
        order = {kind: index for index, kind in enumerate(CONTRACTS)}
        return sorted(registrations, key=lambda r: (order[r.kind], r.name))

    def is_duplicate(self, registration: Registration) -> bool:
        """Whether another plugin registered the same name of the same kind (which makes that name unusable)."""
        return (registration.kind, registration.name) in self.conflicts

    def _kind(self, kind: str) -> dict[str, Registration]:
        if kind not in self._entries:
            raise PluginError(f"unknown plugin kind {kind!r}; kinds: {', '.join(CONTRACTS)}")
        return self._entries[kind]

    @property
    def hook(self) -> Any:
        """The lifecycle hooks, e.g. ``registry.hook.asdbench_run_started(run_dir=..., spec=...)``."""
        return self.pm.hook

    def distributions(self) -> dict[str, str]:
        """Every distribution that contributed a plugin, with its version: what a run records as provenance."""
        return {s.distribution: s.version for s in self._sources.values()}


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """pluggy's ``check_pending`` for one plugin: its hook implementations that match no asdbench hook."""
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None and any(i.plugin is plugin and not i.optionalhook for i in caller.get_hookimpls()):
            close = difflib.get_close_matches(caller.name, HOOKS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the hooks are {', '.join(HOOKS)}"
            problems.append(f"implements {caller.name}, which is not an asdbench hook ({hint})")
    return problems


def _plugin_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _normalise(distribution: str) -> str:
    return distribution.lower().replace("_", "-")


def _allowed_distributions() -> set[str] | None:
    value = os.environ.get(LOAD_VARIABLE)
    return None if value is None else _names(value)


def _names(value: str) -> set[str]:
    """The distributions a :data:`LOAD_VARIABLE` value names, normalised."""
    return {_normalise(part.strip()) for part in value.split(",") if part.strip()}


def _not_a_plugin(distribution: str, plugin_distributions: set[str]) -> str:
    state = "is installed but has no" if _version(distribution) else "is not installed, or has no"
    found = ", ".join(sorted(plugin_distributions)) or "(none)"
    return f"{distribution!r} {state} entry point in group {ENTRY_POINT_GROUP!r}; plugin distributions: {found}"


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


@contextmanager
def use_registry(registry: Registry | None) -> Iterator[None]:
    """Make :func:`get_registry` return ``registry`` inside the ``with`` block, and the process-wide registry again
    after it, however the block ends.

    ``None`` stands for a registry loaded afresh from the entry points on first use inside the block: what code
    that installs a plugin distribution while running (a test, mostly) needs for the CLI and the grid to see it.
    """
    global _default
    previous, _default = _default, registry
    try:
        yield
    finally:
        _default = previous
