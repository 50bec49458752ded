"""The article's numpy networks (xgnn_jax.grads.article): its C13 loop and its DNN_Model class with the bugs fixed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.engine import train
from xgnn_jax.grads import article, backprop


def test_numpy_loop_is_the_article_code_with_factor_two():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    w1, w2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    losses, v1, _ = article.numpy_two_layer_loop(x, y, w1, w2, lr=1e-3, steps=2)
    h = x @ w1
    y_pred = np.maximum(h, 0) @ w2
    assert np.isclose(losses[0], np.sum((y_pred - y) ** 2))
    g2 = np.maximum(h, 0).T @ (2 * (y_pred - y))
    _, _, u2 = article.numpy_two_layer_loop(x, y, w1, w2, lr=1e-3, steps=1)
    np.testing.assert_allclose(u2, w2 - 1e-3 * g2)
    assert losses[1] < losses[0] and not np.shares_memory(v1, w1)
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        article.numpy_two_layer_loop(x, y, w1, w2, steps=0)


def test_fixed_dnn_class_gradients_equal_the_jax_dnn_and_its_run_equals_the_core():
    sizes = (6, 5, 4, 3)
    net = article.DNNModel(6, sizes, alpha=1e-2, rng=np.random.default_rng(1))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 6)), rng.standard_normal((10, 3))
    params = tuple({"W": p["W"], "b": 0.3 * rng.standard_normal(p["b"].shape)} for p in net.core_params())
    net.load_params(params)
    y_pred = net.forward(x)
    net.backward(y_pred, y)
    with jax.enable_x64(True):
        jp = jax.tree.map(jnp.asarray, params)
        ref = backprop.DNN(sizes).grad(jp, jnp.asarray(x), jnp.asarray(y))
        for l, layer in enumerate(ref, start=1):
            np.testing.assert_allclose(net.gradient_dict[l][f"grad_w_{l}"], layer["W"], rtol=1e-12)
            np.testing.assert_allclose(net.gradient_dict[l][f"grad_b_{l}"], layer["b"], rtol=1e-12)
        losses = article.DNNModel(6, sizes, alpha=1e-2).load_params(params).train(x, y, epochs=5)
        tcfg = train.TrainConfig(epochs=5, mode="full_batch", loss="half_sse", reduction="sum", optimizer="sgd")
        core = train.make_run(backprop.DNN(sizes).model, train.Data(jnp.asarray(x), jnp.asarray(y)), tcfg)(
            jax.random.key(0), {"learning_rate": np.float64(1e-2)}, jp)
    np.testing.assert_allclose(losses[1:], np.asarray(core.history["loss"]), rtol=1e-12)
    assert losses[-1] < losses[0]


def test_fixed_dnn_class_initialises_fan_in_uniform_with_one_bias_per_unit():
    net = article.DNNModel(400, (400, 300, 2), rng=np.random.default_rng(0))
    w, b = net.params_dict[1]["w_1"], net.params_dict[1]["b_1"]
    assert w.shape == (400, 300) and b.shape == (300,) and not b.any()
    assert np.abs(w).max() <= 1 / 20 and abs(w.mean()) < 1e-3 and abs(w.std() / (1 / 20 / np.sqrt(3)) - 1) < 0.02
    with pytest.raises(ValueError, match="layer_units: expected the input width 5 first"):
        article.DNNModel(5, (4, 3))
    with pytest.raises(ValueError, match=r"params\[0\]\['W'\]: expected shape \(400, 300\)"):
        net.load_params(({"W": np.zeros((3, 3)), "b": np.zeros(300)}, net.core_params()[1]))
