"""``python -m pyg_mstgcn.train --check-data``: every sample of the training and validation
splits read once, in chunks, before a run spends GPU time on them. Reported: NaN or inf
values, all-zero samples, labels outside the model's classes, duplicate sample names."""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

import numpy as np
from tqdm import tqdm

from pyg_mstgcn.data import SkeletonDataset
from pyg_mstgcn.errors import listed
from pyg_mstgcn.io import write_text_atomic
from pyg_mstgcn.train import distributed as dist_utils
from pyg_mstgcn.train.data import build_dataset, prepare_data
from pyg_mstgcn.train.model import build_checked_model

#: The kinds of problem, by key (as in the JSON report) -> what the text report says.
KINDS = {
    'non_finite': 'NaN or infinite values',
    'all_zero': 'all values zero',
    'label_out_of_range': 'label outside [0, num_classes)',
    'duplicate_name': 'name shared with another sample',
}


@dataclass
class SplitReport:
    """The problems of one split: kind -> the names of the samples that have it (and the
    labels out of range, by name)."""
    split: str
    samples: int
    problems: Dict[str, List[str]] = field(default_factory=dict)
    bad_labels: Dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        lines = [f'{self.split}: {self.samples} samples, ' +
                 ('problems:' if self.problems else 'no problems')]
        for kind, names in self.problems.items():
            shown = [f'{n} (label {self.bad_labels[n]})' if kind == 'label_out_of_range'
                     else n for n in names]
            lines.append(f'  {KINDS[kind]}: {len(names)} ({listed(shown)})')
        return '\n'.join(lines)


@contextmanager
def _no_spot_check() -> Iterator[None]:
    # the datasets' check at opening would stop at the first bad sample; here all are read
    saved = SkeletonDataset.spot_check
    SkeletonDataset.spot_check = 0
    try:
        yield
    finally:
        SkeletonDataset.spot_check = saved


def check_split(dataset: SkeletonDataset, split: str, num_classes: int) -> SplitReport:
    """Reads every sample of :obj:`dataset` (chunks of :meth:`~SkeletonDataset.fit_chunks`,
    sequential on a memory map) and lists its problems."""
    names: List[str] = list(dataset.sample_names)
    labels: List[int] = list(dataset.labels)
    found: Dict[str, List[str]] = {kind: [] for kind in KINDS}
    start = 0
    with tqdm(total=len(dataset), desc=f'checking {split}', unit='sample',
              disable=None) as bar:
        for chunk in dataset.fit_chunks():
            flat = chunk.reshape(len(chunk), -1)
            for i in np.flatnonzero(~np.isfinite(flat).all(axis=1)):
                found['non_finite'].append(names[start + i])
            for i in np.flatnonzero(~flat.any(axis=1)):
                found['all_zero'].append(names[start + i])
            start += len(chunk)
            bar.update(len(chunk))
    bad_labels = {n: y for n, y in zip(names, labels) if not 0 <= y < num_classes}
    found['label_out_of_range'] = list(bad_labels)
    counts = Counter(names)
    found['duplicate_name'] = [n for n in names if counts[n] > 1]
    return SplitReport(split, len(dataset), {k: v for k, v in found.items() if v}, bad_labels)


def check_data(config: Mapping[str, Any], out: Optional[str] = None) -> int:
    """Checks the training and validation splits of :obj:`config` as training opens them
    (without the transforms: only the stored data is read), prints a report and writes it
    as JSON to :obj:`out`; returns 0 when no problem was found, else 1. No run folder."""
    model = build_checked_model(config['model'], None, config)
    prepare_data(config, dist_utils.DistInfo())
    plain = {**config, 'data': {**config['data'], 'train_transforms': None,
                                'val_transforms': None}}
    reports = []
    for key in ('train_split', 'val_split'):
        split = config['data'][key]
        with _no_spot_check():
            dataset = build_dataset(plain, split, train=False)
        reports.append(check_split(dataset, split, model.num_classes))
    clean = not any(r.problems for r in reports)
    print(f"data.root {config['data']['root']} (data.format {config['data']['format']}, "
          f'model.num_classes {model.num_classes})')
    print('\n'.join(r.text() for r in reports))
    print('no problems found' if clean else 'problems found')
    if out is not None:
        write_text_atomic(Path(out), json.dumps({
            'root': str(config['data']['root']), 'num_classes': model.num_classes,
            'clean': clean, 'splits': {r.split: {'samples': r.samples, 'problems': r.problems,
                                                 'bad_labels': r.bad_labels}
                                       for r in reports}}, indent=1) + '\n')
    return 0 if clean else 1


__all__ = ['KINDS', 'SplitReport', 'check_split', 'check_data']
