"""MST-GCN (Chen et al., AAAI 2021) for skeleton-based action recognition, as PyTorch
Geometric layers.

Packages, in the order data flows: :mod:`pyg_mstgcn.graph` (skeleton layouts, the spatial
partition, edge sets), :mod:`pyg_mstgcn.io` (files and the preprocessed-array format),
:mod:`pyg_mstgcn.preprocess` (raw datasets to arrays), :mod:`pyg_mstgcn.data` (skeleton
sequences as PyG graphs, datasets, transforms), :mod:`pyg_mstgcn.nn` (the layers),
:mod:`pyg_mstgcn.models` (the network and the named models), :mod:`pyg_mstgcn.train`
(training and evaluation), :mod:`pyg_mstgcn.visualize` (figures), and beside them
:mod:`pyg_mstgcn.convert` (weights of the original code), :mod:`pyg_mstgcn.ensemble`
(fusing streams) and :mod:`pyg_mstgcn.benchmarks`. Configurations: :mod:`pyg_mstgcn.config_files`.
"""
__version__ = '0.1.0'
