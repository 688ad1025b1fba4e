"""What a run IS: its canonical form, and the two levels of its identity, each the SHA-256 of part of it.

Its *training* covers what changes the trained weights (data, seed, labels, frontends, networks, losses,
augmentations, training options); its *scoring* covers how the stored embeddings are turned into scores
(:data:`~asdbench.spec.schema.SCORING_FIELDS`). Specs that differ only in their scoring share one training. Plugin
versions and sources are part of neither: a run records the code it was made with (:mod:`asdbench.store.codeprint`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asdbench.spec.schema import EXECUTION_KEYS, SCORING_FIELDS, UNTRAINED_IGNORED


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
        train["stacked"] = True  # only then: asdbench.compat
    identity["train"] = train
    return identity


def scoring_identity(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """How a training's embeddings become scores: the scoring fields (``system.backend`` etc.)."""
    return {f"{section}.{key}": canonical[section].get(key) for section, key in SCORING_FIELDS}
