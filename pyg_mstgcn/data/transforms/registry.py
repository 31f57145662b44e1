r"""The one name → transform class table of the configurations, and the builders that turn a
specification (a name, a mapping with a ``'name'`` and the options, a transform or a function)
into a transform or a pipeline."""
from __future__ import annotations

import inspect
from typing import Dict, Mapping, Sequence, Type, Union

from pyg_mstgcn.data.transforms.base import (Compose, FunctionTransform, Transform,
                                             TransformSpec)
from pyg_mstgcn.data.transforms.spatial import (MinMaxNormalize, Normalize, PreNormalize,
                                                RandomMove, RandomRotation)
from pyg_mstgcn.data.transforms.temporal import (PadWindow, RandomChoose, RandomShift,
                                                 SortedSample, UniformSample, ValidCropResize)

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
    'min_max_normalize': MinMaxNormalize,
    'sorted_sample': SortedSample,
    'pre_normalize': PreNormalize,
}
#: Other spellings (the original's function names, PYSKL's class names).
ALIASES: Dict[str, str] = {
    'auto_pading': 'pad_window', 'auto_padding': 'pad_window', 'normalization': 'normalize',
    'random_rot': 'random_rotation', 'uniform_sample_frames': 'uniform_sample',
    'pre_normalization': 'pre_normalize',
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
    the options (``{'name': 'random_rotation', 'max_angle': 0.3}``), a
    :class:`~pyg_mstgcn.data.transforms.Transform`, or a function ``f(x) -> x``. Unknown
    names and options are errors that list the valid ones."""
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
        return FunctionTransform(spec)
    raise TypeError(f'cannot build a transform from {spec!r}: give a name, a mapping with a '
                    f"'name', a Transform or a function")


def build_transforms(specs: Union[None, TransformSpec, Sequence[TransformSpec]]) -> Compose:
    r"""A :class:`~pyg_mstgcn.data.transforms.Compose` from a list of transform
    specifications (see :func:`build_transform`), e.g. ``[{'name': 'random_rotation',
    'max_angle': 0.3}, 'normalize']``; :obj:`None` gives the empty pipeline, a
    :class:`~pyg_mstgcn.data.transforms.Compose` is returned as it is."""
    if specs is None:
        return Compose([])
    if isinstance(specs, Compose):
        return specs
    if isinstance(specs, (str, Mapping, Transform)) or callable(specs):
        specs = [specs]
    return Compose([build_transform(spec) for spec in specs])
