"""What the subcommands that draw a clip share (``skeleton``, ``importance``): their input
and output options, reading one sequence of any input the predictor reads, finished as the
dataset's preprocessing leaves it, its frames in the drawing plane (:class:`Scene`), drawing
one frame, and writing animations (``.gif`` with Pillow, ``.mp4`` with ffmpeg) frame by frame.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from pyg_mstgcn.data import make_stream
from pyg_mstgcn.data.classes import LABELS_HELP
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.graph import get_layout
from pyg_mstgcn.io import data_path
from pyg_mstgcn.predict.inputs import FORMATS, ReadOptions, expand, read_input
from pyg_mstgcn.predict.recognizer import Recognizer
from pyg_mstgcn.predict.sequences import PoseSequence, finish
from pyg_mstgcn.preprocess.ntu import NUM_PERSONS
from pyg_mstgcn.visualize.figures import FIGURE_SUFFIXES, check_suffix
from pyg_mstgcn.visualize.render import PERSON_COLORS, draw_skeleton, is_three_d, to_view, visible

#: Inches: the side of a skeleton panel.
PANEL = 4.8
#: The suffixes of animations (the still figures': :data:`~.figures.FIGURE_SUFFIXES`).
ANIMATIONS = ('.gif', '.mp4')
#: The skeleton layout of each raw input format (2-D keypoints of another layout are mapped
#: to the one asked for).
RAW_LAYOUTS = {'ntu': 'ntu-rgb+d', 'kinetics': 'openpose', 'openpose': 'openpose',
               'coco': 'coco'}


# -- arguments ------------------------------------------------------------------------------------

def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The input options shared by the subcommands that draw a clip."""
    parser.add_argument('input', metavar='INPUT',
                        help='a file or folder the predictor reads: .skeleton, Kinetics / '
                             'OpenPose / COCO JSON, PYSKL pickle, .npy array, dataset folder')
    parser.add_argument('--index', type=int, default=0, metavar='I',
                        help='the sequence of INPUT to draw, from 0, when it holds several '
                             '(default: %(default)s)')
    parser.add_argument('--format', default=None, metavar='FORMAT',
                        help=f"the input's format: {', '.join(FORMATS)} (default: detected)")
    parser.add_argument('--split', default=None, help='pyskl / arrays: the split to read')
    parser.add_argument('--frame-size', nargs=2, type=float, default=None, metavar=('W', 'H'),
                        help='the frame size of 2-D pixel coordinates, which are divided by it')
    parser.add_argument('--labels', default=None, metavar='FILE', help=LABELS_HELP)


def add_output_arguments(parser: argparse.ArgumentParser, outputs: str) -> None:
    """The output options shared by the subcommands that draw a clip."""
    parser.add_argument('--out', required=True, metavar='FILE', help=outputs)
    parser.add_argument('--dpi', type=int, default=100,
                        help='pixels per inch (default: %(default)s)')
    parser.add_argument('--fps', type=float, default=30.0,
                        help='frames per second of an animation (default: %(default)s, the '
                             'rate NTU RGB+D and Kinetics were recorded at)')
    parser.add_argument('--step', type=int, default=1, metavar='S',
                        help='draw every S-th frame (default: %(default)s)')
    parser.add_argument('--max-frames', type=int, default=150, metavar='N',
                        help='at most N frames, evenly spaced (default: %(default)s)')
    parser.add_argument('--elev', type=float, default=10.0,
                        help='3-D: degrees above the horizontal (default: %(default)s)')
    parser.add_argument('--azim', type=float, default=150.0,
                        help='3-D: degrees about the vertical axis; 180 shows the front of the '
                             'first person, 90 their left side (default: %(default)s)')


# -- reading --------------------------------------------------------------------------------------

@dataclass
class Clip:
    """One sequence, finished as the dataset's preprocessing leaves it.

    Attributes:
        sequence (PoseSequence): What the reader gave.
        x (numpy.ndarray): The finished sample ``[C, T, V, M]`` (the model's input space).
        frames (int): Its valid frames, ``[0, frames)``; the rest is padding.
        layout (str): Its skeleton layout.
    """
    sequence: PoseSequence
    x: np.ndarray
    frames: int
    layout: str

    @property
    def title(self) -> str:
        """Its name, layout and length, for the figure's title."""
        return f'{self.sequence.sample} ({self.layout}, {self.frames} frames)'


def load_recognizer(weights: str, labels: Optional[str]) -> Recognizer:
    """The recogniser of one checkpoint on the CPU, with the class names of :obj:`labels`."""
    try:
        return Recognizer.from_checkpoint(weights, 'cpu', class_names=labels)
    except ValueError as e:   # class names that are no file nor shipped list
        raise InputError(str(e)) from None


def read_clip(args: argparse.Namespace, recognizer: Optional[Recognizer] = None,
              layout: Optional[str] = None) -> Clip:
    """Sequence ``args.index`` of ``args.input``, read for :obj:`recognizer` or, without one,
    as :obj:`layout` skeletons (default: detected, see :func:`input_layout`)."""
    found = expand([args.input], args.format)
    frame_size = tuple(args.frame_size) if args.frame_size else None
    if recognizer is not None:
        if layout is not None and get_layout(layout).name != recognizer.layout:
            raise InputError(f"--layout {layout}, but the checkpoint takes '{recognizer.layout}' "
                             f"skeletons")
        options = recognizer.read_options(frame_size, args.split)
    else:   # the datasets' two persons; 3 values per joint: (x, y, z) or (x, y, score)
        options = ReadOptions(input_layout(found[0][0], found[0][1], layout, args.split),
                              NUM_PERSONS, 3, frame_size, args.split)
    sequences: List[PoseSequence] = []
    for path, fmt in found:
        natural = RAW_LAYOUTS.get(fmt)
        if natural is not None and is_three_d(natural) != is_three_d(options.layout):
            raise InputError(f'{path} holds {_dimension(natural)} {natural} skeletons, but '
                             f"{'the checkpoint takes' if recognizer else '--layout asks for'} "
                             f'{_dimension(options.layout)} {options.layout} ones')
        sequences += read_input(path, fmt, options)
        if len(sequences) > args.index >= 0:
            break
    if not 0 <= args.index < len(sequences):
        raise InputError(f'--index {args.index}: {args.input} holds {len(sequences)} '
                         f'sequence{"s" * (len(sequences) != 1)} (0 to {len(sequences) - 1})')
    sequence = sequences[args.index]
    x, frames = finish(sequence)
    return Clip(sequence, x, frames, options.layout)


def input_layout(path: Path, fmt: str, given: Optional[str], split: Optional[str]) -> str:
    """The layout to read an input with, without a checkpoint: :obj:`given`, else the raw
    format's (:data:`RAW_LAYOUTS`), else that of the arrays' number of joints."""
    if given is not None:
        try:
            return get_layout(given).name
        except ValueError as e:
            raise InputError(str(e)) from None
    if fmt in RAW_LAYOUTS:
        return RAW_LAYOUTS[fmt]
    arrays = {'npy': path, 'arrays': data_path(path, split or 'val')}.get(fmt)
    try:
        joints = np.load(arrays, mmap_mode='r').shape[-2] if arrays is not None else None
    except (OSError, ValueError, IndexError):
        joints = None
    by_joints = {get_layout(n).num_joints: get_layout(n).name for n in RAW_LAYOUTS.values()}
    if joints not in by_joints:
        raise InputError(f'{path}: give the skeleton layout with --layout (ntu-rgb+d, openpose, '
                         f'coco)')
    return by_joints[joints]


def _dimension(layout: str) -> str:
    return '3-D' if is_three_d(layout) else '2-D'


# -- geometry -------------------------------------------------------------------------------------

def drawing_plane(points: np.ndarray, three_d: bool, elev: float, azim: float) -> np.ndarray:
    """Joints ``[..., C]`` of the model's input space in the drawing plane ``[..., 2]``: 3-D
    ones projected, 2-D ones back in normalised image coordinates (undoing Kinetics-Skeleton's
    ``x - 0.5``, ``-(y - 0.5)``) drawn with y down (:func:`~.render.to_view`)."""
    if not three_d:
        points = np.stack([points[..., 0] + 0.5, 0.5 - points[..., 1]], axis=-1)
    return to_view(points, three_d, elev, azim)


@dataclass
class Scene:
    """A clip's drawn frames in the drawing plane.

    Attributes:
        frames (numpy.ndarray): The clip frames drawn.
        xy (numpy.ndarray): Joints ``[F, M, V, 2]``.
        mask (numpy.ndarray): Which joints are there ``[F, M, V]``.
        arrows (tuple, optional): A stream's vectors, ``(tails [F, M, V, 2], heads, mask)``.
        limits (tuple): ``(x0, x1, y0, y1)``, the same in every frame.
        three_d (bool): Projected 3-D joints, else 2-D ones in their image frame.
        note (str): What the view is (and the scale of motion arrows), drawn in a corner.
    """
    frames: np.ndarray
    xy: np.ndarray
    mask: np.ndarray
    arrows: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]
    limits: Tuple[float, float, float, float]
    three_d: bool
    note: str


def frame_indices(num_frames: int, step: int = 1, max_frames: Optional[int] = None
                  ) -> np.ndarray:
    """Every :obj:`step`-th frame of ``[0, num_frames)``, at most :obj:`max_frames` of them
    (evenly spaced)."""
    frames = np.arange(0, num_frames, step)
    if max_frames is not None and len(frames) > max_frames:
        frames = frames[np.round(np.linspace(0, len(frames) - 1, max_frames)).astype(int)]
    return frames


def make_scene(x: np.ndarray, layout: str, frames: np.ndarray, elev: float, azim: float,
               stream: str = 'joint', aspect: float = 1.0) -> Scene:
    """The :class:`Scene` of frames :obj:`frames` of ``x [C, T, V, M]``; a stream other than
    ``'joint'`` adds its vectors as arrows (a bone ends at its joint, a motion, scaled to be
    seen, starts there). The limits fit every frame (for 2-D, the image frame too) in axes of
    width / height :obj:`aspect`."""
    three_d = is_three_d(layout)
    points = x.transpose(1, 3, 2, 0)                                # [T, M, V, C]
    mask = visible(points[frames], three_d)
    xy = drawing_plane(points[frames], three_d, elev, azim)
    arrows = None
    note = f'elev {elev:g}°, azim {azim:g}°' if three_d else 'dashed: the image frame'
    if stream != 'joint':
        every = make_stream(x, stream, layout).transpose(1, 3, 2, 0)
        vectors = every[frames]
        if stream == 'bone':
            tails, heads, gain = points[frames] - vectors, points[frames], 1.0
        else:   # motions are small: scaled to be seen, as measured up to the last frame
            tails, last = points[frames], max(int(frames.max()), 1)   # (then: padding)
            gain = _gain(every[:last], visible(points[:last], three_d), xy[mask], three_d)
            heads = tails + gain * vectors
            note += f'; arrows x{gain:g}'
        length = np.linalg.norm(vectors[..., :3 if three_d else 2], axis=-1)
        arrows = (drawing_plane(tails, three_d, elev, azim),
                  drawing_plane(heads, three_d, elev, azim),
                  mask & visible(tails, three_d) & visible(heads, three_d) & (length > 0))
    shown = xy[mask] if mask.any() else np.zeros((1, 2))   # long arrows may leave the view
    if not three_d:   # the image frame, in the drawing plane: x in [0, 1], y in [-1, 0]
        shown = np.concatenate([shown, [[0.0, -1.0], [1.0, 0.0]]])
    return Scene(frames, xy, mask, arrows, _fit(shown, aspect), three_d, note)


def _gain(vectors: np.ndarray, mask: np.ndarray, shown: np.ndarray, three_d: bool) -> float:
    """A round scale (1, 2, 5, 10, ...) that draws the typical (median) motion ``[..., C]``
    of joints :obj:`mask` at about a twentieth of the extent of the points :obj:`shown`
    ``[P, 2]``."""
    length = np.linalg.norm(vectors[..., :3 if three_d else 2], axis=-1)[mask]
    length = length[length > 0]
    if not len(length) or not len(shown):
        return 1.0
    raw = 0.05 * np.ptp(shown, axis=0).max() / np.median(length)
    if raw <= 1:
        return 1.0
    magnitude = 10 ** np.floor(np.log10(raw))
    return float(max(m for m in (1, 2, 5) if m * magnitude <= raw) * magnitude)


def _fit(points: np.ndarray, aspect: float, margin: float = 0.08
         ) -> Tuple[float, float, float, float]:
    """Limits around :obj:`points` ``[P, 2]`` with a margin, widened to :obj:`aspect`."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre, size = (lo + hi) / 2, np.maximum(hi - lo, 1e-6) * (1 + 2 * margin)
    width, height = max(size[0], size[1] * aspect), max(size[1], size[0] / aspect)
    return (centre[0] - width / 2, centre[0] + width / 2, centre[1] - height / 2,
            centre[1] + height / 2)


# -- drawing --------------------------------------------------------------------------------------

def draw_frame(ax: Any, scene: Scene, i: int, layout: str,
               joint_sizes: Optional[np.ndarray] = None,
               joint_colors: Optional[Sequence[Sequence[Any]]] = None,
               light_bones: bool = False, counter: Optional[str] = None,
               note: bool = True) -> None:
    """Draws frame ``i`` of :obj:`scene` on a cleared :obj:`ax`: each person's skeleton (faint
    under a stream's arrows; bones in a light tint of the person's colour with
    :obj:`light_bones`), optional joint sizes / colours per person ``[M][V]``, the frame
    counter (:obj:`counter`, else ``frame t``) and, with :obj:`note`, the scene's note."""
    from matplotlib.colors import to_rgb
    ax.cla()
    ax.set_xlim(*scene.limits[:2])
    ax.set_ylim(*scene.limits[2:])
    ax.set_aspect('equal', adjustable='box')
    ax.axis('off')
    if not scene.three_d:
        ax.add_patch(_rectangle((0, -1), 1, 1))
    for m in range(scene.xy.shape[1]):
        if not scene.mask[i, m].any():
            continue
        color = PERSON_COLORS[m % len(PERSON_COLORS)]
        bones = 0.5 * np.array(to_rgb(color)) + 0.5 if light_bones else color
        draw_skeleton(ax, scene.xy[i, m], layout, bones, scene.mask[i, m],
                      joint_sizes=None if joint_sizes is None else joint_sizes[m],
                      joint_colors=None if joint_colors is None else joint_colors[m],
                      alpha=0.3 if scene.arrows is not None else 1.0)
        if scene.arrows is not None:
            tails, heads, shown = (a[i, m] for a in scene.arrows)
            d = heads[shown] - tails[shown]
            ax.quiver(tails[shown, 0], tails[shown, 1], d[:, 0], d[:, 1], color=color,
                      angles='xy', scale_units='xy', scale=1, width=0.008, headwidth=3.5,
                      headlength=4, headaxislength=3.5, zorder=4)
    ax.text(0.02, 0.98, counter or f'frame {scene.frames[i] + 1}', transform=ax.transAxes,
            ha='left', va='top', fontsize=9, family='monospace')
    if note:
        ax.text(0.02, 0.01, scene.note, transform=ax.transAxes, ha='left', va='bottom',
                fontsize=7, color='0.4')


def _rectangle(corner: Tuple[float, float], width: float, height: float) -> Any:
    from matplotlib.patches import Rectangle
    return Rectangle(corner, width, height, fill=False, linestyle='--', linewidth=0.8,
                     edgecolor='0.75', zorder=0)


# -- writing --------------------------------------------------------------------------------------

def output_suffix(path: str) -> str:
    """The suffix of :obj:`path`: a still figure's or an animation's, else an
    :class:`~pyg_mstgcn.errors.InputError` naming them."""
    return check_suffix(path, FIGURE_SUFFIXES + ANIMATIONS).suffix.lower()


def animation_writer(suffix: str, fps: float) -> Any:
    """A matplotlib movie writer of ``.gif`` (Pillow) or ``.mp4`` (ffmpeg: the program, or
    the one imageio-ffmpeg ships), or an :class:`ImportError` saying what to install."""
    from matplotlib import animation, rcParams
    if suffix == '.gif':
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise ImportError('writing .gif needs Pillow: pip install pillow') from None
        return animation.PillowWriter(fps=fps)
    if not animation.writers.is_available('ffmpeg'):
        try:
            import imageio_ffmpeg
        except ImportError:
            raise ImportError('writing .mp4 needs ffmpeg: pip install imageio-ffmpeg (or '
                              'install the ffmpeg program), or write a .gif') from None
        rcParams['animation.ffmpeg_path'] = imageio_ffmpeg.get_ffmpeg_exe()
    return animation.FFMpegWriter(fps=fps)


def write_animation(fig: Any, path: str, writer: Any, dpi: int, count: int, draw: Any
                    ) -> None:
    """Writes :obj:`count` frames of :obj:`fig` with :obj:`writer`
    (:func:`animation_writer`), each drawn by ``draw(i)``."""
    with writer.saving(fig, str(path), dpi):
        for i in range(count):
            draw(i)
            writer.grab_frame()


def axes_at(fig: Any, left: float, bottom: float, width: float, height: float) -> Any:
    """Axes placed in inches, so that every frame keeps its layout whatever it holds."""
    W, H = fig.get_size_inches()
    return fig.add_axes((left / W, bottom / H, width / W, height / H))


def check_output_options(args: argparse.Namespace) -> None:
    """Raises an :class:`~pyg_mstgcn.errors.InputError` for a non-positive size or rate."""
    for name in ('dpi', 'fps', 'step', 'max_frames', 'frames'):
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            raise InputError(f"--{name.replace('_', '-')} must be positive (got {value})")


def report_written(path: str, frames: int, fig: Any, dpi: int) -> None:
    """Prints what was written: the file, its frames and its size (pixels, or inches for
    vector graphics)."""
    w, h = fig.get_size_inches()
    size = f'{w:g} x {h:g} in' if Path(path).suffix.lower() in ('.pdf', '.svg') else \
        f'{round(w * dpi)} x {round(h * dpi)} px'
    print(f'{path}: {frames} frame{"s" * (frames != 1)}, {size}')
