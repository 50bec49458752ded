"""The article's numpy networks, as numpy code (C13, C14): its two-layer loop and its generic ``DNN_Model`` class
with the bugs fixed. They are the reference implementations the JAX core is compared with (studies
``seed_numpy_net`` and ``framework_equivalence``); the JAX versions of the same gradients, and each bug of the
class as a separate variant (the bug zoo), are in :mod:`xgnn_jax.grads.backprop` (``numpy_two_layer_gradients``,
``DNN``, ``DNN_BUGS``).

* :func:`numpy_two_layer_loop` (C13): ``N, D_in, H, D_out = 64, 1000, 100, 10``; ``h = x w1``,
  ``h_relu = max(h, 0)``, ``y_pred = h_relu w2``; ``loss = sum (y_pred - y)^2`` printed *before* each update;
  ``w <- w - lr grad`` with the article's hand-written gradients, ``grad_y_pred = factor * (y_pred - y)``
  (``factor=2.0`` restores the factor the printed line ``grad_y_pred = * (y_pred-y)`` lost).
* :class:`DNNModel` (C14): the article's class with its structure kept (``params_dict`` / ``gradient_dict`` keyed by
  layer, cached ``h_relu_{l}``, ``comput_loss``, ``backward``, ``update_gradient``) and its bugs fixed:
  ``np.square(y_pred - y)`` instead of ``np.square(y_pred, y)`` (which writes into ``y``); each layer fed the previous
  layer's output; ``grad_h = grad_h_relu * 1[h > 0]`` instead of the 0/1 sign mask; biases of shape ``(units,)``,
  added in the forward pass, with gradient ``sum_k grad_h_k``; weights fan-in uniform ``U(+-1/sqrt(d_in))``
  instead of ``U[0, 1)``. The objective is the article's ``E = 1/2 sum_k sum_j (y_pred - y)^2`` and the update
  ``w <- w - alpha dE/dw``.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections import defaultdict
from collections.abc import Sequence

import numpy as np


@contextlib.contextmanager
def single_threaded_blas():
    """Run numpy's OpenBLAS on one thread inside the block (restored after; a no-op if the library is not found).

    On a shared 2-core machine OpenBLAS's thread pool made a (64, 1000) x (1000, 100) product about 40x slower
    than one thread (measured 29 ms vs 0.7 ms under load).
    """
    lib = None
    for path in glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
            get, put = lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
            break
        except (OSError, AttributeError):
            lib = None
    if lib is None:
        yield
        return
    old = get()
    put(1)
    try:
        yield
    finally:
        put(old)


def numpy_two_layer_loop(x: np.ndarray, y: np.ndarray, w1: np.ndarray, w2: np.ndarray, lr: float = 1e-6,
                         steps: int = 500, factor: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The article's numpy loop (C13) with ``grad_y_pred = factor * (y_pred - y)``; returns ``(losses, w1, w2)``.

    ``losses[t]`` is the loss printed at step t, before that step's update (``(steps,)`` in ``x``'s dtype). The
    weights are copied, not changed. The article zeroes ``grad_h`` where ``h < 0`` (relu'(0) = 1).
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    w1, w2 = np.array(w1, copy=True), np.array(w2, copy=True)
    losses = np.empty(steps, dtype=x.dtype)
    for t in range(steps):
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        losses[t] = np.square(y_pred - y).sum()
        grad_y_pred = factor * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h_relu = grad_y_pred.dot(w2.T)
        grad_h = grad_h_relu.copy()
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return losses, w1, w2


class DNNModel:
    """The article's ``DNN_Model`` with its bugs fixed (see the module docstring); numpy, any dtype.

    ``layer_units`` includes the input width (the article: ``[1000, 100, 10]``). ReLU hidden layers, a linear
    output layer. ``rng`` draws the initial weights; :meth:`load_params` replaces them by the core's
    ``({"W": (d_in, d_out), "b": (d_out,)}, ...)`` (same layout, copied).
    """

    def __init__(self, input_dim, layer_units=(1000, 100, 10), alpha=0.001, rng=None, dtype=np.float64):
        if list(layer_units)[0] != input_dim:
            raise ValueError(f"layer_units: expected the input width {input_dim} first, got {list(layer_units)}")
        self.input_dim = input_dim
        self.layer_units = list(layer_units)
        self.layer_nums = len(layer_units)
        self.alpha = alpha
        self.dtype = dtype
        self.params_dict = defaultdict(dict)
        self.gradient_dict = defaultdict(dict)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.init_params()

    def init_params(self):
        self.neighbors = list(zip(self.layer_units[:-1], self.layer_units[1:], strict=True))
        for layer_num, unit_num in enumerate(self.neighbors):
            bound = 1 / np.sqrt(unit_num[0])  # fixed: fan-in uniform, not np.random.rand (U[0, 1))
            self.params_dict[layer_num + 1][f'w_{layer_num + 1}'] = self.rng.uniform(
                -bound, bound, (unit_num[0], unit_num[1])).astype(self.dtype)
            # fixed: one bias per unit, not (input_dim, units)
            self.params_dict[layer_num + 1][f'b_{layer_num + 1}'] = np.zeros(unit_num[1], self.dtype)

    def load_params(self, params: Sequence[dict]) -> DNNModel:
        if len(params) != len(self.neighbors):
            raise ValueError(f"params: expected {len(self.neighbors)} layers, got {len(params)}")
        for l, layer in enumerate(params, start=1):
            for k, core_key in (("w", "W"), ("b", "b")):
                old = self.params_dict[l][f'{k}_{l}']
                new = np.array(layer[core_key], dtype=self.dtype)
                if new.shape != old.shape:
                    raise ValueError(f"params[{l - 1}][{core_key!r}]: expected shape {old.shape}, got {new.shape}")
                self.params_dict[l][f'{k}_{l}'] = new
        return self

    def core_params(self) -> tuple[dict, ...]:
        return tuple({"W": self.params_dict[l][f'w_{l}'].copy(), "b": self.params_dict[l][f'b_{l}'].copy()}
                     for l in range(1, self.layer_nums))

    def forward(self, X):
        self.params_dict[1]['h_relu_0'] = X
        for layer_num in range(self.layer_nums - 1):
            # fixed: each layer takes the previous layer's output (the article fed X to every hidden layer)
            a = self.params_dict[layer_num + 1][f'h_relu_{layer_num}']
            h = a.dot(self.params_dict[layer_num + 1][f'w_{layer_num + 1}']) \
                + self.params_dict[layer_num + 1][f'b_{layer_num + 1}']  # fixed: the bias is added
            self.params_dict[layer_num + 1][f'h_{layer_num + 1}'] = h
            if layer_num < self.layer_nums - 2:
                self.params_dict[layer_num + 2][f'h_relu_{layer_num + 1}'] = np.maximum(h, 0)
            else:
                y_pred = h
        return y_pred

    def comput_loss(self, y_pred, y):
        return np.square(y_pred - y).sum() * 1 / 2  # fixed: np.square(y_pred, y) wrote y_pred^2 into y

    def backward(self, y_pred, y):
        grad = y_pred - y  # dE/dh of the output layer (linear)
        for layer_num in range(self.layer_nums - 1, 0, -1):
            if layer_num < self.layer_nums - 1:
                # fixed: multiply by relu'(h) = 1[h > 0] (the article replaced the gradient by its sign mask)
                grad = grad * (self.params_dict[layer_num][f'h_{layer_num}'] > 0)
            grad_w = self.params_dict[layer_num][f'h_relu_{layer_num - 1}'].T.dot(grad)
            self.gradient_dict[layer_num][f'grad_w_{layer_num}'] = grad_w
            self.gradient_dict[layer_num][f'grad_b_{layer_num}'] = grad.sum(axis=0)  # fixed: summed over examples
            grad = grad.dot(self.params_dict[layer_num][f'w_{layer_num}'].T)  # grad of h_relu_{layer_num - 1}

    def update_gradient(self):
        for layer_num in range(self.layer_nums - 1):
            for k in ("w", "b"):
                self.params_dict[layer_num + 1][f'{k}_{layer_num + 1}'] -= \
                    self.alpha * self.gradient_dict[layer_num + 1][f'grad_{k}_{layer_num + 1}']

    def train(self, X, y, epochs: int) -> np.ndarray:
        """``epochs`` full-batch steps; the loss before each step and after the last, ``(epochs + 1,)``."""
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs <= 0:
            raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
        losses = []
        for _ in range(epochs):
            y_pred = self.forward(X)
            losses.append(self.comput_loss(y_pred, y))
            self.backward(y_pred, y)
            self.update_gradient()
        losses.append(self.comput_loss(self.forward(X), y))
        return np.asarray(losses, np.float64)
