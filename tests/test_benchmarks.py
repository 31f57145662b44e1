"""The benchmark suite: its quick modes run end to end as a user runs them, and the parts
that decide what it reports (same function across backends, crossover, graph breaks, peak
memory, failures) give the right answers."""
import csv
import importlib.util
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pyg_mstgcn.benchmarks import original_feeder
from pyg_mstgcn.benchmarks.graph_conv import Point, Size, Unavailable, build_case
from pyg_mstgcn.benchmarks.graphs import densified, layout_graph, tree_graph
from pyg_mstgcn.benchmarks.runner import Case, peak_memory_mib, time_forward_backward
from pyg_mstgcn.benchmarks.sweep_report import crossover, crossovers, read_rows
from pyg_mstgcn.data.transforms import RandomMove, RandomShift

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device('cpu')


def _run(module: str, *args: str) -> str:
    result = subprocess.run([sys.executable, '-m', f'benchmarks.{module}', *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _rows(path: Path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_graph_conv_quick(tmp_path):
    """The quick sweep times every non-compiled backend at every point, skips the missing
    optional packages with the reason, and writes the CSV (machine and versions in it), the
    crossovers, the targets and, with matplotlib, the PNG."""
    out = _run('graph_conv', '--quick', '--device', 'cpu', '--results-dir', str(tmp_path))
    rows = _rows(tmp_path / 'graph_conv_cpu.csv')
    assert {r['sweep'] for r in rows} == {'size', 'graph', 'density'}
    for backend in ('einsum', 'dense', 'scatter', 'fused'):
        timed = [r for r in rows if r['backend'] == backend]
        assert timed and all(r['status'] == 'ok' and float(r['total_ms']) > 0
                             and float(r['peak_mib']) > 0 for r in timed)
    for backend in ('torch_scatter', 'torch_sparse'):
        statuses = {r['status'] for r in rows if r['backend'] == backend}
        if importlib.util.find_spec(backend) is None:
            assert len(statuses) == 1 and statuses.pop().startswith('skipped: ')
        else:
            assert statuses == {'ok'}
    assert not any(r['backend'].startswith('compile-') for r in rows)
    assert {r['torch'] for r in rows} == {torch.__version__} and rows[0]['cpu_count']
    densities = sorted(float(r['density']) for r in rows if r['sweep'] == 'density'
                       and r['graph'] == 'tree-512' and r['backend'] == 'dense')
    assert densities[0] < 0.01 and densities[-1] == 1.0 and len(densities) == 3
    assert out.count('crossover: ') == 3  # joints, and density on each of two graphs
    assert 'NTU-size, skeleton-only: fused / dense' in out
    assert {r['skeleton_only'] for r in read_rows(tmp_path / 'graph_conv_cpu.csv')} == {
        True, False}
    png = tmp_path / 'graph_conv_cpu.png'
    if importlib.util.find_spec('matplotlib') is not None:
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        png.unlink()
        again = _run('graph_conv', '--from-csv', str(tmp_path / 'graph_conv_cpu.csv'))
        assert 'NTU-size, skeleton-only' in again and png.is_file()


def test_inference_quick(tmp_path):
    """The inference quick run times every runtime but the compiled one against the original
    network in both settings, with the network's GFLOPs, the machine's two peaks, the cost of
    building the PyG batch in the latency one, and the verdict on each setting's target."""
    out = _run('inference', '--quick', '--results-dir', str(tmp_path))
    rows = _rows(tmp_path / 'inference_cpu.csv')
    models = ['original', 'eager/dense', 'sparse/skeleton', 'fused']
    if importlib.util.find_spec('onnxruntime') is not None:
        models.append('onnxruntime')
    else:
        assert 'note: onnxruntime skipped: needs ' in out
    assert [(r['setting'], r['model']) for r in rows] == (
        [('latency', m) for m in models + ['batch construction']]
        + [('throughput', m) for m in models])
    peaks = ('peak_matmul_gflop_per_s', 'peak_conv_gflop_per_s', 'peak_gflop_per_s')
    for row in rows:
        assert float(row['ms_per_call']) > 0 and float(row['clips_per_s']) > 0
        assert float(row['ms_per_clip']) * int(row['batch']) == pytest.approx(
            float(row['ms_per_call']))
        assert row['quick'] == 'True' and row['torch'] == torch.__version__
        assert row['torch_threads'] == '2' and all(float(row[p]) > 0 for p in peaks)
        assert float(row['peak_gflop_per_s']) == max(float(row[p]) for p in peaks[:2])
        if row['model'] == 'batch construction':
            assert row['speedup_vs_original'] == row['gflops_per_clip'] == ''
        else:
            assert float(row['speedup_vs_original']) > 0 and float(row['gflops_per_clip']) > 0
            assert float(row['gflop_per_s']) == pytest.approx(
                float(row['gflops_per_clip']) * float(row['clips_per_s']))
            assert float(row['percent_of_peak']) == pytest.approx(
                100 * float(row['gflop_per_s']) / float(row['peak_gflop_per_s']))
    assert all(float(r['speedup_vs_original']) == 1.0 for r in rows if r['model'] == 'original')
    assert len({r['gflops_per_clip'] for r in rows if r['setting'] == 'latency'}) == 2  # and ''
    for setting in ('latency (batch 1 x 16 frames)', 'throughput (batch 2 x 16 frames)'):
        line = next(x for x in out.splitlines() if x.startswith(setting + ': fastest '))
        assert 'target met' in line or 'target missed' in line
    assert 'peak fp32: matmul 2048x2048 ' in out


def test_inference_unknown_runtime():
    """An unknown --runtimes name is one line on stderr naming the choices, exit status 2."""
    result = subprocess.run([sys.executable, '-m', 'benchmarks.inference', '--quick',
                             '--runtimes', 'fused', 'tensorrt'], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ''
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid choice: 'tensorrt'" in lines[0]


def test_compiled_runtime_gives_eager_logits():
    """The compiled runtime (inductor, weights frozen) gives the eager model's logits, and
    leaves inductor's freezing off for whatever compiles after it."""
    from pyg_mstgcn.benchmarks.inference import compiled
    from pyg_mstgcn.models import MSTGCN, optimize_for_inference
    torch.manual_seed(0)
    model = MSTGCN(5, blocks=[[3, 8, False, 1], [8, 8, True, 2]], kernel_size=3, s_scale=2,
                   t_scale=2).eval()
    x = torch.randn(2, 3, 8, 25, 2)
    call = compiled(optimize_for_inference(model))(x)
    assert not torch._inductor.config.freezing
    with torch.inference_mode():
        torch.testing.assert_close(call(), model(x), rtol=1e-4, atol=1e-5)


def test_preprocess_quick(tmp_path):
    """The preprocessing benchmark shares the runner's output."""
    _run('preprocess', '--quick', '--results-dir', str(tmp_path))
    rows = _rows(tmp_path / 'preprocess.csv')
    assert rows and all(r['torch'] == torch.__version__ and r['date'] for r in rows)


def test_data_loading_quick(tmp_path):
    """The data-loading benchmark shares the runner's output; the original feeder's row is
    timed with ours (no device figure), and our row with the same augmentation and stream
    gives the ratio to it."""
    out = _run('data_loading', '--quick', '--samples', '128', '--results-dir', str(tmp_path))
    rows = _rows(tmp_path / 'data_loading.csv')
    assert rows and all(r['torch'] == torch.__version__ and r['date'] for r in rows)
    by_name = {(r['augmentation'], r['stream']): r for r in rows}
    original = by_name['shift+move (original feeder)', 'joint']
    for column in ('samples_per_s', 'one_process_samples_per_s', 'us_per_sample'):
        assert float(original[column]) > 0
    assert original['device_augment_samples_per_s'] == original['vs_original_feeder'] == ''
    ours = by_name['shift+move (original)', 'joint']
    assert float(ours['device_augment_samples_per_s']) > 0
    assert math.isclose(float(ours['vs_original_feeder']),
                        float(ours['samples_per_s']) / float(original['samples_per_s']))
    assert [r for r in rows if r['vs_original_feeder']] == [ours]
    assert out.count('ours / original feeder (shift+move (original), joint): ') == 1


def _skeleton(T: int = 20, begin: int = 3, end: int = 12) -> np.ndarray:
    """A sample [3, T, 4, 2] whose frames [begin, end) are non-zero but for an empty frame
    inside them."""
    x = np.zeros((3, T, 4, 2), dtype=np.float32)
    x[:, begin:end] = np.random.default_rng(0).uniform(0.5, 1.5, (3, end - begin, 4, 2))
    x[:, begin + 3] = 0
    return x


def test_original_random_shift():
    """The frames from the first to the last non-zero one (an empty frame inside them
    included), in order, at every offset from 0 to T - size (both ends); zeros elsewhere;
    float64, the input kept. Our RandomShift places them at the same offsets."""
    x = _skeleton()
    span, T = x[:, 3:12].copy(), x.shape[1]
    random.seed(0)
    for shift, cast in ((original_feeder.random_shift, np.float64),
                        (lambda x: RandomShift()(x, rng=int(np.random.randint(2**31))),
                         np.float32)):
        offsets = set()
        for _ in range(200):
            out = shift(x)
            assert out.dtype == cast and out.shape == x.shape
            offset = int(np.flatnonzero((out != 0).any(axis=(0, 2, 3)))[0])
            expected = np.zeros(x.shape)
            expected[:, offset:offset + 9] = span
            assert np.array_equal(out, expected)
            offsets.add(offset)
        assert offsets == set(range(T - 9 + 1))
    assert np.array_equal(x[:, 3:12], span)


def test_original_random_move_single_candidates():
    """With one angle a, scale s and translation t, every frame's (x, y), zeros included,
    becomes s R(a) (x, y) + (t, t), z kept; our RandomMove gives the same."""
    x = _skeleton()
    a, s, t = 30.0, 1.5, 0.25
    cos, sin = math.cos(math.radians(a)), math.sin(math.radians(a))
    x64 = x.astype(np.float64)
    expected = x64.copy()
    expected[0] = s * (cos * x64[0] - sin * x64[1]) + t
    expected[1] = s * (sin * x64[0] + cos * x64[1]) + t
    out = original_feeder.random_move(x64.copy(), [a], [s], [t], [3])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    ours = RandomMove([a], [s], [t], [3])(x, rng=0)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('move_time, nodes', [(1, [0, 9]), (2, [0, 4, 5, 9])])
def test_original_random_move_interpolates(move_time, nodes):
    """On an all-zero sample (x = the x translation), per segment the translation goes
    linearly from one end's candidate to the next, both ends included (so with two segments
    of T = 10 frames, frames 4 and 5 both take the middle value); our RandomMove too."""
    np.random.seed(0)
    for seed in range(5):
        original = original_feeder.random_move(np.zeros((3, 10, 1, 1)), [0.], [1.], [-1., 1.],
                                               [move_time])[0, :, 0, 0]
        ours = RandomMove([0.], [1.], [-1., 1.], [move_time])(
            np.zeros((3, 10, 1, 1), dtype=np.float32), rng=seed)[0, :, 0, 0]
        for tx in (original, ours):
            for begin, end in zip(nodes[::2], nodes[1::2]):
                assert set(tx[[begin, end]]) <= {-1.0, 1.0}
                np.testing.assert_allclose(tx[begin:end + 1],
                                           np.linspace(tx[begin], tx[end], end - begin + 1),
                                           atol=1e-6)
            if move_time == 2:
                assert tx[4] == tx[5]


def test_backends_compute_the_same_function():
    """At one point, the dense, scatter and fused cases and those of the installed optional
    packages (same seed: same weights, same input) give the same output and input gradient."""
    point = Point('graph', densified(tree_graph(40), 0.2), Size(1, 2, 5, 6, 4))
    results = []
    optional = [b for b in ('torch_scatter', 'torch_sparse') if importlib.util.find_spec(b)]
    for backend in ('dense', 'scatter', 'fused', *optional):
        torch.manual_seed(3)
        case, _ = build_case(point, backend, CPU, max_bytes=2**30)
        out = case.forward()
        x = case.leaves[0]
        out.backward(torch.ones_like(out))
        results.append((out.detach(), x.grad))
    for out, grad in results[1:]:
        torch.testing.assert_close(out, results[0][0], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(grad, results[0][1], rtol=1e-4, atol=1e-5)


def test_memory_limit_skips_with_reason():
    point = Point('graph', layout_graph('ntu-rgb+d'), Size(1, 2, 4, 4, 4))
    with pytest.raises(Unavailable, match=r'needs about .* GiB \(limit 0.0 GiB, --max-gib\)'):
        build_case(point, 'scatter', CPU, max_bytes=1000)


def test_graphs():
    """Trees have V - 1 bones; densified graphs reach the density asked for."""
    tree = tree_graph(300)
    assert len(tree.layout.inward) == 299
    assert math.isclose(tree.density, (300 + 2 * 299) / 300**2, rel_tol=1e-6)
    for density in (0.02, 0.1):
        assert abs(densified(tree, density).density - density) < 1e-3
    full = densified(layout_graph('coco'), 1.0)
    assert full.adjacency == 'full' and full.density == 1.0


def test_crossover():
    """Log-log interpolation between the two points around the change of winner, and the
    side on which the sparse backend wins."""
    assert math.isclose(crossover([(10, 1.0, 2.0), (100, 1.0, 0.5)]), math.sqrt(1000))
    assert crossover([(10, 1.0, 2.0), (100, 1.0, 1.5)]) is None
    rows = [{'sweep': 'graph', 'joints': V, 'graph': f'g{V}', 'backend': b, 'total_ms': t}
            for V, d, s in ((25, 1.0, 2.0), (250, 4.0, 2.0)) for b, t in
            (('dense', d), ('fused', s))]
    rows += [{'sweep': 'density', 'density': x, 'graph': 'tree', 'backend': b, 'total_ms': t}
             for x, d, s in ((0.01, 4.0, 1.0), (0.1, 4.0, 1.0), (1.0, 1.0, 4.0)) for b, t in
             (('dense', d), ('fused', s))]
    by_joints, by_density = crossovers(rows)
    assert math.isclose(by_joints.x, math.sqrt(25 * 250)) and not by_joints.sparse_wins_low
    assert by_joints.words() == 'fused faster than dense above about 79 joints'
    assert math.isclose(by_density.x, math.sqrt(0.1)) and by_density.sparse_wins_low
    assert by_density.words() == 'fused faster than dense below about 31.6% density (tree)'


def test_graph_breaks_are_counted():
    """Plain message passing compiles as one graph; the fused path's sparse tensors break."""
    point = Point('graph', layout_graph('coco'), Size(1, 1, 4, 4, 4))
    _, count = build_case(point, 'compile-scatter', CPU, max_bytes=2**30)
    assert count() == 0
    _, count = build_case(point, 'compile-fused', CPU, max_bytes=2**30)
    assert count() > 0


def test_runner_times_and_reports_failures():
    x = torch.randn(300, 300, requires_grad=True)
    good = Case(lambda: (x @ x).relu(), [x])
    bad = Case(lambda: x @ torch.randn(3, 3), [x])
    timings = time_forward_backward({'good': good, 'bad': bad}, CPU, warmup=1, repeats=2)
    assert timings['good'].forward_s > 0 and timings['good'].backward_s > 0
    assert not timings['good'].error
    assert math.isnan(timings['bad'].total_s)
    assert timings['bad'].error.startswith('RuntimeError: mat1 and mat2 shapes')


def test_runner_reports_cpu_time_and_page_faults():
    """Per step: CPU seconds, system seconds and minor page faults. A step that writes to
    every page of 64 MiB it maps anew faults at least once per page (32 with 2 MiB huge
    pages, 16,384 with 4 KiB ones); a step on small tensors less. (The memory is mapped
    directly: a tensor that large may come from free space the allocator already holds,
    after other tests, and fault not at all.)"""
    pytest.importorskip('resource', reason='no resource module on this platform')
    import mmap

    def touch_fresh_pages() -> float:
        with mmap.mmap(-1, 64 * 2**20) as mapped:
            pages = np.frombuffer(mapped, dtype=np.uint8)
            pages[::4096] = 1
            total = float(pages[::4096].sum())
            del pages   # the mapping closes only without views of it
        return total

    x = torch.randn(64, 64, requires_grad=True)
    fresh = Case(lambda: touch_fresh_pages() * x.sum(), [x])
    small = Case(lambda: (x @ x).relu(), [x])
    timings = time_forward_backward({'fresh': fresh, 'small': small}, CPU, warmup=1,
                                    repeats=3)
    assert timings['fresh'].page_faults >= 64 * 2**20 / 2**21
    assert timings['small'].page_faults < timings['fresh'].page_faults
    for timing in timings.values():
        assert timing.cpu_s > 0 and 0 <= timing.system_s <= timing.cpu_s


def test_peak_memory_cpu():
    """A step allocating a few 1 MB tensors peaks at a few MB above its start."""
    x = torch.randn(512, 512, requires_grad=True)  # 1 MiB
    case = Case(lambda: (x @ x).relu() * 2, [x])
    case.step()
    peak = peak_memory_mib(case, CPU)
    assert 2 <= peak <= 8


def test_model_profile_groups_the_operators_of_a_training_step():
    """``--profile``: each model's self time per step by operator group; the groups are
    parts of the total, and a convolutional network spends time in convolutions and batch
    norm both ways."""
    from pyg_mstgcn.benchmarks.model import PROFILE_GROUPS, profile_training_step
    from pyg_mstgcn.models import MSTGCN
    torch.manual_seed(0)
    model = MSTGCN(5, blocks=[[3, 8, False, 1], [8, 8, True, 1]]).train()
    x = torch.randn(2, 3, 8, 25, 2)
    rows = profile_training_step([('small', model, x, lambda out: out)], CPU, steps=1)
    assert [r['operators'] for r in rows] == [g for g, _ in PROFILE_GROUPS] + ['total']
    ms = {r['operators']: r['small (ms)'] for r in rows}
    assert sum(v for k, v in ms.items() if k != 'total') <= ms['total']
    for group in ('convolution forward', 'convolution backward', 'batch norm forward',
                  'batch norm backward', 'graph mixing (bmm)'):
        assert ms[group] > 0, group
