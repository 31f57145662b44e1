"""``python -m benchmarks.model`` from a checkout: runs
:mod:`pyg_mstgcn.benchmarks.model`."""
from pyg_mstgcn.benchmarks.model import main

if __name__ == '__main__':
    main()
