"""``python -m benchmarks.inference`` from a checkout: runs
:mod:`pyg_mstgcn.benchmarks.inference`."""
from pyg_mstgcn.benchmarks.inference import main

if __name__ == '__main__':
    main()
