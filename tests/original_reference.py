"""The independent reference of the original network, for the tests: the very module
:mod:`pyg_mstgcn.benchmarks.original_reference` (which the benchmarks time as well)."""
import sys

from pyg_mstgcn.benchmarks import original_reference

sys.modules[__name__] = original_reference
