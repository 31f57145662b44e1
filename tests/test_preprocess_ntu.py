"""NTU RGB+D preprocessing: the CLI on the real sample files and on hand-made corner cases,
checked against an independent, loop-based transcription of the original steps
(``read_skeleton_filter`` / ``read_xyz`` / ``pre_normalization`` of 2s-AGCN and MST-GCN)."""
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED as SHARED_ROOT, run_preprocess
from preprocess.errors import SampleError
from preprocess.missing import missing_samples
from preprocess.normalize import num_valid_frames, pre_normalize
from preprocess.ntu import SkeletonFileError, body_slots, load_ntu_sample, parse_skeleton
from preprocess.ntu import select_bodies
from preprocess.output import keep_rows, load_split
from preprocess.splits import parse_name, split_of

SHARED = SHARED_ROOT / 'data'
NTU = SHARED / 'ntu'
REAL = {  # name: (frames, bodies)
    'S001C001P001R001A011.skeleton': (82, 1),
    'S001C003P008R002A058.skeleton': (70, 2),
    'S002C001P003R001A003.skeleton': (100, 1),
    'S003C001P015R001A034.skeleton': (71, 1),
    'S004C002P003R001A017.skeleton': (124, 1),
}
needs_real = pytest.mark.skipif(not NTU.is_dir(), reason=f'{NTU} is not available')


# ------------------------------------------------------------------------------------------
# The independent reference: slow loops, one joint at a time, as the original tools.

def ref_read_frames(path):
    """Per frame, the list of bodies, each a list of (x, y, z)."""
    with open(path) as f:
        lines = iter(f.read().splitlines())
    frames = []
    for _ in range(int(next(lines))):
        bodies = []
        for _ in range(int(next(lines))):
            next(lines)  # the body info line
            bodies.append([[float(v) for v in next(lines).split()[:3]]
                           for _ in range(int(next(lines)))])
        frames.append(bodies)
    return frames


def ref_read_xyz(path):
    """[3, T, 25, 2]: body slots (m-th body of each frame), 2 of highest energy."""
    frames = ref_read_frames(path)
    T = len(frames)
    data = np.zeros((4, T, 25, 3))
    for t, bodies in enumerate(frames):
        for m, joints in enumerate(bodies):
            for j, xyz in enumerate(joints):
                if m < 4 and j < 25:
                    data[m, t, j] = xyz
    energy = []
    for m in range(4):
        frames_m = [data[m, t] for t in range(T) if data[m, t].sum() != 0]
        if not frames_m:
            energy.append(0.0)
            continue
        arr = np.array(frames_m)
        energy.append(arr[:, :, 0].std() + arr[:, :, 1].std() + arr[:, :, 2].std())
    chosen = sorted(range(4), key=lambda m: -energy[m])[:2]  # stable: ties keep slot order
    return data[chosen].transpose(3, 1, 2, 0)


def ref_rotation(vector, target):
    """The original's rotation taking `vector` onto `target`, via Euler-Rodrigues."""
    vector, target = np.asarray(vector, float), np.asarray(target, float)
    if np.abs(vector).sum() < 1e-6:
        angle = 0.0
    else:
        cos = np.dot(vector / np.linalg.norm(vector), target / np.linalg.norm(target))
        angle = math.acos(min(1.0, max(-1.0, cos)))
    axis = np.cross(vector, target)
    if np.abs(axis).sum() < 1e-6 or abs(angle) < 1e-6:
        return np.eye(3)
    k = axis / math.sqrt(np.dot(axis, axis))
    a, (b, c, d) = math.cos(angle / 2), k * math.sin(angle / 2)
    return np.array([[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
                     [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
                     [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c]])


def ref_pre_normalization(sample):
    """[3, T, V, M] -> the original's pre_normalization, frame by frame, joint by joint."""
    s = np.array(sample, dtype=np.float64).transpose(3, 1, 2, 0).copy()  # M T V C
    M, T, V, _ = s.shape
    for p in range(M):
        person = s[p]
        if person.sum() == 0:
            continue
        if person[0].sum() == 0:
            kept = [person[t].copy() for t in range(T) if person[t].sum() != 0]
            person[:] = 0
            for t, frame in enumerate(kept):
                person[t] = frame
        for t in range(T):
            if person[t].sum() == 0 and person[t:].sum() == 0:
                for u in range(t, T):
                    person[u] = person[u % t]
                break
    if s.sum() != 0:
        center = s[0, :, 1, :].copy()
        for p in range(M):
            if s[p].sum() == 0:
                continue
            for t in range(T):
                for v in range(V):
                    s[p, t, v] = s[p, t, v] - center[t] if s[p, t, v].sum() != 0 else 0
    for bottom, top, target in ((0, 1, (0, 0, 1)), (4, 8, (1, 0, 0))):
        if s.sum() == 0:
            continue
        R = ref_rotation(s[0, 0, top] - s[0, 0, bottom], target)
        for p in range(M):
            if s[p].sum() == 0:
                continue
            for t in range(T):
                if s[p, t].sum() == 0:
                    continue
                for v in range(V):
                    s[p, t, v] = R @ s[p, t, v]
    return s.transpose(3, 1, 2, 0)


def ref_sample(path, frames=300):
    """What the CLI must write for one file."""
    data = ref_read_xyz(path)[:, :frames]
    padded = np.zeros((3, frames, 25, 2), np.float32)  # the original's float32 array
    padded[:, :data.shape[1]] = data
    return ref_pre_normalization(padded)


# ------------------------------------------------------------------------------------------
# Hand-made files in the real format.

def skeleton_text(frames):
    """The .skeleton text (CRLF) of frames given as lists of bodies, each [25, 3]."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for k, body in enumerate(bodies):
            lines.append(f'{72057594037931101 + k} 0 1 1 1 1 0 0.01119184 -0.256052 2')
            lines.append(str(len(body)))
            for x, y, z in body:
                lines.append(f'{x:.7g} {y:.7g} {z:.7g} 336.5812 192.8021 1184.537 489.4118 '
                             f'-0.2218947 0.03421978 0.968875 -0.1042736 2')
    return '\r\n'.join(lines) + '\r\n'


def body(rng, T, spread=0.3, offset=(0.0, 0.2, 3.0)):
    """A plausible moving body: [T, 25, 3]."""
    pose = rng.normal(scale=spread, size=(25, 3))
    drift = np.cumsum(rng.normal(scale=0.01, size=(T, 1, 3)), axis=0)
    return pose[None] + drift + np.asarray(offset)


def frames_of(*tracks, T):
    """Frames from body tracks: each track is (array [T, 25, 3], list of frames present)."""
    frames = []
    for t in range(T):
        frames.append([track[t] for track, present in tracks if t in present])
    return frames


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path



def assert_matches_reference(folder, split, raw_dir, frames=300):
    data, names, labels, num_frames = load_split(folder, split)
    assert data.dtype == np.float32 and data.shape[1:] == (3, frames, 25, 2)
    for i, name in enumerate(names):
        expected = ref_sample(raw_dir / name, frames)
        np.testing.assert_allclose(data[i], expected, atol=1e-5, err_msg=name)
        assert labels[i] == parse_name(name).action - 1
    return data, names, labels, num_frames


# ------------------------------------------------------------------------------------------
# The real sample files through the CLI

@needs_real
def test_ntu60_real_files(tmp_path):
    out = tmp_path / 'ntu60'
    result = run_preprocess('ntu60', '--raw', NTU, '--out', out, '--workers', 2)
    assert 'xsub/train' in result.stdout
    expected = {  # the benchmark rules applied by hand to the five names
        ('xsub', 'train'): ['S001C001P001R001A011', 'S001C003P008R002A058',
                            'S003C001P015R001A034'],
        ('xsub', 'val'): ['S002C001P003R001A003', 'S004C002P003R001A017'],
        ('xview', 'train'): ['S001C003P008R002A058', 'S004C002P003R001A017'],
        ('xview', 'val'): ['S001C001P001R001A011', 'S002C001P003R001A003',
                           'S003C001P015R001A034'],
    }
    for (benchmark, split), stems in expected.items():
        folder = out / benchmark
        for file in (f'{split}_data_joint.npy', f'{split}_label.pkl',
                     f'{split}_num_frames.npy'):
            assert (folder / file).is_file()
        data, names, labels, num_frames = assert_matches_reference(folder, split, NTU)
        assert names == [stem + '.skeleton' for stem in stems]
        assert labels == [int(stem[-3:]) - 1 for stem in stems]
        assert num_frames.tolist() == [REAL[name][0] for name in names]
        assert data.shape[0] == len(stems)
        with open(folder / f'{split}_label.pkl', 'rb') as f:  # the original's pickle
            pickled = pickle.load(f)
        assert isinstance(pickled, tuple) and pickled == (names, labels)
    assert not list(out.rglob('*.tmp'))
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['splits']['xsub/train']['written'] == 3
    assert summary['files_processed'] == {'written': 5, 'left_out': 0}
    assert summary['skipped'] == {}


@needs_real
def test_ntu120_two_folders_and_resume(tmp_path):
    part1, part2 = tmp_path / 'raw1', tmp_path / 'raw2'
    part1.mkdir()
    part2.mkdir()
    for i, name in enumerate(sorted(REAL)):
        ((part1 if i % 2 else part2) / name).symlink_to(NTU / name)
    out = tmp_path / 'ntu120'
    run_preprocess('ntu120', '--raw', part1, '--raw', part2, '--out', out, '--workers', 2)
    for benchmark in ('xsub', 'xset'):
        for split in ('train', 'val'):
            _, names, _, _ = assert_matches_reference(out / benchmark, split, NTU)
            for name in names:
                assert split_of(parse_name(name), 'ntu120', benchmark) == split
    _, names, _, _ = load_split(out / 'xset', 'train')
    assert names == ['S002C001P003R001A003.skeleton', 'S004C002P003R001A017.skeleton']
    before = {p: p.stat().st_mtime_ns for p in out.rglob('*.npy')}
    result = run_preprocess('ntu120', '--raw', part1, '--raw', part2, '--out', out)
    assert 'already complete' in result.stdout
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob('*.npy')}
    (out / 'xset' / 'val_label.pkl').unlink()  # an interrupted split is redone
    run_preprocess('ntu120', '--raw', part1, '--raw', part2, '--out', out)
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['splits']['xset/val']['status'] == 'written'
    assert summary['splits']['xsub/train']['status'].startswith('already complete')
    assert_matches_reference(out / 'xset', 'val', NTU)


@needs_real
def test_missing_and_ignored_samples_are_left_out(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    for name in REAL:
        (raw / name).symlink_to(NTU / name)
    missing = sorted(missing_samples('ntu60'))[0] + '.skeleton'
    (raw / missing).symlink_to(NTU / 'S001C001P001R001A011.skeleton')
    (raw / 'S018C001P008R001A061.skeleton').symlink_to(NTU / 'S001C001P001R001A011.skeleton')
    (raw / 'notes.txt').write_text('not a skeleton')
    ignore = tmp_path / 'ignore.txt'
    ignore.write_text('# my own list\nS003C001P015R001A034\n')
    out = tmp_path / 'out'
    run_preprocess('ntu60', '--raw', raw, '--out', out, '--ignore', ignore, '--workers', 1)
    names = sum((load_split(out / 'xsub', split)[1] for split in ('train', 'val')), [])
    assert sorted(names) == sorted(set(REAL) - {'S003C001P015R001A034.skeleton'})
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['skipped'] == {'on the missing-skeleton list': 1,
                                  'on an --ignore list': 1, 'not part of ntu60': 1}
    assert len(missing_samples('ntu60')) == 302 and len(missing_samples('ntu120')) == 535
    assert missing_samples('ntu60') <= missing_samples('ntu120')


@needs_real
def test_loader_matches_reference_on_each_real_file():
    for name, (frames, bodies) in REAL.items():
        sample, valid, warnings = load_ntu_sample(NTU / name)
        assert sample.shape == (3, 300, 25, 2) and sample.dtype == np.float32
        assert valid == frames and warnings == []
        assert (np.abs(sample[..., 1]).sum() > 0) == (bodies == 2)
        np.testing.assert_allclose(sample, ref_sample(NTU / name), atol=1e-5)
        # The first person's spine-mid joint is the origin of every frame.
        assert np.abs(sample[:, :, 1, 0]).max() < 1e-6


@needs_real
def test_raw_sample_of_the_original_layout_normalises_as_reference():
    raw = np.load(SHARED / 'ntu_processed' / 'example_ntu_sample.npy')  # read_xyz output
    assert raw.shape == (3, 300, 25, 2)
    np.testing.assert_allclose(pre_normalize(raw), ref_pre_normalization(raw), atol=1e-5)
    assert num_valid_frames(raw) == 72


# ------------------------------------------------------------------------------------------
# Hand-made corner cases through the CLI

def corner_cases(rng):
    T = 40
    a, b = body(rng, T, 0.3), body(rng, T, 0.15, (0.5, 0.1, 3.5))
    everywhere = range(T)
    cases = {
        # empty leading frames (no body at all), then one person
        'S001C001P001R001A001': frames_of((a, range(5, T)), T=T),
        # a second body that appears late
        'S001C001P001R001A002': frames_of((a, everywhere), (b, range(25, T)), T=T),
        # an empty gap in the middle (not closed: the first frame is not empty)
        'S001C002P001R001A003': frames_of((a, [t for t in everywhere if not 10 <= t < 20]),
                                          T=T),
        # leading empty frames and a gap: the non-empty frames move to the front
        'S001C002P002R001A004': frames_of((a, [t for t in range(3, T) if not 15 <= t < 18]),
                                          T=T),
        # very short sequences
        'S001C003P002R001A005': frames_of((a, [0]), T=1),
        'S001C003P002R001A006': frames_of((a, [0, 1]), (b, [1]), T=2),
    }
    # 3 and 4 bodies: the two of highest energy are kept, whatever their order
    spreads = [0.05, 0.4, 0.1, 0.3]
    tracks = [body(rng, T, s, (k * 0.5, 0.0, 3.0)) for k, s in enumerate(spreads)]
    cases['S002C001P003R001A007'] = frames_of(*[(tr, everywhere) for tr in tracks[:3]], T=T)
    cases['S002C001P003R001A008'] = frames_of(*[(tr, everywhere) for tr in tracks], T=T)
    # 5 bodies: the fifth slot is never observed, even with the largest energy (original)
    fifth = body(rng, T, 1.0)
    cases['S002C001P004R001A009'] = frames_of(*[(tr, everywhere) for tr in tracks],
                                              (fifth, everywhere), T=T)
    return cases


def test_corner_cases_match_reference(tmp_path):
    rng = np.random.default_rng(0)
    raw = tmp_path / 'raw'
    for stem, frames in corner_cases(rng).items():
        write(raw, stem + '.skeleton', skeleton_text(frames))
    out = tmp_path / 'out'
    run_preprocess('ntu60', '--raw', raw, '--out', out, '--workers', 2)
    written = {}
    for split in ('train', 'val'):
        data, names, _, num_frames = assert_matches_reference(out / 'xview', split, raw)
        written.update({name: (data[i], num_frames[i]) for i, name in enumerate(names)})
    assert len(written) == 9
    frames = {name[:-9]: int(n) for name, (_, n) in written.items()}
    assert frames == {'S001C001P001R001A001': 35, 'S001C001P001R001A002': 40,
                      'S001C002P001R001A003': 40, 'S001C002P002R001A004': 34,
                      'S001C003P002R001A005': 1, 'S001C003P002R001A006': 2,
                      'S002C001P003R001A007': 40, 'S002C001P003R001A008': 40,
                      'S002C001P004R001A009': 40}
    # The one-frame sequence is repeated over all 300 frames.
    single = written['S001C003P002R001A005.skeleton'][0]
    assert np.abs(single - single[:, :1]).max() == 0 and np.abs(single).sum() > 0


def test_body_selection_keeps_the_two_most_energetic():
    rng = np.random.default_rng(1)
    cases = corner_cases(rng)
    for stem, kept in (('S002C001P003R001A007', (1, 2)), ('S002C001P003R001A008', (1, 3)),
                       ('S002C001P004R001A009', (1, 3))):
        sequence = parse_skeleton(skeleton_text(cases[stem]).encode())
        spreads = [0.05, 0.4, 0.1, 0.3]
        chosen = select_bodies(body_slots(sequence))
        slots = body_slots(sequence)
        assert spreads[kept[0]] > spreads[kept[1]]
        np.testing.assert_array_equal(chosen[..., 0], slots[kept[0]].transpose(2, 0, 1))
        np.testing.assert_array_equal(chosen[..., 1], slots[kept[1]].transpose(2, 0, 1))


@pytest.mark.parametrize('keep_long', [False, True])
def test_long_sequences(tmp_path, keep_long):
    rng = np.random.default_rng(2)
    raw = tmp_path / 'raw'
    a = body(rng, 12)
    write(raw, 'S001C001P001R001A001.skeleton', skeleton_text(frames_of((a, range(12)), T=12)))
    write(raw, 'S001C002P001R001A002.skeleton', skeleton_text(frames_of((a, range(7)), T=7)))
    out = tmp_path / 'out'
    extra = ['--keep-long'] if keep_long else []
    result = run_preprocess('ntu60', '--raw', raw, '--out', out, '--max-frames', 10, *extra)
    data, names, _, num_frames = load_split(out / 'xsub', 'train')
    if keep_long:
        assert data.shape[2] == 12 and 'truncated' not in result.stderr
        assert num_frames.tolist() == [12, 7]
    else:
        assert data.shape[2] == 10
        assert 'S001C001P001R001A001.skeleton: 12 frames, truncated' in result.stderr
        summary = json.loads((out / 'summary.json').read_text())
        assert len(summary['warnings']) == 1 and 'A001' in summary['warnings'][0]
        assert num_frames.tolist() == [10, 7]
    for i, name in enumerate(names):
        np.testing.assert_allclose(data[i], ref_sample(raw / name, data.shape[2]), atol=1e-5)


# ------------------------------------------------------------------------------------------
# Bad input: reported with file, line and what was expected; the run goes on.

def good_frames(rng, T=6, bodies=1):
    tracks = [(body(rng, T), range(T)) for _ in range(bodies)]
    return frames_of(*tracks, T=T)


def bad_files(rng):
    """name -> (bytes, reason, line, text in the message)."""
    text = skeleton_text(good_frames(rng)).split('\r\n')   # 6 frames x 1 body: 28 lines each
    two = skeleton_text(good_frames(rng, 3, 2)).split('\r\n')
    join = '\r\n'.join

    def replaced(lines, number, new):
        lines = list(lines)
        lines[number - 1] = new
        return join(lines)

    first_joint = text[4].split(' ')
    frames_with_24 = good_frames(rng)
    frames_with_24[2][0] = frames_with_24[2][0][:24]
    return {f'S001C001P002R001A{k:03d}': case for k, case in enumerate([
        (join(text[:40]), 'truncated', 41, 'the file ends early'),
        (replaced(text, 5, ' '.join(['abc'] + first_joint[1:])), 'non-numeric token', 5,
         "'abc"),
        (skeleton_text(frames_with_24), 'wrong joint count', 60,
         'expected 25 joints for body 1 of 1 in frame 3, found 24'),
        (replaced(text, 30, '2'), 'bad structure', 58, 'expected the 10-field info line of '
         'body 2 of 2 in frame 2, found 1 field; does the body count 2 on line 30'),
        (replaced(two, 2, '1'), 'bad structure', 30,
         'expected the number of bodies of frame 2 of 3 (one integer), found 10 fields'),
        (replaced(text, 9, ' '.join(first_joint[:11])), 'bad structure', 9,
         'expected the 12-field line of joint 5 of body 1 of 1 in frame 1, found 11 fields'),
        (replaced(text, 6, ' '.join(['nan'] + first_joint[1:])), 'non-numeric token', 6,
         "expected numbers only, found 'nan' in field 1"),
        (replaced(text, 1, '7'), 'truncated', 170,
         'the file ends early: expected the number of bodies of frame 7 of 7'),
        (replaced(text, 1, '5'), 'bad structure', 142,
         'unexpected content after the last of the 5 frames declared on line 1'),
        ('', 'truncated', 1, 'the file is empty'),
        ('0\r\n', 'no frames', 1, 'declares 0 frames'),
        ('3\r\n0\r\n0\r\n0\r\n', 'no body', 0, 'none of its 3 frames has a body'),
        (b'\x00\x01\x02garbage\xff', 'non-numeric token', 1,
         'expected the number of frames, found'),
        (replaced(text, 4, '25x'), 'non-numeric token', 4,
         "expected the number of joints of body 1 of 1 in frame 1, found '25x'"),
        (replaced(text, 33, ' '.join(['1e999'] + first_joint[1:])), 'non-finite value', 33,
         'expected finite coordinates'),
    ], start=1)}


def test_parse_errors_name_line_and_expectation(tmp_path):
    rng = np.random.default_rng(3)
    for stem, (content, reason, line, message) in bad_files(rng).items():
        path = write(tmp_path, stem + '.skeleton', content)
        with pytest.raises(SampleError) as info:
            load_ntu_sample(path)
        error = info.value
        assert (error.reason, error.line) == (reason, line), (stem, str(error))
        assert message in str(error), (stem, str(error))
        where = f'{path}, line {line}: ' if line else f'{path}: '
        assert str(error).startswith(where), str(error)
    with pytest.raises(SkeletonFileError, match='line 1: expected the number of frames'):
        parse_skeleton(b'x')


def test_bad_files_are_reported_and_left_out(tmp_path):
    rng = np.random.default_rng(3)
    raw = tmp_path / 'raw'
    cases = bad_files(rng)
    for stem, (content, *_) in cases.items():
        write(raw, stem + '.skeleton', content)
    good = ['S001C001P001R001A020', 'S001C001P003R001A021']  # sorted around the bad ones
    for stem in good:
        write(raw, stem + '.skeleton', skeleton_text(good_frames(rng)))
    out = tmp_path / 'out'
    result = run_preprocess('ntu60', '--raw', raw, '--out', out, '--workers', 2)
    assert 'Traceback' not in result.stderr
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['files_processed'] == {'written': 2, 'left_out': len(cases)}
    reported = {Path(item['file']).name[:-9]: item for item in summary['skipped_files']}
    assert set(reported) == set(cases)
    for stem, (_, reason, line, message) in cases.items():
        assert reported[stem]['reason'] == reason
        assert message in reported[stem]['message']
        assert stem in result.stderr
        level = 'WARNING' if reason in ('no frames', 'no body') else 'ERROR'
        assert any(level in row and stem in row for row in result.stderr.splitlines())
    # The good samples fill the rows, in order, around the left-out ones.
    data, names, _, _ = assert_matches_reference(out / 'xview', 'val', raw)
    assert names == [stem + '.skeleton' for stem in good] and data.shape[0] == 2
    assert summary['splits']['xview/val']['written'] == 2
    assert f'left out: {len(cases)} samples' in result.stdout


def test_exit_status(tmp_path):
    result = run_preprocess('ntu60', '--raw', tmp_path / 'nope', '--out', tmp_path / 'out',
                     expect=None)
    assert result.returncode != 0 and 'does not exist' in result.stderr
    assert 'Traceback' not in result.stderr
    raw = write(tmp_path / 'raw', 'S001C001P001R001A001.skeleton', '2\r\n1\r\n').parent
    result = run_preprocess('ntu60', '--raw', raw, '--out', tmp_path / 'out', expect=None)
    assert result.returncode == 1 and 'nothing could be written' in result.stderr


# ------------------------------------------------------------------------------------------
# Units

def test_pre_normalize_batches_match_reference():
    rng = np.random.default_rng(4)
    N, T = 12, 30
    x = rng.normal(size=(N, 3, T, 25, 2)) + np.array([0, 0, 3.0])[:, None, None, None]
    for n in range(N):
        x[n, :, rng.random(T) < 0.3, :, 0] = 0            # empty frames of person 0
        x[n, :, rng.random(T) < 0.6, :, 1] = 0            # and of person 1
        x[n, :, :, rng.integers(25), rng.integers(2)] = 0  # a joint never tracked
        x[n, :, T - rng.integers(1, 10):] = 0              # trailing empty frames
    x[0, :, :, :, 1] = 0                                   # one person only
    x[1, :, :4] = 0                                        # leading empty frames
    x[2] = 0                                               # nobody
    x[3, :, 0, 1, 0] = x[3, :, 0, 0, 0]                    # zero z-bone: no rotation
    x[4, :, 0, 8, 0] = x[4, :, 0, 4, 0]                    # zero x-bone: no rotation
    out = pre_normalize(x)
    assert out.dtype == np.float64 and out.shape == x.shape
    for n in range(N):
        np.testing.assert_allclose(out[n], ref_pre_normalization(x[n]), atol=1e-10)
        np.testing.assert_allclose(pre_normalize(x[n].astype(np.float32)), out[n], atol=1e-5)
    assert (out[2] == 0).all()


def test_pre_normalize_aligns_the_bones():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 5, 25, 1)) + np.array([0, 0, 3.0])[:, None, None, None]
    out = pre_normalize(x)
    assert np.abs(out[:, :, 1, 0]).max() < 1e-12     # spine-mid joint at the origin
    shoulders = out[:, 0, 8, 0] - out[:, 0, 4, 0]
    assert abs(shoulders[1]) < 1e-12 and abs(shoulders[2]) < 1e-12 and shoulders[0] > 0
    # lengths are kept: rotations only
    np.testing.assert_allclose(np.linalg.norm(out[:, :, 3] - out[:, :, 2], axis=0),
                               np.linalg.norm(x[:, :, 3] - x[:, :, 2], axis=0), rtol=1e-10)


def test_num_valid_frames():
    x = np.zeros((2, 3, 10, 25, 2))
    x[0, :, 2:6, :, 0] = 1      # leading gap: 4 frames move to the front
    x[0, :, 0:3, :, 1] = 1      # second person: 3 frames
    x[1, :, 0:8, :, 0] = 1
    x[1, :, 4:6, :, 0] = 0      # gap kept: up to the last non-empty frame
    assert num_valid_frames(x).tolist() == [4, 8]
    assert num_valid_frames(x[1]) == 8


def test_keep_rows_shrinks_in_place(tmp_path):
    from numpy.lib.format import open_memmap
    path = tmp_path / 'a.npy'
    array = open_memmap(path, mode='w+', dtype=np.float32, shape=(7, 2, 3))
    array[:] = np.arange(7, dtype=np.float32)[:, None, None]
    del array
    keep_rows(path, [0, 2, 3, 6])
    np.testing.assert_array_equal(np.load(path)[:, 0, 0], [0, 2, 3, 6])
    assert np.load(path, mmap_mode='r').shape == (4, 2, 3)
    keep_rows(path, [])
    assert np.load(path).shape == (0, 2, 3)


def test_name_rules():
    info = parse_name('S017C003P040R002A060.skeleton')
    assert (info.setup, info.camera, info.subject, info.replication, info.label) == \
        (17, 3, 40, 2, 59)
    assert split_of(info, 'ntu60', 'xview') == 'train'
    assert split_of(info, 'ntu60', 'xsub') == 'val'
    assert split_of(parse_name('S018C001P045R001A061'), 'ntu120', 'xsub') == 'train'
    assert split_of(parse_name('S018C001P045R001A061'), 'ntu120', 'xset') == 'train'
    assert split_of(parse_name('S019C001P044R001A061'), 'ntu120', 'xset') == 'val'
    with pytest.raises(ValueError, match='SsssCcccPpppRrrrAaaa'):
        parse_name('S1C1P1R1A1.skeleton')


def test_pre_normalize_periodic_batches_match_reference():
    # Every sample's persons share one length: the normalised frames repeat (short path).
    rng = np.random.default_rng(6)
    x = np.zeros((4, 3, 50, 25, 2))
    x[0, :, :10, :, 0] = rng.normal(size=(3, 10, 25)) + 3       # one person, L = 10
    x[1, :, :20] = rng.normal(size=(3, 20, 25, 2)) + 3          # two persons, L = 20
    x[1, :, 5:8, :, 1] = 0                                      # with a gap
    x[2, :, 7:30, :, 0] = rng.normal(size=(3, 23, 25)) + 3      # moved to the front: L = 23
    x[2, :, 3:26, :, 1] = rng.normal(size=(3, 23, 25)) + 3
    out = pre_normalize(x)
    for n in range(4):
        np.testing.assert_allclose(out[n], ref_pre_normalization(x[n]), atol=1e-10)
    assert (out[3] == 0).all()


def test_pre_normalize_pads_to_num_frames():
    rng = np.random.default_rng(7)
    short = np.zeros((3, 12, 25, 2), np.float32)
    short[:, 2:9, :, 0] = rng.normal(size=(3, 7, 25)) + 3      # late start: moved, L = 7
    short[:, :5, :, 1] = rng.normal(size=(3, 5, 25)) + 3       # another length: no period
    for x in (short, short[..., :1]):
        padded = np.zeros(x.shape[:1] + (40, ) + x.shape[2:], np.float32)
        padded[:, :12] = x
        np.testing.assert_allclose(pre_normalize(x, num_frames=40), pre_normalize(padded),
                                   atol=1e-6)
        np.testing.assert_allclose(pre_normalize(x, num_frames=40),
                                   ref_pre_normalization(padded), atol=1e-5)
    with pytest.raises(ValueError, match='shorter'):
        pre_normalize(short, num_frames=5)


def test_pre_normalize_leaves_its_input_alone():
    rng = np.random.default_rng(8)
    for shape in ((3, 20, 25, 1), (3, 20, 25, 2), (1, 3, 20, 25, 1)):
        x = (rng.normal(size=shape) + 3).astype(np.float32)
        x[..., :4, :, :] = 0
        before = x.copy()
        pre_normalize(x)
        pre_normalize(x, num_frames=30)
        np.testing.assert_array_equal(x, before)


def test_any_whitespace_parses_the_same():
    rng = np.random.default_rng(9)
    text = skeleton_text(good_frames(rng, 5, 2))
    expected = parse_skeleton(text.encode())
    variants = [text.replace('\r\n', '\n'),                      # LF line endings
                text.rstrip('\r\n'),                             # no final line break
                text.replace(' ', '  '),                         # double spaces
                text.replace(' ', '\t'),                         # tabs
                text.replace('\r\n', ' \r\n'),                   # trailing spaces
                '\r\n' + text + '\r\n\r\n']                      # blank lines around
    for variant in variants[:5]:
        got = parse_skeleton(variant.encode())
        assert got.num_frames == expected.num_frames
        np.testing.assert_array_equal(got.xyz, expected.xyz)
        np.testing.assert_array_equal(got.frame, expected.frame)
        np.testing.assert_array_equal(got.slot, expected.slot)
    with pytest.raises(SkeletonFileError, match='line 1: expected the number of frames'):
        parse_skeleton(variants[5].encode())  # a blank first line is not the frame count


def test_rotations_one_and_many_agree_with_reference():
    from preprocess.normalize import alignment_rotations
    rng = np.random.default_rng(10)
    vectors = np.concatenate([rng.normal(size=(50, 3)), [[0, 0, 0], [0, 0, 2], [0, 0, -1],
                                                         [1e-8, 0, 1], [3, 0, 0]]])
    for target in ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)):
        many = alignment_rotations(vectors, np.array(target))
        for v, R in zip(vectors, many):
            expected = ref_rotation(v, target)
            np.testing.assert_allclose(R, expected, atol=1e-12)
            np.testing.assert_allclose(alignment_rotations(v[None], np.array(target))[0],
                                       expected, atol=1e-12)
