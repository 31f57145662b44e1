r"""Which joints and frames drove a prediction: a class-activation map (.png, .gif, .mp4).

The map of class c (the predicted one, or --class) is that of the last block's features h,
which the model averages over frames, joints and persons before its linear classifier (w, b):

    cam[t', v, m] = w_c . h[m, v, :, t']      mean over (t', v, m) of cam  +  b_c  =  logit c

so red cells raise the class's score and blue ones lower it. Column t' is centred on input
frame s t' (s = T / T', the blocks' temporal stride). The map is computed on exactly what the
model receives (the checkpoint's stream and evaluation transforms) and drawn over the frames
that hold the clip (the padding, or the repetition NTU RGB+D's preprocessing adds, counts in
the mean but is not drawn; all frames when the transforms resample the clip): .png as a
joints x frames heatmap per person; .gif / .mp4 as the skeleton with each joint's size and
colour given by its value at that frame, beside the heatmap with the frame marked.

sizes (inches; pixels = inches x --dpi, 100 by default):
  .png       8.0 x (1.0 + 3.6 per person drawn): 800 x 460 px for one person (.pdf, .svg:
             the same, as vector graphics)
  .gif .mp4  10.4 x 4.8 (1040 x 480 px); one frame per drawn frame (every --step-th of the
             clip, at most --max-frames of them, evenly spaced)

examples:
  python -m pyg_mstgcn.visualize importance --weights best.pt S001C001P001R001A011.skeleton \
      --out imp.png
  python -m pyg_mstgcn.visualize importance --weights best.pt clip.json --class 'reading' \
      --out imp.gif
"""
from __future__ import annotations

import argparse
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_mstgcn.checks import suggest
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.graph import get_layout
from pyg_mstgcn.models import MSTGCN
from pyg_mstgcn.visualize.clips import (ANIMATIONS, PANEL, add_input_arguments,
                                        add_output_arguments, animation_writer, axes_at,
                                        check_output_options, draw_frame, frame_indices,
                                        load_recognizer, make_scene, output_suffix, read_clip,
                                        report_written, write_animation)
from pyg_mstgcn.visualize.figures import require_matplotlib
from pyg_mstgcn.visualize.render import PERSON_COLORS, is_three_d, visible

#: Inches: the width of the heatmap figure, the height of each person's heatmap in it, and
#: the width of the animation (the skeleton panel, then the heatmap).
WIDTH, PERSON_HEIGHT, ANIMATION_WIDTH = 8.0, 3.6, 10.4
CMAP = 'RdBu_r'


def class_activation_map(model: MSTGCN, x: Tensor, label: Optional[int] = None
                         ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""The class-activation map of the last block's features of :obj:`model` for a dense
    batch ``x [N, C, T, V, M]``: ``cam[n, t', v, m] = fc.weight[c_n] . h[n, m, v, :, t']``.

    Since the model averages the features over frames, joints and persons before its linear
    classifier, ``cam[n].mean() + fc.bias[c_n]`` is the logit of :math:`c_n`.

    Args:
        model (MSTGCN): The network.
        x (torch.Tensor): What it receives, ``[N, C, T, V, M]``.
        label (int, optional): The class of every map (default: each sample's predicted one).

    Returns:
        ``(cam [N, T', V, M], labels [N], logits [N, num_classes])``.
    """
    with torch.no_grad():
        features = model.forward_features(x)                       # [N * M * V, C', T']
        logits = model.fc(model.pool(features))
        labels = logits.argmax(dim=1) if label is None else \
            torch.full((x.size(0), ), int(label), dtype=torch.long, device=x.device)
        N, M, V = x.size(0), model.num_person, model.layout.num_joints
        h = features.view(N, M, V, features.size(1), features.size(2))
        cam = torch.einsum('nmvct,nc->ntvm', h, model.fc.weight[labels])
    return cam, labels, logits


def column_of(frames: np.ndarray, num_frames: int, num_columns: int) -> np.ndarray:
    """The map column ``t'`` of each input frame: the one centred nearest to it (column
    ``t'`` is centred on frame ``s t'``, ``s = num_frames / num_columns``)."""
    stride = num_frames / num_columns
    return np.clip(np.floor(np.asarray(frames) / stride + 0.5), 0, num_columns - 1).astype(int)


def class_index(given: str, names: Optional[Sequence[str]], num_classes: int) -> int:
    """The class of ``--class``: an index, or a name of the checkpoint's classes."""
    if given.isdigit() and int(given) < num_classes:
        return int(given)
    if names is not None and given in names:
        return list(names).index(given)
    raise InputError(f"--class {given}: not a class index (0 to {num_classes - 1})"
                     f"{' nor a class name' + suggest(given, names) if names else ''}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--weights', required=True, metavar='CKPT',
                        help='a checkpoint (.pt) of the model to explain')
    add_input_arguments(parser)
    add_output_arguments(parser, 'imp.png (heatmap; or .pdf, .svg) or imp.gif / imp.mp4 '
                                 '(animation)')
    parser.add_argument('--class', dest='label', default=None, metavar='C',
                        help='the class to explain, by index or name (default: the predicted)')


def run(args: argparse.Namespace) -> int:
    plt = require_matplotlib()
    suffix = output_suffix(args.out)
    check_output_options(args)
    writer = animation_writer(suffix, args.fps) if suffix in ANIMATIONS else None
    recognizer = load_recognizer(args.weights, args.labels)
    model = recognizer.members[0].model
    if not isinstance(model, MSTGCN):
        raise InputError(f'{args.weights}: an exported network, without the features the map '
                         f'is made of; give the checkpoint (.pt) it was exported from')
    label = None if args.label is None else class_index(args.label, recognizer.class_names,
                                                        recognizer.num_classes)
    clip = read_clip(args, recognizer)
    sample = [(clip.x, clip.frames)]
    x, = recognizer.model_inputs(sample)
    joints = recognizer.model_inputs(sample, 'joint')[0][0].cpu().numpy()   # [C, T, V, M]
    cam, labels, logits = class_activation_map(model, x, label)
    cam, label = cam[0].cpu().numpy(), int(labels[0])
    T = x.size(2)   # the transforms keep the clip's frames, or resample it into all T
    shown = clip.frames if T == clip.x.shape[1] else T
    layout = get_layout(recognizer.layout)
    persons = [m for m in range(joints.shape[-1])
               if visible(joints[:, :shown, :, m].transpose(1, 2, 0),
                          is_three_d(layout)).any()] or [0]
    columns = column_of(np.arange(shown), T, cam.shape[0])
    limit = float(np.abs(cam[:columns[-1] + 1][..., persons]).max()) or 1.0
    title = _title(clip.sequence.sample, recognizer, logits[0].cpu().numpy(), label,
                   args.label is not None, recognizer.members[0].stream, T, shown, clip.frames)
    heat = _Heatmap(cam, T, shown, persons, limit, layout.joint_names or
                    [str(v) for v in range(layout.num_joints)], recognizer.class_names,
                    label)
    if writer is None:
        _still(plt, heat, title, args)
        return 0
    fig = plt.figure(figsize=(ANIMATION_WIDTH, PANEL))
    fig.text(0.1 / ANIMATION_WIDTH, 1 - 0.08 / PANEL, title, fontsize=9, va='top')
    ax = axes_at(fig, 0.1, 0.1, PANEL - 0.2, PANEL - 0.8)
    frames = frame_indices(shown, args.step, args.max_frames)
    scene = make_scene(joints, layout, frames, args.elev, args.azim,
                       aspect=(PANEL - 0.2) / (PANEL - 0.8))
    cursors = heat.draw(fig, PANEL + 1.25, ANIMATION_WIDTH - PANEL - 2.3, 0.55, PANEL - 1.3)
    cmap, norm = plt.get_cmap(CMAP), heat.norm()

    def draw(i: int) -> None:
        values = cam[column_of(frames[i], T, cam.shape[0])].T           # [M, V]
        draw_frame(ax, scene, i, layout, joint_sizes=6 + 110 * np.abs(values) / limit,
                   joint_colors=[cmap(norm(v)) for v in values], light_bones=True,
                   counter=f'frame {frames[i] + 1}/{shown}')
        for line in cursors:
            line.set_xdata([frames[i] + 1] * 2)

    write_animation(fig, args.out, writer, args.dpi, len(frames), draw)
    report_written(args.out, len(frames), fig, args.dpi)
    plt.close(fig)
    return 0


def _still(plt: Any, heat: '_Heatmap', title: str, args: argparse.Namespace) -> None:
    """Writes the heatmaps alone, one person below the other."""
    height = 1.0 + PERSON_HEIGHT * len(heat.persons)
    fig = plt.figure(figsize=(WIDTH, height))
    fig.text(0.1 / WIDTH, 1 - 0.08 / height, title, fontsize=9, va='top')
    heat.draw(fig, 1.3, WIDTH - 2.5, 0.55, height - 1.0)
    fig.savefig(args.out, dpi=args.dpi)
    report_written(args.out, 1, fig, args.dpi)
    plt.close(fig)


class _Heatmap:
    """The joints x frames heatmaps of a map ``cam [T', V, M]``, one per person drawn, on a
    shared symmetric colour scale."""

    def __init__(self, cam: np.ndarray, num_frames: int, shown: int, persons: List[int],
                 limit: float, joint_names: Sequence[str], class_names: Optional[List[str]],
                 label: int) -> None:
        self.cam, self.T, self.shown, self.persons = cam, num_frames, shown, persons
        self.limit, self.names = limit, [n.replace('_', ' ') for n in joint_names]
        self.class_name = class_names[label] if class_names else f'class {label}'

    def norm(self) -> Any:
        from matplotlib.colors import Normalize
        return Normalize(-self.limit, self.limit)

    def draw(self, fig: Any, left: float, width: float, bottom: float, height: float
             ) -> List[Any]:
        """Draws the heatmaps stacked in the box (inches) and the colour bar right of it;
        returns a vertical line per heatmap at frame 1, to move to the frame drawn."""
        V, stride = len(self.names), self.T / self.cam.shape[0]
        columns = column_of(np.arange(self.shown), self.T, self.cam.shape[0])[-1] + 1
        extent = (1 - stride / 2, 1 + (columns - 0.5) * stride, V - 0.5, -0.5)
        each, gap = height / len(self.persons), 0.45
        row_points = 72 * (each - gap) / V   # every step-th joint named, in 6 pt at least
        step = int(np.ceil(6 / (0.85 * row_points)))
        font = min(7.0, 0.85 * row_points * step)
        lines, image = [], None
        for k, m in enumerate(self.persons):
            ax = axes_at(fig, left, bottom + (len(self.persons) - 1 - k) * each, width,
                         each - gap)
            image = ax.imshow(self.cam[:columns, :, m].T, aspect='auto', cmap=CMAP,
                              norm=self.norm(), extent=extent, interpolation='nearest')
            ax.set_xlim(0.5, self.shown + 0.5)
            ax.set_yticks(range(0, V, step), self.names[::step], fontsize=font)
            ax.tick_params(axis='x', labelsize=7)
            ax.set_ylabel(f'person {m + 1}', color=PERSON_COLORS[m % len(PERSON_COLORS)],
                          fontsize=8)
            lines.append(ax.axvline(1, color='k', linewidth=0.8))
        ax.set_xlabel('frame', fontsize=8)
        bar = fig.colorbar(image, cax=axes_at(fig, left + width + 0.15, bottom, 0.12, height
                                              - gap))
        bar.set_label(f"activation for '{self.class_name}'\n(mean + bias = its logit)",
                      fontsize=8)
        bar.ax.tick_params(labelsize=7)
        return lines


def _title(sample: str, recognizer: Any, logits: np.ndarray, label: int, given: bool,
           stream: str, num_frames: int, shown: int, clip_frames: int) -> str:
    """Three lines: the class explained and its probability (and the predicted one when
    another class is given), what the model received and which frames are drawn, and how to
    read the colours."""
    probability = np.exp(logits - logits.max())
    probability /= probability.sum()
    names = recognizer.class_names or [f'class {c}' for c in range(len(logits))]
    best = int(np.argmax(logits))
    line = (f"{sample}: class activation map of '{names[label]}' "
            f"({'given' if given else 'predicted'}, p = {100 * probability[label]:.1f}%")
    if label != best:
        line += f"; predicted '{names[best]}' {100 * probability[best]:.1f}%"
    drawn = f'the clip, frames 1\u2013{shown}' if shown < num_frames else \
        f'all, sampled from the {clip_frames} of the clip' if shown != clip_frames else 'all'
    return (f'{line})\nmodel input: {stream} stream, {num_frames} frames; drawn: {drawn}\n'
            f'red: raises the score of the class, blue: lowers it')
