"""Evaluation: the logits of every sample over one or several processes, metrics, and the test
phase with its outputs (``python -m pyg_mstgcn.train --phase test``)."""
from __future__ import annotations

import json
import logging
import math
import pickle
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from pyg_mstgcn.data import SkeletonDataset
from pyg_mstgcn.io import atomic_write, write_text_atomic
from pyg_mstgcn.train import distributed as dist_utils
from pyg_mstgcn.train.checkpoint import load_weights, read_weights
from pyg_mstgcn.train.config import dump
from pyg_mstgcn.train.data import (SeededSamples, build_dataset, make_loader, prepare_data,
                                   worker_count)
from pyg_mstgcn.train.metrics import classification_metrics, write_confusion_csv
from pyg_mstgcn.train.model import build_checked_model, check_data_fits, run_class_names
from pyg_mstgcn.train.runtime import (autocast, run_folder, run_name, run_processes,
                                      setup_logging)

log = logging.getLogger('pyg_mstgcn.train')


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


def evaluate(model: torch.nn.Module, loader: DataLoader, dataset: SkeletonDataset,
             device: torch.device, amp: Optional[str], info: dist_utils.DistInfo
             ) -> Tuple[Dict[str, Any], np.ndarray]:
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


def strict_json(value: Any) -> Any:
    """:obj:`value` with every NaN or infinity replaced by ``None`` (JSON's ``null``), so that
    :func:`json.dumps` writes strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_json(path: Path, value: Any) -> None:
    """Strict JSON (see :func:`strict_json`), written atomically."""
    write_text_atomic(path, json.dumps(strict_json(value), indent=1, allow_nan=False) + '\n')


def write_test_outputs(run_dir: Path, metrics: Mapping[str, Any], logits: np.ndarray,
                       dataset: SkeletonDataset, class_names: Optional[Sequence[str]],
                       weights: str) -> Dict[str, Any]:
    """``scores.pkl``, ``labels.pkl``, ``per_class.csv``, ``confusion.csv``,
    ``confusion.png`` and ``per_class_accuracy.png`` (with matplotlib) and ``metrics.json``
    (with the class names); returns the summary."""
    names = list(dataset.sample_names)
    with atomic_write(run_dir / 'scores.pkl') as f:
        pickle.dump({n: s.astype(np.float32) for n, s in zip(names, logits)}, f, protocol=4)
    with atomic_write(run_dir / 'labels.pkl') as f:
        pickle.dump((names, list(dataset.labels)), f, protocol=4)
    classes = list(class_names) if class_names else [str(c) for c in range(logits.shape[1])]
    write_confusion_csv(run_dir / 'confusion.csv', metrics['confusion'], classes)
    write_text_atomic(run_dir / 'per_class.csv', 'class,name,accuracy,samples\n' + ''.join(
        f'{c},{name},{"" if math.isnan(a) else a},{sum(row)}\n' for c, (name, a, row) in
        enumerate(zip(classes, metrics['per_class_accuracy'], metrics['confusion']))))
    try:
        from pyg_mstgcn.visualize import plot_evaluation
        plot_evaluation(np.asarray(metrics['confusion']), run_dir, class_names,
                        title=f'{Path(weights).parent.name}/{Path(weights).name}')
    except ImportError as e:
        log.info(f'note: confusion.png and per_class_accuracy.png not drawn ({e})')
    summary = {k: metrics[k] for k in ('top1', 'top5', 'mean_class_accuracy', 'loss',
                                       'num_samples', 'per_class_accuracy')}
    summary['class_names'] = list(class_names) if class_names else None
    summary['weights'] = str(weights)
    write_json(run_dir / 'metrics.json', summary)
    return summary


def test(config: Dict[str, Any], weights: str) -> Dict[str, Any]:
    """Evaluates :obj:`weights` on the validation split, into a folder of its own
    (``{output.name or recipe}-test-{date-time}``): metrics, confusion (CSV, PNG),
    per-class accuracy, ``scores.pkl`` (sample name -> logits) and ``labels.pkl``.

    Under ``torchrun`` the processes evaluate disjoint shares of the samples and rank 0
    writes the outputs of all of them (the same as one process would) and returns the
    summary; the other processes write nothing and return the metrics."""
    with run_processes(config) as (device, info):
        return _test(config, weights, device, info)


def _test(config: Dict[str, Any], weights: str, device: torch.device,
          info: dist_utils.DistInfo) -> Dict[str, Any]:
    amp = config['train']['amp'] if device.type == 'cuda' else None
    checkpoint = read_weights(weights)
    from_weights = checkpoint.model_config is not None
    model = build_checked_model(checkpoint.model_config if from_weights else config['model'],
                                f'the model_config of {weights}' if from_weights else None,
                                config)
    load_weights(model, checkpoint.state_dict, weights)
    prepare_data(config, info)
    dataset = build_dataset(config, config['data']['val_split'], train=False)
    check_data_fits(model, dataset, config, weights if from_weights else None)
    names = checkpoint.class_names or run_class_names(config, dataset, model)
    model.to(device)
    # rank 0's date-time names the folder: the processes may start in different seconds
    run_dir = Path(config['output']['dir']) / dist_utils.broadcast_object(
        run_name(config, 'test') if info.is_main else None, info)
    with run_folder(run_dir, False, info):
        if info.is_main:
            write_text_atomic(run_dir / 'config.yaml', dump(config))
        setup_logging(run_dir, info)
        log.info(f'weights: {weights}; {len(dataset)} samples of the '
                 f"{config['data']['val_split']} split")
        log.info(f'device: {device}' + (f' x {info.world_size} processes' if info.enabled
                                         else ''))
        samples = SeededSamples(dataset, int(config['train']['seed']))
        loader = make_loader(samples, config['data']['val_batch_size'], False, 0,
                             int(config['train']['seed']),
                             worker_count(config['data']['num_workers']), info, device)
        metrics, logits = evaluate(model, loader, dataset, device, amp, info)
        if not info.is_main:
            return metrics
        summary = write_test_outputs(run_dir, metrics, logits, dataset, names, weights)
    log.info(f"top1 {100 * metrics['top1']:.2f}%  top5 {100 * metrics['top5']:.2f}%  "
             f"mean class accuracy {100 * metrics['mean_class_accuracy']:.2f}%")
    log.info(f'outputs: {run_dir}/ (metrics.json, per_class.csv, confusion.csv, '
             f'confusion.png, per_class_accuracy.png, scores.pkl, labels.pkl)')
    log.info('see also:')
    log.info(f'  figures      python -m pyg_mstgcn.visualize evaluation {run_dir} --format pdf')
    log.info(f'  adjacency    python -m pyg_mstgcn.visualize adjacency --weights {weights} '
             f'--out {run_dir}/adjacency.png')
    summary['run_dir'] = str(run_dir)
    return summary


__all__ = ['predict', 'evaluate', 'test', 'write_test_outputs', 'write_json', 'strict_json']
