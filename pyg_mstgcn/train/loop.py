"""The training loop (single process, or one process per device under ``torchrun``), as
timm's ``train.py``: :func:`train` sets up and runs the epochs, :func:`train_one_epoch` runs
one, validation is :func:`~pyg_mstgcn.train.evaluation.evaluate`, and checkpoints are written
by :func:`save_checkpoint` after every epoch (the one before kept as ``last.prev.pt``), and
inside an epoch every ``train.checkpoint_every`` steps (or minutes) and on preemption
(SIGTERM or SIGUSR1: :class:`Preemption`), with the :class:`Position` a resumed run continues
from. A fine-tuning run starts from other weights and keeps parameters fixed as
:mod:`~pyg_mstgcn.train.finetune` says."""
from __future__ import annotations

import logging
import math
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from pyg_mstgcn.checks import duration_seconds, is_integer
from pyg_mstgcn.config_files import ConfigError, source_of
from pyg_mstgcn.io import save_atomic, write_text_atomic
from pyg_mstgcn.train import distributed as dist_utils
from pyg_mstgcn.train.checkpoint import (WeightsError, load_checkpoint, load_weights,
                                         recover_last, rng_state, save_keeping_previous,
                                         set_rng_state)
from pyg_mstgcn.train.augment import DeviceAugment
from pyg_mstgcn.train.config import dump, learning_rate
from pyg_mstgcn.train.data import (SeededSamples, build_dataset, make_loader, prepare_data,
                                   worker_count)
from pyg_mstgcn.train.evaluation import evaluate, write_json
from pyg_mstgcn.train.finetune import freeze, frozen_summary, start_of, train_mode, trainable
from pyg_mstgcn.train.model import build_checked_model, check_data_fits, run_class_names
from pyg_mstgcn.train.runtime import (autocast, claim_folder, configure_determinism,
                                      run_folder, run_processes, seed_everything,
                                      setup_logging, training_folder)
from pyg_mstgcn.train.sync_batchnorm import convert_sync_batchnorm

log = logging.getLogger('pyg_mstgcn.train')


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""


class Preempted(RuntimeError):
    """The run stopped on SIGTERM or SIGUSR1 after writing ``last.pt`` (``--resume``
    continues it)."""


class Preemption:
    """While in use, SIGTERM and SIGUSR1 (what SLURM sends before it stops a job) are only
    recorded in :attr:`signum`: the loop stops after the step it is in. The previous handlers
    are restored on exit. Outside the main thread (where handlers cannot be set) it does
    nothing."""
    SIGNALS = tuple(getattr(signal, name) for name in ('SIGTERM', 'SIGUSR1')
                    if hasattr(signal, name))

    def __init__(self) -> None:
        self.signum = 0
        self._previous: Dict[int, Any] = {}

    def _record(self, signum: int, frame: Any) -> None:
        self.signum = signum   # no work in a handler: the loop looks at it after each step

    def __enter__(self) -> 'Preemption':
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._record) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self._previous.items():   # None: set outside Python, not restorable
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}


@dataclass
class Position:
    """Where a run stands inside an epoch: the steps done, and the epoch's running sums over
    all processes (the loss of each step summed, not yet averaged, over the processes);
    ``last.pt`` holds it as ``position`` when written inside an epoch."""
    step: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0
    step_losses: List[float] = field(default_factory=list)
    seconds: float = 0.0


def lr_factor(step: int, iters: int, sched: Mapping[str, Any], epochs: int,
              base_lr: float) -> float:
    """The learning-rate multiplier at iteration :obj:`step` (``iters`` per epoch): linear
    warm-up over ``warmup_epochs``, then multi-step or cosine decay."""
    epoch = step / iters
    warm = sched['warmup_epochs']
    if warm > 0 and epoch < warm:
        return (step + 1) / (warm * iters)
    if sched['name'] == 'cosine':
        span = max(epochs - warm, 1e-8)
        progress = min(max((epoch - warm) / span, 0.0), 1.0)
        floor = sched['min_lr'] / base_lr if base_lr else 0.0
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return sched['gamma'] ** sum(epoch >= s for s in sched['steps'])


@dataclass
class TrainState:
    """What a checkpoint restores: the model and its optimisation, and the run's record."""
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    epoch: int = 0
    best_top1: float = -1.0
    best_epoch: int = -1
    history: List[Dict[str, Any]] = field(default_factory=list)   # one record an epoch
    class_names: Optional[List[str]] = None   # recorded in the checkpoints
    position: Position = field(default_factory=Position)   # inside epoch ``epoch + 1``


def _weights(state: TrainState, config: Mapping[str, Any]) -> Dict[str, Any]:
    """What every checkpoint holds for using the model (see
    :func:`~pyg_mstgcn.train.checkpoint.read_weights`)."""
    return {'model_config': config['model'], 'state_dict': state.model.state_dict(),
            'class_names': state.class_names, 'epoch': state.epoch,
            'config': {k: v for k, v in config.items() if k != '_sources'}}


#: What ``last.pt`` holds besides :func:`_weights`; a file without it cannot continue a run.
RESUME_KEYS = ('optimizer', 'scheduler', 'scaler', 'best_top1', 'best_epoch', 'rng')


def save_checkpoint(state: TrainState, config: Mapping[str, Any], run_dir: Path) -> None:
    """``last.pt``: everything :func:`restore_checkpoint` needs to continue exactly (with
    ``position`` when inside an epoch); the one it replaces stays as ``last.prev.pt`` (the
    fallback of :func:`resume_point`)."""
    position = asdict(state.position) if state.position.step else None
    save_keeping_previous(
        {**_weights(state, config), 'optimizer': state.optimizer.state_dict(),
         'scheduler': state.scheduler.state_dict(), 'scaler': state.scaler.state_dict(),
         'best_top1': state.best_top1, 'best_epoch': state.best_epoch,
         'history': state.history, 'rng': rng_state(), 'position': position},
        run_dir / 'last.pt')


def save_best(state: TrainState, config: Mapping[str, Any], run_dir: Path) -> None:
    """``best.pt``: the weights of the best validation top-1 so far."""
    save_atomic({**_weights(state, config), 'top1': state.best_top1}, run_dir / 'best.pt')


def resume_point(run_dir: Path, info: dist_utils.DistInfo) -> Optional[str]:
    """Makes ``run_dir/last.pt`` a checkpoint that :func:`restore_checkpoint` can read (rank
    0 puts ``last.prev.pt`` in the place of a damaged or missing one; see
    :func:`~pyg_mstgcn.train.checkpoint.recover_last`); returns the note to log, if any."""
    note = recover_last(run_dir / 'last.pt', ('state_dict', 'epoch') + RESUME_KEYS) \
        if info.is_main else None
    dist_utils.barrier(info)   # the other processes read last.pt once it is whole
    return note


def restore_checkpoint(state: TrainState, path: Path) -> None:
    ckpt = load_checkpoint(path)
    load_weights(state.model, ckpt['state_dict'], path)
    state.optimizer.load_state_dict(ckpt['optimizer'])
    state.scheduler.load_state_dict(ckpt['scheduler'])
    state.scaler.load_state_dict(ckpt['scaler'])
    state.epoch, state.best_top1 = ckpt['epoch'], ckpt['best_top1']
    # the records of older checkpoints also hold each step's loss: not carried on
    state.best_epoch = ckpt['best_epoch']
    state.history = [{k: v for k, v in r.items() if k != 'step_losses'}
                     for r in ckpt.get('history', [])]
    state.position = Position(**(ckpt.get('position') or {}))
    set_rng_state(ckpt['rng'])


def _checkpoint_epoch(path: Path) -> Any:
    try:
        return load_checkpoint(path)['epoch']
    except (WeightsError, KeyError):  # only used in a message
        return '?'


#: Steps between reads of the loss on CUDA when ``train.check_interval`` is null.
CUDA_CHECK_INTERVAL = 20


def train_one_epoch(net: torch.nn.Module, loader, state: TrainState, device: torch.device,
                    amp: Optional[str], config: Mapping[str, Any],
                    info: dist_utils.DistInfo, run_dir: Path,
                    preemption: Optional[Preemption] = None,
                    augment: Optional[DeviceAugment] = None) -> Dict[str, Any]:
    """One epoch over :obj:`loader` (which starts at step ``state.position.step``, the sums of
    the steps before it continued); returns the global loss, top-1, step losses and time. A
    non-finite loss (on any process) raises :class:`NonFiniteLoss`: before its step when the
    loss is read every step (the CPU's default), else at the next read
    (``train.check_interval``). A signal recorded by :obj:`preemption` writes ``last.pt`` and
    raises :class:`Preempted` after the step (every process at the same step). :obj:`augment`
    augments each batch on the device (``data.augment_on: device``)."""
    tcfg = config['train']
    epochs, every = tcfg['epochs'], tcfg['checkpoint_every']
    every_steps = every if is_integer(every) else None
    # a period counts from the last checkpoint: the end of the epoch before, or a resume
    every_seconds, saved_at = duration_seconds(every), time.monotonic()
    # reading the device waits for it: on CUDA the loss is read every few steps only
    interval = tcfg['check_interval'] or (1 if device.type == 'cpu' else CUDA_CHECK_INTERVAL)
    train_mode(net)
    done = state.position
    iters = done.step + len(loader)
    start = time.perf_counter() - done.seconds
    # the sums of the steps done before a resume: on process 0 (they are global ones)
    ours = info.is_main
    loss_sum = torch.tensor(done.loss_sum if ours else 0.0, dtype=torch.float64, device=device)
    correct = torch.tensor(done.correct if ours else 0, dtype=torch.int64, device=device)
    earlier = torch.tensor(done.step_losses if ours else [0.0] * done.step,
                           dtype=torch.float64, device=device)
    first_bad = torch.full((), -1, dtype=torch.int64, device=device)  # a non-finite step
    count, step_losses = done.count if ours else 0, []
    bar = tqdm(loader, desc=f'epoch {state.epoch + 1}/{epochs}', leave=False, initial=done.step,
               total=iters, disable=not info.is_main, mininterval=1.0, file=sys.stderr)
    for it, batch in enumerate(bar, start=done.step):
        batch = batch.to(device, non_blocking=True)
        if augment is not None:
            batch = augment(batch, state.epoch, it)
        with autocast(device, amp):
            logits = net(batch)
        loss = F.cross_entropy(logits.float(), batch.y,
                               label_smoothing=float(tcfg['label_smoothing']))
        finite = torch.isfinite(loss.detach())
        if info.enabled:
            flag = finite.float()
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
            finite = flag > 0
        first_bad = torch.where(~finite & (first_bad < 0), it, first_bad)
        if (it + 1) % interval == 0 and int(first_bad) >= 0:
            _stop(state, run_dir, int(first_bad), it, loss)
        state.optimizer.zero_grad(set_to_none=True)
        state.scaler.scale(loss).backward()
        if tcfg['clip_grad_norm']:
            state.scaler.unscale_(state.optimizer)
            torch.nn.utils.clip_grad_norm_(net.parameters(), float(tcfg['clip_grad_norm']))
        state.scaler.step(state.optimizer)
        state.scaler.update()
        state.scheduler.step()
        n = batch.num_graphs
        loss_sum += loss.detach().double() * n
        step_losses.append(loss.detach())
        correct += (logits.detach().argmax(1) == batch.y).sum()
        count += n
        if it % max(10, interval) == 0:
            bar.set_postfix(loss=f'{loss.item():.3f}')
        time_due = every_seconds is not None and time.monotonic() - saved_at >= every_seconds
        signum, time_due = _stop_or_save(preemption, time_due, it, interval, info, device)
        steps_due = every_steps is not None and (it + 1) % every_steps == 0
        if signum or ((steps_due or time_due) and it + 1 < iters):
            if int(first_bad) >= 0:   # never a checkpoint of non-finite weights
                _stop(state, run_dir, int(first_bad), it, loss)
            totals, steps = _global_sums(loss_sum, correct, count, earlier, step_losses, info)
            state.position = Position(it + 1, totals[0].item(), int(totals[1].item()),
                                      int(totals[2].item()), steps.tolist(),
                                      time.perf_counter() - start)
            if info.is_main:
                save_checkpoint(state, config, run_dir)
            saved_at = time.monotonic()
            if signum:
                dist_utils.barrier(info)   # torchrun stops all once one process has exited
                message = (f'preempted ({signal.Signals(signum).name}) at epoch '
                           f'{state.epoch + 1}, step {it + 1}: checkpoint written; continue '
                           f'with --resume {run_dir}')
                log.info(message)
                raise Preempted(message)
    if int(first_bad) >= 0:   # in the last steps, after the last check
        _stop(state, run_dir, int(first_bad), it, loss)
    seconds = time.perf_counter() - start
    # over the global batch: the sums of every process, each step's loss the mean of the
    # processes' losses (their shares are equal)
    totals, steps = _global_sums(loss_sum, correct, count, earlier, step_losses, info)
    steps /= info.world_size
    count = int(totals[2].item())
    state.position = Position()
    return {'train_loss': totals[0].item() / max(count, 1),
            'train_top1': totals[1].item() / max(count, 1), 'samples': count,
            'step_losses': steps.tolist(), 'epoch_time': seconds}


def _stop_or_save(preemption: Optional[Preemption], time_due: bool, it: int, interval: int,
                  info: dist_utils.DistInfo, device: torch.device) -> Tuple[int, bool]:
    """The signal to stop on after iteration :obj:`it` (0: none), and whether a
    checkpoint is due by time. Under torchrun, the largest of the processes' signals and
    whether any is due, read at the loss's reads only (every ``interval`` steps), so that
    every process stops or saves at the same step."""
    signum = preemption.signum if preemption is not None else 0
    if not info.enabled:
        return signum, time_due
    if (it + 1) % interval:
        return 0, False
    flags = torch.tensor([signum, int(time_due)], dtype=torch.int64, device=device)
    torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
    return int(flags[0].item()), bool(flags[1].item())


def _global_sums(loss_sum: torch.Tensor, correct: torch.Tensor, count: int,
                 earlier: torch.Tensor, step_losses: List[torch.Tensor],
                 info: dist_utils.DistInfo):
    """The epoch's loss, correct and sample sums, and its step losses, summed over the
    processes (the loss of the steps before a resume in :obj:`earlier`)."""
    totals = dist_utils.all_reduce_sum(torch.stack(
        [loss_sum, correct.double(), torch.tensor(float(count), dtype=torch.float64,
                                                  device=loss_sum.device)]), info)
    losses = torch.cat([earlier] + ([torch.stack(step_losses).double()] if step_losses else []))
    return totals, dist_utils.all_reduce_sum(losses, info)


def _stop(state: TrainState, run_dir: Path, bad: int, it: int, loss: torch.Tensor) -> None:
    """Raises :class:`NonFiniteLoss` for the non-finite loss of iteration :obj:`bad` (found
    at iteration :obj:`it`: on the CPU the same, before its step; on CUDA up to
    ``train.check_interval`` steps later, the checkpoint on disk being still the last good
    one)."""
    where = run_dir / 'last.pt'
    kept = (f'the last good checkpoint is {where} (after epoch {_checkpoint_epoch(where)})'
            if where.exists() else 'no checkpoint was written yet')
    value = f'{loss.item()}' if bad == it else 'not finite'
    raise NonFiniteLoss(
        f'the training loss is {value} at epoch {state.epoch + 1}, iteration {bad + 1} (lr '
        f'{state.optimizer.param_groups[0]["lr"]:.3g}); stopping. {kept}. Lower optim.lr, add '
        f'warm-up (schedule.warmup_epochs) or set train.clip_grad_norm')


def _log_epoch(writer: Optional[SummaryWriter], record: Mapping[str, Any]) -> None:
    if writer is None:
        return
    epoch = record['epoch']
    for key in ('train_loss', 'train_top1', 'lr', 'epoch_time'):
        writer.add_scalar(f"train/{key.removeprefix('train_')}", record[key], epoch)
    for key, value in record.get('val', {}).items():
        writer.add_scalar(f'val/{key}', value, epoch)
    writer.flush()


def _log_steps(epoch: int, losses: List[float]) -> None:
    """Each step's loss, to ``log.txt`` only: one line an epoch (the console has the mean;
    the checkpoint keeps per-epoch records only, so that it does not grow with the steps)."""
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, f'epoch {epoch} step losses: '
                            + ' '.join(f'{x:.6g}' for x in losses), None, None)
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _next_steps(run_dir: Path) -> List[str]:
    """What a user does with a finished run."""
    return [
        'next:',
        f'  evaluate     python -m pyg_mstgcn.train --phase test -c {run_dir}/config.yaml '
        f'--weights {run_dir}/best.pt',
        f'  curves       tensorboard --logdir {run_dir}',
        f'  adjacency    python -m pyg_mstgcn.visualize adjacency --weights {run_dir}/best.pt '
        f'--out {run_dir}/adjacency.png',
        f'  predict      python -m pyg_mstgcn.predict --weights {run_dir}/best.pt INPUT ...',
        f'  train more   python -m pyg_mstgcn.train --resume {run_dir} --set train.epochs=N',
    ]


def train(config: Dict[str, Any], resume: Optional[Path] = None) -> Dict[str, Any]:
    """Trains as :obj:`config` says (continuing the run folder :obj:`resume` from its
    ``last.pt`` when given) and returns the results (also in ``results.json``)."""
    with run_processes(config) as (device, info):
        return _train(config, resume, device, info)


def _train(config: Dict[str, Any], resume: Optional[Path], device: torch.device,
           info: dist_utils.DistInfo) -> Dict[str, Any]:
    tcfg, data_cfg, seed = config['train'], config['data'], int(config['train']['seed'])
    amp = tcfg['amp']
    if amp is not None and device.type != 'cuda':
        log.warning(f'warning: train.amp={amp} is ignored on {device} (float32)')
        amp = None
    if tcfg['cuda_graphs'] and device.type != 'cuda':
        log.warning(f'warning: train.cuda_graphs is ignored on {device}')
    configure_determinism(config, device)
    if data_cfg['batch_size'] % info.world_size:
        raise ConfigError(f"data.batch_size {data_cfg['batch_size']} (global) is not divisible "
                          f"by the {info.world_size} processes")

    # Everything that can fail on the user's input fails here, before the run folder exists.
    seed_everything(seed)
    model = build_checked_model(config['model'], None, config)
    prepare_data(config, info)
    train_set = build_dataset(config, data_cfg['train_split'], train=True)
    val_set = build_dataset(config, data_cfg['val_split'], train=False)
    for dataset in (train_set, val_set):
        check_data_fits(model, dataset, config)
    run_dir, resume, restart_note = training_folder(config, resume, info)
    recovered = resume_point(resume, info) if resume is not None else None
    start = start_of(model, config, resume)
    frozen = freeze(model, tcfg['freeze'],
                    source_of('train.freeze', config.get('_sources', {})))
    class_names = run_class_names(config, train_set, model, start)
    per_rank_batch = data_cfg['batch_size'] // info.world_size
    train_data = SeededSamples(train_set, seed, repeat=data_cfg['repeat'])
    val_data = SeededSamples(val_set, seed)
    iters = len(make_loader(train_data, per_rank_batch, True, 0, seed, 0, info, device))
    if iters == 0:
        raise ConfigError(f'data.batch_size {data_cfg["batch_size"]} exceeds the '
                          f'{len(train_set)} training samples (batches are full, last dropped)')
    workers = worker_count(data_cfg['num_workers'])

    config['output']['name'] = run_dir.name   # the saved config.yaml names its own run
    with run_folder(run_dir, resume is not None, info):
        claim_folder(run_dir, info)
        if info.is_main:
            write_text_atomic(run_dir / 'config.yaml', dump(config))
        setup_logging(run_dir, info)
        log.info(f'run folder: {run_dir}')
        if restart_note:
            log.info(restart_note)
        if recovered:
            log.warning(recovered)
        log.info(f'device: {device}' + (f' x {info.world_size} processes' if info.enabled
                                         else ''))
        repeat = f' (x{data_cfg["repeat"]} per epoch)' if data_cfg['repeat'] > 1 else ''
        log.info(f'train: {len(train_set)} samples{repeat}, val: {len(val_set)} samples, '
                 f'stream {train_set.stream}')
        log.info(f'model: {sum(p.numel() for p in model.parameters()):,} parameters')
        if start is not None and start.note:
            log.info(start.note)
        if frozen:
            log.info(frozen_summary(model))
        # the signal handlers are ours while training only
        with Preemption() as preemption:
            return _run_epochs(config, model, class_names, train_data, val_data, val_set,
                               iters, workers, run_dir, resume, device, amp, info, preemption)


def training_network(model: torch.nn.Module, tcfg: Mapping[str, Any], device: torch.device,
                     distributed: bool) -> Tuple[torch.nn.Module, torch.nn.Module]:
    """The model on :obj:`device` (its batch norm over the global batch when
    :obj:`distributed`) and the network the training steps call: compiled as
    ``train.compile`` / ``train.cuda_graphs`` (:obj:`tcfg`) say, inside DDP when distributed,
    as torch advises. The model stays plain for evaluation and the checkpoints (no
    ``_orig_mod.`` in their keys)."""
    model = model.to(device)
    if distributed:
        # torch's SyncBatchNorm on CUDA (NCCL), ours, which works with any backend, on CPU
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model) \
            if device.type == 'cuda' else convert_sync_batchnorm(model)
    net = model
    if tcfg['cuda_graphs'] and device.type == 'cuda':
        net = torch.compile(model, mode='reduce-overhead')   # captures CUDA graphs
    elif tcfg['compile']:
        net = torch.compile(model)
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == 'cuda' else None)
    return model, net


def _run_epochs(config, model, class_names, train_data, val_data, val_set, iters, workers,
                run_dir, resume, device, amp, info, preemption) -> Dict[str, Any]:
    data_cfg, seed, epochs = config['data'], int(config['train']['seed']), \
        int(config['train']['epochs'])
    model, net = training_network(model, config['train'], device, info.enabled)
    o = config['optim']
    base_lr = learning_rate(config)
    log.info(f"optimiser: SGD, lr {base_lr:.4g} for global batch {data_cfg['batch_size']}")
    optimizer = torch.optim.SGD(trainable(model), lr=base_lr, momentum=o['momentum'],
                                nesterov=o['nesterov'], weight_decay=o['weight_decay'])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, iters, config['schedule'], epochs, base_lr))
    state = TrainState(model, optimizer, scheduler,
                       torch.amp.GradScaler('cuda', enabled=amp == 'fp16'),
                       class_names=class_names)
    if resume is not None:
        restore_checkpoint(state, resume / 'last.pt')
        inside = f', at step {state.position.step} of epoch {state.epoch + 1}' \
            if state.position.step else ''
        log.info(f'resumed from {resume / "last.pt"} after epoch {state.epoch}{inside}')

    writer = SummaryWriter(str(run_dir), purge_step=state.epoch + 1 if state.epoch else None) \
        if info.is_main else None
    metrics: Dict[str, Any] = state.history[-1].get('val', {}) if state.history else {}
    samples_seen, train_time = 0, 0.0
    per_rank_batch = data_cfg['batch_size'] // info.world_size
    augment = DeviceAugment.from_config(config, device, info)
    while state.epoch < epochs:
        train_data.set_epoch(state.epoch)
        loader = make_loader(train_data, per_rank_batch, True, state.epoch, seed, workers,
                             info, device, state.position.step)
        stats = train_one_epoch(net, loader, state, device, amp, config, info, run_dir,
                                preemption, augment)
        state.epoch += 1
        samples_seen += stats['samples']
        train_time += stats['epoch_time']
        record = {'epoch': state.epoch, 'lr': optimizer.param_groups[0]['lr'],
                  **{k: v for k, v in stats.items() if k not in ('samples', 'step_losses')}}
        line = (f"epoch {state.epoch}/{epochs}  loss {stats['train_loss']:.4f}  train top1 "
                f"{100 * stats['train_top1']:.1f}%  lr {record['lr']:.4g}  "
                f"{stats['epoch_time']:.1f}s")
        if state.epoch % config['train']['eval_interval'] == 0 or state.epoch == epochs:
            val_data.set_epoch(None)
            val_loader = make_loader(val_data, data_cfg['val_batch_size'] // info.world_size
                                     or 1, False, 0, seed, workers, info, device)
            # the bare model: evaluation (running statistics) needs no communication, and
            # the processes' shares may differ in size
            metrics, _ = evaluate(model, val_loader, val_set, device, amp, info)
            record['val'] = {k: metrics[k] for k in ('loss', 'top1', 'top5',
                                                     'mean_class_accuracy', 'num_samples')}
            line += (f"  |  val loss {metrics['loss']:.4f}  top1 {100 * metrics['top1']:.2f}%"
                     f"  top5 {100 * metrics['top5']:.2f}%")
            if metrics['top1'] > state.best_top1:
                state.best_top1, state.best_epoch = metrics['top1'], state.epoch
                if info.is_main:
                    save_best(state, config, run_dir)
                line += '  (best)'
        state.history.append(record)
        if info.is_main:
            _log_epoch(writer, record)
            _log_steps(state.epoch, stats['step_losses'])
            save_checkpoint(state, config, run_dir)
        log.info(line)

    results = {'top1': metrics.get('top1'), 'top5': metrics.get('top5'),
               'best_top1': state.best_top1, 'best_epoch': state.best_epoch,
               'mean_class_accuracy': metrics.get('mean_class_accuracy'), 'epochs': epochs,
               'samples_per_second': samples_seen / train_time if train_time else None,
               'run_dir': str(run_dir)}
    if info.is_main:
        writer.close()
        write_json(run_dir / 'results.json', results)
        log.info(f"done: val top1 {100 * (results['top1'] or 0):.2f}%, top5 "
                 f"{100 * (results['top5'] or 0):.2f}%, best top1 {100 * state.best_top1:.2f}% "
                 f"(epoch {state.best_epoch})")
        log.info(f'outputs: {run_dir}/ (config.yaml, log.txt, events, last.pt, best.pt, '
                 f'results.json)')
        for line in _next_steps(run_dir):
            log.info(line)
    return results
