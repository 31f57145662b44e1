"""Kinetics-Skeleton preprocessing: the CLI on the seven real clips and on hand-made corner
cases, checked against an independent loop transcription of st-gcn's ``Feeder_kinetics`` (as
used by 2s-AGCN's ``kinetics_gendata``)."""
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED as SHARED_ROOT, run_preprocess
from preprocess.errors import SampleError
from preprocess.kinetics import load_kinetics_sample
from preprocess.output import load_split

SHARED = SHARED_ROOT / 'data'
KINETICS = SHARED / 'kinetics'
needs_real = pytest.mark.skipif(not KINETICS.is_dir(), reason=f'{KINETICS} is not available')


def ref_kinetics(path, T=300, observed=5, kept=2):
    """Frame by frame, person by person, joint by joint."""
    with open(path) as f:
        video = json.load(f)
    data = np.zeros((3, T, 18, observed))
    for frame in video['data']:
        t = frame['frame_index']
        for m, person in enumerate(frame['skeleton']):
            if m >= observed:
                break
            if t >= T:
                continue  # the original would fail; dropped (with a warning) instead
            for v in range(18):
                data[0, t, v, m] = person['pose'][2 * v]
                data[1, t, v, m] = person['pose'][2 * v + 1]
                data[2, t, v, m] = person['score'][v]
    for t in range(T):
        for v in range(18):
            for m in range(observed):
                if data[2, t, v, m] == 0:
                    data[0, t, v, m] = data[1, t, v, m] = 0
                else:
                    data[0, t, v, m] = data[0, t, v, m] - 0.5
                    data[1, t, v, m] = -(data[1, t, v, m] - 0.5)
    out = np.zeros((3, T, 18, kept))
    for t in range(T):
        totals = [sum(data[2, t, v, m] for v in range(18)) for m in range(observed)]
        order = sorted(range(observed), key=lambda m: -totals[m])  # stable: ties keep order
        for k in range(kept):
            out[:, t, :, k] = data[:, t, :, order[k]]
    return out



def person(rng, score=None):
    pose = np.round(rng.uniform(0, 1, 36), 3)
    scores = np.round(rng.uniform(0.05, 1, 18), 3) if score is None else np.full(18, score)
    return {'pose': pose.tolist(), 'score': scores.tolist()}


def clip(frames, label=3):
    return {'data': [{'frame_index': t, 'skeleton': people} for t, people in frames],
            'label': 'some action', 'label_index': label}


def write_split(raw, split, clips, labels):
    folder = raw / f'kinetics_{split}'
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in clips.items():
        text = content if isinstance(content, (str, bytes)) else json.dumps(content)
        (folder / f'{name}.json').write_bytes(text.encode() if isinstance(text, str) else text)
    (raw / f'kinetics_{split}_label.json').write_text(json.dumps(labels))


@needs_real
def test_real_clips(tmp_path):
    out = tmp_path / 'kinetics'
    result = run_preprocess('kinetics', '--raw', KINETICS, '--out', out, '--workers', 2)
    assert 'kinetics_train does not exist' in result.stderr
    data, names, labels, num_frames = load_split(out, 'val')
    files = sorted((KINETICS / 'kinetics_val').glob('*.json'))
    assert names == [p.name for p in files]
    with open(KINETICS / 'kinetics_val_label.json') as f:
        label_file = json.load(f)
    assert labels == [label_file[p.stem]['label_index'] for p in files]
    assert data.shape == (7, 3, 300, 18, 2) and data.dtype == np.float32
    for i, path in enumerate(files):
        expected = ref_kinetics(path)
        np.testing.assert_allclose(data[i], expected, atol=1e-6, err_msg=path.name)
        nonempty = np.flatnonzero(np.abs(expected).sum(axis=(0, 2, 3)))
        assert num_frames[i] == nonempty[-1] + 1
        assert not data[i, :, 0].any()  # frame_index counts from 1: frame 0 stays empty
    assert not (out / 'train_data_joint.npy').exists()
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['splits'] == {'val': {'status': 'written', 'written': 7, 'frames': 300}}
    assert summary['skipped'] == {}


def test_corner_cases(tmp_path):
    rng = np.random.default_rng(0)
    people = [person(rng) for _ in range(7)]
    strong = person(rng, score=1.0)
    weak = person(rng, score=0.1)
    zeroed = person(rng)
    zeroed['score'][:5] = [0.0] * 5   # joints with score 0 are zeroed
    clips = {
        # the 6th person, the strongest, is never observed; the others sorted per frame
        'crowd': clip([(1, people[:5] + [strong]), (2, [weak, strong, people[0]])]),
        # ties keep the listing order
        'ties': clip([(1, [person(rng, 0.5), person(rng, 0.5), person(rng, 0.5)])]),
        # a repeated frame_index: the later entry overwrites the earlier one, person by person
        'repeated': clip([(4, [people[0], people[1]]), (4, [people[2]])]),
        'zeroed': clip([(1, [zeroed]), (3, [zeroed, weak])]),
        'late': clip([(2, [weak]), (299, [strong]), (300, [strong]), (305, [weak])]),
        'hidden': clip([(1, [people[0]])]),        # has_skeleton false in the label file
        'unlisted': clip([(1, [people[0]])]),      # not in the label file
        'empty': clip([(1, []), (2, [])]),         # no person at all
        'truncated': json.dumps(clip([(1, [people[0]])]))[:-20],
        'short_pose': clip([(1, [dict(people[0], pose=people[0]['pose'][:34])])]),
        'text_score': clip([(1, [dict(people[0], score=['high'] + people[0]['score'][1:])])]),
        'bad_index': clip([(-1, [people[0]])]),
        'other_label': clip([(1, [people[0]])], label=9),
    }
    labels = {name: {'has_skeleton': name != 'hidden', 'label': 'x', 'label_index': 3}
              for name in clips if name != 'unlisted'}
    raw = tmp_path / 'raw'
    write_split(raw, 'train', clips, labels)
    write_split(raw, 'val', {'one': clip([(1, [people[3]])], label=5)},
                {'one': {'has_skeleton': True, 'label_index': 5}})
    out = tmp_path / 'out'
    result = run_preprocess('kinetics', '--raw', raw, '--out', out, '--workers', 2)
    assert 'Traceback' not in result.stderr
    data, names, labels_out, num_frames = load_split(out, 'train')
    good = ['crowd', 'late', 'repeated', 'ties', 'zeroed']
    assert names == [name + '.json' for name in good] and labels_out == [3] * 5
    for i, name in enumerate(good):
        np.testing.assert_allclose(data[i], ref_kinetics(raw / 'kinetics_train' /
                                                         f'{name}.json'), atol=1e-6)
    crowd = data[0]
    assert np.allclose(crowd[2, 1, :, :].sum(0), sorted(
        [sum(p['score']) for p in people[:5]], reverse=True)[:2], atol=1e-5)
    assert np.allclose(crowd[2, 2, :, 0], 1.0)  # frame 2: the strong person first
    assert num_frames[names.index('late.json')] == 300
    summary = json.loads((out / 'summary.json').read_text())
    reasons = {Path(item['file']).stem: item['reason'] for item in summary['skipped_files']}
    assert reasons == {'unlisted': 'not in the label file', 'empty': 'no body',
                       'truncated': 'invalid JSON', 'short_pose': 'bad structure',
                       'text_score': 'non-numeric token', 'bad_index': 'bad structure',
                       'other_label': 'label mismatch'}
    assert summary['skipped']['has_skeleton false in the label file'] == 1
    assert any('late.json: frame_index up to 305' in w for w in summary['warnings'])
    messages = {Path(item['file']).stem: item['message'] for item in summary['skipped_files']}
    assert 'expected 36 "pose" values, found 34 values' in messages['short_pose']
    assert "found 'high'" in messages['text_score']
    assert 'frame entry 1' in messages['bad_index']
    assert 'label_index 9 differs from 3' in messages['other_label']
    assert load_split(out, 'val')[2] == [5]
    # --keep-long: the time axis grows to the last frame_index + 1
    out_long = tmp_path / 'long'
    run_preprocess('kinetics', '--raw', raw, '--out', out_long, '--keep-long')
    data_long, names_long, _, _ = load_split(out_long, 'train')
    assert data_long.shape[2] == 306
    late = data_long[names_long.index('late.json')]
    np.testing.assert_allclose(late, ref_kinetics(raw / 'kinetics_train' / 'late.json', 306),
                               atol=1e-6)


def test_missing_label_file_and_exit_status(tmp_path):
    rng = np.random.default_rng(1)
    raw = tmp_path / 'raw'
    write_split(raw, 'val', {'one': clip([(1, [person(rng)])])},
                {'one': {'has_skeleton': True, 'label_index': 3}})
    (raw / 'kinetics_train').mkdir()
    (raw / 'kinetics_train' / 'two.json').write_text(json.dumps(clip([(1, [person(rng)])])))
    out = tmp_path / 'out'
    result = run_preprocess('kinetics', '--raw', raw, '--out', out)
    assert 'train: cannot use the label file' in result.stderr
    assert load_split(out, 'val')[1] == ['one.json']
    result = run_preprocess('kinetics', '--raw', tmp_path / 'nothing', '--out', out, expect=None)
    assert result.returncode != 0 and 'does not exist' in result.stderr


def test_loader_errors_are_sample_errors(tmp_path):
    path = tmp_path / 'x.json'
    path.write_text('{"data": [{"frame_index": 1, "skeleton": [{"pose": [0.5], '
                    '"score": [1]}]}]}')
    with pytest.raises(SampleError, match='expected 36 "pose" values, found 1 values'):
        load_kinetics_sample(path)
    path.write_text('[1, 2]')
    with pytest.raises(SampleError, match='top level'):
        load_kinetics_sample(path)
