"""The built-in synthetic dataset: the preprocessed layout, determinism, class balance, and
classes that differ in motion, not in the starting pose."""
import json
import pickle
import time

import numpy as np
import pytest
from torch_geometric.loader import DataLoader

from pyg_mstgcn.data.datasets import SkeletonArrayDataset
from pyg_mstgcn.data.synthetic import CLASSES, REST_POSE, describe, make_synthetic
from pyg_mstgcn.graph import get_layout

FILES = ['train_data_joint.npy', 'train_label.pkl', 'train_num_frames.npy',
         'val_data_joint.npy', 'val_label.pkl', 'val_num_frames.npy', 'synthetic.json',
         'class_names.txt']
SMALL = dict(num_train=48, num_val=24, num_classes=8, frames=32)


@pytest.fixture(scope='module')
def motion_set(tmp_path_factory):
    """Enough samples per class for class statistics (20 per class)."""
    folder = make_synthetic(tmp_path_factory.mktemp('synthetic'), num_train=200, num_val=10,
                            num_classes=10, frames=40, seed=1)
    data = np.load(folder / 'train_data_joint.npy')
    _, labels = pickle.load(open(folder / 'train_label.pkl', 'rb'))
    return data, np.array(labels), np.load(folder / 'train_num_frames.npy')


def test_files_in_the_preprocessed_layout(tmp_path):
    folder = make_synthetic(tmp_path / 'syn', **SMALL)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    for split, n in (('train', 48), ('val', 24)):
        data = np.load(folder / f'{split}_data_joint.npy', mmap_mode='r')
        assert data.shape == (n, 3, 32, 25, 2) and data.dtype == np.float32
        names, labels = pickle.load(open(folder / f'{split}_label.pkl', 'rb'))
        assert len(names) == len(labels) == n and len(set(names)) == n
        assert sorted(set(labels)) == list(range(8))                 # every class
        assert np.bincount(labels).min() == np.bincount(labels).max()  # balanced
        frames = np.load(folder / f'{split}_num_frames.npy')
        assert frames.dtype == np.int64 and frames.min() >= 0.55 * 32 and frames.max() <= 32
        for i in range(n):  # a zero tail after the sequence, the first frame present
            assert not data[i, :, frames[i]:].any() and data[i, :, 0, :, 0].any()
    config = json.loads((folder / 'synthetic.json').read_text())['config']
    assert config['classes'] == list(CLASSES[:8])


def test_same_seed_same_bytes(tmp_path):
    a = make_synthetic(tmp_path / 'a', **SMALL)
    b = make_synthetic(tmp_path / 'b', **SMALL)
    c = make_synthetic(tmp_path / 'c', **SMALL, seed=1)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / 'train_data_joint.npy').read_bytes() != (c / 'train_data_joint.npy').read_bytes()


def test_existing_files_are_reused(tmp_path):
    folder = make_synthetic(tmp_path, **SMALL)
    stamp = (folder / 'train_data_joint.npy').stat().st_mtime_ns
    time.sleep(0.01)
    make_synthetic(tmp_path, **SMALL)
    assert (folder / 'train_data_joint.npy').stat().st_mtime_ns == stamp
    make_synthetic(tmp_path, **SMALL, overwrite=True)
    assert (folder / 'train_data_joint.npy').stat().st_mtime_ns != stamp
    make_synthetic(tmp_path, **{**SMALL, 'num_val': 16})
    assert np.load(folder / 'val_data_joint.npy').shape[0] == 16


def test_default_generation_is_fast(tmp_path):
    start = time.perf_counter()
    folder = make_synthetic(tmp_path)
    assert time.perf_counter() - start < 5
    assert np.load(folder / 'train_data_joint.npy', mmap_mode='r').shape == (640, 3, 64, 25, 2)


def test_read_through_the_dataset(tmp_path):
    folder = make_synthetic(tmp_path, **SMALL)
    dataset = SkeletonArrayDataset(folder, 'val', stream='bone',
                                   transforms=[{'name': 'uniform_sample', 'size': 16}])
    batch = next(iter(DataLoader(dataset, batch_size=8, shuffle=True)))
    assert batch.x.shape == (8 * 50, 3, 16) and batch.num_graphs == 8
    assert all(name.startswith('synthetic_val_') for name in batch.name)


def test_classes_and_errors():
    text = describe()
    assert len(text.splitlines()) == len(CLASSES) == 10
    assert text.startswith('0: wave_right') and 'handshake' in describe(8)
    with pytest.raises(ValueError, match='num_classes must be between 2 and 10'):
        make_synthetic('/nonexistent', num_classes=11)
    with pytest.raises(ValueError, match='num_val must be at least num_classes'):
        make_synthetic('/nonexistent', num_val=3)


def test_rest_pose_is_a_plausible_ntu_skeleton():
    layout = get_layout('ntu-rgb+d')
    lengths = [np.linalg.norm(REST_POSE[a] - REST_POSE[b]) for a, b in layout.inward]
    assert 0.03 < min(lengths) and max(lengths) < 0.45
    assert REST_POSE[3, 2] > REST_POSE[2, 2] > REST_POSE[20, 2] > REST_POSE[0, 2]  # z is up
    assert REST_POSE[8, 0] > 0 > REST_POSE[4, 0]  # the right shoulder at +x


def _activity(data, labels, frames, joint=slice(None)):
    """Per class, the mean temporal standard deviation of the first person's joint(s), per
    coordinate, summed over the coordinates for one joint."""
    out = []
    for c in range(labels.max() + 1):
        stds = [data[i, :, :frames[i], joint, 0].std(axis=1)
                for i in np.flatnonzero(labels == c)]
        out.append(np.mean(stds, axis=0))
    out = np.array(out)
    return out.sum(axis=1) if out.ndim == 2 else out.reshape(len(out), -1)


def test_classes_differ_in_motion(motion_set):
    data, labels, frames = motion_set
    name = {c: i for i, c in enumerate(CLASSES)}
    right_hand, left_hand = _activity(data, labels, frames, 11), _activity(data, labels,
                                                                           frames, 7)
    right_foot, left_foot = _activity(data, labels, frames, 19), _activity(data, labels,
                                                                           frames, 15)
    head = _activity(data, labels, frames, 3)
    assert right_hand[name['wave_right']] > 3 * left_hand[name['wave_right']]
    assert left_hand[name['wave_left']] > 3 * right_hand[name['wave_left']]
    assert right_foot[name['kick']] > 3 * left_foot[name['kick']]
    assert head[name['squat']] > 3 * head[name['clap']]
    assert head[name['jump']] > 3 * head[name['wave_right']]
    # each class moves its own way: the profiles of activity per joint and coordinate differ
    profiles = _activity(data, labels, frames)                   # [classes, 3 * 25]
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True)
    similarity = profiles @ profiles.T
    assert similarity[~np.eye(len(CLASSES), dtype=bool)].max() < 0.95
    # the second person moves in 'handshake' only
    mover = np.zeros(len(labels))
    for i in range(len(labels)):
        second = data[i, :2, :frames[i], :, 1]
        present = second.any(axis=(0, 2))                       # drop-outs are zero frames
        if present.any():
            mover[i] = second[:, present].std(axis=1).mean()
    assert mover[labels == name['handshake']].min() > 3 * mover[labels != name['handshake']].max()


def test_first_frames_alike_across_classes(motion_set):
    data, labels, frames = motion_set
    first = data[:, :, 0, :, 0]                                  # [N, 3, 25]
    means = np.stack([first[labels == c].mean(0) for c in range(len(CLASSES))])
    spread = np.abs(means - means.mean(0)).max()
    # the class means of the first pose agree within a few centimetres ...
    assert spread < 0.06
    # ... whereas the motion over time differs by far more
    middle = np.stack([data[i, :, frames[i] // 2, :, 0] for i in range(len(labels))])
    middle_means = np.stack([middle[labels == c].mean(0) for c in range(len(CLASSES))])
    assert np.abs(middle_means - middle_means.mean(0)).max() > 5 * spread
