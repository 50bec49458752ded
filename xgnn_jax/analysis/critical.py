"""What kind of point stopped gradient descent: gradient, Hessian spectrum, saturation, labels, basins.

For a small network and a scalar objective ``J(params, x, y)`` (e.g. :func:`xgnn_jax.core.mlp.objective`), the
parameters are flattened into one vector ``theta: (P,)`` with :func:`jax.flatten_util.ravel_pytree`, and at an end
point we measure

* the loss ``E(theta)`` and the gradient norm ``|grad E(theta)|_2``;
* the Hessian ``H = d^2 E / d theta^2: (P, P)`` (:func:`jax.hessian`) and its eigenvalues ``lambda_1 <= ... <= lambda_P``
  (``eigh``: ``H`` is symmetric);
* the **index** (number of eigenvalues ``< -eig_tol``: directions of negative curvature) and the number of
  **near-zero** eigenvalues (``|lambda| <= eig_tol``: flat directions);
* the number of **saturated** hidden units: units whose derivative ``g'(z)`` is at most ``saturation * g'(0)`` on
  every training example (for the sigmoid, ``s(1-s) <= saturation / 4``), so that almost no gradient flows through
  them.

:func:`analyse` does one point and is vmappable (:func:`analyse_batch` maps it over a leading restart axis).
:func:`classify` turns the measurements into one of :data:`LABELS`:

| code | label | rule (checked in this order) |
|---|---|---|
| 5 | diverged | loss or parameters not finite |
| 0 | converged | every example classified right and ``E <= loss_tol`` |
| 1 | strict local minimum | critical and every eigenvalue ``> eig_tol`` |
| 2 | saddle | critical and index ``>= 1`` |
| 3 | flat region / plateau | critical with near-zero but no negative eigenvalues (a degenerate critical point), or not critical while the loss no longer falls (relative drop over the last stretch of training ``<= drop_tol``) |
| 4 | still descending | not critical and the loss still falls |

"Critical" means ``|grad| <= grad_tol`` and a regularised Newton step (the estimated distance to the nearest
critical point, see :class:`Analysis`) of at most ``step_tol``.

The gradient norm is reported with every label: a point labelled by its curvature need not be an exact critical
point (Newton-type analyses often end in gradient-flat regions, not at zeros of the gradient).

Symmetries. A one-hidden-layer network ``y = f(h W2[:H] + ... + b2)``, ``h = g(x W1 + b1)`` computes the same
function after (a) permuting its hidden units (columns of ``W1``, entries of ``b1``, rows of ``W2[:H]``) and
(b) for ``g = sigmoid``, flipping a unit: ``s(-z) = 1 - s(z)``, so ``W1[:, j], b1[j] -> -W1[:, j], -b1[j]``
turns ``h_j`` into ``1 - h_j``, matched by ``W2[j] -> -W2[j]``, ``b2 -> b2 + W2[j]`` (for ``tanh``: ``h_j -> -h_j``,
``W2[j] -> -W2[j]``). :func:`canonicalize` picks one representative (every unit's first output weight ``>= 0``,
units sorted), :func:`basin_features` describes an end point by its canonical hidden and output activations on the
training set, and :func:`cluster` groups end points into basins with their frequencies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from xgnn_jax.core import activations

Array = jax.Array
Objective = Callable[..., Array]

LABELS: tuple[str, ...] = ("converged", "strict local minimum", "saddle", "flat region / plateau",
                           "still descending", "diverged")
CONVERGED, STRICT_MINIMUM, SADDLE, FLAT, DESCENDING, DIVERGED = range(len(LABELS))


class Analysis(NamedTuple):
    """Measurements at one point (under vmap every field gains a leading axis).

    ``loss: ()``, ``grad_norm: ()``, ``eigenvalues: (P,)`` ascending, ``index: ()`` (eigenvalues ``< -eig_tol``),
    ``n_zero: ()`` (``|lambda| <= eig_tol``), ``saturated: ()`` (saturated hidden units; 0 without a model),
    ``finite: ()`` (loss, gradient and Hessian finite), ``newton_step: ()``: the length of the regularised Newton
    step ``|sum_i (v_i . g) / max(|lambda_i|, eig_tol) v_i|``, an estimate of the distance to the nearest critical
    point (small near a true critical point; large in a gradient-flat region whose gradient points along
    nearly flat directions, e.g. towards a minimum at infinity).
    """

    loss: Array
    grad_norm: Array
    eigenvalues: Array
    index: Array
    n_zero: Array
    saturated: Array
    finite: Array
    newton_step: Array


def flat_objective(J: Objective, params: Any, x: Array, y: Array) -> tuple[Callable[[Array], Array], Array]:
    """``(E, theta)`` with ``E(theta) = J(unravel(theta), x, y)`` and ``theta = ravel(params): (P,)``."""
    theta, unravel = ravel_pytree(params)
    return (lambda t: J(unravel(t), x, y)), theta


@functools.partial(jax.jit, static_argnames=("J",))
def hessian(J: Objective, params: Any, x: Array, y: Array) -> Array:
    """The Hessian ``d^2 J / d theta^2: (P, P)`` on the flattened parameters (leaf order of ``ravel_pytree``)."""
    E, theta = flat_objective(J, params, x, y)
    return jax.hessian(E)(theta)


def saturated_units(model: Any, params: Any, x: Array, saturation: float = 0.01) -> Array:
    """Number of hidden units with ``g'(z_jk) <= saturation * g'(0)`` on every example ``k`` (all hidden layers).

    ``model`` needs ``forward(params, x) -> (Zs, As)`` and ``layer_activations`` (an :class:`~xgnn_jax.core.mlp.MLP` or a
    :class:`~xgnn_jax.core.shortcut.ShortcutMLP`). For activations with ``g'(0) = 0`` (ReLU) the reference is 1.
    """
    zs, _ = model.forward(params, x)
    count = jnp.zeros((), jnp.int32)
    for z, name in zip(zs[:-1], model.layer_activations[:-1], strict=True):
        df = activations.get(name).df
        ref = df(jnp.zeros((), z.dtype))
        ref = jnp.where(ref > 0, ref, 1.0)
        count = count + jnp.sum(jnp.all(df(z) <= saturation * ref, axis=0)).astype(jnp.int32)
    return count


@functools.partial(jax.jit, static_argnames=("J", "eig_tol", "model", "saturation"))
def analyse(J: Objective, params: Any, x: Array, y: Array, *, eig_tol: float = 1e-6, model: Any = None,
            saturation: float = 0.01) -> Analysis:
    """Loss, gradient norm, Hessian eigenvalues, index, near-zero count and saturated units at ``params``.

    Run it in float64 (``jax.enable_x64``) when eigenvalues near ``eig_tol`` matter: float32 Hessians carry
    rounding errors of about ``1e-7 * max|lambda|``. Compiled once per objective ``J`` and ``model`` (both are
    static, hashed by identity / value: build ``J`` once and reuse it).
    """
    E, theta = flat_objective(J, params, x, y)
    loss, g = jax.value_and_grad(E)(theta)
    H = jax.hessian(E)(theta)
    finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(H)) & jnp.all(jnp.isfinite(theta))
    # eigh of a matrix with NaN can hang or return garbage: analyse a zero matrix instead and flag it.
    H = jnp.where(finite, 0.5 * (H + H.T), 0.0)
    lam, V = jnp.linalg.eigh(H)
    newton = jnp.linalg.norm((V.T @ jnp.where(finite, g, 0.0)) / jnp.maximum(jnp.abs(lam), eig_tol))
    sat = saturated_units(model, params, x, saturation) if model is not None else jnp.zeros((), jnp.int32)
    return Analysis(loss, jnp.linalg.norm(g), lam, jnp.sum(lam < -eig_tol).astype(jnp.int32),
                    jnp.sum(jnp.abs(lam) <= eig_tol).astype(jnp.int32), sat, finite, newton)


@functools.partial(jax.jit, static_argnames=("J", "eig_tol", "model", "saturation"))
def analyse_batch(J: Objective, params: Any, x: Array, y: Array, *, eig_tol: float = 1e-6, model: Any = None,
                  saturation: float = 0.01) -> Analysis:
    """:func:`analyse` vmapped over the leading (restart) axis of every leaf of ``params``; one compile."""
    return jax.vmap(lambda p: analyse(J, p, x, y, eig_tol=eig_tol, model=model, saturation=saturation))(params)


def classify(analysis: Analysis, success: Array, *, loss_tol: float = 0.05, grad_tol: float = 1e-4,
             step_tol: float = 0.1, loss_drop: Array | None = None, drop_tol: float = 1e-3) -> Array:
    """Label codes (indices into :data:`LABELS`) from :func:`analyse`'s measurements; see the module table.

    A point counts as critical when ``|grad E| <= grad_tol`` *and* its Newton step is at most ``step_tol``
    (a small gradient along nearly flat directions is a flat region, not a critical point).
    ``success``: every example on the right side of the threshold. ``loss_drop``: the relative decrease of the
    loss over the last stretch of training, ``1 - E_end / E_before``; without it every non-critical point counts
    as still descending. Works elementwise on batched analyses.
    """
    a = analysis
    finite = a.finite & jnp.isfinite(a.loss)
    critical = (a.grad_norm <= grad_tol) & (a.newton_step <= step_tol)
    still_falling = (jnp.ones_like(critical) if loss_drop is None else jnp.asarray(loss_drop) > drop_tol)
    code = jnp.where(still_falling, DESCENDING, FLAT)
    code = jnp.where(critical, jnp.where(a.index > 0, SADDLE, jnp.where(a.n_zero > 0, FLAT, STRICT_MINIMUM)), code)
    code = jnp.where(jnp.asarray(success) & (a.loss <= loss_tol), CONVERGED, code)
    return jnp.where(finite, code, DIVERGED).astype(jnp.int32)


def label_counts(codes: Any) -> dict[str, int]:
    """``{label: count}`` over all :data:`LABELS` (zeros included) for an array of label codes."""
    codes = np.asarray(codes).ravel()
    return {name: int(np.sum(codes == i)) for i, name in enumerate(LABELS)}


# ---------------------------------------------------------------------------------------------- symmetries
def _check_one_hidden_layer(params: Any) -> None:
    ok = isinstance(params, (tuple, list)) and len(params) == 2 and all("W" in p and "b" in p for p in params)
    if not ok:
        raise ValueError("params: expected one hidden layer with biases, ({'W': (d, H), 'b': (H,)}, "
                         "{'W': (H [+ d_in], k), 'b': (k,)}), as MLP((d, H, k)) or ShortcutMLP give")
    H = params[0]["W"].shape[-1]
    if params[1]["W"].shape[-2] < H:
        raise ValueError(f"params: the output layer has {params[1]['W'].shape[-2]} input rows, fewer than the "
                         f"{H} hidden units")


def flip_unit(params: Any, j: int | Array, hidden: str = "sigmoid") -> tuple[dict[str, Array], dict[str, Array]]:
    """The same network with hidden unit ``j`` flipped (``h_j -> 1 - h_j`` for sigmoid, ``-h_j`` for tanh).

    ``j`` may be an index or a boolean mask ``(H,)`` of units to flip.
    """
    _check_one_hidden_layer(params)
    if hidden not in ("sigmoid", "tanh"):
        raise ValueError(f"hidden: the flip symmetry exists for 'sigmoid' and 'tanh' units, got {hidden!r}")
    p1, p2 = params
    H = p1["W"].shape[-1]
    mask = jnp.asarray(j) if jnp.asarray(j).dtype == jnp.bool_ else (jnp.arange(H) == j)
    s = jnp.where(mask, -1.0, 1.0).astype(p1["W"].dtype)
    W2h = p2["W"][:H]
    b2 = p2["b"]
    if hidden == "sigmoid":
        b2 = b2 + jnp.sum(jnp.where(mask[:, None], W2h, 0.0), axis=0)
    W2 = p2["W"].at[:H].set(s[:, None] * W2h)
    return ({"W": p1["W"] * s, "b": p1["b"] * s}, {"W": W2, "b": b2})


def permute_units(params: Any, perm: Array) -> tuple[dict[str, Array], dict[str, Array]]:
    """The same network with its hidden units reordered: new unit ``i`` is old unit ``perm[i]``."""
    _check_one_hidden_layer(params)
    p1, p2 = params
    H = p1["W"].shape[-1]
    perm = jnp.asarray(perm)
    return ({"W": p1["W"][:, perm], "b": p1["b"][perm]},
            {"W": p2["W"].at[:H].set(p2["W"][:H][perm]), "b": p2["b"]})


def canonicalize(params: Any, hidden: str = "sigmoid", x: Array | None = None):
    """One representative of ``params`` modulo hidden-unit permutations and (sigmoid/tanh) flips.

    Flip every unit whose weight to the first output is negative; then sort the units by a fixed generic
    combination of their hidden activations on ``x`` (when given: units that compute the same thing on the data
    are interchangeable) or of their parameters. Vmappable; the network's function is unchanged.
    """
    _check_one_hidden_layer(params)
    p = params
    H = p[0]["W"].shape[-1]
    if hidden in ("sigmoid", "tanh"):
        p = flip_unit(p, p[1]["W"][:H, 0] < 0, hidden)
    if x is not None:
        z = x @ p[0]["W"] + p[0]["b"]
        feats = activations.get(hidden).f(z).T                       # (H, n)
    else:
        feats = jnp.concatenate([p[0]["W"].T, p[0]["b"][:, None], p[1]["W"][:H]], axis=1)
    weights = 1.0 + jnp.arange(feats.shape[1], dtype=feats.dtype) / (feats.shape[1] + jnp.pi)
    return permute_units(p, jnp.argsort(-(feats @ weights)))


def basin_features(model: Any, params: Any, x: Array, hidden: str | None = None) -> Array:
    """A symmetry-invariant description of an end point: its canonical hidden activations and its outputs on the
    training inputs, flattened to ``(n * (H + k),)``. Vmappable."""
    hidden = hidden or model.layer_activations[0]
    p = canonicalize(params, hidden, x)
    _, acts = model.forward(p, x)
    return jnp.concatenate([acts[1].T.ravel(), acts[-1].T.ravel()])


class Clusters(NamedTuple):
    """``labels: (R,)`` basin of each point (0 = most frequent; -1 for non-finite points), ``centers: (K, D)``
    (the first member of each basin), ``counts: (K,)``."""

    labels: np.ndarray
    centers: np.ndarray
    counts: np.ndarray


def cluster(features: Any, tol: float = 0.2) -> Clusters:
    """Leader clustering: a point joins the first basin whose leader is within ``tol`` in max-abs distance,
    else founds a new one; basins are then renumbered by decreasing frequency. ``features: (R, D)``."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features: expected (R, D), got shape {f.shape}")
    if not tol > 0:
        raise ValueError(f"tol: expected a positive distance, got {tol!r}")
    labels = np.full(len(f), -1, dtype=np.int64)
    leaders: list[np.ndarray] = []
    for i, row in enumerate(f):
        if not np.all(np.isfinite(row)):
            continue
        if leaders:
            d = np.max(np.abs(np.stack(leaders) - row), axis=1)
            k = int(np.argmin(d))
            if d[k] <= tol:
                labels[i] = k
                continue
        leaders.append(row)
        labels[i] = len(leaders) - 1
    if not leaders:
        return Clusters(labels, np.zeros((0, f.shape[1])), np.zeros(0, dtype=np.int64))
    counts = np.bincount(labels[labels >= 0], minlength=len(leaders))
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    new_labels = np.where(labels >= 0, rank[np.maximum(labels, 0)], -1)
    return Clusters(new_labels, np.stack(leaders)[order], counts[order])
