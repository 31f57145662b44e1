"""MST-GCN (Chen et al., AAAI 2021) for skeleton-based action recognition, as PyTorch
Geometric layers.

Packages, in the order data flows: :mod:`pyg_mstgcn.graph` (skeleton layouts, the spatial
partition, edge sets), :mod:`pyg_mstgcn.io` (files and the preprocessed-array format),
:mod:`pyg_mstgcn.preprocess` (raw datasets to arrays), :mod:`pyg_mstgcn.data` (skeleton
sequences as PyG graphs, datasets, transforms), :mod:`pyg_mstgcn.nn` (the layers),
:mod:`pyg_mstgcn.models` (the network and the named models), :mod:`pyg_mstgcn.train`
(training and evaluation), :mod:`pyg_mstgcn.visualize` (figures), and beside them
:mod:`pyg_mstgcn.convert` (weights of the original code), :mod:`pyg_mstgcn.ensemble`
(fusing streams), :mod:`pyg_mstgcn.predict` (recognition of new data) and
:mod:`pyg_mstgcn.benchmarks`. Configurations: :mod:`pyg_mstgcn.config_files`.

At the top level: :class:`~pyg_mstgcn.predict.Recognizer` (trained checkpoints to class names),
loaded on first use so that ``import pyg_mstgcn.io`` and the preprocessing workers never load
PyTorch.
"""
__version__ = '0.1.0'

#: Names of the top level, and the modules that define them (imported when first used).
_LAZY = {'Recognizer': 'pyg_mstgcn.predict', 'OnlineRecognizer': 'pyg_mstgcn.predict',
         'Prediction': 'pyg_mstgcn.predict'}
__all__ = ['Recognizer', 'OnlineRecognizer', 'Prediction', '__version__']


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pyg_mstgcn' has no attribute '{name}'")
