r"""The input streams of the two-stream (and four-stream) networks, computed on the fly.

Each function takes coordinates in the original's layout, one sample ``[C, T, V, M]`` or a
batch ``[N, C, T, V, M]``, as a NumPy array or a PyTorch tensor, and returns the same kind
and shape (a new array; the input is not modified). All channels are transformed, including
a Kinetics confidence score, as the original tools do.

- ``'joint'``: the coordinates themselves.
- ``'bone'``: each joint minus its parent, for the ``(joint, parent)`` pairs of
  :attr:`SkeletonLayout.bone_pairs` (the original's ``gen_bone_data.py`` pairs); a joint
  paired with itself (NTU's spine-mid joint 21, the OpenPose nose) has a zero bone.
- ``'joint_motion'``: frame :math:`t + 1` minus frame :math:`t`; the last frame is zero
  (``gen_motion_data.py``).
- ``'bone_motion'``: the motion of the bones.

``python -m preprocess streams --in DIR`` writes the same streams to disk as the original's
``{split}_data_{bone,joint_motion,bone_motion}.npy`` files.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Dict, Optional, Tuple, TypeVar, Union

import numpy as np
import torch

from pyg_mstgcn.graph import SkeletonLayout, get_layout

Array = TypeVar('Array', np.ndarray, torch.Tensor)
LayoutLike = Union[str, SkeletonLayout]


@lru_cache(maxsize=None)
def _parents(layout: SkeletonLayout) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """The parent of every joint (a later pair for the same joint wins), and the joints
    without a pair, which keep their coordinates."""
    parent = list(range(layout.num_joints))
    paired = set()
    for joint, par in layout.bone_pairs:
        parent[joint] = par
        paired.add(joint)
    return tuple(parent), tuple(j for j in range(layout.num_joints) if j not in paired)


def _check(x, what: str) -> None:
    if x.ndim not in (4, 5):
        raise ValueError(f'{what}: expected [C, T, V, M] or [N, C, T, V, M] skeletons '
                         f'(got shape {list(x.shape)})')


def bone(x: Array, layout: LayoutLike) -> Array:
    r"""Bones: ``out[..., v, :] = x[..., v, :] - x[..., parent(v), :]``.

    Args:
        x (numpy.ndarray or torch.Tensor): ``[C, T, V, M]`` or ``[N, C, T, V, M]``.
        layout (str or SkeletonLayout): The layout whose :attr:`bone_pairs` define the
            parents (e.g. ``'ntu-rgb+d'``, ``'openpose'``). A joint without a pair keeps its
            coordinates, as in the original script.
    """
    _check(x, 'bone')
    layout = get_layout(layout)
    if x.shape[-2] != layout.num_joints:
        raise ValueError(f"bone: the layout '{layout.name}' has {layout.num_joints} joints "
                         f'but the data has V = {x.shape[-2]} (shape {list(x.shape)}); pick '
                         f'the layout of the data')
    parents, unpaired = _parents(layout)
    # one gather along the joint axis: far faster than assigning through fancy indices
    if isinstance(x, torch.Tensor):
        out = x - x.index_select(-2, torch.tensor(parents, device=x.device))
        if unpaired:
            out[..., list(unpaired), :] = x[..., list(unpaired), :]
        return out
    x = np.asarray(x)
    out = x - np.take(x, parents, axis=-2)
    if unpaired:
        out[..., list(unpaired), :] = x[..., list(unpaired), :]
    return out


def motion(x: Array) -> Array:
    r"""Motion: ``out[..., t, :, :] = x[..., t + 1, :, :] - x[..., t, :, :]``, the last frame
    zero.

    Args:
        x (numpy.ndarray or torch.Tensor): ``[C, T, V, M]`` or ``[N, C, T, V, M]``.
    """
    _check(x, 'motion')
    if isinstance(x, torch.Tensor):
        out = torch.zeros_like(x)
    else:
        x = np.asarray(x)
        out = np.zeros(x.shape, dtype=x.dtype)
    out[..., :-1, :, :] = x[..., 1:, :, :] - x[..., :-1, :, :]
    return out


def _joint(x, layout=None):
    return x


#: Stream name → function ``f(x, layout)``.
STREAMS: Dict[str, Callable] = {
    'joint': _joint,
    'bone': bone,
    'joint_motion': lambda x, layout=None: motion(x),
    'bone_motion': lambda x, layout: motion(bone(x, layout)),
}


def make_stream(x: Array, name: str, layout: Optional[LayoutLike] = None) -> Array:
    r"""The stream :obj:`name` (``'joint'``, ``'bone'``, ``'joint_motion'`` or
    ``'bone_motion'``) of :obj:`x`; :obj:`layout` is needed for the bone streams."""
    if name not in STREAMS:
        raise ValueError(f"unknown stream '{name}'; expected one of {', '.join(STREAMS)}")
    if name.startswith('bone') and layout is None:
        raise ValueError(f"the '{name}' stream needs the skeleton layout (e.g. "
                         f"layout='ntu-rgb+d')")
    return STREAMS[name](x, layout)
