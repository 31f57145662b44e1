"""benchmarks/gpu_check.sh, the check a person with a GPU runs: its plumbing on the CPU (its
own file, so that the test runner can run it beside the other benchmarks)."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _rows(path: Path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_gpu_check_plumbing_on_the_cpu(tmp_path):
    """benchmarks/gpu_check.sh on the CPU in smoke mode: every part runs or says why not (its
    benchmark part is the whole-model benchmark's quick run: every variant and the original
    network trained and inferred), and the CSV (with the machine) and the summary are
    written; without --device cpu it needs CUDA."""
    from pyg_mstgcn.benchmarks.gpu_check import COMPILED_VARIANTS
    result = subprocess.run(['bash', 'benchmarks/gpu_check.sh', '--device', 'cpu', '--quick',
                             '--results-dir', str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300,
                            # one thread each: its processes share the 2 cores with the suite
                            env={**os.environ, 'PYTHON': sys.executable, 'OMP_NUM_THREADS': '1'})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = _rows(tmp_path / 'gpu_check.csv')
    by_part = {part: [r for r in rows if r['part'] == part]
               for part in ('tests', 'ddp', 'benchmark')}
    assert len(rows) == sum(map(len, by_part.values()))
    assert [r['status'] for r in by_part['tests']] == ['skipped: no CUDA tests on the CPU']
    assert [r['status'] for r in by_part['ddp']] == ['ok', 'ok', 'skipped: nothing is '
                                                     'compiled with --quick on the CPU']
    timed = [r for r in by_part['benchmark'] if r['status'] == 'ok']
    assert [r['name'] for r in timed] == ['dense/full', 'sparse/skeleton', 'sparse/full',
                                          'einsum reference']
    assert all(float(r['train_samples_per_s']) > 0 and float(r['train_peak_mib']) > 0
               and r['precision'] == 'fp32' for r in timed)
    assert len(by_part['benchmark']) == len(timed) + len(COMPILED_VARIANTS)
    assert all(r['torch'] == torch.__version__ and r['cpu_count'] for r in rows)
    text = (tmp_path / 'gpu_check_summary.txt').read_text()
    assert text.strip() in result.stdout and f'0 failed of {len(rows)} results' in text
    if not torch.cuda.is_available():
        again = subprocess.run([sys.executable, '-m', 'benchmarks.gpu_check', '--results-dir',
                                str(tmp_path / 'none')], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0 and 'no CUDA device is available' in again.stdout
        assert not (tmp_path / 'none').exists()
