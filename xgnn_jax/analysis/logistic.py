"""Logistic regression's exact optimum: Newton's method on the mean binary cross-entropy, in float64 (numpy).

For inputs ``x: (m, d)``, labels ``y: (m,)`` in {0, 1} and ``X = [x, 1]`` (the bias last), the objective is

    L(w) = (1/m) sum_k [log(1 + exp(z_k)) - y_k z_k],   z = X w,

with gradient ``g = X^T (p - y) / m`` and Hessian ``H = X^T diag(p (1 - p)) X / m`` (``p = sigmoid(z)``). ``L`` is
convex; on data that are not linearly separable its minimiser is finite and Newton's step ``w <- w - H^{-1} g``
converges quadratically from ``w = 0``. On separable data there is no finite minimiser (``H`` becomes singular as
``|w|`` grows), so the result is reported as not converged instead of returned silently.

A reference for gradient-descent runs (e.g. the zero_init study's C22: does logistic regression from all zeros
reach the same optimum as random starts?).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class NewtonResult(NamedTuple):
    """``w``: ``(d + 1,)`` weights with the bias last; ``loss``: ``L(w)``; ``grad_norm``: ``|g(w)|``; ``iters``:
    Newton steps taken; ``converged``: the last Newton step was below ``tol (1 + |w|)``."""

    w: np.ndarray
    loss: float
    grad_norm: float
    iters: int
    converged: bool


def mean_bce(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """``(1/m) sum_k [log(1 + exp(z_k)) - y_k z_k]`` with ``z = X w`` (``X`` already has its column of ones)."""
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - z * y))


def newton_logistic(x, y, *, iters: int = 50, tol: float = 1e-10) -> NewtonResult:
    """The minimiser of logistic regression's mean binary cross-entropy by Newton's method in float64.

    ``x``: ``(m, d)`` inputs; ``y``: ``(m,)`` or ``(m, 1)`` labels in {0, 1}. Stops when a step is <= ``tol (1 + |w|)`` or after
    ``iters`` steps. Raises ValueError (naming the argument) on bad shapes, non-finite values or labels outside
    {0, 1}.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected a non-empty (m, d) array of inputs, got shape {x.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (x.shape[0],):
        raise ValueError(f"y: expected ({x.shape[0]},) labels (one per row of x), got shape {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isin(y, (0.0, 1.0)))):
        raise ValueError("x, y: expected finite inputs and labels in {0, 1}")
    if not (isinstance(iters, int) and iters >= 1):
        raise ValueError(f"iters: expected an int >= 1, got {iters!r}")
    X = np.c_[x, np.ones(len(x))]
    m = len(X)
    w = np.zeros(X.shape[1])
    converged, done = False, 0
    while done < iters:
        done += 1
        p = 1.0 / (1.0 + np.exp(-X @ w))
        try:
            step = np.linalg.solve((X.T * (p * (1 - p))) @ X / m, X.T @ (p - y) / m)
        except np.linalg.LinAlgError:  # a singular Hessian: separable data, the weights run off to infinity
            break
        w = w - step
        # Converged once Newton's step is negligible; on separable data the steps stay of order 1 (|w| grows
        # like log of the iteration count) while the gradient vanishes, so a small gradient alone would not do.
        if np.linalg.norm(step) <= tol * (1.0 + np.linalg.norm(w)):
            converged = True
            break
    p = 1.0 / (1.0 + np.exp(-X @ w))
    return NewtonResult(w, mean_bce(X, y, w), float(np.linalg.norm(X.T @ (p - y) / m)), done, converged)
