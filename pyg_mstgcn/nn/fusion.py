"""Folding batch norms into the layers before them, for inference.

In eval mode a batch norm is a fixed affine map per channel, :math:`y = s x + b` with
:math:`s = \\gamma / \\sqrt{\\sigma^2 + \\epsilon}` and :math:`b = \\beta - s \\mu`; when a
convolution or linear layer comes right before it, the map folds into that layer's weights
and bias, and the batch norm disappears. The layers' ``fuse_for_inference()`` methods use these
helpers; :meth:`~pyg_mstgcn.models.MSTGCN.fuse` calls them all.
"""
from __future__ import annotations

from typing import Tuple, Union

import torch
from torch import Tensor, nn


def batch_norm_affine(bn: nn.modules.batchnorm._BatchNorm) -> Tuple[Tensor, Tensor]:
    """The per-channel ``(scale, shift)`` of a batch norm in eval mode."""
    if bn.running_var is None or bn.running_mean is None:
        raise ValueError('only a batch norm that tracks running statistics can be folded')
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale.detach(), shift.detach()


@torch.no_grad()
def scale_rows(layer: Union[nn.Conv1d, nn.Linear], scale: Tensor,
               shift: Union[Tensor, float] = 0.0) -> None:
    """Makes :obj:`layer` compute ``scale * layer(x) + shift`` per output row (channel), in
    place; a layer without bias gets one."""
    layer.weight.mul_(scale.view(-1, *([1] * (layer.weight.dim() - 1))))
    bias = layer.bias * scale if layer.bias is not None else torch.zeros_like(scale)
    layer.bias = nn.Parameter(bias + shift)


def fold_batch_norm(layer: Union[nn.Conv1d, nn.Linear], bn: nn.modules.batchnorm._BatchNorm
                    ) -> nn.Identity:
    """Folds :obj:`bn`, which follows :obj:`layer`, into it; returns the
    :class:`~torch.nn.Identity` that takes the batch norm's place."""
    scale, shift = batch_norm_affine(bn)
    scale_rows(layer, scale, shift)
    return nn.Identity()
