"""Training and evaluation of MST-GCN: ``python -m pyg_mstgcn.train --help``.

Modules, in the order a run uses them: :mod:`~pyg_mstgcn.train.cli` (the command line),
:mod:`~pyg_mstgcn.train.config` (every option with its default, help and check; recipes and
``--set`` overrides), :mod:`~pyg_mstgcn.train.runtime` (device, seeds, logging, the run
folder), :mod:`~pyg_mstgcn.train.data` (datasets by ``data.format``, seeded augmentation,
loaders), :mod:`~pyg_mstgcn.train.model` (the model, checked against the data),
:mod:`~pyg_mstgcn.train.finetune` (``train.init_weights``, ``train.freeze``),
:mod:`~pyg_mstgcn.train.loop` (``train``, ``train_one_epoch``, checkpoints),
:mod:`~pyg_mstgcn.train.evaluation` (evaluation and the test phase),
:mod:`~pyg_mstgcn.train.checkpoint` (atomic checkpoints, RNG states, weights that do not fit
named), :mod:`~pyg_mstgcn.train.metrics`, :mod:`~pyg_mstgcn.train.distributed` (``torchrun``
helpers, the sharded sampler), :mod:`~pyg_mstgcn.train.sync_batchnorm` (batch norm over the
global batch on any backend).
"""
from pyg_mstgcn.train.cli import main

__all__ = ['main']
