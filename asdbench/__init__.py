"""asdbench: a plugin-based benchmark harness for anomalous sound detection (DCASE 2023/2024 Task 2)."""

__version__ = "0.1.0"
