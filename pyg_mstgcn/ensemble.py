"""Fuse the per-sample scores of several streams (joint, bone, joint motion, bone motion).

Command line::

    python -m pyg_mstgcn.ensemble --scores joint.pkl bone.pkl jm.pkl bm.pkl \\
        --weights 1 1 0.5 0.5 --labels data/ntu60/xsub/val_label.pkl

A score file is a pickled dict ``sample name -> scores [num_classes]`` (``scores.pkl`` of
``python -m pyg_mstgcn.train --phase test``; a list of ``(name, scores)`` pairs is accepted
too). The labels file is the preprocessed layout's ``(sample_names, labels)`` pair. Samples are
matched **by name**, never by position; score files whose samples differ from the labels' are
refused, naming the differences. The fused score of a sample is the weighted sum of its
streams' scores (as the original's ensemble), optionally of their softmax.
"""
from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from pyg_mstgcn.errors import ArgumentParser, InputError, listed, report
from pyg_mstgcn.io import load_pickle, read_labels
from pyg_mstgcn.train.metrics import topk_accuracy

PathLike = Union[str, Path]


class ScoreMismatch(InputError):
    """Score files that do not cover the same samples as the labels."""


def load_scores(path: PathLike) -> Dict[str, np.ndarray]:
    """``{sample name: scores}`` from a pickled dict or list of ``(name, scores)`` pairs."""
    content = load_pickle(path, 'score file', 'score files are the scores.pkl that python -m '
                          'pyg_mstgcn.train --phase test writes')
    if isinstance(content, Mapping):
        items = content.items()
    elif isinstance(content, (list, tuple)) and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in content):
        items = content
    else:
        raise InputError(f'{path} must hold a dict sample name -> scores (got '
                         f'{type(content).__name__})')
    out = {}
    for name, scores in items:
        try:
            out[str(name)] = np.asarray(scores, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(f"{path}: the scores of sample '{name}' are not numbers (got "
                             f"{type(scores).__name__})") from None
    if len(out) != len(items):
        raise InputError(f'{path} lists a sample name more than once')
    widths = sorted({len(v) for v in out.values()})
    if len(widths) > 1:
        raise InputError(f'{path}: the samples have different numbers of scores ({widths})')
    return out


def check_names(scores: Mapping[str, Mapping[str, np.ndarray]], names: Sequence[str]) -> None:
    """Raises :class:`ScoreMismatch` naming the samples missing from, or extra in, any score
    file (keyed by its path) compared with the labels' :obj:`names`."""
    wanted = set(names)
    problems = []
    for where, s in scores.items():
        missing, extra = wanted - set(s), set(s) - wanted
        if missing:
            problems.append(f'{where} lacks {len(missing)} sample(s) of the labels: '
                            f'{listed(sorted(missing))}')
        if extra:
            problems.append(f'{where} has {len(extra)} sample(s) not in the labels: '
                            f'{listed(sorted(extra))}')
    if problems:
        raise ScoreMismatch('the score files do not cover the same samples: '
                            + '; '.join(problems))


def stack(scores: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Scores ``[N, C]`` in the order of :obj:`names`."""
    return np.stack([scores[n] for n in names])


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fuse(score_sets: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float],
         names: Sequence[str], use_softmax: bool = False) -> np.ndarray:
    """The weighted sum ``[N, C]`` of the streams' scores, rows in the order of
    :obj:`names` (every set must hold every name: see :func:`check_names`)."""
    if len(score_sets) != len(weights):
        raise ValueError(f'{len(score_sets)} score sets but {len(weights)} weights')
    total = None
    for s, w in zip(score_sets, weights):
        x = stack(s, names)
        x = softmax(x) if use_softmax else x
        total = w * x if total is None else total + w * x
    return total


def main(argv: Optional[List[str]] = None) -> int:
    p = ArgumentParser(prog='python -m pyg_mstgcn.ensemble',
                       description=__doc__.split('\n\n')[0],
                       epilog=__doc__.split('\n\n', 1)[1],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--scores', nargs='+', required=True, metavar='PKL',
                   help='score files (dict sample name -> scores), one per stream')
    p.add_argument('--weights', nargs='+', type=float, default=None, metavar='W',
                   help='one weight per score file (default: all 1)')
    p.add_argument('--labels', required=True, metavar='PKL',
                   help='the (sample_names, labels) pickle of the evaluated split')
    p.add_argument('--softmax', action='store_true',
                   help='fuse softmax probabilities instead of raw scores')
    p.add_argument('--out', default=None, metavar='PKL',
                   help='write the fused scores (dict sample name -> scores) here')
    args = p.parse_args(argv)
    weights = args.weights if args.weights is not None else [1.0] * len(args.scores)
    try:
        if len(weights) != len(args.scores):
            raise ValueError(f'{len(args.scores)} score files but {len(weights)} weights; give '
                             f'one weight per file')
        names, labels = read_labels(args.labels)
        sets = {path: load_scores(path) for path in args.scores}
        check_names(sets, names)
        classes = {len(next(iter(s.values()))) for s in sets.values() if s}
        if len(classes) > 1:
            raise ValueError(f'the score files have different numbers of classes: {classes}')
    except (ValueError, FileNotFoundError) as e:  # every problem here is with the input
        return report(e)
    y = np.asarray(labels)
    width = max(len(str(s)) for s in args.scores + ['fused'])
    print(f"{'scores':<{width}}  weight   top1     top5")
    for path, w in zip(args.scores, weights):
        x = stack(sets[path], names)
        print(f'{path:<{width}}  {w:<6g}  {100 * topk_accuracy(x, y, 1):6.2f}%  '
              f'{100 * topk_accuracy(x, y, 5):6.2f}%')
    fused = fuse(list(sets.values()), weights, names, args.softmax)
    print(f"{'fused':<{width}}          {100 * topk_accuracy(fused, y, 1):6.2f}%  "
          f"{100 * topk_accuracy(fused, y, 5):6.2f}%")
    if args.out:
        with open(args.out, 'wb') as f:
            pickle.dump(dict(zip(names, fused.astype(np.float32))), f, protocol=4)
        print(f'fused scores: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
