"""The gradient-check API: per-leaf errors, finite differences, check_grads on manual VJPs, init statistics."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.grads import gradcheck as gc


def _quadratic(params, x):
    """J = sum (x W + b)^2 / 2: dJ/dW = x^T (x W + b), dJ/db = sum_rows (x W + b)."""
    z = x @ params[0]["W"] + params[0]["b"]
    return 0.5 * jnp.sum(z**2)


def _quadratic_grad(params, x):
    z = x @ params[0]["W"] + params[0]["b"]
    return ({"W": x.T @ z, "b": jnp.sum(z, axis=0)},)


def _point(dtype=jnp.float64):
    rng = np.random.default_rng(0)
    params = ({"W": jnp.asarray(rng.standard_normal((3, 2)), dtype), "b": jnp.asarray(rng.standard_normal(2), dtype)},)
    return params, jnp.asarray(rng.standard_normal((4, 3)), dtype)


def test_compare_reports_per_leaf_errors_relative_to_the_leafs_largest_entry():
    ref = ({"W": jnp.array([[4.0, -2.0]]), "b": jnp.array([0.5])},)
    got = ({"W": jnp.array([[4.0, -1.0]]), "b": jnp.array([0.5])},)
    result = gc.compare(got, ref, rtol=1e-6)
    by_path = {e.path: e for e in result.leaves}
    assert by_path["[0]['W']"].max_abs == 1.0 and by_path["[0]['W']"].max_rel == 0.25
    assert by_path["[0]['b']"].max_rel == 0.0
    assert not result.passed and result.max_rel == 0.25 and "[0]['W']" in result.describe()
    assert gc.compare(ref, ref).passed


def test_compare_fails_on_shape_mismatch_missing_leaf_and_nonzero_against_zero():
    ref = ({"W": jnp.ones((2, 3)), "b": jnp.zeros(3)},)
    wrong_shape = gc.compare(({"W": jnp.ones((2, 3)), "b": jnp.zeros((5, 3))},), ref)
    assert not wrong_shape.passed and "shape mismatch" in wrong_shape.describe() and wrong_shape.max_rel == math.inf
    missing = gc.compare(({"W": jnp.ones((2, 3))},), ref)
    assert not missing.passed
    nonzero = gc.compare(({"W": jnp.ones((2, 3)), "b": jnp.full(3, 1e-30)},), ref)
    assert not nonzero.passed and nonzero.max_rel == math.inf


def test_compare_default_tolerance_follows_the_dtype(x64):
    assert gc.compare(*_point(jnp.float64)).rtol == 1e-10
    assert gc.compare(*_point(jnp.float32)).rtol == 1e-5


def test_compare_with_scale_measures_against_the_given_magnitudes():
    ref, got = ({"W": jnp.array([1e-3])},), ({"W": jnp.array([1.1e-3])},)
    assert gc.compare(got, ref, rtol=1e-3).max_rel == pytest.approx(0.1)
    assert gc.compare(got, ref, rtol=1e-3, scale=({"W": jnp.array([1.0])},)).max_rel == pytest.approx(1e-4)


def test_summand_magnitude_bounds_the_gradient_and_equals_it_for_one_example(x64):
    params, x = _point()

    def per_example(p, xk, yk):
        return _quadratic(p, xk[None]) + 0 * jnp.sum(yk)

    y = jnp.zeros((4, 1))
    mag = gc.summand_magnitude(per_example, params, x, y, "sum")
    grad = _quadratic_grad(params, x)
    assert all(np.all(np.asarray(m) >= np.abs(np.asarray(g)) - 1e-12)
               for m, g in zip(jax.tree.leaves(mag), jax.tree.leaves(grad), strict=True))
    one = gc.summand_magnitude(per_example, params, x[:1], y[:1], "mean")
    assert gc.compare(one, jax.tree.map(jnp.abs, _quadratic_grad(params, x[:1])), rtol=1e-14).passed


def test_check_against_autodiff_passes_correct_and_fails_wrong_or_crashing_gradients(x64):
    params, x = _point()
    assert gc.check_against_autodiff(_quadratic_grad, _quadratic, params, x).passed
    doubled = gc.check_against_autodiff(lambda p, x: jax.tree.map(lambda g: 2 * g, _quadratic_grad(p, x)),
                                        _quadratic, params, x)
    assert not doubled.passed and doubled.max_rel == pytest.approx(1.0)

    def crashes(p, x):
        return ({"W": x @ p[0]["W"] @ p[0]["W"], "b": p[0]["b"]},)  # (4, 2) @ (3, 2): a shape error

    result = gc.check_against_autodiff(crashes, _quadratic, params, x)
    assert not result.passed and result.note.startswith("raised TypeError")


def test_finite_difference_grad_matches_the_exact_gradient(x64):
    params, x = _point()
    fd = gc.finite_difference_grad(_quadratic, params, x)
    assert gc.compare(fd, _quadratic_grad(params, x), rtol=gc.FD_RTOL).passed


def test_finite_differences_refuse_float32():
    params, x = _point(jnp.float32)
    with pytest.raises(ValueError, match="float64"):
        gc.finite_difference_grad(_quadratic, params, x)


def test_finite_differences_refuse_huge_networks(x64):
    big = ({"W": jnp.zeros((gc.MAX_FD_PARAMS + 1, 1)), "b": jnp.zeros(1)},)
    with pytest.raises(ValueError, match="^params: .*directional_check"):
        gc.finite_difference_grad(lambda p: jnp.sum(p[0]["W"]), big)


def test_directional_check_passes_correct_and_fails_halved_or_misshapen_gradients(x64):
    params, x = _point()
    key = jax.random.key(0)
    good = gc.directional_check(_quadratic_grad(params, x), _quadratic, params, x, key=key)
    assert good.passed and len(good.analytic) == 4
    halved = jax.tree.map(lambda g: g / 2, _quadratic_grad(params, x))
    assert not gc.directional_check(halved, _quadratic, params, x, key=key).passed
    misshapen = ({"W": jnp.zeros((3, 2)), "b": jnp.zeros((1, 2))},)
    assert not gc.directional_check(misshapen, _quadratic, params, x, key=key).passed


def test_check_grads_manual_runs_jax_test_util_on_the_manual_gradient(x64):
    params, x = _point()
    assert gc.check_grads_manual(_quadratic, _quadratic_grad, params, x) == (True, "pass")
    ok, message = gc.check_grads_manual(_quadratic, lambda p, x: jax.tree.map(lambda g: 1.5 * g,
                                                                                 _quadratic_grad(p, x)), params, x)
    assert not ok and message


def test_init_check_accepts_the_same_initialiser_and_flags_mean_spread_and_shape(x64):
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(50)

    def draw(w, b=None):
        return ({"W": jnp.asarray(w), "b": jnp.zeros(20) if b is None else jnp.asarray(b)},)

    reference = draw(rng.uniform(-bound, bound, (50, 20)))
    assert gc.init_check(draw(rng.uniform(-bound, bound, (50, 20))), reference).passed
    shifted = gc.init_check(draw(rng.uniform(0, 1, (50, 20))), reference)
    assert not shifted.passed and "mean" in shifted.describe()
    too_wide = gc.init_check(draw(rng.uniform(-3 * bound, 3 * bound, (50, 20))), reference)
    assert not too_wide.passed
    assert not gc.init_check(draw(rng.uniform(-bound, bound, (50, 20)), np.zeros((50, 20))), reference).passed
    assert not gc.init_check(draw(rng.uniform(-bound, bound, (50, 20)), np.full(20, 0.1)), reference).passed


def test_gradient_program_returns_manual_autodiff_and_finite_differences(x64):
    def J(p, x, y):
        return jnp.sum((x @ p["W"] - y) ** 2)

    def manual(p, x, y):
        return {"W": 2 * x.T @ (x @ p["W"] - y)}

    p = {"W": jnp.arange(6.0, dtype=jnp.float64).reshape(3, 2) / 7}
    x, y = jnp.ones((4, 3), jnp.float64), jnp.zeros((4, 2), jnp.float64)
    m, a, fd = gc.gradient_program(J, manual, finite_differences=True)(p, x, y)
    assert gc.compare(m, a).passed and gc.compare(m, fd, gc.FD_RTOL).passed
    assert gc.gradient_program(J, manual, finite_differences=False)(p, x, y)[2] is None
