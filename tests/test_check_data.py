"""Bad data found before it costs a GPU-day: ``python -m pyg_mstgcn.train --check-data`` as a
user runs it, and the cheap check of a dataset as training opens it."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyg_mstgcn.data import SkeletonArrayDataset, make_synthetic
from pyg_mstgcn.io import data_path, label_path, read_labels, write_labels
from pyg_mstgcn.train.cli import main

ROOT = Path(__file__).resolve().parents[1]
NAN, ZERO, BAD_LABEL = 5, 10, 3   # the corrupted train rows, and the val label set to 99


@pytest.fixture(scope='module')
def clean_dir(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp('clean'), num_train=64, num_val=32,
                          frames=16)


@pytest.fixture(scope='module')
def corrupt_dir(clean_dir, tmp_path_factory):
    """A copy with a NaN train sample, an all-zero one and a val label of 99; returns the
    folder and the names of those samples."""
    root = tmp_path_factory.mktemp('corrupt') / 'data'
    shutil.copytree(clean_dir, root)
    data = np.load(data_path(root, 'train'))
    data[NAN, 0, 3] = np.nan
    data[ZERO] = 0
    np.save(data_path(root, 'train'), data)
    names, labels = read_labels(label_path(root, 'val'))
    labels[BAD_LABEL] = 99
    write_labels(label_path(root, 'val'), names, labels)
    train_names = read_labels(label_path(root, 'train'))[0]
    return root, train_names[NAN], train_names[ZERO], names[BAD_LABEL]


def run_train(data_dir, out, *extra):
    args = [sys.executable, '-m', 'pyg_mstgcn.train', '--config', 'tiny', '--set',
            f'data.root={data_dir}', 'data.synthetic=null', f'output.dir={out}', *extra]
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_clean_data_passes(clean_dir, tmp_path):
    proc = run_train(clean_dir, tmp_path / 'runs', '--check-data')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'train: 64 samples, no problems' in proc.stdout
    assert 'val: 32 samples, no problems' in proc.stdout
    assert not (tmp_path / 'runs').exists()   # no run folder


def test_corrupt_data_reported(corrupt_dir, tmp_path):
    root, nan_name, zero_name, label_name = corrupt_dir
    proc = run_train(root, tmp_path / 'runs', '--check-data', '--out', tmp_path / 'r.json')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr
    out = proc.stdout
    assert f'NaN or infinite values: 1 ({nan_name})' in out
    assert f'all values zero: 1 ({zero_name})' in out
    assert f'label outside [0, num_classes): 1 ({label_name} (label 99))' in out
    assert out.index(nan_name) < out.index('val: 32') < out.index(label_name)  # by split
    report = json.loads((tmp_path / 'r.json').read_text())
    assert not report['clean'] and report['num_classes'] == 8
    assert report['splits']['train']['problems'] == {'non_finite': [nan_name],
                                                     'all_zero': [zero_name]}
    assert report['splits']['val']['problems'] == {'label_out_of_range': [label_name]}
    assert not (tmp_path / 'runs').exists()


def test_training_stops_at_a_sampled_nan(corrupt_dir, tmp_path):
    root, nan_name, _, _ = corrupt_dir
    proc = run_train(root, tmp_path / 'runs')
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert nan_name in lines[0] and '--check-data' in lines[0] and 'train split' in lines[0]
    assert not (tmp_path / 'runs').exists()


def test_bad_use_is_one_line(clean_dir, tmp_path, capsys):
    for root, extra, words in ((tmp_path / 'none', ['--check-data'], 'none'),
                               (clean_dir, ['--out', 'r.json'], '--out'),
                               (clean_dir, ['--check-data', '--phase', 'test'], '--phase')):
        args = ['--config', 'tiny', '--set', f'data.root={root}', 'data.synthetic=null']
        assert main(args + extra) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err


def test_negative_label_fails_at_opening(clean_dir, tmp_path):
    names, labels = read_labels(label_path(clean_dir, 'val'))
    labels[7] = -1
    write_labels(tmp_path / 'val_label.pkl', names, labels)
    with pytest.raises(ValueError, match=f"1 samples have negative labels, first '{names[7]}'"):
        SkeletonArrayDataset(data_path=data_path(clean_dir, 'val'),
                             label_path=tmp_path / 'val_label.pkl')
