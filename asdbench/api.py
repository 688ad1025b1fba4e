"""Everything a plugin may import from asdbench, and nothing else: ``from asdbench.api import hookimpl, Range``.

The hooks and their markers (:mod:`asdbench.hookspecs`), the protocol of each kind of component, the
constraints its options may declare and :func:`builds`, which makes a factory of a stub that declares them
(:mod:`asdbench.contract`), the errors a component raises for what its user can fix, atomic writes, the device
choice, a BatchNorm2d that stays accurate in channels-last training on the CPU, freed memory kept for a plugin's own
training loop on the CPU, the audio cache, the official file
formats' attribute helpers, and the keys of a run's embeddings (``TrainedSystems.embeddings``).
The rest of the core (store, runs, registry, pseudo-labelling) is its own and may change; what a component needs
from it arrives through its factory's runtime arguments. The built-in plugins import this module only (tested).

The names whose modules import NumPy, soundfile or torch are loaded on first use, so that a plugin's light
registration module (its factories) imports nothing heavy: ``asdbench plugins`` and ``asdbench spec`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from asdbench.contract.builds import builds
from asdbench.contract.constraints import OneOf, Range, Satisfies
from asdbench.contract.protocols import (
    Augmentation,
    Backend,
    Clusterer,
    Dataset,
    FeatureSpace,
    FeatureSpaceContext,
    Frontend,
    Loss,
    Network,
    Reducer,
    TrainedSystems,
)
from asdbench.data.units import EMBEDDING_KEYS, embedding_key
from asdbench.errors import (
    AsdbenchError,
    ContractError,
    DataError,
    PathError,
    PluginCallError,
    PluginError,
    ScoreFileError,
    SpecError,
    TrainingError,
    WriteError,
)
from asdbench.files.atomic import atomic_path, write_json_atomic, write_text_atomic
from asdbench.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from asdbench.data.audio import SAMPLE_RATE, AudioCache, ClipArray
    from asdbench.data.layout import NO_ATTRIBUTE, true_attributes
    from asdbench.runtime.batchnorm import BatchNorm2d
    from asdbench.runtime.devices import default_device, resolve_device
    from asdbench.runtime.heap import freed_memory_kept

_LOADED_ON_USE = {
    "SAMPLE_RATE": "asdbench.data.audio",
    "AudioCache": "asdbench.data.audio",
    "ClipArray": "asdbench.data.audio",
    "NO_ATTRIBUTE": "asdbench.data.layout",
    "true_attributes": "asdbench.data.layout",
    "default_device": "asdbench.runtime.devices",
    "resolve_device": "asdbench.runtime.devices",
    "BatchNorm2d": "asdbench.runtime.batchnorm",
    "freed_memory_kept": "asdbench.runtime.heap",
}
"""Names whose modules import NumPy, soundfile or torch: the module each is defined in."""

__all__ = [
    # hooks
    "hookimpl", "Register",
    # what each kind of component is, the constraints of its options, and factories that declare them once
    "Augmentation", "Backend", "Clusterer", "Dataset", "FeatureSpace", "FeatureSpaceContext", "Frontend", "Loss",
    "Network", "Reducer", "TrainedSystems", "OneOf", "Range", "Satisfies", "builds",
    # errors
    "AsdbenchError", "ContractError", "DataError", "PathError", "PluginCallError", "PluginError", "ScoreFileError",
    "SpecError", "TrainingError", "WriteError",
    # files, devices, audio, the official formats
    "atomic_path", "write_json_atomic", "write_text_atomic", "default_device", "resolve_device", "SAMPLE_RATE",
    "EMBEDDING_KEYS", "embedding_key",
    "AudioCache", "ClipArray", "NO_ATTRIBUTE", "true_attributes",
    # the trainer's fast paths: a layer for networks, and freed memory kept for a plugin's own training loop
    "BatchNorm2d", "freed_memory_kept",
]


def __getattr__(name: str) -> Any:
    if name in _LOADED_ON_USE:
        value = getattr(import_module(_LOADED_ON_USE[name]), name)
        globals()[name] = value  # loaded once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}; the public API is asdbench.api.__all__")


def __dir__() -> list[str]:
    return sorted(__all__)
