"""Hand-built approximators: sigmoid bumps (C8) and the deep/shallow sawtooth networks (C18)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import approximation as A

XG = jnp.linspace(-1.0, 1.0, 2001)[:, None]


def test_a_steep_sigmoid_pair_is_a_bump():
    x = jnp.array([-1.0, 0.2, 0.5, 0.8, 2.0])
    b = np.asarray(A.bump(x, 0.0, 1.0, 200.0))
    np.testing.assert_allclose(b, [0.0, 1.0, 1.0, 1.0, 0.0], atol=1e-6)


@functools.partial(jax.jit, static_argnames=("name", "ns"))
def _bump_errors(name, ns):
    """RMS and max error of the bump construction of target ``name`` with each bump count in ``ns``."""
    out = []
    for n in ns:
        model, params = A.bump_network(A.target(name), n)
        y_hat, y = model.apply(params, XG), A.target(name)(XG)
        out.append(jnp.stack([A.rms_error(y_hat, y), A.max_error(y_hat, y)]))
    return jnp.stack(out)


def test_bump_network_is_a_one_hidden_layer_sigmoid_net_whose_error_falls_like_one_over_n():
    for n in (4, 16):
        model, _ = A.bump_network(A.target("abs"), n)
        assert model.sizes == (1, 2 * n, 1) and model.layer_activations == ("sigmoid", "identity")
    errs = np.asarray(_bump_errors("abs", (4, 16, 64)))[:, 1]
    # |x| is 1-Lipschitz: bins of width h = 2/n give a max error of about h / 2 = 1/n.
    assert errs[0] > errs[1] > errs[2]
    for n, e in zip((4, 16, 64), errs, strict=True):
        assert e <= 1.2 / n


def test_bump_network_cannot_remove_the_max_error_of_a_jump():
    rms, mx = np.asarray(_bump_errors("step", (64,)))[0]
    assert rms < 0.05
    assert mx >= 0.45


def test_bump_network_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_bumps"):
        A.bump_network(A.target("sin"), 0)
    with pytest.raises(ValueError, match="lo, hi"):
        A.bump_network(A.target("sin"), 4, lo=1.0, hi=0.0)
    with pytest.raises(ValueError, match="target"):
        A.target("cosh")


@pytest.mark.parametrize("k", [1, 3, 5])
def test_deep_and_shallow_sawtooth_networks_are_exact_with_their_parameter_counts(k):
    deep, p_deep = A.sawtooth_network(k)
    shallow, p_shallow = A.shallow_sawtooth_network(k)

    @jax.jit
    def errors(p_deep, p_shallow):
        x = jnp.linspace(0.0, 1.0, 8 * 2 ** k + 1)[:, None]
        t = A.sawtooth(x, k)
        teeth = jnp.sum(jnp.isclose(t[:, 0], 1.0))
        return (jnp.max(jnp.abs(deep.apply(p_deep, x) - t)), jnp.max(jnp.abs(shallow.apply(p_shallow, x) - t)),
                teeth)

    e_deep, e_shallow, teeth = errors(p_deep, p_shallow)
    assert float(e_deep) < 1e-5 and float(e_shallow) < 1e-5
    assert deep.num_params == 6 * k + 1 and deep.num_layers == k + 1
    assert shallow.num_params == 3 * 2 ** k + 1
    # 2^(k-1) teeth: grid points where T^k = 1.
    assert int(teeth) == 2 ** (k - 1)


def test_shallow_width_for_matches_a_parameter_count():
    for p in (7, 241, 1000):
        w = A.shallow_width_for(p)
        assert abs((3 * w + 1) - p) <= 1


def test_bump_curves_match_the_bump_networks_one_by_one():
    x = jnp.linspace(-1.0, 1.0, 201)[:, None]
    rms, mx, fits = A.bump_curves(("sin", "step"), (8, 2), x, sharpness=20.0, fit_bumps=(2,))
    assert rms.shape == mx.shape == (2, 2) and fits.shape == (2, 1, 201)
    model, params = A.bump_network(A.target("sin"), 8, sharpness=20.0)
    out = model.apply(params, x)
    np.testing.assert_allclose(rms[0, 0], A.rms_error(out, A.target("sin")(x)), rtol=1e-5)
    np.testing.assert_allclose(mx[0, 0], A.max_error(out, A.target("sin")(x)), rtol=1e-5)
    assert rms[0, 0] < rms[0, 1]  # 8 bumps beat 2 on a smooth target
    model2, params2 = A.bump_network(A.target("step"), 2, sharpness=20.0)
    np.testing.assert_allclose(fits[1, 0], model2.apply(params2, x)[:, 0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="target"):
        A.bump_curves(("cos",), (2,), x)
