"""MST-GCN layers for PyTorch Geometric.

Node features carry a time axis, ``[num_nodes, C, T]``; spatial layers take
``(x, edge_index, edge_template=None)``, temporal and attention layers take ``x``. A block's
options are one :class:`BlockOptions`; the names they accept are those of the tables
:data:`BLOCK_TYPES`, :data:`LAYER_TYPES`, :data:`ATTENTIONS`, :data:`ACTIVATIONS`,
:data:`ADJACENCY_MODES` and :data:`BACKENDS`.

The ``'dense'`` backend ignores ``edge_index``. The ``'sparse'`` backend passes messages only
along it, so it must hold, within each skeleton instance, every node's self-loop and the
layout's bones both ways (``adjacency='skeleton'``) or every joint pair (``adjacency='full'``);
see :class:`SpatialGraphConv`.
"""
from pyg_mstgcn.nn.activations import ACTIVATIONS, HardSwish, Swish, activation
from pyg_mstgcn.nn.adjacency import (ADJACENCY_MODES, AdjacencyMatrices, FrozenAdjacency,
                                     LearnableAdjacency)
from pyg_mstgcn.nn.attention import (ATTENTIONS, AttentionLayer, ChannelAttention,
                                     FrameAttention, JointAttention, PartAttention,
                                     STJointAttention, make_attention)
from pyg_mstgcn.nn.block import MSTGCNBlock
from pyg_mstgcn.nn.block_types import BLOCK_TYPES, BlockType
from pyg_mstgcn.nn.multiscale import (LAYER_TYPES, LayerType, MultiScaleGraphLayer,
                                      MultiScaleTemporalLayer)
from pyg_mstgcn.nn.options import BlockOptions
from pyg_mstgcn.nn.spatial_conv import BACKENDS, SpatialGraphConv
from pyg_mstgcn.nn.spatial_layers import (BottleneckGraphLayer, GraphConvBN, PlainGraphLayer,
                                          SeparableGraphLayer)
from pyg_mstgcn.nn.sparse import subset_spmm
from pyg_mstgcn.nn.temporal_layers import (BottleneckTemporalLayer, PlainTemporalLayer,
                                           SeparableTemporalLayer)

__all__ = [
    'SpatialGraphConv', 'LearnableAdjacency', 'FrozenAdjacency', 'AdjacencyMatrices',
    'subset_spmm',
    'GraphConvBN', 'PlainGraphLayer', 'MultiScaleGraphLayer', 'BottleneckGraphLayer',
    'SeparableGraphLayer',
    'PlainTemporalLayer', 'MultiScaleTemporalLayer', 'BottleneckTemporalLayer',
    'SeparableTemporalLayer',
    'AttentionLayer', 'STJointAttention', 'ChannelAttention', 'FrameAttention',
    'JointAttention', 'PartAttention', 'make_attention',
    'MSTGCNBlock', 'BlockOptions', 'BlockType', 'LayerType', 'activation', 'HardSwish',
    'Swish',
    'ACTIVATIONS', 'ADJACENCY_MODES', 'ATTENTIONS', 'BACKENDS', 'BLOCK_TYPES', 'LAYER_TYPES',
]
