"""Single neurons and the small hand-built networks of the chapter's first half (C1, C6, C7, exercise 5.7).

* The M-P neuron (C1): ``y = f(sum_i w_i x_i - theta)`` with ``f`` the step function ``1[z >= 0]`` or the
  sigmoid. In :class:`xgnn_jax.core.mlp.MLP` terms it is a one-layer network with ``W = w[:, None]`` and ``b = -theta``.
* The book's logic neurons (Zhou, section 5.2, with ``f`` the step): AND ``w = (1, 1), theta = 2``; OR
  ``w = (1, 1), theta = 0.5``; NOT (of ``x1``) ``w = (-0.6, 0), theta = -0.5``.
* The book's two-layer XOR network of step units (figure 5.5a), as an MLP ``(2, 2, 1)``: hidden units
  ``h1 = step(x1 - x2 - 0.5)`` and ``h2 = step(-x1 + x2 - 0.5)``, output ``y = step(h1 + h2 - 0.5)``.
* Linear collapse (C7): a network whose every activation is the identity computes
  ``(((x W1 + b1) W2 + b2) ... ) WL + bL = x W + b`` with ``W = W1 W2 ... WL`` and
  ``b = sum_l b_l W_{l+1} ... W_L``.
* The radial basis function network (book eq. 5.18, exercise 5.7):

      phi(x) = sum_{i=1}^q w_i rho(x, c_i) (+ b),    rho(x, c_i) = exp(-beta_i |x - c_i|^2),

  with centres ``c: (q, d)``, widths ``beta: (q,)``, output weights ``w: (q, k)`` and an optional bias ``b: (k,)``.
  With centres and widths fixed the output weights solve a linear least-squares problem in closed form
  (:func:`rbf_fit_output`); :func:`make_rbf_run` trains all of them by gradient descent on
  ``E = (1/m) sum_k 1/2 |phi(x_k) - y_k|^2`` (the book: choose centres, then learn ``w`` and ``beta`` by BP).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from xgnn_jax.core import activations, metrics
from xgnn_jax.core.mlp import MLP, Params
from xgnn_jax.data import datasets

Array = jax.Array

# The four XOR inputs (00, 01, 10, 11) and their 0/1 labels, ``(4, 2)`` and ``(4, 1)``.
XOR_X, XOR_Y = (np.asarray(a) for a in datasets.logic_gate("xor"))


class Neuron(NamedTuple):
    """An M-P neuron's weights ``w: (d,)`` and threshold ``theta: ()``."""

    w: Array
    theta: Array


def mp_neuron(x: Array, w: Array, theta: Array | float, f: str = "step") -> Array:
    """The M-P neuron ``y = f(sum_i w_i x_i - theta)`` (C1).

    Shapes: ``x: (n, d)``, ``w: (d,)`` -> ``(n,)``; or ``w: (d, k)``, ``theta: (k,)`` -> ``(n, k)`` (k neurons).
    ``f`` is an activation name from :mod:`xgnn_jax.core.activations` (``"step"``: ``1[z >= 0]``, or ``"sigmoid"``).
    """
    x = jnp.asarray(x)
    w = jnp.asarray(w, x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32)
    if x.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"x: expected shape (n, {w.shape[0]}) to match w of shape {tuple(w.shape)}, "
                         f"got {tuple(x.shape)}")
    return activations.get(f, argument="f").f(x @ w - theta)


# The book's logic neurons (step activation, inputs in {0, 1}).
AND = Neuron(np.array([1.0, 1.0], np.float32), np.float32(2.0))
OR = Neuron(np.array([1.0, 1.0], np.float32), np.float32(0.5))
NOT = Neuron(np.array([-0.6, 0.0], np.float32), np.float32(-0.5))  # NOT x1; x2 is ignored
GATES = {"AND": AND, "OR": OR, "NOT": NOT}


def truth_table(name: str) -> np.ndarray:
    """The gate ``name`` (AND, OR, XOR, or NOT of ``x1``) on the inputs :data:`XOR_X` as 0/1, ``(4,)``."""
    if not isinstance(name, str) or name.upper() not in ("AND", "OR", "XOR", "NOT"):
        raise ValueError(f"name: expected one of AND, OR, XOR, NOT, got {name!r}")
    if name.upper() == "NOT":
        return 1.0 - XOR_X[:, 0]
    return np.asarray(datasets.logic_gate(name.lower()).y[:, 0])


def as_mlp(neuron: Neuron, f: str = "step") -> tuple[MLP, Params]:
    """An M-P neuron as a one-layer :class:`MLP` ``(d, 1)`` with ``W = w[:, None]``, ``b = -theta``."""
    w = jnp.asarray(neuron.w)
    model = MLP((w.shape[0], 1), hidden=(), output=f)
    return model, ({"W": w[:, None], "b": -jnp.reshape(jnp.asarray(neuron.theta, w.dtype), (1,))},)


def xor_step_network() -> tuple[MLP, Params]:
    """The book's hand-set 2-2-1 XOR network of step units (figure 5.5a), as ``(MLP, params)``.

    Hidden unit 1 fires for ``x1 AND NOT x2``, unit 2 for ``x2 AND NOT x1``; the output is their OR.
    """
    model = MLP((2, 2, 1), hidden="step", output="step")
    params = ({"W": jnp.array([[1.0, -1.0], [-1.0, 1.0]]), "b": jnp.array([-0.5, -0.5])},
              {"W": jnp.array([[1.0], [1.0]]), "b": jnp.array([-0.5])})
    return model, params


# ---------------------------------------------------------------------------------------------- linear collapse
def collapse_linear(model: MLP, params: Params) -> tuple[Array, Array]:
    """The single linear map ``x W + b`` that an all-identity network computes (C7).

    ``W = W1 W2 ... WL: (d_0, d_L)``, ``b = sum_l b_l W_{l+1} ... W_L: (d_L,)``. Raises a ``ValueError`` if any
    layer of ``model`` has an activation other than ``identity``.
    """
    bad = [a for a in model.layer_activations if a != "identity"]
    if bad:
        raise ValueError(f"model: linear collapse needs identity activations in every layer, got "
                         f"{model.layer_activations}")
    W = params[0]["W"]
    b = params[0].get("b", jnp.zeros(W.shape[1], W.dtype))
    for layer in params[1:]:
        W = W @ layer["W"]
        b = b @ layer["W"] + layer.get("b", 0.0)
    return W, b


def least_squares_linear(x: Array, y: Array) -> tuple[Array, Array]:
    """The best single linear layer ``x W + b`` under squared error, in closed form (``lstsq`` on ``(x, 1)``).

    ``x: (n, d)``, ``y: (n, k)`` -> ``W: (d, k)``, ``b: (k,)``.
    """
    return _least_squares(jnp.asarray(x), jnp.asarray(y))


@jax.jit
def _least_squares(x, y):
    X = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
    coef = jnp.linalg.lstsq(X, y)[0]
    return coef[:-1], coef[-1]


# ---------------------------------------------------------------------------------------------- RBF network
class RBFParams(NamedTuple):
    """An RBF network (eq. 5.18): centres ``c: (q, d)``, widths ``beta: (q,)`` (> 0), output weights ``w: (q, k)``,
    bias ``b: (k,)`` (zeros for the book's bias-free form)."""

    c: Array
    beta: Array
    w: Array
    b: Array


def rbf_features(x: Array, c: Array, beta: Array) -> Array:
    """``rho(x_n, c_i) = exp(-beta_i |x_n - c_i|^2)``, ``(n, d), (q, d), (q,) -> (n, q)``."""
    d2 = jnp.sum((x[:, None, :] - c[None, :, :]) ** 2, axis=-1)
    return jnp.exp(-beta[None, :] * d2)


def rbf_apply(params: RBFParams, x: Array) -> Array:
    """``phi(x) = rho(x, c) w + b``, ``(n, d) -> (n, k)``."""
    return rbf_features(x, params.c, params.beta) @ params.w + params.b


def rbf_fit_output(x: Array, y: Array, c: Array, beta: Array | float, *, bias: bool = False) -> RBFParams:
    """Output weights in closed form: ``w = argmin |Phi w (+ b) - y|^2`` with ``Phi = rho(x, c): (n, q)``.

    With ``q = n`` centres on the data points and no bias, ``Phi`` is the Gaussian kernel matrix, which is
    positive definite for distinct points, so the network interpolates the data exactly.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    if y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y: expected targets of shape ({x.shape[0]}, k), got {tuple(y.shape)}")
    c = jnp.asarray(c, x.dtype)
    return _rbf_fit(x, y, c, jnp.broadcast_to(jnp.asarray(beta, x.dtype), (c.shape[0],)), bool(bias))


@functools.partial(jax.jit, static_argnums=(4,))
def _rbf_fit(x, y, c, beta, bias):
    phi = rbf_features(x, c, beta)
    if bias:
        phi = jnp.concatenate([phi, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
    coef = jnp.linalg.lstsq(phi, y)[0]
    w, b = (coef[:-1], coef[-1]) if bias else (coef, jnp.zeros(y.shape[1], x.dtype))
    return RBFParams(c, beta, w, b)


@dataclasses.dataclass(frozen=True)
class RBFTrainConfig:
    """Static description of a trained RBF network: ``q`` centres, ``steps`` full-batch Adam steps on
    ``E = (1/m) sum_k 1/2 |phi(x_k) - y_k|^2``, ``bias`` or not. Centres start uniform in the data's bounding box,
    ``beta`` at ``beta0``, output weights at ``N(0, 0.1^2)``; ``log beta`` is trained so ``beta`` stays > 0."""

    q: int = 2
    steps: int = 500
    bias: bool = True
    beta0: float = 1.0

    def __post_init__(self):
        for name in ("q", "steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if not self.beta0 > 0:
            raise ValueError(f"beta0: expected a width > 0, got {self.beta0!r}")


class RBFTrainResult(NamedTuple):
    params: RBFParams
    loss: Array  # (steps,) the objective before each step
    final_loss: Array
    final_accuracy: Array


def make_rbf_run(x: Array, y: Array, config: RBFTrainConfig = RBFTrainConfig()):
    """``run(key, lr) -> RBFTrainResult``: one training run of an RBF network as one ``lax.scan`` (vmappable).

    ``lr`` is Adam's learning rate, or a hyperparameter dict ``{"learning_rate": lr}`` (``"lr"`` accepted too), as
    :func:`xgnn_jax.engine.restarts.sweep` passes it."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.ndim != 2 or y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"x, y: expected shapes (n, d) and (n, k); got {tuple(x.shape)} and {tuple(y.shape)}")
    lo, hi = jnp.min(x, axis=0), jnp.max(x, axis=0)
    q, k = config.q, y.shape[1]

    def to_params(raw):
        b = raw["b"] if config.bias else jnp.zeros(k, x.dtype)
        return RBFParams(raw["c"], jnp.exp(raw["log_beta"]), raw["w"], b)

    def objective(raw):
        return 0.5 * jnp.mean(jnp.sum((rbf_apply(to_params(raw), x) - y) ** 2, axis=-1))

    def run(key: Array, lr: Array | float | dict = 0.05) -> RBFTrainResult:
        if isinstance(lr, dict):
            unknown = set(lr) - {"learning_rate", "lr"}
            if unknown or len(lr) != 1:
                raise ValueError(f"hparams: an RBF run takes one learning rate ('learning_rate'), got {sorted(lr)}")
            lr = next(iter(lr.values()))
        k_c, k_w = jax.random.split(key)
        raw = {"c": jax.random.uniform(k_c, (q, x.shape[1]), x.dtype, lo, hi),
               "log_beta": jnp.full((q,), np.log(config.beta0), x.dtype),
               "w": 0.1 * jax.random.normal(k_w, (q, k), x.dtype)}
        if config.bias:
            raw["b"] = jnp.zeros(k, x.dtype)
        tx = optax.adam(lr)

        def step(carry, _):
            raw, state = carry
            value, g = jax.value_and_grad(objective)(raw)
            upd, state = tx.update(g, state, raw)
            return (optax.apply_updates(raw, upd), state), value

        (raw, _), losses = jax.lax.scan(step, (raw, tx.init(raw)), None, length=config.steps)
        params = to_params(raw)
        out = rbf_apply(params, x)
        acc = metrics.accuracy(out, y)
        return RBFTrainResult(params, losses, objective(raw), acc)

    return run


# ---------------------------------------------------------------------------------------------- gate truth tables
def sigmoid_threshold(neuron: Neuron) -> float:
    """The threshold for the sigmoid version of a gate neuron: the middle of the gap between the largest ``w.x`` of
    an input whose output is 0 and the smallest ``w.x`` of an input whose output is 1 (AND: 1.5, between 1 and 2).

    The book's step thresholds may sit *on* an input (AND: ``w.x = theta = 2`` at 11), where ``step(0) = 1`` is
    right but ``sigmoid(0) = 1/2`` decides nothing."""
    step = np.asarray(mp_neuron(XOR_X, neuron.w, neuron.theta, "step"))
    s = XOR_X @ np.asarray(neuron.w, np.float64)
    return float((s[step == 0].max() + s[step == 1].min()) / 2)


def gate_truth_tables(scale: float = 10.0, margin: float = 0.1) -> dict[str, dict]:
    """The book's gate neurons (:data:`GATES`) on the four inputs 00, 01, 10, 11, three ways: as M-P neurons
    (``step``), as one-layer MLPs with ``b = -theta`` (``mlp``), and with a sigmoid whose weights are ``scale w`` and
    threshold ``scale`` times :func:`sigmoid_threshold` (``sigmoid``).

    Per gate: the outputs, the ``table``, ``step_ok`` (step outputs equal the table), ``mlp_equal`` (MLP outputs
    equal the step outputs), ``sigmoid_theta``, ``book_theta_on_input`` (the book's theta equals some ``w.x``),
    ``sigmoid_margin`` (the smallest signed distance of a sigmoid output from 1/2, positive on the right side) and
    ``sigmoid_ok`` (that margin exceeds ``margin``)."""
    thetas = {name: sigmoid_threshold(neuron) for name, neuron in GATES.items()}
    outputs = jax.device_get(_gate_outputs(jnp.float32(scale), {k: jnp.float32(v) for k, v in thetas.items()}))
    rows = {}
    for name, neuron in GATES.items():
        theta, (step, mlp, sig) = thetas[name], outputs[name]
        table = truth_table(name)
        signed = np.where(table > 0.5, 1.0, -1.0) * (np.asarray(sig, np.float64) - 0.5)
        rows[name] = {"step": step, "mlp": mlp, "sigmoid": sig, "table": table,
                      "step_ok": bool(np.all(step == table)), "mlp_equal": bool(np.all(mlp == step)),
                      "sigmoid_theta": theta,
                      "book_theta_on_input": bool(np.any(XOR_X @ np.asarray(neuron.w, np.float64)
                                                         == float(neuron.theta))),
                      "sigmoid_margin": float(signed.min()), "sigmoid_ok": bool(signed.min() > margin)}
    return rows


@functools.partial(jax.jit, static_argnames=("model", "n_inputs", "dtype"))
def collapse_check(model: MLP, key: Array, n_inputs: int = 256, dtype=jnp.float64) -> tuple[Array, Array]:
    """C7 for one identity-activation network: ``(max |deep(x) - (x W + b)|, max |deep(x)|)`` on ``n_inputs``
    inputs ``x ~ N(0, I)``, with ``params = model.init(key)`` and ``W, b`` from :func:`collapse_linear`
    (the output scale says what the difference is relative to)."""
    params = model.init(key, dtype=dtype)
    xr = jax.random.normal(key, (n_inputs, model.sizes[0]), dtype)
    W, b = collapse_linear(model, params)
    deep = model.apply(params, xr)
    return jnp.max(jnp.abs(deep - (xr @ W + b))), jnp.max(jnp.abs(deep))


@jax.jit
def _gate_outputs(scale, thetas):
    """Each gate's outputs on the four inputs: step neuron, one-layer MLP, sigmoid (``scale w``, ``scale theta``)."""
    x = jnp.asarray(XOR_X)
    out = {}
    for name, neuron in GATES.items():
        model, params = as_mlp(neuron, "step")
        out[name] = (mp_neuron(x, neuron.w, neuron.theta, "step"), model.apply(params, x)[:, 0],
                     mp_neuron(x, scale * neuron.w, scale * thetas[name], "sigmoid"))
    return out
