"""Load checkpoints of the original MST-GCN code into :class:`~pyg_mstgcn.models.MSTGCN`.

Command line::

    python -m pyg_mstgcn.convert --config ORIGINAL.yaml --checkpoint IN.pt --out OUT.pt

``OUT.pt`` holds ``{'model_config': ..., 'state_dict': ...}`` for this library.
"""
from __future__ import annotations

import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor

from pyg_mstgcn.config_files import load_yaml
from pyg_mstgcn.data.classes import class_names
from pyg_mstgcn.errors import ArgumentParser, InputError, listed, report
from pyg_mstgcn.io import load_torch, save_atomic
from pyg_mstgcn.models import MSTGCN, build_model


class CheckpointMismatch(InputError, KeyError):
    """An original checkpoint whose keys or tensors do not fit the network of its config (a
    :class:`KeyError` too, as before this class existed)."""
    __str__ = InputError.__str__   # the message as it is, not quoted as KeyError quotes it


#: The original's graph classes and our layouts.
GRAPHS = {'graph.ntu_rgb_d.Graph': 'ntu-rgb+d', 'graph.kinetics.Graph': 'openpose'}
#: (layout, class count) of the original's datasets -> their shipped class names.
KNOWN_CLASSES = {('ntu-rgb+d', 60): 'ntu60', ('ntu-rgb+d', 120): 'ntu120',
                 ('openpose', 400): 'kinetics400'}

_RENAMED = {'num_class': 'num_classes', 'block_args': 'blocks', 'atten': 'attention'}
_SAME = ('num_person', 'kernel_size', 'block_type', 'layer_type', 's_scale', 't_scale',
         'reduct_ratio', 'expand_ratio', 'act', 'bias', 'parts')
_CHECKED_ONLY = ('num_point', 'graph', 'graph_args')

Rules = List[Tuple[str, str]]


def original_config(model_args: Mapping[str, Any]) -> Dict[str, Any]:
    """Translates the ``model_args`` of an original YAML config into our model options."""
    known = set(_RENAMED) | set(_SAME) | set(_CHECKED_ONLY)
    unknown = sorted(set(model_args) - known)
    if unknown:
        raise ValueError(f"unknown key(s) in model_args: {', '.join(unknown)}; "
                         f"known keys: {', '.join(sorted(known))}")
    for key in ('num_class', 'num_point', 'block_args', 'graph'):
        if key not in model_args:
            raise ValueError(f"model_args lacks '{key}'")
    graph = model_args['graph']
    if graph not in GRAPHS:
        raise ValueError(f"unsupported graph '{graph}' in model_args; supported: "
                         f"{', '.join(GRAPHS)}")
    mode = (model_args.get('graph_args') or {}).get('labeling_mode', 'spatial')
    if mode != 'spatial':
        raise ValueError(f"graph_args.labeling_mode '{mode}' is not supported; the original "
                         f"network uses 'spatial'")
    config: Dict[str, Any] = {'layout': GRAPHS[graph]}
    for key, value in model_args.items():
        if key in _RENAMED:
            config[_RENAMED[key]] = value
        elif key in _SAME:
            config[key] = value
    if config.get('attention') in ('None', 'none'):
        config['attention'] = None
    if config.get('layer_type') == 'normal':  # the original's other name for 'basic'
        config['layer_type'] = 'basic'
    config['blocks'] = [list(row) for row in config['blocks']]
    config['in_channels'] = config['blocks'][0][0]
    return config


def load_original(checkpoint: Union[str, os.PathLike, Mapping[str, Tensor], None],
                  model_args: Mapping[str, Any], **overrides) -> MSTGCN:
    """Builds the network of an original config and loads an original checkpoint into it.

    Args:
        checkpoint (str or path or dict or None): Path to, or state dict of, a checkpoint of
            the original code (keys with or without a ``module.`` prefix); :obj:`None` for
            fresh weights.
        model_args (dict): The ``model_args`` mapping of the original YAML config.
        **overrides: Our own options, e.g. ``backend='sparse'`` or ``adjacency='skeleton'``.

    Returns:
        The model, in eval mode.
    """
    config = original_config(model_args)
    num_point = model_args['num_point']
    config.update(overrides)
    model = build_model(config)
    if model.layout.num_joints != num_point:
        raise ValueError(f"model_args.num_point is {num_point} but graph "
                         f"'{model_args['graph']}' has {model.layout.num_joints} joints")
    if checkpoint is not None:
        state = _read_state_dict(checkpoint)
        model.load_state_dict(convert_state_dict(state, model, config))
    return model.eval()


def convert_state_dict(state: Mapping[str, Tensor], model: MSTGCN,
                       config: Mapping[str, Any]) -> Dict[str, Tensor]:
    """Renames and reshapes an original state dict for :obj:`model`; raises a
    :class:`CheckpointMismatch` naming the unknown, missing and ill-shaped keys (the first few
    of each, and how many)."""
    ours = model.state_dict()
    block_type = config.get('block_type', 'ms')
    layer_type = config.get('layer_type', 'basic')
    converted: Dict[str, Tensor] = {}
    unknown, mismatched = [], []
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        target = _our_key(key, block_type, layer_type, config.get('attention'))
        if target is None:  # tensors that take no part in the forward pass
            continue
        if target.endswith('.part_of_joint'):  # a non-persistent buffer of ours
            expected = model.get_submodule(target.rsplit('.', 1)[0]).part_of_joint
            if not torch.equal(value.long().cpu(), expected.cpu()):
                mismatched.append(f"{key} (the checkpoint's body parts differ from the "
                                  f"layout's)")
            continue
        if target not in ours:
            unknown.append(key)
            continue
        expected = ours[target]
        if target.endswith('adjacency.A'):
            if value.shape != expected.shape or not torch.allclose(value.float(),
                                                                   expected, atol=1e-5):
                mismatched.append(f"{key} (the checkpoint's graph differs from layout "
                                  f"'{model.layout.name}')")
            continue
        if target.endswith('adjacency.B') and value.shape != expected.shape:
            value = _restrict_to_skeleton(key, value, model, target)
        if value.numel() != expected.numel():
            mismatched.append(f"{key} {tuple(value.shape)} -> {target} "
                              f"{tuple(expected.shape)}")
            continue
        converted[target] = value.reshape(expected.shape).to(expected.dtype)
    missing = sorted(k for k in ours if k not in converted and not k.endswith('adjacency.A'))
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} unknown key(s) in the checkpoint: {listed(unknown)}")
    if missing:
        problems.append(f"{len(missing)} missing key(s) for this model: {listed(missing)}")
    if mismatched:
        problems.append(f"{len(mismatched)} tensor(s) that do not fit: "
                        f"{listed(mismatched, sep='; ')}")
    if problems:
        raise CheckpointMismatch('cannot load the original checkpoint (block_type='
                                 f"{block_type}, layer_type={layer_type}): "
                                 + ' | '.join(problems))
    for key, value in ours.items():  # fixed buffers are ours already
        converted.setdefault(key, value)
    return converted


def _restrict_to_skeleton(key: str, value: Tensor, model: MSTGCN, target: str) -> Tensor:
    module = model.get_submodule(target.rsplit('.', 1)[0])
    support = module.support
    off = value[:, ~support].abs().max() if (~support).any() else value.new_zeros(())
    if float(off) > 1e-6:
        raise ValueError(f"{key}: adjacency='skeleton' cannot hold this checkpoint, whose "
                         f"learned adjacency has entries off the skeleton (largest "
                         f"|value| {float(off):.3g}); load it with adjacency='full'")
    return value[:, support]


# Renaming rules: (pattern, replacement) applied in order to the part of a key after
# 'layers.{i}.msgcn.' / 'mstcn.' / 'att.'; the first matching rule wins.
_GRAPH_CONV: Rules = [(r'^PA$', 'adjacency.B'), (r'^A$', 'adjacency.A'),
                      (r'^gcn\.', 'lin.')]
_SEP_GRAPH: Rules = [(r'^PA$', 'conv.adjacency.B'), (r'^A$', 'conv.adjacency.A'),
                     (r'^depth_gcn\.', 'conv.lin.'), (r'^depth_bn\.', 'bn.'),
                     (r'^point_gcn_bn\.', 'point.'), (r'^expand_conv\.', 'expand.'),
                     (r'^residual\.', 'residual.')]
_SEP_TEMPORAL: Rules = [(r'^depth_conv\.', 'depthwise.'), (r'^point_conv\.', 'point.'),
                        (r'^expand_conv\.', 'expand.'), (r'^residual\.', 'residual.')]


def _nested(prefix: str, target: str, rules: Rules) -> Rules:
    return [(prefix + pattern.lstrip('^'), target + replacement)
            for pattern, replacement in rules]


def _spatial_rules(block_type: str, layer_type: str) -> Rules:
    if block_type == 'basic':
        return _nested(r'^conv\.', 'conv.', _GRAPH_CONV) + [(r'^(bn|residual)\.', r'\1.')]
    if block_type == 'sep':
        return _SEP_GRAPH
    if block_type == 'ms':
        if layer_type == 'sep':
            scales = _nested(r'^conv_bn\.(\d+)\.', r'scales.\1.', _SEP_GRAPH)
        else:
            scales = (_nested(r'^conv_bn\.(\d+)\.0\.', r'scales.\1.conv.', _GRAPH_CONV)
                      + [(r'^conv_bn\.(\d+)\.1\.', r'scales.\1.bn.')])
        return scales + [(r'^(bn_in|residual)\.', r'\1.')]
    middle = r'^conv\.' if block_type == 'bottle' else r'^conv\.(\d+)\.'
    scale = 'scales.0.' if block_type == 'bottle' else r'scales.\1.'
    return (_nested(middle + '0\\.', scale + 'conv.', _GRAPH_CONV)
            + [(middle + '1\\.', scale + 'bn.'), (r'^reduct_conv\.', 'reduce.'),
               (r'^expand_conv\.', 'expand.'), (r'^residual\.', 'residual.')])


def _temporal_rules(block_type: str, layer_type: str) -> Rules:
    if block_type == 'basic':
        return [(r'^(conv|bn|residual)\.', r'\1.')]
    if block_type == 'sep':
        return _SEP_TEMPORAL
    if block_type == 'ms':
        scales = (_nested(r'^conv_bn\.(\d+)\.', r'scales.\1.', _SEP_TEMPORAL)
                  if layer_type == 'sep' else [(r'^conv_bn\.(\d+)\.', r'scales.\1.')])
        return [(r'^bn_in\.', '')] + scales + [(r'^residual\.', 'residual.')]
    middle = (r'^conv\.', 'scales.0.') if block_type == 'bottle' else (r'^convs\.(\d+)\.',
                                                                       r'scales.\1.')
    return [middle, (r'^reduct_conv\.', 'reduce.'), (r'^expand_conv\.', 'expand.'),
            (r'^residual\.', 'residual.')]


_ATTENTION: Rules = [(r'^bn\.', 'bn.'), (r'^att\.joints$', 'gate.part_of_joint'),
                     (r'^att\.fcn\.1\.', 'gate.fcn.squeeze.'),
                     (r'^att\.fcn\.2\.', 'gate.fcn.bn.'),
                     (r'^att\.fcn\.4\.', 'gate.fcn.excite.'),
                     (r'^att\.conv_c\.0\.', 'gate.conv_c.'),
                     (r'^att\.', 'gate.')]
# stja/stcja keep their `fcn` Sequential (conv, bn, hswish) as it is.
_ST_ATTENTION: Rules = [(r'^att\.fcn\.([01])\.', r'gate.fcn.\1.')]


def _our_key(key: str, block_type: str, layer_type: str,
             attention: Optional[str]) -> Optional[str]:
    """Our name for an original key; '' rules mark unused tensors (returns None)."""
    if key.startswith(('data_bn.', 'fc.')):
        return key
    match = re.match(r'^layers\.(\d+)\.(msgcn|mstcn|att)\.(.*)$', key)
    if match is None:
        return '?' + key
    index, part, rest = int(match.group(1)), match.group(2), match.group(3)
    kind = 'basic' if index == 0 else block_type
    if part == 'msgcn':
        rules, ours = _spatial_rules(kind, layer_type), 'spatial'
    elif part == 'mstcn':
        rules, ours = _temporal_rules(kind, layer_type), 'temporal'
    else:
        st = attention in ('stja', 'stcja')
        rules, ours = (_ST_ATTENTION if st else []) + _ATTENTION, 'attention'
    for pattern, replacement in rules:
        if re.match(pattern, rest):
            if replacement == '':
                return None
            return f'blocks.{index}.{ours}.' + re.sub(pattern, replacement, rest, count=1)
    return '?' + key


def _our_checkpoint(path: Path) -> bool:
    """Whether a torch.save file holds a checkpoint of this library (a ``model_config`` next
    to the ``state_dict``), judged from its pickle without unpickling it."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith('data.pkl'))
            data = archive.read(name)
    except (zipfile.BadZipFile, StopIteration, OSError):
        return False
    return b'model_config' in data and b'state_dict' in data


def _read_state_dict(checkpoint: Union[str, os.PathLike, Mapping[str, Tensor]]
                     ) -> Mapping[str, Tensor]:
    if isinstance(checkpoint, (str, os.PathLike)):
        path = Path(checkpoint)
        if path.is_file() and _our_checkpoint(path):
            raise InputError(f'{path} is already a pyg_mstgcn checkpoint (model_config and '
                             f'state_dict): use it as it is (python -m pyg_mstgcn.train '
                             f'--weights {path}); convert reads checkpoints of the original '
                             f'MST-GCN code')
        checkpoint = load_torch(path, 'a state dict of the original MST-GCN code')
    for wrapper in ('state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper), Mapping):
            checkpoint = checkpoint[wrapper]
    return checkpoint


def main(argv: Optional[List[str]] = None) -> int:
    parser = ArgumentParser(
        prog='python -m pyg_mstgcn.convert',
        description='Convert a checkpoint of the original MST-GCN code into a pyg_mstgcn '
                    'checkpoint ({"model_config", "state_dict"}).')
    parser.add_argument('--config', required=True,
                        help='YAML config of the original code (its model_args are read)')
    parser.add_argument('--checkpoint', required=True,
                        help='checkpoint (.pt) written by the original code')
    parser.add_argument('--out', required=True, help='where to write the converted checkpoint')
    parser.add_argument('--backend', choices=('dense', 'sparse'), default='dense',
                        help='graph convolution backend of the converted model '
                             '(default: dense)')
    parser.add_argument('--adjacency', choices=('full', 'skeleton'), default='full',
                        help='adjacency mode of the converted model (default: full)')
    parser.add_argument('--labels', default=None, metavar='FILE',
                        help='class names to record, one per line, or a shipped list (ntu60, '
                             'ntu120, kinetics400); default: recognised from the config '
                             '(NTU RGB+D 60/120, Kinetics-400), else none')
    args = parser.parse_args(argv)
    overrides = dict(backend=args.backend, adjacency=args.adjacency)
    try:
        original = load_yaml(args.config)
        if not isinstance(original.get('model_args'), Mapping):
            raise InputError(f"{args.config} has no 'model_args' section (the original "
                             f"code's config: model_args: {{num_class: ..., block_args: ...}})")
        model = load_original(args.checkpoint, original['model_args'], **overrides)
        config = original_config(original['model_args'])
        labels = args.labels or KNOWN_CLASSES.get((config['layout'], config['num_classes']))
        names = class_names(labels) if labels else None
        if names is not None and len(names) != model.num_classes:
            raise InputError(f'--labels {labels} has {len(names)} names for '
                             f'{model.num_classes} classes')
    except (FileNotFoundError, KeyError, ValueError) as error:
        return report(error)
    config.update(overrides)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic({'model_config': config, 'state_dict': model.state_dict(),
                 'class_names': names}, out)
    print(f"converted {args.checkpoint} -> {out} ({sum(p.numel() for p in model.parameters()):,} "
          f"parameters, {model.layout.name}, {len(model.blocks)} blocks, class names: "
          f"{labels or 'none'})")
    return 0


if __name__ == '__main__':
    sys.exit(main())
