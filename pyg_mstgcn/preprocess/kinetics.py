r"""Kinetics-Skeleton (the st-gcn release: OpenPose, 18 joints) to arrays.

The release has ``kinetics_{train,val}/`` folders of one JSON file per clip,
``{"data": [{"frame_index": i, "skeleton": [{"pose": [x0, y0, x1, y1, ...],
"score": [s0, s1, ...]}, ...]}, ...], "label": ..., "label_index": ...}``, and
``kinetics_{train,val}_label.json`` mapping each clip ID to
``{"has_skeleton": bool, "label": str, "label_index": int}``.

As the original (st-gcn's ``Feeder_kinetics``, reused by 2s-AGCN's ``kinetics_gendata``):

- channels ``(x, y, score)``; frame :math:`t` of the array is ``frame_index`` :math:`t`
  (the release counts from 1, so frame 0 stays empty);
- the first 5 people listed in each frame are observed;
- ``x - 0.5`` and ``-(y - 0.5)``; coordinates are zeroed where the score is 0;
- per frame, people are sorted by their total score (highest first; ties keep the listing
  order) and the first 2 kept.

No ``pre_normalization`` is applied (the original applies it to NTU RGB+D only).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from pyg_mstgcn.preprocess.errors import SampleError, load_json

NUM_JOINTS = 18
#: People observed per frame.
NUM_PERSON_IN = 5
#: People kept per frame.
NUM_PERSON_OUT = 2


class KineticsFileError(SampleError):
    """A malformed Kinetics-Skeleton JSON file (where, and what was expected)."""


def read_label_file(path: Union[str, Path]) -> Dict[str, Tuple[bool, int]]:
    """``{clip_id: (has_skeleton, label_index)}`` of a ``kinetics_*_label.json``.

    Raises:
        ValueError: The file is not a label file (the message says why).
    """
    with open(path, 'r', encoding='utf-8') as f:
        try:
            entries = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f'{path}, line {error.lineno}: invalid JSON ({error.msg})'
                             ) from None
    if not isinstance(entries, dict):
        raise ValueError(f'{path}: expected an object mapping clip IDs to '
                         f'{{"has_skeleton", "label_index"}}')
    labels = {}
    for clip, entry in entries.items():
        try:
            labels[clip] = (bool(entry['has_skeleton']), int(entry['label_index']))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{path}: the entry of {clip!r} needs "has_skeleton" and an '
                             f'integer "label_index" (found {entry!r})') from None
    return labels


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _validate(video: Any, path: str, num_person_in: int) -> None:
    """Finds the first structural problem of a decoded file and raises it (slow path)."""

    def fail(where: str, detail: str) -> None:
        raise KineticsFileError(path, 0, 'bad structure', f'{where}: {detail}')

    if not isinstance(video, dict) or not isinstance(video.get('data'), list):
        fail('top level', 'expected an object with a "data" list of frames')
    for k, frame in enumerate(video['data']):
        where = f'frame entry {k + 1}'
        if not isinstance(frame, dict):
            fail(where, f'expected an object, found {type(frame).__name__}')
        index = frame.get('frame_index')
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            fail(where, f'expected a non-negative integer "frame_index", found {index!r}')
        where = f'{where} (frame_index {index})'
        if not isinstance(frame.get('skeleton'), list):
            fail(where, 'expected a "skeleton" list')
        for m, person in enumerate(frame['skeleton'][:num_person_in]):
            who = f'{where}, person {m + 1}'
            if not isinstance(person, dict):
                fail(who, f'expected an object, found {type(person).__name__}')
            for key, size in (('pose', 2 * NUM_JOINTS), ('score', NUM_JOINTS)):
                values = person.get(key)
                if not isinstance(values, list) or len(values) != size:
                    found = (f'{len(values)} values' if isinstance(values, list)
                             else repr(values))
                    fail(who, f'expected {size} "{key}" values, found {found}')
                bad = [v for v in values if not _is_number(v)]
                if bad:
                    raise KineticsFileError(path, 0, 'non-numeric token',
                                            f'{who}: expected finite numbers in "{key}", '
                                            f'found {bad[0]!r}')


def count_frames(path: Union[str, Path]) -> int:
    """The largest ``frame_index`` of a clip + 1, read without parsing the JSON (0 when
    unreadable: reading the clip reports the problem)."""
    try:
        with open(path, 'rb') as f:
            found = re.findall(rb'"frame_index"\s*:\s*(\d+)', f.read())
    except OSError:
        return 0
    return max(int(i) for i in found) + 1 if found else 0


def people_array(frame_index: np.ndarray, slot: np.ndarray, pose: np.ndarray,
                 score: np.ndarray, num_frames: int, num_person_in: int = NUM_PERSON_IN,
                 num_person_out: int = NUM_PERSON_OUT) -> np.ndarray:
    """The people of a 2-D pose sequence as ``[3, num_frames, V, num_person_out]`` float64,
    converted as the original (see the module doc): ``(x - 0.5, -(y - 0.5), score)``, zero
    where the score is 0, people sorted per frame by total score and the first
    :obj:`num_person_out` kept.

    Args:
        frame_index (numpy.ndarray): ``[E]`` the frame of each entry (one person in a frame).
        slot (numpy.ndarray): ``[E]`` the person's place in its frame's listing; entries at
            :obj:`num_person_in` or beyond are not observed.
        pose (numpy.ndarray): ``[E, 2 V]`` the entries' ``x0, y0, x1, y1, ...``, normalised
            to the frame.
        score (numpy.ndarray): ``[E, V]`` the detector's confidence.
        num_frames (int): The length of the time axis; entries beyond it are dropped.
    """
    V = pose.shape[-1] // 2
    observed = (slot < num_person_in) & (frame_index < num_frames)
    frame_index, slot = frame_index[observed], slot[observed]
    pose, score = pose[observed], score[observed]
    # Later entries of the same (frame, person) overwrite earlier ones, as in the original.
    key = frame_index * num_person_in + slot
    _, last_first = np.unique(key[::-1], return_index=True)
    keep = np.zeros(len(key), bool)
    keep[len(key) - 1 - last_first] = True
    t, m = frame_index[keep], slot[keep]
    data = np.zeros((3, num_frames, V, num_person_in))
    data[0, t, :, m] = pose[keep, 0::2] - 0.5
    data[1, t, :, m] = -(pose[keep, 1::2] - 0.5)
    data[2, t, :, m] = score[keep]
    data[0:2][:, data[2] == 0] = 0
    order = np.argsort(-data[2].sum(axis=1), axis=1, kind='stable')     # [T, M_in]
    return np.take_along_axis(data, order[None, :, None, :], axis=3)[..., :num_person_out]


def read_kinetics(path: Union[str, Path], num_frames: int = 300, truncate: bool = True,
                  num_person_in: int = NUM_PERSON_IN, num_person_out: int = NUM_PERSON_OUT
                  ) -> Tuple[np.ndarray, Optional[int], List[str]]:
    """One clip as ``[3, num_frames, 18, num_person_out]`` float64 (see the module doc).

    Returns:
        ``(data, label_index, warnings)``: ``label_index`` is the file's own (``None`` when
        absent).

    Raises:
        KineticsFileError: Invalid JSON, a wrong structure or number of values, a non-numeric
            value; a frame index beyond :obj:`num_frames` when :obj:`truncate` is off.
    """
    path = str(path)
    video = load_json(path, KineticsFileError)
    index: List[int] = []
    slot: List[int] = []
    poses: List[Any] = []
    scores: List[Any] = []
    try:
        for frame in video['data']:
            frame_index = frame['frame_index']
            for m, person in enumerate(frame['skeleton'][:num_person_in]):
                index.append(frame_index)
                slot.append(m)
                poses.append(person['pose'])
                scores.append(person['score'])
        frame_index = np.array(index, dtype=np.int64)
        pose = np.array(poses, dtype=np.float64).reshape(len(poses), 2 * NUM_JOINTS)
        score = np.array(scores, dtype=np.float64).reshape(len(scores), NUM_JOINTS)
        valid = (all(len(p) == 2 * NUM_JOINTS for p in poses)
                 and all(isinstance(i, int) and not isinstance(i, bool) for i in index)
                 and (frame_index >= 0).all() and np.isfinite(pose).all()
                 and np.isfinite(score).all())
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        valid = False
    if not valid:
        _validate(video, path, num_person_in)
        raise KineticsFileError(path, 0, 'bad structure', 'unexpected content')  # not reached
    warnings = []
    late = frame_index >= num_frames
    if late.any():
        last = int(frame_index.max())
        if not truncate:
            raise KineticsFileError(path, 0, 'too long', f'frame_index {last} does not fit in '
                                    f'{num_frames} frames')
        warnings.append(f'{path}: frame_index up to {last}, frames from {num_frames} on '
                        f'dropped (use --keep-long to keep whole sequences)')
    data = people_array(frame_index, np.array(slot, dtype=np.int64), pose, score, num_frames,
                        num_person_in, num_person_out)
    label = video.get('label_index') if isinstance(video, dict) else None
    return data, (label if isinstance(label, int) else None), warnings


def load_kinetics_sample(path: Union[str, Path], label: Optional[int] = None,
                         num_frames: int = 300, truncate: bool = True
                         ) -> Tuple[np.ndarray, int, List[str]]:
    """One clip, ready for training: ``(sample, valid_frames, warnings)``, the sample
    ``[3, num_frames, 18, 2]`` float32 and ``valid_frames`` the index of its last non-empty
    frame + 1.

    Args:
        path (str or Path): The clip's JSON file.
        label (int, optional): The label from the label file; a file whose own
            ``label_index`` differs is an error (the original asserts they agree).
        num_frames (int, optional): The length of the time axis. (default: :obj:`300`)
        truncate (bool, optional): Drop frames beyond :obj:`num_frames` with a warning;
            otherwise they are an error. (default: :obj:`True`)

    Raises:
        SampleError: A malformed file, a label mismatch; with severity ``'warning'``, a clip
            without frames or without any person.
    """
    data, own_label, warnings = read_kinetics(path, num_frames, truncate)
    if label is not None and own_label is not None and own_label != label:
        raise KineticsFileError(path, 0, 'label mismatch', f'its label_index {own_label} '
                                f'differs from {label} in the label file')
    nonempty = np.flatnonzero((data != 0).any(axis=(0, 2, 3)))
    if len(nonempty) == 0:
        raise SampleError(path, 0, 'no body', 'no person in any frame', 'warning')
    return data.astype(np.float32), int(nonempty[-1]) + 1, warnings
