"""Output files of preprocessing, written safely, in the dataset format of
:mod:`pyg_mstgcn.io.arrays` (the layout of the original tools).

The joint array of a split is created under its temporary name (:func:`~pyg_mstgcn.io.
temporary_path`) and filled sample by sample through a memory map; :func:`finish_split`
drops the samples that failed, writes labels and frame counts, and renames the joint array
last. A split whose three files exist is complete and is skipped by a new run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
from numpy.lib import format as npy_format

from pyg_mstgcn.io import (data_path, frames_path, label_path, load_split, temporary_path,
                           write_labels, write_npy)

PathLike = Union[str, Path]


def create_array(path: PathLike, shape: Sequence[int], dtype=np.float32) -> Path:
    """Creates a zero-filled ``.npy`` under the temporary name of :obj:`path` (a sparse
    file: no memory, no disk until written) and returns that name."""
    tmp = temporary_path(path)
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


def finish_split(folder: PathLike, split: str, rows: Sequence[int], names: Sequence[str],
                 labels: Sequence[int], num_frames: Sequence[int]) -> None:
    """Completes a split whose samples were written into the temporary joint array: keeps
    :obj:`rows` (the written ones), writes labels and frame counts, and renames everything
    to the final names (the joint data last)."""
    if not len(rows) == len(names) == len(labels) == len(num_frames):
        raise ValueError('rows, names, labels and num_frames must have the same length')
    data = data_path(folder, split)
    keep_rows(temporary_path(data), rows)
    write_labels(label_path(folder, split), names, labels)
    write_npy(frames_path(folder, split), np.asarray(num_frames, dtype=np.int64))
    os.replace(temporary_path(data), data)


# load_split is the reader of what is written here (defined with the format)
__all__ = ['create_array', 'keep_rows', 'finish_split', 'load_split']
