"""Mappings between pose layouts: from the keypoints a pose estimator gives to the joints a
model was trained on.

A *pose layout* is a name and its joint names, in joint order (:data:`POSE_LAYOUTS`): the
built-in graph layouts of :data:`~pyg_mstgcn.graph.LAYOUTS` (``openpose`` is COCO-18, ``coco``
is COCO-17) and layouts that only appear as input (OpenPose BODY_25, Halpe-26,
COCO-WholeBody). A mapping (:data:`MAPPINGS`) turns keypoints of one layout into keypoints
of another: each target joint is the source joint of the same name, or the midpoint of two
source joints. :func:`map_keypoints` chains mappings along a shortest path when no direct
one is declared.

Keypoints are NumPy arrays ``[..., V, 3]`` whose last axis is ``(x, y, score)``; an absent
joint is all zeros.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple, Union

import numpy as np

from pyg_mstgcn.graph.layout import ALIASES, COCO, LAYOUTS, SkeletonLayout

LayoutLike = Union[str, SkeletonLayout]

# Layouts that only appear as input: no graph, only their joints.
_INPUT_LAYOUTS: Dict[str, Tuple[str, ...]] = {
    'openpose-body25': ('nose', 'neck',
                        'right_shoulder', 'right_elbow', 'right_wrist',
                        'left_shoulder', 'left_elbow', 'left_wrist',
                        'mid_hip',
                        'right_hip', 'right_knee', 'right_ankle',
                        'left_hip', 'left_knee', 'left_ankle',
                        'right_eye', 'left_eye', 'right_ear', 'left_ear',
                        'left_big_toe', 'left_small_toe', 'left_heel',
                        'right_big_toe', 'right_small_toe', 'right_heel'),
    # Halpe calls the mid hip 'hip'; the name here is BODY_25's
    'halpe26': COCO.joint_names + ('head', 'neck', 'mid_hip',
                                   'left_big_toe', 'right_big_toe',
                                   'left_small_toe', 'right_small_toe',
                                   'left_heel', 'right_heel'),
    'coco-wholebody': (COCO.joint_names
                       + ('left_big_toe', 'left_small_toe', 'left_heel',
                          'right_big_toe', 'right_small_toe', 'right_heel')
                       + tuple(f'face_{i}' for i in range(68))
                       + tuple(f'left_hand_{i}' for i in range(21))
                       + tuple(f'right_hand_{i}' for i in range(21))),
}

#: The joint names of every pose layout, in joint order: the built-in graph layouts first,
#: then the layouts that only appear as input.
POSE_LAYOUTS: Dict[str, Tuple[str, ...]] = {
    **{name: layout.joint_names for name, layout in LAYOUTS.items()}, **_INPUT_LAYOUTS}


@dataclass(frozen=True)
class KeypointMapping:
    r"""How keypoints of one pose layout become keypoints of another.

    A target joint taken from one source joint copies its ``(x, y, score)``. A midpoint joint
    takes the mean of the two ``x`` and of the two ``y`` and the product of the two scores,
    so that it is missing (all zeros) when either source joint is missing (score 0).

    Args:
        source (str): The pose layout of the keypoints given.
        target (str): The pose layout of the keypoints returned.
        joints (tuple of tuples of int): For each target joint, the one source joint it
            copies or the two source joints whose midpoint it is.
    """
    source: str
    target: str
    joints: Tuple[Tuple[int, ...], ...]

    def __post_init__(self) -> None:
        for target_joint, given in enumerate(self.joints):
            if len(given) not in (1, 2):
                raise ValueError(f"mapping {self}: target joint {target_joint} needs one "
                                 f"source joint or two (got {given})")

    def __str__(self) -> str:
        return f'{self.source} -> {self.target}'

    def __call__(self, keypoints: np.ndarray) -> np.ndarray:
        """Maps a float array ``[..., V_source, 3]`` to a new array ``[..., V_target, 3]``."""
        out = keypoints[..., [given[0] for given in self.joints], :]  # a copy
        rows = [t for t, given in enumerate(self.joints) if len(given) == 2]
        if rows:
            one = keypoints[..., [self.joints[t][0] for t in rows], :]
            two = keypoints[..., [self.joints[t][1] for t in rows], :]
            score = one[..., 2] * two[..., 2]
            middle = (one[..., :2] + two[..., :2]) / 2
            out[..., rows, :2] = np.where(score[..., None] == 0, 0, middle)
            out[..., rows, 2] = score
        return out


def _by_name(source: str, target: str,
             midpoints: Mapping[str, Tuple[str, str]]) -> KeypointMapping:
    """The mapping that takes every target joint from the source joint of the same name,
    except those :obj:`midpoints` gives as the midpoint of two named source joints."""
    index = {name: j for j, name in enumerate(POSE_LAYOUTS[source])}
    joints = []
    for name in POSE_LAYOUTS[target]:
        given = midpoints.get(name, (name, ))
        missing = [n for n in given if n not in index]
        if missing:
            raise ValueError(f"mapping {source} -> {target}: the source has no joint "
                             f"{', '.join(missing)} (for target joint {name}); declare it a "
                             f"midpoint of two source joints")
        joints.append(tuple(index[n] for n in given))
    return KeypointMapping(source, target, tuple(joints))


# The declared mappings as (source, target, midpoints): every target joint is the source
# joint of the same name, or the midpoint of the two source joints named in `midpoints`.
_DECLARED: Tuple[Tuple[str, str, Dict[str, Tuple[str, str]]], ...] = (
    ('openpose-body25', 'openpose', {}),  # drops the mid hip and the feet
    ('coco', 'openpose', {'neck': ('left_shoulder', 'right_shoulder')}),
    ('openpose', 'coco', {}),  # drops the neck
    ('halpe26', 'coco', {}),  # the first 17
    ('coco-wholebody', 'coco', {}),  # the first 17
)

#: The direct mappings by ``(source, target)``, in the order they are declared.
MAPPINGS: Dict[Tuple[str, str], KeypointMapping] = {
    (source, target): _by_name(source, target, midpoints)
    for source, target, midpoints in _DECLARED}


def pose_layout_names() -> Tuple[str, ...]:
    """The names of every known pose layout, built-in graph layouts first."""
    return tuple(POSE_LAYOUTS)


def _resolve(layout: LayoutLike) -> Optional[str]:
    """The name in :data:`POSE_LAYOUTS` of a layout name (aliases and any case accepted), or
    of a :class:`SkeletonLayout` with the same joint names; :obj:`None` if unknown."""
    if isinstance(layout, SkeletonLayout):
        known = POSE_LAYOUTS.get(layout.name)
        return layout.name if known is not None and known == layout.joint_names else None
    key = str(layout).lower()
    key = ALIASES.get(key, key)
    return key if key in POSE_LAYOUTS else None


def pose_joint_names(layout: LayoutLike) -> Tuple[str, ...]:
    """The joint names of a pose layout (a name from :func:`pose_layout_names` or an alias of
    :func:`~pyg_mstgcn.graph.get_layout`), in joint order."""
    name = _resolve(layout)
    if name is None:
        raise ValueError(f"unknown pose layout {_label(layout)!r}; the pose layouts are "
                         f"{', '.join(POSE_LAYOUTS)}")
    return POSE_LAYOUTS[name]


def num_pose_joints(layout: LayoutLike) -> int:
    """The number of joints of a pose layout, built-in or input-only."""
    return len(pose_joint_names(layout))


def describe_mappings() -> str:
    """The direct mappings on one line, e.g. ``'openpose-body25 -> openpose, ...'``."""
    return ', '.join(str(mapping) for mapping in MAPPINGS.values())


def _label(layout: LayoutLike) -> str:
    return layout.name if isinstance(layout, SkeletonLayout) else str(layout)


def _describe(layout: LayoutLike, name: Optional[str]) -> str:
    if name is not None:
        return f"'{name}' ({len(POSE_LAYOUTS[name])} joints)"
    return f"'{_label(layout)}' (not a known pose layout)"


def mapping_path(source: LayoutLike, target: LayoutLike) -> Tuple[KeypointMapping, ...]:
    """The shortest chain of direct mappings from :obj:`source` to :obj:`target` (empty when
    they are the same layout); among chains of equal length, the one whose mappings come
    first in :data:`MAPPINGS`.

    Raises:
        ValueError: If either layout is unknown or no chain connects them; the one-line
            message names both layouts and the mappings that exist.
    """
    start, goal = _resolve(source), _resolve(target)
    if start is not None and start == goal:
        return ()
    # breadth-first search; `reached` holds the mapping that first reached each layout
    reached: Dict[str, Optional[KeypointMapping]] = {start: None} if start else {}
    queue = deque(reached)
    while queue and goal is not None and goal not in reached:
        layout = queue.popleft()
        for mapping in MAPPINGS.values():
            if mapping.source == layout and mapping.target not in reached:
                reached[mapping.target] = mapping
                queue.append(mapping.target)
    if goal is None or goal not in reached:
        unknown = '' if start and goal else f"; the pose layouts are {', '.join(POSE_LAYOUTS)}"
        raise ValueError(f"cannot map pose layout {_describe(source, start)} to "
                         f"{_describe(target, goal)}: the mappings are "
                         f"{describe_mappings()}{unknown}")
    chain = []
    while goal != start:
        chain.append(reached[goal])
        goal = reached[goal].source
    return tuple(reversed(chain))


def map_keypoints(keypoints: np.ndarray, source: LayoutLike,
                  target: LayoutLike) -> np.ndarray:
    r"""Converts keypoints from one pose layout to another, through the shortest chain of
    declared mappings (:func:`mapping_path`).

    Args:
        keypoints (numpy.ndarray): Keypoints :math:`[\ldots, V_{source}, 3]`, the last axis
            ``(x, y, score)``; any leading axes (frames, persons) ride along.
        source (str or SkeletonLayout): The pose layout of :obj:`keypoints`.
        target (str or SkeletonLayout): The pose layout to return.

    Returns:
        A float array :math:`[\ldots, V_{target}, 3]` (floating inputs keep their dtype).
        When :obj:`source` and :obj:`target` are the same layout, the input itself, as a
        float array, not a copy.

    Raises:
        ValueError: If no chain of mappings connects the layouts, or :obj:`keypoints` is not
            ``[..., V_source, 3]``.
    """
    chain = mapping_path(source, target)
    array = np.asarray(keypoints)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    num_joints = num_pose_joints(source)
    if array.ndim < 2 or array.shape[-1] != 3:
        raise ValueError(f"keypoints must be an array [..., V, 3] of (x, y, score) (got shape "
                         f"{array.shape})")
    if array.shape[-2] != num_joints:
        raise ValueError(f"keypoints of shape {array.shape} have {array.shape[-2]} joints on "
                         f"axis -2, but pose layout '{_resolve(source)}' has {num_joints}")
    for mapping in chain:
        array = mapping(array)
    return array
