"""Run specs: TOML in, a validated canonical form and a stable content hash out.

A run spec names a dataset and its splits, a system (one component or a list of components per plugin kind,
each ``{name = ..., option = value}`` or just ``"name"``), training options and a seed::

    seed = 1

    [dataset]
    name = "synth"
    root = "data/ci"            # relative paths are resolved against the spec file's directory
    splits = ["dev", "eval"]

    [system]
    labels = "attributes"
    frontends = [{name = "spectrum"}, {name = "stft", n_fft = 256}]
    networks = ["spectrum-cnn", "spectrogram-resnet"]
    loss = {name = "scac", subclusters = 16}
    aux = "subspace"
    augmentations = [{name = "mixup", probability = 0.5}]
    backend = {name = "kmeans-target", clusters = 16}

    [train]
    epochs = 16

Validation happens against the registered plugins: an unknown name, an unknown option or an option of the
wrong type is a :class:`SpecError` naming the field (``system.frontends[1].nfft``). The canonical form fills
in every default (the factories' keyword defaults and :data:`TRAIN_DEFAULTS`), so a spec that spells out a
default and one that omits it are the same run; the options a registration lists in ``omit_defaults`` are left
out instead while they hold their default (options added after runs were made: those runs keep their identity).

A run has two levels of identity, each the SHA-256 of part of the canonical form. Its *training* covers what
changes the trained weights (data, seed, labels, frontends, networks, losses, augmentations, training
options); its *scoring* covers how the stored embeddings are turned into scores (:data:`SCORING_FIELDS`: the
backend and its options, the checkpoints ensembled, the decision quantile). Specs that differ only in their
scoring share one training. Plugin versions and sources are part of neither: a run records the code it was
made with (:mod:`asdbench.store.codeprint`), and a finished run whose code has changed is never reused without the
user's choice (:mod:`asdbench.store.stale`), while its identity stays what it was.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asdbench.contract.kinds import singular
from asdbench.contract.options import check_constraints, check_finite
from asdbench.contract.options import constraints as option_constraints
from asdbench.contract.registration import Registration
from asdbench.contract.registry import Registry, get_registry
from asdbench.data.readers import SPLITS, refuse_two_channel_input
from asdbench.errors import PluginError, SpecError

SPEC_VERSION = 1
TOP_LEVEL_KEYS = ("seed", "dataset", "system", "train", "pseudolabel")
GRID_KEYS = ("base", "variants", "axes", "table")
"""The top-level fields of a grid file (asdbench.grid.grid), told apart from a run spec's to say which file is which."""
RUN_SPEC, GRID_FILE = "run spec", "grid file"
FILE_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    RUN_SPEC: (TOP_LEVEL_KEYS,
               "`asdbench run`, `spec` and `pseudolabel` take run specs (a grid names one as its base)"),
    GRID_FILE: (GRID_KEYS, "`asdbench grid`, `status` and `leaderboard` take grid files"),
}
"""Each kind of TOML file: its top-level fields, and which commands take it."""
SYSTEM_COMPONENTS: dict[str, tuple[str, bool]] = {
    "frontends": ("frontends", True),
    "networks": ("networks", True),
    "loss": ("losses", False),
    "aux": ("losses", False),
    "augmentations": ("augmentations", True),
    "backend": ("backends", False),
}
"""``[system]`` keys holding components: key -> (plugin kind, whether it holds a list)."""

SCORING_FIELDS: tuple[tuple[str, str], ...] = (("system", "backend"), ("system", "decision_quantile"),
                                               ("train", "checkpoints"))
"""(section, key) of every field that decides how a trained run is scored, not how it is trained."""
DECISION_QUANTILE = 0.9
"""``system.decision_quantile``: a clip is decided anomalous above this quantile of a gamma distribution
fitted to its machine's training scores (the DCASE baseline's rule)."""

EMBEDDINGS = ("normalised", "raw")
"""``system.embeddings``: what the system gives its backend, z_cat L2-normalised (the default, left out of the
canonical form so that earlier runs keep their identity) or "raw", z_cat as the networks output it, which only a
backend registered with ``raw_embeddings=True`` takes, and such a backend needs (GenRep's distances on raw
pretrained features)."""

LABEL_MODES = ("attributes", "machine")
"""``system.labels``: the classes a system trains on (see asdbench.data.labels), or ``pseudo:<feature space>``."""
PSEUDO_PREFIX = "pseudo:"

PSEUDOLABEL_DEFAULTS: dict[str, Any] = {
    "reducer": "umap",
    "clusterer": "gmm-bic",
    "machines": "unlabelled",
    "max_clusters_source": 16,
    "max_clusters_target": 2,
    "transductive": False,
}
"""The paper's pseudo-labelling (Sec. III-B): UMAP to 2-D, then a GMM per domain with BIC choosing up to 16
source and 2 target clusters. ``machines``: "unlabelled" pseudo-labels the machines without attributes, "all"
conceals every machine's attributes (Table III's 2023 rows). ``transductive``: fit the reducer on test clips
too, as the authors' code does; off by default, so no test audio shapes the training labels."""
PSEUDOLABEL_MACHINES = ("unlabelled", "all")

TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 16,
    "batch_size": 64,
    "lr": 1e-3,
    "weight_decay": 0.01,
    "checkpoints": [12, 14, 16],
    "clip_seconds": "longest",
    "precision": "auto",
    "compile": False,
    "memory_format": "auto",
    "stack_seeds": 1,
}
"""The paper's training set-up (AdamW, lr 1e-3, batch 64, 16 epochs, ensemble of epochs 12/14/16).

``clip_seconds``: every clip is tiled (or cropped) to this length; "longest" = the dataset's longest clip.
``precision``: "auto" (bf16 autocast on CUDA, fp32 on CPU), "fp32" or "bf16".
``compile``: run the networks through ``torch.compile`` (the first steps pay the compilation).
``memory_format``: "auto" (channels-last convolutions on CUDA, contiguous on the CPU), "channels_last" or
"contiguous".
``stack_seeds``: 1 trains each run alone; N > 1 trains up to N runs that differ only in their seed together,
their networks vmapped (:mod:`asdbench.training.stacked`). Stacked training computes what training alone computes only
up to float32 noise, which training amplifies chaotically (a cell of the eval table moved by 7 points), so a
stacked training is another training: its identity gets ``"stacked": true`` (see :func:`training_identity`).

``epochs = 0``: a training-free system (frozen pretrained features with a backend such as ``genrep``): it is used
as built (its weights seeded, or loaded by its networks), its only checkpoint is 0 (the default then) and it has
no loss, auxiliary term, augmentation or pseudo-labels to give. ``batch_size``, ``lr``, ``weight_decay``,
``stack_seeds`` and ``system.labels`` change nothing then, and are left out of its identity
(:func:`training_identity`).
"""
LATER_TRAIN_DEFAULTS: dict[str, Any] = {"warmup_steps": 0}
"""``train`` options added after runs were made: left out of the canonical form while they hold their default, so
that those runs keep their identity (as a component's ``omit_defaults``).

``warmup_steps``: the learning rate rises linearly from 0 to ``lr`` over this many optimiser steps, counted over the
whole run (ASDKit's BEATs and EAT recipes: 5000; asdbench.training.loop.TrainingPlan.learning_rate says exactly how)."""
UNTRAINED_CHECKPOINTS = [0]
"""``train.checkpoints`` of a system with ``train.epochs = 0``: the system as built."""
UNTRAINED_IGNORED = ("batch_size", "lr", "weight_decay", "warmup_steps")
"""``train`` keys that change nothing in a system that is never trained: left out of its training identity."""
TRAINING_ONLY_COMPONENTS = ("loss", "aux", "augmentations")
"""``[system]`` keys that only training uses: refused in a system with ``train.epochs = 0``."""
PRECISIONS = ("auto", "fp32", "bf16")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
EXECUTION_KEYS = ("compile", "memory_format")
"""``train`` keys that change how fast a run goes but not what it computes (beyond floating-point noise): they
are kept in the canonical spec, but left out of its hash, so a finished run is not recomputed for them."""

MAX_SEED = 2**63 - 1
"""The largest ``seed``: a signed 64-bit integer, the largest integer TOML has and what every random generator a run
seeds takes (a larger one, which Python's TOML reader accepts anyway, failed only once the run had started)."""
MAX_NESTING = 64
"""The deepest a spec or grid file may nest arrays and tables (its own fields nest a few levels at most): a file
nested thousands deep would otherwise exhaust Python's stack in the TOML reader or anything after it."""
MAX_EPOCHS = 10_000
"""The largest ``train.epochs``: 625 times the paper's 16, and far beyond any published recipe's; a larger value is
a typo (``1000000000000``) that would train without end, every epoch after the last checkpoint for nothing."""

_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class RunSpec:
    """A validated run spec in canonical form."""

    canonical: dict[str, Any]

    @property
    def training_hash(self) -> str:
        """The identity of what this run trains (its directory in the store)."""
        return spec_hash(training_identity(self.canonical))

    @property
    def scoring_hash(self) -> str:
        """The identity of how this run scores its training's embeddings (a directory under the training's)."""
        return spec_hash(scoring_identity(self.canonical))

    @property
    def hash(self) -> str:
        """The run's identity: ``<training hash>/<scoring hash>``, its path in the store."""
        return f"{self.training_hash}/{self.scoring_hash}"

    @property
    def seed(self) -> int:
        return self.canonical["seed"]

    @property
    def dataset(self) -> dict[str, Any]:
        return self.canonical["dataset"]

    @property
    def system(self) -> dict[str, Any]:
        return self.canonical["system"]

    @property
    def train(self) -> dict[str, Any]:
        return self.canonical["train"]

    def to_json(self) -> str:
        return canonical_json(self.canonical)


def read_toml(path: Path, what: str = "spec file") -> dict[str, Any]:
    """A TOML file's tables; a missing, unreadable or malformed file, or one nested more than :data:`MAX_NESTING`
    deep, is a :class:`SpecError` naming it."""
    too_deep = f"{path}: arrays or tables nested more than {MAX_NESTING} deep; no field of a spec or grid nests " \
               "more than a few levels"
    try:
        tables = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:  # the reader recurses once per level: thousands of them exhaust Python's stack
        raise SpecError(too_deep) from None
    except FileNotFoundError:
        raise SpecError(f"{what} {path} not found") from None
    except IsADirectoryError:
        raise SpecError(f"{what} {path} is a directory; expected a TOML file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start}); TOML files are UTF-8") \
            from None
    except OSError as exc:
        raise SpecError(f"{what} {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    deepest = _deepest(tables)
    if deepest is not None:
        raise SpecError(f"{too_deep} (under {deepest!r})")
    return tables


def _deepest(tables: dict[str, Any]) -> str | None:
    """The top-level key under which a value nests more than :data:`MAX_NESTING` deep, or None. Walked without
    recursion, so that every later step (validation, copies, JSON) may recurse over what it is given."""
    for key, value in tables.items():
        level = [value]
        for _ in range(MAX_NESTING):
            level = [item for node in level if isinstance(node, list | dict)
                     for item in (node.values() if isinstance(node, dict) else node)]
        if any(isinstance(node, list | dict) for node in level):
            return key
    return None


def refuse_other_kind(raw: Mapping[str, Any], path: Path, expected: str) -> None:
    """Refuse a file whose every top-level field is of the other kind of :data:`FILE_KINDS` than ``expected``,
    saying which kind it is and which commands take it (a grid file given to ``run``, a run spec to ``status``)."""
    for kind, (keys, commands) in FILE_KINDS.items():
        if kind != expected and raw and set(raw) <= set(keys):
            raise SpecError(f"{path} is a {kind} (it has {', '.join(k for k in keys if k in raw)}), not a "
                            f"{expected}: {commands}")


def load_spec(path: Path, registry: Registry | None = None) -> RunSpec:
    """Read and validate a TOML run spec; errors name the file and the field."""
    raw = read_toml(path)
    refuse_other_kind(raw, path, RUN_SPEC)
    try:
        return validate_spec(raw, registry, base_dir=Path(path).resolve().parent)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def validate_spec(raw: Mapping[str, Any], registry: Registry | None = None, *, base_dir: Path | None = None) -> RunSpec:
    """Validate a parsed spec against the registered plugins and return its canonical form."""
    registry = registry or get_registry()
    _reject_unknown(raw, TOP_LEVEL_KEYS, "")
    refuse_two_channel_input(_table(raw, "dataset", required=True), raw.get("system"))
    canonical = {
        "spec_version": SPEC_VERSION,
        "seed": _seed(raw.get("seed", 0)),
        "dataset": _dataset(_table(raw, "dataset", required=True), registry, base_dir or Path.cwd()),
        "system": _system(_table(raw, "system", required=True), registry),
        "train": _train(_table(raw, "train", required=False)),
    }
    if canonical["train"]["epochs"] == 0:
        _refuse_training_components(canonical["system"])
    _refuse_unstackable(canonical, registry)
    pseudolabel = _table(raw, "pseudolabel", required=False)
    labels = canonical["system"]["labels"]
    if labels.startswith(PSEUDO_PREFIX):
        canonical["pseudolabel"] = _pseudolabel(pseudolabel, labels.removeprefix(PSEUDO_PREFIX), registry)
    elif pseudolabel:
        raise SpecError(f"[pseudolabel] is given but system.labels is {labels!r}; use labels = 'pseudo:<feature space>'")
    return RunSpec(canonical)


def _refuse_unstackable(canonical: Mapping[str, Any], registry: Registry) -> None:
    """``train.stack_seeds`` > 1 with a component whose registration says ``not_stackable="why"`` (a system that is
    never trained is not stacked: nothing to refuse)."""
    if canonical["train"]["stack_seeds"] == 1 or canonical["train"]["epochs"] == 0:
        return
    system = canonical["system"]
    for kind, field in (("frontends", "frontends"), ("networks", "networks")):
        for index, component in enumerate(system.get(field, [])):
            registration = registry.get(kind, component["name"])
            reason = registration.meta.get("not_stackable")
            if reason:
                raise SpecError(f"system.{field}[{index}]: {registration.label} cannot be trained with "
                                f"train.stack_seeds > 1: {reason}; set stack_seeds = 1")


def canonical_json(canonical: Mapping[str, Any]) -> str:
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def spec_hash(identity: Mapping[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of the canonical JSON of ``identity``."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def training_identity(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """What shapes the trained weights: the canonical spec without its scoring fields and without the
    execution options (:data:`EXECUTION_KEYS`), which change how fast a run goes, not what it computes.

    A training with ``train.stack_seeds`` > 1 is marked ``"stacked": true``: its weights differ from those of
    the same seed trained alone by amplified float noise, so it must not pass for that training. The number of
    seeds stacked together is left out (which seeds share a stack depends on what is left to train). A system that
    is never trained (``epochs = 0``) leaves out what only training uses (:data:`UNTRAINED_IGNORED`, stacking,
    ``system.labels``)."""
    identity = dict(canonical)
    for section, key in SCORING_FIELDS:
        identity[section] = {k: v for k, v in identity[section].items() if k != key}
    untrained = identity["train"].get("epochs") == 0
    if untrained:  # the classes to learn: nothing is learnt
        identity["system"] = {k: v for k, v in identity["system"].items() if k != "labels"}
    ignored = (*EXECUTION_KEYS, "stack_seeds", *(UNTRAINED_IGNORED if untrained else ()))
    train = {k: v for k, v in identity["train"].items() if k not in ignored}
    if identity["train"].get("stack_seeds", 1) > 1 and not untrained:
        train["stacked"] = True  # only then, so that trainings made alone keep the hashes they always had
    identity["train"] = train
    return identity


def scoring_identity(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """How a training's embeddings become scores: the scoring fields (``system.backend`` etc.)."""
    return {f"{section}.{key}": canonical[section].get(key) for section, key in SCORING_FIELDS}


# --- sections ---------------------------------------------------------------------------------------------


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise SpecError(f"seed: expected an integer from 0 to 2^63 - 1 ({MAX_SEED}), got {value!r}")
    return value


def _dataset(table: dict[str, Any], registry: Registry, base_dir: Path) -> dict[str, Any]:
    if "name" not in table:
        raise SpecError("dataset.name is required (one of: " + ", ".join(registry.names("datasets")) + ")")
    splits = table.get("splits", list(SPLITS))
    if not isinstance(splits, list) or not splits or any(s not in SPLITS for s in splits):
        raise SpecError(f"dataset.splits: expected a non-empty list of {list(SPLITS)}, got {splits!r}")
    if len(set(splits)) != len(splits):
        raise SpecError(f"dataset.splits: {splits!r} names a split twice")
    options = {k: v for k, v in table.items() if k not in ("name", "splits")}
    component = _component({"name": table["name"], **options}, "datasets", "dataset", registry)
    for key, value in component.items():
        if key in ("root", "ground_truth", "hidden_attributes") and isinstance(value, str):
            component[key] = str((base_dir / Path(value).expanduser()).resolve())
    return {**component, "splits": [s for s in SPLITS if s in splits]}


def _system(table: dict[str, Any], registry: Registry) -> dict[str, Any]:
    _reject_unknown(table, [*SYSTEM_COMPONENTS, "labels", "decision_quantile", "embeddings"], "system.")
    system: dict[str, Any] = {"labels": LABEL_MODES[0], "decision_quantile": DECISION_QUANTILE}
    for key, value in table.items():
        field = f"system.{key}"
        if key == "labels":
            system[key] = _labels(value)
            continue
        if key == "decision_quantile":
            system[key] = _decision_quantile(value)
            continue
        if key == "embeddings":
            if value not in EMBEDDINGS:
                raise SpecError(f"system.embeddings: expected one of {', '.join(EMBEDDINGS)}, got {value!r}")
            if value != EMBEDDINGS[0]:
                system[key] = value
            continue
        kind, many = SYSTEM_COMPONENTS[key]
        if not many:
            system[key] = _component(value, kind, field, registry)
        elif not isinstance(value, list) or not value:
            raise SpecError(f"{field}: expected a non-empty list of {kind}, got {value!r}")
        else:
            system[key] = [_component(item, kind, f"{field}[{i}]", registry) for i, item in enumerate(value)]
    if "networks" in system and len(system["networks"]) != len(system.get("frontends", [])):
        raise SpecError(
            f"system.networks: {len(system['networks'])} networks for {len(system.get('frontends', []))} frontends; "
            "each frontend needs its own network (its branch), in the same order"
        )
    if "backend" in system:
        _check_embeddings(system, registry.get("backends", system["backend"]["name"]))
    if "loss" in system:
        _refuse_auxiliary_loss(registry.get("losses", system["loss"]["name"]), registry)
    return system


def _refuse_auxiliary_loss(loss: Registration, registry: Registry) -> None:
    """A loss registered with ``aux_only="why"`` is a term added to a main loss, not a main loss: as
    ``system.loss`` it would train a system on what it was never meant to learn alone."""
    reason = loss.meta.get("aux_only")
    if not reason:
        return
    main = sorted({r.name for r in registry.all() if r.kind == loss.kind and not r.meta.get("aux_only")})
    raise SpecError(f"system.loss: {loss.label} is an auxiliary term, not a main loss: {reason}; give it as "
                    f"system.aux, with a main loss as system.loss (main losses: {', '.join(main) or '(none)'})")


def _check_embeddings(system: dict[str, Any], backend: Registration) -> None:
    """A backend registered with ``raw_embeddings=True`` needs ``system.embeddings = "raw"``, and only such a
    backend takes it: either mismatch would score other features than the backend was written for."""
    raw = system.get("embeddings") == "raw"
    named = f"{singular(backend.kind)} {backend.name!r} ({backend.distribution})"
    if backend.meta.get("raw_embeddings", False) and not raw:
        raise SpecError(f"system.embeddings: {named} scores z_cat as the networks output it; set "
                        "system.embeddings = \"raw\"")
    if raw and not backend.meta.get("raw_embeddings", False):
        raise SpecError(f"system.embeddings: \"raw\" gives the backend z_cat unnormalised, but {named} expects "
                        "it L2-normalised (it is not registered with raw_embeddings=True); remove system.embeddings")


def _refuse_training_components(system: dict[str, Any]) -> None:
    """A system with ``train.epochs = 0`` is never trained: what only training uses would be silently ignored."""
    for key in TRAINING_ONLY_COMPONENTS:
        if key in system:
            raise SpecError(f"system.{key}: train.epochs = 0 uses the system as built, without training; remove "
                            f"system.{key} (or train the system: train.epochs >= 1)")
    if system["labels"].startswith(PSEUDO_PREFIX):
        raise SpecError(f"system.labels: train.epochs = 0 trains nothing, so there is nothing for "
                        f"{system['labels']!r} to pseudo-label; remove system.labels")


def _labels(value: Any) -> str:
    if value in LABEL_MODES or (isinstance(value, str) and value.startswith(PSEUDO_PREFIX) and value != PSEUDO_PREFIX):
        return value
    raise SpecError(
        f"system.labels: expected one of {', '.join(LABEL_MODES)} or '{PSEUDO_PREFIX}<feature space>', got {value!r}"
    )


def _decision_quantile(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise SpecError(f"system.decision_quantile: expected a number between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def _pseudolabel(table: dict[str, Any], feature_space: str, registry: Registry) -> dict[str, Any]:
    _reject_unknown(table, ["feature_space", *PSEUDOLABEL_DEFAULTS], "pseudolabel.")
    given = table.get("feature_space", feature_space)
    given_name = given if isinstance(given, str) else given.get("name") if isinstance(given, dict) else None
    if given_name != feature_space:
        raise SpecError(f"pseudolabel.feature_space: {given_name!r} differs from system.labels "
                        f"'{PSEUDO_PREFIX}{feature_space}'")
    merged = {**PSEUDOLABEL_DEFAULTS, **table}
    if merged["machines"] not in PSEUDOLABEL_MACHINES:
        raise SpecError(f"pseudolabel.machines: expected one of {', '.join(PSEUDOLABEL_MACHINES)}, "
                        f"got {merged['machines']!r}")
    for key in ("max_clusters_source", "max_clusters_target"):
        if isinstance(merged[key], bool) or not isinstance(merged[key], int) or merged[key] < 1:
            raise SpecError(f"pseudolabel.{key}: expected a positive integer, got {merged[key]!r}")
    if not isinstance(merged["transductive"], bool):
        raise SpecError(f"pseudolabel.transductive: expected true or false, got {merged['transductive']!r}")
    return {
        **merged,
        "feature_space": _component(given, "feature_spaces", "pseudolabel.feature_space", registry),
        "reducer": _component(merged["reducer"], "reducers", "pseudolabel.reducer", registry),
        "clusterer": _component(merged["clusterer"], "clusterers", "pseudolabel.clusterer", registry),
    }


def _train(table: dict[str, Any]) -> dict[str, Any]:
    _reject_unknown(table, (*TRAIN_DEFAULTS, *LATER_TRAIN_DEFAULTS), "train.")
    train = {**TRAIN_DEFAULTS, **LATER_TRAIN_DEFAULTS, **table}
    epochs = train["epochs"]
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 0 <= epochs <= MAX_EPOCHS:
        raise SpecError(f"train.epochs: expected an integer from 0 (the system is used as built, never trained) to "
                        f"{MAX_EPOCHS}, got {epochs!r}")
    if epochs == 0 and "checkpoints" not in table:
        train["checkpoints"] = list(UNTRAINED_CHECKPOINTS)
    for key in ("batch_size", "stack_seeds"):
        if isinstance(train[key], bool) or not isinstance(train[key], int) or train[key] < 1:
            raise SpecError(f"train.{key}: expected a positive integer, got {train[key]!r}")
    for key in ("lr", "weight_decay"):
        value = train[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise SpecError(f"train.{key}: expected a non-negative number, got {value!r}")
        train[key] = float(value)
    checkpoints = train["checkpoints"]
    if epochs == 0 and checkpoints != UNTRAINED_CHECKPOINTS:
        raise SpecError(f"train.checkpoints: train.epochs = 0 keeps only the system as built, checkpoint 0; expected "
                        f"[0] (or no train.checkpoints), got {checkpoints!r}")
    if epochs > 0 and (
        not isinstance(checkpoints, list)
        or not checkpoints
        or any(isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= train["epochs"] for c in checkpoints)
    ):
        raise SpecError(
            f"train.checkpoints: expected a non-empty list of epochs between 1 and train.epochs "
            f"({train['epochs']}), got {checkpoints!r}"
        )
    train["checkpoints"] = sorted(set(checkpoints))
    clip = train["clip_seconds"]
    if clip != "longest" and (isinstance(clip, bool) or not isinstance(clip, int | float) or not 0 < clip < math.inf):
        raise SpecError(f"train.clip_seconds: expected 'longest' or a positive finite number of seconds, got {clip!r}")
    train["clip_seconds"] = clip if clip == "longest" else float(clip)
    if train["precision"] not in PRECISIONS:
        raise SpecError(f"train.precision: expected one of {', '.join(PRECISIONS)}, got {train['precision']!r}")
    if not isinstance(train["compile"], bool):
        raise SpecError(f"train.compile: expected true or false, got {train['compile']!r}")
    if train["memory_format"] not in MEMORY_FORMATS:
        raise SpecError(f"train.memory_format: expected one of {', '.join(MEMORY_FORMATS)}, "
                        f"got {train['memory_format']!r}")
    warmup = train["warmup_steps"]
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SpecError(f"train.warmup_steps: expected a whole number of steps >= 0, got {warmup!r}")
    for key, default in LATER_TRAIN_DEFAULTS.items():
        if train[key] == default:
            del train[key]
    if train["compile"] and train["stack_seeds"] > 1:
        raise SpecError("train.compile compiles each run's own networks, but train.stack_seeds > 1 calls them "
                        "through vmap: set one of them back (compile = false or stack_seeds = 1)")
    return train


# --- components -------------------------------------------------------------------------------------------


def _component(value: Any, kind: str, field: str, registry: Registry) -> dict[str, Any]:
    """Validate ``"name"`` or ``{name = ..., **options}`` against the registration; fill in defaults."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise SpecError(f"{field}: expected a plugin name or a table with a 'name' key, got {value!r}")
    try:
        registration = registry.get(kind, value["name"])
    except PluginError as exc:
        raise SpecError(f"{field}.name: {exc}") from None
    given = {k: v for k, v in value.items() if k != "name"}
    options = _options(registration, given, field)
    declared = registration.options()
    for option in registration.meta.get("omit_defaults", ()):
        if option not in declared:
            raise SpecError(f"{field}.name: {singular(registration.kind)} {registration.name!r} "
                            f"({registration.distribution}) lists {option!r} in omit_defaults, but has no such option")
        if options[option] == declared[option]:
            del options[option]  # a default added later: the runs made before it keep their identity
    return {"name": registration.name, **options}


def _options(registration: Registration, given: dict[str, Any], field: str) -> dict[str, Any]:
    declared = registration.options()
    unknown = sorted(set(given) - set(declared))
    if unknown and not registration.accepts_any_option():
        valid = ", ".join(sorted(declared)) or "(none)"
        raise SpecError(
            f"{field}.{unknown[0]}: {singular(registration.kind)} {registration.name!r} has no option {unknown[0]!r}; "
            f"its options: {valid}"
        )
    try:
        constraints = option_constraints(registration)
    except PluginError as exc:
        raise SpecError(f"{field}.name: {exc}") from None
    resolved: dict[str, Any] = {}
    for option, default in declared.items():
        if option in given:
            resolved[option] = _typed(given[option], default, f"{field}.{option}")
        elif default is _EMPTY:
            raise SpecError(f"{field}.{option} is required by {singular(registration.kind)} {registration.name!r}")
        else:
            resolved[option] = _json_default(default, f"{field}.{option}", registration)
    resolved.update({k: v for k, v in given.items() if k not in declared})
    for option in given:
        check_finite(resolved[option], f"{field}.{option}")
        check_constraints(resolved[option], constraints.get(option, ()), f"{field}.{option}")
    return resolved


def _typed(value: Any, default: Any, field: str) -> Any:
    """Check a given option against the type of its default (ints are accepted where floats are)."""
    if default is _EMPTY or default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise SpecError(f"{field}: expected {type(default).__name__} (like the default {default!r}), got {value!r}")
    return value


def _json_default(default: Any, field: str, registration: Registration) -> Any:
    try:
        canonical_json({"value": default})
    except (TypeError, ValueError):
        raise SpecError(
            f"{field}: the default of {singular(registration.kind)} {registration.name!r} "
            f"({registration.distribution}) is not a plain value ({default!r}); plugin defaults must be TOML-like"
        ) from None
    return default


def _table(raw: Mapping[str, Any], key: str, *, required: bool) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise SpecError(f"[{key}] is required")
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{key}: expected a table, got {value!r}")
    return dict(value)


def _reject_unknown(table: Mapping[str, Any], allowed: tuple[str, ...] | list[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise SpecError(f"{prefix}{key}: unknown field; expected one of: {', '.join(allowed)}")

