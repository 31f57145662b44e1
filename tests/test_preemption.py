"""Preemption as a user meets it: ``python -m pyg_mstgcn.train`` stopped by SIGTERM (or
killed after a ``train.checkpoint_every`` checkpoint) inside an epoch, then ``--resume``: the
final weights equal those of an uninterrupted run."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from test_train import ROOT, cli_args, data_dir, run_cli  # noqa: F401 - data_dir is a fixture

#: 16 steps an epoch (the tiny recipe's 4, data.repeat 4): a signal lands inside an epoch.
LONG_EPOCHS = ('train.epochs=2', 'data.repeat=4')


@pytest.fixture(scope='module')
def reference(data_dir, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp('runs')
    proc = run_cli(cli_args(data_dir, out, 'full', *LONG_EPOCHS))
    assert proc.returncode == 0, proc.stderr
    return torch.load(out / 'full' / 'last.pt', weights_only=False)['state_dict']


def start(args, folder: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    with open(folder / 'stdout.txt', 'w') as out, open(folder / 'stderr.txt', 'w') as err:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)


def wait_for(condition, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while not condition() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)


def position(path: Path):
    return torch.load(path, weights_only=False).get('position')


def assert_equal_weights(run: Path, reference) -> None:
    ckpt = torch.load(run / 'last.pt', weights_only=False)
    assert ckpt['epoch'] == 2 and ckpt['position'] is None   # an end-of-epoch checkpoint
    state = ckpt['state_dict']
    assert state.keys() == reference.keys()
    for key in state:
        assert torch.equal(state[key], reference[key]), key


def test_sigterm_inside_an_epoch_resumes_exactly(data_dir, reference, tmp_path):  # noqa: F811
    args = cli_args(data_dir, tmp_path, 'preempted', *LONG_EPOCHS)
    run = tmp_path / 'preempted'
    proc = start(args, tmp_path)
    wait_for(lambda: (run / 'log.txt').exists() and 'epoch 1/2' in
             (run / 'log.txt').read_text(), proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 75, (tmp_path / 'stderr.txt').read_text()
    done = position(run / 'last.pt')
    assert done is not None and 1 <= done['step'] <= 16
    line = (f"preempted (SIGTERM) at epoch 2, step {done['step']}: checkpoint written; "
            f'continue with --resume {run}')
    assert line in (run / 'log.txt').read_text()
    assert line in (tmp_path / 'stdout.txt').read_text()

    resumed = run_cli(args + ['--resume'])
    assert resumed.returncode == 0, resumed.stderr
    assert f"after epoch 1, at step {done['step']} of epoch 2" in resumed.stdout
    assert_equal_weights(run, reference)


def test_checkpoint_every_then_sigkill_resumes_exactly(data_dir, reference,  # noqa: F811
                                                      tmp_path):
    args = cli_args(data_dir, tmp_path, 'killed', *LONG_EPOCHS, 'train.checkpoint_every=2')
    run = tmp_path / 'killed'
    proc = start(args, tmp_path)
    wait_for((run / 'last.pt').exists, proc)
    proc.kill()
    proc.wait()
    ckpt = torch.load(run / 'last.pt', weights_only=False)
    # the first last.pt is written after step 2 of epoch 1; 14 steps before the epoch's end
    assert ckpt['epoch'] == 0 and ckpt['position']['step'] % 2 == 0
    assert len(ckpt['position']['step_losses']) == ckpt['position']['step']

    resumed = run_cli(args + ['--resume'])
    assert resumed.returncode == 0, resumed.stderr
    assert f"at step {ckpt['position']['step']} of epoch 1" in resumed.stdout
    assert_equal_weights(run, reference)
