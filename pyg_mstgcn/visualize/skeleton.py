"""Skeleton animations (.gif, .mp4) and frame strips (.png) of any input the predictor reads.

The clip is drawn as the dataset's preprocessing leaves it (the model's input space, before a
checkpoint's transforms), its valid frames only: the bones of the layout, one colour per
person; 3-D skeletons seen from --elev / --azim, 2-D ones in their image frame (normalised
coordinates, y down). --stream bone | motion | bone_motion draws the vectors the model
receives for that stream as arrows over the faint skeleton: a bone (joint minus parent) ends
at its joint; a motion (next frame minus this one, scaled as the corner note says) starts
there. With --weights the predicted top-5 (class names and probabilities) is drawn beside it:
of the whole clip, or with --window of the window around each frame.

sizes (inches; pixels = inches x --dpi, 100 by default):
  .gif .mp4  4.8 x 4.8 (480 x 480 px), 8.4 x 4.8 (840 x 480 px) with --weights; one frame per
             drawn frame: the clip's frames, every --step-th, at most --max-frames of them
             (evenly spaced), played at --fps
  .png       a strip of --frames K evenly spaced frames, 2.4 in wide each, plus 3.6 in for the
             top-5 with --weights; 3.3 in high (K = 8: 1920 x 330 px, 2280 x 330 px); .pdf
             and .svg the same, as vector graphics
  .mp4 needs ffmpeg (pip install imageio-ffmpeg, or the ffmpeg program); .gif needs Pillow.

examples:
  python -m pyg_mstgcn.visualize skeleton S001C001P001R001A011.skeleton --out clip.gif
  python -m pyg_mstgcn.visualize skeleton clip.json --weights kinetics.pt --window 64 \\
      --stride 16 --out clip.mp4
  python -m pyg_mstgcn.visualize skeleton data/ntu60/xsub --split val --index 7 \\
      --stream bone --frames 6 --out frames.png
"""
from __future__ import annotations

import argparse
from typing import Any, List, Optional, Sequence

import numpy as np

from pyg_mstgcn.errors import InputError
from pyg_mstgcn.predict.recognizer import Prediction
from pyg_mstgcn.predict.sequences import check_window
from pyg_mstgcn.visualize.clips import (ANIMATIONS, PANEL, Clip, add_input_arguments,
                                        add_output_arguments, animation_writer, axes_at,
                                        check_output_options, draw_frame, frame_indices,
                                        load_recognizer, make_scene, output_suffix, read_clip,
                                        report_written, write_animation)
from pyg_mstgcn.visualize.figures import require_matplotlib

#: Inches: the top-5 panel beside the skeleton, a frame of a strip (w, h).
BARS, STRIP_FRAME = 3.6, (2.4, 3.3)
#: ``--stream`` -> the stream of :func:`~pyg_mstgcn.data.make_stream`.
STREAM_NAMES = {'joint': 'joint', 'bone': 'bone', 'motion': 'joint_motion',
                'joint_motion': 'joint_motion', 'bone_motion': 'bone_motion'}
#: The classes drawn beside the skeleton.
TOP_K = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    add_output_arguments(parser, 'clip.gif or clip.mp4 (an animation), frames.png (a strip; '
                                 'or .pdf, .svg)')
    parser.add_argument('--weights', default=None, metavar='CKPT',
                        help='a checkpoint: its top-5 is drawn beside the skeleton')
    parser.add_argument('--layout', default=None,
                        help='the skeleton layout without --weights (default: that of the '
                             'input: ntu-rgb+d, openpose, coco, or by the joints of an array)')
    parser.add_argument('--stream', default=None, choices=sorted(STREAM_NAMES),
                        metavar='STREAM',
                        help="what to draw: joint, bone, motion (joint_motion) or bone_motion "
                             "(default: the checkpoint's stream, else joint)")
    parser.add_argument('--window', type=int, default=None, metavar='W',
                        help='with --weights: predict on windows of W frames')
    parser.add_argument('--stride', type=int, default=None, metavar='S',
                        help='frames between windows (default: W)')
    parser.add_argument('--frames', type=int, default=8, metavar='K',
                        help='.png: the frames of the strip (default: %(default)s)')


def prediction_at(predictions: Sequence[Prediction], t: int) -> Prediction:
    """The prediction of the window covering frame :obj:`t` whose centre is nearest to it
    (the only one, without windows)."""
    covering = [p for p in predictions if p.start <= t < p.end] or list(predictions)
    return min(covering, key=lambda p: abs((p.start + p.end - 1) / 2 - t))


def draw_top(ax: Any, prediction: Prediction, whole: bool) -> None:
    """Draws the top classes of :obj:`prediction` on a cleared :obj:`ax`: one bar per class,
    best on top, its name above it and its probability beside it; the title says which
    frames were predicted."""
    ax.cla()
    top = prediction.top[:TOP_K]
    rows = np.arange(len(top))[::-1]
    ax.barh(rows, [t['score'] for t in top], height=0.4,
            color=['tab:green'] + ['0.65'] * (len(top) - 1))
    for row, t in zip(rows, top):
        name = t['name'] if t['name'] is not None else f"class {t['label']}"
        ax.text(0, row + 0.25, name if len(name) <= 42 else name[:41] + '\u2026',
                va='bottom', ha='left', fontsize=8)
        ax.text(t['score'] + 0.02, row, f"{100 * t['score']:.1f}%", va='center', fontsize=8)
    ax.set_xlim(0, 1.2)
    ax.set_ylim(-0.5, len(top) - 0.2)
    ax.set_yticks([])
    ax.set_xticks([0, 0.5, 1])
    ax.set_xlabel('probability', fontsize=8)
    ax.tick_params(labelsize=8)
    for side in ('top', 'right', 'left'):
        ax.spines[side].set_visible(False)
    span = f'frames {prediction.start + 1}\u2013{prediction.end}'
    ax.set_title(f'top-{len(top)}, {"whole clip" if whole else "window"}: {span}',
                 fontsize=9, loc='left')


def run(args: argparse.Namespace) -> int:
    plt = require_matplotlib()
    suffix = output_suffix(args.out)
    check_output_options(args)
    writer = animation_writer(suffix, args.fps) if suffix in ANIMATIONS else None
    check_window(args.window, args.stride)
    if args.window is not None and args.weights is None:
        raise InputError('--window needs --weights: the windows are what is predicted')
    recognizer = load_recognizer(args.weights, args.labels) if args.weights else None
    clip = read_clip(args, recognizer, args.layout)
    stream = STREAM_NAMES[args.stream] if args.stream else \
        recognizer.members[0].stream if recognizer is not None else 'joint'
    windowed, whole = [], None   # per-window predictions (--window), that of the whole clip
    if recognizer is not None and args.window is not None:
        windowed = list(recognizer.iter_predict([clip.sequence], TOP_K, args.window,
                                                args.stride))
    if recognizer is not None and (args.window is None or writer is None):
        whole = next(recognizer.iter_predict([clip.sequence], TOP_K))
    title = f'{clip.title}, {stream} stream'
    if writer is None:
        fig = _strip(plt, clip, stream, whole, windowed, args, title)
        fig.savefig(args.out, dpi=args.dpi)
        report_written(args.out, 1, fig, args.dpi)
        plt.close(fig)
        return 0
    predictions = windowed or ([whole] if whole is not None else [])
    width = PANEL + (BARS if predictions else 0)
    fig = plt.figure(figsize=(width, PANEL))
    ax = axes_at(fig, 0.1, 0.1, PANEL - 0.2, PANEL - 0.55)
    bars = axes_at(fig, PANEL + 0.1, 0.7, BARS - 0.4, PANEL - 1.6) if predictions else None
    fig.text(0.1 / width, 1 - 0.12 / PANEL, title, fontsize=9, va='top')
    frames = frame_indices(clip.frames, args.step, args.max_frames)
    scene = make_scene(clip.x, clip.layout, frames, args.elev, args.azim, stream,
                       (PANEL - 0.2) / (PANEL - 0.55))

    def draw(i: int) -> None:
        draw_frame(ax, scene, i, clip.layout, counter=f'frame {frames[i] + 1}/{clip.frames}')
        if bars is not None:
            draw_top(bars, prediction_at(predictions, int(frames[i])), args.window is None)

    write_animation(fig, args.out, writer, args.dpi, len(frames), draw)
    report_written(args.out, len(frames), fig, args.dpi)
    plt.close(fig)
    return 0


def _strip(plt: Any, clip: Clip, stream: str, whole: Optional[Prediction],
           windowed: List[Prediction], args: argparse.Namespace, title: str) -> Any:
    """The figure of a strip: evenly spaced frames side by side, then the top-5 of the whole
    clip (with windows, each frame's top-1 above it)."""
    K = min(args.frames, clip.frames)
    frames = np.round(np.linspace(0, clip.frames - 1, K)).astype(int)
    w, h = STRIP_FRAME
    width = K * w + (BARS if whole is not None else 0)
    fig = plt.figure(figsize=(width, h))
    fig.text(0.05 / width, 1 - 0.08 / h, title, fontsize=9, va='top')
    scene = make_scene(clip.x, clip.layout, frames, args.elev, args.azim, stream,
                       (w - 0.1) / (h - 0.75))
    for i in range(K):
        ax = axes_at(fig, i * w + 0.05, 0.05, w - 0.1, h - 0.75)
        draw_frame(ax, scene, i, clip.layout, counter=f'frame {frames[i] + 1}', note=i == 0)
        if windowed:
            best = prediction_at(windowed, int(frames[i])).top[0]
            ax.set_title(f"{best['name'] or best['label']} {100 * best['score']:.0f}%",
                         fontsize=7)
    if whole is not None:
        draw_top(axes_at(fig, K * w + 0.1, 0.5, BARS - 0.4, h - 1.2), whole, True)
    return fig
