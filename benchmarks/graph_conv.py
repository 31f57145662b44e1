"""``python -m benchmarks.graph_conv`` from a checkout: runs
:mod:`pyg_mstgcn.benchmarks.graph_conv`."""
from pyg_mstgcn.benchmarks.graph_conv import main

if __name__ == '__main__':
    main()
