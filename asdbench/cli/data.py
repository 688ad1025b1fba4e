"""``asdbench synth``, ``manifest``, ``evaluate`` and ``baseline``: datasets, official score files, a baseline without
training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate

from asdbench.cli.arguments import (
    Command,
    dataset_arguments,
    positive_int,
    read_manifest,
)
from asdbench.files.outputs import output_file
from asdbench.files.paths import writable_directory
from asdbench.synth.presets import PRESET_NAMES


def add_commands(command: Command) -> None:
    sub = command("synth", _synth, "write a synthetic dataset in the official DCASE layouts")
    sub.add_argument("out", type=Path, help="directory to write (must be empty or absent)")
    sub.add_argument("--preset", default="tiny", help=f"one of {', '.join(PRESET_NAMES)} (default: tiny)")
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--workers", type=int, help="rendering processes (default: every core for large presets)")

    sub = command("manifest", _manifest, "read a dataset in place and summarise its clips per machine")
    dataset_arguments(sub)
    sub.add_argument("--csv", type=Path, help="also write the full manifest to this CSV file")

    sub = command("evaluate", _evaluate, "score official submission files against the ground truth, with the "
                  "year's official report")
    sub.add_argument("scores_dir", type=Path, help="directory of the year's submission files "
                     "(anomaly_score_<machine>_section_<nn>_test.csv from 2022; 2021: ..._<source|target>_test.csv; "
                     "2020: anomaly_score_<machine>_id_<nn>.csv)")
    dataset_arguments(sub)
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sub = command("baseline", _baseline, "score a dataset with pooled frontend features and a backend, then evaluate")
    sub.add_argument("root", type=Path, help="dataset root")
    sub.add_argument("--dataset", default="synth", help="dataset plugin (default: synth)")
    sub.add_argument("--splits", nargs="+", default=["dev", "eval"], choices=["dev", "eval"])
    sub.add_argument("--frontend", default="spectrum", help="frontend plugin (default: spectrum)")
    sub.add_argument("--backend", default="knn", help="backend plugin (default: knn)")
    sub.add_argument("--bands", type=positive_int, default=128, help="log bands the frontend output is pooled to")
    sub.add_argument("--out", type=Path, required=True, help="directory for the score files, one folder per split")


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
    from asdbench.data.manifest import clip_counts
    from asdbench.files.atomic import write_text_atomic

    if args.csv:
        output_file(args.csv, "--csv")
    manifest = read_manifest(args)
    print(tabulate(clip_counts(manifest), headers="keys", tablefmt="simple"))
    if args.csv:
        write_text_atomic(args.csv, manifest.to_csv(index=False))
        print(f"wrote {len(manifest)} rows to {args.csv}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from asdbench.data.years import year_facts
    from asdbench.scoring.scorefiles import evaluate_directory

    manifest = read_manifest(args)
    year = year_facts(args.year)
    report = evaluate_directory(args.scores_dir, manifest[manifest["subset"] == "test"], ground_truth=args.ground_truth,
                                metric=year.metric, layout=year.score_files)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_markdown())
    return 0


def _baseline(args: argparse.Namespace) -> int:
    from asdbench.contract.registry import get_registry
    from asdbench.data.audio import AudioCache
    from asdbench.data.years import year_facts
    from asdbench.report import summary
    from asdbench.scoring.baseline import score_split
    from asdbench.scoring.scorefiles import evaluate_directory

    writable_directory(args.out, "--out")
    registry = get_registry()
    dataset = registry.create("datasets", args.dataset, root=str(args.root))
    year = year_facts(dataset.year)  # its submission files and official report
    for kind, name in (("frontends", args.frontend), ("backends", args.backend)):
        registry.get(kind, name)  # an unknown name fails before any audio is read
    cache = AudioCache()
    system = f"{args.frontend} pooled to {args.bands} log bands + {args.backend} (no training)"
    reports = {}
    for split in args.splits:
        manifest = dataset.manifest(split)
        out_dir = score_split(manifest, registry, args.frontend, args.backend, args.out / split, cache=cache,
                              bands=args.bands, layout=year.score_files)
        reports[split] = evaluate_directory(out_dir, manifest[manifest["subset"] == "test"], metric=year.metric,
                                            layout=year.score_files)
        print(f"\n## {dataset.name} {split}: {args.frontend} + {args.backend}\n\n{reports[split].to_markdown()}")
    print(f"\n## Official score (%)\n\n{summary.official_table({system: reports})}")
    print(f"\nscore files and results.json: {summary.write_baseline_results(args.out, system, reports).parent}")
    return 0
