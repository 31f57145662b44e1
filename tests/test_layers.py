"""The MST-GCN layers: SpatialGraphConv (dense and sparse backends, every adjacency input
PyG accepts), the spatial, temporal and attention layers, the block options and name tables,
and every block type x attention."""
import inspect
import warnings

import pytest
import torch
from torch_geometric import EdgeIndex
from torch_geometric.typing import WITH_TORCH_SPARSE, SparseTensor

from pyg_mstgcn.graph import NTU_RGB_D, full_edges, skeleton_edges, spatial_partition
from pyg_mstgcn.nn import (ACTIVATIONS, ADJACENCY_MODES, ATTENTIONS, BACKENDS, BLOCK_TYPES,
                           LAYER_TYPES, AttentionLayer, BlockOptions, BottleneckGraphLayer,
                           BottleneckTemporalLayer, MSTGCNBlock, MultiScaleGraphLayer,
                           MultiScaleTemporalLayer, PlainGraphLayer, PlainTemporalLayer,
                           SeparableGraphLayer, SeparableTemporalLayer, SpatialGraphConv,
                           activation, make_attention, subset_spmm)
from pyg_mstgcn.nn.units import temporal_conv

V = 25
INPUTS = ['edge_index', 'edge_index_shuffled', 'edge_index_no_template', 'EdgeIndex',
          'sparse_csr', 'SparseTensor']


def support_graph(adjacency, num_instances, layout='ntu'):
    """The support of an adjacency mode: the layout's edges per instance ('skeleton') or all
    joint pairs per instance ('full'), with each edge's joint pair v * V + w."""
    if adjacency == 'full':
        nv = spatial_partition(layout).size(-1)
        return full_edges(num_instances * nv, nv)
    edge_index, _ = skeleton_edges(layout)
    nv = spatial_partition(layout).size(-1)
    offsets = torch.arange(num_instances).repeat_interleave(edge_index.size(1)) * nv
    edge_index = edge_index.repeat(1, num_instances) + offsets
    return edge_index, (edge_index[0] % nv) * nv + edge_index[1] % nv


def as_input(kind, edge_index, template, num_nodes):
    """The same graph in one of the forms PyG layers accept."""
    if kind == 'edge_index':
        return edge_index, template
    if kind == 'edge_index_shuffled':
        perm = torch.randperm(edge_index.size(1), generator=torch.Generator().manual_seed(1))
        return edge_index[:, perm], template[perm]
    if kind == 'edge_index_no_template':
        return edge_index, None
    if kind == 'EdgeIndex':
        adj = EdgeIndex(edge_index, sparse_size=(num_nodes, num_nodes), sort_order='col')
        adj.validate()
        return adj, template
    src, dst = edge_index
    if kind == 'sparse_csr':  # adj_t: rows are targets
        adj = torch.sparse_coo_tensor(torch.stack([dst, src]), torch.ones(src.numel()),
                                      (num_nodes, num_nodes)).coalesce().to_sparse_csr()
        return adj, None
    if kind == 'SparseTensor':
        if not WITH_TORCH_SPARSE:
            pytest.skip('torch_sparse is not installed')
        return SparseTensor(row=dst, col=src, sparse_sizes=(num_nodes, num_nodes)), None
    raise AssertionError(kind)


def conv_pair(adjacency, in_channels=4, out_channels=6, depthwise=False, seed=0):
    """A dense and a sparse convolution in float64 with the same random weights, B included
    (so off-skeleton entries of a 'full' adjacency are non-zero)."""
    torch.manual_seed(seed)
    dense = SpatialGraphConv(in_channels, out_channels, 'ntu', adjacency=adjacency,
                             backend='dense', depthwise=depthwise).double()
    with torch.no_grad():
        dense.adjacency.B.normal_()
        dense.lin.bias.normal_()
    sparse = SpatialGraphConv(in_channels, out_channels, 'ntu', adjacency=adjacency,
                              backend='sparse', depthwise=depthwise).double()
    sparse.load_state_dict(dense.state_dict())
    return dense, sparse


def reference_conv(conv, x):
    """y[w] = sum_k sum_v (A + B)[k, v, w] (Theta_k x_v + b_k), written out with einsum."""
    K, C_out = conv.adjacency.num_subsets, conv.out_channels
    weight = conv.adjacency()
    g = conv.lin(x)                                    # [N, K * C_out, T]
    N, _, T = g.shape
    if conv.depthwise:                                 # channel-major: index c * K + k
        g = g.view(N, C_out, K, T).transpose(1, 2)
    else:                                              # subset-major: index k * C_out + c
        g = g.view(N, K, C_out, T)
    g = g.reshape(N // V, V, K, C_out, T)
    return torch.einsum('bvkct,kvw->bwct', g, weight).reshape(N, C_out, T)


def test_spatial_conv_repr_and_shape():
    """str(conv) names widths, joints, subsets, modes; output is [N, C_out, T]."""
    conv = SpatialGraphConv(3, 16, 'ntu')
    assert str(conv) == ('SpatialGraphConv(3, 16, joints=25, subsets=3, adjacency=full, '
                         'backend=dense)')
    conv = SpatialGraphConv(8, 8, 'openpose', adjacency='skeleton', backend='sparse',
                            depthwise=True)
    assert str(conv) == ('SpatialGraphConv(8, 8, joints=18, subsets=3, adjacency=skeleton, '
                         'backend=sparse, depthwise=True)')
    edge_index, template = support_graph('full', 4)
    x = torch.randn(4 * V, 3, 7)
    for backend in ('dense', 'sparse'):
        conv = SpatialGraphConv(3, 16, 'ntu', backend=backend)
        assert conv(x, edge_index).shape == (4 * V, 16, 7)
        assert conv(x, edge_index, template).shape == (4 * V, 16, 7)
    assert conv.lin.weight.shape == (3 * 16, 3, 1)
    assert conv.adjacency.B.shape == (3, V, V)


@pytest.mark.parametrize('adjacency', ['full', 'skeleton'])
@pytest.mark.parametrize('c_in,c_out,depthwise,mixes_first', [
    (4, 6, False, True), (6, 4, False, False), (5, 5, False, False), (5, 5, True, False)])
def test_spatial_conv_matches_the_formula(adjacency, c_in, c_out, depthwise, mixes_first,
                                          device):
    """Both backends compute sum_k (A_k + B_k)^T (Theta_k x + b_k) per instance; the dense
    one aggregates first when the convolution widens, else transforms first."""
    dense, sparse = (conv.to(device) for conv in conv_pair(adjacency, c_in, c_out, depthwise))
    assert dense.mixes_first is mixes_first
    x = torch.randn(2 * V, c_in, 3, dtype=torch.float64).to(device)
    edge_index, template = (t.to(device) for t in support_graph(adjacency, 2))
    with torch.no_grad():
        expected = reference_conv(dense, x)
        assert torch.allclose(dense(x, edge_index), expected, atol=1e-10)
        assert torch.allclose(sparse(x, edge_index, template), expected, atol=1e-10)


@pytest.mark.parametrize('adjacency', ['full', 'skeleton'])
@pytest.mark.parametrize('kind', INPUTS)
def test_dense_and_sparse_agree(adjacency, kind, device):
    """Outputs and gradients (x, lin, B) of the two backends agree for every form of the
    support graph: edge_index (with, without template, shuffled), EdgeIndex, CSR adj_t,
    SparseTensor."""
    num_instances, T = 3, 4
    N = num_instances * V
    dense, sparse = (conv.to(device) for conv in conv_pair(adjacency))
    edge_index, template = support_graph(adjacency, num_instances)
    adj, tmpl = (None if t is None else t.to(device)
                 for t in as_input(kind, edge_index, template, N))
    edge_index = edge_index.to(device)
    x = torch.randn(N, 4, T, dtype=torch.float64).to(device)
    upstream = torch.randn(N, 6, T, dtype=torch.float64).to(device)
    results = []
    for conv, graph in ((dense, (edge_index, None)), (sparse, (adj, tmpl))):
        xr = x.clone().requires_grad_()
        out = conv(xr, *graph)
        (out * upstream).sum().backward()
        results.append((out.detach(), xr.grad, conv.lin.weight.grad, conv.lin.bias.grad,
                        conv.adjacency.B.grad))
    for a, b in zip(*results):
        assert a is not None and b is not None
        assert torch.allclose(a, b, atol=1e-10), (a - b).abs().max()
    # B receives a gradient off the skeleton only when it can be non-zero there
    B_grad = results[0][4]
    assert B_grad.abs().sum() > 0
    if adjacency == 'full':
        assert B_grad[1, 0, 5].abs() > 0  # joints 0 and 5 are not connected by a bone


@pytest.mark.parametrize('kind,fused', [('edge_index', False), ('EdgeIndex', True),
                                        ('sparse_csr', True), ('SparseTensor', True)])
def test_sparse_backend_path(monkeypatch, kind, fused):
    """A sparse adjacency and a column-sorted EdgeIndex take the fused SpMM path
    (message_and_aggregate); a plain edge_index passes messages."""
    calls = []

    def spy(*args, **kwargs):
        calls.append(kind)
        return subset_spmm(*args, **kwargs)

    monkeypatch.setattr('pyg_mstgcn.nn.spatial_conv.subset_spmm', spy)
    conv = SpatialGraphConv(2, 3, 'ntu', backend='sparse')
    edge_index, template = support_graph('full', 1)
    adj, tmpl = as_input(kind, edge_index, template, V)
    conv(torch.randn(V, 2, 3), adj, tmpl)
    assert len(calls) == int(fused)


def test_depthwise():
    """A depthwise convolution has one weight per channel and subset and mixes no channels."""
    dense, sparse = conv_pair('full', 5, 5, depthwise=True)
    assert dense.lin.weight.shape == (5 * 3, 1, 1)
    x = torch.zeros(V, 5, 2, dtype=torch.float64)
    x[:, 2] = torch.randn(V, 2, dtype=torch.float64)
    with torch.no_grad():
        dense.lin.bias.zero_()
        sparse.lin.bias.zero_()
        out = dense(x, None)
        edge_index, template = support_graph('full', 1)
        assert torch.allclose(sparse(x, edge_index, template), out, atol=1e-10)
    # only channel 2 is non-zero at the input, so only channel 2 is at the output
    assert out[:, 2].abs().sum() > 0
    assert out[:, [0, 1, 3, 4]].abs().sum() == 0


def test_skeleton_adjacency_is_restricted():
    """adjacency='skeleton' learns only the 73 bone/self-loop entries per subset; its B can
    never reach a pair off the skeleton; full-pair edges give the same output."""
    full = SpatialGraphConv(4, 6, 'ntu', adjacency='full')
    skel = SpatialGraphConv(4, 6, 'ntu', adjacency='skeleton')
    num_edges = V + 2 * (V - 1)
    assert skel.adjacency.B.numel() == 3 * num_edges < full.adjacency.B.numel() == 3 * V * V
    n_full = sum(p.numel() for p in full.parameters())
    n_skel = sum(p.numel() for p in skel.parameters())
    assert n_full - n_skel == 3 * (V * V - num_edges)
    skel = skel.double()
    with torch.no_grad():
        skel.adjacency.B.normal_()
    effective = skel.adjacency()
    support = spatial_partition('ntu').abs().sum(0) != 0
    assert int(support.sum()) == num_edges
    assert torch.all(effective[:, ~support] == 0)
    assert torch.all(effective[:, support] != 0)
    # the sparse backend over all joint pairs gives the same as over the skeleton edges
    sparse = SpatialGraphConv(4, 6, 'ntu', adjacency='skeleton', backend='sparse').double()
    sparse.load_state_dict(skel.state_dict())
    x = torch.randn(2 * V, 4, 3, dtype=torch.float64)
    with torch.no_grad():
        on_skeleton = sparse(x, *support_graph('skeleton', 2))
        on_pairs = sparse(x, *support_graph('full', 2))
        assert torch.allclose(on_skeleton, on_pairs, atol=1e-10)
        # and equals a 'full' convolution whose B is the scattered skeleton offsets
        full = full.double()
        full.load_state_dict({**skel.state_dict(), 'adjacency.B': effective - skel.adjacency.A})
        assert torch.allclose(full(x, None), on_skeleton, atol=1e-10)


@pytest.mark.parametrize('adjacency', ['full', 'skeleton'])
def test_reset_parameters_restores_adjacency(adjacency):
    """After training-like changes, reset_parameters gives B == A again (effective 2A), zero
    bias and a fresh Kaiming weight."""
    conv = SpatialGraphConv(4, 6, 'ntu', adjacency=adjacency)
    A = conv.adjacency.A
    with torch.no_grad():
        conv.adjacency.B.normal_()
        conv.lin.bias.fill_(1.0)
    assert not torch.allclose(conv.adjacency(), 2 * A)
    conv.reset_parameters()
    assert torch.equal(conv.adjacency(), 2 * A)
    expected_B = A if adjacency == 'full' else A[:, A.abs().sum(0) != 0]
    assert torch.equal(conv.adjacency.B, expected_B)
    assert torch.all(conv.lin.bias == 0)
    assert conv.lin.weight.std() > 0


def test_spatial_conv_errors():
    """Wrong shapes, bad node counts, out-of-range edges and bad options are refused with
    messages that say what to do."""
    conv = SpatialGraphConv(4, 6, 'ntu', backend='sparse')
    edge_index, template = support_graph('full', 2)
    with pytest.raises(ValueError, match=r'SpatialGraphConv: expected node features of shape '
                                         r'\[num_nodes, 4 channels, num_frames\] '
                                         r'\(got \[50, 3, 5\]\)'):
        conv(torch.randn(2 * V, 3, 5), edge_index)
    with pytest.raises(ValueError, match=r'expected node features .* \(got \[50, 4\]\)'):
        conv(torch.randn(2 * V, 4), edge_index)
    with pytest.raises(ValueError, match='51 nodes do not form skeleton instances of 25 '
                                         'joints'):
        conv(torch.randn(2 * V + 1, 4, 5), edge_index)
    with pytest.raises(ValueError, match=r'edge_index refers to node 60, but node indices must '
                                         r'lie in \[0, 50\)'):
        conv(torch.randn(2 * V, 4, 5), torch.cat([edge_index, torch.tensor([[60], [0]])], 1))
    with pytest.raises(ValueError, match=r'edge_index refers to node -1'):
        conv(torch.randn(2 * V, 4, 5), torch.cat([edge_index, torch.tensor([[0], [-1]])], 1))
    with pytest.raises(ValueError, match=r'the sparse adjacency has shape \(75, 75\), '
                                         r'expected \(50, 50\)'):
        adj, _ = as_input('sparse_csr', *support_graph('full', 3), 3 * V)
        conv(torch.randn(2 * V, 4, 5), adj)
    with pytest.raises(ValueError, match='SpatialGraphConv: edge_template has 1249 entries for '
                                         '1250 edges'):
        conv(torch.randn(2 * V, 4, 5), edge_index, template[:-1])
    with pytest.raises(ValueError, match="unknown backend 'cuda'; valid backends: dense, "
                                         "sparse"):
        SpatialGraphConv(4, 6, 'ntu', backend='cuda')
    with pytest.raises(ValueError, match="unknown adjacency mode 'bones'; valid modes: full, "
                                         "skeleton"):
        SpatialGraphConv(4, 6, 'ntu', adjacency='bones')
    with pytest.raises(ValueError, match=r'depthwise spatial graph convolution keeps the width '
                                         r'\(got in_channels=4, out_channels=6\)'):
        SpatialGraphConv(4, 6, 'ntu', depthwise=True)
    with pytest.raises(ValueError, match=r'the partition must have shape \[K, V, V\] '
                                         r'\(got \[3, 25, 24\]\)'):
        SpatialGraphConv(4, 6, torch.zeros(3, 25, 24))
    with pytest.raises(ValueError, match='unknown skeleton layout'):
        SpatialGraphConv(4, 6, 'humanoid')


def no_warnings():
    """Inside warnings.catch_warnings(): every warning is an error, except PyTorch's notice
    that CSR support is in beta (shown once per process, so it depends on test order)."""
    warnings.simplefilter('error')
    warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')


def test_sparse_backend_warns_without_self_loops():
    """On the sparse backend a node without a self-loop loses its own features (the identity
    subset): an edge_index or EdgeIndex with fewer self-loops than nodes warns and says what to
    do; the support graphs, a graph given its loops by PyG, the dense backend and a partition
    that does not weigh self-loops do not warn."""
    from torch_geometric.utils import add_self_loops

    conv = SpatialGraphConv(4, 6, 'ntu', backend='sparse')
    edge_index, _ = support_graph('skeleton', 2)
    bones = edge_index[:, edge_index[0] != edge_index[1]]
    x = torch.randn(2 * V, 4, 3)
    for graph in (bones, EdgeIndex(bones, sparse_size=(2 * V, 2 * V)),
                  torch.cat([bones, torch.arange(V).repeat(2, 1)], dim=1)):
        with pytest.warns(UserWarning, match=r'SpatialGraphConv: edge_index holds \d+ '
                                             r'self-loops for 50 nodes, .*identity subset.*'
                                             r'add_self_loops.*skeleton_graph or '
                                             r'support_edges'):
            conv(x, graph)
    A = spatial_partition('ntu')
    A[0] = 0  # no subset weighs a joint's own features
    no_loops = SpatialGraphConv(4, 6, A, backend='sparse')
    assert conv.needs_self_loops and not no_loops.needs_self_loops
    with warnings.catch_warnings():
        no_warnings()
        conv(x, add_self_loops(bones, num_nodes=2 * V)[0])
        for adjacency in ('full', 'skeleton'):
            graph, template = support_graph(adjacency, 2)
            conv(x, graph, template)
            conv(x, EdgeIndex(graph, sparse_size=(2 * V, 2 * V)), template)
        SpatialGraphConv(4, 6, 'ntu', backend='dense')(x, bones)
        no_loops(x, bones)


@pytest.mark.parametrize('adjacency', ['full', 'skeleton'])
def test_model_graphs_do_not_warn(adjacency):
    """The model's own graphs (all joint pairs, or the batch's skeleton edges) hold every
    self-loop: the sparse model runs without a warning."""
    from pyg_mstgcn.data import from_dense
    from pyg_mstgcn.models import MSTGCN

    model = MSTGCN(5, blocks=[[3, 8, False, 1], [8, 8, True, 1]], kernel_size=3,
                   backend='sparse', adjacency=adjacency).eval()
    batch = from_dense(torch.randn(2, 3, 6, V, 2), 'ntu')
    with warnings.catch_warnings(), torch.no_grad():
        no_warnings()
        assert model(batch).shape == (2, 5)


def test_subset_spmm_gradients(device):
    """The fused SpMM equals the scatter formula and passes gradcheck, duplicate edges
    included."""
    gen = torch.Generator().manual_seed(0)
    src = torch.tensor([0, 1, 1, 2, 0, 0, 3], device=device)
    dst = torch.tensor([1, 0, 0, 2, 1, 2, 0], device=device)   # (1 -> 0), (0 -> 1) twice
    weight = torch.randn(7, 2, dtype=torch.float64, generator=gen).to(device).requires_grad_()
    x = torch.randn(4, 2, 3, dtype=torch.float64, generator=gen).to(device).requires_grad_()
    out = subset_spmm(src, dst, weight, x, num_dst=3)
    expected = torch.zeros(3, 3, dtype=torch.float64, device=device)
    for e in range(7):
        expected[dst[e]] += (weight[e, :, None] * x[src[e]]).sum(0)
    assert out.shape == (3, 3)
    assert torch.allclose(out, expected)
    assert torch.autograd.gradcheck(lambda w, g: subset_spmm(src, dst, w, g, 3), (weight, x))


def _x(channels, T=6, instances=2):
    return torch.randn(instances * V, channels, T)


SPATIAL_CASES = [
    ('plain', lambda: PlainGraphLayer(4, 8, 'ntu'), 4, 8),
    ('plain-no-residual', lambda: PlainGraphLayer(8, 8, 'ntu', residual=False), 8, 8),
    ('ms', lambda: MultiScaleGraphLayer(8, 8, 'ntu', scales=4), 8, 8),
    ('ms-stage', lambda: MultiScaleGraphLayer(8, 16, 'ntu', scales=4), 8, 16),
    ('ms-sep', lambda: MultiScaleGraphLayer(8, 8, 'ntu', scales=2, layer_type='sep',
                                            expand_ratio=2), 8, 8),
    ('bottle-1', lambda: BottleneckGraphLayer(8, 16, 'ntu', scales=1), 8, 16),
    ('bottle-4', lambda: BottleneckGraphLayer(8, 8, 'ntu', scales=4, reduct_ratio=1), 8, 8),
    ('bottle-4-stage', lambda: BottleneckGraphLayer(8, 16, 'ntu', scales=4), 8, 16),
    ('sep', lambda: SeparableGraphLayer(8, 12, 'ntu'), 8, 12),
    ('sep-expand', lambda: SeparableGraphLayer(4, 4, 'ntu', expand_ratio=2, act='swish'), 4, 4),
]


@pytest.mark.parametrize('name,make,c_in,c_out', SPATIAL_CASES,
                         ids=[c[0] for c in SPATIAL_CASES])
def test_spatial_layer_shapes(name, make, c_in, c_out):
    """Spatial layers map [N, C_in, T] to [N, C_out, T] with both backends alike."""
    torch.manual_seed(0)
    layer = make().eval()
    x = _x(c_in)
    edge_index, template = support_graph('full', 2)
    out = layer(x, edge_index, template)
    assert out.shape == (2 * V, c_out, 6)
    assert torch.isfinite(out).all()


def test_composite_layer_internals():
    """Scale counts, widths and residual branches are those of the original."""
    ms = MultiScaleGraphLayer(8, 16, 'ntu', scales=4)
    assert len(ms.scales) == 4 and not ms.carry
    assert ms.scales[0].conv.in_channels == 2 and ms.scales[0].conv.out_channels == 4
    assert MultiScaleGraphLayer(8, 8, 'ntu').carry
    bottle = BottleneckGraphLayer(8, 16, 'ntu', scales=4)
    assert bottle.scales[0].conv.in_channels == 2  # inner = 2 * 8 / 2 = 8, / 4 scales
    bottle = BottleneckGraphLayer(8, 8, 'ntu', scales=1)
    assert bottle.scales[0].conv.in_channels == 4  # inner = 8 / 2
    sep = SeparableGraphLayer(4, 6, 'ntu', expand_ratio=3)
    assert sep.conv.depthwise and sep.conv.in_channels == 12
    assert isinstance(PlainGraphLayer(8, 8, 'ntu').residual, torch.nn.Identity)
    # no residual: adding it changes nothing
    layer = PlainGraphLayer(8, 8, 'ntu', residual=False).eval()
    x = _x(8)
    with torch.no_grad():
        expected = torch.relu(layer.bn(layer.conv(x, None)))
        assert torch.allclose(layer(x, None), expected)


TEMPORAL_CASES = [
    ('plain', lambda s: PlainTemporalLayer(8, kernel_size=3, stride=s)),
    ('plain-k9', lambda s: PlainTemporalLayer(8, kernel_size=9, stride=s)),
    ('ms', lambda s: MultiScaleTemporalLayer(8, scales=4, kernel_size=3, stride=s)),
    ('ms-sep', lambda s: MultiScaleTemporalLayer(8, scales=2, kernel_size=5, stride=s,
                                                 layer_type='sep', expand_ratio=2)),
    ('bottle-1', lambda s: BottleneckTemporalLayer(8, scales=1, kernel_size=3, stride=s)),
    ('bottle-4', lambda s: BottleneckTemporalLayer(8, scales=4, kernel_size=3, stride=s)),
    ('sep', lambda s: SeparableTemporalLayer(8, kernel_size=3, stride=s)),
    ('sep-expand', lambda s: SeparableTemporalLayer(8, kernel_size=3, stride=s,
                                                    expand_ratio=2, act='hswish')),
]


@pytest.mark.parametrize('stride,T,T_out', [(1, 7, 7), (2, 7, 4), (2, 8, 4)])
@pytest.mark.parametrize('name,make', TEMPORAL_CASES, ids=[c[0] for c in TEMPORAL_CASES])
def test_temporal_layer_shapes(name, make, stride, T, T_out):
    """Temporal layers keep the width and divide the frames by the stride (rounded up)."""
    torch.manual_seed(0)
    layer = make(stride).eval()
    out = layer(_x(8, T=T))
    assert out.shape == (2 * V, 8, T_out)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('T', [7, 8])
def test_strided_pointwise_is_the_strided_convolution(T, device):
    """A strided 1x1 convolution (the residual of a strided temporal layer), run as every
    stride-th frame then the 2-D kernel, equals torch's strided Conv1d: output and gradients."""
    torch.manual_seed(0)
    ours = temporal_conv(6, 10, kernel_size=1, stride=2).double().to(device)
    conv = torch.nn.Conv1d(6, 10, kernel_size=1, stride=2).double().to(device)
    conv.load_state_dict(ours.state_dict())
    x = torch.randn(5, 6, T, dtype=torch.float64, device=device)
    results = []
    for module in (ours, conv):
        xr = x.clone().requires_grad_()
        out = module(xr)
        (out * torch.arange(out.numel(), device=device).view_as(out)).sum().backward()
        results.append((out.detach(), xr.grad, module.weight.grad, module.bias.grad))
    assert results[0][0].shape == (5, 10, (T + 1) // 2)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_temporal_layers_act_per_node():
    """A temporal layer never mixes nodes: changing one node's series changes only that
    node's output."""
    layer = MultiScaleTemporalLayer(8, scales=4, kernel_size=3).eval()
    x = _x(8)
    y = x.clone()
    y[7] += 1.0
    with torch.no_grad():
        diff = (layer(x) - layer(y)).abs().sum(dim=(1, 2))
    assert diff[7] > 0 and diff.sum() == diff[7]


ATTENTION_GATES = {'stcja': (8, 6), 'stja': (8, 6), 'ca': (8, 1), 'fa': (1, 6),
                   'ja': (1, 1), 'pa': (8, 1)}


@pytest.mark.parametrize('kind', ATTENTIONS)
def test_attention_layers(kind):
    """Each attention keeps the shape; its gate broadcasts as documented; ja and pa gates are
    softmax weights over joints and body parts."""
    assert set(ATTENTION_GATES) == set(ATTENTIONS)
    torch.manual_seed(0)
    layer = AttentionLayer(8, kind, V, parts=NTU_RGB_D.parts).eval()
    x = _x(8)
    assert layer(x).shape == x.shape
    gate = layer.gate(x)
    assert gate.shape == (2 * V, *ATTENTION_GATES[kind])
    if kind == 'ja':
        assert torch.allclose(gate.view(2, V).sum(1), torch.ones(2))
    if kind == 'pa':
        per_joint = gate.view(2, V, 8)
        parts = NTU_RGB_D.parts
        # joints of a part share a weight; the part weights sum to 1 per channel
        for part in parts:
            assert torch.allclose(per_joint[:, list(part)], per_joint[:, [part[0]]]
                                  .expand(-1, len(part), -1))
        total = sum(per_joint[:, part[0]] for part in parts)
        assert torch.allclose(total, torch.ones(2, 8))
    if kind in ('stcja', 'stja', 'ca'):
        assert torch.all((gate > 0) & (gate < 1))
    # the layer is act(bn(x * gate) + x)
    with torch.no_grad():
        assert torch.allclose(layer(x), torch.relu(layer.bn(x * gate) + x), atol=1e-6)


def test_divisibility_errors():
    """Channels that do not split into the scales are refused clearly."""
    with pytest.raises(ValueError, match='MultiScaleGraphLayer: 6 channels cannot be split '
                                         'into 4 equal scales'):
        MultiScaleGraphLayer(6, 8, 'ntu', scales=4)
    with pytest.raises(ValueError, match='10 channels cannot be split'):
        MultiScaleGraphLayer(8, 10, 'ntu', scales=4)
    with pytest.raises(ValueError, match='cannot be split'):
        MultiScaleTemporalLayer(6, scales=4)
    with pytest.raises(ValueError, match='BottleneckGraphLayer: 4 channels cannot be split '
                                         'into 3'):
        BottleneckGraphLayer(8, 8, 'ntu', scales=3)
    with pytest.raises(ValueError, match='cannot be split'):
        BottleneckTemporalLayer(8, scales=3)
    with pytest.raises(ValueError, match='cannot be split'):
        MSTGCNBlock(6, 6, 'ntu', block_type='ms')
    with pytest.raises(ValueError, match='cannot be split'):
        MultiScaleGraphLayer(8, 8, 'ntu', scales=0)


def test_unknown_names_list_valid_ones():
    """Unknown attention, layer type, block type and activation names list the valid ones."""
    with pytest.raises(ValueError, match="unknown attention 'se'; valid names: stcja, stja, "
                                         "ca, fa, ja, pa"):
        AttentionLayer(8, 'se', V)
    with pytest.raises(ValueError, match="attention must be one of 'stcja', 'stja', 'ca', "
                                         r"'fa', 'ja', 'pa' or null \(got 'se'\)"):
        MSTGCNBlock(8, 8, 'ntu', attention='se')
    with pytest.raises(ValueError, match=r"part attention \('pa'\) needs body parts"):
        AttentionLayer(8, 'pa', V)
    with pytest.raises(ValueError, match="MultiScaleGraphLayer: unknown layer_type 'normal'; "
                                         "valid types: basic, sep"):
        MultiScaleGraphLayer(8, 8, 'ntu', layer_type='normal')
    with pytest.raises(ValueError, match="MultiScaleTemporalLayer: unknown layer_type 'dw'"):
        MultiScaleTemporalLayer(8, layer_type='dw')
    assert tuple(LAYER_TYPES) == ('basic', 'sep')
    with pytest.raises(ValueError, match="block_type must be one of 'basic', 'bottle', 'sep', "
                                         r"'ms', 'ms_bottle' \(got 'resnet'\)"):
        MSTGCNBlock(8, 8, 'ntu', block_type='resnet')
    with pytest.raises(ValueError, match="unknown activation 'gelu'; valid names: relu, "
                                         "hswish, swish"):
        activation('gelu')
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        PlainTemporalLayer(8, act='gelu')
    x = torch.linspace(-4, 4, 9)
    assert set(ACTIVATIONS) == {'relu', 'hswish', 'swish'}
    assert torch.allclose(activation('swish')(x), x * torch.sigmoid(x))
    assert torch.allclose(activation('hswish')(x), torch.nn.functional.hardswish(x))


BAD_OPTIONS = [
    ('block_type', 'msx', r"block_type must be one of 'basic', 'bottle', 'sep', 'ms', "
                          r"'ms_bottle' \(got 'msx'\)"),
    ('layer_type', 'normal', r"layer_type must be one of 'basic', 'sep' \(got 'normal'\)"),
    ('attention', 'se', r"attention must be one of 'stcja', 'stja', 'ca', 'fa', 'ja', 'pa' or "
                        r"null \(got 'se'\)"),
    ('s_scale', 0, r's_scale must be a positive integer \(got 0\)'),
    ('t_scale', 2.0, r't_scale must be a positive integer \(got 2.0\)'),
    ('kernel_size', 4, r'kernel_size must be a positive odd integer \(got 4\)'),
    ('kernel_size', True, r'kernel_size must be a positive odd integer \(got True\)'),
    ('reduct_ratio', -2, r'reduct_ratio must be a positive integer \(got -2\)'),
    ('expand_ratio', -1, r'expand_ratio must be a non-negative integer \(got -1\)'),
    ('act', 'gelu', r"act must be one of 'relu', 'hswish', 'swish' \(got 'gelu'\)"),
    ('bias', 'yes', r"bias must be true or false \(got 'yes'\)"),
    ('bias', 1, r'bias must be true or false \(got 1\)'),
    ('parts', [[0, 1], []], r'parts must be a list of body parts, each a non-empty list of '
                            r'joint indices or null \(got \[\[0, 1\], \[\]\]\)'),
    ('parts', [[0, -1]], r'parts must be a list of body parts'),
    ('parts', 'arms', r"parts must be a list of body parts.* \(got 'arms'\)"),
    ('adjacency', 'bones', r"adjacency must be one of 'full', 'skeleton' \(got 'bones'\)"),
    ('backend', 'cuda', r"backend must be one of 'dense', 'sparse' \(got 'cuda'\)"),
]


@pytest.mark.parametrize('name,value,message', BAD_OPTIONS,
                         ids=[f'{n}={v!r}' for n, v, _ in BAD_OPTIONS])
def test_block_options_refuse_bad_values(name, value, message):
    """A bad option is a one-line ValueError that starts with the option's name, says what is
    allowed and gives the value got, however the option arrives."""
    with pytest.raises(ValueError, match=message) as info:
        BlockOptions(**{name: value})
    assert str(info.value).startswith(f'{name} must be ') and '\n' not in str(info.value)
    with pytest.raises(ValueError, match=message):
        BlockOptions().replace(**{name: value})
    with pytest.raises(ValueError, match=message):
        MSTGCNBlock(8, 8, 'ntu', **{name: value})


def test_block_options_defaults_and_allowed_names():
    """The defaults are the original network's; every name of the tables is accepted (and a
    name added to a table at once); parts become a tuple of tuples; the options are frozen."""
    assert BlockOptions() == BlockOptions(
        block_type='ms', layer_type='basic', attention=None, s_scale=4, t_scale=4,
        kernel_size=9, reduct_ratio=2, expand_ratio=0, act='relu', bias=True, parts=None,
        adjacency='full', backend='dense')
    assert BlockOptions.names() == ('block_type', 'layer_type', 'attention', 's_scale',
                                    't_scale', 'kernel_size', 'reduct_ratio', 'expand_ratio',
                                    'act', 'bias', 'parts', 'adjacency', 'backend')
    for option, table in (('block_type', BLOCK_TYPES), ('layer_type', LAYER_TYPES),
                          ('attention', ATTENTIONS), ('act', ACTIVATIONS),
                          ('adjacency', ADJACENCY_MODES), ('backend', BACKENDS)):
        for name in table:
            assert getattr(BlockOptions(**{option: name}), option) == name
    options = BlockOptions(parts=[[0, 1], (2, )], s_scale=2)
    assert options.parts == ((0, 1), (2, ))
    assert options == BlockOptions(parts=((0, 1), (2, )), s_scale=2) and hash(options)
    assert options.to_dict()['parts'] == [[0, 1], [2]]
    assert options.replace(s_scale=8).s_scale == 8 and options.s_scale == 2
    with pytest.raises(AttributeError):
        options.s_scale = 8


def test_unknown_option_names_suggest_the_closest():
    """Unknown option names are named with the closest valid one and the valid list."""
    with pytest.raises(ValueError, match=r"^BlockOptions: unknown option 'atention' \(did you "
                                         r"mean 'attention'\?\); valid options: block_type, "
                                         r"layer_type, attention, s_scale"):
        BlockOptions.from_kwargs(atention='stcja')
    with pytest.raises(ValueError, match=r"unknown options 'kernel' \(did you mean "
                                         r"'kernel_size'\?\), 'zzz'; valid options: "):
        MSTGCNBlock(8, 8, 'ntu', kernel=3, zzz=1)
    assert BlockOptions.from_kwargs(attention='ca') == BlockOptions(attention='ca')


def test_block_takes_options_and_keywords():
    """MSTGCNBlock takes a BlockOptions, keywords, or both (keywords win), and keeps the
    result as .options; the same options give the same block."""
    options = BlockOptions(block_type='bottle', kernel_size=3, attention='ca')
    torch.manual_seed(0)
    a = MSTGCNBlock(8, 16, 'ntu', stride=2, options=options)
    torch.manual_seed(0)
    b = MSTGCNBlock(8, 16, 'ntu', stride=2, block_type='bottle', kernel_size=3,
                    attention='ca')
    assert a.options == b.options == options
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    c = MSTGCNBlock(8, 16, 'ntu', options=options, attention=None)
    assert c.attention is None and isinstance(c.spatial, BottleneckGraphLayer)
    assert c.options == options.replace(attention=None)
    with pytest.raises(ValueError, match=r'options must be a BlockOptions \(got dict\)'):
        MSTGCNBlock(8, 8, 'ntu', options={'block_type': 'ms'})


BLOCK_LAYERS = {'basic': (PlainGraphLayer, PlainTemporalLayer, None),
                'bottle': (BottleneckGraphLayer, BottleneckTemporalLayer, 1),
                'sep': (SeparableGraphLayer, SeparableTemporalLayer, None),
                'ms': (MultiScaleGraphLayer, MultiScaleTemporalLayer, 4),
                'ms_bottle': (BottleneckGraphLayer, BottleneckTemporalLayer, 4)}


def test_tables_build_with_keywords_only():
    """The factories of BLOCK_TYPES and LAYER_TYPES refuse positional arguments (so a moved
    argument cannot land in the wrong place) and build the layers their names say."""
    assert set(BLOCK_LAYERS) == set(BLOCK_TYPES)
    A = spatial_partition('ntu')
    options = BlockOptions(kernel_size=3)
    for name, layers in BLOCK_TYPES.items():
        with pytest.raises(TypeError):
            layers.spatial(8, 16, A, True, options)
        with pytest.raises(TypeError):
            layers.temporal(16, 2, True, options)
        spatial = layers.spatial(in_channels=8, out_channels=16, partition=A, residual=True,
                                 options=options)
        temporal = layers.temporal(channels=16, stride=2, residual=True, options=options)
        spatial_cls, temporal_cls, scales = BLOCK_LAYERS[name]
        assert type(spatial) is spatial_cls and type(temporal) is temporal_cls
        assert spatial.out_channels == 16 and temporal.channels == 16
        if scales is not None:
            assert len(spatial.scales) == len(temporal.scales) == scales
    for name, branches in LAYER_TYPES.items():
        with pytest.raises(TypeError):
            branches.spatial(4, 4, A, 0, 'relu')
        with pytest.raises(TypeError):
            branches.temporal(4, 3, 1, 0, 'relu')
        spatial = branches.spatial(in_channels=4, out_channels=4, layout=A, expand_ratio=0,
                                   act='relu', backend='sparse')
        temporal = branches.temporal(channels=4, kernel_size=3, stride=1, expand_ratio=0,
                                     act='relu')
        assert spatial.conv.backend == 'sparse'
        assert (type(temporal) is SeparableTemporalLayer) == (name == 'sep')


def test_attentions_take_only_the_arguments_they_name(monkeypatch):
    """ATTENTIONS maps names to classes (stja: stcja without the channel term); each is given
    only the arguments its signature names, so a new entry needs no catch-all."""
    available = {'channels', 'num_joints', 'parts', 'reduct_ratio', 'bias'}
    for kind, make in ATTENTIONS.items():
        named = set(inspect.signature(make).parameters)
        assert named & available and named - available <= {'channel_term'}, kind
    assert make_attention('stcja', 8, V).conv_c is not None
    assert make_attention('stja', 8, V).conv_c is None

    class UniformGate(torch.nn.Module):
        def __init__(self, num_joints):
            super().__init__()
            self.num_joints = num_joints

        def forward(self, x):
            return torch.ones_like(x[:, :1, :1])

    monkeypatch.setitem(ATTENTIONS, 'uniform', UniformGate)
    block = MSTGCNBlock(8, 8, 'ntu', attention='uniform', kernel_size=3)
    assert isinstance(block.attention.gate, UniformGate) and block.attention.gate.num_joints == V


def test_plain_temporal_layer_convolution():
    """The plain temporal layer's convolution comes from temporal_conv: a Conv1d with 'same'
    padding, keys conv.weight and conv.bias."""
    layer = PlainTemporalLayer(8, kernel_size=5, stride=2)
    assert type(layer.conv) is torch.nn.Conv1d
    assert layer.conv.padding == (2, ) and layer.conv.stride == (2, )
    assert {'conv.weight', 'conv.bias'} <= set(layer.state_dict())
    assert layer.conv.weight.shape == (8, 8, 5)


def test_layer_input_checks():
    """Composite layers name themselves when the input width is wrong."""
    with pytest.raises(ValueError, match=r'MultiScaleGraphLayer: expected node features of '
                                         r'shape \[num_nodes, 8 channels'):
        MultiScaleGraphLayer(8, 8, 'ntu')(_x(4), None)
    with pytest.raises(ValueError, match=r'PlainTemporalLayer: expected node features'):
        PlainTemporalLayer(8)(_x(4))
    with pytest.raises(ValueError, match=r'AttentionLayer: expected node features'):
        AttentionLayer(8, 'ca', V)(_x(4))
    with pytest.raises(ValueError, match='attention: 49 nodes do not form skeleton instances '
                                         'of 25 joints'):
        AttentionLayer(8, 'ja', V)(torch.randn(49, 8, 4))


def randomize_(module, seed):
    """Random weights, adjacency offsets and batch-norm statistics, so eval-mode outputs
    exercise every parameter."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
        for sub in module.modules():
            if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
                sub.running_mean.copy_(torch.randn(sub.running_mean.shape, generator=gen) * 0.1)
                sub.running_var.copy_(torch.rand(sub.running_var.shape, generator=gen) + 0.5)
                sub.weight.copy_(torch.rand(sub.weight.shape, generator=gen) + 0.5)
    return module


BLOCK_CASES = [(b, layer) for b in BLOCK_TYPES
               for layer in (LAYER_TYPES if b == 'ms' else ('basic', ))]


@pytest.mark.parametrize('attention', [None, *ATTENTIONS])
@pytest.mark.parametrize('block_type,layer_type', BLOCK_CASES,
                         ids=[f'{b}-{layer}' for b, layer in BLOCK_CASES])
def test_block(block_type, layer_type, attention, device):
    """Every block type x attention: [N, 8, T] -> [N, 16, T / 2] for both backends and both
    adjacency modes, with dense == sparse in eval mode (float64)."""
    num_instances, T = 2, 6
    N = num_instances * V
    x = torch.randn(N, 8, T, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(3)).to(device)
    for adjacency in ('full', 'skeleton'):
        edge_index, template = (t.to(device) for t in support_graph(adjacency, num_instances))
        outputs = []
        for backend in ('dense', 'sparse'):
            torch.manual_seed(0)
            block = MSTGCNBlock(8, 16, 'ntu', stride=2, block_type=block_type,
                                layer_type=layer_type, attention=attention, kernel_size=3,
                                adjacency=adjacency, backend=backend)
            block = randomize_(block, seed=1).double().to(device).eval()
            assert (block.attention is None) == (attention is None)
            with torch.no_grad():
                out = block(x, edge_index, template)
            assert out.shape == (N, 16, T // 2)
            assert torch.isfinite(out).all()
            outputs.append(out)
        assert outputs[0].abs().max() > 0
        assert torch.allclose(outputs[0], outputs[1], atol=1e-9, rtol=1e-7), \
            (outputs[0] - outputs[1]).abs().max()
    # train mode runs too and keeps the shape
    block.train()
    assert block(x, edge_index, template).shape == (N, 16, T // 2)
