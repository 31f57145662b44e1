"""Temporal layers of MST-GCN: plain, multi-scale (MT-GC), bottleneck and separable.

Every layer maps node features ``[num_nodes, C, T]`` to ``[num_nodes, C, T / stride]`` with
``forward(x)``: temporal convolutions run along each node's own time axis, with kernel
:obj:`kernel_size` and padding ``(kernel_size - 1) / 2``. The residual branch is the identity
for stride 1 and a strided 1x1 convolution with batch norm otherwise.
"""
from __future__ import annotations

from torch import Tensor, nn

from pyg_mstgcn.nn.activations import activation
from pyg_mstgcn.nn.spatial_conv import check_node_features
from pyg_mstgcn.nn.spatial_layers import check_layer_type
from pyg_mstgcn.nn.units import ConvBN, check_divisible, hierarchical_split, residual_branch


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
        self.conv = nn.Conv1d(channels, channels, kernel_size, stride=stride,
                              padding=(kernel_size - 1) // 2)
        self.bn = nn.BatchNorm1d(channels)
        self.residual = residual_branch(channels, channels, stride, residual)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        return self.act(self.bn(self.conv(x)) + self.residual(x))


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


class MultiScaleTemporalLayer(nn.Module):
    r"""MT-GC, the multi-scale temporal layer.

    The input is split into :math:`t` channel groups, each through its own temporal
    convolution; group :math:`i` adds the output of group :math:`i-1` first when the stride
    is 1:

    .. math::
        \mathbf{y}_i = f_i(\mathbf{x}_i + \mathbf{y}_{i-1}), \qquad
        \mathbf{x}^{\prime} = \sigma(\mathbf{y}_1 \Vert \cdots \Vert \mathbf{y}_t +
        \mathrm{res}(\mathbf{x}))

    Each :math:`f_i` is a temporal ConvBN (:obj:`layer_type='basic'`) or a
    :class:`SeparableTemporalLayer` without residual (:obj:`layer_type='sep'`).

    Args:
        channels (int): Input and output channels, divisible by :obj:`scales`.
        scales (int, optional): Number of scales :math:`t`. (default: :obj:`4`)
        kernel_size (int, optional): Temporal kernel size. (default: :obj:`9`)
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        layer_type (str, optional): ``'basic'`` or ``'sep'``. (default: :obj:`'basic'`)
        expand_ratio (int, optional): Expansion of separable branches. (default: :obj:`0`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
    """

    def __init__(self, channels: int, scales: int = 4, kernel_size: int = 9, stride: int = 1,
                 layer_type: str = 'basic', expand_ratio: int = 0, residual: bool = True,
                 act: str = 'relu') -> None:
        super().__init__()
        name = self.__class__.__name__
        check_divisible(channels, scales, 'scales', name)
        check_layer_type(layer_type, name)
        self.channels = channels
        self.carry = stride == 1
        width = channels // scales
        if layer_type == 'sep':
            self.scales = nn.ModuleList(
                SeparableTemporalLayer(width, kernel_size, stride, expand_ratio,
                                       residual=False, act=act) for _ in range(scales))
        else:
            self.scales = nn.ModuleList(
                ConvBN(width, width, kernel_size, stride) for _ in range(scales))
        self.residual = residual_branch(channels, channels, stride, residual)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        out = hierarchical_split(x, list(self.scales), carry=self.carry)
        return self.act(out + self.residual(x))


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
        x = hierarchical_split(x, list(self.scales), carry=self.carry, post=self.act)
        return self.act(self.expand(x) + res)
