"""One place that turns a configuration into a model, and the named models (as timm's
registry): every model configuration shipped in ``configs/models`` is built by its name."""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Dict, List, Mapping, Union

from pyg_mstgcn.checks import check_names
from pyg_mstgcn.config_files import config_names, load_model_config, resolve_model_section
from pyg_mstgcn.models.mstgcn import MSTGCN, NETWORK_ARGUMENTS
from pyg_mstgcn.nn import BlockOptions


def model_options() -> Dict[str, Any]:
    """The options of :class:`MSTGCN` with their defaults (``inspect.Parameter.empty`` for
    required ones): the network's arguments, then the block options."""
    parameters = inspect.signature(MSTGCN.__init__).parameters
    network = {name: parameters[name].default for name in NETWORK_ARGUMENTS}
    return {**network, **{f.name: f.default for f in dataclasses.fields(BlockOptions)}}


def list_models() -> List[str]:
    """The names of the shipped model configurations (``configs/models/NAME.yaml``), e.g.
    ``'mstgcn_ntu60'``, ``'amstgcn_ntu60'``, ``'amstgcn_kinetics'``."""
    return config_names('models')


def model_config(name: str) -> Dict[str, Any]:
    """The options of a named model configuration (or of a model YAML given by its path),
    its ``_base_`` chain resolved."""
    return load_model_config(name)


def build_model(model: Union[str, Mapping[str, Any]], **overrides: Any) -> MSTGCN:
    """Builds :class:`MSTGCN` from a named model configuration (:func:`list_models`), the path
    of a model YAML, or a mapping of its options (which may start from a named one with
    ``_base_``); :obj:`overrides` change options, e.g.
    ``build_model('mstgcn_ntu60', num_classes=120)``. Unknown or missing options are a
    :class:`ValueError` naming them."""
    if isinstance(model, str):
        config = load_model_config(model)
    elif isinstance(model, Mapping):
        config = resolve_model_section(model, 'the model options')
    else:
        raise TypeError(f'build_model takes a model name, a YAML path or a mapping of options '
                        f'(got {type(model).__name__})')
    config.update(overrides)
    options = model_options()
    check_names(config, list(options), 'model')
    missing = [name for name, default in options.items()
               if default is inspect.Parameter.empty and name not in config]
    if missing:
        raise ValueError(f"missing model option(s): {', '.join(missing)}")
    return MSTGCN(**config)
