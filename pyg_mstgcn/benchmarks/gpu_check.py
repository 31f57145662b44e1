"""GPU readiness check: what a person with a CUDA GPU runs from a checkout (after ``pip install
-e .[test]``; it installs nothing), in under ten minutes, to tell us how the code fares there.

Parts, each in a subprocess with its own time limit (a failure is recorded, never fatal), all
within --budget seconds (a part that no longer fits is recorded as skipped):

  tests      the tests parametrised over devices, on CUDA (``pytest -k cuda tests``): counts
  ddp        the trainer under torchrun (1 process, configs/train/tiny.yaml, synthetic data,
             one epoch); one DDP training step of that network over NCCL (1 process), eager
             and torch.compile'd (compiled inside DDP, as the trainer does)
  benchmark  the whole-model benchmark (pyg_mstgcn.benchmarks.model): fp32, bf16 and fp16;
             dense and sparse backends, eager (with the original network's einsum
             transcription as reference) and torch.compile'd; training samples/s and peak
             memory

One CSV (``gpu_check.csv``: a row per result, with the machine) and a summary
(``gpu_check_summary.txt``, also printed) go to --results-dir. The exit status is 1 when a
part failed. Without a CUDA device it says so and exits 0, writing nothing, unless --device
cpu --quick: the same plumbing on the CPU in smoke mode (tiny sizes, fp32 only, gloo instead
of NCCL, no CUDA tests, nothing compiled), to test this script."""
from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from pyg_mstgcn.benchmarks.model import PRECISIONS
from pyg_mstgcn.benchmarks.runner import add_output_args, machine, write_csv
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.io import write_text_atomic

#: Seconds each part may take at most (the budget left may cut them shorter).
LIMITS_S = {'tests': 240, 'trainer': 150, 'ddp step': 120, 'benchmark eager': 180,
            'benchmark compiled': 150}
#: A part is not started with less than this left of the budget.
MIN_START_S = 20
#: Our variants timed compiled: one of each backend (compiling is what takes the time).
COMPILED_VARIANTS = ('dense/full', 'sparse/skeleton')
#: The benchmark's columns kept in our CSV (``model`` becomes ``name``).
BENCHMARK_COLUMNS = ('precision', 'batch', 'frames', 'train_samples_per_s', 'train_peak_mib',
                     'inference_samples_per_s')

Row = Dict[str, object]


class Budget:
    """The seconds left of the whole check."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def limit(self, kind: str) -> Optional[float]:
        """The time limit of a run of :obj:`kind` (a key of :data:`LIMITS_S`), or None when
        it no longer fits."""
        left = self.deadline - time.monotonic()
        return min(LIMITS_S[kind], left) if left >= MIN_START_S else None


def run_command(command: Sequence[str], limit_s: float) -> Tuple[str, float, str]:
    """Runs :obj:`command` (in a session of its own, so that a timeout stops torchrun's
    workers too); returns its status ('ok' or 'failed: ...'), seconds and output."""
    start = time.monotonic()
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return f'failed: timed out after {limit_s:.0f} s', time.monotonic() - start, output
    seconds = time.monotonic() - start
    if proc.returncode:
        last = next((line for line in reversed(output.splitlines()) if line.strip()), '')
        return f'failed: exit {proc.returncode}: {last.strip()[:200]}', seconds, output
    return 'ok', seconds, output


def _timed(part: str, name: str, kind: str, budget: Budget, command: Sequence[str]) -> Row:
    """The row of :obj:`command` run within the limit of :obj:`kind`."""
    limit = budget.limit(kind)
    if limit is None:
        return {'part': part, 'name': name, 'status': 'skipped: the --budget is spent'}
    status, seconds, output = run_command(command, limit)
    if status != 'ok':
        print(output[-3000:], file=sys.stderr)
    print(f'{part}: {name}: {status} ({seconds:.0f} s)')
    return {'part': part, 'name': name, 'status': status, 'seconds': round(seconds, 1)}


def check_tests(budget: Budget, device: str, work: Path) -> List[Row]:
    """The CUDA cases of the tests: passed, failed and skipped counts."""
    name = 'pytest -k cuda tests'
    if device != 'cuda':
        return [{'part': 'tests', 'name': name, 'status': 'skipped: no CUDA tests on the CPU'}]
    if not Path('tests').is_dir():
        return [{'part': 'tests', 'name': name,
                 'status': 'skipped: no tests/ here (run from the root of a checkout)'}]
    report = work / 'junit.xml'
    row = _timed('tests', name, 'tests', budget, [
        sys.executable, '-m', 'pytest', '-q', '-k', 'cuda', '-p', 'no:cacheprovider',
        f'--junitxml={report}', 'tests'])
    if report.exists():
        suites = ET.parse(report).getroot()
        counts = {k: sum(int(s.get(k, 0)) for s in suites.iter('testsuite'))
                  for k in ('tests', 'failures', 'errors', 'skipped')}
        failed = counts['failures'] + counts['errors']
        row.update(passed=counts['tests'] - failed - counts['skipped'], failed=failed,
                   skipped=counts['skipped'])
    return [row]


def check_ddp(budget: Budget, device: str, quick: bool, work: Path) -> List[Row]:
    """The trainer under torchrun, and DDP steps (eager, compiled) over NCCL (gloo on the
    CPU), each with 1 process."""
    from pyg_mstgcn.data import make_synthetic
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
                '--nproc_per_node=1']
    data = make_synthetic(work / 'data', num_train=64, num_val=32, frames=16)
    rows = [_timed('ddp', 'torchrun trainer, 1 process, 1 epoch', 'trainer', budget, [
        *torchrun, '-m', 'pyg_mstgcn.train', '--config', 'tiny', '--set', f'data.root={data}',
        'data.synthetic=null', f'train.device={device}', 'train.epochs=1',
        f'output.dir={work / "runs"}', 'output.name=torchrun'])]
    backend = 'nccl' if device == 'cuda' else 'gloo'
    for mode in ('eager', 'compiled'):
        name = f'DDP step over {backend}, 1 process, {mode}'
        if mode == 'compiled' and quick and device == 'cpu':
            rows.append({'part': 'ddp', 'name': name,
                         'status': 'skipped: nothing is compiled with --quick on the CPU'})
            continue
        rows.append(_timed('ddp', name, 'ddp step', budget, [
            *torchrun, '-m', 'pyg_mstgcn.benchmarks.gpu_check', '--device', device,
            '--ddp-step', mode]))
    return rows


def ddp_step(device_kind: str, compiled: bool) -> None:
    """One training step of the tiny recipe's network under DDP, in a process that torchrun
    started, set up by the trainer's :func:`~pyg_mstgcn.train.loop.training_network` (which
    the trainer itself calls with DDP only for several processes)."""
    import torch.distributed as dist
    import torch.nn.functional as F

    from pyg_mstgcn.data import from_dense
    from pyg_mstgcn.models import build_model
    from pyg_mstgcn.train.config import resolve
    from pyg_mstgcn.train.loop import training_network

    cuda = device_kind == 'cuda'
    local = int(os.environ.get('LOCAL_RANK', '0'))
    device = torch.device('cuda', local) if cuda else torch.device('cpu')
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group('nccl' if cuda else 'gloo')
    try:
        model_config = resolve('tiny')['model']
        model, net = training_network(build_model(model_config),
                                      {'compile': compiled, 'cuda_graphs': False}, device,
                                      distributed=True)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        labels = [i % model_config['num_classes'] for i in range(4)]
        batch = from_dense(torch.randn(4, 3, 8, 25, 2), model_config['layout'],
                           labels).to(device)
        loss = F.cross_entropy(net(batch), batch.y)
        loss.backward()
        optimizer.step()
        finite = all(torch.isfinite(p.grad).all() for p in model.parameters())
        if not (torch.isfinite(loss) and finite):
            raise RuntimeError('the DDP step gave a non-finite loss or gradient')
        print(f'DDP step ok: {dist.get_backend()}, loss {loss.item():.4f}')
    finally:
        dist.destroy_process_group()


def check_benchmark(budget: Budget, device: str, quick: bool, work: Path) -> List[Row]:
    """The whole-model benchmark: every precision eager (one run), then each precision and
    backend compiled (a run each, so that what finished is kept when time runs out)."""
    precisions = ['fp32'] if device == 'cpu' else list(PRECISIONS)
    base = [sys.executable, '-m', 'pyg_mstgcn.benchmarks.model', '--device', device,
            '--results-dir', str(work)] + (['--quick'] if quick else [])
    runs = [('benchmark eager', 'eager', ['--precision', *precisions])]
    runs += [('benchmark compiled', f'compiled {p} {v}',
              ['--precision', p, '--compile', '--no-reference', '--variants', v])
             for p in precisions for v in COMPILED_VARIANTS]
    rows: List[Row] = []
    for kind, out, args in runs:
        name = f'model benchmark, {out}'
        if kind == 'benchmark compiled' and quick and device == 'cpu':
            rows.append({'part': 'benchmark', 'name': name,
                         'status': 'skipped: nothing is compiled with --quick on the CPU'})
            continue
        out = out.replace(' ', '_').replace('/', '-')
        row = _timed('benchmark', name, kind, budget, [*base, '--out', out])
        csv_path = work / f'{out}_{device}.csv'
        if row['status'] != 'ok' or not csv_path.exists():
            rows.append(row)
            continue
        with open(csv_path, newline='') as f:
            for result in csv.DictReader(f):
                rows.append({'part': 'benchmark', 'name': result['model'],
                             'status': result['status'],
                             **{k: result.get(k, '') for k in BENCHMARK_COLUMNS}})
    return rows


def summary(rows: Sequence[Row], device: str, csv_path: Path) -> str:
    """What the check found, in a few lines."""
    info = machine()
    where = info.get('gpu', info['cpu']) if device == 'cuda' else info['cpu']
    cuda = f', CUDA {torch.version.cuda}' if device == 'cuda' else ''
    lines = [f'GPU check on {where} ({device}; torch {info["torch"]}{cuda}), '
             f'{time.strftime("%Y-%m-%d %H:%M")}']
    for row in rows:
        if row['part'] == 'benchmark' and row['status'] == 'ok':
            lines.append(f"  benchmark  {row['name']:<26} {row['precision']:<5} "
                         f"train {float(row['train_samples_per_s']):9.1f} samples/s  "
                         f"peak {float(row['train_peak_mib']):8.0f} MiB")
            continue
        counts = (f" ({row['passed']} passed, {row['failed']} failed, {row['skipped']} "
                  'skipped)' if 'passed' in row else '')
        seconds = f" [{row['seconds']} s]" if 'seconds' in row else ''
        lines.append(f"  {row['part']:<10} {row['name']}: {row['status']}{counts}{seconds}")
    failed = sum(str(row['status']).startswith('failed') for row in rows)
    lines.append(f'{failed} failed of {len(rows)} results; all in {csv_path}')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = ArgumentParser(prog='python -m pyg_mstgcn.benchmarks.gpu_check', description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', choices=('cuda', 'cpu'), default='cuda',
                        help='cuda (the check), or cpu with --quick (a test of this script)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke mode: tiny benchmark sizes (needed with --device cpu)')
    parser.add_argument('--budget', type=float, default=570,
                        help='seconds for the whole check (570); each part also has a limit: '
                             + ', '.join(f'{k} {v} s' for k, v in LIMITS_S.items()))
    parser.add_argument('--ddp-step', choices=('eager', 'compiled'), default=None,
                        help='internal: run one DDP training step in this process, which '
                             'torchrun started (the ddp part launches it), and exit')
    add_output_args(parser, 'gpu_check', ' (and NAME_summary.txt)')
    args = parser.parse_args(argv)
    if args.ddp_step:
        ddp_step(args.device, args.ddp_step == 'compiled')
        return 0
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('gpu_check: no CUDA device is available; nothing to check (--device cpu --quick '
              'tests this script on the CPU)')
        return 0
    if args.device == 'cpu' and not args.quick:
        parser.error('--device cpu: only with --quick (a smoke test of this script)')
    budget = Budget(args.budget)
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as tmp:
        work = Path(tmp)
        rows = (check_tests(budget, args.device, work)
                + check_ddp(budget, args.device, args.quick, work)
                + check_benchmark(budget, args.device, args.quick, work))
    settings = dict(device=args.device, quick=args.quick, budget_s=args.budget)
    path = write_csv(args.out, rows, settings, args.results_dir)
    text = summary(rows, args.device, path)
    write_text_atomic(args.results_dir / f'{args.out}_summary.txt', text + '\n')
    print('\n' + text)
    return int(any(str(row['status']).startswith('failed') for row in rows))


if __name__ == '__main__':
    sys.exit(main())
