r"""``data.augment_on``: where the random augmentations of training run. ``loader``: every step
of ``data.train_transforms`` per sample in the loader. ``device``: the steps from the first
with a batched form on (see :mod:`pyg_mstgcn.data.transforms.batched`) on each whole batch on
the training device, after it is moved there; the steps before stay in the loader.

The device draws come from a generator on the device seeded with ``(train.seed, epoch,
step)``, so that a step's augmentation depends on nothing that ran before it: a resumed run,
even from inside an epoch, sees the augmentations of an uninterrupted one, and each process
takes its rows of the global batch's draws (the same whatever the number of processes).
"""
from __future__ import annotations

from typing import Any, List, Mapping, Optional, Tuple

import numpy as np
import torch
from torch_geometric.data import Batch

from pyg_mstgcn.config_files import ConfigError, source_of
from pyg_mstgcn.data.transforms import Compose, build_transforms
from pyg_mstgcn.data.transforms.batched import (BatchedTransform, Uniform, augment_batch,
                                                split_for_device)
from pyg_mstgcn.graph import get_layout
from pyg_mstgcn.train import distributed as dist_utils


def split_transforms(config: Mapping[str, Any]) -> Tuple[Compose, List[BatchedTransform]]:
    """The training transforms that run in the loader, and the batched steps that run on the
    device (none with ``data.augment_on: loader``); a step that cannot move to the device is
    a one-line :class:`ConfigError` saying what to do."""
    data = config['data']
    transforms = build_transforms(data['train_transforms'])
    if data['augment_on'] == 'loader':
        return transforms, []
    try:
        return split_for_device(transforms, data['stream'], data['stream_first'])
    except ValueError as e:
        where = source_of('data.augment_on', config.get('_sources', {}))
        raise ConfigError(f'data.augment_on=device (set in {where}): {e}; or set '
                          f'data.augment_on=loader') from None


class DeviceAugment:
    r"""The batched steps applied to each training batch on :obj:`device`, step :obj:`step`
    of epoch :obj:`epoch` drawing from ``(seed, epoch, step)`` (see the module doc); the
    batch must carry ``valid_frames``
    (:attr:`~pyg_mstgcn.data.SkeletonDataset.keep_valid_frames`)."""

    def __init__(self, steps: List[BatchedTransform], num_joints: int, seed: int,
                 device: torch.device, rank: int = 0, world_size: int = 1) -> None:
        self.steps, self.num_joints, self.seed = steps, num_joints, int(seed)
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator(device)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], device: torch.device,
                    info: dist_utils.DistInfo) -> Optional['DeviceAugment']:
        """The device augmentation of :obj:`config`, or :obj:`None` when nothing runs there."""
        _, steps = split_transforms(config)
        if not steps:
            return None
        return cls(steps, get_layout(config['data']['layout']).num_joints,
                   config['train']['seed'], device, info.rank, info.world_size)

    def __call__(self, batch: Batch, epoch: int, step: int) -> Batch:
        key = np.random.SeedSequence([self.seed, epoch, step]).generate_state(2, np.uint32)
        self.generator.manual_seed(int(key[0]) << 32 | int(key[1]))
        uniform = Uniform(self.generator, batch.num_graphs, self.rank, self.world_size)
        return augment_batch(batch, self.steps, self.num_joints, uniform)


__all__ = ['split_transforms', 'DeviceAugment']
