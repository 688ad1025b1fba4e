"""A stored training or scoring said in a line a person reads (``asdbench ls``, ``show``): its components with the
options that differ from their defaults, its data, seed and training set-up, read from its ``training.json`` or
``spec.json``.

    synth tiny (dev, eval), seed 1: spectrum + stft n_fft=256 -> spectrum-cnn + spectrogram-resnet; scac + subspace;
    mixup; attributes labels; 16 epochs, batch 64, clips 18 s
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asdbench.contract.registration import keyword_options
from asdbench.contract.registry import Registry
from asdbench.errors import AsdbenchError
from asdbench.spec.schema import MACHINEWISE_SPLIT, TRAIN_OPTIONS, system_options

TRAIN_SHOWN = {"epochs": "{} epochs", "batch_size": "batch {}", "lr": "lr {:g}", "clip_seconds": "clips {}"}
"""The ``[train]`` options a training's line names, and how: the epochs always, the others where they are not the
default."""
SYSTEM_OPTIONS = keyword_options(system_options)


def training_words(training: Mapping[str, Any], registry: Registry) -> str:
    """A training (its ``training.json``: the training identity) in one line."""
    dataset = training.get("dataset", {})
    system = training.get("system", {})
    train = training.get("train", {})
    data = f"{dataset.get('name', '?')} {Path(str(dataset.get('root', ''))).name}".strip()
    splits = f" ({', '.join(dataset['splits'])})" if dataset.get("splits") else ""
    parts = [f"{data}{splits}, seed {training.get('seed', '?')}: "
             + " + ".join(component(c, "frontends", registry) for c in system.get("frontends", [])) + " -> "
             + " + ".join(component(c, "networks", registry) for c in system.get("networks", []))]
    losses = [component(system[key], "losses", registry) for key in ("loss", "aux") if key in system]
    if losses:
        parts.append(" + ".join(losses))
    if system.get("augmentations"):
        parts.append(", ".join(component(c, "augmentations", registry) for c in system["augmentations"]))
    if "labels" in system:
        parts.append(f"{system['labels']} labels")
    shown = [form.format(_seconds(train[key]) if key == "clip_seconds" else train[key])
             for key, form in TRAIN_SHOWN.items() if key in train and (key == "epochs" or train[key] != TRAIN_OPTIONS[key])]
    if train.get("stacked"):
        shown.append("stacked")
    if train.get("machinewise"):
        shown.append("a model per machine type" + (" and split" if train["machinewise"] == MACHINEWISE_SPLIT else ""))
    parts.append(", ".join(shown))
    if "pseudolabel" in training:
        pseudo = training["pseudolabel"]
        parts.append("pseudo-labels: " + " + ".join(component(pseudo[key], kind, registry) for key, kind in
                                                    (("feature_space", "feature_spaces"), ("reducer", "reducers"),
                                                     ("clusterer", "clusterers")) if key in pseudo))
    return "; ".join(part for part in parts if part)


def scoring_words(spec: Mapping[str, Any], registry: Registry) -> str:
    """A scoring (its run's ``spec.json``) in one line: backend, ensemble, decision quantile."""
    system, train = spec.get("system", {}), spec.get("train", {})
    parts = [component(system["backend"], "backends", registry)] if "backend" in system else []
    checkpoints = train.get("checkpoints")
    if checkpoints:
        parts.append(("checkpoint " if len(checkpoints) == 1 else "ensemble of epochs ")
                     + " ".join(map(str, checkpoints)))
    quantile = system.get("decision_quantile", SYSTEM_OPTIONS["decision_quantile"])
    if quantile != SYSTEM_OPTIONS["decision_quantile"]:
        parts.append(f"decision quantile {quantile:g}")
    return ", ".join(parts)


def component(value: Any, kind: str, registry: Registry) -> str:
    """``name option=value ...``, naming the options that differ from the factory's defaults (every option given
    when the component is not registered here)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping) or "name" not in value:
        return str(value)
    try:
        defaults = registry.get(kind, value["name"]).options()
    except AsdbenchError:
        defaults = {}
    options = [f"{key}={_value(option)}" for key, option in value.items()
               if key != "name" and (key not in defaults or defaults[key] != option)]
    return " ".join([value["name"], *options])


def _value(option: Any) -> str:
    return ",".join(map(str, option)) if isinstance(option, list) else f"{option:g}" if isinstance(option, float) \
        else str(option)


def _seconds(value: Any) -> str:
    return f"{value:g} s" if isinstance(value, int | float) else str(value)
