"""Datasets over preprocessed arrays (the original's layout) and PYSKL annotation pickles,
read through the standard PyG DataLoader."""
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_mstgcn.data.datasets import SkeletonArrayDataset, read_labels
from pyg_mstgcn.data.pyskl import PoseAnnotationDataset
from pyg_mstgcn.data.skeleton import to_dense
from pyg_mstgcn.data.streams import bone, make_stream
from pyg_mstgcn.data.transforms import Normalize
from pyg_mstgcn.graph import SkeletonLayout

N, C, T, V, M = 10, 3, 20, 25, 2


def _write_split(folder, split='train', n=N, frames=T, joints=V, with_frames=True, seed=0):
    """A split in the original layout: joints with zero tails, labels, frame counts."""
    rng = np.random.default_rng(seed)
    data = np.zeros((n, C, frames, joints, M), dtype=np.float32)
    lengths = rng.integers(frames // 2, frames + 1, n)
    for i, length in enumerate(lengths):
        data[i, :, :length, :, 0] = rng.normal(size=(C, length, joints))
        if i % 2:
            data[i, :, :length, :, 1] = rng.normal(size=(C, length, joints))
    names = [f'S001C001P001R001A{i:03d}' for i in range(n)]
    labels = [int(i % 4) for i in range(n)]
    np.save(folder / f'{split}_data_joint.npy', data)
    with open(folder / f'{split}_label.pkl', 'wb') as f:
        pickle.dump((names, labels), f)
    if with_frames:
        np.save(folder / f'{split}_num_frames.npy', lengths)
    return data, names, labels, lengths


@pytest.fixture
def arrays(tmp_path):
    return tmp_path, _write_split(tmp_path)


def test_loader_batches_shapes_labels_names(arrays):
    folder, (data, names, labels, _) = arrays
    dataset = SkeletonArrayDataset(folder, 'train')
    assert len(dataset) == N and dataset.shape == (N, C, T, V, M) and dataset.num_classes == 4
    batches = list(DataLoader(dataset, batch_size=4, num_workers=0))
    assert [b.num_graphs for b in batches] == [4, 4, 2]
    batch = batches[1]
    assert batch.x.shape == (4 * M * V, C, T)
    assert batch.y.tolist() == labels[4:8] and batch.name == names[4:8]
    assert batch.sample_idx.tolist() == [4, 5, 6, 7]
    assert batch.edge_index.max() < batch.num_nodes
    np.testing.assert_array_equal(to_dense(batch, V).numpy(), data[4:8])
    assert isinstance(dataset.data, np.memmap)  # memory-mapped, not read
    assert not isinstance(SkeletonArrayDataset(folder, mmap=False).data, np.memmap)
    assert 'SkeletonArrayDataset(10 samples of [C=3, T=20, V=25, M=2]' in repr(dataset)


@pytest.mark.parametrize('stream', ['bone', 'joint_motion', 'bone_motion'])
def test_streams_on_the_fly_equal_the_stream_functions(arrays, stream):
    folder, (data, *_) = arrays
    dataset = SkeletonArrayDataset(folder, stream=stream)
    batch = next(iter(DataLoader(dataset, batch_size=N)))
    expected = make_stream(data, stream, 'ntu-rgb+d')
    np.testing.assert_allclose(to_dense(batch, V).numpy(), expected, atol=1e-6)
    if stream == 'bone':
        np.testing.assert_array_equal(to_dense(batch, V).numpy(), bone(data, 'ntu-rgb+d'))


def test_stream_before_or_after_the_transforms(arrays):
    folder, (data, _, _, lengths) = arrays
    sample = [{'name': 'uniform_sample', 'size': 8, 'test_mode': True}]
    first = SkeletonArrayDataset(folder, stream='joint_motion', transforms=sample)
    after = SkeletonArrayDataset(folder, stream='joint_motion', transforms=sample,
                                 stream_first=False)
    joints = SkeletonArrayDataset(folder, transforms=sample)
    for i in (0, 3):
        sampled = to_dense(joints[i], V)[0].numpy()
        np.testing.assert_allclose(to_dense(after[i], V)[0].numpy(),
                                   make_stream(sampled, 'joint_motion'), atol=1e-6)
        full_motion = make_stream(data[i], 'joint_motion')
        picks = ((np.arange(8) + 0.5) * lengths[i] / 8).astype(int)
        np.testing.assert_allclose(to_dense(first[i], V)[0].numpy(), full_motion[:, picks],
                                   atol=1e-6)


def test_explicit_data_path_for_a_stream_file(arrays):
    folder, (data, names, labels, _) = arrays
    np.save(folder / 'train_data_bone.npy', bone(data, 'ntu-rgb+d'))
    from_file = SkeletonArrayDataset(data_path=folder / 'train_data_bone.npy',
                                     label_path=folder / 'train_label.pkl')
    computed = SkeletonArrayDataset(folder, stream='bone')
    assert from_file.num_frames is None  # only given explicitly with data_path
    for i in range(N):
        torch.testing.assert_close(from_file[i].x, computed[i].x)
    as_root = SkeletonArrayDataset(folder / 'train_data_bone.npy',
                                   label_path=folder / 'train_label.pkl')
    assert len(as_root) == N
    with pytest.raises(ValueError, match='label_path'):
        SkeletonArrayDataset(folder / 'train_data_bone.npy')


def test_python2_label_pickle(tmp_path):
    _write_split(tmp_path, with_frames=False)
    # a label file pickled by Python 2 (protocol 0 byte strings; a non-ASCII name)
    text = (b"((lp0\n" + b"".join(b"S'S00%d\\xe9'\np%d\na" % (i, i + 1) for i in range(N)) +
            b"(lp20\n" + b"".join(b"I%d\na" % (i % 3) for i in range(N)) + b"tp21\n.")
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(text)
    (tmp_path / 'train_label.pkl').write_bytes(text)
    names, labels = read_labels(tmp_path / 'train_label.pkl')
    assert names[0] == 'S000\xe9' and labels[:4] == [0, 1, 2, 0]
    dataset = SkeletonArrayDataset(tmp_path, 'train')
    batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert batch.name[1] == 'S001\xe9' and batch.y.tolist() == [0, 1, 2, 0]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a folder'):
        SkeletonArrayDataset(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='train_data_joint.npy does not exist'):
        SkeletonArrayDataset(tmp_path, 'train')
    _write_split(tmp_path, 'val')
    with pytest.raises(FileNotFoundError, match='the folder holds val_data_joint.npy'):
        SkeletonArrayDataset(tmp_path, 'train')
    (tmp_path / 'val_label.pkl').unlink()
    with pytest.raises(FileNotFoundError, match='val_label.pkl does not exist'):
        SkeletonArrayDataset(tmp_path, 'val')
    with pytest.raises(ValueError, match='give the folder'):
        SkeletonArrayDataset()
    with pytest.raises(ValueError, match="unknown stream 'bones'"):
        SkeletonArrayDataset(tmp_path, 'val', stream='bones')


def test_errors_for_mismatched_files(tmp_path):
    data, names, labels, lengths = _write_split(tmp_path)
    with open(tmp_path / 'train_label.pkl', 'wb') as f:
        pickle.dump((names[:-1], labels[:-1]), f)
    with pytest.raises(ValueError, match='has 10 samples but .*train_label.pkl lists 9'):
        SkeletonArrayDataset(tmp_path)
    with open(tmp_path / 'train_label.pkl', 'wb') as f:
        pickle.dump((names, labels[:-1]), f)
    with pytest.raises(ValueError, match='lists 10 sample names but 9 labels'):
        SkeletonArrayDataset(tmp_path)
    with open(tmp_path / 'train_label.pkl', 'wb') as f:
        pickle.dump((names, labels), f)
    np.save(tmp_path / 'train_num_frames.npy', lengths[:3])
    with pytest.raises(ValueError, match='gives 3 frame counts'):
        SkeletonArrayDataset(tmp_path)
    np.save(tmp_path / 'train_num_frames.npy', lengths)
    with pytest.raises(ValueError, match="V = 25 joints .* layout 'openpose' has 18"):
        SkeletonArrayDataset(tmp_path, layout='openpose')
    np.save(tmp_path / 'train_data_joint.npy', data[:, :, :, :, 0])
    with pytest.raises(ValueError, match=r'expected \[N, C, T, V, M\]'):
        SkeletonArrayDataset(tmp_path)


def test_valid_frames_from_the_side_file(tmp_path):
    data, _, _, lengths = _write_split(tmp_path)
    # repeat the sequences over their zero tail, as the original's preprocessing does
    for i, n in enumerate(lengths):
        data[i][:, n:] = data[i][:, np.arange(n, T) % n]
    np.save(tmp_path / 'train_data_joint.npy', data)
    dataset = SkeletonArrayDataset(tmp_path, transforms=['random_shift'])
    for i in range(4):
        x = to_dense(dataset[i], V)[0].numpy()
        assert (np.abs(x).sum(axis=(0, 2, 3)) > 0).sum() == lengths[i]


def test_normalize_is_fitted_on_the_split(arrays):
    folder, (data, *_) = arrays
    dataset = SkeletonArrayDataset(folder, stream='bone', transforms=['normalize'])
    normalize = dataset.transforms[0]
    assert isinstance(normalize, Normalize) and normalize.fitted
    bones = bone(data, 'ntu-rgb+d')
    np.testing.assert_allclose(normalize.mean[:, 0, :, 0], bones.mean(axis=(0, 2, 4)),
                               atol=1e-5)
    x = to_dense(dataset[2], V)[0].numpy()
    np.testing.assert_allclose(x, (bones[2] - normalize.mean) / normalize.std, atol=1e-4)


def test_pickled_for_spawned_workers_without_the_data(arrays):
    folder, _ = arrays
    dataset = SkeletonArrayDataset(folder, stream='bone', debug=True)
    blob = pickle.dumps(dataset)
    assert len(blob) < dataset.data.nbytes / 4  # the file is mapped again, not copied
    copy = pickle.loads(blob)
    assert isinstance(copy.data, np.memmap) and len(copy) == len(dataset)
    torch.testing.assert_close(copy[3].x, dataset[3].x)


def test_debug_keeps_100_samples(tmp_path):
    _write_split(tmp_path, n=105, frames=2)
    dataset = SkeletonArrayDataset(tmp_path, debug=True)
    assert len(dataset) == 100 and dataset.data.shape[0] == 100
    assert len(dataset.num_frames) == 100 and dataset[-1].sample_idx == 99
    with pytest.raises(IndexError, match='out of range for 100'):
        dataset[100]


def test_reproducible_augmentation(arrays):
    folder, _ = arrays
    transforms = ['random_shift', {'name': 'random_rotation', 'max_angle': 1.0}]

    def epoch(workers, seed=0):
        torch.manual_seed(seed)
        dataset = SkeletonArrayDataset(folder, transforms=transforms)
        return torch.cat([b.x for b in DataLoader(dataset, batch_size=4, num_workers=workers)])

    a = epoch(0)
    assert torch.equal(a, epoch(0)) and not torch.equal(a, epoch(0, seed=1))
    dataset = SkeletonArrayDataset(folder, transforms=transforms, seed=3)
    assert torch.equal(dataset.get(1, rng=5).x, dataset.get(1, rng=5).x)
    first, second = dataset[1].x, dataset[1].x  # the generator moves on
    assert not torch.equal(first, second)
    b = epoch(2)
    assert torch.equal(b, epoch(2)) and not torch.equal(a, b)


# ------------------------------------------------------------------------------------------
# PYSKL / mmaction2 annotation pickles

HAND = SkeletonLayout.from_edges([(0, 1), (1, 2), (0, 3), (3, 4)], center=0, name='hand')


def _annotations(tmp_path, persons=3, with_score=True, lengths=(6, 9, 4)):
    rng = np.random.default_rng(0)
    annotations = []
    for i, length in enumerate(lengths):
        a = {'frame_dir': f'clip{i}', 'label': i, 'total_frames': length,
             'keypoint': rng.normal(size=(persons, length, 5, 2)).astype(np.float16)}
        if with_score:
            score = rng.uniform(0, 1, size=(persons, length, 5))
            score[1] += 1.0   # person 1 is the most confident, then person 2, then 0
            score[2] += 0.5
            a['keypoint_score'] = score.astype(np.float32)
        annotations.append(a)
    content = {'split': {'train': ['clip0', 'clip2'], 'val': ['clip1']},
               'annotations': annotations}
    path = tmp_path / 'poses.pkl'
    with open(path, 'wb') as f:
        pickle.dump(content, f)
    return path, annotations


def test_pose_annotations_top_persons_and_score_channel(tmp_path):
    path, annotations = _annotations(tmp_path)
    dataset = PoseAnnotationDataset(path, 'train', HAND, num_person=2, with_score=True)
    assert len(dataset) == 2 and dataset.sample_names == ['clip0', 'clip2']
    data = dataset[0]
    assert data.x.shape == (2 * 5, 3, 6) and data.y.tolist() == [0] and data.name == 'clip0'
    x = to_dense(data, 5)[0].numpy()                              # [C + 1, T, V, M]
    a = annotations[0]
    expected = np.concatenate([a['keypoint'].astype(np.float32),
                               a['keypoint_score'][..., None]], axis=-1)
    np.testing.assert_allclose(x[..., 0], expected[1].transpose(2, 0, 1))  # best score
    np.testing.assert_allclose(x[..., 1], expected[2].transpose(2, 0, 1))
    plain = PoseAnnotationDataset(path, 'val', HAND, num_person=4)
    x = to_dense(plain[0], 5)[0].numpy()
    assert x.shape == (2, 9, 5, 4) and not x[..., 3].any()       # padded with a zero person
    np.testing.assert_allclose(x[..., 0], annotations[1]['keypoint'][0].astype(np.float32)
                               .transpose(2, 0, 1))


def test_pose_annotations_batch_with_a_user_layout(tmp_path):
    path, _ = _annotations(tmp_path, persons=1, with_score=False)
    dataset = PoseAnnotationDataset(
        path, None, HAND, stream='bone',
        transforms=[{'name': 'uniform_sample', 'size': 8},
                    {'name': 'random_rotation', 'dims': 2}])
    batch = next(iter(DataLoader(dataset, batch_size=3)))
    assert batch.x.shape == (3 * 2 * 5, 2, 8) and batch.y.tolist() == [0, 1, 2]
    assert batch.name == ['clip0', 'clip1', 'clip2']
    assert 'PoseAnnotationDataset(3 samples' in repr(dataset)


def test_pose_annotations_errors(tmp_path):
    path, annotations = _annotations(tmp_path)
    with pytest.raises(ValueError, match="unknown split 'test'.*available: train, val"):
        PoseAnnotationDataset(path, 'test', HAND)
    with pytest.raises(ValueError, match="V = 5 joints but layout 'coco' has 17"):
        PoseAnnotationDataset(path, 'train', 'coco')
    del annotations[0]['label']
    with open(path, 'wb') as f:
        pickle.dump({'split': {'train': ['clip0']}, 'annotations': annotations}, f)
    with pytest.raises(ValueError, match="'clip0' .* has no 'label'"):
        PoseAnnotationDataset(path, 'train', HAND)
    path, _ = _annotations(tmp_path, with_score=False)
    with pytest.raises(ValueError, match="no 'keypoint_score'; use with_score=False"):
        PoseAnnotationDataset(path, 'train', HAND, with_score=True)
    with open(path, 'wb') as f:
        pickle.dump({'split': {'train': ['clip0', 'gone']}, 'annotations': _annotations(
            tmp_path)[1]}, f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert len(PoseAnnotationDataset(path, 'train', HAND)) == 1
    assert any('no annotation' in str(w.message) for w in caught)
    with open(path, 'wb') as f:
        pickle.dump({'samples': []}, f)
    with pytest.raises(ValueError, match='not a PYSKL annotation file'):
        PoseAnnotationDataset(path, 'train', HAND)
    with pytest.raises(FileNotFoundError):
        PoseAnnotationDataset(tmp_path / 'missing.pkl', 'train', HAND)
