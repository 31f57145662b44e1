"""The package as a user installs it: a wheel built from the checkout, installed
(non-editable) into a fresh environment and run from an empty folder, far from the checkout."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
#: What a checkout may hold besides its sources: at the top, and anywhere.
_TOP_LEVEL = {'.git', '.venv', 'venv', 'build', 'dist', 'runs', 'data', 'benchmark_results'}
_ANYWHERE = shutil.ignore_patterns('__pycache__', '*.egg-info')


def _not_sources(folder: str, names):
    top = {n for n in names if n in _TOP_LEVEL} if Path(folder) == ROOT else set()
    return top | _ANYWHERE(folder, names)


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (the build writes nothing into it)."""
    source = tmp_path_factory.mktemp('source') / 'pyg_mstgcn'
    shutil.copytree(ROOT, source, ignore=_not_sources)
    out = tmp_path_factory.mktemp('wheel')
    proc = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '-w',
                           str(out), str(source)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return next(out.glob('pyg_mstgcn-*.whl'))


@pytest.fixture(scope='module')
def env(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed. PyTorch and the other
    dependencies come from this interpreter's site-packages through a ``.pth`` path (not a
    copy of several GB); a .pth file adds folders, not the editable install found in them."""
    env = tmp_path_factory.mktemp('env')
    subprocess.run([sys.executable, '-m', 'venv', str(env)], check=True, timeout=300)
    python = env / 'bin' / 'python'
    site = Path(subprocess.check_output(
        [str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        text=True).strip())
    (site / 'dependencies.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    proc = subprocess.run([str(python), '-m', 'pip', 'install', '--no-deps', '--no-index', '-q',
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env


def run(env: Path, cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    environ.update(OMP_NUM_THREADS='2', PATH=f"{env / 'bin'}{os.pathsep}{environ['PATH']}")
    return subprocess.run(list(args), cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=timeout)


def installed_files(env: Path) -> dict:
    site = next((env / 'lib').glob('python*/site-packages'))
    return {p: p.stat().st_mtime_ns for p in site.rglob('*')
            if p.is_file() and p.suffix != '.pyc'}


def test_the_wheel_adds_only_pyg_mstgcn(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split('/')[0] for n in names} == {'pyg_mstgcn', wheel.name.split('-py')[0]
                                                + '.dist-info'}
    for path in ('pyg_mstgcn/configs/train/ntu60_xsub_joint.yaml',
                 'pyg_mstgcn/configs/train/_base_/original.yaml',
                 'pyg_mstgcn/configs/models/mstgcn_ntu60.yaml',
                 'pyg_mstgcn/preprocess/missing/ntu60.txt',
                 'pyg_mstgcn/data/names/ntu120.txt', 'pyg_mstgcn/data/names/kinetics400.txt',
                 'pyg_mstgcn/benchmarks/original_reference.py'):
        assert path in names, path
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / 'pyg_mstgcn').rglob('*.py')}
    assert sources <= set(names), sources - set(names)
    assert not any(n.startswith('pyg_mstgcn/tests') or 'conftest' in n for n in names)
    entry_points = next(n for n in names if n.endswith('entry_points.txt'))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ('mstgcn-train', 'mstgcn-preprocess', 'mstgcn-ensemble', 'mstgcn-convert',
                   'mstgcn-predict', 'mstgcn-export'):
        assert script in text


@pytest.mark.slow
def test_installed_package_runs_from_an_empty_folder(env, tmp_path):
    before = installed_files(env)
    python = str(env / 'bin' / 'python')
    where = run(env, tmp_path, python, '-c', 'import pyg_mstgcn, sys; print(pyg_mstgcn.__file__)')
    assert str(env) in where.stdout, where.stdout + where.stderr   # not the checkout's

    # the embedded default, exactly as the README runs it
    proc = run(env, tmp_path, python, '-m', 'pyg_mstgcn.train')
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'done: val top1' in proc.stdout and 'next:' in proc.stdout
    assert list((tmp_path / 'runs').glob('synthetic-*/best.pt'))

    # a shipped recipe by name, and every recipe listed; the console script
    proc = run(env, tmp_path, 'mstgcn-train', '-c', 'tiny', '--set', 'train.epochs=1',
               'output.name=tiny-run')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / 'runs' / 'tiny-run' / 'last.pt').exists()
    proc = run(env, tmp_path, python, '-m', 'pyg_mstgcn.train', '-c', 'ntu60_xsub_joint',
               '--print-config')
    assert proc.returncode == 0 and 'root: data/ntu60/xsub' in proc.stdout, proc.stderr
    proc = run(env, tmp_path, python, '-m', 'pyg_mstgcn.train', '--list-configs')
    assert proc.returncode == 0 and 'kinetics_bone_motion' in proc.stdout

    # a benchmark that compares against the original network, its results here
    proc = run(env, tmp_path, python, '-m', 'pyg_mstgcn.benchmarks.model', '--quick',
               '--variants', 'dense/full')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / 'benchmark_results' / 'model_cpu.csv').exists()

    for script in ('mstgcn-preprocess', 'mstgcn-ensemble', 'mstgcn-convert', 'mstgcn-predict',
                   'mstgcn-export'):
        proc = run(env, tmp_path, script, '--help')
        assert proc.returncode == 0 and 'usage:' in proc.stdout, script
    # the trained run predicts with its class names, shipped with the synthetic data
    arrays = tmp_path / 'runs' / 'synthetic_data'
    proc = run(env, tmp_path, 'mstgcn-predict', '--weights',
               str(next((tmp_path / 'runs').glob('synthetic-*/best.pt'))), str(arrays),
               '--out', 'p.json')
    assert proc.returncode == 0 and 'wave_right' in proc.stdout, proc.stderr[-2000:]
    # exported to ONNX, it predicts the same with the class names of its metadata
    proc = run(env, tmp_path, 'mstgcn-export', '--weights',
               str(next((tmp_path / 'runs').glob('synthetic-*/best.pt'))), '--out', 'm.onnx')
    assert proc.returncode == 0 and (tmp_path / 'm.onnx').exists(), proc.stderr[-2000:]
    proc = run(env, tmp_path, 'mstgcn-predict', '--weights', 'm.onnx', str(arrays), '--out',
               'p_onnx.json')
    assert proc.returncode == 0 and 'wave_right' in proc.stdout, proc.stderr[-2000:]
    torch_records, onnx_records = (json.loads((tmp_path / name).read_text())
                                   for name in ('p.json', 'p_onnx.json'))
    assert [r['top'][0]['name'] for r in torch_records] == \
        [r['top'][0]['name'] for r in onnx_records]
    assert installed_files(env) == before   # nothing written into site-packages


@pytest.mark.slow
def test_installed_preprocessing_on_real_files(env, tmp_path):
    raw = SHARED / 'data' / 'ntu'
    if not raw.is_dir():
        pytest.skip(f'shared material {raw} is not available')
    proc = run(env, tmp_path, str(env / 'bin' / 'python'), '-m', 'pyg_mstgcn.preprocess',
               'ntu60', '--raw', str(raw), '--out', 'out', '--no-progress', '--workers', '1')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / 'out' / 'xsub' / 'train_data_joint.npy').exists()
    assert (tmp_path / 'out' / 'summary.json').exists()
