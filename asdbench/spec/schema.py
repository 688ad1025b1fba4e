"""The fields of a run spec, their defaults and their bounds: what ``[system]``, ``[train]`` and ``[pseudolabel]``
hold, and which of them decide how a run is scored rather than trained.

Each section's options are declared as a component's are, once, by the keyword parameters of a function that is
never called (:func:`system_options`, :func:`train_options`, :func:`pseudolabel_options`): their defaults, and
their bounds as ``Annotated`` constraints (:mod:`asdbench.contract.constraints`), which the same code checks as
a component's options (:mod:`asdbench.spec.options`). Rules across fields are :mod:`asdbench.spec.validate`'s.
"""

from __future__ import annotations

from typing import Annotated, Any

from asdbench.compat import TRAIN_OMITTED_AT_DEFAULT
from asdbench.contract.constraints import OneOf, Range, Satisfies
from asdbench.contract.registration import keyword_options

SPEC_VERSION = 1


TOP_LEVEL_KEYS = ("seed", "dataset", "system", "train", "pseudolabel")


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
canonical form: :mod:`asdbench.compat`) or "raw", z_cat as the networks output it, which only a
backend registered with ``raw_embeddings=True`` takes, and such a backend needs (GenRep's distances on raw
pretrained features)."""


LABEL_MODES = ("attributes", "machine", "section")
"""``system.labels``: the classes a system trains on (see asdbench.data.labels), or ``pseudo:<feature space>``."""


PSEUDO_PREFIX = "pseudo:"


def _is_label_mode(value: str) -> bool:
    return value in LABEL_MODES or (value.startswith(PSEUDO_PREFIX) and value != PSEUDO_PREFIX)


LabelMode = Annotated[str, Satisfies(_is_label_mode, f"one of {', '.join(LABEL_MODES)} or '{PSEUDO_PREFIX}<feature "
                                                     "space>'")]
Positive = Annotated[int, Range(ge=1)]
NonNegative = Annotated[float, Range(ge=0)]


def system_options(*, labels: LabelMode = LABEL_MODES[0],
                   decision_quantile: Annotated[float, Range(gt=0, lt=1)] = DECISION_QUANTILE,
                   embeddings: Annotated[str, OneOf(*EMBEDDINGS)] = EMBEDDINGS[0]) -> None:
    """``[system]``'s options beside its components (:data:`SYSTEM_COMPONENTS`): :data:`LABEL_MODES`,
    :data:`DECISION_QUANTILE`, :data:`EMBEDDINGS`."""


PSEUDOLABEL_COMPONENTS: dict[str, tuple[str, str]] = {"reducer": ("reducers", "umap"),
                                                      "clusterer": ("clusterers", "gmm-bic")}
"""``[pseudolabel]`` keys holding components: key -> (plugin kind, the default's name). The paper's: UMAP to 2-D,
then a GMM per domain with BIC choosing the cluster count (Sec. III-B)."""


PSEUDOLABEL_MACHINES = ("unlabelled", "all")


def pseudolabel_options(*, machines: Annotated[str, OneOf(*PSEUDOLABEL_MACHINES)] = "unlabelled",
                        max_clusters_source: Positive = 16, max_clusters_target: Positive = 2,
                        transductive: bool = False) -> None:
    """``[pseudolabel]``'s options beside its components (:data:`PSEUDOLABEL_COMPONENTS`), the paper's (Sec. III-B):
    up to 16 source and 2 target clusters per domain. ``machines``: "unlabelled" pseudo-labels the machines without
    attributes, "all" conceals every machine's attributes (Table III's 2023 rows). ``transductive``: fit the reducer
    on test clips too, as the authors' code does; off by default, so no test audio shapes the training labels."""


MAX_SEED = 2**63 - 1
"""The largest ``seed``: a signed 64-bit integer, the largest integer TOML has and what every random generator a run
seeds takes (a larger one, which Python's TOML reader accepts anyway, failed only once the run had started)."""


MAX_EPOCHS = 10_000
"""The largest ``train.epochs``: 625 times the paper's 16, and far beyond any published recipe's; a larger value is
a typo (``1000000000000``) that would train without end, every epoch after the last checkpoint for nothing."""


PRECISIONS = ("auto", "fp32", "bf16")


MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


MACHINEWISE_SPLIT = "split"
"""``train.machinewise = "split"``: one model per machine type and split (asdbench.store.models)."""


def train_options(*, epochs: Annotated[int, Range(ge=0, le=MAX_EPOCHS)] = 16, batch_size: Positive = 64,
                  lr: NonNegative = 1e-3, weight_decay: NonNegative = 0.01,
                  checkpoints: list[int] = [12, 14, 16],  # noqa: B006 - a declaration, never called
                  clip_seconds: float | str = "longest", precision: Annotated[str, OneOf(*PRECISIONS)] = "auto",
                  compile: bool = False, memory_format: Annotated[str, OneOf(*MEMORY_FORMATS)] = "auto",
                  stack_seeds: Positive = 1, warmup_steps: Annotated[int, Range(ge=0)] = 0,
                  machinewise: bool | str = False) -> None:
    """The paper's training set-up (AdamW, lr 1e-3, batch 64, 16 epochs, ensemble of epochs 12/14/16).

    ``checkpoints``: epochs between 1 and ``epochs``, each scored, their scores averaged.
    ``clip_seconds``: every clip is tiled (or cropped) to this length; "longest" = the dataset's longest clip.
    ``precision``: "auto" (bf16 autocast on CUDA, fp32 on CPU), "fp32" or "bf16".
    ``compile``: run the networks through ``torch.compile`` (the first steps pay the compilation).
    ``memory_format``: "auto" (channels-last convolutions on CUDA, contiguous on the CPU), "channels_last" or
    "contiguous" (channels-last on the CPU: 1.1-1.2x as fast at 18 s tiles, the same results to float32 rounding
    for networks whose 2-D batch norms are ``asdbench.api.BatchNorm2d``, as the built-in ones are).
    ``stack_seeds``: 1 trains each run alone; N > 1 trains up to N runs that differ only in their seed together,
    their networks vmapped (:mod:`asdbench.training.stacked`). Stacked training computes what training alone
    computes only up to float32 noise, which training amplifies chaotically (a cell of the eval table moved by 7
    points), so a stacked training is another training: its identity gets ``"stacked": true`` (see
    :func:`asdbench.spec.identity.training_identity`).
    ``warmup_steps``: the learning rate rises linearly from 0 to ``lr`` over this many optimiser steps, counted
    over the whole run (ASDKit's BEATs and EAT recipes: 5000; asdbench.training.loop.TrainingPlan.learning_rate
    says exactly how).
    ``machinewise``: false trains one model on every machine type (the paper's, ASDKit's ``dis_*`` recipes); true one
    model per machine type, on its clips of every section and split only, with its classes only, each machine type's
    units embedded by its own model (ASDKit's ``model_ver: ${machine}``, its ``ae`` recipe). Each model trains
    ``epochs`` epochs from the run's seed, as ASDKit trains each machine's from its seed (asdbench.store.models).
    ``"split"`` (false, true or "split": checked by :mod:`asdbench.spec.validate`, as ``clip_seconds``): one model per
    machine type and split, on that split's clips of the machine type only, as the DCASE
    2020-2022 baselines train a dev model and an eval model per machine type (``00_train.py --dev`` / ``--eval``).

    ``epochs = 0``: a training-free system (frozen pretrained features with a backend such as ``genrep``): it is
    used as built (its weights seeded, or loaded by its networks), its only checkpoint is 0 (the default then) and it
    has no loss, auxiliary term, augmentation or pseudo-labels to give. ``batch_size``, ``lr``, ``weight_decay``,
    ``warmup_steps``, ``stack_seeds`` and ``system.labels`` change nothing then, and are left out of its identity.
    """


TRAIN_OPTIONS: dict[str, Any] = keyword_options(train_options)
"""Every ``train`` option's default, as :func:`train_options` declares it."""


TRAIN_DEFAULTS: dict[str, Any] = {k: v for k, v in TRAIN_OPTIONS.items() if k not in TRAIN_OMITTED_AT_DEFAULT}
"""The canonical form of an empty ``[train]``."""


UNTRAINED_CHECKPOINTS = [0]
"""``train.checkpoints`` of a system with ``train.epochs = 0``: the system as built."""


UNTRAINED_IGNORED = ("batch_size", "lr", "weight_decay", "warmup_steps")
"""``train`` keys that change nothing in a system that is never trained: left out of its training identity."""


TRAINING_ONLY_COMPONENTS = ("loss", "aux", "augmentations")
"""``[system]`` keys that only training uses: refused in a system with ``train.epochs = 0``."""


EXECUTION_KEYS = ("compile", "memory_format")
"""``train`` keys that change how fast a run goes but not what it computes (beyond floating-point noise): they
are kept in the canonical spec, but left out of its hash, so a finished run is not recomputed for them."""
