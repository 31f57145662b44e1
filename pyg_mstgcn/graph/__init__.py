"""Skeleton layouts and the spatial partition of the original network."""
from pyg_mstgcn.graph.layout import COCO, LAYOUTS, NTU_RGB_D, OPENPOSE, SkeletonLayout, get_layout
from pyg_mstgcn.graph.partition import SUBSETS, skeleton_edges, spatial_partition

__all__ = [
    'SkeletonLayout', 'get_layout', 'LAYOUTS', 'NTU_RGB_D', 'OPENPOSE', 'COCO',
    'SUBSETS', 'spatial_partition', 'skeleton_edges',
]
