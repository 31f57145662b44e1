"""Training and evaluation of MST-GCN: ``python -m pyg_mstgcn.train --help``.

Modules: :mod:`~pyg_mstgcn.train.config` (defaults, YAML, ``--set`` overrides),
:mod:`~pyg_mstgcn.train.loop` (training, evaluation, test phase),
:mod:`~pyg_mstgcn.train.checkpoint` (atomic checkpoints, RNG states, weights of any of our
formats), :mod:`~pyg_mstgcn.train.metrics`, :mod:`~pyg_mstgcn.train.png` (confusion heat-map),
:mod:`~pyg_mstgcn.train.distributed` (``torchrun`` helpers, the sharded sampler),
:mod:`~pyg_mstgcn.train.sync_batchnorm` (batch norm over the global batch on any backend).
"""
from pyg_mstgcn.train.cli import main

__all__ = ['main']
