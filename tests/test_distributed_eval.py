"""``--phase test`` under ``torchrun --nproc_per_node=2`` (gloo): every validation sample
evaluated once, and rank 0 writes the outputs of one process, into one folder."""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist

from pyg_mstgcn.data import make_synthetic

ROOT = Path(__file__).resolve().parents[1]
NUM_VAL = 30        # 15 per process, in batches of 8: the last batches differ in size
CPU = ['train.device=cpu', 'train.threads=1', 'data.num_workers=0']

gloo = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                          reason='torch.distributed with gloo is not available')


def run(args, env, launcher=()):
    proc = subprocess.run([sys.executable, *launcher, '-m', 'pyg_mstgcn.train', *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def outputs(out_dir):
    """The one test folder in :obj:`out_dir`: scores, labels and metrics."""
    folders = list(out_dir.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith('run-test-'), folders
    folder = folders[0]
    with open(folder / 'scores.pkl', 'rb') as f:
        scores = pickle.load(f)
    with open(folder / 'labels.pkl', 'rb') as f:
        labels = pickle.load(f)
    return scores, labels, json.loads((folder / 'metrics.json').read_text())


@gloo
def test_torchrun_test_phase_equals_one_process(tmp_path):
    data_dir = make_synthetic(tmp_path / 'data', num_train=64, num_val=NUM_VAL, frames=16)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    run(['--config', 'tiny', '--set', f'data.root={data_dir}', 'data.synthetic=null',
         'train.epochs=1', f'output.dir={tmp_path}', 'output.name=run', *CPU], env)
    run_dir = tmp_path / 'run'
    phase = ['--phase', 'test', '-c', str(run_dir / 'config.yaml'),
             '--weights', str(run_dir / 'best.pt'), '--set', 'data.val_batch_size=8', *CPU]
    run([*phase, f'output.dir={tmp_path / "one"}'], env)
    ddp = run([*phase, f'output.dir={tmp_path / "two"}'], env,
              ('-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2'))
    assert 'x 2 processes' in ddp.stdout
    assert ddp.stdout.count('top1 ') == 1, ddp.stdout       # rank 0 alone logs

    (scores1, labels1, metrics1), (scores2, labels2, metrics2) = \
        outputs(tmp_path / 'one'), outputs(tmp_path / 'two')
    assert len(scores1) == NUM_VAL and list(scores2) == list(scores1)
    for name, logits in scores1.items():
        assert np.allclose(scores2[name], logits, atol=1e-5), name
    assert labels2 == labels1
    for key in ('top1', 'top5', 'num_samples'):
        assert metrics2[key] == metrics1[key], key
    assert metrics2['num_samples'] == NUM_VAL
