"""Helpers for ``torchrun``: one process per device, NCCL on CUDA and gloo on CPU.

A single process needs no launcher: :func:`init` then reports world size 1 and every helper
is a no-op. Under ``torchrun`` the processes also reach torchrun's key-value store, which
outlives the worker group: after an elastic restart (``--max-restarts``) a new group finds
there what the earlier attempt recorded (:func:`job_record`, :func:`job_lookup`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    #: torchrun's ``TORCHELASTIC_RESTART_COUNT``: 0 for the first worker group
    restart: int = 0
    #: torchrun's store (``None`` without torchrun); it outlives the worker group
    store: Optional[dist.Store] = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init(device_kind: str) -> DistInfo:
    """Connects to ``torchrun``'s store when launched by it, and initialises the process group
    when there are several processes (``WORLD_SIZE`` > 1).

    The group's keys (each process's address, for gloo) are written under a prefix of the
    restart count: torchrun's store keeps the keys of a worker group that died, and a
    restarted group that read a dead process's address would wait for it forever.
    """
    world = int(os.environ.get('WORLD_SIZE', '1'))
    launched = 'TORCHELASTIC_RUN_ID' in os.environ and 'MASTER_ADDR' in os.environ
    if world <= 1 and not launched:
        return DistInfo()
    rank, local = int(os.environ['RANK']), int(os.environ.get('LOCAL_RANK', '0'))
    restart = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'))
    if device_kind == 'cuda':
        torch.cuda.set_device(local)
    store = next(dist.rendezvous('env://'))[0] if launched else None
    if world > 1 and not dist.is_initialized():
        backend = 'nccl' if device_kind == 'cuda' else 'gloo'
        if store is None:   # WORLD_SIZE and the rest set by another launcher
            dist.init_process_group(backend)
        else:
            dist.init_process_group(backend, store=dist.PrefixStore(
                f'{JOB_PREFIX}attempt{restart}/', store), rank=rank, world_size=world)
    return DistInfo(rank, world, local, restart, store)


#: The prefix of our keys in torchrun's store.
JOB_PREFIX = 'pyg_mstgcn/'


def job_record(info: DistInfo, key: str, value: str) -> None:
    """Process 0 keeps :obj:`value` in torchrun's store for the rest of the job (restarts
    included); nothing without torchrun."""
    if info.store is not None and info.is_main:
        info.store.set(JOB_PREFIX + key, value)


def job_lookup(info: DistInfo, key: str) -> Optional[str]:
    """What :func:`job_record` kept under :obj:`key` in this job (``None``: nothing)."""
    if info.store is None or not info.store.check([JOB_PREFIX + key]):
        return None
    return info.store.get(JOB_PREFIX + key).decode()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_objects(obj: Any, info: DistInfo) -> List[Any]:
    """The list of :obj:`obj` of every process (``[obj]`` in a single process)."""
    if not info.enabled:
        return [obj]
    out: List[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


class ShardSampler(Sampler[int]):
    r"""The indices of process :obj:`rank` of :obj:`world_size`: positions ``rank::world_size``
    of an order of ``range(n)`` that is a function of :obj:`seed` only (a permutation drawn
    from ``torch.Generator().manual_seed(seed)`` when :obj:`shuffle`, else ``range(n)``).

    With :obj:`batch_size` (the *global* batch size, divisible by :obj:`world_size`) the order
    is cut to whole global batches first (the incomplete last one dropped, as a
    single-process loader with ``drop_last=True``); batch ``k`` of size
    ``batch_size // world_size`` of every process then together hold exactly the samples of
    batch ``k`` of one process with ``batch_size``, and every process runs the same number of
    equal batches. Without it (evaluation) nothing is padded or repeated: the processes hold
    disjoint shares, which differ in size by at most one, and every sample is in one share.
    """

    def __init__(self, n: int, rank: int = 0, world_size: int = 1, shuffle: bool = False,
                 seed: int = 0, batch_size: Optional[int] = None) -> None:
        if batch_size is not None and batch_size % world_size:
            raise ValueError(f'the global batch size {batch_size} is not divisible by the '
                             f'{world_size} processes')
        self.n, self.rank, self.world_size = int(n), int(rank), int(world_size)
        self.shuffle, self.seed, self.batch_size = shuffle, int(seed), batch_size
        self.used = self.n if batch_size is None else self.n // batch_size * batch_size

    def order(self) -> torch.Tensor:
        """The order of all processes (cut to whole global batches)."""
        if self.shuffle:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed))
        else:
            order = torch.arange(self.n)
        return order[:self.used]

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return len(range(self.rank, self.used, self.world_size))


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """:obj:`tensor` summed over the processes (in place; unchanged in a single process)."""
    if info.enabled:
        dist.all_reduce(tensor)
    return tensor
