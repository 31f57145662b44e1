"""``python -m pyg_mstgcn.export``: a checkpoint's network as an ONNX file or a torch.export
program, for deployment without this library's training code."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

from pyg_mstgcn.data.classes import LABELS_HELP
from pyg_mstgcn.errors import ArgumentParser, InputError, report
from pyg_mstgcn.export.exporting import (DEFAULT_FRAMES, DEFAULT_OPSET, FORMATS, TOLERANCE,
                                         ExportError, check_program_frames, export_onnx,
                                         export_program, require_onnx)
from pyg_mstgcn.export.metadata import INPUT_AXES, deploy_info

EPILOG = f"""\
The network is the checkpoint's inference model (batch norms folded, A + B constant; the same
logits). Input: x [{INPUT_AXES}] float32, N and T dynamic; output: logits [N, classes].
Before the file is written, its logits are compared with the eager model's on the example
and on other batch sizes and frame counts (relative difference at most {TOLERANCE:g}); ONNX
files also pass onnx.checker. The metadata (layout, persons, channels, stream, evaluation
transforms, class names, network) travel in the file: predict reads them.

examples:
  python -m pyg_mstgcn.export --weights runs/ntu60_xsub_joint/best.pt --out mstgcn.onnx
  python -m pyg_mstgcn.export --weights best.pt --out mstgcn.pt2 --format torch-export
  python -m pyg_mstgcn.predict --weights mstgcn.onnx S001C001P001R001A011.skeleton

exit status: 0 written, 1 the check failed, 2 bad input (one line on stderr).
"""


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog='python -m pyg_mstgcn.export', description=__doc__, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--weights', required=True, metavar='CKPT',
                   help='a checkpoint of the trainer (best.pt, last.pt) or of '
                        'python -m pyg_mstgcn.convert')
    p.add_argument('--out', required=True, metavar='FILE',
                   help='the file to write (.onnx, .pt2)')
    p.add_argument('--format', choices=tuple(FORMATS), default=None,
                   help='onnx or torch-export (default: from the suffix of --out, else onnx)')
    p.add_argument('--opset', type=int, default=DEFAULT_OPSET, metavar='N',
                   help='ONNX opset (default: %(default)s)')
    p.add_argument('--batch', type=int, default=1, metavar='N',
                   help='batch size of the example input (default: %(default)s; the batch '
                        'axis stays dynamic)')
    p.add_argument('--frames', type=int, default=DEFAULT_FRAMES, metavar='T',
                   help='frames of the example input, recorded in the metadata (default: '
                        '%(default)s; the frame axis stays dynamic)')
    p.add_argument('--labels', default=None, metavar='FILE', help=LABELS_HELP)
    p.add_argument('--no-check', action='store_true',
                   help='skip the comparison with the eager model')
    return p


def _format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return args.format
    suffix = Path(args.out).suffix.lower()
    return next((name for name, s in FORMATS.items() if s == suffix), 'onnx')


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        from pyg_mstgcn.data.classes import class_names as read_names
        from pyg_mstgcn.train.checkpoint import load_model
        fmt = _format(args)
        if fmt == 'onnx':
            require_onnx(check=not args.no_check)
        if args.opset < 17 or args.opset > 23:
            raise InputError(f'--opset must be between 17 and 23 (got {args.opset})')
        for name in ('batch', 'frames'):
            if getattr(args, name) < 1:
                raise InputError(f'--{name} must be a positive integer (got '
                                 f'{getattr(args, name)})')
        model, weights = load_model(args.weights)
        names = read_names(args.labels) if args.labels else weights.class_names
        if names is not None and len(names) != model.num_classes:
            raise InputError(f'{len(names)} class names for {model.num_classes} classes')
        info = deploy_info(model, args.frames, weights.config, names, str(args.weights))
        if fmt == 'torch-export':   # refused before the progress line, as the only line
            check_program_frames(model, args.frames)
        start = time.perf_counter()
        print(f'exporting {args.weights} ({model.layout.name}, {model.num_classes} classes, '
              f'stream {info.stream}) as {fmt}...', file=sys.stderr, flush=True)
        if fmt == 'onnx':
            difference = export_onnx(model, args.out, info, args.batch, args.frames,
                                     args.opset, check=not args.no_check)
        else:
            difference = export_program(model, args.out, info, args.batch, args.frames,
                                        check=not args.no_check)
    except InputError as e:
        return report(e)
    except ExportError as e:
        return report(e, 1)
    except KeyboardInterrupt:
        return report('interrupted', 130)
    size = Path(args.out).stat().st_size / 2 ** 20
    checked = ('unchecked' if difference is None else
               f'logits equal to the eager model (largest relative difference '
               f'{difference:.1e})')
    print(f'written {args.out} ({fmt}, {size:.1f} MiB, {time.perf_counter() - start:.0f} s): '
          f'input x [{INPUT_AXES}] = [N, {info.in_channels}, T, {info.num_joints}, '
          f'{info.num_person}], N and T dynamic; {checked}')
    print(f'run it: python -m pyg_mstgcn.predict --weights {args.out} INPUT')
    return 0


if __name__ == '__main__':
    sys.exit(main())
