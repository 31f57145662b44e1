"""``python -m benchmarks.NAME`` from a checkout: thin entry points of
:mod:`pyg_mstgcn.benchmarks`, where the benchmarks live (``python -m
pyg_mstgcn.benchmarks.NAME`` wherever the package is installed). ``results/`` holds the
committed results, where runs from the root of the checkout write by default."""
