"""Hand-derived backprop (C9, C12, C13, C14, the book's eqs. 5.10-5.15) equals jax.grad; every C14 bug is caught."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xgnn_jax.core import mlp
from xgnn_jax.grads import backprop as bp
from xgnn_jax.grads import gradcheck as gc

HIDDEN = ("sigmoid", "tanh", "relu", "identity", "step", "sign", "softmax")
# Output activation x loss pairs that make sense: squared errors on any output, cross-entropies on their own output.
OUTPUT_LOSS = tuple((o, l) for o in ("identity", "sigmoid", "tanh", "relu", "softmax")
                    for l in ("half_sse", "sse", "mse")) + (
    ("softmax", "softmax_cross_entropy"), ("sigmoid", "sigmoid_binary_cross_entropy"))


def _problem(model, loss, n, seed, dtype):
    """Parameters (fan-in uniform weights, N(0, 0.5^2) biases: non-zero, so that a bias bug shows), inputs and
    targets fitting ``loss``. Drawn with numpy: jax.random would compile its kernels anew for every shape."""
    rng = np.random.default_rng(seed)
    params = []
    for d_in, d_out in zip(model.sizes[:-1], model.sizes[1:], strict=True):
        layer = {"W": rng.uniform(-1, 1, (d_in, d_out)) / np.sqrt(d_in)}
        if model.bias:
            layer["b"] = 0.5 * rng.standard_normal(d_out)
        params.append(layer)
    k = model.sizes[-1]
    x = rng.standard_normal((n, model.sizes[0]))
    if loss == "softmax_cross_entropy":
        y = np.eye(k)[rng.integers(0, k, n)]
    elif loss == "sigmoid_binary_cross_entropy":
        y = (rng.random((n, k)) < 0.5).astype(float)
    else:
        y = rng.standard_normal((n, k))
    as_dtype = functools.partial(jnp.asarray, dtype=dtype)
    return jax.tree.map(as_dtype, tuple(params)), as_dtype(x), as_dtype(y)


@functools.cache
def _compiled_pair(model, loss, reduction, with_magnitude):
    """One jit-compiled program computing (manual, autodiff[, summand magnitude]): one compile per architecture."""
    J = mlp.objective(model, loss, reduction)
    J_k = mlp.objective(model, loss, "sum")

    def per_example(p, xk, yk):
        return J_k(p, xk[None], yk[None])

    def program(p, x, y):
        magnitude = gc.summand_magnitude(per_example, p, x, y, reduction) if with_magnitude else None
        return bp.manual_grad(model, loss, reduction)(p, x, y), jax.grad(J)(p, x, y), magnitude

    return jax.jit(program)


architectures = st.fixed_dictionaries({
    "sizes": st.lists(st.integers(1, 8), min_size=2, max_size=5).map(tuple),  # depth 1-4
    "n": st.integers(1, 16),
    "hidden": st.sampled_from(HIDDEN),
    "output_loss": st.sampled_from(OUTPUT_LOSS),
    "reduction": st.sampled_from(("mean", "sum")),
    "bias": st.booleans(),
    "seed": st.integers(0, 2**16),
})
# Each example compiles one small program; derandomized so that the suite is reproducible.
FEW = settings(max_examples=10, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check_random_architecture(a, dtype):
    (output, loss) = a["output_loss"]
    model = mlp.MLP(a["sizes"], hidden=a["hidden"], output=output, bias=a["bias"])
    params, x, y = _problem(model, loss, a["n"], a["seed"], dtype)
    manual, auto, magnitude = _compiled_pair(model, loss, a["reduction"], dtype == jnp.float32)(params, x, y)
    assert jax.tree.structure(manual) == jax.tree.structure(auto) == jax.tree.structure(params)
    return manual, auto, magnitude


@FEW
@given(a=architectures)
def test_manual_grad_equals_jax_grad_in_float64_on_random_architectures(x64, a):
    manual, auto, _ = _check_random_architecture(a, jnp.float64)
    result = gc.compare(manual, auto, rtol=1e-10)
    assert result.passed, (a, result.describe())


@settings(FEW, max_examples=6)
@given(a=architectures)
def test_manual_grad_equals_jax_grad_in_float32_on_random_architectures(a):
    manual, auto, magnitude = _check_random_architecture(a, jnp.float32)
    assert jax.tree.leaves(manual)[0].dtype == jnp.float32
    # Relative to the size of the per-example terms each entry sums (see gradcheck.summand_magnitude): where those
    # terms cancel, the plain leaf-relative float32 error can exceed 1e-5 without any error in the formulas.
    result = gc.compare(manual, auto, rtol=1e-5, scale=magnitude)
    assert result.passed, (a, result.describe())


def test_every_activation_and_loss_pair_equals_jax_grad(x64):
    # One fixed architecture (eager: every pair reuses the same compiled primitives), every combination; both
    # reductions are covered by the random architectures above.
    failures = []
    for hidden in HIDDEN:
        for output, loss in OUTPUT_LOSS:
            model = mlp.MLP((3, 4, 3, 2), hidden=hidden, output=output)
            params, x, y = _problem(model, loss, 5, 7, jnp.float64)
            result = gc.check_against_autodiff(bp.manual_grad(model, loss, "mean"),
                                               mlp.objective(model, loss, "mean"), params, x, y)
            if not result.passed:
                failures.append((hidden, output, loss, result.describe()))
    assert not failures


def test_manual_grad_matches_finite_differences(x64):
    model = mlp.MLP((3, 5, 4, 2), hidden="tanh", output="sigmoid")
    params, x, y = _problem(model, "sigmoid_binary_cross_entropy", 6, 3, jnp.float64)
    J = mlp.objective(model, "sigmoid_binary_cross_entropy")
    fd, manual = jax.jit(lambda p, x, y: (gc.finite_difference_grad(J, p, x, y),
                                          bp.manual_grad(model, "sigmoid_binary_cross_entropy")(p, x, y)))(params, x, y)
    assert gc.compare(manual, fd, rtol=gc.FD_RTOL).passed
    assert gc.check_grads_manual(J, bp.manual_grad(model, "sigmoid_binary_cross_entropy"), params, x, y, jit=True)[0]


def test_manual_grad_without_bias_has_only_weights():
    model = mlp.MLP((2, 3, 1), hidden="relu", output="identity", bias=False)
    params, x, y = _problem(model, "half_sse", 4, 0, jnp.float32)
    grads = bp.manual_grad(model)(params, x, y)
    assert [set(g) for g in grads] == [{"W"}, {"W"}]


def test_manual_grad_rejects_bad_inputs_naming_the_argument():
    model = mlp.MLP((2, 3, 2), hidden="sigmoid", output="softmax")
    params, x, y = _problem(model, "softmax_cross_entropy", 4, 0, jnp.float32)
    grad = bp.manual_grad(model, "softmax_cross_entropy")
    with pytest.raises(ValueError, match=r"^x: .*\(n, 2\)"):
        grad(params, jnp.ones((4, 3)), y)
    with pytest.raises(ValueError, match=r"^y: .*\(4, 2\)"):
        grad(params, x, jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="^loss: .*sigmoid_binary_cross_entropy.*'sigmoid'"):
        bp.manual_grad(model, "sigmoid_binary_cross_entropy")
    with pytest.raises(ValueError, match="^loss: unknown loss 'hinge'; expected one of .*half_sse"):
        bp.manual_grad(model, "hinge")
    with pytest.raises(ValueError, match="^reduction: "):
        bp.manual_grad(model, "half_sse", "median")


# ------------------------------------------------------------------------------------------------ the book's BP
def test_book_bp_gradient_equals_jax_grad_of_the_accumulated_error(x64):
    model = bp.book_model(3, 4, 2)
    params, x, _ = _problem(model, "half_sse", 6, 1, jnp.float64)
    y = jnp.asarray(np.random.default_rng(5).random((6, 2)))
    E = mlp.objective(model, "half_sse", "mean")  # E = (1/m) sum_k E_k (eq. 5.16)
    assert gc.check_against_autodiff(bp.book_gradient, E, params, x, y, jit=True).passed


def test_standard_bp_step_is_gradient_descent_on_one_example(x64):
    # Eqs. 5.11-5.14: Delta = -eta dE_k/d(parameter); with thresholds gamma = -b1, theta = -b2.
    model = bp.book_model(2, 3, 1)
    params, x, _ = _problem(model, "half_sse", 1, 2, jnp.float64)
    y = jnp.array([[0.9]])
    eta = 0.3
    E_k = mlp.objective(model, "half_sse", "sum")

    @jax.jit
    def step_and_reference(params, x, y):
        stepped = bp.book_to_params(bp.standard_bp_step(bp.book_from_params(params), x[0], y[0], eta))
        expected = jax.tree.map(lambda p, d: p - eta * d, params, jax.grad(E_k)(params, x, y))
        return stepped, expected, E_k(stepped, x, y), E_k(params, x, y)

    stepped, expected, after, before = step_and_reference(params, x, y)
    assert gc.compare(stepped, expected, rtol=1e-12).passed
    assert after < before


def test_book_terms_follow_eq_5_10_and_5_15(x64):
    net = bp.BookNetwork(v=jnp.array([[1.0, -2.0]]), gamma=jnp.array([0.5, 0.0]), w=jnp.array([[1.5], [-1.0]]),
                         theta=jnp.array([0.25]))
    b, y_hat, g, e = bp.book_bp_terms(net, jnp.array([0.7]), jnp.array([1.0]))
    b_ref = 1 / (1 + np.exp(-(np.array([0.7, -1.4]) - [0.5, 0.0])))
    y_ref = 1 / (1 + np.exp(-(b_ref @ [1.5, -1.0] - 0.25)))
    g_ref = y_ref * (1 - y_ref) * (1.0 - y_ref)
    np.testing.assert_allclose(g, [g_ref], rtol=1e-14)
    np.testing.assert_allclose(e, b_ref * (1 - b_ref) * np.array([1.5, -1.0]) * g_ref, rtol=1e-14)
    with pytest.raises(ValueError, match="^x_k: "):
        bp.book_bp_terms(net, jnp.ones(2), jnp.ones(1))


# ------------------------------------------------------------------------------------------------ C9
def test_article_232_gradients_equal_jax_grad_and_logit_gradient_is_o_minus_o_star(x64):
    params, x, o_star = _problem(bp.ARTICLE_232, "softmax_cross_entropy", 8, 4, jnp.float64)
    H = mlp.objective(bp.ARTICLE_232, "softmax_cross_entropy", "mean")
    (grads, dH_dz, dH_dz_chain), auto, (_, dz, dz_chain) = jax.jit(lambda p, x, o: (
        bp.net_232_gradients(p, x, o), jax.grad(H)(p, x, o), bp.net_232_gradients(p, x, 2 * o)))(params, x, o_star)
    assert gc.compare(grads, auto, rtol=1e-10).passed
    np.testing.assert_allclose(dH_dz_chain, dH_dz, atol=1e-14)
    # dH/dz through the softmax Jacobian is o - o* only because the one-hot rows sum to 1 (here they sum to 2).
    assert np.max(np.abs(dz_chain - dz)) > 0.1


# ------------------------------------------------------------------------------------------------ C13
def test_numpy_two_layer_net_needs_the_factor_two(x64):
    rng = np.random.default_rng(0)  # the article's np.random.randn draws
    params = ({"W": jnp.asarray(rng.standard_normal((1000, 100)))}, {"W": jnp.asarray(rng.standard_normal((100, 10)))})
    x, y = jnp.asarray(rng.standard_normal((64, 1000))), jnp.asarray(rng.standard_normal((64, 10)))
    J = mlp.objective(bp.C13_MODEL, "sse", "sum")
    restored, article, auto = jax.jit(lambda p, x, y: (
        bp.numpy_two_layer_gradients(p, x, y), bp.numpy_two_layer_gradients(p, x, y, factor=bp.ARTICLE_FACTOR),
        jax.grad(J)(p, x, y)))(params, x, y)
    assert gc.compare(restored, auto).passed, gc.compare(restored, auto).describe()
    printed = gc.compare(article, auto)
    assert not printed.passed
    # Without the factor 2 every gradient is exactly halved: error = |g|/2 everywhere.
    assert all(abs(e.max_rel - 0.5) < 1e-12 for e in printed.leaves)
    key = jax.random.key(2)
    assert gc.directional_check(restored, J, params, x, y, key=key).passed
    assert not gc.directional_check(article, J, params, x, y, key=key).passed


# ------------------------------------------------------------------------------------------------ C14
ZOO_SIZES = (5, 5, 5, 3)  # two hidden layers as wide as the input, so hidden_fed_input computes numbers


def _zoo_check(bug):
    dnn = bp.DNN(ZOO_SIZES, bug)
    params, x, y = _problem(dnn.model, "half_sse", 7, 11, jnp.float64)
    J = mlp.objective(dnn.model, dnn.LOSS, dnn.REDUCTION)
    return gc.check_against_autodiff(dnn.grad, J, params, x, y, jit=True)


def test_correct_dnn_equals_the_generic_backward_and_jax_grad(x64):
    dnn = bp.DNN(ZOO_SIZES)
    params, x, y = _problem(dnn.model, "half_sse", 7, 11, jnp.float64)
    J = mlp.objective(dnn.model, dnn.LOSS, dnn.REDUCTION)
    ours, generic, loss, objective = jax.jit(lambda p, x, y: (
        dnn.grad(p, x, y), bp.manual_grad(dnn.model, "half_sse", "sum")(p, x, y), dnn.loss(p, x, y), J(p, x, y)))(
        params, x, y)
    assert gc.compare(ours, generic, rtol=1e-12).passed
    assert _zoo_check(None).passed
    assert abs(loss - objective) < 1e-12


GRADIENT_BUGS = [b for b in bp.DNN_BUGS if b != "weights_uniform_0_1"]


@pytest.mark.parametrize("bug", GRADIENT_BUGS)
def test_gradient_check_flags_every_gradient_bug(x64, bug):
    result = _zoo_check(bug)
    assert not result.passed
    assert result.note or result.max_rel > 1e-3, result.describe()


def test_bias_bug_is_seen_in_the_bias_gradient_shape_and_in_the_weights(x64):
    result = _zoo_check("bias_wrong_shape_never_added")
    by_leaf = {e.path: e for e in result.leaves}
    assert not by_leaf["[0]['b']"].shape_ok and by_leaf["[0]['b']"].shape == (7, 5)
    assert by_leaf["[0]['W']"].max_rel > 1e-3  # the forward pass ignores the (non-zero) bias


def test_square_out_bug_also_changes_the_loss_value(x64):
    dnn = bp.DNN(ZOO_SIZES, "square_out_into_y")
    params, x, y = _problem(dnn.model, "half_sse", 7, 11, jnp.float64)
    J = mlp.objective(dnn.model, dnn.LOSS, dnn.REDUCTION)
    assert abs(jax.jit(dnn.loss)(params, x, y) - jax.jit(J)(params, x, y)) > 1e-3


def test_init_bug_passes_the_gradient_check_and_fails_the_init_check(x64):
    # Weights from U[0, 1) are not a gradient bug: the gradients stay right, so only an init check sees it.
    assert _zoo_check("weights_uniform_0_1").passed
    article = (1000, 100, 10)
    reference = bp.DNN(article).init(jax.random.key(1))
    assert gc.init_check(bp.DNN(article).init(jax.random.key(2)), reference).passed
    assert not gc.init_check(bp.DNN(article, "weights_uniform_0_1").init(jax.random.key(2)), reference).passed
    assert not gc.init_check(bp.DNN(article, "bias_wrong_shape_never_added").init(jax.random.key(2)),
                             reference).passed


def test_hidden_fed_input_is_invisible_with_one_hidden_layer(x64):
    # The article's own [1000, 100, 10] has one hidden layer, fed X correctly: the bug needs a second one.
    sizes = (4, 6, 3)
    params, x, y = _problem(bp.DNN(sizes).model, "half_sse", 5, 0, jnp.float64)
    buggy, correct = bp.DNN(sizes, "hidden_fed_input"), bp.DNN(sizes)
    assert gc.compare(*jax.jit(lambda p, x, y: (buggy.grad(p, x, y), correct.grad(p, x, y)))(params, x, y),
                      rtol=0.0).passed


def test_dnn_rejects_unknown_bug():
    with pytest.raises(ValueError, match="^bug: unknown bug 'typo'; expected None or one of square_out_into_y"):
        bp.DNN((3, 2), "typo")


def test_descend_takes_plain_steps_and_records_the_loss_before_each(x64):
    model = mlp.MLP((3, 4, 2), hidden="relu", output="identity", bias=False, weight_init="normal")
    params = model.init(jax.random.key(0), dtype=jnp.float64)
    x = jax.random.normal(jax.random.key(1), (5, 3), jnp.float64)
    y = jax.random.normal(jax.random.key(2), (5, 2), jnp.float64)
    J = mlp.objective(model, "sse", "sum")
    losses, final = bp.descend(bp.numpy_two_layer_gradients, J, params, x, y, 1e-2, 3)
    p = params
    for t in range(3):
        assert float(losses[t]) == pytest.approx(float(J(p, x, y)), rel=1e-14)
        p = jax.tree.map(lambda w, g: w - 1e-2 * g, p, jax.grad(J)(p, x, y))
    for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(p), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        bp.descend(bp.numpy_two_layer_gradients, J, params, x, y, 1e-2, 0)


def test_output_layer_checks_give_the_c10_facts(x64):
    c = bp.output_layer_checks(jax.random.key(0))
    assert c["softmax_sum_err"] < 1e-12 and c["softmax_sum_err_saturated"] < 1e-12
    assert max(c["ce_grad_err"], c["bce_grad_err"], c["half_sse_sigmoid_grad_err"]) < 1e-12
    assert c["sigmoid_sum_max"] - c["sigmoid_sum_min"] > 0.5 and c["losses_finite_saturated"] is True
