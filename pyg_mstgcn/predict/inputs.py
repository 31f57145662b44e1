r"""Inputs of the predictor: every format a user is likely to hold, detected from the input,
read into :class:`~pyg_mstgcn.predict.sequences.PoseSequence` objects.

==============  =========================================================================
format          input
==============  =========================================================================
``ntu``         a raw NTU RGB+D ``.skeleton`` file (Kinect v2, 3-D)
``kinetics``    a Kinetics-Skeleton clip: st-gcn's per-clip JSON
                ``{"data": [{"frame_index", "skeleton": [{"pose", "score"}]}]}``
``openpose``    a folder of OpenPose per-frame JSON files (``people[].pose_keypoints_2d``,
                BODY_25 or COCO-18), frames in the order of the file names
``coco``        pose-estimator keypoints: a JSON list of frames, each a list of people, each
                person a list of ``[x, y, score]`` per keypoint (COCO-17, or any pose layout
                of :mod:`pyg_mstgcn.graph.mapping` by its number of keypoints) or an object
                whose ``"keypoints"`` holds them (nested or flat ``x, y, score, ...``)
``nw_ucla``     an NW-UCLA sample of CTR-GCN's release: JSON ``{"file_name", "skeletons":
                [T][20][3], "label"}`` (Kinect v1, 3-D)
``pyskl``       a PYSKL / mmaction2 annotation pickle: every annotation, or ``--split``
``ctrgcn``      a CTR-GCN ``.npz`` (``NTU60_CS.npz``...): ``--split`` ``val`` (its
                ``x_test``, the default) or ``train``
``npy``         a preprocessed array, ``[C, T, V, M]`` or ``[N, C, T, V, M]`` (``.npy``)
``arrays``      a folder of preprocessed arrays (``{split}_data_joint.npy``; ``--split``,
                ``val`` by default)
==============  =========================================================================

2-D poses (``kinetics``, ``openpose``, ``coco``) are converted as Kinetics-Skeleton's
preprocessing does (:func:`~pyg_mstgcn.preprocess.kinetics.people_array`): coordinates
normalised to the frame (``--frame-size W H`` divides pixel coordinates, as st-gcn's
OpenPose demo does), then ``x - 0.5`` and ``-(y - 0.5)``, zero where the score is 0, and of
the first 5 people listed in a frame the ones of highest total score kept. Keypoints of
another pose layout are first mapped to the model's (:func:`~pyg_mstgcn.graph.map_keypoints`).
Frame ``t`` of a JSON list or an OpenPose folder is the ``t``-th entry (from 0).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pyg_mstgcn.checks import suggest
from pyg_mstgcn.data import CTRGCNDataset, PoseAnnotationDataset, SkeletonArrayDataset
from pyg_mstgcn.data.skeleton import check_sequence_shape
from pyg_mstgcn.data.transforms import valid_range
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.graph import get_layout, map_keypoints, num_pose_joints, pose_layout_names
from pyg_mstgcn.io import data_path, file_kind, frames_path, label_path, read_labels
from pyg_mstgcn.predict.sequences import PREPROCESSED_FRAMES, PoseSequence
from pyg_mstgcn.preprocess.errors import SampleError
from pyg_mstgcn.preprocess.kinetics import NUM_PERSON_IN, count_frames, people_array, read_kinetics
from pyg_mstgcn.preprocess.ntu import body_slots, read_skeleton
from pyg_mstgcn.preprocess.nw_ucla import read_nw_ucla as read_nw_ucla_json


@dataclass
class ReadOptions:
    """What a reader needs to know of the model and of the user's input."""
    layout: str                                   # the model's layout
    num_person: int                               # persons the model takes
    in_channels: int                              # values per joint the model takes
    frame_size: Optional[Tuple[float, float]] = None   # (W, H) of pixel coordinates
    split: Optional[str] = None                   # pyskl / arrays: the split to read


Reader = Callable[[Path, ReadOptions], List[PoseSequence]]


# ------------------------------------------------------------------------------------------
# 3-D

def read_ntu(path: Path, options: ReadOptions) -> List[PoseSequence]:
    _require(options, 'ntu-rgb+d', 'ntu', path)
    sequence = read_skeleton(path)
    if sequence.num_frames == 0 or len(sequence.xyz) == 0:
        raise InputError(f'{path}: no body in any of its {sequence.num_frames} frames')
    return [PoseSequence(str(path), path.stem, body_slots(sequence), 'ntu',
                         sequence.num_frames, 'ntu-rgb+d')]


def read_nw_ucla(path: Path, options: ReadOptions) -> List[PoseSequence]:
    _require(options, 'nw-ucla', 'nw_ucla', path)
    skeletons, _ = read_nw_ucla_json(path)                         # [T, 20, 3]
    x = np.asarray(skeletons, dtype=np.float32).transpose(2, 0, 1)[..., None]
    # the coordinates as python -m preprocess nw_ucla stores them: the recipe's transforms
    # normalise them
    return [PoseSequence(str(path), path.stem, x, 'prepared', x.shape[1], 'nw-ucla')]


# ------------------------------------------------------------------------------------------
# 2-D

def read_kinetics_clip(path: Path, options: ReadOptions) -> List[PoseSequence]:
    frames = max(PREPROCESSED_FRAMES, count_frames(path))
    data, _, _ = read_kinetics(path, frames, truncate=False,
                               num_person_out=options.num_person)
    nonempty = np.flatnonzero((data != 0).any(axis=(0, 2, 3)))
    if len(nonempty) == 0:
        raise InputError(f'{path}: no person in any frame')
    end = int(nonempty[-1]) + 1
    data = data[:, :end]
    if options.layout != 'openpose':   # [C, T, V, M] <-> keypoints [T, M, V, (x, y, score)]
        data = map_keypoints(data.transpose(1, 3, 2, 0), 'openpose',
                             options.layout).transpose(3, 0, 2, 1)
    return [PoseSequence(str(path), path.stem, data, 'pose2d', end, options.layout)]


def people_frames(frames: Sequence[Sequence[np.ndarray]], where: str,
                  options: ReadOptions) -> np.ndarray:
    """2-D people per frame (each ``[V, 3]``: x, y, score, in any pose layout) as the model's
    input ``[3, T, V_model, M]``, converted as Kinetics-Skeleton (see the module doc); zeros
    when no frame has anyone."""
    counts = {len(person) for people in frames for person in people}
    if len(counts) > 1:
        raise InputError(f'{where}: people with different numbers of keypoints '
                         f'({sorted(counts)})')
    source = layout_of_keypoints(counts.pop(), options.layout, where) if counts \
        else options.layout
    entries = [(t, m, person) for t, people in enumerate(frames)
               for m, person in enumerate(people[:NUM_PERSON_IN])]
    V = get_layout(options.layout).num_joints
    if not entries:
        return np.zeros((3, len(frames), V, options.num_person))
    keypoints = map_keypoints(np.stack([e[2] for e in entries]).astype(np.float64), source,
                              options.layout)
    xy = keypoints[..., :2]
    if options.frame_size is not None:
        xy = xy / np.asarray(options.frame_size, dtype=np.float64)
    elif np.abs(xy).max() > 1.5:
        raise InputError(f'{where}: coordinates up to {np.abs(xy).max():.0f} look like '
                         f'pixels; give the frame size with --frame-size W H (frame_size=)')
    return people_array(np.array([e[0] for e in entries]), np.array([e[1] for e in entries]),
                        xy.reshape(len(entries), 2 * V), keypoints[..., 2], len(frames),
                        NUM_PERSON_IN, options.num_person)


def layout_of_keypoints(count: int, model_layout: str, where: str) -> str:
    """The pose layout of people with :obj:`count` keypoints: the model's when it has that
    many, else the one 2-D pose layout that has (COCO-17 for 17, BODY_25 for 25, ...)."""
    if count == get_layout(model_layout).num_joints:
        return model_layout
    found = [name for name in pose_layout_names() if name != 'ntu-rgb+d'
             and num_pose_joints(name) == count]
    if len(found) != 1:
        known = ', '.join(f'{n} ({num_pose_joints(n)})' for n in pose_layout_names())
        raise InputError(f'{where}: no single pose layout has {count} keypoints; known: '
                         f'{known}')
    return found[0]


def _pose2d_sequence(frames: List[List[np.ndarray]], path: Path, options: ReadOptions,
                     sample: str) -> PoseSequence:
    data = people_frames(frames, str(path), options)
    if not data.any():
        raise InputError(f'{path}: no person in any of its {len(frames)} frames')
    return PoseSequence(str(path), sample, data, 'pose2d', data.shape[1], options.layout)


def read_openpose(path: Path, options: ReadOptions) -> List[PoseSequence]:
    files = sorted(path.glob('*.json'))
    frames = []
    for file in files:
        content = _load_json(file)
        people = content.get('people') if isinstance(content, dict) else None
        if not isinstance(people, list):
            raise InputError(f"{file}: not an OpenPose frame (no 'people' list)")
        frame = []
        for i, person in enumerate(people):
            values = person.get('pose_keypoints_2d') if isinstance(person, dict) else None
            frame.append(_keypoints(values, f'{file}: people[{i}].pose_keypoints_2d'))
        frames.append(frame)
    return [_pose2d_sequence(frames, path, options, path.name)]


def read_pose_list(path: Path, options: ReadOptions) -> List[PoseSequence]:
    content = _load_json(path)
    if not isinstance(content, list):
        raise InputError(f'{path}: expected a JSON list of frames, each a list of people '
                         f'(got a {type(content).__name__})')
    frames = []
    for t, people in enumerate(content):
        if not isinstance(people, list):
            raise InputError(f'{path}: frame {t} is not a list of people')
        frames.append([_keypoints(p.get('keypoints') if isinstance(p, dict) else p,
                                  f'{path}: frame {t}, person {m}')
                       for m, p in enumerate(people)])
    return [_pose2d_sequence(frames, path, options, path.stem)]


def _keypoints(values: Any, where: str) -> np.ndarray:
    """``[V, 3]`` from nested ``[[x, y, score], ...]`` or flat ``[x, y, score, ...]``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):   # OverflowError: an int beyond float
        array = None
    if array is None or not (array.ndim == 2 and array.shape[1] == 3 or
                             array.ndim == 1 and len(array) % 3 == 0 and len(array)):
        raise InputError(f'{where}: expected keypoints [[x, y, score], ...] or a flat list '
                         f'x, y, score, ... of numbers')
    if not np.isfinite(array).all():
        raise InputError(f'{where}: keypoints that are not finite numbers')
    return array.reshape(-1, 3)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise InputError(f'{path}, line {e.lineno}: invalid JSON at column {e.colno}: '
                         f'{e.msg}') from None
    except UnicodeDecodeError:
        raise InputError(f'{path} is {file_kind(path)}, not JSON text') from None


# ------------------------------------------------------------------------------------------
# Preprocessed data and annotation pickles

def read_npy(path: Path, options: ReadOptions) -> List[PoseSequence]:
    try:
        array = np.load(path, mmap_mode='r')
    except ValueError:
        raise InputError(f'{path} is {file_kind(path)}, not a NumPy array') from None
    # {split}_data_{stream}.npy of a preprocessed folder: its samples' names and valid frames
    split = re.match(r'^(.+)_data_\w+\.npy$', path.name)
    if np.ndim(array) == 5 and split and label_path(path.parent, split.group(1)).is_file():
        names, _ = read_labels(label_path(path.parent, split.group(1)))
        frames = frames_path(path.parent, split.group(1))
        counts = np.load(frames) if frames.is_file() else None
        if len(names) == len(array) and (counts is None or len(counts) == len(array)):
            return array_sequences(array, str(path), options, names=names, num_frames=counts)
    return array_sequences(array, str(path), options, path.stem)


def array_sequences(array: np.ndarray, where: str, options: ReadOptions,
                    name: str = 'array', num_frames: Optional[Sequence[int]] = None,
                    names: Optional[Sequence[str]] = None) -> List[PoseSequence]:
    """Preprocessed sequences ``[C, T, V, M]`` or ``[N, C, T, V, M]`` (the model's input
    space), named by :obj:`names`, else :obj:`name` (``{name}[{i}]`` in a batch); their valid
    frames are given, or found in the data."""
    single = np.ndim(array) == 4
    batch = np.asarray(array)[None] if single else array
    check_sequence_shape(np.shape(batch), options.layout, where)
    if names is None:
        names = [name] if single else [f'{name}[{i}]' for i in range(len(batch))]
    out = []
    for i in range(len(batch)):
        x = np.asarray(batch[i], dtype=np.float32)
        frames = int(num_frames[i]) if num_frames is not None else valid_range(x)[1]
        if frames == 0:
            raise InputError(f'{where}{"" if single else f"[{i}]"}: every frame is empty')
        out.append(PoseSequence(where, names[i], x, 'prepared', frames, options.layout))
    return out


def read_arrays(path: Path, options: ReadOptions) -> List[PoseSequence]:
    dataset = SkeletonArrayDataset(path, options.split or 'val', layout=options.layout)
    return array_sequences(dataset.data, str(dataset.data_path), options,
                           names=dataset.sample_names, num_frames=dataset.num_frames)


def read_pyskl(path: Path, options: ReadOptions) -> List[PoseSequence]:
    dataset = PoseAnnotationDataset(path, options.split, options.layout, options.num_person)
    if dataset.num_channels + 1 == options.in_channels:   # 2-D: the score is a channel too
        dataset = PoseAnnotationDataset(path, options.split, options.layout,
                                        options.num_person, with_score=True)
    return _dataset_sequences(dataset, path, options)


def read_ctrgcn(path: Path, options: ReadOptions) -> List[PoseSequence]:
    dataset = CTRGCNDataset(path, options.split or 'val', layout=options.layout)
    return _dataset_sequences(dataset, path, options)


def _dataset_sequences(dataset, path: Path, options: ReadOptions) -> List[PoseSequence]:
    out = []
    for i in range(len(dataset)):
        x, frames, _, name = dataset.raw(i)
        frames = frames if frames is not None else valid_range(x)[1]
        out.append(PoseSequence(str(path), name, x, 'prepared', frames or x.shape[1],
                                options.layout))
    return out


# ------------------------------------------------------------------------------------------
# Formats

#: Format name -> reader.
FORMATS: Dict[str, Reader] = {
    'ntu': read_ntu,
    'kinetics': read_kinetics_clip,
    'openpose': read_openpose,
    'coco': read_pose_list,
    'pyskl': read_pyskl,
    'npy': read_npy,
    'arrays': read_arrays,
    'ctrgcn': read_ctrgcn,
    'nw_ucla': read_nw_ucla,
}


#: Other names of the formats.
FORMAT_ALIASES: Dict[str, str] = {
    'skeleton': 'ntu', 'ntu-rgb+d': 'ntu', 'kinetics-skeleton': 'kinetics', 'st-gcn': 'kinetics',
    'coco17': 'coco', 'coco-17': 'coco', 'json': 'coco', 'mmaction': 'pyskl',
    'mmaction2': 'pyskl', 'pickle': 'pyskl', 'pkl': 'pyskl', 'array': 'npy', 'numpy': 'npy',
    'dataset': 'arrays', 'folder': 'arrays', 'npz': 'ctrgcn', 'ctr-gcn': 'ctrgcn',
    'nw-ucla': 'nw_ucla', 'ucla': 'nw_ucla',
}


def format_name(name: str) -> str:
    """A format's name (:data:`FORMATS`) from it or an alias (:data:`FORMAT_ALIASES`)."""
    key = FORMAT_ALIASES.get(str(name).lower(), str(name).lower())
    if key not in FORMATS:
        raise InputError(f"unknown format '{name}'{suggest(str(name), FORMATS)}; formats: "
                         f"{', '.join(FORMATS)} (aliases: {', '.join(FORMAT_ALIASES)})")
    return key


_SUFFIXES = {'.skeleton': 'ntu', '.npy': 'npy', '.pkl': 'pyskl', '.pickle': 'pyskl',
             '.npz': 'ctrgcn'}


def detect_format(path: Path) -> Optional[str]:
    """The format of an input from its suffix and first bytes; of a folder, ``'arrays'`` or
    ``'openpose'`` when it is one input. :obj:`None` when it is neither (a file of another
    kind, or a folder of inputs)."""
    if path.is_dir():
        if list(path.glob(data_path('', '*').name)):
            return 'arrays'
        first = next(iter(sorted(path.glob('*.json'))), None)
        return 'openpose' if first is not None and _json_kind(first) == 'openpose-frame' \
            else None
    if path.suffix.lower() == '.json':
        kind = _json_kind(path)
        return None if kind == 'openpose-frame' else kind
    return _SUFFIXES.get(path.suffix.lower())


def _json_kind(path: Path) -> str:
    with open(path, 'rb') as f:
        head = f.read(4096).lstrip()
    if head.startswith(b'['):
        return 'coco'
    if b'"skeletons"' in head:
        return 'nw_ucla'
    return 'openpose-frame' if b'"people"' in head else 'kinetics'


def expand(paths: Sequence[str], fmt: Optional[str]) -> List[Tuple[Path, str]]:
    """Each input with its format (:obj:`fmt`, or detected): a file, a folder that is one
    input (preprocessed arrays, OpenPose frames), or a folder of inputs (``.skeleton``
    files, Kinetics clips...), whose files of a known format are read in name order."""
    fmt = format_name(fmt) if fmt is not None else None
    out: List[Tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputError(f'input {path} does not exist')
        found = fmt or detect_format(path)
        if found is not None:
            out.append((path, found))
        elif path.is_dir():
            inner = [(p, detect_format(p)) for p in sorted(path.iterdir()) if p.is_file()]
            inner = [(p, f) for p, f in inner if f is not None]
            if not inner:
                raise InputError(f'input folder {path} holds no input of a known format '
                                 f'({", ".join(FORMATS)}); give --format')
            out += inner
        elif path.suffix.lower() == '.json' and _json_kind(path) == 'openpose-frame':
            raise InputError(f'{path} is one OpenPose frame: give the folder of its frames')
        else:
            raise InputError(f'{path}: {file_kind(path)} of unknown format; give --format, one '
                             f'of {", ".join(FORMATS)}')
    return out


def read_input(path: Path, fmt: str, options: ReadOptions) -> List[PoseSequence]:
    """The sequences of one input; a problem with it is an
    :class:`~pyg_mstgcn.errors.InputError` naming the file (and the line, where one
    applies)."""
    try:
        return FORMATS[fmt](path, options)
    except InputError:
        raise
    except SampleError as e:
        raise InputError(str(e)) from None
    except (ValueError, KeyError, IndexError, TypeError, FileNotFoundError) as e:
        raise InputError(f'{path} (read as {fmt}): {e}') from None


def _require(options: ReadOptions, layout: str, fmt: str, path: Path) -> None:
    if options.layout != layout:
        raise InputError(f"{path}: {fmt} data has the '{layout}' layout, but the model takes "
                         f"'{options.layout}'; use a model trained on {layout} data")


__all__ = ['FORMATS', 'FORMAT_ALIASES', 'format_name', 'ReadOptions', 'detect_format', 'expand',
           'read_input', 'array_sequences', 'people_frames', 'layout_of_keypoints']
