"""``asdbench ...``: the command line. Each subcommand is a thin layer over a library function."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tabulate import tabulate

from asdbench import __version__
from asdbench.errors import AsdbenchError, PathError, SpecError
from asdbench.files.outputs import GuardedStream, StreamError, distinct_outputs, output_file, reason, refused_by_system
from asdbench.files.paths import writable_directory
from asdbench.store.claims import CLAIMS
from asdbench.synth.presets import PRESET_NAMES

if TYPE_CHECKING:
    from asdbench.contract.registry import Registry


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "worker":  # only `asdbench worker` passes options on (to `dask worker`)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.dask_options = unknown
    stdout, sys.stdout = sys.stdout, GuardedStream(sys.stdout, "standard output")
    try:
        with warnings.catch_warnings():
            if not args.debug:
                warnings.showwarning = _one_line_warning
            status = args.handler(args) or 0
            sys.stdout.flush()  # a full disk behind `> file` shows only now, for a short output
            return status
    except AsdbenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"asdbench: error: {exc}", file=sys.stderr)
        if isinstance(exc, StreamError):
            _discard_stdout(stdout)
        return 2
    except KeyboardInterrupt:
        print("asdbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `asdbench ... | head`: the reader has all it wanted
        _discard_stdout(stdout)
        return 141
    except OSError as exc:  # a write refused outside asdbench.files.atomic's: a lock file or folder in a read-only store
        refused = refused_by_system(exc)
        if refused is None:
            raise
        if args.debug:
            traceback.print_exc()
        print(f"asdbench: error: {refused.filename}: {reason(refused)}; files written before are kept", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout


def _discard_stdout(stdout: TextIO) -> None:
    """Point standard output at /dev/null: what it holds cannot be written, and Python's own flush at exit would
    fail again, with a traceback."""
    with suppress(AttributeError, ValueError, OSError):  # a stream without a file descriptor (tests) holds nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """A warning as one line, like the errors: what it says, not where in asdbench's code it was raised."""
    print(f"asdbench: warning: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asdbench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"asdbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help: str, **options) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, **options)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("plugins", _plugins, "list every registered plugin: kind, name, distribution, version")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.add_argument("--check", action="store_true",
                     help="build every component with its defaults, run it on a tiny input and check its contract "
                          "(exit status 1 if any fails)")

    sub = command("synth", _synth, "write a synthetic dataset in the official DCASE layouts")
    sub.add_argument("out", type=Path, help="directory to write (must be empty or absent)")
    sub.add_argument("--preset", default="tiny", help=f"one of {', '.join(PRESET_NAMES)} (default: tiny)")
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--workers", type=int, help="rendering processes (default: every core for large presets)")

    sub = command("manifest", _manifest, "read a dataset in place and summarise its clips per machine")
    _dataset_arguments(sub)
    sub.add_argument("--csv", type=Path, help="also write the full manifest to this CSV file")

    sub = command("evaluate", _evaluate, "score official submission files against the ground truth")
    sub.add_argument("scores_dir", type=Path, help="directory of anomaly_score_<machine>_section_00_test.csv files")
    _dataset_arguments(sub)
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sub = command("spec", _spec, "validate a run spec and print its canonical form and hash")
    sub.add_argument("spec", type=Path)
    sub.add_argument("--json", action="store_true", help="print only the canonical JSON")

    sub = command("run", _run, "train and score one run spec, then print its per-machine tables")
    sub.add_argument("spec", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"),
                     help="the run store; the run goes in OUT/<training hash>/<scoring hash>")
    sub.add_argument("--baseline", type=Path, metavar="DIR",
                     help="the --out directory of `asdbench baseline`: its scores are shown next to the run's")
    sub.add_argument("--plot", type=Path, metavar="PNG", help="also draw every machine's hmean as a bar chart")
    _code_change_arguments(sub)

    sub = command("grid", _grid, "run every run of a grid file (resumable; finished runs are never recomputed)")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    sub.add_argument("--executor", choices=["local", "dask"], default="local")
    sub.add_argument("--workers", type=_positive_int, default=1,
                     help="processes (local) or LocalCluster workers (dask)")
    sub.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a LocalCluster)")
    sub.add_argument("--claims", choices=CLAIMS, default="files",
                     help="how a worker claims a training or run: OS file locks in the store (default), or locks on "
                          "the Dask scheduler (with --executor dask, for a store whose file system's locks stay on "
                          "each node; see README)")
    sub.add_argument("--stack-seeds", type=int, metavar="N", help=argparse.SUPPRESS)  # now train.stack_seeds
    _code_change_arguments(sub)

    sub = command("worker", _worker, "start one Dask worker per GPU of this machine, each seeing only its GPU "
                  "(CUDA_VISIBLE_DEVICES) and declaring it (--resources GPU=1); other options go to every "
                  "`dask worker`", allow_abbrev=False)
    sub.add_argument("scheduler", help="address of the Dask scheduler, e.g. tcp://node1:8786")
    sub.add_argument("--gpus", help="comma-separated GPU indices or UUIDs (default: $CUDA_VISIBLE_DEVICES)")
    sub.add_argument("--name", help="worker name; with several GPUs, NAME-0, NAME-1, ... (default: HOST-gpu-GPU)")
    sub.add_argument("--nthreads", type=int, default=1, help="threads per worker (default 1)")

    sub = command("status", _status, "show each run of a grid: done, running, failed or pending")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")

    sub = command("leaderboard", _leaderboard, "render a grid's table from stored results")
    sub.add_argument("grid", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="the run store (default: runs)")
    sub.add_argument("--format", choices=["md", "csv", "json"], default="md")
    sub.add_argument("--write", type=Path, help="also write the table to this file")
    sub.add_argument("--heatmap", type=Path, help="also draw the table as a heat-map PNG")
    sub.add_argument("--compare", nargs=2, metavar=("ROW_A", "ROW_B"), help="paired test of two rows")
    sub.add_argument("--json", type=Path, help="also write the cells (mean, std, count) as JSON")
    sub.add_argument("--check", type=Path, help="a committed --json file: fail if any cell fell below it")
    sub.add_argument("--tolerance", type=_tolerance, default=3.0,
                     help="for --check, in points of percent (default 3)")

    sub = command("models", _models, "download the published weights of a pretrained component")
    sub.add_argument("action", choices=["fetch"])
    sub.add_argument("name", help="a component that registers fetch_weights, e.g. panns, openl3 or beats")
    sub.add_argument("--dir", type=Path, help="destination folder (default: the plugin's models folder)")

    sub = command("pseudolabel", _pseudolabel, "compute (or read back) the pseudo-label table of a run spec")
    sub.add_argument("spec", type=Path)
    sub.add_argument("--out", type=Path, default=Path("runs"), help="runs folder (labels go in OUT/pseudolabels/)")

    sub = command("plot-space", _plot_space, "draw a machine's pseudo-labelling space, coloured by true labels")
    sub.add_argument("run", type=Path, help="a run or training directory (or a pseudolabels/<hash> directory)")
    sub.add_argument("--machine", required=True)
    sub.add_argument("--out", type=Path, help="PNG file (default: RUN/plots/space_<split>_<machine>.png)")

    sub = command("baseline", _baseline, "score a dataset with pooled frontend features and a backend, then evaluate")
    sub.add_argument("root", type=Path, help="dataset root")
    sub.add_argument("--dataset", default="synth", help="dataset plugin (default: synth)")
    sub.add_argument("--splits", nargs="+", default=["dev", "eval"], choices=["dev", "eval"])
    sub.add_argument("--frontend", default="spectrum", help="frontend plugin (default: spectrum)")
    sub.add_argument("--backend", default="knn", help="backend plugin (default: knn)")
    sub.add_argument("--bands", type=_positive_int, default=128, help="log bands the frontend output is pooled to")
    sub.add_argument("--out", type=Path, required=True, help="directory for the score files, one folder per split")
    return parser


def _dataset_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--dataset-root", type=Path, required=True, help="folder holding dev_data/ and eval_data/")
    sub.add_argument("--year", type=int, required=True, choices=[2023, 2024, 2025, 2026])
    sub.add_argument("--split", required=True, choices=["dev", "eval"])
    sub.add_argument("--ground-truth", type=Path, help="the official evaluator's ground-truth folder (eval split)")
    sub.add_argument("--hidden-attributes", type=Path, help="released hidden attributes (2024, 2025), if any")


def _code_change_arguments(sub: argparse.ArgumentParser) -> None:
    """What to do with finished runs whose code has changed since they were made (asdbench.store.stale); by default
    the command stops before any work and names them."""
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--rerun", choices=["changed"],
                       help="recompute finished trainings and scorings made with other code than is installed "
                            "(the old ones are set aside, not deleted)")
    group.add_argument("--keep-results", action="store_true",
                       help="keep finished results made with other code than is installed, and record that choice "
                            "in them")


def _code_policy(args: argparse.Namespace) -> str:
    """The policy (asdbench.store.stale.apply) for finished runs whose code has changed that the options chose."""
    return "rerun" if args.rerun else "keep" if args.keep_results else "refuse"


def _read_manifest(args: argparse.Namespace):
    from asdbench.data.manifest import build_manifest

    return build_manifest(
        args.dataset_root, args.year, args.split,
        ground_truth=args.ground_truth, hidden_attributes=args.hidden_attributes,
    )


# --- handlers ---------------------------------------------------------------------------------------------


def _plugins(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry

    registry = get_registry()
    if args.check:
        return _check_plugins(registry, args.json)
    rows = [
        {"kind": r.kind, "name": r.name, "distribution": r.distribution, "version": r.version,
         "description": r.meta.get("description", ""), "duplicate": registry.is_duplicate(r)}
        for r in registry.all()
    ]
    conflicts = sorted(registry.conflicts.values())
    if args.json:
        failures = [{**f.__dict__, "message": f.message} for f in registry.failures]
        print(json.dumps({"plugins": rows, "failures": failures, "conflicts": conflicts}, indent=2))
        return 0
    shown = [{**row, "duplicate": "DUPLICATE" if row["duplicate"] else ""} for row in rows]
    print(tabulate(shown, headers="keys", tablefmt="simple"))
    for failure in registry.failures:
        print(f"warning: {failure.message}", file=sys.stderr)
    for conflict in conflicts:
        print(f"warning: {conflict}", file=sys.stderr)
    return 0


def _check_plugins(registry: Registry, as_json: bool) -> int:
    from asdbench.contract.selfcheck import check_plugins
    from asdbench.spec.validate import TRAIN_DEFAULTS

    results = check_plugins(registry, train=TRAIN_DEFAULTS)
    if as_json:
        print(json.dumps([result.__dict__ for result in results], indent=2))
    else:
        rows = [{"kind": r.kind, "name": r.name, "distribution": r.distribution, "result": r.result} for r in results]
        print(tabulate(rows, headers="keys", tablefmt="simple", maxcolwidths=[None, None, None, 90]))
        failed = [r.label for r in results if r.failed]
        print(f"\n{len(results)} checked, {len(failed)} failed" + (": " + ", ".join(failed) if failed else ""))
    return 1 if any(r.failed for r in results) else 0


def _synth(args: argparse.Namespace) -> int:
    import time

    from asdbench.data.layout import INFO_FILE
    from asdbench.synth.generate import generate

    writable_directory(args.out, "OUT")
    finished = (args.out / INFO_FILE).exists()
    started = time.perf_counter()
    info = generate(args.out, args.preset, args.seed, workers=args.workers)
    if finished:
        print(f"{args.out} already holds the {info}: nothing written")
    else:
        print(f"wrote {info} to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def _manifest(args: argparse.Namespace) -> int:
    from asdbench.files.atomic import write_text_atomic

    if args.csv:
        output_file(args.csv, "--csv")
    manifest = _read_manifest(args)
    # supplemental clips are counted by what they hold ("machine" or "noise") instead of a label they do not have
    shown = manifest.assign(label=manifest["label"].where(manifest["content"] == "mixture", manifest["content"]))
    summary = shown.groupby(["machine", "subset", "domain", "label"]).size().unstack(["subset", "domain", "label"])
    summary.columns = [" ".join(map(str, column)) for column in summary.columns]  # "train source normal", not a tuple
    print(tabulate(summary.fillna(0).astype(int), headers="keys", tablefmt="simple"))
    if args.csv:
        write_text_atomic(args.csv, manifest.to_csv(index=False))
        print(f"wrote {len(manifest)} rows to {args.csv}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from asdbench.scoring.scorefiles import evaluate_directory

    manifest = _read_manifest(args)
    report = evaluate_directory(args.scores_dir, manifest[manifest["subset"] == "test"], ground_truth=args.ground_truth)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_markdown())
    return 0


def _spec(args: argparse.Namespace) -> int:
    from asdbench.spec.validate import load_spec

    spec = load_spec(args.spec)
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
    from asdbench.scoring.metrics import EvaluationReport
    from asdbench.spec.validate import load_spec
    from asdbench.store import stale
    from asdbench.store.store import Store

    writable_directory(args.out, "--out")
    if args.plot:
        output_file(args.plot, "--plot")
    baseline = summary.read_results(args.baseline) if args.baseline else None  # a wrong folder fails before training
    registry = get_registry()
    spec = load_spec(args.spec, registry)
    store = Store(args.out)
    stale.apply(_code_policy(args), [spec], store, registry)
    results = store.run(spec, registry)
    for split, report in results["splits"].items():
        print(f"\n## {spec.dataset['name']} {split}\n")
        print(EvaluationReport.from_dict(report).to_markdown() if report else "no ground truth: scores written only")
    systems = {"baseline": baseline[1]} if baseline else {}
    name = args.spec.stem if args.spec.stem != "baseline" else "run"
    systems[name] = summary.reports_of(results)
    print(f"\n## Official score (%)\n\n{summary.official_table(systems)}\n\n{name}: run {spec.hash}")
    if baseline:
        print(f"baseline: {baseline[0]}, in {args.baseline}")
        print(f"\n## hmean per machine (%)\n\n{summary.machine_table(systems)}")
    plots = {"plot": summary.machine_figure(systems, args.plot)} if args.plot else {}
    print("\nfiles written:")
    print(summary.files_written(store.directory(spec), store.training_directory(spec), list(results["splits"]),
                                plots))
    print("space used:")
    print(summary.space_used({"run store": args.out, "audio cache": default_cache_dir()}))
    return 0


def _grid(args: argparse.Namespace) -> int:
    from asdbench.grid.grid import execute_grid, load_grid
    from asdbench.report.leaderboard import check_table

    if args.stack_seeds is not None:
        raise SpecError(f"--stack-seeds is now the spec field train.stack_seeds: stacked trainings differ from "
                        f"trainings alone by amplified float noise, so they are other runs. Set "
                        f"\"train.stack_seeds\" = {args.stack_seeds} in {args.grid}'s base spec (or as an axis)")
    writable_directory(args.out, "--out")
    grid = load_grid(args.grid)
    check_table(grid)
    outcomes = execute_grid(grid, args.out, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                            claims=args.claims, changed_code=_code_policy(args))
    failed = [o for o in outcomes.values() if o.error]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} runs done in {args.out}")
    for outcome in failed:
        print(f"failed: {outcome.hash}: {outcome.error} (traceback in {outcome.error_file})", file=sys.stderr)
    return 1 if failed else 0


def _worker(args: argparse.Namespace) -> int:
    from asdbench.grid.workers import gpu_list, run_workers, worker_commands

    if args.nthreads < 1:
        raise AsdbenchError(f"--nthreads: expected a positive number of threads, got {args.nthreads}")
    return run_workers(worker_commands(args.scheduler, gpu_list(args.gpus), name=args.name, nthreads=args.nthreads,
                                       dask_options=args.dask_options))


def _status(args: argparse.Namespace) -> int:
    from asdbench.grid.grid import grid_status, load_grid

    grid = load_grid(args.grid)
    rows = grid_status(grid, _existing_store(args.out, args.grid))
    print(tabulate(rows, headers="keys", tablefmt="simple"))
    states = ("done", "stale", "running", "failed", "damaged", "pending")
    trainings = {row["training"]: row["trained"] for row in rows}
    runs = ", ".join(f"{sum(r['state'] == state for r in rows)} {state}" for state in states)
    trained = ", ".join(f"{sum(t == state for t in trainings.values())} {state}" for state in states)
    print(f"\n{len(rows)} runs: {runs}\n{len(trainings)} trainings: {trained}")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from asdbench.files.atomic import write_text_atomic
    from asdbench.grid.grid import load_grid
    from asdbench.report import leaderboard

    grid = load_grid(args.grid)
    outputs = {"--write": args.write, "--heatmap": args.heatmap, "--json": args.json}
    for option, path in outputs.items():
        if path is not None:
            output_file(path, option)
    distinct_outputs({**outputs, "--check": args.check})
    reference = _read_reference_cells(args.check) if args.check else None
    _existing_store(args.out, args.grid)
    text = leaderboard.render(grid, args.out, args.format)
    comparison = leaderboard.compare(grid, args.out, *args.compare) if args.compare else None  # fails before writing
    print(text)
    if args.write:
        write_text_atomic(args.write, text)
    if args.heatmap:
        print(f"heat map: {leaderboard.heatmap(grid, args.out, args.heatmap)}")
    if args.json:
        write_text_atomic(args.json, leaderboard.render(grid, args.out, "json") + "\n")
    if comparison is not None:
        print(f"\n{args.compare[1]} - {args.compare[0]}: {leaderboard.describe_comparison(comparison)}")
    if reference is not None:
        failures = leaderboard.regressions(grid, args.out, reference, args.tolerance / 100)
        if failures:
            print(f"\nREGRESSION: {len(failures)} cells fell more than {args.tolerance} points below {args.check}:")
            print(tabulate(failures, headers="keys", tablefmt="github", floatfmt=".4f"))
            return 1
        print(f"\nno cell fell more than {args.tolerance} points below {args.check}")
    return 0


def _existing_store(path: Path, grid: Path) -> Path:
    """The run store ``--out`` names, which must exist: a mistyped one would show every run pending."""
    if not path.exists():
        raise PathError(f"--out {path}: no run store there (no such folder); name the store of {grid}'s runs, "
                        f"or run them first with `asdbench grid {grid} --out {path}`")
    if not path.is_dir():
        raise PathError(f"--out {path} is a file, not a run store (a folder)")
    return path


def _tolerance(text: str) -> float:
    """An argparse type: a tolerance of `leaderboard --check`, a finite number of points >= 0 (NaN compares false
    with every difference, so that it would pass every cell)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of points >= 0, got {text!r}")
    return value


def _read_reference_cells(path: Path) -> list[dict]:
    """The committed leaderboard cells that `leaderboard --check` compares against: what `--json` wrote."""
    if not path.is_file():
        raise AsdbenchError(f"{path}: no committed leaderboard to check against; write one with `make leaderboard`")
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: not a leaderboard JSON file ({error})") from None
    if not isinstance(cells, list):
        raise SpecError(f"{path}: expected a list of cells as `leaderboard --json` writes, "
                        f"got a {type(cells).__name__}")
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or not {"row", "column", "mean"} <= set(cell):
            raise SpecError(f"{path}: cell [{index}]: expected an object with row, column and mean, got {cell!r}")
        if cell["mean"] is not None and (isinstance(cell["mean"], bool) or not isinstance(cell["mean"], int | float)):
            raise SpecError(f"{path}: cell [{index}].mean: expected a number or null, got {cell['mean']!r}")
        if cell["mean"] is not None and not math.isfinite(cell["mean"]):
            raise SpecError(f"{path}: cell [{index}].mean: expected a finite number or null, got {cell['mean']}")
    if not any(cell["mean"] is not None for cell in cells):
        raise SpecError(f"{path}: no cell with a mean to check against ({len(cells)} cells): every check would "
                        "pass; write the committed leaderboard with `make leaderboard`")
    return cells


def _models(args: argparse.Namespace) -> int:
    from asdbench.contract.boundary import plugin_call
    from asdbench.contract.registry import get_registry

    registry = get_registry()
    fetchable = [r for r in registry.all() if "fetch_weights" in r.meta and not registry.is_duplicate(r)]
    matches = [r for r in fetchable if r.name == args.name]
    if not matches:
        known = ", ".join(sorted({r.name for r in fetchable})) or "none"
        raise AsdbenchError(f"no registered component named {args.name!r} has weights to fetch; those that do: {known}")
    if len({id(r.meta["fetch_weights"]) for r in matches}) > 1:
        raise AsdbenchError(f"{args.name!r} names weights of several components: "
                            f"{', '.join(r.label for r in matches)}")
    if args.dir is not None:
        writable_directory(args.dir, "--dir")
    registration = matches[0]
    fetch = registration.meta["fetch_weights"]
    with plugin_call(registration, "fetch_weights"):
        print(fetch(args.dir))
    return 0


def _pseudolabel(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.spec.validate import load_spec
    from asdbench.store import pseudolabels as pseudolabel
    from asdbench.store.datacheck import open_dataset
    from asdbench.store.store import Store

    writable_directory(args.out, "--out")
    registry = get_registry()
    spec = load_spec(args.spec, registry)
    if "pseudolabel" not in spec.canonical:
        raise SpecError(f"{args.spec}: system.labels is {spec.system['labels']!r}, not 'pseudo:<feature space>'")
    dataset = open_dataset(spec.dataset, registry)
    manifests = {split: dataset.manifest(split) for split in spec.dataset["splits"]}
    systems = Store(args.out).systems(spec, registry)
    result = pseudolabel.compute(spec, registry, args.out, manifests, systems=systems)
    rows = [{"machine": key, **values} for key, values in result.quality.items()]
    print(tabulate(rows, headers="keys", tablefmt="github", floatfmt=".3f") if rows else "no hidden truth to compare")
    print(f"\nlabel table: {result.directory / pseudolabel.LABELS}")
    return 0


def _plot_space(args: argparse.Namespace) -> int:
    from asdbench.report.plots import plot_space, space_directory

    directory = space_directory(args.run)
    spaces = sorted((directory / "spaces").glob(f"*.{args.machine}.npz"))
    if not spaces:
        known = sorted({p.name.split(".")[1] for p in (directory / "spaces").glob("*.npz")})
        raise AsdbenchError(f"no space for machine {args.machine!r} in {directory}; machines: {', '.join(known)}")
    split = spaces[0].name.split(".")[0]
    out = output_file(args.out or args.run / "plots" / f"space_{split}_{args.machine}.png", "--out")
    print(plot_space(spaces[0], out))
    return 0


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (``--bands 0`` would pool every clip to nothing, ``grid --workers 0``
    ran in this process as if it said 1)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _baseline(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.data.audio import AudioCache
    from asdbench.report import summary
    from asdbench.scoring.baseline import score_split
    from asdbench.scoring.scorefiles import evaluate_directory

    writable_directory(args.out, "--out")
    registry = get_registry()
    dataset = registry.create("datasets", args.dataset, root=str(args.root))
    for kind, name in (("frontends", args.frontend), ("backends", args.backend)):
        registry.get(kind, name)  # an unknown name fails before any audio is read
    cache = AudioCache()
    system = f"{args.frontend} pooled to {args.bands} log bands + {args.backend} (no training)"
    reports = {}
    for split in args.splits:
        manifest = dataset.manifest(split)
        out_dir = score_split(manifest, registry, args.frontend, args.backend, args.out / split, cache=cache,
                              bands=args.bands)
        reports[split] = evaluate_directory(out_dir, manifest[manifest["subset"] == "test"])
        print(f"\n## {dataset.name} {split}: {args.frontend} + {args.backend}\n\n{reports[split].to_markdown()}")
    print(f"\n## Official score (%)\n\n{summary.official_table({system: reports})}")
    print(f"\nscore files and results.json: {summary.write_baseline_results(args.out, system, reports).parent}")
    return 0
