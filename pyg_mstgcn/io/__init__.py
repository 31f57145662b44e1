"""Files: atomic writes, what a file is, pickles of any Python version, and the
preprocessed-array dataset format (:mod:`pyg_mstgcn.io.arrays`). No PyTorch import, so that
preprocessing workers start fast."""
from pyg_mstgcn.io.arrays import (class_names_path, data_path, frames_path,
                                  is_array_folder, label_path, load_split,
                                  read_class_names, read_labels, split_complete,
                                  split_files, write_class_names, write_labels, write_npy,
                                  write_split)
from pyg_mstgcn.io.atomic import atomic_write, save_atomic, temporary_path, write_text_atomic
from pyg_mstgcn.io.files import file_kind, load_pickle, load_torch

__all__ = [
    'atomic_write', 'save_atomic', 'temporary_path', 'write_text_atomic', 'file_kind',
    'load_pickle', 'load_torch',
    'data_path', 'label_path', 'frames_path', 'split_files', 'split_complete', 'is_array_folder',
    'read_labels',
    'write_labels', 'write_npy', 'write_split', 'load_split', 'class_names_path',
    'read_class_names', 'write_class_names',
]
