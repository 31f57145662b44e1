"""What the graph-convolution sweep reports: the table of times per point and backend, where
the sparse backend starts to beat the dense one (the crossover), and the two targets. Works
on fresh rows and on rows read back from a sweep CSV."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from pyg_mstgcn.benchmarks.runner import print_table

#: The sparse backend of the targets, and the dense one it is held against.
SPARSE, DENSE = 'fused', 'dense'
Row = Dict[str, object]

_INTS = ('joints', 'extra_bones', 'N', 'M', 'T', 'C_in', 'C_out')
_FLOATS = ('density', 'forward_ms', 'backward_ms', 'total_ms', 'peak_mib', 'vs_dense')


def read_rows(path: Path) -> List[Row]:
    """The rows of a sweep CSV, numbers as numbers and empty cells left out."""
    rows = []
    with open(path, newline='') as f:
        for record in csv.DictReader(f):
            row: Row = {k: v for k, v in record.items() if v != ''}
            for key in _INTS:
                if key in row:
                    row[key] = int(row[key])
            for key in _FLOATS:
                if key in row:
                    row[key] = float(row[key])
            row['skeleton_only'] = row.get('skeleton_only') == 'True'
            rows.append(row)
    return rows


def _point_label(row: Row) -> str:
    if row['sweep'] == 'size':
        return f"{row['N']}x{row['M']}x{row['T']} C{row['C_in']}->{row['C_out']}"
    if row['sweep'] == 'density':
        return f"{row['graph']} {100 * float(row['density']):.3g}%"
    return f"{row['graph']} ({100 * float(row['density']):.3g}%)"


def pivot(rows: Sequence[Row], backends: Sequence[str]) -> List[Row]:
    """One line per point: forward + backward milliseconds of every backend and the
    fastest."""
    lines: Dict[Tuple, Row] = {}
    for row in rows:
        key = (row['sweep'], row['graph'], row['density'], row['N'], row['T'], row['C_in'])
        line = lines.setdefault(key, {'sweep': row['sweep'], 'point': _point_label(row)})
        line[row['backend']] = row.get('total_ms', '-')
    for line in lines.values():
        timed = {b: line[b] for b in backends if isinstance(line.get(b), float)}
        line['fastest'] = min(timed, key=timed.get) if timed else '-'
    return list(lines.values())


def series(rows: Sequence[Row], sweep: str, x_key: str, backend: str,
           graph: Optional[str] = None) -> List[Tuple[float, float]]:
    """``(x, total_ms)`` of one backend along a sweep (for the density sweep, of one base
    graph), sorted by x."""
    return sorted((float(r[x_key]), float(r['total_ms'])) for r in rows
                  if r['sweep'] == sweep and r['backend'] == backend and 'total_ms' in r
                  and (graph is None or r['graph'] == graph))


def crossover(points: Sequence[Tuple[float, float, float]]) -> Optional[float]:
    """The x where the sparse time crosses the dense one, by log-log interpolation between
    the first pair of neighbouring points where the faster backend changes; points are
    ``(x, dense_time, sparse_time)`` sorted by x."""
    for (x0, d0, s0), (x1, d1, s1) in zip(points, points[1:]):
        r0, r1 = math.log(s0 / d0), math.log(s1 / d1)
        if r0 == 0:
            return x0
        if (r0 < 0) != (r1 < 0):
            t = r0 / (r0 - r1)
            return math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0)))
    return None


@dataclass
class Crossover:
    """Where :data:`SPARSE` and :data:`DENSE` trade places along one axis."""
    axis: str                  # 'joints' or 'density'
    graph: Optional[str]       # the base graph of a density sweep
    x: Optional[float]         # None: one backend wins everywhere in the sweep
    sparse_wins_low: bool      # the sparse backend is the faster one at the low end

    def words(self) -> str:
        where = f' ({self.graph})' if self.graph else ''
        if self.x is None:
            winner = SPARSE if self.sparse_wins_low else DENSE
            return f'{winner} faster over the whole {self.axis} sweep{where}'
        value = f'{self.x:.0f} joints' if self.axis == 'joints' else f'{self.x:.1%} density'
        side = 'below' if self.sparse_wins_low else 'above'
        return f'{SPARSE} faster than {DENSE} {side} about {value}{where}'


def crossovers(rows: Sequence[Row]) -> List[Crossover]:
    """The crossovers along the graph sweep (in joints) and along each graph of the density
    sweep (in density)."""
    found = []
    groups = [('graph', 'joints', None)] + [
        ('density', 'density', name) for name in
        dict.fromkeys(str(r['graph']) for r in rows if r['sweep'] == 'density')]
    for sweep, axis, graph in groups:
        dense = dict(series(rows, sweep, axis, DENSE, graph))
        sparse = dict(series(rows, sweep, axis, SPARSE, graph))
        shared = [(x, dense[x], sparse[x]) for x in sorted(dense) if x in sparse]
        if len(shared) >= 2:
            found.append(Crossover(axis, graph, crossover(shared), shared[0][2] < shared[0][1]))
    return found


def targets(rows: Sequence[Row]) -> List[str]:
    """The two targets, checked on these rows: on NTU-size skeleton-only graphs the sparse
    backend within 1.5x of the dense one; on graphs of 500+ joints and at most 2% density,
    faster."""
    lines = []
    ntu = [r for r in rows if r['backend'] == SPARSE and r['joints'] == 25
           and r['skeleton_only'] and 'vs_dense' in r]
    if ntu:
        worst = max(float(r['vs_dense']) for r in ntu)
        lines.append(f'NTU-size, skeleton-only: {SPARSE} / {DENSE} at most {worst:.2f}x over '
                     f'{len(ntu)} points (target <= 1.5x: '
                     f'{"met" if worst <= 1.5 else "NOT met"})')
    large = [r for r in rows if r['backend'] == SPARSE and int(r['joints']) >= 500
             and float(r['density']) <= 0.02 and 'vs_dense' in r]
    if large:
        worst = max(float(r['vs_dense']) for r in large)
        lines.append(f'>= 500 joints, <= 2% density: {SPARSE} / {DENSE} at most {worst:.2f}x '
                     f'over {len(large)} points (target < 1x: '
                     f'{"met" if worst < 1 else "NOT met"})')
    return lines


def report(rows: Sequence[Row], backends: Sequence[str]) -> None:
    """Prints the table, what was skipped or failed and why, the graph breaks of the
    compiled backends, the crossovers and the targets."""
    present = [b for b in backends if any(r['backend'] == b for r in rows)]
    print_table(pivot(rows, present), ['sweep', 'point', *present, 'fastest'])
    notes = sorted({f"{r['backend']}: {r['status']}" for r in rows if r['status'] != 'ok'})
    if notes:
        print('\n' + '\n'.join(notes))
    for backend, count in sorted({(str(r['backend']), str(r['graph_breaks'])) for r in rows
                                  if 'graph_breaks' in r}):
        print(f'{backend}: {count} graph break(s)')
    for found in crossovers(rows):
        print(f'crossover: {found.words()}')
    for line in targets(rows):
        print(line)
