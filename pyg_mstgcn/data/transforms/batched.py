r"""Batched forms of the random steps, for augmentation of whole batches on the training device
(``data.augment_on: device``) instead of sample by sample in the loader.

A batched form applies to every graph of a batch what its per-sample step applies to one
sample, with the graph's own draw: the same rotation, curves or shift for all the frames,
joints and persons of that graph. It works on the node features viewed dense,
``[N, M, V, C, T]`` (the batch's ``x`` ``[N * M * V, C, T]`` is graph-, person-, joint-major;
see :mod:`pyg_mstgcn.data`), with the valid frames ``[N, 2]`` that the per-sample steps before
it left, and draws uniforms from a :class:`Uniform` on the device. The draws differ from the
per-sample ones (another generator), their distribution does not.

:func:`split_for_device` cuts a pipeline into the per-sample steps that stay in the loader
and the batched forms of the rest; :func:`augment_batch` applies these to a batch.
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple, Type

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch

from pyg_mstgcn.data.streams import STREAMS
from pyg_mstgcn.data.transforms.base import Compose, Transform
from pyg_mstgcn.data.transforms.registry import TRANSFORMS
from pyg_mstgcn.data.transforms.spatial import RandomMove, RandomRotation, rotation_matrix
from pyg_mstgcn.data.transforms.temporal import RandomShift


class Uniform:
    r"""Uniform draws in ``[0, 1)`` (float64) for the :obj:`num_graphs` graphs of a batch from
    :obj:`generator`: the rows ``rank::world_size`` of the draws for the global batch, whose
    positions ``rank::world_size`` a process holds (see
    :class:`~pyg_mstgcn.train.distributed.ShardSampler`), so that a sample's draw does not
    depend on the number of processes."""

    def __init__(self, generator: torch.Generator, num_graphs: int, rank: int = 0,
                 world_size: int = 1) -> None:
        self.generator, self.num_graphs = generator, num_graphs
        self.rank, self.world_size = rank, world_size

    def __call__(self, *shape: int) -> Tensor:
        """Draws ``[num_graphs, *shape]``."""
        draws = torch.rand((self.num_graphs * self.world_size, *shape), dtype=torch.float64,
                           generator=self.generator, device=self.generator.device)
        return draws[self.rank::self.world_size]


def integers(u: Tensor, high) -> Tensor:
    """Uniform integers in ``[0, high)`` from uniforms :obj:`u` in ``[0, 1)``."""
    high = torch.as_tensor(high, device=u.device)
    return torch.minimum((u * high).long(), high - 1)


class BatchedTransform:
    r"""The batched form of a per-sample step :obj:`transform` (whose options it uses)."""

    #: The streams that may be computed after it (``stream_first=False``) with the same
    #: result as before it: those with which it commutes.
    streams: Tuple[str, ...] = tuple(STREAMS)

    def __init__(self, transform: Transform) -> None:
        self.transform = transform

    def apply(self, x: Tensor, valid: Tensor, uniform: Uniform) -> Tuple[Tensor, Tensor]:
        r"""The batch :obj:`x` ``[N, M, V, C, T]`` transformed (a new tensor), with its new
        valid frames ``[N, 2]``."""
        raise NotImplementedError


class BatchedRotation(BatchedTransform):
    """:class:`~pyg_mstgcn.data.transforms.RandomRotation` for a batch. Linear and the same
    for every joint and frame, it commutes with every stream."""

    def apply(self, x, valid, uniform):
        t: RandomRotation = self.transform
        t.check_channels(x.size(3))
        limit = torch.tensor(t.limit, device=x.device)
        theta = (2 * uniform(3) - 1) * limit                              # [N, 3]
        d = t.dims
        rotation = rotation_matrix(theta.cos(), theta.sin(), d).to(x.dtype)   # [N, d, d]
        rotated = torch.einsum('nij,nmvjt->nmvit', rotation, x[:, :, :, :d])
        return torch.cat([rotated, x[:, :, :, d:]], dim=3), valid


class BatchedMove(BatchedTransform):
    """:class:`~pyg_mstgcn.data.transforms.RandomMove` for a batch: the curves of every graph
    from its own move time and node values, interpolated as the per-sample step does
    (:meth:`RandomMove.segments`). Its translation does not commute with bones, nor its
    change over time with motion."""

    streams = ('joint', )

    def __init__(self, transform: RandomMove) -> None:
        super().__init__(transform)
        self._tables: Dict[Tuple[int, torch.device], Tuple[int, Tensor, Tensor]] = {}

    def tables(self, T: int, device: torch.device) -> Tuple[int, Tensor, Tensor]:
        """The most nodes, and per move time candidate each frame's segment and step
        (``[K, T]``), on :obj:`device` (computed once per length)."""
        key = (T, device)
        if key not in self._tables:
            rows = [RandomMove.segments(T, m) for m in self.transform.move_time_candidate]
            self._tables[key] = (
                max(r[0] for r in rows),
                torch.as_tensor(np.stack([r[1] for r in rows]), device=device),
                torch.as_tensor(np.stack([r[2] for r in rows]), device=device))
        return self._tables[key]

    def apply(self, x, valid, uniform):
        t: RandomMove = self.transform
        N, M, V, C, T = x.shape
        t.check_channels(C)
        num_node, segments, steps = self.tables(T, x.device)
        move = integers(uniform(), len(t.move_time_candidate))            # [N]
        sizes = torch.as_tensor(t.candidate_counts, device=x.device)      # [4, 1]
        choice = integers(uniform(4, num_node), sizes)                    # [N, 4, nodes]
        table = torch.as_tensor(t.candidate_table, device=x.device).expand(N, -1, -1)
        values = table.gather(2, choice)                                   # [N, 4, nodes]
        segment = segments[move][:, None].expand(N, 4, T)
        low = values.gather(2, segment)
        curves = low + steps[move][:, None] * (values.gather(2, segment + 1) - low)
        angle, scale, tx, ty = (curves * curves.new_tensor([math.pi / 180, 1, 1, 1])[:, None]
                                ).unbind(1)                                # [N, T] each

        def frames(v: Tensor) -> Tensor:   # per graph and frame, for every person and joint
            return v.to(x.dtype).view(N, 1, 1, T)

        cos, sin = frames(angle.cos() * scale), frames(angle.sin() * scale)
        x0, x1 = x[:, :, :, 0], x[:, :, :, 1]
        moved = torch.stack([cos * x0 - sin * x1 + frames(tx),
                             sin * x0 + cos * x1 + frames(ty)], dim=3)
        if t.keep_empty:
            empty = (x == 0).all(dim=3).all(dim=2, keepdim=True)           # [N, M, 1, T]
            moved = moved.masked_fill(empty[:, :, :, None], 0)
        return torch.cat([moved, x[:, :, :, 2:]], dim=3), valid


class BatchedShift(BatchedTransform):
    """:class:`~pyg_mstgcn.data.transforms.RandomShift` for a batch: each graph's valid frames
    moved to its own random offset, zeros elsewhere. Frame by frame, it commutes with bones,
    not with motion (the frames next to the valid ones change)."""

    streams = ('joint', 'bone')

    def apply(self, x, valid, uniform):
        N, T = x.size(0), x.size(4)
        begin, end = valid.unbind(1)
        n = end - begin
        offset = integers(uniform(), T - n + 1)                            # [N]
        frame = torch.arange(T, device=x.device)
        source = (frame + (begin - offset)[:, None]).clamp(0, T - 1)        # [N, T]
        inside = (frame >= offset[:, None]) & (frame < (offset + n)[:, None])
        moved = x.gather(4, source.view(N, 1, 1, 1, T).expand_as(x))
        moved = moved.masked_fill(~inside.view(N, 1, 1, 1, T), 0)
        shifted = torch.stack([offset, offset + n], dim=1)
        return moved, torch.where((n > 0)[:, None], shifted, torch.zeros_like(shifted))


#: Per-sample step → its batched form.
BATCHED: Dict[Type[Transform], Type[BatchedTransform]] = {
    RandomRotation: BatchedRotation,
    RandomMove: BatchedMove,
    RandomShift: BatchedShift,
}
_NAMES = {cls: name for name, cls in TRANSFORMS.items()}


def _name(transform: Transform) -> str:
    return _NAMES.get(type(transform), repr(transform))


def split_for_device(transforms: Compose, stream: str, stream_first: bool
                     ) -> Tuple[Compose, List[BatchedTransform]]:
    r"""The steps of :obj:`transforms` that stay per sample, those before the first with a
    batched form, and the batched forms of the rest. A :class:`ValueError` says which later
    step has no batched form, or which batched step does not commute with the
    :obj:`stream` computed after the transforms (:obj:`stream_first` false)."""
    steps = list(transforms)
    first = next((i for i, t in enumerate(steps) if type(t) in BATCHED), len(steps))
    batched = []
    for step in steps[first:]:
        if type(step) not in BATCHED:
            raise ValueError(f"{_name(step)} comes after {_name(steps[first])} and has no "
                             f"batched form (only {', '.join(map(_name, BATCHED))} have one): "
                             f'put it before them in the transforms')
        form = BATCHED[type(step)](step)
        if not stream_first and stream not in form.streams:
            raise ValueError(f'{_name(step)} does not commute with the {stream} stream '
                             f'computed after the transforms: compute the stream first '
                             f'(stream_first true)')
        batched.append(form)
    return Compose(steps[:first]), batched


def augment_batch(batch: Batch, steps: Sequence[BatchedTransform], num_joints: int,
                  uniform: Uniform) -> Batch:
    r"""The batch with :obj:`steps` applied to its node features, graph by graph;
    ``batch.valid_frames`` ``[N, 2]`` holds the valid frames after the per-sample steps
    (:attr:`~pyg_mstgcn.data.SkeletonDataset.keep_valid_frames`). Reads nothing back from
    the device."""
    x = batch.x
    nodes, C, T = x.shape
    N = batch.num_graphs
    dense = x.view(N, nodes // (N * num_joints), num_joints, C, T)
    valid = batch.valid_frames
    for step in steps:
        dense, valid = step.apply(dense, valid, uniform)
    batch.x = dense.reshape(nodes, C, T)
    return batch


__all__ = ['Uniform', 'BatchedTransform', 'BatchedRotation', 'BatchedMove', 'BatchedShift',
           'BATCHED', 'split_for_device', 'augment_batch']
