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
