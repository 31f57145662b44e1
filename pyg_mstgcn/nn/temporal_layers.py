"""Temporal layers of MST-GCN: plain, bottleneck and separable (the multi-scale MT-GC is in
:mod:`~pyg_mstgcn.nn.multiscale`).

Every layer maps node features ``[num_nodes, C, T]`` to ``[num_nodes, C, T / stride]`` with
``forward(x)``: temporal convolutions run along each node's own time axis, with kernel
:obj:`kernel_size` and padding ``(kernel_size - 1) / 2``. The residual branch is the identity
for stride 1 and a strided 1x1 convolution with batch norm otherwise.
"""
from __future__ import annotations

from torch import Tensor, nn

from pyg_mstgcn.nn.activations import activation
from pyg_mstgcn.nn.fusion import fold_batch_norm
from pyg_mstgcn.nn.spatial_conv import check_node_features
from pyg_mstgcn.nn.units import (ConvBN, check_divisible, hierarchical_split, residual_branch,
                                 temporal_conv)


class PlainTemporalLayer(nn.Module):
    r"""The plain temporal layer: :math:`\sigma(\mathrm{BN}(\mathrm{TC}(\mathbf{x})) +
    \mathrm{res}(\mathbf{x}))`.

    Args:
        channels (int): Input and output channels.
        kernel_size (int, optional): Temporal kernel size. (default: :obj:`9`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
    """

    def __init__(self, channels: int, kernel_size: int = 9, stride: int = 1,
                 residual: bool = True, act: str = 'relu') -> None:
        super().__init__()
        self.channels = channels
        self.conv = temporal_conv(in_channels=channels, out_channels=channels,
                                  kernel_size=kernel_size, stride=stride)
        self.bn = nn.BatchNorm1d(channels)
        self.residual = residual_branch(channels, channels, stride, residual)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        return self.act(self.bn(self.conv(x)) + self.residual(x))

    def fuse_for_inference(self) -> None:
        """Folds the batch norm into the convolution (see :mod:`~pyg_mstgcn.nn.fusion`)."""
        if isinstance(self.bn, nn.BatchNorm1d):
            self.bn = fold_batch_norm(self.conv, self.bn)


class SeparableTemporalLayer(nn.Module):
    r"""The depthwise-separable temporal layer: optional expansion (1x1 ConvBN and
    activation), depthwise temporal ConvBN and activation, pointwise ConvBN, plus the residual;
    no activation at the end.

    Args:
        channels (int): Input and output channels.
        kernel_size (int, optional): Temporal kernel size. (default: :obj:`9`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        expand_ratio (int, optional): Widening of the expansion; 0 for none.
            (default: :obj:`0`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
    """

    def __init__(self, channels: int, kernel_size: int = 9, stride: int = 1,
                 expand_ratio: int = 0, residual: bool = True, act: str = 'relu') -> None:
        super().__init__()
        self.channels = channels
        inner = channels * expand_ratio if expand_ratio > 0 else channels
        self.expand = ConvBN(channels, inner) if expand_ratio > 0 else None
        self.depthwise = ConvBN(inner, inner, kernel_size, stride, groups=inner)
        self.point = ConvBN(inner, channels)
        self.residual = residual_branch(channels, channels, stride, residual)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        res = self.residual(x)
        if self.expand is not None:
            x = self.act(self.expand(x))
        return self.point(self.act(self.depthwise(x))) + res


class BottleneckTemporalLayer(nn.Module):
    r"""The bottleneck temporal layer, single- or multi-scale: a 1x1 reduction to
    :math:`C/r` channels and activation, temporal ConvBN(s) with activation (the hierarchical
    split of MT-GC when :obj:`scales` > 1), and a 1x1 expansion added to the residual before
    the final activation.

    Args:
        channels (int): Input and output channels.
        scales (int, optional): Number of scales. (default: :obj:`1`)
        kernel_size (int, optional): Temporal kernel size. (default: :obj:`9`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        reduct_ratio (int, optional): Reduction ratio :math:`r`. (default: :obj:`2`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
    """

    def __init__(self, channels: int, scales: int = 1, kernel_size: int = 9, stride: int = 1,
                 reduct_ratio: int = 2, residual: bool = True, act: str = 'relu') -> None:
        super().__init__()
        inner = channels // reduct_ratio
        check_divisible(inner, scales, 'scales', self.__class__.__name__)
        self.channels = channels
        self.carry = stride == 1
        self.reduce = ConvBN(channels, inner)
        self.scales = nn.ModuleList(
            ConvBN(inner // scales, inner // scales, kernel_size, stride)
            for _ in range(scales))
        self.expand = ConvBN(inner, channels)
        self.residual = residual_branch(channels, channels, stride, residual)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        res = self.residual(x)
        x = self.act(self.reduce(x))
        x = hierarchical_split(x, self.scales, carry=self.carry, post=self.act)
        return self.act(self.expand(x) + res)
