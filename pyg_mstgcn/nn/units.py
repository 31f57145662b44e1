"""Small building blocks shared by the layers: convolution + batch norm, residual branches,
and the hierarchical channel split of the multi-scale layers.

All layers work on node features ``[num_nodes, C, T]``: a 1-D convolution over the time axis
of every node is the original's ``(k, 1)`` convolution over ``(frames, joints)``, and a
:class:`~torch.nn.BatchNorm1d` over ``[num_nodes, C, T]`` pools the same statistics as the
original's 2-D batch norm over ``(samples, frames, joints)``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor, nn

from pyg_mstgcn.nn.fusion import fold_batch_norm


class Pointwise(nn.Conv1d):
    """A 1x1 convolution over ``[N, C, T]``, run as a 2-D convolution of ``[N, C, T, 1]``. A
    stride takes every :obj:`stride`-th frame first: on the CPU the strided kernels cost
    twice as much as the slice and the convolution of what remains."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1, stride=stride, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride[0] > 1:
            x = x[..., ::self.stride[0]]
        out = nn.functional.conv2d(x.unsqueeze(-1), self.weight.unsqueeze(-1), self.bias)
        return out.squeeze(-1)


def temporal_conv(in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                  groups: int = 1, bias: bool = True) -> nn.Conv1d:
    """A convolution along the time axis with 'same' padding (a :class:`Pointwise` one for
    kernel 1)."""
    if kernel_size == 1 and groups == 1:
        return Pointwise(in_channels, out_channels, bias, stride)
    return nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=(kernel_size - 1) // 2, groups=groups, bias=bias)


class ConvBN(nn.Sequential):
    """A temporal convolution (kernel 1 by default) followed by batch norm."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, groups: int = 1, bias: bool = True) -> None:
        super().__init__(
            temporal_conv(in_channels, out_channels, kernel_size, stride, groups, bias),
            nn.BatchNorm1d(out_channels),
        )

    def fuse_for_inference(self) -> None:
        """Folds the batch norm into the convolution (for inference: see
        :mod:`~pyg_mstgcn.nn.fusion`)."""
        if isinstance(self[1], nn.BatchNorm1d):
            self[1] = fold_batch_norm(self[0], self[1])


class Zero(nn.Module):
    """The missing residual branch: contributes nothing."""

    def forward(self, x: Tensor) -> float:
        return 0.0


def residual_branch(in_channels: int, out_channels: int, stride: int = 1,
             enabled: bool = True) -> nn.Module:
    """The residual branch of the original: none, identity, or a strided 1x1 ConvBN."""
    if not enabled:
        return Zero()
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return ConvBN(in_channels, out_channels, 1, stride)


def hierarchical_split(x: Tensor, branches: Sequence[Callable[..., Tensor]], carry: bool,
                       post: Optional[Callable[[Tensor], Tensor]] = None,
                       **inputs: Any) -> Tensor:
    r"""The multi-scale scheme of MS-GC and MT-GC.

    The channels are split into :math:`s` equal groups :math:`\mathbf{x}_1, \dots,
    \mathbf{x}_s`; :math:`\mathbf{y}_1 = f_1(\mathbf{x}_1)` and, with :obj:`carry`,
    :math:`\mathbf{y}_i = f_i(\mathbf{x}_i + \mathbf{y}_{i-1})`, else
    :math:`\mathbf{y}_i = f_i(\mathbf{x}_i)`. :obj:`post` (an activation) is applied to each
    :math:`\mathbf{y}_i` before it is carried over. :obj:`inputs` (the graph of spatial
    branches: ``edge_index``, ``edge_template``) are passed to every branch. Returns the
    concatenated outputs.
    """
    groups = x.chunk(len(branches), dim=1)
    outputs = []
    previous: Optional[Tensor] = None
    for group, branch in zip(groups, branches):
        y = branch(group if previous is None or not carry else group + previous, **inputs)
        if post is not None:
            y = post(y)
        outputs.append(y)
        previous = y
    return torch.cat(outputs, dim=1)


def check_divisible(channels: int, parts: int, what: str, where: str) -> None:
    """Raises a clear error unless :obj:`channels` splits into :obj:`parts` equal groups."""
    if parts < 1 or channels % parts != 0:
        raise ValueError(f"{where}: {channels} channels cannot be split into {parts} equal "
                         f"{what}; choose a {what} count that divides {channels}")
