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
#: confidence score, room for more features); a larger axis 1 means the axes are misplaced.
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
    and at most :data:`MAX_CHANNELS` values per joint on axis 1. When the axes are in another
    order, the message names the order found and the transpose that fixes it."""
    layout = get_layout(layout)
    shape, V = tuple(int(n) for n in shape), layout.num_joints
    expected = (f"expected [N, C, T, V, M] skeleton sequences (C <= {MAX_CHANNELS} values per "
                f"joint, V = {V} joints of layout '{layout.name}')")
    if len(shape) != 5:
        raise ValueError(f'{where} holds an array of shape {list(shape)}; {expected}')
    if shape[3] == V and shape[1] <= MAX_CHANNELS:
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


def support_edges(support: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""The joint pairs of a support, repeated for every skeleton instance.

    Args:
        support (torch.Tensor): ``[V, V]`` booleans; ``support[v, w]`` connects joint ``v``
            to joint ``w`` (source, target).
        num_nodes (int): Nodes forming instances of :math:`V` joints each.

    Returns:
        ``(edge_index, edge_template)``: ``edge_index`` of shape ``[2, E]`` sorted by target
        node then source, and each edge's joint pair ``v * V + w``.
    """
    V = support.size(0)
    if support.dim() != 2 or support.size(1) != V:
        raise ValueError(f"the support must be a square [V, V] matrix (got "
                         f"{list(support.shape)})")
    if num_nodes % V != 0:
        raise ValueError(f"{num_nodes} nodes do not form skeleton instances of {V} joints")
    dst_local, src_local = support.t().nonzero(as_tuple=True)  # sorted by target, source
    count = num_nodes // V
    offsets = (torch.arange(count, device=support.device) * V).repeat_interleave(
        src_local.numel())
    src, dst = src_local.repeat(count) + offsets, dst_local.repeat(count) + offsets
    return torch.stack([src, dst]), (src_local * V + dst_local).repeat(count)


def full_edges(num_nodes: int, num_joints: int, device: Optional[torch.device] = None
               ) -> Tuple[Tensor, Tensor]:
    r"""All joint pairs of every skeleton instance, the support of ``adjacency='full'``
    (:func:`support_edges` of a full support)."""
    support = torch.ones(num_joints, num_joints, dtype=torch.bool, device=device)
    return support_edges(support, num_nodes)


def _num_person(batch: Union[Data, Batch]) -> int:
    num_person = batch.num_person
    if isinstance(num_person, Tensor):
        if num_person.numel() > 1 and not bool((num_person == num_person[0]).all()):
            raise ValueError("all graphs of a batch must have the same number of persons")
        num_person = int(num_person.reshape(-1)[0])
    return int(num_person)
