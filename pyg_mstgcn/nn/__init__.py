"""MST-GCN layers for PyTorch Geometric.

Node features carry a time axis, ``[num_nodes, C, T]``; spatial layers take
``(x, edge_index, edge_template=None)``, temporal and attention layers take ``x``.
"""
from pyg_mstgcn.nn.activations import ACTIVATIONS, HardSwish, Swish, activation
from pyg_mstgcn.nn.adjacency import ADJACENCY_MODES, LearnableAdjacency
from pyg_mstgcn.nn.attention import (ATTENTIONS, AttentionLayer, ChannelAttention,
                                     FrameAttention, JointAttention, PartAttention,
                                     STJointAttention)
from pyg_mstgcn.nn.block import BLOCK_TYPES, MSTGCNBlock
from pyg_mstgcn.nn.spatial_conv import BACKENDS, SpatialGraphConv
from pyg_mstgcn.nn.spatial_layers import (LAYER_TYPES, BottleneckGraphLayer, GraphConvBN,
                                          MultiScaleGraphLayer, PlainGraphLayer,
                                          SeparableGraphLayer)
from pyg_mstgcn.nn.sparse import subset_spmm
from pyg_mstgcn.nn.temporal_layers import (BottleneckTemporalLayer, MultiScaleTemporalLayer,
                                           PlainTemporalLayer, SeparableTemporalLayer)

__all__ = [
    'SpatialGraphConv', 'LearnableAdjacency', 'subset_spmm',
    'GraphConvBN', 'PlainGraphLayer', 'MultiScaleGraphLayer', 'BottleneckGraphLayer',
    'SeparableGraphLayer',
    'PlainTemporalLayer', 'MultiScaleTemporalLayer', 'BottleneckTemporalLayer',
    'SeparableTemporalLayer',
    'AttentionLayer', 'STJointAttention', 'ChannelAttention', 'FrameAttention',
    'JointAttention', 'PartAttention',
    'MSTGCNBlock', 'activation', 'HardSwish', 'Swish',
    'ACTIVATIONS', 'ADJACENCY_MODES', 'ATTENTIONS', 'BACKENDS', 'BLOCK_TYPES', 'LAYER_TYPES',
]
