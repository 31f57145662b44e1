"""The MST-GCN network on PyG skeleton batches."""
from __future__ import annotations

import copy
import dataclasses
import math
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric import EdgeIndex
from torch_geometric.data import Batch, Data
from torch_geometric.typing import Adj

from pyg_mstgcn.graph import (LAYOUTS, SkeletonLayout, full_edges, get_layout,
                              spatial_partition, support_edges)
from pyg_mstgcn.nn import (AdjacencyMatrices, BlockOptions, LearnableAdjacency, MSTGCNBlock,
                           SpatialGraphConv)
from pyg_mstgcn.checks import BOOL, POSITIVE_INT, check_names, check_value

BlockRow = Tuple[int, int, bool, int]
#: The network's own arguments; the block options (:class:`~pyg_mstgcn.nn.BlockOptions`)
#: follow them.
NETWORK_ARGUMENTS = ('num_classes', 'layout', 'in_channels', 'num_person', 'blocks')

#: The block rows ``[C_in, C_out, residual, temporal stride]`` of the original's NTU network.
DEFAULT_BLOCKS: Tuple[BlockRow, ...] = (
    (3, 112, False, 1),
    (112, 112, True, 1), (112, 112, True, 1), (112, 112, True, 1),
    (112, 224, True, 2), (224, 224, True, 1), (224, 224, True, 1),
    (224, 448, True, 2), (448, 448, True, 1), (448, 448, True, 1),
)


class MSTGCN(nn.Module):
    r"""The multi-scale spatial temporal graph convolutional network (Chen et al., AAAI 2021).

    Input features are normalised per (person, joint, channel) by ``data_bn``, then the blocks
    of :obj:`blocks` run on every skeleton instance (the first block is always the plain one
    without attention, as in the original), features are averaged over frames and joints,
    then over persons, and a linear layer gives the class scores.

    The block options are the fields of :class:`~pyg_mstgcn.nn.BlockOptions`, documented
    there and given as keyword arguments (``MSTGCN(60, attention='stcja',
    backend='sparse')``); every block but the first takes them all. The network keeps them as
    :attr:`options`. :meth:`config` returns every argument of the network, so that
    ``MSTGCN(**model.config())`` builds the same architecture. :meth:`adjacency_matrices`
    lists the adjacency of every spatial graph convolution, per block and scale: the fixed
    partition :math:`\mathbf{A}`, the learned offset :math:`\mathbf{B}` and their sum.

    Args:
        num_classes (int): Number of action classes.
        layout (str or SkeletonLayout, optional): Skeleton layout. (default: ``'ntu-rgb+d'``)
        in_channels (int, optional): Coordinates per joint. (default: :obj:`3`)
        num_person (int, optional): Persons per sequence :math:`M`. (default: :obj:`2`)
        blocks (sequence of rows, optional): Rows ``[C_in, C_out, residual, stride]``, each
            block taking the channels the previous one gives; the original's NTU network
            (:data:`DEFAULT_BLOCKS`: 112/224/448 channels, 10 blocks) by default, its first
            ``C_in`` set to :obj:`in_channels`.
        **options (optional): The block options, fields of
            :class:`~pyg_mstgcn.nn.BlockOptions` (their defaults build the original network);
            an unknown name is a :class:`ValueError` with a suggestion.

    Shapes:
        - **input:** a :class:`~torch_geometric.data.Batch` (or one
          :class:`~torch_geometric.data.Data`) in the representation of
          :mod:`pyg_mstgcn.data`: ``x`` of shape :math:`(N \cdot M \cdot V, C, T)`; or the
          dense tensor :math:`(N, C, T, V, M)` that the original network and mmaction2 take
          (the same logits: its nodes are those of :func:`~pyg_mstgcn.data.from_dense`)
        - **output:** logits :math:`(N, \text{num\_classes})`
    """

    def __init__(self, num_classes: int, layout: Union[str, SkeletonLayout] = 'ntu-rgb+d',
                 in_channels: int = 3, num_person: int = 2,
                 blocks: Optional[Sequence[Sequence]] = None, **options: Any) -> None:
        super().__init__()
        for name, value in (('num_classes', num_classes), ('in_channels', in_channels),
                            ('num_person', num_person)):
            check_value(name, value, POSITIVE_INT)
        check_names(options, NETWORK_ARGUMENTS + BlockOptions.names(), 'MSTGCN')
        self.options = BlockOptions(**options)
        self._layout_arg = get_layout(layout)  # as given, before `parts`: for config()
        self.layout = self._layout_arg
        if self.options.parts is not None:
            self.layout = dataclasses.replace(self.layout, parts=self.options.parts)
        if blocks is None:
            blocks = ((in_channels, ) + tuple(DEFAULT_BLOCKS[0][1:]), ) + DEFAULT_BLOCKS[1:]
        self.block_rows: Tuple[BlockRow, ...] = _check_blocks(blocks, in_channels)
        self.num_classes, self.in_channels, self.num_person = num_classes, in_channels, num_person
        V = self.layout.num_joints
        self.data_bn = nn.BatchNorm1d(num_person * V * in_channels)
        # the first block is the plain one without attention, as in the original
        first = self.options.replace(block_type='basic', attention=None)
        self.blocks = nn.ModuleList(
            MSTGCNBlock(c_in, c_out, self.layout, stride=stride, residual=residual,
                        options=first if i == 0 else self.options)
            for i, (c_in, c_out, residual, stride) in enumerate(self.block_rows))
        self.out_channels = self.block_rows[-1][1]
        self.fc = nn.Linear(self.out_channels, num_classes)
        self.fused = False
        self.reset_parameters()

    @property
    def backend(self) -> str:
        return self.options.backend

    @property
    def adjacency(self) -> str:
        return self.options.adjacency

    def config(self) -> Dict[str, Any]:
        """Every constructor argument, as plain values where possible: ``MSTGCN(**config())``
        builds the same architecture (same state-dict keys and shapes). ``layout`` is the
        name of a built-in layout, else the :class:`~pyg_mstgcn.graph.SkeletonLayout`;
        ``blocks`` a list of lists; every :class:`~pyg_mstgcn.nn.BlockOptions` field follows,
        ``parts`` as lists."""
        layout = self._layout_arg
        builtin = LAYOUTS.get(layout.name)
        return dict(num_classes=self.num_classes,
                    layout=layout.name if builtin == layout else layout,
                    in_channels=self.in_channels, num_person=self.num_person,
                    blocks=[list(row) for row in self.block_rows], **self.options.to_dict())

    def reset_parameters(self) -> None:
        """Initialises as the original: every convolution Kaiming normal (fan-out) with zero
        bias, unit batch norms, the learnable adjacency equal to the fixed one, and
        N(0, 2 / num_classes) classifier weights."""
        for module in self.modules():
            if isinstance(module, nn.BatchNorm1d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
                module.reset_running_stats()
            elif isinstance(module, (nn.Conv1d, nn.Linear)) and module is not self.fc:
                nn.init.kaiming_normal_(module.weight, mode='fan_out')
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, SpatialGraphConv):
                module.adjacency.reset_parameters()
        self.fc.reset_parameters()
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / self.num_classes))

    @torch.no_grad()
    def adjacency_matrices(self) -> List[AdjacencyMatrices]:
        r"""The adjacency of every spatial graph convolution, in order: block by block, and
        within a block scale by scale (the branches of MS-GC or of the multi-scale
        bottleneck; a single-scale layer has scale 0 only). Each record holds the partition
        :math:`\mathbf{A}`, the learned offset :math:`\mathbf{B}` and the effective
        :math:`\mathbf{A} + \mathbf{B}` as detached CPU tensors ``[K, V, V]``
        (:class:`~pyg_mstgcn.nn.AdjacencyMatrices`). A fused model (:meth:`fuse`) keeps only
        :math:`\mathbf{A} + \mathbf{B}`; its :math:`\mathbf{A}` is then the layout's
        partition, which every convolution was built with, and :math:`\mathbf{B}` the
        difference."""
        partition = spatial_partition(self.layout)
        records = []
        for i, block in enumerate(self.blocks):
            convs = [(name, module) for name, module in block.named_modules()
                     if isinstance(module, SpatialGraphConv)]
            for j, (name, conv) in enumerate(convs):
                adjacency = conv.adjacency
                # copies: the records must not alias the parameters
                effective = adjacency().detach().cpu().clone()
                if isinstance(adjacency, LearnableAdjacency):
                    fixed = adjacency.A.detach().cpu().clone()
                    learned = adjacency.offset().detach().cpu().clone()
                else:
                    fixed = partition.to(effective.dtype)
                    learned = effective - fixed
                records.append(AdjacencyMatrices(i, j, f'blocks.{i}.{name}', fixed, learned,
                                                 effective))
        return records

    @torch.no_grad()
    def fuse(self) -> 'MSTGCN':
        r"""Makes this model an inference model, in place, and returns it: eval mode, every
        batch norm that follows a convolution or linear layer folded into it, every learned
        adjacency :math:`\mathbf{A} + \mathbf{B}` frozen into one constant, and the dense
        backend (the same function; no check reads the graph's values). The logits equal
        those of the model in eval mode (to float rounding). A fused model cannot train;
        :func:`~pyg_mstgcn.models.optimize_for_inference` fuses a copy instead. The batch
        norms that do not follow a layer stay: ``data_bn``, the input norm of MS-GC and the
        attention layer's norm (a product comes before it)."""
        self.eval()
        for module in list(self.modules()):
            if hasattr(module, 'fuse_for_inference'):
                module.fuse_for_inference()
        self.options = self.options.replace(backend='dense')
        self.fused = True
        return self

    def train(self, mode: bool = True) -> 'MSTGCN':
        if mode and getattr(self, 'fused', False):
            raise RuntimeError('MSTGCN: a fused model is for inference only; fuse a copy '
                               '(pyg_mstgcn.models.optimize_for_inference) to keep training')
        return super().train(mode)

    def forward(self, data: Union[Data, Batch, Tensor]) -> Tensor:
        """Returns the logits ``[N, num_classes]`` of a PyG batch of :obj:`N` graphs or of a
        dense batch ``[N, C, T, V, M]``."""
        return self.fc(self.pool(self.forward_features(data)))

    def forward_features(self, data: Union[Data, Batch, Tensor]) -> Tensor:
        """Returns the last block's node features ``[N * M * V, C_out, T']``."""
        if isinstance(data, Tensor):
            return self._forward_dense(data)
        x = data.x
        V, M = self.layout.num_joints, self.num_person
        if x.dim() != 3 or x.size(1) != self.in_channels or x.size(0) % (M * V) != 0:
            raise ValueError(f"MSTGCN: expected node features of shape [num_graphs * "
                             f"{M} persons * {V} joints, {self.in_channels} channels, "
                             f"num_frames] (got {list(x.shape)})")
        num_graphs, T = x.size(0) // (M * V), x.size(2)
        if isinstance(data, Batch) and data.num_graphs != num_graphs:
            raise ValueError(f"MSTGCN: the batch holds {data.num_graphs} graphs but its "
                             f"{x.size(0)} nodes make {num_graphs} graphs of {M} persons * "
                             f"{V} joints; build the model with the batch's num_person and "
                             f"layout")
        edge_index, edge_template = self._graph(data, x.size(0), x.device)
        return self._blocks(x.reshape(num_graphs, M * V * self.in_channels, T), edge_index,
                            edge_template)

    def _forward_dense(self, x: Tensor) -> Tensor:
        """:meth:`forward_features` of a dense batch ``[N, C, T, V, M]``."""
        V, M, C = self.layout.num_joints, self.num_person, self.in_channels
        if x.dim() != 5 or x.size(1) != C or x.size(3) != V or x.size(4) != M:
            raise ValueError(f"MSTGCN: expected a dense batch of shape [N, {C} channels, "
                             f"T frames, {V} joints, {M} persons] (got {list(x.shape)})")
        N, T = x.size(0), x.size(2)
        # the node order of from_dense: [N, M, V, C, T], person-major
        x = x.permute(0, 4, 3, 1, 2).reshape(N, M * V * C, T)
        edge_index, edge_template = self._graph(None, N * M * V, x.device)
        return self._blocks(x, edge_index, edge_template)

    def _blocks(self, x: Tensor, edge_index: Optional[Adj], edge_template: Optional[Tensor]
                ) -> Tensor:
        """``data_bn`` on ``[N, M * V * C, T]``, then the blocks on the nodes."""
        x = self.data_bn(x).view(-1, self.in_channels, x.size(-1))
        for block in self.blocks:
            x = block(x, edge_index, edge_template)
        return x

    def pool(self, features: Tensor) -> Tensor:
        """Averages node features ``[N * M * V, C, T]`` over frames, joints and persons."""
        V, M = self.layout.num_joints, self.num_person
        return features.mean(dim=2).view(-1, M * V, features.size(1)).mean(dim=1)

    def _graph(self, data: Optional[Union[Data, Batch]], num_nodes: int, device: torch.device
               ) -> Tuple[Optional[Adj], Optional[Tensor]]:
        """The graph the blocks read: none for the dense backend; for the sparse one every
        joint pair (``adjacency='full'``), else the batch's edges, or for a dense batch
        (:obj:`data` :obj:`None`) those of the skeleton, as
        :func:`~pyg_mstgcn.data.skeleton_graph` gives them (bones both ways, self-loops)."""
        if self.backend == 'dense':
            return None, None
        if self.adjacency == 'full':
            edge_index, edge_template = _cached_full_edges(num_nodes, self.layout.num_joints,
                                                           device)
        elif data is None:
            support = spatial_partition(self.layout).abs().sum(dim=0) != 0
            edge_index, edge_template = support_edges(support.to(device), num_nodes)
        else:
            edge_index, edge_template = data.edge_index, getattr(data, 'edge_template', None)
            if not bool((edge_index[1, 1:] >= edge_index[1, :-1]).all()):
                return edge_index, edge_template
        # edges sorted by target (support_edges sorts its own) take the fused sparse-matrix
        # path; only a batch's own edges need reading (a host sync) to know
        return EdgeIndex(edge_index, sparse_size=(num_nodes, num_nodes),
                         sort_order='col'), edge_template

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'layout={self.layout.name}, blocks={len(self.blocks)}, '
                f'backend={self.backend}, adjacency={self.adjacency})')


def optimize_for_inference(model: MSTGCN) -> MSTGCN:
    """A fused copy of :obj:`model` (see :meth:`MSTGCN.fuse`), the model left as it was."""
    return copy.deepcopy(model).fuse()


@lru_cache(maxsize=8)
def _cached_full_edges(num_nodes: int, num_joints: int, device: torch.device
                       ) -> Tuple[Tensor, Tensor]:
    # the same batch size recurs at every step; the tensors are never modified in place
    return full_edges(num_nodes, num_joints, device)


def _check_blocks(blocks: Sequence[Sequence], in_channels: int) -> Tuple[BlockRow, ...]:
    """The rows of :obj:`blocks` as tuples, each checked, or a one-line error naming the
    row."""
    given = blocks
    blocks = list(blocks) if isinstance(blocks, Iterable) and not isinstance(blocks, str) else []
    if not blocks:
        raise ValueError(f"blocks must be a non-empty list of rows [C_in, C_out, residual, "
                         f"stride] (got {given!r})")
    rows = []
    for i, row in enumerate(blocks):
        if not isinstance(row, Sequence) or isinstance(row, str) or len(row) != 4:
            shown = list(row) if isinstance(row, Sequence) else row
            raise ValueError(f"block row {i} must be [C_in, C_out, residual, stride] "
                             f"(got {shown!r})")
        for name, value, rule in zip(('C_in', 'C_out', 'residual', 'stride'), row,
                                     (POSITIVE_INT, POSITIVE_INT, BOOL, POSITIVE_INT)):
            check_value(f'block row {i}: {name}', value, rule)
        rows.append(tuple(row))
    if rows[0][0] != in_channels:
        raise ValueError(f"the first block takes {rows[0][0]} channels but in_channels is "
                         f"{in_channels}")
    for i in range(1, len(rows)):
        if rows[i][0] != rows[i - 1][1]:
            raise ValueError(f"block {i} takes {rows[i][0]} channels but block {i - 1} "
                             f"gives {rows[i - 1][1]}")
    return tuple(rows)
