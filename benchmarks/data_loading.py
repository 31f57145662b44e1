"""``python -m benchmarks.data_loading`` from a checkout: runs
:mod:`pyg_mstgcn.benchmarks.data_loading`."""
from pyg_mstgcn.benchmarks.data_loading import main

if __name__ == '__main__':
    main()
