"""``python -m pyg_mstgcn.ensemble``: fusion by sample name."""
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyg_mstgcn.ensemble import ScoreMismatch, check_names, fuse, load_scores

ROOT = Path(__file__).resolve().parents[1]


def _dump(path, obj):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)
    return str(path)


@pytest.fixture
def streams(tmp_path):
    rng = np.random.default_rng(0)
    names = [f's{i}' for i in range(12)]
    labels = rng.integers(0, 6, 12).tolist()
    scores = [rng.normal(size=(12, 6)) for _ in range(2)]
    perm = rng.permutation(12)   # the second file lists the samples in another order
    a = _dump(tmp_path / 'a.pkl', {n: s for n, s in zip(names, scores[0])})
    b = _dump(tmp_path / 'b.pkl', {names[i]: scores[1][i] for i in perm})
    lab = _dump(tmp_path / 'labels.pkl', (names, labels))
    return names, np.array(labels), scores, a, b, lab


def test_fuse_matches_by_name(streams):
    names, labels, scores, a, b, _ = streams
    fused = fuse([load_scores(a), load_scores(b)], [1.0, 0.5], names)
    np.testing.assert_allclose(fused, scores[0] + 0.5 * scores[1])


def test_cli_prints_fused_accuracy(streams, tmp_path):
    names, labels, scores, a, b, lab = streams
    out = tmp_path / 'fused.pkl'
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.ensemble', '--scores', a, b,
                           '--weights', '1', '0.5', '--labels', lab, '--out', str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    expected = ((scores[0] + 0.5 * scores[1]).argmax(1) == labels).mean()
    fused_line = [line for line in proc.stdout.splitlines() if line.startswith('fused ')][0]
    assert f'{100 * expected:6.2f}%' in fused_line
    with open(out, 'rb') as f:
        fused = pickle.load(f)
    np.testing.assert_allclose(fused['s3'], scores[0][3] + 0.5 * scores[1][3], rtol=1e-6)


def test_mismatched_sets_refused(streams, tmp_path):
    names, labels, scores, a, b, lab = streams
    partial = load_scores(b)
    del partial['s7']
    partial['extra_1'] = np.zeros(6)
    c = _dump(tmp_path / 'c.pkl', partial)
    with pytest.raises(ScoreMismatch, match='s7'):
        check_names({a: load_scores(a), c: load_scores(c)}, names)
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.ensemble', '--scores', a, c,
                           '--labels', lab], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0
    assert 's7' in proc.stderr and 'extra_1' in proc.stderr and 'c.pkl' in proc.stderr


def test_help():
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.ensemble', '--help'],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and '--weights' in proc.stdout
