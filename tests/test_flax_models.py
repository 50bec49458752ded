"""The Flax versions of the article's models compute exactly what the core computes (C15).

Small shapes throughout (compiles stay small); the article-sized runs are the study's job.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from xgnn_jax.core import mlp
from xgnn_jax.engine import restarts, train
from xgnn_jax.frameworks import flax_models as fm


def _data(key, n=8, d_in=5, d_out=3, dtype=jnp.float32):
    kx, ky = jax.random.split(key)
    return jax.random.normal(kx, (n, d_in), dtype), jax.random.normal(ky, (n, d_out), dtype)


def _assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert u.dtype == v.dtype
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


MODELS = {
    "two_layer_net": lambda rngs: fm.TwoLayerNet(5, 4, 3, rngs=rngs),
    "keras_net": lambda rngs: fm.KerasNet(5, (6, 4, 3), rngs=rngs),
    "flax_mlp": lambda rngs: fm.FlaxMLP(mlp.MLP((5, 4, 6, 3), hidden=("tanh", "relu"), output="softmax",
                                                bias=False, weight_init="normal(0.5)"), rngs=rngs),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_flax_module_and_core_mlp_compute_the_same_outputs_bit_for_bit(name, key):
    module = MODELS[name](nnx.Rngs(params=1))
    params = fm.to_core(module)
    core = module.core_model()
    x, _ = _data(key)
    np.testing.assert_array_equal(np.asarray(module(x)), np.asarray(core.apply(params, x)))
    np.testing.assert_array_equal(np.asarray(module.logits(x)), np.asarray(core.logits(params, x)))


def test_two_layer_net_is_linear_relu_linear_with_kernels_as_core_weights(key):
    net = fm.TwoLayerNet(5, 4, 3, rngs=nnx.Rngs(params=0))
    x, _ = _data(key)
    by_hand = jnp.maximum(x @ net.linear1.kernel[...] + net.linear1.bias[...], 0) @ net.linear2.kernel[...] \
        + net.linear2.bias[...]
    np.testing.assert_allclose(np.asarray(net(x)), np.asarray(by_hand), rtol=1e-6, atol=1e-6)
    params = fm.to_core(net)
    assert [p["W"].shape for p in params] == [(5, 4), (4, 3)] and [p["b"].shape for p in params] == [(4,), (3,)]


def test_keras_net_outputs_are_sigmoid_probabilities_of_the_relu_stack(key):
    net = fm.KerasNet(5, (6, 4, 3), rngs=nnx.Rngs(params=0))
    x, _ = _data(key)
    out = net(x)
    assert out.shape == (8, 3) and bool(jnp.all((out > 0) & (out < 1)))
    np.testing.assert_allclose(np.asarray(out), np.asarray(jax.nn.sigmoid(net.logits(x))), rtol=1e-6)
    core = net.core_model()
    assert core.sizes == (5, 6, 4, 3) and core.hidden == "relu" and core.output == "sigmoid"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_converters_are_exact_both_ways_and_inside_jit_and_vmap(name):
    spec, state = fm.split(MODELS[name](nnx.Rngs(params=2)))
    params = spec.to_core(state)
    _assert_trees_equal(spec.from_core(params), state)
    _assert_trees_equal(spec.to_core(spec.from_core(params)), params)
    _assert_trees_equal(jax.jit(lambda p: spec.to_core(spec.from_core(p)))(params), params)
    # Stacked restarts: a leading axis passes through both converters, and through vmap.
    stacked = jax.tree.map(lambda a: jnp.stack([a, 2 * a, 3 * a]), params)
    _assert_trees_equal(spec.to_core(spec.from_core(stacked)), stacked)
    _assert_trees_equal(jax.vmap(spec.from_core)(stacked), spec.from_core(stacked))
    _assert_trees_equal(jax.vmap(spec.to_core)(spec.from_core(stacked)), stacked)


def test_flax_mlp_without_bias_has_no_b_in_the_core_params():
    params = fm.to_core(MODELS["flax_mlp"](nnx.Rngs(params=0)))
    assert all(set(layer) == {"W"} for layer in params)


def test_from_core_copies_params_into_a_new_module_and_leaves_the_old_one_alone(key):
    net = fm.TwoLayerNet(5, 4, 3, rngs=nnx.Rngs(params=0))
    before = fm.to_core(net)
    new_params = net.core_model().init(key)
    twin = fm.from_core(net, new_params)
    _assert_trees_equal(fm.to_core(twin), new_params)
    _assert_trees_equal(fm.to_core(net), before)


def test_spec_init_draws_exactly_the_core_parameters_for_the_same_key(key):
    spec = fm.abstract_spec(MODELS["two_layer_net"])
    _assert_trees_equal(spec.to_core(spec.init(key, 0.5, 2.0)), spec.core.init(key, 0.5, 2.0))


def test_native_initialisation_follows_pytorch_and_keras_defaults():
    # Equal widths keep the number of distinct random-draw shapes (each one an eager compile) small.
    big = fm.TwoLayerNet(300, 300, 300, rngs=nnx.Rngs(params=0))
    for lin in (big.linear1, big.linear2):
        bound = 1 / math.sqrt(lin.in_features)
        for p in (lin.kernel[...], lin.bias[...]):
            assert float(jnp.max(jnp.abs(p))) <= bound
            # Uniform on (-bound, bound): standard deviation bound / sqrt(3).
            assert abs(float(jnp.std(p)) / (bound / math.sqrt(3)) - 1) < 0.25
    keras = fm.KerasNet(300, (300, 300, 300), rngs=nnx.Rngs(params=0))
    for lin in (keras.dense1, keras.dense2, keras.dense3):
        bound = math.sqrt(6 / (lin.in_features + lin.out_features))
        k = lin.kernel[...]
        assert float(jnp.max(jnp.abs(k))) <= bound and abs(float(jnp.std(k)) / (bound / math.sqrt(3)) - 1) < 0.1
        np.testing.assert_array_equal(np.asarray(lin.bias[...]), 0.0)


def test_bad_inputs_raise_clear_errors():
    spec = fm.abstract_spec(MODELS["two_layer_net"])
    good = spec.core.init(jax.random.key(0))
    with pytest.raises(ValueError, match="params: expected a tuple of 2"):
        spec.from_core(good[:1])
    with pytest.raises(ValueError, match=r"params\[1\]\['W'\]: expected shape \(4, 3\)"):
        spec.from_core((good[0], {"W": jnp.zeros((4, 2)), "b": jnp.zeros(3)}))
    with pytest.raises(ValueError, match=r"params\[0\]: expected keys \['W', 'b'\]"):
        spec.from_core(({"W": good[0]["W"]}, good[1]))
    with pytest.raises(ValueError, match="module: expected a model from xgnn_jax.frameworks.flax_models"):
        fm.split(nnx.Linear(2, 3, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match="h: expected positive"):
        fm.TwoLayerNet(5, 0, 3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="units: expected the widths of the three Dense layers"):
        fm.KerasNet(5, (4, 3), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="spec: expected an xgnn_jax.core.mlp.MLP"):
        fm.FlaxMLP((5, 3), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"x: expected a batch of shape \(n, 5\)"):
        spec.apply(spec.from_core(good), jnp.zeros((2, 4)))
    x, y = _data(jax.random.key(0))
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        fm.train_nnx_loop(fm.TwoLayerNet(5, 4, 3, rngs=nnx.Rngs(0)), x, y, optax.sgd(0.1), 0)


@pytest.mark.parametrize("loss, reduction, name", [("sse", "sum", "two_layer_net"), ("mse", "mean", "keras_net"),
                                                    ("softmax_cross_entropy", "mean", "flax_mlp")])
def test_gradients_through_flax_equal_core_gradients_in_float64(x64, loss, reduction, name):
    spec = fm.abstract_spec(MODELS[name])
    params = spec.core.init(jax.random.key(4), dtype=jnp.float64)
    x, y = _data(jax.random.key(5), dtype=jnp.float64)
    if loss == "softmax_cross_entropy":
        y = jax.nn.one_hot(jnp.argmax(y, axis=1), 3, dtype=jnp.float64)
    J_core = mlp.objective(spec.core, loss, reduction)
    J_flax = fm.objective(spec, loss, reduction)
    v_core, g_core = jax.jit(jax.value_and_grad(J_core))(params, x, y)
    v_flax, g_flax = jax.jit(jax.value_and_grad(J_flax))(spec.from_core(params), x, y)
    assert float(v_core) == float(v_flax)
    for a, b in zip(jax.tree.leaves(g_core), jax.tree.leaves(spec.to_core(g_flax)), strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12, atol=1e-15)


def test_flax_run_in_the_restart_engine_equals_core_run_at_every_step(x64):
    """The Keras set-up in miniature, in float64: mean-MSE Adam on shuffled minibatches of the Keras net. Each route
    runs through the one engine (train.make_run; the Flax model as a FlaxModel) as a restart sweep; every
    restart's loss after every update agrees to 1e-10. (The article's own PyTorch and Keras code: test_frameworks;
    float32 and the article's sizes: the study framework_equivalence.)"""
    x, y = _data(jax.random.key(6), n=8, dtype=jnp.float64)
    cfg = train.TrainConfig(epochs=6, mode="minibatch", batch_size=4, loss="mse", reduction="mean", optimizer="adam")
    spec = fm.abstract_spec(MODELS["keras_net"])
    core, flax = (restarts.sweep(make(model, train.Data(x, y), cfg), 7, 3, {"lr": np.float64(1e-2)},
                                 outcome=_history, progress=False, execution="vmap")
                  for make, model in ((train.make_run, spec.core), (train.make_run, fm.FlaxModel(spec))))
    loss = core["loss"]
    assert loss.shape == (3, cfg.epochs) and loss.dtype == np.float64
    assert np.all(loss[:, -1] < loss[:, 0]) and len(set(loss[:, -1])) == 3  # three restarts that train
    for name in ("loss", "accuracy", "grad_norm", "weight_norm", "W0", "W_last"):
        np.testing.assert_allclose(flax[name], core[name], rtol=1e-10, atol=1e-14)
    assert flax.n_diverged == core.n_diverged == 0


def _history(result):
    return {**{k: result.history[k] for k in ("loss", "accuracy", "grad_norm", "weight_norm")},
            "W0": result.init_params[0]["W"], "W_last": result.params[-1]["W"]}


def test_stateful_nnx_loop_gives_the_core_losses(x64):
    x, y = _data(jax.random.key(9), dtype=jnp.float64)
    spec = fm.abstract_spec(MODELS["two_layer_net"])
    key = jax.random.key(10)
    cfg = train.TrainConfig(epochs=8, mode="full_batch", loss="sse", reduction="sum", optimizer="sgd")
    lr = jnp.asarray(1e-2, jnp.float64)
    core = train.make_run(spec.core, train.Data(x, y), cfg)(key, {"lr": lr})
    module = spec.module(spec.from_core(core.init_params))
    module, losses = fm.train_nnx_loop(module, x, y, optax.sgd(lr), 8, loss="sse", reduction="sum")
    np.testing.assert_allclose(np.asarray(losses), np.asarray(core.history["loss"]), rtol=1e-12)
    for a, b in zip(jax.tree.leaves(fm.to_core(module)), jax.tree.leaves(core.params), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
