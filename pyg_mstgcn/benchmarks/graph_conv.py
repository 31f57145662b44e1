"""Graph-convolution sweep: MST-GCN's spatial graph convolution with learnable adjacency
(1x1 transform to K subsets, then aggregation with A_k + B_k), forward and backward timed
apart, with peak memory, for every backend, over skeleton graphs, adjacency densities and the
sizes of the paper's network.

Backends:
  einsum          the skeleton-GCN convention: [N, C, T, V] features, one einsum with the
                  dense K x V x V adjacency (the original code; our test reference)
  dense           SpatialGraphConv(backend='dense'): one batched matrix product per instance
  scatter         SpatialGraphConv(backend='sparse') on a plain edge_index: PyG message
                  passing, one message per edge and frame, summed by scatter
  fused           the same on a target-sorted EdgeIndex: one sparse-matrix product (CSR)
                  over all instances and frames, no per-edge messages
  torch_scatter   scatter messages summed by torch-scatter (when installed)
  torch_sparse    fused product from a torch_sparse SparseTensor adjacency (when installed)
  compile-dense, compile-scatter, compile-fused
                  torch.compile of those paths; graph breaks are counted with
                  torch._dynamo.explain and reported, failures are reported, not hidden

Sweeps:
  size      NTU RGB+D (25 joints, skeleton-only adjacency) at the widths and lengths of the
            paper's network (C = 28 for one MS-GC scale of the first stage, up to 448)
  graph     skeleton-only adjacency on COCO 17, OpenPose 18, NTU 25, synthetic trees of the
            whole-body sizes (67, 133) and of 256 to 1,024 joints
  density   NTU 25 and a 512-joint tree, from skeleton-only to full, by random extra bones

Results go to a table, to benchmarks/results/graph_conv_{device}.csv (with the machine,
versions and settings) and to a plot of time against joints and density per backend, the
crossover between dense and fused marked (PNG; needs matplotlib, the [bench] extra).
"""
from __future__ import annotations

import argparse
import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch._dynamo
from torch import Tensor
from torch_geometric import EdgeIndex
from tqdm import tqdm

from pyg_mstgcn.benchmarks.graphs import BenchGraph, densified, layout_graph, tree_graph
from pyg_mstgcn.benchmarks import original_reference
from pyg_mstgcn.benchmarks.runner import (Case, add_output_args, checked_device, machine,
                                          peak_memory_mib, time_forward_backward, write_csv)
from pyg_mstgcn.benchmarks.sweep_report import DENSE, read_rows, report
from pyg_mstgcn.data import support_edges
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.nn import SpatialGraphConv

BACKENDS = ('einsum', 'dense', 'scatter', 'fused', 'torch_scatter', 'torch_sparse',
            'compile-dense', 'compile-scatter', 'compile-fused')
COMPILED = tuple(b for b in BACKENDS if b.startswith('compile-'))
SWEEPS = ('size', 'graph', 'density')


@dataclass(frozen=True)
class Size:
    """Sequences N of M persons, T frames, C_in -> C_out channels."""
    N: int
    M: int
    T: int
    C_in: int
    C_out: int

    @property
    def instances(self) -> int:
        return self.N * self.M


@dataclass(frozen=True)
class Point:
    """One point of a sweep: a graph at a size."""
    sweep: str
    graph: BenchGraph
    size: Size


class Unavailable(Exception):
    """A backend that cannot run here (a package missing, too much memory)."""


# ------------------------------------------------------------------------------------------
# The sweeps

def _sizes(quick: bool, device: torch.device) -> List[Size]:
    if quick:
        return [Size(2, 2, 16, 28, 28), Size(2, 2, 16, 64, 64)]
    # one MS-GC scale of stage 1 (112 / 4), the three stages at their lengths, a 64-frame crop
    sizes = [Size(8, 2, 300, 28, 28), Size(8, 2, 300, 112, 112), Size(8, 2, 150, 224, 224),
             Size(8, 2, 75, 448, 448), Size(8, 2, 64, 64, 64), Size(64, 2, 64, 64, 64)]
    if device.type == 'cuda':
        sizes += [Size(64, 2, 300, 112, 112), Size(64, 2, 75, 448, 448)]
    return sizes


def sweep_points(sweeps: Sequence[str], quick: bool, device: torch.device) -> List[Point]:
    """The points of the chosen sweeps, small ones in quick mode."""
    ntu = layout_graph('ntu-rgb+d')
    points: List[Point] = []
    if 'size' in sweeps:
        points += [Point('size', ntu, size) for size in _sizes(quick, device)]
    if 'graph' in sweeps:
        size = Size(1, 2, 8, 16, 16) if quick else Size(2, 2, 32, 64, 64)
        graphs = [layout_graph('coco'), layout_graph('openpose'), ntu, tree_graph(67),
                  tree_graph(133)]
        graphs += [tree_graph(V) for V in ((512, ) if quick else (256, 512, 1024))]
        points += [Point('graph', graph, size) for graph in graphs]
    if 'density' in sweeps:
        size = Size(1, 2, 8, 16, 16) if quick else Size(2, 2, 32, 64, 64)
        densities = {ntu: (0.25, 1.0) if quick else (0.25, 0.5, 1.0),
                     tree_graph(512): (0.05, 1.0) if quick else
                     (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)}
        for base, levels in densities.items():
            points.append(Point('density', base, size))
            points += [Point('density', densified(base, d), size) for d in levels]
    return points


# ------------------------------------------------------------------------------------------
# The backends

def _conv(graph: BenchGraph, size: Size, backend: str, device: torch.device
          ) -> SpatialGraphConv:
    layer = _TorchScatterConv if backend == 'torch_scatter' else SpatialGraphConv
    conv_backend = 'dense' if backend.endswith('dense') else 'sparse'
    return layer(size.C_in, size.C_out, graph.partition, adjacency=graph.adjacency,
                 backend=conv_backend).to(device)


def _estimated_bytes(graph: BenchGraph, size: Size, backend: str) -> int:
    # features, the K-subset transform and the output with their gradients; for the scatter
    # paths the gathered source features [E, K, C_out * T] and the messages [E, C_out * T],
    # with their gradients
    nodes, K = size.instances * graph.num_joints, graph.partition.size(0)
    features = 2 * nodes * size.T * (size.C_in + (K + 1) * size.C_out)
    if 'scatter' in backend:
        edges = size.instances * int(graph.support.sum())
        features += 2 * (K + 1) * edges * size.T * size.C_out
    return 4 * features


def build_case(point: Point, backend: str, device: torch.device, max_bytes: int
               ) -> Tuple[Case, Optional[Callable[[], int]]]:
    """The case of :obj:`backend` at :obj:`point`, and for the compiled backends a function
    that counts the graph breaks. Raises :class:`Unavailable` with the reason."""
    graph, size = point.graph, point.size
    need = _estimated_bytes(graph, size, backend)
    if need > max_bytes:
        raise Unavailable(f'needs about {need / 2**30:.1f} GiB (limit '
                          f'{max_bytes / 2**30:.1f} GiB, --max-gib)')
    V, num_nodes = graph.num_joints, size.instances * graph.num_joints
    if backend == 'einsum':
        module = original_reference.GraphConv(size.C_in, size.C_out,
                                              graph.partition.numpy()).to(device)
        x = torch.randn(size.instances, size.C_in, size.T, V, device=device,
                        requires_grad=True)
        return Case(lambda: module(x), [x, *module.parameters()]), None
    if backend == 'torch_scatter' and importlib.util.find_spec('torch_scatter') is None:
        raise Unavailable('torch-scatter is not installed (pip install .[scatter])')
    conv = _conv(graph, size, backend, device)
    x = torch.randn(num_nodes, size.C_in, size.T, device=device, requires_grad=True)
    edge_index, template = support_edges(graph.support.to(device), num_nodes)
    graph_input: object = edge_index
    if backend.endswith('fused'):
        graph_input = EdgeIndex(edge_index, sparse_size=(num_nodes, num_nodes),
                                sort_order='col')
    elif backend == 'torch_sparse':
        if importlib.util.find_spec('torch_sparse') is None:
            raise Unavailable('torch_sparse is not installed')
        from torch_sparse import SparseTensor
        graph_input = SparseTensor(row=edge_index[1], col=edge_index[0],
                                   sparse_sizes=(num_nodes, num_nodes))
        template = None  # read off the node indices, in the SparseTensor's order
    args = (x, graph_input, template)
    leaves = [x, *conv.parameters()]
    if backend in COMPILED:
        compiled = torch.compile(conv)
        return (Case(lambda: compiled(*args), leaves),
                lambda: count_graph_breaks(conv, *args))
    return Case(lambda: conv(*args), leaves), None


class _TorchScatterConv(SpatialGraphConv):
    """The scatter path with torch-scatter's sum in place of PyG's."""

    def aggregate(self, inputs: Tensor, index: Tensor, ptr: Optional[Tensor] = None,
                  dim_size: Optional[int] = None) -> Tensor:
        from torch_scatter import scatter
        return scatter(inputs, index, dim=0, dim_size=dim_size, reduce='sum')


def count_graph_breaks(module: torch.nn.Module, *args) -> int:
    """Graph breaks TorchDynamo makes in :obj:`module` (its ``explain``, no compilation)."""
    explanation = torch._dynamo.explain(module)(*args)
    torch._dynamo.reset()
    return explanation.graph_break_count


# ------------------------------------------------------------------------------------------
# Running and reporting

def run_point(point: Point, backends: Sequence[str], device: torch.device, warmup: int,
              repeats: int, max_bytes: int) -> List[Dict[str, object]]:
    """Times every backend at one point (the backends taking turns) and returns one row
    each."""
    graph, size = point.graph, point.size
    base = {'sweep': point.sweep, 'graph': graph.name, 'joints': graph.num_joints,
            'adjacency': graph.adjacency, 'extra_bones': graph.extra_bones,
            'skeleton_only': graph.skeleton_only, 'density': round(graph.density, 5), 'N': size.N,
            'M': size.M, 'T': size.T, 'C_in': size.C_in, 'C_out': size.C_out,
            'device': device.type}
    if any(backend in COMPILED for backend in backends):
        torch._dynamo.reset()  # fresh caches: dynamo turns eager after 8 recompilations
    rows: Dict[str, Dict[str, object]] = {}
    cases: Dict[str, Case] = {}
    breaks: Dict[str, Callable[[], int]] = {}
    for backend in backends:
        rows[backend] = {**base, 'backend': backend, 'status': 'ok'}
        try:
            cases[backend], count = build_case(point, backend, device, max_bytes)
        except Unavailable as reason:
            rows[backend]['status'] = f'skipped: {reason}'
            continue
        if count is not None:
            breaks[backend] = count
    timings = time_forward_backward(cases, device, warmup, repeats)
    for backend, timing in timings.items():
        row = rows[backend]
        if timing.error:
            row['status'] = f'failed: {timing.error}'
            continue
        row.update(forward_ms=timing.forward_s * 1e3, backward_ms=timing.backward_s * 1e3,
                   total_ms=timing.total_s * 1e3,
                   peak_mib=peak_memory_mib(cases[backend], device))
        if backend in breaks:
            try:
                row['graph_breaks'] = breaks[backend]()
            except Exception as error:  # explain itself failing is a finding, not a crash
                row['graph_breaks'] = f'explain failed: {type(error).__name__}'
    dense = rows.get(DENSE, {}).get('total_ms')
    for row in rows.values():
        if dense and 'total_ms' in row:
            row['vs_dense'] = row['total_ms'] / dense
    return list(rows.values())


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = ArgumentParser(prog='python -m benchmarks.graph_conv', description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sweep', nargs='+', choices=SWEEPS, default=list(SWEEPS),
                        help='sweeps to run (all)')
    parser.add_argument('--backends', nargs='+', choices=BACKENDS, default=None,
                        help='backends to time (all; in --quick mode all but the compiled '
                             'ones, whose compilation alone takes about a minute on 2 cores)')
    parser.add_argument('--device', choices=('cpu', 'cuda', 'all'), default='all',
                        help="'all': the CPU, and CUDA when a GPU is available (all)")
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats, median (5)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed warm-up steps (2)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads on the CPU (default: torch default)')
    parser.add_argument('--max-gib', type=float, default=8.0,
                        help='skip a backend whose estimated memory exceeds this (8)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: small sizes and graphs, 1 warm-up, 2 repeats '
                             '(under a minute on 2 cores)')
    parser.add_argument('--no-plot', action='store_true', help='do not write the PNG plot')
    parser.add_argument('--from-csv', type=Path, default=None, metavar='CSV',
                        help='run nothing: report a CSV of an earlier sweep and plot it next '
                             'to it (e.g. to add the plot after installing matplotlib)')
    add_output_args(parser, 'graph_conv', ' (CSV and PNG), the device appended')
    args = parser.parse_args(argv)
    # PyG's EdgeIndex under torch.compile: a note on AOT caching that says nothing about speed
    warnings.filterwarnings('ignore', message='EdgeIndex does not implement _stable_hash')
    if args.from_csv is not None:
        if not args.from_csv.is_file():
            parser.error(f'--from-csv: no file {args.from_csv}')
        replot(args.from_csv, args.backends or BACKENDS, args.no_plot)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.warmup, args.repeats = 1, 2
    backends = args.backends or [b for b in BACKENDS if not (args.quick and b in COMPILED)]
    devices = [torch.device('cpu')] if args.device in ('cpu', 'all') else []
    if args.device == 'cuda' or (args.device == 'all' and torch.cuda.is_available()):
        devices.append(checked_device(parser, 'cuda'))
    for device in devices:
        run_device(device, args, backends)


def run_device(device: torch.device, args: argparse.Namespace, backends: Sequence[str]
               ) -> None:
    """Runs the sweeps on one device, reports them and writes the CSV and the plot."""
    torch.manual_seed(0)
    points = sweep_points(args.sweep, args.quick, device)
    max_bytes = int(args.max_gib * 2**30)
    name = f'{args.out}_{device.type}'
    settings = {'warmup': args.warmup, 'repeats': args.repeats, 'quick': args.quick,
                'max_gib': args.max_gib}
    info = machine()
    rows: List[Dict[str, object]] = []
    for point in tqdm(points, desc=f'graph_conv on {device.type}', unit='point'):
        rows += [{**row, **info} for row in run_point(point, backends, device, args.warmup,
                                                       args.repeats, max_bytes)]
        path = write_csv(name, rows, settings, args.results_dir)  # a crash keeps the points
    print(f'\nforward + backward, ms (median of {args.repeats}), {device.type}:')
    report(rows, backends)
    print(f'\nwritten {path}')
    if not args.no_plot:
        write_plot(rows, name, args.results_dir)


def write_plot(rows: Sequence[Dict[str, object]], name: str, out_dir: Path) -> None:
    from pyg_mstgcn.benchmarks.plot import plot_sweeps
    path = plot_sweeps(rows, name, _title(rows), out_dir)
    print(f'written {path}' if path else 'no plot: matplotlib is not installed '
          '(pip install .[bench])')


def _title(rows: Sequence[Dict[str, object]]) -> str:
    first = rows[0]
    where = first.get('gpu') if first['device'] == 'cuda' else (
        f"{first['cpu']}, {first['torch_threads']} threads")
    return f'SpatialGraphConv forward + backward on {where} (torch {first["torch"]})'


def replot(path: Path, backends: Sequence[str], no_plot: bool) -> None:
    """Reports a sweep CSV written earlier and plots it next to it."""
    rows = read_rows(path)
    print(f'{path}: forward + backward, ms')
    report(rows, backends)
    if not no_plot:
        write_plot(rows, path.stem, path.parent)


if __name__ == '__main__':
    main()
