r"""The transform framework: the :class:`Transform` base class, the valid frames, the source of
randomness and :class:`Compose`, the pipeline that passes both from step to step (see
:mod:`pyg_mstgcn.data.transforms` for the design)."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple, Union

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


def check_size(size: int, what: str) -> int:
    """A window length in frames, checked to be a positive integer; :obj:`what` names the
    transform in the error."""
    if int(size) != size or size < 1:
        raise ValueError(f'{what}: size must be a positive number of frames (got {size!r})')
    return int(size)


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


class FunctionTransform(Transform):
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
        transforms (sequence of Transform): The steps; a plain function ``f(x) -> x`` is
            wrapped in a :class:`FunctionTransform`.
    """

    def __init__(self, transforms: Sequence[Transform] = ()) -> None:
        self.transforms = [t if isinstance(t, Transform) else FunctionTransform(t)
                           for t in transforms]

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
