"""Skeleton layouts, the spatial partition of the original network, and the edge sets of
skeleton batches."""
from pyg_mstgcn.graph.edges import full_edges, support_edges
from pyg_mstgcn.graph.layout import COCO, LAYOUTS, NTU_RGB_D, OPENPOSE, SkeletonLayout, get_layout
from pyg_mstgcn.graph.partition import SUBSETS, skeleton_edges, spatial_partition

__all__ = [
    'SkeletonLayout', 'get_layout', 'LAYOUTS', 'NTU_RGB_D', 'OPENPOSE', 'COCO',
    'SUBSETS', 'spatial_partition', 'skeleton_edges', 'support_edges', 'full_edges',
]
