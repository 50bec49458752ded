import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import landscape


def _quadratic(params, x, y):
    """E = sum of squares of every parameter, shifted by the data: a convex bowl centred at 0."""
    return sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(params)) + 0.0 * jnp.sum(x)


def _double_well(params, x, y):
    """E = (t^2 - 1)^2 on a scalar parameter: minima at -1 and +1, a barrier of height 1 at 0."""
    t = params["t"]
    return (t**2 - 1.0) ** 2 + 0.0 * jnp.sum(x)


X = jnp.zeros((1, 1))


def test_line_end_points_and_barrier_between_two_wells():
    a, b = {"t": jnp.array(-1.0)}, {"t": jnp.array(1.0)}
    alphas, losses = landscape.line(_double_well, a, b, X, X, num=41)
    assert losses.shape == (41,)
    assert float(losses[0]) == pytest.approx(0.0) and float(losses[-1]) == pytest.approx(0.0)
    assert float(landscape.barrier(alphas, losses)) == pytest.approx(1.0, abs=1e-6)   # E(0) - 0
    # A convex bowl has no barrier on any segment.
    p = {"w": jnp.array([1.0, -2.0])}
    q = {"w": jnp.array([-3.0, 0.5])}
    alphas, losses = landscape.line(_quadratic, p, q, X, X, alphas=jnp.linspace(-0.5, 1.5, 33))
    assert float(landscape.barrier(alphas, losses)) <= 1e-6
    with pytest.raises(ValueError, match="params_b"):
        landscape.line(_quadratic, p, {"w": jnp.zeros(3)}, X, X)


def test_filter_normalized_direction_has_each_units_norm():
    params = ({"W": jnp.array([[1.0, 0.0, 3.0], [2.0, 0.5, 4.0]]), "b": jnp.array([2.0, 0.0, 0.0])},
              {"W": jnp.array([[1.0], [-1.0], [2.0]]), "b": jnp.array([0.5])})
    d = landscape.filter_normalized_direction(jax.random.key(0), params)
    assert jax.tree.structure(d) == jax.tree.structure(params)
    for dl, pl in zip(d, params, strict=True):
        dn = np.linalg.norm(np.concatenate([dl["W"], dl["b"][None]]), axis=0)
        pn = np.linalg.norm(np.concatenate([pl["W"], pl["b"][None]]), axis=0)
        np.testing.assert_allclose(dn, pn, rtol=1e-5)
    d2 = landscape.filter_normalized_direction(jax.random.key(1), params)
    assert not np.allclose(d[0]["W"], d2[0]["W"])


def test_surface_grid_shape_and_centre_value():
    params = {"W": jnp.array([[1.0, -1.0]]), "b": jnp.array([0.5, 0.5])}
    d1 = jax.tree.map(jnp.ones_like, params)
    d2 = jax.tree.map(lambda p: -jnp.ones_like(p), params)
    grid = jnp.linspace(-1, 1, 5)
    surf = landscape.surface(_quadratic, params, d1, d2, X, X, grid, grid[:3])
    assert surf.shape == (5, 3)
    assert float(surf[2, 2]) == pytest.approx(float(_quadratic(params, X, X)))
    # Along a = b the two directions cancel: the loss there is the centre value.
    np.testing.assert_allclose(surf[[0, 1], [0, 1]], float(_quadratic(params, X, X)), rtol=1e-6)
