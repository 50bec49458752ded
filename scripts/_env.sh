#!/usr/bin/env bash
# Shared set-up for scripts/*.sh: create (once) and reuse the virtual environment .venv/ in the repo,
# and (re)install the package from pyproject.toml whenever pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version 2>&1)"
  "$PY" -m venv .venv
fi
stamp=.venv/.xgnn_jax_installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing xgnn_jax and its dependencies from pyproject.toml into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # The frameworks extra (PyTorch, Keras) runs the article's own framework code in the tests. It pins torch==2.13.0,
  # the CPU build these machines keep as a local wheel (0.75 GB installed); an open range would pull a CUDA build
  # of several GB from the index.
  .venv/bin/python -m pip install --quiet -e '.[dev,frameworks]'
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export MPLBACKEND=Agg
# Keras 3 runs the article's Keras model on JAX (no TensorFlow); it must be set before keras is first imported.
export KERAS_BACKEND=jax
# Persistent XLA compilation cache (keyed by program, flags and versions): a second run of a study or of the tests
# loads its compiled programs instead of compiling them again. Generated, never committed.
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$ROOT/.cache/jax}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-0.2}"
