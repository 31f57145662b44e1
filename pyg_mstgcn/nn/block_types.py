"""The block types of MST-GCN: for each name, the factories of its spatial and temporal layer.

Every factory is called with keyword arguments only and passes keyword arguments only to its
layer, so that no argument can land in the wrong place when a signature changes:
``spatial(in_channels, out_channels, partition, residual, options)`` and
``temporal(channels, stride, residual, options)``, :obj:`options` being the block's
:class:`~pyg_mstgcn.nn.BlockOptions`.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Dict, NamedTuple

from torch import Tensor, nn

from pyg_mstgcn.nn.multiscale import MultiScaleGraphLayer, MultiScaleTemporalLayer
from pyg_mstgcn.nn.spatial_layers import (BottleneckGraphLayer, PlainGraphLayer,
                                          SeparableGraphLayer)
from pyg_mstgcn.nn.temporal_layers import (BottleneckTemporalLayer, PlainTemporalLayer,
                                           SeparableTemporalLayer)

if TYPE_CHECKING:  # options.py validates block_type against this table
    from pyg_mstgcn.nn.options import BlockOptions


def _conv(options: BlockOptions) -> Dict[str, Any]:
    """The block options every :class:`~pyg_mstgcn.nn.SpatialGraphConv` takes."""
    return dict(adjacency=options.adjacency, backend=options.backend)


def _plain_spatial(*, in_channels: int, out_channels: int, partition: Tensor, residual: bool,
                   options: BlockOptions) -> nn.Module:
    return PlainGraphLayer(in_channels=in_channels, out_channels=out_channels,
                           layout=partition, residual=residual, act=options.act,
                           **_conv(options))


def _plain_temporal(*, channels: int, stride: int, residual: bool,
                    options: BlockOptions) -> nn.Module:
    return PlainTemporalLayer(channels=channels, kernel_size=options.kernel_size,
                              stride=stride, residual=residual, act=options.act)


def _bottleneck_spatial(*, in_channels: int, out_channels: int, partition: Tensor,
                        residual: bool, options: BlockOptions, multiscale: bool) -> nn.Module:
    return BottleneckGraphLayer(in_channels=in_channels, out_channels=out_channels,
                                layout=partition,
                                scales=options.s_scale if multiscale else 1,
                                reduct_ratio=options.reduct_ratio, residual=residual,
                                act=options.act, **_conv(options))


def _bottleneck_temporal(*, channels: int, stride: int, residual: bool, options: BlockOptions,
                         multiscale: bool) -> nn.Module:
    return BottleneckTemporalLayer(channels=channels,
                                   scales=options.t_scale if multiscale else 1,
                                   kernel_size=options.kernel_size, stride=stride,
                                   reduct_ratio=options.reduct_ratio, residual=residual,
                                   act=options.act)


def _separable_spatial(*, in_channels: int, out_channels: int, partition: Tensor,
                       residual: bool, options: BlockOptions) -> nn.Module:
    return SeparableGraphLayer(in_channels=in_channels, out_channels=out_channels,
                               layout=partition, expand_ratio=options.expand_ratio,
                               residual=residual, act=options.act, **_conv(options))


def _separable_temporal(*, channels: int, stride: int, residual: bool,
                        options: BlockOptions) -> nn.Module:
    return SeparableTemporalLayer(channels=channels, kernel_size=options.kernel_size,
                                  stride=stride, expand_ratio=options.expand_ratio,
                                  residual=residual, act=options.act)


def _multiscale_spatial(*, in_channels: int, out_channels: int, partition: Tensor,
                        residual: bool, options: BlockOptions) -> nn.Module:
    return MultiScaleGraphLayer(in_channels=in_channels, out_channels=out_channels,
                                layout=partition, scales=options.s_scale,
                                layer_type=options.layer_type,
                                expand_ratio=options.expand_ratio, residual=residual,
                                act=options.act, **_conv(options))


def _multiscale_temporal(*, channels: int, stride: int, residual: bool,
                         options: BlockOptions) -> nn.Module:
    return MultiScaleTemporalLayer(channels=channels, scales=options.t_scale,
                                   kernel_size=options.kernel_size, stride=stride,
                                   layer_type=options.layer_type,
                                   expand_ratio=options.expand_ratio, residual=residual,
                                   act=options.act)


class BlockType(NamedTuple):
    """The layers of a block type: the factories of its :attr:`spatial` and :attr:`temporal`
    layer."""
    spatial: Callable[..., nn.Module]
    temporal: Callable[..., nn.Module]


#: ``block_type`` -> its spatial and temporal layer: ``'basic'`` plain, ``'bottle'``
#: bottleneck, ``'sep'`` depthwise-separable, ``'ms'`` MS-GC and MT-GC (branches by
#: ``layer_type``), ``'ms_bottle'`` multi-scale bottleneck.
BLOCK_TYPES: Dict[str, BlockType] = {
    'basic': BlockType(spatial=_plain_spatial, temporal=_plain_temporal),
    'bottle': BlockType(spatial=partial(_bottleneck_spatial, multiscale=False),
                        temporal=partial(_bottleneck_temporal, multiscale=False)),
    'sep': BlockType(spatial=_separable_spatial, temporal=_separable_temporal),
    'ms': BlockType(spatial=_multiscale_spatial, temporal=_multiscale_temporal),
    'ms_bottle': BlockType(spatial=partial(_bottleneck_spatial, multiscale=True),
                           temporal=partial(_bottleneck_temporal, multiscale=True)),
}
