"""Grids: a base spec and its variants expanded to runs, executed in this process, a process pool or on Dask."""
