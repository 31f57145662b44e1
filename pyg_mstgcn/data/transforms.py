r"""Data preparation as a list of small transforms, configured by name.

Every transform works on **one sample** in the original's layout, a NumPy array
``[C, T, V, M]`` (channels, frames, joints, persons), float32, before it becomes a PyG
:class:`~torch_geometric.data.Data` (see :mod:`pyg_mstgcn.data`). The idea is PYSKL's
``pose_related.py``: a pipeline is a list such as

.. code-block:: python

    transforms = build_transforms([
        {'name': 'uniform_sample', 'size': 64},
        {'name': 'random_rotation', 'max_angle': 0.3},
    ])
    x = transforms(sample, rng=np.random.default_rng(0))    # [3, 64, 25, 2]

**Valid frames.** Many steps act on the *valid* frames of a sample, the span of frames that
hold the sequence, as opposed to padding. It is a range ``(begin, end)``: given per sample
(``num_frames`` of our preprocessing, PYSKL's ``total_frames``: the frames ``[0,
num_frames)``), or else found in the data, from the first to the last frame with any non-zero
coordinate (the original's rule). The range travels along the pipeline: :meth:`Transform.apply`
takes and returns it, so that ``random_shift`` followed by ``uniform_sample`` samples the
frames that were shifted, not the padding.

**Randomness.** Random steps draw from a :class:`numpy.random.Generator` passed to them, never
from NumPy's global state, so that the outcome is a function of the generator's seed.
:class:`~pyg_mstgcn.data.datasets.SkeletonArrayDataset` keeps one generator per process and
seeds it from PyTorch (see its documentation): with :obj:`torch.manual_seed` set, a
``DataLoader`` with any number of workers gives the same augmentations run after run. Called
directly, a transform takes ``rng=`` (a generator or an integer seed); without one it draws a
fresh, unseeded generator.

**The original's steps** (2s-AGCN / MST-GCN ``feeders/tools.py``): :class:`Normalize`,
:class:`RandomShift`, :class:`RandomChoose`, :class:`PadWindow` (``auto_pading``),
:class:`RandomMove`. Their ``Feeder`` applies them in the order normalisation,
``random_shift``, ``random_choose`` (or else padding to ``window_size``), ``random_move``;
:func:`feeder_transforms` builds that list from a feeder's arguments.
**The modern ones** (CTR-GCN, PYSKL): :class:`UniformSample`, :class:`ValidCropResize`,
:class:`RandomRotation`.

A transform of your own subclasses :class:`Transform` and implements :meth:`~Transform.apply`;
a plain function ``f(x) -> x`` in the list also works (the valid frames are then found in its
output).
"""
from __future__ import annotations

import inspect
import math
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Type, Union)

import numpy as np

#: The valid frames of a sample: ``(begin, end)``, frames ``begin <= t < end``.
Valid = Tuple[int, int]
RngLike = Union[None, int, np.random.Generator]
TransformSpec = Union[str, Mapping[str, Any], 'Transform', Callable[[np.ndarray], np.ndarray]]


def _as_sample(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f'{what}: expected one skeleton sequence [C, T, V, M] (got shape '
                         f'{list(x.shape)}); apply transforms sample by sample')
    return x


def as_generator(rng: RngLike) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a generator, an integer seed or :obj:`None`
    (a fresh, unseeded one)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def valid_range(x: np.ndarray, num_frames: Optional[int] = None) -> Valid:
    r"""The valid frames ``(begin, end)`` of a sample ``[C, T, V, M]``.

    Args:
        x (numpy.ndarray): The sample.
        num_frames (int, optional): The number of valid frames when known (our
            ``{split}_num_frames.npy``, PYSKL's ``total_frames``): the frames
            ``[0, num_frames)``, clipped to :math:`T`. Without it, the span from the first to
            the last frame with a non-zero coordinate (as the original's ``random_shift``);
            ``(0, 0)`` for an all-zero sample.
    """
    T = x.shape[1]
    if num_frames is not None:
        n = int(num_frames)
        if n < 0:
            raise ValueError(f'num_frames must be >= 0 (got {n})')
        return 0, min(n, T)
    nonzero = (x.reshape(x.shape[0], T, -1) != 0).any(axis=(0, 2))
    if not nonzero.any():
        return 0, 0
    return int(nonzero.argmax()), int(T - nonzero[::-1].argmax())


class Transform:
    r"""Base class of the transforms: one sample ``[C, T, V, M]`` in, one out.

    Subclasses implement :meth:`apply`. The constructor's arguments must be stored under
    their own names (they make :meth:`__repr__` and the configuration round trip).
    """

    def apply(self, x: np.ndarray, valid: Valid, rng: np.random.Generator
              ) -> Tuple[np.ndarray, Valid]:
        r"""Transforms :obj:`x` (a float32 array ``[C, T, V, M]`` the caller owns: it may be
        changed in place) and returns it with its new valid frames.

        Args:
            x (numpy.ndarray): The sample ``[C, T, V, M]``.
            valid ((int, int)): Its valid frames ``(begin, end)``.
            rng (numpy.random.Generator): The source of randomness.
        """
        raise NotImplementedError

    def __call__(self, x: np.ndarray, rng: RngLike = None,
                 num_frames: Optional[int] = None) -> np.ndarray:
        r"""Returns the transformed copy of one sample ``[C, T, V, M]`` (float32).

        Args:
            x (numpy.ndarray): The sample (not modified).
            rng (numpy.random.Generator or int, optional): Randomness: a generator or a seed.
            num_frames (int, optional): Its number of valid frames, when known (see
                :func:`valid_range`).
        """
        x = np.array(_as_sample(x, type(self).__name__), dtype=np.float32, copy=True)
        return self.apply(x, valid_range(x, num_frames), as_generator(rng))[0]

    def options(self) -> Dict[str, Any]:
        """The constructor's arguments and their values."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != 'self']
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={_short(v)}' for k, v in self.options().items())
        return f'{type(self).__name__}({args})'


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f'array(shape={list(value.shape)})'
    return repr(value)


def _check_size(size: int, what: str) -> int:
    if int(size) != size or size < 1:
        raise ValueError(f'{what}: size must be a positive number of frames (got {size!r})')
    return int(size)


# ------------------------------------------------------------------------------------------
# The original's steps

class RandomChoose(Transform):
    r"""``random_choose``: a random window of :obj:`size` consecutive frames.

    With enough frames, the window starts at a random frame; with fewer, the frames are placed
    at a random offset in a zero window of :obj:`size` frames (the original's
    ``auto_pading(random_pad=True)``). The output has :obj:`size` frames.

    Args:
        size (int): The window length (the original's ``window_size``).
        valid_only (bool, optional): Choose among the valid frames only. With :obj:`False`,
            among all :math:`T` frames, padding included, exactly as the original (whose
            comment notes that this picks zeros). (default: :obj:`True`)
    """

    def __init__(self, size: int, valid_only: bool = True) -> None:
        self.size = _check_size(size, 'random_choose')
        self.valid_only = bool(valid_only)

    def apply(self, x, valid, rng):
        C, T, V, M = x.shape
        begin, end = valid if self.valid_only else (0, T)
        n = end - begin
        if n >= self.size:
            start = begin + int(rng.integers(0, n - self.size + 1))
            out = x[:, start:start + self.size]
            new_valid = (max(valid[0], start) - start, min(valid[1], start + self.size) - start)
            return out, (new_valid if new_valid[1] > new_valid[0] else (0, 0))
        out = np.zeros((C, self.size, V, M), dtype=x.dtype)
        offset = int(rng.integers(0, self.size - n + 1))
        out[:, offset:offset + n] = x[:, begin:end]
        if not self.valid_only:
            return out, (offset + valid[0], offset + valid[1]) if valid[1] > valid[0] else (0, 0)
        return out, ((offset, offset + n) if n else (0, 0))


class RandomShift(Transform):
    r"""``random_shift``: the valid frames, moved to a random offset of a zero-padded window
    of the same length :math:`T` (padding, repeated frames included, becomes zeros)."""

    def __init__(self) -> None:
        pass

    def apply(self, x, valid, rng):
        begin, end = valid
        n = end - begin
        out = np.zeros_like(x)
        offset = int(rng.integers(0, x.shape[1] - n + 1))
        out[:, offset:offset + n] = x[:, begin:end]
        return out, ((offset, offset + n) if n else (0, 0))


class PadWindow(Transform):
    r"""Window padding (the original's ``auto_pading``): a sample shorter than :obj:`size`
    frames is zero-padded to :obj:`size`; a longer one is left as it is.

    Args:
        size (int): The window length (the original's ``window_size``).
        random_pad (bool, optional): Put the frames at a random offset instead of at the
            start. (default: :obj:`False`)
    """

    def __init__(self, size: int, random_pad: bool = False) -> None:
        self.size = _check_size(size, 'pad_window')
        self.random_pad = bool(random_pad)

    def apply(self, x, valid, rng):
        C, T, V, M = x.shape
        if T >= self.size:
            return x, valid
        offset = int(rng.integers(0, self.size - T + 1)) if self.random_pad else 0
        out = np.zeros((C, self.size, V, M), dtype=x.dtype)
        out[:, offset:offset + T] = x
        return out, ((valid[0] + offset, valid[1] + offset) if valid[1] > valid[0] else (0, 0))


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


# ------------------------------------------------------------------------------------------
# The modern ones

class UniformSample(Transform):
    r"""Uniform temporal sampling of the valid frames to :obj:`size` frames (PYSKL's
    ``UniformSampleFrames``, one clip).

    The :math:`n` valid frames are cut into :obj:`size` equal segments and one frame is
    taken from each, in order: a random one in training, the middle one in test mode. With
    :math:`size \le n < 2 \cdot size` training keeps all but :math:`n - size` random frames;
    with :math:`n < size` the frames repeat in a loop (from a random start in training, from
    the first in test mode). All output frames are valid.

    Args:
        size (int): The output length (PYSKL's ``clip_len``).
        test_mode (bool, optional): Deterministic: segment centres. (default: :obj:`False`)
    """

    def __init__(self, size: int, test_mode: bool = False) -> None:
        self.size = _check_size(size, 'uniform_sample')
        self.test_mode = bool(test_mode)

    def indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The :obj:`size` sampled frame indices in ``[0, n)`` (``n > 0``)."""
        size = self.size
        if n < size:
            start = 0 if self.test_mode else int(rng.integers(0, n))
            return (start + np.arange(size)) % n
        if self.test_mode:
            return ((np.arange(size) + 0.5) * n / size).astype(np.int64)
        if n < 2 * size:
            skip = np.zeros(size + 1, dtype=np.int64)
            skip[rng.choice(size + 1, n - size, replace=False)] = 1
            return np.arange(size) + np.cumsum(skip)[:-1]
        bounds = np.arange(size + 1) * n // size
        return bounds[:-1] + rng.integers(0, np.diff(bounds))

    def apply(self, x, valid, rng):
        begin, end = valid
        if end <= begin:
            C, _, V, M = x.shape
            return np.zeros((C, self.size, V, M), dtype=x.dtype), (0, 0)
        return x[:, begin + self.indices(end - begin, rng)], (0, self.size)


class ValidCropResize(Transform):
    r"""Crop a random proportion of the valid frames and resize it to :obj:`size` frames by
    linear interpolation (CTR-GCN's ``valid_crop_resize``).

    Training (:obj:`p_interval` a pair ``(lo, hi)``): a proportion :math:`p \sim U(lo, hi)`
    of the :math:`n` valid frames, at least :obj:`min_length` (but at most :math:`n`), at a
    random offset. Test (:obj:`p_interval` a single number :math:`p`): the centre crop, with
    ``int((1 - p) * n / 2)`` frames cut at each end. The crop is resized as
    ``torch.nn.functional.interpolate(mode='linear', align_corners=False)`` does.

    Args:
        size (int): The output length (CTR-GCN's ``window_size``). (default: :obj:`64`)
        p_interval (float or (float, float), optional): The crop proportion.
            (default: :obj:`(0.5, 1.0)`, CTR-GCN's training setting; it tests with
            :obj:`0.95`)
        min_length (int, optional): The shortest random crop. (default: :obj:`64`, as
            CTR-GCN)
    """

    def __init__(self, size: int = 64, p_interval: Union[float, Sequence[float]] = (0.5, 1.0),
                 min_length: int = 64) -> None:
        self.size = _check_size(size, 'valid_crop_resize')
        p = (float(p_interval), ) if np.isscalar(p_interval) else tuple(
            float(v) for v in p_interval)
        if len(p) not in (1, 2) or not all(0 < v <= 1 for v in p) or p[0] > p[-1]:
            raise ValueError(f'valid_crop_resize: p_interval must be a proportion in (0, 1] or '
                             f'a pair lo <= hi of them (got {p_interval!r})')
        self.p_interval = p if len(p) == 2 else p[0]
        self.min_length = int(min_length)

    def apply(self, x, valid, rng):
        C, _, V, M = x.shape
        begin, end = valid
        n = end - begin
        if n <= 0:
            return np.zeros((C, self.size, V, M), dtype=x.dtype), (0, 0)
        if isinstance(self.p_interval, tuple):
            lo, hi = self.p_interval
            p = rng.random() * (hi - lo) + lo
            length = min(max(int(math.floor(n * p)), self.min_length), n)
            start = begin + int(rng.integers(0, n - length + 1))
        else:
            cut = int((1 - self.p_interval) * n / 2)
            start, length = begin + cut, max(n - 2 * cut, 1)
        return resize_frames(x[:, start:start + length], self.size), (0, self.size)


def resize_frames(x: np.ndarray, size: int) -> np.ndarray:
    r"""Linear resampling of ``[C, T, V, M]`` along time to :obj:`size` frames, as
    ``torch.nn.functional.interpolate(mode='linear', align_corners=False)``."""
    T = x.shape[1]
    if T == size:
        return np.array(x, copy=True)
    position = np.maximum((np.arange(size) + 0.5) * (T / size) - 0.5, 0)
    lower = np.minimum(position.astype(np.int64), T - 1)
    upper = np.minimum(lower + 1, T - 1)
    weight = (position - lower).astype(x.dtype)[:, None, None]
    low = x[:, lower]
    return low + (x[:, upper] - low) * weight


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


# ------------------------------------------------------------------------------------------
# Pipelines

class _Function(Transform):
    """A plain function ``f(x) -> x`` as a step; the valid frames are found in its output."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray]) -> None:
        self.function = function

    def apply(self, x, valid, rng):
        out = np.asarray(self.function(x), dtype=np.float32)
        return out, valid_range(out)

    def __repr__(self) -> str:
        return getattr(self.function, '__name__', repr(self.function))


class Compose(Transform):
    r"""A pipeline: the transforms in order, the valid frames passed from one to the next.

    Args:
        transforms (sequence of Transform): The steps.
    """

    def __init__(self, transforms: Sequence[Transform] = ()) -> None:
        self.transforms = [t if isinstance(t, Transform) else _Function(t) for t in transforms]

    def apply(self, x, valid, rng):
        for transform in self.transforms:
            x, valid = transform.apply(x, valid, rng)
        return x, valid

    def __len__(self) -> int:
        return len(self.transforms)

    def __iter__(self) -> Iterator[Transform]:
        return iter(self.transforms)

    def __getitem__(self, index: int) -> Transform:
        return self.transforms[index]

    def __repr__(self) -> str:
        if not self.transforms:
            return 'Compose([])'
        inner = ''.join(f'\n  {t!r},' for t in self.transforms)
        return f'Compose([{inner}\n])'


#: Name → transform class, the names used in configurations.
TRANSFORMS: Dict[str, Type[Transform]] = {
    'random_choose': RandomChoose,
    'random_shift': RandomShift,
    'random_move': RandomMove,
    'pad_window': PadWindow,
    'normalize': Normalize,
    'uniform_sample': UniformSample,
    'valid_crop_resize': ValidCropResize,
    'random_rotation': RandomRotation,
}
#: Other spellings (the original's function names, PYSKL's class names).
ALIASES: Dict[str, str] = {
    'auto_pading': 'pad_window', 'auto_padding': 'pad_window', 'normalization': 'normalize',
    'random_rot': 'random_rotation', 'uniform_sample_frames': 'uniform_sample',
}


def _lookup(name: str) -> Type[Transform]:
    key = str(name).lower()
    key = ALIASES.get(key, key)
    if key not in TRANSFORMS:
        raise ValueError(f"unknown transform '{name}'; valid names: {', '.join(TRANSFORMS)} "
                         f"(aliases: {', '.join(ALIASES)})")
    return TRANSFORMS[key]


def build_transform(spec: TransformSpec) -> Transform:
    r"""One transform from a name (``'random_shift'``), a mapping with a ``'name'`` and
    the options (``{'name': 'random_rotation', 'max_angle': 0.3}``), a :class:`Transform`,
    or a function ``f(x) -> x``. Unknown names and options are errors that list the valid
    ones."""
    if isinstance(spec, Transform):
        return spec
    if isinstance(spec, str):
        spec = {'name': spec}
    if isinstance(spec, Mapping):
        options = dict(spec)
        if 'name' not in options:
            raise ValueError(f"a transform given as a mapping needs a 'name' (got "
                             f"{dict(spec)}); valid names: {', '.join(TRANSFORMS)}")
        name = options.pop('name')
        cls = _lookup(name)
        parameters = {p: v for p, v in inspect.signature(cls.__init__).parameters.items()
                      if p != 'self'}
        unknown = sorted(set(options) - set(parameters))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for transform '{name}'; "
                             f"valid options: {', '.join(parameters) or 'none'}")
        missing = [p for p, v in parameters.items()
                   if v.default is inspect.Parameter.empty and p not in options]
        if missing:
            raise ValueError(f"transform '{name}' needs option(s) {', '.join(missing)} (e.g. "
                             f"{{'name': '{name}', '{missing[0]}': ...}})")
        return cls(**options)
    if callable(spec):
        return _Function(spec)
    raise TypeError(f'cannot build a transform from {spec!r}: give a name, a mapping with a '
                    f"'name', a Transform or a function")


def build_transforms(specs: Union[None, TransformSpec, Sequence[TransformSpec]]) -> Compose:
    r"""A :class:`Compose` from a list of transform specifications (see
    :func:`build_transform`), e.g. ``[{'name': 'random_rotation', 'max_angle': 0.3},
    'normalize']``; :obj:`None` gives the empty pipeline, a :class:`Compose` is returned as
    it is."""
    if specs is None:
        return Compose([])
    if isinstance(specs, Compose):
        return specs
    if isinstance(specs, (str, Mapping, Transform)) or callable(specs):
        specs = [specs]
    return Compose([build_transform(spec) for spec in specs])


#: Feeder arguments that select data, not transforms (ignored by :func:`feeder_transforms`).
_FEEDER_DATA_ARGS = frozenset({'data_path', 'label_path', 'debug', 'use_mmap', 'split', 'bone',
                               'vel', 'num_person_in', 'num_person_out'})


def feeder_transforms(random_choose: bool = False, random_shift: bool = False,
                      random_move: bool = False, window_size: int = -1,
                      normalization: bool = False, random_rot: bool = False,
                      p_interval: Optional[Union[float, Sequence[float]]] = None,
                      **data_args: Any) -> Compose:
    r"""The pipeline of the original ``Feeder`` from its arguments (a ``train_feeder_args``
    or ``test_feeder_args`` section of an original configuration), in the original's order:
    ``normalization``, ``random_shift``, ``random_choose`` (over all frames, as the original)
    or else window padding to :obj:`window_size`, ``random_move``. CTR-GCN's arguments
    :obj:`p_interval` (with :obj:`window_size`: ``valid_crop_resize`` instead of choose/pad)
    and :obj:`random_rot` (after it) are understood too. Data arguments (``data_path``,
    ``label_path``, ``debug``, ``use_mmap``, ...) are ignored; other keys are an error."""
    unknown = sorted(set(data_args) - _FEEDER_DATA_ARGS)
    if unknown:
        raise ValueError(f"unknown feeder argument(s) {', '.join(unknown)}; transforms come "
                         f'from random_choose, random_shift, random_move, window_size, '
                         f'normalization, random_rot and p_interval')
    steps: List[Transform] = []
    if normalization:
        steps.append(Normalize())
    if random_shift:
        steps.append(RandomShift())
    if p_interval is not None:
        if window_size is None or window_size <= 0:
            raise ValueError('p_interval (valid_crop_resize) needs a positive window_size')
        p = p_interval[0] if not np.isscalar(p_interval) and len(p_interval) == 1 else p_interval
        steps.append(ValidCropResize(window_size, p))
    elif random_choose:
        if window_size is None or window_size <= 0:
            raise ValueError('random_choose needs a positive window_size')
        steps.append(RandomChoose(window_size, valid_only=False))
    elif window_size is not None and window_size > 0:
        steps.append(PadWindow(window_size))
    if random_rot:
        steps.append(RandomRotation())
    if random_move:
        steps.append(RandomMove())
    return Compose(steps)


__all__ = [
    'Transform', 'Compose', 'RandomChoose', 'RandomShift', 'PadWindow', 'Normalize',
    'RandomMove', 'UniformSample', 'ValidCropResize', 'RandomRotation', 'TRANSFORMS',
    'build_transform', 'build_transforms', 'feeder_transforms', 'valid_range',
    'resize_frames', 'as_generator', 'Valid',
]
