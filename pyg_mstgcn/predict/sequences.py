r"""Sequences read for prediction, their windows, and the last steps of the dataset's
preprocessing applied to each window.

Readers (:mod:`pyg_mstgcn.predict.inputs`) return :class:`PoseSequence` objects in one of
three *stages*, which say what is left to do before the model's stream and evaluation
transforms:

- ``'ntu'``: NTU RGB+D bodies ``[S, T, 25, 3]`` (slot :math:`s` the :math:`s`-th body listed
  in a frame). A window keeps the two bodies of highest energy and is pre-normalised, exactly
  as ``python -m preprocess ntu60`` prepares a sample (padded and repeated to 300 frames).
- ``'pose2d'``: 2-D poses already converted as Kinetics-Skeleton's preprocessing does
  (``[3, T, V, M]``: ``x - 0.5``, ``-(y - 0.5)``, score, people sorted per frame); a window
  is zero-padded to 300 frames, as the preprocessed arrays are.
- ``'prepared'``: the model's input space already (preprocessed arrays, annotation pickles):
  a window is taken as it is.

A whole sequence finished this way is what ``python -m preprocess`` writes for it (longer
sequences are kept whole, as with ``--keep-long``), so the predictions on a raw file and on its
preprocessed array agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from pyg_mstgcn.errors import InputError
from pyg_mstgcn.preprocess.normalize import num_valid_frames, pre_normalize
from pyg_mstgcn.preprocess.ntu import NUM_PERSONS, select_bodies

#: The length of the time axis of the preprocessed datasets; shorter windows are padded to it.
PREPROCESSED_FRAMES = 300
STAGES = ('ntu', 'pose2d', 'prepared')


@dataclass
class PoseSequence:
    """One sequence of an input.

    Attributes:
        input (str): The input it was read from (a path, or ``'<array>'``).
        sample (str): Its name within the input: the file stem, the ``frame_dir`` of an
            annotation, the index in an array.
        data (numpy.ndarray): Its poses, in the form its :attr:`stage` says.
        stage (str): ``'ntu'``, ``'pose2d'`` or ``'prepared'`` (see the module doc).
        num_frames (int): The frames that hold the sequence, ``[0, num_frames)``; windows
            cover them.
        layout (str): The skeleton layout of :attr:`data`.
    """
    input: str
    sample: str
    data: np.ndarray
    stage: str
    num_frames: int
    layout: str


def finish(sequence: PoseSequence, start: int = 0, end: Optional[int] = None,
           pre_normalized: bool = True) -> Tuple[np.ndarray, int]:
    """The frames ``[start, end)`` of :obj:`sequence` (all of them by default) as the
    dataset's preprocessing leaves a sample: ``([C, T, V, M] float32, valid frames)``, the
    valid frames counted as the preprocessing's ``{split}_num_frames.npy`` counts them.
    :obj:`pre_normalized` ``False`` leaves raw NTU bodies as they are (the camera coordinates
    of a 3-D annotation pickle, for a model whose transforms pre-normalise them)."""
    end = sequence.num_frames if end is None else end
    if sequence.stage == 'ntu':
        bodies = select_bodies(sequence.data[:, start:end], NUM_PERSONS)
        if not pre_normalized:
            return bodies.astype(np.float32), end - start
        length = max(PREPROCESSED_FRAMES, end - start)
        return (pre_normalize(bodies.astype(np.float32), num_frames=length),
                int(num_valid_frames(bodies)))
    if sequence.stage == 'prepared' and (start, end) == (0, sequence.num_frames):
        # the whole sample as stored (the NTU arrays repeat it to 300 frames), as evaluated
        return np.ascontiguousarray(sequence.data, dtype=np.float32), end
    x = sequence.data[:, start:end]
    if sequence.stage == 'pose2d':
        padded = np.zeros(x.shape[:1] + (max(PREPROCESSED_FRAMES, x.shape[1]), ) + x.shape[2:],
                          np.float32)
        padded[:, :x.shape[1]] = x
        return padded, end - start
    return np.ascontiguousarray(x, dtype=np.float32), end - start


def check_window(window: Optional[int], stride: Optional[int]) -> None:
    """Raises an :class:`~pyg_mstgcn.errors.InputError` unless :obj:`window` and
    :obj:`stride` are positive frame counts (or :obj:`None`), a stride coming with a
    window."""
    for name, value in (('window', window), ('stride', stride)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise InputError(f'{name} must be a positive number of frames (got {value!r})')
    if stride is not None and window is None:
        raise InputError('stride needs a window (--window W --stride S)')


def windows(num_frames: int, window: Optional[int], stride: Optional[int],
            where: str = 'the sequence') -> List[Tuple[int, int]]:
    r"""The frame ranges ``(start, end)`` predictions are made on.

    Without :obj:`window`, the whole sequence ``(0, num_frames)``. With it, windows of
    :obj:`window` frames starting at ``0, stride, 2 stride, ...`` while they fit, and, when
    those leave frames at the end, one more window ending at the last frame: with a stride no
    longer than the window, every frame is covered. A window longer than the sequence is an
    :class:`~pyg_mstgcn.errors.InputError`.

    Args:
        num_frames (int): The frames of the sequence.
        window (int, optional): The window length.
        stride (int, optional): The step between windows (default: :obj:`window`).
        where (str, optional): The sequence, for the error message.
    """
    if window is None:
        return [(0, num_frames)]
    stride = stride or window
    if window > num_frames:
        raise InputError(f'a window of {window} frames is longer than {where} '
                         f'({num_frames} frames); use a shorter --window or none')
    spans = [(s, s + window) for s in range(0, num_frames - window + 1, stride)]
    if spans[-1][1] < num_frames:
        spans.append((num_frames - window, num_frames))
    return spans


__all__ = ['PoseSequence', 'STAGES', 'PREPROCESSED_FRAMES', 'finish', 'check_window',
           'windows']
