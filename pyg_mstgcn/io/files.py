"""Reading files users hand us: what a file is, and pickles of any Python version."""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Mapping, Union

from pyg_mstgcn.errors import InputError

PathLike = Union[str, Path]

_TEXT_KINDS = {b'{': 'a JSON object', b'[': 'a JSON array'}


def file_kind(path: PathLike) -> str:
    """What :obj:`path` holds, in words, judged by its first bytes: ``'a NumPy array
    (.npy)'``, ``'a NumPy archive (.npz)'``, ``'a PyTorch checkpoint (torch.save)'``, ``'a
    Python pickle'``, ``'a JSON object'``, ``'text'``, ``'an empty file'`` or ``'binary
    data'``. For messages that tell a user which file they gave."""
    path = Path(path)
    with open(path, 'rb') as f:
        head = f.read(512)
    if not head:
        return 'an empty file'
    if head.startswith(b'\x93NUMPY'):
        return 'a NumPy array (.npy)'
    if head.startswith(b'PK\x03\x04'):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return 'a damaged zip archive'
        if any(name.endswith('/data.pkl') or name == 'data.pkl' for name in names):
            return 'a PyTorch checkpoint (torch.save)'
        if names and all(name.endswith('.npy') for name in names):
            return 'a NumPy archive (.npz)'
        return 'a zip archive'
    if head[:1] == b'\x80':
        return 'a Python pickle'
    stripped = head.lstrip()
    if stripped[:1] in _TEXT_KINDS:
        return _TEXT_KINDS[stripped[:1]]
    try:
        head.decode('utf-8')
    except UnicodeDecodeError:
        return 'binary data'
    return 'text'


def load_pickle(path: PathLike, what: str = 'file', hint: str = '') -> Any:
    """Unpickles :obj:`path`, also when it was pickled by Python 2 (as some files of the
    original tools were). A missing file, or one that is not a pickle, is a
    :class:`FileNotFoundError` or :class:`~pyg_mstgcn.errors.InputError` saying what
    :obj:`what` should be (and :obj:`hint`) and what the file is."""
    path = Path(path)
    hint = f'; {hint}' if hint else ''
    if not path.is_file():
        raise FileNotFoundError(f'{what} {path} does not exist{hint}')
    with open(path, 'rb') as f:
        try:
            return pickle.load(f)
        except UnicodeDecodeError:  # pickled by Python 2
            f.seek(0)
            return pickle.load(f, encoding='latin1')
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                ImportError, IndexError, KeyError):
            pass
    kind = file_kind(path)
    problem = 'a damaged or unreadable pickle' if kind == 'a Python pickle' else \
        f'{kind}, not a Python pickle'
    raise InputError(f'{what} {path} is {problem}{hint}')


def load_torch(path: PathLike, what: str, weights_only: bool = True) -> Mapping[str, Any]:
    """The mapping :func:`torch.save` wrote at :obj:`path` (on the CPU). A missing file is a
    :class:`FileNotFoundError`; one that cannot be read, or holds no mapping, an
    :class:`~pyg_mstgcn.errors.InputError` saying what :obj:`what` should be and what the
    file is."""
    import torch  # here, so that importing pyg_mstgcn.io never loads PyTorch
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{what} {path} does not exist')
    try:
        content = torch.load(path, map_location='cpu', weights_only=weights_only)
    except Exception:  # noqa: BLE001 - any failure to read is reported the same way
        raise InputError(f'{path} is {file_kind(path)}, not {what} (torch.save)') from None
    if not isinstance(content, Mapping):
        raise InputError(f'{path} holds a {type(content).__name__}, not {what}')
    return content
