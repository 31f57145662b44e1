"""Fine-tuning as a user runs it: ``python -m pyg_mstgcn.train`` with ``train.init_weights``
and ``train.freeze``, from a one-epoch run on 8 synthetic classes to 4 (a replaced
classifier) or to 8 again (every tensor kept); and the errors, one line each."""
import os
import shutil
import subprocess
import sys

import pytest
import torch

from pyg_mstgcn.config_files import ConfigError
from pyg_mstgcn.data import make_synthetic
from pyg_mstgcn.models import build_model
from pyg_mstgcn.train.finetune import freeze, init_from, train_mode
from pyg_mstgcn.train.runtime import seed_everything

from test_train import ROOT, TINY, run_cli

SAMPLES = dict(num_train=32, num_val=16, frames=16)   # two steps of 16 per epoch


def args(data_dir, out, name, *extra):
    return [sys.executable, '-m', 'pyg_mstgcn.train', '--config', str(TINY), '--set',
            f'data.root={data_dir}', 'data.synthetic=null', f'output.dir={out}',
            f'output.name={name}', 'train.epochs=1', *extra]


def load(path):
    return torch.load(path, weights_only=False)


def backbone(state):
    return {k: v for k, v in state.items() if not k.startswith('fc.')}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('finetune_data')
    return {n: make_synthetic(root / f'c{n}', num_classes=n, **SAMPLES) for n in (8, 4)}


@pytest.fixture(scope='module')
def source(data, tmp_path_factory):
    """best.pt of one epoch on 8 classes."""
    out = tmp_path_factory.mktemp('finetune_runs')
    proc = run_cli(args(data[8], out, 'source'))
    assert proc.returncode == 0, proc.stderr
    return out / 'source' / 'best.pt'


def test_linear_probe_on_four_classes(source, data, tmp_path):
    names = ['sit', 'stand', 'jump', 'fall']
    (tmp_path / 'names.txt').write_text('\n'.join(names) + '\n')
    proc = run_cli(args(data[4], tmp_path, 'probe', f'train.init_weights={source}',
                        'model.num_classes=4', 'train.freeze=backbone',
                        f'data.class_names={tmp_path / "names.txt"}'))
    assert proc.returncode == 0, proc.stderr
    assert f'init_weights: {source} (epoch 1); classifier replaced: 8 -> 4 classes' \
        in proc.stdout
    assert 'freeze: 31 of 33 parameter tensors' in proc.stdout
    best = load(tmp_path / 'probe' / 'best.pt')
    assert best['model_config']['num_classes'] == 4 and best['class_names'] == names
    assert best['state_dict']['fc.weight'].shape == (4, 8)
    # the backbone is the source's, bit for bit, batch-norm statistics included
    before = backbone(load(source)['state_dict'])
    after = backbone(best['state_dict'])
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key
    # the classifier started fresh (the run's seed) and was trained, alone
    seed_everything(0)
    fresh = build_model(best['model_config'])
    assert not torch.equal(fresh.fc.weight, best['state_dict']['fc.weight'])
    last = load(tmp_path / 'probe' / 'last.pt')
    assert len(last['optimizer']['param_groups'][0]['params']) == 2


def test_kept_classifier_patterns_and_resume(source, data, tmp_path):
    # data without class names: the run records those of the checkpoint it starts from
    unnamed = shutil.copytree(data[8], tmp_path / 'unnamed')
    (unnamed / 'class_names.txt').unlink()
    run = args(unnamed, tmp_path, 'kept', f'train.init_weights={source}',
               "train.freeze=['data_bn.*', 'blocks.0.*']")
    proc = run_cli(run)
    assert proc.returncode == 0, proc.stderr
    assert 'every tensor loaded, the classifier included' in proc.stdout
    assert 'freeze: 11 of 33 parameter tensors' in proc.stdout
    source_ckpt = load(source)
    kept = load(tmp_path / 'kept' / 'last.pt')
    assert kept['class_names'] == source_ckpt['class_names'] is not None

    def check(state):
        for key, value in source_ckpt['state_dict'].items():
            fixed = key.startswith(('data_bn.', 'blocks.0.')) or key.endswith('adjacency.A')
            assert torch.equal(value, state[key]) == fixed, key
    check(kept['state_dict'])
    # resumed: last.pt wins over init_weights, the same parameters stay fixed
    proc = run_cli(run + ['train.epochs=2', '--resume'])
    assert proc.returncode == 0, proc.stderr
    assert 'init_weights: not applied' in proc.stdout and 'freeze: 11 of 33' in proc.stdout
    resumed = load(tmp_path / 'kept' / 'last.pt')
    assert resumed['epoch'] == 2 and resumed['class_names'] == kept['class_names']
    check(resumed['state_dict'])


def test_converted_original_checkpoint(source, data, tmp_path):
    ckpt = load(source)
    converted = tmp_path / 'converted.pt'
    torch.save({'model_config': ckpt['model_config'], 'state_dict': ckpt['state_dict']},
               converted)
    proc = run_cli(args(data[4], tmp_path, 'conv', f'train.init_weights={converted}',
                        'model.num_classes=4'))
    assert proc.returncode == 0, proc.stderr
    assert f'init_weights: {converted}; classifier replaced: 8 -> 4 classes' in proc.stdout
    assert load(tmp_path / 'conv' / 'best.pt')['model_config']['num_classes'] == 4


def test_errors_are_one_line(source, data, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    runs = {
        'arch': args(data[4], tmp_path, 'arch', f'train.init_weights={source}',
                     'model.num_classes=4', 'model.blocks=[[3,8,false,1]]'),
        'pattern': args(data[4], tmp_path, 'pattern', "train.freeze=['layers.0.*']"),
    }
    procs = {k: subprocess.Popen(a, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for k, a in runs.items()}
    err = {k: p.communicate(timeout=300)[1] for k, p in procs.items()}
    for key, proc in procs.items():
        assert proc.returncode == 2, err[key]
        assert err[key].count('\n') == 1 and 'Traceback' not in err[key]
        assert not (tmp_path / key).exists()
    assert 'train.init_weights' in err['arch'] and 'blocks.1.' in err['arch']
    assert 'differs in blocks' in err['arch']
    assert "'layers.0.*'" in err['pattern'] and 'blocks.0.*' in err['pattern']


def tiny_model(num_classes=8):
    return build_model({'num_classes': num_classes, 'blocks': [[3, 8, False, 1],
                                                               [8, 8, True, 1]]})


def test_init_from_errors(tmp_path):
    model = tiny_model()
    with pytest.raises(ConfigError, match=r'train.init_weights .*nope.pt \(set in X\): no such'):
        init_from(model, tmp_path / 'nope.pt', 'X')
    original = {'layers.0.msgcn.conv.weight': torch.zeros(1)}
    torch.save({'state_dict': original}, tmp_path / 'original.pt')
    with pytest.raises(ConfigError, match='pyg_mstgcn.convert'):
        init_from(model, tmp_path / 'original.pt', 'X')
    # a bare state dict of another class count: the classifier is replaced, the rest loaded
    other = tiny_model(5)
    torch.save(other.state_dict(), tmp_path / 'bare.pt')
    start = init_from(model, tmp_path / 'bare.pt', 'X')
    assert start.replaced and 'classifier replaced: 5 -> 8 classes' in start.note
    assert torch.equal(model.blocks[1].temporal.scales[0][0].weight,
                       other.blocks[1].temporal.scales[0][0].weight)


def test_freeze_and_train_mode():
    model = tiny_model()
    with pytest.raises(ConfigError, match='nothing would be trained'):
        freeze(model, ['*'], 'X')
    assert all(p.requires_grad for p in model.parameters())
    fixed = freeze(model, ['data_bn.*', 'blocks.0.*'], 'X')
    assert fixed[:2] == ['data_bn.weight', 'data_bn.bias']
    train_mode(model)
    assert not model.data_bn.training and not model.blocks[0].spatial.bn.training
    assert model.training and model.blocks[1].spatial.bn_in.training and model.fc.training
