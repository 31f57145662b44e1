r"""The trainer's configuration: defaults, YAML files and command-line overrides.

As timm's ``train.py``: a YAML file sets values over :data:`DEFAULTS`, ``--set key=value``
overrides them (``key`` a dotted path such as ``optim.lr``; ``value`` read as YAML, so
``--set schedule.steps=[50,70,90]`` gives a list and ``--set train.amp=null`` gives
:obj:`None`), and the resolved configuration is written into the run folder. A key that
:data:`DEFAULTS` does not hold is an error naming it, before anything is trained; the
``model`` section is checked by :func:`~pyg_mstgcn.models.build_model` and may also be the
path of a model YAML (``configs/models/*.yaml``, its ``model`` section is used), or a mapping
with ``_base_: PATH`` and the options that change (``{_base_: ..., num_classes: 120}``).
"""
from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Union

import yaml

PathLike = Union[str, Path]

#: The repository's ``configs`` folder (present in a source checkout / editable install).
CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs'
#: The configuration used when none is given.
DEFAULT_CONFIG = CONFIG_DIR / 'train' / 'synthetic.yaml'

#: Every key the trainer knows, with its default. ``model`` is free-form (checked by
#: ``build_model``); ``data.synthetic`` is ``None`` or the arguments of ``make_synthetic``.
DEFAULTS: Dict[str, Any] = {
    'data': {
        'root': None,               # folder of {split}_data_joint.npy / {split}_label.pkl
        'synthetic': None,          # None, or make_synthetic() arguments: generate into root
        'train_split': 'train',
        'val_split': 'val',
        'stream': 'joint',          # joint | bone | joint_motion | bone_motion
        'layout': 'ntu-rgb+d',
        'stream_first': True,
        'train_transforms': [],     # build_transforms() specifications
        'val_transforms': [],
        'batch_size': 32,           # global batch size (split over processes under torchrun)
        'val_batch_size': 64,
        'num_workers': 0,
        'debug': False,             # first 100 samples of each split only
    },
    'model': {},
    'optim': {
        'lr': 0.1,                  # for reference_batch_size (or the batch size above)
        'reference_batch_size': None,  # lr is scaled by data.batch_size / this, if set
        'momentum': 0.9,
        'nesterov': True,
        'weight_decay': 1e-4,
    },
    'schedule': {
        'name': 'multistep',        # multistep | cosine
        'warmup_epochs': 0,         # linear warm-up from lr / warmup_epochs... to lr
        'steps': [],                # multistep: epochs where lr is multiplied by gamma
        'gamma': 0.1,
        'min_lr': 0.0,              # cosine: final learning rate
    },
    'train': {
        'epochs': 10,
        'seed': 0,
        'device': 'auto',           # auto (cuda if available) | cpu | cuda | cuda:N
        'amp': None,                # None | bf16 | fp16 (CUDA only; ignored on CPU)
        'clip_grad_norm': None,     # max gradient norm, or None
        'label_smoothing': 0.0,
        'eval_interval': 1,         # validate every N epochs (and after the last)
        'deterministic': True,      # torch.use_deterministic_algorithms
        'threads': None,            # torch.set_num_threads, or None to keep the default
    },
    'output': {
        'dir': 'runs',
        'name': None,               # run folder name; None: {config name}-{date-time}
    },
}

#: Arguments of make_synthetic accepted under ``data.synthetic``.
SYNTHETIC_KEYS = ('num_train', 'num_val', 'num_classes', 'frames', 'seed')


class ConfigError(ValueError):
    """A configuration the trainer cannot use; the message says what and where."""


def _suggest(key: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ''


_FLOAT = re.compile(r'^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$')


def _numbers(value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` (no dot) as a string; such strings become floats."""
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def load_yaml(path: PathLike) -> Dict[str, Any]:
    """A YAML mapping from a file, with a clear error when it is absent or not a mapping."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f'config file {path} does not exist')
    with open(path) as f:
        content = _numbers(yaml.safe_load(f) or {})
    if not isinstance(content, dict):
        raise ConfigError(f'{path} must hold a mapping of sections (data, model, optim, '
                          f'schedule, train, output), got {type(content).__name__}')
    return content


def _resolve_model(model: Any, base: Path) -> Dict[str, Any]:
    if isinstance(model, str):
        candidates = [Path(model), base / model, CONFIG_DIR.parent / model]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise ConfigError(f"model file '{model}' not found (looked in "
                              f"{', '.join(str(p) for p in candidates)})")
        content = load_yaml(path)
        model = content.get('model', content)
    if isinstance(model, dict) and '_base_' in model:   # a model file plus changes
        model = dict(model)
        base_model = _resolve_model(str(model.pop('_base_')), base)
        model = {**base_model, **model}
    if model is None:
        return {}
    if not isinstance(model, dict):
        raise ConfigError(f'the model section must be a mapping of build_model options or the '
                          f'path of a model YAML (got {type(model).__name__})')
    return dict(model)


def merge(base: Dict[str, Any], update: Mapping[str, Any], where: str,
          schema: Mapping[str, Any] = DEFAULTS, prefix: str = '') -> Dict[str, Any]:
    """Merges :obj:`update` into :obj:`base` (in place), raising :class:`ConfigError` for a key
    that :obj:`schema` does not hold. Sections, ``model`` and ``data.synthetic`` are merged
    key by key; lists are replaced as a whole."""
    unknown = [k for k in update if k not in schema]
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"unknown config key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(prefix + k) for k in unknown)} in {where}{_suggest(key, schema)}; "
            f"valid keys{' of ' + prefix.rstrip('.') if prefix else ''}: {', '.join(schema)}")
    for key, value in update.items():
        full = prefix + key
        if full == 'data.synthetic' and isinstance(value, dict) and \
                isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        elif full == 'model':
            if not isinstance(value, dict):
                raise ConfigError(f'model in {where} must be a mapping')
            base['model'].update(value)
        elif isinstance(schema[key], dict) and full != 'data.synthetic':
            if not isinstance(value, dict):
                raise ConfigError(f"'{full}' in {where} must be a mapping of "
                                  f"{', '.join(schema[key])} (got {value!r})")
            merge(base[key], value, where, schema[key], full + '.')
        else:
            base[key] = copy.deepcopy(value)
    return base


def parse_override(text: str) -> Dict[str, Any]:
    """``'a.b=value'`` as the nested mapping ``{'a': {'b': value}}``, value read as YAML."""
    if '=' not in text:
        raise ConfigError(f"override '{text}' must be KEY=VALUE, e.g. optim.lr=0.05")
    key, value = text.split('=', 1)
    parts = key.strip().split('.')
    if not all(parts):
        raise ConfigError(f"override '{text}': bad key '{key}'")
    try:
        parsed = _numbers(yaml.safe_load(value)) if value.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"override '{text}': value is not valid YAML ({e})") from None
    out: Dict[str, Any] = {}
    node = out
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = parsed
    return out


def resolve(path: Optional[PathLike] = None, overrides: Iterable[str] = ()) -> Dict[str, Any]:
    """The resolved configuration: :data:`DEFAULTS`, then the YAML file, then the overrides."""
    config = copy.deepcopy(DEFAULTS)
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if path is not None:
        content = load_yaml(path)
        if 'model' in content:
            content['model'] = _resolve_model(content['model'], path.parent)
        merge(config, content, str(path))
    for text in overrides:
        update = parse_override(text)
        if 'model' in update and isinstance(update['model'], str):
            update['model'] = _resolve_model(update['model'], Path.cwd())
        merge(config, update, f"override '{text}'")
    config['_config_file'] = str(path)
    validate(config)
    return config


def learning_rate(config: Mapping[str, Any]) -> float:
    """The base learning rate for the configured global batch: ``optim.lr``, scaled linearly
    by ``data.batch_size / optim.reference_batch_size`` when the latter is set."""
    optim = config['optim']
    reference = optim.get('reference_batch_size')
    if reference is None:
        return float(optim['lr'])
    return float(optim['lr']) * config['data']['batch_size'] / reference


def validate(config: Mapping[str, Any]) -> None:
    """Checks values that can be checked without data or a model."""
    data, sched, train = config['data'], config['schedule'], config['train']
    synthetic = data['synthetic']
    if synthetic is not None:
        if not isinstance(synthetic, dict):
            raise ConfigError('data.synthetic must be null or a mapping of make_synthetic '
                              f'arguments ({", ".join(SYNTHETIC_KEYS)})')
        unknown = [k for k in synthetic if k not in SYNTHETIC_KEYS]
        if unknown:
            keys = ', '.join(f"'data.synthetic.{k}'" for k in unknown)
            raise ConfigError(f"unknown config key(s) {keys}; valid keys: "
                              f"{', '.join(SYNTHETIC_KEYS)}")
    if data['root'] is None:
        raise ConfigError('data.root is not set: give the folder of the preprocessed arrays '
                          '(--set data.root=PATH)')
    if sched['name'] not in ('multistep', 'cosine'):
        raise ConfigError(f"schedule.name must be 'multistep' or 'cosine' "
                          f"(got {sched['name']!r})")
    if train['amp'] not in (None, 'bf16', 'fp16'):
        raise ConfigError(f"train.amp must be null, 'bf16' or 'fp16' (got {train['amp']!r})")
    for key in ('epochs', 'eval_interval'):
        if not isinstance(train[key], int) or train[key] < 1:
            raise ConfigError(f'train.{key} must be a positive integer (got {train[key]!r})')
    for key in ('batch_size', 'val_batch_size'):
        if not isinstance(data[key], int) or data[key] < 1:
            raise ConfigError(f'data.{key} must be a positive integer (got {data[key]!r})')
    if not config['model']:
        raise ConfigError('the model section is empty: give build_model options (at least '
                          'num_classes) or the path of a model YAML')


def dump(config: Mapping[str, Any]) -> str:
    """The configuration as YAML (sections in the order of :data:`DEFAULTS`)."""
    clean = {k: config[k] for k in DEFAULTS}
    return yaml.safe_dump(clean, sort_keys=False, default_flow_style=None)


__all__ = ['DEFAULTS', 'DEFAULT_CONFIG', 'ConfigError', 'resolve', 'merge', 'parse_override',
           'load_yaml', 'dump', 'validate']
