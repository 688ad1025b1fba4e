"""The official reports of the DCASE Task 2 years before 2023, one module per evaluator (``dcase2020``,
``dcase2021``, ``dcase2022``); the 2023-2025 report is :mod:`asdbench.scoring.metrics`, and
:mod:`asdbench.scoring.official` holds them all by name. docs/metrics.md says where each formula comes from."""
