"""The perceptron (C2-C5): model, loss, primal and dual learning algorithms, Novikoff's bound, and a proof of
non-separability when the algorithm cycles.

Labels are ``y in {-1, +1}``, inputs ``x: (n, d)`` (rows are examples). The model is ``f(x) = sign(w.x + b)`` (C2).
The book's M-P neuron ``y = f(sum_i w_i x_i - theta)`` is the same unit with ``b = -theta``.

**Loss** (C2). With the misclassified set ``M = {i : y_i (w.x_i + b) <= 0}`` (the rule the algorithm uses),

    L(w, b) = -sum_{i in M} y_i (w.x_i + b)  >= 0.

``L = 0`` whenever no point lies *strictly* on the wrong side; a point *on* the hyperplane is in ``M`` (the
algorithm updates on it) but adds 0 to ``L``. So "``L = 0`` exactly when nothing is misclassified" holds with
"misclassified" meaning strictly on the wrong side; at ``w = 0, b = 0`` every point is in ``M`` and ``L = 0``.

**Primal algorithm** (C3). While some point is in ``M``, choose one and update it. Three choice rules:
``"random"`` (uniformly among ``M``), ``"cyclic"`` (the next point of ``M`` in data order after the previous
choice, wrapping around: passes over the data) and ``"first"`` (the textbook rule of Li Hang's examples 2.1 and
2.2: always the first point of ``M`` in data order, the scan restarting from point 1 after every update):

    w <- w + eta y_i x_i,    b <- b + eta y_i,

which raises that point's functional margin ``y_i (w.x_i + b)`` by exactly ``eta (|x_i|^2 + 1)``.

**Dual algorithm.** Start from ``w = 0, b = 0`` and keep ``alpha_i`` = eta times the number of updates on point
``i``; then ``w = sum_j alpha_j y_j x_j``, ``b = sum_j alpha_j y_j`` and the margins need only the Gram matrix
``G = x x^T``: ``y_i (sum_j alpha_j y_j G_ji + b)``. Given the same key and choice rule it picks the same points
as the primal algorithm started from zero.

**Novikoff** (C4). Augment ``X_i = (x_i, 1)``, ``W = (w, b)``. If a unit vector ``W_opt`` has
``y_i W_opt.X_i >= gamma > 0`` for all ``i`` and ``R = max_i |X_i|``, the algorithm started from ``W = 0`` (any
``eta > 0``) makes at most ``(R / gamma)^2`` updates: ``W_k.W_opt >= k eta gamma`` and ``|W_k|^2 <= k eta^2 R^2``.
Any separator gives a valid bound; the smallest comes from the data's best margin ``gamma* = max_{|W|=1} min_i
y_i W.X_i``, the hard-margin separator of the augmented vectors (:func:`max_margin`, an exact least-distance
problem solved by non-negative least squares), so ``updates / (R / gamma*)^2`` measures how tight the bound is.

**Cycling** (C5). If the state ``W`` after update ``t`` equals the state after an earlier update ``s``, the
updates in between sum to zero: ``eta sum_{k=s+1}^{t} y_{i_k} X_{i_k} = 0``, a positive combination of the
vectors ``y_i X_i`` that vanishes. No ``W`` can then have ``W.(y_i X_i) > 0`` for all ``i`` (Gordan's theorem),
so the data are *not linearly separable*: the run stops with that proof. The proof needs exact arithmetic:
it is exact for data, initial values and ``eta`` that are small dyadic rationals (XOR's 0/1 inputs with
``eta = 1``). On general real data a recurrence is not detected and the run ends at the cap, undecided.

Everything is jit-compiled with ``lax.while_loop``; vmap over data sets, keys, ``eta`` and initial values works
(a vmapped while loop runs until every member has stopped; members that stopped keep their state).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

CHOICES = ("random", "cyclic", "first")

# Status codes of a run.
CONVERGED, NOT_SEPARABLE, UNDECIDED = 0, 1, 2
STATUS_NAMES = {CONVERGED: "converged", NOT_SEPARABLE: "not separable", UNDECIDED: "undecided (cap reached)"}


class PerceptronResult(NamedTuple):
    """What one perceptron run returns (under vmap every leaf gains leading axes).

    ``w: (d,)``, ``b: ()``: the final hyperplane. ``num_updates``: how many updates were made. ``chosen:
    (max_updates,)``: the index of the point used by each update, ``-1`` after the last. ``converged``: no
    point is misclassified (``y_i (w.x_i + b) > 0`` for all ``i``). ``not_separable``: a state repeated, which
    proves the data are not linearly separable; then ``cycle_start`` is the update count ``s`` at which the
    repeated state was first reached and ``cycle_length = num_updates - s`` (both ``-1`` otherwise).
    ``status``: ``CONVERGED``, ``NOT_SEPARABLE`` or ``UNDECIDED`` (the cap was reached first).
    ``alpha: (n,)``: eta times the number of updates on each point (the dual variables). ``gram: (n, n)``: the Gram
    matrix ``G = x x^T`` the dual form works with (``None`` from the primal form, which never forms it).
    """

    w: Array
    b: Array
    num_updates: Array
    chosen: Array
    converged: Array
    not_separable: Array
    cycle_start: Array
    cycle_length: Array
    status: Array
    alpha: Array
    gram: Array | None = None


# ---------------------------------------------------------------------------------------------- model and loss
def predict(w: Array, b: Array, x: Array) -> Array:
    """``sign(w.x + b)`` per row, ``(n, d) -> (n,)``, with ``sign(0) = +1`` (a point on the plane counts as +1)."""
    return jnp.where(x @ w + b >= 0, 1.0, -1.0).astype(x.dtype)


def functional_margins(w: Array, b: Array, x: Array, y: Array) -> Array:
    """``y_i (w.x_i + b)``, ``(n,)``. Positive: correctly classified; ``<= 0``: in the misclassified set M."""
    return y * (x @ w + b)


def misclassified(w: Array, b: Array, x: Array, y: Array) -> Array:
    """The set M as a boolean mask ``(n,)``: ``y_i (w.x_i + b) <= 0`` (points on the hyperplane included)."""
    return functional_margins(w, b, x, y) <= 0


def loss(w: Array, b: Array, x: Array, y: Array) -> Array:
    """The perceptron loss ``L(w, b) = -sum_{i in M} y_i (w.x_i + b) >= 0`` (C2)."""
    m = functional_margins(w, b, x, y)
    return -jnp.sum(jnp.where(m <= 0, m, 0.0))


def update(w: Array, b: Array, x_i: Array, y_i: Array, eta: Array | float = 1.0) -> tuple[Array, Array]:
    """One perceptron step on point ``(x_i, y_i)``: ``w + eta y_i x_i``, ``b + eta y_i`` (C3)."""
    return w + eta * y_i * x_i, b + eta * y_i


def replay(x: Array, y: Array, chosen: Array, eta: Array | float = 1.0, w0: Array | None = None,
           b0: Array | float = 0.0) -> tuple[Array, Array]:
    """Re-apply a recorded sequence of updates: the states ``(w_k, b_k)`` after each of ``chosen``'s entries.

    Entries ``-1`` (past the last update) leave the state unchanged. Shapes: ``(T, d)`` and ``(T,)``.
    """
    w0 = jnp.zeros(x.shape[1], x.dtype) if w0 is None else jnp.asarray(w0, x.dtype)

    def step(state, i):
        w, b = state
        w_new, b_new = update(w, b, x[i], y[i], eta)
        state = (jnp.where(i >= 0, w_new, w), jnp.where(i >= 0, b_new, b))
        return state, state

    _, (ws, bs) = jax.lax.scan(step, (w0, jnp.asarray(b0, x.dtype)), chosen)
    return ws, bs


# ---------------------------------------------------------------------------------------------- checks
def _is_concrete(a) -> bool:
    return not isinstance(a, jax.core.Tracer)


def check_data(x: Array, y: Array) -> None:
    """Raise a ``ValueError`` unless ``x: (n, d)`` and ``y: (n,)`` with entries in {-1, +1}."""
    if getattr(x, "ndim", None) != 2:
        raise ValueError(f"x: expected inputs of shape (n, d), rows are examples; got shape {np.shape(x)}")
    if getattr(y, "ndim", None) != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y: expected labels of shape ({x.shape[0]},) to match x; got shape {np.shape(y)}")
    if x.shape[0] == 0:
        raise ValueError("x: expected at least one example")
    if _is_concrete(y) and not bool(np.all(np.isin(np.asarray(y), (-1, 1)))):
        raise ValueError(f"y: perceptron labels must be -1 or +1; got values {np.unique(np.asarray(y))}")


def _check_options(choice: str, max_epochs: int) -> None:
    if choice not in CHOICES:
        raise ValueError(f"choice: expected one of {', '.join(CHOICES)}, got {choice!r}")
    if not isinstance(max_epochs, (int, np.integer)) or isinstance(max_epochs, bool) or max_epochs <= 0:
        raise ValueError(f"max_epochs: expected a positive int, got {max_epochs!r}")


def labels_pm1(y01: Array) -> Array:
    """0/1 labels (or one-column targets ``(n, 1)``) as perceptron labels in {-1, +1}, ``(n,)``."""
    y01 = jnp.asarray(y01).reshape(-1)
    return jnp.where(y01 > 0.5, 1.0, -1.0)


# ---------------------------------------------------------------------------------------------- the loop
def _choose(mis: Array, key: Array, t: Array, pointer: Array, choice: str) -> Array:
    """The index of the point to update on: random among M, the first in M at or after ``pointer`` (cyclic), or
    the first in M (first)."""
    n = mis.shape[0]
    if choice == "random":
        return jax.random.categorical(jax.random.fold_in(key, t), jnp.where(mis, 0.0, -jnp.inf)).astype(jnp.int32)
    if choice == "first":
        return jnp.argmax(mis).astype(jnp.int32)  # the first True; the loop runs only while M is not empty
    offset = (jnp.arange(n) - pointer) % n
    return jnp.argmin(jnp.where(mis, offset, n)).astype(jnp.int32)


def _run(margins_fn, apply_update, state_vector, same_state, state0, n: int, key: Array, choice: str,
         max_updates: int, detect_cycles: bool):
    """Shared loop of the primal and dual forms.

    ``margins_fn(state) -> (n,)``; ``apply_update(state, i) -> state``; ``state_vector(state) -> (k,)`` is what the
    history stores; ``same_state(history, vec) -> (H,) bool`` marks rows equal to ``vec`` as a state.
    """
    vec0 = state_vector(state0)
    hist_len = max_updates + 1 if detect_cycles else 1
    history = jnp.zeros((hist_len, vec0.shape[0]), vec0.dtype).at[0].set(vec0)
    chosen = jnp.full((max_updates,), -1, jnp.int32)

    def cond(c):
        state, t, _, _, cycle_start = c[0], c[1], c[2], c[3], c[5]
        return jnp.any(margins_fn(state) <= 0) & (t < max_updates) & (cycle_start < 0)

    def body(c):
        state, t, pointer, chosen, history, cycle_start = c
        i = _choose(margins_fn(state) <= 0, key, t, pointer, choice)
        state = apply_update(state, i)
        chosen = chosen.at[t].set(i)
        if detect_cycles:
            vec = state_vector(state)
            earlier = same_state(history, vec) & (jnp.arange(hist_len) <= t)
            cycle_start = jnp.where(jnp.any(earlier), jnp.argmax(earlier).astype(jnp.int32), cycle_start)
            history = history.at[t + 1].set(vec)
        return state, t + 1, (i + 1) % n, chosen, history, cycle_start

    c0 = (state0, jnp.int32(0), jnp.int32(0), chosen, history, jnp.int32(-1))
    state, t, _, chosen, _, cycle_start = jax.lax.while_loop(cond, body, c0)
    converged = jnp.all(margins_fn(state) > 0)
    not_separable = cycle_start >= 0
    status = jnp.where(converged, CONVERGED, jnp.where(not_separable, NOT_SEPARABLE, UNDECIDED)).astype(jnp.int32)
    cycle_length = jnp.where(not_separable, t - cycle_start, -1).astype(jnp.int32)
    return state, t, chosen, converged, not_separable, cycle_start, cycle_length, status


@functools.partial(jax.jit, static_argnames=("choice", "max_epochs", "detect_cycles"))
def _perceptron(x, y, key, eta, w0, b0, choice, max_epochs, detect_cycles):
    n = x.shape[0]
    dtype = x.dtype

    def margins_fn(state):
        w, b, _ = state
        return functional_margins(w, b, x, y)

    def apply_update(state, i):
        w, b, alpha = state
        w, b = update(w, b, x[i], y[i], eta)
        return w, b, alpha.at[i].add(eta)

    def state_vector(state):
        return jnp.concatenate([state[0], state[1][None]])

    def same_state(history, vec):
        return jnp.all(history == vec, axis=1)

    state0 = (w0.astype(dtype), b0.astype(dtype), jnp.zeros(n, dtype))
    (w, b, alpha), t, chosen, conv, nonsep, cs, cl, status = _run(
        margins_fn, apply_update, state_vector, same_state, state0, n, key, choice, max_epochs * n, detect_cycles)
    return PerceptronResult(w, b, t, chosen, conv, nonsep, cs, cl, status, alpha)



def _prepare(x, y, key, eta, choice, max_epochs):
    """Checked inputs of both forms: float ``x``, ``y`` in x's dtype, a key (default ``key(0)``)."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    y = jnp.asarray(y)
    check_data(x, y)
    _check_options(choice, max_epochs)
    if _is_concrete(eta) and not float(np.min(np.asarray(eta))) > 0:
        raise ValueError(f"eta: expected a learning rate > 0, got {eta!r}")
    return x, y.astype(x.dtype), jax.random.key(0) if key is None else key

def perceptron(x: Array, y: Array, key: Array | None = None, *, eta: Array | float = 1.0,
               w0: Array | None = None, b0: Array | float = 0.0, choice: str = "random", max_epochs: int = 100,
               detect_cycles: bool = True) -> PerceptronResult:
    """Rosenblatt's perceptron learning algorithm, primal form (C3), as one jit-compiled ``lax.while_loop``.

    Args:
      x: inputs ``(n, d)``; y: labels ``(n,)`` in {-1, +1}.
      key: PRNG key for ``choice="random"`` (ignored by ``"cyclic"``; ``None`` means ``jax.random.key(0)``).
      eta: learning rate ``> 0`` (an array: sweep it under vmap).
      w0, b0: initial hyperplane (default zero; Novikoff's bound assumes zero).
      choice: ``"random"``: a point drawn uniformly from the misclassified set M at every update; ``"cyclic"``:
        go through the data in order, wrapping around, and update on each misclassified point met; ``"first"``:
        always the first misclassified point in data order (the textbook rule, the scan restarting at point 1).
      max_epochs: cap on the run, ``max_epochs * n`` updates (one epoch = n update opportunities).
      detect_cycles: stop with a proof of non-separability when a state repeats (costs ``O(max_updates)`` per
        update; turn off for long runs on data known to be separable).

    Returns:
      a :class:`PerceptronResult`.
    """
    x, y, key = _prepare(x, y, key, eta, choice, max_epochs)
    w0 = jnp.zeros(x.shape[1], x.dtype) if w0 is None else jnp.asarray(w0, x.dtype)
    if w0.shape != (x.shape[1],):
        raise ValueError(f"w0: expected shape ({x.shape[1]},) like a row of x, got {tuple(w0.shape)}")
    return _perceptron(x, y, key, jnp.asarray(eta, x.dtype), w0, jnp.asarray(b0, x.dtype),
                       choice, int(max_epochs), bool(detect_cycles))


@functools.partial(jax.jit, static_argnames=("choice", "max_epochs", "detect_cycles"))
def _perceptron_dual(x, y, key, eta, choice, max_epochs, detect_cycles):
    n = x.shape[0]
    gram = x @ x.T
    # The augmented Gram matrix X_i.X_j = x_i.x_j + 1 measures distances between states (w, b).
    gram_aug = gram + 1.0

    def margins_fn(alpha):
        ay = alpha * y
        return y * (gram @ ay + jnp.sum(ay))

    def apply_update(alpha, i):
        return alpha.at[i].add(eta)

    def same_state(history, alpha):
        d = (history - alpha) * y  # (H, n): differences of the coefficients of the states W = sum alpha_j y_j X_j
        return jnp.einsum("hi,ij,hj->h", d, gram_aug, d) == 0

    alpha, t, chosen, conv, nonsep, cs, cl, status = _run(
        margins_fn, apply_update, lambda a: a, same_state, jnp.zeros(n, x.dtype), n, key, choice, max_epochs * n,
        detect_cycles)
    ay = alpha * y
    return PerceptronResult(ay @ x, jnp.sum(ay), t, chosen, conv, nonsep, cs, cl, status, alpha, gram)


def perceptron_dual(x: Array, y: Array, key: Array | None = None, *, eta: Array | float = 1.0,
                    choice: str = "random", max_epochs: int = 100, detect_cycles: bool = True) -> PerceptronResult:
    """The dual (Gram matrix) form of the perceptron, started from ``w = 0, b = 0``.

    The state is ``alpha: (n,)``; only ``G = x x^T`` enters the margins (see the module docstring). Two states are
    the same hyperplane when ``(alpha - alpha')`` weighted by ``y`` has zero norm under the augmented Gram matrix
    ``G + 1``. Arguments and result as :func:`perceptron` (the final ``w, b`` are recovered from ``alpha``); the
    result's ``gram`` is ``G``, ``(n, n)``.
    """
    x, y, key = _prepare(x, y, key, eta, choice, max_epochs)
    return _perceptron_dual(x, y, key, jnp.asarray(eta, x.dtype), choice, int(max_epochs),
                            bool(detect_cycles))


def describe(result: PerceptronResult) -> str:
    """A one-line account of one (unbatched) run's outcome."""
    status = int(result.status)
    k = int(result.num_updates)
    if status == CONVERGED:
        return f"converged after {k} updates: every point is strictly on its side of w.x + b = 0"
    if status == NOT_SEPARABLE:
        s, length = int(result.cycle_start), int(result.cycle_length)
        return (f"not linearly separable: the state after update {k} equals the state after update {s}, so the "
                f"{length} updates in between add up to zero, a positive combination of the points y_i (x_i, 1) "
                f"that vanishes (no hyperplane can separate them)")
    return f"undecided: stopped at the cap of {k} updates with points still misclassified"


# ---------------------------------------------------------------------------------------------- Novikoff
class NovikoffBound(NamedTuple):
    """``R = max_i |(x_i, 1)|``, ``gamma = min_i y_i W.(x_i, 1)`` for the unit augmented vector ``W = (w, b)/|(w, b)|``,
    and ``bound = (R / gamma)^2`` (``inf`` when ``gamma <= 0``: ``(w, b)`` does not separate the data)."""

    R: Array
    gamma: Array
    bound: Array


def augment(x: Array) -> Array:
    """``X_i = (x_i, 1)``: ``(n, d) -> (n, d + 1)``."""
    return jnp.concatenate([x, jnp.ones((*x.shape[:-1], 1), x.dtype)], axis=-1)


def novikoff_bound(x: Array, y: Array, w: Array, b: Array | float) -> NovikoffBound:
    """Novikoff's bound ``(R / gamma)^2`` on the number of updates from zero, for the separator ``(w, b)``.

    The margin is measured on the augmented vectors: ``gamma = min_i y_i (w.x_i + b) / |(w, b)|``. Any separator
    gives a valid bound; the maximum-margin one gives the smallest.
    """
    X = augment(x)
    W = jnp.concatenate([w, jnp.reshape(jnp.asarray(b, w.dtype), (1,))])
    W = W / jnp.linalg.norm(W)
    R = jnp.max(jnp.linalg.norm(X, axis=-1))
    gamma = jnp.min(y * (X @ W))
    bound = jnp.where(gamma > 0, (R / gamma) ** 2, jnp.inf)
    return NovikoffBound(R, gamma, bound)


class MaxMargin(NamedTuple):
    """The data's best separator on augmented vectors: ``w: (d,)``, ``b: ()`` with ``|(w, b)| = 1``, its margin
    ``gamma = min_i y_i (w.x_i + b) > 0`` (the largest any unit ``(w, b)`` reaches), and ``support: (n,)`` bool,
    the points whose margin equals ``gamma`` (up to ``1e-9`` relative)."""

    w: np.ndarray
    b: float
    gamma: float
    support: np.ndarray


def max_margin(x, y) -> MaxMargin:
    """The maximum-margin separator of linearly separable data, exactly, in float64 (numpy and scipy; not jitted).

    With ``A_i = y_i (x_i, 1)`` the best unit vector is ``W* = V / |V|`` for the least-distance problem
    ``min |V|^2  s.t.  A V >= 1``, and ``gamma* = 1 / |V|``. That problem is solved through the non-negative
    least squares problem ``min_{u >= 0} |E u - f|`` with ``E = [A^T; 1^T]: (d + 2, n)``, ``f = (0, ..., 0, 1)``
    (Lawson and Hanson, Solving Least Squares Problems, ch. 23): with the residual ``r = E u - f``,
    ``V = -r[:-1] / r[-1]``; ``r = 0`` means no ``V`` exists, the data are not separable.

    Raises ``ValueError`` (naming ``x``/``y``) for bad shapes, labels outside {-1, +1}, non-finite inputs, or data
    that no hyperplane separates strictly.
    """
    from scipy import optimize

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    check_data(x, y)
    if not np.all(np.isfinite(x)):
        raise ValueError("x: expected finite inputs, found NaN or inf")
    A = y[:, None] * np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    E = np.concatenate([A.T, np.ones((1, A.shape[0]))])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = optimize.nnls(E, f, maxiter=50 * E.shape[1])
    r = E @ u - f
    # r = 0 (no V at all), or a V that fails to separate after rounding: either way no strict separator.
    V = -r[:-1] / r[-1] if abs(r[-1]) >= 1e-12 * max(1.0, np.abs(E).max()) else None
    if V is None or not (A @ V).min() > 0:
        raise ValueError("x, y: the data are not linearly separable (no hyperplane has every y_i (w.x_i + b) > 0)")
    W = V / np.linalg.norm(V)
    m = A @ W
    gamma = float(m.min())
    return MaxMargin(W[:-1], float(W[-1]), gamma, m <= gamma * (1 + 1e-9))


def novikoff_bound_best(x, y) -> NovikoffBound:
    """Novikoff's bound with the data's best margin: :func:`novikoff_bound` at the :func:`max_margin` separator, the
    smallest ``(R / gamma)^2`` any separator gives (float64)."""
    mm = max_margin(x, y)
    x64 = np.asarray(x, np.float64)
    X = np.concatenate([x64, np.ones((x64.shape[0], 1))], axis=1)
    R = float(np.max(np.linalg.norm(X, axis=1)))
    return NovikoffBound(R, mm.gamma, (R / mm.gamma) ** 2)


# ---------------------------------------------------------------------------------------------- measurements
def margin_gain_check(x: Array, y: Array, chosen: Array, eta: Array | float = 1.0, w0: Array | None = None,
                      b0: Array | float = 0.0) -> tuple[Array, Array]:
    """The update rule (C3) checked along a recorded run: ``(max relative error, updates checked)``.

    Replays ``chosen`` (:func:`replay`) and compares, for every update ``k`` on point ``i``, the rise of that
    point's functional margin ``y_i (w_k.x_i + b_k) - y_i (w_{k-1}.x_i + b_{k-1})`` with ``eta (|x_i|^2 + 1)``:
    ``max_k |rise - eta (|x_i|^2 + 1)| / (eta (|x_i|^2 + 1))`` in x's dtype (0 when there was no update).
    """
    w0 = jnp.zeros(x.shape[1], x.dtype) if w0 is None else jnp.asarray(w0, x.dtype)
    b0 = jnp.asarray(b0, x.dtype)
    ws, bs = replay(x, y, chosen, eta, w0, b0)
    w_prev = jnp.concatenate([w0[None], ws[:-1]])
    b_prev = jnp.concatenate([b0[None], bs[:-1]])
    i = jnp.maximum(chosen, 0)
    xi, yi = x[i], y[i]
    gain = yi * (jnp.sum(ws * xi, axis=1) + bs) - yi * (jnp.sum(w_prev * xi, axis=1) + b_prev)
    expected = eta * (jnp.sum(xi * xi, axis=1) + 1.0)
    valid = chosen >= 0
    rel = jnp.where(valid, jnp.abs(gain - expected) / expected, 0.0)
    return jnp.max(rel), jnp.sum(valid)


def misclassified_after_updates(x: Array, y: Array, chosen: Array, eta: Array | float = 1.0,
                                w0: Array | None = None, b0: Array | float = 0.0) -> Array:
    """How many points are in the misclassified set M after each recorded update: ``(T,)`` ints."""
    ws, bs = replay(x, y, chosen, eta, w0, b0)
    return jnp.sum(y * (ws @ x.T + bs[:, None]) <= 0, axis=-1)


def loss_checks(x: Array, y: Array, w: Array, b: Array | float, planes: Array) -> dict[str, Array]:
    """The measurements of C2 on one data set: at ``planes: (k, d + 1)`` (rows ``(w, b)``) the loss ``loss: (k,)``
    and the number of points strictly on the wrong side ``strict: (k,)``; the loss at the separator ``(w, b)``
    (``loss_sep``); at ``w = 0, b = 0`` the loss ``loss_zero`` and the size of M, ``m_zero``."""
    zero = jnp.zeros(x.shape[1], x.dtype)
    return {
        "loss": jax.vmap(lambda v: loss(v[:-1], v[-1], x, y))(planes),
        "strict": jax.vmap(lambda v: jnp.sum(functional_margins(v[:-1], v[-1], x, y) < 0))(planes),
        "loss_sep": loss(w, b, x, y),
        "loss_zero": loss(zero, 0.0, x, y),
        "m_zero": jnp.sum(misclassified(zero, 0.0, x, y)),
    }


def dyadic_normal(key: Array, shape: tuple[int, ...], denominator: int = 4) -> Array:
    """``round(q z) / q`` with ``z ~ N(0, I)`` and ``q = denominator`` (a power of 2): starts on a dyadic grid, so
    that sums of them with 0/1 inputs and ``eta = 1`` or ``1/2`` stay exact in float32 (the cycle proof)."""
    return jnp.round(denominator * jax.random.normal(key, shape)) / denominator


def count_distinct(vectors: np.ndarray, tol: float) -> int:
    """How many of the rows of ``vectors`` differ (Euclidean distance ``> tol``) from every earlier distinct one."""
    reps: list[np.ndarray] = []
    for u in np.asarray(vectors):
        if all(np.linalg.norm(u - r) > tol for r in reps):
            reps.append(u)
    return len(reps)


# ---------------------------------------------------------------------------------------------- run batches
@functools.partial(jax.jit, static_argnames=("h",))
def novikoff_rows(k_plane: Array, k_run: Array, x_all: Array, y_all: Array, h: int, eta: Array | float) -> dict:
    """The rows of a batch of runs for C4 (one run per row, keys as raw key data): every data set of
    ``x_all: (S, n, d)``, ``y_all: (S, n)`` from zero with ``eta`` drawn from {1, 1/2, 1/4, 1/8} (the count from
    zero does not depend on eta), then ``h`` runs on data set 0 with other keys, then ``h`` runs on data set 0 in
    other orders from dyadic initial values (both with ``eta``): ``{x, y, key, eta, w0, b0}`` with ``S + 2h`` rows."""
    num_sets, n, d = x_all.shape
    kk = jax.random.split(k_plane, 4)
    perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(kk[2], h))
    x0, y0 = x_all[0], y_all[0]
    nb = num_sets + 2 * h
    return {"x": jnp.concatenate([x_all, jnp.broadcast_to(x0, (h, n, d)), x0[perms]]),
            "y": jnp.concatenate([y_all, jnp.broadcast_to(y0, (h, n)), y0[perms]]),
            "key": jax.random.key_data(jax.random.split(k_run, nb)),
            "eta": (2.0 ** -jax.random.randint(kk[3], (nb,), 0, 4)).astype(jnp.float32).at[num_sets:].set(eta),
            "w0": jnp.zeros((nb, d)).at[num_sets + h:].set(dyadic_normal(kk[0], (h, d))),
            "b0": jnp.zeros(nb).at[num_sets + h:].set(dyadic_normal(kk[1], (h,)))}


@functools.partial(jax.jit, static_argnames=("n_x",))
def gate_rows(key: Array, n_x: int) -> dict:
    """The rows of a batch of gate runs for C5: ``n_x`` XOR runs from dyadic starts (eta 1 and 1/2 alternating),
    then AND and OR from zero (eta 1): ``{x, y, key, w0, b0, eta}`` with ``n_x + 2`` rows, labels in {-1, +1}."""
    from xgnn_jax.data import datasets

    g = {name: datasets.logic_gate(name) for name in ("xor", "and", "or")}
    kx = jax.random.split(key, 3)
    return {"x": jnp.concatenate([jnp.broadcast_to(g["xor"].x, (n_x, 4, 2)), g["and"].x[None], g["or"].x[None]]),
            "y": jnp.concatenate([jnp.broadcast_to(labels_pm1(g["xor"].y), (n_x, 4)),
                                  labels_pm1(g["and"].y)[None], labels_pm1(g["or"].y)[None]]),
            "key": jax.random.key_data(jax.random.split(kx[2], n_x + 2)),
            "w0": jnp.zeros((n_x + 2, 2)).at[:n_x].set(dyadic_normal(kx[0], (n_x, 2))),
            "b0": jnp.zeros(n_x + 2).at[:n_x].set(dyadic_normal(kx[1], (n_x,))),
            "eta": jnp.where(jnp.arange(n_x + 2) % 2 == 0, 1.0, 0.5).at[n_x:].set(1.0)}
