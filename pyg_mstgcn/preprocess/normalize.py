r"""The original's ``pre_normalization`` (2s-AGCN / MST-GCN ``data_gen/preprocess.py``),
vectorised over samples, persons, frames and joints.

Arrays are in the original's layout: one sample ``[C, T, V, M]`` or a batch
``[N, C, T, V, M]`` (coordinates, frames, joints, persons). As in the original, a joint or a
frame is *empty* when its coordinates sum to 0; a person or a sample is absent when all its
frames are empty (the original sums those too, which differs only if sums cancel exactly).
The four steps:

(a) **Pad.** Per person: if its first frame is empty, its non-empty frames move, in order,
    to the front (closing gaps too); then the empty frames after its last non-empty frame are
    filled by repeating the sequence from its start (frame :math:`t` gets frame
    :math:`t \bmod L`, :math:`L` the length up to the last non-empty frame).
(b) **Centre.** Joint 1 (middle of the spine in NTU RGB+D) of the first person, frame by
    frame, is subtracted from every non-empty joint of every person.
(c) **Align z.** Every non-empty frame is rotated so that the bone from joint 0 to joint 1 of
    the first person's first frame is parallel to +z,
(d) **Align x.** then, measured after (c), so that the vector from joint 4 to joint 8 (left
    to right shoulder) is parallel to +x.

A rotation is counter-clockwise about ``bone x target`` by the angle between them
(Rodrigues), and is skipped (identity) when the bone's or the axis's absolute values sum
below 1e-6 or the angle is below 1e-6 rad, exactly as the original's ``rotation_matrix`` /
``angle_between``; an antiparallel bone therefore stays as it is.

The computation runs in the input's precision (float32, as the original's array, or float64)
and agrees with the original's loops to about 1e-6. It is per person and vectorised over
frames and joints; a sample whose persons share one length :math:`L` is computed on its first
:math:`L` frames only and then repeated, which gives the same result.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: The original's default bones: ``zaxis=(bottom, top)``, ``xaxis=(right, left)``.
ZAXIS: Tuple[int, int] = (0, 1)
XAXIS: Tuple[int, int] = (8, 4)
CENTER_JOINT = 1
_EPS = 1e-6


def pre_normalize(data: np.ndarray, zaxis: Sequence[int] = ZAXIS,
                  xaxis: Sequence[int] = XAXIS, center_joint: int = CENTER_JOINT, *,
                  num_frames: Optional[int] = None) -> np.ndarray:
    r"""Pads, centres and rotates skeleton sequences as the original ``pre_normalization``.

    Args:
        data (numpy.ndarray): ``[C, T, V, M]`` or ``[N, C, T, V, M]`` with :math:`C = 3`.
        zaxis ((int, int), optional): ``(a, b)``: the vector from joint :obj:`a` to joint
            :obj:`b` of the first person's first frame is rotated onto +z.
            (default: :obj:`(0, 1)`)
        xaxis ((int, int), optional): ``(a, b)``: the vector from joint :obj:`b` to joint
            :obj:`a` is then rotated onto +x (the original's argument order).
            (default: :obj:`(8, 4)`)
        center_joint (int, optional): The joint of the first person subtracted from every
            joint. (default: :obj:`1`)
        num_frames (int, optional): Length of the output's time axis: the input is first
            zero-padded to it, as the original's fixed-length array (then repeated by step
            (a)). Saves padding a short sequence by hand. (default: the input's length)

    Returns:
        numpy.ndarray: A new array (with :obj:`num_frames` frames); float64 for float64
        input, otherwise float32 (computed in float32, as the original).
    """
    x = np.asarray(data)
    if x.ndim not in (4, 5) or x.shape[-4] != 3:
        raise ValueError(f'expected skeletons of shape [C=3, T, V, M] or [N, 3, T, V, M] '
                         f'(got {list(x.shape)})')
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    single = x.ndim == 4
    batch = x[None] if single else x
    # Work on [N, M, C, T, V]: long contiguous inner axes (T x V) make every step cheap.
    s = np.array(batch.transpose(0, 4, 1, 2, 3), dtype=dtype, order='C')  # always a copy
    N, M, C, T_in, V = s.shape
    T = T_in if num_frames is None else int(num_frames)
    if T < T_in:
        raise ValueError(f'num_frames={num_frames} is shorter than the {T_in} input frames')
    length, present = _move_to_front(s)
    # Once padded, a sample whose persons share one length L repeats with period L, and
    # steps (b)-(d) act frame by frame (given frame 0 and the first person's frame t):
    # computing its first L frames and repeating them gives the same result, faster.
    common = np.where(present, length, 0).max(1)
    periodic = (~present | (length == common[:, None])).all(1) & (common > 0)
    period = np.where(periodic, common, T)
    span = int(period.max()) if len(period) else T
    if span == T:
        if T > T_in:
            s = np.concatenate([s, np.zeros(s.shape[:3] + (T - T_in, V), dtype)], axis=3)
        _repeat(s, length, present)
    part = s[..., :span, :]
    _subtract_center(part, center_joint)
    _align(part, zaxis[0], zaxis[1], np.array([0.0, 0.0, 1.0]))
    _align(part, xaxis[1], xaxis[0], np.array([1.0, 0.0, 0.0]))
    out = np.empty((N, C, T, V, M), dtype)
    out[:, :, :span] = part.transpose(0, 2, 3, 4, 1)
    if span < T:
        for n, p in enumerate(period.tolist()):  # repeat by doubling: log2(T / p) copies
            done = p
            while done < T:
                size = min(done, T - done)
                out[n, :, done:done + size] = out[n, :, :size]
                done += size
    return out[0] if single else out


def _joint_sums(s: np.ndarray) -> np.ndarray:
    """``[N, M, T, V]``: the coordinate sum of every joint of ``[N, M, C, T, V]``."""
    return s[:, :, 0] + s[:, :, 1] + s[:, :, 2]


def _move_to_front(s: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Step (a), first half, in place on ``[N, M, C, T, V]``: the non-empty frames of a
    person whose first frame is empty move, in order, to the front (the frames behind them
    are zeroed, the original's ``person *= 0``). Returns each person's length :math:`L`
    (its last non-empty frame + 1) and whether it is present, both ``[N, M]``."""
    T = s.shape[3]
    nonempty = _joint_sums(s).sum(3) != 0                  # [N, M, T]
    present = nonempty.any(2)                              # [N, M]
    move = present & ~nonempty[:, :, 0]
    for n, m in zip(*np.nonzero(move)):  # the few persons that arrive late
        frames = nonempty[n, m]
        kept = s[n, m][:, frames]
        s[n, m] = 0
        s[n, m, :, :kept.shape[1]] = kept
        nonempty[n, m] = np.arange(T) < kept.shape[1]
    length = np.where(present, T - np.argmax(nonempty[:, :, ::-1], axis=2), 0)
    return length, present


def _repeat(s: np.ndarray, length: np.ndarray, present: np.ndarray) -> None:
    """Step (a), second half, in place: frames from :math:`L` on repeat the first
    :math:`L` frames (frame :math:`t` gets frame :math:`t \\bmod L`)."""
    T = s.shape[3]
    fill = present & (length > 0) & (length < T)
    for n, m in zip(*np.nonzero(fill)):  # at most a few persons per sample
        L = int(length[n, m])
        person = s[n, m]                                   # [C, T, V] view
        person[:, L:] = person[:, np.arange(L, T) % L]


def _subtract_center(s: np.ndarray, joint: int) -> None:
    """Step (b), in place on ``[N, M, C, T, V]``."""
    joints = _joint_sums(s) != 0                           # [N, M, T, V]
    person = joints.any((2, 3))                            # [N, M]
    apply = person & person.any(1, keepdims=True)
    center = s[:, 0, :, :, joint:joint + 1].copy()         # [N, C, T, 1]
    for n, m in zip(*np.nonzero(apply)):  # persons, never frames or joints
        s[n, m] -= center[n]
        s[n, m] *= joints[n, m]


def rotation_matrices(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    r"""Counter-clockwise rotations by :obj:`angle` about :obj:`axis`, ``[..., 3, 3]``
    (Rodrigues' formula); the identity where the axis is (nearly) zero or the angle is below
    1e-6, as the original's ``rotation_matrix``."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)
    identity = (np.abs(axis).sum(-1) < _EPS) | (np.abs(angle) < _EPS)
    norm = np.sqrt((axis * axis).sum(-1, keepdims=True))
    k = axis / np.where(identity[..., None], 1.0, norm)
    cos, sin = np.cos(angle)[..., None, None], np.sin(angle)[..., None, None]
    cross = np.zeros(axis.shape[:-1] + (3, 3))
    cross[..., 0, 1], cross[..., 0, 2] = -k[..., 2], k[..., 1]
    cross[..., 1, 0], cross[..., 1, 2] = k[..., 2], -k[..., 0]
    cross[..., 2, 0], cross[..., 2, 1] = -k[..., 1], k[..., 0]
    R = cos * np.eye(3) + sin * cross + (1 - cos) * k[..., :, None] * k[..., None, :]
    R[identity] = np.eye(3)
    return R


def alignment_rotations(vector: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations ``[..., 3, 3]`` taking each :obj:`vector` ``[..., 3]`` onto the direction of
    :obj:`target`, with the original's thresholds (a vector whose absolute values sum below
    1e-6 gives the identity; so does an antiparallel vector, whose axis is zero)."""
    vector = np.asarray(vector, dtype=np.float64)
    if vector.shape == (1, 3):  # one sample: the same formulas on floats, 10x less overhead
        return _one_alignment(vector[0].tolist(), np.asarray(target, float).tolist())[None]
    length = np.sqrt((vector * vector).sum(-1))
    small = np.abs(vector).sum(-1) < _EPS
    unit = vector / np.where(small, 1.0, length)[..., None]
    target_unit = target / np.linalg.norm(target)
    angle = np.where(small, 0.0, np.arccos(np.clip((unit * target_unit).sum(-1), -1.0, 1.0)))
    axis = _cross(vector, np.broadcast_to(target, vector.shape))
    return rotation_matrices(axis, angle)


def _one_alignment(v: List[float], t: List[float]) -> np.ndarray:
    """:func:`alignment_rotations` for one vector, with :mod:`math`."""
    vx, vy, vz = v
    tx, ty, tz = t
    if abs(vx) + abs(vy) + abs(vz) < _EPS:
        angle = 0.0
    else:
        length, target_length = math.sqrt(vx * vx + vy * vy + vz * vz), math.hypot(tx, ty, tz)
        cos = ((vx / length) * (tx / target_length) + (vy / length) * (ty / target_length)
               + (vz / length) * (tz / target_length))
        angle = math.acos(min(1.0, max(-1.0, cos)))
    ax, ay, az = vy * tz - vz * ty, vz * tx - vx * tz, vx * ty - vy * tx
    if abs(ax) + abs(ay) + abs(az) < _EPS or abs(angle) < _EPS:
        return np.eye(3)
    norm = math.sqrt(ax * ax + ay * ay + az * az)
    kx, ky, kz = ax / norm, ay / norm, az / norm
    c, s = math.cos(angle), math.sin(angle)
    d = 1 - c
    return np.array([[c + d * kx * kx, d * kx * ky - s * kz, d * kx * kz + s * ky],
                     [d * ky * kx + s * kz, c + d * ky * ky, d * ky * kz - s * kx],
                     [d * kz * kx - s * ky, d * kz * ky + s * kx, c + d * kz * kz]])


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``numpy.cross`` of ``[..., 3]`` vectors, without its axis bookkeeping."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def _align(s: np.ndarray, origin: int, end: int, target: np.ndarray) -> None:
    """Steps (c) and (d), in place on ``[N, M, C, T, V]``: rotate every non-empty frame of
    every present person so that the first person's first-frame vector from joint
    :obj:`origin` to joint :obj:`end` points along :obj:`target`."""
    N, M, C, T, V = s.shape
    frame = _joint_sums(s).sum(3) != 0                     # [N, M, T]
    person = frame.any(2)                                  # [N, M]
    sample = person.any(1)                                 # [N]
    if not sample.any():
        return
    R = alignment_rotations(s[:, 0, :, 0, end] - s[:, 0, :, 0, origin], target)  # [N, 3, 3]
    R = R.astype(s.dtype)
    for n, m in zip(*np.nonzero(person & sample[:, None])):  # persons, never frames
        rotated = np.matmul(R[n], s[n, m].reshape(C, T * V)).reshape(C, T, V)
        if frame[n, m].all():
            s[n, m] = rotated
        else:
            person = s[n, m]                               # [C, T, V] view
            person[:, frame[n, m]] = rotated[:, frame[n, m]]


def num_valid_frames(data: np.ndarray) -> np.ndarray:
    """The number of frames before step (a)'s repetition, for ``[C, T, V, M]`` or
    ``[N, C, T, V, M]`` data *before* normalisation.

    Per person: its number of non-empty frames if its first frame is empty (they move to
    the front), otherwise the index of its last non-empty frame + 1; the maximum over
    persons. 0 for an empty sample.
    """
    x = np.asarray(data)
    nonempty = x.sum(axis=(-4, -2)) != 0                  # [..., T, M]
    any_after = np.logical_or.accumulate(nonempty[..., ::-1, :], axis=-2)
    extent = any_after.sum(-2)                              # last non-empty + 1, [..., M]
    length = np.where(nonempty[..., 0, :], extent, nonempty.sum(-2))
    return length.max(-1)
