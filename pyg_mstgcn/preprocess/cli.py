"""Command line: ``python -m preprocess {ntu60,ntu120,kinetics,nw_ucla,streams} ...`` (see
--help); the same as ``python -m pyg_mstgcn.preprocess`` and ``mstgcn-preprocess``."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.io import class_names_path, write_class_names
from pyg_mstgcn.preprocess.kinetics import NUM_JOINTS as KINETICS_JOINTS
from pyg_mstgcn.preprocess.kinetics import (NUM_PERSON_OUT, count_frames, load_kinetics_sample,
                                            read_label_file)
from pyg_mstgcn.preprocess.missing import missing_samples, read_name_list
from pyg_mstgcn.preprocess.ntu import NUM_JOINTS as NTU_JOINTS
from pyg_mstgcn.preprocess.ntu import NUM_PERSONS, load_ntu_sample
from pyg_mstgcn.preprocess import nw_ucla
from pyg_mstgcn.preprocess.pipeline import (DISK_FULL, Sample, Summary, WorkerDied, log,
                                            write_splits)
from pyg_mstgcn.preprocess.splits import BENCHMARKS, SPLITS, in_dataset, parse_name, split_of

#: What an interrupted run leaves, and what to do (unfinished splits are temporary files).
RESUME = 'finished splits are kept; run the same command again to go on'

EXAMPLES = """examples:
  python -m preprocess ntu60 --raw data/nturgbd_raw/nturgb+d_skeletons --out data/ntu60
  python -m preprocess ntu120 --raw data/nturgbd_raw/nturgb+d_skeletons \\
      --raw data/nturgbd_raw/nturgb+d_skeletons120 --out data/ntu120
  python -m preprocess kinetics --raw data/kinetics_raw --out data/kinetics
  python -m preprocess nw_ucla --raw data/NW-UCLA/all_sqe --out data/nw_ucla
  python -m preprocess streams --in data/ntu60
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--out', required=True, type=Path, metavar='DIR',
                        help='output folder (created if needed); finished splits already in it '
                             'are skipped, so an interrupted run can simply be restarted')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1, metavar='N',
                        help='worker processes (default: all cores, %(default)s here)')
    parser.add_argument('--max-frames', type=int, default=300, metavar='T',
                        help='length of the time axis; longer sequences are truncated with a '
                             'warning naming the sample (default: %(default)s, as the '
                             'original)')
    parser.add_argument('--keep-long', action='store_true',
                        help='keep sequences longer than --max-frames whole: the time axis '
                             'then grows to the longest sequence')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog='python -m preprocess', epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Turns the raw skeleton datasets into training arrays in the layout of '
                    'the original MST-GCN / 2s-AGCN tools: {train,val}_data_joint.npy '
                    '(float32 [N, 3, T, V, M], M = 2 persons, 1 for NW-UCLA), '
                    '{train,val}_label.pkl ((names, labels)) and {train,val}_num_frames.npy, '
                    'plus summary.json.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for name, help_text in (('ntu60', 'NTU RGB+D 60: benchmarks xsub and xview'),
                            ('ntu120', 'NTU RGB+D 120: benchmarks xsub and xset')):
        sub = commands.add_parser(name, help=help_text, description=help_text + '. Writes '
                                  '{out}/<benchmark>/{train,val}_*; the built-in list of '
                                  'samples with missing skeletons is left out.')
        sub.add_argument('--raw', required=True, type=Path, action='append', metavar='DIR',
                         help='folder of .skeleton files' + (
                             '; give it twice for the two NTU RGB+D 120 folders (S001-S017, '
                             'S018-S032)' if name == 'ntu120' else ''))
        sub.add_argument('--ignore', type=Path, action='append', default=[], metavar='FILE',
                         help='more sample names to leave out, one per line (repeatable)')
        _add_common(sub)
    sub = commands.add_parser('kinetics', help='Kinetics-Skeleton (st-gcn release)',
                              description='Kinetics-Skeleton: writes {out}/{train,val}_*.')
    sub.add_argument('--raw', required=True, type=Path, metavar='DIR',
                     help='folder holding kinetics_train/, kinetics_val/ and '
                          'kinetics_{train,val}_label.json (a missing part is skipped)')
    _add_common(sub)
    sub = commands.add_parser(
        'nw_ucla', help='NW-UCLA (CTR-GCN release): views 1, 2 train, view 3 val',
        description='NW-UCLA, the JSON files of the CTR-GCN release (all_sqe/): writes '
                    '{out}/{train,val}_* with the coordinates as given (camera space, metres; '
                    'the recipes nw_ucla_* normalise per sample) and class_names.txt. Each '
                    'file is named aXX_sXX_eXX_vXX.json: action (a01-a12 without a07, a10), '
                    'subject, repetition, view (the camera: v01, v02 -> train, v03 -> val, '
                    "CTR-GCN's protocol); a file whose name does not parse is left out.")
    sub.add_argument('--raw', required=True, type=Path, metavar='DIR',
                     help='folder of the *.json files, one per sample')
    _add_common(sub)
    sub = commands.add_parser('streams', help='write bone and motion streams to disk',
                              description='Writes {split}_data_bone.npy, '
                                          '{split}_data_joint_motion.npy and '
                                          '{split}_data_bone_motion.npy next to every '
                                          '{split}_data_joint.npy under DIR (the original '
                                          "tools' files); existing ones are skipped.")
    sub.add_argument('--in', dest='input', required=True, type=Path, metavar='DIR',
                     help='folder searched recursively for *_data_joint.npy')
    sub.add_argument('--layout', default=None, metavar='NAME',
                     help='skeleton layout of the bone pairs: ntu-rgb+d, openpose or nw-ucla '
                          '(default: '
                          'from the number of joints, 25 or 18)')
    sub.add_argument('--streams', nargs='+', default=None, metavar='STREAM',
                     choices=('bone', 'joint_motion', 'bone_motion'),
                     help='streams to write (default: bone joint_motion bone_motion)')
    sub.add_argument('--chunk', type=int, default=256, metavar='N',
                     help='samples per chunk held in memory (default: %(default)s)')
    sub.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser


def _first_line_int(path: str) -> int:
    """The frame count on a ``.skeleton`` file's first line (0 when unreadable)."""
    try:
        with open(path, 'rb') as f:
            return int(f.readline())
    except (OSError, ValueError):
        return 0  # the worker reports the problem


def _settings(args) -> Dict:
    return {'max_frames': args.max_frames, 'keep_long': args.keep_long,
            'workers': args.workers}


def _unparsed_name(summary: Summary, path: str, error: ValueError, reason: str) -> None:
    """A file whose name is not a sample name of the dataset: left out, with a warning."""
    log.warning(f'{path}: {error} -> left out')
    summary.skip(reason)
    summary.skipped_files.append({'file': path, 'reason': reason, 'severity': 'warning',
                                  'message': str(error)})


def run_ntu(dataset: str, args) -> int:
    """``ntu60`` / ``ntu120``: every benchmark of the dataset from the raw folder(s)."""
    for folder in args.raw:
        if not folder.is_dir():
            log.error(f'input folder {folder} does not exist (expected a folder of '
                      f'.skeleton files)')
            return 2
    summary = Summary(dataset, [str(p) for p in args.raw], str(args.out),
                      dict(_settings(args), ignore=[str(p) for p in args.ignore]))
    missing = missing_samples(dataset)
    ignored = frozenset().union(*(read_name_list(p) for p in args.ignore))
    seen = set()
    samples: List[Sample] = []
    for folder in args.raw:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            name = entry.name
            if not name.endswith('.skeleton') or not entry.is_file():
                continue
            try:
                info = parse_name(name)
            except ValueError as error:
                _unparsed_name(summary, entry.path, error, 'not an NTU sample name')
                continue
            if name in seen:
                log.warning(f'{entry.path}: a file of this name was found in an earlier '
                            f'--raw folder -> left out')
                summary.skip('duplicate name')
                continue
            seen.add(name)
            stem = name[:-len('.skeleton')]
            if not in_dataset(info, dataset):
                summary.skip(f'not part of {dataset}')
            elif stem in missing:
                summary.skip('on the missing-skeleton list')
            elif stem in ignored:
                summary.skip('on an --ignore list')
            else:
                targets = tuple(f'{benchmark}/{split_of(info, dataset, benchmark)}'
                                for benchmark in BENCHMARKS[dataset])
                samples.append(Sample(entry.path, name, info.label, targets))
    outside = summary.skipped.get(f'not part of {dataset}', 0)
    if outside:
        log.warning(f'{outside} files are not part of {dataset} (setup or action number out '
                    f'of range) -> left out')
    log.info(f'{dataset}: {len(samples)} samples to use, {sum(summary.skipped.values())} '
             f'left out by name')
    targets = {f'{benchmark}/{split}': (args.out / benchmark, split)
               for benchmark in BENCHMARKS[dataset] for split in SPLITS}
    write_splits(samples, targets, summary, load_ntu_sample,
                 (3, NTU_JOINTS, NUM_PERSONS), max(1, args.workers), args.max_frames,
                 _first_line_int if args.keep_long else None, not args.no_progress)
    return _finish(summary, args.out)


def run_kinetics(args) -> int:
    """``kinetics``: the train and val parts found in the raw folder."""
    if not args.raw.is_dir():
        log.error(f'input folder {args.raw} does not exist (expected the folder holding '
                  f'kinetics_train/, kinetics_val/ and their label files)')
        return 2
    summary = Summary('kinetics', [str(args.raw)], str(args.out), _settings(args))
    samples: List[Sample] = []
    targets = {}
    for split in SPLITS:
        folder = args.raw / f'kinetics_{split}'
        label_file = args.raw / f'kinetics_{split}_label.json'
        if not folder.is_dir():
            log.warning(f'{folder} does not exist: no {split} split')
            continue
        try:
            labels = read_label_file(label_file)
        except (OSError, ValueError) as error:
            log.error(f'{split}: cannot use the label file: {error}')
            summary.splits[split] = {'status': f'not written: {error}', 'written': 0}
            continue
        targets[split] = (args.out, split)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.name.endswith('.json') or not entry.is_file():
                continue
            clip = entry.name[:-len('.json')]
            if clip not in labels:
                log.warning(f'{entry.path}: not in {label_file.name} -> left out')
                summary.skip('not in the label file')
                summary.skipped_files.append({'file': entry.path,
                                              'reason': 'not in the label file',
                                              'severity': 'warning',
                                              'message': f'not in {label_file}'})
                continue
            has_skeleton, label = labels[clip]
            if has_skeleton:
                samples.append(Sample(entry.path, entry.name, label, (split, ), (label, )))
            else:
                summary.skip('has_skeleton false in the label file')
    if targets:
        write_splits(samples, targets, summary, load_kinetics_sample,
                     (3, KINETICS_JOINTS, NUM_PERSON_OUT), max(1, args.workers),
                     args.max_frames, count_frames if args.keep_long else None,
                     not args.no_progress)
    else:
        log.error(f'no kinetics_train/ or kinetics_val/ folder with its label file in '
                  f'{args.raw}')
    return _finish(summary, args.out)


def run_nw_ucla(args) -> int:
    """``nw_ucla``: every JSON file of the raw folder, to train or val by its view."""
    if not args.raw.is_dir():
        log.error(f'input folder {args.raw} does not exist (expected the folder of NW-UCLA '
                  f'.json files, one per sample)')
        return 2
    files = sorted((entry for entry in os.scandir(args.raw)
                    if entry.name.endswith('.json') and entry.is_file()), key=lambda e: e.name)
    if not files:
        log.error(f'no .json file in {args.raw}; give the folder of the NW-UCLA samples '
                  f'(all_sqe/ of the CTR-GCN release)')
        return 1
    summary = Summary('nw_ucla', [str(args.raw)], str(args.out), _settings(args))
    samples: List[Sample] = []
    for entry in files:
        try:
            info = nw_ucla.parse_nw_ucla_name(entry.name)
        except ValueError as error:
            _unparsed_name(summary, entry.path, error, 'not an NW-UCLA sample name')
            continue
        stem = entry.name[:-len('.json')]
        samples.append(Sample(entry.path, stem, info.label, (info.split, ), (info.label, )))
    for split in nw_ucla.SPLITS:
        views = [v for v, s in nw_ucla.VIEW_SPLITS.items() if s == split]
        if not any(split in sample.targets for sample in samples):
            log.warning(f"{split}: no file of view {' or '.join(map(str, views))} in "
                        f"{args.raw}; the split is written empty")
    log.info(f'nw_ucla: {len(samples)} samples to use, {sum(summary.skipped.values())} left '
             f'out by name')
    write_splits(samples, {split: (args.out, split) for split in nw_ucla.SPLITS}, summary,
                 nw_ucla.load_nw_ucla_sample,
                 (3, nw_ucla.NUM_JOINTS, nw_ucla.NUM_PERSONS), max(1, args.workers),
                 args.max_frames, nw_ucla.count_frames if args.keep_long else None,
                 not args.no_progress)
    if summary.written:
        from pyg_mstgcn.data.classes import class_names  # imports PyTorch: only now
        write_class_names(class_names_path(args.out), class_names('nw_ucla'))
    return _finish(summary, args.out)


def _finish(summary: Summary, out: Path) -> int:
    """Prints and saves the summary; the exit status (1 when nothing is written or
    complete)."""
    out.mkdir(parents=True, exist_ok=True)
    path = summary.save(out)
    print(summary.report())
    print(f'summary written to {path}')
    done = summary.written or any(split['status'].startswith('already')
                                  for split in summary.splits.values())
    if not done:
        log.error('nothing could be written')
    return 0 if done else 1


def run_streams(args) -> int:
    from pyg_mstgcn.preprocess.streams import write_streams
    return write_streams(args.input, args.layout, args.streams, args.chunk,
                         progress=not args.no_progress)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for option in ('workers', 'max_frames', 'chunk'):
        if getattr(args, option, 1) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    for path in getattr(args, 'ignore', []):
        if not path.is_file():
            parser.error(f'--ignore {path}: no such file')
    logging.basicConfig(level=logging.INFO, format='%(levelname)s: %(message)s',
                        stream=sys.stderr)
    try:
        if args.command in ('ntu60', 'ntu120'):
            return run_ntu(args.command, args)
        if args.command == 'kinetics':
            return run_kinetics(args)
        if args.command == 'nw_ucla':
            return run_nw_ucla(args)
        return run_streams(args)
    except KeyboardInterrupt:
        log.error(f'interrupted: {RESUME}')
        return 130
    except WorkerDied as error:
        log.error(f'{error}; {RESUME}')
        return 1
    except OSError as error:  # the output folder cannot be written...
        if error.errno in DISK_FULL:
            log.error(f"the disk of {getattr(args, 'out', None) or args.input} is full: "
                      f'{error}; {RESUME} once there is room')
        else:
            log.error(f'cannot go on: {error}')
        return 1

