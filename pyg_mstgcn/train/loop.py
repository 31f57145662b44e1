"""Training and evaluation loops (single process, or one process per device under
``torchrun``)."""
from __future__ import annotations

import json
import logging
import math
import os
import pickle
import random
import sys
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from pyg_mstgcn.data import SkeletonArrayDataset, make_synthetic
from pyg_mstgcn.models import build_model
from pyg_mstgcn.train import distributed as dist_utils
from pyg_mstgcn.train.checkpoint import (load_checkpoint, read_weights, rng_state,
                                         save_atomic, set_rng_state)
from pyg_mstgcn.train.config import ConfigError, dump, learning_rate
from pyg_mstgcn.train.metrics import classification_metrics, write_confusion_csv
from pyg_mstgcn.train.png import write_confusion_png
from pyg_mstgcn.train.sync_batchnorm import convert_sync_batchnorm

log = logging.getLogger('pyg_mstgcn.train')


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""


# ------------------------------------------------------------------------------------------
# Set-up

def select_device(spec: str) -> torch.device:
    """``'auto'``: CUDA when available, else the CPU."""
    if spec == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(spec)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ConfigError(f"train.device is '{spec}' but CUDA is not available; use 'auto' "
                          f"or 'cpu'")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class SeededSamples(Dataset):
    r"""A skeleton dataset whose augmentation of sample ``i`` in epoch ``e`` is drawn from a
    generator seeded with ``(seed, e, i)``: the same whatever the number of workers, the
    process or the order, so that a resumed run sees the augmentations of an uninterrupted
    one. :meth:`set_epoch` before each epoch (``epoch=None``: evaluation)."""

    def __init__(self, dataset, seed: int) -> None:
        self.dataset, self.seed, self.epoch = dataset, int(seed), None

    def set_epoch(self, epoch: Optional[int]) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        key = [self.seed, 1, int(index)] if self.epoch is None else \
            [self.seed, 0, int(self.epoch), int(index)]
        return self.dataset.get(index, rng=np.random.default_rng(key))


def build_dataset(config: Mapping[str, Any], split: str, train: bool) -> SkeletonArrayDataset:
    data = config['data']
    try:
        return _dataset(data, split, train)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"data ({split} split): {e}") from None


def _dataset(data: Mapping[str, Any], split: str, train: bool) -> SkeletonArrayDataset:
    return SkeletonArrayDataset(
        data['root'], split, stream=data['stream'], layout=data['layout'],
        transforms=data['train_transforms' if train else 'val_transforms'],
        debug=data['debug'], stream_first=data['stream_first'])


def prepare_data(config: Mapping[str, Any], info: dist_utils.DistInfo) -> None:
    """Generates the synthetic dataset into ``data.root`` when ``data.synthetic`` asks for
    it (nothing is written when it is already there)."""
    synthetic = config['data']['synthetic']
    if synthetic is not None:
        root = Path(config['data']['root'])
        if list(root.glob('*_data_*.npy')) and not (root / 'synthetic.json').exists():
            raise ConfigError(f'data.root {root} holds data that make_synthetic did not write, '
                              f'and data.synthetic asks to generate the synthetic dataset '
                              f'there; to train on that data add --set data.synthetic=null')
        if info.is_main:
            log.info(f"synthetic dataset in {config['data']['root']} (generated if absent)")
            make_synthetic(config['data']['root'], **synthetic)
        dist_utils.barrier(info)


def make_loader(dataset: SeededSamples, batch_size: int, train: bool, epoch: int, seed: int,
                num_workers: int, info: dist_utils.DistInfo, device: torch.device
                ) -> DataLoader:
    """This process's loader (:obj:`batch_size` per process), whose order is a function of
    ``(seed, epoch)`` only. Training: a permutation cut to whole global batches
    (``batch_size * world_size``, the incomplete last one dropped), process ``r`` taking its
    positions ``r::world_size``, so that the processes' batches ``k`` together are the batch
    ``k`` of one process with the global batch size. Evaluation: dataset order, split into
    disjoint shares with no padding (every sample evaluated once); see
    :class:`~pyg_mstgcn.train.distributed.ShardSampler`."""
    key = seed * 100003 + epoch
    sampler = dist_utils.ShardSampler(
        len(dataset), info.rank, info.world_size, shuffle=train, seed=key,
        batch_size=batch_size * info.world_size if train else None)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=False,
                      num_workers=num_workers, generator=torch.Generator().manual_seed(key),
                      pin_memory=device.type == 'cuda')


def autocast(device: torch.device, amp: Optional[str]):
    if amp is None or device.type != 'cuda':
        return nullcontext()
    return torch.autocast('cuda', dtype=torch.bfloat16 if amp == 'bf16' else torch.float16)


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


def setup_logging(run_dir: Optional[Path], info: dist_utils.DistInfo) -> None:
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


def _run_dir(config: Mapping[str, Any], phase: str) -> Path:
    out = config['output']
    name = out['name']
    if name is None:
        stem = Path(config.get('_config_file', 'run')).stem
        name = f"{stem}{'-test' if phase == 'test' else ''}-{datetime.now():%Y%m%d-%H%M%S}"
    return Path(out['dir']) / name


def find_resume(config: Mapping[str, Any], resume: str) -> Path:
    """The ``last.pt`` to resume from: a given file or run folder, or (``'auto'``) the run
    folder of ``output.name``, or the newest run of this config in ``output.dir``."""
    if resume != 'auto':
        path = Path(resume)
        path = path / 'last.pt' if path.is_dir() else path
    elif config['output']['name'] is not None:
        path = Path(config['output']['dir']) / config['output']['name'] / 'last.pt'
    else:
        stem = Path(config.get('_config_file', 'run')).stem
        runs = sorted(Path(config['output']['dir']).glob(f'{stem}-*/last.pt'),
                      key=lambda p: p.stat().st_mtime)
        if not runs:
            raise ConfigError(f"--resume: no run of '{stem}' with a last.pt in "
                              f"{config['output']['dir']}; give --resume RUN_DIR")
        path = runs[-1]
    if not path.exists():
        raise ConfigError(f'--resume: {path} does not exist (no checkpoint to resume from)')
    return path


def build_checked_model(model_config: Mapping[str, Any], num_classes: int) -> torch.nn.Module:
    try:
        model = build_model(dict(model_config))
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigError(f'model section: {e}') from None
    if model.num_classes < num_classes:
        raise ConfigError(f'model.num_classes is {model.num_classes} but the data has labels '
                          f'up to {num_classes - 1}')
    return model


def _configure_determinism(config: Mapping[str, Any], device: torch.device) -> None:
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


# ------------------------------------------------------------------------------------------
# Evaluation

@torch.no_grad()
def predict(model: torch.nn.Module, loader: DataLoader, device: torch.device,
            amp: Optional[str], info: dist_utils.DistInfo, desc: str = 'eval'
            ) -> Dict[int, np.ndarray]:
    """Logits of every sample, keyed by ``sample_idx``, gathered from every process. The
    processes' shares must be disjoint (the loaders of :func:`make_loader` pad nothing): a
    sample evaluated twice is an error, so that every sample counts once."""
    model.eval()
    out: Dict[int, np.ndarray] = {}
    for batch in tqdm(loader, desc=desc, leave=False, disable=not info.is_main,
                      mininterval=1.0, file=sys.stderr):
        batch = batch.to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(batch)
        for idx, row in zip(batch.sample_idx.view(-1).tolist(), logits.float().cpu().numpy()):
            out[int(idx)] = row
    merged: Dict[int, np.ndarray] = {}
    for part in dist_utils.all_gather_objects(out, info):
        twice = merged.keys() & part.keys()
        if twice:
            raise RuntimeError(f'{len(twice)} samples were evaluated by more than one process')
        merged.update(part)
    return merged


def evaluate(model, loader, dataset, device, amp, info) -> Tuple[Dict[str, Any], np.ndarray]:
    """Metrics (with ``loss``) and the logits ``[N, C]`` in dataset order."""
    scores = predict(model, loader, device, amp, info)
    if len(scores) != len(dataset):
        raise RuntimeError(f'evaluation saw {len(scores)} of {len(dataset)} samples')
    logits = np.stack([scores[i] for i in range(len(dataset))])
    labels = np.asarray(dataset.labels, dtype=np.int64)
    metrics = classification_metrics(logits, labels, logits.shape[1])
    metrics['loss'] = float(F.cross_entropy(torch.from_numpy(logits).double(),
                                            torch.from_numpy(labels)))
    return metrics, logits


# ------------------------------------------------------------------------------------------
# Training

def train(config: Dict[str, Any], resume: Optional[str] = None) -> Dict[str, Any]:
    """Trains as :obj:`config` says and returns the results (also in ``results.json``)."""
    tcfg = config['train']
    device = select_device(tcfg['device'])
    info = dist_utils.init(device.type)
    if info.enabled and device.type == 'cuda':
        device = torch.device('cuda', info.local_rank)
    setup_logging(None, info)
    try:
        return _train(config, resume, device, info)
    finally:
        dist_utils.cleanup()


def _train(config, resume, device, info) -> Dict[str, Any]:
    tcfg, data_cfg, seed = config['train'], config['data'], int(config['train']['seed'])
    amp = tcfg['amp']
    if amp is not None and device.type != 'cuda':
        log.warning(f'warning: train.amp={amp} is ignored on {device} (float32)')
        amp = None
    _configure_determinism(config, device)
    if data_cfg['batch_size'] % info.world_size:
        raise ConfigError(f"data.batch_size {data_cfg['batch_size']} (global) is not divisible "
                          f"by the {info.world_size} processes")

    # Everything that can fail on the user's input fails here, before the run folder exists.
    resume_path = find_resume(config, resume) if resume else None
    prepare_data(config, info)
    train_set = build_dataset(config, data_cfg['train_split'], train=True)
    val_set = build_dataset(config, data_cfg['val_split'], train=False)
    seed_everything(seed)
    model = build_checked_model(config['model'], max(train_set.num_classes, val_set.num_classes))
    model_config = dict(config['model'])

    run_dir = resume_path.parent if resume_path else _run_dir(config, 'train')
    if info.is_main:
        if resume_path is None and (run_dir / 'last.pt').exists():
            raise ConfigError(f'{run_dir} already holds a run (last.pt); resume it with '
                              f'--resume or choose another output.name')
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / 'config.yaml').write_text(dump(config))
    setup_logging(run_dir, info)
    log.info(f'run folder: {run_dir}')
    log.info(f'device: {device}' + (f' x {info.world_size} processes' if info.enabled else ''))
    log.info(f'train: {len(train_set)} samples, val: {len(val_set)} samples, '
             f'stream {train_set.stream}')
    log.info(f'model: {sum(p.numel() for p in model.parameters()):,} parameters')

    model = model.to(device)
    net = model
    if info.enabled:
        # batch norm over the global batch: torch's SyncBatchNorm on CUDA (NCCL), ours,
        # which works with any backend, on CPU (gloo)
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model) \
            if device.type == 'cuda' else convert_sync_batchnorm(model)
        net = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == 'cuda' else None)
        model = net.module
    o = config['optim']
    base_lr = learning_rate(config)
    log.info(f"optimiser: SGD, lr {base_lr:.4g} for global batch {data_cfg['batch_size']}")
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=o['momentum'],
                                nesterov=o['nesterov'], weight_decay=o['weight_decay'])
    epochs = int(tcfg['epochs'])
    per_rank_batch = data_cfg['batch_size'] // info.world_size
    train_data = SeededSamples(train_set, seed)
    val_data = SeededSamples(val_set, seed)
    iters = len(make_loader(train_data, per_rank_batch, True, 0, seed, 0, info, device))
    if iters == 0:
        raise ConfigError(f'data.batch_size {data_cfg["batch_size"]} exceeds the '
                          f'{len(train_set)} training samples (batches are full, last dropped)')
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, iters, config['schedule'], epochs, base_lr))
    scaler = torch.amp.GradScaler('cuda', enabled=amp == 'fp16')

    start_epoch, best_top1, best_epoch, history = 0, -1.0, -1, []
    if resume_path is not None:
        ckpt = load_checkpoint(resume_path)
        model.load_state_dict(ckpt['state_dict'])
        optimizer.load_state_dict(ckpt['optimizer'])
        scheduler.load_state_dict(ckpt['scheduler'])
        scaler.load_state_dict(ckpt['scaler'])
        start_epoch, best_top1, best_epoch = ckpt['epoch'], ckpt['best_top1'], ckpt['best_epoch']
        history = ckpt.get('history', [])
        set_rng_state(ckpt['rng'])
        log.info(f'resumed from {resume_path} after epoch {start_epoch}')

    writer = None
    if info.is_main:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(run_dir), purge_step=start_epoch + 1 if start_epoch else None)

    criterion_ls = float(tcfg['label_smoothing'])
    clip = tcfg['clip_grad_norm']
    metrics: Dict[str, Any] = history[-1]['val'] if history and 'val' in history[-1] else {}
    samples_seen, train_time = 0, 0.0
    for epoch in range(start_epoch, epochs):
        train_data.set_epoch(epoch)
        loader = make_loader(train_data, per_rank_batch, True, epoch, seed,
                             data_cfg['num_workers'], info, device)
        net.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        count, step_losses = 0, []
        bar = tqdm(loader, desc=f'epoch {epoch + 1}/{epochs}', leave=False,
                   disable=not info.is_main, mininterval=1.0, file=sys.stderr)
        for it, batch in enumerate(bar):
            batch = batch.to(device, non_blocking=True)
            with autocast(device, amp):
                logits = net(batch)
            loss = F.cross_entropy(logits.float(), batch.y, label_smoothing=criterion_ls)
            finite = torch.isfinite(loss.detach())
            if info.enabled:
                flag = finite.float()
                torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
                finite = flag > 0
            if not bool(finite):
                where = run_dir / 'last.pt'
                kept = (f'the last good checkpoint is {where} (after epoch '
                        f'{checkpoint_epoch(where)})' if where.exists()
                        else 'no checkpoint was written yet')
                raise NonFiniteLoss(
                    f'the training loss is {loss.item()} at epoch {epoch + 1}, iteration '
                    f'{it + 1} (lr {optimizer.param_groups[0]["lr"]:.3g}); stopping. {kept}. '
                    f'Lower optim.lr, add warm-up (schedule.warmup_epochs) or set '
                    f'train.clip_grad_norm')
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(net.parameters(), float(clip))
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            n = batch.num_graphs
            loss_sum += loss.detach().double() * n
            step_losses.append(loss.detach())
            correct += (logits.detach().argmax(1) == batch.y).sum()
            count += n
            if it % 10 == 0:
                bar.set_postfix(loss=f'{loss.item():.3f}')
        epoch_time = time.perf_counter() - start
        # over the global batch: the sums of every process, each step's loss the mean of the
        # processes' losses (their shares are equal)
        totals = dist_utils.all_reduce_sum(torch.stack(
            [loss_sum, correct.double(), torch.tensor(float(count), dtype=torch.float64,
                                                      device=device)]), info)
        steps = dist_utils.all_reduce_sum(
            torch.stack(step_losses).double() if step_losses else
            torch.zeros(0, dtype=torch.float64, device=device), info) / info.world_size
        count = int(totals[2].item())
        samples_seen += count
        train_time += epoch_time
        train_loss = totals[0].item() / max(count, 1)
        train_top1 = totals[1].item() / max(count, 1)
        lr = optimizer.param_groups[0]['lr']
        record = {'epoch': epoch + 1, 'train_loss': train_loss, 'train_top1': train_top1,
                  'lr': lr, 'epoch_time': epoch_time, 'step_losses': steps.tolist()}
        line = (f'epoch {epoch + 1}/{epochs}  loss {train_loss:.4f}  train top1 '
                f'{100 * train_top1:.1f}%  lr {lr:.4g}  {epoch_time:.1f}s')
        if (epoch + 1) % tcfg['eval_interval'] == 0 or epoch + 1 == epochs:
            val_data.set_epoch(None)
            val_loader = make_loader(val_data, data_cfg['val_batch_size'] // info.world_size
                                     or 1, False, 0, seed, data_cfg['num_workers'], info,
                                     device)
            # the bare model: evaluation (running statistics) needs no communication, and
            # the processes' shares may differ in size
            metrics, _ = evaluate(model, val_loader, val_set, device, amp, info)
            record['val'] = {k: metrics[k] for k in ('loss', 'top1', 'top5',
                                                     'mean_class_accuracy', 'num_samples')}
            line += (f"  |  val loss {metrics['loss']:.4f}  top1 {100 * metrics['top1']:.2f}%"
                     f"  top5 {100 * metrics['top5']:.2f}%")
            if metrics['top1'] > best_top1:
                best_top1, best_epoch = metrics['top1'], epoch + 1
                if info.is_main:
                    save_atomic({'model_config': model_config, 'state_dict': model.state_dict(),
                                 'epoch': epoch + 1, 'top1': best_top1, 'config': config},
                                run_dir / 'best.pt')
                line += '  (best)'
        history.append(record)
        if info.is_main:
            writer.add_scalar('train/loss', train_loss, epoch + 1)
            writer.add_scalar('train/top1', train_top1, epoch + 1)
            writer.add_scalar('train/lr', lr, epoch + 1)
            writer.add_scalar('train/epoch_time', epoch_time, epoch + 1)
            if 'val' in record:
                for k, v in record['val'].items():
                    writer.add_scalar(f'val/{k}', v, epoch + 1)
            writer.flush()
            save_atomic({'model_config': model_config, 'state_dict': model.state_dict(),
                         'optimizer': optimizer.state_dict(),
                         'scheduler': scheduler.state_dict(), 'scaler': scaler.state_dict(),
                         'epoch': epoch + 1, 'best_top1': best_top1, 'best_epoch': best_epoch,
                         'history': history, 'rng': rng_state(), 'config': config},
                        run_dir / 'last.pt')
        log.info(line)

    results = {'top1': metrics.get('top1'), 'top5': metrics.get('top5'),
               'best_top1': best_top1, 'best_epoch': best_epoch,
               'mean_class_accuracy': metrics.get('mean_class_accuracy'),
               'epochs': epochs,
               'samples_per_second': samples_seen / train_time if train_time else None,
               'run_dir': str(run_dir)}
    if info.is_main:
        writer.close()
        (run_dir / 'results.json').write_text(json.dumps(results, indent=1) + '\n')
        log.info(f"done: val top1 {100 * (results['top1'] or 0):.2f}%, top5 "
                 f"{100 * (results['top5'] or 0):.2f}%, best top1 {100 * best_top1:.2f}% "
                 f"(epoch {best_epoch})")
        log.info(f'outputs: {run_dir}/ (config.yaml, log.txt, events, last.pt, best.pt, '
                 f'results.json)')
    return results


def checkpoint_epoch(path: Path) -> Any:
    try:
        return torch.load(path, map_location='cpu', weights_only=False)['epoch']
    except Exception:  # noqa: BLE001 - only used in a message
        return '?'


# ------------------------------------------------------------------------------------------
# Test phase

def test(config: Dict[str, Any], weights: str) -> Dict[str, Any]:
    """Evaluates :obj:`weights` on the validation split; writes metrics, confusion (CSV,
    PNG), per-class accuracy, ``scores.pkl`` (sample name -> logits) and ``labels.pkl``."""
    device = select_device(config['train']['device'])
    info = dist_utils.DistInfo()
    setup_logging(None, info)
    amp = config['train']['amp'] if device.type == 'cuda' else None
    prepare_data(config, info)
    dataset = build_dataset(config, config['data']['val_split'], train=False)
    model_config, state = read_weights(weights)
    model_config = model_config or dict(config['model'])
    model = build_checked_model(model_config, dataset.num_classes)
    model.load_state_dict(state)
    model.to(device)
    run_dir = _run_dir(config, 'test')
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'config.yaml').write_text(dump(config))
    setup_logging(run_dir, info)
    log.info(f'weights: {weights}; {len(dataset)} samples of {dataset.data_path}')
    samples = SeededSamples(dataset, int(config['train']['seed']))
    loader = make_loader(samples, config['data']['val_batch_size'], False, 0,
                         int(config['train']['seed']), config['data']['num_workers'], info,
                         device)
    metrics, logits = evaluate(model, loader, dataset, device, amp, info)
    names = list(dataset.sample_names)
    with open(run_dir / 'scores.pkl', 'wb') as f:
        pickle.dump({n: s.astype(np.float32) for n, s in zip(names, logits)}, f, protocol=4)
    with open(run_dir / 'labels.pkl', 'wb') as f:
        pickle.dump((names, list(dataset.labels)), f, protocol=4)
    write_confusion_csv(run_dir / 'confusion.csv', metrics['confusion'])
    write_confusion_png(run_dir / 'confusion.png', np.asarray(metrics['confusion']))
    (run_dir / 'per_class.csv').write_text(
        'class,accuracy,samples\n' + ''.join(
            f'{c},{a},{sum(row)}\n' for c, (a, row) in
            enumerate(zip(metrics['per_class_accuracy'], metrics['confusion']))))
    summary = {k: metrics[k] for k in ('top1', 'top5', 'mean_class_accuracy', 'loss',
                                       'num_samples', 'per_class_accuracy')}
    summary['weights'] = str(weights)
    (run_dir / 'metrics.json').write_text(json.dumps(summary, indent=1) + '\n')
    log.info(f"top1 {100 * metrics['top1']:.2f}%  top5 {100 * metrics['top5']:.2f}%  "
             f"mean class accuracy {100 * metrics['mean_class_accuracy']:.2f}%")
    log.info(f'outputs: {run_dir}/ (metrics.json, per_class.csv, confusion.csv, '
             f'confusion.png, scores.pkl, labels.pkl)')
    summary['run_dir'] = str(run_dir)
    return summary
