r"""The CTR-GCN family's arrays: ``NTU60_CS.npz``, ``NTU60_CV.npz``, ``NTU120_CSub.npz``,
``NTU120_CSet.npz`` (written by CTR-GCN's ``data/ntu*/seq_transformation.py``, read by
CTR-GCN, InfoGCN, HD-GCN, BlockGCN and others).

**The file** is a NumPy archive (``numpy.savez``) with four arrays:

- ``x_train``, ``x_test``: float32 ``[N, T, M * V * C]``, each frame the persons one after
  the other, each person its joints, each joint its coordinates (NTU RGB+D: ``T = 300``,
  ``150 = 2 persons x 25 joints x 3``); frames after the sequence and an absent second
  person are zeros;
- ``y_train``, ``y_test``: one-hot labels ``[N, num_classes]`` (integer labels ``[N]`` are
  read too).

The file holds no sample names: samples are named ``{split}_{index}`` (CTR-GCN's feeder
names them so), which keeps the score files of several streams matched by name. The splits
are ``'train'`` and ``'val'`` (the file's ``x_test``; ``'test'`` is read as ``'val'``).
An uncompressed archive (``numpy.savez``, as CTR-GCN writes it) is memory-mapped, so that a
sample is read from disk only when used; a compressed one is read into memory.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from pyg_mstgcn.data.datasets import DEBUG_SAMPLES, LayoutLike, PathLike, SkeletonDataset
from pyg_mstgcn.data.transforms import TransformSpec
from pyg_mstgcn.io import file_kind

#: Our split name -> the suffix of the file's arrays.
SPLITS = {'train': 'train', 'val': 'test', 'test': 'test'}
#: Coordinates per joint of the CTR-GCN arrays.
NUM_COORDINATES = 3


def is_ctrgcn_file(path: PathLike) -> bool:
    """Whether :obj:`path` is a NumPy archive holding ``x_train`` or ``x_test``."""
    path = Path(path)
    if not path.is_file() or file_kind(path) != 'a NumPy archive (.npz)':
        return False
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    return bool({'x_train.npy', 'x_test.npy'} & names)


def load_member(path: Path, name: str) -> np.ndarray:
    """The array :obj:`name` of an ``.npz``: memory-mapped when it is stored uncompressed,
    else read."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f'{name}.npy')
        if info.compress_type != zipfile.ZIP_STORED:
            with archive.open(info) as f:
                return np.lib.format.read_array(f)
    with open(path, 'rb') as f:
        f.seek(info.header_offset)
        local = f.read(30)   # the zip local file header: names and extra field follow
        start = info.header_offset + 30 + int.from_bytes(local[26:28], 'little') + \
            int.from_bytes(local[28:30], 'little')
        f.seek(start)
        read_header = (np.lib.format.read_array_header_1_0
                       if np.lib.format.read_magic(f) == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f'{path}: {name} holds Python objects, not numbers')
    return np.memmap(path, dtype=dtype, mode='r', offset=offset, shape=shape,
                     order='F' if fortran else 'C')


class CTRGCNDataset(SkeletonDataset):
    r"""A split of a CTR-GCN ``.npz`` (see the module doc), yielding the same
    :class:`~torch_geometric.data.Data` as
    :class:`~pyg_mstgcn.data.SkeletonArrayDataset`: the frames ``[T, M * V * C]`` laid out
    as ``[C, T, V, M]``, the label of the one-hot row, the name ``{split}_{index}``.
    Valid frames are found in the data (the first to the last non-zero frame).

    Args:
        path (str or Path): The ``.npz`` file.
        split (str, optional): ``'train'`` or ``'val'`` (``x_test``). (default: ``'train'``)
        stream (str, optional): The stream, computed on the fly. (default: ``'joint'``)
        layout (str or SkeletonLayout, optional): The skeleton layout; the persons per
            sample follow from its :math:`V`. (default: ``'ntu-rgb+d'``)
        transforms (list or Compose, optional): The transforms. (default: :obj:`None`)
        debug (bool, optional): Keep the first 100 samples only. (default: :obj:`False`)
        stream_first (bool, optional): Compute the stream before the transforms or after.
            (default: :obj:`True`)
        seed (int, optional): Seed of the generator used when loading in the main process.
    """

    def __init__(self, path: PathLike, split: str = 'train', stream: str = 'joint',
                 layout: LayoutLike = 'ntu-rgb+d',
                 transforms: Union[None, TransformSpec, Sequence[TransformSpec]] = None,
                 debug: bool = False, stream_first: bool = True,
                 seed: Optional[int] = None) -> None:
        super().__init__(layout, stream, transforms, stream_first, seed)
        self.path, self.split, self.debug = Path(path), split, bool(debug)
        if not self.path.is_file():
            raise FileNotFoundError(f'CTR-GCN file {self.path} does not exist (e.g. '
                                    f'NTU60_CS.npz of CTR-GCN\'s seq_transformation.py)')
        if not is_ctrgcn_file(self.path):
            raise ValueError(f'{self.path} is {file_kind(self.path)}, not a CTR-GCN .npz with '
                             f'x_train, y_train, x_test, y_test')
        if split not in SPLITS:
            raise ValueError(f"unknown split '{split}' of a CTR-GCN file; splits: train, val "
                             f"(its x_test)")
        self._key = SPLITS[split]
        self.data = self._load()
        labels = np.asarray(load_member(self.path, f'y_{self._key}'))
        self.labels = [int(v) for v in (labels.argmax(1) if labels.ndim == 2 else labels)]
        N, T, width = self.data.shape
        if len(self.labels) != N:
            raise ValueError(f'{self.path}: x_{self._key} has {N} samples but y_{self._key} '
                             f'{len(self.labels)} labels')
        V = self.layout.num_joints
        if width % (V * NUM_COORDINATES):
            raise ValueError(f'{self.path}: x_{self._key} has {width} values per frame, not '
                             f'a multiple of {V} joints x {NUM_COORDINATES} coordinates of '
                             f"layout '{self.layout.name}'; pass the layout of the data")
        self.num_channels = NUM_COORDINATES
        self.num_person = width // (V * NUM_COORDINATES)
        if debug:
            self.labels = self.labels[:DEBUG_SAMPLES]
        self.sample_names = [f'{split}_{i}' for i in range(len(self.labels))]
        self._check_opened(str(self.path))
        self._fit_normalizers()

    def _load(self) -> np.ndarray:
        key = f'x_{self._key}'
        try:
            data = load_member(self.path, key)
        except KeyError:
            raise ValueError(f'{self.path} has no {key}') from None
        if data.ndim != 3:
            raise ValueError(f'{self.path}: {key} has shape {list(data.shape)}, expected '
                             f'[N, T, M * V * C]')
        return data[:DEBUG_SAMPLES] if self.debug else data

    def __getstate__(self) -> dict:
        # worker processes map the file again instead of receiving a copy
        state = dict(self.__dict__)
        state['data'] = None
        state['_rng'] = state['_rng_key'] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.data = self._load()

    def __len__(self) -> int:
        return len(self.labels)

    def layout_sample(self, frames: np.ndarray) -> np.ndarray:
        """Frames ``[..., T, M * V * C]`` as ``[..., C, T, V, M]`` float32."""
        *lead, T, _ = frames.shape
        x = np.asarray(frames, dtype=np.float32).reshape(
            *lead, T, self.num_person, self.layout.num_joints, NUM_COORDINATES)
        return np.ascontiguousarray(np.moveaxis(x, (-1, -4, -2, -3), (-4, -3, -2, -1)))

    def raw(self, index: int) -> Tuple[np.ndarray, Optional[int], int, str]:
        return self.layout_sample(self.data[index]), None, self.labels[index], \
            self.sample_names[index]

    def fit_chunks(self, chunk: int = 256) -> Iterator[np.ndarray]:
        for start in range(0, len(self), chunk):
            yield self.layout_sample(self.data[start:start + chunk])

    def __repr__(self) -> str:
        pipeline = repr(self.transforms).replace('\n', '\n  ')
        return (f"{type(self).__name__}({len(self)} samples, split='{self.split}', "
                f"stream='{self.stream}', layout='{self.layout.name}', "
                f"num_person={self.num_person}, path='{self.path}', transforms={pipeline})")


__all__ = ['CTRGCNDataset', 'is_ctrgcn_file', 'load_member']
