#!/usr/bin/env bash
# The GPU readiness check, from the root of a checkout after `pip install -e .[test]`
# (installs nothing): CUDA tests, DDP over NCCL, the whole-model benchmark eager and compiled.
# Writes benchmarks/results/gpu_check.csv and gpu_check_summary.txt; see --help.
# PYTHON=... picks the interpreter; arguments go to python -m pyg_mstgcn.benchmarks.gpu_check.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m pyg_mstgcn.benchmarks.gpu_check "$@"
