"""Preprocessing benchmark: NTU RGB+D ``.skeleton`` files to the training arrays of both
NTU RGB+D 60 benchmarks (xsub and xview).

``preprocess`` (bulk NumPy parsing, vectorised pre-normalisation, worker processes) is timed
against a loop-based baseline modelled on the original ``data_gen`` scripts: a dictionary per
text line, a Python loop per joint, one ``np.dot`` per joint and rotation, one process, and
every file parsed and normalised once per benchmark (as the original runs ``gendata`` for
each benchmark and split). Synthetic files in the real format (NTU-like lengths and body
counts) are generated in a temporary folder. Rows:

- ``parse``: file to ``[3, T, 25, 2]`` (parsing and body selection), one process;
- ``normalise``: ``pre_normalization`` of ``[3, 300, 25, 2]`` samples, one process;
- ``end to end``: the whole ``ntu60`` step (both benchmarks, all files written), ours with
  one and with ``--workers`` processes, on all files and on the baseline's subset; the
  baseline in one process.

Each row is the best of ``--repeats`` runs (other work on a shared machine only ever slows a
run down); ``cpu_s`` is the CPU time of that run, worker processes included.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pyg_mstgcn.benchmarks.runner import add_output_args, cpu_model, print_table, write_csv
from pyg_mstgcn.errors import ArgumentParser
from pyg_mstgcn.preprocess.cli import main as preprocess_main
from pyg_mstgcn.preprocess.normalize import pre_normalize
from pyg_mstgcn.preprocess.ntu import read_sample

NTU60_FILES = 56880
TRAIN_SUBJECTS = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}


# ------------------------------------------------------------------------------------------
# Synthetic .skeleton files in the real format

def _body_lines(rng: np.random.Generator, track: np.ndarray, body_id: int) -> List[str]:
    lines = [f'{body_id} 0 1 1 1 1 0 {rng.normal(0, 0.05):.7g} {rng.normal(0, 0.2):.7g} 2',
             '25']
    extra = np.column_stack([rng.uniform(200, 300, 25), rng.uniform(100, 200, 25),
                             rng.uniform(900, 1100, 25), rng.uniform(300, 500, 25),
                             rng.normal(0, 0.5, (25, 4))])
    for joint, more in zip(track, extra):
        lines.append(' '.join(f'{v:.7g}' for v in (*joint, *more)) + ' 2')
    return lines


def generate(folder: Path, num_files: int, seed: int = 0) -> Tuple[List[Path], int]:
    """Writes NTU-like files (lengths 32-300, mean about 90 frames; two people in the mutual
    actions 50-60; a spurious extra body now and then) and returns them and their frames."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths, frames = [], 0
    names = set()
    while len(paths) < num_files:
        setup, camera, subject = rng.integers(1, 18), rng.integers(1, 4), rng.integers(1, 41)
        replication, action = rng.integers(1, 3), rng.integers(1, 61)
        name = f'S{setup:03d}C{camera:03d}P{subject:03d}R{replication:03d}A{action:03d}'
        if name in names:
            continue
        names.add(name)
        T = int(np.clip(rng.gamma(4.0, 22.0), 32, 300))
        people = 2 if action >= 50 else 1
        tracks = []
        for p in range(people):
            pose = rng.normal(0, 0.3, (25, 3)) + (0.5 * p, 0.2, 3.0)
            tracks.append(pose + np.cumsum(rng.normal(0, 0.01, (T, 1, 3)), axis=0))
        ghost = (rng.integers(0, T), rng.integers(1, 10)) if rng.random() < 0.1 else None
        lines = [str(T)]
        for t in range(T):
            bodies = [track[t] for track in tracks]
            if ghost and ghost[0] <= t < ghost[0] + ghost[1]:
                bodies.append(rng.normal(0, 0.1, (25, 3)) + (1.0, 0.0, 4.0))
            lines.append(str(len(bodies)))
            for k, b in enumerate(bodies):
                lines.extend(_body_lines(rng, b, 72057594037931101 + k))
        path = folder / f'{name}.skeleton'
        path.write_bytes(('\r\n'.join(lines) + '\r\n').encode())
        paths.append(path)
        frames += T
    return sorted(paths), frames


# ------------------------------------------------------------------------------------------
# The loop-based baseline, modelled on the original data_gen scripts

JOINT_KEYS = ('x', 'y', 'z', 'depthX', 'depthY', 'colorX', 'colorY', 'orientationW',
              'orientationX', 'orientationY', 'orientationZ', 'trackingState')
BODY_KEYS = ('bodyID', 'clipedEdges', 'handLeftConfidence', 'handLeftState',
             'handRightConfidence', 'handRightState', 'isResticted', 'leanX', 'leanY',
             'trackingState')


def loop_read(path: Path) -> Dict:
    """A dictionary per line, as the original ``read_skeleton_filter``."""
    with open(path, 'r') as f:
        sequence = {'numFrame': int(f.readline()), 'frameInfo': []}
        for _ in range(sequence['numFrame']):
            frame = {'numBody': int(f.readline()), 'bodyInfo': []}
            for _ in range(frame['numBody']):
                body = {k: float(v) for k, v in zip(BODY_KEYS, f.readline().split())}
                body['numJoint'] = int(f.readline())
                body['jointInfo'] = []
                for _ in range(body['numJoint']):
                    joint = {k: float(v) for k, v in zip(JOINT_KEYS, f.readline().split())}
                    body['jointInfo'].append(joint)
                frame['bodyInfo'].append(body)
            sequence['frameInfo'].append(frame)
    return sequence


def _loop_energy(slot: np.ndarray) -> float:
    valid = slot[slot.sum(-1).sum(-1) != 0]
    if len(valid) == 0:
        return 0.0
    return valid[:, :, 0].std() + valid[:, :, 1].std() + valid[:, :, 2].std()


def loop_read_xyz(path: Path) -> np.ndarray:
    """Joint by joint into 4 body slots, then the 2 of highest energy: ``[3, T, 25, 2]``."""
    sequence = loop_read(path)
    data = np.zeros((4, sequence['numFrame'], 25, 3))
    for n, frame in enumerate(sequence['frameInfo']):
        for m, body in enumerate(frame['bodyInfo']):
            for j, joint in enumerate(body['jointInfo']):
                if m < 4 and j < 25:
                    data[m, n, j, :] = [joint['x'], joint['y'], joint['z']]
    energy = np.array([_loop_energy(slot) for slot in data])
    return data[energy.argsort()[::-1][0:2]].transpose(3, 1, 2, 0)


def _loop_rotation(vector: np.ndarray, target: Sequence[float]) -> np.ndarray:
    target = np.asarray(target, dtype=float)
    if np.abs(vector).sum() < 1e-6:
        angle = 0.0
    else:
        unit = vector / np.linalg.norm(vector)
        angle = np.arccos(np.clip(np.dot(unit, target / np.linalg.norm(target)), -1.0, 1.0))
    axis = np.cross(vector, target)
    if np.abs(axis).sum() < 1e-6 or abs(angle) < 1e-6:
        return np.eye(3)
    k = axis / math.sqrt(np.dot(axis, axis))
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def loop_pre_normalization(data: np.ndarray) -> np.ndarray:
    """On ``[N, C, T, V, M]`` (through an ``[N, M, T, V, C]`` view, as the original): sample
    by sample, person by person, frame by frame, one ``np.dot`` per joint."""
    s = np.transpose(data, [0, 4, 2, 3, 1])
    T = s.shape[2]
    for i_s, skeleton in enumerate(s):
        for i_p, person in enumerate(skeleton):
            if person.sum() == 0:
                continue
            if person[0].sum() == 0:
                moved = person[person.sum(-1).sum(-1) != 0].copy()
                person *= 0
                person[:len(moved)] = moved
            for i_f, frame in enumerate(person):
                if frame.sum() == 0 and person[i_f:].sum() == 0:
                    repeats = int(np.ceil((T - i_f) / i_f))
                    s[i_s, i_p, i_f:] = np.concatenate([person[:i_f]] * repeats, 0)[:T - i_f]
                    break
    for i_s, skeleton in enumerate(s):
        if skeleton.sum() == 0:
            continue
        center = skeleton[0][:, 1:2, :].copy()
        for i_p, person in enumerate(skeleton):
            if person.sum() == 0:
                continue
            mask = (person.sum(-1) != 0).reshape(T, -1, 1)
            s[i_s, i_p] = (s[i_s, i_p] - center) * mask
    for a, b, target in ((0, 1, (0, 0, 1)), (4, 8, (1, 0, 0))):
        for i_s, skeleton in enumerate(s):
            if skeleton.sum() == 0:
                continue
            R = _loop_rotation(skeleton[0, 0, b] - skeleton[0, 0, a], target)
            for i_p, person in enumerate(skeleton):
                if person.sum() == 0:
                    continue
                for i_f, frame in enumerate(person):
                    if frame.sum() == 0:
                        continue
                    for i_j, joint in enumerate(frame):
                        s[i_s, i_p, i_f, i_j] = np.dot(R, joint)
    return data


def loop_gendata(paths: Sequence[Path], out: Path) -> None:
    """Both NTU RGB+D 60 benchmarks, the original way: per benchmark and split, read every
    file of the split, normalise the whole array, save it."""
    for benchmark in ('xsub', 'xview'):
        folder = out / benchmark
        folder.mkdir(parents=True, exist_ok=True)
        for part in ('train', 'val'):
            chosen = []
            for path in paths:
                name = path.name
                subject, camera = int(name[9:12]), int(name[5:8])
                training = (subject in TRAIN_SUBJECTS if benchmark == 'xsub'
                            else camera in (2, 3))
                if training == (part == 'train'):
                    chosen.append(path)
            labels = [int(p.name[17:20]) - 1 for p in chosen]
            with open(folder / f'{part}_label.pkl', 'wb') as f:
                pickle.dump(([p.name for p in chosen], labels), f)
            fp = np.zeros((len(chosen), 3, 300, 25, 2), dtype=np.float32)
            for i, path in enumerate(chosen):
                sample = loop_read_xyz(path)
                fp[i, :, :sample.shape[1]] = sample
            np.save(folder / f'{part}_data_joint.npy', loop_pre_normalization(fp))


# ------------------------------------------------------------------------------------------

def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn, repeats: int = 1, reset=None) -> Tuple[float, float]:
    """Best wall time over :obj:`repeats` runs (other load on a shared machine only ever
    slows a run down), and the CPU time of that run."""
    best = (math.inf, math.inf)
    for _ in range(repeats):
        if reset is not None:
            reset()
        cpu, start = _cpu(), time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start, _cpu() - cpu))
    return best


def _padded(sample: np.ndarray) -> np.ndarray:
    out = np.zeros((3, 300, 25, 2), np.float32)
    out[:, :sample.shape[1]] = sample[:, :300]
    return out


def _row(stage: str, implementation: str, timing: Tuple[float, float], files: int = 0,
         frames: int = 0, samples: int = 0, workers: int = 1) -> Dict[str, object]:
    seconds, cpu = timing
    row: Dict[str, object] = {'stage': stage, 'implementation': implementation,
                              'workers': workers, 'seconds': seconds, 'cpu_s': cpu}
    if files:
        row['files'], row['files_per_s'] = files, files / seconds
        row['cpu_ms_per_file'] = 1e3 * cpu / files
    if frames:
        row['frames_per_s'] = frames / seconds
    if samples:
        row['samples'], row['samples_per_s'] = samples, samples / seconds
    return row


def run(num_files: int, baseline_files: int, workers: int, seed: int, repeats: int,
        tmp: Path) -> Tuple[List[Dict[str, object]], Dict[str, object]]:
    paths, frames = generate(tmp / 'raw', num_files, seed)
    sizes = [p.stat().st_size for p in paths]
    subset = paths[:baseline_files]
    subset_frames = sum(int(p.read_bytes().split(b'\r\n', 1)[0]) for p in subset)
    info = {'files': num_files, 'frames_mean': frames / num_files,
            'bytes_mean': int(np.mean(sizes)), 'baseline_files': len(subset),
            'repeats': repeats}
    print(f'{num_files} synthetic files, {frames / num_files:.0f} frames and '
          f'{np.mean(sizes) / 1e3:.0f} kB on average; baseline on the first {len(subset)}; '
          f'best of {repeats} runs')
    rows = []

    # parsing and body selection, one process
    samples = {}
    timing = _timed(lambda: samples.update((p, read_sample(p)) for p in paths), repeats)
    rows.append(_row('parse', 'preprocess', timing, num_files, frames))
    timing = _timed(lambda: [loop_read_xyz(p) for p in subset], repeats)
    rows.append(_row('parse', 'loop baseline', timing, len(subset), subset_frames))
    for p in subset:  # the two agree
        np.testing.assert_array_equal(samples[p][..., 0], loop_read_xyz(p)[..., 0])

    # pre-normalisation, one process, one sample at a time (as in the workers)
    padded = [_padded(samples[p]) for p in paths]
    timing = _timed(lambda: [pre_normalize(x) for x in padded], repeats)
    rows.append(_row('normalise', 'preprocess', timing, samples=len(padded)))
    batch = np.stack(padded[:len(subset)])
    timing = _timed(lambda: loop_pre_normalization(batch.copy()), repeats)
    rows.append(_row('normalise', 'loop baseline', timing, samples=len(subset)))
    np.testing.assert_allclose(loop_pre_normalization(batch),
                               np.stack([pre_normalize(x) for x in padded[:len(subset)]]),
                               atol=1e-4)

    # end to end: both benchmarks written
    subset_folder = tmp / 'raw_subset'
    subset_folder.mkdir()
    for p in subset:
        (subset_folder / p.name).symlink_to(p)
    for count, folder in ((num_files, tmp / 'raw'), (len(subset), subset_folder)):
        for n_workers in sorted({1, workers}):
            out = tmp / 'out'
            argv = ['ntu60', '--raw', str(folder), '--out', str(out), '--workers',
                    str(n_workers), '--no-progress']
            timing = _timed(lambda: _quiet(preprocess_main, argv), repeats,
                            reset=lambda: shutil.rmtree(out, ignore_errors=True))
            shutil.rmtree(out)
            rows.append(_row('end to end', 'preprocess', timing, count,
                             frames if folder.name == 'raw' else subset_frames,
                             workers=n_workers))
    timing = _timed(lambda: loop_gendata(subset, tmp / 'out_loop'), min(repeats, 2))
    rows.append(_row('end to end', 'loop baseline', timing, len(subset), subset_frames))

    for stage in ('parse', 'normalise', 'end to end'):
        base = next(r for r in rows if r['stage'] == stage
                    and r['implementation'] == 'loop baseline')
        key = 'samples_per_s' if stage == 'normalise' else 'files_per_s'
        for row in rows:
            if row['stage'] == stage and row['implementation'] == 'preprocess':
                row['speedup'] = row[key] / base[key]
    best = max((r for r in rows if r['stage'] == 'end to end'
                and r['implementation'] == 'preprocess' and r['files'] == num_files),
               key=lambda r: r['files_per_s'])
    info['ntu60_projected_s'] = NTU60_FILES / best['files_per_s']
    info['ntu60_baseline_projected_s'] = NTU60_FILES / rows[-1]['files_per_s']
    return rows, info


def _quiet(fn, argv) -> None:
    """Runs the command line without its report and info messages."""
    logger = logging.getLogger('preprocess')
    level, stdout = logger.level, sys.stdout
    logger.setLevel(logging.WARNING)
    try:
        with open(os.devnull, 'w') as devnull:
            sys.stdout = devnull
            code = fn(argv)
    finally:
        sys.stdout = stdout
        logger.setLevel(level)
    if code:
        raise RuntimeError(f'preprocess {argv} failed with status {code}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = ArgumentParser(prog='python -m benchmarks.preprocess',
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--files', type=int, default=2000,
                        help='synthetic .skeleton files timed with preprocess (2000)')
    parser.add_argument('--baseline-files', type=int, default=150,
                        help='the first N of them timed with the loop baseline, which takes '
                             'about 0.2 s per file end to end (150)')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                        help='worker processes of the end-to-end run (all cores)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the synthetic files (0)')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed runs of each row, the best kept (5; the baseline end to '
                             'end at most 2)')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: 200 files, baseline on 20')
    parser.add_argument('--keep', type=Path, default=None, metavar='DIR',
                        help='generate into DIR and keep it (default: a temporary folder)')
    add_output_args(parser, 'preprocess')
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.baseline_files, args.repeats = 200, 20, 1
    args.baseline_files = min(args.baseline_files, args.files)
    load_before = os.getloadavg()[0]  # other work on a shared machine slows every row
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        rows, info = run(args.files, args.baseline_files, args.workers, args.seed,
                         args.repeats, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix='bench_preprocess_') as tmp:
            rows, info = run(args.files, args.baseline_files, args.workers, args.seed,
                             args.repeats, Path(tmp))
    print_table(rows, ['stage', 'implementation', 'workers', 'files', 'samples', 'seconds',
                       'cpu_ms_per_file', 'files_per_s', 'frames_per_s', 'samples_per_s',
                       'speedup'])
    print(f"NTU RGB+D 60 ({NTU60_FILES} files) projected: {info['ntu60_projected_s']:.0f} s "
          f"with preprocess, {info['ntu60_baseline_projected_s'] / 60:.0f} min with the loop "
          f"baseline ({cpu_model()}, {os.cpu_count()} cores, load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after)")
    settings = dict(info, numpy=np.__version__, workers=args.workers, seed=args.seed,
                    quick=args.quick, cpu_model=cpu_model(),
                    load_average_before=f'{load_before:.2f}',
                    load_average_after=f'{os.getloadavg()[0]:.2f}')
    path = write_csv(args.out, rows, settings, args.results_dir)
    print(f'written to {path}')


if __name__ == '__main__':
    main()
