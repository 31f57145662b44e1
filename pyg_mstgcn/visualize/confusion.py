"""The confusion matrix of an evaluation as a figure."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

#: Up to this many classes every tick is labelled and every cell shows its count.
LABEL_ALL = 30


def require_matplotlib():
    """:mod:`matplotlib.pyplot` with a file backend, or an :class:`ImportError` that says how
    to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError('figures need matplotlib: pip install "pyg_mstgcn[vis]"') from None
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_confusion(confusion: np.ndarray, path: Union[str, Path],
                   class_names: Optional[Sequence[str]] = None, title: str = '') -> Path:
    """Draws a confusion matrix ``[C, C]`` (rows: true class, columns: predicted) with each
    row normalised to the fraction of its samples, a colour bar, and the classes on both axes
    (their names when given; every tick up to :data:`LABEL_ALL` classes, with the counts in
    the cells, else every ``C / 30``-th). Writes :obj:`path` (PNG, PDF or SVG by its suffix)
    and returns it."""
    plt = require_matplotlib()
    cm = np.asarray(confusion, dtype=np.float64)
    C = len(cm)
    names = list(class_names) if class_names is not None else [str(i) for i in range(C)]
    if len(names) != C:
        raise ValueError(f'{len(names)} class names for a {C} x {C} confusion matrix')
    support = cm.sum(axis=1, keepdims=True)
    fraction = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    side = float(np.clip(2.5 + 0.28 * C, 5, 16))
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    image = ax.imshow(fraction, cmap='Blues', vmin=0, vmax=1, interpolation='nearest')
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label('fraction of the true class')
    step = 1 if C <= LABEL_ALL else int(np.ceil(C / LABEL_ALL))
    ticks = np.arange(0, C, step)
    font = 9 if C <= 12 else 7
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=90, fontsize=font)
    ax.set_yticks(ticks, [names[i] for i in ticks], fontsize=font)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    if C <= LABEL_ALL:
        for i in range(C):
            for j in range(C):
                if cm[i, j]:
                    ax.text(j, i, f'{int(cm[i, j])}', ha='center', va='center', fontsize=font,
                            color='white' if fraction[i, j] > 0.5 else 'black')
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f'{title + ": " if title else ""}top-1 {100 * accuracy:.1f}% of '
                 f'{int(cm.sum())} samples')
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
