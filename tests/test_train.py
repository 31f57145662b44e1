"""The trainer as a user runs it: ``python -m pyg_mstgcn.train`` in a subprocess, on a tiny
synthetic dataset with configs/train/tiny.yaml."""
import json
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import skip_without_compiler
from pyg_mstgcn.data import make_synthetic
from pyg_mstgcn.train.config import ConfigError, parse_override, resolve
from pyg_mstgcn.train.loop import lr_factor
from pyg_mstgcn.train.metrics import classification_metrics

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / 'configs' / 'train' / 'tiny.yaml'


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp('data'), num_train=64, num_val=32, frames=16)


def cli_args(data_dir, out, name, *extra):
    return [sys.executable, '-m', 'pyg_mstgcn.train', '--config', str(TINY), '--set',
            f'data.root={data_dir}', 'data.synthetic=null', f'output.dir={out}',
            f'output.name={name}', *extra]


def run_cli(args, **kw):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300, **kw)


@pytest.fixture(scope='module')
def trained(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('runs')
    proc = run_cli(cli_args(data_dir, out, 'full'))
    assert proc.returncode == 0, proc.stderr
    return out / 'full', proc


def test_cli_run_folder(trained):
    run, proc = trained
    for name in ('config.yaml', 'log.txt', 'last.pt', 'best.pt', 'results.json'):
        assert (run / name).exists(), name
    assert list(run.glob('events.out.tfevents.*'))
    results = json.loads((run / 'results.json').read_text())
    for key in ('top1', 'top5', 'best_top1', 'best_epoch', 'mean_class_accuracy', 'epochs',
                'samples_per_second'):
        assert key in results, key
    assert results['epochs'] == 3 and 0 <= results['top1'] <= 1
    assert results['top5'] >= results['top1'] and results['samples_per_second'] > 0
    resolved = resolve(run / 'config.yaml')   # the resolved config is a valid config
    assert resolved['train']['epochs'] == 3 and resolved['data']['synthetic'] is None
    assert 'epoch 3/3' in proc.stdout and str(run) in proc.stdout
    ckpt = torch.load(run / 'last.pt', weights_only=False)
    assert ckpt['epoch'] == 3 and {'optimizer', 'scheduler', 'rng', 'model_config'} <= set(ckpt)


def test_resume_after_sigkill_equals_uninterrupted(trained, data_dir, tmp_path):
    reference = torch.load(trained[0] / 'last.pt', weights_only=False)['state_dict']
    args = cli_args(data_dir, tmp_path, 'killed', '--set', 'train.epochs=3')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = tmp_path / 'killed' / 'last.pt'
    deadline = time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert last.exists()
    epoch = torch.load(last, weights_only=False)["epoch"]
    assert epoch < 3, "the run finished before it was killed"
    resumed = run_cli(args + ['--resume'])
    assert resumed.returncode == 0, resumed.stderr
    assert f'after epoch {epoch}' in resumed.stdout
    state = torch.load(last, weights_only=False)['state_dict']
    assert state.keys() == reference.keys()
    for key in state:
        assert torch.equal(state[key], reference[key]), key


def test_unknown_key_fails_before_training(data_dir, tmp_path):
    proc = run_cli(cli_args(data_dir, tmp_path, 'bad', 'optim.lrr=0.1'))
    assert proc.returncode != 0
    assert "'optim.lrr'" in proc.stderr and "did you mean 'lr'" in proc.stderr
    assert not (tmp_path / 'bad').exists()
    proc = run_cli(cli_args(data_dir, tmp_path, 'bad', 'model.num_blocks=3'))
    assert proc.returncode != 0 and 'num_blocks' in proc.stderr
    assert not (tmp_path / 'bad').exists()


def test_missing_data_file_named(data_dir, tmp_path):
    proc = run_cli(cli_args(data_dir, tmp_path, 'bad', 'data.val_split=test'))
    assert proc.returncode != 0
    assert 'test_data_joint.npy' in proc.stderr and 'Traceback' not in proc.stderr
    assert not (tmp_path / 'bad').exists()


def test_nan_loss_stops_and_keeps_checkpoint(data_dir, tmp_path):
    # epoch 1 trains normally, then the learning rate jumps to 1e30
    proc = run_cli(cli_args(data_dir, tmp_path, 'nan', 'schedule.steps=[1]',
                            'schedule.gamma=1e31', 'schedule.warmup_epochs=0'))
    assert proc.returncode == 3, proc.stderr
    assert 'training loss is' in proc.stderr and 'last good checkpoint' in proc.stderr
    ckpt = torch.load(tmp_path / 'nan' / 'last.pt', weights_only=False)
    assert ckpt['epoch'] == 1
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values()
               if v.is_floating_point())


def test_nan_stop_when_the_loss_is_read_every_few_steps(data_dir, tmp_path):
    """train.check_interval (CUDA's default 20: no host synchronisation per step) still stops
    on the first non-finite step, naming it, the checkpoint the last good one."""
    messages = {}
    for interval in (1, 3):
        proc = run_cli(cli_args(data_dir, tmp_path, f'nan{interval}', 'schedule.steps=[1]',
                                'schedule.gamma=1e31', 'schedule.warmup_epochs=0',
                                f'train.check_interval={interval}'))
        assert proc.returncode == 3, proc.stderr
        messages[interval] = re.search(r'at epoch \d+, iteration \d+', proc.stderr).group()
        ckpt = torch.load(tmp_path / f'nan{interval}' / 'last.pt', weights_only=False)
        assert ckpt['epoch'] == 1
    assert messages[1] == messages[3]


def test_test_phase_outputs(trained, data_dir, tmp_path):
    weights = trained[0] / 'best.pt'
    proc = run_cli(cli_args(data_dir, tmp_path, 'test', '--phase', 'test', '--weights',
                            str(weights)))
    assert proc.returncode == 0, proc.stderr
    runs = list(tmp_path.glob('test-test-*'))   # a folder of its own, never a training run's
    assert len(runs) == 1 and f'outputs: {runs[0]}/' in proc.stdout
    run = runs[0]
    with open(run / 'scores.pkl', 'rb') as f:
        scores = pickle.load(f)
    with open(data_dir / 'val_label.pkl', 'rb') as f:
        names, labels = pickle.load(f)
    assert set(scores) == set(names) and scores[names[0]].shape == (8, )
    metrics = json.loads((run / 'metrics.json').read_text())
    pred = np.array([scores[n].argmax() for n in names])
    assert metrics['top1'] == pytest.approx((pred == np.array(labels)).mean())
    assert len(metrics['per_class_accuracy']) == 8
    for figure in ('confusion.png', 'per_class_accuracy.png'):
        assert (run / figure).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert metrics['class_names'][:2] == ['wave_right', 'wave_left']
    # the last lines name the figures' commands
    assert f'visualize evaluation {run} ' in proc.stdout
    assert f'visualize adjacency --weights {weights} ' in proc.stdout
    rows = (run / 'confusion.csv').read_text().strip().splitlines()
    assert len(rows) == 9 and sum(int(v) for r in rows[1:] for v in r.split(',')[1:]) == 32
    assert rows[0].split(',')[1:3] == ['wave_right', 'wave_left']   # the data's class names
    # a converted-style checkpoint {'model_config', 'state_dict'} evaluates the same
    ckpt = torch.load(weights, weights_only=False)
    torch.save({'model_config': ckpt['model_config'], 'state_dict': ckpt['state_dict']},
               tmp_path / 'converted.pt')
    proc = run_cli(cli_args(data_dir, tmp_path, 'test2', '--phase', 'test', '--weights',
                            str(tmp_path / 'converted.pt')))
    assert proc.returncode == 0, proc.stderr
    second = next(tmp_path.glob('test2-test-*'))
    assert json.loads((second / 'metrics.json').read_text())['top1'] == metrics['top1']


def test_overrides_and_errors():
    assert parse_override('schedule.steps=[1,2]') == {'schedule': {'steps': [1, 2]}}
    config = resolve(TINY, ['optim.lr=0.5', 'train.amp=null'])
    assert config['optim']['lr'] == 0.5 and config['model']['num_classes'] == 8
    with pytest.raises(ConfigError, match="'train.epoch'"):
        resolve(TINY, ['train.epoch=3'])
    with pytest.raises(ConfigError, match='KEY=VALUE'):
        resolve(TINY, ['train.epochs'])


def test_lr_schedule():
    sched = {'name': 'multistep', 'warmup_epochs': 2, 'steps': [4, 6], 'gamma': 0.1,
             'min_lr': 0.0}
    f = [lr_factor(e * 10, 10, sched, 8, 0.1) for e in range(8)]
    assert f[0] == pytest.approx(0.05) and f[2:4] == [1, 1]
    assert f[4] == pytest.approx(0.1) and f[6] == pytest.approx(0.01)
    cos = dict(sched, name='cosine', warmup_epochs=0)
    assert lr_factor(0, 10, cos, 8, 0.1) == 1 and lr_factor(80, 10, cos, 8, 0.1) == 0


def test_metrics():
    scores = np.array([[3, 1, 0], [0, 2, 1], [0, 3, 1], [1, 0, 2]], dtype=float)
    m = classification_metrics(scores, np.array([0, 1, 2, 2]))
    assert m['top1'] == 0.75 and m['confusion'] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert m['mean_class_accuracy'] == pytest.approx((1 + 1 + 0.5) / 3)


def test_synthetic_never_overwrites_real_data(tmp_path):
    from pyg_mstgcn.train.data import prepare_data
    from pyg_mstgcn.train.distributed import DistInfo
    np.save(tmp_path / 'train_data_joint.npy', np.zeros((1, 3, 8, 25, 2), np.float32))
    config = resolve(TINY, [f'data.root={tmp_path}'])
    with pytest.raises(ConfigError, match='data.synthetic=null'):
        prepare_data(config, DistInfo())


def test_learning_rate_scales_linearly_with_the_global_batch():
    """optim.reference_batch_size makes the learning rate follow data.batch_size."""
    from pyg_mstgcn.train.config import learning_rate
    config = {'optim': {'lr': 0.15, 'reference_batch_size': 32}, 'data': {'batch_size': 64}}
    assert learning_rate(config) == pytest.approx(0.3)
    config['optim']['reference_batch_size'] = None
    assert learning_rate(config) == pytest.approx(0.15)


def test_resume_reads_the_run_config(trained, tmp_path):
    """--resume RUN_DIR alone: the run's config.yaml, overrides on top logged."""
    import shutil
    run = tmp_path / 'more'
    shutil.copytree(trained[0], run)
    proc = run_cli([sys.executable, '-m', 'pyg_mstgcn.train', '--resume', str(run), '--set',
                    'train.epochs=4'])
    assert proc.returncode == 0, proc.stderr
    assert 'override on resume: train.epochs 3 -> 4' in proc.stdout
    assert 'resumed from' in proc.stdout and 'epoch 4/4' in proc.stdout
    assert torch.load(run / 'last.pt', weights_only=False)['epoch'] == 4
    assert resolve(run / 'config.yaml')['train']['epochs'] == 4   # the change is kept


def test_a_run_that_fails_early_leaves_no_folder(data_dir, tmp_path):
    # the loss is not finite at the first step: nothing worth keeping was written
    proc = run_cli(cli_args(data_dir, tmp_path, 'early', 'optim.lr=1e30',
                            'schedule.warmup_epochs=0'))
    assert proc.returncode == 3, proc.stderr
    assert 'no checkpoint was written yet' in proc.stderr
    assert not (tmp_path / 'early').exists()
    # what a killed early run left (no last.pt) is cleared, never appended to
    leftover = tmp_path / 'again'
    leftover.mkdir()
    (leftover / 'log.txt').write_text('an old run\n')
    (leftover / 'config.yaml').write_text('old: 1\n')
    proc = run_cli(cli_args(data_dir, tmp_path, 'again', 'train.epochs=1'))
    assert proc.returncode == 0, proc.stderr
    assert 'an old run' not in (leftover / 'log.txt').read_text()
    # a folder holding other files is refused
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.md').write_text('mine')
    proc = run_cli(cli_args(data_dir, tmp_path, 'mine', 'train.epochs=1'))
    assert proc.returncode == 2 and 'holds other files' in proc.stderr
    assert (tmp_path / 'mine' / 'notes.md').read_text() == 'mine'


def test_results_and_metrics_are_strict_json(tmp_path):
    from pyg_mstgcn.train.evaluation import write_json
    write_json(tmp_path / 'm.json', {'per_class_accuracy': [1.0, float('nan')], 'top1': 0.5,
                                     'loss': float('inf')})
    assert json.loads((tmp_path / 'm.json').read_text(),
                      parse_constant=lambda c: pytest.fail(f'{c} in strict JSON')) == \
        {'per_class_accuracy': [1.0, None], 'top1': 0.5, 'loss': None}


def test_trained_run_says_what_to_do_next(trained):
    run, proc = trained
    tail = proc.stdout.strip().splitlines()[-6:]
    assert tail[0] == 'next:'
    assert f'--phase test -c {run}/config.yaml --weights {run}/best.pt' in tail[1]
    assert f'tensorboard --logdir {run}' in tail[2]
    assert f'python -m pyg_mstgcn.visualize adjacency --weights {run}/best.pt' in tail[3]
    assert f'python -m pyg_mstgcn.predict --weights {run}/best.pt' in tail[4]
    # the checkpoints record the class names (here the synthetic data's class_names.txt)
    from pyg_mstgcn.data.synthetic import CLASSES
    for name in ('best.pt', 'last.pt'):
        assert torch.load(run / name, weights_only=False)['class_names'] == list(CLASSES[:8])
    config = resolve(run / 'config.yaml')
    assert config['output']['name'] == 'full' and config['model']['blocks'] == \
        [[3, 8, False, 1], [8, 8, True, 1]]


def _step_losses(run, epoch=1):
    """The step losses of :obj:`epoch` that log.txt records."""
    line = re.search(rf'epoch {epoch} step losses: (.*)', (run / 'log.txt').read_text())
    return [float(x) for x in line.group(1).split()]


def test_compiled_training_gives_the_eager_losses(device, trained, data_dir, tmp_path):
    """train.compile=true trains the torch.compile'd network: the same step losses as eager
    (the CPU's from the trained run, whose first epoch is the same), and checkpoints of the
    plain model. On CUDA, one eager epoch too (the trainer on CUDA) and one with CUDA graphs
    (train.cuda_graphs), which the CPU ignores with a warning."""
    skip_without_compiler()
    modes = {'compiled': ['train.compile=true', 'train.cuda_graphs=true']}
    if device.type == 'cuda':
        modes = {'eager': [], 'compiled': ['train.compile=true'],
                 'graphs': ['train.cuda_graphs=true']}
    losses = {}
    for mode, options in modes.items():
        proc = run_cli(cli_args(data_dir, tmp_path, mode, 'train.epochs=1',
                                f'train.device={device.type}', *options))
        assert proc.returncode == 0, proc.stderr
        losses[mode] = _step_losses(tmp_path / mode)
    if device.type == 'cpu':
        assert 'warning: train.cuda_graphs is ignored on cpu' in proc.stdout
    eager = losses.pop('eager', None) or _step_losses(trained[0])
    for mode, got in losses.items():
        assert got == pytest.approx(eager, abs=1e-4), mode
    state = torch.load(tmp_path / 'compiled' / 'last.pt', weights_only=False)['state_dict']
    assert state.keys() == torch.load(trained[0] / 'last.pt', weights_only=False)[
        'state_dict'].keys()
