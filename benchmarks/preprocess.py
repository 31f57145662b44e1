"""``python -m benchmarks.preprocess`` from a checkout: runs
:mod:`pyg_mstgcn.benchmarks.preprocess`."""
from pyg_mstgcn.benchmarks.preprocess import main

if __name__ == '__main__':
    main()
