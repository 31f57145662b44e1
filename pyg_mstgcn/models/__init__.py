"""The MST-GCN network, its factory and the named model configurations."""
from pyg_mstgcn.models.factory import build_model, list_models, model_config, model_options
from pyg_mstgcn.models.mstgcn import DEFAULT_BLOCKS, MSTGCN, optimize_for_inference

__all__ = ['MSTGCN', 'DEFAULT_BLOCKS', 'build_model', 'list_models', 'model_config',
           'model_options', 'optimize_for_inference']
