"""The MST-GCN block: a spatial layer, a temporal layer and an optional attention layer,
built by block type from one table."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple, Union

from torch import Tensor, nn
from torch_geometric.typing import Adj

from pyg_mstgcn.graph import SkeletonLayout, get_layout
from pyg_mstgcn.nn.attention import AttentionLayer
from pyg_mstgcn.nn.spatial_conv import partition_of
from pyg_mstgcn.nn.spatial_layers import (BottleneckGraphLayer, MultiScaleGraphLayer,
                                          PlainGraphLayer, SeparableGraphLayer)
from pyg_mstgcn.nn.temporal_layers import (BottleneckTemporalLayer, MultiScaleTemporalLayer,
                                           PlainTemporalLayer, SeparableTemporalLayer)

LayerFactory = Callable[..., nn.Module]

# block type -> (spatial layer, temporal layer); each factory receives every block option
# and takes what its layer needs.
BLOCK_TYPES: Dict[str, Tuple[LayerFactory, LayerFactory]] = {
    'basic': (
        lambda c_in, c_out, A, o: PlainGraphLayer(c_in, c_out, A, o['residual'], o['act'],
                                                  **o['conv']),
        lambda c, o: PlainTemporalLayer(c, o['kernel_size'], o['stride'], o['residual'],
                                        o['act']),
    ),
    'bottle': (
        lambda c_in, c_out, A, o: BottleneckGraphLayer(c_in, c_out, A, 1, o['reduct_ratio'],
                                                       o['residual'], o['act'], **o['conv']),
        lambda c, o: BottleneckTemporalLayer(c, 1, o['kernel_size'], o['stride'],
                                             o['reduct_ratio'], o['residual'], o['act']),
    ),
    'sep': (
        lambda c_in, c_out, A, o: SeparableGraphLayer(c_in, c_out, A, o['expand_ratio'],
                                                      o['residual'], o['act'], **o['conv']),
        lambda c, o: SeparableTemporalLayer(c, o['kernel_size'], o['stride'],
                                            o['expand_ratio'], o['residual'], o['act']),
    ),
    'ms': (
        lambda c_in, c_out, A, o: MultiScaleGraphLayer(c_in, c_out, A, o['s_scale'],
                                                       o['layer_type'], o['expand_ratio'],
                                                       o['residual'], o['act'], **o['conv']),
        lambda c, o: MultiScaleTemporalLayer(c, o['t_scale'], o['kernel_size'], o['stride'],
                                             o['layer_type'], o['expand_ratio'],
                                             o['residual'], o['act']),
    ),
    'ms_bottle': (
        lambda c_in, c_out, A, o: BottleneckGraphLayer(c_in, c_out, A, o['s_scale'],
                                                       o['reduct_ratio'], o['residual'],
                                                       o['act'], **o['conv']),
        lambda c, o: BottleneckTemporalLayer(c, o['t_scale'], o['kernel_size'], o['stride'],
                                             o['reduct_ratio'], o['residual'], o['act']),
    ),
}


class MSTGCNBlock(nn.Module):
    r"""One block of MST-GCN: spatial layer, temporal layer, then optional attention.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        layout (str or SkeletonLayout or torch.Tensor): Skeleton layout, or a partition
            ``[K, V, V]`` (then part attention needs :obj:`parts`).
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        residual (bool, optional): Residual branches in both layers. (default: :obj:`True`)
        block_type (str, optional): ``'basic'``, ``'bottle'``, ``'sep'``, ``'ms'`` or
            ``'ms_bottle'``. (default: :obj:`'ms'`)
        layer_type (str, optional): Branches of the multi-scale layers, ``'basic'`` or
            ``'sep'``. (default: :obj:`'basic'`)
        attention (str, optional): ``'stcja'``, ``'stja'``, ``'ca'``, ``'fa'``, ``'ja'``,
            ``'pa'`` or :obj:`None`. (default: :obj:`None`)
        s_scale (int, optional): Scales of MS-GC. (default: :obj:`4`)
        t_scale (int, optional): Scales of MT-GC. (default: :obj:`4`)
        kernel_size (int, optional): Temporal kernel size. (default: :obj:`9`)
        reduct_ratio (int, optional): Bottleneck and attention reduction. (default: :obj:`2`)
        expand_ratio (int, optional): Expansion of separable layers. (default: :obj:`0`)
        act (str, optional): ``'relu'``, ``'hswish'`` or ``'swish'``. (default: :obj:`'relu'`)
        bias (bool, optional): Bias of the attention projections. (default: :obj:`True`)
        parts (sequence of sequences of int, optional): Body parts for ``'pa'``; defaults to
            the layout's.
        adjacency (str, optional): ``'full'`` or ``'skeleton'``. (default: :obj:`'full'`)
        backend (str, optional): ``'dense'`` or ``'sparse'``. (default: :obj:`'dense'`)
    """

    def __init__(self, in_channels: int, out_channels: int,
                 layout: Union[str, SkeletonLayout, Tensor], stride: int = 1,
                 residual: bool = True, block_type: str = 'ms', layer_type: str = 'basic',
                 attention: Optional[str] = None, s_scale: int = 4, t_scale: int = 4,
                 kernel_size: int = 9, reduct_ratio: int = 2, expand_ratio: int = 0,
                 act: str = 'relu', bias: bool = True,
                 parts: Optional[Sequence[Sequence[int]]] = None, adjacency: str = 'full',
                 backend: str = 'dense') -> None:
        super().__init__()
        if block_type not in BLOCK_TYPES:
            raise ValueError(f"unknown block_type '{block_type}'; valid types: "
                             f"{', '.join(BLOCK_TYPES)}")
        if parts is None and not isinstance(layout, Tensor):
            parts = get_layout(layout).parts
        A = partition_of(layout)
        options = dict(residual=residual, act=act, stride=stride, kernel_size=kernel_size,
                       reduct_ratio=reduct_ratio, expand_ratio=expand_ratio, s_scale=s_scale,
                       t_scale=t_scale, layer_type=layer_type,
                       conv=dict(adjacency=adjacency, backend=backend))
        make_spatial, make_temporal = BLOCK_TYPES[block_type]
        self.spatial = make_spatial(in_channels, out_channels, A, options)
        self.temporal = make_temporal(out_channels, options)
        self.attention = None if attention is None else AttentionLayer(
            out_channels, attention, A.size(-1), parts, reduct_ratio, bias, act)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        x = self.temporal(self.spatial(x, edge_index, edge_template))
        return x if self.attention is None else self.attention(x)
