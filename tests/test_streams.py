"""Bone and motion streams: the on-the-fly functions (NumPy and PyTorch) against loop
transcriptions of the original ``gen_bone_data.py`` / ``gen_motion_data.py``, and the
``streams`` command on data in the original tools' layout."""
import pickle

import numpy as np
import pytest
import torch

from conftest import SHARED as SHARED_ROOT, run_preprocess
from preprocess.output import load_split
from pyg_mstgcn.data.streams import STREAMS, bone, make_stream, motion

SHARED = SHARED_ROOT / 'data'

# The original's bone pairs, as written in its gen_bone_data.py: 1-based (joint, parent) for
# NTU RGB+D (21, the spine-mid joint, pairs with itself), 0-based for Kinetics.
NTU_PAIRS_1BASED = ((1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
                    (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
                    (18, 17), (19, 18), (20, 19), (22, 23), (21, 21), (23, 8), (24, 25),
                    (25, 12))
KINETICS_PAIRS = ((0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2),
                  (9, 8), (10, 9), (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14),
                  (17, 15))


def ref_bone(data, pairs, one_based):
    """[N, C, T, V, M], pair by pair."""
    out = np.array(data, dtype=np.float32, copy=True)
    for v1, v2 in pairs:
        if one_based:
            v1, v2 = v1 - 1, v2 - 1
        out[:, :, :, v1, :] = data[:, :, :, v1, :] - data[:, :, :, v2, :]
    return out


def ref_motion(data):
    """[N, C, T, V, M], frame by frame."""
    out = np.zeros_like(data, dtype=np.float32)
    for t in range(data.shape[2] - 1):
        out[:, :, t] = data[:, :, t + 1] - data[:, :, t]
    return out


@pytest.mark.parametrize('layout,V,pairs,one_based', [
    ('ntu-rgb+d', 25, NTU_PAIRS_1BASED, True),
    ('openpose', 18, KINETICS_PAIRS, False),
])
def test_streams_match_the_original_scripts(layout, V, pairs, one_based):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 3, 7, V, 2)).astype(np.float32)
    before = x.copy()
    expected = {
        'joint': x, 'bone': ref_bone(x, pairs, one_based), 'joint_motion': ref_motion(x),
        'bone_motion': ref_motion(ref_bone(x, pairs, one_based)),
    }
    assert set(STREAMS) == set(expected)
    for name, value in expected.items():
        out = make_stream(x, name, layout)
        assert isinstance(out, np.ndarray) and out.shape == x.shape and out.dtype == x.dtype
        np.testing.assert_allclose(out, value, atol=1e-6)
        # one sample [C, T, V, M] and torch tensors give the same
        np.testing.assert_allclose(make_stream(x[1], name, layout), value[1], atol=1e-6)
        tensor = make_stream(torch.from_numpy(x), name, layout)
        assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
        np.testing.assert_allclose(tensor.numpy(), value, atol=1e-6)
    np.testing.assert_array_equal(x, before)  # inputs are left alone
    root = 20 if layout == 'ntu-rgb+d' else 0   # spine-mid / nose: zero bone
    assert not bone(x, layout)[..., root, :].any()
    assert not motion(x)[:, :, -1].any()


def test_stream_errors():
    x = np.zeros((3, 4, 25, 2))
    with pytest.raises(ValueError, match="has 18 joints but the data has V = 25"):
        bone(x, 'openpose')
    with pytest.raises(ValueError, match='unknown stream'):
        make_stream(x, 'velocity', 'ntu-rgb+d')
    with pytest.raises(ValueError, match='needs the skeleton layout'):
        make_stream(x, 'bone')
    with pytest.raises(ValueError, match=r'\[C, T, V, M\]'):
        motion(np.zeros((4, 25)))
    np.testing.assert_array_equal(make_stream(x, 'joint_motion'), np.zeros_like(x))



def test_streams_command_on_the_original_layout(tmp_path):
    rng = np.random.default_rng(1)
    example = SHARED / 'ntu_processed' / 'example_ntu_sample.npy'
    ntu = (np.load(example)[None] if example.exists()
           else rng.normal(size=(1, 3, 300, 25, 2)).astype(np.float32))
    ntu = np.concatenate([ntu, ntu[:, :, ::-1]])                  # [2, 3, 300, 25, 2]
    kinetics = rng.normal(size=(3, 3, 300, 18, 2)).astype(np.float32)
    folders = {tmp_path / 'ntu' / 'xsub': (ntu, 'train'), tmp_path / 'kinetics': (kinetics,
                                                                                 'val')}
    for folder, (data, split) in folders.items():   # as the original tools write them
        folder.mkdir(parents=True)
        np.save(folder / f'{split}_data_joint.npy', data)
        with open(folder / f'{split}_label.pkl', 'wb') as f:
            pickle.dump(([f'sample{i}' for i in range(len(data))], [0] * len(data)), f)
    result = run_preprocess('streams', '--in', tmp_path, '--chunk', 2)
    assert '6 files written' in result.stdout
    for folder, (data, split) in folders.items():
        pairs, one_based = ((NTU_PAIRS_1BASED, True) if data.shape[3] == 25
                            else (KINETICS_PAIRS, False))
        expected = {'joint': data, 'bone': ref_bone(data, pairs, one_based),
                    'joint_motion': ref_motion(data),
                    'bone_motion': ref_motion(ref_bone(data, pairs, one_based))}
        for stream, value in expected.items():
            loaded, names, labels, num_frames = load_split(folder, split, stream)
            assert num_frames is None and names[0] == 'sample0' and labels == [0] * len(data)
            assert loaded.dtype == np.float32 and loaded.shape == data.shape
            np.testing.assert_allclose(loaded, value, atol=1e-6, err_msg=f'{folder} {stream}')
    assert not list(tmp_path.rglob('*.tmp'))
    result = run_preprocess('streams', '--in', tmp_path)   # resumable: nothing left to do
    assert '0 files written, 6 already there' in result.stdout
    empty = tmp_path / 'empty'
    empty.mkdir()
    result = run_preprocess('streams', '--in', empty, expect=1)
    assert 'no *_data_joint.npy' in result.stderr
