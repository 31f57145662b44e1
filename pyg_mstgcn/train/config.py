r"""The trainer's configuration: every option, its default, its help and what it accepts, in
one table (:data:`OPTIONS`); recipes, command-line overrides and their checks.

As timm's ``train.py``: a recipe (a YAML file, or a shipped one by name, see
:mod:`pyg_mstgcn.config_files`) sets values over the defaults, ``--set key=value`` overrides
them (``key`` a dotted path such as ``optim.lr``; ``value`` read as YAML, so ``--set
schedule.steps=[50,70,90]`` gives a list and ``--set train.amp=null`` gives :obj:`None`), and
the resolved configuration is written into the run folder. Every value is checked before
anything is trained; an unknown key or a value out of range is a :class:`ConfigError` saying
what, where it was set and what is allowed. The ``model`` section holds the options of
:func:`~pyg_mstgcn.models.build_model` (checked by the model) or names a model configuration.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import yaml

from pyg_mstgcn.checks import (BOOL, DURATION, MAPPING, NON_NEGATIVE, NON_NEGATIVE_INT, NULL,
                               POSITIVE, POSITIVE_INT, TEXT, OneOf, Rule, interval, list_of,
                               suggest)
from pyg_mstgcn.config_files import (ConfigError, find_config, load_recipe, merge,
                                     read_numbers, set_model, source_of)
from pyg_mstgcn.data.transforms import build_transforms
from pyg_mstgcn.data.classes import CLASS_LISTS, class_names
from pyg_mstgcn.data.streams import STREAMS
from pyg_mstgcn.graph.layout import ALIASES as LAYOUT_ALIASES
from pyg_mstgcn.graph.layout import LAYOUTS
from pyg_mstgcn.train.augment import split_transforms
from pyg_mstgcn.train.data import DATASET_FORMATS
from pyg_mstgcn.train.model import build_checked_model

PathLike = Union[str, Path]

#: The recipe used when none is given: the built-in synthetic dataset.
DEFAULT_CONFIG = 'synthetic'


# ------------------------------------------------------------------------------------------
# What a value may be (beyond the shared rules of pyg_mstgcn.checks)

DEVICE = Rule("'auto', 'cpu', 'cuda' or 'cuda:N'",
              lambda v: isinstance(v, str) and re.fullmatch(r'auto|cpu|cuda(:\d+)?', v)
              is not None)
LAYOUT = OneOf([*LAYOUTS, *LAYOUT_ALIASES])
FREEZE = Rule("'backbone' or a list of parameter-name patterns",
              lambda v: v == 'backbone' or (isinstance(v, list)
                                            and all(isinstance(p, str) and p for p in v)))
TRANSFORM_LIST = Rule('a list of transforms (names, or mappings with a name and options)',
                      lambda v: isinstance(v, list))


@dataclass(frozen=True)
class Option:
    """One configuration option: its default, what it is, and what it accepts."""
    default: Any
    help: str
    rule: Rule


#: Arguments of make_synthetic accepted under ``data.synthetic``.
SYNTHETIC_KEYS = ('num_train', 'num_val', 'num_classes', 'frames', 'seed')

#: Every option of the trainer, by section. ``model`` is free-form: its options are those of
#: :func:`~pyg_mstgcn.models.build_model`, checked by the model itself.
OPTIONS: Dict[str, Dict[str, Option]] = {
    'data': {
        'format': Option('arrays', 'how data.root is read: ' + '; '.join(
                             f'{name} ({f.files})' for name, f in DATASET_FORMATS.items()),
                         OneOf(DATASET_FORMATS)),
        'root': Option(None, 'the data, as data.format reads it: a folder of preprocessed '
                       'arrays, an annotation pickle or a CTR-GCN .npz', TEXT),
        'synthetic': Option(None, 'generate the built-in synthetic dataset into data.root: '
                            f'null, or make_synthetic arguments ({", ".join(SYNTHETIC_KEYS)})',
                            NULL | MAPPING),
        'train_split': Option('train', 'the split trained on', TEXT),
        'val_split': Option('val', 'the split evaluated on (also by --phase test)', TEXT),
        'repeat': Option(1, 'passes over the training split per epoch (the RepeatDataset of '
                         'PYSKL and CTR-GCN\'s NW-UCLA recipe)', POSITIVE_INT),
        'stream': Option('joint', 'the input stream, computed on the fly', OneOf(STREAMS)),
        'layout': Option('ntu-rgb+d', 'the skeleton layout of the data', LAYOUT),
        'stream_first': Option(True, 'compute the stream before the transforms (the '
                               'original) or after them (CTR-GCN, PYSKL)', BOOL),
        'train_transforms': Option([], 'training augmentation, e.g. [random_shift, '
                                   '{name: uniform_sample, size: 64}]', TRANSFORM_LIST),
        'augment_on': Option('loader', 'where training augmentation runs: loader (per '
                             'sample in the workers) or device (random_shift, random_move, '
                             'random_rotation on each whole batch on the training device, '
                             'drawn from train.seed, the epoch and the step); the '
                             'train_transforms before the first of those stay in the loader, '
                             'one without a batched form after it is an error',
                             OneOf(('loader', 'device'))),
        'val_transforms': Option([], 'evaluation transforms', TRANSFORM_LIST),
        'batch_size': Option(32, 'the global batch size (split over the processes under '
                             'torchrun)', POSITIVE_INT),
        'val_batch_size': Option(64, 'the global evaluation batch size', POSITIVE_INT),
        'num_workers': Option(0, 'data-loading worker processes per training process '
                              '(lowered to the CPU count)', NON_NEGATIVE_INT),
        'debug': Option(False, 'use the first 100 samples of each split only', BOOL),
        'class_names': Option(None, 'the names of the classes, kept in the checkpoints: a '
                              f'shipped list ({", ".join(CLASS_LISTS)}) or a file, one name '
                              'per line; null: the data folder\'s class_names.txt, if any',
                              NULL | TEXT),
    },
    'optim': {
        'lr': Option(0.1, 'the learning rate (for optim.reference_batch_size, if set)',
                     POSITIVE),
        'reference_batch_size': Option(None, 'the global batch optim.lr is meant for; lr is '
                                       'scaled by data.batch_size / this', NULL | POSITIVE_INT),
        'momentum': Option(0.9, 'SGD momentum', interval(0, 1)),
        'nesterov': Option(True, 'Nesterov momentum (needs momentum > 0)', BOOL),
        'weight_decay': Option(1e-4, 'L2 weight decay', NON_NEGATIVE),
    },
    'schedule': {
        'name': Option('multistep', 'the learning-rate schedule', OneOf(('multistep', 'cosine'))),
        'warmup_epochs': Option(0, 'linear warm-up from lr / iterations to lr over these '
                                'epochs', NON_NEGATIVE),
        'steps': Option([], 'multistep: the epochs where lr is multiplied by gamma',
                        list_of(NON_NEGATIVE)),
        'gamma': Option(0.1, 'multistep: the factor at each step', POSITIVE),
        'min_lr': Option(0.0, 'cosine: the final learning rate', NON_NEGATIVE),
    },
    'train': {
        'epochs': Option(10, 'epochs to train', POSITIVE_INT),
        'seed': Option(0, 'the seed of weights, sampling and augmentation', NON_NEGATIVE_INT),
        'device': Option('auto', 'auto is CUDA when available, else the CPU', DEVICE),
        'amp': Option(None, 'automatic mixed precision on CUDA (ignored on the CPU)',
                      NULL | OneOf(('bf16', 'fp16'))),
        'compile': Option(False, 'train the torch.compile\'d network (inductor; the first '
                          'steps compile it); evaluation and checkpoints use the plain '
                          'model', BOOL),
        'cuda_graphs': Option(False, "on CUDA, replay each training step's network as a "
                              "CUDA graph (torch.compile mode 'reduce-overhead', so it "
                              'implies train.compile); needs static shapes: a fixed frame '
                              'count (uniform_sample) and full batches; ignored on the CPU',
                              BOOL),
        'clip_grad_norm': Option(None, 'clip the gradient norm to this', NULL | POSITIVE),
        'label_smoothing': Option(0.0, 'label smoothing of the loss', interval(0, 1, False)),
        'eval_interval': Option(1, 'validate every N epochs (and after the last)',
                                POSITIVE_INT),
        'check_interval': Option(None, 'read the loss from the device (the non-finite '
                                 'stop, the progress bar) every N steps, not after each '
                                 'step (a host synchronisation); null: every step on the '
                                 'CPU, every 20 on CUDA', NULL | POSITIVE_INT),
        'checkpoint_every': Option(None, 'also write last.pt (with the position inside the '
                                   "epoch) every N steps, or every so long ('30min', '2h', "
                                   "'90s', from the last checkpoint); null: at the end of "
                                   'each epoch and on preemption (SIGTERM, SIGUSR1) only',
                                   NULL | POSITIVE_INT | DURATION),
        'deterministic': Option(True, 'torch.use_deterministic_algorithms', BOOL),
        'threads': Option(None, 'torch.set_num_threads, or null to keep the default',
                          NULL | POSITIVE_INT),
        'init_weights': Option(None, 'fine-tuning: start from the weights of this checkpoint '
                               '(ours, or converted from the original); a classifier of '
                               'another class count is replaced', NULL | TEXT),
        'freeze': Option([], 'parameters kept fixed: backbone (all but the classifier, for '
                         'linear probing) or a list of parameter-name patterns such as '
                         '[data_bn.*, blocks.0.*] (quote a pattern that starts with *)', FREEZE),
    },
    'output': {
        'dir': Option('runs', 'the folder of the run folders', TEXT),
        'name': Option(None, 'the run folder name; null: {recipe}-{date-time}', NULL | TEXT),
    },
}

#: Every key with its default (``model`` empty: the recipe names it).
DEFAULTS: Dict[str, Any] = {
    'data': {k: o.default for k, o in OPTIONS['data'].items()},
    'model': {},
    **{section: {k: o.default for k, o in options.items()}
       for section, options in OPTIONS.items() if section != 'data'},
}
SECTIONS = tuple(DEFAULTS)


def help_text() -> str:
    """Every option with its default and what it accepts, for ``--help``."""
    lines = ['configuration options (set them in a recipe or with --set SECTION.KEY=VALUE):']
    for section, options in OPTIONS.items():
        lines.append(f'  {section}:')
        for key, option in options.items():
            default = yaml.safe_dump(option.default, default_flow_style=True).strip()
            default = default.removesuffix('\n...').removesuffix('...').strip()
            lines.append(f'    {section}.{key} = {default}: {option.help} ({option.rule.allowed})')
        if section == 'data':
            lines.append('  model: a model configuration name (--list-configs) or the '
                         'options of pyg_mstgcn.models.build_model (num_classes, layout, '
                         'blocks, block_type, attention, backend, ...)')
    return '\n'.join(lines)


# ------------------------------------------------------------------------------------------
# Resolving a configuration

def parse_override(text: str) -> Dict[str, Any]:
    """``'a.b=value'`` as the nested mapping ``{'a': {'b': value}}``, value read as YAML."""
    if '=' not in text:
        raise ConfigError(f"override '{text}' must be KEY=VALUE, e.g. optim.lr=0.05")
    key, value = text.split('=', 1)
    parts = key.strip().split('.')
    if not all(parts):
        raise ConfigError(f"override '{text}': bad key '{key}'")
    try:
        parsed = read_numbers(yaml.safe_load(value)) if value.strip() else None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"override '{text}': the value is not valid YAML ({first})") from None
    except ValueError as e:  # an alias inside itself, '&a [*a]' (read_numbers)
        raise ConfigError(f"override '{text}': {e}") from None
    out: Dict[str, Any] = {}
    node = out
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = parsed
    return out


def _check_keys(content: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """Raises for a key no section holds, naming where it was set."""
    for section, value in content.items():
        if section not in DEFAULTS:
            raise ConfigError(f"unknown config section '{section}' in "
                              f"{source_of(section, sources)}{suggest(section, SECTIONS)}; "
                              f"sections: {', '.join(SECTIONS)}")
        if section == 'model':
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"'{section}' in {source_of(section, sources)} must be a mapping "
                              f"of {', '.join(OPTIONS[section])} (got {value!r})")
        for key in value:
            if key not in OPTIONS[section]:
                full = f'{section}.{key}'
                raise ConfigError(f"unknown config key '{full}' in {source_of(full, sources)}"
                                  f"{suggest(key, OPTIONS[section])}; valid keys of {section}: "
                                  f"{', '.join(OPTIONS[section])}")


def _apply(config: Dict[str, Any], content: Mapping[str, Any], where: str,
           sources: Dict[str, str], relative_to: Optional[Path] = None) -> None:
    content = dict(content)
    model = content.pop('model', None)
    _check_keys(content, {k: where for k in content})
    merge(config, content, where, sources)
    if model is not None:
        set_model(config, model, where, sources, relative_to)


def resolve(path: Optional[PathLike] = None, overrides: Iterable[str] = (),
            base: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The resolved configuration: the defaults, then the recipe :obj:`path` (a shipped name
    or a file; the synthetic recipe by default) or the saved configuration :obj:`base` (a
    run's ``config.yaml``, read by ``--resume``), then the overrides; every value checked.

    The result also holds ``_config_file`` (the recipe's path) and ``_sources`` (where each
    key was set), which :func:`dump` leaves out.
    """
    config = copy.deepcopy(DEFAULTS)
    sources: Dict[str, str] = {}
    if base is not None:
        recipe_path = Path(base.get('_config_file', 'run'))
        _apply(config, {k: v for k, v in base.items() if not k.startswith('_')},
               str(recipe_path), sources)
    else:
        recipe_path = find_config(path if path is not None else DEFAULT_CONFIG, 'train')
        recipe, recipe_sources = load_recipe(recipe_path)
        _check_keys(recipe, recipe_sources)
        model = recipe.pop('model', None)
        merge(config, recipe, str(recipe_path), sources)
        if model is not None:
            config['model'] = model
        sources.update(recipe_sources)
    for text in overrides:
        _apply(config, parse_override(text), f'--set {text}', sources, Path.cwd())
    config['_config_file'] = str(recipe_path)
    config['_sources'] = sources
    validate(config)
    # every model option, the defaults filled in, so that the saved config.yaml rebuilds it
    config['model'] = build_checked_model(config['model'], None, config).config()
    return config


# ------------------------------------------------------------------------------------------
# Checks

def _fail(key: str, value: Any, allowed: str, config: Mapping[str, Any]) -> None:
    where = source_of(key, config.get('_sources', {}))
    raise ConfigError(f'{key} must be {allowed} (got {value!r}; set in {where})')


def validate(config: Mapping[str, Any]) -> None:
    """Checks every value that can be checked without data or a model."""
    for section, options in OPTIONS.items():
        for key, option in options.items():
            value = config[section][key]
            if not option.rule.accepts(value):
                _fail(f'{section}.{key}', value, option.rule.allowed, config)
    data, optim = config['data'], config['optim']
    synthetic = data['synthetic']
    if synthetic is not None:
        for key, value in synthetic.items():
            if key not in SYNTHETIC_KEYS:
                raise ConfigError(f"unknown config key 'data.synthetic.{key}' in "
                                  f"{source_of('data.synthetic', config.get('_sources', {}))}"
                                  f"{suggest(key, SYNTHETIC_KEYS)}; valid keys: "
                                  f"{', '.join(SYNTHETIC_KEYS)}")
            rule = NON_NEGATIVE_INT if key == 'seed' else POSITIVE_INT
            if not rule.accepts(value):
                _fail(f'data.synthetic.{key}', value, rule.allowed, config)
    for key, read in (('train_transforms', build_transforms),
                      ('val_transforms', build_transforms), ('class_names', class_names)):
        if data[key] is not None:   # readable: the transforms build, the names read
            try:
                read(data[key])
            except (ValueError, TypeError) as e:
                where = source_of(f'data.{key}', config.get('_sources', {}))
                raise ConfigError(f'data.{key} (set in {where}): {e}') from None
    split_transforms(config)   # with augment_on device: the steps can move there
    if data['root'] is None:
        raise ConfigError(f"data.root is not set: give the data "
                          f"({DATASET_FORMATS[data['format']].files}) with --set "
                          f"data.root=PATH")
    if optim['nesterov'] and optim['momentum'] <= 0:
        _fail('optim.momentum', optim['momentum'], 'positive with optim.nesterov (or set '
              'optim.nesterov=false)', config)
    if not isinstance(config['model'], dict) or not config['model']:
        raise ConfigError('the model section is empty: name a model configuration '
                          '(--set model=mstgcn_ntu60; see --list-configs) or give '
                          'build_model options (at least num_classes)')


def learning_rate(config: Mapping[str, Any]) -> float:
    """The base learning rate for the configured global batch: ``optim.lr``, scaled linearly
    by ``data.batch_size / optim.reference_batch_size`` when the latter is set."""
    optim = config['optim']
    reference = optim.get('reference_batch_size')
    if reference is None:
        return float(optim['lr'])
    return float(optim['lr']) * config['data']['batch_size'] / reference


def dump(config: Mapping[str, Any]) -> str:
    """The configuration as YAML (sections in the order of :data:`DEFAULTS`)."""
    return yaml.safe_dump({k: config[k] for k in DEFAULTS}, sort_keys=False,
                          default_flow_style=None)


def differences(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ''
                ) -> List[Tuple[str, Any, Any]]:
    """The dotted keys whose values differ between two configurations, with both values."""
    out: List[Tuple[str, Any, Any]] = []
    for key in dict.fromkeys([*before, *after]):
        if str(key).startswith('_'):
            continue
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f'{prefix}{key}.')
        elif a != b:
            out.append((f'{prefix}{key}', a, b))
    return out


__all__ = ['OPTIONS', 'DEFAULTS', 'DEFAULT_CONFIG', 'ConfigError', 'resolve', 'parse_override',
           'validate', 'dump', 'help_text', 'learning_rate', 'differences']
