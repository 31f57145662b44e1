"""The original code's data loading, as a baseline: the ``Feeder`` of 2s-AGCN, MS-G3D and
MST-GCN (``feeders/feeder.py``) with NumPy ports of its ``feeders/tools.py`` augmentations
``random_shift`` and ``random_move``.

It exists as the reference row of the data-loading benchmark
(:mod:`pyg_mstgcn.benchmarks.data_loading`): the same preprocessed array files, read and
augmented the original's way (the whole ``[N, C, T, V, M]`` file memory-mapped, one sample
copied out, augmented per sample in NumPy with the global ``random`` and ``np.random``
states, a frame-by-frame loop in ``random_move``, float64 out) and batched by the plain
``torch.utils.data.DataLoader`` with its default collate. Not used for training: our
:class:`~pyg_mstgcn.data.SkeletonArrayDataset` and the transforms of
:mod:`pyg_mstgcn.data.transforms` do the same work.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence, Tuple, Union

import numpy as np
from torch.utils.data import Dataset

from pyg_mstgcn.data.transforms import RandomMove
from pyg_mstgcn.io import load_split

# the original's candidates: RandomMove's defaults
_MOVE = RandomMove()
ANGLES, SCALES, TRANSLATIONS = (_MOVE.angle_candidate, _MOVE.scale_candidate,
                                _MOVE.transform_candidate)


def random_shift(data_numpy: np.ndarray) -> np.ndarray:
    """The original's ``tools.random_shift``: the span from the first to the last frame with a
    non-zero value moved to a random offset (Python's ``random.randint``, both ends included)
    of a zero array of the same shape, float64 (``np.zeros``' default type). An all-zero
    sample is returned as zeros."""
    C, T, V, M = data_numpy.shape
    shifted = np.zeros(data_numpy.shape)
    valid = (data_numpy != 0).sum(axis=3).sum(axis=2).sum(axis=0) > 0
    begin = valid.argmax()
    end = T - valid[::-1].argmax()   # an all-zero sample: 0 and T, the whole sample
    size = end - begin
    bias = random.randint(0, T - size)
    shifted[:, bias:bias + size] = data_numpy[:, begin:end]
    return shifted


def random_move(data_numpy: np.ndarray, angle_candidate: Sequence[float] = ANGLES,
                scale_candidate: Sequence[float] = SCALES,
                transform_candidate: Sequence[float] = TRANSLATIONS,
                move_time_candidate: Sequence[int] = (1, )) -> np.ndarray:
    """The original's ``tools.random_move``, in place: the time axis cut into ``move_time``
    segments (Python's ``random.choice``); at each segment end an angle (degrees), a scale and
    an x and y translation drawn with ``np.random.choice`` (in that order); per segment each
    value follows ``np.linspace`` from one end's value to the next, both included; frame
    ``t``'s ``(x, y)`` becomes ``s_t R(a_t) (x, y) + (tx_t, ty_t)`` frame by frame, every
    point moved, zeros (padding, an absent person) included; other channels kept."""
    C, T, V, M = data_numpy.shape
    move_time = random.choice(move_time_candidate)
    node = np.append(np.arange(0, T, T * 1.0 / move_time).round().astype(int), T)
    num_node = len(node)
    A = np.random.choice(angle_candidate, num_node)
    S = np.random.choice(scale_candidate, num_node)
    T_x = np.random.choice(transform_candidate, num_node)
    T_y = np.random.choice(transform_candidate, num_node)

    a, s, t_x, t_y = np.zeros(T), np.zeros(T), np.zeros(T), np.zeros(T)
    for i in range(num_node - 1):
        frames, n = slice(node[i], node[i + 1]), node[i + 1] - node[i]
        a[frames] = np.linspace(A[i], A[i + 1], n) * np.pi / 180
        s[frames] = np.linspace(S[i], S[i + 1], n)
        t_x[frames] = np.linspace(T_x[i], T_x[i + 1], n)
        t_y[frames] = np.linspace(T_y[i], T_y[i + 1], n)
    theta = np.array([[np.cos(a) * s, -np.sin(a) * s],
                      [np.sin(a) * s, np.cos(a) * s]])    # [2, 2, T]

    for t in range(T):   # one frame at a time, as the original
        xy = np.dot(theta[:, :, t], data_numpy[0:2, t].reshape(2, -1))
        xy[0] += t_x[t]
        xy[1] += t_y[t]
        data_numpy[0:2, t] = xy.reshape(2, V, M)
    return data_numpy


class OriginalFeeder(Dataset):
    """The original's ``feeders.feeder.Feeder`` with ``random_shift`` and ``random_move`` (no
    window, no normalisation), on a split of preprocessed arrays.

    ``feeder[i]`` is ``(data, label, i)``: sample :obj:`i` copied out of the memory-mapped
    file and augmented (float64 ``[C, T, V, M]`` after ``random_shift``).

    Args:
        folder (str or Path): The folder of the preprocessed arrays.
        split (str, optional): The split. (default: :obj:`'train'`)
        stream (str, optional): The data file's stream. (default: :obj:`'joint'`)
        random_shift (bool, optional): Apply :func:`random_shift`. (default: :obj:`True`)
        random_move (bool, optional): Apply :func:`random_move`. (default: :obj:`True`)
        use_mmap (bool, optional): Memory-map the data file. (default: :obj:`True`)
    """

    def __init__(self, folder: Union[str, Path], split: str = 'train', stream: str = 'joint',
                 random_shift: bool = True, random_move: bool = True,
                 use_mmap: bool = True) -> None:
        # the original has no valid-frame counts: random_shift finds the frames in the data
        self.data, self.sample_name, self.label, _ = load_split(folder, split, stream,
                                                                mmap=use_mmap)
        self.random_shift, self.random_move = random_shift, random_move

    def __len__(self) -> int:
        return len(self.label)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, int, int]:
        data_numpy = np.array(self.data[index])
        if self.random_shift:
            data_numpy = random_shift(data_numpy)
        if self.random_move:
            data_numpy = random_move(data_numpy)
        return data_numpy, self.label[index], index
