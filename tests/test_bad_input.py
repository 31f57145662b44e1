"""Bad input wherever a user types, run as a user would: each is refused before any work with
exit status 2 and one line on stderr (what, where, what is allowed), never a traceback."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pyg_mstgcn.data import make_synthetic
from pyg_mstgcn.io import data_path
from pyg_mstgcn.train.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-m', *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, timeout=300)


def assert_refused(proc, *words):
    """Exit status 2, exactly one line on stderr, naming :obj:`words`, no traceback."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith('error: '), proc.stderr
    assert 'Traceback' not in proc.stderr + proc.stdout
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp('data'), num_train=32, num_val=16, frames=16)


@pytest.fixture(scope='module')
def weights(data_dir, tmp_path_factory):
    """best.pt of a one-epoch tiny run (8 classes)."""
    out = tmp_path_factory.mktemp('runs')
    proc = run('pyg_mstgcn.train', '-c', 'tiny', '--set', f'data.root={data_dir}',
               'data.synthetic=null', 'train.epochs=1', f'output.dir={out}', 'output.name=t')
    assert proc.returncode == 0, proc.stderr
    return out / 't' / 'best.pt'


def train(data_dir, tmp_path, *overrides):
    return run('pyg_mstgcn.train', '-c', 'tiny', '--set', f'data.root={data_dir}',
               'data.synthetic=null', f'output.dir={tmp_path}', 'output.name=bad', *overrides)


@pytest.mark.parametrize('override,words', [
    ('optim.lr=fast', ('optim.lr', 'a positive number', "'fast'", '--set optim.lr=fast')),
    ('optim.lr=-1', ('optim.lr', 'a positive number', '-1')),
    ('model.num_classes=-3', ('model.num_classes', 'positive integer', '-3')),
    ('data.num_workers=-1', ('data.num_workers', 'non-negative integer')),
])
def test_bad_config_values(data_dir, tmp_path, override, words):
    assert_refused(train(data_dir, tmp_path, override), *words)
    assert not (tmp_path / 'bad').exists()


@pytest.mark.parametrize('override,words', [
    ('data.batch_size=0', ('data.batch_size', 'positive integer')),
    ('data.stream=bones', ('data.stream', "'bone'")),
    ('train.device=tpu', ('train.device', "'cuda:N'")),
    ('train.label_smoothing=1', ('train.label_smoothing', '[0, 1)')),
    ('schedule.steps=[a]', ('schedule.steps', 'list of non-negative numbers')),
    ('optim.nesterov=maybe', ('optim.nesterov', 'true or false')),
    ('model.block_type=msx', ('model.block_type', "'ms_bottle'")),
    ('model.kernel_size=4', ('model.kernel_size', 'odd')),
    ('model.attentoin=stcja', ('attentoin', "did you mean 'attention'")),
    ('data.train_transforms=[{name: random_spin}]', ('random_spin', 'random_rotation')),
    ('optim.lrr=0.1', ("'optim.lrr'", "did you mean 'lr'")),
    ('optim.lr', ('KEY=VALUE', )),
])
def test_more_bad_config_values(data_dir, tmp_path, capsys, override, words):
    """As above, through the same main() in this process (a subprocess each costs seconds)."""
    status = main(['-c', 'tiny', '--set', f'data.root={data_dir}', 'data.synthetic=null',
                   f'output.dir={tmp_path}', 'output.name=bad', override])
    captured = capsys.readouterr()
    assert_refused(subprocess.CompletedProcess([], status, captured.out, captured.err), *words)
    assert not (tmp_path / 'bad').exists()


def test_unknown_recipe_and_resume_without_run(tmp_path):
    assert_refused(run('pyg_mstgcn.train', '-c', 'ntu60_xsub_jiont'), "'ntu60_xsub_joint'")
    assert_refused(run('pyg_mstgcn.train', '--resume', tmp_path / 'nothing'), 'last.pt')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('optim: {lr: [unclosed\n')
    assert_refused(run('pyg_mstgcn.train', '-c', bad), 'not valid YAML')


def test_arrays_with_axes_in_another_order(data_dir, tmp_path):
    folder = tmp_path / 'swapped'
    folder.mkdir()
    for split in ('train', 'val'):
        x = np.load(data_path(data_dir, split))
        np.save(data_path(folder, split), x.transpose(0, 2, 1, 3, 4))   # [N, T, C, V, M]
        for name in (f'{split}_label.pkl', f'{split}_num_frames.npy'):
            (folder / name).write_bytes((data_dir / name).read_bytes())
    line = assert_refused(train(folder, tmp_path), '[N, T, C, V, M]',
                          'np.transpose(x, (0, 2, 1, 3, 4))')
    assert 'train_data_joint.npy' in line
    assert not (tmp_path / 'bad').exists()


def test_data_that_does_not_fit_the_model(data_dir, tmp_path):
    assert_refused(train(data_dir, tmp_path, 'model.num_classes=5'), 'num_classes=5',
                   'labels', 'model.num_classes=8')
    assert_refused(train(data_dir, tmp_path, 'model.in_channels=2',
                         'model.blocks=[[2,8,false,1]]'), 'in_channels=2', '3 values per joint')


def test_weights_of_another_class_count_or_architecture(data_dir, weights, tmp_path):
    ten = make_synthetic(tmp_path / 'ten', num_train=16, num_val=10, num_classes=10, frames=16)
    line = assert_refused(run('pyg_mstgcn.train', '--phase', 'test', '-c', 'tiny', '--set',
                              f'data.root={ten}', 'data.synthetic=null', f'output.dir={tmp_path}',
                              '--weights', weights), 'num_classes=8', str(weights),
                          '10 classes')
    assert 'model section' not in line   # the checkpoint's config is the cause, not ours
    # a bare state dict of another network, evaluated with the recipe's model
    state = torch.load(weights, weights_only=False)['state_dict']
    state['fc.weight'] = torch.zeros(5, state['fc.weight'].size(1))
    del state[next(k for k in state if k.startswith('blocks.1.'))]
    torch.save(state, tmp_path / 'other.pt')
    line = assert_refused(run('pyg_mstgcn.train', '--phase', 'test', '-c', 'tiny', '--set',
                              f'data.root={data_dir}', 'data.synthetic=null',
                              f'output.dir={tmp_path}', '--weights', tmp_path / 'other.pt'),
                          'do not fit', 'fc.weight [5, 8] in the weights, [8, 8] in the model')
    assert len(line) < 400
    assert_refused(run('pyg_mstgcn.train', '--phase', 'test', '-c', 'tiny', '--weights',
                       data_path(data_dir, 'val')), 'a NumPy array (.npy)')
    assert list(tmp_path.glob('*-test-*')) == []   # nothing half-made left behind


def test_ensemble_given_an_array_or_a_checkpoint(data_dir, weights, tmp_path):
    labels = data_dir / 'val_label.pkl'
    for wrong, kind in ((data_path(data_dir, 'val'), 'a NumPy array (.npy)'),
                        (weights, 'a PyTorch checkpoint')):
        assert_refused(run('pyg_mstgcn.ensemble', '--scores', wrong, '--labels', labels),
                       str(wrong), kind, 'scores.pkl')
    assert_refused(run('pyg_mstgcn.ensemble', '--scores', labels, '--labels', weights),
                   'label file')


def test_convert_given_one_of_our_checkpoints(weights, tmp_path):
    config = tmp_path / 'original.yaml'
    config.write_text('model_args: {num_class: 60, num_point: 25, num_person: 2, '
                      'graph: graph.ntu_rgb_d.Graph, block_args: [[3, 8, false, 1]]}\n')
    line = assert_refused(run('pyg_mstgcn.convert', '--config', config, '--checkpoint', weights,
                              '--out', tmp_path / 'out.pt'), 'already a pyg_mstgcn checkpoint')
    assert len(line) < 400 and not (tmp_path / 'out.pt').exists()
    # an original-style state dict of another network: the key lists are capped
    state = {f'layers.{i}.mystery.{j}': torch.zeros(1) for i in range(50) for j in range(20)}
    torch.save(state, tmp_path / 'other.pt')
    line = assert_refused(run('pyg_mstgcn.convert', '--config', config, '--checkpoint',
                              tmp_path / 'other.pt', '--out', tmp_path / 'out.pt'),
                          'unknown key(s)', 'and 995 more')
    assert len(line) < 1500
    assert_refused(run('pyg_mstgcn.convert', '--config', tmp_path / 'none.yaml', '--checkpoint',
                       weights, '--out', tmp_path / 'out.pt'), 'does not exist')


def test_workers_above_the_cpu_count_are_lowered(data_dir, tmp_path):
    proc = train(data_dir, tmp_path, 'train.epochs=1', 'data.num_workers=512')
    assert proc.returncode == 0, proc.stderr
    assert 'data.num_workers 512 lowered to the' in proc.stdout
