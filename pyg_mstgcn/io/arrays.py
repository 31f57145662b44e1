r"""The preprocessed-array dataset format: the one definition of its file names and contents.

The layout of the original 2s-AGCN / MST-GCN tools, written by ``python -m preprocess`` and
:func:`~pyg_mstgcn.data.make_synthetic`, read by
:class:`~pyg_mstgcn.data.SkeletonArrayDataset`. Per split (``train``, ``val``) of a
benchmark folder:

- ``{split}_data_joint.npy``: float32 ``[N, C, T, V, M]`` (NTU RGB+D: ``[N, 3, 300, 25, 2]``),
  a plain ``.npy`` that ``numpy.load(..., mmap_mode='r')`` maps without reading it;
  ``{split}_data_{stream}.npy`` for the stream files of the original tools
  (``bone``, ``joint_motion``, ``bone_motion``);
- ``{split}_label.pkl``: the pickled pair ``(sample_names, labels)``, two lists, labels
  0-based (files of the original tools pickled by Python 2 load too);
- ``{split}_num_frames.npy`` (optional; ours): int64 ``[N]``, the valid frames of each sample.
  The original tools do not write it, and their data loads without it.

and for the whole folder, ``class_names.txt`` (optional; ours): the name of class ``i`` on
line ``i + 1``, used to label confusion matrices and predictions.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from pyg_mstgcn.io.atomic import atomic_write
from pyg_mstgcn.io.files import load_pickle

PathLike = Union[str, Path]

#: The file names of a split (:meth:`str.format` fields ``split`` and ``stream``).
DATA_FILE = '{split}_data_{stream}.npy'
LABEL_FILE = '{split}_label.pkl'
FRAMES_FILE = '{split}_num_frames.npy'
CLASS_NAMES_FILE = 'class_names.txt'


def data_path(folder: PathLike, split: str, stream: str = 'joint') -> Path:
    """``{folder}/{split}_data_{stream}.npy``."""
    return Path(folder) / DATA_FILE.format(split=split, stream=stream)


def label_path(folder: PathLike, split: str) -> Path:
    """``{folder}/{split}_label.pkl``."""
    return Path(folder) / LABEL_FILE.format(split=split)


def frames_path(folder: PathLike, split: str) -> Path:
    """``{folder}/{split}_num_frames.npy``."""
    return Path(folder) / FRAMES_FILE.format(split=split)


def class_names_path(folder: PathLike) -> Path:
    """``{folder}/class_names.txt``."""
    return Path(folder) / CLASS_NAMES_FILE


def read_class_names(path: PathLike) -> List[str]:
    """Class names, one per line (blank lines at the end ignored)."""
    names = Path(path).read_text(encoding='utf-8').splitlines()
    while names and not names[-1].strip():
        names.pop()
    return [name.strip() for name in names]


def write_class_names(path: PathLike, names: Sequence[str]) -> None:
    """Writes class names, one per line (atomically)."""
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(''.join(f'{name}\n' for name in names))


def split_files(folder: PathLike, split: str) -> Tuple[Path, Path, Path]:
    """The three files of a split: joint data, labels, frame counts."""
    return data_path(folder, split), label_path(folder, split), frames_path(folder, split)


def is_array_folder(path: PathLike) -> bool:
    """Whether :obj:`path` is a folder holding data files ``{split}_data_{stream}.npy``."""
    path = Path(path)
    return path.is_dir() and any(path.glob(DATA_FILE.format(split='*', stream='*')))


def split_complete(folder: PathLike, split: str) -> bool:
    """Whether the joint data, labels and frame counts of a split all exist."""
    return all(p.exists() for p in split_files(folder, split))


def read_labels(path: PathLike) -> Tuple[List[str], List[int]]:
    r"""``(sample_names, labels)`` of a label file ``{split}_label.pkl``, ours or the original
    tools' (pickled by Python 2 or 3)."""
    content = load_pickle(path, 'label file', 'it should hold the pickled pair (sample_names, '
                          'labels) of a {split}_label.pkl')
    try:
        names, labels = content
        names, labels = [str(n) for n in names], [int(label) for label in labels]
    except (TypeError, ValueError):
        raise ValueError(f'{path} does not hold a pair (sample_names, labels) of two lists '
                         f'(got {type(content).__name__})') from None
    if len(names) != len(labels):
        raise ValueError(f'{path} lists {len(names)} sample names but {len(labels)} labels')
    return names, labels


def write_labels(path: PathLike, names: Sequence[str], labels: Sequence[int]) -> None:
    """Writes a label file (atomically)."""
    with atomic_write(path) as f:
        pickle.dump((list(names), [int(label) for label in labels]), f, protocol=4)


def write_npy(path: PathLike, array: np.ndarray) -> None:
    """:func:`numpy.save`, atomically."""
    with atomic_write(path) as f:
        np.save(f, array)


def write_split(folder: PathLike, split: str, data: np.ndarray, names: Sequence[str],
                labels: Sequence[int], num_frames: Optional[Sequence[int]] = None) -> None:
    """Writes a split held in memory (data ``[N, C, T, V, M]``); the joint data last, so that
    a split whose data file exists is complete."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not len(data) == len(names) == len(labels):
        raise ValueError(f'{len(data)} samples, {len(names)} names and {len(labels)} labels')
    write_labels(label_path(folder, split), names, labels)
    if num_frames is not None:
        write_npy(frames_path(folder, split), np.asarray(num_frames, dtype=np.int64))
    write_npy(data_path(folder, split), np.asarray(data, dtype=np.float32))


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
    if len(names) != len(data):
        raise ValueError(f'{path} has {len(data)} samples but {label_path(folder, split)} '
                         f'lists {len(names)} names and labels')
    frames = frames_path(folder, split)
    num_frames = np.load(frames) if frames.exists() else None
    return data, names, labels, num_frames
