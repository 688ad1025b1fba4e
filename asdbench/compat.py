"""Every rule that keeps a run's identity what it was before the option it concerns existed, in one place.

asdbench 0.1.0 converts no store format older than itself (CHANGELOG.md). What it keeps is every run's identity:
the hashes that name a run's directories (:mod:`asdbench.spec.identity`), and so every committed leaderboard cell
and every store. An option added after runs were made is left out of a spec's canonical form, and so out of its
hashes, while it holds its default: the runs made before the option existed keep their hash, and a run that sets
the option is another run. The rules, and where each is applied:

- ``train.warmup_steps`` at 0 and ``train.machinewise`` at false (:data:`TRAIN_OMITTED_AT_DEFAULT`;
  :mod:`asdbench.spec.validate`).
- ``system.embeddings`` at ``"normalised"`` (:data:`SYSTEM_OMITTED_AT_DEFAULT`; :mod:`asdbench.spec.validate`).
- the ``synth`` dataset's ``supplemental`` ("none") and ``channel`` (0) (:data:`SYNTH_OMITTED_AT_DEFAULT`, given as
  the ``omit_defaults`` of its registration in :mod:`asdbench.data.readers`). A plugin adding an option to a
  component that runs were made with does the same through ``omit_defaults`` (:mod:`asdbench.contract.kinds`).
- a training's identity says ``"stacked": true`` only when ``train.stack_seeds`` > 1, not ``false`` otherwise
  (:func:`asdbench.spec.identity.training_identity`).
- ``synth.json``, which a synthetic dataset's data fingerprint (``data.json``) and its pseudo-label tables'
  identity hash, holds ``channels``, ``supplemental`` and ``sections`` only where they are set
  (:data:`SYNTH_INFO_OMITTED_AT_DEFAULT`; :meth:`asdbench.synth.generate.SynthInfo.to_json`), so that a preset
  of an earlier style is written byte for byte as before.

How long: as long as the canonical form's ``spec_version`` (:data:`asdbench.spec.schema.SPEC_VERSION`) is 1. A
rule dropped changes the hash of every run it covers, so it goes only with a new ``spec_version``, which changes
every hash anyway and is a release that says so in CHANGELOG.md; the options are then hashed like any other.
"""

from __future__ import annotations

from typing import Any

TRAIN_OMITTED_AT_DEFAULT = ("warmup_steps", "machinewise")
"""``train`` options left out of the canonical form while they hold their default
(:func:`asdbench.spec.schema.train_options`)."""

SYSTEM_OMITTED_AT_DEFAULT = ("embeddings",)
"""``system`` options (beside its components) left out of the canonical form while they hold their default
(:func:`asdbench.spec.schema.system_options`)."""

SYNTH_OMITTED_AT_DEFAULT = ("supplemental", "channel")
"""Options of the ``synth`` dataset left out of the canonical form while they hold their default (its registration's
``omit_defaults``): synthetic data gained them with the DCASE 2025 and 2026 styles."""

SYNTH_INFO_OMITTED_AT_DEFAULT: dict[str, Any] = {"channels": 1, "supplemental": {}, "sections": {}}
"""Fields of ``synth.json`` written only when they differ from these values (those of a mono dataset without
supplemental clips whose sections are its year's)."""
