"""``python -m pyg_mstgcn``: a smoke run of the canonical network on a synthetic batch.

Builds the original NTU network, batches random skeleton sequences with the standard PyG
DataLoader and runs one training step with each backend, printing what it did.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch_geometric.loader import DataLoader

from pyg_mstgcn import __version__
from pyg_mstgcn.data import skeleton_graph
from pyg_mstgcn.models import MSTGCN


def main() -> None:
    parser = argparse.ArgumentParser(prog='python -m pyg_mstgcn', description=__doc__)
    parser.add_argument('--batch-size', type=int, default=4, help='sequences per batch (4)')
    parser.add_argument('--frames', type=int, default=32, help='frames per sequence (32)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (0)')
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    data = [skeleton_graph(torch.randn(3, args.frames, 25, 2), 'ntu-rgb+d', y=i % 60)
            for i in range(args.batch_size)]
    batch = next(iter(DataLoader(data, batch_size=args.batch_size)))
    print(f'pyg_mstgcn {__version__}: {batch}')
    for backend in ('dense', 'sparse'):
        model = MSTGCN(num_classes=60, backend=backend)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(batch), batch.y)
        loss.backward()
        optimizer.step()
        seconds = time.perf_counter() - start
        params = sum(p.numel() for p in model.parameters())
        print(f'{model}: {params:,} parameters, one training step on {args.batch_size} x '
              f'{args.frames} frames in {seconds:.2f} s, loss {loss.item():.3f}')


if __name__ == '__main__':
    main()
