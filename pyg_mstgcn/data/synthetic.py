r"""A built-in synthetic skeleton-action dataset, written as real preprocessed data.

:func:`make_synthetic` writes ``{train,val}_data_joint.npy`` (float32 ``[N, 3, T, 25, 2]``),
``{split}_label.pkl`` and ``{split}_num_frames.npy``, the layout that
:class:`~pyg_mstgcn.data.datasets.SkeletonArrayDataset` reads for NTU RGB+D, so training on it
takes the same code path as training on real data. It is deterministic: the same arguments
write the same bytes.

Sequences are NTU RGB+D skeletons (25 joints, metres, in the frame of the preprocessed data:
z up, x from the left to the right shoulder, the actor facing -y), animated by rotating the
bones of a rest pose. **The classes differ in motion, not in pose**: every action starts from
the same standing rest pose, and the actor's first frames follow the same distribution in
every class (only the presence of a second person hints at ``handshake``; a linear classifier
on the first frame is near chance, on per-joint temporal spread it is near perfect).
:func:`describe` lists the classes, by label (the defaults use the first 8):

{classes}

Every sample varies in body size (x0.85-1.15), orientation (a turn of up to 0.5 rad about the
vertical axis), speed (number of repetitions and sequence length), amplitude, sensor noise
(0.3-1.5 cm per joint and frame) and a slight idle sway. Sequences last 55-100% of the
:math:`T` frames and are followed by zero frames; one sample in five loses one to three frames
in the middle (all zeros, a tracking drop-out). A second, idle person stands in front of the
actor in 40% of the one-person samples; ``handshake`` always has two.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from pyg_mstgcn.io import (class_names_path, split_files, write_class_names, write_split,
                           write_text_atomic)

PathLike = Union[str, Path]
_VERSION = 1

# ------------------------------------------------------------------------------------------
# The NTU RGB+D skeleton: rest pose and the kinematic tree used to animate it

#: Rest pose, 0-based NTU joints (1-based numbers in the comments): z up, x to the right,
#: facing -y, the base of the spine at the origin.
_LEFT_ARM = {4: (-0.18, 0.00, 0.48), 5: (-0.20, 0.01, 0.21), 6: (-0.21, 0.00, -0.04),
             7: (-0.21, -0.01, -0.12), 21: (-0.21, -0.01, -0.20), 22: (-0.19, -0.05, -0.10)}
_LEFT_LEG = {12: (-0.09, 0.00, -0.02), 13: (-0.10, -0.01, -0.44), 14: (-0.10, 0.01, -0.84),
             15: (-0.10, -0.10, -0.88)}
_MIRROR = {4: 8, 5: 9, 6: 10, 7: 11, 21: 23, 22: 24, 12: 16, 13: 17, 14: 18, 15: 19}


def _rest_pose() -> np.ndarray:
    rest = np.zeros((25, 3))
    rest[0] = (0, 0, 0)          # 1 base of the spine
    rest[1] = (0, 0, 0.28)       # 2 middle of the spine
    rest[20] = (0, 0, 0.50)      # 21 spine at the shoulders
    rest[2] = (0, 0, 0.58)       # 3 neck
    rest[3] = (0, -0.02, 0.72)   # 4 head
    for joints in (_LEFT_ARM, _LEFT_LEG):  # 5-8, 22-23 left arm; 13-16 left leg
        for j, p in joints.items():
            rest[j] = p
            rest[_MIRROR[j]] = (-p[0], p[1], p[2])  # 9-12, 24-25 right arm; 17-20 right leg
    return rest


REST_POSE = _rest_pose()

#: Parent of each joint in the animation tree (rooted at the base of the spine).
_PARENT = {1: 0, 20: 1, 2: 20, 3: 2,
           4: 20, 5: 4, 6: 5, 7: 6, 21: 7, 22: 7,
           8: 20, 9: 8, 10: 9, 11: 10, 23: 11, 24: 11,
           12: 0, 13: 12, 14: 13, 15: 14,
           16: 0, 17: 16, 18: 17, 19: 18}
_ORDER = (1, 20, 2, 3, 4, 5, 6, 7, 21, 22, 8, 9, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19)

# Bones rotated by the actions, named by their distal joint (0-based).
SPINE, L_UPPER_ARM, L_FOREARM, R_UPPER_ARM, R_FOREARM = 1, 5, 6, 9, 10
L_THIGH, L_SHIN, R_THIGH, R_SHIN = 13, 14, 17, 18
ANKLES = (14, 18)


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations ``[T, 3, 3]`` about axis 0 (x), 1 (y) or 2 (z) by :obj:`angle` ``[T]``."""
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1
    R[..., i, i], R[..., i, j], R[..., j, i], R[..., j, j] = c, -s, s, c
    return R


def rx(a: np.ndarray) -> np.ndarray:
    """About x: positive tilts an upward bone forward (-y), a hanging one backward."""
    return _rot(0, a)


def ry(a: np.ndarray) -> np.ndarray:
    """About y: positive swings a hanging bone to the actor's left (-x)."""
    return _rot(1, a)


def rz(a: np.ndarray) -> np.ndarray:
    """About z (vertical)."""
    return _rot(2, a)


def _yaw(angle: float) -> np.ndarray:
    """One rotation ``[3, 3]`` about z."""
    return rz(np.array([angle]))[0]


def _forward_kinematics(local: Dict[int, np.ndarray], T: int, scale: float) -> np.ndarray:
    """Joint positions ``[T, 25, 3]``: each bone (named by its distal joint) is the rest bone,
    scaled, turned by the rotations of the bones above it and its own."""
    pos = np.zeros((T, 25, 3))
    glob: Dict[int, Optional[np.ndarray]] = {0: None}
    for j in _ORDER:
        p = _PARENT[j]
        g = glob[p]
        if j in local:
            g = local[j] if g is None else g @ local[j]
        glob[j] = g
        offset = (REST_POSE[j] - REST_POSE[p]) * scale
        pos[:, j] = pos[:, p] + (offset if g is None else g @ offset)
    return pos


def _ramp(u: np.ndarray, start: float, end: float) -> np.ndarray:
    """0 before :obj:`start`, 1 after :obj:`end`, smooth in between."""
    v = np.clip((u - start) / (end - start), 0, 1)
    return v * v * (3 - 2 * v)


def _bumps(u: np.ndarray, k: int) -> np.ndarray:
    """:obj:`k` smooth up-and-down repetitions over the sequence, 0 at both ends."""
    return np.sin(np.pi * k * u) ** 2


# ------------------------------------------------------------------------------------------
# The actions: u [T] in [0, 1] (the sequence's progress) -> bone rotations, root offset
# [T, 3] (in the actor's frame), whether the feet stay on the ground

Motion = Tuple[Dict[int, np.ndarray], Optional[np.ndarray], bool]


def _wave(u: np.ndarray, rng: np.random.Generator, side: int) -> Motion:
    # side +1: right arm (abduction is a negative rotation about y), -1: left arm
    up = _ramp(u, 0.0, 0.25)
    cycles = rng.uniform(2.0, 4.0)
    raise_arm = rng.uniform(1.3, 1.7) * up
    forearm = (rng.uniform(1.1, 1.4) + rng.uniform(0.35, 0.55) * np.sin(2 * np.pi * cycles * u))
    upper, fore = (R_UPPER_ARM, R_FOREARM) if side > 0 else (L_UPPER_ARM, L_FOREARM)
    return {upper: ry(-side * raise_arm), fore: ry(-side * forearm * up)}, None, False


def _raise_arms(u, rng):
    lift = rng.uniform(2.2, 2.8) * _bumps(u, int(rng.integers(1, 3)))
    bend = 0.3 * lift / 2.8
    return ({L_UPPER_ARM: ry(lift), R_UPPER_ARM: ry(-lift), L_FOREARM: ry(bend),
             R_FOREARM: ry(-bend)}, None, False)


def _squat(u, rng):
    s = rng.uniform(0.8, 1.3) * _bumps(u, int(rng.integers(1, 3)))
    return ({L_THIGH: rx(-s), R_THIGH: rx(-s), L_SHIN: rx(1.7 * s), R_SHIN: rx(1.7 * s),
             SPINE: rx(0.5 * s), L_UPPER_ARM: rx(-0.9 * s), R_UPPER_ARM: rx(-0.9 * s)},
            None, True)


def _walk(u, rng):
    on = _ramp(u, 0.0, 0.1)
    phase = 2 * np.pi * rng.uniform(1.5, 3.0) * u
    lift = rng.uniform(0.6, 0.9)
    left = lift * np.maximum(np.sin(phase), 0) * on
    right = lift * np.maximum(-np.sin(phase), 0) * on
    swing = rng.uniform(0.25, 0.45) * np.sin(phase) * on
    return ({L_THIGH: rx(-left), L_SHIN: rx(1.6 * left), R_THIGH: rx(-right),
             R_SHIN: rx(1.6 * right), L_UPPER_ARM: rx(swing), R_UPPER_ARM: rx(-swing)},
            None, False)


def _clap(u, rng):
    up = _ramp(u, 0.0, 0.25)
    flex = rng.uniform(1.2, 1.5) * up
    cycles = rng.uniform(2.0, 4.0)
    close = (0.05 + 0.27 * (0.5 - 0.5 * np.cos(2 * np.pi * cycles * u))) * up
    elbow = 0.4 * up
    return ({L_UPPER_ARM: rz(close) @ rx(-flex), R_UPPER_ARM: rz(-close) @ rx(-flex),
             L_FOREARM: rx(-elbow), R_FOREARM: rx(-elbow)}, None, False)


def _kick(u, rng):
    kicks = int(rng.integers(1, 3))
    centres = np.sort(rng.uniform(0.3, 0.8, kicks))
    width = rng.uniform(0.06, 0.1)
    pulse = sum(np.exp(-((u - c) / width) ** 2) for c in centres)
    cock = sum(np.exp(-((u - c + width) / width) ** 2) for c in centres)
    hip = rng.uniform(1.0, 1.5)
    return ({R_THIGH: rx(-hip * pulse), R_SHIN: rx(1.2 * cock),
             L_UPPER_ARM: rx(-0.3 * pulse), R_UPPER_ARM: rx(0.3 * pulse)}, None, False)


def _bend(u, rng):
    b = rng.uniform(0.8, 1.3) * _bumps(u, int(rng.integers(1, 3)))
    return {SPINE: rx(b), L_UPPER_ARM: rx(-0.8 * b), R_UPPER_ARM: rx(-0.8 * b)}, None, False


def _jump(u, rng):
    k = int(rng.integers(2, 4))
    wave = np.sin(2 * np.pi * k * u) * _ramp(u, 0.0, 0.05)
    air, crouch = np.maximum(wave, 0), np.maximum(-wave, 0)
    root = np.zeros(u.shape + (3, ))
    root[:, 2] = rng.uniform(0.15, 0.3) * air
    bend = 0.7 * crouch
    return ({L_THIGH: rx(-bend), R_THIGH: rx(-bend), L_SHIN: rx(1.7 * bend),
             R_SHIN: rx(1.7 * bend), L_UPPER_ARM: ry(0.6 * air), R_UPPER_ARM: ry(-0.6 * air)},
            root, True)


def _idle(u, rng):
    phase = rng.uniform(0, 2 * np.pi, 3)
    f = rng.uniform(0.3, 1.0)
    a = rng.uniform(0.01, 0.04)
    sway = a * (np.sin(2 * np.pi * f * u + phase[0]) - np.sin(phase[0]))
    arm = a * (np.sin(2 * np.pi * f * u + phase[1]) - np.sin(phase[1]))
    return {SPINE: rx(sway), L_UPPER_ARM: rx(arm), R_UPPER_ARM: rx(-arm)}, None, False


def _handshake(u, rng, distance):
    """One of the two persons: steps towards the other, then shakes the right hand."""
    close = _ramp(u, 0.1, 0.5)
    root = np.zeros(u.shape + (3, ))
    root[:, 1] = -(distance - rng.uniform(0.65, 0.8)) / 2 * close  # forward is -y
    phase = 2 * np.pi * rng.uniform(2.0, 3.0) * u
    step = 0.5 * np.sin(np.pi * np.clip((u - 0.1) / 0.4, 0, 1))
    left, right = step * np.maximum(np.sin(phase), 0), step * np.maximum(-np.sin(phase), 0)
    reach = _ramp(u, 0.4, 0.6) * (1 - _ramp(u, 0.9, 1.0))
    shake = 0.15 * np.sin(2 * np.pi * rng.uniform(4.0, 6.0) * u) * _ramp(u, 0.6, 0.65)
    return ({L_THIGH: rx(-left), L_SHIN: rx(1.6 * left), R_THIGH: rx(-right),
             R_SHIN: rx(1.6 * right),
             R_UPPER_ARM: rz(-0.3 * reach) @ rx(-rng.uniform(0.8, 1.0) * reach),
             R_FOREARM: rx(-(0.5 * reach + shake * reach))}, root, False)


#: The actions: name → (description, generator of the main actor's motion). ``handshake``
#: also animates the second person.
ACTIONS: Dict[str, Tuple[str, Optional[Callable]]] = {
    'wave_right': ('raises the right arm sideways and waves the forearm 2-4 times',
                   lambda u, rng: _wave(u, rng, +1)),
    'wave_left': ('the same with the left arm', lambda u, rng: _wave(u, rng, -1)),
    'raise_arms': ('raises both arms sideways above the head and lowers them, once or twice',
                   _raise_arms),
    'squat': ('bends hips and knees, feet on the ground, once or twice', _squat),
    'walk_in_place': ('lifts the knees in turn, arms swinging', _walk),
    'clap': ('both arms forward, hands meeting 2-4 times', _clap),
    'kick': ('kicks forward with the right leg, once or twice', _kick),
    'handshake': ('two persons step towards each other and shake right hands', None),
    'bend_forward': ('bends the upper body forward and straightens up, once or twice', _bend),
    'jump': ('jumps in place 2-3 times, crouching between jumps', _jump),
}
#: Class names, in label order.
CLASSES: Tuple[str, ...] = tuple(ACTIONS)


def describe(num_classes: int = len(CLASSES)) -> str:
    """The classes (label: name, motion), one per line."""
    return '\n'.join(f'{i}: {name} - {ACTIONS[name][0]}'
                     for i, name in enumerate(CLASSES[:num_classes]))


__doc__ = __doc__.replace('{classes}', '\n'.join(
    f'{i}. ``{name}``: {text}' for i, (name, (text, _)) in enumerate(ACTIONS.items())))


# ------------------------------------------------------------------------------------------
# Sequences

def _person(motion: Motion, scale: float, yaw: float, position: np.ndarray, T: int
            ) -> np.ndarray:
    """A person's joints ``[T, 25, 3]``: animated, feet kept on the ground when asked, turned
    by :obj:`yaw` about z and moved to :obj:`position`."""
    local, root, feet = motion
    pos = _forward_kinematics(local, T, scale)
    if root is not None:
        pos += root[:, None] * scale
    if feet:  # keep the ankles where they are at rest
        rest = REST_POSE[list(ANKLES)] * scale
        shift = rest[:, 1:].mean(0) - pos[:, list(ANKLES), 1:].mean(1)
        if root is not None:
            shift[:, 1] += root[:, 2] * scale
        pos[:, :, 1:] += shift[:, None]
    return pos @ _yaw(yaw).T + position


def _sample(label: int, T: int, rng: np.random.Generator) -> Tuple[np.ndarray, int]:
    """One sequence ``[3, T, 25, 2]`` of class :obj:`label` and its number of frames."""
    name = CLASSES[label]
    length = int(rng.integers(int(np.ceil(0.55 * T)), T + 1))
    u = np.linspace(0.0, 1.0, length)
    distance = rng.uniform(1.4, 1.9)
    other = np.array([rng.uniform(-0.2, 0.2), -distance, 0.0])
    other_yaw = np.pi + rng.uniform(-0.3, 0.3)
    scales = rng.uniform(0.85, 1.15, 2)
    if name == 'handshake':
        motions = [_handshake(u, rng, distance), _handshake(u, rng, distance)]
    else:
        motions = [ACTIONS[name][1](u, rng)]
        if rng.random() < 0.4:
            motions.append(_idle(u, rng))
    idle = _idle(u, rng)  # a slight sway on top of every action
    people = []
    for m, (local, root, feet) in enumerate(motions):
        for bone, rotation in idle[0].items():
            local[bone] = local[bone] @ rotation if bone in local else rotation
        yaw, position = (0.0, np.zeros(3)) if m == 0 else (other_yaw, other)
        people.append(_person((local, root, feet), scales[m], yaw, position, length))
    scene = np.stack(people)                                   # [P, L, 25, 3]
    scene = scene @ _yaw(rng.uniform(-0.5, 0.5)).T             # the camera's view
    scene -= scene[0, 0, 1]                                    # spine middle at the origin
    scene += rng.normal(0, rng.uniform(0.003, 0.015), scene.shape)
    out = np.zeros((3, T, 25, 2))
    out[:, :length, :, :len(people)] = scene.transpose(3, 1, 2, 0)
    if rng.random() < 0.2:  # a tracking drop-out
        out[:, rng.choice(np.arange(1, length - 1), int(rng.integers(1, 4)), replace=False)] = 0
    return out.astype(np.float32), length


def generate_split(num_samples: int, num_classes: int, frames: int, seed: int,
                   split: str) -> Tuple[np.ndarray, List[str], List[int], np.ndarray]:
    r"""One split in memory: ``(data [N, 3, T, 25, 2], sample_names, labels, num_frames)``,
    classes balanced and shuffled."""
    rng = np.random.default_rng([seed, int.from_bytes(split.encode(), 'little') % 2**32])
    labels = rng.permutation(np.arange(num_samples) % num_classes)
    data = np.zeros((num_samples, 3, frames, 25, 2), dtype=np.float32)
    lengths = np.zeros(num_samples, dtype=np.int64)
    for i, label in enumerate(labels):
        data[i], lengths[i] = _sample(int(label), frames, rng)
    names = [f'synthetic_{split}_{i:05d}_A{int(label) + 1:03d}' for i, label in
             enumerate(labels)]
    return data, names, [int(label) for label in labels], lengths


def make_synthetic(out_dir: PathLike, num_train: int = 640, num_val: int = 160,
                   num_classes: int = 8, frames: int = 64, seed: int = 0,
                   overwrite: bool = False) -> Path:
    r"""Writes the synthetic dataset to :obj:`out_dir` in the layout of real preprocessed
    data and returns the folder (for
    :class:`~pyg_mstgcn.data.datasets.SkeletonArrayDataset` with ``layout='ntu-rgb+d'``).

    Files: ``train_data_joint.npy``, ``val_data_joint.npy`` (float32 ``[N, 3, frames, 25,
    2]``), ``{split}_label.pkl`` (``(sample_names, labels)``), ``{split}_num_frames.npy``
    (int64 ``[N]``), ``class_names.txt`` and ``synthetic.json`` (the arguments). When the
    folder already holds the files of the same arguments, nothing is written (unless
    :obj:`overwrite`).

    Args:
        out_dir (str or Path): The folder (created if needed).
        num_train (int, optional): Training samples. (default: :obj:`640`)
        num_val (int, optional): Validation samples. (default: :obj:`160`)
        num_classes (int, optional): Classes, the first of :data:`CLASSES` (at most 10).
            (default: :obj:`8`)
        frames (int, optional): :math:`T`, frames per sample (sequences fill 55-100% of them).
            (default: :obj:`64`)
        seed (int, optional): The seed; the same arguments give the same bytes.
            (default: :obj:`0`)
        overwrite (bool, optional): Write even if the files exist. (default: :obj:`False`)
    """
    if not 2 <= num_classes <= len(CLASSES):
        raise ValueError(f'num_classes must be between 2 and {len(CLASSES)} (got '
                         f'{num_classes}); the classes are:\n{describe()}')
    if frames < 8:
        raise ValueError(f'frames must be at least 8 (got {frames})')
    for name, n in (('num_train', num_train), ('num_val', num_val)):
        if n < num_classes:
            raise ValueError(f'{name} must be at least num_classes = {num_classes} so that '
                             f'every class is present (got {n})')
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {'version': _VERSION, 'num_train': int(num_train), 'num_val': int(num_val),
              'num_classes': int(num_classes), 'frames': int(frames), 'seed': int(seed),
              'classes': list(CLASSES[:num_classes])}
    meta = out / 'synthetic.json'
    splits = {'train': num_train, 'val': num_val}
    files = [path for split in splits for path in split_files(out, split)]
    files.append(class_names_path(out))
    if (not overwrite and meta.exists() and all(f.exists() for f in files)
            and json.loads(meta.read_text()).get('config') == config):
        return out
    digests = {}
    for split, n in splits.items():
        data, names, labels, lengths = generate_split(n, num_classes, frames, seed, split)
        write_split(out, split, data, names, labels, lengths)
        digests[split] = hashlib.sha256(data.tobytes()).hexdigest()[:16]
    write_class_names(class_names_path(out), CLASSES[:num_classes])
    write_text_atomic(meta, json.dumps({'config': config, 'sha256_16': digests}, indent=1) + '\n')
    return out


__all__ = ['make_synthetic', 'generate_split', 'describe', 'CLASSES', 'ACTIONS', 'REST_POSE']
