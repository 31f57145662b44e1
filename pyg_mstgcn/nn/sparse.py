"""Fused sparse aggregation over K adjacency subsets, with gradients for the edge weights."""
from __future__ import annotations

import warnings
from typing import Any, Tuple

import torch
from torch import Tensor

# CSR works as used here; PyTorch flags every CSR construction as beta.
warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')


def _csr(rows: Tensor, cols: Tensor, values: Tensor, num_rows: int, num_cols: int,
         order: Tensor) -> Tensor:
    rows, cols = rows[order], cols[order]
    # row pointers by binary search: unlike bincount, its output size is static for compile
    crow = torch.searchsorted(rows, torch.arange(num_rows + 1, device=rows.device))
    return torch.sparse_csr_tensor(crow, cols, values[order], (num_rows, num_cols),
                                   check_invariants=False)


def _spmm(S: Tensor, dense: Tensor) -> Tensor:
    # addmm into a fresh output with beta=0 skips the zero-fill and the copy of the result
    # that torch.sparse.mm makes on the CPU (about a quarter of its time).
    out = dense.new_empty(S.size(0), dense.size(1))
    return torch.addmm(out, S, dense, beta=0, out=out)


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
        return _spmm(S, g.detach())

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
            grad_g = _spmm(S_t, grad_out)
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
