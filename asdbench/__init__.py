"""asdbench: a plugin-based benchmark harness for anomalous sound detection (DCASE 2023-2026 Task 2).

The core is a pipeline of stages, each a package: ``data`` -> ``training`` and ``scoring`` -> ``store`` -> ``grid`` ->
``report`` -> ``cli`` (docs/architecture.md). Plugins import :mod:`asdbench.api` only.
"""

__version__ = "0.1.0"
