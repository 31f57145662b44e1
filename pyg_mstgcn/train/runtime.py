"""What a run sets up around the loop: device, seeds, determinism, mixed precision, logging,
and the run folder (named, created clean, removed again when a run fails before its first
checkpoint)."""
from __future__ import annotations

import logging
import os
import random
import shutil
import sys
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Tuple

import numpy as np
import torch

from pyg_mstgcn.config_files import ConfigError
from pyg_mstgcn.train import distributed as dist_utils
from pyg_mstgcn.train.checkpoint import previous_of

log = logging.getLogger('pyg_mstgcn.train')


def select_device(spec: str) -> torch.device:
    """``'auto'``: CUDA when available, else the CPU."""
    if spec == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(spec)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ConfigError(f"train.device is '{spec}' but CUDA is not available; use 'auto' "
                          f"or 'cpu'")
    return device


@contextmanager
def run_processes(config: Mapping[str, Any]) -> Iterator[Tuple[torch.device,
                                                                  dist_utils.DistInfo]]:
    """The device and the process group of a run (torchrun's, when launched by it: one
    device per process on CUDA), console logging set up; the group is shut down at the
    end, also on an error."""
    device = select_device(config['train']['device'])
    info = dist_utils.init(device.type)
    if info.enabled and device.type == 'cuda':
        device = torch.device('cuda', info.local_rank)
    setup_logging(None, info)
    try:
        yield device, info
    finally:
        dist_utils.cleanup()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def configure_determinism(config: Mapping[str, Any], device: torch.device) -> None:
    if config['train']['threads']:
        torch.set_num_threads(int(config['train']['threads']))
    if config['train']['deterministic']:
        if device.type == 'cuda':
            os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
            torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
        # deterministic mode also fills every new tensor with NaN by default: 10x slower on
        # CPU, and not needed for reproducibility
        torch.utils.deterministic.fill_uninitialized_memory = False


def autocast(device: torch.device, amp: Optional[str]):
    """Mixed precision on CUDA (``'bf16'`` or ``'fp16'``); nothing otherwise."""
    if amp is None or device.type != 'cuda':
        return nullcontext()
    return torch.autocast('cuda', dtype=torch.bfloat16 if amp == 'bf16' else torch.float16)


def setup_logging(run_dir: Optional[Path], info: dist_utils.DistInfo) -> None:
    """Messages to stdout (rank 0 only, warnings from every rank), and to
    ``RUN/log.txt``."""
    log.handlers.clear()
    log.propagate = False
    log.setLevel(logging.INFO if info.is_main else logging.WARNING)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter('%(message)s'))
    log.addHandler(console)
    if run_dir is not None and info.is_main:
        handler = logging.FileHandler(run_dir / 'log.txt')
        handler.setFormatter(logging.Formatter('%(asctime)s %(message)s'))
        log.addHandler(handler)


# ------------------------------------------------------------------------------------------
# Run folders

def run_name(config: Mapping[str, Any], phase: str) -> str:
    """``output.name`` (training), or ``{recipe}-{date-time}``; the test phase always adds
    ``-test-{date-time}``, so that its outputs never land in a training run's folder."""
    stamp = f'{datetime.now():%Y%m%d-%H%M%S}'
    name = config['output']['name'] or Path(config.get('_config_file', 'run')).stem
    if phase == 'test':
        return f'{name}-test-{stamp}'
    return config['output']['name'] or f'{name}-{stamp}'


def find_resume(config: Mapping[str, Any], resume: str) -> Path:
    """The run folder to resume: a given folder (or its ``last.pt``), or (``'auto'``) the
    folder of ``output.name``, or the newest run of this recipe in ``output.dir``."""
    if resume != 'auto':
        path = Path(resume)
        run = path.parent if path.is_file() else path
    elif config['output']['name'] is not None:
        run = Path(config['output']['dir']) / config['output']['name']
    else:
        stem = Path(config.get('_config_file', 'run')).stem
        runs = sorted(Path(config['output']['dir']).glob(f'{stem}-*/last.pt'),
                      key=lambda p: p.stat().st_mtime)
        if not runs:
            raise ConfigError(f"--resume: no run of '{stem}' with a last.pt in "
                              f"{config['output']['dir']}; give --resume RUN_DIR")
        run = runs[-1].parent
    if not has_checkpoint(run):
        raise ConfigError(f'--resume: {run / "last.pt"} does not exist (no checkpoint to resume '
                          f'from)')
    return run


def training_folder(config: Mapping[str, Any], resume: Optional[Path],
                    info: dist_utils.DistInfo) -> Tuple[Path, Optional[Path], Optional[str]]:
    """The run folder of a training, the folder it continues (``None``: a new run) and a note
    to log. :obj:`resume` (``--resume``) continues itself. A worker group that torchrun
    restarted (``--max-restarts``) takes the folder its first attempt recorded in the job's
    store (:func:`claim_folder`) and continues from its last checkpoint when it has one. A new
    run is named by process 0 for all."""
    if resume is not None:
        return resume, resume, None
    earlier = dist_utils.job_lookup(info, 'run_dir') if info.restart else None
    if earlier is not None:
        run_dir = Path(earlier)
        if has_checkpoint(run_dir):
            return run_dir, run_dir, (f'torchrun restart {info.restart}: continuing the run '
                                      f'from its last checkpoint')
        return run_dir, None, (f'torchrun restart {info.restart}: the first attempt wrote no '
                               f'checkpoint; starting again')
    name = dist_utils.broadcast_object(run_name(config, 'train') if info.is_main else None,
                                       info)
    note = (f'torchrun restart {info.restart}: no earlier attempt of this run recorded (it '
            f'failed before its run folder existed); starting a new run') if info.restart \
        else None
    return Path(config['output']['dir']) / name, None, note


def claim_folder(run_dir: Path, info: dist_utils.DistInfo) -> None:
    """Records :obj:`run_dir` as this job's run folder in torchrun's store, for the groups
    of later restarts (:func:`training_folder`)."""
    dist_utils.job_record(info, 'run_dir', str(run_dir.resolve()))


def has_checkpoint(run_dir: Path) -> bool:
    """Whether a run can continue from :obj:`run_dir` (``last.pt``, or the previous one that
    takes its place when it is missing or damaged)."""
    last = run_dir / 'last.pt'
    return last.is_file() or previous_of(last).is_file()


#: Files a run writes before its first checkpoint: all that a run that failed early leaves.
_EARLY_FILES = ('config.yaml', 'log.txt', 'events.out.tfevents.*', '*.tmp', 'best.pt')


def _early_leftovers(run_dir: Path) -> bool:
    return all(any(p.match(pattern) for pattern in _EARLY_FILES) for p in run_dir.iterdir())


@contextmanager
def run_folder(run_dir: Path, resuming: bool, info: dist_utils.DistInfo) -> Iterator[Path]:
    """Creates the run folder (rank 0), refusing one that holds a run and clearing what a run
    that failed before its first checkpoint left (so nothing is appended to it). When the
    ``with`` block fails before ``last.pt`` exists, the folder is removed again: a failed run
    leaves no half-made run behind."""
    created = False
    if not resuming:   # every process checks, so that none waits for one that refused
        if (run_dir / 'last.pt').exists():
            raise ConfigError(f'{run_dir} already holds a run (last.pt); continue it with '
                              f'--resume {run_dir}, or choose another output.name')
        if run_dir.is_dir() and not _early_leftovers(run_dir):
            raise ConfigError(f'{run_dir} exists and holds other files; choose another '
                              f'output.name or output.dir')
    if info.is_main and not resuming:
        if run_dir.is_dir():
            log.info(f'note: removing what a run that failed early left in {run_dir}')
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        created = True
    dist_utils.barrier(info)
    try:
        yield run_dir
    except BaseException:
        if created and not (run_dir / 'last.pt').exists():
            for handler in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
                handler.close()
                log.removeHandler(handler)
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


__all__ = ['select_device', 'run_processes', 'seed_everything', 'configure_determinism', 'autocast',
           'setup_logging', 'run_name', 'find_resume', 'training_folder', 'claim_folder',
           'has_checkpoint', 'run_folder']
