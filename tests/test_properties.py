"""Property-based tests of every parser a user feeds: random truncations, byte mutations and
type swaps of valid inputs fail only with each parser's documented error (one line), and the
preprocessing loaders write nothing.

Derandomised (the same examples on every run), so CI is deterministic; a failure prints the
smallest example hypothesis found.
"""
import json
from contextlib import contextmanager
import pickle
import subprocess
import sys

import numpy as np
import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from conftest import ROOT, shared_path  # noqa: E402
from pyg_mstgcn.config_files import ConfigError  # noqa: E402
from pyg_mstgcn.data import PoseAnnotationDataset  # noqa: E402
from pyg_mstgcn.errors import InputError  # noqa: E402
from pyg_mstgcn.io import read_labels  # noqa: E402
from pyg_mstgcn.predict.inputs import ReadOptions, read_input  # noqa: E402
from pyg_mstgcn.preprocess.errors import SampleError  # noqa: E402
from pyg_mstgcn.preprocess.kinetics import load_kinetics_sample, read_kinetics  # noqa: E402
from pyg_mstgcn.preprocess.ntu import load_ntu_sample, parse_skeleton  # noqa: E402
from pyg_mstgcn.preprocess.nw_ucla import read_nw_ucla  # noqa: E402
from pyg_mstgcn.train.config import parse_override, resolve  # noqa: E402


def fuzz(examples):
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def assert_one_line(error, echo=''):
    """A message on one line, but for the user's own text it quotes (:obj:`echo`)."""
    message = str(error)
    assert message.strip() and '\n' not in message.replace(echo, '').strip(), repr(message)


@pytest.fixture(scope='module')
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp('fuzz')


def files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob('*'))


@contextmanager
def nothing_written(folder):
    """Asserts that the ``with`` block leaves the files under :obj:`folder` as they were."""
    before = files_under(folder)
    yield
    assert files_under(folder) == before


def expect_sample(load, shape):
    """``load()`` gives a finite float32 sample of :obj:`shape` with 1 to ``shape[1]`` valid
    frames, or raises a one-line :class:`SampleError`."""
    try:
        sample, frames, _ = load()
    except SampleError as error:
        assert_one_line(error)
        return
    assert sample.shape == shape and sample.dtype == np.float32
    assert np.isfinite(sample).all() and 0 < frames <= shape[1]


# ------------------------------------------------------------------------------------------
# Mutations

#: Tokens a mutation puts in place of a field.
ODD_TOKENS = ['', '0', '-1', '25', '1e999', 'nan', 'inf', '-inf', '9' * 30, '1.5', 'x',
              '\x00', ' ', '\t', '\r', '+', '-', 'e', '.', '1e', '0x10', 'é']


def text_mutation(data, raw: bytes) -> bytes:
    """A truncation, a deleted or duplicated line, a replaced token or a flipped byte."""
    kind = data.draw(st.sampled_from(['truncate', 'delete', 'duplicate', 'token', 'byte']))
    if kind == 'truncate':
        return raw[:data.draw(st.integers(0, len(raw) - 1))]
    if kind == 'byte':
        at = data.draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1:]
    lines = raw.split(b'\n')
    i = data.draw(st.integers(0, len(lines) - 1))
    if kind == 'delete':
        del lines[i]
    elif kind == 'duplicate':
        lines.insert(i, lines[i])
    else:
        fields = lines[i].split(b' ')
        k = data.draw(st.integers(0, len(fields) - 1))
        fields[k] = data.draw(st.one_of(st.sampled_from(ODD_TOKENS), st.text(max_size=6))
                              ).encode()
        lines[i] = b' '.join(fields)
    return b'\n'.join(lines)


#: Values a type swap puts in place of a JSON value.
JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.integers(-2 ** 80, 2 ** 80).map(lambda i: i * 10 ** 300),   # beyond float
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
    st.lists(st.integers(-3, 3), max_size=4), st.just([]), st.just({}),
    st.dictionaries(st.sampled_from(['pose', 'score', 'data', 'people', 'keypoints', 'x']),
                    st.integers(), max_size=2))


def swap_value(data, tree):
    """:obj:`tree` (decoded JSON) with one node, reached by a random walk from the root,
    replaced by a value of another type, deleted or duplicated."""
    tree = json.loads(json.dumps(tree))  # a copy
    parent, key, node = None, None, tree
    while isinstance(node, (list, dict)) and node and data.draw(st.integers(0, 4)):
        keys = list(node) if isinstance(node, dict) else range(len(node))
        parent, key = node, data.draw(st.sampled_from(list(keys)))
        node = node[key]
    action = data.draw(st.sampled_from(['swap', 'swap', 'delete', 'duplicate']))
    if parent is None:
        return data.draw(JSON_VALUES)
    if action == 'delete':
        del parent[key]
    elif action == 'duplicate' and isinstance(parent, list):
        parent.insert(key, parent[key])
    else:
        parent[key] = data.draw(JSON_VALUES)
    return tree


def json_mutation(data, tree) -> bytes:
    """A type swap (or deletion, duplication) in the decoded JSON, a truncation of its text
    or a flipped byte."""
    kind = data.draw(st.sampled_from(['swap', 'swap', 'swap', 'truncate', 'byte']))
    if kind == 'swap':
        return json.dumps(swap_value(data, tree)).encode()
    raw = json.dumps(tree).encode()
    at = data.draw(st.integers(0, len(raw) - 1))
    if kind == 'truncate':
        return raw[:at]
    return raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1:]


# ------------------------------------------------------------------------------------------
# NTU RGB+D .skeleton

@pytest.fixture(scope='module')
def skeletons():
    folder = shared_path('data', 'ntu')
    files = sorted(folder.glob('*.skeleton'))
    if not files:
        pytest.skip(f'no .skeleton file in {folder}')
    return [f.read_bytes() for f in files]


@fuzz(300)
@given(data=st.data())
def test_skeleton_mutations_raise_skeleton_errors_only(skeletons, scratch, data):
    raw = text_mutation(data, data.draw(st.sampled_from(skeletons)))
    try:
        sequence = parse_skeleton(raw, 'fuzz.skeleton')
    except SampleError as error:
        assert_one_line(error)
        return
    assert sequence.xyz.shape == (len(sequence.frame), 25, 3)
    assert np.isfinite(sequence.xyz).all()


@fuzz(200)
@given(data=st.data())
def test_ntu_loader_on_mutations_writes_nothing(skeletons, scratch, data):
    path = scratch / 'S001C001P001R001A001.skeleton'
    path.write_bytes(text_mutation(data, data.draw(st.sampled_from(skeletons))))
    with nothing_written(scratch):
        expect_sample(lambda: load_ntu_sample(path), (3, 300, 25, 2))


# ------------------------------------------------------------------------------------------
# Kinetics-Skeleton, NW-UCLA, OpenPose frames, COCO-17 lists

def json_seeds(*parts, frames=None, key=None):
    folder = shared_path(*parts)
    files = sorted(folder.glob('*.json'))
    if not files:
        pytest.skip(f'no JSON file in {folder}')
    seeds = []
    for file in sorted(files, key=lambda f: f.stat().st_size)[:3]:  # the smallest: fast
        tree = json.loads(file.read_bytes())
        if frames and isinstance(tree.get(key), list):
            tree[key] = tree[key][:frames]
        seeds.append(tree)
    return seeds


@pytest.fixture(scope='module')
def kinetics_clips():
    return json_seeds('data', 'kinetics', 'kinetics_val', frames=20, key='data')


@pytest.fixture(scope='module')
def nw_ucla_samples():
    return json_seeds('data', 'nw_ucla', frames=10, key='skeletons')


@fuzz(250)
@given(data=st.data())
def test_kinetics_mutations_raise_sample_errors_only(kinetics_clips, scratch, data):
    path = scratch / 'clip.json'
    path.write_bytes(json_mutation(data, data.draw(st.sampled_from(kinetics_clips))))
    with nothing_written(scratch):
        expect_sample(lambda: load_kinetics_sample(path, num_frames=64), (3, 64, 18, 2))
        try:
            read_kinetics(path, num_frames=8, truncate=False)
        except SampleError as error:
            assert_one_line(error)


@fuzz(200)
@given(data=st.data())
def test_nw_ucla_mutations_raise_sample_errors_only(nw_ucla_samples, scratch, data):
    path = scratch / 'a01_s01_e00_v01.json'
    path.write_bytes(json_mutation(data, data.draw(st.sampled_from(nw_ucla_samples))))
    try:
        skeletons, label = read_nw_ucla(path)
    except SampleError as error:
        assert_one_line(error)
        return
    assert skeletons.ndim == 3 and skeletons.shape[1:] == (20, 3)
    assert np.isfinite(skeletons).all() and 1 <= label <= 10


def openpose_frame(rng, people):
    keypoints = lambda: np.c_[rng.random((25, 2)), rng.random(25)].reshape(-1).tolist()  # noqa
    return {'version': 1.3, 'people': [{'person_id': [-1], 'pose_keypoints_2d': keypoints()}
                                       for _ in range(people)]}


def coco_list(rng, frames):
    return [[np.c_[rng.random((17, 2)), rng.random(17)].tolist()
             for _ in range(int(rng.integers(0, 3)))] for _ in range(frames)]


POSE2D = ReadOptions(layout='openpose', num_person=2, in_channels=3)


def expect_input_error(path, fmt, options=POSE2D):
    try:
        sequences = read_input(path, fmt, options)
    except InputError as error:
        assert_one_line(error)
        return
    for sequence in sequences:
        assert np.isfinite(np.asarray(sequence.data)).all()


@fuzz(200)
@given(data=st.data())
def test_openpose_frame_mutations_raise_input_errors_only(scratch, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 3)))
    folder = scratch / 'openpose'
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    frames = [openpose_frame(rng, int(rng.integers(0, 3))) for _ in range(3)]
    bad = data.draw(st.integers(0, len(frames) - 1))
    for t, frame in enumerate(frames):
        raw = json_mutation(data, frame) if t == bad else json.dumps(frame).encode()
        (folder / f'clip_{t:012d}_keypoints.json').write_bytes(raw)
    expect_input_error(folder, 'openpose')


@fuzz(200)
@given(data=st.data(), size=st.sampled_from([None, (640.0, 480.0)]))
def test_coco_list_mutations_raise_input_errors_only(scratch, data, size):
    rng = np.random.default_rng(data.draw(st.integers(0, 3)))
    content = coco_list(rng, 4)
    if size is not None:
        content = [[(np.asarray(p) * [640, 480, 1]).tolist() for p in people]
                   for people in content]
    path = scratch / 'poses.json'
    path.write_bytes(json_mutation(data, content))
    options = ReadOptions(layout='openpose', num_person=2, in_channels=3, frame_size=size)
    expect_input_error(path, 'coco', options)


@fuzz(200)
@given(data=st.data())
def test_predictor_json_readers_raise_input_errors_only(kinetics_clips, nw_ucla_samples,
                                                        scratch, data):
    fmt = data.draw(st.sampled_from(['kinetics', 'nw_ucla']))
    seeds = kinetics_clips if fmt == 'kinetics' else nw_ucla_samples
    path = scratch / f'input_{fmt}.json'
    path.write_bytes(json_mutation(data, data.draw(st.sampled_from(seeds))))
    layout = 'openpose' if fmt == 'kinetics' else 'nw-ucla'
    expect_input_error(path, fmt, ReadOptions(layout=layout, num_person=2, in_channels=3))


# ------------------------------------------------------------------------------------------
# Annotation pickles and label files

def annotations(rng, samples=3, V=18):
    return [{'frame_dir': f'clip{i}', 'label': i % 2, 'total_frames': 6,
             'keypoint': rng.random((2, 6, V, 2)).astype(np.float32) * 100,
             'keypoint_score': rng.random((2, 6, V)).astype(np.float32),
             'img_shape': (480, 640)} for i in range(samples)]


#: Values a structural mutation puts in place of a pickled value.
PICKLE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
    st.just([]), st.just({}), st.just(()), st.just(np.zeros(0)), st.just(np.zeros((2, 6, 18))),
    st.just(np.zeros((2, 6, 17, 2))), st.just(np.full((2, 6, 18, 2), 'a')),
    st.just(np.zeros((2, 6, 18, 2), dtype=object)), st.just(np.array([np.nan, np.inf])),
    st.just(np.zeros((2, 6, 18, 3))), st.just(float('inf')), st.just(10 ** 30),
    st.just(np.zeros((1, 2, 3, 4, 5))), st.just({'a': 1}))


def mutate_structure(data, value):
    """:obj:`value` (nested dicts, lists, tuples, arrays) with one node replaced, deleted or
    wrapped, reached by a random walk."""
    import copy
    value = copy.deepcopy(value)
    parent, key, node = None, None, value
    while isinstance(node, (list, dict)) and node and data.draw(st.integers(0, 3)):
        keys = list(node) if isinstance(node, dict) else range(len(node))
        parent, key = node, data.draw(st.sampled_from(list(keys)))
        node = node[key]
    if parent is None:
        return data.draw(PICKLE_VALUES)
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = data.draw(PICKLE_VALUES)
    return value


def pickle_mutation(data, value) -> bytes:
    kind = data.draw(st.sampled_from(['structure', 'structure', 'structure', 'truncate']))
    if kind == 'structure':
        return pickle.dumps(mutate_structure(data, value), protocol=4)
    raw = pickle.dumps(value, protocol=4)
    return raw[:data.draw(st.integers(0, len(raw) - 1))]


@fuzz(250)
@given(data=st.data(), bare=st.booleans(), split=st.sampled_from([None, 'xsub_val']))
def test_annotation_pickle_mutations_raise_documented_errors_only(scratch, data, bare, split):
    items = annotations(np.random.default_rng(0))
    content = items if bare else {'split': {'xsub_train': ['clip0', 'clip1'],
                                            'xsub_val': ['clip2']}, 'annotations': items}
    path = scratch / f'annotations_{data.draw(st.integers(0, 10 ** 9))}.pkl'  # no caching
    path.write_bytes(pickle_mutation(data, content))
    try:
        dataset = PoseAnnotationDataset(path, split, 'openpose', with_score='auto')
        for i in range(len(dataset)):
            x, frames, label, name = dataset.raw(i)
            assert x.ndim == 4 and x.shape[2] == 18
    except (ValueError, FileNotFoundError) as error:  # InputError is a ValueError
        assert_one_line(error)
    finally:
        path.unlink()


@fuzz(200)
@given(data=st.data())
def test_label_file_mutations_raise_documented_errors_only(scratch, data):
    content = (['S001C001P001R001A001.skeleton', 'S001C001P001R001A002.skeleton'], [0, 1])
    path = scratch / 'val_label.pkl'
    path.write_bytes(pickle_mutation(data, content))
    try:
        names, labels = read_labels(path)
    except ValueError as error:  # InputError is a ValueError
        assert_one_line(error)
        return
    assert len(names) == len(labels)
    assert all(isinstance(n, str) for n in names) and all(isinstance(y, int) for y in labels)


# ------------------------------------------------------------------------------------------
# Configuration overrides

KEYS = ['optim.lr', 'optim.momentum', 'schedule.steps', 'schedule.name', 'train.epochs',
        'train.seed', 'train.threads', 'data.batch_size', 'data.layout', 'data.stream',
        'data.train_transforms', 'model', 'model.num_classes', 'model.blocks',
        'model.kernel_size', 'output.dir', 'optim', 'nope.x']
YAML_VALUES = ['1', '-1', '0', '1e-4', '1e999', '.nan', '.inf', 'null', '~', 'true', '[]', '{}',
               '[1, 2]', '{a: 1}', 'x', "'3'", '[', '{', ':', '&a [*a]', '!!binary x',
               '!!python/object:os.system x', '- a', '"\\x"', '0x10', '1_000', '2020-01-01']


@fuzz(300)
@given(text=st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(KEYS), st.one_of(st.sampled_from(YAML_VALUES),
                                               st.text(max_size=12))).map('='.join)))
def test_overrides_raise_config_errors_only(text):
    try:
        parse_override(text)
        resolve('tiny', [text])
    except ConfigError as error:
        assert_one_line(error, echo=text)


# ------------------------------------------------------------------------------------------
# The preprocessing command on a folder with one corrupt file

def test_preprocess_with_a_corrupt_file_writes_complete_splits(tmp_path):
    """The real files and one truncated copy: the splits hold the real ones, whole; no
    temporary file is left. (test_preprocess_ntu covers bad synthetic files, and the real
    files alone.)"""
    folder = shared_path('data', 'ntu')
    files = sorted(folder.glob('*.skeleton'))
    if not files:
        pytest.skip(f'no .skeleton file in {folder}')
    raw = tmp_path / 'raw'
    raw.mkdir()
    for file in files:
        (raw / file.name).symlink_to(file)
    corrupt = raw / 'S001C001P001R001A001.skeleton'
    corrupt.write_bytes(files[0].read_bytes()[:5000])
    out = tmp_path / 'out'
    result = subprocess.run([sys.executable, '-m', 'preprocess', 'ntu60', '--raw', str(raw),
                             '--out', str(out), '--workers', '1', '--no-progress'], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Traceback' not in result.stderr and corrupt.name in result.stderr
    assert not list(out.rglob('*.tmp'))
    written = []
    for benchmark in ('xsub', 'xview'):
        for split in ('train', 'val'):
            data = np.load(out / benchmark / f'{split}_data_joint.npy')
            names, labels = read_labels(out / benchmark / f'{split}_label.pkl')
            frames = np.load(out / benchmark / f'{split}_num_frames.npy')
            assert len(data) == len(names) == len(labels) == len(frames)
            assert data.shape[1:] == (3, 300, 25, 2) and np.isfinite(data).all()
            assert (frames > 0).all() and all(data[i].any() for i in range(len(data)))
            written += names
    assert sorted(written) == sorted(2 * [f.name for f in files])
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['files_processed'] == {'written': len(files), 'left_out': 1}

