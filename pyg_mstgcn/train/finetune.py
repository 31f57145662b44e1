"""Fine-tuning: a run that starts from the weights of another (``train.init_weights``), with a
classifier of another class count replaced, and parameters kept fixed (``train.freeze``:
linear probing, or any parameter-name patterns).

The order in a run: the model is built from the configuration, :func:`start_of` loads
``train.init_weights`` into it (:func:`init_from`; on ``--resume`` the run's ``last.pt``
wins), :func:`freeze` fixes parameters, the optimiser takes the trainable ones only
(:func:`trainable`), and every epoch starts with :func:`train_mode`, which keeps the modules
whose parameters are all fixed in eval mode (their batch norms keep the checkpoint's running
statistics).
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch

from pyg_mstgcn.config_files import ConfigError, source_of
from pyg_mstgcn.errors import listed
from pyg_mstgcn.train.checkpoint import CLASSIFIER, WeightsError, read_weights, weights_mismatch

#: ``train.freeze``'s name for every parameter but the classifier's (linear probing).
BACKBONE = 'backbone'


@dataclass
class Start:
    """The checkpoint a run's weights start from: ``train.init_weights``, or ``last.pt`` on
    ``--resume``."""
    path: Path
    note: Optional[str]               # the line the log gives it
    class_names: Optional[List[str]]  # the names it records
    replaced: bool = False            # its classifier was replaced (another class count)


def _differing_options(ours: Mapping[str, Any], theirs: Optional[Mapping[str, Any]]
                       ) -> List[str]:
    """The model options, besides the class count, in which a checkpoint's model_config
    differs from the configuration's (those both name)."""
    if not theirs:
        return []
    return [k for k in ours if k != 'num_classes' and k in theirs and ours[k] != theirs[k]]


def init_from(model: torch.nn.Module, path: Union[str, Path], where: str,
              model_config: Optional[Mapping[str, Any]] = None) -> Start:
    """Loads the weights of :obj:`path` (see
    :func:`~pyg_mstgcn.train.checkpoint.read_weights`) into :obj:`model`. A classifier of
    another class count keeps its fresh initialisation; any other mismatch is a
    :class:`ConfigError` naming the tensors.

    Args:
        model (torch.nn.Module): The freshly built model.
        path (str or Path): The checkpoint (``train.init_weights``).
        where (str): Where ``train.init_weights`` was set, for the errors.
        model_config (Mapping, optional): The model options of the configuration, to name
            those that differ from the checkpoint's. (default: :obj:`None`)
    """
    key = f'train.init_weights {path} (set in {where})'
    if not Path(path).is_file():
        raise ConfigError(f'{key}: no such file; give a best.pt or last.pt of a run, or a '
                          f'checkpoint of python -m pyg_mstgcn.convert')
    try:
        weights = read_weights(path)
    except WeightsError as e:
        raise ConfigError(f'{key}: {e}') from None
    ours = model.state_dict()
    state = dict(weights.state_dict)
    # another class count: the classifier's rows differ, its inputs do not
    replaced = [k for k in ours if k.startswith(CLASSIFIER) and k in state
                and state[k].shape != ours[k].shape and state[k].shape[1:] == ours[k].shape[1:]]
    state.update({k: ours[k] for k in replaced})
    problem = weights_mismatch(model, state)
    if problem is not None:
        options = _differing_options(model_config or {}, weights.model_config)
        hint = (f'its model_config differs in {", ".join(options)}' if options else
                'the model section must be the architecture the checkpoint was trained with')
        raise ConfigError(f'{key} does not fit the model: {problem}; {hint}')
    model.load_state_dict(state)
    epoch = f' (epoch {weights.epoch})' if weights.epoch is not None else ''
    if replaced:
        before = weights.state_dict[replaced[0]].shape[0]
        after = ours[replaced[0]].shape[0]
        note = (f'init_weights: {path}{epoch}; classifier replaced: {before} -> {after} '
                f'classes')
    else:
        note = f'init_weights: {path}{epoch}; every tensor loaded, the classifier included'
    return Start(Path(path), note, weights.class_names, bool(replaced))


def start_of(model: torch.nn.Module, config: Mapping[str, Any], resume: Optional[Path]
             ) -> Optional[Start]:
    """The checkpoint a run starts from, loaded into :obj:`model` when it is
    ``train.init_weights`` (see :func:`init_from`); on ``--resume``, the run's ``last.pt``
    wins (the loop restores it) and ``train.init_weights`` is not applied.

    Args:
        model (torch.nn.Module): The freshly built model.
        config (Mapping): The run's configuration.
        resume (Path, optional): The run folder ``--resume`` continues.
    """
    init = config['train']['init_weights']
    if resume is not None:
        last = resume / 'last.pt'
        weights = read_weights(last)
        # its optimiser state holds the trainable parameters only
        was = (weights.config or {}).get('train', {}).get('freeze', [])
        if config['train']['freeze'] != was:
            where = source_of('train.freeze', config.get('_sources', {}))
            raise ConfigError(f"train.freeze {config['train']['freeze']!r} (set in {where}) "
                              f"differs from that of the run {resume} ({was!r}); a resumed "
                              f"run fixes the same parameters: leave train.freeze as it was")
        note = f'init_weights: not applied, the run continues from {last}' if init else None
        return Start(last, note, weights.class_names)
    if init is None:
        return None
    where = source_of('train.init_weights', config.get('_sources', {}))
    return init_from(model, init, where, config['model'])


def _groups(names: Sequence[str]) -> List[str]:
    """Patterns that cover the parameter names by module: ``data_bn.*``, ``blocks.0.*``."""
    out: Dict[str, None] = {}
    for name in names:
        parts = name.split('.')
        depth = 2 if len(parts) > 2 and parts[1].isdigit() else 1
        out['.'.join(parts[:depth]) + '.*'] = None
    return list(out)


def freeze(model: torch.nn.Module, spec: Union[str, Sequence[str]], where: str) -> List[str]:
    """Fixes the parameters :obj:`spec` names (``requires_grad=False``) and returns their
    names. A pattern that matches nothing, or a spec that leaves nothing to train, is a
    :class:`ConfigError`.

    Args:
        model (torch.nn.Module): The model (not wrapped: names without ``module.``).
        spec (str or list of str): ``'backbone'`` (every parameter but the classifier's) or
            :func:`fnmatch.fnmatchcase` patterns over :meth:`named_parameters` names, such
            as ``['data_bn.*', 'blocks.0.*']``.
        where (str): Where ``train.freeze`` was set, for the errors.
    """
    names = [name for name, _ in model.named_parameters()]
    if spec == BACKBONE:
        fixed = [n for n in names if not n.startswith(CLASSIFIER)]
    else:
        for pattern in spec:
            if not any(fnmatchcase(n, pattern) for n in names):
                raise ConfigError(
                    f"train.freeze pattern '{pattern}' (set in {where}) matches no parameter; "
                    f"the parameters are {listed(_groups(names), 8)} (e.g. "
                    f"{listed(names[::max(len(names) // 3, 1)], 3)})")
        fixed = [n for n in names if any(fnmatchcase(n, p) for p in spec)]
    if len(fixed) == len(names):
        raise ConfigError(f'train.freeze {spec} (set in {where}) fixes every parameter: '
                          f'nothing would be trained; leave the classifier ({CLASSIFIER}*) '
                          f'free, e.g. train.freeze={BACKBONE}')
    chosen = set(fixed)
    for name, parameter in model.named_parameters():
        if name in chosen:
            parameter.requires_grad_(False)
    return fixed


def frozen_summary(model: torch.nn.Module) -> str:
    """``freeze: N of M parameter tensors (K of L weights) fixed``, the log's line."""
    parameters = list(model.parameters())
    fixed = [p for p in parameters if not p.requires_grad]
    return (f'freeze: {len(fixed)} of {len(parameters)} parameter tensors '
            f'({sum(p.numel() for p in fixed):,} of {sum(p.numel() for p in parameters):,} '
            f'weights) fixed')


def trainable(model: torch.nn.Module) -> List[torch.nn.Parameter]:
    """The parameters the optimiser updates: the fixed ones are left out, so that neither
    weight decay nor momentum moves them."""
    return [p for p in model.parameters() if p.requires_grad]


def train_mode(model: torch.nn.Module) -> None:
    """``model.train()``, except modules whose own parameters are all fixed: those stay in
    eval mode, so that their batch norms keep the running statistics they started with."""
    model.train()
    for module in model.modules():
        own = list(module.parameters(recurse=False))
        if own and not any(p.requires_grad for p in own):
            module.training = False   # this module only: its children decide for themselves


__all__ = ['BACKBONE', 'Start', 'init_from', 'start_of', 'freeze', 'frozen_summary',
           'trainable', 'train_mode']
