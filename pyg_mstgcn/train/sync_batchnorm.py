r"""Synchronised batch normalisation for any backend, gloo on CPU included.

:class:`torch.nn.SyncBatchNorm` only runs on CUDA (its kernels are CUDA-only), so on CPU each
process of a ``torchrun`` job would normalise with the statistics of its own share of the
batch. :class:`SyncBatchNorm` here normalises with the statistics of the global batch (every
process of the group) in training mode, and its backward gives the input gradient of
batch norm over the global batch:

* forward: each process computes its per-channel count, mean and biased variance (two
  passes: the mean, then the centred squares); these are gathered and combined in float64
  (Chan et al.) into the global mean and biased variance, used to normalise (as
  evaluation-mode batch norm with those statistics); the running statistics are updated as
  :class:`torch.nn.BatchNorm1d` updates them (unbiased variance over the global count;
  ``momentum=None``: cumulative average);
* backward: per-channel ``[sum(dy), sum(dy * x_hat)]`` are all-reduced, and
  ``dx = weight / std * (dy - sum(dy) / M - x_hat * sum(dy * x_hat) / M)`` with ``M`` the
  global count. ``dy`` is the gradient of this process's loss (the mean over its share);
  :class:`~torch.nn.parallel.DistributedDataParallel` averages the parameter gradients over
  the ``W`` processes, so with equal shares the result is the gradient of the mean loss over
  the global batch. For the same reason the weight and bias gradients are the local sums
  (DDP's average of them is the global-batch gradient).

In evaluation mode (with running statistics) it is plain :func:`torch.nn.functional.batch_norm`
and communicates nothing. Outside an initialised process group of more than one process it
is exactly :class:`torch.nn.BatchNorm1d`.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def _shape(x: Tensor) -> tuple:
    return (1, -1) + (1, ) * (x.dim() - 2)


class _SyncBatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                running_mean: Optional[Tensor], running_var: Optional[Tensor], eps: float,
                factor: float, group) -> Tensor:
        dims = [0] + list(range(2, x.dim()))
        count = x.numel() // x.size(1)
        if count > 0:   # two passes of sums: torch.var_mean is ~5x slower on [N, C, T]
            mean = x.sum(dims) / count
            centred = x - mean.view(_shape(x))
            var = (centred * centred).sum(dims) / count
            del centred
        else:   # an empty share: contributes nothing
            var = mean = x.new_zeros(x.size(1))
        local = torch.stack([torch.full_like(mean, count, dtype=torch.float64),
                             mean.double(), var.double()])                       # [3, C]
        world = dist.get_world_size(group)
        parts = [torch.empty_like(local) for _ in range(world)]
        dist.all_gather(parts, local, group=group)
        stats = torch.stack(parts)                                                # [W, 3, C]
        n, means, vars_ = stats[:, 0], stats[:, 1], stats[:, 2]
        total = n.sum(0)                                                          # [C]
        if bool((total <= 1).any()):
            raise ValueError(f'Expected more than 1 value per channel when training, got '
                             f'input size {list(x.shape)} over {world} processes')
        g_mean = (n * means).sum(0) / total
        g_var = (n * (vars_ + (means - g_mean) ** 2)).sum(0) / total            # biased
        if running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1 - factor).add_(g_mean.to(running_mean.dtype),
                                                   alpha=factor)
                unbiased = g_var * total / (total - 1)
                running_var.mul_(1 - factor).add_(unbiased.to(running_var.dtype),
                                                  alpha=factor)
        invstd = torch.rsqrt(g_var + eps).to(x.dtype)
        mean_x = g_mean.to(x.dtype)
        # normalising with given statistics is evaluation-mode batch norm: one fused pass
        out = F.batch_norm(x, mean_x, g_var.to(x.dtype), weight, bias, training=False,
                           eps=eps)
        ctx.save_for_backward(x, weight, mean_x, invstd, total.to(x.dtype))
        ctx.group, ctx.has_bias = group, bias is not None
        return out

    @staticmethod
    def backward(ctx, dy: Tensor):
        x, weight, mean, invstd, total = ctx.saved_tensors
        shape = _shape(x)
        dims = [0] + list(range(2, x.dim()))
        dy = dy.contiguous()
        centred = x - mean.view(shape)                  # x_hat = centred * invstd
        sum_dy = dy.sum(dims)
        sum_dy_xhat = (dy * centred).sum(dims) * invstd
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            sums = torch.stack([sum_dy, sum_dy_xhat]).double()
            dist.all_reduce(sums, group=ctx.group)
            g_sum_dy, g_sum_dy_xhat = (sums / total.double()).to(x.dtype)
            scale = invstd if weight is None else invstd * weight
            # scale * (dy - g_sum_dy - x_hat * g_sum_dy_xhat), in place where it can be
            grad_x = dy * scale.view(shape)
            grad_x.sub_(centred.mul_((scale * invstd * g_sum_dy_xhat).view(shape)))
            grad_x.sub_((scale * g_sum_dy).view(shape))
        if weight is not None and ctx.needs_input_grad[1]:
            grad_w = sum_dy_xhat   # local sums: DDP's average over processes does the rest
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = sum_dy
        return grad_x, grad_w, grad_b, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    r"""Batch norm over the global batch of a process group, on any device and backend (see
    the module's description). Same arguments and state as :class:`torch.nn.BatchNorm1d`
    (any input ``[N, C, *]``), plus ``process_group`` (default: the whole world)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group=None, device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'expected at least 2D input (got {input.dim()}D input)')

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None \
                else self.momentum
        use_batch = self.training or not self.track_running_stats
        group = self.process_group or dist.group.WORLD
        sync = use_batch and dist.is_available() and dist.is_initialized() and \
            dist.get_world_size(group) > 1
        if not sync:
            return F.batch_norm(
                input, self.running_mean if not self.training or self.track_running_stats
                else None,
                self.running_var if not self.training or self.track_running_stats else None,
                self.weight, self.bias, use_batch, factor, self.eps)
        update = self.training and self.track_running_stats
        return _SyncBatchNormFunction.apply(
            input, self.weight, self.bias, self.running_mean if update else None,
            self.running_var if update else None, self.eps, factor, group)

    @classmethod
    def convert_sync_batchnorm(cls, module: nn.Module, process_group=None) -> nn.Module:
        """:obj:`module` with every :class:`torch.nn.BatchNorm1d`/``2d``/``3d`` replaced by a
        :class:`SyncBatchNorm` holding the same parameters and buffers (as
        :meth:`torch.nn.SyncBatchNorm.convert_sync_batchnorm`)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, cls) and \
                not isinstance(module, nn.SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, 'qconfig'):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return out


def convert_sync_batchnorm(module: nn.Module, process_group=None) -> nn.Module:
    """Every batch norm of :obj:`module` as a :class:`SyncBatchNorm` (same parameters and
    buffers); see :meth:`SyncBatchNorm.convert_sync_batchnorm`."""
    return SyncBatchNorm.convert_sync_batchnorm(module, process_group)


__all__ = ['SyncBatchNorm', 'convert_sync_batchnorm']
