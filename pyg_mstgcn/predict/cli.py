"""``python -m pyg_mstgcn.predict``: class names for skeleton sequences in any common format,
from one trained checkpoint or several fused."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from pyg_mstgcn.data.classes import LABELS_HELP
from pyg_mstgcn.errors import ArgumentParser, InputError, report
from pyg_mstgcn.io import file_kind, write_text_atomic
from pyg_mstgcn.predict.inputs import FORMATS, layout_of_keypoints
from pyg_mstgcn.predict.recognizer import EXPORTED_SUFFIXES, RUNTIMES, Recognizer
from pyg_mstgcn.predict.sequences import check_window

#: The windows of --stdin when --window / --stride are not given.
STDIN_WINDOW, STDIN_STRIDE = 64, 16
#: Suffixes of checkpoints and exported files, which --weights takes before the inputs.
CHECKPOINT_SUFFIXES = ('.pt', '.pth', '.ckpt', '.tar') + tuple(EXPORTED_SUFFIXES)

EPILOG = """\
inputs (--format, detected when left out):
  ntu        a raw NTU RGB+D .skeleton file
  nw_ucla    an NW-UCLA JSON sample {"file_name", "skeletons": [T][20][3], "label"}
  kinetics   a Kinetics-Skeleton clip (st-gcn's JSON)
  openpose   a folder of OpenPose per-frame JSON (BODY_25 or COCO-18)
  coco       a JSON list of frames, each a list of people, each [[x, y, score], ...] (COCO-17
             or another pose layout by its keypoint count) or {"keypoints": ...}
  pyskl      a PYSKL / mmaction2 annotation pickle (--split NAME, or every annotation)
  ctrgcn     a CTR-GCN .npz, e.g. NTU60_CS.npz (--split val, its x_test, by default; or train)
  npy        a preprocessed array [C, T, V, M] or [N, C, T, V, M]
  arrays     a folder of preprocessed arrays (--split, default val)
  A folder that is neither arrays nor OpenPose frames is read file by file.

output (--out FILE.json): a list of records, one per sequence (per window with --window):
  {"input": path, "sample": name, "start": first frame, "end": frame after the last,
   "top": [{"label": int, "name": str or null, "score": probability}, ...],
   "logits": [float, ...]}

examples:
  python -m pyg_mstgcn.predict --weights runs/ntu60_xsub_joint/best.pt S001C001P001R001A011.skeleton
  python -m pyg_mstgcn.predict --weights mstgcn.onnx S001C001P001R001A011.skeleton
  python -m pyg_mstgcn.predict --weights joint.pt bone.pt --fuse-weights 1 1 clips/ --out p.json
  python -m pyg_mstgcn.predict --weights kinetics.pt poses.json --frame-size 1920 1080 \\
      --window 64 --stride 16
  my_pose_estimator | python -m pyg_mstgcn.predict --weights kinetics.pt --stdin --window 64

exit status: 0 done, 2 bad input (one line on stderr).
"""


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog='python -m pyg_mstgcn.predict', description=__doc__,
                       epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('inputs', nargs='*', metavar='INPUT',
                   help='files or folders to recognise (see inputs below)')
    p.add_argument('--weights', nargs='+', required=True, metavar='CKPT',
                   help='checkpoints (best.pt, last.pt, or converted) or exported files '
                        '(.onnx, .pt2 of python -m pyg_mstgcn.export); several are fused. The '
                        'inputs may follow them directly')
    p.add_argument('--runtime', choices=RUNTIMES, default=None,
                   help='torch (PyTorch) or onnx (ONNX Runtime; a checkpoint is exported in '
                        'memory first); default: .onnx files onnx, the others torch')
    p.add_argument('--fuse-weights', nargs='+', default=None, metavar='W',
                   help='one weight per checkpoint (default: all 1), as the ensemble fuses; '
                        'the inputs may follow them directly')
    p.add_argument('--top-k', type=int, default=5, metavar='K',
                   help='classes per prediction (default: %(default)s)')
    p.add_argument('--out', default=None, metavar='FILE.json', help='write the records here')
    p.add_argument('--format', default=None, metavar='FORMAT',
                   help=f"the inputs' format: {', '.join(FORMATS)} (default: detected)")
    p.add_argument('--labels', default=None, metavar='FILE', help=LABELS_HELP)
    p.add_argument('--window', type=int, default=None, metavar='W',
                   help='predict on windows of W frames (default: whole sequences)')
    p.add_argument('--stride', type=int, default=None, metavar='S',
                   help='frames between windows (default: W)')
    p.add_argument('--frame-size', nargs=2, type=float, default=None, metavar=('W', 'H'),
                   help='the frame size of 2-D pixel coordinates, which are divided by it')
    p.add_argument('--split', default=None, help='pyskl / arrays / ctrgcn: the split to read')
    p.add_argument('--device', default=None, help='cpu, cuda, cuda:N (default: CUDA if any)')
    p.add_argument('--batch-size', type=int, default=16, metavar='N',
                   help='sequences per forward pass (default: %(default)s)')
    p.add_argument('--stdin', action='store_true',
                   help='read live frames as JSON lines (one frame per line: a list of people, '
                        "each a list of keypoints, COCO-17 or the model's layout) and print one "
                        f'JSON line per window (--window, default {STDIN_WINDOW}; --stride, '
                        f'default {STDIN_STRIDE})')
    p.add_argument('--no-progress', action='store_true',
                   help='hide the progress bars (shown on a terminal only)')
    return p


def format_table(records: Sequence[dict], top_k: int) -> str:
    """The predictions as an aligned table: input, sample, frames, then the best classes."""
    rows = [('input', 'sample', 'frames', 'top classes')]
    for r in records:
        best = ', '.join(f"{t['name'] if t['name'] is not None else t['label']} "
                         f"{100 * t['score']:.1f}%" for t in r['top'][:top_k])
        rows.append((Path(r['input']).name, r['sample'], f"{r['start']}-{r['end']}", best))
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    return '\n'.join('  '.join(str(v).ljust(w) for v, w in zip(row[:3], widths)) + '  ' +
                     row[3] for row in rows)


def visualize_command(args: argparse.Namespace) -> str:
    """The command that animates the first input with its predictions."""
    words = ['python -m pyg_mstgcn.visualize skeleton', args.inputs[0], '--weights',
             args.weights[0]]
    for option in ('format', 'split', 'labels', 'frame_size', 'window', 'stride'):
        value = getattr(args, option)
        if value is not None:
            values = [f'{v:g}' for v in value] if option == 'frame_size' else [str(value)]
            words += [f"--{option.replace('_', '-')}"] + values
    return ' '.join(words[:1] + [shlex.quote(w) for w in words[1:]] + ['--out clip.gif'])


def _is_checkpoint(given: str) -> bool:
    path = Path(given)
    return path.suffix.lower() in CHECKPOINT_SUFFIXES or (
        path.is_file() and file_kind(path).startswith('a PyTorch checkpoint'))


def _is_number(given: str) -> bool:
    try:
        float(given)
    except ValueError:
        return False
    return True


def split_inputs(args: argparse.Namespace) -> None:
    """``--weights A.pt B.pt INPUT ...`` and ``--fuse-weights 1 0.5 INPUT ...``: the options
    take their leading values (checkpoints by suffix or content, numbers); what follows them
    are inputs."""
    for option, belongs, what in (
            ('weights', _is_checkpoint, 'a checkpoint (a .pt file written by the trainer or by '
                                        'python -m pyg_mstgcn.convert)'),
            ('fuse_weights', _is_number, 'a number')):
        values = getattr(args, option)
        if values is None:
            continue
        taken = next((i for i, v in enumerate(values) if not belongs(v)), len(values))
        if taken == 0:
            raise InputError(f"--{option.replace('_', '-')} {values[0]}: not {what}")
        args.inputs = values[taken:] + args.inputs
        setattr(args, option, values[:taken])
    if args.fuse_weights is not None:
        args.fuse_weights = [float(v) for v in args.fuse_weights]


def _check(args: argparse.Namespace) -> None:
    for name in ('top_k', 'batch_size'):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be a positive integer "
                             f"(got {value})")
    if args.frame_size is not None and min(args.frame_size) <= 0:
        raise InputError(f'--frame-size must be two positive numbers (got {args.frame_size})')
    if args.stdin and args.inputs:
        raise InputError('give inputs or --stdin, not both')
    if not args.stdin and not args.inputs:
        raise InputError('no input: give files or folders, or --stdin')
    if args.stdin:   # live frames: windows by default
        args.window = STDIN_WINDOW if args.window is None else args.window
        args.stride = STDIN_STRIDE if args.stride is None else args.stride
    check_window(args.window, args.stride)


def _stdin_predictions(recognizer: Recognizer, args: argparse.Namespace) -> Iterator[dict]:
    """One record per window of the frames read from stdin (see ``--stdin``)."""
    online, empty, shape = None, 0, None   # frames without people before the first person
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            frame = json.loads(line)
            people = frame.get('people', frame.get('keypoints')) if isinstance(frame, dict) \
                else frame
            array = np.asarray(people, dtype=np.float64)
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
            raise InputError(f'stdin, line {number}: not a frame (a JSON list of people, each '
                             f'a list of [x, y, score] keypoints)') from None
        if array.size == 0:
            array = None
        elif array.ndim == 2:
            array = array[None]
        if array is not None and (array.ndim != 3 or array.shape[-1] != 3):
            raise InputError(f'stdin, line {number}: a frame of shape {list(array.shape)}; '
                             f'expected people x keypoints x 3')
        if online is None:
            if array is None:
                empty += 1
                continue
            layout = layout_of_keypoints(array.shape[1], recognizer.layout, 'stdin')
            online = recognizer.stream(args.window, args.stride, layout,
                                       tuple(args.frame_size) if args.frame_size else None,
                                       args.top_k)
            shape = array.shape[1:]
            frames = [np.zeros((1, ) + shape)] * empty + [array]
        else:
            frames = [array if array is not None else np.zeros((1, ) + shape)]
        for frame in frames:
            prediction = online.push(frame)
            if prediction is not None:
                yield prediction.to_dict()


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        split_inputs(args)
        _check(args)
        if args.runtime == 'onnx' and any(Path(w).suffix.lower() != '.onnx'
                                          for w in args.weights):
            print('exporting the checkpoints to ONNX in memory (about 20 s each; export them '
                  'once with python -m pyg_mstgcn.export)', file=sys.stderr, flush=True)
        recognizer = Recognizer.from_checkpoint(args.weights, args.device, args.fuse_weights,
                                                args.labels, args.batch_size, args.runtime)
        if args.stdin:
            for record in _stdin_predictions(recognizer, args):
                print(json.dumps(record), flush=True)
            return 0
        frame_size = tuple(args.frame_size) if args.frame_size else None
        sequences = list(tqdm(recognizer.sequences(args.inputs, args.format, frame_size,
                                                   args.split), desc='reading', unit='input',
                              disable=True if args.no_progress else None, leave=False,
                              file=sys.stderr))
        records = [p.to_dict() for p in tqdm(
            recognizer.iter_predict(sequences, args.top_k, args.window, args.stride),
            desc='predicting', unit='prediction', disable=True if args.no_progress else None,
            leave=False,
            file=sys.stderr)]
    except InputError as e:
        return report(e)
    except KeyboardInterrupt:
        return report('interrupted', 130)
    if args.out:   # before the table, which a closed pipe (| head) may cut short
        write_text_atomic(Path(args.out), json.dumps(records, indent=1) + '\n')
    try:
        print(format_table(records, min(args.top_k, 3)))
        if args.out:
            print(f'{len(records)} predictions written to {args.out}')
        print(f'see one: {visualize_command(args)}')
    except BrokenPipeError:   # the reader of the table has gone: nothing is lost
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == '__main__':
    sys.exit(main())
