"""Benchmarks of pyg_mstgcn; each module runs as ``python -m benchmarks.NAME --help``."""
