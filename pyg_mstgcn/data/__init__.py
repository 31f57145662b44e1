r"""Skeleton sequences as PyTorch Geometric spatio-temporal graphs.

**The representation** (used everywhere in this library). A sequence of :math:`T` frames of
:math:`M` persons with :math:`V` joints and :math:`C` coordinates is one
:class:`~torch_geometric.data.Data`:

- ``x``: ``[M * V, C, T]`` node features. Nodes are the (person, joint) slots, person-major:
  node ``m * V + v`` is joint ``v`` of person ``m``. There are always :math:`M \times V`
  nodes; an absent person is all zeros, as in the original. Time stays a feature axis, so
  temporal convolutions run along each node's own time axis.
- ``edge_index``: ``[2, M * E]`` the layout's directed edges (bones both ways and
  self-loops: every non-zero entry of the spatial partition) for every person, source first.
- ``edge_template``: ``[M * E]`` each edge's joint pair ``v * V + w`` (source joint
  :math:`v`, target joint :math:`w`), the entry of the :math:`V \times V` adjacency that
  weighs it.
- ``edge_subset``: ``[M * E]`` the partition subset of each edge (0 identity, 1 inward,
  2 outward).
- ``y``: ``[1]`` the action label (optional); ``num_person``: :math:`M`.

Batching is plain PyG collation (:class:`~torch_geometric.loader.DataLoader`,
:meth:`Batch.from_data_list`): ``x`` becomes ``[N * M * V, C, T]``, block-diagonal graphs,
``edge_index`` shifted per graph. Viewed as ``[N * M, V, C, T]``, the nodes are the skeleton
instances of the original's ``(N * M, C, T, V)`` tensor, so the dense ``[N, C, T, V, M]``
layout converts both ways with :func:`from_dense` and :func:`to_dense`.

Datasets yield this ``Data`` with ``name`` (the sample's name) and ``sample_idx`` (its
position in the dataset) as well: over preprocessed arrays in the original layout
(:class:`SkeletonArrayDataset`) or PYSKL/mmaction2 annotation pickles
(:class:`PoseAnnotationDataset`), with the bone and motion streams computed on the fly
(:func:`make_stream`) and augmentation as small named transforms (:func:`build_transforms`).
"""
from pyg_mstgcn.data.datasets import SkeletonArrayDataset, SkeletonDataset
from pyg_mstgcn.io import read_labels  # the label file format, defined with the others
from pyg_mstgcn.data.pyskl import PoseAnnotationDataset
from pyg_mstgcn.data.ctrgcn import CTRGCNDataset
from pyg_mstgcn.data.skeleton import from_dense, skeleton_graph, to_dense
from pyg_mstgcn.graph import full_edges, support_edges  # graph-level; kept here for old imports
from pyg_mstgcn.data.streams import STREAMS, bone, make_stream, motion
from pyg_mstgcn.data.synthetic import make_synthetic
from pyg_mstgcn.data.transforms import (TRANSFORMS, Compose, Transform, build_transforms,
                                        feeder_transforms)

__all__ = [
    'skeleton_graph', 'from_dense', 'to_dense', 'full_edges', 'support_edges',
    'bone', 'motion', 'make_stream', 'STREAMS',
    'SkeletonDataset', 'SkeletonArrayDataset', 'PoseAnnotationDataset', 'CTRGCNDataset',
    'read_labels',
    'make_synthetic',
    'Transform', 'Compose', 'TRANSFORMS', 'build_transforms', 'feeder_transforms',
]
