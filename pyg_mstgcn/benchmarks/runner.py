"""Shared timing and reporting for the benchmarks: synchronised timing with warm-up, median of
repeats, forward and backward timed apart, peak memory, a table on the terminal and a CSV
(with the machine and library versions) under ``benchmarks/results/``."""
from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pyg_mstgcn.io import atomic_write

#: Where results go by default: the committed ``benchmarks/results/`` when run from the root
#: of a checkout, else ``benchmark_results/`` in the current folder (never the installed
#: package's folder).
RESULTS = (Path('benchmarks') / 'results' if (Path('benchmarks') / 'results').is_dir()
           else Path('benchmark_results'))


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Wall time of one synchronised call of :obj:`fn`, in seconds."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def median_times(fns: Dict[str, Callable[[], object]], device: torch.device, warmup: int = 2,
                 repeats: int = 5, pause_s: float = 0.0) -> Dict[str, float]:
    """Median wall time of each function, after :obj:`warmup` untimed calls. The functions
    take turns in every round, so that a load from elsewhere falls on all of them alike;
    :obj:`pause_s` seconds pass before each timed call, so that thread pools that spin
    after their work (OpenMP's, ONNX Runtime's) have gone idle before the next one is
    timed."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            time.sleep(pause_s)
            times[name].append(timed(fn, device))
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass
class Case:
    """One thing to time: :obj:`forward` returns an output to back-propagate through;
    the gradients of :obj:`leaves` are cleared between calls, so that no call pays for
    accumulating into the previous one's."""
    forward: Callable[[], Tensor]
    leaves: Sequence[Tensor] = field(default_factory=list)

    def clear(self) -> None:
        for leaf in self.leaves:
            leaf.grad = None

    def step(self) -> None:
        """Forward and backward, untimed."""
        self.clear()
        out = self.forward()
        out.backward(torch.ones_like(out))


def _process_usage() -> Tuple[float, float, float]:
    """CPU seconds (user and system), system seconds and minor page faults of this process so
    far; NaN where the platform has no ``resource`` module (Windows)."""
    try:
        import resource
    except ImportError:
        return math.nan, math.nan, math.nan
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime, float(usage.ru_minflt)


@dataclass
class Timing:
    """Median forward and backward seconds, or why there are none; per step (forward and
    backward), the median CPU seconds of the process (all threads), the share of them spent
    in the operating system's kernel, and the minor page faults (first touches of memory
    newly mapped by the allocator), where the platform reports them."""
    forward_s: float = math.nan
    backward_s: float = math.nan
    cpu_s: float = math.nan
    system_s: float = math.nan
    page_faults: float = math.nan
    error: str = ''

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s


def time_forward_backward(cases: Dict[Hashable, Case], device: torch.device,
                          warmup: int = 1, repeats: int = 5) -> Dict[Hashable, Timing]:
    """Median wall time of the forward and of the backward pass of every case, timed apart
    (synchronised), after :obj:`warmup` untimed steps; the cases take turns in every round.
    A case that raises is reported with its error and dropped."""
    timings = {key: Timing() for key in cases}
    live = dict(cases)

    def attempt(key: Hashable, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except (RuntimeError, ValueError, NotImplementedError, MemoryError) as error:
            timings[key].error = f'{type(error).__name__}: {str(error).splitlines()[0]}'
            live.pop(key, None)
            return None

    for key, case in list(live.items()):
        for _ in range(warmup):
            attempt(key, case.step)
    forward: Dict[Hashable, List[float]] = {key: [] for key in cases}
    backward: Dict[Hashable, List[float]] = {key: [] for key in cases}
    usage: Dict[Hashable, List[Tuple[float, float, float]]] = {key: [] for key in cases}

    def one_round(key: Hashable, case: Case) -> None:
        case.clear()
        synchronize(device)
        before = _process_usage()
        start = time.perf_counter()
        out = case.forward()
        synchronize(device)
        forward[key].append(time.perf_counter() - start)
        grad = torch.ones_like(out)
        synchronize(device)
        start = time.perf_counter()
        out.backward(grad)
        synchronize(device)
        backward[key].append(time.perf_counter() - start)
        usage[key].append(tuple(b - a for a, b in zip(before, _process_usage())))

    for _ in range(repeats):
        for key, case in list(live.items()):
            attempt(key, lambda: one_round(key, case))
    for key in live:
        timings[key].forward_s = statistics.median(forward[key])
        timings[key].backward_s = statistics.median(backward[key])
        timings[key].cpu_s, timings[key].system_s, timings[key].page_faults = (
            statistics.median(column) for column in zip(*usage[key]))
    return timings


def peak_memory_mib(case: Case, device: torch.device) -> float:
    """Peak memory allocated by one forward and backward step of :obj:`case` above what was
    allocated before it, in MiB: from the CUDA allocator's statistics, or on the CPU from the
    allocation records of the PyTorch profiler (tensors only; NaN if it gives none)."""
    case.clear()  # gradients freed inside the profiled step would be unknown blocks to it
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        case.step()
        synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True) as prof:
        case.step()
    records = sorted((event.start_ns(), event.nbytes())
                     for event in prof.profiler.kineto_results.events()
                     if event.name() == '[memory]')
    if not records:
        return math.nan
    current = peak = 0
    for _, nbytes in records:
        current += nbytes
        peak = max(peak, current)
    return peak / 2**20


def cpu_model() -> str:
    """The processor's model name (from ``/proc/cpuinfo`` on Linux)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> Dict[str, str]:
    """What the figures were measured on."""
    info = {
        'machine': platform.node() or 'unknown',
        'cpu': cpu_model(),
        'cpu_count': str(os.cpu_count()),
        'torch_threads': str(torch.get_num_threads()),
        'python': platform.python_version(),
        'torch': torch.__version__,
    }
    try:
        import torch_geometric
        info['torch_geometric'] = torch_geometric.__version__
    except ImportError:  # pragma: no cover
        pass
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


def checked_device(parser: argparse.ArgumentParser, name: str) -> torch.device:
    """The device :obj:`name` (``'cpu'``, ``'cuda'``...), or the parser's error when CUDA is
    asked for and there is none."""
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    return device


def add_output_args(parser: argparse.ArgumentParser, name: str, note: str = '') -> None:
    """The options every benchmark shares: the results' name and folder."""
    parser.add_argument('--out', default=name,
                        help=f'name of the results under --results-dir{note} ({name})')
    parser.add_argument('--results-dir', type=Path, default=RESULTS,
                        help='folder of the results (default: benchmarks/results/ from the root '
                             'of a checkout, else benchmark_results/ here)')


def print_table(rows: Sequence[Dict[str, object]], columns: Sequence[str]) -> None:
    """Prints rows as an aligned table."""
    cells = [[_format(row.get(c, '')) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = '  '.join(c.ljust(w) for c, w in zip(columns, widths))
    print(line)
    print('-' * len(line))
    for r in cells:
        print('  '.join(v.ljust(w) for v, w in zip(r, widths)))


def write_csv(name: str, rows: Sequence[Dict[str, object]], settings: Dict[str, object],
              out_dir: Optional[Path] = None) -> Path:
    """Writes the rows, each with the machine and settings, to ``results/{name}.csv``."""
    out_dir = out_dir or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'{name}.csv'
    extra = {**machine(), **{k: str(v) for k, v in settings.items()},
             'date': time.strftime('%Y-%m-%d %H:%M')}
    fields: List[str] = list(dict.fromkeys([k for row in rows for k in row] + list(extra)))
    with atomic_write(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**extra, **row})
    return path


def _format(value: object) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)
