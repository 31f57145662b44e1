"""Preprocessing of the raw skeleton datasets into training arrays.

``python -m preprocess ntu60 | ntu120 | kinetics | streams --help``. The output follows the
original MST-GCN / 2s-AGCN tools (:mod:`preprocess.output`); the steps follow their
``data_gen`` scripts, vectorised (:mod:`preprocess.ntu`, :mod:`preprocess.normalize`,
:mod:`preprocess.kinetics`), and run in parallel worker processes
(:mod:`preprocess.pipeline`).
"""
from preprocess.errors import SampleError
from preprocess.kinetics import load_kinetics_sample, read_kinetics
from preprocess.normalize import num_valid_frames, pre_normalize
from preprocess.ntu import load_ntu_sample, parse_skeleton, read_sample, read_skeleton
from preprocess.output import load_split

__all__ = [
    'SampleError', 'parse_skeleton', 'read_skeleton', 'read_sample', 'load_ntu_sample',
    'read_kinetics', 'load_kinetics_sample', 'pre_normalize', 'num_valid_frames',
    'load_split',
]
