"""Output files in the layout of the original tools (2s-AGCN, MST-GCN), written safely.

Per split (``train`` / ``val``) of a benchmark folder:

- ``{split}_data_joint.npy``: float32 ``[N, 3, T, V, M]``, a plain ``.npy`` that
  ``numpy.load(..., mmap_mode='r')`` maps without reading it;
- ``{split}_label.pkl``: the pickled tuple ``(sample_names, labels)``, two lists;
- ``{split}_num_frames.npy``: int64 ``[N]``, the number of valid frames of each sample (ours;
  the original tools do not write it, and their data loads without it).

Everything is first written under a temporary name (``*.tmp``) and renamed when complete; a
split whose three files exist is complete and is skipped by a new run.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.lib import format as npy_format

PathLike = Union[str, Path]
TMP = '.tmp'


def data_path(folder: PathLike, split: str, stream: str = 'joint') -> Path:
    """``{folder}/{split}_data_{stream}.npy``."""
    return Path(folder) / f'{split}_data_{stream}.npy'


def label_path(folder: PathLike, split: str) -> Path:
    """``{folder}/{split}_label.pkl``."""
    return Path(folder) / f'{split}_label.pkl'


def frames_path(folder: PathLike, split: str) -> Path:
    """``{folder}/{split}_num_frames.npy``."""
    return Path(folder) / f'{split}_num_frames.npy'


def tmp_path(path: PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + TMP)


def split_complete(folder: PathLike, split: str) -> bool:
    """Whether the joint data, labels and frame counts of a split all exist."""
    return all(p.exists() for p in (data_path(folder, split), label_path(folder, split),
                                    frames_path(folder, split)))


def create_array(path: PathLike, shape: Sequence[int], dtype=np.float32) -> Path:
    """Creates a zero-filled ``.npy`` under the temporary name of :obj:`path` (a sparse
    file: no memory, no disk until written) and returns that name."""
    tmp = tmp_path(path)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    array = npy_format.open_memmap(tmp, mode='w+', dtype=dtype, shape=tuple(shape))
    array.flush()
    del array
    return tmp


def keep_rows(path: PathLike, rows: Sequence[int], chunk: int = 64) -> None:
    """Keeps only :obj:`rows` (increasing) of the ``.npy`` at :obj:`path`, in place: rows move
    down to close the gaps, the header gets the new length and the file is truncated."""
    rows = np.asarray(rows, dtype=np.int64)
    array = np.load(path, mmap_mode='r+')
    n = len(rows)
    if n == len(array):
        return
    moved = np.flatnonzero(rows != np.arange(n))
    for start in range(0, len(moved), chunk):
        # rows[i] >= i, and rows increase: reading ahead of writing never overwrites a source
        index = moved[start:start + chunk]
        array[index] = array[rows[index]]
    array.flush()
    shape, offset = (n, ) + array.shape[1:], array.offset
    row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * array.dtype.itemsize
    fortran, dtype = False, array.dtype
    del array
    with open(path, 'r+b') as f:
        version = npy_format.read_magic(f)
        f.seek(0)
        header = {'descr': npy_format.dtype_to_descr(dtype), 'fortran_order': fortran,
                  'shape': shape}
        writer = (npy_format.write_array_header_1_0 if version == (1, 0)
                  else npy_format.write_array_header_2_0)
        writer(f, header)
        if f.tell() != offset:  # never expected: numpy pads headers to a fixed size
            raise RuntimeError(f'{path}: the .npy header changed size; cannot shrink in place')
        f.truncate(offset + n * row_bytes)


def write_pickle(path: PathLike, obj) -> None:
    tmp = tmp_path(path)
    with open(tmp, 'wb') as f:
        pickle.dump(obj, f)
    os.replace(tmp, path)


def write_npy(path: PathLike, array: np.ndarray) -> None:
    tmp = tmp_path(path)
    with open(tmp, 'wb') as f:
        np.save(f, array)
    os.replace(tmp, path)


def finish_split(folder: PathLike, split: str, rows: Sequence[int], names: Sequence[str],
                 labels: Sequence[int], num_frames: Sequence[int]) -> None:
    """Completes a split whose samples were written into the temporary joint array: keeps
    :obj:`rows` (the written ones), writes labels and frame counts, and renames everything
    to the final names (the joint data last)."""
    if not len(rows) == len(names) == len(labels) == len(num_frames):
        raise ValueError('rows, names, labels and num_frames must have the same length')
    data = data_path(folder, split)
    keep_rows(tmp_path(data), rows)
    write_pickle(label_path(folder, split), (list(names), [int(label) for label in labels]))
    write_npy(frames_path(folder, split), np.asarray(num_frames, dtype=np.int64))
    os.replace(tmp_path(data), data)


def read_labels(path: PathLike) -> Tuple[List[str], List[int]]:
    """``(sample_names, labels)`` of a label file, ours or the original tools'."""
    with open(path, 'rb') as f:
        try:
            names, labels = pickle.load(f)
        except UnicodeDecodeError:  # pickled by Python 2
            f.seek(0)
            names, labels = pickle.load(f, encoding='latin1')
    return list(names), [int(label) for label in labels]


def load_split(folder: PathLike, split: str, stream: str = 'joint', mmap: bool = True
               ) -> Tuple[np.ndarray, List[str], List[int], Optional[np.ndarray]]:
    """One split as ``(data, sample_names, labels, num_frames)``.

    Works on the output of the original tools too (then ``num_frames`` is :obj:`None`).

    Args:
        folder (str or Path): The benchmark folder (e.g. ``data/ntu60/xsub``).
        split (str): ``'train'`` or ``'val'``.
        stream (str, optional): ``'joint'``, or a stream written by
            ``python -m preprocess streams`` (``'bone'``, ``'joint_motion'``,
            ``'bone_motion'``). (default: :obj:`'joint'`)
        mmap (bool, optional): Memory-map the data instead of reading it.
            (default: :obj:`True`)
    """
    path = data_path(folder, split, stream)
    if not path.exists():
        raise FileNotFoundError(f'{path} does not exist; run `python -m preprocess` to create '
                                f'it' + ('' if stream == 'joint' else
                                         ' (streams: `python -m preprocess streams --in DIR`)'))
    data = np.load(path, mmap_mode='r' if mmap else None)
    names, labels = read_labels(label_path(folder, split))
    if len(names) != len(data) or len(labels) != len(data):
        raise ValueError(f'{path} has {len(data)} samples but {label_path(folder, split)} '
                         f'lists {len(names)} names and {len(labels)} labels')
    frames = frames_path(folder, split)
    num_frames = np.load(frames) if frames.exists() else None
    return data, names, labels, num_frames
