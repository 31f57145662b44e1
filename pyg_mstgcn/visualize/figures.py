"""What every still figure shares: matplotlib with a file backend, the file formats it is
written in, and how it is saved."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, Union

from pyg_mstgcn.errors import InputError

#: The suffixes of the still figures' formats (matplotlib writes them without extra packages).
FIGURE_SUFFIXES = ('.png', '.pdf', '.svg')
#: Resolution of raster figures: a figure of ``w x h`` inches is ``DPI * w x DPI * h`` pixels.
DPI = 120


def require_matplotlib() -> Any:
    """:mod:`matplotlib.pyplot` with a file backend, or an :class:`ImportError` that says how
    to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError('figures need matplotlib: pip install "pyg_mstgcn[vis]"') from None
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def check_suffix(path: Union[str, Path], suffixes: Sequence[str] = FIGURE_SUFFIXES,
                 option: str = '--out') -> Path:
    """:obj:`path` as a :class:`~pathlib.Path` when its suffix is one of :obj:`suffixes`, else
    an :class:`~pyg_mstgcn.errors.InputError` naming them."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{option} {path}: no writer for '{path.suffix or 'no suffix'}'; "
                         f"use {', '.join(suffixes)}")
    return path


def save_figure(fig: Any, path: Union[str, Path]) -> Path:
    """Writes :obj:`fig` to :obj:`path` (its format by the suffix, raster ones at
    :data:`DPI`), closes it and returns the path."""
    plt = require_matplotlib()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


__all__ = ['FIGURE_SUFFIXES', 'DPI', 'require_matplotlib', 'check_suffix', 'save_figure']
