r"""Coordinate transforms: the steps that change the joints' coordinates of every frame and
keep the frames and the valid range as they are."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence, Union

import numpy as np

from pyg_mstgcn.data.transforms.base import Transform


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
        self._sizes = np.array([[len(c)] for c in candidates])
        self._table = np.array([c + (0.0, ) * (max(map(len, candidates)) - len(c))
                                for c in candidates])

    def curves(self, T: int, rng: np.random.Generator) -> np.ndarray:
        """The per-frame ``[4, T]`` angle (radians), scale, x and y translation."""
        move_time = self.move_time_candidate[int(rng.integers(len(self.move_time_candidate)))]
        node = np.append(np.arange(0, T, T * 1.0 / move_time).round().astype(int), T)
        num_node = len(node)
        choice = rng.integers(0, self._sizes, (4, num_node))    # a candidate per node
        values = np.take_along_axis(self._table, choice, axis=1)
        curves = np.zeros((4, T))
        for i in range(num_node - 1):  # linear from node to node, both ends included
            n = node[i + 1] - node[i]
            if n > 0:
                step = np.arange(n) / (n - 1) if n > 1 else np.zeros(1)
                curves[:, node[i]:node[i + 1]] = (values[:, i:i + 1] + step *
                                                  (values[:, i + 1:i + 2] - values[:, i:i + 1]))
        curves[0] *= np.pi / 180
        return curves

    def apply(self, x, valid, rng):
        C, T, V, M = x.shape
        if C < 2:
            raise ValueError(f'random_move needs x and y channels (got C = {C})')
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

    def matrix(self, rng: np.random.Generator) -> np.ndarray:
        """A random rotation matrix ``[dims, dims]``."""
        limit = np.broadcast_to(np.asarray(self.max_angle, dtype=np.float64), (3, ))
        theta = rng.uniform(-limit, limit)
        if self.dims == 2:
            c, s = math.cos(theta[0]), math.sin(theta[0])
            return np.array([[c, -s], [s, c]], dtype=np.float32)
        c, s = np.cos(theta), np.sin(theta)
        rx = np.array([[1, 0, 0], [0, c[0], s[0]], [0, -s[0], c[0]]])
        ry = np.array([[c[1], 0, -s[1]], [0, 1, 0], [s[1], 0, c[1]]])
        rz = np.array([[c[2], s[2], 0], [-s[2], c[2], 0], [0, 0, 1]])
        return (rz @ ry @ rx).astype(np.float32)

    def apply(self, x, valid, rng):
        C = x.shape[0]
        if C < self.dims:
            raise ValueError(f'random_rotation: {self.dims}D rotation needs {self.dims} '
                             f'coordinate channels (got C = {C}); use dims=2 for 2D poses')
        d = self.dims
        rotation = self.matrix(rng)
        x[:d] = (rotation @ x[:d].reshape(d, -1)).reshape(x[:d].shape)
        return x, valid
