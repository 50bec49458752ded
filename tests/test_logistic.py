"""Newton's method for logistic regression (xgnn_jax.analysis.logistic) against a generic optimiser."""

import numpy as np
import pytest
import scipy.optimize

from xgnn_jax.analysis import logistic
from xgnn_jax.data import datasets


def _overlapping(seed=0, m=60):
    rng = np.random.default_rng(seed)
    y = (rng.random(m) < 0.5).astype(float)
    x = rng.normal(size=(m, 2)) + y[:, None] * 0.8  # classes overlap: a finite optimum
    return x, y


def test_newton_reaches_the_optimum_of_a_generic_optimiser():
    x, y = _overlapping()
    res = logistic.newton_logistic(x, y)
    assert res.converged and res.iters < 20 and res.grad_norm <= 1e-12
    X = np.c_[x, np.ones(len(x))]
    ref = scipy.optimize.minimize(lambda w: logistic.mean_bce(X, y, w), np.zeros(3), method="BFGS",
                                  options={"gtol": 1e-10})
    assert res.loss <= ref.fun + 1e-12
    np.testing.assert_allclose(res.w, ref.x, atol=1e-5)


def test_watermelon_optimum_is_finite_and_below_the_zero_start():
    x, y = datasets.watermelon3_alpha()
    res = logistic.newton_logistic(np.asarray(x), np.asarray(y))  # (m, 1) labels accepted
    assert res.converged
    assert res.loss < np.log(2)  # the zero start's loss
    assert np.all(np.isfinite(res.w))


def test_separable_data_is_reported_as_not_converged():
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    res = logistic.newton_logistic(x, np.array([0.0, 0.0, 1.0, 1.0]), iters=30)
    assert not res.converged


@pytest.mark.parametrize("x, y, name", [(np.zeros(3), np.zeros(3), "x"), (np.zeros((3, 1)), np.zeros(2), "y"),
                                         (np.zeros((2, 1)), np.array([0.0, 2.0]), "labels")])
def test_bad_input_names_the_argument(x, y, name):
    with pytest.raises(ValueError, match=name):
        logistic.newton_logistic(x, y)
