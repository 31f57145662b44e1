"""Files written whole or not at all."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Union

PathLike = Union[str, Path]


def temporary_path(path: PathLike) -> Path:
    """The name :func:`atomic_write` writes :obj:`path` under until it is complete:
    ``{path}.tmp`` in the same folder (so the final rename never crosses file systems)."""
    path = Path(path)
    return path.with_name(path.name + '.tmp')


@contextmanager
def atomic_write(path: PathLike, mode: str = 'wb', **open_kwargs) -> Iterator[IO]:
    """Opens a temporary file next to :obj:`path` and renames it to :obj:`path` when the
    ``with`` block ends without an error, after flushing it to disk. A reader, or a process
    killed while writing, sees the old file or the new one, never half of one; on an error
    the temporary file is removed and :obj:`path` is untouched.

    Example::

        with atomic_write('train_label.pkl') as f:
            pickle.dump((names, labels), f)
    """
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    """Writes :obj:`text` (UTF-8) to :obj:`path` through :func:`atomic_write`."""
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(text)


def save_atomic(obj: Any, path: PathLike) -> None:
    """:func:`torch.save` through :func:`atomic_write` (checkpoints: a run killed while
    writing leaves the previous one whole)."""
    import torch  # here, so that importing pyg_mstgcn.io never loads PyTorch
    with atomic_write(path) as f:
        torch.save(obj, f)
