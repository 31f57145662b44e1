"""A standing rest pose for each built-in layout, in the drawing plane: where to draw a
layout's joints when there is no sequence to take them from (the learned connections of
``python -m pyg_mstgcn.visualize adjacency``).

Joints are found by name (:attr:`~pyg_mstgcn.graph.SkeletonLayout.joint_names`), so a custom
layout whose joints all have names of a built-in one gets its pose too.
"""
from __future__ import annotations

from typing import Dict, Tuple, Union

import numpy as np

from pyg_mstgcn.data.synthetic import REST_POSE
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.graph import NTU_RGB_D, SkeletonLayout, get_layout
from pyg_mstgcn.visualize.render import image_view, project

#: A person facing the camera in image coordinates (x right, y down, about 1.7 units tall,
#: arms slightly apart): the joints of the pose-estimator layouts (OpenPose-18, COCO-17).
IMAGE_POSE: Dict[str, Tuple[float, float]] = {
    'nose': (0.0, 0.10), 'neck': (0.0, 0.25),
    'right_eye': (-0.03, 0.07), 'left_eye': (0.03, 0.07),
    'right_ear': (-0.07, 0.09), 'left_ear': (0.07, 0.09),
    'right_shoulder': (-0.18, 0.27), 'left_shoulder': (0.18, 0.27),
    'right_elbow': (-0.28, 0.50), 'left_elbow': (0.28, 0.50),
    'right_wrist': (-0.34, 0.72), 'left_wrist': (0.34, 0.72),
    'right_hip': (-0.10, 0.80), 'left_hip': (0.10, 0.80),
    'right_knee': (-0.12, 1.20), 'left_knee': (0.12, 1.20),
    'right_ankle': (-0.13, 1.60), 'left_ankle': (0.13, 1.60),
}


#: The joints of an arm below the shoulder, and how far the arms are raised sideways
#: (degrees) from hanging, so that the hands are drawn apart from the hips.
ARM_JOINTS = ('elbow', 'wrist', 'hand', 'hand_tip', 'thumb')
ARMS_APART = 30.0


def _arms_apart(pose: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """:obj:`pose` (drawing plane) with each arm turned :data:`ARMS_APART` degrees outward
    about its shoulder."""
    pose = dict(pose)
    for side in ('left', 'right'):
        shoulder = pose[f'{side}_shoulder']
        a = np.radians(ARMS_APART) * np.sign(shoulder[0] - pose['spine_shoulder'][0])
        turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        for joint in ARM_JOINTS:
            name = f'{side}_{joint}'
            pose[name] = shoulder + turn @ (pose[name] - shoulder)
    return pose


def _tables() -> Tuple[Dict[str, np.ndarray], ...]:
    """Joint name -> position in the drawing plane: NTU RGB+D's rest pose of the synthetic
    data seen from the front (azimuth 180, see :func:`~pyg_mstgcn.visualize.render.project`;
    its arms apart), then :data:`IMAGE_POSE` as drawn. Both show the person's left on the
    right, as a camera in front of them does."""
    ntu = _arms_apart(dict(zip(NTU_RGB_D.joint_names, project(REST_POSE, azim=180.0))))
    image = image_view(np.array(list(IMAGE_POSE.values())))
    return (ntu, dict(zip(IMAGE_POSE, image)))


def rest_pose(layout: Union[str, SkeletonLayout]) -> np.ndarray:
    """The joints ``[V, 2]`` of :obj:`layout` standing at rest, in the drawing plane (right,
    up). A layout whose joint names are not all those of a built-in layout is an
    :class:`~pyg_mstgcn.errors.InputError`."""
    layout = get_layout(layout)
    names = layout.joint_names or ()
    for table in _tables():
        if names and all(name in table for name in names):
            return np.stack([table[name] for name in names])
    raise InputError(f"layout '{layout.name}' has no rest pose to draw on: its joints need "
                     f"the names of a built-in layout (ntu-rgb+d, openpose, coco)")


__all__ = ['IMAGE_POSE', 'ARM_JOINTS', 'ARMS_APART', 'rest_pose']
