"""Preprocessing of the raw skeleton datasets into training arrays.

``python -m preprocess ntu60 | ntu120 | kinetics | nw_ucla | streams --help`` from a checkout;
``python -m pyg_mstgcn.preprocess`` or ``mstgcn-preprocess`` wherever the package is
installed (the command line is :mod:`pyg_mstgcn.preprocess.cli`). The output follows the
original MST-GCN / 2s-AGCN tools (:mod:`pyg_mstgcn.io.arrays`); the steps follow their
``data_gen`` scripts, vectorised (:mod:`~pyg_mstgcn.preprocess.ntu`,
:mod:`~pyg_mstgcn.preprocess.normalize`, :mod:`~pyg_mstgcn.preprocess.kinetics`); NW-UCLA
is read as CTR-GCN's release and split as CTR-GCN does (:mod:`~pyg_mstgcn.preprocess.nw_ucla`).
They run in parallel worker processes (:mod:`~pyg_mstgcn.preprocess.pipeline`).
"""
from pyg_mstgcn.preprocess.errors import SampleError
from pyg_mstgcn.preprocess.kinetics import load_kinetics_sample, read_kinetics
from pyg_mstgcn.preprocess.normalize import num_valid_frames, pre_normalize
from pyg_mstgcn.preprocess.ntu import load_ntu_sample, parse_skeleton, read_sample, read_skeleton
from pyg_mstgcn.preprocess.nw_ucla import load_nw_ucla_sample, parse_nw_ucla_name, read_nw_ucla
from pyg_mstgcn.io import load_split

__all__ = [
    'SampleError', 'parse_skeleton', 'read_skeleton', 'read_sample', 'load_ntu_sample',
    'read_kinetics', 'load_kinetics_sample', 'read_nw_ucla', 'load_nw_ucla_sample',
    'parse_nw_ucla_name', 'pre_normalize', 'num_valid_frames',
    'load_split',
]
