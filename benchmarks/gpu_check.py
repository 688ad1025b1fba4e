"""The GPU path measured in one prepared run (issue 14): the paper's main system trained in fp32 and bf16, with and
without ``torch.compile``, and as stacked seeds; clips/s, peak memory, GPU utilisation, the projected time of one
full 16-epoch DCASE2023-sized run, embedding speed, and the official-score difference of bf16 against fp32 on the
same seeds. Each training row also gives the step's GFLOP/s (its FLOPs counted once by
``torch.utils.flop_counter`` on one forward and backward pass, times the steps timed) and, on a GPU in
gpu_peaks.py's table, the fraction of that GPU's dense peak for the configuration's precision.

    benchmarks/gpu_check.sh [--small] [--out DIR] [--data DIR] [--steps N]

The system is ``leaderboard/demo.toml``'s (spectrum + STFT 256 + STFT 4096 branches, SCAC with the subspace loss,
mixup) with ``leaderboard/paper-base.toml``'s training (18 s clips, batches of 64, 16 epochs), on the ``dcase2023``
synthetic preset (14,000 training clips of 10 s, generated once into ``--data`` with every core: about a minute
on 16 cores). On one H100/H200 the whole check is meant to take under 8 minutes.

Every training is asdbench's own (:func:`asdbench.training.loop.train`, :func:`asdbench.training.stacked.train_stacked`,
:class:`asdbench.store.store.Store`); this script only times them. Each configuration first trains a warm-up epoch of
a few steps (compilation, cuDNN's first calls, the caching allocators), then resumes from it for one timed epoch
of ``--steps`` steps, between ``torch.cuda.synchronize()`` calls; the timed epoch ends with its checkpoint save,
as every epoch of a real run does. GPU utilisation is sampled by ``nvidia-smi`` every 100 ms during that epoch.

``--small`` runs every part on tiny data for a step or two, so that the script cannot rot: ``make test`` runs it
on the CPU (tests/test_gpu_check.py). Its figures mean nothing. The CPU skips the compiled configurations, and says
so: inductor takes minutes to compile these networks there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from gpu_peaks import Peaks, peak_for, peaks_of
from tabulate import tabulate
from torch.utils.flop_counter import FlopCounterMode

from asdbench.contract.registry import Registry, get_registry
from asdbench.data.audio import ClipArray
from asdbench.data.clips import ClipSource
from asdbench.runtime.devices import default_device
from asdbench.spec.files import read_toml
from asdbench.spec.validate import validate_spec
from asdbench.store.reading import RunState
from asdbench.store.stages import PreparedTraining, prepare_training
from asdbench.store.store import Store
from asdbench.synth.generate import PRESETS, generate
from asdbench.training.embed import embed
from asdbench.training.loop import TrainingPlan, place, train
from asdbench.training.stacked import StackedMember, train_stacked
from asdbench.training.system import build_system

from measure import MIB, PeakMemory

REPOSITORY = Path(__file__).resolve().parent.parent
SYSTEM_SPEC = REPOSITORY / "leaderboard" / "demo.toml"  # the paper's main system
TRAIN_SPEC = REPOSITORY / "leaderboard" / "paper-base.toml"  # the published training set-up
FULL_PRESET = PRESETS["dcase2023"]
FULL_TRAINING_CLIPS = 2 * FULL_PRESET.machines_per_split * (FULL_PRESET.train_source + FULL_PRESET.train_target)
FULL_SCORED_CLIPS = 2 * FULL_PRESET.machines_per_split * FULL_PRESET.clips_per_machine
SCORED_CHECKPOINTS = 3  # the 12/14/16 ensemble
UTILISATION_INTERVAL_MS = 100
PAPER_EPOCHS = read_toml(TRAIN_SPEC)["train"]["epochs"]  # what a full run trains: the projections' epochs


@dataclass(frozen=True)
class Sizes:
    """How much of everything a check does."""

    preset: str
    clip_seconds: float
    batch_size: int
    steps: int  # timed steps per configuration
    warmup_steps: int
    stacked_seeds: int
    score_seeds: int
    score_epochs: int
    embed_clips: int
    backend_clusters: int | None  # None: demo.toml's


FULL = Sizes("dcase2023", 18.0, 64, 60, 5, 5, 5, 1, 2048, None)
# tiny data, 4.5 s clips (the spectrum branch's least), batches of 2 (BatchNorm's least), kmeans on 10 clips
SMALL = Sizes("tiny", 4.5, 2, 1, 1, 2, 1, 1, 4, 4)


@dataclass(frozen=True)
class Configuration:
    precision: str
    compile: bool = False
    seeds: int = 1  # > 1: stacked

    @property
    def name(self) -> str:
        return self.precision + (", compiled" if self.compile else "") + (
            f", {self.seeds} stacked seeds" if self.seeds > 1 else "")

    @property
    def slug(self) -> str:
        return f"{self.precision}-{'compiled' if self.compile else 'eager'}-{self.seeds}"


def configurations(sizes: Sizes) -> list[Configuration]:
    precisions = ("fp32", "bf16")
    return ([Configuration(p) for p in precisions] + [Configuration(p, compile=True) for p in precisions]
            + [Configuration(p, seeds=sizes.stacked_seeds) for p in precisions])


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sizes = replace(SMALL if args.small else FULL, **({"steps": args.steps} if args.steps else {}))
    out = args.out.resolve()
    work = out / "work"  # this script's scratch: emptied at every start
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    json_path = out / "gpu_check.json"
    device = default_device()
    registry = get_registry()
    started = time.perf_counter()
    report: dict[str, Any] = {"mode": "small" if args.small else "full", "device": describe(device),
                              "torch": torch.__version__, "sizes": asdict(sizes), "training": [], "skipped": [],
                              "failed": []}
    say(f"gpu_check ({report['mode']}) on {report['device']}, torch {torch.__version__}; figures go to {json_path} "
        "as they come")

    data = (args.data or out / f"data-{sizes.preset}").resolve()
    clock = time.perf_counter()
    info = generate(data, sizes.preset, seed=0, progress=False)
    report["data"] = {"preset": sizes.preset, "root": str(data), "clips": info.clips,
                      "generate_seconds": round(time.perf_counter() - clock, 1)}
    say(f"data: {info} in {data} ({report['data']['generate_seconds']} s; 0 when it was there already)")

    raw = base_spec(data, sizes)
    spec = validate_spec(raw, registry)
    clock = time.perf_counter()
    prepared = prepare_training(spec, work / "prepared", registry, epochs=[1],
                                systems=Store(work / "store").systems(spec, registry, progress=False), progress=False)
    report["data"]["prepare_seconds"] = round(time.perf_counter() - clock, 1)
    say(f"{len(prepared.model.training_clips)} training clips read through the audio cache, {prepared.model.num_classes} classes "
        f"({report['data']['prepare_seconds']} s)")
    report["step_gflop"] = round(step_flops(prepared, registry, sizes, device) / 1e9, 3)
    peaks = peaks_of(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    report["peaks"] = asdict(peaks) if peaks else None
    known = peaks.model if peaks else "unknown" if device.type == "cuda" else "none for a CPU"
    say(f"one training step of {sizes.batch_size} clips: {report['step_gflop']} GFLOP (forward and backward); "
        f"peak FLOP/s table: {known}")
    _write(json_path, report)

    for configuration in configurations(sizes):
        if configuration.compile and device.type == "cpu":
            reason = "torch.compile is skipped on the CPU: inductor takes minutes to compile these networks there"
            report["skipped"].append({"configuration": configuration.name, "reason": reason})
            say(f"{configuration.name}: {reason}")
            continue
        try:
            figures = time_training(configuration, prepared, registry, sizes, device, work)
            figures.update(rate_against_peak(figures, report["step_gflop"], peaks))
        except Exception as exc:  # an out-of-memory or a kernel missing on this GPU: the others still run
            _failed(report, configuration.name, exc, device)
            continue
        report["training"].append(figures)
        say(f"{configuration.name}: {figures['clips_per_second']} clips/s, {figures['gflop_per_second']} GFLOP/s, "
            f"{figures['gpu_utilisation_percent']} % "
            f"GPU, {figures['peak_gpu_mib']} MiB ({time.perf_counter() - started:.0f} s so far)")
        _write(json_path, report)
    for name, measure_part in (("embedding", time_embedding), ("scores", compare_precisions)):
        try:
            report[name] = measure_part(raw, prepared, registry, sizes, device, work)
        except Exception as exc:
            _failed(report, name, exc, device)
            continue
        say(f"{name}: done ({time.perf_counter() - started:.0f} s so far)")
        _write(json_path, report)
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    _write(json_path, report)
    print(render(report))
    print(f"\nfigures written to {json_path}")
    return 1 if report["failed"] else 0


def _failed(report: dict[str, Any], what: str, exc: Exception, device: torch.device) -> None:
    """Record a part that failed, with its error, and free what it held on the GPU."""
    report["failed"].append({"part": what, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]})
    say(f"{what} FAILED: {report['failed'][-1]['error']}")
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _write(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="tiny data and a step or two: a smoke test for the CPU")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu-check"), help="where the figures go")
    parser.add_argument("--data", type=Path, help="the synthetic dataset (default OUT/data-PRESET; kept and reused)")
    parser.add_argument("--steps", type=int,
                        help=f"timed steps per configuration (default {FULL.steps}; --small: {SMALL.steps})")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    return args


def base_spec(data: Path, sizes: Sizes) -> dict[str, Any]:
    """demo.toml's system with paper-base.toml's training, on ``data``'s two splits."""
    system = dict(read_toml(SYSTEM_SPEC)["system"])
    if sizes.backend_clusters is not None:
        system["backend"] = {**system["backend"], "clusters": sizes.backend_clusters}
    train_table = {**read_toml(TRAIN_SPEC)["train"], "clip_seconds": sizes.clip_seconds,
                   "batch_size": sizes.batch_size}
    return {"seed": 1, "dataset": {"name": "synth", "root": str(data), "splits": ["dev", "eval"]}, "system": system,
            "train": train_table}


def time_training(configuration: Configuration, prepared: PreparedTraining, registry: Registry, sizes: Sizes,
                  device: torch.device, work: Path) -> dict[str, Any]:
    """A warm-up epoch of ``sizes.warmup_steps`` steps, then one timed epoch of ``sizes.steps`` steps resumed from
    it, of ``configuration.seeds`` fresh systems."""
    spec = prepared.spec
    members = []
    for seed in range(1, configuration.seeds + 1):
        torch.manual_seed(seed)
        system = build_system(spec.system, registry, num_classes=prepared.model.num_classes,
                              num_samples=prepared.num_samples)
        plan = TrainingPlan.from_spec({**spec.train, "precision": configuration.precision,
                                       "compile": configuration.compile, "checkpoints": []},
                                      seed, prepared.num_samples)
        members.append(StackedMember(system, prepared.model.training_clips, prepared.model.targets, prepared.model.num_classes, plan,
                                     work / configuration.slug / f"seed{seed}"))

    def run_epoch(epoch: int, steps: int) -> None:
        clips = first_clips(prepared.model.training_clips, steps * sizes.batch_size)
        epoch_members = [replace(m, clips=clips, targets=m.targets[: len(clips)], plan=replace(m.plan, epochs=epoch))
                         for m in members]
        if len(epoch_members) > 1:
            train_stacked(epoch_members, device=device, progress=False)
        else:
            (m,) = epoch_members
            train(m.system, m.clips, m.targets, m.num_classes, m.plan, m.checkpoint_dir, device=device,
                  progress=False)

    clock = time.perf_counter()
    run_epoch(1, sizes.warmup_steps)
    synchronize(device)
    warmup = time.perf_counter() - clock
    with PeakMemory() as memory, Utilisation(device) as utilisation:  # PeakMemory resets CUDA's peak too
        clock = time.perf_counter()
        run_epoch(2, sizes.steps)
        synchronize(device)
        seconds = time.perf_counter() - clock
    clips = sizes.steps * sizes.batch_size * configuration.seeds
    members.clear()  # the members' systems go before empty_cache
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "configuration": configuration.name, "precision": configuration.precision,
        "compile": configuration.compile, "seeds": configuration.seeds, "steps": sizes.steps,
        "batch_size": sizes.batch_size, "warmup_seconds": round(warmup, 2), "seconds": round(seconds, 3),
        "clips_per_second": round(clips / seconds, 1), "step_ms": round(1000 * seconds / sizes.steps, 1),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated(device) / MIB) if device.type == "cuda" else None,
        "peak_gpu_reserved_mib": round(torch.cuda.max_memory_reserved(device) / MIB) if device.type == "cuda" else None,
        "peak_rss_mib": round(memory.peak / MIB), "gpu_utilisation_percent": utilisation.mean,
        "gpu_utilisation_note": utilisation.note,
        "projected_run_minutes": round(PAPER_EPOCHS * FULL_TRAINING_CLIPS * configuration.seeds
                                       / (clips / seconds) / 60, 2),
    }


def step_flops(prepared: PreparedTraining, registry: Registry, sizes: Sizes, device: torch.device) -> int:
    """The FLOPs of one training step's forward and backward pass (a batch of ``sizes.batch_size`` clips), as
    ``torch.utils.flop_counter`` counts them: convolutions and matrix products, which are nearly all of them. The
    count does not depend on the precision; the optimiser's update (a few per weight) is left out."""
    torch.manual_seed(1)
    system = build_system(prepared.spec.system, registry, num_classes=prepared.model.num_classes,
                          num_samples=prepared.num_samples)
    plan = TrainingPlan.from_spec({**prepared.spec.train, "checkpoints": []}, 1, prepared.num_samples)
    place(system, device, plan).train()
    waveforms = torch.randn(sizes.batch_size, prepared.num_samples, device=device)
    targets = torch.nn.functional.one_hot(torch.arange(sizes.batch_size) % prepared.model.num_classes,
                                          prepared.model.num_classes).float().to(device)
    with FlopCounterMode(display=False) as counter:
        system.training_loss(waveforms, targets).backward()
    return counter.get_total_flops()


def rate_against_peak(figures: dict[str, Any], step_gflop: float, peaks: Peaks | None) -> dict[str, Any]:
    """A timed training's GFLOP/s (``step_gflop`` per step and seed) and its fraction of the device's peak (None
    where the device's peak is unknown, and on a CPU)."""
    rate = step_gflop * figures["steps"] * figures["seeds"] / figures["seconds"]
    kind, tflops = peak_for(peaks, figures["precision"]) if peaks else (None, None)
    return {"gflop_per_second": round(rate, 1), "peak_kind": kind, "peak_tflop_per_second": tflops,
            "peak_fraction": round(rate / (1000 * tflops), 4) if tflops else None}


def time_embedding(raw: dict[str, Any], prepared: PreparedTraining, registry: Registry, sizes: Sizes,
                   device: torch.device, work: Path) -> dict[str, Any]:
    """Embedding clips/s at the device's batch size and precision ("auto"), after one warm-up call."""
    torch.manual_seed(1)
    system = build_system(prepared.spec.system, registry, num_classes=prepared.model.num_classes,
                          num_samples=prepared.num_samples).to(device)
    clips = first_clips(prepared.model.training_clips, sizes.embed_clips)
    embed(system, first_clips(clips, min(len(clips), 2)), prepared.num_samples, device, precision="auto")
    synchronize(device)
    clock = time.perf_counter()
    embed(system, clips, prepared.num_samples, device, precision="auto")
    synchronize(device)
    rate = len(clips) / (time.perf_counter() - clock)
    return {"clips": len(clips), "clips_per_second": round(rate, 1),
            "projected_scoring_minutes": round(SCORED_CHECKPOINTS * FULL_SCORED_CLIPS / rate / 60, 2)}


def compare_precisions(raw: dict[str, Any], prepared: PreparedTraining, registry: Registry, sizes: Sizes,
                       device: torch.device, work: Path) -> dict[str, Any]:
    """Official scores of short trainings (``sizes.score_epochs`` epochs on the dev split, seeds trained stacked
    as a grid would) in fp32 and in bf16 on the same seeds, through the run store."""
    store = Store(work / "store")
    seeds = list(range(1, sizes.score_seeds + 1))
    scores: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    for precision in ("fp32", "bf16"):
        train_table = {**raw["train"], "precision": precision, "epochs": sizes.score_epochs,
                       "checkpoints": [sizes.score_epochs], "stack_seeds": len(seeds)}
        specs = [validate_spec({**raw, "seed": seed, "dataset": {**raw["dataset"], "splits": ["dev"]},
                                "train": train_table}, registry) for seed in seeds]
        clock = time.perf_counter()
        outcomes = store.attempt_group(specs, registry, raise_errors=True)
        seconds[precision] = round(time.perf_counter() - clock, 1)
        for outcome in outcomes:
            if outcome.state is not RunState.DONE:
                raise RuntimeError(f"the {precision} run {outcome.hash} ended {outcome.state.value}: {outcome.error}")
        scores[precision] = [outcome.results["splits"]["dev"]["official_score"] for outcome in outcomes]
    differences = [bf16 - fp32 for fp32, bf16 in zip(scores["fp32"], scores["bf16"])]
    return {"what": f"official score of the dev split after {sizes.score_epochs} epoch(s), {len(seeds)} seed(s) "
                    f"trained {'stacked' if len(seeds) > 1 else 'alone'}: a short training, not the paper's 16 epochs",
            "seeds": seeds, "fp32": scores["fp32"], "bf16": scores["bf16"], "bf16_minus_fp32": differences,
            "mean_difference": sum(differences) / len(differences), "seconds": seconds}


def first_clips(source: ClipSource, count: int) -> ClipSource:
    """The first ``count`` clips of ``source``, its groups cut where the count ends."""
    if count > len(source):
        raise ValueError(f"{count} clips wanted, the data has {len(source)}: fewer --steps, or more data")
    groups, left = [], count
    for group in source.groups:
        take = min(left, len(group))
        if take:
            groups.append(ClipArray(group.paths[:take], group.offsets[:take], group.lengths[:take], group.samples))
        left -= take
    return ClipSource(groups)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(device: torch.device) -> str:
    return f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else str(device)


class Utilisation:
    """The GPU's utilisation (% of time a kernel ran), sampled by ``nvidia-smi`` while the ``with`` block runs.
    nvidia-smi lists every GPU by its UUID, which names torch's device whatever ``CUDA_VISIBLE_DEVICES`` says.
    :attr:`mean` is None where nothing could be sampled, and :attr:`note` says why."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.samples: list[int] = []
        self.listed: set[str] = set()
        self.note = ""
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Utilisation:
        executable = shutil.which("nvidia-smi")
        if self.device.type != "cuda":
            self.note = f"not a GPU ({self.device})"
        elif executable is None:
            self.note = "nvidia-smi not found"
        else:
            self._uuid = str(torch.cuda.get_device_properties(self.device).uuid).lower().removeprefix("gpu-")
            self._process = subprocess.Popen(
                [executable, "--query-gpu=uuid,utilization.gpu", "--format=csv,noheader,nounits",
                 f"--loop-ms={UTILISATION_INTERVAL_MS}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._process.stdout:
            uuid, _, value = (field.strip() for field in line.partition(","))
            self.listed.add(uuid)
            if uuid.lower().removeprefix("gpu-") == self._uuid and value.isdigit():
                self.samples.append(int(value))

    def __exit__(self, *exc: Any) -> None:
        if self._process is None:
            return
        self._process.terminate()
        _, errors = self._process.communicate()
        self._reader.join()
        if self.samples:
            self.note = f"{len(self.samples)} samples"
        elif self.listed:
            self.note = f"nvidia-smi listed {sorted(self.listed)}, not torch's GPU-{self._uuid}"
        else:
            self.note = f"nvidia-smi gave no samples ({errors.strip().splitlines()[0] if errors.strip() else 'none'})"

    @property
    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def render(report: dict[str, Any]) -> str:
    """The plain-text tables of a report."""
    sizes = report["sizes"]
    singles = {row["precision"]: row for row in report["training"] if row["seeds"] == 1 and not row["compile"]}
    rows = []
    for row in report["training"]:
        one = singles.get(row["precision"]) if row["seeds"] > 1 else None
        of_peak = (f"{100 * row['peak_fraction']:.1f} % of {row['peak_kind']}" if row["peak_fraction"] is not None
                   else "unknown" if report["device"].startswith("cuda") else "n/a (CPU)")
        rows.append([row["configuration"], row["clips_per_second"], row["step_ms"], row["gflop_per_second"], of_peak,
                     _or_na(row["peak_gpu_mib"]),
                     row["peak_rss_mib"], _or_na(row["gpu_utilisation_percent"], row["gpu_utilisation_note"]),
                     row["projected_run_minutes"],
                     f"{row['projected_run_minutes'] / one['projected_run_minutes']:.2f}x" if one else "",
                     row["warmup_seconds"]])
    lines = [
        "",
        f"gpu_check ({report['mode']}) on {report['device']}, torch {report['torch']}: {sizes['steps']} timed steps "
        f"of {sizes['batch_size']} clips of {sizes['clip_seconds']} s per configuration",
        tabulate(rows, headers=["configuration", "clips/s", "ms/step", "GFLOP/s", "of peak", "peak GPU MiB",
                                "peak RSS MiB", "GPU util %",
                                f"{PAPER_EPOCHS}-epoch run, min", "vs 1 seed", "warm-up s"], tablefmt="github"),
        f"({PAPER_EPOCHS}-epoch run: {FULL_TRAINING_CLIPS} training clips, the dcase2023 preset's and DCASE 2023 Task "
        "2's; a stacked row's run trains all its seeds)",
        f"(GFLOP/s: {report['step_gflop']} GFLOP per step and seed, forward and backward, as torch.utils.flop_counter "
        "counts them; of peak: of the dense peak for the precision, " + (
            f"{report['peaks']['model']}'s from its datasheet (benchmarks/gpu_peaks.py))" if report["peaks"] else
            "not known for this GPU)" if report["device"].startswith("cuda") else "none for a CPU)"),
    ]
    lines += [f"skipped: {row['configuration']}: {row['reason']}" for row in report["skipped"]]
    lines += [f"FAILED: {row['part']}: {row['error']}" for row in report["failed"]]
    if "embedding" in report:
        embedding = report["embedding"]
        lines.append(f"embedding: {embedding['clips_per_second']} clips/s over {embedding['clips']} clips; scoring a "
                     f"full run ({SCORED_CHECKPOINTS} checkpoints x {FULL_SCORED_CLIPS} clips) projected at "
                     f"{embedding['projected_scoring_minutes']} min")
    if "scores" in report:
        scores = report["scores"]
        table = [[seed, 100 * fp32, 100 * bf16, 100 * difference] for seed, fp32, bf16, difference
                 in zip(scores["seeds"], scores["fp32"], scores["bf16"], scores["bf16_minus_fp32"])]
        lines += ["", f"bf16 against fp32: {scores['what']}",
                  tabulate(table + [["mean", "", "", 100 * scores["mean_difference"]]],
                           headers=["seed", "fp32", "bf16", "bf16 - fp32 (points)"], tablefmt="github",
                           floatfmt=".2f"),
                  f"(trained and scored in {scores['seconds']['fp32']} s in fp32, {scores['seconds']['bf16']} s in "
                  "bf16)"]
    lines += ["", f"data: {report['data']}", f"total: {report['total_seconds']} s"]
    return "\n".join(lines)


def _or_na(value: Any, note: str = "") -> Any:
    return value if value is not None else f"n/a ({note})" if note else "n/a"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":  # generate() spawns worker processes: they must not run this again
    sys.exit(main())
