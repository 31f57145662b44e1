"""Checkpoints that survive crashes, through ``python -m pyg_mstgcn.train`` as a user runs it:
``last.pt`` keeps its predecessor as ``last.prev.pt``, a damaged ``last.pt`` falls back to it
on ``--resume``, and ``last.pt`` does not grow with the number of steps."""
import shutil

import pytest
import torch

from test_train import TINY, cli_args, data_dir, run_cli  # noqa: F401 - data_dir: a fixture


def epoch_of(path):
    return torch.load(path, weights_only=False)['epoch']


@pytest.fixture(scope='module')
def two_epochs(data_dir, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp('runs')
    proc = run_cli(cli_args(data_dir, out, 'two', 'train.epochs=2'))
    assert proc.returncode == 0, proc.stderr
    return out / 'two'


def copy_run(run, tmp_path):
    return shutil.copytree(run, tmp_path / run.name)


def test_previous_checkpoint_is_kept(two_epochs):
    assert epoch_of(two_epochs / 'last.pt') == 2
    assert epoch_of(two_epochs / 'last.prev.pt') == 1
    assert not list(two_epochs.glob('*.tmp'))
    # each step's loss is in log.txt (4 steps of 16 an epoch), not in the checkpoint
    steps = [line for line in (two_epochs / 'log.txt').read_text().splitlines()
             if ' step losses: ' in line]
    assert [len(line.split(': ')[1].split()) for line in steps] == [4, 4]
    history = torch.load(two_epochs / 'last.pt', weights_only=False)['history']
    assert [r['epoch'] for r in history] == [1, 2]
    assert all(not isinstance(v, list) for r in history for v in r.values())


def test_truncated_last_resumes_from_previous(two_epochs, data_dir, tmp_path):  # noqa: F811
    run = copy_run(two_epochs, tmp_path)
    last, prev = run / 'last.pt', run / 'last.prev.pt'
    last.write_bytes(last.read_bytes()[:100])
    proc = run_cli(cli_args(data_dir, tmp_path, 'two', '--resume', '--set', 'train.epochs=3'))
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stdout.splitlines() if line.startswith('warning: ')]
    assert len(notes) == 1 and str(last) in notes[0] and str(prev) in notes[0], proc.stdout
    assert 'after epoch 1' in notes[0] and 'epoch 3/3' in proc.stdout
    assert epoch_of(last) == 3 and epoch_of(prev) == 2
    # the size does not grow with the steps: two more epochs (8 steps) add two small records
    grown = last.stat().st_size - (two_epochs / 'last.prev.pt').stat().st_size
    assert 0 <= grown < 1024, grown


def test_both_damaged_is_one_line_naming_both(two_epochs, data_dir, tmp_path):  # noqa: F811
    run = copy_run(two_epochs, tmp_path)
    (run / 'last.pt').write_bytes(b'')
    (run / 'last.prev.pt').write_bytes(b'not a checkpoint')
    proc = run_cli(cli_args(data_dir, tmp_path, 'two', '--resume', '--set', 'train.epochs=3'))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), proc.stderr
    assert str(run / 'last.pt') in lines[0] and str(run / 'last.prev.pt') in lines[0]
    assert 'Traceback' not in proc.stderr


def test_checkpoint_every_duration_writes_inside_the_epoch(data_dir, tmp_path,  # noqa: F811
                                                           monkeypatch):
    """``train.checkpoint_every`` as a duration: a checkpoint at the first step after the
    period since the last one (here shorter than any step: after every step but the epoch's
    last, which ends the epoch with its own checkpoint)."""
    from pyg_mstgcn.train import loop
    from pyg_mstgcn.train.config import resolve
    saved, save = [], loop.save_checkpoint
    monkeypatch.setattr(loop, 'save_checkpoint', lambda state, *args: (
        saved.append((state.epoch, state.position.step)), save(state, *args)))
    # in this process: no global settings (threads, deterministic algorithms) changed
    config = resolve(TINY, cli_args(data_dir, tmp_path, 'timed', 'train.epochs=2',
                                    'train.threads=null', 'train.deterministic=false',
                                    'train.checkpoint_every=0.000001min')[6:])
    try:
        loop.train(config)
    finally:
        for handler in loop.log.handlers:
            handler.close()
        loop.log.handlers.clear()
    # 4 steps an epoch; (epoch done, step inside the next epoch)
    assert saved == [(0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0)]


@pytest.mark.parametrize('value', ['30 days', '0min', 'soon', '-1h', '0', '1.5'])
def test_checkpoint_every_refuses_what_is_no_step_count_or_duration(value):
    from pyg_mstgcn.checks import duration_seconds
    from pyg_mstgcn.train.config import ConfigError, resolve
    with pytest.raises(ConfigError, match=r"train.checkpoint_every must be null or a positive "
                       r"integer or a duration such as '30min', '2h' or '90s' \(got "):
        resolve(TINY, [f'train.checkpoint_every={value}'])
    assert resolve(TINY, ['train.checkpoint_every=1.5h'])['train']['checkpoint_every'] == '1.5h'
    assert [duration_seconds(v) for v in ('90s', '2 sec', '30m', '30min', '1.5h')] == \
        [90, 2, 1800, 1800, 5400]
