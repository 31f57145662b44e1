"""Checkpoints: atomic writes, RNG states, and reading weights of any of our formats."""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import torch

PathLike = Union[str, Path]


def save_atomic(obj: Any, path: PathLike) -> None:
    """:func:`torch.save` to a temporary file, then :func:`os.replace`: a reader (or a run
    killed while writing) sees the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    with open(tmp, 'wb') as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    return torch.load(path, map_location='cpu', weights_only=False)


def read_weights(path: PathLike) -> Tuple[Optional[Dict[str, Any]], Dict[str, torch.Tensor]]:
    """``(model_config or None, state_dict)`` of a checkpoint: ours (``last.pt``,
    ``best.pt``), a converted original (``{'model_config', 'state_dict'}``) or a bare state
    dict. A ``module.`` prefix (DDP) is removed."""
    content = load_checkpoint(path)
    if not isinstance(content, Mapping):
        raise ValueError(f'{path} does not hold a state dict or a checkpoint mapping')
    if 'state_dict' in content:
        config, state = content.get('model_config'), content['state_dict']
    else:
        config, state = None, content
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    return (dict(config) if config is not None else None), state
