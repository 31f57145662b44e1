"""The trainer's data: datasets chosen by ``data.format``, the synthetic dataset, seeded
augmentation and loaders whose order depends on the seed and epoch only."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

import numpy as np
import torch
from torch.utils.data import Dataset
from torch_geometric.loader import DataLoader

from pyg_mstgcn.config_files import ConfigError
from pyg_mstgcn.data import (CTRGCNDataset, PoseAnnotationDataset, SkeletonArrayDataset,
                             SkeletonDataset, make_synthetic)
from pyg_mstgcn.data.ctrgcn import is_ctrgcn_file
from pyg_mstgcn.data.pyskl import is_annotation_file
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.io import data_path, is_array_folder
from pyg_mstgcn.train import distributed as dist_utils
from pyg_mstgcn.train.augment import split_transforms

log = logging.getLogger('pyg_mstgcn.train')

#: How a configuration's ``data`` section becomes the dataset of one split:
#: ``(data section, model options, split, transforms) -> dataset``.
DatasetFactory = Callable[[Mapping[str, Any], Mapping[str, Any], str, Any], SkeletonDataset]


@dataclass(frozen=True)
class DatasetFormat:
    """One value of ``data.format``: what ``data.root`` is, how it is read, what is computed
    on the fly, and how to recognise such data (to name the format of data given under
    another)."""
    files: str
    build: DatasetFactory
    looks_like: Callable[[Path], bool]
    on_the_fly: str = 'the stream, the transforms'


def _arrays(data: Mapping[str, Any], model: Mapping[str, Any], split: str,
            transforms: Any) -> SkeletonDataset:
    return SkeletonArrayDataset(data['root'], split, stream=data['stream'],
                                layout=data['layout'], transforms=transforms,
                                debug=data['debug'], stream_first=data['stream_first'])


def _pyskl(data: Mapping[str, Any], model: Mapping[str, Any], split: str,
           transforms: Any) -> SkeletonDataset:
    return PoseAnnotationDataset(data['root'], split, data['layout'],
                                 num_person=model.get('num_person', 2), stream=data['stream'],
                                 transforms=transforms, with_score='auto',
                                 stream_first=data['stream_first'], debug=data['debug'])


def _ctrgcn(data: Mapping[str, Any], model: Mapping[str, Any], split: str,
            transforms: Any) -> SkeletonDataset:
    return CTRGCNDataset(data['root'], split, stream=data['stream'], layout=data['layout'],
                         transforms=transforms, debug=data['debug'],
                         stream_first=data['stream_first'])


#: ``data.format`` -> what ``data.root`` is and how it is read.
DATASET_FORMATS: Dict[str, DatasetFormat] = {
    'arrays': DatasetFormat(
        'a folder of {split}_data_joint.npy and {split}_label.pkl, as python -m preprocess '
        'and the original tools write them', _arrays, is_array_folder),
    'pyskl': DatasetFormat(
        'a PYSKL / mmaction2 annotation pickle, split names such as xsub_train, xsub_val',
        _pyskl, is_annotation_file,
        'the stream, the transforms; 2-D keypoints: keypoint_score as a third channel, '
        'pixels normalised by img_shape'),
    'ctrgcn': DatasetFormat(
        'a CTR-GCN .npz of x_train, y_train, x_test, y_test, splits train and val '
        '(x_test)', _ctrgcn, is_ctrgcn_file,
        'the layout [N, C, T, V, M], labels from one-hot, the stream, the transforms'),
}


def build_dataset(config: Mapping[str, Any], split: str, train: bool) -> SkeletonDataset:
    """The dataset of :obj:`split` as ``data.format`` reads it, with the training (those of
    the loader, see :func:`~pyg_mstgcn.train.augment.split_transforms`) or the evaluation
    transforms; a problem with the data is a :class:`ConfigError` naming it, and data of
    another format names that format."""
    data = config['data']
    transforms, on_device = split_transforms(config) if train else (data['val_transforms'], [])
    fmt = data['format']
    root = Path(data['root'])
    if root.exists() and not DATASET_FORMATS[fmt].looks_like(root):
        other = [name for name, f in DATASET_FORMATS.items() if f.looks_like(root)]
        if other:
            raise ConfigError(f"data.root {root} looks like {other[0]} data "
                              f"({DATASET_FORMATS[other[0]].files}), not {fmt}; set "
                              f"data.format={other[0]}")
    try:
        dataset = DATASET_FORMATS[fmt].build(data, config['model'], split, transforms)
    except (ValueError, TypeError, FileNotFoundError, InputError) as e:
        raise ConfigError(f'data ({split} split): {e}') from None
    dataset.keep_valid_frames = bool(on_device)   # the batched steps start from them
    return dataset


def prepare_data(config: Mapping[str, Any], info: dist_utils.DistInfo) -> None:
    """Generates the synthetic dataset into ``data.root`` when ``data.synthetic`` asks for
    it (nothing is written when it is already there)."""
    synthetic = config['data']['synthetic']
    if synthetic is None:
        return
    root = Path(config['data']['root'])
    if list(root.glob(data_path('', '*', '*').name)) and not (root / 'synthetic.json').exists():
        raise ConfigError(f'data.root {root} holds data that make_synthetic did not write, '
                          f'and data.synthetic asks to generate the synthetic dataset '
                          f'there; to train on that data add --set data.synthetic=null')
    if info.is_main:
        log.info(f'synthetic dataset in {root} (generated if absent)')
        try:
            make_synthetic(root, **synthetic)
        except ValueError as e:
            raise ConfigError(f'data.synthetic: {e}') from None
    dist_utils.barrier(info)


def worker_count(requested: int) -> int:
    """``data.num_workers``, lowered to the CPU count with a note (more workers than cores
    only compete for them)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else \
        (os.cpu_count() or 1)
    if requested > cores:
        log.info(f'note: data.num_workers {requested} lowered to the {cores} CPU cores '
                 f'available')
        return cores
    return requested


class SeededSamples(Dataset):
    r"""A skeleton dataset whose augmentation of sample ``i`` in epoch ``e`` is drawn from a
    generator seeded with ``(seed, e, i)``: the same whatever the number of workers, the
    process or the order, so that a resumed run sees the augmentations of an uninterrupted
    one. :meth:`set_epoch` before each epoch (``epoch=None``: evaluation). With
    :obj:`repeat` ``k``, an epoch passes over the data ``k`` times (``data.repeat``), each pass
    with its own augmentations."""

    def __init__(self, dataset: SkeletonDataset, seed: int, repeat: int = 1) -> None:
        self.dataset, self.seed, self.epoch = dataset, int(seed), None
        self.repeat = int(repeat)

    def set_epoch(self, epoch: Optional[int]) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset) * self.repeat

    def __getitem__(self, index: int):
        key = [self.seed, 1, int(index)] if self.epoch is None else \
            [self.seed, 0, int(self.epoch), int(index)]
        return self.dataset.get(index % len(self.dataset), rng=np.random.default_rng(key))


def make_loader(dataset: SeededSamples, batch_size: int, train: bool, epoch: int, seed: int,
                num_workers: int, info: dist_utils.DistInfo, device: torch.device,
                start: int = 0) -> DataLoader:
    """This process's loader (:obj:`batch_size` per process), whose order is a function of
    ``(seed, epoch)`` only. Training: a permutation cut to whole global batches
    (``batch_size * world_size``, the incomplete last one dropped), process ``r`` taking its
    positions ``r::world_size``, so that the processes' batches ``k`` together are the batch
    ``k`` of one process with the global batch size. Evaluation: dataset order, split into
    disjoint shares with no padding (every sample evaluated once); see
    :class:`~pyg_mstgcn.train.distributed.ShardSampler`. :obj:`start`: the loader begins
    at batch ``start`` of that order (a run resumed inside an epoch; the batches before it
    are not read)."""
    key = seed * 100003 + epoch
    sampler = dist_utils.ShardSampler(
        len(dataset), info.rank, info.world_size, shuffle=train, seed=key,
        batch_size=batch_size * info.world_size if train else None)
    if start:
        sampler = list(sampler)[start * batch_size:]
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=False,
                      num_workers=num_workers, generator=torch.Generator().manual_seed(key),
                      pin_memory=device.type == 'cuda')


__all__ = ['DATASET_FORMATS', 'DatasetFormat', 'build_dataset', 'prepare_data', 'worker_count',
           'SeededSamples', 'make_loader']
