"""The perceptron: a worked example checked by hand, the dual form, XOR's cycling proof, Novikoff's bound, vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import perceptron as P
from xgnn_jax.data import datasets

# Li Hang's worked example (Statistical Learning Methods, examples 2.1 and 2.2): x1 = (3, 3), x2 = (4, 3) positive,
# x3 = (1, 1) negative; eta = 1, start at zero, always the first misclassified point in data order.
X_HAND = jnp.array([[3.0, 3.0], [4.0, 3.0], [1.0, 1.0]])
Y_HAND = jnp.array([1.0, 1.0, -1.0])
XOR = datasets.logic_gate("xor")
X_XOR, Y_XOR = XOR.x, P.labels_pm1(XOR.y)
# One separable data set shared by several tests, so their runs share one compiled loop.
X_SEP, Y_SEP = datasets.linearly_separable(1, n=20, d=2, margin=0.1, signed=True)
Y_SEP = Y_SEP[:, 0]
W_SEP = datasets.separating_hyperplane(1, 2)


def _used(r):
    return np.asarray(r.chosen)[: int(r.num_updates)].tolist()


def test_cyclic_update_sequence_matches_the_hand_computation():
    # By hand: (w, b) goes (0,0,0) -x1-> (3,3,1) -x3-> (2,2,0) -x3-> (1,1,-1) -x3-> (0,0,-2) -x1-> (3,3,-1)
    # -x3-> (2,2,-2) -x3-> (1,1,-3), which separates: margins 3, 4, 1.
    r = P.perceptron(X_HAND, Y_HAND, choice="cyclic", max_epochs=10)
    assert _used(r) == [0, 2, 2, 2, 0, 2, 2]
    np.testing.assert_array_equal(r.w, [1.0, 1.0])
    assert float(r.b) == -3.0
    assert bool(r.converged) and int(r.status) == P.CONVERGED
    np.testing.assert_array_equal(r.alpha, [2.0, 0.0, 5.0])
    ws, bs = P.replay(X_HAND, Y_HAND, r.chosen[:7])
    np.testing.assert_array_equal(np.c_[ws, bs], [[3, 3, 1], [2, 2, 0], [1, 1, -1], [0, 0, -2], [3, 3, -1],
                                                  [2, 2, -2], [1, 1, -3]])


def test_dual_form_gives_the_hand_example_alpha_and_the_same_sequence():
    r = P.perceptron_dual(X_HAND, Y_HAND, choice="cyclic", max_epochs=10)
    assert _used(r) == [0, 2, 2, 2, 0, 2, 2]
    np.testing.assert_array_equal(r.alpha, [2.0, 0.0, 5.0])
    np.testing.assert_array_equal(r.w, [1.0, 1.0])
    assert float(r.b) == -3.0


def test_dual_and_primal_pick_the_same_random_points_from_zero():
    # Integer-valued data keep both forms' margins exact, so their choices cannot differ by rounding.
    x = jnp.round(4 * X_SEP)
    key = jax.random.key(5)
    primal = P.perceptron(x, Y_SEP, key, choice="random")
    dual = P.perceptron_dual(x, Y_SEP, key, choice="random")
    assert bool(primal.converged) and bool(dual.converged)
    assert _used(primal) == _used(dual)
    np.testing.assert_allclose(primal.w, dual.w)


def test_random_choice_only_updates_on_misclassified_points():
    x, y = X_SEP, Y_SEP
    r = P.perceptron(x, y, jax.random.key(2), eta=0.5, choice="random")
    k = int(r.num_updates)
    assert k > 1
    ws, bs = P.replay(x, y, r.chosen[:k], 0.5)
    w_prev = np.vstack([np.zeros((1, 2)), np.asarray(ws)[:-1]])
    b_prev = np.r_[0.0, np.asarray(bs)[:-1]]
    i = np.asarray(r.chosen[:k])
    margins_before = np.asarray(y)[i] * (np.sum(w_prev * np.asarray(x)[i], axis=1) + b_prev)
    assert np.all(margins_before <= 0)
    assert bool(r.converged)


def test_update_raises_the_chosen_margin_by_eta_times_norm_squared_plus_one():
    key = jax.random.key(0)
    w, b, x_i = jax.random.normal(key, (3,)), 0.3, jax.random.normal(jax.random.key(1), (3,))
    for y_i in (1.0, -1.0):
        for eta in (1.0, 0.25):
            w2, b2 = P.update(w, b, x_i, y_i, eta)
            gain = y_i * (w2 @ x_i + b2) - y_i * (w @ x_i + b)
            np.testing.assert_allclose(gain, eta * (x_i @ x_i + 1.0), rtol=1e-5)


def test_loss_is_nonnegative_and_zero_on_the_plane_though_points_count_as_misclassified():
    @jax.jit
    def measure(x, y, w_opt, ws):
        zero = jnp.zeros(2)
        return {"sep": P.loss(w_opt, 0.0, x, y), "sep_mis": jnp.sum(P.misclassified(w_opt, 0.0, x, y)),
                "flipped": P.loss(-w_opt, 0.0, x, y),
                "random": jax.vmap(lambda v: P.loss(v[:2], v[2], x, y))(ws),
                "zero": P.loss(zero, 0.0, x, y), "zero_mis": jnp.sum(P.misclassified(zero, 0.0, x, y))}

    m = measure(X_SEP, Y_SEP, W_SEP, jax.random.normal(jax.random.key(3), (50, 3)))
    assert float(m["sep"]) == 0.0 and int(m["sep_mis"]) == 0
    assert float(m["flipped"]) > 0
    assert bool(jnp.all(m["random"] >= 0)) and bool(jnp.any(m["random"] > 0))
    # At w = 0, b = 0 every point is on the plane: in M for the update rule, yet L = 0.
    assert float(m["zero"]) == 0.0 and int(m["zero_mis"]) == 20


@pytest.mark.parametrize("choice", P.CHOICES)
def test_xor_cycles_and_the_cycle_is_a_vanishing_positive_combination(choice):
    r = P.perceptron(X_XOR, Y_XOR, jax.random.key(7), choice=choice, max_epochs=64)
    assert bool(r.not_separable) and not bool(r.converged)
    assert int(r.status) == P.NOT_SEPARABLE
    assert "not linearly separable" in P.describe(r)
    s, t = int(r.cycle_start), int(r.num_updates)
    assert t - s == int(r.cycle_length) > 0
    cycle = np.asarray(r.chosen)[s:t]
    total = np.sum(np.asarray(Y_XOR)[cycle, None] * np.asarray(P.augment(X_XOR))[cycle], axis=0)
    np.testing.assert_array_equal(total, 0.0)


def test_xor_without_cycle_check_stops_undecided_at_the_cap():
    r = P.perceptron(X_XOR, Y_XOR, jax.random.key(0), choice="random", max_epochs=50, detect_cycles=False)
    assert int(r.num_updates) == 200 and int(r.status) == P.UNDECIDED
    assert "undecided" in P.describe(r)


def test_dual_form_detects_the_xor_cycle_through_the_gram_matrix():
    r = P.perceptron_dual(X_XOR, Y_XOR, choice="cyclic", max_epochs=32)
    assert bool(r.not_separable)
    assert _used(r)[: int(r.num_updates)] == [0, 1, 2, 3]


def test_novikoff_bound_holds_vmapped_over_data_sets_and_keys():
    keys = jax.random.split(jax.random.key(11), 24)

    @jax.jit
    def data(keys):
        x, y = jax.vmap(lambda k: datasets.linearly_separable(k, 20, 2, 0.1, signed=True))(keys)
        w = jax.vmap(lambda k: datasets.separating_hyperplane(k, 2))(keys)
        return x, y[..., 0], jax.vmap(P.novikoff_bound)(x, y[..., 0], w, jnp.zeros(keys.shape[0]))

    x, y, nov = data(keys)
    assert bool(jnp.all(nov.gamma >= 0.1 - 1e-6))
    assert float(nov.bound.max()) < 100 * 20  # the default cap cannot cut a run short
    res = jax.jit(jax.vmap(lambda x, y, k: P.perceptron(x, y, k)))(x, y, keys)
    assert bool(jnp.all(res.converged))
    assert bool(jnp.all(res.num_updates <= nov.bound))
    # A vmapped member equals the same run alone.
    alone = P.perceptron(x[5], y[5], keys[5])
    assert int(alone.num_updates) == int(res.num_updates[5])
    np.testing.assert_array_equal(alone.chosen, res.chosen[5])


def test_novikoff_bound_values_and_a_non_separator():
    x = jnp.array([[1.0, 0.0], [-1.0, 0.0]])
    y = jnp.array([1.0, -1.0])
    nb = P.novikoff_bound(x, y, jnp.array([2.0, 0.0]), 0.0)
    np.testing.assert_allclose([nb.R, nb.gamma, nb.bound], [np.sqrt(2), 1.0, 2.0], rtol=1e-6)
    assert np.isinf(float(P.novikoff_bound(x, y, jnp.array([-1.0, 0.0]), 0.0).bound))


def test_bad_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="y: perceptron labels"):
        P.perceptron(X_HAND, jnp.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="choice"):
        P.perceptron(X_HAND, Y_HAND, choice="greedy")
    with pytest.raises(ValueError, match="eta"):
        P.perceptron(X_HAND, Y_HAND, eta=0.0)
    with pytest.raises(ValueError, match="w0"):
        P.perceptron(X_HAND, Y_HAND, w0=jnp.zeros(3))
    with pytest.raises(ValueError, match="max_epochs"):
        P.perceptron_dual(X_HAND, Y_HAND, max_epochs=0)
    with pytest.raises(ValueError, match="x: expected"):
        P.perceptron(jnp.zeros(3), Y_HAND)


def test_separable_sets_redraw_each_set_and_the_measurements_of_c2_and_c3():
    sets = datasets.linearly_separable_sets(3, 2, n=20, d=2, margins=(0.1, 0.3), signed=True)
    assert sets.x.shape == (4, 20, 2) and sets.y.shape == (4, 20, 1) and sets.w.shape == (4, 2)
    np.testing.assert_allclose(sets.margin, [0.1, 0.1, 0.3, 0.3])
    with pytest.raises(ValueError, match="margins"):
        datasets.linearly_separable_sets(0, 2, margins=())
    planes = jnp.array([[1.0, 0.0, 0.0], [-1.0, -1.0, 0.5]])
    r = P.perceptron(X_HAND, Y_HAND, choice="cyclic", max_epochs=10)

    @jax.jit  # one compiled program for every measurement below (the test's run time is compile time)
    def measure(chosen):
        # Set j of level i is linearly_separable with key split(key, S)[i * count + j] (set 3: level 1, j = 1).
        x3 = datasets.linearly_separable(jax.random.split(jax.random.key(3), 4)[3], 20, 2, 0.3, signed=True).x
        return (x3, P.loss_checks(X_SEP, Y_SEP, W_SEP, 0.0, planes),
                P.margin_gain_check(X_HAND, Y_HAND, chosen, 1.0), P.misclassified_after_updates(X_HAND, Y_HAND, chosen))

    x3, c, (err, checked), mis = measure(r.chosen)
    np.testing.assert_allclose(sets.x[3], x3, atol=1e-6)
    margins = np.asarray(sets.y[..., 0]) * np.einsum("snd,sd->sn", np.asarray(sets.x), np.asarray(sets.w))
    assert np.all(margins >= np.asarray(sets.margin)[:, None] - 1e-6)
    # C2 on a data set: L = 0 at the separator and at w = b = 0, where every point is in M.
    assert float(c["loss_sep"]) == 0.0 and float(c["loss_zero"]) == 0.0 and int(c["m_zero"]) == 20
    v = np.asarray(planes[1])
    expect = -np.sum(np.minimum(np.asarray(Y_SEP) * (np.asarray(X_SEP) @ v[:2] + v[2]), 0.0))
    np.testing.assert_allclose(c["loss"][1], expect, rtol=1e-5)
    assert np.all((np.asarray(c["loss"]) == 0) == (np.asarray(c["strict"]) == 0))
    # C3 along the hand example's 7 updates: each raises the chosen margin by eta (|x_i|^2 + 1); only the state
    # after the last update misclassifies nothing.
    assert float(err) < 1e-6 and int(checked) == int(r.num_updates) == 7
    mis = np.asarray(mis)
    assert mis[6] == 0 and np.all(mis[:6] > 0)


def test_dyadic_starts_and_distinct_hyperplanes():
    z = np.asarray(P.dyadic_normal(jax.random.key(0), (100,)))
    np.testing.assert_array_equal(z * 4, np.round(z * 4))
    assert len(np.unique(z)) > 3
    u = np.array([[1.0, 0.0], [1.0, 1e-6], [0.0, 1.0]])
    assert P.count_distinct(u, tol=1e-4) == 2 and P.count_distinct(u, tol=1e-7) == 3
