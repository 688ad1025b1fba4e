"""``asdbench plugins`` and ``asdbench models``: what is registered, whether it keeps its contract, and its weights."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from asdbench.cli.arguments import (
    Command,
)
from asdbench.files.paths import writable_directory
from asdbench.report.terminal import fitted_table, room_left

if TYPE_CHECKING:
    from asdbench.contract.registry import Registry


def add_commands(command: Command) -> None:
    sub = command("plugins", _plugins, "list every registered plugin: kind, name, distribution, version")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.add_argument("--check", action="store_true",
                     help="build every component with its defaults, run it on a tiny input and check its contract "
                          "(exit status 1 if any fails)")
    actions = sub.add_subparsers(dest="action", metavar="show KIND NAME")
    show = actions.add_parser("show", help="one component: its options (type, default, constraint, meaning) and "
                                            "where it comes from",
                              description="one component: its options (type, default, constraint, meaning) and "
                                          "where it comes from")
    show.add_argument("kind", help="backend, loss, network, frontend, augmentation, feature-space, reducer, "
                                   "clusterer or dataset (singular or plural)")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(handler=_show)

    sub = command("models", _models, "download the published weights of a pretrained component")
    sub.add_argument("action", choices=["fetch"])
    sub.add_argument("name", help="a component that registers fetch_weights, e.g. panns, openl3 or beats")
    sub.add_argument("--dir", type=Path, help="destination folder (default: the plugin's models folder)")


def _plugins(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry

    registry = get_registry()
    if args.check:
        return _check_plugins(registry, args.json)
    rows = [
        {"kind": r.kind, "name": r.name, "distribution": r.distribution, "version": r.version,
         "duplicate": registry.is_duplicate(r), "description": r.meta.get("description", "")}
        for r in registry.all()
    ]
    conflicts = sorted(registry.conflicts.values())
    if args.json:
        failures = [{**f.__dict__, "message": f.message} for f in registry.failures]
        print(json.dumps({"plugins": rows, "failures": failures, "conflicts": conflicts}, indent=2))
        return 0
    shown = [{"kind": row["kind"], "name": row["name"],
              "distribution": f"{row['distribution']} {row['version']}".strip(),
              "description": ("DUPLICATE: " if row["duplicate"] else "") + row["description"]} for row in rows]
    print(fitted_table(shown, "description", shutil.get_terminal_size().columns))
    for failure in registry.failures:
        print(f"warning: {failure.message}", file=sys.stderr)
    for conflict in conflicts:
        print(f"warning: {conflict}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    from asdbench.contract.describe import REQUIRED, describe, kind_named
    from asdbench.contract.registry import get_registry

    described = describe(get_registry().get(kind_named(args.kind), args.name))
    registration = described.registration
    if args.json:
        print(json.dumps({
            "kind": registration.kind, "name": registration.name, "summary": described.summary,
            "distribution": registration.distribution, "version": registration.version,
            "plugin": registration.plugin, "factory": described.factory, "builds": described.builds,
            "call": described.call, "meta": {k: v for k, v in registration.meta.items() if not callable(v)},
            "options": [{"name": o.name, "type": o.type, "required": o.default is REQUIRED,
                         "default": None if o.default is REQUIRED else o.default,
                         "constraints": list(o.constraints), "meaning": o.meaning} for o in described.options],
        }, indent=2))
        return 0
    print(f"{registration.label}\n{described.summary}\n")
    reference = [("distribution", f"{registration.distribution} {registration.version}".strip()),
                 ("plugin", registration.plugin), ("factory", described.factory),
                 ("builds", described.builds), ("called as", described.call)]
    reference += [(key, str(value)) for key, value in registration.meta.items()
                  if key != "description" and not callable(value)]
    reference += [(key, "yes") for key, value in registration.meta.items() if callable(value)]
    width = max(len(key) for key, _ in reference)
    print("\n".join(f"{key + ':':<{width + 1}} {value}" for key, value in reference if value))
    if not described.options:
        print("\noptions: none")
        return 0
    rows = [{"option": o.name, "type": o.type,
             "default": "(required)" if o.default is REQUIRED else json.dumps(o.default),
             "constraint": "; ".join(o.constraints), "meaning": o.meaning or "(undocumented)"}
            for o in described.options]
    meaning_width = room_left(rows, ["option", "type", "default", "constraint"], shutil.get_terminal_size().columns)
    print()
    print(tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True,
                   maxcolwidths=[None, None, None, None, meaning_width]))
    return 0


def _check_plugins(registry: Registry, as_json: bool) -> int:
    from asdbench.contract.selfcheck import check_plugins
    from asdbench.spec.schema import TRAIN_DEFAULTS

    results = check_plugins(registry, train=TRAIN_DEFAULTS)
    if as_json:
        print(json.dumps([result.__dict__ for result in results], indent=2))
    else:
        rows = [{"kind": r.kind, "name": r.name, "distribution": r.distribution, "result": r.result} for r in results]
        print(tabulate(rows, headers="keys", tablefmt="simple", maxcolwidths=[None, None, None, 90]))
        failed = [r.label for r in results if r.failed]
        print(f"\n{len(results)} checked, {len(failed)} failed" + (": " + ", ".join(failed) if failed else ""))
    return 1 if any(r.failed for r in results) else 0


def _models(args: argparse.Namespace) -> int:
    from asdbench.contract.boundary import plugin_call
    from asdbench.contract.registry import get_registry

    registration = get_registry().weights_of(args.name)
    if args.dir is not None:
        writable_directory(args.dir, "--dir")
    with plugin_call(registration, "fetch_weights"):
        print(registration.meta["fetch_weights"](args.dir))
    return 0
