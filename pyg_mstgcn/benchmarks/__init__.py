"""Benchmarks of pyg_mstgcn: ``python -m pyg_mstgcn.benchmarks.NAME --help`` (``python -m
benchmarks.NAME`` from a checkout), NAME one of ``graph_conv``, ``model``, ``inference``,
``preprocess``, ``data_loading``; :mod:`~pyg_mstgcn.benchmarks.runner` holds the shared timing
and reporting, :mod:`~pyg_mstgcn.benchmarks.original_reference` the original network they
compare against."""
