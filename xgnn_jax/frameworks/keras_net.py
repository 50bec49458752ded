"""The article's Keras code (C15), run for real with Keras 3 on the JAX backend (no TensorFlow).

The article (section 5.2)::

    model = tf.keras.Sequential([
        tf.keras.layers.Dense(1000, activation='relu', input_shape=(1000,)),
        tf.keras.layers.Dense(100, activation='relu'),
        tf.keras.layers.Dense(10, activation='sigmoid')
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(), loss=tf.keras.losses.mse, metrics=['accuracy'])
    history = model.fit(x, y, batch_size=64, epochs=100, verbose=1)

:func:`build` and :func:`fit` are these lines in Keras 3, which differs in three spellings only: ``keras`` instead
of ``tf.keras``; the input width is a ``keras.Input(shape=(1000,))`` entry (Keras 3 deprecates ``input_shape=``
on a layer); ``tf.keras.losses.mse`` is ``keras.losses.mean_squared_error``. ``verbose=0`` silences the progress
bar. Set ``KERAS_BACKEND=jax`` before Keras is first imported (``scripts/_env.sh`` does; this module sets it when
it is unset).

Layouts. A ``Dense`` layer's ``kernel`` is ``(d_in, units)`` and computes ``x @ kernel + bias``: the core's ``W``
and ``b`` as they are. ``model.set_weights`` / ``get_weights`` take the flat list ``[W1, b1, W2, b2, W3, b3]``
(:func:`weights_from_core`, :func:`core_from_weights`).

What is compared. Keras's ``mse`` is the mean over the outputs, then over the batch: the core's ``mse`` loss with
the ``mean`` reduction. Keras's ``Adam()`` is not optax's ``adam``: it puts ``epsilon = 1e-7`` outside the bias
correction of the second moment, ``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``; optax divides
by ``sqrt(v / (1 - b2^t)) + eps`` with ``eps = 1e-8``. :func:`keras_adam` is Keras's rule as an optax
transformation, so the core runs the same optimizer. With 64 examples and ``batch_size=64`` an epoch is one
full-batch update (``fit`` shuffles the rows inside the batch, which changes only the order of a sum).
``history.history["loss"][e]`` is the loss of epoch e's batch *before* its update, i.e. the objective after e
updates; :func:`fit` also records the loss after each epoch from the model's own forward pass (see there why).

Precision: Keras computes in ``keras.config.floatx()``; :func:`floatx` sets it for a block (float64 needs JAX's
x64 mode, which it switches on for the block too).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import NamedTuple

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

if keras.backend.backend() != "jax":
    raise ImportError(f"xgnn_jax.frameworks.keras_net needs KERAS_BACKEND=jax, Keras runs on "
                      f"{keras.backend.backend()!r}")

UNITS = (1000, 100, 10)
ACTIVATIONS = ("relu", "relu", "sigmoid")


def build(d_in: int = 1000, units: Sequence[int] = UNITS) -> keras.Sequential:
    """The article's ``Sequential`` model and ``compile`` line (widths as arguments; the article's by default)."""
    units = tuple(units)
    if len(units) != 3 or not all(isinstance(u, int) and u > 0 for u in (d_in, *units)):
        raise ValueError(f"units: expected the widths of the three Dense layers, got d_in={d_in!r}, units={units!r}")
    model = keras.Sequential([
        keras.Input(shape=(d_in,)),
        keras.layers.Dense(units[0], activation='relu'),
        keras.layers.Dense(units[1], activation='relu'),
        keras.layers.Dense(units[2], activation='sigmoid')
    ])
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.mean_squared_error,
                  metrics=['accuracy'])
    return model


def fit(model: keras.Sequential, x: np.ndarray, y: np.ndarray, epochs: int = 100, batch_size: int = 64
        ) -> tuple[np.ndarray, np.ndarray]:
    """The article's ``fit`` line; returns ``(history_loss, loss_after)``, one entry per epoch.

    ``history_loss = history.history["loss"]``: Keras's own record, the loss of each epoch's batches before their
    updates. ``loss_after[e]``: ``mean((model(x) - y)^2)`` after epoch e, from Keras's own forward pass, reduced in
    numpy float64 (a callback). Both are kept because Keras 3's ``ops.mean`` on the JAX backend reduces in
    float32 even for float64 tensors (``jnp.mean(..., dtype=result_type(x.dtype, "float32"))``; measured: its
    float64 MSE is off by ~1e-8 relative), so the history of a float64 run carries float32 rounding while its
    weights and forward pass do not.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs <= 0:
        raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
    after = []

    def record(epoch, logs=None):
        y_pred = np.asarray(model(x, training=False), np.float64)
        after.append(float(np.mean(np.mean(np.square(y_pred - np.asarray(y, np.float64)), axis=-1))))

    callback = keras.callbacks.LambdaCallback(on_epoch_end=record)
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[callback])
    return np.asarray(history.history["loss"], np.float64), np.asarray(after, np.float64)


def weights_from_core(params: Sequence[dict]) -> list[np.ndarray]:
    """The core's ``({"W", "b"}, ...)`` as the flat list ``set_weights`` takes: ``[W1, b1, W2, b2, ...]``."""
    if not all(isinstance(p, dict) and set(p) == {"W", "b"} for p in params):
        raise ValueError("params: expected {'W', 'b'} layer dicts (Dense layers have biases)")
    return [np.asarray(layer[k]) for layer in params for k in ("W", "b")]


def core_from_weights(weights: Sequence[np.ndarray]) -> tuple[dict, ...]:
    """``get_weights()``'s flat list as the core's parameter tuple."""
    if len(weights) % 2:
        raise ValueError(f"weights: expected [W1, b1, W2, b2, ...], got {len(weights)} arrays")
    return tuple({"W": np.asarray(weights[i]), "b": np.asarray(weights[i + 1])} for i in range(0, len(weights), 2))


@contextlib.contextmanager
def floatx(dtype: str):
    """Keras's float type (and JAX's x64 mode for float64) inside the block; both restored after."""
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
    old = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        with jax.enable_x64(dtype == "float64"):
            yield
    finally:
        keras.config.set_floatx(old)


class KerasAdamState(NamedTuple):
    count: jax.Array
    m: optax.Updates
    v: optax.Updates


def keras_adam(learning_rate: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7
               ) -> optax.GradientTransformation:
    """Keras 3's ``Adam.update_step`` as an optax transformation (defaults: Keras's), for step ``t = 1, 2, ...``:

        m <- m + (g - m)(1 - beta_1),   v <- v + (g^2 - v)(1 - beta_2)
        w <- w - alpha m / (sqrt(v) + epsilon),   alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)

    computed in the order Keras computes it (so float64 runs agree to rounding). Hyperparameters may be traced.
    """

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return KerasAdamState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(grads, state, params=None):
        del params
        count = state.count + 1
        m = jax.tree.map(lambda g, m: m + (g - m) * (1 - jnp.asarray(beta_1, g.dtype)), grads, state.m)
        v = jax.tree.map(lambda g, v: v + (jnp.square(g) - v) * (1 - jnp.asarray(beta_2, g.dtype)), grads, state.v)

        def step(m, v):
            t = count.astype(m.dtype)
            b1, b2 = jnp.asarray(beta_1, m.dtype), jnp.asarray(beta_2, m.dtype)
            alpha = jnp.asarray(learning_rate, m.dtype) * jnp.sqrt(1 - b2**t) / (1 - b1**t)
            return -((m * alpha) / (jnp.sqrt(v) + jnp.asarray(epsilon, m.dtype)))

        return jax.tree.map(step, m, v), KerasAdamState(count, m, v)

    return optax.GradientTransformation(init, update)
