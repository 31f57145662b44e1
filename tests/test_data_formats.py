"""Training on the data people already hold (``data.format``): the CTR-GCN family's ``.npz``
and PYSKL / mmaction2 annotation pickles (raw 3-D coordinates, 2-D HRNet keypoints), written
here in their published layouts from the real NTU RGB+D samples (read by the independent
reference reader of the preprocessing tests), and read back through the datasets, the
trainer and the predictor."""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import run_preprocess, shared_path
from test_preprocess_ntu import ref_read_xyz
from pyg_mstgcn.data import (CTRGCNDataset, PoseAnnotationDataset, SkeletonArrayDataset,
                             to_dense)
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.io import load_split
from pyg_mstgcn.train.checkpoint import read_weights
from pyg_mstgcn.train.data import SeededSamples

ROOT = Path(__file__).resolve().parents[1]
XSUB_TRAIN = ('S001C001P001R001A011', 'S001C003P008R002A058', 'S003C001P015R001A034')
XSUB_VAL = ('S002C001P003R001A003', 'S004C002P003R001A017')
TINY_NETWORK = ('model.blocks=[[3, 8, false, 1], [8, 8, true, 1]]', 'model.kernel_size=3',
                'model.s_scale=2', 'model.t_scale=2')


@pytest.fixture(scope='module')
def raw_ntu():
    """Stem -> the two bodies of highest energy as the original's read_xyz gives them,
    ``[3, T, 25, 2]`` camera coordinates (what mmaction2's and CTR-GCN's scripts start from)."""
    folder = shared_path('data', 'ntu')
    return {stem: ref_read_xyz(folder / f'{stem}.skeleton') for stem in XSUB_TRAIN + XSUB_VAL}


def label_of(stem):
    return int(stem[-3:]) - 1


def train(*overrides, config='tiny', cwd=ROOT):
    """``python -m pyg_mstgcn.train`` as a user runs it, one epoch of a tiny network."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    args = [sys.executable, '-m', 'pyg_mstgcn.train', '--config', config, '--set',
            'train.epochs=1', 'data.num_workers=0', 'train.threads=1', *overrides]
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def predict(*args):
    """``python -m pyg_mstgcn.predict`` as a user runs it."""
    return subprocess.run([sys.executable, '-m', 'pyg_mstgcn.predict', *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


# ------------------------------------------------------------------------------------------
# CTR-GCN arrays

def write_ctrgcn(path, raw, compressed=False):
    """The layout of CTR-GCN's seq_transformation.py: ``x [N, 300, 150]`` (per frame
    2 persons x 25 joints x (x, y, z), person-major, zeros after the sequence), one-hot
    ``y [N, 60]``; x_test holds the xsub val samples."""
    def split(stems):
        x = np.zeros((len(stems), 300, 150), np.float32)
        y = np.zeros((len(stems), 60), np.float32)
        for n, stem in enumerate(stems):
            skeleton = raw[stem]                                  # [3, T, 25, 2]
            T = skeleton.shape[1]
            x[n, :T] = skeleton.transpose(1, 3, 2, 0).reshape(T, 150)
            y[n, label_of(stem)] = 1
        return x, y
    (x_train, y_train), (x_test, y_test) = split(XSUB_TRAIN), split(XSUB_VAL)
    save = np.savez_compressed if compressed else np.savez
    save(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def test_ctrgcn_arrays_are_the_raw_coordinates_laid_out_again(tmp_path, raw_ntu):
    for compressed in (False, True):
        path = write_ctrgcn(tmp_path / f'NTU60_CS{int(compressed)}.npz', raw_ntu, compressed)
        for split, stems in (('train', XSUB_TRAIN), ('val', XSUB_VAL)):
            dataset = CTRGCNDataset(path, split)
            assert isinstance(dataset.data, np.memmap) != compressed  # np.savez is mapped
            assert dataset.sample_names == [f'{split}_{i}' for i in range(len(stems))]
            assert dataset.labels == [label_of(stem) for stem in stems]
            assert (dataset.num_channels, dataset.num_person) == (3, 2)
            for i, stem in enumerate(stems):
                x, _, label, name = dataset.raw(i)
                T = raw_ntu[stem].shape[1]
                assert x.shape == (3, 300, 25, 2)
                np.testing.assert_allclose(x[:, :T], raw_ntu[stem], atol=1e-6)
                assert not x[:, T:].any()
                data = dataset[i]
                assert data.name == name and int(data.y) == label
                np.testing.assert_array_equal(to_dense(data, 25)[0].numpy(), x)
    assert CTRGCNDataset(path, 'test').sample_names == ['test_0', 'test_1']  # x_test too
    bone = CTRGCNDataset(path, 'train', stream='bone')[0].x
    assert bone.shape == (50, 3, 300) and not torch.equal(bone, CTRGCNDataset(path)[0].x)
    pickle.loads(pickle.dumps(CTRGCNDataset(path)))   # DataLoader workers get a copy


def test_repeat_passes_over_the_data_with_new_augmentations(tmp_path, raw_ntu):
    dataset = CTRGCNDataset(write_ctrgcn(tmp_path / 'NTU60_CS.npz', raw_ntu), transforms=[
        'random_rotation'])
    samples = SeededSamples(dataset, seed=0, repeat=3)
    samples.set_epoch(0)
    assert len(samples) == 9
    first, again = samples[1], samples[4]
    assert first.name == again.name == 'train_1'
    assert not torch.allclose(first.x, again.x)
    assert torch.equal(samples[4].x, again.x)      # a function of (seed, epoch, index)


def test_ctrgcn_file_errors_name_the_problem(tmp_path, raw_ntu):
    path = write_ctrgcn(tmp_path / 'NTU60_CS.npz', raw_ntu)
    with pytest.raises(ValueError, match="unknown split 'xsub_val'.*train, val"):
        CTRGCNDataset(path, 'xsub_val')
    with pytest.raises(ValueError, match='150 values per frame.*18 joints'):
        CTRGCNDataset(path, layout='openpose')
    # the readers of the other formats say what the file is (no bare UnpicklingError)
    with pytest.raises(ValueError, match=r'is a NumPy archive \(.npz\).*CTRGCNDataset'):
        SkeletonArrayDataset(path)
    with pytest.raises(InputError, match=r'is a NumPy archive \(.npz\), not a Python pickle'):
        PoseAnnotationDataset(path, None, 'ntu-rgb+d')
    other = tmp_path / 'other.npz'
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match='not a CTR-GCN .npz'):
        CTRGCNDataset(other)


def test_one_epoch_on_ctrgcn_arrays_and_data_of_another_format_named(tmp_path, raw_ntu):
    path = write_ctrgcn(tmp_path / 'NTU60_CS.npz', raw_ntu)
    common = (f'data.root={path}', 'data.synthetic=null', 'model.num_classes=60',
              'data.batch_size=3', f'output.dir={tmp_path}', *TINY_NETWORK)
    proc = train('data.format=ctrgcn', 'output.name=ctrgcn', *common)
    assert proc.returncode == 0, proc.stderr
    assert 'train: 3 samples, val: 2 samples' in proc.stdout + proc.stderr
    for split, names in ((None, ['val_0', 'val_1']), ('train', ['train_0', 'train_1',
                                                                 'train_2'])):
        out = tmp_path / f'{split}.json'
        proc = predict('--weights', tmp_path / 'ctrgcn' / 'best.pt', path, '--out', out,
                       *(['--split', split] if split else []))
        assert proc.returncode == 0, proc.stderr
        assert [r['sample'] for r in json.loads(out.read_text())] == names
    proc = train('output.name=wrong', *common)                  # data.format left at arrays
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout + proc.stderr
    assert f'data.root {path} looks like ctrgcn data' in proc.stdout + proc.stderr
    assert 'set data.format=ctrgcn' in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------
# PYSKL / mmaction2 pickles: raw 3-D coordinates

def write_3d_pickle(path, raw, dtype):
    """An mmaction2 / PYSKL 3-D annotation file: ``keypoint [M, T, V, C]`` of the raw
    coordinates (float16 as mmaction2 writes them, or float32), xsub splits by name."""
    annotations = [{'frame_dir': stem, 'label': label_of(stem), 'total_frames':
                    raw[stem].shape[1], 'keypoint': raw[stem].transpose(3, 1, 2, 0).astype(dtype)}
                   for stem in XSUB_TRAIN + XSUB_VAL]
    with open(path, 'wb') as f:
        pickle.dump({'split': {'xsub_train': list(XSUB_TRAIN), 'xsub_val': list(XSUB_VAL)},
                     'annotations': annotations}, f)
    return path


def test_raw_3d_pickle_after_pre_normalize_equals_the_preprocessing(tmp_path, raw_ntu):
    out = tmp_path / 'ntu60'
    run_preprocess('ntu60', '--raw', shared_path('data', 'ntu'), '--out', out, '--workers', 1)
    for dtype, atol in ((np.float32, 1e-5), (np.float16, 1e-2)):
        path = write_3d_pickle(tmp_path / f'ntu60_3d_{np.dtype(dtype).name}.pkl', raw_ntu,
                               dtype)
        for split in ('train', 'val'):
            expected, names, _, num_frames = load_split(out / 'xsub', split)
            dataset = PoseAnnotationDataset(path, f'xsub_{split}', 'ntu-rgb+d', transforms=[
                {'name': 'pre_normalize', 'num_frames': 300}])
            assert [f'{n}.skeleton' for n in dataset.sample_names] == names
            for i in range(len(dataset)):
                x = to_dense(dataset[i], 25)[0].numpy()
                assert x.shape == expected[i].shape
                np.testing.assert_allclose(x, expected[i], atol=atol, err_msg=names[i])


def test_one_epoch_on_a_raw_3d_pickle_then_predict_on_raw_files(tmp_path, raw_ntu):
    path = write_3d_pickle(tmp_path / 'ntu60_3d.pkl', raw_ntu, np.float32)
    proc = train('data.format=pyskl', f'data.root={path}', 'data.synthetic=null',
                 'data.train_split=xsub_train', 'data.val_split=xsub_val',
                 'model.num_classes=60', 'data.batch_size=3', f'output.dir={tmp_path}',
                 'output.name=pyskl3d', 'data.class_names=ntu60',
                 'data.train_transforms=[pre_normalize, {name: uniform_sample, size: 16}]',
                 'data.val_transforms=[pre_normalize, {name: uniform_sample, size: 16, '
                 'test_mode: true}]', *TINY_NETWORK)
    assert proc.returncode == 0, proc.stderr
    weights = tmp_path / 'pyskl3d' / 'best.pt'
    config = read_weights(weights)
    assert config.config['data']['format'] == 'pyskl' and len(config.class_names) == 60
    # the model pre-normalises in its transforms: the predictor gives it the raw bodies of a
    # .skeleton file, once normalised, as the pickle's
    stem = XSUB_VAL[0]
    records = {}
    for name, inputs in (('skeleton', [shared_path('data', 'ntu', f'{stem}.skeleton')]),
                         ('pickle', [path, '--split', 'xsub_val'])):
        out = tmp_path / f'{name}.json'
        proc = predict('--weights', weights, *inputs, '--out', out)
        assert proc.returncode == 0, proc.stderr
        records[name] = json.loads(out.read_text())[0]
    assert records['pickle']['sample'] == stem
    np.testing.assert_allclose(records['skeleton']['logits'], records['pickle']['logits'],
                               atol=1e-4)


# ------------------------------------------------------------------------------------------
# PYSKL 2-D pickles (HRNet COCO-17 keypoints in pixels)

def hrnet_annotations(rng, count=6, frames=(20, 40)):
    """Annotations in the layout of PYSKL's ntu60_hrnet.pkl: float16 pixel keypoints
    ``[M, T, 17, 2]`` and scores ``[M, T, 17]`` of a 1920 x 1080 video; one sample has a
    third, faint person, who is dropped."""
    annotations = []
    for n in range(count):
        T, M = int(rng.integers(*frames)), 1 + n % 2 + (n == count - 1)
        centre = rng.uniform([600, 300], [1300, 700], (M, 1, 1, 2))
        walk = np.cumsum(rng.normal(0, 4, (M, T, 1, 2)), axis=1)
        keypoint = centre + walk + rng.normal(0, 60, (M, 1, 17, 2))
        score = rng.uniform(0.3, 1.0, (M, T, 17))
        if M == 3:
            score[2] *= 0.1
        annotations.append({
            'frame_dir': f'S001C001P001R001A{n + 1:03d}', 'label': n % 4, 'img_shape': (1080, 1920),
            'original_shape': (1080, 1920), 'total_frames': T,
            'keypoint': keypoint.astype(np.float16), 'keypoint_score': score.astype(np.float16)})
    return annotations


def write_2d_pickle(path, annotations):
    names = [a['frame_dir'] for a in annotations]
    with open(path, 'wb') as f:
        pickle.dump({'split': {'xsub_train': names[:4], 'xsub_val': names[4:]},
                     'annotations': annotations}, f)
    return path


def test_2d_pickle_frame_normalised_with_the_score_channel(tmp_path):
    annotations = hrnet_annotations(np.random.default_rng(0))
    path = write_2d_pickle(tmp_path / 'ntu60_hrnet.pkl', annotations)
    dataset = PoseAnnotationDataset(path, 'xsub_val', 'coco', with_score='auto')
    assert dataset.num_channels == 3 and dataset.with_score
    for i, a in enumerate(annotations[4:]):
        x, frames, label, name = dataset.raw(i)
        keypoint = a['keypoint'].astype(np.float64)
        score = a['keypoint_score'].astype(np.float64)
        keep = np.argsort(-score.sum((1, 2)), kind='stable')[:2]   # the two surest persons
        assert (frames, label, name) == (a['total_frames'], a['label'], a['frame_dir'])
        expected = np.zeros((3, frames, 17, 2))
        expected[0, ..., :len(keep)] = (keypoint[keep, ..., 0] / 1920 - 0.5).transpose(1, 2, 0)
        expected[1, ..., :len(keep)] = (0.5 - keypoint[keep, ..., 1] / 1080).transpose(1, 2, 0)
        expected[2, ..., :len(keep)] = score[keep].transpose(1, 2, 0)
        np.testing.assert_allclose(x, expected, atol=1e-6)
    raw = PoseAnnotationDataset(path, 'xsub_val', 'coco', frame_normalize=False)
    assert raw.num_channels == 2
    np.testing.assert_array_equal(raw.raw(0)[0][:, :, :, 0], annotations[4]['keypoint'][0]
                                  .astype(np.float32).transpose(2, 0, 1))


def test_one_epoch_on_a_2d_pickle_with_the_2d_recipe_then_predict(tmp_path):
    annotations = hrnet_annotations(np.random.default_rng(1))
    path = write_2d_pickle(tmp_path / 'ntu60_hrnet.pkl', annotations)
    proc = train(f'data.root={path}', 'data.batch_size=2', 'data.val_batch_size=2',
                 'data.repeat=2', f'output.dir={tmp_path}', 'output.name=hrnet',
                 'data.train_transforms=[{name: uniform_sample, size: 16}]',
                 'data.val_transforms=[{name: uniform_sample, size: 16, test_mode: true}]',
                 *TINY_NETWORK, config='ntu60_2d_xsub_joint')
    assert proc.returncode == 0, proc.stderr
    assert 'train: 4 samples (x2 per epoch), val: 2 samples' in proc.stdout + proc.stderr
    assert '| 0/4 ' in proc.stderr    # 2 passes over 4 samples in batches of 2
    weights = tmp_path / 'hrnet' / 'best.pt'
    # the same keypoints as a pose estimator's JSON (one person per frame, pixels) predict
    # what the pickle does
    one = annotations[4]
    frames = [[[[float(v) for v in (*one['keypoint'][0, t, j], one['keypoint_score'][0, t, j])]
                for j in range(17)]] for t in range(one['total_frames'])]
    clip = tmp_path / 'clip.json'
    clip.write_text(json.dumps(frames))
    single = dict(one, keypoint=one['keypoint'][:1], keypoint_score=one['keypoint_score'][:1])
    alone = tmp_path / 'alone.pkl'
    with open(alone, 'wb') as f:
        pickle.dump([single], f)
    records = {}
    for name, inputs in (('json', [clip, '--frame-size', 1920, 1080]), ('pickle', [alone])):
        out = tmp_path / f'{name}.json'
        proc = predict('--weights', weights, *inputs, '--out', out)
        assert proc.returncode == 0, proc.stderr
        records[name] = json.loads(out.read_text())[0]
    np.testing.assert_allclose(records['json']['logits'], records['pickle']['logits'],
                               atol=1e-4)
