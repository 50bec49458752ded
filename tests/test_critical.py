import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import critical
from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.core.shortcut import ShortcutMLP

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
Y_XOR = np.array([[0], [1], [1], [0]], np.float64)


def _numpy_xor_loss(theta: np.ndarray, H: int) -> float:
    """E = 1/2 sum_k (y_hat_k - y_k)^2 of a 2-H-1 sigmoid net, written in numpy with ravel_pytree's leaf order
    (dict keys sorted, "W" before "b": W1, b1, W2, b2), independent of the JAX model code."""
    W1 = theta[: 2 * H].reshape(2, H)
    b1 = theta[2 * H: 3 * H]
    W2 = theta[3 * H: 4 * H].reshape(H, 1)
    b2 = theta[4 * H:]
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    out = sig(sig(X_XOR @ W1 + b1) @ W2 + b2)
    return 0.5 * float(np.sum((out - Y_XOR) ** 2))


@pytest.mark.parametrize("H", [2])
def test_all_zero_point_of_xor_sigmoid_net_is_stationary_and_hessian_matches_finite_differences(x64, H):
    model = MLP((2, H, 1), weight_init="zeros", bias_init="zeros")
    params = model.init(jax.random.key(0), dtype=jnp.float64)
    J = objective(model, "half_sse", "sum")
    x, y = jnp.asarray(X_XOR), jnp.asarray(Y_XOR)
    a = critical.analyse(J, params, x, y, model=model)
    assert float(a.grad_norm) < 1e-14
    assert float(a.loss) == pytest.approx(0.5)          # four outputs of 0.5, each error 1/2
    Hs = np.asarray(critical.hessian(J, params, x, y))
    P = Hs.shape[0]
    assert P == 4 * H + 1
    # The numpy loss is the same function as the JAX one on the flattened vector.
    theta = np.random.default_rng(0).normal(size=P)
    E_jax, _ = critical.flat_objective(J, params, x, y)
    assert _numpy_xor_loss(theta, H) == pytest.approx(float(jax.jit(E_jax)(jnp.asarray(theta))), rel=1e-12)
    # Independent Hessian: central second differences of the numpy loss at the zero point.
    h = 1e-4
    fd = np.zeros((P, P))
    eye = np.eye(P)
    for i, j in itertools.product(range(P), repeat=2):
        fd[i, j] = (_numpy_xor_loss(h * (eye[i] + eye[j]), H) - _numpy_xor_loss(h * (eye[i] - eye[j]), H)
                    - _numpy_xor_loss(h * (-eye[i] + eye[j]), H) + _numpy_xor_loss(-h * (eye[i] + eye[j]), H)
                    ) / (4 * h * h)
    np.testing.assert_allclose(Hs, fd, atol=1e-7)
    # Closed form at zero (s(0) = 1/2, s'(0) = 1/4, s''(0) = 0, hidden outputs 1/2, errors sum to 0):
    # d2E/db2^2 = sum_k s'(0)^2 = 4/16; d2E/dv_j db2 = sum_k s'(0)^2 h = 1/8; d2E/dv_j dv_l = sum_k s'(0)^2 h^2 = 1/16.
    b2 = 4 * H
    v = slice(3 * H, 4 * H)
    assert Hs[b2, b2] == pytest.approx(0.25, abs=1e-14)
    np.testing.assert_allclose(Hs[b2, v], 0.125, atol=1e-14)
    np.testing.assert_allclose(Hs[v, v], 0.0625, atol=1e-14)
    # The first layer's parameters do not move the loss to second order here (v = 0): a degenerate point.
    np.testing.assert_allclose(Hs[: 3 * H, : 3 * H], 0.0, atol=1e-14)
    assert int(a.n_zero) >= 3 * H


def _quadratic(A):
    A = jnp.asarray(A)

    def J(params, x, y):
        t = params["t"]
        return 0.5 * t @ A @ t + x[0, 0] * jnp.sum(t)

    return J


def test_index_and_near_zero_count_of_known_quadratics():
    A = jnp.diag(jnp.array([-2.0, 0.0, 1.0, 3.0]))
    J = _quadratic(A)
    x = jnp.zeros((1, 1))
    a = critical.analyse(J, {"t": jnp.zeros(4)}, x, x, eig_tol=1e-6)
    np.testing.assert_allclose(a.eigenvalues, [-2, 0, 1, 3], atol=1e-6)
    assert int(a.index) == 1 and int(a.n_zero) == 1 and float(a.grad_norm) == 0.0
    assert float(a.newton_step) == 0.0
    # Away from the critical point the Newton step measures the distance to it: t = (1, 0, 1, 1) with gradient
    # A t + 0 = (-2, 0, 1, 3) and |A^-1 g| = |t| on the non-flat directions.
    a1 = critical.analyse(J, {"t": jnp.array([1.0, 0.0, 1.0, 1.0])}, x, x, eig_tol=1e-6)
    assert float(a1.newton_step) == pytest.approx(np.sqrt(3.0), rel=1e-5)
    # vmapped over a leading axis it gives the same numbers point by point
    pts = {"t": jnp.stack([jnp.zeros(4), jnp.ones(4)])}
    b = critical.analyse_batch(J, pts, x, x)
    np.testing.assert_allclose(b.grad_norm, [0.0, float(jnp.linalg.norm(A @ jnp.ones(4)))], rtol=1e-6)
    assert b.index.tolist() == [1, 1]


def _analysis(loss, grad, eigs, finite=True, eig_tol=1e-6, newton=0.0):
    eigs = jnp.asarray(eigs, jnp.float32)
    return critical.Analysis(jnp.float32(loss), jnp.float32(grad), eigs, jnp.sum(eigs < -eig_tol),
                             jnp.sum(jnp.abs(eigs) <= eig_tol), jnp.int32(0), jnp.bool_(finite),
                             jnp.float32(newton))


@pytest.mark.parametrize("loss, grad, eigs, success, drop, finite, newton, label", [
    (0.01, 1e-3, [1.0, 2.0], True, 0.5, True, 0.0, "converged"),
    (0.30, 1e-6, [1e-3, 2.0], False, 0.0, True, 1e-3, "strict local minimum"),
    (0.30, 1e-6, [-1e-3, 2.0], False, 0.0, True, 1e-3, "saddle"),
    (0.30, 1e-6, [0.0, 2.0], False, 0.0, True, 0.0, "flat region / plateau"),
    (0.30, 1e-5, [1e-5, 2.0], False, 0.0, True, 1.0, "flat region / plateau"),   # small gradient, far from a zero
    (0.30, 1e-2, [0.0, 2.0], False, 1e-5, True, 0.0, "flat region / plateau"),
    (0.30, 1e-2, [0.0, 2.0], False, 0.2, True, 0.0, "still descending"),
    (0.20, 1e-2, [1.0, 2.0], True, 0.2, True, 0.0, "still descending"),   # solved but above the loss threshold
    (np.nan, 1e-2, [1.0, 2.0], False, 0.2, False, 0.0, "diverged"),
])
def test_classify_rules(loss, grad, eigs, success, drop, finite, newton, label):
    code = critical.classify(_analysis(loss, grad, eigs, finite, newton=newton), jnp.bool_(success), loss_tol=0.05,
                             grad_tol=1e-4, step_tol=0.1, loss_drop=jnp.float32(drop), drop_tol=1e-3)
    assert critical.LABELS[int(code)] == label


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh"])
def test_flips_and_permutations_keep_the_function_and_canonicalize_undoes_them(hidden):
    model = MLP((2, 3, 2), hidden=hidden, weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    x = jax.random.normal(jax.random.key(1), (5, 2))

    @jax.jit
    def transformed(key):
        p = model.init(key, 2.0, 2.0)
        q = critical.permute_units(critical.flip_unit(p, jnp.array([True, False, True]), hidden),
                                   jnp.array([2, 0, 1]))
        canon = {name: (critical.canonicalize(p, hidden, use_x), critical.canonicalize(q, hidden, use_x))
                 for name, use_x in (("params", None), ("data", x))}
        feats = critical.basin_features(model, p, x), critical.basin_features(model, q, x)
        return p, q, canon, feats, model.apply(p, x), model.apply(q, x), model.apply(canon["data"][0], x)

    p, q, canon, feats, out_p, out_q, out_c = transformed(jax.random.key(0))
    np.testing.assert_allclose(out_q, out_p, atol=1e-5)
    np.testing.assert_allclose(out_c, out_p, atol=1e-5)
    assert not np.allclose(q[0]["W"], p[0]["W"])
    for cp, cq in canon.values():
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), cp, cq)
        assert bool(jnp.all(cp[1]["W"][:3, 0] >= 0))
    np.testing.assert_allclose(feats[0], feats[1], atol=1e-5)


def test_shortcut_net_flip_keeps_its_function():
    model = ShortcutMLP()
    x = jnp.asarray(X_XOR, jnp.float32)

    @jax.jit
    def both(key):
        p = model.init(key, 3.0, 3.0)
        q = critical.flip_unit(p, 0)
        return p, q, model.apply(p, x), model.apply(q, x)

    p, q, out_p, out_q = both(jax.random.key(3))
    np.testing.assert_allclose(out_q, out_p, atol=1e-5)
    np.testing.assert_allclose(q[1]["W"][1:], p[1]["W"][1:])        # shortcut weights untouched
    np.testing.assert_allclose(q[0]["W"], -p[0]["W"])


def test_cluster_counts_basins_by_frequency():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    sizes = [5, 30, 12]
    pts = np.concatenate([c + 0.02 * rng.normal(size=(n, 2)) for c, n in zip(centers, sizes, strict=True)])
    pts = np.concatenate([pts, [[np.nan, 0.0]]])
    out = critical.cluster(pts[rng.permutation(len(pts) - 1).tolist() + [len(pts) - 1]], tol=0.2)
    assert out.counts.tolist() == [30, 12, 5]
    assert out.labels[-1] == -1
    with pytest.raises(ValueError, match="features"):
        critical.cluster(np.zeros(3))


def test_saturated_units_counts_units_with_vanishing_derivative():
    model = MLP((2, 3, 1))
    x = jnp.asarray(X_XOR, jnp.float32)
    p = ({"W": jnp.zeros((2, 3)), "b": jnp.array([20.0, -20.0, 0.5])}, {"W": jnp.ones((3, 1)), "b": jnp.zeros(1)})
    assert int(critical.saturated_units(model, p, x)) == 2


def test_canonicalize_rejects_deeper_networks():
    p = tuple({"W": np.zeros((a, b)), "b": np.zeros(b)} for a, b in ((2, 2), (2, 2), (2, 1)))
    with pytest.raises(ValueError, match="params"):
        critical.canonicalize(p)
