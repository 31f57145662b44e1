"""Files: atomic writes, what a file is, pickles of any Python version, and the
preprocessed-array dataset format (:mod:`pyg_mstgcn.io.arrays`). No PyTorch import, so that
preprocessing workers start fast."""
from pyg_mstgcn.io.arrays import (data_path, frames_path, label_path, load_split, read_labels,
                                  split_complete, split_files, write_labels, write_npy,
                                  write_split)
from pyg_mstgcn.io.atomic import atomic_write, temporary_path, write_text_atomic
from pyg_mstgcn.io.files import file_kind, load_pickle

__all__ = [
    'atomic_write', 'temporary_path', 'write_text_atomic', 'file_kind', 'load_pickle',
    'data_path', 'label_path', 'frames_path', 'split_files', 'split_complete', 'read_labels',
    'write_labels', 'write_npy', 'write_split', 'load_split',
]
