"""Preprocessing under faults: a worker killed by the system, Ctrl-C and a full disk end the
run at once, in one line, keeping finished splits; the same command run again completes."""
import errno
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SHARED, run_preprocess
from pyg_mstgcn.io import split_complete
from pyg_mstgcn.preprocess import cli, pipeline

NTU = SHARED / 'data' / 'ntu'
needs_real = pytest.mark.skipif(not NTU.is_dir(), reason=f'{NTU} is not available')
SPLITS = [(benchmark, split) for benchmark in ('xsub', 'xview') for split in ('train', 'val')]


def many_files(raw: Path, count: int = 1500) -> Path:
    """:obj:`count` NTU RGB+D 60 names (setups, cameras, subjects varied), each a link to one
    of the real files: a run long enough to interrupt."""
    real = sorted(NTU.glob('*.skeleton'))
    raw.mkdir()
    for i in range(count):
        name = f'S{i % 17 + 1:03d}C{i % 3 + 1:03d}P{i // 60 + 1:03d}R001A{i % 60 + 1:03d}'
        (raw / f'{name}.skeleton').symlink_to(real[i % len(real)])
    return raw


def start(raw: Path, out: Path) -> subprocess.Popen:
    """``python -m preprocess ntu60`` with 2 workers, in its own process group (as a terminal
    runs it), once its workers are up."""
    process = subprocess.Popen([sys.executable, '-m', 'preprocess', 'ntu60', '--raw', str(raw),
                                '--out', str(out), '--workers', '2', '--no-progress'],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while len(children(process.pid)) < 2:
        assert process.poll() is None and time.monotonic() < deadline, 'no workers started'
        time.sleep(0.05)
    time.sleep(0.2)  # into the files (about 1 s of work on 2 cores)
    assert process.poll() is None, 'the run ended before it could be disturbed'
    return process


def children(pid: int) -> list:
    pids = []
    for task in Path(f'/proc/{pid}/task').glob('*'):
        try:
            pids += [int(child) for child in (task / 'children').read_text().split()]
        except OSError:  # the thread ended
            pass
    return pids


def finish(process: subprocess.Popen, since: float):
    """Waits for the run (30 s at most); returns the exit status, stderr, and seconds taken."""
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr, time.monotonic() - since


def assert_one_error(stderr: str, *parts: str) -> None:
    assert 'Traceback' not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith('ERROR')]
    assert len(errors) == 1 and all(part in errors[0] for part in parts), stderr


def assert_rerun_completes(raw: Path, out: Path) -> None:
    run_preprocess('ntu60', '--raw', raw, '--out', out, '--workers', 2)
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['files_processed']['left_out'] == 0
    for benchmark, split in SPLITS:
        assert split_complete(out / benchmark, split)


@needs_real
@pytest.mark.skipif(not Path('/proc/self/task').is_dir(), reason='needs /proc')
def test_killed_worker_ends_the_run(tmp_path):
    raw, out = many_files(tmp_path / 'raw'), tmp_path / 'out'
    process = start(raw, out)
    worker = children(process.pid)[0]
    os.kill(worker, signal.SIGKILL)  # what the out-of-memory killer does
    status, stderr, seconds = finish(process, time.monotonic())
    assert status == 1 and seconds < 30
    assert_one_error(stderr, 'worker process was killed by signal 9', '.skeleton', str(raw),
                     cli.RESUME)
    for benchmark, split in SPLITS:  # unfinished: temporary files only
        assert not split_complete(out / benchmark, split)
    assert_rerun_completes(raw, out)


@needs_real
@pytest.mark.skipif(not Path('/proc/self/task').is_dir(), reason='needs /proc')
def test_ctrl_c_ends_the_run(tmp_path):
    raw, out = many_files(tmp_path / 'raw'), tmp_path / 'out'
    process = start(raw, out)
    workers = children(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # the terminal's Ctrl-C: to the whole group
    status, stderr, seconds = finish(process, time.monotonic())
    assert status == 130 and seconds < 10
    assert_one_error(stderr, f'interrupted: {cli.RESUME}')
    assert not any(Path(f'/proc/{pid}').exists() for pid in workers)
    assert_rerun_completes(raw, out)


def run_in_process(out: Path, workers: int = 1) -> int:
    return cli.main(['ntu60', '--raw', str(NTU), '--out', str(out), '--workers', str(workers),
                     '--no-progress'])


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@needs_real
@pytest.mark.parametrize('workers', [1, 2])
def test_full_disk_while_writing_a_sample(tmp_path, monkeypatch, caplog, workers):
    if workers > 1 and multiprocessing.get_start_method() != 'fork':
        pytest.skip('the workers would not see the patched writer')
    monkeypatch.setattr(pipeline._RowWriter, 'write', disk_full)
    assert run_in_process(tmp_path / 'out', workers) == 1
    assert f'the disk of {tmp_path / "out"} is full: [Errno 28]' in caplog.text
    assert cli.RESUME in caplog.text and 'left out' not in caplog.text


@needs_real
def test_full_disk_while_finishing_a_split(tmp_path, monkeypatch, caplog):
    finished = []
    real_finish = pipeline.finish_split

    def finish_one(*args, **kwargs):
        if finished:
            disk_full()
        real_finish(*args, **kwargs)
        finished.append(args[:2])

    monkeypatch.setattr(pipeline, 'finish_split', finish_one)
    out = tmp_path / 'out'
    assert run_in_process(out) == 1
    assert f'the disk of {out} is full' in caplog.text
    assert [split_complete(out / b, s) for b, s in SPLITS] == [True, False, False, False]
    monkeypatch.undo()
    assert run_in_process(out) == 0
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['splits']['xsub/train']['status'].startswith('already complete')
    assert all(split_complete(out / b, s) for b, s in SPLITS)
