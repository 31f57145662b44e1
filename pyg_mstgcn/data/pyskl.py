r"""Your own pose data: annotation pickles in the PYSKL / mmaction2 format.

The pickle holds a mapping with

- ``'split'``: split name → list of sample identifiers (``frame_dir`` values), e.g.
  ``{'xsub_train': [...], 'xsub_val': [...]}``;
- ``'annotations'``: a list with one mapping per sample:

  - ``'frame_dir'`` (str): the sample's identifier;
  - ``'label'`` (int): the action class;
  - ``'keypoint'``: float array ``[M, T, V, C]`` (persons, frames, joints, coordinates);
  - ``'keypoint_score'`` (optional): ``[M, T, V]``, the detector's confidence (2D poses);
  - ``'total_frames'`` (optional): :math:`T`, the valid frames;
  - ``'img_shape'`` (optional): ``(height, width)`` of the video, for 2-D keypoints in pixels.

(A bare list of annotations, without splits, is read too, with ``split=None``.)
Any layout of the library works, a user-defined one included
(:meth:`SkeletonLayout.from_edges <pyg_mstgcn.graph.SkeletonLayout.from_edges>`), as long as
its number of joints is the keypoints' :math:`V`. 3-D keypoints (mmaction2's and PYSKL's
``ntu60_3d.pkl``) are the raw camera coordinates: the ``pre_normalize`` transform makes them
what ``python -m preprocess`` writes.

**2-D keypoints** (:math:`C = 2`, pose-estimator output such as PYSKL's HRNet pickles) with an
``img_shape`` are normalised to the frame as every 2-D input of this library (the
Kinetics-Skeleton convention, :mod:`pyg_mstgcn.predict.inputs`): ``x / width - 0.5``,
``0.5 - y / height``, zero where the score is 0; so a model trained on them predicts on a
pose estimator's JSON given ``--frame-size``. (PYSKL's ``PreNormalize2D`` maps to
``[-1, 1]`` without flipping y: the same up to a scale and a flip.) ``keypoint_score`` becomes
the third channel, as PYSKL's ``GenSkeFeat`` does it.
"""
from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from pyg_mstgcn.data.datasets import DEBUG_SAMPLES, LayoutLike, PathLike, SkeletonDataset
from pyg_mstgcn.io import file_kind, load_pickle
from pyg_mstgcn.data.transforms import TransformSpec


def load_annotations(path: PathLike) -> Dict[str, Any]:
    r"""The content of an annotation pickle as ``{'split': ..., 'annotations': [...]}``
    (``'split'`` is :obj:`None` for a bare list). The last file read is kept, so that the
    training and the validation split of one large pickle read it once."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f'{path} is a folder, not an annotation file (a PYSKL / mmaction2 '
                         f'pickle)')
    if not path.is_file():
        raise FileNotFoundError(f'annotation file {path} does not exist')
    stat = os.stat(path)
    return _load_annotations(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1)
def _load_annotations(path: Path, mtime_ns: int, size: int) -> Dict[str, Any]:
    content = load_pickle(path, 'annotation file')
    if isinstance(content, list):
        content = {'split': None, 'annotations': content}
    if not isinstance(content, Mapping) or 'annotations' not in content:
        keys = list(content) if isinstance(content, Mapping) else type(content).__name__
        raise ValueError(f"{path} is not a PYSKL annotation file: expected a mapping with "
                         f"'annotations' (and 'split'), got {keys}")
    annotations, splits = content['annotations'], content.get('split')
    if not isinstance(annotations, (list, tuple)) or not all(
            isinstance(a, Mapping) for a in annotations):
        raise ValueError(f"{path} is not a PYSKL annotation file: 'annotations' must be a list "
                         f"of mappings, one per sample")
    if splits is not None and not (isinstance(splits, Mapping) and all(
            isinstance(names, (list, tuple, set, np.ndarray)) for names in splits.values())):
        raise ValueError(f"{path} is not a PYSKL annotation file: 'split' must map split names "
                         f"to lists of 'frame_dir' values")
    return {'split': splits, 'annotations': list(annotations)}


def _integer(value: Any, key: str, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: '{key}' must be an integer, found {value!r}") from None


def is_annotation_file(path: PathLike) -> bool:
    """Whether :obj:`path` is a pickle (an annotation file is one; its content is checked
    when it is read)."""
    path = Path(path)
    return path.is_file() and file_kind(path) == 'a Python pickle'


def frame_normalized(keypoint: np.ndarray, score: Optional[np.ndarray],
                     img_shape: Sequence[float]) -> np.ndarray:
    r"""2-D keypoints ``[..., 2]`` in pixels normalised to a frame of ``(height, width)``
    :obj:`img_shape` as every 2-D input of the library: ``(x / w - 0.5, 0.5 - y / h)``,
    zero where the :obj:`score` ``[...]`` is 0."""
    height, width = (float(v) for v in img_shape[:2])
    out = np.empty(keypoint.shape, dtype=np.float32)
    out[..., 0] = keypoint[..., 0] / width - 0.5
    out[..., 1] = 0.5 - keypoint[..., 1] / height
    if score is not None:
        out[np.asarray(score) == 0] = 0
    return out


class PoseAnnotationDataset(SkeletonDataset):
    r"""A split of a PYSKL / mmaction2 annotation pickle (see the module doc), yielding the
    same :class:`~torch_geometric.data.Data` as
    :class:`~pyg_mstgcn.data.datasets.SkeletonArrayDataset` (``x`` ``[M * V, C, T]``, ``y``,
    ``name`` (the ``frame_dir``), ``sample_idx``).

    Keypoints ``[M, T, V, C]`` become ``[C, T, V, M]`` with exactly :obj:`num_person` persons:
    missing ones are zeros; when there are more, the :obj:`num_person` with the highest total
    ``keypoint_score`` are kept, best first (the first ones when there is no score). Sequences
    may differ in length: give the pipeline a step that fixes it (``uniform_sample``,
    ``valid_crop_resize``, ``pad_window``) to batch them.

    Args:
        pickle_path (str or Path): The annotation pickle.
        split (str, optional): The split to read (a key of ``'split'``); :obj:`None` reads
            every annotation.
        layout (str or SkeletonLayout): The layout of the keypoints (:math:`V` joints).
        num_person (int, optional): Persons per sample, :math:`M`. (default: :obj:`2`)
        stream (str, optional): ``'joint'``, ``'bone'``, ``'joint_motion'`` or
            ``'bone_motion'``. (default: :obj:`'joint'`)
        transforms (list or Compose, optional): The transforms. (default: :obj:`None`)
        with_score (bool or str, optional): Append ``keypoint_score`` as a last channel
            (:math:`C + 1` channels; with 2D poses use
            ``{'name': 'random_rotation', 'dims': 2}``); ``'auto'``: for 2-D keypoints that
            have scores, as PYSKL does. (default: :obj:`False`)
        stream_first (bool, optional): Compute the stream before the transforms or after.
            (default: :obj:`True`)
        seed (int, optional): Seed of the generator used when loading in the main process.
        debug (bool, optional): Keep the first 100 samples only. (default: :obj:`False`)
        frame_normalize (bool, optional): Normalise 2-D keypoints that come with an
            ``img_shape`` to the frame (see the module doc). (default: :obj:`True`)
    """

    def __init__(self, pickle_path: PathLike, split: Optional[str], layout: LayoutLike,
                 num_person: int = 2, stream: str = 'joint',
                 transforms: Union[None, TransformSpec, Sequence[TransformSpec]] = None,
                 with_score: Union[bool, str] = False, stream_first: bool = True,
                 seed: Optional[int] = None, debug: bool = False,
                 frame_normalize: bool = True) -> None:
        super().__init__(layout, stream, transforms, stream_first, seed)
        if int(num_person) < 1:
            raise ValueError(f'num_person must be >= 1 (got {num_person})')
        self.pickle_path = Path(pickle_path)
        self.split = split
        self.num_person = int(num_person)
        if with_score not in (True, False, 'auto'):
            raise ValueError(f"with_score must be True, False or 'auto' (got {with_score!r})")
        self.frame_normalize = bool(frame_normalize)
        content = load_annotations(self.pickle_path)
        self.annotations = self._select(content['split'], content['annotations'])
        if debug:
            self.annotations = self.annotations[:DEBUG_SAMPLES]
        self.with_score = self._two_d_with_scores() if with_score == 'auto' else with_score
        self._validate()
        self.labels: List[int] = [int(a['label']) for a in self.annotations]
        self.sample_names: List[str] = [str(a.get('frame_dir', i))
                                        for i, a in enumerate(self.annotations)]
        self._check_opened(str(self.pickle_path))
        self._fit_normalizers()

    def _select(self, splits: Optional[Mapping[str, Sequence[str]]],
                annotations: List[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
        if self.split is None:
            return annotations
        if splits is None:
            raise ValueError(f"{self.pickle_path} defines no splits; read it with split=None")
        if self.split not in splits:
            raise ValueError(f"unknown split '{self.split}' in {self.pickle_path}; available: "
                             f"{', '.join(map(str, splits))}")
        for i, a in enumerate(annotations):
            if 'frame_dir' not in a:
                raise ValueError(f"annotation {i} of {self.pickle_path} has no 'frame_dir', "
                                 f"the identifier the splits refer to")
        try:
            wanted = set(splits[self.split])
            chosen = [a for a in annotations if a['frame_dir'] in wanted]
        except TypeError:  # unhashable
            raise ValueError(f"{self.pickle_path}: the 'frame_dir' values and the names of "
                             f"split '{self.split}' must be strings") from None
        if len(chosen) < len(wanted):
            found = {a['frame_dir'] for a in chosen}
            missing = sorted(str(name) for name in wanted - found)
            warnings.warn(f"{len(missing)} sample(s) of split '{self.split}' have no "
                          f"annotation in {self.pickle_path} (e.g. {missing[:3]}); they are "
                          f"skipped")
        return chosen

    def _two_d_with_scores(self) -> bool:
        return bool(self.annotations) and all(
            np.shape(a['keypoint'])[-1:] == (2, ) and 'keypoint_score' in a
            for a in self.annotations if 'keypoint' in a)

    def _validate(self) -> None:
        V = self.layout.num_joints
        channels = None
        for i, a in enumerate(self.annotations):
            where = f"sample '{a.get('frame_dir', i)}' of {self.pickle_path}"
            for key in ('keypoint', 'label'):
                if key not in a:
                    raise ValueError(f"{where} has no '{key}' (keys: {', '.join(a)})")
            shape = np.shape(a['keypoint'])
            if len(shape) != 4:
                raise ValueError(f"{where}: 'keypoint' has shape {list(shape)}, expected "
                                 f"[M, T, V, C] (persons, frames, joints, coordinates)")
            if shape[2] != V:
                raise ValueError(f"{where}: the keypoints have V = {shape[2]} joints but layout "
                                 f"'{self.layout.name}' has {V}; pass the layout of the data "
                                 f"(a SkeletonLayout.from_edges(...) for your own)")
            if self.with_score:
                if 'keypoint_score' not in a:
                    raise ValueError(f"{where} has no 'keypoint_score'; use with_score=False")
                if np.shape(a['keypoint_score']) != shape[:3]:
                    raise ValueError(f"{where}: 'keypoint_score' has shape "
                                     f"{list(np.shape(a['keypoint_score']))}, expected "
                                     f"{list(shape[:3])} [M, T, V]")
            _integer(a['label'], 'label', where)
            if a.get('total_frames') is not None:
                _integer(a['total_frames'], 'total_frames', where)
            if shape[3] == 2 and self.frame_normalize and 'img_shape' in a:
                try:
                    height, width = (float(v) for v in a['img_shape'][:2])
                except (TypeError, ValueError, OverflowError):
                    raise ValueError(f"{where}: 'img_shape' must be (height, width), found "
                                     f"{a['img_shape']!r}") from None
            if channels is None:
                channels = shape[3]
            elif shape[3] != channels:
                raise ValueError(f'{where} has {shape[3]} coordinates per joint, the samples '
                                 f'before {channels}')
        self.num_channels = (channels or 0) + int(self.with_score)

    def __len__(self) -> int:
        return len(self.annotations)

    def raw(self, index: int) -> Tuple[np.ndarray, Optional[int], int, str]:
        a = self.annotations[index]
        keypoint = np.asarray(a['keypoint'], dtype=np.float32)
        score = a.get('keypoint_score')
        if self.frame_normalize and keypoint.shape[-1] == 2 and 'img_shape' in a:
            keypoint = frame_normalized(keypoint, score, a['img_shape'])
        if self.with_score:
            score = np.asarray(score, dtype=np.float32)
            keypoint = np.concatenate([keypoint, score[..., None]], axis=-1)
        M, T, V, C = keypoint.shape
        if M > self.num_person:
            if score is not None:
                total = np.asarray(score, dtype=np.float64).reshape(M, -1).sum(axis=1)
                keep = np.argsort(-total, kind='stable')[:self.num_person]
            else:
                keep = np.arange(self.num_person)
            keypoint = keypoint[keep]
        x = np.zeros((C, T, V, self.num_person), dtype=np.float32)
        x[..., :min(M, self.num_person)] = keypoint.transpose(3, 1, 2, 0)
        total_frames = a.get('total_frames')
        num_frames = T if total_frames is None else min(int(total_frames), T)
        return x, num_frames, int(a['label']), self.sample_names[index]

    def fit_chunks(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.raw(i)[0][None]

    def __repr__(self) -> str:
        pipeline = repr(self.transforms).replace('\n', '\n  ')
        return (f"{type(self).__name__}({len(self)} samples, split={self.split!r}, "
                f"stream='{self.stream}', layout='{self.layout.name}', "
                f"num_person={self.num_person}, with_score={self.with_score}, "
                f"pickle_path='{self.pickle_path}', transforms={pipeline})")


__all__ = ['PoseAnnotationDataset', 'load_annotations', 'is_annotation_file',
           'frame_normalized']
