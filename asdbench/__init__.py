"""asdbench: a plugin-based benchmark harness for anomalous sound detection (DCASE 2023-2026 Task 2)."""

__version__ = "0.1.0"

PUBLIC_API = (
    "asdbench.hookspecs",
    "asdbench.errors",
    "asdbench.files.atomic",
    "asdbench.runtime.devices",
    "asdbench.data.audio",
    "asdbench.data.layout",
)
"""The modules a plugin may import: the hooks and protocols, the errors, atomic writes, the device choice, the
audio cache and the official file formats. The rest (store, runs, registry, pseudo-labelling) is the core's
own and may change; what a component needs from it arrives through its factory's runtime arguments."""
