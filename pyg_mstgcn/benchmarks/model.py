"""Whole-model benchmark: the canonical MST-GCN (NTU RGB+D, 10 multi-scale blocks, 60
classes), training step (forward and backward timed apart, after zeroed gradients) and
inference (forward without gradients), in samples/s, with the peak memory of a training step:
the dense backend, the sparse backend on skeleton-only and on full adjacency, and the einsum
transcription of the original network (the independent reference of our tests) for
comparison. On CUDA, fp32 and automatic mixed precision (bf16 and fp16 autocast). With
--compile, our variants are torch.compile'd (training only: the first warm-up steps compile).

Each training step also reports the process's CPU seconds (``train_cpu_s``, all threads), the
part of them in the operating system's kernel (``train_system_s``) and the minor page faults
(``train_page_faults``): a model whose temporaries are freshly mapped by the allocator every
step pays for the kernel's zeroing of those pages in wall time, which the CPU figures tell
apart from the arithmetic."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pyg_mstgcn.benchmarks import original_reference
from pyg_mstgcn.benchmarks.runner import (Case, add_output_args, checked_device, median_times,
                                          peak_memory_mib, print_table, synchronize,
                                          time_forward_backward, write_csv)
from pyg_mstgcn.data import from_dense
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.models import MSTGCN
from pyg_mstgcn.train.runtime import autocast

#: (name, backend, adjacency) of our model; the reference is added as 'einsum reference'.
VARIANTS = (('dense/full', 'dense', 'full'), ('sparse/skeleton', 'sparse', 'skeleton'),
            ('sparse/full', 'sparse', 'full'))
#: Precision names and the trainer's ``amp`` setting for each (autocast on CUDA).
PRECISIONS = {'fp32': None, 'bf16': 'bf16', 'fp16': 'fp16'}
#: Appended to the name of a torch.compile'd variant.
COMPILED = ' compiled'


def _models(device: torch.device, batch_size: int, frames: int, include_reference: bool,
            variants: Sequence[str], compile: bool
            ) -> List[Tuple[str, torch.nn.Module, object, Callable[[object], Tensor]]]:
    """(name, model, input, logits of the output) of every variant."""
    torch.manual_seed(0)
    x = torch.randn(batch_size, 3, frames, 25, 2)
    batch = from_dense(x, 'ntu-rgb+d').to(device)
    models = []
    for name, backend, adjacency in VARIANTS:
        if name not in variants:
            continue
        model = MSTGCN(60, backend=backend, adjacency=adjacency).to(device).train()
        if compile:
            name, model = name + COMPILED, torch.compile(model)
        models.append((name, model, batch, lambda out: out))
    if include_reference:
        reference = original_reference.OriginalMSTGCN(
            num_class=60, num_point=25, num_person=2,
            block_args=original_reference.NTU_BLOCK_ARGS,
            graph='graph.ntu_rgb_d.Graph').to(device).train()
        models.append(('einsum reference', reference, x.to(device), lambda out: out[1]))
    return models


def run(batch_size: int, frames: int, repeats: int, warmup: int, device: torch.device,
        precisions: Sequence[str], include_reference: bool,
        variants: Sequence[str] = tuple(v[0] for v in VARIANTS), compile: bool = False
        ) -> List[Dict[str, object]]:
    rows = []
    models = _models(device, batch_size, frames, include_reference, variants, compile)
    for precision in precisions:
        amp = PRECISIONS[precision]
        if compile:   # each precision compiles anew: keep dynamo under its recompile limit
            torch._dynamo.reset()
        train: Dict[str, Case] = {}
        infer: Dict[str, Callable[[], object]] = {}
        for name, model, inputs, logits_of in models:
            def forward(model=model, inputs=inputs, logits_of=logits_of) -> Tensor:
                with autocast(device, amp):
                    return logits_of(model(inputs)).float()

            def inference(forward=forward) -> None:
                with torch.no_grad():
                    forward()

            train[name] = Case(forward, list(model.parameters()))
            if not name.endswith(COMPILED):   # no-grad calls would compile a second graph
                infer[name] = inference
        timings = time_forward_backward(train, device, warmup, repeats)
        inference_s = median_times(infer, device, warmup, repeats)
        for name, model, *_ in models:
            timing = timings[name]
            row = {'model': name, 'device': device.type, 'precision': precision,
                   'batch': batch_size, 'frames': frames}
            if timing.error:
                rows.append({**row, 'status': f'failed: {timing.error}'})
                continue
            inference = {'inference_s': inference_s[name],
                         'inference_samples_per_s': batch_size / inference_s[name]} \
                if name in inference_s else {}
            rows.append({**row, 'status': 'ok', 'forward_s': timing.forward_s,
                         'backward_s': timing.backward_s, 'train_step_s': timing.total_s,
                         'train_samples_per_s': batch_size / timing.total_s, **inference,
                         'train_peak_mib': peak_memory_mib(train[name], device),
                         'train_cpu_s': timing.cpu_s, 'train_system_s': timing.system_s,
                         'train_page_faults': timing.page_faults})
    return rows


#: Operator groups of the profile: (name, the aten operators it sums).
PROFILE_GROUPS = (
    ('convolution forward', ('aten::mkldnn_convolution', 'aten::slow_conv_dilated2d',
                             'aten::cudnn_convolution')),
    ('convolution backward', ('aten::convolution_backward',)),
    ('batch norm forward', ('aten::native_batch_norm', 'aten::cudnn_batch_norm')),
    ('batch norm backward', ('aten::native_batch_norm_backward',
                             'aten::cudnn_batch_norm_backward')),
    ('graph mixing (bmm)', ('aten::bmm',)),
    ('activation', ('aten::relu', 'aten::relu_', 'aten::clamp_min', 'aten::clamp_min_',
                    'aten::threshold_backward')),
    ('copies, sums, concatenation', ('aten::copy_', 'aten::add', 'aten::add_', 'aten::cat',
                                     'aten::sum')),
)


def profile_training_step(models, device: torch.device, steps: int = 3
                          ) -> List[Dict[str, object]]:
    """The self time per training step (ms, forward and backward) of each model in the
    operator groups of :data:`PROFILE_GROUPS` and in total, from :mod:`torch.profiler`."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda'
                                           else [])
    per_model = {}
    for name, model, inputs, logits_of in models:
        case = Case(lambda model=model, inputs=inputs, logits_of=logits_of:
                    logits_of(model(inputs)).float(), list(model.parameters()))
        case.step()
        with profile(activities=activities) as prof:
            for _ in range(steps):
                case.step()
            synchronize(device)
        self_ms = {e.key: (e.self_device_time_total if device.type == 'cuda'
                           else e.self_cpu_time_total) / 1e3 / steps
                   for e in prof.key_averages()}
        per_model[name] = self_ms
    rows = []
    for group, ops in PROFILE_GROUPS + (('total', None),):
        row: Dict[str, object] = {'operators': group}
        for name, self_ms in per_model.items():
            row[f'{name} (ms)'] = sum(self_ms.values()) if ops is None else \
                sum(self_ms.get(op, 0.0) for op in ops)
        rows.append(row)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = ArgumentParser(prog='python -m benchmarks.model', description=__doc__)
    parser.add_argument('--batch-size', type=int, default=None,
                        help='sequences per batch (8 on the CPU, 64 on CUDA)')
    parser.add_argument('--frames', type=int, default=None,
                        help='frames per sequence (64 on the CPU, 300 on CUDA)')
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats, median (5)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed warm-up steps (2)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help="'cpu' or 'cuda' (cpu)")
    parser.add_argument('--precision', nargs='+', choices=sorted(PRECISIONS), default=None,
                        help='fp32, and on CUDA bf16/fp16 autocast (fp32 on the CPU, all '
                             'three on CUDA)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: batch 2, 16 frames, 1 warm-up, 1 repeat')
    parser.add_argument('--no-reference', action='store_true',
                        help='skip the einsum reference implementation')
    parser.add_argument('--variants', nargs='+', choices=[v[0] for v in VARIANTS],
                        default=[v[0] for v in VARIANTS], help='our variants to time (all)')
    parser.add_argument('--compile', action='store_true',
                        help="time our variants torch.compile'd (named '... compiled'; "
                             'training only, the reference stays eager; the warm-up steps '
                             'compile, so keep --warmup at 1 or more)')
    parser.add_argument('--profile', action='store_true',
                        help='instead of timing: the self time of a training step by '
                             'operator group (convolution, batch norm, graph mixing, ...) '
                             'for each model, from torch.profiler (CSV model_profile_*)')
    add_output_args(parser, 'model', ', the device appended')
    args = parser.parse_args(argv)
    device = checked_device(parser, args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = device.type == 'cuda'
    batch_size = args.batch_size or (64 if cuda else 8)
    frames = args.frames or (300 if cuda else 64)
    precisions = args.precision or (['fp32', 'bf16', 'fp16'] if cuda else ['fp32'])
    if not cuda and precisions != ['fp32']:
        parser.error('--precision: mixed precision is benchmarked on CUDA only')
    repeats, warmup = args.repeats, args.warmup
    if args.quick:
        batch_size, frames, repeats, warmup = 2, 16, 1, 1
    if args.profile:
        models = _models(device, batch_size, frames, not args.no_reference, args.variants,
                         args.compile)
        rows = profile_training_step(models, device)
        print_table(rows, list(rows[0]))
        settings = dict(batch=batch_size, frames=frames, persons=2, joints=25,
                        quick=args.quick, compile=args.compile, steps=3)
        path = write_csv(f'{args.out}_profile_{device.type}', rows, settings,
                         args.results_dir)
        print(f'\nwritten {path}')
        return
    rows = run(batch_size, frames, repeats, warmup, device, precisions, not args.no_reference,
               args.variants, args.compile)
    print_table(rows, ['model', 'precision', 'batch', 'frames', 'forward_s', 'backward_s',
                       'train_samples_per_s', 'inference_samples_per_s', 'train_peak_mib',
                       'train_cpu_s', 'train_system_s', 'train_page_faults', 'status'])
    settings = dict(persons=2, joints=25, repeats=repeats, warmup=warmup, quick=args.quick,
                    compile=args.compile)
    path = write_csv(f'{args.out}_{device.type}', rows, settings, args.results_dir)
    print(f'\nwritten {path}')


if __name__ == '__main__':
    main()
