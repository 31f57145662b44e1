"""Distributed training on CPU: ``torchrun --nproc_per_node=2`` (gloo) on the tiny config
gives the losses and weights of one process with the same global batch, two torchrun agents
joined by a c10d rendezvous (two "nodes" on localhost) give those of one node, a worker group
that torchrun restarts after a SIGKILL continues from the last checkpoint by itself to the
weights of an uninterrupted run, and the distributed evaluation counts every validation sample
once."""
import copy
import os
import signal
import socket
import subprocess
import sys
import time
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
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run']
ENV = dict(os.environ, OMP_NUM_THREADS='1')

gloo = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                          reason='torch.distributed with gloo is not available')


def train_args(data_dir, out, name, *extra):
    return ['-m', 'pyg_mstgcn.train', '--config', str(TINY), '--set', f'data.root={data_dir}',
            'data.synthetic=null', f'output.dir={out}', f'output.name={name}',
            'train.epochs=2', 'data.batch_size=16', 'data.val_batch_size=8',
            'train.device=cpu', 'train.threads=1', 'data.num_workers=0', *extra]


def step_losses(run):
    """Each epoch's step losses, as the run's log.txt lists them."""
    return [[float(x) for x in line.split(': ')[-1].split()]
            for line in (run / 'log.txt').read_text().splitlines() if ' step losses: ' in line]


def last(run):
    return torch.load(run / 'last.pt', weights_only=False)


def assert_same_weights(a, b, atol):
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        other = b['state_dict'][key]
        if value.is_floating_point() and atol:
            assert torch.allclose(value, other, rtol=0, atol=atol), \
                (key, (value - other).abs().max())
        else:
            assert torch.equal(value, other), key


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The tiny config trained in one process and, at the same time, by ``torchrun
    --nproc_per_node=2``: ``(data folder, output folder)``, runs ``single`` and ``ddp``."""
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip('torch.distributed with gloo is not available')
    out = tmp_path_factory.mktemp('distributed')
    data_dir = make_synthetic(out / 'data', num_train=64, num_val=NUM_VAL, frames=16)
    single = subprocess.Popen([sys.executable, *train_args(data_dir, out, 'single')],
                              cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    ddp = subprocess.run([*TORCHRUN, '--standalone', '--nproc_per_node=2',
                          *train_args(data_dir, out, 'ddp')],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    single_out = single.communicate(timeout=300)[0]
    assert single.returncode == 0, single_out
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    assert 'x 2 processes' in ddp.stdout
    return data_dir, out


@gloo
def test_torchrun_two_processes_equal_one_process(runs):
    out = runs[1]
    one, two = last(out / 'single'), last(out / 'ddp')
    # the same losses at every step (4 steps of 16 per epoch, 2 epochs), from log.txt
    losses = [step_losses(out / run) for run in ('single', 'ddp')]
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
    assert_same_weights(one, two, atol=1e-4)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@gloo
def test_two_agents_c10d_rendezvous_equal_one_node(runs):
    """``--nnodes=2`` with one process each, the agents meeting at a c10d rendezvous on
    localhost: the training of one node with two processes."""
    data_dir, out = runs
    port = free_port()
    agents = [subprocess.Popen([*TORCHRUN, '--nnodes=2', '--nproc_per_node=1',
                                '--rdzv-backend=c10d', f'--rdzv-endpoint=127.0.0.1:{port}',
                                '--rdzv-id=two-nodes', *train_args(data_dir, out, 'nodes')],
                               cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [agent.communicate(timeout=300)[0] for agent in agents]
    assert [agent.returncode for agent in agents] == [0, 0], logs
    assert sum('x 2 processes' in text for text in logs) == 1   # rank 0 on one of them
    for a, b in zip(step_losses(out / 'ddp'), step_losses(out / 'nodes')):
        assert len(a) == len(b) == 4
        assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-6, (a, b)
    assert_same_weights(last(out / 'ddp'), last(out / 'nodes'), atol=1e-6)


def worker_pids(agent_pid):
    """``{rank: pid}`` of the workers of a torchrun agent, from /proc."""
    pids = {}
    for child in Path(f'/proc/{agent_pid}/task/{agent_pid}/children').read_text().split():
        env = Path(f'/proc/{child}/environ').read_bytes().split(b'\0')
        rank = next(v for v in env if v.startswith(b'RANK='))
        pids[int(rank[5:])] = int(child)
    return pids


@gloo
@pytest.mark.skipif(not Path('/proc/self/task').is_dir(), reason='needs /proc (Linux)')
def test_elastic_restart_after_sigkill_continues_from_last_checkpoint(runs):
    """``torchrun --max-restarts=1`` without ``output.name`` (the folder must be found again)
    and without ``--resume``: one of the two workers is killed mid-epoch; the restarted group
    continues from the last checkpoint to the weights of the uninterrupted run."""
    data_dir, ddp_out = runs
    out = ddp_out / 'elastic'
    args = train_args(data_dir, out, 'x', 'train.checkpoint_every=1', 'output.name=null')
    agent = subprocess.Popen([*TORCHRUN, '--standalone', '--nproc_per_node=2',
                              '--max-restarts=1', *args], cwd=ROOT, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob('tiny-*/last.pt')):   # the first step's checkpoint
            assert agent.poll() is None and time.monotonic() < deadline, agent.stdout.read()
            time.sleep(0.005)
        os.kill(worker_pids(agent.pid)[1], signal.SIGKILL)
        text = agent.communicate(timeout=300)[0]
    finally:
        agent.kill()
    assert agent.returncode == 0, text
    (run,) = out.iterdir()          # one run folder, both attempts in it
    log_text = (run / 'log.txt').read_text()
    assert 'torchrun restart 1: continuing the run from its last checkpoint' in log_text
    assert 'resumed from' in log_text and ', at step' in log_text, log_text  # mid-epoch
    restarted, reference = last(run), last(ddp_out / 'ddp')
    assert [r['epoch'] for r in restarted['history']] == [1, 2]
    assert restarted['history'][-1]['val'] == reference['history'][-1]['val']
    assert_same_weights(restarted, reference, atol=0)


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
