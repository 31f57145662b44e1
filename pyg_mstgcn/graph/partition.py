"""The spatial partition of the original MST-GCN: identity, inward and outward subsets."""
from __future__ import annotations

import torch
from torch import Tensor

from pyg_mstgcn.graph.layout import SkeletonLayout, get_layout

#: Names of the adjacency subsets, in the order of the partition's first axis.
SUBSETS = ('identity', 'inward', 'outward')


def _pair_matrix(pairs, num_joints: int) -> Tensor:
    # M[j, i] = 1 for a pair (i, j): the message of joint j reaches joint i.
    matrix = torch.zeros(num_joints, num_joints, dtype=torch.float64)
    for i, j in pairs:
        matrix[j, i] = 1.0
    return matrix


def _normalise_columns(matrix: Tensor) -> Tensor:
    col_sum = matrix.sum(dim=0)
    scale = torch.where(col_sum > 0, 1.0 / col_sum.clamp(min=1e-12), torch.zeros_like(col_sum))
    return matrix * scale


def spatial_partition(layout: 'str | SkeletonLayout') -> Tensor:
    r"""The fixed adjacency :math:`\mathbf{A} \in \mathbb{R}^{3 \times V \times V}` of a layout.

    Subset 0 is the identity; subsets 1 and 2 hold the inward and outward bones, each matrix
    divided by its column sums (columns that sum to zero stay zero). Entry ``A[k, v, w]``
    weighs the message from joint ``v`` to joint ``w``.
    """
    layout = get_layout(layout)
    V = layout.num_joints
    subsets = [torch.eye(V, dtype=torch.float64),
               _normalise_columns(_pair_matrix(layout.inward, V)),
               _normalise_columns(_pair_matrix(layout.outward, V))]
    return torch.stack(subsets).to(torch.float32)


def skeleton_edges(layout: 'str | SkeletonLayout') -> tuple[Tensor, Tensor]:
    r"""The directed edges of one skeleton: every non-zero entry of the partition.

    Returns:
        ``(edge_index, edge_subset)``: ``edge_index`` of shape ``[2, E]`` (source joint,
        target joint), sorted by target then source, and the subset (0 identity, 1 inward,
        2 outward) each edge belongs to. Self-loops are the identity edges.
    """
    A = spatial_partition(layout)
    subset, src, dst = (A != 0).nonzero(as_tuple=True)
    order = torch.argsort(dst * A.size(1) + src)
    return torch.stack([src[order], dst[order]]), subset[order]
