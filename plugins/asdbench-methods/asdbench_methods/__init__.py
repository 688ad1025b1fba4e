"""The built-in methods of Fujimura et al. (ICASSP 2025) that need no pretrained weights, as asdbench plugins.

This distribution is also the example to copy for a new method: one entry point in group ``asdbench``
(see its pyproject.toml) pointing at a module of ``@hookimpl`` registration functions (``plugin.py``), which
registers light factories (``factories.py``) that import the method's heavy modules only when called.
"""
