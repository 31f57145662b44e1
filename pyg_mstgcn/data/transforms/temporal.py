r"""Frame sampling and windows: the steps that choose, move, pad or resample the frames of a
sample along time and say which of the new frames are valid."""
from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np

from pyg_mstgcn.data.transforms.base import Transform, check_size

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
        self.size = check_size(size, 'random_choose')
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
        self.size = check_size(size, 'pad_window')
        self.random_pad = bool(random_pad)

    def apply(self, x, valid, rng):
        C, T, V, M = x.shape
        if T >= self.size:
            return x, valid
        offset = int(rng.integers(0, self.size - T + 1)) if self.random_pad else 0
        out = np.zeros((C, self.size, V, M), dtype=x.dtype)
        out[:, offset:offset + T] = x
        return out, ((valid[0] + offset, valid[1] + offset) if valid[1] > valid[0] else (0, 0))


# ------------------------------------------------------------------------------------------
# The modern ones

class FrameSampler(Transform):
    r"""Base of the steps that take :obj:`size` of the valid frames, by the indices
    :meth:`indices` chooses (random in training, fixed in test mode); all output frames are
    valid, and a sample without valid frames becomes :obj:`size` empty ones."""

    #: The transform's name in the configurations, for its errors.
    name = ''

    def __init__(self, size: int, test_mode: bool = False) -> None:
        self.size = check_size(size, self.name)
        self.test_mode = bool(test_mode)

    def indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The :obj:`size` frame indices in ``[0, n)`` (``n > 0``)."""
        raise NotImplementedError

    def apply(self, x, valid, rng):
        begin, end = valid
        if end <= begin:
            C, _, V, M = x.shape
            return np.zeros((C, self.size, V, M), dtype=x.dtype), (0, 0)
        return x[:, begin + self.indices(end - begin, rng)], (0, self.size)


class UniformSample(FrameSampler):
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

    name = 'uniform_sample'

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
        self.size = check_size(size, 'valid_crop_resize')
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


class SortedSample(FrameSampler):
    r"""Random frames in their order, or evenly spaced ones (CTR-GCN's NW-UCLA feeder).

    Training draws :obj:`size` frames without replacement from the :math:`L` valid frames each
    repeated 100 times, and sorts them (the feeder's ``random.sample(list(range(L)) * 100,
    size)``, then ``sort()``): a short sequence repeats frames, a long one skips some, at
    random. Test mode takes ``numpy.linspace(0, L - 1, size).astype(int)``. All :obj:`size`
    output frames are valid.

    Args:
        size (int): The output length (the feeder's ``time_steps``, 52 for NW-UCLA).
        test_mode (bool, optional): Deterministic: evenly spaced frames.
            (default: :obj:`False`)
    """

    name = 'sorted_sample'
    #: How often each valid frame is repeated in the population drawn from.
    REPEATS = 100

    def indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The :obj:`size` sampled frame indices in ``[0, n)`` (``n > 0``), in order."""
        if self.test_mode:
            return np.linspace(0, n - 1, self.size).astype(np.int64)
        population = n * self.REPEATS
        if self.size > population:
            raise ValueError(f'sorted_sample: cannot draw {self.size} frames from {n} valid '
                             f'frames repeated {self.REPEATS} times; use a smaller size')
        # position p of list(range(n)) * 100 holds frame p % n
        return np.sort(rng.choice(population, self.size, replace=False) % n)
