"""Activation functions and the derivatives that the hand-derived backprop formulas use.

Every activation is a pair ``(f, df)`` of elementwise functions of the pre-activation ``z``:
``a = f(z)`` and ``df(z) = f'(z)``. The derivative is the one ``jax.grad`` computes, including at kinks:

- ``step(z) = 1[z >= 0]`` (the M-P neuron's threshold unit, C1); ``step'(z) = 0`` everywhere (autodiff's value).
- ``sign(z)`` in {-1, 0, +1}; ``sign'(z) = 0``.
- ``sigmoid(z) = 1 / (1 + exp(-z))``; ``sigmoid'(z) = s (1 - s)`` (the book's eq. 5.9 uses this form).
- ``tanh(z)``; ``tanh'(z) = 1 - tanh(z)^2``.
- ``relu(z) = max(z, 0)``; ``relu'(z) = 1[z > 0]``, so ``relu'(0) = 0``, matching ``jax.grad(jax.nn.relu)(0.)``.
- ``identity(z) = z``; derivative 1.
- ``softmax(z)_i = exp(z_i) / sum_j exp(z_j)`` over the last axis. It is not elementwise: its "derivative" here
  is the vector-Jacobian product ``softmax_vjp(z, g) = s * (g - sum(g * s))``; ``get("softmax").df`` raises.

Use :func:`get` to look an activation up by name; unknown names raise a ``ValueError`` listing the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


def step(z: Array) -> Array:
    """Heaviside step, ``1[z >= 0]`` (the book's threshold unit ``sgn``, values in {0, 1})."""
    return (z >= 0).astype(jnp.result_type(z, jnp.float32))


def sign(z: Array) -> Array:
    """Sign function with values in {-1, 0, +1} (the perceptron's output, C2)."""
    return jnp.sign(z)


def sigmoid(z: Array) -> Array:
    """Logistic function ``1 / (1 + exp(-z))``."""
    return jax.nn.sigmoid(z)


def tanh(z: Array) -> Array:
    return jnp.tanh(z)


def relu(z: Array) -> Array:
    # jax.nn.relu, not jnp.maximum(z, 0): autodiff of jnp.maximum splits the tie and gives relu'(0) = 0.5,
    # while jax.nn.relu's derivative at 0 is 0, the value d_relu (and the manual backprop) uses.
    return jax.nn.relu(z)


def identity(z: Array) -> Array:
    return z


def softmax(z: Array) -> Array:
    """Softmax over the last axis (numerically stable: shifts by the row maximum)."""
    return jax.nn.softmax(z, axis=-1)


def _zero(z: Array) -> Array:
    return jnp.zeros_like(z)


def d_sigmoid(z: Array) -> Array:
    s = jax.nn.sigmoid(z)
    return s * (1 - s)


def d_tanh(z: Array) -> Array:
    t = jnp.tanh(z)
    return 1 - t * t


def d_relu(z: Array) -> Array:
    # relu'(0) = 0: the convention of jax.grad (and of PyTorch), so manual and autodiff gradients agree exactly.
    return (z > 0).astype(z.dtype)


def d_identity(z: Array) -> Array:
    return jnp.ones_like(z)


def _softmax_df(z: Array) -> Array:
    raise ValueError(
        "softmax is not elementwise, so it has no elementwise derivative; "
        "use activations.softmax_vjp(z, g) or pair softmax with the softmax_cross_entropy loss"
    )


def softmax_vjp(z: Array, g: Array) -> Array:
    """Vector-Jacobian product of softmax: ``dL/dz = s * (g - sum_j g_j s_j)`` with ``g = dL/ds``, rows independent."""
    s = jax.nn.softmax(z, axis=-1)
    return s * (g - jnp.sum(g * s, axis=-1, keepdims=True))


class Activation(NamedTuple):
    """An activation function ``f`` with its derivative ``df`` (both elementwise functions of ``z``)."""

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array]
    elementwise: bool = True


ACTIVATIONS: dict[str, Activation] = {
    "step": Activation("step", step, _zero),
    "sign": Activation("sign", sign, _zero),
    "sigmoid": Activation("sigmoid", sigmoid, d_sigmoid),
    "tanh": Activation("tanh", tanh, d_tanh),
    "relu": Activation("relu", relu, d_relu),
    "identity": Activation("identity", identity, d_identity),
    "softmax": Activation("softmax", softmax, _softmax_df, elementwise=False),
}

NAMES: tuple[str, ...] = tuple(ACTIVATIONS)


def get(name: str, *, argument: str = "activation") -> Activation:
    """Look up an activation by name; ``argument`` names the caller's parameter in the error message."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"{argument}: unknown activation {name!r}; expected one of {', '.join(NAMES)}") from None
