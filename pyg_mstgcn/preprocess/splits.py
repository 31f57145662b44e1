"""NTU RGB+D sample names and the benchmark splits of NTU RGB+D 60 and 120.

A sample is named ``SsssCcccPpppRrrrAaaa``: setup, camera, performer (subject),
replication and action, each a 3-digit number. The label of a sample is its action number
minus 1.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Tuple

NAME_PATTERN = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')

#: Training subjects of the NTU RGB+D 60 cross-subject benchmark.
NTU60_TRAIN_SUBJECTS = frozenset({
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
#: Training cameras of the NTU RGB+D 60 cross-view benchmark.
NTU60_TRAIN_CAMERAS = frozenset({2, 3})
#: Training subjects of the NTU RGB+D 120 cross-subject benchmark.
NTU120_TRAIN_SUBJECTS = NTU60_TRAIN_SUBJECTS | frozenset({
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85,
    86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103})

#: The benchmarks of each dataset, in the order they are written.
BENCHMARKS: Dict[str, Tuple[str, ...]] = {
    'ntu60': ('xsub', 'xview'),
    'ntu120': ('xsub', 'xset'),
}
#: The range of setups and actions of each dataset (NTU RGB+D 60 is setups 1-17 and
#: actions 1-60 of NTU RGB+D 120).
DATASET_RANGE: Dict[str, Tuple[int, int]] = {'ntu60': (17, 60), 'ntu120': (32, 120)}
SPLITS = ('train', 'val')


@dataclass(frozen=True)
class NtuName:
    """The fields of an NTU RGB+D sample name."""
    setup: int
    camera: int
    subject: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        """The 0-based class label (action number minus 1)."""
        return self.action - 1


def parse_name(name: str) -> NtuName:
    """Parses ``SsssCcccPpppRrrrAaaa`` (optionally followed by ``.skeleton``)."""
    stem = name[:-len('.skeleton')] if name.endswith('.skeleton') else name
    match = NAME_PATTERN.fullmatch(stem)
    if match is None:
        raise ValueError(f"'{name}' is not an NTU RGB+D sample name; expected "
                         f"SsssCcccPpppRrrrAaaa (e.g. S001C002P003R002A013.skeleton)")
    return NtuName(*(int(group) for group in match.groups()))


def in_dataset(info: NtuName, dataset: str) -> bool:
    """Whether the sample belongs to ``dataset`` (``'ntu60'`` or ``'ntu120'``)."""
    max_setup, max_action = DATASET_RANGE[dataset]
    return 1 <= info.setup <= max_setup and 1 <= info.action <= max_action


def is_training(info: NtuName, dataset: str, benchmark: str) -> bool:
    """Whether the sample is in the training split of ``benchmark`` of ``dataset``."""
    if benchmark not in BENCHMARKS.get(dataset, ()):
        raise ValueError(f"unknown benchmark '{benchmark}' for dataset '{dataset}'; expected "
                         f"one of {', '.join(BENCHMARKS.get(dataset, ())) or 'none'}")
    if benchmark == 'xsub':
        subjects = NTU60_TRAIN_SUBJECTS if dataset == 'ntu60' else NTU120_TRAIN_SUBJECTS
        return info.subject in subjects
    if benchmark == 'xview':
        return info.camera in NTU60_TRAIN_CAMERAS
    return info.setup % 2 == 0  # xset: even setup numbers train


def split_of(info: NtuName, dataset: str, benchmark: str) -> str:
    """``'train'`` or ``'val'``."""
    return 'train' if is_training(info, dataset, benchmark) else 'val'
