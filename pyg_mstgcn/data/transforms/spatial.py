r"""Coordinate transforms: the steps that change the joints' coordinates of every frame and
keep the frames and the valid range as they are, except :class:`PreNormalize`, the
preprocessing's normalisation, which keeps the valid frames only (or pads them as the
preprocessing does)."""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from pyg_mstgcn.data.transforms.base import Transform
from pyg_mstgcn.preprocess.normalize import pre_normalize


class Normalize(Transform):
    r"""Normalisation: ``(x - mean) / std``, on every frame (as the original).

    The statistics are given, or computed by :meth:`fit` as the original's ``get_mean_map``:
    one mean and one standard deviation per channel and joint, over all samples, frames and
    persons (padding included), i.e. arrays ``[C, 1, V, 1]``. A dataset fits an unfitted
    :class:`Normalize` of its pipeline on its own data when it is created.

    Args:
        mean (array-like, optional): A scalar, ``[C]`` (per channel), ``[C, V]`` (per channel
            and joint) or anything that broadcasts to ``[C, T, V, M]``.
        std (array-like, optional): Same shapes as :obj:`mean`. Values below ``1e-8`` are
            replaced by 1 (a constant channel is only centred; the original divides by zero).
    """

    def __init__(self, mean: Any = None, std: Any = None) -> None:
        if (mean is None) != (std is None):
            raise ValueError('normalize: give both mean and std, or neither (then call '
                             'fit(data), which a dataset does for you)')
        self.mean = None if mean is None else self._shape(mean)
        self.std = None if std is None else self._safe(self._shape(std))

    @staticmethod
    def _shape(value: Any) -> np.ndarray:
        value = np.asarray(value, dtype=np.float32)
        if value.ndim == 1:
            return value.reshape(-1, 1, 1, 1)
        if value.ndim == 2:
            return value.reshape(value.shape[0], 1, value.shape[1], 1)
        return value

    @staticmethod
    def _safe(std: np.ndarray) -> np.ndarray:
        return np.where(std < 1e-8, np.float32(1), std).astype(np.float32)

    @property
    def fitted(self) -> bool:
        """Whether mean and std are known."""
        return self.mean is not None

    def fit(self, chunks: Union[np.ndarray, Iterable[np.ndarray]]) -> 'Normalize':
        r"""Computes mean and std per channel and joint, as the original's ``get_mean_map``.

        Args:
            chunks (numpy.ndarray or iterable of numpy.ndarray): Data ``[N, C, T, V, M]``,
                or chunks of it (e.g. slices of a memory map), accumulated in float64.
        """
        if isinstance(chunks, np.ndarray):
            chunks = [chunks]
        total = square = None
        count = 0
        for chunk in chunks:
            chunk = np.asarray(chunk, dtype=np.float64)
            if chunk.ndim != 5:
                raise ValueError(f'normalize.fit: expected data [N, C, T, V, M] (got shape '
                                 f'{list(chunk.shape)})')
            s, q = chunk.sum(axis=(0, 2, 4)), np.square(chunk).sum(axis=(0, 2, 4))
            total = s if total is None else total + s
            square = q if square is None else square + q
            count += chunk.shape[0] * chunk.shape[2] * chunk.shape[4]
        if not count:
            raise ValueError('normalize.fit: no data to compute mean and std from')
        mean = total / count
        std = np.sqrt(np.maximum(square / count - mean ** 2, 0))
        self.mean = self._shape(mean)
        self.std = self._safe(self._shape(std))
        return self

    def apply(self, x, valid, rng):
        if not self.fitted:
            raise RuntimeError('normalize: no mean and std yet; give mean= and std=, or call '
                               'fit(data) first (a dataset fits its Normalize steps itself)')
        try:
            x -= self.mean
            x /= self.std
        except ValueError:
            raise ValueError(f'normalize: mean {list(self.mean.shape)} and std '
                             f'{list(self.std.shape)} do not broadcast to the sample '
                             f'{list(x.shape)} [C, T, V, M]; fit them on data of this '
                             f'layout and stream') from None
        return x, valid


class RandomMove(Transform):
    r"""``random_move``: a random rotation, scaling and translation of the x-y plane that
    changes smoothly over time.

    The time axis is cut into ``move_time`` segments (one by default); at each segment end an
    angle (degrees), a scale and an x and y translation are drawn from the candidates, and
    the values are interpolated linearly between them over the frames (NumPy ``linspace``, as
    the original). Frame :math:`t`'s ``(x, y)`` becomes
    ``s_t R(a_t) (x, y) + (tx_t, ty_t)``; other channels are kept. The defaults are the
    original's.

    Args:
        angle_candidate (sequence of float, optional): Rotation angles in degrees.
            (default: :obj:`(-10, -5, 0, 5, 10)`)
        scale_candidate (sequence of float, optional): Scales. (default: :obj:`(0.9, 1.0, 1.1)`)
        transform_candidate (sequence of float, optional): Translations.
            (default: :obj:`(-0.2, -0.1, 0.0, 0.1, 0.2)`)
        move_time_candidate (sequence of int, optional): Numbers of segments.
            (default: :obj:`(1, )`)
        keep_empty (bool, optional): Keep all-zero (person, frame) slots at zero. The original
            moves them too (padding and absent persons become translated points).
            (default: :obj:`False`, the original)
    """

    def __init__(self, angle_candidate: Sequence[float] = (-10., -5., 0., 5., 10.),
                 scale_candidate: Sequence[float] = (0.9, 1.0, 1.1),
                 transform_candidate: Sequence[float] = (-0.2, -0.1, 0.0, 0.1, 0.2),
                 move_time_candidate: Sequence[int] = (1, ), keep_empty: bool = False) -> None:
        self.angle_candidate = tuple(float(a) for a in angle_candidate)
        self.scale_candidate = tuple(float(s) for s in scale_candidate)
        self.transform_candidate = tuple(float(t) for t in transform_candidate)
        self.move_time_candidate = tuple(int(m) for m in move_time_candidate)
        self.keep_empty = bool(keep_empty)
        for name in ('angle_candidate', 'scale_candidate', 'transform_candidate',
                     'move_time_candidate'):
            if not getattr(self, name):
                raise ValueError(f'random_move: {name} must not be empty')
        if min(self.move_time_candidate) < 1:
            raise ValueError(f'random_move: move times must be >= 1 (got '
                             f'{list(self.move_time_candidate)})')
        candidates = (self.angle_candidate, self.scale_candidate, self.transform_candidate,
                      self.transform_candidate)
        #: the candidates of the angle, scale, x and y translation: how many (``[4, 1]``),
        #: and the values, each row padded to the longest (``[4, max]``); shared with the
        #: batched form (:mod:`~pyg_mstgcn.data.transforms.batched`)
        self.candidate_counts = np.array([[len(c)] for c in candidates])
        self.candidate_table = np.array([c + (0.0, ) * (max(map(len, candidates)) - len(c))
                                         for c in candidates])

    @staticmethod
    def segments(T: int, move_time: int) -> Tuple[int, np.ndarray, np.ndarray]:
        r"""How :obj:`T` frames follow the values drawn at the segment ends (the nodes) with
        :obj:`move_time` segments: the number of nodes, and per frame its segment :math:`i`
        and its step :math:`w` in ``[0, 1]``; frame :math:`t` takes
        :math:`v_i + w_t (v_{i+1} - v_i)`, linear from node to node with both ends included
        (NumPy ``linspace``, as the original)."""
        node = np.append(np.arange(0, T, T * 1.0 / move_time).round().astype(int), T)
        segment = np.searchsorted(node, np.arange(T), side='right') - 1
        length = node[segment + 1] - node[segment]
        step = (np.arange(T) - node[segment]) / np.maximum(length - 1, 1)
        return len(node), segment, step

    def curves(self, T: int, rng: np.random.Generator) -> np.ndarray:
        """The per-frame ``[4, T]`` angle (radians), scale, x and y translation."""
        move_time = self.move_time_candidate[int(rng.integers(len(self.move_time_candidate)))]
        num_node, segment, step = self.segments(T, move_time)
        choice = rng.integers(0, self.candidate_counts, (4, num_node))    # a candidate per node
        values = np.take_along_axis(self.candidate_table, choice, axis=1)
        low = values[:, segment]
        curves = low + step * (values[:, segment + 1] - low)
        curves[0] *= np.pi / 180
        return curves

    @staticmethod
    def check_channels(C: int) -> None:
        if C < 2:
            raise ValueError(f'random_move needs x and y channels (got C = {C})')

    def apply(self, x, valid, rng):
        C, T, V, M = x.shape
        self.check_channels(C)
        a, s, tx, ty = self.curves(T, rng)
        cos = (np.cos(a) * s).astype(np.float32)[:, None, None]
        sin = (np.sin(a) * s).astype(np.float32)[:, None, None]
        empty = (x == 0).all(axis=(0, 2))[:, None, :] if self.keep_empty else None
        x0, x1 = x[0].copy(), x[1].copy()
        x[0] = cos * x0
        x[0] -= sin * x1
        x[0] += tx.astype(np.float32)[:, None, None]
        x[1] = sin * x0
        x[1] += cos * x1
        x[1] += ty.astype(np.float32)[:, None, None]
        if empty is not None:
            x[:2] *= ~empty
        return x, valid


class RandomRotation(Transform):
    r"""A random 3D rotation of the coordinates, the same for every frame (PYSKL's
    ``RandomRot``, CTR-GCN's ``random_rot``).

    Angles about x, y and z are drawn from :math:`U(-max, max)` and the rotation is
    :math:`R_z R_y R_x` with PYSKL's matrices. Rotation keeps bone lengths and zeros (absent
    persons, padding).

    Args:
        max_angle (float or (float, float, float), optional): The largest angle in radians,
            one for all axes or one per axis. (default: :obj:`0.3`, as PYSKL and CTR-GCN)
        dims (int, optional): The number of coordinate channels: 3 rotates channels 0-2 in 3D;
            2 rotates channels 0-1 in the plane by one angle (2D poses; a score channel after
            them is kept). (default: :obj:`3`)
    """

    def __init__(self, max_angle: Union[float, Sequence[float]] = 0.3, dims: int = 3) -> None:
        self.max_angle = (float(max_angle) if np.isscalar(max_angle)
                          else tuple(float(a) for a in max_angle))
        if dims not in (2, 3):
            raise ValueError(f'random_rotation: dims must be 2 or 3 (got {dims})')
        self.dims = dims

    @property
    def limit(self) -> np.ndarray:
        """The largest angle about x, y and z, ``[3]``."""
        return np.broadcast_to(np.asarray(self.max_angle, dtype=np.float64), (3, ))

    def matrix(self, rng: np.random.Generator) -> np.ndarray:
        """A random rotation matrix ``[dims, dims]``."""
        theta = rng.uniform(-self.limit, self.limit)
        if self.dims == 2:
            cos, sin = np.array([math.cos(theta[0])]), np.array([math.sin(theta[0])])
        else:
            cos, sin = np.cos(theta), np.sin(theta)
        return rotation_matrix(cos, sin, self.dims).astype(np.float32)

    def check_channels(self, C: int) -> None:
        if C < self.dims:
            raise ValueError(f'random_rotation: {self.dims}D rotation needs {self.dims} '
                             f'coordinate channels (got C = {C}); use dims=2 for 2D poses')

    def apply(self, x, valid, rng):
        self.check_channels(x.shape[0])
        d = self.dims
        rotation = self.matrix(rng)
        x[:d] = (rotation @ x[:d].reshape(d, -1)).reshape(x[:d].shape)
        return x, valid


def rotation_matrix(cos, sin, dims: int):
    r"""The rotation by the angles about x, y and z whose cosines and sines are given
    (``[..., 3]`` NumPy arrays or tensors; 2D: ``[..., 1]`` is enough): :math:`R_z R_y R_x`
    with PYSKL's matrices, ``[..., 3, 3]``, or with :obj:`dims` 2 the plane rotation by the
    first angle, ``[..., 2, 2]``; float64 for float64 input."""
    lib = torch if isinstance(cos, torch.Tensor) else np
    c = [cos[..., i] for i in range(cos.shape[-1])]
    s = [sin[..., i] for i in range(sin.shape[-1])]

    def matrix(rows):
        return lib.stack([lib.stack(row, -1) for row in rows], -2)

    if dims == 2:
        return matrix([[c[0], -s[0]], [s[0], c[0]]])
    one, zero = lib.ones_like(c[0]), lib.zeros_like(c[0])
    rx = matrix([[one, zero, zero], [zero, c[0], s[0]], [zero, -s[0], c[0]]])
    ry = matrix([[c[1], zero, -s[1]], [zero, one, zero], [s[1], zero, c[1]]])
    rz = matrix([[c[2], s[2], zero], [-s[2], c[2], zero], [zero, zero, one]])
    return rz @ ry @ rx


class MinMaxNormalize(Transform):
    r"""Min-max scaling of each coordinate channel to ``[low, high]`` (CTR-GCN's NW-UCLA
    feeder, which maps to ``[-1, 1]``).

    For each of the first :obj:`channels` channels :math:`c`, with :math:`m_c` and
    :math:`M_c` its minimum and maximum over the valid frames, the joints and the present
    persons (those with a non-zero coordinate in the valid frames),

    .. math::
        x_c \mapsto low + (high - low) \frac{x_c - m_c}{M_c - m_c}.

    Frames outside the valid range and absent persons stay zero; a channel with
    :math:`M_c = m_c` is only shifted (to :obj:`low`). Scaling each axis on its own removes
    any earlier translation and uniform scaling of the coordinates.

    Args:
        low (float, optional): The new minimum. (default: :obj:`-1.0`)
        high (float, optional): The new maximum. (default: :obj:`1.0`)
        channels (int, optional): The coordinate channels scaled (2 for 2D keypoints with a
            score channel after them). (default: :obj:`3`)
    """

    def __init__(self, low: float = -1.0, high: float = 1.0, channels: int = 3) -> None:
        self.low, self.high = float(low), float(high)
        if not self.low < self.high:
            raise ValueError(f'min_max_normalize: low must be below high (got low={low}, '
                             f'high={high})')
        if int(channels) != channels or channels < 1:
            raise ValueError(f'min_max_normalize: channels must be a positive number of '
                             f'coordinate channels (got {channels!r})')
        self.channels = int(channels)

    def apply(self, x, valid, rng):
        C = x.shape[0]
        if C < self.channels:
            raise ValueError(f'min_max_normalize: channels={self.channels} but the sample has '
                             f'C = {C}; set channels to its number of coordinate channels')
        begin, end = valid
        window = x[:, begin:end]                                  # [C, L, V, M] view
        present = (window != 0).any(axis=(0, 1, 2))               # [M]
        if end <= begin or not present.any():
            return x, valid
        values = window[:self.channels][..., present].astype(np.float64)
        low = values.min(axis=(1, 2, 3), keepdims=True)
        span = values.max(axis=(1, 2, 3), keepdims=True) - low
        scale = np.where(span > 0, (self.high - self.low) / np.where(span > 0, span, 1), 1.0)
        window[:self.channels, ..., present] = (values - low) * scale + self.low
        return x, valid


class PreNormalize(Transform):
    r"""The original's ``pre_normalization`` as a step: pad, centre and rotate the valid
    frames with :func:`pyg_mstgcn.preprocess.normalize.pre_normalize`, the very function
    ``python -m preprocess`` applies to NTU RGB+D.

    For data kept as recorded (the coordinates of a depth camera), so that the normalisation
    can follow augmentation or be tried without preprocessing again. It needs 3-D
    coordinates (:math:`C = 3`). The defaults are NTU RGB+D's joints (spine base to spine
    middle onto +z, left to right shoulder onto +x, the spine middle at the origin); they
    are the same body points in NW-UCLA's joint order (layout ``'nw-ucla'``). For another
    layout give its joints. A second pass is not the identity in general: turning the
    shoulders onto +x moves the spine off +z unless the two are perpendicular in the first
    frame (then it changes the data by float rounding only).

    Args:
        zaxis ((int, int), optional): Joints ``(a, b)``: the vector from :obj:`a` to :obj:`b`
            is turned onto +z. (default: :obj:`(0, 1)`)
        xaxis ((int, int), optional): Joints ``(a, b)``: the vector from :obj:`b` to :obj:`a`
            is then turned onto +x. (default: :obj:`(8, 4)`)
        center_joint (int, optional): The joint of the first person moved to the origin.
            (default: :obj:`1`)
        num_frames (int, optional): :obj:`None` keeps the :math:`L` valid frames (the output
            has :math:`L` frames). A number :math:`N \ge L` gives the fixed-length array of
            the preprocessing: :math:`N` frames, the sequence repeated after the
            :math:`L` valid ones. (default: :obj:`None`)
    """

    def __init__(self, zaxis: Sequence[int] = (0, 1), xaxis: Sequence[int] = (8, 4),
                 center_joint: int = 1, num_frames: Optional[int] = None) -> None:
        self.zaxis = self._pair(zaxis, 'zaxis')
        self.xaxis = self._pair(xaxis, 'xaxis')
        self.center_joint = int(center_joint)
        if num_frames is not None and (int(num_frames) != num_frames or num_frames < 1):
            raise ValueError(f'pre_normalize: num_frames must be a positive number of frames '
                             f'or null (got {num_frames!r})')
        self.num_frames = None if num_frames is None else int(num_frames)

    @staticmethod
    def _pair(joints: Sequence[int], what: str) -> Tuple[int, int]:
        pair = tuple(int(j) for j in joints)
        if len(pair) != 2:
            raise ValueError(f'pre_normalize: {what} must be two joints (a, b) (got '
                             f'{joints!r})')
        return pair

    def apply(self, x, valid, rng):
        C, _, V, M = x.shape
        if C != 3:
            raise ValueError(f'pre_normalize: needs 3-D camera coordinates (x, y, z), C = 3 '
                             f'(got C = {C}); it is for depth-camera skeletons such as NTU '
                             f'RGB+D and NW-UCLA, not 2D keypoints')
        joints = {'zaxis': self.zaxis, 'xaxis': self.xaxis, 'center_joint': (self.center_joint, )}
        for what, given in joints.items():
            if not all(0 <= j < V for j in given):
                raise ValueError(f'pre_normalize: {what}={given if len(given) > 1 else given[0]} '
                                 f'is not a joint of the sample (V = {V}); give the joints of '
                                 f'its layout')
        begin, end = valid
        length = end - begin
        if self.num_frames is not None and length > self.num_frames:
            raise ValueError(f'pre_normalize: {length} valid frames do not fit in '
                             f'num_frames={self.num_frames}; raise num_frames or use null')
        if length <= 0:
            T = self.num_frames or 0
            return np.zeros((C, T, V, M), dtype=x.dtype), (0, 0)
        out = pre_normalize(x[:, begin:end], self.zaxis, self.xaxis, self.center_joint,
                            num_frames=self.num_frames)
        return out, (0, length)
