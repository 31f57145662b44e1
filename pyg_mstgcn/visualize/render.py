"""Drawing skeletons on a matplotlib axis: the bones of a layout, one colour per person, 3-D
coordinates projected to a chosen view, 2-D ones with the image's y axis pointing down.

Conventions: 3-D joints are the model's input space, where the preprocessing of NTU RGB+D
(as the original's) has turned the spine parallel to the z axis and the shoulders parallel to
the x axis, so z is up and the first person faces +y (right shoulder towards +x);
:func:`project` views them from azimuth :obj:`azim` (degrees, about the vertical axis; 0 looks
along +y, at that person's back, 180 at the front) and elevation :obj:`elev` (degrees above
the horizontal). 2-D joints ``(x, y[, score])`` are image coordinates, drawn with y down
(:func:`image_view`). Joints whose coordinates are all zero are missing (an absent person, a
keypoint the pose estimator did not find) and are not drawn, except in 3-D a joint of a
person who is there (the preprocessing centres the first person's spine-mid joint on the
origin): :func:`visible`.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from pyg_mstgcn.graph import SkeletonLayout, get_layout

#: One colour per person slot.
PERSON_COLORS = ('tab:blue', 'tab:orange', 'tab:green', 'tab:red', 'tab:purple')


def project(points: np.ndarray, elev: float = 0.0, azim: float = 0.0) -> np.ndarray:
    """3-D points ``[..., 3]`` (z up) seen from :obj:`azim` and :obj:`elev` (degrees), as
    ``[..., 2]`` (right, up)."""
    a, e = np.radians(azim), np.radians(elev)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    right = x * np.cos(a) - y * np.sin(a)
    depth = x * np.sin(a) + y * np.cos(a)
    up = z * np.cos(e) - depth * np.sin(e)
    return np.stack([right, up], axis=-1)


def image_view(points: np.ndarray) -> np.ndarray:
    """2-D image points ``[..., >= 2]`` (x right, y down) as ``[..., 2]`` (right, up)."""
    return np.stack([points[..., 0], -points[..., 1]], axis=-1)


def is_three_d(layout: Any) -> bool:
    """Whether sequences of :obj:`layout` hold 3-D camera-space coordinates (its
    :attr:`~pyg_mstgcn.graph.SkeletonLayout.dims` is 3: NTU RGB+D, NW-UCLA) rather than 2-D
    image keypoints with a score (the pose-estimator layouts, and a layout whose ``dims`` is
    unknown)."""
    return get_layout(layout).dims == 3


def to_view(points: np.ndarray, three_d: bool, elev: float = 0.0,
            azim: float = 0.0) -> np.ndarray:
    """Joints ``[..., C]`` in the drawing plane: 3-D ones projected (:func:`project`), 2-D
    ones ``(x, y[, score])`` as on the image (:func:`image_view`)."""
    return project(points[..., :3], elev, azim) if three_d else image_view(points)


def present(points: np.ndarray) -> np.ndarray:
    """Which joints ``[..., C]`` are there: not all coordinates zero."""
    return np.abs(points).sum(axis=-1) > 0


def visible(points: np.ndarray, three_d: bool) -> np.ndarray:
    """Which joints ``[..., M, V, C]`` to draw: 2-D ones not all zero (:func:`present`); in
    3-D, every joint of a person with any joint present."""
    mask = present(points)
    if three_d:
        mask = np.broadcast_to(mask.any(axis=-1, keepdims=True), mask.shape).copy()
    return mask


def draw_skeleton(ax: Any, xy: np.ndarray, layout: Any, color: str,
                  mask: Optional[np.ndarray] = None,
                  joint_sizes: Optional[np.ndarray] = None,
                  joint_colors: Optional[Sequence[Any]] = None, alpha: float = 1.0,
                  linewidth: float = 2.0, zorder: int = 2) -> None:
    """Draws one person: the bones of :obj:`layout` between joints ``xy [V, 2]`` (drawing
    plane) in :obj:`color`, and the joints as dots (sizes in points², colours per joint when
    given); joints outside :obj:`mask` and the bones touching them are left out."""
    layout: SkeletonLayout = get_layout(layout)
    V = layout.num_joints
    mask = np.ones(V, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    for child, parent in layout.inward:
        if mask[child] and mask[parent]:
            ax.plot(xy[[child, parent], 0], xy[[child, parent], 1], color=color,
                    linewidth=linewidth, alpha=alpha, zorder=zorder, solid_capstyle='round')
    sizes = np.full(V, 12.0) if joint_sizes is None else np.asarray(joint_sizes, dtype=float)
    colors = [color] * V if joint_colors is None else list(joint_colors)
    shown = np.flatnonzero(mask)
    ax.scatter(xy[shown, 0], xy[shown, 1], s=sizes[shown], c=[colors[i] for i in shown],
               alpha=alpha, zorder=zorder + 1, edgecolors='none')
