"""Fused sparse aggregation over K adjacency subsets, with gradients for the edge weights."""
from __future__ import annotations

import warnings
from typing import Any, Tuple

import torch
from torch import Tensor


def _csr(rows: Tensor, cols: Tensor, values: Tensor, num_rows: int, num_cols: int,
         order: Tensor) -> Tensor:
    rows, cols = rows[order], cols[order]
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=rows.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=num_rows), dim=0)
    with warnings.catch_warnings():  # CSR works as used here; PyTorch flags it as beta
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
        return torch.sparse_csr_tensor(crow, cols, values[order], (num_rows, num_cols),
                                       check_invariants=False)


class _SubsetSpMM(torch.autograd.Function):
    # out = S @ g, S a [num_dst, num_src * K] sparse matrix given in COO form by
    # (rows, cols, values); gradients flow to `values` and to `g`.

    @staticmethod
    def forward(ctx: Any, values: Tensor, g: Tensor, rows: Tensor, cols: Tensor,
                num_dst: int) -> Tensor:
        order = torch.argsort(rows * g.size(0) + cols)
        S = _csr(rows, cols, values.detach(), num_dst, g.size(0), order)
        ctx.save_for_backward(values, g, rows, cols, order)
        ctx.num_dst = num_dst
        return torch.sparse.mm(S, g.detach())

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> Tuple[Any, ...]:
        values, g, rows, cols, order = ctx.saved_tensors
        grad_values = grad_g = None
        grad_out = grad_out.contiguous()
        if ctx.needs_input_grad[0]:
            pattern = _csr(rows, cols, values.detach(), ctx.num_dst, g.size(0), order)
            sampled = torch.sparse.sampled_addmm(pattern, grad_out, g.detach().t(), beta=0.0)
            grad_values = torch.empty_like(values)
            grad_values[order] = sampled.values()
        if ctx.needs_input_grad[1]:
            order_t = torch.argsort(cols * ctx.num_dst + rows)
            S_t = _csr(cols, rows, values.detach(), g.size(0), ctx.num_dst, order_t)
            grad_g = torch.sparse.mm(S_t, grad_out)
        return grad_values, grad_g, None, None, None


def subset_spmm(src: Tensor, dst: Tensor, weight: Tensor, x: Tensor, num_dst: int) -> Tensor:
    r"""Aggregates :math:`\mathbf{y}_w = \sum_{(v, w)} \sum_k a_{vw,k}\, \mathbf{x}_{v,k}` as one
    sparse-dense matrix product.

    Each edge ``v -> w`` with weights :math:`a_{vw,k}` over the :math:`K` subsets becomes
    :math:`K` entries of a sparse ``[num_dst, num_src * K]`` matrix, multiplied by ``x``
    flattened to ``[num_src * K, F]``. Gradients reach both :obj:`weight` and :obj:`x`.

    Args:
        src (torch.Tensor): Source node of each edge, ``[E]``.
        dst (torch.Tensor): Target node of each edge, ``[E]``.
        weight (torch.Tensor): Edge weights per subset, ``[E, K]``.
        x (torch.Tensor): Node features per subset, ``[num_src, K, F]``.
        num_dst (int): Number of target nodes.

    Returns:
        torch.Tensor: ``[num_dst, F]``.
    """
    num_src, K, F = x.shape
    subsets = torch.arange(K, device=src.device)
    rows = dst.repeat_interleave(K)
    cols = (src.unsqueeze(1) * K + subsets).reshape(-1)
    values = weight.reshape(-1).to(x.dtype)
    return _SubsetSpMM.apply(values, x.reshape(num_src * K, F), rows, cols, num_dst)
