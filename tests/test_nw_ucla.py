"""NW-UCLA: the layout, the class list, ``python -m preprocess nw_ucla`` on the ten real samples
and on hand-made corner cases, the transforms of CTR-GCN's NW-UCLA feeder against independent
references, and one epoch of the nw_ucla_joint recipe through the training command line."""
import json
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, SHARED, run_preprocess
from pyg_mstgcn.data import SkeletonArrayDataset
from pyg_mstgcn.data.classes import class_names
from pyg_mstgcn.data.transforms import (MinMaxNormalize, PreNormalize, SortedSample,
                                        build_transforms)
from pyg_mstgcn.graph import LAYOUTS, NTU_RGB_D, SkeletonLayout, get_layout
from pyg_mstgcn.io import load_split
from pyg_mstgcn.preprocess import parse_nw_ucla_name, pre_normalize
from pyg_mstgcn.train.config import resolve
from pyg_mstgcn.visualize.render import is_three_d

UCLA = SHARED / 'data' / 'nw_ucla'
needs_real = pytest.mark.skipif(not UCLA.is_dir(), reason=f'{UCLA} is not available')

#: CTR-GCN's NW-UCLA bone pairs (its feeder's ``self.bone``, ``ucla_pairs``), 1-based.
UCLA_PAIRS = ((1, 2), (2, 3), (3, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
              (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
              (19, 18), (20, 19))
CLASSES = ['pick up with one hand', 'pick up with two hands', 'drop trash', 'walk around',
           'sit down', 'stand up', 'donning', 'doffing', 'throw', 'carry']


def test_layout():
    layout = get_layout('ucla')
    assert layout is LAYOUTS['nw-ucla'] and get_layout('NW-UCLA') is layout
    assert layout.num_joints == 20 and layout.center == 2 and layout.dims == 3
    assert layout.bone_pairs == tuple(sorted((a - 1, b - 1) for a, b in UCLA_PAIRS))
    assert sorted(j for part in layout.parts for j in part) == list(range(20))
    assert len(layout.parts) == 5
    # the same words as NTU's for the same body points: all 20 are NTU joints
    assert set(layout.joint_names) <= set(NTU_RGB_D.joint_names)
    names = layout.joint_names
    assert names[2] == 'spine_shoulder' and names[3] == 'head' and names[19] == 'right_foot'
    # pre_normalize's defaults (spine base -> spine middle, right <- left shoulder, spine
    # middle) are the same body points in both layouts, as PreNormalize's doc says
    for joint in (0, 1, 4, 8):
        assert names[joint] == NTU_RGB_D.joint_names[joint]


def test_dims_and_three_d():
    assert [LAYOUTS[n].dims for n in ('ntu-rgb+d', 'nw-ucla', 'openpose', 'coco')] == [3, 3, 2, 2]
    assert is_three_d('ucla') and is_three_d('ntu') and not is_three_d('coco')
    custom = SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1)
    assert custom.dims is None and not is_three_d(custom)
    assert is_three_d(SkeletonLayout.from_edges([(0, 1)], center=0, dims=3))
    with pytest.raises(ValueError, match="layout 'x': dims must be 3"):
        SkeletonLayout('x', 2, ((1, 0), ), 0, dims=4)


def test_class_list():
    assert class_names('nw_ucla') == CLASSES


def test_name_fields():
    info = parse_nw_ucla_name('a11_s03_e07_v03.json')
    assert (info.action, info.subject, info.repetition, info.view) == (11, 3, 7, 3)
    assert info.label == 8 and info.split == 'val'
    assert parse_nw_ucla_name('a12_s01_e00_v02').split == 'train'
    for bad, match in (('a01_s01_e00', 'is not aXX_sXX_eXX_vXX'), ('a07_s01_e00_v01', 'action 7'),
                       ('a01_s01_e00_v04', 'view 4')):
        with pytest.raises(ValueError, match=match):
            parse_nw_ucla_name(bad)


# ------------------------------------------------------------------------------------------
# Preprocessing

@pytest.fixture(scope='module')
def arrays(tmp_path_factory):
    """The ten shared samples preprocessed as a user would."""
    if not UCLA.is_dir():
        pytest.skip(f'{UCLA} is not available')
    out = tmp_path_factory.mktemp('nw_ucla')
    result = run_preprocess('nw_ucla', '--raw', UCLA, '--out', out, '--workers', 2)
    return out, result


@needs_real
def test_real_samples(arrays):
    out, result = arrays
    assert 'val: no file of view 3' in result.stderr
    data, names, labels, num_frames = load_split(out, 'train')
    files = sorted(UCLA.glob('*.json'))
    assert names == [f.stem for f in files] and labels == list(range(10))
    assert data.shape == (10, 3, 300, 20, 1) and data.dtype == np.float32
    for n, path in enumerate(files):
        skeletons = np.array(json.loads(path.read_text())['skeletons'], dtype=np.float32)
        T = len(skeletons)
        assert num_frames[n] == T
        np.testing.assert_array_equal(data[n, :, :T, :, 0], skeletons.transpose(2, 0, 1))
        assert not data[n, :, T:].any()
    val, val_names, val_labels, val_frames = load_split(out, 'val')
    assert val.shape == (0, 3, 300, 20, 1) and val_names == val_labels == []
    assert len(val_frames) == 0
    assert (out / 'class_names.txt').read_text().splitlines() == CLASSES
    dataset = SkeletonArrayDataset(out, 'val', layout='nw-ucla')
    assert len(dataset) == 0 and dataset.class_names == CLASSES


@needs_real
def test_views_and_bad_files(tmp_path):
    """A copy renamed to view 3 lands in val; bad files are left out with a reason, the rest
    is written."""
    raw, out = tmp_path / 'raw', tmp_path / 'out'
    raw.mkdir()
    shutil.copy(UCLA / 'a01_s01_e00_v01.json', raw)
    shutil.copy(UCLA / 'a02_s01_e00_v01.json', raw / 'a02_s01_e00_v03.json')
    rng = np.random.default_rng(0)

    def sample(label, joints=20):
        return json.dumps({'file_name': 'x', 'label': label,
                           'skeletons': np.round(rng.normal(size=(5, joints, 3)), 4).tolist()})

    bad = {'a03_s01_e00_v02': ('{"skeletons": [[', 'invalid JSON'),
           'a04_s01_e00_v02': (sample(4, joints=19), 'frame 1: expected 20 joints'),
           'a05_s01_e00_v02': (sample(11), '"label" must be an integer in 1-10 (found 11)'),
           'a06_s01_e00_v02': (sample(1), 'the name says a06'),
           # finite as JSON (float64) but not as the stored float32 (found by hypothesis)
           'a08_s01_e00_v02': (json.dumps({'label': 7, 'skeletons': [
               [[1e39, 0.0, 0.0]] + [[0.0, 0.0, 0.0]] * 19]}), '(of float32 range)'),
           'walking_v01': (sample(1), 'is not aXX_sXX_eXX_vXX')}
    for name, (text, _) in bad.items():
        (raw / f'{name}.json').write_text(text)
    result = run_preprocess('nw_ucla', '--raw', raw, '--out', out, '--workers', 1)
    train, val = load_split(out, 'train'), load_split(out, 'val')
    assert train[1:3] == (['a01_s01_e00_v01'], [0]) and val[1:3] == (['a02_s01_e00_v03'], [1])
    skeletons = np.array(json.loads((UCLA / 'a02_s01_e00_v01.json').read_text())['skeletons'])
    np.testing.assert_array_equal(val[0][0, :, :len(skeletons), :, 0],
                                  skeletons.transpose(2, 0, 1).astype(np.float32))
    assert list(val[3]) == [len(skeletons)]
    for name, (_, reason) in bad.items():
        line = next(li for li in result.stderr.splitlines() if f'{name}.json' in li)
        assert reason in line and line.endswith('-> left out'), result.stderr
    summary = json.loads((out / 'summary.json').read_text())
    assert sum(summary['skipped'].values()) == 6


# ------------------------------------------------------------------------------------------
# Transforms, against loops

def _padded(T=30, valid=20, V=20, M=2, seed=0):
    """[3, T, V, M]: `valid` frames of person 0, then zeros; person 1 absent."""
    x = np.zeros((3, T, V, M), dtype=np.float32)
    x[:, :valid, :, 0] = np.random.default_rng(seed).normal(size=(3, valid, V)) + 2
    return x


def _ref_min_max(x, valid):
    x = x.astype(np.float64)
    out = x.copy()
    begin, end = valid
    for c in range(3):
        values = [x[c, t, v, m] for t in range(begin, end) for v in range(x.shape[2])
                  for m in range(x.shape[3]) if x[:, begin:end, :, m].any()]
        lo, hi = min(values), max(values)
        for t in range(begin, end):
            for m in range(x.shape[3]):
                if x[:, begin:end, :, m].any():
                    out[c, t, :, m] = (x[c, t, :, m] - lo) / (hi - lo) * 2 - 1
    return out


def test_min_max_normalize():
    x = _padded()
    out = MinMaxNormalize()(x, num_frames=20)
    np.testing.assert_allclose(out, _ref_min_max(x, (0, 20)), atol=1e-6)
    assert (out[:, :20, :, 0].min(axis=(1, 2)) == -1).all()
    assert (out[:, :20, :, 0].max(axis=(1, 2)) == 1).all()
    assert not out[:, 20:].any() and not out[..., 1].any()
    # another range; a constant channel is only shifted
    x[2, :20, :, 0] = 5.0
    out = MinMaxNormalize(low=0, high=2)(x, num_frames=20)
    assert out[0, :20, :, 0].min() == 0 and out[0, :20, :, 0].max() == 2
    assert (out[2, :20, :, 0] == 0).all()
    with pytest.raises(ValueError, match='channels=3 but the sample has C = 2'):
        MinMaxNormalize()(x[:2])


def test_sorted_sample():
    frames = np.broadcast_to(np.arange(1, 31, dtype=np.float32)[None, :, None, None],
                             (3, 30, 2, 1)).copy()       # frame t holds t + 1
    test = SortedSample(52, test_mode=True)(frames, num_frames=20)
    np.testing.assert_array_equal(test[0, :, 0, 0] - 1, np.linspace(0, 19, 52).astype(int))
    train = SortedSample(52)
    picked = train(frames, rng=3, num_frames=20)[0, :, 0, 0] - 1
    assert picked.shape == (52, ) and (np.diff(picked) >= 0).all()
    assert picked.min() >= 0 and picked.max() <= 19
    np.testing.assert_array_equal(picked, train(frames, rng=3, num_frames=20)[0, :, 0, 0] - 1)
    assert any(not np.array_equal(picked, train(frames, rng=s, num_frames=20)[0, :, 0, 0] - 1)
               for s in range(4, 8))
    # how often each frame is drawn matches the feeder's random.sample(list(range(L)) * 100)
    L, draws = 7, 2000
    ours = np.zeros(L)
    for seed in range(draws):
        ours += np.bincount(train.indices(L, np.random.default_rng(seed)), minlength=L)
    reference = np.zeros(L)
    generator = random.Random(0)
    for _ in range(draws):
        reference += np.bincount(sorted(generator.sample(list(range(L)) * 100, 52)), minlength=L)
    np.testing.assert_allclose(ours / draws, reference / draws, atol=0.3)
    assert SortedSample(4)(np.zeros((3, 10, 2, 1), np.float32)).shape == (3, 4, 2, 1)


def test_pre_normalize():
    x = np.zeros((3, 40, 25, 2), dtype=np.float32)
    x[:, 3:23, :, 0] = np.random.default_rng(1).normal(size=(3, 20, 25))
    x[:, 3:23, :, 1] = np.random.default_rng(2).normal(size=(3, 20, 25))
    step = PreNormalize()
    out, valid = step.apply(x.copy(), (3, 23), np.random.default_rng(0))
    assert valid == (0, 20)
    np.testing.assert_array_equal(out, pre_normalize(x[:, 3:23]))
    fixed, valid = PreNormalize(num_frames=50).apply(x.copy(), (3, 23), None)
    assert valid == (0, 20)
    np.testing.assert_array_equal(fixed, pre_normalize(x[:, 3:23], num_frames=50))
    # a second pass changes the result by float rounding only when the first frame's spine
    # (0 -> 1) and shoulders (4 -> 8) are perpendicular; otherwise aligning x moves the spine
    # off z and the second pass turns it back
    assert np.abs(step(out) - out).max() > 1e-2
    spine = x[:, 3, 1, 0] - x[:, 3, 0, 0]
    shoulders = x[:, 3, 8, 0] - x[:, 3, 4, 0]
    x[:, 3, 8, 0] -= spine * (shoulders @ spine) / (spine @ spine)
    once = step(x, num_frames=23)
    np.testing.assert_allclose(step(once), once, atol=1e-5)
    ucla = PreNormalize(zaxis=(0, 1), xaxis=(8, 4), center_joint=1)
    np.testing.assert_array_equal(ucla(x[:, :, :20], num_frames=23)[:, :20],
                                  pre_normalize(x[:, 3:23, :20]))
    with pytest.raises(ValueError, match='needs 3-D camera coordinates'):
        step(x[:2])
    with pytest.raises(ValueError, match='20 valid frames do not fit in num_frames=10'):
        PreNormalize(num_frames=10).apply(x.copy(), (3, 23), None)
    with pytest.raises(ValueError, match='xaxis=.8, 4. is not a joint'):
        step(x[:, :, :6])


def test_recipe_transforms_on_a_real_sample():
    if not UCLA.is_dir():
        pytest.skip(f'{UCLA} is not available')
    path = sorted(UCLA.glob('*.json'))[0]
    skeletons = np.array(json.loads(path.read_text())['skeletons'], dtype=np.float32)
    x = np.zeros((3, 300, 20, 1), dtype=np.float32)
    x[:, :len(skeletons), :, 0] = skeletons.transpose(2, 0, 1)
    train = build_transforms([{'name': 'random_rotation', 'max_angle': [1.0472, 1.0472, 0.0]},
                              'min_max_normalize', {'name': 'sorted_sample', 'size': 52}])
    out = train(x, rng=0, num_frames=len(skeletons))
    assert out.shape == (3, 52, 20, 1) and np.abs(out).max() <= 1 + 1e-6


# ------------------------------------------------------------------------------------------
# Training

@needs_real
def test_one_epoch_of_the_recipe(arrays, tmp_path):
    out, _ = arrays
    command = [sys.executable, '-m', 'pyg_mstgcn.train', '--config', 'nw_ucla_joint', '--set',
               f'data.root={out}', 'data.val_split=train', 'train.epochs=1', 'data.repeat=1',
               'data.batch_size=4', 'model.blocks=[[3,8,false,1],[8,8,true,1]]',
               'model.kernel_size=3', 'model.s_scale=2', 'model.t_scale=2',
               f'output.dir={tmp_path}', 'data.num_workers=0', 'train.threads=1']
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    best = torch.load(tmp_path / 'nw_ucla_joint' / 'best.pt', map_location='cpu',
                      weights_only=False)
    assert best['class_names'] == CLASSES
    assert best['model_config']['layout'] == 'nw-ucla' and best['model_config']['num_person'] == 1
    # the predictor reads the JSON files, with the logits of their preprocessed arrays
    records = {}
    for name, inputs in (('json', sorted(map(str, UCLA.glob('*.json')))[:2]),
                         ('arrays', [str(out), '--split', 'train'])):
        result = tmp_path / f'{name}.json'
        proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.predict', '--weights',
                               str(tmp_path / 'nw_ucla_joint' / 'best.pt'), *inputs, '--out',
                               str(result)], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        records[name] = json.loads(result.read_text())
    for record in records['json']:
        [same] = [r for r in records['arrays'] if r['sample'] == record['sample']]
        np.testing.assert_allclose(record['logits'], same['logits'], atol=1e-5)


def test_recipes_follow_ctrgcn():
    """The four recipes resolve; the joint one is CTR-GCN's config/ucla/default.yaml, the
    others differ in the stream only."""
    joint = resolve('nw_ucla_joint', [])
    data, optim, schedule = joint['data'], joint['optim'], joint['schedule']
    assert (data['batch_size'], data['val_batch_size'], data['repeat']) == (16, 64, 5)
    assert (optim['lr'], optim['reference_batch_size'], optim['weight_decay']) == (0.1, 16, 1e-4)
    assert optim['nesterov'] and optim['momentum'] == 0.9
    assert (schedule['steps'], schedule['gamma'], schedule['warmup_epochs']) == ([50], 0.1, 5)
    assert joint['train']['epochs'] == 65 and not data['stream_first']
    assert joint['model']['num_classes'] == 10 and joint['model']['num_person'] == 1
    for stream in ('bone', 'joint_motion', 'bone_motion'):
        config = resolve(f'nw_ucla_{stream}', [])
        assert config['data']['stream'] == stream
        assert config['output']['name'] == f'nw_ucla_{stream}'
        strip = {k: v for k, v in config.items() if k not in ('_sources', '_config_file')}
        assert {**strip, 'data': {**strip['data'], 'stream': 'joint'},
                'output': {**strip['output'], 'name': 'nw_ucla_joint'}} == {
            k: v for k, v in joint.items() if k not in ('_sources', '_config_file')}
