"""MST-GCN (Chen et al., AAAI 2021) for skeleton-based action recognition, as PyTorch
Geometric layers.

Packages, in the order data flows: :mod:`pyg_mstgcn.graph` (skeleton layouts and the spatial
partition), :mod:`pyg_mstgcn.data` (skeleton sequences as PyG graphs), :mod:`pyg_mstgcn.nn`
(the layers), :mod:`pyg_mstgcn.models` (the network) and :mod:`pyg_mstgcn.convert` (weights
of the original code).
"""
__version__ = '0.1.0'
