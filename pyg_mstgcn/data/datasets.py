r"""Datasets over preprocessed skeleton arrays, yielding the library's PyG
:class:`~torch_geometric.data.Data` (one per sequence, see :mod:`pyg_mstgcn.data`).

**The files** are the preprocessed-array format of the original 2s-AGCN / MST-GCN tools and
of ``python -m preprocess``, defined in :mod:`pyg_mstgcn.io.arrays`: per split,
``{split}_data_joint.npy`` (float32 ``[N, C, T, V, M]``, memory-mapped, so a sample is read
from disk only when it is used), ``{split}_label.pkl`` (``(sample_names, labels)``) and,
optionally, ``{split}_num_frames.npy`` (the valid frames of each sample). The original's NTU
preprocessing fills the frames after the sequence by repeating it, so without that file every
frame counts as valid.

**Streams** are computed on the fly from the joint file
(:func:`~pyg_mstgcn.data.streams.make_stream`): ``'joint'``, ``'bone'``, ``'joint_motion'``,
``'bone_motion'``. By default the stream is computed *before* the transforms, from the whole
stored sequence, which is what the original does: its bone and motion files are computed from
the joint file offline, and its feeder augments what it loads. ``stream_first=False``
computes it after the transforms instead (CTR-GCN, PYSKL), e.g. the motion between the frames
that were sampled. The order matters for steps that do not commute with the stream: for the
bones, the translation of ``random_move`` and normalisation; for the motions, also every
temporal step (shift, choose, sampling, crop-resize). A stream file written by the original
tools (``train_data_bone.npy``) is read as it is with ``data_path=`` and ``stream='joint'``.

**Randomness.** Each process draws augmentations from its own
:class:`numpy.random.Generator`. In a ``DataLoader`` worker it is seeded with the worker's
seed, which PyTorch draws from its own generator for every epoch; in the main process
(``num_workers=0``) with :obj:`seed`, or else :func:`torch.initial_seed`. So
:func:`torch.manual_seed` before creating the loader makes augmentation reproducible, with
any number of workers, and every epoch still sees new augmentations.
:meth:`SkeletonDataset.get` takes an explicit generator.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Data

from pyg_mstgcn.data.skeleton import check_sequence_shape, skeleton_graph
from pyg_mstgcn.data.streams import STREAMS, make_stream
from pyg_mstgcn.data.transforms import (Compose, Normalize, RngLike, TransformSpec,
                                        as_generator, build_transforms, valid_range)
from pyg_mstgcn.graph import SkeletonLayout, get_layout
from pyg_mstgcn.io import data_path as format_data_path
from pyg_mstgcn.io import (class_names_path, file_kind, frames_path, read_class_names,
                           read_labels)
from pyg_mstgcn.io import label_path as format_label_path

PathLike = Union[str, Path]
LayoutLike = Union[str, SkeletonLayout]

#: Samples kept by ``debug=True`` (as the original feeder).
DEBUG_SAMPLES = 100


class SkeletonDataset(torch.utils.data.Dataset):
    r"""Base of the skeleton datasets: a sample ``[C, T, V, M]``, its stream, the transforms
    and the conversion to a :class:`~torch_geometric.data.Data` (with ``y``, ``name`` and
    ``sample_idx``, the position in the dataset).

    Subclasses implement :meth:`__len__`, :meth:`raw` and :meth:`fit_chunks`.

    Args:
        layout (str or SkeletonLayout): The skeleton layout of the data.
        stream (str): ``'joint'``, ``'bone'``, ``'joint_motion'`` or ``'bone_motion'``.
        transforms (list or Compose, optional): The pipeline (see
            :func:`~pyg_mstgcn.data.transforms.build_transforms`).
        stream_first (bool): Compute the stream before the transforms (the original) or after.
        seed (int, optional): Seed of the main-process generator (see the module doc).
    """

    def __init__(self, layout: LayoutLike, stream: str = 'joint',
                 transforms: Union[None, TransformSpec, Sequence[TransformSpec]] = None,
                 stream_first: bool = True, seed: Optional[int] = None) -> None:
        self.layout = get_layout(layout)
        if stream not in STREAMS:
            raise ValueError(f"unknown stream '{stream}'; valid streams: {', '.join(STREAMS)}")
        self.stream = stream
        self.transforms: Compose = build_transforms(transforms)
        self.stream_first = bool(stream_first)
        self.seed = seed
        self._rng: Optional[np.random.Generator] = None
        self._rng_key: Any = None

    # -- to implement ----------------------------------------------------------------------
    def raw(self, index: int) -> Tuple[np.ndarray, Optional[int], int, str]:
        r"""``(x, num_frames, label, name)`` of sample :obj:`index`: ``x`` a float32 array
        ``[C, T, V, M]`` of the joints that the caller may modify, ``num_frames`` its valid
        frames (or :obj:`None`: found in the data)."""
        raise NotImplementedError

    def fit_chunks(self) -> Iterator[np.ndarray]:
        r"""The joint data in chunks ``[n, C, T, V, M]``, in sample order, to fit normalisation
        on or to check every sample (``--check-data``)."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------
    def _check_index(self, index: int) -> int:
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f'sample {index} is out of range for {n} samples')
        return i

    def _check_opened(self, where: str) -> None:
        """Cheap checks of a dataset as it opens (:obj:`where` names its data): no negative
        label, and no NaN or inf in the :attr:`spot_check` samples strided over it (reading
        every sample of a 10 GB split is ``--check-data``'s job, not start-up's)."""
        negative = [i for i, label in enumerate(self.labels) if label < 0]
        if negative:
            raise ValueError(f'{where}: {len(negative)} samples have negative labels, first '
                             f"'{self.raw(negative[0])[3]}' (label "
                             f'{self.labels[negative[0]]}); labels are 0-based class indices')
        n = len(self)
        if not self.spot_check or not n:
            return
        for i in np.unique(np.linspace(0, n - 1, min(n, self.spot_check)).round().astype(int)):
            x, _, _, name = self.raw(int(i))
            if not np.isfinite(x).all():
                raise ValueError(f"{where}: sample '{name}' (index {i}) has NaN or infinite "
                                 f'values; list every bad sample with `python -m '
                                 f'pyg_mstgcn.train --check-data` and the same -c/--set')

    def _fit_normalizers(self) -> None:
        """Fits every unfitted :class:`Normalize` of the pipeline on the stored data (its
        stream when the stream comes first), as the original's ``get_mean_map``."""
        pending = [t for t in self.transforms if isinstance(t, Normalize) and not t.fitted]
        if not pending:
            return
        chunks = self.fit_chunks()
        if self.stream_first and self.stream != 'joint':
            chunks = (make_stream(c, self.stream, self.layout) for c in chunks)
        first = pending[0].fit(chunks)
        for other in pending[1:]:
            other.mean, other.std = first.mean, first.std

    def generator(self) -> np.random.Generator:
        r"""This process's generator (see the module doc)."""
        info = torch.utils.data.get_worker_info()
        key = ('worker', info.id, info.seed) if info is not None else ('main', os.getpid())
        if self._rng is None or self._rng_key != key:
            if info is not None:
                entropy = [info.seed] + ([] if self.seed is None else [self.seed])
            else:
                entropy = self.seed if self.seed is not None else torch.initial_seed()
            self._rng, self._rng_key = np.random.default_rng(entropy), key
        return self._rng

    def get(self, index: int, rng: RngLike = None) -> Data:
        r"""Sample :obj:`index` as a :class:`~torch_geometric.data.Data`, augmented with
        :obj:`rng` (a generator or a seed; by default this process's generator)."""
        i = self._check_index(index)
        x, num_frames, label, name = self.raw(i)
        rng = self.generator() if rng is None else as_generator(rng)
        if self.stream_first:
            x = make_stream(x, self.stream, self.layout)
        extra = {}
        if len(self.transforms) or self.keep_valid_frames:
            x, valid = self.transforms.apply(x, valid_range(x, num_frames), rng)
            if self.keep_valid_frames:
                extra['valid_frames'] = torch.tensor([valid])
        if not self.stream_first:
            x = make_stream(np.asarray(x, dtype=np.float32), self.stream, self.layout)
        if x.dtype != np.float32 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float32)
        return skeleton_graph(torch.from_numpy(x), self.layout, y=label, name=name,
                              sample_idx=i, **extra)

    def __getitem__(self, index: int) -> Data:
        return self.get(index)

    @property
    def num_classes(self) -> int:
        """The largest label plus one."""
        return max(self.labels) + 1 if len(self.labels) else 0

    labels: List[int]
    sample_names: List[str]
    #: Samples whose values are checked for NaN and inf as the dataset opens, strided over it
    #: (0: none; ``--check-data`` sets 0, to read them all and report instead).
    spot_check: int = 64
    #: Store the valid frames after the transforms as ``valid_frames`` ``[1, 2]`` (a batch:
    #: ``[N, 2]``), for steps applied to the batch later (``data.augment_on: device``).
    keep_valid_frames: bool = False
    #: Values per joint and frame, :math:`C`, and persons per sample, :math:`M`.
    num_channels: int
    num_person: int
    #: The name of each class, when the data says (else :obj:`None`).
    class_names: Optional[List[str]] = None


class SkeletonArrayDataset(SkeletonDataset):
    r"""A split of preprocessed skeleton arrays in the original's layout (see the module
    doc), yielding one :class:`~torch_geometric.data.Data` per sample.

    .. code-block:: python

        from torch_geometric.loader import DataLoader
        train = SkeletonArrayDataset('data/ntu60/xsub', 'train', stream='bone',
                                     transforms=['random_shift', 'random_move'])
        loader = DataLoader(train, batch_size=64, shuffle=True, num_workers=2)

    Each :class:`~torch_geometric.data.Data` holds ``x`` ``[M * V, C, T]``, the skeleton's
    edges (see :func:`~pyg_mstgcn.data.skeleton_graph`), ``y`` (the label), ``name`` (the
    sample name) and ``sample_idx`` (its position in the dataset; PyG shifts every attribute
    whose name contains ``index`` by the node count when batching, hence not ``index``).

    Args:
        root (str or Path, optional): The folder of ``{split}_data_joint.npy``,
            ``{split}_label.pkl`` and (optional) ``{split}_num_frames.npy``; or the path of a
            data file (``.npy``), with :obj:`label_path`.
        split (str, optional): The split, ``'train'`` or ``'val'``. (default: :obj:`'train'`)
        stream (str, optional): ``'joint'``, ``'bone'``, ``'joint_motion'`` or
            ``'bone_motion'``, computed from the data file. (default: :obj:`'joint'`)
        layout (str or SkeletonLayout, optional): The skeleton layout; its number of joints
            must be the data's :math:`V`. (default: :obj:`'ntu-rgb+d'`)
        transforms (list or Compose, optional): The transforms (names, mappings or
            :class:`~pyg_mstgcn.data.transforms.Transform`). An unfitted ``normalize`` is
            fitted here on this split's data (as the original). (default: :obj:`None`)
        mmap (bool, optional): Memory-map the data instead of reading it.
            (default: :obj:`True`)
        debug (bool, optional): Keep the first 100 samples only (the original's ``debug``).
            (default: :obj:`False`)
        data_path (str or Path, optional): The data file, when not
            ``{root}/{split}_data_joint.npy`` (e.g. the original's ``train_data_bone.npy``,
            read with ``stream='joint'``).
        label_path (str or Path, optional): The label file, when not
            ``{root}/{split}_label.pkl``.
        num_frames_path (str or Path, optional): The valid-frame counts, when not
            ``{root}/{split}_num_frames.npy``; without one, valid frames are found in the data.
        stream_first (bool, optional): Compute the stream before the transforms (the original)
            or after them (CTR-GCN, PYSKL). (default: :obj:`True`)
        seed (int, optional): Seed of the generator used when loading in the main process.
    """

    def __init__(self, root: Optional[PathLike] = None, split: str = 'train',
                 stream: str = 'joint', layout: LayoutLike = 'ntu-rgb+d',
                 transforms: Union[None, TransformSpec, Sequence[TransformSpec]] = None,
                 mmap: bool = True, debug: bool = False, data_path: Optional[PathLike] = None,
                 label_path: Optional[PathLike] = None,
                 num_frames_path: Optional[PathLike] = None, stream_first: bool = True,
                 seed: Optional[int] = None) -> None:
        super().__init__(layout, stream, transforms, stream_first, seed)
        self.split = split
        if root is not None and Path(root).suffix == '.npy':
            if data_path is not None:
                raise ValueError(f'got both a data file as root ({root}) and data_path '
                                 f'({data_path}); give one')
            root, data_path = None, root
        if root is None and data_path is None:
            raise ValueError('give the folder of the preprocessed arrays (root=...) or the '
                             'files (data_path=..., label_path=...)')
        if root is not None:
            root = Path(root)
            if root.is_file():   # name what the file is, and what reads it
                kind = file_kind(root)
                reader = {'a NumPy archive (.npz)': ' (a CTR-GCN .npz? read it with '
                                                    'CTRGCNDataset, data.format=ctrgcn)',
                          'a Python pickle': ' (an annotation pickle? read it with '
                                             'PoseAnnotationDataset, data.format=pyskl)'}
                raise ValueError(f'{root} is {kind}, not a folder of preprocessed arrays'
                                 f'{reader.get(kind, "")}')
            if not root.is_dir():
                raise FileNotFoundError(
                    f'{root} is not a folder of preprocessed arrays (it should hold '
                    f'{format_data_path(root, split).name} and '
                    f'{format_label_path(root, split).name}); create it with `python -m '
                    f'preprocess`')
            data_path = data_path or format_data_path(root, split)
            label_path = label_path or format_label_path(root, split)
            if num_frames_path is None and frames_path(root, split).exists():
                num_frames_path = frames_path(root, split)
        elif label_path is None:
            raise ValueError(f'data file {data_path} given without label_path=; the labels '
                             f'are a pickled (sample_names, labels) pair')
        self.data_path = Path(data_path)
        self.label_path = Path(label_path)
        self.num_frames_path = None if num_frames_path is None else Path(num_frames_path)

        if not self.data_path.exists():
            available = sorted(p.name for p in self.data_path.parent.glob('*_data_*.npy'))
            raise FileNotFoundError(
                f'data file {self.data_path} does not exist' +
                (f'; the folder holds {", ".join(available)}' if available else '') +
                '; create it with `python -m preprocess`')
        kind = file_kind(self.data_path)
        if kind != 'a NumPy array (.npy)':
            raise ValueError(f'data file {self.data_path} is {kind}, not a NumPy array (.npy) '
                             f'[N, C, T, V, M]')
        self.mmap, self.debug = bool(mmap), bool(debug)
        self.data = self._load_data(truncate=False)
        self.sample_names, self.labels = read_labels(self.label_path)
        names_file = class_names_path(self.data_path.parent)
        self.class_names = read_class_names(names_file) if names_file.is_file() else None
        self.num_frames: Optional[np.ndarray] = None
        if self.num_frames_path is not None:
            if not self.num_frames_path.exists():
                raise FileNotFoundError(f'valid-frame file {self.num_frames_path} does not '
                                        f'exist')
            self.num_frames = np.load(self.num_frames_path).astype(np.int64).reshape(-1)
        self._validate()
        if debug:
            self.data = self.data[:DEBUG_SAMPLES]
            self.sample_names = self.sample_names[:DEBUG_SAMPLES]
            self.labels = self.labels[:DEBUG_SAMPLES]
            if self.num_frames is not None:
                self.num_frames = self.num_frames[:DEBUG_SAMPLES]
        self._check_opened(str(self.data_path))
        self._fit_normalizers()

    def _load_data(self, truncate: bool = True) -> np.ndarray:
        data = np.load(self.data_path, mmap_mode='r' if self.mmap else None)
        return data[:DEBUG_SAMPLES] if self.debug and truncate else data

    def __getstate__(self) -> dict:
        # worker processes started by 'spawn' map the file again instead of receiving a copy
        state = dict(self.__dict__)
        if self.mmap:
            state['data'] = None
        state['_rng'] = state['_rng_key'] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.data is None:
            self.data = self._load_data()

    def _validate(self) -> None:
        check_sequence_shape(self.data.shape, self.layout, str(self.data_path))
        N = self.data.shape[0]
        if len(self.labels) != N:
            raise ValueError(f'{self.data_path} has {N} samples but {self.label_path} lists '
                             f'{len(self.labels)} labels; the two files must come from the '
                             f'same split and run')
        if self.num_frames is not None and len(self.num_frames) != N:
            raise ValueError(f'{self.data_path} has {N} samples but {self.num_frames_path} '
                             f'gives {len(self.num_frames)} frame counts')

    def __len__(self) -> int:
        return len(self.labels)

    def raw(self, index: int) -> Tuple[np.ndarray, Optional[int], int, str]:
        x = np.array(self.data[index], dtype=np.float32)  # a copy out of the memory map
        num_frames = None if self.num_frames is None else int(self.num_frames[index])
        return x, num_frames, self.labels[index], self.sample_names[index]

    def fit_chunks(self, chunk: int = 256) -> Iterator[np.ndarray]:
        for start in range(0, len(self), chunk):
            yield np.asarray(self.data[start:start + chunk], dtype=np.float32)

    @property
    def shape(self) -> Tuple[int, ...]:
        """The data's shape ``[N, C, T, V, M]``."""
        return tuple(self.data.shape)

    @property
    def num_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def num_person(self) -> int:
        return int(self.data.shape[4])

    def __repr__(self) -> str:
        N, C, T, V, M = self.shape
        pipeline = repr(self.transforms).replace('\n', '\n  ')
        return (f"{type(self).__name__}({N} samples of [C={C}, T={T}, V={V}, M={M}], "
                f"split='{self.split}', stream='{self.stream}', layout='{self.layout.name}', "
                f"data_path='{self.data_path}', transforms={pipeline})")


__all__ = ['SkeletonDataset', 'SkeletonArrayDataset']
