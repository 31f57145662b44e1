"""The multi-scale layers of MST-GCN, MS-GC (spatial) and MT-GC (temporal), and the table of
their branch types.

Both split the channels into groups, one branch per group, a branch first adding the previous
branch's output when the shapes allow (:func:`~pyg_mstgcn.nn.units.hierarchical_split`). What
a branch is comes from :data:`LAYER_TYPES`, one entry per ``layer_type`` for both layers.
"""
from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional

from torch import Tensor, nn
from torch_geometric.typing import Adj

from pyg_mstgcn.nn.activations import activation
from pyg_mstgcn.nn.spatial_conv import check_node_features, partition_of
from pyg_mstgcn.nn.spatial_layers import GraphConvBN, Layout, SeparableGraphLayer
from pyg_mstgcn.nn.temporal_layers import SeparableTemporalLayer
from pyg_mstgcn.nn.units import ConvBN, check_divisible, hierarchical_split, residual_branch


def _graph_conv_branch(*, in_channels: int, out_channels: int, layout: Layout,
                       expand_ratio: int, act: str, **conv_kwargs) -> nn.Module:
    # the original's plain branch has no expansion and no activation of its own
    return GraphConvBN(in_channels=in_channels, out_channels=out_channels, layout=layout,
                       **conv_kwargs)


def _separable_graph_branch(*, in_channels: int, out_channels: int, layout: Layout,
                            expand_ratio: int, act: str, **conv_kwargs) -> nn.Module:
    return SeparableGraphLayer(in_channels=in_channels, out_channels=out_channels,
                               layout=layout, expand_ratio=expand_ratio, residual=False,
                               act=act, **conv_kwargs)


def _temporal_conv_branch(*, channels: int, kernel_size: int, stride: int, expand_ratio: int,
                          act: str) -> nn.Module:
    return ConvBN(in_channels=channels, out_channels=channels, kernel_size=kernel_size,
                  stride=stride)


def _separable_temporal_branch(*, channels: int, kernel_size: int, stride: int,
                               expand_ratio: int, act: str) -> nn.Module:
    return SeparableTemporalLayer(channels=channels, kernel_size=kernel_size, stride=stride,
                                  expand_ratio=expand_ratio, residual=False, act=act)


class LayerType(NamedTuple):
    """The branch of each scale: :attr:`spatial` for MS-GC, :attr:`temporal` for MT-GC. Both
    are called with keyword arguments only: ``spatial(in_channels, out_channels, layout,
    expand_ratio, act, **conv_kwargs)`` and ``temporal(channels, kernel_size, stride,
    expand_ratio, act)``."""
    spatial: Callable[..., nn.Module]
    temporal: Callable[..., nn.Module]


#: ``layer_type`` -> the branches of the multi-scale layers: ``'basic'`` a graph or temporal
#: convolution with batch norm, ``'sep'`` a separable layer without residual.
LAYER_TYPES: Dict[str, LayerType] = {
    'basic': LayerType(spatial=_graph_conv_branch, temporal=_temporal_conv_branch),
    'sep': LayerType(spatial=_separable_graph_branch, temporal=_separable_temporal_branch),
}


def layer_type_of(layer_type: str, where: str) -> LayerType:
    """The entry of :data:`LAYER_TYPES` called :obj:`layer_type`, or an error naming the valid
    ones."""
    if layer_type not in LAYER_TYPES:
        raise ValueError(f"{where}: unknown layer_type '{layer_type}'; valid types: "
                         f"{', '.join(LAYER_TYPES)}")
    return LAYER_TYPES[layer_type]


class MultiScaleGraphLayer(nn.Module):
    r"""MS-GC, the multi-scale spatial layer.

    The batch-normalised input is split into :math:`s` channel groups; group :math:`i` goes
    through its own graph convolution (with its own learnable adjacency) after adding the
    output of group :math:`i-1` (only when the width is unchanged):

    .. math::
        \mathbf{y}_i = f_i(\mathbf{x}_i + \mathbf{y}_{i-1}), \qquad
        \mathbf{x}^{\prime} = \sigma(\mathbf{y}_1 \Vert \cdots \Vert \mathbf{y}_s +
        \mathrm{res}(\mathbf{x}))

    Each :math:`f_i` is the spatial branch of :obj:`layer_type` in :data:`LAYER_TYPES`: a
    graph convolution with batch norm (``'basic'``) or a
    :class:`~pyg_mstgcn.nn.SeparableGraphLayer` without residual (``'sep'``).

    Args:
        in_channels (int): Input channels, divisible by :obj:`scales`.
        out_channels (int): Output channels, divisible by :obj:`scales`.
        layout (str or SkeletonLayout or torch.Tensor): Skeleton layout or partition.
        scales (int, optional): Number of scales :math:`s`. (default: :obj:`4`)
        layer_type (str, optional): ``'basic'`` or ``'sep'``. (default: :obj:`'basic'`)
        expand_ratio (int, optional): Expansion of separable branches. (default: :obj:`0`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
        **conv_kwargs (optional): Arguments of :class:`~pyg_mstgcn.nn.SpatialGraphConv`.
    """

    def __init__(self, in_channels: int, out_channels: int, layout: Layout, scales: int = 4,
                 layer_type: str = 'basic', expand_ratio: int = 0, residual: bool = True,
                 act: str = 'relu', **conv_kwargs) -> None:
        super().__init__()
        name = self.__class__.__name__
        check_divisible(in_channels, scales, 'scales', name)
        check_divisible(out_channels, scales, 'scales', name)
        branch = layer_type_of(layer_type, name).spatial
        self.in_channels, self.out_channels = in_channels, out_channels
        self.carry = in_channels == out_channels
        A = partition_of(layout)
        self.bn_in = nn.BatchNorm1d(in_channels)
        self.scales = nn.ModuleList(
            branch(in_channels=in_channels // scales, out_channels=out_channels // scales,
                   layout=A, expand_ratio=expand_ratio, act=act, **conv_kwargs)
            for _ in range(scales))
        self.residual = residual_branch(in_channels, out_channels, enabled=residual)
        self.act = activation(act)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        check_node_features(x, self.in_channels, self.__class__.__name__)
        res = self.residual(x)
        out = hierarchical_split(self.bn_in(x), self.scales, carry=self.carry,
                                 edge_index=edge_index, edge_template=edge_template)
        return self.act(out.add_(res))   # out: the concatenation, a fresh tensor


class MultiScaleTemporalLayer(nn.Module):
    r"""MT-GC, the multi-scale temporal layer.

    The input is split into :math:`t` channel groups, each through its own temporal
    convolution; group :math:`i` adds the output of group :math:`i-1` first when the stride
    is 1:

    .. math::
        \mathbf{y}_i = f_i(\mathbf{x}_i + \mathbf{y}_{i-1}), \qquad
        \mathbf{x}^{\prime} = \sigma(\mathbf{y}_1 \Vert \cdots \Vert \mathbf{y}_t +
        \mathrm{res}(\mathbf{x}))

    Each :math:`f_i` is the temporal branch of :obj:`layer_type` in :data:`LAYER_TYPES`: a
    temporal ConvBN (``'basic'``) or a :class:`~pyg_mstgcn.nn.SeparableTemporalLayer` without
    residual (``'sep'``).

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
        branch = layer_type_of(layer_type, name).temporal
        self.channels = channels
        self.carry = stride == 1
        self.scales = nn.ModuleList(
            branch(channels=channels // scales, kernel_size=kernel_size, stride=stride,
                   expand_ratio=expand_ratio, act=act)
            for _ in range(scales))
        self.residual = residual_branch(channels, channels, stride, residual)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        out = hierarchical_split(x, self.scales, carry=self.carry)
        return self.act(out.add_(self.residual(x)))   # out: the concatenation, a fresh tensor
