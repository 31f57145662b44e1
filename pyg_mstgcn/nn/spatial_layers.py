"""Spatial layers of MST-GCN: plain, bottleneck and separable (the multi-scale MS-GC is in
:mod:`~pyg_mstgcn.nn.multiscale`).

Every layer maps node features ``[num_nodes, C_in, T]`` to ``[num_nodes, C_out, T]`` with
``forward(x, edge_index, edge_template=None)``; the graph arguments go to the
:class:`~pyg_mstgcn.nn.SpatialGraphConv` inside. ``**conv_kwargs`` (``adjacency``,
``backend``, ...) are passed to every such convolution.
"""
from __future__ import annotations

from typing import Optional, Union

from torch import Tensor, nn
from torch_geometric.typing import Adj

from pyg_mstgcn.graph import SkeletonLayout
from pyg_mstgcn.nn.activations import activation
from pyg_mstgcn.nn.spatial_conv import SpatialGraphConv, check_node_features, partition_of
from pyg_mstgcn.nn.units import ConvBN, check_divisible, hierarchical_split, residual_branch

Layout = Union[str, SkeletonLayout, Tensor]


def _fold_into_graph_conv(conv: SpatialGraphConv, bn: nn.Module) -> nn.Module:
    """Folds :obj:`bn` (unless already folded) into :obj:`conv`; returns what takes its
    place."""
    if isinstance(bn, nn.BatchNorm1d):
        conv.fuse_for_inference(bn)
    return nn.Identity()


class GraphConvBN(nn.Module):
    """A :class:`SpatialGraphConv` followed by batch norm."""

    def __init__(self, in_channels: int, out_channels: int, layout: Layout,
                 **conv_kwargs) -> None:
        super().__init__()
        self.conv = SpatialGraphConv(in_channels, out_channels, layout, **conv_kwargs)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        return self.bn(self.conv(x, edge_index, edge_template))

    def fuse_for_inference(self) -> None:
        """Folds the batch norm into the convolution (see
        :meth:`SpatialGraphConv.fuse_for_inference`)."""
        self.bn = _fold_into_graph_conv(self.conv, self.bn)


class PlainGraphLayer(nn.Module):
    r"""The plain spatial layer: :math:`\sigma(\mathrm{BN}(\mathrm{GC}(\mathbf{x})) +
    \mathrm{res}(\mathbf{x}))`.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        layout (str or SkeletonLayout or torch.Tensor): Skeleton layout or partition.
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
        **conv_kwargs (optional): Arguments of :class:`SpatialGraphConv`.
    """

    def __init__(self, in_channels: int, out_channels: int, layout: Layout,
                 residual: bool = True, act: str = 'relu', **conv_kwargs) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.conv = SpatialGraphConv(in_channels, out_channels, layout, **conv_kwargs)
        self.bn = nn.BatchNorm1d(out_channels)
        self.residual = residual_branch(in_channels, out_channels, enabled=residual)
        self.act = activation(act)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        check_node_features(x, self.in_channels, self.__class__.__name__)
        return self.act(self.bn(self.conv(x, edge_index, edge_template)) + self.residual(x))

    def fuse_for_inference(self) -> None:
        """Folds the batch norm into the convolution (see
        :meth:`SpatialGraphConv.fuse_for_inference`)."""
        self.bn = _fold_into_graph_conv(self.conv, self.bn)


class SeparableGraphLayer(nn.Module):
    r"""The depthwise-separable spatial layer.

    .. math::
        \mathbf{x}^{\prime} = \mathrm{BN}(\mathbf{W}_p\, \sigma(\mathrm{BN}(
        \mathrm{GC}_{dw}(\mathbf{h})))) + \mathrm{res}(\mathbf{x})

    where :math:`\mathbf{h}` is :math:`\mathbf{x}`, or :math:`\sigma(\mathrm{BN}(\mathbf{W}_e
    \mathbf{x}))` widened :obj:`expand_ratio` times, and :math:`\mathrm{GC}_{dw}` is a
    depthwise :class:`SpatialGraphConv`. No activation at the end.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        layout (str or SkeletonLayout or torch.Tensor): Skeleton layout or partition.
        expand_ratio (int, optional): Widening of the optional expansion; 0 for none.
            (default: :obj:`0`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
        **conv_kwargs (optional): Arguments of :class:`SpatialGraphConv`.
    """

    def __init__(self, in_channels: int, out_channels: int, layout: Layout,
                 expand_ratio: int = 0, residual: bool = True, act: str = 'relu',
                 **conv_kwargs) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        inner = in_channels * expand_ratio if expand_ratio > 0 else in_channels
        self.expand = ConvBN(in_channels, inner) if expand_ratio > 0 else None
        self.conv = SpatialGraphConv(inner, inner, layout, depthwise=True, **conv_kwargs)
        self.bn = nn.BatchNorm1d(inner)
        self.point = ConvBN(inner, out_channels)
        self.residual = residual_branch(in_channels, out_channels, enabled=residual)
        self.act = activation(act)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        check_node_features(x, self.in_channels, self.__class__.__name__)
        res = self.residual(x)
        if self.expand is not None:
            x = self.act(self.expand(x))
        x = self.act(self.bn(self.conv(x, edge_index, edge_template)))
        return self.point(x) + res

    def fuse_for_inference(self) -> None:
        """Folds the batch norm into the depthwise convolution (see
        :meth:`SpatialGraphConv.fuse_for_inference`)."""
        self.bn = _fold_into_graph_conv(self.conv, self.bn)


class BottleneckGraphLayer(nn.Module):
    r"""The bottleneck spatial layer, single- or multi-scale.

    A 1x1 reduction to ``inner`` channels (:math:`C_{in}/r`, or :math:`2C_{in}/r` when the
    width changes), graph convolution(s) at that width, and a 1x1 expansion:

    .. math::
        \mathbf{x}^{\prime} = \sigma(\mathrm{BN}(\mathbf{W}_e\, \sigma(g(\sigma(\mathrm{BN}(
        \mathbf{W}_r \mathbf{x}))))) + \mathrm{res}(\mathbf{x}))

    With :obj:`scales` :math:`s > 1`, :math:`g` is the hierarchical split of MS-GC, each
    group's output activated before it is carried over (carried only when the width is
    unchanged); with :math:`s = 1` it is one graph convolution with batch norm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        layout (str or SkeletonLayout or torch.Tensor): Skeleton layout or partition.
        scales (int, optional): Number of scales. (default: :obj:`1`)
        reduct_ratio (int, optional): Reduction ratio :math:`r`. (default: :obj:`2`)
        residual (bool, optional): Add the residual branch. (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
        **conv_kwargs (optional): Arguments of :class:`SpatialGraphConv`.
    """

    def __init__(self, in_channels: int, out_channels: int, layout: Layout, scales: int = 1,
                 reduct_ratio: int = 2, residual: bool = True, act: str = 'relu',
                 **conv_kwargs) -> None:
        super().__init__()
        name = self.__class__.__name__
        self.in_channels, self.out_channels = in_channels, out_channels
        self.carry = in_channels == out_channels
        inner = (in_channels if self.carry else 2 * in_channels) // reduct_ratio
        check_divisible(inner, scales, 'scales', name)
        A = partition_of(layout)
        self.reduce = ConvBN(in_channels, inner)
        self.scales = nn.ModuleList(
            GraphConvBN(inner // scales, inner // scales, A, **conv_kwargs)
            for _ in range(scales))
        self.expand = ConvBN(inner, out_channels)
        self.residual = residual_branch(in_channels, out_channels, enabled=residual)
        self.act = activation(act)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        check_node_features(x, self.in_channels, self.__class__.__name__)
        res = self.residual(x)
        x = self.act(self.reduce(x))
        x = hierarchical_split(x, self.scales, carry=self.carry, post=self.act,
                               edge_index=edge_index, edge_template=edge_template)
        return self.act(self.expand(x) + res)
