"""Skeleton sequences as PyG graphs: node order, edges, batching and the dense round trip."""
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from pyg_mstgcn.data import (from_dense, full_edges, skeleton_graph, support_edges,
                             to_dense)
from pyg_mstgcn.graph import SkeletonLayout, get_layout, skeleton_edges, spatial_partition

V_NTU = 25
E_NTU = 25 + 2 * 24  # self-loops and bones both ways


def _sequence(C=3, T=4, V=V_NTU, M=2, seed=0):
    return torch.randn(C, T, V, M, generator=torch.Generator().manual_seed(seed))


def test_skeleton_graph_attributes():
    """One sequence [C, T, V, M] becomes M * V nodes with [C, T] features, M copies of the
    layout's edges, a label and the person count."""
    x = _sequence()
    data = skeleton_graph(x, 'ntu', y=7, name='S001')
    assert isinstance(data, Data)
    assert data.x.shape == (2 * V_NTU, 3, 4)
    assert data.num_nodes == 2 * V_NTU
    assert data.edge_index.shape == (2, 2 * E_NTU)
    assert data.edge_subset.shape == data.edge_template.shape == (2 * E_NTU, )
    assert data.y.tolist() == [7] and data.y.dtype == torch.long
    assert data.num_person == 2 and data.name == 'S001'
    assert skeleton_graph(x, 'ntu').y is None
    data.validate(raise_on_error=True)


def test_node_ordering():
    """Node m * V + v holds joint v of person m: x[n] == seq[:, :, v, m]."""
    x = torch.arange(3 * 4 * V_NTU * 2, dtype=torch.float).view(3, 4, V_NTU, 2)
    data = skeleton_graph(x, 'ntu')
    for m in range(2):
        for v in (0, 7, 20, 24):
            assert torch.equal(data.x[m * V_NTU + v], x[:, :, v, m])
    # a hand-checked value: channel 1, frame 2, joint 3, person 1
    assert data.x[1 * V_NTU + 3, 1, 2] == x[1, 2, 3, 1] == ((1 * 4 + 2) * V_NTU + 3) * 2 + 1


def test_edges_repeat_per_person_with_offsets():
    """edge_index holds the layout's edges once per person, shifted by m * V."""
    edge_index, edge_subset = skeleton_edges('ntu')
    M = 3
    data = skeleton_graph(_sequence(M=M), 'ntu')
    assert data.edge_index.shape == (2, M * E_NTU)
    for m in range(M):
        block = data.edge_index[:, m * E_NTU:(m + 1) * E_NTU]
        assert torch.equal(block, edge_index + m * V_NTU)
        assert torch.equal(data.edge_subset[m * E_NTU:(m + 1) * E_NTU], edge_subset)
    # no edge crosses persons
    assert torch.equal(data.edge_index[0] // V_NTU, data.edge_index[1] // V_NTU)
    # bone 1 -> 0 (1-based 2 -> 1) exists for the third person, inward subset: A[1, 1, 0] != 0
    hits = ((data.edge_index[0] == 2 * V_NTU + 1) & (data.edge_index[1] == 2 * V_NTU + 0))
    assert int(hits.sum()) == 1


@pytest.mark.parametrize('layout', ['ntu-rgb+d', 'openpose', 'coco'])
def test_edge_template_and_subset_match_the_partition(layout):
    """edge_template is v * V + w of the local joints and edge_subset the subset whose A entry
    at (v, w) is non-zero."""
    V = get_layout(layout).num_joints
    A = spatial_partition(layout)
    data = skeleton_graph(torch.randn(2, 3, V, 2), layout)
    src, dst = data.edge_index % V
    assert torch.equal(data.edge_template, src * V + dst)
    assert torch.all(A[data.edge_subset, src, dst] != 0)
    assert int((A != 0).sum()) * 2 == data.edge_index.size(1)


def test_dense_round_trip():
    """from_dense then to_dense gives back the dense batch exactly; labels come along."""
    x = torch.randn(3, 3, 5, V_NTU, 2)
    batch = from_dense(x, 'ntu', labels=[4, 0, 9])
    assert isinstance(batch, Batch)
    assert batch.num_graphs == 3
    assert batch.x.shape == (3 * 2 * V_NTU, 3, 5)
    assert batch.y.tolist() == [4, 0, 9]
    assert torch.equal(to_dense(batch, V_NTU), x)
    # the graphs are the single-sequence graphs in order
    for n in range(3):
        assert torch.equal(batch.get_example(n).x, skeleton_graph(x[n], 'ntu').x)
    # and one Data round-trips too
    assert torch.equal(to_dense(skeleton_graph(x[1], 'ntu'), V_NTU), x[1:2])


def test_dense_round_trip_one_person_custom_layout():
    """A custom 4-joint layout with one person: node n is joint n of the only person."""
    layout = SkeletonLayout.from_edges([(0, 1), (1, 2), (1, 3)], center=1)
    x = torch.randn(2, 2, 6, 4, 1)
    batch = from_dense(x, layout)
    assert batch.x.shape == (8, 2, 6)
    assert torch.equal(batch.x[5], x[1, :, :, 1, 0])
    assert torch.equal(to_dense(batch, 4), x)


def _graphs(num, M=2, T=4):
    return [skeleton_graph(_sequence(T=T, M=M, seed=i), 'ntu', y=i) for i in range(num)]


def test_batch_shifts_edge_index_not_edge_template():
    """Batch.from_data_list shifts edge_index by the node offsets and concatenates
    edge_template and edge_subset as they are."""
    graphs = _graphs(3)
    batch = Batch.from_data_list(graphs)
    n = 2 * V_NTU
    E = 2 * E_NTU
    assert batch.edge_index.shape == (2, 3 * E)
    for i, g in enumerate(graphs):
        assert torch.equal(batch.edge_index[:, i * E:(i + 1) * E], g.edge_index + i * n)
    assert torch.equal(batch.edge_template, torch.cat([g.edge_template for g in graphs]))
    assert torch.equal(batch.edge_subset, torch.cat([g.edge_subset for g in graphs]))
    assert batch.edge_template.max() < V_NTU * V_NTU
    assert batch.batch.tolist() == sum([[i] * n for i in range(3)], [])
    assert batch.num_person.tolist() == [2, 2, 2]
    assert torch.equal(batch.x, torch.cat([g.x for g in graphs]))


def test_dataloader_batches():
    """A PyG DataLoader yields the same batches as Batch.from_data_list, and the dense view of
    each batch is the stacked sequences."""
    graphs = _graphs(5)
    loader = DataLoader(graphs, batch_size=2, shuffle=False)
    batches = list(loader)
    assert [b.num_graphs for b in batches] == [2, 2, 1]
    last = batches[-1]
    assert torch.equal(last.edge_index, graphs[4].edge_index)
    second = batches[1]
    assert second.y.tolist() == [2, 3]
    assert torch.equal(second.edge_index[:, 2 * E_NTU:], graphs[3].edge_index + 2 * V_NTU)
    assert torch.equal(second.edge_template, graphs[2].edge_template.repeat(2))
    dense = to_dense(second, V_NTU)
    assert torch.equal(dense, torch.stack([_sequence(seed=2), _sequence(seed=3)]))


def test_full_edges():
    """full_edges connects every ordered joint pair (self-loops included) within each
    instance, sorted by target, with template v * V + w."""
    V = 4
    edge_index, template = full_edges(3 * V, V)
    assert edge_index.shape == (2, 3 * V * V) and template.shape == (3 * V * V, )
    src, dst = edge_index
    assert torch.all(dst[1:] >= dst[:-1])
    assert torch.equal(src // V, dst // V)
    assert torch.equal(template, (src % V) * V + dst % V)
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert len(pairs) == 3 * V * V
    assert (0, 3) in pairs and (3, 0) in pairs and (5, 5) in pairs and (3, 4) not in pairs
    # first instance, target 0: sources 0..3
    assert edge_index[:, :V].tolist() == [[0, 1, 2, 3], [0, 0, 0, 0]]


def test_support_edges_match_the_skeleton_graph():
    """The layout's support repeated per instance gives exactly the edges of
    skeleton_graph (same order), and a remainder of nodes or a non-square support is refused."""
    data = skeleton_graph(_sequence(), 'ntu-rgb+d')
    support = spatial_partition('ntu-rgb+d').abs().sum(dim=0) != 0
    edge_index, template = support_edges(support, data.num_nodes)
    assert torch.equal(edge_index, data.edge_index)
    assert torch.equal(template, data.edge_template)
    with pytest.raises(ValueError, match='51 nodes do not form skeleton instances of 25'):
        support_edges(support, 51)
    with pytest.raises(ValueError, match=r'square \[V, V\]'):
        support_edges(support[:, :3], 50)


def test_shape_errors():
    """Wrong shapes are refused with the expected shape in the message."""
    with pytest.raises(ValueError, match=r'expected a skeleton sequence of shape \[C, T, 25 '
                                         r"joints of layout 'ntu-rgb\+d', M\] \(got \[3, 4, "
                                         r'18, 2\]\)'):
        skeleton_graph(torch.randn(3, 4, 18, 2), 'ntu')
    with pytest.raises(ValueError, match='expected a skeleton sequence'):
        skeleton_graph(torch.randn(3, 4, 25), 'ntu')
    with pytest.raises(ValueError, match=r'expected a dense batch of shape \[N, C, T, V, M\]'):
        from_dense(torch.randn(3, 4, 25, 2), 'ntu')
    with pytest.raises(ValueError, match='got 1 labels for 2 sequences'):
        from_dense(torch.randn(2, 3, 4, 25, 2), 'ntu', labels=[1])
    with pytest.raises(ValueError, match='unknown skeleton layout'):
        skeleton_graph(torch.randn(3, 4, 25, 2), 'ntu25')
    batch = from_dense(torch.randn(2, 3, 4, 25, 2), 'ntu')
    with pytest.raises(ValueError, match='100 nodes do not form graphs of 2 persons x 18 '
                                         'joints'):
        to_dense(batch, 18)
    mixed = Batch.from_data_list([skeleton_graph(torch.randn(3, 4, 25, 1), 'ntu'),
                                  skeleton_graph(torch.randn(3, 4, 25, 2), 'ntu')])
    with pytest.raises(ValueError, match='same number of persons'):
        to_dense(mixed, 25)
