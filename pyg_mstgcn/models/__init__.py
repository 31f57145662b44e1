"""The MST-GCN network and its factory."""
from pyg_mstgcn.models.factory import build_model, model_options
from pyg_mstgcn.models.mstgcn import DEFAULT_BLOCKS, MSTGCN

__all__ = ['MSTGCN', 'DEFAULT_BLOCKS', 'build_model', 'model_options']
