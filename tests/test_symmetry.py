"""Update masks and unit symmetry (xgnn_jax.analysis.symmetry) on small networks: C19-C21 checked directly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import symmetry
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import train


def _params(*layers):
    return tuple({"W": jnp.asarray(w, jnp.float32), "b": jnp.asarray(b, jnp.float32)} for w, b in layers)


def test_update_masks_flag_weights_and_biases_per_layer_exactly():
    before = _params(([[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0]), ([[1.0], [2.0]], [3.0]))
    after = _params(([[0.0, 0.0], [0.0, 0.0]], [0.0, 1e-30]), ([[1.0], [2.5]], [3.0]))
    m = symmetry.update_masks(before, after)
    np.testing.assert_array_equal(m["W"], [False, True])
    np.testing.assert_array_equal(m["b"], [True, False])  # a tiny change still counts
    np.testing.assert_allclose(m["W_fraction"], [0.0, 0.5])
    with pytest.raises(ValueError, match="after: expected parameters with the same structure"):
        symmetry.update_masks(before, before[:1])


def test_unit_spread_is_the_largest_distance_between_incoming_vectors():
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 1))
    params = _params((w1, b1), (w2, [0.0]))
    units = np.c_[w1.T, b1]  # unit j: (W[:, j], b[j])
    brute = max(np.linalg.norm(units[i] - units[j]) for i in range(4) for j in range(4))
    np.testing.assert_allclose(symmetry.unit_spread(params), [brute], rtol=1e-5)
    with_out = max(np.linalg.norm(np.r_[units[i], w2[i]] - np.r_[units[j], w2[j]]) for i in range(4) for j in range(4))
    np.testing.assert_allclose(symmetry.unit_spread(params, include_outgoing=True), [with_out], rtol=1e-5)
    # Identical units give exactly 0, not a rounding residue.
    same = _params((np.tile(w1[:, :1], (1, 4)), np.full(4, b1[0])), (w2, [0.0]))
    assert float(symmetry.unit_spread(same)[0]) == 0.0
    with pytest.raises(ValueError, match="layer: expected a hidden layer between 1 and 1"):
        symmetry.unit_vectors(params, 2)


def test_mask_readers_on_handmade_masks():
    expected = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]], bool)
    np.testing.assert_array_equal(symmetry.back_to_front_mask(4, 3), expected)
    assert bool(symmetry.back_to_front(expected))
    wrong = expected.copy()
    wrong[0, 1] = True  # two layers at step 1
    assert not bool(symmetry.back_to_front(wrong))
    np.testing.assert_array_equal(symmetry.first_change(expected), [3, 2, 1])
    np.testing.assert_array_equal(symmetry.first_change(np.zeros((4, 3), bool)), [0, 0, 0])
    # Leading (restart) axes are kept.
    np.testing.assert_array_equal(symmetry.back_to_front(np.stack([expected, wrong])), [True, False])


def _starts(sizes, hidden, key, n=2):
    """(starts, seeds) stacked parameters for: zeros, zero weights + N(0,1) biases, constant 0.1, random."""
    specs = [("zeros", "zeros"), ("zeros", "normal"), ("constant(0.1)", "constant(0.1)"),
             ("fan_in_uniform", "fan_in_uniform")]
    def draw(keys):
        ps = [jax.vmap(lambda k, w=w, b=b: MLP(sizes, hidden, "sigmoid", weight_init=w, bias_init=b).init(
            k, dtype=jnp.float64))(keys) for w, b in specs]
        return jax.tree.map(lambda *a: jnp.stack(a), *ps)

    keys = jax.random.split(key, n)
    return train.compile_run(draw, keys)[0](keys)  # one compile for every start


def test_zero_init_sigmoid_updates_back_to_front_and_units_stay_identical(x64, key):
    # C19 and C20 on watermelon 3.0alpha (8 of 17 good: the mean output error at the start is not 0).
    x, y = datasets.watermelon3_alpha(dtype=jnp.float64)
    sizes = (2, 3, 3, 1)
    traj = symmetry.make_trajectory(MLP(sizes, "sigmoid", "sigmoid"), 6)
    traj = jax.vmap(jax.vmap(traj, in_axes=(0, None, None, None)), in_axes=(0, None, None, None))
    args = (_starts(sizes, "sigmoid", key), x, y, jnp.asarray(1.0))
    tr = train.compile_run(traj, *args)[0](*args)
    grad_mask = (tr.W_grad_norm > 0) | (tr.b_grad_norm > 0)  # (starts, seeds, T, L)
    zeros, zero_w, const, rand = range(4)
    assert np.all(symmetry.back_to_front(grad_mask[zeros]))
    assert np.all(symmetry.back_to_front(grad_mask[zero_w]))  # C20: same order with random biases
    np.testing.assert_array_equal(symmetry.first_change(grad_mask[zeros, 0]), [3, 2, 1])
    # Where the gradient is not 0 a zero weight moves (no rounding can hide it), and nothing else moves.
    np.testing.assert_array_equal(tr.W_changed[zeros], tr.W_grad_norm[zeros] > 0)
    # Symmetric starts stay exactly symmetric; random biases break the symmetry once weights move.
    assert float(jnp.max(tr.spread[zeros])) == 0.0 and float(jnp.max(tr.spread[const])) == 0.0
    assert float(jnp.min(tr.spread[zero_w][:, -1])) > 0 and float(jnp.min(tr.spread[rand])) > 0
    # The constant and random starts move every layer at step 1.
    assert np.all(grad_mask[const][:, 0]) and np.all(grad_mask[rand][:, 0])
    assert tr.loss.shape == (4, 2, 7) and tr.spread.shape == (4, 2, 7, 2)


@pytest.mark.parametrize("loss", ["half_sse", "sigmoid_binary_cross_entropy"])
def test_zero_init_is_stationary_on_a_balanced_set(x64, loss):
    # The condition of C19: 2 positives, 2 negatives, every output 1/2: the errors cancel exactly.
    x, y = datasets.logic_gate("xor", dtype=jnp.float64)
    model = MLP((2, 3, 1), "sigmoid", "sigmoid", weight_init="zeros", bias_init="zeros")
    p0 = model.init(jax.random.key(0), dtype=jnp.float64)
    tr = symmetry.make_trajectory(model, 3, loss=loss)(p0, x, y, 1.0)
    assert float(jnp.max(tr.W_grad_norm)) == 0.0 and float(jnp.max(tr.b_grad_norm)) == 0.0
    assert not bool(jnp.any(tr.W_changed)) and not bool(jnp.any(tr.b_changed))
    # Drop one negative example (weight 0): the average error is no longer 0 and the output layer moves at once.
    tr = symmetry.make_trajectory(model, 3, loss=loss)(p0, x, y, 1.0, jnp.asarray([0.0, 1, 1, 1]))
    np.testing.assert_array_equal(tr.W_grad_norm[0] > 0, [False, True])


@pytest.mark.parametrize("hidden", ["tanh", "relu"])
def test_zero_weights_tanh_relu_move_only_the_output_bias(x64, hidden):
    # C21: g(0) = 0, so every hidden activation and every weight gradient is 0 for ever.
    x, y = datasets.watermelon3_alpha(dtype=jnp.float64)
    model = MLP((2, 3, 3, 1), hidden, "sigmoid", weight_init="zeros", bias_init="zeros")
    tr = symmetry.make_trajectory(model, 8)(model.init(jax.random.key(0), dtype=jnp.float64), x, y, 1.0)
    assert float(jnp.max(tr.W_grad_norm)) == 0.0
    assert float(jnp.max(tr.b_grad_norm[:, :-1])) == 0.0
    assert bool(jnp.all(tr.b_grad_norm[:, -1] > 0)) and bool(jnp.all(tr.b_changed[:, -1]))
    for w, w0 in zip(jax.tree.leaves(tr.params), jax.tree.leaves(model.init(jax.random.key(0))), strict=True):
        if w.ndim == 2:
            assert float(jnp.max(jnp.abs(w))) == 0.0 and w.shape == w0.shape


def test_trajectory_argument_errors():
    model = MLP((2, 2, 1))
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        symmetry.make_trajectory(model, 0)
    traj = symmetry.make_trajectory(model, 1)
    x, y = datasets.logic_gate("xor")
    with pytest.raises(ValueError, match="weights: expected one weight per example"):
        traj(model.init(jax.random.key(0)), x, y, 0.1, jnp.ones(3))
    with pytest.raises(ValueError, match="x: expected a batch of shape"):
        traj(model.init(jax.random.key(0)), x[:, :1], y, 0.1)


def test_gradient_descent_trace_on_a_quadratic():
    # J(theta) = 1/2 |theta - c|^2: theta_t - c = (1 - lr)^t (theta_0 - c).
    c = jnp.asarray([1.0, -2.0])
    J = lambda p: 0.5 * jnp.sum((p["t"] - c) ** 2)  # noqa: E731
    final, trace = symmetry.gradient_descent_trace(J, {"t": jnp.zeros(2)}, 0.5, 4,
                                                   lambda old, new, g: jnp.linalg.norm(g["t"]))
    np.testing.assert_allclose(final["t"], c * (1 - 0.5**4), rtol=1e-6)
    np.testing.assert_allclose(trace, jnp.linalg.norm(c) * 0.5 ** jnp.arange(4), rtol=1e-6)
    with pytest.raises(ValueError, match="steps"):
        symmetry.gradient_descent_trace(J, {"t": jnp.zeros(2)}, 0.5, -1, lambda *a: 0.0)
