"""Whole-model benchmark: training step (forward and backward timed apart) and inference of
the canonical MST-GCN, for the dense and sparse backends, against a straightforward dense
einsum implementation of the same network (the independent reference of our tests)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import torch

from benchmarks.runner import median_times, print_table, write_csv
from pyg_mstgcn.data import from_dense
from pyg_mstgcn.models import MSTGCN

ROOT = Path(__file__).resolve().parents[1]


def _reference_model(num_classes: int) -> torch.nn.Module:
    # The einsum transcription of the original network lives with the tests.
    sys.path.insert(0, str(ROOT / 'tests'))
    from original_reference import NTU_BLOCK_ARGS, OriginalMSTGCN
    return OriginalMSTGCN(num_class=num_classes, num_point=25, num_person=2,
                          block_args=NTU_BLOCK_ARGS, graph='graph.ntu_rgb_d.Graph')


def _step_timers(model: torch.nn.Module, inputs, device: torch.device,
                 logits_of: Callable) -> Tuple[Callable, Callable]:
    def forward():
        with torch.no_grad():
            logits_of(model(inputs))

    def forward_backward():
        model.zero_grad(set_to_none=True)
        logits_of(model(inputs)).sum().backward()

    return forward, forward_backward


def run(batch_size: int, frames: int, repeats: int, warmup: int, device: torch.device,
        include_reference: bool) -> List[Dict[str, object]]:
    torch.manual_seed(0)
    x = torch.randn(batch_size, 3, frames, 25, 2, device=device)
    batch = from_dense(x.cpu(), 'ntu-rgb+d').to(device)
    candidates: List[Tuple[str, torch.nn.Module, object, Callable]] = []
    for backend, adjacency in (('dense', 'full'), ('sparse', 'skeleton'), ('sparse', 'full')):
        model = MSTGCN(60, backend=backend, adjacency=adjacency).to(device).train()
        candidates.append((f'pyg_mstgcn {backend}/{adjacency}', model, batch, lambda y: y))
    if include_reference:
        reference = _reference_model(60).to(device).train()
        candidates.append(('einsum reference', reference, x, lambda out: out[1]))
    fns = {}
    for name, model, inputs, logits_of in candidates:
        forward, forward_backward = _step_timers(model, inputs, device, logits_of)
        fns[(name, 'forward')], fns[(name, 'step')] = forward, forward_backward
    times = median_times(fns, device, warmup, repeats)
    rows = []
    for name, *_ in candidates:
        fwd, step = times[(name, 'forward')], times[(name, 'step')]
        rows.append({'model': name, 'device': device.type, 'batch': batch_size,
                     'frames': frames, 'forward_s': fwd, 'train_step_s': step,
                     'backward_s': step - fwd, 'train_samples_per_s': batch_size / step})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog='python -m benchmarks.model', description=__doc__)
    parser.add_argument('--batch-size', type=int, default=8, help='sequences per batch (8)')
    parser.add_argument('--frames', type=int, default=64, help='frames per sequence (64)')
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats, median (5)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed warm-up calls (2)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (cpu)")
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: batch 2, 16 frames, 1 repeat')
    parser.add_argument('--no-reference', action='store_true',
                        help='skip the einsum reference implementation')
    parser.add_argument('--out', default='model', help='CSV name under benchmarks/results/')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.batch_size, args.frames, args.repeats, args.warmup = 2, 16, 1, 1
    device = torch.device(args.device)
    rows = run(args.batch_size, args.frames, args.repeats, args.warmup, device,
               not args.no_reference)
    print_table(rows, ['model', 'device', 'batch', 'frames', 'forward_s', 'backward_s',
                       'train_step_s', 'train_samples_per_s'])
    settings = dict(persons=2, joints=25, repeats=args.repeats, warmup=args.warmup)
    path = write_csv(args.out, rows, settings)
    print(f'\nwritten {path}')


if __name__ == '__main__':
    main()
