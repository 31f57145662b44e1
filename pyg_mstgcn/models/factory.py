"""One place that turns a plain configuration mapping into a model."""
from __future__ import annotations

import inspect
from typing import Any, Dict, Mapping

from pyg_mstgcn.models.mstgcn import MSTGCN


def model_options() -> Dict[str, Any]:
    """The options of :class:`MSTGCN` with their defaults (``inspect.Parameter.empty`` for
    required ones)."""
    parameters = inspect.signature(MSTGCN.__init__).parameters
    return {name: p.default for name, p in parameters.items() if name != 'self'}


def build_model(config: Mapping[str, Any]) -> MSTGCN:
    """Builds :class:`MSTGCN` from a mapping of its options, naming any unknown or missing
    key."""
    options = model_options()
    unknown = sorted(set(config) - set(options))
    if unknown:
        raise ValueError(f"unknown model option(s) {', '.join(unknown)}; valid options: "
                         f"{', '.join(options)}")
    missing = [name for name, default in options.items()
               if default is inspect.Parameter.empty and name not in config]
    if missing:
        raise ValueError(f"missing model option(s): {', '.join(missing)}")
    return MSTGCN(**config)
