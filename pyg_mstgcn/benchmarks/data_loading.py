"""Data-loading benchmark: NTU-size samples (3 x 300 frames x 25 joints x 2 persons) from a
memory-mapped array file, through :class:`~pyg_mstgcn.data.SkeletonArrayDataset` and the
standard ``torch_geometric.loader.DataLoader`` (batch 64, shuffled, worker processes), with
augmentation, for the joint and bone streams.

The array file is written to a temporary folder by the built-in synthetic generator at 300
frames (sequences of 165-300 frames with a zero tail, one or two persons), with its label and
valid-frame files, exactly as preprocessed NTU RGB+D. Each row times whole epochs after a
warm-up epoch (workers kept alive, ``persistent_workers=True``), the configurations taking
turns round by round; ``samples_per_s`` is the median round, ``best_samples_per_s`` the best.
``one_process_samples_per_s`` is the same in the main process alone (``num_workers=0``, one
PyTorch thread): what one core delivers, batching included, the figure to compare with the
target per worker when the machine is busy. ``us_per_sample`` is the cost of one
``dataset[i]`` there (read, stream, transforms, graph; no batching).
``device_augment_samples_per_s`` is the loader with ``data.augment_on: device``: the random
steps left out of the workers and applied to each whole batch on the device (CUDA when
available, else the CPU), the batch moved there first. The load average of the
machine is printed and stored with the figures. The target is 2,000 samples/s with 2 workers,
so that loading never starves a GPU.

The row ``shift+move (original feeder)`` is the reference: the original code's ``Feeder``
(:class:`~pyg_mstgcn.benchmarks.original_feeder.OriginalFeeder`: NumPy ``random_shift`` and
``random_move`` per sample, float64 out) on the same file, batched by the plain
``torch.utils.data.DataLoader``, timed in the same rounds with the same batch size and workers;
its ``us_per_sample`` is one ``feeder[i]``, and it has no device column.
``vs_original_feeder`` is, on our rows with the same augmentation and stream, our
``samples_per_s`` over the original feeder's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch.utils.data import DataLoader as TorchDataLoader
from torch.utils.data import Dataset
from torch_geometric.loader import DataLoader

from pyg_mstgcn.benchmarks.original_feeder import OriginalFeeder
from pyg_mstgcn.benchmarks.runner import add_output_args, print_table, write_csv
from pyg_mstgcn.data.datasets import SkeletonArrayDataset
from pyg_mstgcn.data.transforms import build_transforms
from pyg_mstgcn.data.transforms.batched import split_for_device
from pyg_mstgcn.data.synthetic import generate_split
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.io import data_path, write_split
from pyg_mstgcn.train.augment import DeviceAugment

TARGET = 2000.0

#: (row name, stream, transforms)
CONFIGS = [
    ('none', 'joint', []),
    ('shift+move (original)', 'joint', ['random_shift', 'random_move']),
    ('shift+move (original)', 'bone', ['random_shift', 'random_move']),
    ('rotation (modern)', 'joint', ['random_rotation']),
    ('rotation (modern)', 'bone', ['random_rotation']),
]
#: The reference row: the original's feeder, and the transforms of ours it compares with.
ORIGINAL_FEEDER = ('shift+move (original feeder)', 'joint', ['random_shift', 'random_move'])


def write_arrays(folder: Path, num_samples: int, frames: int, seed: int = 0) -> Path:
    """An NTU-size split ``train_*`` in the preprocessed layout."""
    write_split(folder, 'train', *generate_split(num_samples, 8, frames, seed, 'train'))
    return folder


def per_sample_us(dataset: Dataset, count: int = 256) -> float:
    """Microseconds of one ``dataset[i]`` in this process, with one PyTorch thread (as in a
    DataLoader worker)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        count = min(len(dataset), count)
        for i in range(count):  # warm the page cache
            dataset[i]
        start = time.perf_counter()
        for i in range(count):
            dataset[i]
        return (time.perf_counter() - start) / count * 1e6
    finally:
        torch.set_num_threads(threads)


def _epoch(loader: TorchDataLoader, augment: Optional[DeviceAugment] = None,
           device: Optional[torch.device] = None) -> float:
    samples = 0
    start = time.perf_counter()
    for step, batch in enumerate(loader):
        if augment is not None:
            batch = augment(batch.to(device, non_blocking=True), 0, step)
        # ours: a PyG batch; the original feeder's: [data, label, index]
        samples += batch.num_graphs if hasattr(batch, 'num_graphs') else len(batch[1])
    if device is not None and device.type == 'cuda':
        torch.cuda.synchronize(device)
    return samples / (time.perf_counter() - start)


def device_loader(folder: Path, stream: str, transforms: List[str], batch_size: int,
                  workers: int, device: torch.device, seed: int
                  ) -> Tuple[DataLoader, DeviceAugment]:
    """The loader of ``data.augment_on: device`` (the steps before the batched ones only)
    and the augmentation of its batches on :obj:`device`."""
    in_loader, steps = split_for_device(build_transforms(transforms), stream, True)
    dataset = SkeletonArrayDataset(folder, 'train', stream=stream, transforms=in_loader)
    dataset.keep_valid_frames = True
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, pin_memory=device.type == 'cuda')
    return loader, DeviceAugment(steps, dataset.layout.num_joints, seed, device)


def measure(folder: Path, batch_size: int, workers: int, rounds: int, seed: int
            ) -> List[Dict[str, object]]:
    """Samples per second of every configuration, and of the original feeder
    (:data:`ORIGINAL_FEEDER`, last), with :obj:`workers` workers and in one process
    (``num_workers=0``: the capacity of one core, batching included): whole epochs, the
    configurations taking turns in every round (so that load from elsewhere falls on all
    alike); the median and the best round."""
    torch.manual_seed(seed)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    loaders, rows = [], []
    for name, stream, transforms in [*CONFIGS, ORIGINAL_FEEDER]:
        is_original_feeder = (name, stream, transforms) == ORIGINAL_FEEDER
        if is_original_feeder:
            dataset: Dataset = OriginalFeeder(folder, 'train', stream)
            loader_class = TorchDataLoader   # default collate: [data, label, index]
        else:
            dataset = SkeletonArrayDataset(folder, 'train', stream=stream, transforms=transforms)
            loader_class = DataLoader
        loader = loader_class(dataset, batch_size=batch_size, shuffle=True,
                              num_workers=workers, persistent_workers=workers > 0)
        single = loader_class(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
        start = time.perf_counter()
        for batch in loader:  # warm-up epoch: workers start
            pass
        rows.append({'augmentation': name, 'stream': stream,
                     'transforms': '+'.join(transforms) or '-', 'batch': batch_size,
                     'workers': workers, 'first_epoch_s': time.perf_counter() - start,
                     'us_per_sample': per_sample_us(dataset)})
        on_device = None   # the original feeder has no device augmentation
        if not is_original_feeder:
            on_device = device_loader(folder, stream, transforms, batch_size, workers, device,
                                      seed)
            _epoch(*on_device, device)  # warm-up
        loaders.append((loader, single, on_device))
    rates: List[List[float]] = [[] for _ in loaders]
    one_process: List[List[float]] = [[] for _ in loaders]
    device_rates: List[List[float]] = [[] for _ in loaders]
    threads = torch.get_num_threads()
    for _ in range(rounds):
        for k, (loader, single, on_device) in enumerate(loaders):
            rates[k].append(_epoch(loader))
            if on_device is not None:
                device_rates[k].append(_epoch(*on_device, device))
            torch.set_num_threads(1)  # as in a worker
            one_process[k].append(_epoch(single))
            torch.set_num_threads(threads)
    for row, rate, one, on_device in zip(rows, rates, one_process, device_rates):
        # no device figure (an empty cell) for the original feeder
        row['device_augment_samples_per_s'] = statistics.median(on_device) if on_device else ''
        row['samples_per_s'] = statistics.median(rate)
        row['best_samples_per_s'] = max(rate)
        row['one_process_samples_per_s'] = statistics.median(one)
        row['target_met'] = row['samples_per_s'] >= TARGET
    original = rows[-1]
    for row in rows[:-1]:
        same = (row['stream'], row['transforms']) == (original['stream'],
                                                      original['transforms'])
        row['vs_original_feeder'] = (row['samples_per_s'] / original['samples_per_s']
                                     if same else '')
    original['vs_original_feeder'] = ''
    del loaders
    return rows


def original_feeder_ratios(rows: Sequence[Dict[str, object]]) -> List[str]:
    """One line per row compared with the original feeder: ours / the original feeder, with
    the workers and in one process."""
    original = rows[-1]
    return [f"ours / original feeder ({row['augmentation']}, {row['stream']}): "
            f"{row['vs_original_feeder']:.2f}x with {row['workers']} workers "
            f"({row['samples_per_s']:.0f} / {original['samples_per_s']:.0f} samples/s), "
            f"{row['one_process_samples_per_s'] / original['one_process_samples_per_s']:.2f}x "
            f"in one process" for row in rows if row['vs_original_feeder'] != '']


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = ArgumentParser(prog='python -m benchmarks.data_loading',
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--samples', type=int, default=1024,
                        help='samples in the array file (1024)')
    parser.add_argument('--frames', type=int, default=300, help='frames per sample (300)')
    parser.add_argument('--batch-size', type=int, default=64, help='batch size (64)')
    parser.add_argument('--workers', type=int, default=2, help='DataLoader workers (2)')
    parser.add_argument('--rounds', type=int, default=5,
                        help='timed epochs per row, taken in turns; the median is reported (5)')
    parser.add_argument('--seed', type=int, default=0, help='seed (0)')
    parser.add_argument('--sharing', default=None, choices=sorted(
        torch.multiprocessing.get_all_sharing_strategies()),
        help="PyTorch's tensor sharing strategy between processes (its default: "
             f"{torch.multiprocessing.get_sharing_strategy()}); 'file_system' moves batches "
             f"from the workers at a lower cost")
    parser.add_argument('--quick', action='store_true',
                        help='a short run: 512 samples, 2 rounds')
    add_output_args(parser, 'data_loading')
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.rounds = min(args.samples, 512), 2
    if args.sharing:
        torch.multiprocessing.set_sharing_strategy(args.sharing)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        folder = write_arrays(Path(tmp), args.samples, args.frames, args.seed)
        size = data_path(folder, 'train').stat().st_size
        print(f'{args.samples} samples [3, {args.frames}, 25, 2] ({size / 2**20:.0f} MiB) '
              f'written in {time.perf_counter() - start:.1f} s; batch {args.batch_size}, '
              f'{args.workers} workers')
        rows = measure(folder, args.batch_size, args.workers, args.rounds, args.seed)
    load_after = os.getloadavg()[0]
    print_table(rows, ['augmentation', 'stream', 'workers', 'batch', 'samples_per_s',
                       'best_samples_per_s', 'one_process_samples_per_s', 'us_per_sample',
                       'target_met', 'device_augment_samples_per_s', 'vs_original_feeder'])
    for line in original_feeder_ratios(rows):
        print(line)
    print(f'load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on '
          f'{os.cpu_count()} cores')
    settings = {'samples': args.samples, 'frames': args.frames, 'persons': 2, 'joints': 25,
                'rounds': args.rounds, 'seed': args.seed, 'quick': args.quick,
                'sharing': torch.multiprocessing.get_sharing_strategy(),
                'augment_device': 'cuda' if torch.cuda.is_available() else 'cpu',
                'target_samples_per_s': TARGET, 'load_avg_before': round(load_before, 2),
                'load_avg_after': round(load_after, 2)}
    path = write_csv(args.out, rows, settings, args.results_dir)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
