"""The graphs of the graph-convolution sweep: the real skeleton layouts, synthetic trees of
whole-body and larger sizes, and the same graphs made denser with random extra bones."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import List, Tuple

import numpy as np
import torch
from torch import Tensor

from pyg_mstgcn.graph import SkeletonLayout, get_layout, spatial_partition

ADJACENCY_FULL = 'full'
ADJACENCY_SKELETON = 'skeleton'


@dataclass(frozen=True)
class BenchGraph:
    """A skeleton layout with the adjacency mode the convolution learns on it. The support
    (the joint pairs a message may cross) is the layout's bones and self-loops for
    ``'skeleton'``, every pair for ``'full'``; :obj:`extra_bones` counts the random bones
    added to a skeleton to make it denser."""
    name: str
    layout: SkeletonLayout
    adjacency: str
    extra_bones: int = 0

    @property
    def skeleton_only(self) -> bool:
        """Messages cross only the skeleton's own bones (and self-loops)."""
        return self.adjacency == ADJACENCY_SKELETON and self.extra_bones == 0

    @property
    def num_joints(self) -> int:
        return self.layout.num_joints

    @cached_property
    def partition(self) -> Tensor:
        return spatial_partition(self.layout)

    @cached_property
    def support(self) -> Tensor:
        if self.adjacency == ADJACENCY_FULL:
            return torch.ones(self.num_joints, self.num_joints, dtype=torch.bool)
        return self.partition.abs().sum(dim=0) != 0

    @property
    def density(self) -> float:
        """Fraction of the :math:`V^2` joint pairs in the support."""
        return float(self.support.float().mean())


def layout_graph(name: str, adjacency: str = ADJACENCY_SKELETON) -> BenchGraph:
    """A registered layout (``'coco'``, ``'openpose'``, ``'ntu-rgb+d'``)."""
    layout = get_layout(name)
    return BenchGraph(f'{layout.name}-{layout.num_joints}', layout, adjacency)


def tree_edges(num_joints: int, seed: int = 0) -> List[Tuple[int, int]]:
    """A random skeleton-like tree: mostly chains (each joint usually hangs on the previous
    one, as along a limb or a finger) with a branch now and then."""
    rng = np.random.default_rng(seed)
    edges = []
    for joint in range(1, num_joints):
        parent = joint - 1 if rng.random() < 0.8 else int(rng.integers(0, joint))
        edges.append((parent, joint))
    return edges


def tree_graph(num_joints: int, seed: int = 0) -> BenchGraph:
    """A synthetic tree layout of :obj:`num_joints` joints (skeleton-only adjacency)."""
    layout = SkeletonLayout.from_edges(tree_edges(num_joints, seed), center=0,
                                       num_joints=num_joints, name=f'tree-{num_joints}')
    return BenchGraph(layout.name, layout, ADJACENCY_SKELETON)


def densified(graph: BenchGraph, density: float, seed: int = 0) -> BenchGraph:
    """:obj:`graph` with random extra bones until its support covers :obj:`density` of the
    joint pairs; a density of 1 is the ``'full'`` adjacency on the same layout."""
    if density >= 1.0:
        return BenchGraph(graph.name, graph.layout, ADJACENCY_FULL)
    V = graph.num_joints
    bones = {tuple(sorted(pair)) for pair in graph.layout.inward}
    # each extra bone adds two directed pairs to the support of V self-loops + 2 per bone
    wanted = int(round((density * V * V - V) / 2)) - len(bones)
    if wanted <= 0:
        return graph
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(V, k=1)
    free = [(int(i), int(j)) for i, j in zip(a, b) if (int(i), int(j)) not in bones]
    extra = [free[k] for k in rng.choice(len(free), size=min(wanted, len(free)),
                                         replace=False)]
    layout = SkeletonLayout.from_edges(sorted(bones) + extra, center=graph.layout.center,
                                       num_joints=V, name=graph.layout.name)
    return BenchGraph(graph.name, layout, ADJACENCY_SKELETON, extra_bones=len(extra))
