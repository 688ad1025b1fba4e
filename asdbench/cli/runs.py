"""``asdbench spec``, ``run`` and ``pseudolabel``: one run spec validated, computed, or pseudo-labelled."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from asdbench.cli.arguments import (
    Command,
    code_change_arguments,
    code_policy,
    override_arguments,
    overrides,
)
from asdbench.errors import PreflightError, SpecError
from asdbench.files.outputs import output_file
from asdbench.files.paths import writable_directory

if TYPE_CHECKING:
    from asdbench.contract.registry import Registry
    from asdbench.spec.identity import RunSpec
    from asdbench.store.store import Store


def add_commands(command: Command) -> None:
    sub = command("spec", _spec, "validate a run spec and print its canonical form and hash")
    sub.add_argument("spec", type=Path)
    sub.add_argument("--json", action="store_true", help="print only the canonical JSON")
    override_arguments(sub)

    sub = command("run", _run, "train and score one run spec, then print its per-machine tables")
    sub.add_argument("spec", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"),
                     help="the run store; the run goes in OUT/<training hash>/<scoring hash>")
    sub.add_argument("--baseline", type=Path, metavar="DIR|SPEC", action="append", default=[],
                     help="shown next to the run's scores: the --out directory of `asdbench baseline`, or a run spec "
                          "(.toml), computed (or read back) in the same store first; may be given several times")
    sub.add_argument("--plot", type=Path, metavar="PNG", help="also draw every machine's hmean as a bar chart")
    override_arguments(sub)
    code_change_arguments(sub)

    sub = command("pseudolabel", _pseudolabel, "compute (or read back) the pseudo-label table of a run spec")
    sub.add_argument("spec", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="runs folder (labels go in OUT/pseudolabels/)")
    override_arguments(sub)


def _spec(args: argparse.Namespace) -> int:
    from asdbench.spec.validate import load_spec

    spec = load_spec(args.spec, overrides=overrides(args))
    if args.json:
        print(spec.to_json())
    else:
        print(json.dumps(spec.canonical, indent=2, sort_keys=True))
        print(f"training: {spec.training_hash}\nscoring: {spec.scoring_hash}\nrun: {spec.hash}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.data.audio import default_cache_dir
    from asdbench.report import summary
    from asdbench.scoring.official import report_from_dict
    from asdbench.spec.validate import load_spec
    from asdbench.store.store import Store

    writable_directory(args.out, "--out")
    if args.plot:
        output_file(args.plot, "--plot")
    registry = get_registry()
    spec = load_spec(args.spec, registry, overrides(args))
    store = Store(args.out)
    # every baseline is read or validated before any training: a wrong folder or spec fails in seconds
    beside = [(path, load_spec(path, registry) if path.suffix == ".toml" else summary.read_results(path))
              for path in args.baseline]
    systems, said = {}, []
    for path, baseline in beside:
        if isinstance(baseline, tuple):  # `asdbench baseline`'s folder: its system described in words
            name = "baseline" if "baseline" not in systems else path.name
            said.append(f"{name}: {baseline[0]}, in {path}")
            reports = baseline[1]
        else:
            name, reports = path.stem, summary.reports_of(_compute(store, baseline, path, registry, args))
            said.append(f"{name}: run {baseline.hash}")
        systems[name] = reports
    results = _compute(store, spec, args.spec, registry, args)
    for split, report in results["splits"].items():
        print(f"\n## {spec.dataset['name']} {split}\n")
        print(report_from_dict(report).to_markdown() if report else "no ground truth: scores written only")
    name = args.spec.stem if args.spec.stem not in systems else "run"
    systems[name] = summary.reports_of(results)
    print(f"\n## Official score (%)\n\n{summary.official_table(systems)}\n\n{name}: run {spec.hash}")
    for line in said:
        print(line)
    if beside:
        print(f"\n## hmean per machine (%)\n\n{summary.machine_table(systems)}")
    plots = {"plot": summary.machine_figure(systems, args.plot)} if args.plot else {}
    print("\nfiles written:")
    print(summary.files_written(store.directory(spec), store.training_directory(spec), list(results["splits"]),
                                plots))
    print("space used:")
    print(summary.space_used({"run store": args.out, "audio cache": default_cache_dir()}))
    return 0


def _compute(store: Store, spec: RunSpec, path: Path, registry: Registry, args: argparse.Namespace) -> dict[str, Any]:
    """``store.run(spec)``, a problem found before any work named by the spec file it came from."""
    try:
        return store.run(spec, registry, changed_code=code_policy(args))
    except PreflightError as exc:
        raise PreflightError(f"{path}: {exc}") from None


def _pseudolabel(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.spec.validate import load_spec
    from asdbench.store.pseudolabels import LABELS
    from asdbench.store.store import Store

    writable_directory(args.out, "--out")
    registry = get_registry()
    spec = load_spec(args.spec, registry, overrides(args))
    if "pseudolabel" not in spec.canonical:
        raise SpecError(f"{args.spec}: system.labels is {spec.system['labels']!r}, not 'pseudo:<feature space>'")
    result = Store(args.out).pseudolabels(spec, registry)
    rows = [{"machine": key, **values} for key, values in result.quality.items()]
    print(tabulate(rows, headers="keys", tablefmt="github", floatfmt=".3f") if rows else "no hidden truth to compare")
    print(f"\nlabel table: {result.directory / LABELS}")
    if result.feature_space is not None:
        print(f"feature-space embeddings: {result.feature_space}")
    return 0
