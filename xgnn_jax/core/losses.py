"""Loss functions, per example, with the reduction over examples named by the caller.

Shapes: network outputs (or logits) ``out: (n, k)``, targets ``y: (n, k)`` (one-hot rows for softmax cross-entropy,
0/1 entries for binary cross-entropy). Each loss returns the per-example values ``(n,)`` (optax's convention:
the caller reduces). :func:`reduce` applies the reduction: ``"mean"`` is ``(1/m) sum_k``, ``"sum"`` is ``sum_k``.
The choice changes the effective learning rate of gradient descent by the factor m (PITFALLS: say which one a run
uses), so every training run records it.

| name | per-example value ``L_k`` | input | usual reduction |
|---|---|---|---|
| ``half_sse`` | ``1/2 sum_j (y_hat_j - y_j)^2``: the book's ``E_k`` (eq. 5.4) | outputs | mean: the book's accumulated error ``E = (1/m) sum_k E_k`` (eq. 5.16) |
| ``sse`` | ``sum_j (y_hat_j - y_j)^2``: the article's numpy loss (C13) | outputs | sum: ``loss = np.square(y_pred - y).sum()`` |
| ``mse`` | ``(1/K) sum_j (y_hat_j - y_j)^2`` | outputs | mean: Keras ``mse`` / PyTorch ``MSELoss()`` (mean over all n*K entries) |
| ``softmax_cross_entropy`` | ``-sum_i y_i log softmax(z)_i`` (C9) | logits ``z`` | mean |
| ``sigmoid_binary_cross_entropy`` | ``-sum_j [y_j log s(z_j) + (1-y_j) log(1-s(z_j))]`` (C10) | logits ``z`` | mean: ``H = -(1/N) sum [...]`` |

The cross-entropies are computed from logits in their numerically stable forms
(``logsumexp`` and ``softplus(z) - z y``), so they stay finite for saturated units.

Each :class:`Loss` also carries ``grad``: the derivative of the per-example loss with respect to its input
(``dL_k/dy_hat`` for the squared errors, ``dL_k/dz`` for the cross-entropies: ``softmax(z) - y`` and
``sigmoid(z) - y``), which is where the hand-derived backward pass starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array

REDUCTIONS = ("mean", "sum")


def half_sse(y_hat: Array, y: Array) -> Array:
    """The book's ``E_k = 1/2 sum_j (y_hat_j - y_j)^2`` per example; ``(n, k), (n, k) -> (n,)``."""
    return 0.5 * jnp.sum((y_hat - y) ** 2, axis=-1)


def sse(y_hat: Array, y: Array) -> Array:
    """Sum of squares ``sum_j (y_hat_j - y_j)^2`` per example (no 1/2); ``(n, k), (n, k) -> (n,)``."""
    return jnp.sum((y_hat - y) ** 2, axis=-1)


def mse(y_hat: Array, y: Array) -> Array:
    """Mean of squares over outputs ``(1/K) sum_j (y_hat_j - y_j)^2`` per example; ``(n, K) -> (n,)``."""
    return jnp.mean((y_hat - y) ** 2, axis=-1)


def softmax_cross_entropy(logits: Array, y: Array) -> Array:
    """``-sum_i y_i log softmax(z)_i`` per example, from logits (stable via logsumexp); ``(n, k) -> (n,)``."""
    log_p = logits - jax.scipy.special.logsumexp(logits, axis=-1, keepdims=True)
    return -jnp.sum(y * log_p, axis=-1)


def sigmoid_binary_cross_entropy(logits: Array, y: Array) -> Array:
    """``-sum_j [y log s(z) + (1 - y) log(1 - s(z))]`` per example, from logits; ``(n, k) -> (n,)``.

    Stable form: ``softplus(z) - z y`` with ``softplus(z) = log(1 + e^z)`` computed as ``logaddexp(z, 0)``. The
    textbook form ``max(z, 0) - z y + log(1 + exp(-|z|))`` has the same value, but ``jax.grad`` of it at exactly
    ``z = 0`` is ``-y`` instead of ``sigmoid(0) - y = 1/2 - y`` (the kinks of max and abs), which is wrong for
    every zero-initialised network (C19-C22).
    """
    per_unit = jax.nn.softplus(logits) - logits * y
    return jnp.sum(per_unit, axis=-1)


class Loss(NamedTuple):
    """A per-example loss and its derivative with respect to its input.

    ``from_logits``: the loss takes the output layer's pre-activation ``z`` and applies ``activation`` itself
    (softmax or sigmoid); otherwise it takes the network's outputs ``y_hat``. ``activation`` is the output
    activation the loss assumes (``None``: any).
    """

    name: str
    fn: Callable[[Array, Array], Array]
    grad: Callable[[Array, Array], Array]
    from_logits: bool
    activation: str | None
    default_reduction: str


LOSSES: dict[str, Loss] = {
    "half_sse": Loss("half_sse", half_sse, lambda o, y: o - y, False, None, "mean"),
    "sse": Loss("sse", sse, lambda o, y: 2.0 * (o - y), False, None, "sum"),
    "mse": Loss("mse", mse, lambda o, y: 2.0 * (o - y) / o.shape[-1], False, None, "mean"),
    "softmax_cross_entropy": Loss(
        "softmax_cross_entropy",
        softmax_cross_entropy,
        lambda z, y: jax.nn.softmax(z, axis=-1) - y,
        True,
        "softmax",
        "mean",
    ),
    "sigmoid_binary_cross_entropy": Loss(
        "sigmoid_binary_cross_entropy",
        sigmoid_binary_cross_entropy,
        lambda z, y: jax.nn.sigmoid(z) - y,
        True,
        "sigmoid",
        "mean",
    ),
}

NAMES: tuple[str, ...] = tuple(LOSSES)


def get(name: str | Loss, *, argument: str = "loss") -> Loss:
    """Look up a loss by name; unknown names raise a ``ValueError`` listing the valid ones."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"{argument}: unknown loss {name!r}; expected one of {', '.join(NAMES)}") from None


def reduce(per_example: Array, reduction: str = "mean", *, weights: Array | None = None) -> Array:
    """Reduce per-example losses ``(n,)``: ``"mean"`` = ``(1/m) sum_k L_k``, ``"sum"`` = ``sum_k L_k``.

    ``weights`` (0/1 mask or non-negative weights, ``(n,)``) makes the mean ``sum_k w_k L_k / sum_k w_k`` (0 when
    every weight is 0): padded rows drop out.
    """
    check_reduction(reduction)
    if weights is not None:
        total = jnp.sum(weights * per_example)
        if reduction == "sum":
            return total
        sw = jnp.sum(weights)
        return jnp.where(sw > 0, total / jnp.where(sw > 0, sw, 1), 0.0)
    return jnp.mean(per_example) if reduction == "mean" else jnp.sum(per_example)


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}")


def check_targets(out_shape: tuple[int, ...], y: Array, *, argument: str = "y") -> None:
    """Raise a ``ValueError`` naming ``argument`` unless ``y`` has the network output's shape ``(n, k)``."""
    if tuple(y.shape) != tuple(out_shape):
        raise ValueError(
            f"{argument}: expected targets of shape {tuple(out_shape)} (one row per example, one column per "
            f"output unit; one-hot rows for softmax cross-entropy), got {tuple(y.shape)}"
        )
