"""The article's own PyTorch and Keras code (C15) against the core, at small sizes.

PyTorch and Keras are the ``frameworks`` extra: a missing one FAILS these tests (CI installs them) unless
``XGNN_ALLOW_MISSING_FRAMEWORKS=1`` is set, which turns the failure into a skip.
"""

import importlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.core.mlp import MLP
from xgnn_jax.engine import train


def _framework(name):
    try:
        return importlib.import_module(f"xgnn_jax.frameworks.{name}")
    except ImportError as e:
        if os.environ.get("XGNN_ALLOW_MISSING_FRAMEWORKS") == "1":
            pytest.skip(f"{name}: {e} (XGNN_ALLOW_MISSING_FRAMEWORKS=1)")
        raise AssertionError(f"{name} needs the frameworks extra (pip install -e '.[frameworks]'): {e}") from e


TORCH_CORE = MLP((12, 7, 3), hidden="relu", output="identity", weight_init="fan_in_uniform",
                 bias_init="fan_in_uniform")
KERAS_CORE = MLP((12, 9, 5, 3), hidden="relu", output="sigmoid", weight_init="glorot_uniform", bias_init="zeros")


def _problem(model, dtype, seed=0, n=16):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, model.sizes[0])).astype(dtype)
    y = rng.standard_normal((n, model.sizes[-1])).astype(dtype)
    with jax.enable_x64(dtype == "float64"):
        params = jax.tree.map(lambda a: np.asarray(a).astype(dtype), model.init(jax.random.key(seed + 1)))
    return x, y, params


def _core_losses(model, x, y, params, tcfg, lr):
    with jax.enable_x64(x.dtype == np.float64):
        run = train.make_run(model, train.Data(jnp.asarray(x), jnp.asarray(y)), tcfg)
        result = run(jax.random.key(0), {"learning_rate": np.asarray(lr, x.dtype)},
                     jax.tree.map(jnp.asarray, params))
        return np.asarray(result.history["loss"], np.float64), jax.tree.map(np.asarray, result.params)


def test_torch_layouts_are_transposes_and_exact_both_ways():
    tn = _framework("torch_net")
    _, _, params = _problem(TORCH_CORE, "float64")
    state = tn.state_dict_from_core(params)
    assert tuple(state["linear1.weight"].shape) == (7, 12) and tuple(state["linear2.bias"].shape) == (3,)
    back = tn.core_from_state_dict(tn.model_from_core(params).state_dict())
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="params: expected two"):
        tn.state_dict_from_core(params[:1])


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-5)])
def test_article_pytorch_loop_gives_the_core_losses(dtype, rtol):
    tn = _framework("torch_net")
    x, y, params = _problem(TORCH_CORE, dtype)
    model = tn.model_from_core(params, dtype)
    out = model(tn.torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, np.asarray(TORCH_CORE.apply(params, x)), rtol=10 * rtol, atol=1e-6)
    losses = tn.train(model, x, y, steps=8, lr=1e-3)
    tcfg = train.TrainConfig(epochs=8, mode="full_batch", loss="sse", reduction="sum", optimizer="sgd")
    core, core_params = _core_losses(TORCH_CORE, x, y, params, tcfg, 1e-3)
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(losses[1:], core, rtol=rtol)
    for a, b in zip(jax.tree.leaves(tn.core_from_state_dict(model.state_dict())), jax.tree.leaves(core_params),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=100 * rtol, atol=10 * rtol)


def test_keras_layouts_and_forward_pass_match_the_core():
    kn = _framework("keras_net")
    x, _, params = _problem(KERAS_CORE, "float64")
    with kn.floatx("float64"):
        model = kn.build(12, (9, 5, 3))
        model.set_weights(kn.weights_from_core(params))
        assert [w.shape for w in model.get_weights()] == [(12, 9), (9,), (9, 5), (5,), (5, 3), (3,)]
        back = kn.core_from_weights(model.get_weights())
        out = np.asarray(model(x))
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)
    with jax.enable_x64(True):
        np.testing.assert_allclose(out, np.asarray(KERAS_CORE.apply(params, x)), rtol=1e-13)
    with pytest.raises(ValueError, match="units: expected the widths of the three Dense layers"):
        kn.build(12, (9, 3))


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_article_keras_fit_gives_the_core_losses_with_keras_adam(dtype, rtol):
    kn = _framework("keras_net")
    x, y, params = _problem(KERAS_CORE, dtype, n=8)
    with kn.floatx(dtype):
        model = kn.build(12, (9, 5, 3))
        model.set_weights(kn.weights_from_core(params))
        history, after = kn.fit(model, x, y, epochs=6, batch_size=8)
        final = kn.core_from_weights(model.get_weights())
    tcfg = train.TrainConfig(epochs=6, mode="full_batch", loss="mse", reduction="mean", optimizer=kn.keras_adam)
    core, core_params = _core_losses(KERAS_CORE, x, y, params, tcfg, 1e-3)
    assert after[-1] < history[0]
    np.testing.assert_allclose(after, core, rtol=rtol)
    # Keras's own history is the loss before each epoch's update, reduced in float32 by keras.ops.mean.
    np.testing.assert_allclose(history[1:], core[:-1], rtol=max(rtol, 1e-6))
    for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(core_params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e3 * rtol, atol=1e3 * rtol)


def test_keras_adam_differs_from_optax_adam_only_by_where_eps_sits():
    kn = _framework("keras_net")
    import optax

    g = ({"W": jnp.array([1e-3, -2.0, 1e-9])},)
    p = ({"W": jnp.zeros(3)},)
    tx = kn.keras_adam(0.1)
    u1, s = tx.update(g, tx.init(p))
    # First step: m = 0.1 g, v = 0.001 g^2, alpha = 0.1 sqrt(0.001) / 0.1: the update is -0.1 g / (|g| + eps / sqrt(1e-3)).
    want = -0.1 * g[0]["W"] / (jnp.abs(g[0]["W"]) + 1e-7 / jnp.sqrt(1e-3))
    np.testing.assert_allclose(u1[0]["W"], want, rtol=1e-5)
    ref, _ = optax.adam(0.1, eps=1e-7 / np.sqrt(1e-3)).update(g, optax.adam(0.1).init(p))
    np.testing.assert_allclose(u1[0]["W"], ref[0]["W"], rtol=1e-5)
    assert int(s.count) == 1
