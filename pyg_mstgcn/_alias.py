"""Top-level names of a source checkout that stand for packages of :mod:`pyg_mstgcn`."""
from __future__ import annotations

import importlib
import pkgutil
import sys


def alias_submodules(alias: str, target: str) -> None:
    """Makes ``alias.NAME`` the very module ``target.NAME`` for every submodule of
    :obj:`target` (imported now), so that classes and exceptions keep one identity whichever
    name they are imported by. ``__main__`` is left alone: ``python -m alias`` runs
    :obj:`alias`'s own."""
    package = importlib.import_module(target)
    for info in pkgutil.walk_packages(package.__path__, prefix=target + '.'):
        name = info.name[len(target) + 1:]
        if name.split('.')[-1] == '__main__':
            continue
        module = importlib.import_module(info.name)
        sys.modules[f'{alias}.{name}'] = module
        if '.' not in name:  # deeper ones are attributes of their (shared) parents already
            setattr(sys.modules[alias], name, module)
