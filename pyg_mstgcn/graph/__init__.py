"""Skeleton layouts, the spatial partition of the original network, the edge sets of
skeleton batches, and the mappings between pose layouts."""
from pyg_mstgcn.graph.edges import full_edges, support_edges
from pyg_mstgcn.graph.layout import (COCO, LAYOUTS, NTU_RGB_D, NW_UCLA, OPENPOSE, SkeletonLayout,
                                     get_layout)
from pyg_mstgcn.graph.mapping import (MAPPINGS, POSE_LAYOUTS, KeypointMapping, describe_mappings,
                                      map_keypoints, mapping_path, num_pose_joints,
                                      pose_joint_names, pose_layout_names)
from pyg_mstgcn.graph.partition import SUBSETS, skeleton_edges, spatial_partition

__all__ = [
    'SkeletonLayout', 'get_layout', 'LAYOUTS', 'NTU_RGB_D', 'OPENPOSE', 'COCO', 'NW_UCLA',
    'SUBSETS', 'spatial_partition', 'skeleton_edges', 'support_edges', 'full_edges',
    'POSE_LAYOUTS', 'pose_layout_names', 'pose_joint_names', 'num_pose_joints',
    'KeypointMapping', 'MAPPINGS', 'describe_mappings', 'mapping_path', 'map_keypoints',
]
