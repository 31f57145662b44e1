"""``python -m preprocess streams``: the bone and motion streams written to disk.

Next to every ``{split}_data_joint.npy`` under a folder (ours or the original tools'), the
original's files ``{split}_data_bone.npy``, ``{split}_data_joint_motion.npy`` and
``{split}_data_bone_motion.npy`` are written, chunk by chunk through memory maps, each under a
temporary name first; existing ones are skipped. The training pipeline does not need them: it
computes the streams on the fly (:mod:`pyg_mstgcn.data.streams`).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from pyg_mstgcn.io.arrays import DATA_FILE, data_path
from pyg_mstgcn.preprocess.output import create_array

log = logging.getLogger('preprocess')

STREAM_NAMES = ('bone', 'joint_motion', 'bone_motion')
_LAYOUT_BY_JOINTS = {25: 'ntu-rgb+d', 18: 'openpose'}
_SUFFIX = DATA_FILE.format(split='', stream='joint')


def find_joint_files(folder: Union[str, Path]) -> List[Path]:
    """Every ``*_data_joint.npy`` under :obj:`folder`, sorted."""
    return sorted(p for p in Path(folder).rglob('*' + _SUFFIX) if p.is_file())


def stream_path(joint_file: Path, stream: str) -> Path:
    """``{split}_data_{stream}.npy`` next to ``{split}_data_joint.npy``."""
    return data_path(joint_file.parent, joint_file.name[:-len(_SUFFIX)], stream)


def write_stream_file(joint_file: Path, stream: str, layout, chunk: int = 256,
                      bar: Optional[tqdm] = None) -> Path:
    """Writes one stream next to :obj:`joint_file` and returns its path."""
    from pyg_mstgcn.data.streams import make_stream  # imports PyTorch: only when needed

    joint = np.load(joint_file, mmap_mode='r')
    out = stream_path(joint_file, stream)
    tmp = create_array(out, joint.shape, np.float32)
    target = np.load(tmp, mmap_mode='r+')
    for start in range(0, len(joint), chunk):
        x = np.asarray(joint[start:start + chunk], dtype=np.float32)
        target[start:start + chunk] = make_stream(x, stream, layout)
        if bar is not None:
            bar.update(len(x))
    target.flush()
    del target
    os.replace(tmp, out)
    return out


def write_streams(folder: Union[str, Path], layout: Optional[str] = None,
                  streams: Optional[Sequence[str]] = None, chunk: int = 256,
                  progress: bool = True) -> int:
    """Writes the streams for every joint file under :obj:`folder`; returns an exit status
    (1 when the folder does not exist or holds no joint file)."""
    folder = Path(folder)
    if not folder.is_dir():
        log.error(f'input folder {folder} does not exist')
        return 2
    files = find_joint_files(folder)
    if not files:
        log.error(f'no *{_SUFFIX} under {folder}; run `python -m preprocess ntu60|ntu120|'
                  f'kinetics` first')
        return 1
    work = []
    for joint_file in files:
        shape = np.load(joint_file, mmap_mode='r').shape
        if len(shape) != 5:
            log.error(f'{joint_file}: expected [N, C, T, V, M] data, found shape '
                      f'{list(shape)}; skipped')
            continue
        name = layout or _LAYOUT_BY_JOINTS.get(shape[3])
        if name is None:
            log.error(f'{joint_file}: {shape[3]} joints; give the skeleton layout with '
                      f'--layout; skipped')
            continue
        for stream in streams or STREAM_NAMES:
            work.append((joint_file, stream, name, shape[0]))
    todo = [item for item in work if not stream_path(item[0], item[1]).exists()]
    skipped = len(work) - len(todo)
    if skipped:
        log.info(f'{skipped} stream files exist already: skipped')
    bar = tqdm(total=sum(item[3] for item in todo), desc='streams', unit='sample',
               disable=not progress, dynamic_ncols=True, mininterval=0.5)
    with logging_redirect_tqdm(), bar:
        for joint_file, stream, name, _ in todo:
            out = write_stream_file(joint_file, stream, name, chunk, bar)
            log.info(f'{out}: written ({name} layout)')
    written = len(todo)
    print(f'streams: {written} files written, {skipped} already there, from {len(files)} '
          f'joint files under {folder}')
    return 0 if written or skipped else 1
