"""Time to a threshold, quartiles that keep unreached runs, per-example gradient conflict."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import convergence
from xgnn_jax.core.mlp import MLP


def test_epochs_to_threshold_counts_from_one_and_marks_never():
    curves = np.array([[0.5, 0.2, 0.05, 0.01], [0.5, 0.4, 0.3, 0.2]])
    np.testing.assert_array_equal(convergence.epochs_to(curves, 0.1), [3, np.inf])


def test_quartiles_keep_unreached_runs():
    # Three of four runs reached after 6 epochs: the upper quartile must not hide the fourth.
    q = convergence.quartiles_unreached
    np.testing.assert_array_equal(q([6, 6, np.inf, 6]), [6, 6, np.inf])
    np.testing.assert_array_equal(q([6, np.inf, 5, np.inf]), [5, np.inf, np.inf])
    np.testing.assert_array_equal(q([1, 2, 3, 4, 5]), [2, 3, 4])
    with pytest.raises(ValueError, match="a:"):
        q([])


def test_gradient_conflict_of_opposite_examples():
    # Two copies of one input with opposite targets at a symmetric point: the gradients cancel exactly.
    model = MLP((1, 1), output="sigmoid")
    params = model.init(jax.random.key(0))
    x = jnp.array([[1.0], [1.0]])
    ratio, neg = convergence.gradient_conflict(model, params, x, jnp.array([[0.0], [1.0]]))
    assert float(neg) == 1.0
    same_ratio, same_neg = convergence.gradient_conflict(model, params, x, jnp.array([[1.0], [1.0]]))
    assert float(same_ratio) == pytest.approx(1.0) and float(same_neg) == 0.0
    assert float(ratio) < 1.0
