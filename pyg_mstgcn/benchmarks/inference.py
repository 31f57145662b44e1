"""Inference-latency benchmark: the canonical MST-GCN (NTU RGB+D, 60 classes, ``MSTGCN(60)``:
dense backend; and the sparse backend on skeleton-only adjacency) against the original network
(the dense transcription of :mod:`~pyg_mstgcn.benchmarks.original_reference`), all timed in one
run, taking turns in every round, after warm-up: eval mode, forward under
``torch.inference_mode()``.

Two settings: ``latency``, one 64-frame window of 2 persons at batch 1 (the time of one
prediction), and ``throughput``, batch 16 x 100 frames x 2 persons (the setting of PYSKL's
published speed table). Each row gives the median milliseconds per call, clips per second and
the speed-up over the original network in the same setting (original time / our time).

Batch construction is not part of the model's latency: our model's input, a PyG batch in the
library's representation, is built once outside the timing, with
:func:`~pyg_mstgcn.data.from_dense` from the same dense ``[N, C, T, V, M]`` tensor that the
original network takes. What it costs is timed as its own row, ``batch construction``, in the
latency setting (from the dense window on the CPU to the batch on the device)."""
from __future__ import annotations

import argparse
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pyg_mstgcn.benchmarks import original_reference
from pyg_mstgcn.benchmarks.runner import (add_output_args, checked_device, machine, median_times,
                                          print_table, write_csv)
from pyg_mstgcn.data import from_dense
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.models import MSTGCN

LAYOUT = 'ntu-rgb+d'
NUM_CLASSES, JOINTS, PERSONS = 60, 25, 2
#: setting -> (batch, frames), and the shorter inputs of ``--quick``.
SETTINGS = {'latency': (1, 64), 'throughput': (16, 100)}
QUICK_SETTINGS = {'latency': (1, 16), 'throughput': (2, 16)}
#: (name, backend, adjacency) of our model; the original network is the reference.
VARIANTS = (('dense/full', 'dense', 'full'), ('sparse/skeleton', 'sparse', 'skeleton'))
ORIGINAL = 'original'
BATCH_CONSTRUCTION = 'batch construction'
COLUMNS = ['setting', 'model', 'batch', 'frames', 'ms_per_call', 'clips_per_s',
           'speedup_vs_original']


def _models(device: torch.device) -> List[Tuple[str, torch.nn.Module, bool]]:
    """(name, model in eval mode, whether it takes the dense tensor) of every candidate."""
    torch.manual_seed(0)
    models: List[Tuple[str, torch.nn.Module, bool]] = [
        (name, MSTGCN(NUM_CLASSES, backend=backend, adjacency=adjacency), False)
        for name, backend, adjacency in VARIANTS]
    original = original_reference.OriginalMSTGCN(
        num_class=NUM_CLASSES, num_point=JOINTS, num_person=PERSONS,
        block_args=original_reference.NTU_BLOCK_ARGS, graph='graph.ntu_rgb_d.Graph')
    models.append((ORIGINAL, original, True))
    return [(name, model.to(device).eval(), dense) for name, model, dense in models]


def _predict(model: torch.nn.Module, inputs: object, dense: bool) -> Callable[[], Tensor]:
    """One inference call: the logits (element 1 of the original network's output)."""
    def call() -> Tensor:
        with torch.inference_mode():
            out = model(inputs)
            return out[1] if dense else out
    return call


def run_setting(setting: str, batch_size: int, frames: int, models, device: torch.device,
                repeats: int, warmup: int, time_construction: bool) -> List[Dict[str, object]]:
    """The rows of one setting: every model (and batch construction if asked) timed together
    on one input."""
    torch.manual_seed(1)
    x = torch.randn(batch_size, 3, frames, JOINTS, PERSONS)
    dense_x = x.to(device)
    batch = from_dense(x, LAYOUT).to(device)  # once, outside the timing
    fns: Dict[str, Callable[[], object]] = {}
    for name, model, dense in models:
        fns[name] = _predict(model, dense_x if dense else batch, dense)
        logits = fns[name]()
        if tuple(logits.shape) != (batch_size, NUM_CLASSES):
            raise RuntimeError(f'{name} gave logits of shape {list(logits.shape)}, expected '
                               f'{[batch_size, NUM_CLASSES]}')
    if time_construction:
        fns[BATCH_CONSTRUCTION] = lambda: from_dense(x, LAYOUT).to(device)
    seconds = median_times(fns, device, warmup, repeats)
    rows = []
    for name, s in seconds.items():
        row: Dict[str, object] = {'setting': setting, 'model': name, 'device': device.type,
                                  'batch': batch_size, 'frames': frames, 'persons': PERSONS,
                                  'ms_per_call': 1000 * s, 'clips_per_s': batch_size / s}
        if name != BATCH_CONSTRUCTION:
            row['speedup_vs_original'] = seconds[ORIGINAL] / s
        rows.append(row)
    return rows


def run(settings: Dict[str, Tuple[int, int]], device: torch.device, repeats: int,
        warmup: int) -> List[Dict[str, object]]:
    models = _models(device)
    rows = []
    for setting, (batch_size, frames) in settings.items():
        rows += run_setting(setting, batch_size, frames, models, device, repeats, warmup,
                            time_construction=setting == 'latency')
    return rows


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = ArgumentParser(prog='python -m benchmarks.inference', description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeats', type=int, default=10, help='timed repeats, median (10)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed warm-up calls (3)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help="'cpu' or 'cuda' (cpu)")
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: 16 frames, batch 1 and 2, 1 warm-up, 2 repeats')
    add_output_args(parser, 'inference', ', the device appended')
    args = parser.parse_args(argv)
    device = checked_device(parser, args.device)
    for name in ('repeats', 'warmup', 'threads'):
        value = getattr(args, name)
        if value is not None and value < (0 if name == 'warmup' else 1):
            parser.error(f'--{name} must be {"non-negative" if name == "warmup" else "positive"}'
                         f' (got {value})')
    if args.threads:
        torch.set_num_threads(args.threads)
    settings, repeats, warmup = SETTINGS, args.repeats, args.warmup
    if args.quick:
        settings, repeats, warmup = QUICK_SETTINGS, 2, 1
    rows = run(settings, device, repeats, warmup)
    info = machine()
    print(f"inference on {device.type}, {PERSONS} persons, median of {repeats} after {warmup} "
          f"warm-up; machine: {info['cpu']} ({info['cpu_count']} cores, "
          f"{info['torch_threads']} torch threads), torch {info['torch']}"
          + (f", {info['gpu']}" if device.type == 'cuda' else '') + '\n')
    print_table(rows, COLUMNS)
    settings_out = dict(joints=JOINTS, classes=NUM_CLASSES, repeats=repeats, warmup=warmup,
                        quick=args.quick)
    path = write_csv(f'{args.out}_{device.type}', rows, settings_out, args.results_dir)
    print(f'\nwritten {path}')


if __name__ == '__main__':
    main()
