"""The NTU RGB+D authors' lists of samples with missing or incomplete skeletons.

``ntu60.txt`` (302 names) and ``ntu120.txt`` (535 names, including the 302) are copies of
``NTU_RGBD_samples_with_missing_skeletons.txt`` and
``NTU_RGBD120_samples_with_missing_skeletons.txt`` from the dataset's repository
(shahroudy/NTURGB-D): three header lines, then one sample name per line.
"""
from __future__ import annotations

from pathlib import Path
from typing import FrozenSet, Union

from pyg_mstgcn.preprocess.splits import NAME_PATTERN

_FILES = {'ntu60': 'ntu60.txt', 'ntu120': 'ntu120.txt'}


def read_name_list(path: Union[str, Path]) -> FrozenSet[str]:
    """The sample names listed in a text file, one per line.

    Lines that are not sample names (headers, blank lines) are ignored; a ``.skeleton``
    extension is dropped.
    """
    names = set()
    with open(path, 'r', encoding='utf-8', errors='replace') as f:
        for line in f:
            stem = line.strip()
            if stem.endswith('.skeleton'):
                stem = stem[:-len('.skeleton')]
            if NAME_PATTERN.fullmatch(stem):
                names.add(stem)
    return frozenset(names)


def missing_samples(dataset: str) -> FrozenSet[str]:
    """The built-in missing-skeleton names of ``'ntu60'`` or ``'ntu120'``."""
    if dataset not in _FILES:
        raise ValueError(f"no missing-skeleton list for '{dataset}'; expected one of "
                         f"{', '.join(_FILES)}")
    return read_name_list(Path(__file__).resolve().parent / _FILES[dataset])
