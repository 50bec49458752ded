#!/usr/bin/env bash
# Run the whole test suite (sets up .venv first if needed). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
# The suite is dominated by XLA compile time of many small programs; LLVM optimisation level 1 compiles them about
# 3x faster with the same results up to the last bits (every test compares runs compiled the same way).
# A level given in XLA_FLAGS is kept (the studies' smoke tests must pin only what holds at both levels).
case "${XLA_FLAGS:-}" in
  *xla_backend_optimization_level*) ;;
  *) export XLA_FLAGS="${XLA_FLAGS:-} --xla_backend_optimization_level=1" ;;
esac
# One pytest worker per core (pytest-xdist; XGNN_TEST_WORKERS=0 runs in one process); work stealing balances the
# few long study smoke tests against the many short tests.
exec python -m pytest -q -n "${XGNN_TEST_WORKERS:-auto}" --dist worksteal "$@"
