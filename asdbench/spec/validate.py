"""Run specs validated against the registered plugins, into their canonical form.

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
in every default (the factories' keyword defaults and those :mod:`asdbench.spec.schema` declares for the core's
own options), so a spec that spells out a default and one that omits it are the same run; the options a
registration lists in ``omit_defaults`` (and the core's own, :mod:`asdbench.compat`) are left out instead while they
hold their default (options added after runs were made: those runs keep their identity).

The identity of a validated spec is :mod:`asdbench.spec.identity`'s; its fields and defaults are
:mod:`asdbench.spec.schema`'s.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from asdbench.compat import SYSTEM_OMITTED_AT_DEFAULT, TRAIN_OMITTED_AT_DEFAULT
from asdbench.contract.kinds import singular
from asdbench.contract.registration import Registration, keyword_options
from asdbench.contract.registry import Registry, get_registry
from asdbench.data.readers import SPLITS, refuse_two_channel_input
from asdbench.errors import SpecError
from asdbench.spec.components import validate_component
from asdbench.spec.files import RUN_SPEC, read_toml, refuse_other_kind
from asdbench.spec.identity import RunSpec
from asdbench.spec.options import section_options
from asdbench.spec.overrides import DATASET_PATHS, Override, apply_overrides, blamed
from asdbench.spec.schema import (
    MACHINEWISE_SPLIT,
    MAX_SEED,
    PSEUDO_PREFIX,
    PSEUDOLABEL_COMPONENTS,
    SPEC_VERSION,
    SYSTEM_COMPONENTS,
    TOP_LEVEL_KEYS,
    TRAINING_ONLY_COMPONENTS,
    UNTRAINED_CHECKPOINTS,
    pseudolabel_options,
    system_options,
    train_options,
)


def load_spec(path: Path, registry: Registry | None = None, overrides: Sequence[Override] = ()) -> RunSpec:
    """Read a TOML run spec, set the ``overrides`` given on the command line (asdbench.spec.overrides) and validate
    it; errors name the file and the field, and the override that gave it."""
    raw = read_toml(path)
    refuse_other_kind(raw, path, RUN_SPEC)
    raw = apply_overrides(raw, overrides)
    try:
        return validate_spec(raw, registry, base_dir=Path(path).resolve().parent)
    except SpecError as exc:
        raise SpecError(f"{path}: {blamed(str(exc), overrides)}") from None


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
    _refuse_classless(canonical, registry)
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


def _machinewise(value: Any) -> bool | str:
    if isinstance(value, bool) or value == MACHINEWISE_SPLIT:
        return value
    raise SpecError(f"train.machinewise: expected false, true or {MACHINEWISE_SPLIT!r}, got {value!r}")


def _refuse_classless(canonical: Mapping[str, Any], registry: Registry) -> None:
    """A network that declares ``num_classes`` needs a system that trains on classes, and a backend registered with
    ``unit_class=True`` one whose units each train one class (``system.labels = "section"``)."""
    system, trained = canonical["system"], canonical["train"]["epochs"] > 0
    for index, component in enumerate(system.get("networks", [])):
        registration = registry.get("networks", component["name"])
        if "num_classes" in registration.optional_runtime() and not trained:
            raise SpecError(f"system.networks[{index}]: {registration.label} is built for the classes it trains on, "
                            "but train.epochs = 0 trains on none; set train.epochs >= 1")
    if "backend" not in system:
        return
    backend = registry.get("backends", system["backend"]["name"])
    if backend.meta.get("unit_class") and (not trained or system["labels"] != "section"):
        given = "train.epochs = 0 trains on none" if not trained else f"system.labels is {system['labels']!r}"
        raise SpecError(f"system.backend: {backend.label} scores each machine section by its class, which needs one "
                        f"class per section, system.labels = \"section\" in a trained system; {given}")


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
    component = validate_component({"name": table["name"], **options}, "datasets", "dataset", registry)
    for key, value in component.items():
        if key in DATASET_PATHS and isinstance(value, str):
            component[key] = str((base_dir / Path(_expand_variables(value, f"dataset.{key}")).expanduser()).resolve())
    return {**component, "splits": [s for s in SPLITS if s in splits]}


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_variables(path: str, field: str) -> str:
    """``${NAME}`` in a dataset path replaced by the environment variable's value, or by ``default`` in
    ``${NAME:-default}`` where it is unset or empty (as a shell does), so that a grid file names the data's place once
    for every machine (the paper grids: ``${ASDBENCH_DATA_DIR:-/data}``). What is validated and hashed is the path
    it comes to: the same run as a file that names that path."""

    def value(match: re.Match[str]) -> str:
        name, default = match[1], match[2]
        found = os.environ.get(name) or default
        if not found:
            raise SpecError(f"{field}: {path!r} refers to ${{{name}}}, which is not set; set the environment variable "
                            f"{name} (e.g. {name}=/data asdbench ...)")
        return found

    return _VARIABLE.sub(value, path)


def _system(table: dict[str, Any], registry: Registry) -> dict[str, Any]:
    _reject_unknown(table, [*SYSTEM_COMPONENTS, *keyword_options(system_options)], "system.")
    system = section_options({k: v for k, v in table.items() if k not in SYSTEM_COMPONENTS}, system_options,
                             "system", omit_defaults=SYSTEM_OMITTED_AT_DEFAULT)
    for key, value in table.items():
        if key not in SYSTEM_COMPONENTS:
            continue
        field = f"system.{key}"
        kind, many = SYSTEM_COMPONENTS[key]
        if not many:
            system[key] = validate_component(value, kind, field, registry)
        elif not isinstance(value, list) or not value:
            raise SpecError(f"{field}: expected a non-empty list of {kind}, got {value!r}")
        else:
            system[key] = [validate_component(item, kind, f"{field}[{i}]", registry) for i, item in enumerate(value)]
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


def _pseudolabel(table: dict[str, Any], feature_space: str, registry: Registry) -> dict[str, Any]:
    _reject_unknown(table, ["feature_space", *PSEUDOLABEL_COMPONENTS, *keyword_options(pseudolabel_options)],
                    "pseudolabel.")
    given = table.get("feature_space", feature_space)
    given_name = given if isinstance(given, str) else given.get("name") if isinstance(given, dict) else None
    if given_name != feature_space:
        raise SpecError(f"pseudolabel.feature_space: {given_name!r} differs from system.labels "
                        f"'{PSEUDO_PREFIX}{feature_space}'")
    options = section_options({k: v for k, v in table.items() if k not in ("feature_space", *PSEUDOLABEL_COMPONENTS)},
                              pseudolabel_options, "pseudolabel")
    components = {key: validate_component(table.get(key, default), kind, f"pseudolabel.{key}", registry)
                  for key, (kind, default) in PSEUDOLABEL_COMPONENTS.items()}
    feature = validate_component(given, "feature_spaces", "pseudolabel.feature_space", registry)
    return {**options, **components, "feature_space": feature}


def _train(table: dict[str, Any]) -> dict[str, Any]:
    """``[train]``: each option as declared (:func:`asdbench.spec.schema.train_options`), then what no single
    option's declaration holds: ``clip_seconds`` ("longest" or seconds) and ``machinewise`` (false, true or
    "split"): two types, where an option's type is its default's; and the rules across options."""
    _reject_unknown(table, tuple(keyword_options(train_options)), "train.")
    train = section_options({k: v for k, v in table.items() if k not in ("clip_seconds", "machinewise")},
                            train_options, "train", omit_defaults=TRAIN_OMITTED_AT_DEFAULT)
    train["clip_seconds"] = _clip_seconds(table.get("clip_seconds", train["clip_seconds"]))
    if table.get("machinewise", False) is not False:
        train["machinewise"] = _machinewise(table["machinewise"])
    epochs = train["epochs"]
    if epochs == 0 and "checkpoints" not in table:
        train["checkpoints"] = list(UNTRAINED_CHECKPOINTS)
    checkpoints = train["checkpoints"]
    if epochs == 0 and checkpoints != UNTRAINED_CHECKPOINTS:
        raise SpecError(f"train.checkpoints: train.epochs = 0 keeps only the system as built, checkpoint 0; expected "
                        f"[0] (or no train.checkpoints), got {checkpoints!r}")
    if epochs > 0 and (
        not checkpoints
        or any(isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= train["epochs"] for c in checkpoints)
    ):
        raise SpecError(
            f"train.checkpoints: expected a non-empty list of epochs between 1 and train.epochs "
            f"({train['epochs']}), got {checkpoints!r}"
        )
    train["checkpoints"] = sorted(set(checkpoints))
    if train.get("machinewise") and epochs == 0:
        raise SpecError("train.machinewise trains one model per machine type, but train.epochs = 0 trains none: set "
                        "machinewise = false, or epochs > 0")
    if train.get("machinewise") and train["stack_seeds"] > 1:
        raise SpecError("train.machinewise with train.stack_seeds > 1 is not supported: seeds are stacked per "
                        "training, not per machine type's model; set stack_seeds = 1")
    if train["compile"] and train["stack_seeds"] > 1:
        raise SpecError("train.compile compiles each run's own networks, but train.stack_seeds > 1 calls them "
                        "through vmap: set one of them back (compile = false or stack_seeds = 1)")
    return train


def _clip_seconds(value: Any) -> str | float:
    if value != "longest" and (isinstance(value, bool) or not isinstance(value, int | float)
                               or not 0 < value < math.inf):
        raise SpecError(f"train.clip_seconds: expected 'longest' or a positive finite number of seconds, got {value!r}")
    return value if value == "longest" else float(value)


# --- components -------------------------------------------------------------------------------------------


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
