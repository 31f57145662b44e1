"""Skeleton layouts: which joints exist and how bones connect them.

A layout is the template graph of one person. Its bones are given as ``(child, parent)``
pairs pointing *inward*, towards the centre joint, as in the original MST-GCN code. Joint
names are short snake_case words, the same word for the same body point in every layout
(``left_shoulder``), so that they label figures and match joints between layouts
(:mod:`pyg_mstgcn.graph.mapping`).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Pair = Tuple[int, int]


@dataclass(frozen=True)
class SkeletonLayout:
    r"""The joints and bones of one skeleton.

    Args:
        name (str): Name of the layout.
        num_joints (int): Number of joints :math:`V`.
        inward (sequence of (int, int)): Bones as 0-based ``(child, parent)`` pairs, the parent
            being the joint closer to :obj:`center`.
        center (int): The centre joint (root of the skeleton tree).
        parts (sequence of sequences of int, optional): Body parts, a partition of the joints,
            used by part attention (``'pa'``). (default: :obj:`None`)
        bone_pairs (sequence of (int, int), optional): ``(joint, parent)`` pairs that define the
            bone stream, one per joint; a joint paired with itself has a zero bone. Defaults to
            :obj:`inward` plus ``(center, center)``.
        joint_names (sequence of str, optional): One unique name per joint, in joint order.
            (default: :obj:`None`)
        dims (int, optional): The coordinates of a joint: :obj:`3` for camera-space
            ``(x, y, z)`` (depth sensors), :obj:`2` for image keypoints ``(x, y[, score])``
            (pose estimators), :obj:`None` when unknown. (default: :obj:`None`)
    """
    name: str
    num_joints: int
    inward: Tuple[Pair, ...]
    center: int
    parts: Optional[Tuple[Tuple[int, ...], ...]] = None
    bone_pairs: Optional[Tuple[Pair, ...]] = None
    joint_names: Optional[Tuple[str, ...]] = None
    dims: Optional[int] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, 'inward', tuple(tuple(p) for p in self.inward))
        if self.parts is not None:
            object.__setattr__(self, 'parts', tuple(tuple(p) for p in self.parts))
        if self.bone_pairs is None:
            pairs = sorted(self.inward + ((self.center, self.center), ))
            object.__setattr__(self, 'bone_pairs', tuple(pairs))
        else:
            object.__setattr__(self, 'bone_pairs', tuple(tuple(p) for p in self.bone_pairs))
        # a string is left as it is, for _validate to refuse rather than split into letters
        if self.joint_names is not None and not isinstance(self.joint_names, str):
            object.__setattr__(self, 'joint_names', tuple(self.joint_names))
        self._validate()

    def _validate(self) -> None:
        V = self.num_joints
        where = f"layout '{self.name}'"
        if V < 1:
            raise ValueError(f"{where}: num_joints must be positive (got {V})")
        if not 0 <= self.center < V:
            raise ValueError(f"{where}: center joint {self.center} is not in [0, {V})")
        if self.dims not in (None, 2, 3):
            raise ValueError(f"{where}: dims must be 3 (camera space), 2 (image keypoints) or "
                             f"None (unknown) (got {self.dims!r})")
        for child, parent in self.inward + self.bone_pairs:
            if not (0 <= child < V and 0 <= parent < V):
                raise ValueError(f"{where}: pair ({child}, {parent}) has a joint outside "
                                 f"[0, {V})")
        for child, parent in self.inward:
            if child == parent:
                raise ValueError(f"{where}: bone ({child}, {parent}) connects a joint to "
                                 f"itself; self-loops are added by the partition")
        if len(set(self.inward)) != len(self.inward):
            raise ValueError(f"{where}: duplicate bones in {list(self.inward)}")
        if self.parts is not None:
            flat = sorted(j for part in self.parts for j in part)
            if flat != list(range(V)):
                raise ValueError(f"{where}: body parts must list every joint exactly once "
                                 f"(got {[list(p) for p in self.parts]})")
        if self.joint_names is not None:
            names = self.joint_names
            if (isinstance(names, str) or len(names) != V
                    or not all(isinstance(n, str) and n for n in names)):
                raise ValueError(f"{where}: joint_names must give one non-empty string per "
                                 f"joint, {V} in all (got {names!r})")
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{where}: joint names must be unique; repeated: "
                                 f"{', '.join(repeated)}")

    @property
    def outward(self) -> Tuple[Pair, ...]:
        """Bones as ``(parent, child)`` pairs, pointing away from the centre."""
        return tuple((parent, child) for child, parent in self.inward)

    @property
    def part_of_joint(self) -> List[int]:
        """For each joint, the index of the body part it belongs to."""
        if self.parts is None:
            raise ValueError(f"layout '{self.name}' defines no body parts; give `parts` "
                             f"to use part attention")
        index = [0] * self.num_joints
        for p, part in enumerate(self.parts):
            for joint in part:
                index[joint] = p
        return index

    @classmethod
    def from_edges(cls, edges: Iterable[Sequence[int]], center: int,
                   num_joints: Optional[int] = None, name: str = 'custom',
                   parts: Optional[Sequence[Sequence[int]]] = None,
                   joint_names: Optional[Sequence[str]] = None,
                   dims: Optional[int] = None) -> 'SkeletonLayout':
        r"""Builds a layout from undirected bones and a centre joint.

        Each bone is oriented towards :obj:`center` by breadth-first distance: the joint
        farther from the centre is the child. A bone between two joints at the same distance
        (possible only in graphs with cycles) takes the larger joint index as the child.

        Args:
            edges (iterable of (int, int)): Undirected bones, 0-based joint indices.
            center (int): The centre joint.
            num_joints (int, optional): Number of joints; defaults to the largest index + 1.
            name (str, optional): Name of the layout. (default: :obj:`'custom'`)
            parts (sequence of sequences of int, optional): Body parts. (default: :obj:`None`)
            joint_names (sequence of str, optional): One unique name per joint.
                (default: :obj:`None`)
            dims (int, optional): 3 for camera-space joints, 2 for image keypoints.
                (default: :obj:`None`, unknown)
        """
        pairs = [tuple(int(j) for j in edge) for edge in edges]
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"layout '{name}': each edge needs two joints (got {pair})")
        V = num_joints if num_joints is not None else 1 + max(max(p) for p in pairs)
        neighbours: Dict[int, List[int]] = {j: [] for j in range(V)}
        for a, b in pairs:
            if not (0 <= a < V and 0 <= b < V):
                raise ValueError(f"layout '{name}': edge ({a}, {b}) has a joint outside "
                                 f"[0, {V})")
            neighbours[a].append(b)
            neighbours[b].append(a)
        if not 0 <= center < V:
            raise ValueError(f"layout '{name}': center joint {center} is not in [0, {V})")
        distance = {center: 0}
        queue = deque([center])
        while queue:
            joint = queue.popleft()
            for other in neighbours[joint]:
                if other not in distance:
                    distance[other] = distance[joint] + 1
                    queue.append(other)
        unreachable = [j for j in range(V) if j not in distance]
        if unreachable:
            raise ValueError(f"layout '{name}': joints {unreachable} are not connected to the "
                             f"center joint {center}")
        inward = []
        for a, b in pairs:
            child, parent = (a, b) if (distance[a], a) > (distance[b], b) else (b, a)
            inward.append((child, parent))
        return cls(name, V, tuple(inward), center, parts, joint_names=joint_names, dims=dims)


def _one_based(pairs: Sequence[Pair]) -> Tuple[Pair, ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)


NTU_RGB_D = SkeletonLayout(
    name='ntu-rgb+d',
    num_joints=25,
    inward=_one_based([(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7),
                       (9, 21), (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14),
                       (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23), (23, 8),
                       (24, 25), (25, 12)]),
    center=20,
    parts=(tuple(j - 1 for j in (5, 6, 7, 8, 22, 23)),     # left arm
           tuple(j - 1 for j in (9, 10, 11, 12, 24, 25)),  # right arm
           tuple(j - 1 for j in (13, 14, 15, 16)),         # left leg
           tuple(j - 1 for j in (17, 18, 19, 20)),         # right leg
           tuple(j - 1 for j in (1, 2, 3, 4, 21))),        # torso
    # the 25 Kinect v2 joints, in the dataset's order
    joint_names=('spine_base', 'spine_mid', 'neck', 'head',
                 'left_shoulder', 'left_elbow', 'left_wrist', 'left_hand',
                 'right_shoulder', 'right_elbow', 'right_wrist', 'right_hand',
                 'left_hip', 'left_knee', 'left_ankle', 'left_foot',
                 'right_hip', 'right_knee', 'right_ankle', 'right_foot',
                 'spine_shoulder', 'left_hand_tip', 'left_thumb', 'right_hand_tip',
                 'right_thumb'),
    dims=3,
)

# OpenPose 18 joints (COCO-18), as released with Kinetics-Skeleton. The bone stream of the original
# tools is rooted at the nose (joint 0), not at the neck that centres the graph.
OPENPOSE = SkeletonLayout(
    name='openpose',
    num_joints=18,
    inward=((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5),
            (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)),
    center=1,
    parts=((5, 6, 7), (2, 3, 4), (11, 12, 13), (8, 9, 10), (0, 1, 14, 15, 16, 17)),
    bone_pairs=((0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2),
                (9, 8), (10, 9), (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14),
                (17, 15)),
    joint_names=('nose', 'neck',
                 'right_shoulder', 'right_elbow', 'right_wrist',
                 'left_shoulder', 'left_elbow', 'left_wrist',
                 'right_hip', 'right_knee', 'right_ankle',
                 'left_hip', 'left_knee', 'left_ankle',
                 'right_eye', 'left_eye', 'right_ear', 'left_ear'),
    dims=2,
)

# COCO 17 keypoints (COCO-17).
COCO = SkeletonLayout(
    name='coco',
    num_joints=17,
    inward=((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5),
            (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
    center=0,
    parts=((5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (0, 1, 2, 3, 4)),
    joint_names=('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
                 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'),
    dims=2,
)

# NW-UCLA (Northwestern-UCLA Multiview Action3D): the 20 Kinect v1 joints, in the dataset's
# order; the bones of CTR-GCN's graph/ucla.py, centred on the shoulder centre.
NW_UCLA = SkeletonLayout(
    name='nw-ucla',
    num_joints=20,
    inward=_one_based([(1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3),
                       (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15),
                       (17, 1), (18, 17), (19, 18), (20, 19)]),
    center=2,
    parts=(tuple(j - 1 for j in (5, 6, 7, 8)),      # left arm
           tuple(j - 1 for j in (9, 10, 11, 12)),   # right arm
           tuple(j - 1 for j in (13, 14, 15, 16)),  # left leg
           tuple(j - 1 for j in (17, 18, 19, 20)),  # right leg
           tuple(j - 1 for j in (1, 2, 3, 4))),     # torso
    # Kinect v1's hip centre, spine and shoulder centre under the NTU layout's names
    joint_names=('spine_base', 'spine_mid', 'spine_shoulder', 'head',
                 'left_shoulder', 'left_elbow', 'left_wrist', 'left_hand',
                 'right_shoulder', 'right_elbow', 'right_wrist', 'right_hand',
                 'left_hip', 'left_knee', 'left_ankle', 'left_foot',
                 'right_hip', 'right_knee', 'right_ankle', 'right_foot'),
    dims=3,
)

LAYOUTS: Dict[str, SkeletonLayout] = {
    'ntu-rgb+d': NTU_RGB_D,
    'openpose': OPENPOSE,
    'coco': COCO,
    'nw-ucla': NW_UCLA,
}
ALIASES: Dict[str, str] = {'ntu': 'ntu-rgb+d', 'kinetics': 'openpose', 'ucla': 'nw-ucla'}


def get_layout(layout: 'str | SkeletonLayout') -> SkeletonLayout:
    """Returns the layout of that name (or the layout itself when given one)."""
    if isinstance(layout, SkeletonLayout):
        return layout
    key = ALIASES.get(str(layout).lower(), str(layout).lower())
    if key not in LAYOUTS:
        valid = sorted(LAYOUTS) + sorted(ALIASES)
        raise ValueError(f"unknown skeleton layout '{layout}'; valid names: "
                         f"{', '.join(valid)}, or a SkeletonLayout built with "
                         f"SkeletonLayout.from_edges(edges, center)")
    return LAYOUTS[key]
