"""Hand-derived backpropagation, written out as the chapter and the article write it, to be checked against autodiff.

Every function here returns gradients with exactly the structure ``jax.grad`` gives for the same objective (a
tuple with one ``{"W", "b"}`` dict per layer), so :mod:`xgnn_jax.grads.gradcheck` can compare them leaf by leaf.

* :func:`manual_grad` (C12): the vectorised backward pass of an L-layer network of any depth, any hidden and
  output activation, any loss of :mod:`xgnn_jax.core.losses` and either reduction. Row-major batches, ``m`` rows:

      dZ[L] = dL/dZ[L]                  (from the loss: softmax(Z) - Y, sigmoid(Z) - Y, or dL/dA[L] * g_L'(Z[L]))
      dW[l] = A[l-1]^T dZ[l] / m,   db[l] = (1/m) sum_k dZ[l]_k,   dA[l-1] = dZ[l] W[l]^T,
      dZ[l-1] = dA[l-1] * g'(Z[l-1])    (softmax layers: its vector-Jacobian product instead)

  with ``/m`` for the ``"mean"`` reduction and no factor for ``"sum"``; ``dZ`` is the derivative of the
  per-example loss ``L_k``.
* :func:`book_gradient`, :func:`book_bp_deltas`, :func:`standard_bp_step`: the book's single-hidden-layer BP in its
  own notation (thresholds ``gamma``, ``theta``; ``g_j``, ``e_h``; eqs. 5.10-5.15), per example.
* :func:`net_232_gradients` (C9): the article's 2-3-2 network (sigmoid hidden layer, softmax, cross-entropy), each
  gradient written out, and the chain through the softmax Jacobian that gives ``o - o*`` at the logits.
* :func:`numpy_two_layer_gradients` (C13): the article's numpy ReLU network with the factor 2 restored
  (``factor=ARTICLE_FACTOR`` reproduces the printed, factor-less line).
* :class:`DNN` (C14): a correct generic version of the article's ``DNN_Model`` and, through ``bug=``, each of its
  bugs as a separate variant (the "bug zoo", :data:`DNN_BUGS`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from xgnn_jax.core import activations, initializers
from xgnn_jax.core import losses as losses_lib
from xgnn_jax.core.mlp import MLP, Params, check_loss_fits

Array = jax.Array


# ============================================================================================ C12: L layers
def _backprop_activation(act: activations.Activation, z: Array, da: Array) -> Array:
    """``dZ`` from ``dA``: ``dA * g'(Z)`` for elementwise activations, the softmax VJP otherwise."""
    if act.elementwise:
        return da * act.df(z)
    return activations.softmax_vjp(z, da)


def manual_grad(model: MLP, loss: str | losses_lib.Loss = "half_sse", reduction: str | None = None):
    """The hand-derived gradient of ``mlp.objective(model, loss, reduction)`` (C12), as ``grad(params, x, y)``.

    Args:
      model: the network; any depth, hidden and output activations, with or without biases.
      loss, reduction: as in :func:`xgnn_jax.core.mlp.objective` (reduction defaults to the loss's usual one).

    Returns:
      ``grad(params, x: (m, d_0), y: (m, d_L)) -> params-shaped gradients``, the same structure as
      ``jax.grad(objective)``. Cross-entropy losses start from the logits (``dZ[L] = p - y``), the others from the
      outputs (``dZ[L] = dL/dA[L] * g_L'(Z[L])``). Bad shapes raise a ``ValueError`` naming ``x`` or ``y``.
    """
    if type(model) is not MLP:
        raise ValueError(f"model: manual_grad implements the plain MLP of xgnn_jax.core.mlp, got {type(model).__name__}")
    spec = losses_lib.get(loss)
    reduction = reduction or spec.default_reduction
    losses_lib.check_reduction(reduction)
    check_loss_fits(model, spec)
    acts = [activations.get(a) for a in model.layer_activations]

    def grad(params: Params, x: Array, y: Array) -> Params:
        zs, outs = model.forward(params, x)  # outs = [A0 = x, A1, ..., AL]
        out = zs[-1] if spec.from_logits else outs[-1]
        losses_lib.check_targets(out.shape, y)
        scale = 1.0 / x.shape[0] if reduction == "mean" else 1.0
        d = spec.grad(out, y)  # dL_k/dZ[L] (from logits) or dL_k/dA[L], per example: (m, d_L)
        grads = [None] * model.num_layers
        for l in reversed(range(model.num_layers)):
            if not (l == model.num_layers - 1 and spec.from_logits):
                d = _backprop_activation(acts[l], zs[l], d)  # dA[l] -> dZ[l]
            layer = {"W": scale * (outs[l].T @ d)}
            if "b" in params[l]:
                layer["b"] = scale * jnp.sum(d, axis=0)
            grads[l] = layer
            if l > 0:
                d = d @ params[l]["W"].T  # dA[l-1]
        return tuple(grads)

    return grad


# ============================================================================================ the book's BP
class BookNetwork(NamedTuple):
    """The book's single-hidden-layer network (its figure 5.7) in its own notation.

    ``d`` inputs ``x_i``, ``q`` hidden units ``b_h``, ``l`` outputs ``y_hat_j``, all units sigmoid ``f``:

        alpha_h = sum_i v_ih x_i,   b_h = f(alpha_h - gamma_h),
        beta_j  = sum_h w_hj b_h,   y_hat_j = f(beta_j - theta_j),   E_k = 1/2 sum_j (y_hat_j - y_j)^2  (eq. 5.4)

    Fields: ``v: (d, q)``, ``gamma: (q,)`` hidden thresholds, ``w: (q, l)``, ``theta: (l,)`` output thresholds.
    A threshold is a negated bias (C1): ``gamma = -b[1]``, ``theta = -b[2]`` of the equivalent :class:`MLP`.
    """

    v: Array
    gamma: Array
    w: Array
    theta: Array


def book_model(d: int, q: int, l: int) -> MLP:
    """The :class:`MLP` the book's network is: ``d-q-l``, sigmoid hidden and output units, biases."""
    return MLP((d, q, l), hidden="sigmoid", output="sigmoid", bias=True)


def book_from_params(params: Params) -> BookNetwork:
    """``({"W": v, "b": -gamma}, {"W": w, "b": -theta}) -> BookNetwork``."""
    if len(params) != 2 or any("b" not in p for p in params):
        raise ValueError("params: the book's network has exactly two layers with biases (thresholds)")
    return BookNetwork(params[0]["W"], -params[0]["b"], params[1]["W"], -params[1]["b"])


def book_to_params(net: BookNetwork) -> Params:
    return ({"W": net.v, "b": -net.gamma}, {"W": net.w, "b": -net.theta})


def book_forward(net: BookNetwork, x_k: Array) -> tuple[Array, Array]:
    """One example ``x_k: (d,)`` -> hidden outputs ``b: (q,)`` and outputs ``y_hat: (l,)``."""
    b = jax.nn.sigmoid(x_k @ net.v - net.gamma)
    y_hat = jax.nn.sigmoid(b @ net.w - net.theta)
    return b, y_hat


def book_bp_terms(net: BookNetwork, x_k: Array, y_k: Array) -> tuple[Array, Array, Array, Array]:
    """The book's error terms for one example: ``(b, y_hat, g, e)``.

        g_j = y_hat_j (1 - y_hat_j) (y_j - y_hat_j)          (eq. 5.10)
        e_h = b_h (1 - b_h) sum_j w_hj g_j                     (eq. 5.15)

    ``g_j = -dE_k/d(beta_j - theta_j)`` and ``e_h = -dE_k/d(alpha_h - gamma_h)``.
    """
    if x_k.shape != net.v.shape[:1]:
        raise ValueError(f"x_k: expected one example of shape {net.v.shape[:1]}, got {tuple(x_k.shape)}")
    if y_k.shape != net.w.shape[1:]:
        raise ValueError(f"y_k: expected one label vector of shape {net.w.shape[1:]}, got {tuple(y_k.shape)}")
    b, y_hat = book_forward(net, x_k)
    g = y_hat * (1 - y_hat) * (y_k - y_hat)
    e = b * (1 - b) * (net.w @ g)
    return b, y_hat, g, e


def book_bp_deltas(net: BookNetwork, x_k: Array, y_k: Array, eta: float | Array) -> BookNetwork:
    """The book's per-example increments (eqs. 5.11-5.14), learning rate ``eta``:

        Delta w_hj = eta g_j b_h,   Delta theta_j = -eta g_j,   Delta v_ih = eta e_h x_i,   Delta gamma_h = -eta e_h

    They are ``-eta dE_k/d(parameter)``: one step of gradient descent on ``E_k``.
    """
    b, _, g, e = book_bp_terms(net, x_k, y_k)
    return BookNetwork(v=eta * jnp.outer(x_k, e), gamma=-eta * e, w=eta * jnp.outer(b, g), theta=-eta * g)


def standard_bp_step(net: BookNetwork, x_k: Array, y_k: Array, eta: float | Array) -> BookNetwork:
    """One update of the book's standard BP (its figure 5.8): the parameters plus :func:`book_bp_deltas`."""
    return BookNetwork(*(p + dp for p, dp in zip(net, book_bp_deltas(net, x_k, y_k, eta), strict=True)))


def book_gradient(params: Params, x: Array, y: Array) -> Params:
    """Gradient of the accumulated error ``E = (1/m) sum_k E_k`` (eq. 5.16) from the book's ``g_j`` and ``e_h``.

    ``x: (m, d)``, ``y: (m, l)``; the result has the :class:`MLP` parameter structure (so ``dE/db = -dE/dtheta``):
    ``dE/dw_hj = -mean_k g_j b_h``, ``dE/db2_j = -mean_k g_j``, ``dE/dv_ih = -mean_k e_h x_i``,
    ``dE/db1_h = -mean_k e_h``. It equals ``jax.grad(objective(book_model(d, q, l), "half_sse", "mean"))``.
    """
    net = book_from_params(params)
    if x.ndim != 2 or x.shape[1] != net.v.shape[0]:
        raise ValueError(f"x: expected shape (m, {net.v.shape[0]}), got {tuple(x.shape)}")
    if y.shape != (x.shape[0], net.w.shape[1]):
        raise ValueError(f"y: expected shape {(x.shape[0], net.w.shape[1])}, got {tuple(y.shape)}")
    # Per-example increments with eta = 1 are -dE_k/d(parameter); average them and flip the sign.
    deltas = jax.vmap(lambda xk, yk: book_bp_deltas(net, xk, yk, 1.0))(x, y)
    mean = BookNetwork(*(jnp.mean(dp, axis=0) for dp in deltas))
    return ({"W": -mean.v, "b": mean.gamma}, {"W": -mean.w, "b": mean.theta})


# ============================================================================================ C9: 2-3-2
ARTICLE_232 = MLP((2, 3, 2), hidden="sigmoid", output="softmax", bias=True)
"""The article's section-4 network: inputs x1, x2 -> 3 sigmoid units -> 2 logits -> softmax -> cross-entropy."""


def softmax_jacobian(o: Array) -> Array:
    """``do_i/dz_k = o_i (delta_ik - o_k)`` for each row of ``o: (m, k)`` -> ``(m, k, k)``."""
    return o[:, :, None] * (jnp.eye(o.shape[-1], dtype=o.dtype) - o[:, None, :])


def net_232_gradients(params: Params, x: Array, o_star: Array) -> tuple[Params, Array, Array]:
    """The article's 2-3-2 gradients (C9), one formula per weight, averaged over the batch.

    Forward, per example: ``h_j = sigmoid(sum_i x_i W1_ij + b1_j)``, ``z_k = sum_j h_j W2_jk + b2_k``,
    ``o = softmax(z)``, ``H = -sum_k o*_k log o_k``. The chain rule, written out:

        dH/do_i  = -o*_i / o_i
        dH/dz_k  = sum_i dH/do_i o_i (delta_ik - o_k) = o_k - o*_k          (since sum_i o*_i = 1)
        dH/dW2_jk = h_j (o_k - o*_k),        dH/db2_k = o_k - o*_k
        dH/dh_j   = sum_k W2_jk (o_k - o*_k)
        dH/dW1_ij = x_i h_j (1 - h_j) dH/dh_j,   dH/db1_j = h_j (1 - h_j) dH/dh_j

    Args: ``params`` of a ``d-q-k`` sigmoid/softmax network (:data:`ARTICLE_232` is 2-3-2), ``x: (m, d)``,
    one-hot ``o_star: (m, k)``.

    Returns: ``(grads, dH_dz, dH_dz_chain)``: the gradient of ``(1/m) sum H`` in the params structure, the logit
    gradient ``o - o*`` (per example, ``(m, k)``), and the same quantity computed through the softmax Jacobian
    (equal to ``o - o*`` only when each row of ``o*`` sums to 1).
    """
    if len(params) != 2:
        raise ValueError(f"params: expected a network with one hidden layer (2 layers), got {len(params)} layers")
    W1, b1, W2, b2 = params[0]["W"], params[0]["b"], params[1]["W"], params[1]["b"]
    if x.ndim != 2 or x.shape[1] != W1.shape[0]:
        raise ValueError(f"x: expected shape (m, {W1.shape[0]}), got {tuple(x.shape)}")
    if o_star.shape != (x.shape[0], W2.shape[1]):
        raise ValueError(f"o_star: expected one-hot labels of shape {(x.shape[0], W2.shape[1])}, "
                         f"got {tuple(o_star.shape)}")
    m = x.shape[0]
    h = jax.nn.sigmoid(x @ W1 + b1)
    o = jax.nn.softmax(h @ W2 + b2, axis=-1)
    dH_do = -o_star / o
    dH_dz_chain = jnp.einsum("mi,mik->mk", dH_do, softmax_jacobian(o))
    dH_dz = o - o_star
    dW2 = jnp.einsum("mj,mk->jk", h, dH_dz) / m
    db2 = jnp.sum(dH_dz, axis=0) / m
    dH_dh = jnp.einsum("jk,mk->mj", W2, dH_dz)
    dH_da = h * (1 - h) * dH_dh  # a = x W1 + b1, the hidden pre-activation
    dW1 = jnp.einsum("mi,mj->ij", x, dH_da) / m
    db1 = jnp.sum(dH_da, axis=0) / m
    return ({"W": dW1, "b": db1}, {"W": dW2, "b": db2}), dH_dz, dH_dz_chain


# ============================================================================================ C13
C13_N, C13_D_IN, C13_H, C13_D_OUT = 64, 1000, 100, 10
C13_MODEL = MLP((C13_D_IN, C13_H, C13_D_OUT), hidden="relu", output="identity", bias=False, weight_init="normal")
"""The article's numpy network: ``h = x w1``, ``relu``, ``y_pred = h_relu w2``; loss ``sum (y_pred - y)^2``
(``objective(C13_MODEL, "sse", "sum")``); ``x, y, w1, w2 ~ randn``."""
C13_FACTOR = 2.0
ARTICLE_FACTOR = 1.0
"""The article prints ``grad_y_pred = * (y_pred-y)``: the factor 2.0 of ``d/dy_pred sum (y_pred - y)^2`` is gone;
as Python the line does not even parse, and read as ``1 * (y_pred - y)`` it halves every gradient."""


def numpy_two_layer_data(key: Array, dtype=jnp.float32) -> tuple[Array, Array]:
    """``x: (64, 1000)``, ``y: (64, 10)``, both standard normal, like the article's ``np.random.randn``."""
    kx, ky = jax.random.split(key)
    return (jax.random.normal(kx, (C13_N, C13_D_IN), dtype), jax.random.normal(ky, (C13_N, C13_D_OUT), dtype))


def numpy_two_layer_gradients(params: Params, x: Array, y: Array, factor: float = C13_FACTOR) -> Params:
    """The article's hand-written gradients of ``loss = sum (y_pred - y)^2`` (C13), line by line:

        grad_y_pred = factor * (y_pred - y)     # factor 2.0; the article's line lost it (ARTICLE_FACTOR)
        grad_w2 = h_relu^T grad_y_pred
        grad_h_relu = grad_y_pred w2^T
        grad_h = grad_h_relu, zeroed where h <= 0
        grad_w1 = x^T grad_h

    The article zeroes where ``h < 0``, i.e. takes relu'(0) = 1; this uses relu'(0) = 0 like ``jax.grad``. The two
    differ only at exact zeros of ``h``. Works for any widths; ``params = ({"W": w1}, {"W": w2})``.
    """
    if len(params) != 2:
        raise ValueError(f"params: expected the two-layer network's ({{'W': w1}}, {{'W': w2}}), got {len(params)}")
    w1, w2 = params[0]["W"], params[1]["W"]
    if x.ndim != 2 or x.shape[1] != w1.shape[0]:
        raise ValueError(f"x: expected shape (N, {w1.shape[0]}), got {tuple(x.shape)}")
    if y.shape != (x.shape[0], w2.shape[1]):
        raise ValueError(f"y: expected shape {(x.shape[0], w2.shape[1])}, got {tuple(y.shape)}")
    h = x @ w1
    h_relu = jnp.maximum(h, 0)
    y_pred = h_relu @ w2
    grad_y_pred = factor * (y_pred - y)
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h_relu = grad_y_pred @ w2.T
    grad_h = jnp.where(h > 0, grad_h_relu, 0)
    grad_w1 = x.T @ grad_h
    return ({"W": grad_w1}, {"W": grad_w2})


# ============================================================================================ C14
class Bug(NamedTuple):
    """One bug of the article's ``DNN_Model``: what the code does, and which check can see it."""

    name: str
    article_line: str
    effect: str
    caught_by: str


DNN_BUGS: dict[str, Bug] = {b.name: b for b in (
    Bug("square_out_into_y", "np.square(y_pred, y).sum() * 1/2",
        "np.square's second positional argument is `out`: the loss becomes 1/2 sum y_pred^2 and y is overwritten "
        "with y_pred^2, so the backward pass starts from y_pred - y_pred^2",
        "gradient check (and the loss value)"),
    Bug("hidden_fed_input", "h = X.dot(self.params_dict[layer_num+1][f'w_{layer_num+1}'])",
        "every hidden layer multiplies the input X instead of the previous layer's output; invisible with one hidden "
        "layer (the article's [1000, 100, 10]); with more it needs hidden widths equal to the input width, or the "
        "product fails",
        "gradient check, on a network with at least two hidden layers"),
    Bug("relu_backward_sign_mask", "grad_h[grad_h<=0] = 0; grad_h[grad_h>0] = 1",
        "the ReLU backward step replaces the gradient by the 0/1 mask of its own sign instead of multiplying it by "
        "relu'(h) = 1[h > 0]",
        "gradient check"),
    Bug("bias_wrong_shape_never_added", "np.zeros((self.input_dim, unit_num[1])); #+ b ... grad_b = grad_h",
        "the bias has shape (input_dim, units) instead of (units,), the forward pass never adds it, and its "
        "'gradient' is the per-example grad_h, not summed over examples",
        "gradient check (shape of the bias gradient; with non-zero biases also every weight gradient) and the "
        "init check (bias shape)"),
    Bug("weights_uniform_0_1", "np.random.rand(unit_num[0], unit_num[1])",
        "weights drawn from U[0, 1): all positive, mean 1/2, not scaled by the fan-in. The gradients are still "
        "right, so no gradient check can see it",
        "init-statistics check (weight mean and spread against the intended fan-in uniform init)"),
)}
"""The bugs of the article's ``DNN_Model`` (C14), each a separate variant of :class:`DNN`."""


@dataclasses.dataclass(frozen=True)
class DNN:
    """A correct, generic version of the article's ``DNN_Model`` (C14), and its bugs one at a time.

    ``layer_units`` includes the input width, as in the article (``[1000, 100, 10]``: input 1000, one hidden
    layer of 100 ReLU units, 10 linear outputs). The correct network is
    ``MLP(layer_units, hidden="relu", output="identity")`` with the article's objective
    ``E = 1/2 sum_k sum_j (y_pred_kj - y_kj)^2`` (``comput_loss``; ``half_sse`` with reduction ``"sum"``) and the
    fan-in uniform init (C24) with zero biases. ``bug`` (a name in :data:`DNN_BUGS` or ``None``) switches on
    exactly one of the article's bugs; the rest of the code stays correct, so a check that flags the variant
    flags that bug.

    The backward pass follows the article's class: it caches every layer's input ``h_relu_{l-1}`` and
    pre-activation ``h_l`` in the forward pass, and walks back from ``grad_y_pred = y_pred - y``.
    """

    layer_units: tuple[int, ...]
    bug: str | None = None

    LOSS = "half_sse"
    REDUCTION = "sum"

    def __post_init__(self):
        object.__setattr__(self, "layer_units", tuple(self.layer_units))
        if self.bug is not None and self.bug not in DNN_BUGS:
            raise ValueError(f"bug: unknown bug {self.bug!r}; expected None or one of {', '.join(DNN_BUGS)}")
        MLP(self.layer_units)  # validates the widths

    @property
    def model(self) -> MLP:
        """The network this class is meant to compute."""
        return MLP(self.layer_units, hidden="relu", output="identity", bias=True,
                   weight_init="fan_in_uniform", bias_init="zeros")

    def init(self, key: Array, dtype=jnp.float32) -> Params:
        """The class's ``init_params``: correct, or with the init bug of this variant."""
        params = self.model.init(key, dtype=dtype)
        if self.bug == "weights_uniform_0_1":
            keys = jax.random.split(key, len(params))
            params = tuple({**p, "W": initializers.uniform(0.0, 1.0)(k, p["W"].shape, *p["W"].shape, dtype)}
                           for k, p in zip(keys, params, strict=True))
        elif self.bug == "bias_wrong_shape_never_added":
            params = tuple({**p, "b": jnp.zeros((self.layer_units[0], p["W"].shape[1]), dtype)} for p in params)
        return params

    def forward(self, params: Params, x: Array) -> tuple[Array, list[Array], list[Array]]:
        """``(y_pred, hs, inputs)``: pre-activations ``h_l`` and each layer's input ``h_relu_{l-1}`` (``x`` first)."""
        self.model.check_input(x)
        L = len(params)
        a, hs, inputs = x, [], []
        for l, layer in enumerate(params):
            inputs.append(a)
            src = x if (self.bug == "hidden_fed_input" and l < L - 1) else a
            h = src @ layer["W"]
            if self.bug != "bias_wrong_shape_never_added":
                h = h + layer["b"]
            hs.append(h)
            a = jnp.maximum(h, 0) if l < L - 1 else h
        return a, hs, inputs

    def _targets(self, y_pred: Array, y: Array) -> Array:
        losses_lib.check_targets(y_pred.shape, y)
        # np.square(y_pred, y) stores y_pred^2 into y: every later use of y sees that.
        return y_pred**2 if self.bug == "square_out_into_y" else y

    def loss(self, params: Params, x: Array, y: Array) -> Array:
        """``comput_loss``: ``1/2 sum (y_pred - y)^2`` (with the ``out=`` bug: ``1/2 sum y_pred^2``)."""
        y_pred = self.forward(params, x)[0]
        if self.bug == "square_out_into_y":
            return 0.5 * jnp.sum(y_pred**2)
        return 0.5 * jnp.sum((y_pred - self._targets(y_pred, y)) ** 2)

    def grad(self, params: Params, x: Array, y: Array) -> Params:
        """The class's ``backward`` after ``comput_loss``: hand-written gradients of :meth:`loss`'s objective."""
        y_pred, hs, inputs = self.forward(params, x)
        d = y_pred - self._targets(y_pred, y)  # grad_y_pred
        grads = [None] * len(params)
        for l in reversed(range(len(params))):
            if l < len(params) - 1:  # a ReLU layer: d is grad_h_relu, make it grad_h
                if self.bug == "relu_backward_sign_mask":
                    d = (d > 0).astype(d.dtype)
                else:
                    d = d * (hs[l] > 0)
            bias_grad = d if self.bug == "bias_wrong_shape_never_added" else jnp.sum(d, axis=0)
            grads[l] = {"W": inputs[l].T @ d, "b": bias_grad}
            d = d @ params[l]["W"].T
        return tuple(grads)


# ============================================================================================ descent with a given gradient
def descend(grad_fn, loss_fn, params0: Params, x: Array, y: Array, lr: Array | float, steps: int
            ) -> tuple[Array, Params]:
    """``steps`` plain gradient steps ``p <- p - lr grad_fn(p, x, y)`` in one ``lax.scan``, full batch.

    For hand-written gradients (``numpy_two_layer_gradients``, ``DNN.grad``, ...), which the training engine
    (:func:`xgnn_jax.engine.train.make_run`, always ``jax.grad`` of the objective) does not take. Returns
    ``(losses, params)``: ``losses[t] = loss_fn(p_t, x, y)`` *before* step t, as the article's loop prints it,
    ``(steps,)``, and the final parameters.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")

    def step(p, _):
        loss = loss_fn(p, x, y)
        g = grad_fn(p, x, y)
        return jax.tree.map(lambda w, gw: w - lr * gw, p, g), loss

    params, losses = jax.lax.scan(step, params0, None, length=steps)
    return losses, params


# ============================================================================================ C10: output layers
def output_layer_checks(key: Array, n: int = 32, k: int = 5) -> dict[str, float | bool]:
    """Softmax sums, sigmoid sums, and the three logit-gradient forms against ``jax.grad`` (C10), float64.

    Logits ``z ~ N(0, 9)`` (and saturated ``N(0, 100^2)``), one-hot targets ``o*`` and 0/1 targets ``y``:
    ``max |sum softmax(z) - 1|``; the range of ``sum_j sigmoid(z_j)``; ``max |jax.grad - form|`` for softmax
    cross-entropy ``(o - o*)/N``, sigmoid binary cross-entropy ``(o - o*)/N`` and the book's sigmoid + half squared
    error ``(y_hat - y) y_hat (1 - y_hat)`` (= -g_j, eq. 5.10); and whether both losses stay finite when saturated.
    Needs x64 (``jax.enable_x64``).
    """
    return {name: float(v) if v.dtype != bool else bool(v) for name, v in _output_layer_numbers(key, n, k).items()}


@functools.partial(jax.jit, static_argnums=(1, 2))
def _output_layer_numbers(key: Array, n: int, k: int) -> dict[str, Array]:
    k1, k2, k3 = jax.random.split(key, 3)
    z = 3.0 * jax.random.normal(k1, (n, k), jnp.float64)
    z_sat = 100.0 * jax.random.normal(k1, (n, k), jnp.float64)  # saturated logits
    o_star = jax.nn.one_hot(jax.random.randint(k2, (n,), 0, k), k, dtype=jnp.float64)
    y01 = jax.random.bernoulli(k3, 0.5, (n, k)).astype(jnp.float64)
    p, p_sat, s = jax.nn.softmax(z), jax.nn.softmax(z_sat), jax.nn.sigmoid(z)

    def J(name, target):
        return lambda logits: jnp.mean(losses_lib.get(name).fn(logits, target))

    ce_err = jnp.max(jnp.abs(jax.grad(J("softmax_cross_entropy", o_star))(z) - (p - o_star) / n))
    bce_err = jnp.max(jnp.abs(jax.grad(J("sigmoid_binary_cross_entropy", y01))(z) - (s - y01) / n))
    E = lambda logits: jnp.sum(losses_lib.half_sse(jax.nn.sigmoid(logits), y01))  # noqa: E731
    sse_err = jnp.max(jnp.abs(jax.grad(E)(z) - (s - y01) * s * (1 - s)))
    finite = (jnp.all(jnp.isfinite(losses_lib.sigmoid_binary_cross_entropy(z_sat, y01)))
              & jnp.all(jnp.isfinite(losses_lib.softmax_cross_entropy(z_sat, o_star))))
    sig_sums = jnp.sum(s, axis=-1)
    return {"softmax_sum_err": jnp.max(jnp.abs(jnp.sum(p, -1) - 1)),
            "softmax_sum_err_saturated": jnp.max(jnp.abs(jnp.sum(p_sat, -1) - 1)),
            "sigmoid_sum_min": sig_sums.min(), "sigmoid_sum_max": sig_sums.max(),
            "ce_grad_err": ce_err, "bce_grad_err": bce_err, "half_sse_sigmoid_grad_err": sse_err,
            "losses_finite_saturated": finite}
