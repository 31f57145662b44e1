"""Shared test helpers: paths to the shared reference material and real sample data, and the
``device`` fixture (the CPU, and CUDA where there is one)."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared'
REFERENCE = SHARED / 'reference'


#: The devices of the ``device`` fixture, as PyG's ``torch_geometric.testing.withCUDA``: CUDA
#: only where there is one, so that a CPU-only run lists and runs what it did before (``-k
#: cuda`` selects the CUDA cases: benchmarks/gpu_check.sh).
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """A test taking ``device`` runs once on each of :data:`DEVICES` (ids 'cpu', 'cuda')."""
    return torch.device(request.param)


def skip_without_compiler() -> None:
    """Skips the test where torch.compile cannot work (inductor finds no C++ compiler)."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
        get_cpp_compiler()
    except Exception as error:   # ImportError, or inductor's InvalidCxxCompiler
        pytest.skip(f'torch.compile is unavailable: {type(error).__name__}: {error}')


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'shared material {path} is not available')
    return path


@pytest.fixture(autouse=True)
def _single_thread():
    # Two cores shared with other processes: one intra-op thread avoids OpenMP contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_preprocess(*args, expect=0):
    """Runs ``python -m preprocess ARGS --no-progress`` from the project root, as a user would,
    and checks its exit status (unless :obj:`expect` is None)."""
    result = subprocess.run([sys.executable, '-m', 'preprocess', *map(str, args),
                             '--no-progress'], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    if expect is not None:
        assert result.returncode == expect, result.stdout + result.stderr
    return result
