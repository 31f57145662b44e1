"""Inference benchmark: the canonical MST-GCN (NTU RGB+D, 60 classes, ``MSTGCN(60)``) under
several runtimes against the original network (the dense transcription of
:mod:`~pyg_mstgcn.benchmarks.original_reference`), all timed in one run, taking turns in
every round, after warm-up, 20 ms apart (so that the threads of one runtime, which spin a
while after their work, are idle when the next is timed); every candidate takes the same
dense ``[N, C, T, V, M]`` tensor and runs in inference mode.

Candidates (``--runtimes``; the original network is always timed, as the reference):

  original         the original network, eager (the reference of the speed-ups)
  eager/dense      our MSTGCN(60), dense backend, eager, fed the dense tensor directly
  sparse/skeleton  the same network on the sparse backend, skeleton-only adjacency
  fused            eager/dense's inference model (optimize_for_inference: batch norms
                   folded into the layers before them, A + B one constant)
  compiled         torch.compile of the fused model (inductor, static shapes, weights
                   frozen as constants); compiled during the warm-up, outside the timing
  onnxruntime      the fused model exported to ONNX once per run (pyg_mstgcn.export),
                   run by ONNX Runtime on the same threads, its threads spinning only
                   while a run lasts (spinning on would slow the candidate timed after it
                   twofold); the NumPy input is prepared outside the timing

fused, compiled and onnxruntime compute eager/dense's function: their logits are checked
against its own before they are timed. A runtime whose packages are missing (ONNX Runtime)
or that cannot build here (torch.compile without a C++ compiler) is skipped with a note.

Two settings: ``latency``, one 64-frame window of 2 persons at batch 1 (the time of one
prediction), and ``throughput``, batch 16 x 100 frames x 2 persons (the setting of PYSKL's
published speed table). Each row gives the median milliseconds per call and per clip, clips
per second and the speed-up over the original network in the same setting (original time /
candidate time). The summary names the fastest runtime of each setting against the targets:
2x the original's clips/s at latency, 1.5x at throughput.

GFLOP/s: the network's work per clip (``gflops_per_clip``: the multiply-adds of the original
network's convolutions and matrix products, times two, as
:class:`torch.utils.flop_counter.FlopCounterMode` counts them on the setting's input, divided
by the batch; element-wise operations such as batch norms and activations are not counted),
times the clips per second of a candidate. It is the rate at which a runtime gets the
network's work done: the same work for every candidate, so a runtime that skips some (the
sparse backend's skipped joint pairs) shows a higher rate than it computes. It is set
against this machine's peak, measured once per run on the same threads: a 2048 x 2048 fp32
matmul and a (9, 1) convolution of 256 channels on ``[8, 256, 64, 25]`` (the shape family of
the network's temporal convolutions), the best of a few calls each. The two differ: on some
CPUs (AMD, where MKL's matmul takes its AVX2 path) oneDNN's convolutions run about twice as
fast as torch.matmul, so ``percent_of_peak`` is taken against the larger of the two.

``batch construction`` (latency setting) times :func:`~pyg_mstgcn.data.from_dense`, from
the dense window on the CPU to the PyG batch on the device: no candidate pays it (the
network takes the dense tensor), but a caller holding PyG batches, as the training loop
does, pays it on top of the model."""
from __future__ import annotations

import argparse
import copy
import importlib.util
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from pyg_mstgcn.benchmarks import original_reference
from pyg_mstgcn.benchmarks.runner import (add_output_args, checked_device, machine, median_times,
                                          print_table, timed, write_csv)
from pyg_mstgcn.data import from_dense
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.export.exporting import TOLERANCE, relative_difference
from pyg_mstgcn.models import MSTGCN, optimize_for_inference

LAYOUT = 'ntu-rgb+d'
NUM_CLASSES, JOINTS, PERSONS = 60, 25, 2
#: setting -> (batch, frames), and the shorter inputs of ``--quick``.
SETTINGS = {'latency': (1, 64), 'throughput': (16, 100)}
QUICK_SETTINGS = {'latency': (1, 16), 'throughput': (2, 16)}
#: setting -> the speed-up over the original network its fastest runtime should reach.
TARGETS = {'latency': 2.0, 'throughput': 1.5}
ORIGINAL = 'original'
COMPILED = 'compiled'
BATCH_CONSTRUCTION = 'batch construction'
#: Candidates that compute eager/dense's function: checked against its logits.
SAME_AS_EAGER = ('fused', COMPILED, 'onnxruntime')
#: Seconds between two timed calls: the thread pools of the runtime timed before (OpenMP's
#: spin a few milliseconds after their work) go idle first, which otherwise slows the next
#: runtime by 10-40% on 2 cores.
PAUSE_S = 0.02
COLUMNS = ['setting', 'model', 'batch', 'frames', 'ms_per_call', 'ms_per_clip', 'clips_per_s',
           'speedup_vs_original', 'gflops_per_clip', 'gflop_per_s', 'percent_of_peak']
#: The peaks: a matmul of two square matrices of this size, and a temporal convolution.
PEAK_MATMUL = 2048
PEAK_CONV_INPUT, PEAK_CONV_KERNEL = (8, 256, 64, 25), (9, 1)

#: One inference call, returning the logits.
Call = Callable[[], Tensor]
#: A runtime made ready: the setting's dense input (on the device) -> its inference call.
Prepare = Callable[[Tensor], Call]


class Unavailable(Exception):
    """A runtime that cannot run here (a missing package, no compiler): skipped with a
    note."""


def _eager(model: torch.nn.Module, logits_at: Optional[int] = None) -> Prepare:
    """:obj:`model` called eagerly; :obj:`logits_at` picks the logits out of a tuple output
    (element 1 of the original network's)."""
    def prepare(x: Tensor) -> Call:
        def call() -> Tensor:
            with torch.inference_mode():
                out = model(x)
                return out if logits_at is None else out[logits_at]
        return call
    return prepare


def _original(base: MSTGCN, device: torch.device) -> Prepare:
    torch.manual_seed(0)
    model = original_reference.OriginalMSTGCN(
        num_class=NUM_CLASSES, num_point=JOINTS, num_person=PERSONS,
        block_args=original_reference.NTU_BLOCK_ARGS, graph='graph.ntu_rgb_d.Graph')
    return _eager(model.to(device).eval(), logits_at=1)


def _sparse(base: MSTGCN, device: torch.device) -> Prepare:
    torch.manual_seed(0)
    model = MSTGCN(NUM_CLASSES, backend='sparse', adjacency='skeleton')
    return _eager(model.to(device).eval())


def compiled(model: MSTGCN) -> Prepare:
    """torch.compile of :obj:`model` (inductor, static shapes), compiled for each input by
    its first call, with the weights frozen as constants (inductor's ``freezing``, set for
    the compilation only); a failure to compile is :class:`Unavailable`."""
    module = torch.compile(model, dynamic=False)

    def prepare(x: Tensor) -> Call:
        call = _eager(module)(x)
        try:
            with torch._inductor.config.patch(freezing=True):
                call()
        except Exception as e:  # inductor's errors (no compiler, no headers) vary
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise Unavailable(f'torch.compile failed ({type(e).__name__}: {first})') from None
        return call
    return prepare


def _onnxruntime(base: MSTGCN, device: torch.device) -> Prepare:
    missing = [name for name in ('onnx', 'onnxscript', 'onnxruntime')
               if importlib.util.find_spec(name) is None]
    if missing:
        raise Unavailable(f"needs {', '.join(missing)}: pip install 'pyg_mstgcn[export]'")
    import onnxruntime
    from pyg_mstgcn.export import deploy_info, onnx_bytes, onnx_session
    from pyg_mstgcn.export.metadata import INPUT_NAME
    if device.type == 'cuda' and \
            'CUDAExecutionProvider' not in onnxruntime.get_available_providers():
        raise Unavailable('this ONNX Runtime has no CUDA provider: its CPU times are not '
                          'comparable with the others on cuda')
    frames = SETTINGS['latency'][1]
    content, _ = onnx_bytes(copy.deepcopy(base).cpu(), deploy_info(base, frames), frames=frames,
                            check=False)
    session = onnx_session(content)   # its threads stop spinning when a run returns

    def prepare(x: Tensor) -> Call:
        inputs = {INPUT_NAME: x.cpu().numpy()}
        return lambda: torch.from_numpy(session.run(None, inputs)[0])
    return prepare


#: ``--runtimes``: name -> how to make it ready, from eager/dense's model (its weights) and
#: the device.
RUNTIMES: Dict[str, Callable[[MSTGCN, torch.device], Prepare]] = {
    ORIGINAL: _original,
    'eager/dense': lambda base, device: _eager(base),
    'sparse/skeleton': _sparse,
    'fused': lambda base, device: _eager(optimize_for_inference(base)),
    COMPILED: lambda base, device: compiled(optimize_for_inference(base)),
    'onnxruntime': _onnxruntime,
}


def _prepared(names: Sequence[str], device: torch.device) -> Tuple[MSTGCN, Dict[str, Prepare]]:
    """eager/dense's model, and the runtimes of :obj:`names` that can run here (a note for
    each that cannot)."""
    torch.manual_seed(0)
    base = MSTGCN(NUM_CLASSES).to(device).eval()
    runtimes = {}
    for name in names:
        try:
            runtimes[name] = RUNTIMES[name](base, device)
        except Unavailable as e:
            print(f'note: {name} skipped: {e}')
    return base, runtimes


def gflops(call: Call) -> float:
    """GFLOPs of one call of :obj:`call`, as FlopCounterMode counts them (convolutions and
    matrix products)."""
    with FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops() / 1e9


def _best_gflop_per_s(fn: Call, flops: float, device: torch.device, tries: int = 4) -> float:
    fn()  # warm-up
    return flops / 1e9 / min(timed(fn, device) for _ in range(tries))


def peaks(device: torch.device) -> Tuple[float, float]:
    """This machine's fp32 GFLOP/s on the current threads: a large matmul, and a large
    convolution of the network's temporal kind (best of a few calls each)."""
    torch.manual_seed(2)
    a, b = (torch.randn(PEAK_MATMUL, PEAK_MATMUL, device=device) for _ in range(2))
    n, c, t, v = PEAK_CONV_INPUT
    kt, kv = PEAK_CONV_KERNEL
    conv = torch.nn.Conv2d(c, c, PEAK_CONV_KERNEL, padding=(kt // 2, kv // 2)).to(device)
    x = torch.randn(PEAK_CONV_INPUT, device=device)
    with torch.inference_mode():
        matmul = _best_gflop_per_s(lambda: a @ b, 2 * PEAK_MATMUL ** 3, device)
        convolution = _best_gflop_per_s(lambda: conv(x), 2 * n * c * c * kt * kv * t * v,
                                        device)
    return matmul, convolution


def run_setting(setting: str, batch_size: int, frames: int, base: MSTGCN,
                runtimes: Dict[str, Prepare], device: torch.device, repeats: int, warmup: int,
                time_construction: bool) -> List[Dict[str, object]]:
    """The rows of one setting: every runtime (and batch construction if asked) timed
    together on one input. A runtime that fails to get ready is dropped from
    :obj:`runtimes` with a note."""
    torch.manual_seed(1)
    x = torch.randn(batch_size, 3, frames, JOINTS, PERSONS)
    dense_x = x.to(device)
    expected = None
    if any(name in runtimes for name in SAME_AS_EAGER):
        expected = _eager(base)(dense_x)().cpu().numpy()
    fns: Dict[str, Callable[[], object]] = {}
    for name, prepare in list(runtimes.items()):
        try:
            fns[name] = prepare(dense_x)
        except Unavailable as e:
            print(f'note: {name} skipped: {e}')
            del runtimes[name]
            continue
        logits = fns[name]()
        if tuple(logits.shape) != (batch_size, NUM_CLASSES):
            raise RuntimeError(f'{name} gave logits of shape {list(logits.shape)}, expected '
                               f'{[batch_size, NUM_CLASSES]}')
        if name in SAME_AS_EAGER:
            difference = relative_difference(logits.cpu().numpy(), expected)
            if not difference <= TOLERANCE:
                raise RuntimeError(f"{name}: logits differ from eager/dense's by "
                                   f"{difference:.2e} (relative; allowed {TOLERANCE:g})")
    flops = gflops(fns[ORIGINAL]) / batch_size
    if time_construction:
        fns[BATCH_CONSTRUCTION] = lambda: from_dense(x, LAYOUT).to(device)
    seconds = median_times(fns, device, warmup, repeats, pause_s=PAUSE_S)
    rows = []
    for name, s in seconds.items():
        row: Dict[str, object] = {'setting': setting, 'model': name, 'device': device.type,
                                  'batch': batch_size, 'frames': frames, 'persons': PERSONS,
                                  'ms_per_call': 1000 * s, 'ms_per_clip': 1000 * s / batch_size,
                                  'clips_per_s': batch_size / s}
        if name != BATCH_CONSTRUCTION:
            row.update(speedup_vs_original=seconds[ORIGINAL] / s, gflops_per_clip=flops,
                       gflop_per_s=flops * batch_size / s)
        rows.append(row)
    return rows


def run(settings: Dict[str, Tuple[int, int]], names: Sequence[str], device: torch.device,
        repeats: int, warmup: int) -> List[Dict[str, object]]:
    """The rows of every setting, each with the machine's peaks (GFLOP/s) and the share of
    the larger one each runtime reaches."""
    base, runtimes = _prepared(names, device)
    rows = []
    for setting, (batch_size, frames) in settings.items():
        rows += run_setting(setting, batch_size, frames, base, runtimes, device, repeats,
                            warmup, time_construction=setting == 'latency')
    matmul, convolution = peaks(device)
    peak = max(matmul, convolution)
    for row in rows:
        row.update(peak_matmul_gflop_per_s=matmul, peak_conv_gflop_per_s=convolution,
                   peak_gflop_per_s=peak)
        if 'gflop_per_s' in row:
            row['percent_of_peak'] = 100 * row['gflop_per_s'] / peak
    return rows


def summary(rows: Sequence[Dict[str, object]]) -> List[str]:
    """Per setting, the fastest runtime, its speed-up over the original and whether it
    reaches the setting's target."""
    lines = []
    for setting, target in TARGETS.items():
        timed_rows = [r for r in rows if r['setting'] == setting and 'speedup_vs_original' in r]
        if not timed_rows:
            continue
        best = max(timed_rows, key=lambda r: r['clips_per_s'])
        speedup = best['speedup_vs_original']
        verdict = 'target met' if speedup >= target else 'target missed'
        lines.append(f"{setting} (batch {best['batch']} x {best['frames']} frames): fastest "
                     f"{best['model']}, {best['clips_per_s']:.4g} clips/s, {speedup:.2f}x the "
                     f"original (target {target:g}x): {verdict}")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = ArgumentParser(prog='python -m benchmarks.inference', description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runtimes', nargs='+', choices=tuple(RUNTIMES), metavar='NAME',
                        help=f"the candidates to time ({', '.join(RUNTIMES)}; default: all, "
                             f"but with --quick all except {COMPILED}, whose compilation "
                             f"alone takes a minute); {ORIGINAL} is always timed, as the "
                             f"reference")
    parser.add_argument('--repeats', type=int, default=10, help='timed repeats, median (10)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed warm-up calls (3)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help="'cpu' or 'cuda' (cpu)")
    parser.add_argument('--threads', type=int, default=2,
                        help='torch intra-op threads, ONNX Runtime\'s too (2)')
    parser.add_argument('--quick', action='store_true',
                        help=f'smoke test: 16 frames, batch 1 and 2, 1 warm-up, 2 repeats, '
                             f'no {COMPILED} unless --runtimes names it')
    add_output_args(parser, 'inference', ', the device appended')
    args = parser.parse_args(argv)
    device = checked_device(parser, args.device)
    for name in ('repeats', 'warmup', 'threads'):
        value = getattr(args, name)
        if value < (0 if name == 'warmup' else 1):
            parser.error(f'--{name} must be {"non-negative" if name == "warmup" else "positive"}'
                         f' (got {value})')
    torch.set_num_threads(args.threads)
    names = [name for name in RUNTIMES if name == ORIGINAL or (
        name in args.runtimes if args.runtimes else not (args.quick and name == COMPILED))]
    settings, repeats, warmup = SETTINGS, args.repeats, args.warmup
    if args.quick:
        settings, repeats, warmup = QUICK_SETTINGS, 2, 1
    rows = run(settings, names, device, repeats, warmup)
    info = machine()
    print(f"inference on {device.type}, {PERSONS} persons, median of {repeats} after {warmup} "
          f"warm-up; machine: {info['cpu']} ({info['cpu_count']} cores, "
          f"{info['torch_threads']} torch threads), torch {info['torch']}"
          + (f", {info['gpu']}" if device.type == 'cuda' else '') + '\n')
    print_table(rows, COLUMNS)
    n, c, t, v = PEAK_CONV_INPUT
    print(f"\npeak fp32: matmul {PEAK_MATMUL}x{PEAK_MATMUL} "
          f"{rows[0]['peak_matmul_gflop_per_s']:.0f} GFLOP/s, convolution {c}->{c} "
          f"{PEAK_CONV_KERNEL} on {list(PEAK_CONV_INPUT)} {rows[0]['peak_conv_gflop_per_s']:.0f}"
          f" GFLOP/s; percent_of_peak is against the larger")
    for line in summary(rows):
        print(line + (' (--quick shapes)' if args.quick else ''))
    settings_out = dict(joints=JOINTS, classes=NUM_CLASSES, repeats=repeats, warmup=warmup,
                        quick=args.quick)
    path = write_csv(f'{args.out}_{device.type}', rows, settings_out, args.results_dir)
    print(f'\nwritten {path}')


if __name__ == '__main__':
    main()
