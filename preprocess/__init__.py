"""``python -m preprocess ...`` from a checkout: the thin entry point of
:mod:`pyg_mstgcn.preprocess`, where the implementation lives (and which an installed package
runs as ``python -m pyg_mstgcn.preprocess`` or ``mstgcn-preprocess``).

``import preprocess.ntu`` and the like give the very modules of :mod:`pyg_mstgcn.preprocess`
(not copies), so that code written against the former top-level package keeps working.
"""
from pyg_mstgcn._alias import alias_submodules
from pyg_mstgcn.preprocess import *  # noqa: F401,F403
from pyg_mstgcn.preprocess import __all__  # noqa: F401

alias_submodules(__name__, 'pyg_mstgcn.preprocess')
