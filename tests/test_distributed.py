"""Distributed training on CPU: ``torchrun --nproc_per_node=2`` (gloo) on the tiny config
gives the losses and weights of one process with the same global batch, and the distributed
evaluation counts every validation sample once."""
import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from pyg_mstgcn.data import make_synthetic
from pyg_mstgcn.train.distributed import ShardSampler
from pyg_mstgcn.train.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / 'configs' / 'train' / 'tiny.yaml'
NUM_VAL = 31        # odd: the two processes' evaluation shares differ in size

gloo = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                          reason='torch.distributed with gloo is not available')


def train_args(data_dir, out, name):
    return ['-m', 'pyg_mstgcn.train', '--config', str(TINY), '--set', f'data.root={data_dir}',
            'data.synthetic=null', f'output.dir={out}', f'output.name={name}',
            'train.epochs=2', 'data.batch_size=16', 'data.val_batch_size=8',
            'train.device=cpu', 'train.threads=1', 'data.num_workers=0']


def step_losses(run):
    """Each epoch's step losses, as the run's log.txt lists them."""
    return [[float(x) for x in line.split(': ')[-1].split()]
            for line in (run / 'log.txt').read_text().splitlines() if ' step losses: ' in line]


@gloo
def test_torchrun_two_processes_equal_one_process(tmp_path):
    data_dir = make_synthetic(tmp_path / 'data', num_train=64, num_val=NUM_VAL, frames=16)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    single = subprocess.Popen([sys.executable, *train_args(data_dir, tmp_path, 'single')],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    ddp = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone',
                          '--nproc_per_node=2', *train_args(data_dir, tmp_path, 'ddp')],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    single_out = single.communicate(timeout=300)[0]
    assert single.returncode == 0, single_out
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    assert 'x 2 processes' in ddp.stdout

    one = torch.load(tmp_path / 'single' / 'last.pt', weights_only=False)
    two = torch.load(tmp_path / 'ddp' / 'last.pt', weights_only=False)
    # the same losses at every step (4 steps of 16 per epoch, 2 epochs), from log.txt
    losses = [step_losses(tmp_path / run) for run in ('single', 'ddp')]
    assert [len(epoch) for epoch in losses[0]] == [len(epoch) for epoch in losses[1]] == [4, 4]
    for a, b in zip(*losses):
        assert max(abs(x - y) for x, y in zip(a, b)) < 1e-4, (a, b)
    assert len(one['history']) == len(two['history']) == 2
    for a, b in zip(one['history'], two['history']):
        assert b['train_loss'] == pytest.approx(a['train_loss'], abs=1e-4)
        # every validation sample evaluated exactly once
        assert a['val']['num_samples'] == b['val']['num_samples'] == NUM_VAL
        assert b['val']['loss'] == pytest.approx(a['val']['loss'], abs=1e-4)
    # the same weights and batch-norm statistics
    assert one['state_dict'].keys() == two['state_dict'].keys()
    for key, value in one['state_dict'].items():
        other = two['state_dict'][key]
        if value.is_floating_point():
            assert torch.allclose(value, other, rtol=0, atol=1e-4), \
                (key, (value - other).abs().max())
        else:
            assert torch.equal(value, other), key


def test_shard_sampler_batches_are_the_global_batches():
    n, batch, world = 70, 16, 2
    single = list(ShardSampler(n, 0, 1, shuffle=True, seed=5, batch_size=batch))
    assert len(single) == 64 and len(set(single)) == 64
    shards = [list(ShardSampler(n, r, world, shuffle=True, seed=5, batch_size=batch))
              for r in range(world)]
    per = batch // world
    for k in range(len(single) // batch):
        union = sorted(i for s in shards for i in s[k * per:(k + 1) * per])
        assert union == sorted(single[k * batch:(k + 1) * batch])
    # evaluation: disjoint shares, no padding, each sample once
    shares = [list(ShardSampler(31, r, world)) for r in range(world)]
    assert sorted(shares[0] + shares[1]) == list(range(31))


def test_sync_batchnorm_single_process_is_batchnorm():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 1), torch.nn.BatchNorm1d(4),
                                torch.nn.BatchNorm1d(4, momentum=None))
    converted = convert_sync_batchnorm(copy.deepcopy(model))
    assert isinstance(converted[1], SyncBatchNorm) and isinstance(converted[2], SyncBatchNorm)
    x = torch.randn(6, 3, 5)
    for _ in range(2):
        assert torch.allclose(model(x), converted(x), atol=1e-6)
    for a, b in zip(model.state_dict().values(), converted.state_dict().values()):
        assert torch.allclose(a.double(), b.double())
    model.eval(), converted.eval()
    assert torch.allclose(model(x), converted(x), atol=1e-6)


def _sync_bn_worker(rank, world, init_file, shapes, out):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    results = []
    try:
        torch.manual_seed(0)
        for shape in shapes:
            for momentum in (0.1, None):
                x = torch.randn(shape).mul_(3).add_(2)
                proj = torch.randn(shape)
                bn = SyncBatchNorm(shape[1], momentum=momentum)
                with torch.no_grad():
                    bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-1, 1)
                share = x.chunk(world)[rank].clone().requires_grad_(True)
                for _ in range(2):
                    share.grad = None
                    bn.zero_grad()
                    # this process's loss: a mean over its share, as in training
                    loss = (bn(share) * proj.chunk(world)[rank]).flatten(1).sum(1).mean()
                    loss.backward()
                grads = torch.cat([bn.weight.grad, bn.bias.grad])
                dist.all_reduce(grads)
                grads /= world          # DDP's average
                xgrad = [torch.empty_like(share) for _ in range(world)]
                dist.all_gather(xgrad, share.grad / world)
                results.append((shape, momentum, grads, torch.cat(xgrad),
                                bn.running_mean.clone(), bn.running_var.clone()))
        if rank == 0:
            torch.save(results, out)
    finally:
        dist.destroy_process_group()


@gloo
def test_sync_batchnorm_two_processes_equal_global_batch(tmp_path):
    import torch.multiprocessing as mp
    shapes = [(8, 3, 5), (6, 4)]
    mp.start_processes(_sync_bn_worker, args=(2, str(tmp_path / 'store'), shapes,
                                              str(tmp_path / 'results.pt')),
                       nprocs=2, start_method='spawn')
    results = iter(torch.load(tmp_path / 'results.pt', weights_only=False))
    torch.manual_seed(0)
    for shape in shapes:
        for momentum in (0.1, None):
            x = torch.randn(shape).mul_(3).add_(2)
            proj = torch.randn(shape)
            bn = torch.nn.BatchNorm1d(shape[1], momentum=momentum)
            with torch.no_grad():
                bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-1, 1)
            x.requires_grad_(True)
            for _ in range(2):
                x.grad = None
                bn.zero_grad()
                (bn(x) * proj).flatten(1).sum(1).mean().backward()
            got_shape, got_momentum, grads, xgrad, mean, var = next(results)
            assert (got_shape, got_momentum) == (shape, momentum)
            assert torch.allclose(grads, torch.cat([bn.weight.grad, bn.bias.grad]), atol=1e-5)
            assert torch.allclose(xgrad, x.grad, atol=1e-6)
            assert torch.allclose(mean, bn.running_mean, atol=1e-6)
            assert torch.allclose(var, bn.running_var, atol=1e-5)
