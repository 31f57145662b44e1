r"""NW-UCLA (Northwestern-UCLA Multiview Action3D, the CTR-GCN release) to arrays.

The release (CTR-GCN's ``data/NW-UCLA/all_sqe/``) has one JSON file per sample,
``{"file_name": "a01_s01_e00_v01", "skeletons": [T][20][3], "label": 1..10}``: one person,
the 20 Kinect v1 joints (layout ``'nw-ucla'``) as ``(x, y, z)`` camera coordinates in
metres, and the class, 1-based. The file's name, ``aXX_sXX_eXX_vXX.json``, says

- ``aXX``: the action, ``a01``-``a12`` without ``a07`` and ``a10``; the 10 actions in order
  are labels 1-10 (the shipped class list ``nw_ucla``);
- ``sXX``: the subject (``s01``-``s10``);
- ``eXX``: the repetition (``e00``, ``e01``, ...);
- ``vXX``: the view, the camera (``v01``, ``v02``, ``v03``).

The split is CTR-GCN's (the cross-view protocol of the dataset): views 1 and 2 train, view 3
validates; it is read from the name, so a file whose name does not parse is left out (as an
NTU file). The sample's name is the file's stem; the ``"file_name"`` field is not used. The
label is the file's ``"label"`` - 1, which must agree with the action of the name.

A sample is ``[3, T, 20, 1]`` float32, the coordinates as the file gives them, frames after
the sequence zero. No normalisation: CTR-GCN's feeder normalises each sample after its
augmentation (centring, random view rotation, min-max scaling to [-1, 1]), which the
training recipes ``nw_ucla_*`` do with the transforms ``random_rotation`` and
``min_max_normalize``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from pyg_mstgcn.preprocess.errors import SampleError, load_json

NUM_JOINTS = 20
NUM_PERSONS = 1
#: The action numbers of the dataset (the name's ``aXX``); label ``i`` is ``ACTIONS[i]``.
ACTIONS: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
#: View (camera) → split: CTR-GCN's protocol.
VIEW_SPLITS = {1: 'train', 2: 'train', 3: 'val'}
SPLITS = ('train', 'val')

_NAME = re.compile(r'a(\d+)_s(\d+)_e(\d+)_v(\d+)')
NAME_FORMAT = 'aXX_sXX_eXX_vXX (action, subject, repetition, view), e.g. a01_s01_e00_v01'


class NwUclaFileError(SampleError):
    """A malformed NW-UCLA JSON file (where, and what was expected)."""


@dataclass(frozen=True)
class NwUclaName:
    """The fields of a sample name ``aXX_sXX_eXX_vXX``."""
    action: int
    subject: int
    repetition: int
    view: int

    @property
    def label(self) -> int:
        """The 0-based label of the action."""
        return ACTIONS.index(self.action)

    @property
    def split(self) -> str:
        """``'train'`` (views 1, 2) or ``'val'`` (view 3)."""
        return VIEW_SPLITS[self.view]


def parse_nw_ucla_name(name: str) -> NwUclaName:
    """The fields of a sample name (a file name or its stem).

    Raises:
        ValueError: The name is not :data:`NAME_FORMAT`, or its action or view is not one of
            the dataset's.
    """
    stem = name[:-len('.json')] if name.endswith('.json') else name
    match = _NAME.fullmatch(stem)
    if match is None:
        raise ValueError(f"name '{stem}' is not {NAME_FORMAT}")
    info = NwUclaName(*(int(field) for field in match.groups()))
    if info.action not in ACTIONS:
        raise ValueError(f"name '{stem}': action {info.action} is not one of NW-UCLA's "
                         f"({', '.join(f'a{a:02d}' for a in ACTIONS)})")
    if info.view not in VIEW_SPLITS:
        raise ValueError(f"name '{stem}': view {info.view} is not a camera of NW-UCLA "
                         f"(v01, v02, v03)")
    return info


#: The largest coordinate a sample can hold: samples are stored as float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and abs(value) <= FLOAT32_MAX)


def _first_problem(skeletons: Any) -> str:
    """What is wrong with a ``"skeletons"`` value that is not ``[T][20][3]`` numbers."""
    if not isinstance(skeletons, list):
        return f'"skeletons" must be a list of frames [T][20][3], found {type(skeletons).__name__}'
    for t, frame in enumerate(skeletons):
        if not isinstance(frame, list) or len(frame) != NUM_JOINTS:
            found = f'{len(frame)} joints' if isinstance(frame, list) else repr(frame)
            return f'frame {t + 1}: expected {NUM_JOINTS} joints [x, y, z], found {found}'
        for v, joint in enumerate(frame):
            if (not isinstance(joint, list) or len(joint) != 3
                    or not all(_is_number(c) for c in joint)):
                return (f'frame {t + 1}, joint {v + 1}: expected 3 finite numbers [x, y, z] '
                        f'(of float32 range), found {joint!r}')
    return 'unexpected content'


def read_nw_ucla(path: Union[str, Path]) -> Tuple[np.ndarray, int]:
    """The skeletons ``[T, 20, 3]`` (float64) and the 1-based label of a sample's JSON file.

    Raises:
        NwUclaFileError: Invalid JSON, no ``"skeletons"`` of ``[T][20][3]`` finite numbers, no
            integer ``"label"`` in 1-10.
    """
    path = str(path)
    content = load_json(path, NwUclaFileError)
    if not isinstance(content, dict) or 'skeletons' not in content:
        raise NwUclaFileError(path, 0, 'bad structure', 'expected an object with "skeletons" '
                              '[T][20][3] and "label" 1-10')
    skeletons = content['skeletons']
    try:
        array = np.array(skeletons, dtype=np.float64)
        # numpy also reads strings and booleans as numbers: the types are checked too
        valid = (array.ndim == 3 and array.shape[1:] == (NUM_JOINTS, 3)
                 and bool((np.abs(array) <= FLOAT32_MAX).all())   # NaN is not
                 and all(_is_number(c) for frame in skeletons for joint in frame for c in joint))
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        if isinstance(skeletons, list) and not skeletons:
            raise NwUclaFileError(path, 0, 'no frames', '"skeletons" holds no frame',
                                  'warning')
        raise NwUclaFileError(path, 0, 'bad structure', _first_problem(skeletons))
    label = content.get('label')
    if not (isinstance(label, int) and not isinstance(label, bool)
            and 1 <= label <= len(ACTIONS)):
        raise NwUclaFileError(path, 0, 'bad label', f'"label" must be an integer in '
                              f'1-{len(ACTIONS)} (found {label!r})')
    return array, label


def count_frames(path: Union[str, Path]) -> int:
    """The number of frames of a sample (0 when unreadable: reading it reports why)."""
    try:
        with open(path, 'rb') as f:
            skeletons = json.load(f)['skeletons']
        return len(skeletons) if isinstance(skeletons, list) else 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def load_nw_ucla_sample(path: Union[str, Path], label: Optional[int] = None,
                        num_frames: int = 300, truncate: bool = True
                        ) -> Tuple[np.ndarray, int, List[str]]:
    """One sample, ready for training: ``(sample, valid_frames, warnings)``, the sample
    ``[3, num_frames, 20, 1]`` float32 (the file's coordinates, then zeros) and
    ``valid_frames`` its number of frames.

    Args:
        path (str or Path): The sample's JSON file.
        label (int, optional): The 0-based label of the name's action; a file whose own
            ``"label"`` - 1 differs is an error.
        num_frames (int, optional): The length of the time axis. (default: :obj:`300`)
        truncate (bool, optional): Drop frames beyond :obj:`num_frames` with a warning;
            otherwise they are an error. (default: :obj:`True`)

    Raises:
        SampleError: A malformed file (see :func:`read_nw_ucla`), a label that differs from
            the name's action.
    """
    skeletons, own_label = read_nw_ucla(path)
    if label is not None and own_label - 1 != label:
        raise NwUclaFileError(path, 0, 'label mismatch',
                              f'its "label" {own_label} is action a{ACTIONS[own_label - 1]:02d}'
                              f', but the name says a{ACTIONS[label]:02d} (label {label + 1})')
    warnings = []
    T = len(skeletons)
    if T > num_frames:
        if not truncate:
            raise NwUclaFileError(path, 0, 'too long', f'{T} frames do not fit in '
                                  f'{num_frames}')
        warnings.append(f'{path}: {T} frames, frames from {num_frames} on dropped (use '
                        f'--keep-long to keep whole sequences)')
        skeletons, T = skeletons[:num_frames], num_frames
    sample = np.zeros((3, num_frames, NUM_JOINTS, NUM_PERSONS), dtype=np.float32)
    sample[:, :T, :, 0] = skeletons.transpose(2, 0, 1)
    return sample, T, warnings
