"""``python -m benchmarks.gpu_check`` from a checkout: runs
:mod:`pyg_mstgcn.benchmarks.gpu_check` (see also ``benchmarks/gpu_check.sh``)."""
import sys

from pyg_mstgcn.benchmarks.gpu_check import main

if __name__ == '__main__':
    sys.exit(main())
