"""The spatial graph convolution of MST-GCN with a learnable adjacency."""
from __future__ import annotations

import warnings
from typing import Final, Optional, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric import EdgeIndex
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import Adj, SparseTensor
from torch_geometric.utils import is_torch_sparse_tensor

from pyg_mstgcn.graph import SkeletonLayout, spatial_partition
from pyg_mstgcn.nn.adjacency import FrozenAdjacency, LearnableAdjacency
from pyg_mstgcn.nn.fusion import batch_norm_affine, scale_rows
from pyg_mstgcn.nn.sparse import subset_spmm
from pyg_mstgcn.nn.units import temporal_conv

BACKENDS = ('dense', 'sparse')


def partition_of(layout: Union[str, SkeletonLayout, Tensor]) -> Tensor:
    """The fixed partition ``[K, V, V]`` of a layout name, a layout, or a given tensor."""
    return layout if isinstance(layout, Tensor) else spatial_partition(layout)


def check_node_features(x: Tensor, channels: int, where: str) -> None:
    """Raises a clear error unless :obj:`x` has shape ``[num_nodes, channels, T]``."""
    if x.dim() != 3 or x.size(1) != channels:
        raise ValueError(f"{where}: expected node features of shape [num_nodes, "
                         f"{channels} channels, num_frames] (got {list(x.shape)})")


class SpatialGraphConv(MessagePassing):
    r"""The spatial graph convolution of MST-GCN with a learnable adjacency per subset.

    .. math::
        \mathbf{x}^{\prime}_w = \sum_{k=1}^{K} \sum_{v \in \mathcal{N}(w)}
        \left( \mathbf{A}_k + \mathbf{B}_k \right)_{vw}
        \left( \mathbf{\Theta}_k \mathbf{x}_v + \mathbf{b}_k \right)

    where :math:`\mathbf{A}_k` is the fixed spatial partition of the skeleton (identity,
    inward, outward), :math:`\mathbf{B}_k` its learnable offset (initialised to
    :math:`\mathbf{A}_k`) and :math:`\mathbf{\Theta}_k` a linear map per subset. Node features
    keep their time axis, so the same adjacency acts on every frame. With
    :obj:`depthwise=True`, :math:`\mathbf{\Theta}_k` is diagonal (one weight per channel and
    subset), as in the separable layers of the original.

    The nodes of a batch are skeleton instances of :math:`V` joints each, stacked in order (the
    representation of :mod:`pyg_mstgcn.data`): node ``n`` is joint ``n % V``. The ``'dense'``
    backend multiplies every instance by the :math:`V \times V` matrices in one batched
    matrix product and ignores :obj:`edge_index`. The ``'sparse'`` backend passes messages
    only along :obj:`edge_index`, weighting edge ``v -> w`` by the entries of its joint pair;
    a sparse adjacency or a column-sorted :class:`~torch_geometric.EdgeIndex` takes the fused
    sparse-matrix path (:meth:`message_and_aggregate`); only the pattern of a sparse adjacency
    is read, the weights always come from the learnable adjacency.

    **The edge set of the sparse backend.** An entry of the adjacency acts only where an edge
    carries it, so for the two backends to compute the same function :obj:`edge_index` must
    hold, within each skeleton instance (never between two):

    - every node's self-loop: the identity subset :math:`\mathbf{A}_0` weighs each joint's
      own features, and a node without a self-loop loses them;
    - for :obj:`adjacency='skeleton'`, the layout's bones in both directions (every joint
      pair where some :math:`\mathbf{A}_k` is non-zero); a missing bone drops its entries;
    - for :obj:`adjacency='full'`, every ordered joint pair of the instance, since
      :math:`\mathbf{B}_k` may grow non-zero anywhere.

    :func:`~pyg_mstgcn.data.skeleton_graph` gives the skeleton's edges, and
    :func:`~pyg_mstgcn.graph.support_edges` / :func:`~pyg_mstgcn.graph.full_edges` any
    support; a graph of your own takes its self-loops from
    :func:`torch_geometric.utils.add_self_loops`. With fewer self-loops than nodes (while the
    partition weighs self-loops) the sparse backend warns.

    Args:
        in_channels (int): Size of each input feature.
        out_channels (int): Size of each output feature.
        layout (str or SkeletonLayout or torch.Tensor): The skeleton layout whose spatial
            partition is :math:`\mathbf{A}`, or a partition of shape ``[K, V, V]``.
        adjacency (str, optional): ``'full'`` (:math:`\mathbf{B}_k` dense) or ``'skeleton'``
            (:math:`\mathbf{B}_k` only on the bones and self-loops). (default: :obj:`'full'`)
        backend (str, optional): ``'dense'`` or ``'sparse'``. (default: :obj:`'dense'`)
        depthwise (bool, optional): Per-channel transform; needs
            :obj:`in_channels == out_channels`. (default: :obj:`False`)
        bias (bool, optional): Learn the additive bias :math:`\mathbf{b}_k`.
            (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in}, T)`, edge indices
          :math:`(2, |\mathcal{E}|)` or a sparse adjacency, optional edge pair ids
          :math:`(|\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, F_{out}, T)`
    """
    # Lets MessagePassing.propagate send a column-sorted EdgeIndex to message_and_aggregate.
    SUPPORTS_FUSED_EDGE_INDEX: Final[bool] = True

    def __init__(self, in_channels: int, out_channels: int,
                 layout: Union[str, SkeletonLayout, Tensor], adjacency: str = 'full',
                 backend: str = 'dense', depthwise: bool = False, bias: bool = True,
                 **kwargs) -> None:
        kwargs.setdefault('aggr', 'add')
        kwargs.setdefault('node_dim', 0)
        super().__init__(**kwargs)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend '{backend}'; valid backends: "
                             f"{', '.join(BACKENDS)}")
        if depthwise and in_channels != out_channels:
            raise ValueError(f"a depthwise spatial graph convolution keeps the width "
                             f"(got in_channels={in_channels}, out_channels={out_channels})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.backend = backend
        self.depthwise = depthwise
        self.adjacency = LearnableAdjacency(partition_of(layout), adjacency)
        # whether the partition weighs a joint's own features, so that edge sets need loops
        self.needs_self_loops = bool(self.adjacency.A.diagonal(dim1=1, dim2=2).any())
        K = self.adjacency.num_subsets
        self.lin = temporal_conv(in_channels, K * out_channels, bias=bias,
                                 groups=in_channels if depthwise else 1)
        # the shift of a batch norm folded in by fuse_for_inference(), added after the aggregation
        self.register_parameter('out_bias', None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        # As the original network ends up initialising every convolution: Kaiming normal
        # (fan-out), zero bias; the learnable adjacency starts equal to the fixed one.
        nn.init.kaiming_normal_(self.lin.weight, mode='fan_out')
        if self.lin.bias is not None:
            nn.init.zeros_(self.lin.bias)
        if isinstance(self.adjacency, FrozenAdjacency):
            raise RuntimeError(f'{self.__class__.__name__}: a fused convolution has no '
                               f'parameters to reset')
        self.adjacency.reset_parameters()

    @property
    def num_joints(self) -> int:
        return self.adjacency.num_joints

    @torch.no_grad()
    def fuse_for_inference(self, bn: Optional[nn.BatchNorm1d] = None) -> None:
        r"""Prepares the convolution for inference, in place: :math:`\mathbf{A} +
        \mathbf{B}` frozen into one constant (:class:`~pyg_mstgcn.nn.FrozenAdjacency`), the
        dense backend (the same function, without reading the graph), and :obj:`bn`, a batch
        norm in eval mode that follows the convolution, folded in: its scale into
        :math:`\mathbf{\Theta}_k` and :math:`\mathbf{b}_k`, its shift added after the
        aggregation. Calling it again only folds another batch norm."""
        if bn is not None:
            scale, shift = batch_norm_affine(bn)
            K = self.adjacency.num_subsets
            # rows of lin: subset-major (k * C + c), or channel-major when depthwise
            scale_rows(self.lin, scale.repeat_interleave(K) if self.depthwise else
                       scale.repeat(K))
            bias = shift if self.out_bias is None else self.out_bias * scale + shift
            self.out_bias = nn.Parameter(bias)
        if isinstance(self.adjacency, LearnableAdjacency):
            self.adjacency = FrozenAdjacency(self.adjacency)
        self.backend = 'dense'

    def forward(self, x: Tensor, edge_index: Adj,
                edge_template: Optional[Tensor] = None) -> Tensor:
        """Runs the convolution; :obj:`edge_template` optionally gives each edge's joint pair
        ``v * V + w`` (otherwise read off the node indices)."""
        check_node_features(x, self.in_channels, self.__class__.__name__)
        num_nodes, _, T = x.shape
        V, K = self.num_joints, self.adjacency.num_subsets
        if num_nodes % V != 0:
            raise ValueError(f"{self.__class__.__name__}: {num_nodes} nodes do not form "
                             f"skeleton instances of {V} joints")
        weight = self.adjacency()
        if self.backend == 'dense' and self.mixes_first:
            out = self._mix_then_transform(x, weight)
        else:
            g = self.lin(x)
            if self.depthwise:  # the K outputs of a channel are contiguous: [N, C, K, T]
                g = g.view(num_nodes, self.out_channels, K, T).transpose(1, 2)
            g = g.reshape(num_nodes, K, self.out_channels * T)
            if self.backend == 'dense':
                out = dense_aggregate(g, weight)
            else:
                if not torch.compiler.is_compiling():  # the checks read values: a graph break
                    _check_edges(edge_index, num_nodes, self.needs_self_loops,
                                 self.__class__.__name__)
                out = self.propagate(edge_index, x=g, weight=weight,
                                     edge_template=edge_template)
            out = out.view(num_nodes, self.out_channels, T)
        return out if self.out_bias is None else out + self.out_bias.view(-1, 1)

    @property
    def mixes_first(self) -> bool:
        r"""Whether the dense backend aggregates before the transform: a widening convolution
        then mixes :math:`K \cdot F_{in}` channels instead of :math:`K \cdot F_{out}` (the
        first layer of the canonical network: 9 instead of 336, 5x faster in training)."""
        return not self.depthwise and self.in_channels < self.out_channels

    def _mix_then_transform(self, x: Tensor, weight: Tensor) -> Tensor:
        r"""The dense backend's function in the other order,
        :math:`\mathbf{x}^{\prime}_w = \sum_k \mathbf{\Theta}_k \sum_v W_{kvw} \mathbf{x}_v +
        \sum_k \left( \sum_v W_{kvw} \right) \mathbf{b}_k` with
        :math:`\mathbf{W} = \mathbf{A} + \mathbf{B}`."""
        num_nodes, C, T = x.shape
        V, K, out_channels = self.num_joints, self.adjacency.num_subsets, self.out_channels
        mixed = dense_aggregate_subsets(x.reshape(num_nodes, C * T), weight)
        # lin's rows are subset-major (k * F_out + o): one F_out x K * F_in matrix
        theta = self.lin.weight.view(K, out_channels, C).transpose(0, 1)
        out = nn.functional.conv2d(mixed.view(num_nodes, K * C, T, 1),
                                   theta.reshape(out_channels, K * C, 1, 1)).squeeze(-1)
        if self.lin.bias is None:
            return out
        column_sums = weight.sum(1).t().to(out.dtype)                   # [V, K]
        bias = column_sums @ self.lin.bias.view(K, out_channels).to(out.dtype)
        out = out.view(-1, V, out_channels, T) + bias.unsqueeze(-1)
        return out.view(num_nodes, out_channels, T)

    def _edge_weight(self, src: Tensor, dst: Tensor, weight: Tensor,
                     edge_template: Optional[Tensor]) -> Tensor:
        V = self.num_joints
        if edge_template is None:
            edge_template = (src % V) * V + dst % V
        elif edge_template.numel() != src.numel():
            raise ValueError(f"{self.__class__.__name__}: edge_template has "
                             f"{edge_template.numel()} entries for {src.numel()} edges")
        return weight.view(weight.size(0), V * V)[:, edge_template].t()

    def message(self, x_j: Tensor, edge_index_i: Tensor, edge_index_j: Tensor,
                weight: Tensor, edge_template: Optional[Tensor]) -> Tensor:
        w = self._edge_weight(edge_index_j, edge_index_i, weight, edge_template)
        return torch.bmm(w.unsqueeze(1).to(x_j.dtype), x_j).squeeze(1)

    def message_and_aggregate(self, edge_index: Adj, x: Tensor, weight: Tensor,
                              edge_template: Optional[Tensor]) -> Tensor:
        src, dst = _source_target(edge_index)
        w = self._edge_weight(src, dst, weight, edge_template)
        return subset_spmm(src, dst, w, x, num_dst=x.size(0))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, {self.out_channels}, '
                f'joints={self.num_joints}, subsets={self.adjacency.num_subsets}, '
                f'adjacency={self.adjacency.mode}, backend={self.backend}'
                f'{", depthwise=True" if self.depthwise else ""})')


def dense_aggregate(x: Tensor, adjacency: Tensor) -> Tensor:
    r"""Aggregates ``[N, K, F]`` node features of skeleton instances with ``[K, V, V]`` matrices:
    :math:`\mathbf{y}_{bw} = \sum_k \sum_v A_{kvw} \mathbf{x}_{bvk}`, as one batched product."""
    N, K, F = x.shape
    V = adjacency.size(-1)
    # rows (v, k) match the memory order of x viewed per instance as [V * K, F]
    mixing = adjacency.permute(2, 1, 0).reshape(V, V * K).to(x.dtype)
    x = x.reshape(N // V, V * K, F)
    # one product per instance, against the same (broadcast, not copied) V x VK matrix
    return torch.bmm(mixing.expand(x.size(0), V, V * K), x).reshape(N, F)


def dense_aggregate_subsets(x: Tensor, adjacency: Tensor) -> Tensor:
    r"""Aggregates ``[N, F]`` node features of skeleton instances with each of the ``[K, V, V]``
    matrices apart: :math:`\mathbf{y}_{bwk} = \sum_v A_{kvw} \mathbf{x}_{bv}`, ``[N, K, F]``,
    as one batched product."""
    N, F = x.shape
    K, V = adjacency.size(0), adjacency.size(-1)
    # rows (w, k) of the product are the memory order of the [N, K, F] result
    mixing = adjacency.permute(2, 0, 1).reshape(V * K, V).to(x.dtype)
    x = x.reshape(N // V, V, F)
    return torch.bmm(mixing.expand(x.size(0), V * K, V), x).reshape(N, K, F)


def _check_edges(edge_index: Adj, num_nodes: int, self_loops: bool, where: str) -> None:
    """Raises unless every node index lies in ``[0, num_nodes)``; with :obj:`self_loops` (the
    partition weighs them), warns when the edges hold fewer self-loops than nodes. One read of
    the values (one host sync) for both."""
    if isinstance(edge_index, SparseTensor) or is_torch_sparse_tensor(edge_index):
        if tuple(edge_index.size()) != (num_nodes, num_nodes):
            raise ValueError(f"{where}: the sparse adjacency has shape "
                             f"{tuple(edge_index.size())}, expected ({num_nodes}, {num_nodes})")
        return  # its diagonal is not worth reading here
    if isinstance(edge_index, EdgeIndex):
        edge_index = edge_index.as_tensor()
    low, high, num_loops = 0, 0, 0
    if edge_index.numel() > 0:
        low, high, num_loops = torch.stack([edge_index.min(), edge_index.max(),
                                            (edge_index[0] == edge_index[1]).sum()]).tolist()
    if low < 0 or high >= num_nodes:
        bad = low if low < 0 else high
        raise ValueError(f"{where}: edge_index refers to node {bad}, but node indices "
                         f"must lie in [0, {num_nodes})")
    if self_loops and num_loops < num_nodes:
        warnings.warn(f"{where}: edge_index holds {num_loops} self-loops for {num_nodes} nodes, "
                      f"so nodes without one lose their own features (the partition's "
                      f"identity subset); add them with torch_geometric.utils.add_self_loops "
                      f"or build the graph with skeleton_graph or support_edges",
                      UserWarning, stacklevel=2)


def _source_target(edge_index: Adj) -> Tuple[Tensor, Tensor]:
    if isinstance(edge_index, SparseTensor):  # adj_t: rows are targets
        dst, src, _ = edge_index.coo()
        return src, dst
    if is_torch_sparse_tensor(edge_index):
        if edge_index.layout == torch.sparse_csr:
            crow, src = edge_index.crow_indices(), edge_index.col_indices()
            dst = torch.repeat_interleave(torch.arange(crow.numel() - 1, device=crow.device),
                                          crow.diff())
            return src, dst
        dst, src = edge_index.coalesce().indices()
        return src, dst
    if isinstance(edge_index, EdgeIndex):
        edge_index = edge_index.as_tensor()
    return edge_index[0], edge_index[1]
