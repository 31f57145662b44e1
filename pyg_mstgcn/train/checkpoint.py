"""Checkpoints: atomic writes that keep the previous file, RNG states, and weights of any of
our formats, loaded into a model with a one-line account of what does not fit."""
from __future__ import annotations

import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from pyg_mstgcn.errors import InputError, listed
from pyg_mstgcn.io import load_torch, save_atomic
from pyg_mstgcn.io.atomic import atomic_write, temporary_path

if TYPE_CHECKING:
    from pyg_mstgcn.models import MSTGCN

PathLike = Union[str, Path]

#: The prefix of the classifier's tensors (``MSTGCN.fc``): another class count changes only
#: these.
CLASSIFIER = 'fc.'


class WeightsError(InputError):
    """Weights that cannot be read, or do not fit the model they are loaded into."""


def rng_state() -> Dict[str, Any]:
    """The states of Python's, NumPy's and PyTorch's (and CUDA's) global generators."""
    state = {'python': random.getstate(), 'numpy': np.random.get_state(),
             'torch': torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def load_checkpoint(path: PathLike) -> Dict[str, Any]:
    """The mapping saved at :obj:`path`; a missing file, or one that is not a PyTorch
    checkpoint, is a :class:`WeightsError` saying what the file is."""
    try:
        # our checkpoints hold RNG states and configurations besides tensors
        return dict(load_torch(path, 'a checkpoint or a state dict', weights_only=False))
    except (FileNotFoundError, InputError) as e:
        raise WeightsError(str(e)) from None


def previous_of(path: PathLike) -> Path:
    """Where :func:`save_keeping_previous` keeps the file it replaces: ``last.prev.pt`` for
    ``last.pt``."""
    path = Path(path)
    return path.with_name(f'{path.stem}.prev{path.suffix}')


def _duplicate(source: Path, target: Path) -> None:
    """Makes :obj:`target` a complete copy of :obj:`source` in one rename: a hard link (no
    bytes copied) under a temporary name, or, where the file system has no links, a copy."""
    tmp = temporary_path(target)
    tmp.unlink(missing_ok=True)   # a stale link left by a crash: a copy would write through it
    try:
        os.link(source, tmp)
    except OSError:
        with open(source, 'rb') as src, atomic_write(tmp) as dst:
            shutil.copyfileobj(src, dst)
    os.replace(tmp, target)


def save_keeping_previous(obj: Any, path: PathLike) -> None:
    """:func:`~pyg_mstgcn.io.save_atomic` to :obj:`path`, keeping the file it replaces as
    :func:`previous_of` it. The old file gets its second name before the new one is written
    and renamed over :obj:`path`: a crash at any moment leaves both names complete."""
    path = Path(path)
    if path.is_file():
        _duplicate(path, previous_of(path))
    save_atomic(obj, path)


def checkpoint_problem(path: PathLike, keys: Sequence[str]) -> Optional[str]:
    """Why :obj:`path` is no checkpoint holding :obj:`keys` (missing, unreadable, or lacking
    some), in words that name the file; :obj:`None` when it is one."""
    try:
        content = load_checkpoint(path)
    except WeightsError as e:
        return str(e)
    missing = [k for k in keys if k not in content]
    return f'{path} lacks {listed(missing, 3)}' if missing else None


def recover_last(path: PathLike, keys: Sequence[str]) -> Optional[str]:
    """Makes :obj:`path` a usable checkpoint (see :func:`checkpoint_problem`) to resume from:
    when it is not, and :func:`previous_of` it is, the previous one is put in its place (the
    bad file is lost; the next save then keeps a good previous one). Returns a one-line note
    of the fallback, :obj:`None` when :obj:`path` was fine; a :class:`WeightsError` naming
    both files when neither is usable."""
    path = Path(path)
    problem = checkpoint_problem(path, keys)
    if problem is None:
        return None
    previous = previous_of(path)
    fallback = checkpoint_problem(previous, keys)
    if fallback is not None:
        raise WeightsError(f'no checkpoint to resume from: {problem}; and {fallback}')
    _duplicate(previous, path)
    return (f'warning: {problem}; resuming from {previous} (after epoch '
            f'{load_checkpoint(path)["epoch"]}) instead, now also {path}')


@dataclass
class Weights:
    """What a checkpoint holds for using a model: its weights, and, when the checkpoint says,
    the model's options, the class names and the training configuration (stream, layout,
    evaluation transforms)."""
    path: Path
    state_dict: Dict[str, torch.Tensor]
    model_config: Optional[Dict[str, Any]] = None
    class_names: Optional[List[str]] = None
    config: Optional[Dict[str, Any]] = None
    epoch: Optional[int] = None   # the epochs it was trained for (ours)


def _original_keys(state: Mapping[str, Any]) -> bool:
    return any(re.match(r'^(module\.)?layers\.\d+\.(msgcn|mstcn|att)\.', k) for k in state)


def read_weights(path: PathLike) -> Weights:
    """The :class:`Weights` of a checkpoint: ours (``last.pt``, ``best.pt``), a converted
    original (``{'model_config', 'state_dict'}``) or a bare state dict. A ``module.`` prefix
    (DDP) is removed. A checkpoint of the original MST-GCN code is a :class:`WeightsError`
    that says to convert it first."""
    content = load_checkpoint(path)
    state = content['state_dict'] if 'state_dict' in content else content
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsError(f'{path} holds no state dict of tensors')
    if _original_keys(state):
        raise WeightsError(f'{path} is a checkpoint of the original MST-GCN code; convert it '
                           f'first: python -m pyg_mstgcn.convert --config ORIGINAL.yaml '
                           f'--checkpoint {path} --out converted.pt')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    model_config = content.get('model_config') if 'state_dict' in content else None
    names = content.get('class_names') if 'state_dict' in content else None
    config = content.get('config') if 'state_dict' in content else None
    epoch = content.get('epoch') if 'state_dict' in content else None
    return Weights(Path(path), state, dict(model_config) if model_config else None,
                   list(names) if names else None, dict(config) if config else None, epoch)


def load_model(path: PathLike) -> Tuple['MSTGCN', Weights]:
    """The network of a checkpoint that names its model (ours, or converted from the
    original), its weights loaded, in eval mode on the CPU; and what the checkpoint holds
    (:class:`Weights`). A bare state dict, or a model configuration that builds no model, is
    a :class:`WeightsError` in one line."""
    from pyg_mstgcn.models import build_model  # models import nothing of the trainer
    weights = read_weights(path)
    if weights.model_config is None:
        raise WeightsError(f'{path} holds weights without the model configuration; use a '
                           f'checkpoint of the trainer (best.pt, last.pt) or of '
                           f'python -m pyg_mstgcn.convert')
    try:
        model = build_model(weights.model_config)
    except (ValueError, TypeError) as e:
        raise WeightsError(f'{path}: its model_config cannot build a model ({e})') from None
    load_weights(model, weights.state_dict, str(path))
    return model.eval(), weights


def weights_mismatch(model: torch.nn.Module, state: Mapping[str, torch.Tensor]
                     ) -> Optional[str]:
    """What keeps :obj:`state` from loading into :obj:`model`, in one line (None if it fits):
    tensors of another shape (the classifier first: another class count), missing and
    unexpected keys, each list capped."""
    ours = model.state_dict()
    shapes: List[str] = []
    for key, value in state.items():
        if key in ours and tuple(value.shape) != tuple(ours[key].shape):
            shapes.append(f'{key} {list(value.shape)} in the weights, '
                          f'{list(ours[key].shape)} in the model')
    shapes.sort(key=lambda text: not text.startswith(CLASSIFIER))
    missing = [k for k in ours if k not in state]
    unexpected = [k for k in state if k not in ours]
    problems = []
    if shapes:
        problems.append(f'{len(shapes)} tensor(s) of another shape ({listed(shapes, 2)})')
    if missing:
        problems.append(f'{len(missing)} missing ({listed(missing, 3)})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected ({listed(unexpected, 3)})')
    return '; '.join(problems) or None


def load_weights(model: torch.nn.Module, state: Mapping[str, torch.Tensor],
                 where: str) -> None:
    """Loads :obj:`state` into :obj:`model`, or raises a :class:`WeightsError` that says in
    one line what does not fit (see :func:`weights_mismatch`)."""
    problem = weights_mismatch(model, state)
    if problem is not None:
        raise WeightsError(f'the weights of {where} do not fit this model (a different '
                           f'architecture or class count): {problem}')
    model.load_state_dict(state)
