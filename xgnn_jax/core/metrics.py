"""Evaluation metrics on network outputs.

``accuracy(y_hat, y)``: for one output unit, a prediction is right when ``y_hat`` and ``y`` fall on the same side of
``threshold`` (0.5 for sigmoid/step outputs; pass 0 for sign or tanh outputs); for several output units, when the
arg-max of ``y_hat`` equals the arg-max of the one-hot ``y``. Shapes ``(n, k), (n, k) -> ()``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def correct(y_hat: Array, y: Array, threshold: float = 0.5) -> Array:
    """Per-example correctness ``(n,)`` as booleans (see module docstring); a non-finite prediction is wrong."""
    finite = jnp.all(jnp.isfinite(y_hat), axis=-1)
    if y_hat.shape[-1] == 1:
        return finite & ((y_hat[..., 0] >= threshold) == (y[..., 0] >= threshold))
    return finite & (jnp.argmax(y_hat, axis=-1) == jnp.argmax(y, axis=-1))


def accuracy(y_hat: Array, y: Array, threshold: float = 0.5, weights: Array | None = None) -> Array:
    """Fraction of examples classified correctly; ``weights`` (n,) masks padded rows."""
    c = correct(y_hat, y, threshold).astype(jnp.float32)
    if weights is None:
        return jnp.mean(c)
    sw = jnp.sum(weights)
    return jnp.where(sw > 0, jnp.sum(weights * c) / jnp.where(sw > 0, sw, 1), 0.0)
