"""Files: atomic writes, what a file is, pickles, the array format, array shapes."""
import pickle
import re

import numpy as np
import pytest
import torch

from pyg_mstgcn.data.skeleton import check_sequence_shape
from pyg_mstgcn.io import (atomic_write, file_kind, load_pickle, load_split, read_class_names,
                           read_labels, split_complete, temporary_path, write_class_names,
                           write_split)


def test_atomic_write_keeps_the_old_file_on_an_error(tmp_path):
    path = tmp_path / 'a.txt'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_write(path, 'w') as f:
            f.write('new, half')
            raise RuntimeError('killed')
    assert path.read_text() == 'old' and not temporary_path(path).exists()
    with atomic_write(path, 'w') as f:
        f.write('new')
    assert path.read_text() == 'new' and list(tmp_path.iterdir()) == [path]


def test_file_kind_and_load_pickle_name_what_a_file_is(tmp_path):
    np.save(tmp_path / 'a.npy', np.zeros(3))
    np.savez(tmp_path / 'b.npz', x=np.zeros(3))
    torch.save({'w': torch.zeros(2)}, tmp_path / 'c.pt')
    (tmp_path / 'd.json').write_text('{"a": 1}')
    (tmp_path / 'e.txt').write_text('hello')
    with open(tmp_path / 'f.pkl', 'wb') as f:
        pickle.dump({'a': 1}, f)
    (tmp_path / 'g').write_bytes(b'')
    kinds = {p.name: file_kind(p) for p in sorted(tmp_path.iterdir())}
    assert kinds == {'a.npy': 'a NumPy array (.npy)', 'b.npz': 'a NumPy archive (.npz)',
                     'c.pt': 'a PyTorch checkpoint (torch.save)', 'd.json': 'a JSON object',
                     'e.txt': 'text', 'f.pkl': 'a Python pickle', 'g': 'an empty file'}
    assert load_pickle(tmp_path / 'f.pkl') == {'a': 1}
    for name, kind in (('a.npy', 'NumPy array'), ('c.pt', 'PyTorch checkpoint'),
                       ('b.npz', 'NumPy archive')):
        with pytest.raises(ValueError, match=f'score file .*{name} is a {kind}.*; hint'):
            load_pickle(tmp_path / name, 'score file', 'hint')
    with pytest.raises(FileNotFoundError, match='label file .*missing.pkl does not exist'):
        load_pickle(tmp_path / 'missing.pkl', 'label file')


def test_python2_label_files_load(tmp_path):
    # protocol 2 with a latin-1 str, as Python 2's cPickle wrote the original's label files
    path = tmp_path / 'val_label.pkl'
    path.write_bytes(b'\x80\x02]q\x00U\x04caf\xe9q\x01a]q\x02K\x03a\x86q\x03.')
    assert read_labels(path) == (['caf\xe9'], [3])


def test_array_format_round_trip(tmp_path):
    data = np.random.default_rng(0).standard_normal((4, 3, 10, 25, 2)).astype(np.float32)
    write_split(tmp_path, 'train', data, ['a', 'b', 'c', 'd'], [0, 1, 2, 1], [10, 9, 8, 7])
    assert split_complete(tmp_path, 'train') and not split_complete(tmp_path, 'val')
    loaded, names, labels, frames = load_split(tmp_path, 'train')
    np.testing.assert_array_equal(loaded, data)
    assert names == ['a', 'b', 'c', 'd'] and labels == [0, 1, 2, 1]
    assert frames.tolist() == [10, 9, 8, 7]
    write_class_names(tmp_path / 'class_names.txt', ['wave', 'clap'])
    assert read_class_names(tmp_path / 'class_names.txt') == ['wave', 'clap']
    with pytest.raises(ValueError, match='4 samples, 3 names and 4 labels'):
        write_split(tmp_path, 'val', data, ['a', 'b', 'c'], [0, 1, 2, 1])


@pytest.mark.parametrize('shape,found,order', [
    ((4, 300, 3, 25, 2), 'N, T, C, V, M', (0, 2, 1, 3, 4)),
    ((4, 3, 300, 2, 25), 'N, C, T, M, V', (0, 1, 2, 4, 3)),
    ((4, 300, 25, 3, 2), 'N, T, V, C, M', (0, 3, 1, 2, 4)),
])
def test_sequence_shapes_with_axes_in_another_order(shape, found, order):
    with pytest.raises(ValueError, match=rf'looks like \[{found}\].*np\.transpose\(x, '
                                         rf'{re.escape(str(order))}\)'):
        check_sequence_shape(shape, 'ntu-rgb+d', 'x.npy')
    # the transpose named in the message gives the expected layout
    fixed = np.empty(shape, dtype=np.uint8).transpose(order).shape
    check_sequence_shape(fixed, 'ntu-rgb+d', 'x.npy')


def test_sequence_shapes_accepted_and_refused():
    check_sequence_shape((4, 3, 300, 25, 2), 'ntu-rgb+d', 'x')
    check_sequence_shape((4, 3, 300, 18, 2), 'openpose', 'x')
    with pytest.raises(ValueError, match="V = 18 joints .* layout 'ntu-rgb\\+d' has 25"):
        check_sequence_shape((4, 3, 300, 18, 2), 'ntu-rgb+d', 'x')
    with pytest.raises(ValueError, match=r'shape \[4, 3, 300, 25\]; expected \[N, C, T, V, M\]'):
        check_sequence_shape((4, 3, 300, 25), 'ntu-rgb+d', 'x')
