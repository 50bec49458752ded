"""The functional core: activations and their derivatives, losses, initialisers, the MLP (issue 2)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.core import activations, initializers, losses, mlp

Z = jnp.array([[-3.0, -0.5, 0.0, 0.5, 3.0], [2.0, -1.0, 0.25, -0.0, 7.0]])


# ------------------------------------------------------------------------------------------------ activations
def test_activation_values():
    np.testing.assert_array_equal(activations.step(Z)[0], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(activations.sign(Z)[0], [-1, -1, 0, 1, 1])
    np.testing.assert_array_equal(activations.relu(Z)[0], [0, 0, 0, 0.5, 3])
    np.testing.assert_array_equal(activations.identity(Z), Z)
    np.testing.assert_allclose(activations.sigmoid(Z) + activations.sigmoid(-Z), 1.0, rtol=1e-6)
    np.testing.assert_allclose(activations.sigmoid(jnp.array(0.0)), 0.5)
    np.testing.assert_allclose(activations.tanh(Z), np.tanh(np.asarray(Z)), rtol=1e-6)
    s = activations.softmax(Z)
    np.testing.assert_allclose(jnp.sum(s, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(activations.softmax(Z + 100.0), s, rtol=1e-5)  # shift invariant, no overflow
    assert bool(jnp.all(jnp.isfinite(activations.softmax(1e4 * Z))))


@pytest.mark.parametrize("name", [n for n in activations.NAMES if n != "softmax"])
def test_derivative_equals_jax_grad_including_kinks(x64, name):
    act = activations.get(name)
    z = jnp.concatenate([jnp.asarray(Z, jnp.float64).ravel(), jnp.array([0.0, -1e-300, 1e-300])])
    auto = jax.vmap(jax.grad(act.f))(z)
    # 1 - tanh(z)^2 loses relative precision where tanh(z) is near 1 (3e-17 absolute at z = 7), so atol too.
    np.testing.assert_allclose(act.df(z), auto, rtol=1e-12, atol=1e-15)


def test_relu_derivative_at_zero_is_zero_like_jax_grad():
    assert float(activations.d_relu(jnp.array(0.0))) == 0.0
    assert float(jax.grad(activations.relu)(0.0)) == 0.0
    assert float(jax.grad(activations.get("relu").f)(1e-3)) == 1.0


def test_softmax_vjp_equals_jax_vjp_and_softmax_has_no_elementwise_derivative(x64):
    z = jnp.asarray(Z, jnp.float64)
    g = jnp.arange(10.0).reshape(2, 5) / 7
    _, vjp = jax.vjp(activations.softmax, z)
    np.testing.assert_allclose(activations.softmax_vjp(z, g), vjp(g)[0], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="softmax is not elementwise"):
        activations.get("softmax").df(z)


def test_unknown_activation_names_the_argument_and_lists_valid_ones():
    with pytest.raises(ValueError, match="^activation: unknown activation 'swish'; expected one of step, sign, sig"):
        activations.get("swish")
    with pytest.raises(ValueError, match="^hidden: unknown activation 'Relu'"):
        mlp.MLP((2, 2, 1), hidden="Relu")
    with pytest.raises(ValueError, match="^output: unknown activation"):
        mlp.MLP((2, 2, 1), output="logistic")


# ------------------------------------------------------------------------------------------------ losses
Y_HAT = jnp.array([[0.2, 0.9, -1.0], [1.5, 0.0, 0.3]])
Y = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_squared_error_losses_follow_their_conventions():
    d2 = np.asarray((Y_HAT - Y) ** 2)
    np.testing.assert_allclose(losses.half_sse(Y_HAT, Y), 0.5 * d2.sum(1), rtol=1e-6)  # the book's E_k
    np.testing.assert_allclose(losses.sse(Y_HAT, Y), d2.sum(1), rtol=1e-6)  # the article's numpy loss
    np.testing.assert_allclose(losses.mse(Y_HAT, Y), d2.mean(1), rtol=1e-6)  # Keras / PyTorch MSE


def test_cross_entropies_match_their_definitions_and_stay_finite_when_saturated():
    p = np.exp(np.asarray(Y_HAT)) / np.exp(np.asarray(Y_HAT)).sum(1, keepdims=True)
    np.testing.assert_allclose(losses.softmax_cross_entropy(Y_HAT, Y), -(np.asarray(Y) * np.log(p)).sum(1),
                               rtol=1e-6)
    s = 1 / (1 + np.exp(-np.asarray(Y_HAT)))
    bce = -(np.asarray(Y) * np.log(s) + (1 - np.asarray(Y)) * np.log(1 - s)).sum(1)
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(Y_HAT, Y), bce, rtol=1e-6)
    # Saturated logits: a naive log(sigmoid) gives -inf; the stable forms give |z| for a confident wrong answer.
    z = jnp.array([[1000.0, -1000.0]])
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(z, jnp.array([[0.0, 1.0]])), [2000.0])
    np.testing.assert_allclose(losses.softmax_cross_entropy(z, jnp.array([[0.0, 1.0]])), [2000.0])
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(z, jnp.array([[1.0, 0.0]])), [0.0], atol=1e-6)


@pytest.mark.parametrize("name", losses.NAMES)
def test_loss_grad_field_equals_jax_grad(x64, name):
    spec = losses.get(name)
    out, y = jnp.asarray(Y_HAT, jnp.float64), jnp.asarray(Y, jnp.float64)
    auto = jax.grad(lambda o: jnp.sum(spec.fn(o, y)))(out)
    np.testing.assert_allclose(spec.grad(out, y), auto, rtol=1e-12, atol=1e-15)


def test_reduce_mean_sum_and_masks():
    per = jnp.array([1.0, 2.0, 6.0])
    assert float(losses.reduce(per, "mean")) == 3.0 and float(losses.reduce(per, "sum")) == 9.0
    w = jnp.array([1.0, 1.0, 0.0])
    assert float(losses.reduce(per, "mean", weights=w)) == 1.5 and float(losses.reduce(per, "sum", weights=w)) == 3.0
    with pytest.raises(ValueError, match="^reduction: unknown reduction 'avg'; expected one of mean, sum"):
        losses.reduce(per, "avg")


def test_unknown_loss_and_wrong_label_shape_name_the_argument():
    with pytest.raises(ValueError, match="^loss: unknown loss 'l2'; expected one of half_sse, sse, mse"):
        losses.get("l2")
    with pytest.raises(ValueError, match=r"^y: expected targets of shape \(2, 3\).*got \(2,\)"):
        losses.check_targets((2, 3), jnp.zeros(2))


# ------------------------------------------------------------------------------------------------ initialisers
def _draw(spec, shape=(400, 300), seed=0):
    fan_in, fan_out = shape
    return np.asarray(initializers.get(spec)(jax.random.key(seed), shape, fan_in, fan_out, jnp.float32))


@pytest.mark.parametrize("spec, mean, std, lo, hi", [
    ("zeros", 0.0, 0.0, 0.0, 0.0),
    ("constant(0.3)", 0.3, 0.0, 0.3, 0.3),
    ("uniform", 0.5, 1 / math.sqrt(12), 0.0, 1.0),  # the book's U(0, 1), numpy's rand
    ("uniform(-2, 1)", -0.5, 3 / math.sqrt(12), -2.0, 1.0),
    ("fan_in_uniform", 0.0, 1 / math.sqrt(3 * 400), -1 / 20, 1 / 20),  # C24: U(-1/sqrt(d), 1/sqrt(d))
    ("normal", 0.0, 1.0, -math.inf, math.inf),  # the article's randn
    ("normal(0.01)", 0.0, 0.01, -math.inf, math.inf),
    ("glorot_uniform", 0.0, math.sqrt(2 / 700), -math.sqrt(6 / 700), math.sqrt(6 / 700)),
    ("glorot_normal", 0.0, math.sqrt(2 / 700), -math.inf, math.inf),
    ("he_uniform", 0.0, math.sqrt(2 / 400), -math.sqrt(6 / 400), math.sqrt(6 / 400)),
    ("he_normal", 0.0, math.sqrt(2 / 400), -math.inf, math.inf),
    ("lecun_normal", 0.0, math.sqrt(1 / 400), -2 * math.sqrt(1 / 400) / 0.8796, 2 * math.sqrt(1 / 400) / 0.8796),
])
def test_initialisers_have_their_distributions(spec, mean, std, lo, hi):
    w = _draw(spec)
    assert w.shape == (400, 300) and w.dtype == np.float32
    assert abs(w.mean() - mean) <= 5 * std / math.sqrt(w.size) + 1e-7
    assert w.std() == pytest.approx(std, rel=0.02, abs=1e-7)
    assert w.min() >= lo - 1e-6 and w.max() <= hi + 1e-6


def test_initialiser_aliases_and_errors_name_the_argument():
    np.testing.assert_array_equal(_draw("kaiming_normal", (20, 10)), _draw("he_normal", (20, 10)))
    np.testing.assert_array_equal(_draw("rand", (20, 10)), _draw("uniform", (20, 10)))
    with pytest.raises(ValueError, match="^init: unknown initialiser 'orthogonal'; expected one of zeros, "):
        initializers.get("orthogonal")
    with pytest.raises(ValueError, match="^weight_init: unknown initialiser 'xavier'"):
        mlp.MLP((2, 1), weight_init="xavier")
    with pytest.raises(ValueError, match="^bias_init: initialiser arguments must be numbers"):
        mlp.MLP((2, 1), bias_init="constant(a)")
    with pytest.raises(ValueError, match="wrong number of arguments"):
        initializers.get("normal(1, 2, 3)")
    with pytest.raises(ValueError, match="a < b"):
        initializers.get("uniform(1, 0)")


# ------------------------------------------------------------------------------------------------ the MLP
MODEL = mlp.MLP((3, 4, 2), hidden="tanh", output="sigmoid", weight_init="normal", bias_init="normal(0.5)")
X = jnp.array([[0.1, -0.2, 0.3], [1.0, 0.5, -1.5], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5], [-0.3, 0.8, 0.2]])


def test_init_shapes_structure_and_counts():
    params = MODEL.init(jax.random.key(0))
    assert [{k: v.shape for k, v in layer.items()} for layer in params] == [
        {"W": (3, 4), "b": (4,)}, {"W": (4, 2), "b": (2,)}]
    assert MODEL.num_layers == 2 and MODEL.layer_activations == ("tanh", "sigmoid")
    assert MODEL.num_params == sum(v.size for v in jax.tree.leaves(params)) == 26
    no_bias = mlp.MLP((3, 4, 2), bias=False)
    assert all(set(layer) == {"W"} for layer in no_bias.init(jax.random.key(0))) and no_bias.num_params == 20
    mixed = mlp.MLP((3, 4, 4, 2), hidden=("relu", "tanh"), output="identity")
    assert mixed.layer_activations == ("relu", "tanh", "identity")


def test_init_scales_are_arrays_that_vmap_without_recompiling():
    keys = jax.random.split(jax.random.key(1), 3)
    scales = jnp.array([0.0, 1.0, 2.0])
    stacked = jax.vmap(lambda k, s: MODEL.init(k, weight_scale=s))(keys, scales)
    assert stacked[0]["W"].shape == (3, 3, 4)
    np.testing.assert_array_equal(stacked[0]["W"][0], 0.0)
    one = MODEL.init(keys[2], weight_scale=2.0)
    np.testing.assert_allclose(stacked[0]["W"][2], one[0]["W"], rtol=1e-6)


def test_apply_is_the_layer_formula_and_equals_its_jit_and_vmap():
    params = MODEL.init(jax.random.key(2))
    out = MODEL.apply(params, X)
    by_hand = jax.nn.sigmoid(jnp.tanh(X @ params[0]["W"] + params[0]["b"]) @ params[1]["W"] + params[1]["b"])
    np.testing.assert_allclose(out, by_hand, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(MODEL.apply)(params, X), out, rtol=1e-6, atol=1e-7)
    per_row = jax.vmap(lambda x: MODEL.apply(params, x[None])[0])(X)
    np.testing.assert_allclose(per_row, out, rtol=1e-6, atol=1e-7)
    stacked = jax.vmap(MODEL.init)(jax.random.split(jax.random.key(2), 2))
    restarts = jax.vmap(MODEL.apply, in_axes=(0, None))(stacked, X)
    first = jax.tree.map(lambda a: a[0], stacked)
    np.testing.assert_allclose(restarts[0], MODEL.apply(first, X), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(MODEL.logits(params, X), jax.scipy.special.logit(out), rtol=1e-4, atol=1e-5)
    assert [h.shape for h in MODEL.hidden_activations(params, X)] == [(5, 4)]


def test_objective_reductions_and_masks():
    params = MODEL.init(jax.random.key(3))
    y = jnp.ones((5, 2)) * 0.5
    per = losses.half_sse(MODEL.apply(params, X), y)
    assert float(mlp.objective(MODEL, "half_sse")(params, X, y)) == pytest.approx(float(per.mean()), rel=1e-6)
    assert float(mlp.objective(MODEL, "half_sse", "sum")(params, X, y)) == pytest.approx(float(per.sum()), rel=1e-6)
    w = jnp.array([1.0, 1.0, 0.0, 0.0, 0.0])
    assert float(mlp.objective(MODEL, "half_sse")(params, X, y, w)) == pytest.approx(float(per[:2].mean()), rel=1e-6)


def test_bad_inputs_name_the_argument():
    params = MODEL.init(jax.random.key(4))
    with pytest.raises(ValueError, match=r"^x: expected a batch of shape \(n, 3\).*got shape \(5, 2\)"):
        MODEL.apply(params, X[:, :2])
    with pytest.raises(ValueError, match=r"^x: .*got shape \(3,\)"):
        MODEL.apply(params, X[0])
    with pytest.raises(ValueError, match=r"^y: expected targets of shape \(5, 2\)"):
        mlp.objective(MODEL, "half_sse")(params, X, jnp.ones((5,)))
    with pytest.raises(ValueError, match="^loss: softmax_cross_entropy works on logits and assumes the output "
                                         "activation 'softmax'"):
        mlp.objective(MODEL, "softmax_cross_entropy")
    with pytest.raises(ValueError, match="^loss: unknown loss"):
        mlp.objective(MODEL, "hinge")
    with pytest.raises(ValueError, match="^sizes: "):
        mlp.MLP((3,))
    with pytest.raises(ValueError, match="^sizes: every layer width must be a positive int"):
        mlp.MLP((3, 0, 1))
    with pytest.raises(ValueError, match=r"^hidden: expected one activation per hidden layer \(2\)"):
        mlp.MLP((3, 4, 4, 1), hidden=("relu",))


def test_weighted_reductions_and_non_finite_predictions():
    from xgnn_jax.core import losses as L
    from xgnn_jax.core import metrics

    per = jnp.array([1.0, 3.0])
    assert float(L.reduce(per, "mean", weights=jnp.array([0.25, 0.25]))) == 2.0
    assert float(L.reduce(per, "mean", weights=jnp.zeros(2))) == 0.0
    y = jnp.array([[0.0], [0.0]])
    assert float(metrics.accuracy(jnp.array([[jnp.nan], [0.2]]), y)) == 0.5  # NaN is never "right"


def test_mlp_accepts_numpy_integer_widths_and_initialiser_errors_name_the_argument():
    import numpy as np

    from xgnn_jax.core.mlp import MLP as _MLP

    assert _MLP((np.int64(2), 3, 1)).sizes == (2, 3, 1)
    with pytest.raises(ValueError, match="weight_init: uniform"):
        _MLP((2, 1), weight_init="uniform(1, 0)")
    with pytest.raises(ValueError, match="weight_init: normal"):
        _MLP((2, 1), weight_init="normal(-1)")


def test_initialisers_are_named_hashable_functions_and_refuse_non_finite_arguments():
    u = initializers.uniform(-1, 1)
    assert u == initializers.get("uniform(-1, 1)") and hash(u) == hash(initializers.get("uniform(-1,1)"))
    assert str(u) == "uniform(-1, 1)" and u != initializers.uniform(-1, 2)
    # a network built from the typed spelling equals (and hashes as) one from the string's parse
    a = mlp.MLP((2, 2, 1), weight_init=u)
    b = mlp.MLP((2, 2, 1), weight_init=initializers.uniform(-1, 1))
    assert a == b and hash(a) == hash(b)
    key = jax.random.key(0)
    np.testing.assert_array_equal(a.init(key)[0]["W"], mlp.MLP((2, 2, 1), weight_init="uniform(-1, 1)").init(key)[0]["W"])
    for spec, match in [("normal(inf)", "weight_init: normal.*finite"), ("uniform(nan, 1)", "finite"),
                        ("constant(-inf)", "finite")]:
        with pytest.raises(ValueError, match=match):
            mlp.MLP((2, 1), weight_init=spec)
    with pytest.raises(ValueError, match="finite"):
        initializers.normal(float("inf"))


def test_model_protocol_helpers_and_pinned_fraction():
    from xgnn_jax.core import model as model_lib
    from xgnn_jax.core.shortcut import ShortcutMLP

    net = mlp.MLP((2, 3, 1))
    for m in (net, ShortcutMLP()):
        assert isinstance(m, model_lib.Model) and model_lib.output_size(m) == 1
        p = m.init(jax.random.key(1))
        assert [w.shape for w in model_lib.weights(m, p)] == [layer["W"].shape for layer in p]
        sq = model_lib.sum_of_squares(m, p, include_bias=True)
        np.testing.assert_allclose(sq, sum(float(jnp.sum(v ** 2)) for v in jax.tree.leaves(p)), rtol=1e-6)
    x = jnp.array([[0.0, 0.0], [1.0, 1.0]])
    p = net.init(jax.random.key(0))
    assert float(model_lib.pinned_fraction(net, p, x)) == 0.0  # small weights: no unit near 0 or 1
    huge = jax.tree.map(lambda a: 1e3 * jnp.sign(a) + 1e3 * (a == 0), p)
    assert float(model_lib.pinned_fraction(net, huge, x)) > 0.5  # every sigmoid unit at 0 or 1
    linear = mlp.MLP((2, 1), output="identity")
    assert float(model_lib.pinned_fraction(linear, linear.init(jax.random.key(0)), x)) == 0.0  # no squashing units
