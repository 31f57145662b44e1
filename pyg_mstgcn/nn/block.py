"""The MST-GCN block: a spatial layer, a temporal layer and an optional attention layer,
built by block type from one table (:data:`BLOCK_TYPES`) and one set of options
(:class:`BlockOptions`)."""
from __future__ import annotations

from typing import Any, Optional, Union

from torch import Tensor, nn
from torch_geometric.typing import Adj

from pyg_mstgcn.graph import SkeletonLayout, get_layout
from pyg_mstgcn.nn.attention import AttentionLayer
from pyg_mstgcn.nn.block_types import BLOCK_TYPES
from pyg_mstgcn.nn.options import BlockOptions
from pyg_mstgcn.nn.spatial_conv import partition_of


class MSTGCNBlock(nn.Module):
    r"""One block of MST-GCN: spatial layer, temporal layer, then optional attention.

    The spatial and temporal layers are those of ``block_type`` in :data:`BLOCK_TYPES`; the
    attention layer follows when ``attention`` is set. Every option is a field of
    :class:`BlockOptions`, documented there; give them as :obj:`options`, as keyword
    arguments, or both (keywords win):
    ``MSTGCNBlock(8, 16, 'ntu-rgb+d', stride=2, block_type='ms', attention='stcja')``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        layout (str or SkeletonLayout or torch.Tensor): Skeleton layout, or a partition
            ``[K, V, V]`` (then part attention needs ``parts``).
        stride (int, optional): Temporal stride. (default: :obj:`1`)
        residual (bool, optional): Residual branches in both layers. (default: :obj:`True`)
        options (BlockOptions, optional): The block's options; the defaults of
            :class:`BlockOptions` when :obj:`None`. (default: :obj:`None`)
        **kwargs (optional): Fields of :class:`BlockOptions` that override those of
            :obj:`options`; an unknown name is a :class:`ValueError` with a suggestion.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in}, T)`, edge indices
          :math:`(2, |\mathcal{E}|)` or a sparse adjacency (read by the sparse backend only),
          optional edge pair ids :math:`(|\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, F_{out}, \lceil T / \text{stride}
          \rceil)`
    """

    def __init__(self, in_channels: int, out_channels: int,
                 layout: Union[str, SkeletonLayout, Tensor], stride: int = 1,
                 residual: bool = True, options: Optional[BlockOptions] = None,
                 **kwargs: Any) -> None:
        super().__init__()
        if options is None:
            options = BlockOptions()
        elif not isinstance(options, BlockOptions):
            raise ValueError(f'options must be a BlockOptions (got {type(options).__name__}); '
                             f'give single options as keyword arguments')
        self.options = options = options.replace(**kwargs) if kwargs else options
        parts = options.parts
        if parts is None and not isinstance(layout, Tensor):
            parts = get_layout(layout).parts
        A = partition_of(layout)
        layers = BLOCK_TYPES[options.block_type]
        self.spatial = layers.spatial(in_channels=in_channels, out_channels=out_channels,
                                      partition=A, residual=residual, options=options)
        self.temporal = layers.temporal(channels=out_channels, stride=stride,
                                        residual=residual, options=options)
        self.attention = None if options.attention is None else AttentionLayer(
            channels=out_channels, kind=options.attention, num_joints=A.size(-1), parts=parts,
            reduct_ratio=options.reduct_ratio, bias=options.bias, act=options.act)

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        x = self.temporal(self.spatial(x, edge_index, edge_template))
        return x if self.attention is None else self.attention(x)
