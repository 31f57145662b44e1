"""Shared timing and reporting for the benchmarks: synchronised timing with warm-up, median of
repeats, a table on the terminal and a CSV (with the machine and library versions) next to
it."""
from __future__ import annotations

import csv
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch

RESULTS = Path(__file__).resolve().parent / 'results'


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
                 repeats: int = 5) -> Dict[str, float]:
    """Median wall time of each function, after :obj:`warmup` untimed calls. The functions
    take turns in every round, so that a load from elsewhere falls on all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn, device))
    return {name: statistics.median(values) for name, values in times.items()}


def machine() -> Dict[str, str]:
    """What the figures were measured on."""
    info = {
        'machine': platform.node() or 'unknown',
        'cpu': platform.processor() or platform.machine(),
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
    tmp = path.with_name(path.name + '.tmp')
    with open(tmp, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**extra, **row})
    os.replace(tmp, path)
    return path


def _format(value: object) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)
