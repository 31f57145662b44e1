"""Running a preprocessing step over many files in worker processes.

The main process plans the work: one :class:`Job` per input file, naming the output rows
(``target``, ``row``) the file's sample goes to (one row per benchmark). The output arrays are
created up front as (sparse) ``.npy`` files under temporary names
(:mod:`~pyg_mstgcn.preprocess.output`); each worker opens them once and writes its samples at
their rows' offsets, so no array is ever held whole in memory and samples never travel
between processes. A file that fails leaves its rows empty;
:func:`~pyg_mstgcn.preprocess.output.finish_split` closes the gaps. What is no file's fault
ends the run instead: a full disk (:data:`DISK_FULL`), a worker killed by the system
(:class:`WorkerDied`), Ctrl-C.
"""
from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections import Counter, deque
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import (Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple)

import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from pyg_mstgcn.preprocess.errors import SampleError
from pyg_mstgcn.io import (data_path, label_path, read_labels, split_complete,
                           write_text_atomic)
from pyg_mstgcn.preprocess.output import create_array, finish_split

log = logging.getLogger('preprocess')

#: A per-file task: ``task(path, *args, **options) -> (sample, valid_frames, warnings)``.
Task = Callable[..., Tuple[np.ndarray, int, List[str]]]

#: ``errno`` values of a full disk (or quota): every later sample would fail too.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
#: Jobs sent ahead to each worker: it never waits for work, and the job it is on when it dies
#: is the oldest it has not answered.
_AHEAD = 2


class WorkerDied(RuntimeError):
    """A worker process ended before answering its jobs (killed by the out-of-memory killer,
    say); the message names the file it was on."""


@dataclass(frozen=True)
class Sample:
    """A sample to write: its file, name and label, the output targets (``'xsub/train'``,
    ...) it belongs to, and extra positional arguments of the task."""
    path: str
    name: str
    label: int
    targets: Tuple[str, ...]
    args: Tuple[Any, ...] = ()


@dataclass(frozen=True)
class Job:
    """One input file, the output rows its sample fills (``(target, row)``) and extra
    positional arguments of the task."""
    index: int
    path: str
    rows: Tuple[Tuple[str, int], ...]
    args: Tuple[Any, ...] = ()


@dataclass
class Result:
    """What became of one job (the sample itself is already in the output arrays)."""
    index: int
    ok: bool
    valid_frames: int = 0
    reason: str = ''
    message: str = ''
    severity: str = ''
    warnings: Tuple[str, ...] = ()


_WORKER: Dict[str, Any] = {}


class _RowWriter:
    """Writes rows into an existing ``.npy`` file at their offsets (``os.pwrite``: no
    memory map, no page faults, any number of processes at once)."""

    def __init__(self, path: str) -> None:
        array = np.load(path, mmap_mode='r')
        self.offset, self.row_shape, self.dtype = array.offset, array.shape[1:], array.dtype
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * array.dtype.itemsize
        del array
        self.fd = os.open(path, os.O_WRONLY)

    def write(self, row: int, sample: np.ndarray) -> None:
        if sample.shape != self.row_shape or sample.dtype != self.dtype:
            raise ValueError(f'a sample of shape {sample.shape} and type {sample.dtype} cannot '
                             f'fill a row of shape {self.row_shape} and type {self.dtype}')
        data = np.ascontiguousarray(sample)
        written = os.pwrite(self.fd, data, self.offset + row * self.row_bytes)
        if written != self.row_bytes:  # what a regular file does when the disk fills
            raise OSError(errno.ENOSPC, f'short write ({written} of {self.row_bytes} bytes)')

    def close(self) -> None:
        os.close(self.fd)


def _init_worker(arrays: Dict[str, str], task: Task, options: Dict[str, Any]) -> None:
    _WORKER['arrays'] = {key: _RowWriter(path) for key, path in arrays.items()}
    _WORKER['task'], _WORKER['options'] = task, options


def _close_worker() -> None:
    for writer in _WORKER.pop('arrays', {}).values():
        writer.close()
    _WORKER.clear()


def _run_job(job: Job) -> Result:
    try:
        sample, valid_frames, warnings = _WORKER['task'](job.path, *job.args,
                                                         **_WORKER['options'])
    except SampleError as error:
        return Result(job.index, False, reason=error.reason, message=str(error),
                      severity=error.severity)
    except OSError as error:
        return Result(job.index, False, reason='unreadable file',
                      message=f'{job.path}: cannot read: {error}', severity='error')
    except Exception as error:  # a bug, not bad data: report it and go on
        detail = ''.join(traceback.format_exception_only(type(error), error)).strip()
        return Result(job.index, False, reason='unexpected error', severity='error',
                      message=f'{job.path}: unexpected error ({detail}); please report it')
    try:
        for key, row in job.rows:
            _WORKER['arrays'][key].write(row, sample)
    except (OSError, ValueError) as error:
        if getattr(error, 'errno', None) in DISK_FULL:
            raise
        return Result(job.index, False, reason='write error', severity='error',
                      message=f'{job.path}: cannot write its sample: {error}')
    return Result(job.index, True, valid_frames, warnings=tuple(warnings))


def run_jobs(jobs: Sequence[Job], task: Task, options: Dict[str, Any],
             arrays: Dict[str, str], workers: int, desc: str,
             progress: bool = True) -> List[Result]:
    """Runs :obj:`task` on every job, in :obj:`workers` processes, with a progress bar.

    Args:
        jobs (sequence of Job): The files to process.
        task (callable): A module-level function ``task(path, *job.args, **options)`` returning
            ``(sample, valid_frames, warnings)`` or raising :class:`SampleError`.
        options (dict): Keyword arguments of :obj:`task`.
        arrays (dict): Output target name → path of its (temporary) ``.npy`` file.
        workers (int): Number of processes; 1 runs in this process.
        desc (str): Label of the progress bar.
        progress (bool, optional): Show the progress bar. (default: :obj:`True`)

    Returns:
        list of Result: One per job, in job order. Problems are also logged as they come.
    """
    results: List[Optional[Result]] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc=desc, unit='file', disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    with logging_redirect_tqdm(), bar:
        if workers <= 1 or len(jobs) <= 1:
            _init_worker(arrays, task, options)
            try:
                stream: Iterable[Result] = map(_run_job, jobs)
                _collect(stream, results, bar)
            finally:
                _close_worker()
        else:
            with closing(_run_in_workers(jobs, task, options, arrays, workers)) as stream:
                _collect(stream, results, bar)
    return [result for result in results if result is not None]


def _worker(conn: Connection, arrays: Dict[str, str], task: Task,
            options: Dict[str, Any]) -> None:
    """A worker process: answers each job received on :obj:`conn` with its result, until
    ``None``; an error that ends the run (a full disk) is sent back to be raised there."""
    try:
        _init_worker(arrays, task, options)
        for job in iter(conn.recv, None):
            conn.send(_run_job(job))
    except EOFError:  # the main process is gone
        pass
    except Exception as error:
        with suppress(OSError):
            conn.send(error)
    finally:
        _close_worker()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignores Ctrl-C while workers start: they inherit it (across ``exec`` too), so that
    Ctrl-C reaches the main process alone, which stops them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def _run_in_workers(jobs: Sequence[Job], task: Task, options: Dict[str, Any],
                    arrays: Dict[str, str], workers: int) -> Iterator[Result]:
    """Yields the results of :obj:`jobs` run by worker processes, each fed through its own
    pipe: the job of a worker that dies is known, and :class:`WorkerDied` is raised at once
    (a :class:`multiprocessing.Pool` would wait forever for the lost result)."""
    context = multiprocessing.get_context()
    todo = iter(jobs)
    processes: Dict[Connection, BaseProcess] = {}
    sent: Dict[Connection, Deque[Job]] = {}  # per worker, the jobs it has not answered

    def feed(conn: Connection) -> None:
        job = next(todo, None)
        if job is not None:
            sent[conn].append(job)
            try:
                conn.send(job)
            except ConnectionError:  # the worker is gone
                raise _died(processes[conn], sent[conn]) from None

    try:
        with _sigint_ignored():
            for _ in range(min(workers, len(jobs))):
                conn, theirs = context.Pipe()
                process = context.Process(target=_worker, args=(theirs, arrays, task, options),
                                          daemon=True)
                process.start()
                theirs.close()  # the worker holds the only copy: its death ends the pipe
                processes[conn], sent[conn] = process, deque()
        for conn in processes:
            for _ in range(_AHEAD):
                feed(conn)
        while any(sent.values()):
            wait(list(processes) + [process.sentinel for process in processes.values()])
            for conn, process in processes.items():
                if conn.poll():  # an answer, or the end of the pipe
                    try:
                        answer = conn.recv()
                    except (EOFError, ConnectionError):  # the worker is gone
                        raise _died(process, sent[conn]) from None
                    if isinstance(answer, BaseException):
                        raise answer
                    sent[conn].popleft()
                    feed(conn)
                    yield answer
                elif sent[conn] and not process.is_alive():  # never expected: see above
                    raise _died(process, sent[conn])
        for conn, process in processes.items():
            conn.send(None)
            process.join()
    finally:  # an error or Ctrl-C: stop the others at once
        for process in processes.values():
            if process.is_alive():
                process.terminate()
            process.join()


def _died(process: BaseProcess, jobs: Deque[Job]) -> WorkerDied:
    process.join(5)
    code = process.exitcode
    how = (f'was killed by signal {-code}' if code is not None and code < 0
           else f'ended (exit status {code})')
    if code == -signal.SIGKILL:
        how += ' (SIGKILL: out of memory?)'
    where = f'while processing {jobs[0].path}' if jobs else 'between two files'
    return WorkerDied(f'a worker process {how} {where}')


def _collect(stream: Iterable[Result], results: List[Optional[Result]], bar: tqdm) -> None:
    for result in stream:
        results[result.index] = result
        for warning in result.warnings:
            log.warning(warning)
        if not result.ok:
            (log.error if result.severity == 'error' else log.warning)(
                f'{result.message} -> left out')
        bar.update()


@dataclass
class Summary:
    """Samples written per split and samples left out, by reason; saved as
    ``summary.json``."""
    dataset: str
    inputs: List[str]
    out: str
    settings: Dict[str, Any]
    splits: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    skipped_files: List[Dict[str, str]] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    processed: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.time)

    def skip(self, reason: str, count: int = 1) -> None:
        """Counts samples left out before processing (e.g. on the missing-skeleton list)."""
        self.skipped[reason] += count

    def add_results(self, jobs: Sequence[Job], results: Sequence[Result]) -> None:
        for job, result in zip(jobs, results):
            self.processed['written' if result.ok else 'left out'] += 1
            self.warnings.extend(result.warnings)
            if not result.ok:
                self.skipped[result.reason] += 1
                self.skipped_files.append({'file': job.path, 'reason': result.reason,
                                           'severity': result.severity,
                                           'message': result.message})

    @property
    def written(self) -> int:
        return sum(split.get('written', 0) for split in self.splits.values()
                   if split.get('status') == 'written')

    def as_dict(self) -> Dict[str, Any]:
        return {
            'dataset': self.dataset, 'inputs': self.inputs, 'out': self.out,
            'settings': self.settings, 'splits': self.splits,
            'files_processed': {'written': self.processed['written'],
                                'left_out': self.processed['left out']},
            'skipped': dict(sorted(self.skipped.items())),
            'skipped_files': self.skipped_files, 'warnings': self.warnings,
            'seconds': round(time.time() - self.started, 3),
        }

    def save(self, folder: Path) -> Path:
        path = Path(folder) / 'summary.json'
        write_text_atomic(path, json.dumps(self.as_dict(), indent=2) + '\n')
        return path

    def report(self) -> str:
        """A human-readable account of the run."""
        lines = [f'{self.dataset}: summary']
        for key, split in self.splits.items():
            if split['status'] == 'written':
                lines.append(f'  {key:<12} {split["written"]:>7} samples written')
            else:
                lines.append(f'  {key:<12} {split.get("written", "?"):>7} samples, '
                             f'{split["status"]}')
        if self.skipped:
            lines.append(f'  left out: {sum(self.skipped.values())} samples')
            for reason, count in sorted(self.skipped.items()):
                lines.append(f'    {count:>7}  {reason}')
        else:
            lines.append('  left out: none')
        if self.warnings:
            lines.append(f'  warnings: {len(self.warnings)} (see summary.json)')
        lines.append(f'  time: {time.time() - self.started:.1f} s')
        return '\n'.join(lines)


def write_splits(samples: Sequence[Sample], targets: Dict[str, Tuple[Path, str]],
                 summary: Summary, task: Task, sample_shape: Tuple[int, int, int],
                 workers: int, max_frames: int = 300,
                 frame_count: Optional[Callable[[str], int]] = None,
                 progress: bool = True) -> None:
    """Writes every split of :obj:`targets` that is not complete yet.

    Args:
        samples (sequence of Sample): The usable samples, in output order.
        targets (dict): Target key (e.g. ``'xsub/train'``) → ``(folder, split)``.
        summary (Summary): Receives the outcome.
        task (callable): The per-file task (see :func:`run_jobs`); it gets the keyword
            arguments ``num_frames`` and ``truncate``.
        sample_shape ((int, int, int)): ``(C, V, M)`` of a sample.
        workers (int): Worker processes.
        max_frames (int, optional): The time axis. (default: :obj:`300`)
        frame_count (callable, optional): ``frame_count(path)``, the frames a file needs;
            given, the time axis grows to the longest sequence (``--keep-long``).
        progress (bool, optional): Show a progress bar. (default: :obj:`True`)
    """
    pending = [key for key, (folder, split) in targets.items()
               if not split_complete(folder, split)]
    for key, (folder, split) in targets.items():
        if key not in pending:
            names, _ = read_labels(label_path(folder, split))
            log.info(f'{key}: already complete in {folder}, skipped')
            summary.splits[key] = {'status': 'already complete (skipped)',
                                   'written': len(names)}
    if not pending:
        return
    rows: Dict[str, List[int]] = {key: [] for key in pending}  # job index of each row
    jobs: List[Job] = []
    used: List[Sample] = []
    for sample in samples:
        job_rows = []
        for key in sample.targets:
            if key in rows:
                job_rows.append((key, len(rows[key])))
                rows[key].append(len(jobs))
        if job_rows:
            jobs.append(Job(len(jobs), sample.path, tuple(job_rows), sample.args))
            used.append(sample)
    num_frames = max_frames
    if frame_count is not None and jobs:
        num_frames = max([max_frames] + [frame_count(job.path) for job in jobs])
        log.info(f'--keep-long: a time axis of {num_frames} frames')
    C, V, M = sample_shape
    arrays = {}
    for key in pending:
        folder, split = targets[key]
        shape = (len(rows[key]), C, num_frames, V, M)
        arrays[key] = str(create_array(data_path(folder, split), shape))
    results = run_jobs(jobs, task, {'num_frames': num_frames, 'truncate': True}, arrays,
                       workers, desc=summary.dataset, progress=progress)
    summary.add_results(jobs, results)
    for key in pending:
        folder, split = targets[key]
        kept = [(row, job) for row, job in enumerate(rows[key]) if results[job].ok]
        finish_split(folder, split, [row for row, _ in kept],
                     [used[job].name for _, job in kept], [used[job].label for _, job in kept],
                     [results[job].valid_frames for _, job in kept])
        summary.splits[key] = {'status': 'written', 'written': len(kept),
                               'frames': num_frames}
        if not kept:
            log.warning(f'{key}: no sample could be written; the split is empty')
    order = [key for key in targets if key in summary.splits]
    summary.splits = {key: summary.splits[key] for key in order + [
        key for key in summary.splits if key not in targets]}
