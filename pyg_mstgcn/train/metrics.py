"""Classification metrics over per-sample scores: top-k, per-class accuracy, confusion."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Union

import numpy as np


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of samples whose label is among the :obj:`k` highest scores ``[N, C]``."""
    if len(labels) == 0:
        return float('nan')
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind='stable')[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``[C, C]`` counts: row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def classification_metrics(scores: np.ndarray, labels: np.ndarray,
                           num_classes: int = None) -> Dict[str, object]:
    """top1, top5, mean_class_accuracy, per_class_accuracy (list, NaN for classes without
    samples) and the confusion matrix (list of lists)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    C = num_classes or scores.shape[1]
    cm = confusion_matrix(scores.argmax(1), labels, C)
    support = cm.sum(1)
    with np.errstate(invalid='ignore', divide='ignore'):
        per_class = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    present = per_class[support > 0]
    return {'top1': topk_accuracy(scores, labels, 1), 'top5': topk_accuracy(scores, labels, 5),
            'mean_class_accuracy': float(present.mean()) if len(present) else float('nan'),
            'per_class_accuracy': [float(a) for a in per_class],
            'confusion': cm.tolist(), 'num_samples': int(len(labels))}


def write_confusion_csv(path: Union[str, Path], cm: Sequence[Sequence[int]],
                        class_names: List[str] = None) -> None:
    """The confusion matrix as CSV: header ``true\\pred,<classes>``, one row per true class."""
    cm = np.asarray(cm)
    names = class_names or [str(i) for i in range(len(cm))]
    lines = ['true\\pred,' + ','.join(names)]
    lines += [names[i] + ',' + ','.join(str(int(v)) for v in row) for i, row in enumerate(cm)]
    Path(path).write_text('\n'.join(lines) + '\n')
