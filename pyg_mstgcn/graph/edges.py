"""Edge sets of skeleton batches: the joint pairs of a support, repeated for every skeleton
instance of a batch (nodes ``b * V + v``, as in the representation of
:mod:`pyg_mstgcn.data`)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor


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
