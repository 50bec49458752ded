"""M-P neurons, the book's gates and XOR network, linear collapse, and the RBF network of exercise 5.7."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import neurons
from xgnn_jax.core.mlp import MLP

X = jnp.asarray(neurons.XOR_X)


@pytest.mark.parametrize("name", ["AND", "OR", "NOT"])
def test_book_gate_neurons_compute_their_truth_tables_also_as_mlps(name):
    neuron = neurons.GATES[name]
    out = np.asarray(neurons.mp_neuron(X, neuron.w, neuron.theta))
    np.testing.assert_array_equal(out, neurons.truth_table(name))
    model, params = neurons.as_mlp(neuron)
    np.testing.assert_array_equal(np.asarray(model.apply(params, X))[:, 0], out)
    assert float(params[0]["b"][0]) == -float(neuron.theta)


def test_mp_neuron_threshold_and_several_neurons_at_once():
    # y = f(w.x - theta): exactly at the threshold the step fires (1[z >= 0]); the sigmoid gives 1/2 there.
    x = jnp.array([[1.0, 1.0]])
    assert float(neurons.mp_neuron(x, jnp.array([1.0, 1.0]), 2.0)[0]) == 1.0
    assert float(neurons.mp_neuron(x, jnp.array([1.0, 1.0]), 2.0 + 1e-3)[0]) == 0.0
    np.testing.assert_allclose(neurons.mp_neuron(x, jnp.array([1.0, 1.0]), 2.0, "sigmoid"), [0.5])
    w = jnp.stack([neurons.AND.w, neurons.OR.w], axis=1)
    out = neurons.mp_neuron(X, w, jnp.array([neurons.AND.theta, neurons.OR.theta]))
    assert out.shape == (4, 2)
    np.testing.assert_array_equal(out[:, 1], neurons.truth_table("OR"))
    with pytest.raises(ValueError, match="x: expected shape"):
        neurons.mp_neuron(jnp.zeros((4, 3)), neurons.AND.w, 1.0)
    with pytest.raises(ValueError, match="name"):
        neurons.truth_table("NAND")


def test_hand_set_step_network_computes_xor_with_the_books_hidden_units():
    model, params = neurons.xor_step_network()
    np.testing.assert_array_equal(np.asarray(model.apply(params, X))[:, 0], neurons.truth_table("XOR"))
    hidden = np.asarray(model.hidden_activations(params, X)[0])
    a, b = neurons.XOR_X.T
    np.testing.assert_array_equal(hidden[:, 0], a * (1 - b))  # x1 AND NOT x2
    np.testing.assert_array_equal(hidden[:, 1], b * (1 - a))  # x2 AND NOT x1


def test_deep_linear_network_collapses_to_one_map_in_float64(x64):
    model = MLP((3, 7, 5, 4, 2), hidden="identity", output="identity", weight_init="normal", bias_init="normal")

    @jax.jit
    def compare(key):
        params = model.init(key, dtype=jnp.float64)
        x = jax.random.normal(jax.random.key(1), (64, 3), jnp.float64)
        W, b = neurons.collapse_linear(model, params)
        return model.apply(params, x), x @ W + b, W, b

    deep, flat, W, b = compare(jax.random.key(0))
    assert W.shape == (3, 2) and b.shape == (2,) and deep.dtype == jnp.float64
    np.testing.assert_allclose(deep, flat, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="identity"):
        neurons.collapse_linear(dataclasses.replace(model, hidden="relu"), ())


def test_best_linear_fit_of_xor_predicts_one_half_everywhere():
    W, b = neurons.least_squares_linear(X, jnp.asarray(neurons.XOR_Y))
    np.testing.assert_allclose(W, 0.0, atol=1e-5)
    np.testing.assert_allclose(b, [0.5], atol=1e-5)


def test_rbf_features_match_the_formula():
    x = jnp.array([[0.0, 0.0], [1.0, 2.0]])
    c = jnp.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    beta = jnp.array([1.0, 0.5, 2.0])
    phi = np.asarray(neurons.rbf_features(x, c, beta))
    expected = np.exp(-np.array([1.0, 0.5, 2.0]) * np.array([[0.0, 1.0, 5.0], [5.0, 4.0, 0.0]]))
    np.testing.assert_allclose(phi, expected, rtol=1e-6)


@pytest.mark.parametrize("centres, bias", [(np.arange(4), False), (np.array([0, 3]), True)])
def test_rbf_closed_form_solves_xor(centres, bias):
    y = jnp.asarray(neurons.XOR_Y)
    params = neurons.rbf_fit_output(X, y, X[centres], 1.0, bias=bias)
    np.testing.assert_allclose(neurons.rbf_apply(params, X), y, atol=1e-4)
    assert params.w.shape == (len(centres), 1) and params.b.shape == (1,)


def test_rbf_two_centres_without_bias_cannot_solve_xor():
    # By symmetry w1 = w2 = w; then (0,0) -> w (1 + e^-2) must be 0, so w = 0 and (0,1) -> 0, not 1.
    y = jnp.asarray(neurons.XOR_Y)
    params = neurons.rbf_fit_output(X, y, X[np.array([0, 3])], 1.0, bias=False)
    assert float(jnp.max(jnp.abs(neurons.rbf_apply(params, X) - y))) > 0.4


def test_trained_rbf_network_learns_xor_from_some_seeds_under_vmap():
    run = neurons.make_rbf_run(X, jnp.asarray(neurons.XOR_Y), neurons.RBFTrainConfig(q=2, steps=300))
    # Hyperparameters as the restart engine passes them: a dict with the learning rate.
    res = jax.jit(jax.vmap(run, in_axes=(0, None)))(jax.random.split(jax.random.key(0), 8),
                                                    {"learning_rate": jnp.float32(0.05)})
    assert res.loss.shape == (8, 300)
    assert bool(jnp.all(res.final_loss <= res.loss[:, 0]))
    assert float(jnp.max(res.final_accuracy)) == 1.0
    assert bool(jnp.all(res.params.beta > 0))
    with pytest.raises(ValueError, match="learning rate"):
        run(jax.random.key(0), {"momentum": 0.9})
    with pytest.raises(ValueError, match="q"):
        neurons.RBFTrainConfig(q=0)
    with pytest.raises(ValueError, match="beta0"):
        neurons.RBFTrainConfig(beta0=-1.0)


def test_gate_truth_tables_with_sigmoid_thresholds_off_every_input():
    thetas = {n: neurons.sigmoid_threshold(g) for n, g in neurons.GATES.items()}
    assert thetas["AND"] == 1.5 and thetas["OR"] == 0.5 and abs(thetas["NOT"] + 0.3) < 1e-6
    for name, g in neurons.GATES.items():
        s = neurons.XOR_X @ np.asarray(g.w, np.float64)
        assert np.min(np.abs(s - thetas[name])) >= 0.3 - 1e-6, name
    rows = neurons.gate_truth_tables(scale=10.0, margin=0.1)
    assert all(r["step_ok"] and r["mlp_equal"] and r["sigmoid_ok"] for r in rows.values())
    assert rows["AND"]["book_theta_on_input"] and not rows["OR"]["book_theta_on_input"]
    assert all(r["sigmoid_margin"] > 0.4 for r in rows.values())
    # A flat sigmoid (scale 1: AND's output at 11 is sigmoid(0.5) = 0.62) is on the right side but not by 0.2.
    flat = neurons.gate_truth_tables(scale=1.0, margin=0.2)["AND"]
    assert 0.1 < flat["sigmoid_margin"] < 0.2 and not flat["sigmoid_ok"]
