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


@pytest.mark.parametrize("choice", ["first", "cyclic"])
def test_update_sequence_matches_the_hand_computation(choice):
    # By hand: (w, b) goes (0,0,0) -x1-> (3,3,1) -x3-> (2,2,0) -x3-> (1,1,-1) -x3-> (0,0,-2) -x1-> (3,3,-1)
    # -x3-> (2,2,-2) -x3-> (1,1,-3), which separates: margins 3, 4, 1.
    r = P.perceptron(X_HAND, Y_HAND, choice=choice, max_epochs=10)
    assert _used(r) == [0, 2, 2, 2, 0, 2, 2]
    assert r.gram is None  # the primal form never forms the Gram matrix
    np.testing.assert_array_equal(r.w, [1.0, 1.0])
    assert float(r.b) == -3.0
    assert bool(r.converged) and int(r.status) == P.CONVERGED
    np.testing.assert_array_equal(r.alpha, [2.0, 0.0, 5.0])
    ws, bs = P.replay(X_HAND, Y_HAND, r.chosen[:7])
    np.testing.assert_array_equal(np.c_[ws, bs], [[3, 3, 1], [2, 2, 0], [1, 1, -1], [0, 0, -2], [3, 3, -1],
                                                  [2, 2, -2], [1, 1, -3]])


def test_dual_form_gives_the_hand_example_alpha_gram_and_the_same_sequence():
    # Li Hang's example 2.2 tabulates alpha = (2, 0, 5), b = -3 and the Gram matrix below.
    r = P.perceptron_dual(X_HAND, Y_HAND, choice="first", max_epochs=10)
    assert _used(r) == [0, 2, 2, 2, 0, 2, 2]
    np.testing.assert_array_equal(r.alpha, [2.0, 0.0, 5.0])
    np.testing.assert_array_equal(r.gram, [[18, 21, 6], [21, 25, 7], [6, 7, 2]])
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


def _misclassified_before_each_update(x, y, r):
    ws, bs = P.replay(x, y, r.chosen)
    w_prev = np.concatenate([np.zeros((1, x.shape[1])), np.asarray(ws)[:-1]])
    b_prev = np.concatenate([[0.0], np.asarray(bs)[:-1]])
    return np.asarray(y)[None] * (np.asarray(x) @ w_prev.T + b_prev).T <= 0  # (T, n)


def test_first_and_cyclic_rules_follow_their_definitions_and_differ():
    # "first" takes the lowest-index misclassified point at every update; "cyclic" the next one at or after the
    # point after the previous choice. Integer data keep every margin exact; on these the two rules part (7 and
    # 3 updates).
    xs, ys = datasets.linearly_separable(1, n=20, d=2, margin=0.02, signed=True)
    x, y = jnp.round(4 * xs), ys[:, 0]
    runs = {c: P.perceptron(x, y, choice=c, max_epochs=50) for c in ("first", "cyclic")}
    n = x.shape[0]
    for choice, r in runs.items():
        assert bool(r.converged)
        k = int(r.num_updates)
        mis = _misclassified_before_each_update(x, y, r)[:k]
        chosen = np.asarray(r.chosen)[:k]
        pointer = 0
        for t in range(k):
            order = np.arange(n) if choice == "first" else (np.arange(n) + pointer) % n
            assert chosen[t] == order[np.argmax(mis[t][order])], (choice, t)
            pointer = (chosen[t] + 1) % n
    assert _used(runs["first"]) != _used(runs["cyclic"])


def test_dual_gram_matrix_under_vmap_and_a_bad_choice_is_named():
    keys = jax.random.split(jax.random.key(2), 3)
    r = jax.vmap(lambda k: P.perceptron_dual(X_SEP, Y_SEP, k))(keys)
    assert r.gram.shape == (3, 20, 20)
    np.testing.assert_allclose(r.gram[1], X_SEP @ X_SEP.T, rtol=1e-6)
    with pytest.raises(ValueError, match="choice: expected one of random, cyclic, first"):
        P.perceptron(X_HAND, Y_HAND, choice="textbook")


def test_max_margin_on_the_hand_example_and_against_a_general_solver():
    # By hand: the support points are x1 and x3; the best augmented separator is (1, 1, -4) / sqrt(18), margin
    # 2 / sqrt(18) = 0.4714 (x1: (6 - 4), x3: -(2 - 4), x2: (7 - 4) = 3 > 2).
    mm = P.max_margin(X_HAND, Y_HAND)
    np.testing.assert_allclose(np.r_[mm.w, mm.b], np.array([1, 1, -4]) / np.sqrt(18), rtol=1e-9)
    np.testing.assert_allclose(mm.gamma, 2 / np.sqrt(18), rtol=1e-12)
    assert mm.support.tolist() == [True, False, True]
    nb = P.novikoff_bound_best(X_HAND, Y_HAND)
    np.testing.assert_allclose(nb.bound, 26 / (4 / 18), rtol=1e-9)  # R^2 = 4^2 + 3^2 + 1 = 26
    # Separable random sets: no separator has a larger margin than max_margin's (the generating one and the
    # perceptron's own), and it agrees with scipy's SLSQP on min |V|^2 s.t. y_i V.(x_i, 1) >= 1.
    from scipy import optimize

    xs, ys = datasets.linearly_separable(3, n=30, d=3, margin=0.05, signed=True)
    x, y = np.asarray(xs, np.float64), np.asarray(ys[:, 0], np.float64)
    mm = P.max_margin(x, y)
    A = y[:, None] * np.c_[x, np.ones(len(y))]
    sol = optimize.minimize(lambda v: v @ v, np.ones(4), jac=lambda v: 2 * v, method="SLSQP",
                            constraints=[{"type": "ineq", "fun": lambda v: A @ v - 1, "jac": lambda v: A}])
    np.testing.assert_allclose(mm.gamma, 1 / np.linalg.norm(sol.x), rtol=1e-5)
    r = P.perceptron(xs, ys[:, 0], choice="first")
    for w, b in ((np.asarray(datasets.separating_hyperplane(3, 3), np.float64), 0.0),
                 (np.asarray(r.w, np.float64), float(r.b))):
        W = np.r_[w, b] / np.linalg.norm(np.r_[w, b])
        assert (A @ W).min() <= mm.gamma + 1e-12
    assert int(r.num_updates) <= P.novikoff_bound_best(x, y).bound


def test_max_margin_names_bad_input():
    with pytest.raises(ValueError, match="not linearly separable"):
        P.max_margin(X_XOR, Y_XOR)
    with pytest.raises(ValueError, match="^y: perceptron labels"):
        P.max_margin(X_HAND, jnp.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="^x: expected finite"):
        P.max_margin(X_HAND.at[0, 0].set(jnp.nan), Y_HAND)


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
