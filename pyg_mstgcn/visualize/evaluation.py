"""The figures of an evaluation: confusion matrix and per-class accuracy.

``python -m pyg_mstgcn.train --phase test`` draws them into its folder; this command draws
them again from that folder (as PDF or SVG, with other class names), or from any score file
and the labels of its split (the fused scores of python -m pyg_mstgcn.ensemble --out).

sizes (inches; 120 pixels an inch in .png), for C classes:
  confusion           s + 1.2 x s, s = 2.5 + 0.28 C within [5, 16]; 5.5 wider beyond 30
                      classes, for the list of the most confused pairs
  per_class_accuracy  8 x 1.4 + 0.22 per class (at most 60 bars), at least 3

examples:
  python -m pyg_mstgcn.visualize evaluation runs/X-test-DATE --format pdf
  python -m pyg_mstgcn.visualize evaluation --scores fused.pkl \\
      --labels data/ntu60/xsub/val_label.pkl --class-names ntu60 --out figures/
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from pyg_mstgcn.errors import InputError
from pyg_mstgcn.visualize.figures import (FIGURE_SUFFIXES, require_matplotlib, save_figure)

#: Up to this many classes every tick is labelled and every cell shows its count; above it,
#: the :data:`PAIRS_LISTED` most confused pairs are listed beside the matrix.
LABEL_ALL = 30
PAIRS_LISTED = 20
#: Up to this many classes every class has its bar; above it, the lowest this many.
BARS_ALL = 60
#: Class names longer than this are cut (with an ellipsis) in the figures.
NAME_WIDTH = 32
#: The file names of the figures, without suffix.
CONFUSION, PER_CLASS = 'confusion', 'per_class_accuracy'


def confusion_size(num_classes: int) -> Tuple[float, float]:
    """The confusion figure's ``(width, height)`` in inches: ``(s + 1.2, s)``, ``s = 2.5 +
    0.28 C`` clipped to [5, 16], and 5.5 more in width for the list of pairs when
    ``C > LABEL_ALL``."""
    side = float(np.clip(2.5 + 0.28 * num_classes, 5, 16))
    return side + 1.2 + (5.5 if num_classes > LABEL_ALL else 0.0), side


def per_class_size(num_bars: int) -> Tuple[float, float]:
    """The per-class accuracy figure's ``(width, height)`` in inches for :obj:`num_bars`
    bars: ``(8, 1.4 + 0.22 * bars)``, at least 3 high."""
    return 8.0, max(3.0, 1.4 + 0.22 * num_bars)


def _short(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 1] + '…'


def _names(class_names: Optional[Sequence[str]], C: int) -> List[str]:
    names = [str(i) for i in range(C)] if class_names is None else list(class_names)
    if len(names) != C:
        raise ValueError(f'{len(names)} class names for a {C} x {C} confusion matrix')
    return names


def _fractions(cm: np.ndarray) -> np.ndarray:
    """Each row of :obj:`cm` as the fraction of its samples (zero rows stay zero)."""
    support = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)


def confused_pairs(confusion: np.ndarray, count: int = PAIRS_LISTED
                   ) -> List[Tuple[int, int, int]]:
    """The :obj:`count` largest off-diagonal cells of a confusion matrix (rows: true class),
    as ``(true, predicted, samples)``, most samples first (ties: the larger fraction of the
    true class, then the lower indices); cells without samples are left out."""
    cm = np.asarray(confusion, dtype=np.int64)
    fraction = _fractions(cm.astype(np.float64))
    true, pred = np.nonzero(cm * (1 - np.eye(len(cm), dtype=np.int64)))
    order = sorted(zip(true, pred), key=lambda p: (-cm[p], -fraction[p], p))
    return [(int(t), int(p), int(cm[t, p])) for t, p in order[:count]]


def plot_confusion(confusion: np.ndarray, path: Union[str, Path],
                   class_names: Optional[Sequence[str]] = None, title: str = '') -> Path:
    """Draws a confusion matrix ``[C, C]`` (rows: true class, columns: predicted) with each
    row normalised to the fraction of its samples, a colour bar, and the classes on both axes
    (their names when given). Up to :data:`LABEL_ALL` classes every tick is labelled and the
    cells show their counts; above, every ``C / 30``-th tick, and the :data:`PAIRS_LISTED`
    most confused pairs (:func:`confused_pairs`) are listed beside the matrix. The size is
    :func:`confusion_size`. Writes :obj:`path` (PNG, PDF or SVG by its suffix) and returns
    it."""
    plt = require_matplotlib()
    cm = np.asarray(confusion, dtype=np.float64)
    C = len(cm)
    names = _names(class_names, C)
    fraction = _fractions(cm)
    width, side = confusion_size(C)
    listed = C > LABEL_ALL
    if listed:   # the matrix and its colour bar keep their square share; the pairs the rest
        fig, (ax, pairs_ax) = plt.subplots(1, 2, figsize=(width, side), layout='constrained',
                                           width_ratios=(side + 1.2, width - side - 1.2))
    else:
        fig, ax = plt.subplots(figsize=(width, side), layout='constrained')
    image = ax.imshow(fraction, cmap='Blues', vmin=0, vmax=1, interpolation='nearest')
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, aspect=30)
    bar.set_label('fraction of the true class')
    step = 1 if C <= LABEL_ALL else int(np.ceil(C / LABEL_ALL))
    ticks = np.arange(0, C, step)
    font = 9 if C <= 12 else 7
    ax.set_xticks(ticks, [_short(names[i]) for i in ticks], rotation=90, fontsize=font)
    ax.set_yticks(ticks, [_short(names[i]) for i in ticks], fontsize=font)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    if listed:
        _list_pairs(pairs_ax, cm, fraction, names)
    else:
        for i, j in zip(*np.nonzero(cm)):
            ax.text(j, i, f'{int(cm[i, j])}', ha='center', va='center', fontsize=font,
                    color='white' if fraction[i, j] > 0.5 else 'black')
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f'{title + chr(10) if title else ""}top-1 {100 * accuracy:.1f}% of '
                 f'{int(cm.sum())} samples, {C} classes', fontsize=10)
    return save_figure(fig, path)


def _list_pairs(ax: Any, cm: np.ndarray, fraction: np.ndarray, names: Sequence[str]) -> None:
    """The most confused pairs as text on :obj:`ax` (its frame hidden)."""
    ax.axis('off')
    lines = [f'{n:>4} {100 * fraction[t, p]:4.0f}%  {_short(names[t])}\n'
             f'{"":>12}→ {_short(names[p])}' for t, p, n in confused_pairs(cm)]
    ax.text(0, 1, f'the {len(lines)} most confused pairs', fontsize=10, weight='bold',
            va='top', transform=ax.transAxes)
    ax.text(0, 0.97, 'samples, % of the true class, true class\n'
            f'{"":>12}→ predicted class\n\n'
            + ('\n'.join(lines) if lines else 'none: every sample is right'),
            fontsize=9, family='monospace', va='top', linespacing=1.3,
            transform=ax.transAxes)


def plot_per_class_accuracy(confusion: np.ndarray, path: Union[str, Path],
                            class_names: Optional[Sequence[str]] = None,
                            title: str = '') -> Path:
    """Draws the accuracy of each class of a confusion matrix ``[C, C]`` (rows: true class)
    as horizontal bars, lowest first, with the class names and each class's sample count,
    and the mean class accuracy as a dashed line. Up to :data:`BARS_ALL` classes every class
    is drawn, above only the lowest :data:`BARS_ALL`; classes without samples are left out.
    The size is :func:`per_class_size`. Writes :obj:`path` and returns it."""
    plt = require_matplotlib()
    cm = np.asarray(confusion, dtype=np.float64)
    C = len(cm)
    names = _names(class_names, C)
    support = cm.sum(axis=1)
    present = np.flatnonzero(support > 0)
    accuracy = np.zeros(C)
    accuracy[present] = np.diag(cm)[present] / support[present]
    shown = present[np.argsort(accuracy[present], kind='stable')][:BARS_ALL]
    fig, ax = plt.subplots(figsize=per_class_size(len(shown)))
    rows = np.arange(len(shown))
    ax.barh(rows, 100 * accuracy[shown], color='tab:blue', height=0.7)
    ax.set_yticks(rows, [_short(names[c]) for c in shown], fontsize=8 if len(shown) > 20 else 9)
    ax.margins(y=0.01)
    ax.invert_yaxis()   # the lowest on top
    for row, c in zip(rows, shown):
        ax.text(100 * accuracy[c] + 1, row,
                f'{100 * accuracy[c]:.0f}% of {int(support[c])} samples', va='center',
                fontsize=7)
    mean = 100 * accuracy[present].mean() if len(present) else float('nan')
    if len(present):
        ax.axvline(mean, color='tab:red', linestyle='--', linewidth=1)
    ax.set_xlim(0, 128)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel('accuracy of the class (%)')
    what = (f'the {len(shown)} lowest of {len(present)} classes' if len(present) > len(shown)
            else f'{len(shown)} classes, lowest first')
    empty = f', {C - len(present)} without samples' if C > len(present) else ''
    ax.set_title(f'{title + chr(10) if title else ""}per-class accuracy: {what}{empty}; '
                 f'mean class accuracy {mean:.1f}% (dashed)', fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_evaluation(confusion: np.ndarray, folder: Union[str, Path],
                    class_names: Optional[Sequence[str]] = None, title: str = '',
                    suffix: str = '.png') -> List[Path]:
    """Both figures of an evaluation into :obj:`folder`: ``confusion`` and
    ``per_class_accuracy`` with :obj:`suffix`; returns their paths."""
    folder = Path(folder)
    return [plot_confusion(confusion, folder / f'{CONFUSION}{suffix}', class_names, title),
            plot_per_class_accuracy(confusion, folder / f'{PER_CLASS}{suffix}', class_names,
                                    title)]


# ------------------------------------------------------------------------------------------
# the subcommand

def add_arguments(parser: argparse.ArgumentParser) -> None:
    # not dest 'run': the dispatcher keeps the subcommand's function there
    parser.add_argument('folder', nargs='?', default=None, metavar='RUN',
                        help='a folder of python -m pyg_mstgcn.train --phase test (its '
                             'scores.pkl, labels.pkl and class names)')
    parser.add_argument('--scores', default=None, metavar='PKL',
                        help='a score file instead (dict sample name -> scores: scores.pkl, or '
                             'python -m pyg_mstgcn.ensemble --out)')
    parser.add_argument('--labels', default=None, metavar='PKL',
                        help="with --scores: the (sample_names, labels) pickle of the split")
    parser.add_argument('--class-names', default=None, metavar='NAMES',
                        help="class names: a file (one per line) or ntu60, ntu120, kinetics400 "
                             "(default: the run's, else the label numbers)")
    parser.add_argument('--out', default=None, metavar='DIR',
                        help='folder for confusion.EXT and per_class_accuracy.EXT (default: '
                             'RUN, else the current folder)')
    parser.add_argument('--format', default='png', choices=[s[1:] for s in FIGURE_SUFFIXES],
                        help='file format (default: %(default)s)')
    parser.add_argument('--title', default=None,
                        help='title prefix (default: the name of RUN or of the score file)')


def _inputs(args: argparse.Namespace) -> Tuple[Path, Path, Optional[List[str]], str]:
    """The score file, the label file, the run's class names and the default title."""
    if (args.folder is None) == (args.scores is None):
        raise InputError('give a --phase test folder RUN, or --scores PKL --labels PKL')
    if args.scores is not None:
        if args.labels is None:
            raise InputError('--scores needs --labels PKL (the split\'s sample names and '
                             'labels)')
        return Path(args.scores), Path(args.labels), None, Path(args.scores).stem
    run = Path(args.folder)
    if not (run / 'scores.pkl').is_file() or not (run / 'labels.pkl').is_file():
        raise InputError(f'{run} is not a folder of python -m pyg_mstgcn.train --phase test '
                         f'(no scores.pkl and labels.pkl)')
    names = None
    if (run / 'metrics.json').is_file():
        names = json.loads((run / 'metrics.json').read_text()).get('class_names')
    return run / 'scores.pkl', run / 'labels.pkl', names, run.name


def run(args: argparse.Namespace) -> int:
    from pyg_mstgcn.data.classes import class_names
    from pyg_mstgcn.ensemble import check_names, load_scores, stack
    from pyg_mstgcn.io import read_labels
    from pyg_mstgcn.train.metrics import confusion_matrix
    scores_path, labels_path, names, title = _inputs(args)
    try:
        scores = load_scores(scores_path)
        sample_names, labels = read_labels(labels_path)
        if args.class_names is not None:
            names = class_names(args.class_names)
    except (ValueError, FileNotFoundError) as e:
        raise InputError(str(e)) from None
    check_names({str(scores_path): scores}, sample_names)
    logits = stack(scores, sample_names)
    C = logits.shape[1]
    if max(labels, default=0) >= C:
        raise InputError(f'{labels_path} has label {max(labels)} but {scores_path} scores '
                         f'{C} classes')
    if names is not None and len(names) != C:
        raise InputError(f'{len(names)} class names for the {C} classes of {scores_path}')
    cm = confusion_matrix(logits.argmax(1), np.asarray(labels), C)
    folder = Path(args.out) if args.out else Path(args.folder or '.')
    paths = plot_evaluation(cm, folder, names, args.title or title, f'.{args.format}')
    print(f"written: {', '.join(str(p) for p in paths)}")
    return 0


__all__ = ['plot_confusion', 'plot_per_class_accuracy', 'plot_evaluation', 'confused_pairs',
           'confusion_size', 'per_class_size', 'LABEL_ALL', 'PAIRS_LISTED', 'BARS_ALL']
