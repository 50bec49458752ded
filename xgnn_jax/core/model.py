"""The small protocol a network must follow to be trained by :func:`xgnn_jax.engine.train.make_run`.

A *model* is a static, hashable description (a frozen dataclass) with two pure methods on a parameter pytree:

* ``init(key, weight_scale=1.0, bias_scale=1.0, dtype=jnp.float32) -> params``: draw a starting point; the two
  scales multiply the draws (swept as arrays under ``vmap``);
* ``apply(params, x) -> y_hat``: outputs ``(n, d_out)`` for a batch ``x: (n, d_in)`` (rows are examples).

Optional members, used when present (the helpers below give the fallback):

* ``logits(params, x)`` and ``output`` (the output activation's name): for losses that take logits;
* ``check_input(x, argument=)``: a shape check with a clear message; fallback: ``x`` must be 2-D;
* ``d_out`` or ``sizes`` (``sizes[-1]`` is ``d_out``): the output width, to check the targets' shape;
* ``weights(params)`` / ``biases(params)``: the leaves an L2 penalty counts and the history's per-layer weight
  norms; fallback: params are a tuple of layer dicts ``{"W": ..., "b": ...}`` (as :class:`~xgnn_jax.core.mlp.MLP`,
  :class:`~xgnn_jax.core.shortcut.ShortcutMLP` and the Flax adapter lay them out);
* ``layer_activations`` and ``forward(params, x) -> (Zs, [A0, A1, .., AL])``: for the saturation measure
  (:func:`pinned_fraction`); without them only the outputs ``apply`` gives are measured.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

Array = jax.Array

# A unit is *pinned* when its activation lies within PIN_TOL of an asymptote of its squashing function.
PIN_TOL = 1e-3
# The asymptotes of each squashing activation (units of other activations are never pinned).
_ASYMPTOTES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


@runtime_checkable
class Model(Protocol):
    """What :func:`xgnn_jax.engine.train.make_run` needs of a network (see the module docstring)."""

    def init(self, key: Array, weight_scale: Any = 1.0, bias_scale: Any = 1.0, dtype: Any = jnp.float32) -> Any:
        ...

    def apply(self, params: Any, x: Array) -> Array:
        ...


def check_model(model: Any, *, argument: str = "model") -> None:
    """Raise a ``ValueError`` naming ``argument`` unless ``model`` has callable ``init`` and ``apply``."""
    if not isinstance(model, Model):
        raise ValueError(f"{argument}: expected a model with init(key, weight_scale, bias_scale, dtype) and "
                         f"apply(params, x) (xgnn_jax.core.model.Model), got {type(model).__name__}")


def output_size(model: Any) -> int | None:
    """``d_out``, the network's output width (None when the model does not say)."""
    if hasattr(model, "d_out"):
        return int(model.d_out)
    sizes = getattr(model, "sizes", None)
    return int(sizes[-1]) if sizes else None


def check_input(model: Any, x: Array, *, argument: str = "x") -> None:
    """The model's own input check, or: ``x`` must be a 2-D batch (rows are examples)."""
    if hasattr(model, "check_input"):
        model.check_input(x, argument=argument)
    elif x.ndim != 2:
        raise ValueError(f"{argument}: expected a batch of shape (n, d_in) (rows are examples), got {tuple(x.shape)}")


def weights(model: Any, params: Any) -> list[Array]:
    """The connection weights ``W`` of every layer (what ``sum_i w_i^2`` of an L2 penalty runs over)."""
    if hasattr(model, "weights"):
        return list(model.weights(params))
    return [layer["W"] for layer in params if "W" in layer]


def biases(model: Any, params: Any) -> list[Array]:
    """The biases ``b`` of every layer (counted by a penalty with ``include_bias=True``)."""
    if hasattr(model, "biases"):
        return list(model.biases(params))
    return [layer["b"] for layer in params if "b" in layer]


def sum_of_squares(model: Any, params: Any, *, include_bias: bool = False) -> Array:
    """``sum_i w_i^2`` over every layer's weights (and biases when ``include_bias``), layer by layer in order
    (the order matters for the last bit: ``W1, b1, W2, b2, ...`` as the engine has always summed)."""
    if not hasattr(model, "weights") and not hasattr(model, "biases"):
        keys = ("W", "b") if include_bias else ("W",)
        return sum(jnp.sum(layer[k] ** 2) for layer in params for k in keys if k in layer)
    leaves = weights(model, params) + (biases(model, params) if include_bias else [])
    return sum(jnp.sum(w ** 2) for w in leaves)


def pinned_fraction(model: Any, params: Any, x: Array) -> Array:
    """The fraction of squashing units' activations pinned near an asymptote, over the examples of ``x``.

    For every layer whose activation is ``sigmoid`` (asymptotes 0, 1) or ``tanh`` (-1, 1), a unit's activation
    ``a`` on example k is pinned when ``min_asymptote |a - c| < PIN_TOL``. Returns the count of pinned
    (example, unit) pairs over the count of all squashing (example, unit) pairs: 0 when the model has no
    squashing units. Uses ``model.forward`` and ``layer_activations`` when present (hidden layers included),
    otherwise the outputs of ``apply`` with the activation ``model.output``.
    """
    if hasattr(model, "forward") and hasattr(model, "layer_activations"):
        layers = list(zip(model.forward(params, x)[1][1:], model.layer_activations, strict=True))
    else:
        layers = [(model.apply(params, x), getattr(model, "output", None))]
    pinned, total = jnp.asarray(0.0, jnp.float32), 0
    for a, name in layers:
        if name not in _ASYMPTOTES:
            continue
        lo, hi = _ASYMPTOTES[name]
        near = (jnp.abs(a - lo) < PIN_TOL) | (jnp.abs(a - hi) < PIN_TOL)
        pinned = pinned + jnp.sum(near.astype(jnp.float32))
        total += a.size
    return pinned / total if total else jnp.asarray(0.0, jnp.float32)
