"""Learnable adjacency: a fixed partition plus a learnable offset per subset; and the record
of a convolution's matrices that a network lists (:class:`AdjacencyMatrices`)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

ADJACENCY_MODES = ('full', 'skeleton')


class LearnableAdjacency(nn.Module):
    r"""The effective adjacency :math:`\mathbf{A}_k + \mathbf{B}_k` of each subset :math:`k`.

    :math:`\mathbf{A}` is fixed (a buffer); :math:`\mathbf{B}` is learnable and initialised to
    :math:`\mathbf{A}`, so the adjacency starts at :math:`2\mathbf{A}`, as in the original
    network (its ``A`` and ``PA``).

    Args:
        A (torch.Tensor): The fixed partition, shape ``[K, V, V]``; ``A[k, v, w]`` weighs the
            message from joint ``v`` to joint ``w``.
        mode (str, optional): ``'full'``: :math:`\mathbf{B}_k` is a dense :math:`V \times V`
            table, any two joints may connect (the original). ``'skeleton'``:
            :math:`\mathbf{B}_k` lives only on the joint pairs where some :math:`\mathbf{A}_k`
            is non-zero (the bones, both ways, and self-loops). (default: :obj:`'full'`)
    """

    def __init__(self, A: Tensor, mode: str = 'full') -> None:
        super().__init__()
        if mode not in ADJACENCY_MODES:
            raise ValueError(f"unknown adjacency mode '{mode}'; valid modes: "
                             f"{', '.join(ADJACENCY_MODES)}")
        if A.dim() != 3 or A.size(1) != A.size(2):
            raise ValueError(f"the partition must have shape [K, V, V] (got {list(A.shape)})")
        self.mode = mode
        self.register_buffer('A', A.detach().clone().float())
        if mode == 'full':
            self.B = nn.Parameter(torch.empty_like(self.A))
        else:
            self.register_buffer('support', self.A.abs().sum(dim=0) != 0, persistent=False)
            # flat positions of B's entries in [K, V, V]: k-major, then (v, w) row-major
            positions = self.support.expand_as(self.A).reshape(-1).nonzero().squeeze(1)
            self.register_buffer('positions', positions, persistent=False)
            self.B = nn.Parameter(self.A.new_empty(self.A.size(0), int(self.support.sum())))
        self.reset_parameters()

    @property
    def num_subsets(self) -> int:
        return self.A.size(0)

    @property
    def num_joints(self) -> int:
        return self.A.size(1)

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.B.copy_(self.A if self.mode == 'full' else self.A[:, self.support])

    def offset(self) -> Tensor:
        r"""Returns the learned offset :math:`\mathbf{B}` as ``[K, V, V]``, zero off its
        support in mode ``'skeleton'``."""
        if self.mode == 'full':
            return self.B
        return torch.zeros_like(self.A).view(-1).index_add(
            0, self.positions, self.B.view(-1)).view_as(self.A)

    def forward(self) -> Tensor:
        """Returns the effective adjacency ``[K, V, V]``."""
        if self.mode == 'full':
            return self.A + self.B
        # one indexed add; masked_scatter costs over 10x more, forward and backward
        return self.A.view(-1).index_add(0, self.positions, self.B.view(-1)).view_as(self.A)

    def extra_repr(self) -> str:
        return f'subsets={self.num_subsets}, joints={self.num_joints}, mode={self.mode}'


class FrozenAdjacency(nn.Module):
    r"""A learned adjacency frozen for inference: :math:`\mathbf{A}_k + \mathbf{B}_k` as one
    constant ``[K, V, V]``, what :meth:`~pyg_mstgcn.nn.SpatialGraphConv.fuse_for_inference`
    puts in place of a :class:`LearnableAdjacency`.

    Args:
        adjacency (LearnableAdjacency): The adjacency to freeze.
    """

    def __init__(self, adjacency: LearnableAdjacency) -> None:
        super().__init__()
        self.mode = adjacency.mode
        self.register_buffer('weight', adjacency().detach().clone())

    @property
    def num_subsets(self) -> int:
        return self.weight.size(0)

    @property
    def num_joints(self) -> int:
        return self.weight.size(1)

    def forward(self) -> Tensor:
        """Returns the effective adjacency ``[K, V, V]``."""
        return self.weight

    def extra_repr(self) -> str:
        return f'subsets={self.num_subsets}, joints={self.num_joints}, mode={self.mode}'


@dataclass(frozen=True)
class AdjacencyMatrices:
    r"""The adjacency of one spatial graph convolution of a network, as
    :meth:`~pyg_mstgcn.models.MSTGCN.adjacency_matrices` lists them: detached CPU tensors of
    shape ``[K, V, V]``, entry ``[k, v, w]`` weighing the message from joint ``v`` to joint
    ``w`` in subset ``k``.

    Args:
        block (int): The block, from 0.
        scale (int): The scale within the block (the branch of MS-GC), 0 for a single-scale
            layer.
        name (str): The path of the :class:`~pyg_mstgcn.nn.SpatialGraphConv` in the network
            (``'blocks.1.spatial.scales.2.conv'``).
        fixed (torch.Tensor): The partition :math:`\mathbf{A}` (self-loops, inward, outward).
        learned (torch.Tensor): The learned offset :math:`\mathbf{B}` (initialised to
            :math:`\mathbf{A}`).
        effective (torch.Tensor): :math:`\mathbf{A} + \mathbf{B}`, what the convolution
            aggregates with.
    """
    block: int
    scale: int
    name: str
    fixed: Tensor
    learned: Tensor
    effective: Tensor
