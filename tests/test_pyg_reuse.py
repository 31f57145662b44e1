"""Reuse in PyG: the MST-GCN layers on a task that has nothing to do with skeletons.

A network of 12 sensors (a fixed random undirected graph) records two-channel time series of
16 frames. In each sample a source sensor emits a wave, damped with the graph distance from
the source; its frequency (slow or fast) is the class. The partition is built by hand as a
[K=3, V, V] tensor (identity, and the symmetric-normalised adjacency split into its lower-to-
higher and higher-to-lower index halves), the model is a plain
:class:`torch_geometric.nn.Sequential` of our layers, PyG pooling and a linear layer, and the
data come through a standard PyG :class:`~torch_geometric.loader.DataLoader`.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import Sequential, global_mean_pool
from torch_geometric.utils import to_undirected

from pyg_mstgcn.nn import MultiScaleGraphLayer, MultiScaleTemporalLayer, SpatialGraphConv

NUM_SENSORS, CHANNELS, FRAMES = 12, 2, 16


def sensor_graph(seed=0):
    """A connected random undirected graph: a ring plus random chords. Returns its
    edge_index (both directions, no self-loops) and hop distances between sensors."""
    gen = torch.Generator().manual_seed(seed)
    V = NUM_SENSORS
    ring = torch.stack([torch.arange(V), (torch.arange(V) + 1) % V])
    chords = torch.randint(0, V, (2, 6), generator=gen)
    chords = chords[:, chords[0] != chords[1]]
    edge_index = to_undirected(torch.cat([ring, chords], dim=1), num_nodes=V)
    adj = torch.zeros(V, V, dtype=torch.bool)
    adj[edge_index[0], edge_index[1]] = True
    dist = torch.full((V, V), V, dtype=torch.long)
    dist[torch.eye(V, dtype=torch.bool)] = 0
    for hop in range(1, V):  # breadth-first by boolean matrix powers
        reached = (dist < hop).float() @ adj.float() > 0
        dist[reached & (dist == V)] = hop
    return edge_index, dist


def sensor_partition(edge_index):
    """[I, lower->higher half of D^-1/2 A D^-1/2, higher->lower half]: A[k, v, w] weighs the
    message from sensor v to sensor w, as in the skeleton partition."""
    V = NUM_SENSORS
    A = torch.zeros(V, V)
    A[edge_index[0], edge_index[1]] = 1.0
    d = A.sum(0).rsqrt()
    norm = d[:, None] * A * d[None, :]
    up = torch.triu(norm, diagonal=1)    # v < w
    down = torch.tril(norm, diagonal=-1)  # v > w
    return torch.stack([torch.eye(V), up, down])


def make_dataset(num_samples, edge_index, dist, seed=0):
    """Samples whose class is the frequency of a damped wave from a random source sensor."""
    gen = torch.Generator().manual_seed(seed)
    V = NUM_SENSORS
    graph = torch.cat([edge_index, torch.arange(V).repeat(2, 1)], dim=1)  # + self-loops
    t = torch.arange(FRAMES, dtype=torch.float)
    data_list = []
    for i in range(num_samples):
        label = i % 2
        cycles = 1.0 if label == 0 else 4.0
        source = int(torch.randint(0, V, (1, ), generator=gen))
        phase = float(torch.rand(1, generator=gen)) * 2 * math.pi
        amplitude = torch.exp(-dist[source].float())                      # [V]
        angle = 2 * math.pi * cycles * t / FRAMES + phase - dist[source, :, None] * 0.5
        wave = torch.stack([torch.sin(angle), torch.cos(angle)], dim=1)    # [V, 2, T]
        x = amplitude[:, None, None] * wave + 0.3 * torch.randn(V, CHANNELS, FRAMES,
                                                                 generator=gen)
        data_list.append(Data(x=x, edge_index=graph, y=torch.tensor([label])))
    return data_list


def build_model(partition, backend='sparse'):
    """SpatialGraphConv -> MS-GC -> MT-GC -> mean over time -> mean per graph -> linear."""
    conv = dict(adjacency='skeleton', backend=backend)
    return Sequential('x, edge_index, batch', [
        (SpatialGraphConv(CHANNELS, 8, partition, **conv), 'x, edge_index -> x'),
        nn.ReLU(),
        (MultiScaleGraphLayer(8, 8, partition, scales=2, **conv), 'x, edge_index -> x'),
        (MultiScaleTemporalLayer(8, scales=2, kernel_size=5), 'x -> x'),
        (lambda x: x.mean(dim=2), 'x -> x'),
        (global_mean_pool, 'x, batch -> x'),
        nn.Linear(8, 2),
    ])


def test_sensor_partition_is_a_valid_layout():
    """The hand-built partition has the shape and support the layers expect."""
    edge_index, dist = sensor_graph()
    A = sensor_partition(edge_index)
    assert A.shape == (3, NUM_SENSORS, NUM_SENSORS)
    assert torch.equal(A[0], torch.eye(NUM_SENSORS))
    assert torch.allclose(A[1] + A[2], (A[1] + A[2]).t())   # halves of a symmetric matrix
    assert int((A[1:] != 0).sum()) == edge_index.size(1)    # one entry per directed edge
    assert int(dist.max()) < NUM_SENSORS                     # connected
    conv = SpatialGraphConv(CHANNELS, 4, A, adjacency='skeleton', backend='sparse')
    assert conv.adjacency.B.shape == (3, NUM_SENSORS + edge_index.size(1))
    assert str(conv).startswith('SpatialGraphConv(2, 4, joints=12, subsets=3')


def test_backends_agree_on_sensor_graphs():
    """On batched sensor graphs the sparse model (message passing over edge_index) and the
    dense one compute the same function."""
    edge_index, dist = sensor_graph()
    A = sensor_partition(edge_index)
    torch.manual_seed(0)
    sparse = build_model(A, 'sparse').double().eval()
    dense = build_model(A, 'dense').double().eval()
    dense.load_state_dict(sparse.state_dict())
    batch = next(iter(DataLoader(make_dataset(6, edge_index, dist), batch_size=6)))
    x = batch.x.double()
    with torch.no_grad():
        out_sparse = sparse(x, batch.edge_index, batch.batch)
        out_dense = dense(x, batch.edge_index, batch.batch)
    assert out_sparse.shape == (6, 2)
    assert torch.allclose(out_sparse, out_dense, atol=1e-10)


def test_training_on_sensor_graphs():
    """A few dozen Adam steps with the sparse backend clearly reduce the loss and classify the
    training set well above chance."""
    torch.manual_seed(0)
    edge_index, dist = sensor_graph()
    A = sensor_partition(edge_index)
    data_list = make_dataset(64, edge_index, dist, seed=1)
    loader = DataLoader(data_list, batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model = build_model(A, 'sparse')
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    model.train()
    for _ in range(12):
        for batch in loader:
            assert batch.x.shape == (batch.num_graphs * NUM_SENSORS, CHANNELS, FRAMES)
            optimizer.zero_grad()
            logits = model(batch.x, batch.edge_index, batch.batch)
            assert logits.shape == (batch.num_graphs, 2)
            loss = F.cross_entropy(logits, batch.y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert len(losses) == 48
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.7 * first, (first, last)
    model.eval()
    correct = 0
    with torch.no_grad():
        for batch in DataLoader(data_list, batch_size=32):
            pred = model(batch.x, batch.edge_index, batch.batch).argmax(dim=1)
            correct += int((pred == batch.y).sum())
    assert correct / len(data_list) > 0.8
    # the learnable sensor adjacency moved away from its start, on the graph's support only
    conv = model[0]
    assert not torch.allclose(conv.adjacency.B, conv.adjacency.A[:, conv.adjacency.support])
