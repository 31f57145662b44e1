"""The plot of the graph-convolution sweep: time against joints and against density, one line
per backend, the dense/sparse crossover marked. Needs matplotlib (the ``[bench]`` extra)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from pyg_mstgcn.benchmarks.graph_conv import BACKENDS
from pyg_mstgcn.benchmarks.runner import RESULTS
from pyg_mstgcn.benchmarks.sweep_report import DENSE, SPARSE, crossovers, series

Panel = Tuple[str, str, Optional[str], str]  # sweep, x key, graph (density sweep), x label
#: One colour per backend, the same in every panel (matplotlib's tab10).
COLOURS = {backend: f'C{i}' for i, backend in enumerate(BACKENDS)}


def _panels(rows: Sequence[Dict[str, object]]) -> List[Panel]:
    panels: List[Panel] = []
    if any(r['sweep'] == 'graph' for r in rows):
        panels.append(('graph', 'joints', None, 'joints V (skeleton-only adjacency)'))
    for name in dict.fromkeys(r['graph'] for r in rows if r['sweep'] == 'density'):
        panels.append(('density', 'density', str(name), f'density of the adjacency, {name}'))
    return panels


def plot_sweeps(rows: Sequence[Dict[str, object]], name: str, title: str = '',
                out_dir: Optional[Path] = None) -> Optional[Path]:
    """Writes ``{name}.png`` under :obj:`out_dir` (``benchmarks/results/``); returns its path,
    or :obj:`None` when matplotlib is not installed or there is nothing to plot."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter, PercentFormatter
    except ImportError:
        return None
    panels = _panels(rows)
    if not panels:
        return None
    found = {(c.axis, c.graph): c for c in crossovers(rows)}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    for ax, (sweep, x_key, graph, label) in zip(axes[0], panels):
        for backend in BACKENDS:
            points = series(rows, sweep, x_key, backend, graph)
            if points:
                xs, ys = zip(*points)
                style = '-o' if backend in (DENSE, SPARSE) else '--.'
                ax.plot(xs, ys, style, label=backend, color=COLOURS[backend],
                        linewidth=2 if backend in (DENSE, SPARSE) else 1, markersize=4)
        cross = found.get((x_key, graph))
        if cross is not None and cross.x is not None:
            ax.axvline(cross.x, color='black', linestyle=':', linewidth=1)
            ax.annotate(cross.words().replace(f' than {DENSE}', f' than {DENSE}\n'),
                        (cross.x, 0.97), xycoords=('data', 'axes fraction'), ha='left',
                        va='top', fontsize=7, xytext=(4, 0), textcoords='offset points')
        ax.set_xscale('log')
        if x_key == 'density':  # ticks at the measured densities, in percent
            ax.set_xticks(sorted({x for b in BACKENDS for x, _ in series(rows, sweep, x_key,
                                                                        b, graph)}))
            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.tick_params(axis='x', labelrotation=45, labelsize=7)
        ax.set_yscale('log')
        ax.set_xlabel(label)
        ax.set_ylabel('forward + backward (ms)')
        ax.grid(True, which='both', alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=len(labels), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    out_dir = out_dir or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'{name}.png'
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
