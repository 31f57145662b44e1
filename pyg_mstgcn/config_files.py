r"""Configuration files: YAML with ``_base_`` inheritance, and the shipped ones found by name.

Two kinds are shipped (the repository's ``configs/`` folder, installed inside the package as
``pyg_mstgcn/configs``): training recipes, ``configs/train/NAME.yaml``, and model
configurations, ``configs/models/NAME.yaml``. Wherever a configuration is expected, a shipped
one is named by its file name without ``.yaml`` (``ntu60_xsub_joint``, ``mstgcn_ntu60``), and
any other file by its path.

Inheritance, as mmaction2 and timm's YAML recipes do it:

- A recipe may start from others: ``_base_: NAME`` (or a list, merged in order), then states
  only what differs. Mappings merge key by key; any other value, a list included, replaces
  the inherited one.
- Its ``model`` section is either a model configuration (``model: mstgcn_ntu60``, or
  ``model: {_base_: mstgcn_ntu60, num_classes: 120}``: that model with changes), which
  replaces the inherited model, or a mapping of options, which updates it.
- A model configuration holds ``model: {...}`` (the :class:`~pyg_mstgcn.models.MSTGCN`
  options) and may start from another model with ``_base_`` inside it.

Names of a ``_base_`` are looked up next to the file that names them first, then among the
shipped configurations; a path relative to the repository root (``configs/models/x.yaml``)
works too.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from pyg_mstgcn.checks import suggest
from pyg_mstgcn.errors import InputError

PathLike = Union[str, Path]

#: The kinds of shipped configuration: sub-folders of :func:`config_dir`.
KINDS = ('train', 'models')
BASE_KEY = '_base_'


class ConfigError(InputError):
    """A configuration that cannot be used; the message says what, where and what is
    allowed."""


def config_dir() -> Path:
    """The shipped configurations: ``pyg_mstgcn/configs`` in an installed package, the
    repository's ``configs/`` in a source checkout (an editable install)."""
    package = Path(__file__).resolve().parent
    installed = package / 'configs'
    return installed if installed.is_dir() else package.parent / 'configs'


def config_names(kind: str) -> List[str]:
    """The names of the shipped configurations of :obj:`kind` (``'train'`` or ``'models'``),
    sorted; files starting with ``_`` and the ``_base_`` folder hold bases, not recipes."""
    folder = config_dir() / kind
    return sorted(p.stem for p in folder.glob('*.yaml') if not p.name.startswith('_'))


def describe_config(path: PathLike) -> str:
    """The first comment line of a configuration file (its one-line description)."""
    for line in Path(path).read_text().splitlines():
        if line.startswith('#'):
            return line.lstrip('#').strip()
        if line.strip():
            break
    return ''


def find_config(name: PathLike, kind: str, relative_to: Optional[PathLike] = None) -> Path:
    """The file a configuration name or path stands for.

    Looked up in order: :obj:`name` as a path (relative to :obj:`relative_to` first, then to
    the current folder; ``.yaml`` may be left out), the shipped configuration of :obj:`kind`
    called :obj:`name`, and a path relative to the folder above the shipped ones (so
    ``configs/models/x.yaml`` works from anywhere). Raises :class:`ConfigError` naming the
    shipped configurations when nothing is found.
    """
    path = Path(name)
    folders = ([Path(relative_to)] if relative_to is not None and not path.is_absolute()
               else []) + [Path('.')]
    shipped = config_dir()
    candidates = [folder / path for folder in folders]
    candidates += [shipped / kind / path, shipped.parent / path]
    for candidate in candidates:
        for option in (candidate, candidate.with_name(candidate.name + '.yaml')):
            if option.is_file():
                return option
    names = config_names(kind)
    what = 'training recipe' if kind == 'train' else 'model configuration'
    raise ConfigError(f"no {what} '{name}': not a file, nor a shipped {what}"
                      f"{suggest(str(name), names)}; shipped: {', '.join(names)}")


_FLOAT = re.compile(r'^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$')


#: What :func:`read_numbers` says of a value that holds itself.
SELF_REFERENCE = 'the value contains itself (a YAML alias inside its anchor)'


def read_numbers(value: Any, _inside: frozenset = frozenset()) -> Any:
    """YAML 1.1 reads ``1e-4`` (no dot) as a string; such strings become floats. A value that
    holds itself (``&a [*a]``) is a :class:`ValueError` (:data:`SELF_REFERENCE`)."""
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    if isinstance(value, (dict, list)):
        if id(value) in _inside:
            raise ValueError(SELF_REFERENCE)
        inside = _inside | {id(value)}
        if isinstance(value, dict):
            return {k: read_numbers(v, inside) for k, v in value.items()}
        return [read_numbers(v, inside) for v in value]
    return value


def load_yaml(path: PathLike) -> Dict[str, Any]:
    """A YAML mapping from a file, with a clear error when it is absent, unreadable or not a
    mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f'config file {path} does not exist')
    try:
        content = read_numbers(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f'{path} is not valid YAML ({first})') from None
    except ValueError as error:   # a value that holds itself
        raise ConfigError(f'{path}: {error}') from None
    if not isinstance(content, dict):
        raise ConfigError(f'{path} must hold a mapping (got {type(content).__name__})')
    return content


def _bases(content: Dict[str, Any], where: str) -> List[str]:
    bases = content.pop(BASE_KEY, [])
    bases = [bases] if isinstance(bases, (str, Path)) else bases
    if not isinstance(bases, list) or not all(isinstance(b, (str, Path)) for b in bases):
        raise ConfigError(f'{BASE_KEY} in {where} must be a configuration name or path, or a '
                          f'list of them (got {bases!r})')
    return [str(b) for b in bases]


def load_model_config(name: PathLike, relative_to: Optional[PathLike] = None,
                      _chain: Tuple[Path, ...] = ()) -> Dict[str, Any]:
    """The model options of a model configuration (a shipped name or a path), its
    ``_base_`` chain resolved."""
    path = find_config(name, 'models', relative_to)
    content = load_yaml(path)
    model = content.get('model', content)
    return resolve_model_section(model, str(path), path.parent, _chain + (path.resolve(), ))


def resolve_model_section(model: Any, where: str, relative_to: Optional[PathLike] = None,
                          _chain: Tuple[Path, ...] = ()) -> Dict[str, Any]:
    """A ``model`` section as plain options: a name or path of a model configuration, or a
    mapping (with or without ``_base_``)."""
    if isinstance(model, (str, Path)):
        path = find_config(model, 'models', relative_to)
        if path.resolve() in _chain:
            raise ConfigError(f"{where}: the model configurations' {BASE_KEY} chain loops back "
                              f'to {path}')
        return load_model_config(path, relative_to, _chain)
    if model is None:
        return {}
    if not isinstance(model, Mapping):
        raise ConfigError(f'the model section in {where} must be a mapping of model options '
                          f'or the name of a model configuration (got {model!r})')
    model = dict(model)
    options: Dict[str, Any] = {}
    for base in _bases(model, where):
        options.update(resolve_model_section(base, where, relative_to, _chain))
    options.update(model)
    return options


def merge(base: Dict[str, Any], update: Mapping[str, Any], where: str,
          sources: Dict[str, str], prefix: str = '') -> Dict[str, Any]:
    """Merges :obj:`update` into :obj:`base` in place: mappings key by key, anything else (a
    list included) replaced. :obj:`sources` records, for each dotted key set, :obj:`where` it
    was set."""
    for key, value in update.items():
        full = prefix + str(key)
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value, where, sources, full + '.')
        else:
            base[key] = copy.deepcopy(value)
            sources[full] = where
    return base


def set_model(config: Dict[str, Any], model: Any, where: str, sources: Dict[str, str],
              relative_to: Optional[PathLike] = None, whole: Optional[bool] = None) -> None:
    """Applies a ``model`` section to :obj:`config`: a model configuration (a name or path,
    or a mapping with ``_base_``), or any section when :obj:`whole`, replaces the model;
    plain options update it."""
    if whole is None:
        whole = isinstance(model, (str, Path)) or (isinstance(model, Mapping)
                                                   and BASE_KEY in model)
    options = resolve_model_section(model, where, relative_to)
    if whole or not isinstance(config.get('model'), dict):
        config['model'] = {}
        for stale in [k for k in sources if k.startswith('model.')]:
            del sources[stale]
    merge(config, {'model': options}, where, sources)


def source_of(key: str, sources: Mapping[str, str]) -> str:
    """Where a dotted key (or the section it names) was set: the file, or the override
    (``'the defaults'`` if neither)."""
    parts = key.split('.')
    for n in range(len(parts), 0, -1):
        where = sources.get('.'.join(parts[:n]))
        if where:
            return where
    inside = [where for k, where in sources.items() if k.startswith(key + '.') and where]
    return inside[-1] if inside else 'the defaults'


def load_recipe(name: PathLike, _chain: Tuple[Path, ...] = ()
                ) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """A training recipe (a shipped name or a path) with its ``_base_`` recipes merged in and
    its ``model`` section resolved to plain options; and where each dotted key was set."""
    path = find_config(name, 'train', _chain[-1].parent if _chain else None)
    if path.resolve() in _chain:
        raise ConfigError(f"{_chain[-1]}: the recipes' {BASE_KEY} chain loops back to {path}")
    chain = _chain + (path.resolve(), )
    content = load_yaml(path)
    config: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    for base in _bases(content, str(path)):
        base_config, base_sources = load_recipe(find_config(base, 'train', path.parent), chain)
        model = base_config.pop('model', None)
        merge(config, base_config, '', sources)
        if model is not None:   # a base recipe's model is whole: it replaces an earlier one
            set_model(config, model, '', sources, whole=True)
        sources.update(base_sources)
    model = content.pop('model', None)
    merge(config, content, str(path), sources)
    if model is not None:
        set_model(config, model, str(path), sources, path.parent)
    return config, sources


__all__ = ['KINDS', 'ConfigError', 'config_dir', 'config_names', 'describe_config',
           'find_config', 'load_yaml', 'load_model_config', 'resolve_model_section',
           'merge', 'set_model', 'load_recipe', 'read_numbers', 'source_of']
