"""Shared test settings: headless figures, seeded keys, and a float64 switch that restores the old value.

float64 (``jax_enable_x64``) is process-wide in JAX; tests that need it use the ``x64`` fixture, which turns it
on for that test only.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def x64():
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", old)


# The studies' smoke tests run their quick config at this seed (default 0). Their pins must hold at every seed:
# check with e.g. `XGNN_STUDY_SEED=3 scripts/test.sh tests/test_experiments_*.py` (and at both XLA optimisation
# levels, `XLA_FLAGS=--xla_backend_optimization_level=3 scripts/test.sh ...`).
STUDY_SEED = int(os.environ.get("XGNN_STUDY_SEED", "0"))


@pytest.fixture(scope="session")
def study_seed():
    return STUDY_SEED


@pytest.fixture
def key():
    return jax.random.key(0)


# Every figure a test makes must have a title, axis labels and (where needed) a legend: xgnn_jax.study.plotting.save
# raises instead of saving an incomplete figure.
os.environ["XGNN_STRICT_FIGURES"] = "1"
