"""The learned adjacency of a network per block and scale (.png, .pdf, .svg; .npz).

For each graph convolution: the fixed partition A_k, the learned offset B_k and their sum
A_k + B_k, what the convolution aggregates with. Entry [k, v, w] weighs the message from
joint v (rows) to joint w (columns) in subset k (identity, inward, outward). The figures come
from MSTGCN.adjacency_matrices(), which any script can call.

what --out draws (the convolutions chosen by --block and --scale; all by default):
  one convolution   A_k, B_k and A_k + B_k of every subset, with the joint names
  several           an overview: the sum over the subsets of B_k, one panel per block and
                    scale, on one colour scale
  with --top N      the skeleton with the N strongest learned connections that are not
                    bones, one panel per block
  .npz              the matrices: fixed, learned, effective [L, K, V, V], block, scale,
                    name [L], subsets [K], joint_names [V]

sizes (inches; 120 pixels an inch in .png):
  one convolution   11.6 x 12.4 (1392 x 1488 px) for the 3 subsets
  overview          1.6 + 2 per scale x 1.2 + 2 per block (4 scales, 10 blocks: 9.6 x 21.2)
  --top N           3.6 per block (5 a row) + 1.2 x 3.6 x the drawn pose's height / width
                    + 0.5 per row, + 0.8 (4 NTU blocks: 15.6 x 3.9)

examples:
  python -m pyg_mstgcn.visualize adjacency --weights runs/X/best.pt --out adjacency.png
  python -m pyg_mstgcn.visualize adjacency --weights runs/X/best.pt --block 2 --scale 1 \\
      --out block2_scale1.pdf
  python -m pyg_mstgcn.visualize adjacency --weights runs/X/best.pt --top 10 --out links.png
  python -m pyg_mstgcn.visualize adjacency --weights runs/X/best.pt --out adjacency.npz
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from pyg_mstgcn.errors import InputError
from pyg_mstgcn.graph import SUBSETS, SkeletonLayout, get_layout
from pyg_mstgcn.nn import AdjacencyMatrices
from pyg_mstgcn.visualize.figures import (FIGURE_SUFFIXES, check_suffix, require_matplotlib,
                                          save_figure)

#: Inches per heatmap of the overview, per heatmap of one convolution, per skeleton panel
#: (width).
OVERVIEW_PANEL, DETAIL_PANEL, LINKS_PANEL = 2.0, 3.4, 3.6
#: Skeleton panels per row of the links figure.
LINKS_COLUMNS = 5
#: The bones, the strongest links and the colour map of their strength.
BONE_COLOR, LINK_CMAP = '0.75', 'Reds'

Link = Tuple[int, int, float]


def _subset_name(k: int, K: int) -> str:
    return SUBSETS[k] if K == len(SUBSETS) else f'subset {k}'


def select(records: Sequence[AdjacencyMatrices], block: Optional[int] = None,
           scale: Optional[int] = None) -> List[AdjacencyMatrices]:
    """The records of :obj:`block` and :obj:`scale` (every one where :obj:`None`); a block or
    scale the network does not have is an :class:`~pyg_mstgcn.errors.InputError` naming
    those it has."""
    blocks = sorted({r.block for r in records})
    if block is not None and block not in blocks:
        raise InputError(f'--block {block}: the network has blocks {blocks[0]} to {blocks[-1]}')
    chosen = [r for r in records if block is None or r.block == block]
    scales = sorted({r.scale for r in chosen})
    if scale is not None and scale not in scales:
        where = f'block {block}' if block is not None else 'the network'
        raise InputError(f'--scale {scale}: {where} has scales {scales[0]} to {scales[-1]}')
    return [r for r in chosen if scale is None or r.scale == scale]


def overview_size(num_rows: int, num_columns: int) -> Tuple[float, float]:
    """The overview's ``(width, height)`` in inches: ``(1.6 + 2 * columns, 1.2 + 2 * rows)``,
    rows being blocks and columns scales."""
    return (1.6 + OVERVIEW_PANEL * num_columns, 1.2 + OVERVIEW_PANEL * num_rows)


def detail_size(num_subsets: int) -> Tuple[float, float]:
    """The figure of one convolution, ``(width, height)`` in inches: ``(3 * 3.4 + 1.4,
    3.4 * K + 2.2)`` for :math:`K` subsets (three columns: A, B, A + B)."""
    return (3 * DETAIL_PANEL + 1.4, DETAIL_PANEL * num_subsets + 2.2)


def links_size(num_panels: int, layout: Union[str, SkeletonLayout]) -> Tuple[float, float]:
    """The links figure's ``(width, height)`` in inches: panels 3.6 wide and as high as the
    layout's rest pose with the room for the names needs (:func:`pose_limits`), plus 0.5,
    up to :data:`LINKS_COLUMNS` a row; plus 1.2 in width for the colour bar and 0.8 in
    height for the title."""
    from pyg_mstgcn.visualize.poses import rest_pose
    (x0, x1), (y0, y1) = pose_limits(rest_pose(layout))
    columns = min(num_panels, LINKS_COLUMNS)
    rows = math.ceil(num_panels / LINKS_COLUMNS)
    height = LINKS_PANEL * float(y1 - y0) / float(x1 - x0) + 0.5
    return (LINKS_PANEL * columns + 1.2, height * rows + 0.8)


def pose_limits(xy: np.ndarray) -> Tuple[Tuple[float, float], Tuple[float, float]]:
    """The axis limits of a skeleton panel for the joints ``xy [V, 2]``: room for the names
    beside it (60% of its width on either side)."""
    low, high = xy.min(0), xy.max(0)
    room = np.array([0.6, 0.04]) * (high - low)
    return ((low[0] - room[0], high[0] + room[0]), (low[1] - room[1], high[1] + room[1]))


def _symmetric_norm(values: Sequence[np.ndarray]) -> Any:
    """A colour normalisation centred at 0 that covers every value."""
    from matplotlib.colors import TwoSlopeNorm
    bound = max(max(float(np.abs(v).max()) for v in values), 1e-6)
    return TwoSlopeNorm(0.0, -bound, bound)


def plot_adjacency_overview(records: Sequence[AdjacencyMatrices], path: Union[str, Path],
                            title: str = '') -> Path:
    r"""One heatmap per record, the sum over the subsets of the learned offset,
    :math:`\sum_k \mathbf{B}_k` (rows: from joint, columns: to joint, in layout order),
    blocks down and scales across, on one colour scale centred at 0. The size is
    :func:`overview_size`. Writes :obj:`path` and returns it."""
    plt = require_matplotlib()
    blocks = sorted({r.block for r in records})
    scales = sorted({r.scale for r in records})
    fig, axes = plt.subplots(len(blocks), len(scales), squeeze=False, layout='constrained',
                             figsize=overview_size(len(blocks), len(scales)))
    summed = {(r.block, r.scale): r.learned.sum(0).numpy() for r in records}
    norm = _symmetric_norm(list(summed.values()))
    image = None
    for i, block in enumerate(blocks):
        for j, scale in enumerate(scales):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if (block, scale) not in summed:
                ax.axis('off')
                continue
            image = ax.imshow(summed[block, scale], cmap='RdBu_r', norm=norm,
                              interpolation='nearest')
            ax.set_title(f'block {block}, scale {scale}', fontsize=9)
            if j == 0:
                ax.set_ylabel('from joint', fontsize=8)
            if i == len(blocks) - 1:
                ax.set_xlabel('to joint', fontsize=8)
    bar = fig.colorbar(image, ax=axes, shrink=0.6, aspect=40)
    bar.set_label(r'$\sum_k B_k$, the learned offset summed over the subsets '
                  r'(it starts at $\sum_k A_k$)', fontsize=9)
    fig.suptitle(f'{title + chr(10) if title else ""}learned offset of every graph convolution '
                 f'(joints in layout order; --block I --scale J: one with the joint names)',
                 fontsize=10)
    return save_figure(fig, path)


def plot_adjacency_detail(record: AdjacencyMatrices, path: Union[str, Path],
                          joint_names: Optional[Sequence[str]] = None,
                          title: str = '') -> Path:
    r"""The matrices of one graph convolution: a row per subset :math:`k`, the columns
    :math:`\mathbf{A}_k` (fixed), :math:`\mathbf{B}_k` (learned) and :math:`\mathbf{A}_k +
    \mathbf{B}_k` (effective); rows of a heatmap are the joints a message comes from,
    columns the joints it goes to, labelled with :obj:`joint_names` (else the indices). B
    and A + B share one colour scale centred at 0 per column. The size is
    :func:`detail_size`. Writes :obj:`path` and returns it."""
    plt = require_matplotlib()
    K, V = record.fixed.shape[:2]
    names = list(joint_names) if joint_names is not None else [str(v) for v in range(V)]
    if len(names) != V:
        raise ValueError(f'{len(names)} joint names for {V} joints')
    # A is non-negative; B and A + B take either sign, drawn on scales centred at 0
    columns = (('fixed partition $A_k$', record.fixed, False),
               ('learned offset $B_k$ (starts at $A_k$)', record.learned, True),
               ('effective $A_k + B_k$', record.effective, True))
    fig, axes = plt.subplots(K, 3, squeeze=False, layout='constrained',
                             figsize=detail_size(K))
    font = 7 if V <= 25 else 5
    for c, (label, matrices, signed) in enumerate(columns):
        values = matrices.numpy()
        style = (dict(cmap='RdBu_r', norm=_symmetric_norm([values])) if signed else
                 dict(cmap='Greys', vmin=0, vmax=max(float(values.max()), 1e-6)))
        for k in range(K):
            ax = axes[k, c]
            image = ax.imshow(values[k], interpolation='nearest', **style)
            ax.set_title(f'{label}, {_subset_name(k, K)}', fontsize=9)
            ax.set_xticks(range(V), names if k == K - 1 else [], rotation=90, fontsize=font)
            ax.set_yticks(range(V), names if c == 0 else [], fontsize=font)
            if k == K - 1:
                ax.set_xlabel('to joint', fontsize=8)
            if c == 0:
                ax.set_ylabel('from joint', fontsize=8)
        bar = fig.colorbar(image, ax=axes[:, c], shrink=0.6, aspect=40, location='bottom')
        bar.set_label(label, fontsize=9)
    fig.suptitle(f'{title + chr(10) if title else ""}block {record.block}, scale '
                 f'{record.scale} ({record.name})', fontsize=11)
    return save_figure(fig, path)


def strongest_links(records: Sequence[AdjacencyMatrices], layout: Union[str, SkeletonLayout],
                    top: int) -> List[Link]:
    r"""The :obj:`top` strongest learned connections that are not bones: joint pairs
    ``(v, w)``, ``v < w``, neither a bone of :obj:`layout` nor a self-loop, ranked by the
    strength :math:`\sum_k |\mathbf{B}_k[v, w]| + |\mathbf{B}_k[w, v]|` (both directions)
    averaged over :obj:`records`, as ``(v, w, strength)``, strongest first (ties: lower
    joints first). Off the bones :math:`\mathbf{A}` is zero, so this is also the strength of
    :math:`\mathbf{A} + \mathbf{B}`. Pairs of strength 0 (``adjacency='skeleton'`` learns
    none) are left out."""
    layout = get_layout(layout)
    B = np.mean([r.learned.abs().sum(0).numpy() for r in records], axis=0)
    strength = B + B.T
    bones = {frozenset(p) for p in layout.inward}
    pairs = [(v, w, float(strength[v, w])) for v in range(len(B)) for w in range(v + 1, len(B))
             if frozenset((v, w)) not in bones and strength[v, w] > 0]
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs[:top]


def plot_links(records: Sequence[AdjacencyMatrices], layout: Union[str, SkeletonLayout],
               path: Union[str, Path], top: int = 10, title: str = '') -> Path:
    """The skeleton of :obj:`layout` at rest (:func:`~pyg_mstgcn.visualize.poses.rest_pose`)
    with its :obj:`top` strongest learned connections that are not bones
    (:func:`strongest_links`), one panel per block over the scales of :obj:`records`, the
    joints at either end named; line width and colour give the strength, on one scale. The
    size is :func:`links_size`. Writes :obj:`path` and returns it."""
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.patches import FancyArrowPatch

    from pyg_mstgcn.visualize.poses import rest_pose
    from pyg_mstgcn.visualize.render import draw_skeleton
    plt = require_matplotlib()
    layout = get_layout(layout)
    xy = rest_pose(layout)
    names = layout.joint_names or tuple(str(v) for v in range(layout.num_joints))
    blocks = sorted({r.block for r in records})
    links = {b: strongest_links([r for r in records if r.block == b], layout, top)
             for b in blocks}
    strengths = [s for found in links.values() for _, _, s in found]
    norm = Normalize(min(strengths, default=0.0), max(strengths, default=1.0))
    # the light end of the colour map would vanish on white
    cmap = ListedColormap(plt.get_cmap(LINK_CMAP)(np.linspace(0.35, 1.0, 256)))
    columns = min(len(blocks), LINKS_COLUMNS)
    rows = math.ceil(len(blocks) / LINKS_COLUMNS)
    fig, axes = plt.subplots(rows, columns, squeeze=False, layout='constrained',
                             figsize=links_size(len(blocks), layout))
    for ax in axes.flat:
        ax.axis('off')
    for ax, block in zip(axes.flat, blocks):
        draw_skeleton(ax, xy, layout, BONE_COLOR, linewidth=3, zorder=1)
        for v, w, s in reversed(links[block]):   # the strongest drawn last, on top
            width = 1 + 3 * norm(s) if norm.vmax > norm.vmin else 2.5
            # curved, so that a link is not mistaken for the bones it passes along
            ax.add_patch(FancyArrowPatch(xy[v], xy[w], connectionstyle='arc3,rad=0.25',
                                         arrowstyle='-', color=cmap(norm(s)), linewidth=width,
                                         alpha=0.9, zorder=3))
        _name_ends(ax, xy, {j for v, w, _ in links[block] for j in (v, w)}, names)
        chosen = sorted({r.scale for r in records if r.block == block})
        which = f'scale {chosen[0]}' if len(chosen) == 1 else f'scales {chosen[0]}-{chosen[-1]}'
        ax.set_title(f'block {block}, {which}' + ('' if links[block] else '\nno learned links'),
                     fontsize=9)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm, cmap), ax=axes, shrink=0.7, aspect=30)
    bar.set_label(r'strength $\sum_k |B_k[v,w]| + |B_k[w,v]|$, mean over the scales',
                  fontsize=8)
    fig.suptitle(f'{title + chr(10) if title else ""}the {top} strongest learned connections '
                 f'that are not bones (grey: bones)', fontsize=10)
    return save_figure(fig, path)


def _name_ends(ax: Any, xy: np.ndarray, joints: Iterable[int], names: Sequence[str]) -> None:
    """Names :obj:`joints` in two columns beside the skeleton ``xy [V, 2]``, each with a
    leader line, moved apart vertically so that no two names overlap; sets the axis
    limits."""
    low, high = xy.min(0), xy.max(0)
    span = high - low
    gap, margin = 0.045 * span[1], 0.12 * span[0]
    middle = (low[0] + high[0]) / 2
    for right in (False, True):
        side = sorted((v for v in joints if (xy[v, 0] >= middle) == right),
                      key=lambda v: -xy[v, 1])   # top down
        y = []
        for v in side:
            y.append(xy[v, 1] if not y else min(xy[v, 1], y[-1] - gap))
        x = high[0] + margin if right else low[0] - margin
        for v, label_y in zip(side, y):
            label = ax.annotate(names[v], xy[v], xytext=(x, label_y), fontsize=6.5,
                                va='center', ha='left' if right else 'right', zorder=4,
                                arrowprops=dict(arrowstyle='-', color='0.55', linewidth=0.5,
                                                shrinkA=0, shrinkB=2))
            label.set_in_layout(False)   # the axis limits leave room for it
    xlim, ylim = pose_limits(xy)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect('equal', adjustable='box')


def save_npz(records: Sequence[AdjacencyMatrices], path: Union[str, Path],
             joint_names: Optional[Sequence[str]] = None) -> Path:
    """Writes the matrices of :obj:`records` to :obj:`path` (``.npz``): ``fixed``,
    ``learned`` and ``effective`` ``[L, K, V, V]`` (float32), ``block`` and ``scale``
    ``[L]``, ``name`` ``[L]`` (module paths), ``subsets`` ``[K]`` and, when given,
    ``joint_names`` ``[V]``; no pickled objects (``np.load`` reads it as it is)."""
    K = records[0].fixed.size(0)
    arrays = {key: np.stack([getattr(r, key).float().numpy() for r in records])
              for key in ('fixed', 'learned', 'effective')}
    arrays.update(block=np.array([r.block for r in records]),
                  scale=np.array([r.scale for r in records]),
                  name=np.array([r.name for r in records]),
                  subsets=np.array([_subset_name(k, K) for k in range(K)]))
    if joint_names is not None:
        arrays['joint_names'] = np.array(list(joint_names))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


# ------------------------------------------------------------------------------------------
# the subcommand

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--weights', required=True, metavar='CKPT',
                        help='a checkpoint (best.pt, last.pt, or converted)')
    parser.add_argument('--out', required=True, metavar='FILE',
                        help=f"{', '.join(FIGURE_SUFFIXES)} (a figure) or .npz (the matrices)")
    parser.add_argument('--block', type=int, default=None, metavar='I',
                        help='only block I (from 0; default: every block)')
    parser.add_argument('--scale', type=int, default=None, metavar='J',
                        help='only scale J of each block (from 0; default: every scale)')
    parser.add_argument('--top', type=int, default=None, metavar='N',
                        help='draw the N strongest learned connections that are not bones on '
                             'the skeleton, instead of the heatmaps')
    parser.add_argument('--title', default=None,
                        help='title (default: the checkpoint, as folder/file)')


def run(args: argparse.Namespace) -> int:
    from pyg_mstgcn.train.checkpoint import load_model
    out = check_suffix(args.out, FIGURE_SUFFIXES + ('.npz', ))
    if args.top is not None and args.top < 1:
        raise InputError(f'--top must be a positive integer (got {args.top})')
    if args.top is not None and out.suffix.lower() == '.npz':
        raise InputError('--top draws a figure; give --out a .png, .pdf or .svg file')
    model, _ = load_model(args.weights)
    records = select(model.adjacency_matrices(), args.block, args.scale)
    layout = model.layout
    weights = Path(args.weights)
    title = args.title if args.title is not None else f'{weights.parent.name}/{weights.name}'
    if out.suffix.lower() == '.npz':
        save_npz(records, out, layout.joint_names)
    elif args.top is not None:
        plot_links(records, layout, out, args.top, title)
    elif len(records) == 1:
        plot_adjacency_detail(records[0], out, layout.joint_names, title)
    else:
        plot_adjacency_overview(records, out, title)
    print(f'written: {out}')
    return 0


__all__ = ['select', 'strongest_links', 'plot_adjacency_overview', 'plot_adjacency_detail',
           'plot_links', 'save_npz', 'overview_size', 'detail_size', 'links_size',
           'pose_limits']
