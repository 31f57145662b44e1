r"""The original's ``Feeder`` arguments (and CTR-GCN's) as a pipeline of transforms, for the
``train_feeder_args`` and ``test_feeder_args`` sections of an original configuration."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import numpy as np

from pyg_mstgcn.data.transforms.base import Compose, Transform
from pyg_mstgcn.data.transforms.spatial import Normalize, RandomMove, RandomRotation
from pyg_mstgcn.data.transforms.temporal import (PadWindow, RandomChoose, RandomShift,
                                                 ValidCropResize)

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
