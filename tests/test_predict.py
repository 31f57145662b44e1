"""Predicting on new data, on the real sample files: every input format, raw files against
their preprocessed arrays, windows, the online recogniser, fusion, the command line and its
bad input."""
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import shared_path
from pyg_mstgcn import Recognizer
from pyg_mstgcn.data.classes import class_names
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.graph import map_keypoints
from pyg_mstgcn.models import build_model
from pyg_mstgcn.predict import windows
from pyg_mstgcn.predict.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(blocks=[[3, 8, False, 1], [8, 8, True, 1]], kernel_size=3, s_scale=2, t_scale=2)
W, H = 340, 256   # the frame size the Kinetics-derived pixel inputs are made with


def checkpoint(path, layout, seed=0, stream='joint', names=True, **options):
    """A checkpoint as the trainer writes it: model, class names, training configuration."""
    torch.manual_seed(seed)
    model = build_model({'num_classes': 10, 'layout': layout, **SMALL, **options})
    torch.save({'model_config': model.config(), 'state_dict': model.state_dict(),
                'class_names': [f'action {i}' for i in range(10)] if names else None,
                'config': {'data': {'stream': stream, 'val_transforms': [],
                                    'stream_first': True}}}, path)
    return path


def run(*args, stdin=None):
    return subprocess.run([sys.executable, '-m', 'pyg_mstgcn.predict', *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, input=stdin, timeout=300)


def refused(proc, *words):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'Traceback' not in proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpt')
    return {'ntu': checkpoint(folder / 'ntu.pt', 'ntu-rgb+d'),
            'ntu_bone': checkpoint(folder / 'ntu_bone.pt', 'ntu-rgb+d', seed=1, stream='bone'),
            'kinetics': checkpoint(folder / 'kinetics.pt', 'openpose', attention='stcja'),
            'coco': checkpoint(folder / 'coco.pt', 'coco')}


@pytest.fixture(scope='module')
def preprocessed(tmp_path_factory):
    """The real samples through python -m preprocess, as training data is made."""
    out = tmp_path_factory.mktemp('pre')
    for dataset, raw in (('ntu60', shared_path('data', 'ntu')),
                         ('kinetics', shared_path('data', 'kinetics'))):
        proc = subprocess.run([sys.executable, '-m', 'preprocess', dataset, '--raw', str(raw),
                               '--out', str(out / dataset), '--no-progress'], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope='module')
def pose_inputs(tmp_path_factory):
    """A real Kinetics clip in pose-estimator forms: OpenPose per-frame JSON files (COCO-18
    and BODY_25, pixel coordinates) and a COCO-17 JSON list, frame t = frame_index t."""
    clip = json.loads(shared_path('data', 'kinetics', 'kinetics_val',
                                  '__vzEs2wzdQ.json').read_text())
    by_frame = {f['frame_index']: f['skeleton'] for f in clip['data']}
    folder = tmp_path_factory.mktemp('poses')
    frames = []
    for t in range(max(by_frame) + 1):
        frames.append([np.stack([np.array(p['pose'][0::2]) * W, np.array(p['pose'][1::2]) * H,
                                 np.array(p['score'])], 1) for p in by_frame.get(t, [])])
    for name, layout in (('coco18', 'openpose'), ('body25', 'openpose-body25')):
        (folder / name).mkdir()
        for t, people in enumerate(frames):
            if layout == 'openpose-body25':   # BODY_25: COCO-18's joints plus mid hip, feet
                people = [_body25(p) for p in people]
            record = {'version': 1.3, 'people': [{'pose_keypoints_2d': p.reshape(-1).tolist()}
                                                 for p in people]}
            (folder / name / f'clip_{t:012d}_keypoints.json').write_text(json.dumps(record))
    coco = [[map_keypoints(p, 'openpose', 'coco').tolist() for p in people] for people in frames]
    (folder / 'coco17.json').write_text(json.dumps(coco))
    return folder, frames


def _body25(coco18):
    out = np.zeros((25, 3))
    out[[0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]] = coco18
    out[8] = [10.0, 20.0, 0.9]   # mid hip: dropped by the mapping
    return out


def logits(predictions):
    return {p.sample.removesuffix('.skeleton').removesuffix('.json'): np.array(p.logits)
            for p in predictions}


def test_shipped_class_names():
    ntu60, ntu120, kinetics = class_names('ntu60'), class_names('ntu120'), class_names(
        'kinetics400')
    assert (len(ntu60), len(ntu120), len(kinetics)) == (60, 120, 400)
    assert ntu60[0] == 'drink water' and ntu120[:60] == ntu60 and kinetics[0] == 'abseiling'
    with pytest.raises(ValueError, match="not a file.*shipped: ntu60, ntu120, kinetics400"):
        class_names('ntu61')


def test_raw_ntu_files_give_the_logits_of_their_preprocessed_arrays(ckpts, preprocessed):
    recognizer = Recognizer.from_checkpoint([ckpts['ntu'], ckpts['ntu_bone']])
    raw = logits(recognizer.predict(shared_path('data', 'ntu')))
    assert len(raw) == 5
    arrays = {}
    for split in ('train', 'val'):
        arrays.update(logits(recognizer.predict(preprocessed / 'ntu60' / 'xsub', split=split)))
        arrays_file = logits(recognizer.predict(preprocessed / 'ntu60' / 'xsub' /
                                                f'{split}_data_joint.npy'))
        for name, row in arrays_file.items():
            np.testing.assert_allclose(row, arrays[name], atol=1e-4, rtol=0)
    assert arrays.keys() == raw.keys()
    for name in raw:
        np.testing.assert_allclose(raw[name], arrays[name], atol=1e-4, rtol=0)


def test_raw_kinetics_clips_give_the_logits_of_their_preprocessed_arrays(ckpts, preprocessed):
    recognizer = Recognizer.from_checkpoint(ckpts['kinetics'])
    raw = logits(recognizer.predict(shared_path('data', 'kinetics', 'kinetics_val')))
    arrays = logits(recognizer.predict(preprocessed / 'kinetics' / 'val_data_joint.npy'))
    assert len(raw) == 7 and arrays.keys() == raw.keys()
    for name in raw:
        np.testing.assert_allclose(raw[name], arrays[name], atol=1e-4, rtol=0)


def test_pose_estimator_formats(ckpts, pose_inputs):
    folder, _ = pose_inputs
    recognizer = Recognizer.from_checkpoint(ckpts['kinetics'])
    clip = shared_path('data', 'kinetics', 'kinetics_val', '__vzEs2wzdQ.json')
    [reference] = recognizer.predict(clip)
    for name in ('coco18', 'body25'):   # the same poses: the same logits
        [p] = recognizer.predict(folder / name, frame_size=(W, H))
        assert (p.start, p.end) == (reference.start, reference.end) == (0, 165)
        np.testing.assert_allclose(p.logits, reference.logits, atol=1e-4, rtol=0)
    [p] = recognizer.predict(folder / 'coco17.json', frame_size=(W, H))   # the neck is made
    assert p.end == 165 and p.sample == 'coco17' and np.isfinite(p.logits).all()
    # a COCO-17 model reads a Kinetics clip and an OpenPose folder through the mapping
    coco = Recognizer.from_checkpoint(ckpts['coco'])
    [a] = coco.predict(folder / 'coco17.json', frame_size=(W, H))
    [b] = coco.predict(folder / 'coco18', frame_size=(W, H))
    np.testing.assert_allclose(a.logits, b.logits, atol=1e-4, rtol=0)


def test_pyskl_pickle_and_arrays(ckpts, tmp_path):
    rng = np.random.default_rng(0)
    annotations = [{'frame_dir': f'clip{i}', 'label': i, 'total_frames': 40,
                    'keypoint': rng.standard_normal((1, 40, 25, 3)).astype(np.float32)}
                   for i in range(3)]
    with open(tmp_path / 'poses.pkl', 'wb') as f:
        pickle.dump({'split': {'val': ['clip0', 'clip2']}, 'annotations': annotations}, f)
    recognizer = Recognizer.from_checkpoint(ckpts['ntu'])
    assert [p.sample for p in recognizer.predict(tmp_path / 'poses.pkl')] == \
        ['clip0', 'clip1', 'clip2']
    picked = recognizer.predict(tmp_path / 'poses.pkl', split='val')
    assert [p.sample for p in picked] == ['clip0', 'clip2']
    # the same sample as an array [C, T, V, M]: the same logits
    x = np.zeros((3, 40, 25, 2), np.float32)
    x[..., 0] = annotations[2]['keypoint'][0].transpose(2, 0, 1)
    [p] = recognizer.predict(x)
    np.testing.assert_allclose(p.logits, picked[1].logits, atol=1e-5, rtol=0)
    np.save(tmp_path / 'batch.npy', np.stack([x, x]))
    assert [q.sample for q in recognizer.predict(tmp_path / 'batch.npy')] == \
        ['batch[0]', 'batch[1]']


def test_windows_cover_the_sequence():
    assert windows(100, None, None) == [(0, 100)]
    assert windows(100, 40, 30) == [(0, 40), (30, 70), (60, 100)]
    assert windows(100, 40, None) == [(0, 40), (40, 80), (60, 100)]
    assert windows(64, 64, 16) == [(0, 64)]
    for T, w, s in ((165, 64, 16), (97, 10, 7), (50, 3, 3)):   # strides up to the window
        spans = windows(T, w, s)
        assert all(e - b == w for b, e in spans) and spans[-1][1] == T
        assert set().union(*(range(b, e) for b, e in spans)) == set(range(T))
    with pytest.raises(InputError, match='window of 90 frames is longer than x \\(82 frames'):
        windows(82, 90, 10, 'x')


def test_stream_predicts_as_predict_on_the_same_window(ckpts, pose_inputs):
    folder, frames = pose_inputs
    recognizer = Recognizer.from_checkpoint(ckpts['kinetics'])
    windowed = recognizer.predict(folder / 'coco17.json', window=64, stride=16,
                                  frame_size=(W, H))
    assert [(p.start, p.end) for p in windowed][-2:] == [(96, 160), (101, 165)]
    online = recognizer.stream(window=64, stride=16, layout='coco', frame_size=(W, H))
    streamed = []
    for people in frames:
        coco = [map_keypoints(p, 'openpose', 'coco') for p in people]
        out = online.push(np.stack(coco) if coco else np.zeros((1, 17, 3)))
        streamed += [out] if out is not None else []
    assert [(p.start, p.end) for p in streamed] == [(p.start, p.end) for p in windowed[:-1]]
    for a, b in zip(streamed, windowed):
        np.testing.assert_allclose(a.logits, b.logits, atol=1e-5, rtol=0)
        assert a.top[0]['label'] == b.top[0]['label']
    # frames in the model's input space: as predict() on an array
    x = np.random.default_rng(1).standard_normal((3, 80, 25, 2)).astype(np.float32)
    ntu = Recognizer.from_checkpoint(ckpts['ntu'])
    expected = ntu.predict(x, window=32, stride=16)
    online = ntu.stream(window=32, stride=16)
    got = [p for p in (online.push(x[:, t].transpose(2, 1, 0)) for t in range(80)) if p]
    assert [(p.start, p.end) for p in got] == [(0, 32), (16, 48), (32, 64), (48, 80)]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.logits, b.logits, atol=1e-5, rtol=0)


def test_cli_json_schema_and_class_names(ckpts, tmp_path):
    out = tmp_path / 'p.json'
    proc = run('--weights', ckpts['ntu'], shared_path('data', 'ntu'), '--top-k', '3', '--out',
               out, '--window', '64', '--stride', '32')
    assert proc.returncode == 0, proc.stderr
    records = json.loads(out.read_text())
    assert len(records) == sum(len(windows(T, 64, 32)) for T in (82, 70, 100, 71, 124))
    for record in records:
        assert list(record) == ['input', 'sample', 'start', 'end', 'top', 'logits']
        assert record['end'] - record['start'] == 64 and len(record['logits']) == 10
        assert [set(t) for t in record['top']] == [{'label', 'name', 'score'}] * 3
        scores = [t['score'] for t in record['top']]
        assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-6
        assert record['top'][0]['name'] == f"action {record['top'][0]['label']}"
    assert 'S001C001P001R001A011' in proc.stdout and 'top classes' in proc.stdout
    # the last line: the command that draws the first input with its predictions
    assert proc.stdout.splitlines()[-1] == (
        f"see one: python -m pyg_mstgcn.visualize skeleton {shared_path('data', 'ntu')} "
        f"--weights {ckpts['ntu']} --window 64 --stride 32 --out clip.gif")
    labels = tmp_path / 'labels.txt'
    labels.write_text(''.join(f'name {i}\n' for i in range(10)))
    proc = run('--weights', ckpts['ntu'], shared_path('data', 'ntu'), '--labels', labels,
               '--out', out)
    assert json.loads(out.read_text())[0]['top'][0]['name'].startswith('name ')
    bare = checkpoint(tmp_path / 'bare.pt', 'ntu-rgb+d', names=False)
    proc = run('--weights', bare, shared_path('data', 'ntu'), '--out', out)
    assert proc.returncode == 0 and json.loads(out.read_text())[0]['top'][0]['name'] is None


def test_fused_checkpoints_equal_the_ensemble_of_their_scores(ckpts, preprocessed, tmp_path):
    folder = preprocessed / 'ntu60' / 'xsub'
    scores = []
    for name in ('ntu', 'ntu_bone'):
        proc = run('--weights', ckpts[name], folder, '--out', tmp_path / f'{name}.json')
        assert proc.returncode == 0, proc.stderr
        records = json.loads((tmp_path / f'{name}.json').read_text())
        with open(tmp_path / f'{name}.pkl', 'wb') as f:
            pickle.dump({r['sample']: np.array(r['logits']) for r in records}, f)
        scores.append(tmp_path / f'{name}.pkl')
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.ensemble', '--scores', *map(
        str, scores), '--weights', '1', '0.5', '--labels', str(folder / 'val_label.pkl'),
        '--out', str(tmp_path / 'fused.pkl')], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / 'fused.pkl', 'rb') as f:
        fused = pickle.load(f)
    proc = run('--weights', ckpts['ntu'], ckpts['ntu_bone'], '--fuse-weights', '1', '0.5',
               folder, '--out', tmp_path / 'both.json')
    assert proc.returncode == 0, proc.stderr
    both = {r['sample']: r['logits'] for r in json.loads((tmp_path / 'both.json').read_text())}
    assert both.keys() == fused.keys()
    for name in both:
        np.testing.assert_allclose(both[name], fused[name], atol=1e-4, rtol=0)


def test_stdin_frames(ckpts, pose_inputs):
    folder, _ = pose_inputs
    frames = json.loads((folder / 'coco17.json').read_text())
    lines = '[]\n' + ''.join(json.dumps(f) + '\n' for f in frames[:80])
    proc = run('--weights', ckpts['kinetics'], '--stdin', '--window', '64', '--stride', '16',
               '--frame-size', W, H, stdin=lines)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r['start'], r['end']) for r in out] == [(0, 64), (16, 80)]
    assert set(out[0]) == {'input', 'sample', 'start', 'end', 'top', 'logits'}


def test_bad_input(ckpts, tmp_path, capsys):
    """Each refused with one line and exit status 2: two as a user runs them, the rest
    through the same main() in this process (a subprocess each costs seconds)."""
    def main_run(*args):
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return subprocess.CompletedProcess([], status, captured.out, captured.err)

    ntu = shared_path('data', 'ntu')
    skeleton = ntu / 'S001C001P001R001A011.skeleton'
    (tmp_path / 'poses.txt').write_text('hello')
    refused(run('--weights', ckpts['ntu'], tmp_path / 'poses.txt'), 'poses.txt', 'unknown format',
            '--format')
    refused(run('--weights', ckpts['ntu'], skeleton, '--format', 'avi'), "unknown format 'avi'",
            'formats: ntu, kinetics')
    assert main(['--weights', str(ckpts['ntu']), str(skeleton), '--format', 'skeleton']) == 0
    cut = tmp_path / 'cut.skeleton'
    cut.write_bytes(skeleton.read_bytes()[:3000])   # truncated
    refused(main_run('--weights', ckpts['ntu'], cut), 'cut.skeleton, line')
    (tmp_path / 'bad.json').write_text('[[[1, 2, 0.5]], \n [')
    refused(main_run('--weights', ckpts['kinetics'], tmp_path / 'bad.json'), 'bad.json, line 2',
            'invalid JSON')
    refused(main_run('--weights', ckpts['ntu'], shared_path('data', 'kinetics', 'kinetics_val')),
            "cannot map pose layout 'openpose'", "'ntu-rgb+d'", 'coco -> openpose')
    refused(main_run('--weights', skeleton, skeleton), 'not a checkpoint')
    np.save(tmp_path / 'x.npy', np.zeros(3))
    refused(main_run('--weights', tmp_path / 'x.npy', skeleton), 'not a checkpoint')
    original = tmp_path / 'original.pt'
    torch.save({'layers.0.msgcn.conv.gcn.weight': torch.zeros(1),
                'data_bn.weight': torch.zeros(1)}, original)
    refused(main_run('--weights', original, skeleton), 'original MST-GCN code',
            'python -m pyg_mstgcn.convert')
    eight = tmp_path / 'eight.pt'
    model = build_model({'num_classes': 8, 'layout': 'ntu-rgb+d', **SMALL})
    torch.save({'model_config': model.config(), 'state_dict': model.state_dict()}, eight)
    refused(main_run('--weights', ckpts['ntu'], eight, skeleton), 'cannot be fused',
            '10 classes', '8')
    refused(main_run('--weights', ckpts['ntu'], skeleton, '--window', '200'),
            'window of 200 frames is longer', '82 frames')
    refused(main_run('--weights', ckpts['ntu'], tmp_path / 'missing.skeleton'), 'does not exist')
    refused(main_run('--weights', ckpts['kinetics'], tmp_path / 'bad.json', '--frame-size', '0',
                     '1'), '--frame-size')
    refused(main_run('--weights', ckpts['kinetics'], shared_path('data', 'kinetics',
                     'kinetics_val'), '--frame-size', '340', '256', '--top-k', '0'), '--top-k')


def test_a_trained_run_predicts_as_its_test_phase(tmp_path):
    """A trainer's checkpoint brings its stream and evaluation transforms (here
    uniform_sample): predicting on its validation arrays gives the test phase's scores."""
    from pyg_mstgcn.data import make_synthetic
    data = make_synthetic(tmp_path / 'data', num_train=16, num_val=8, frames=16)
    common = ['-c', 'tiny', '--set', f'data.root={data}', 'data.synthetic=null',
              f'output.dir={tmp_path}', 'data.stream=bone']
    for args in (common + ['output.name=run', 'train.epochs=1'],
                 common + ['output.name=run', '--phase', 'test', '--weights',
                           str(tmp_path / 'run' / 'best.pt')]):
        proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.train', *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    with open(next(tmp_path.glob('run-test-*')) / 'scores.pkl', 'rb') as f:
        scores = pickle.load(f)
    recognizer = Recognizer.from_checkpoint(tmp_path / 'run' / 'best.pt')
    predictions = recognizer.predict(data, split='val')
    assert [p.sample for p in predictions] == list(scores)
    for p in predictions:
        np.testing.assert_allclose(p.logits, scores[p.sample], atol=1e-4, rtol=0)
    assert predictions[0].top[0]['name'] in ('wave_right', 'wave_left', 'raise_arms', 'squat',
                                             'walk_in_place', 'clap', 'kick', 'handshake')
