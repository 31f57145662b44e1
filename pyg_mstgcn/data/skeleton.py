"""Skeleton sequences as PyG graphs, and back to the dense layout of the original code."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from pyg_mstgcn.graph import SkeletonLayout, get_layout, skeleton_edges

LayoutLike = Union[str, SkeletonLayout]


@lru_cache(maxsize=None)
def _template(layout: SkeletonLayout, num_person: int) -> Tuple[Tensor, Tensor, Tensor]:
    edge_index, edge_subset = skeleton_edges(layout)
    V = layout.num_joints
    template = edge_index[0] * V + edge_index[1]
    offsets = torch.arange(num_person).repeat_interleave(edge_index.size(1)) * V
    return (edge_index.repeat(1, num_person) + offsets, edge_subset.repeat(num_person),
            template.repeat(num_person))


#: The most values per joint and frame a skeleton sequence is taken to have (coordinates, a
#: confidence score, room for more features); a larger axis 1 means the axes are misplaced, and
#: so does one beyond 4 values that is longer than the time axis.
MAX_CHANNELS = 16

_AXES = 'NCTVM'


def _guess_axes(shape: Sequence[int], num_joints: int) -> Optional[str]:
    """The axis names of a 5-D shape that holds ``[N, C, T, V, M]`` in another order, or None
    when no axis has :obj:`num_joints` entries. The joints are the axis of size V (axis 3 if it
    qualifies), the frames the longest remaining axis, and of the last two the coordinates are
    the one of size 3 (else the earlier one)."""
    candidates = [a for a in (3, 1, 2, 4) if shape[a] == num_joints]
    if not candidates:
        return None
    joints = candidates[0]
    rest = [a for a in (1, 2, 3, 4) if a != joints]
    frames = max(rest, key=lambda a: (shape[a], -a))
    first, second = [a for a in rest if a != frames]
    channels = second if shape[second] == 3 and shape[first] != 3 else first
    names = ['N'] * 5
    for axis, name in ((joints, 'V'), (frames, 'T'), (channels, 'C')):
        names[axis] = name
    names[[a for a in rest if a not in (frames, channels)][0]] = 'M'
    return ''.join(names)


def check_sequence_shape(shape: Sequence[int], layout: LayoutLike, where: str) -> None:
    r"""Raises a :class:`ValueError` unless :obj:`shape` is that of skeleton sequences
    ``[N, C, T, V, M]`` of :obj:`layout`: five axes, the layout's :math:`V` joints on axis 3
    and at most :data:`MAX_CHANNELS` values per joint on axis 1 (beyond 4, no more than the
    frames on axis 2). When the axes are in another order, the message names the order found
    and the transpose that fixes it."""
    layout = get_layout(layout)
    shape, V = tuple(int(n) for n in shape), layout.num_joints
    expected = (f"expected [N, C, T, V, M] skeleton sequences (C <= {MAX_CHANNELS} values per "
                f"joint, V = {V} joints of layout '{layout.name}')")
    if len(shape) != 5:
        raise ValueError(f'{where} holds an array of shape {list(shape)}; {expected}')
    C, T = shape[1], shape[2]
    if shape[3] == V and C <= MAX_CHANNELS and (C <= 4 or C <= T):
        return
    found = _guess_axes(shape, V)
    if found is None:
        raise ValueError(f"{where} has V = {shape[3]} joints (shape {list(shape)}) but layout "
                         f"'{layout.name}' has {V}; pass the layout of the data (e.g. "
                         f"layout='openpose' for 18 joints, or a SkeletonLayout)")
    order = tuple(found.index(name) for name in _AXES)
    raise ValueError(f'{where} has shape {list(shape)}, which looks like '
                     f'[{", ".join(found)}]; {expected}: np.transpose(x, {order}) puts the '
                     f'axes in that order')


def skeleton_graph(x: Tensor, layout: LayoutLike, y: Optional[Union[int, Tensor]] = None,
                   **attributes) -> Data:
    r"""One skeleton sequence ``[C, T, V, M]`` as a :class:`~torch_geometric.data.Data`.

    Args:
        x (torch.Tensor): Coordinates ``[C, T, V, M]`` (channels, frames, joints, persons).
        layout (str or SkeletonLayout): The skeleton layout (:obj:`V` joints).
        y (int or torch.Tensor, optional): The action label.
        **attributes (optional): More attributes to store (e.g. ``name``).
    """
    layout = get_layout(layout)
    if x.dim() != 4 or x.size(2) != layout.num_joints:
        raise ValueError(f"expected a skeleton sequence of shape [C, T, "
                         f"{layout.num_joints} joints of layout '{layout.name}', M] "
                         f"(got {list(x.shape)})")
    C, T, V, M = x.shape
    edge_index, edge_subset, edge_template = _template(layout, M)
    data = Data(x=x.permute(3, 2, 0, 1).reshape(M * V, C, T), edge_index=edge_index,
                edge_subset=edge_subset, edge_template=edge_template, num_person=M,
                **attributes)
    if y is not None:
        data.y = torch.as_tensor(y, dtype=torch.long).view(1)
    return data


def from_dense(x: Tensor, layout: LayoutLike, labels: Optional[Sequence[int]] = None
               ) -> Batch:
    r"""A dense batch ``[N, C, T, V, M]`` (the original's layout) as a PyG
    :class:`~torch_geometric.data.Batch` of :obj:`N` skeleton graphs.

    Args:
        x (torch.Tensor): Coordinates ``[N, C, T, V, M]``.
        layout (str or SkeletonLayout): The skeleton layout.
        labels (sequence of int, optional): One action label per sequence.
    """
    if x.dim() != 5:
        raise ValueError(f"expected a dense batch of shape [N, C, T, V, M] "
                         f"(got {list(x.shape)})")
    if labels is not None and len(labels) != x.size(0):
        raise ValueError(f"got {len(labels)} labels for {x.size(0)} sequences")
    return Batch.from_data_list([
        skeleton_graph(x[i], layout, None if labels is None else labels[i])
        for i in range(x.size(0))
    ])


def to_dense(batch: Union[Data, Batch], num_joints: int) -> Tensor:
    r"""The inverse of :func:`from_dense`: node features back to ``[N, C, T, V, M]``."""
    M = _num_person(batch)
    num_nodes, C, T = batch.x.shape
    N = num_nodes // (M * num_joints)
    if N * M * num_joints != num_nodes:
        raise ValueError(f"{num_nodes} nodes do not form graphs of {M} persons x "
                         f"{num_joints} joints")
    return batch.x.view(N, M, num_joints, C, T).permute(0, 3, 4, 2, 1)


def _num_person(batch: Union[Data, Batch]) -> int:
    num_person = batch.num_person
    if isinstance(num_person, Tensor):
        if num_person.numel() > 1 and not bool((num_person == num_person[0]).all()):
            raise ValueError("all graphs of a batch must have the same number of persons")
        num_person = int(num_person.reshape(-1)[0])
    return int(num_person)
