"""Which parameters move, and whether the units of a layer stay copies of each other (C19-C21).

Tools for any :class:`xgnn_jax.core.mlp.MLP` (and, for :func:`gradient_descent_trace`, any parameter pytree), meant to be
reused from a notebook:

* :func:`update_masks` (one step): per layer ``l = 1..L``, whether any entry of ``W[l]`` changed and whether any
  entry of ``b[l]`` changed, compared exactly (``!=``, no tolerance: a zero gradient times a learning rate leaves
  a weight bit-for-bit unchanged, and that is the property the chapter talks about).
* :func:`unit_spread`: for each hidden layer ``l = 1..L-1``, the largest pairwise Euclidean distance between its
  units' incoming vectors ``u_j = (W[l][:, j], b[l][j])`` (optionally also the outgoing row ``W[l+1][j, :]``):

      spread_l = max_{j < j'} || u_j - u_j' ||_2.

  Two units with equal incoming weights and bias compute the same function of the input, so ``spread_l = 0``
  means layer l acts like a single unit (the symmetry of C19). Distances come from the differences themselves,
  not from a Gram matrix, so identical units give exactly 0.
* :func:`activation_spread`: the same on the data, ``max_{j<j'} || A[l][:, j] - A[l][:, j'] ||_2`` over the
  batch: units that output the same values on every example.
* :func:`make_trajectory`: full-batch gradient descent ``theta <- theta - eta grad J(theta)`` (the book's
  accumulated BP, one update per step) as one ``lax.scan``, recording per step and per layer the update masks,
  the gradient norms, the spreads, the loss and the accuracy. ``trajectory(params0, x, y, lr)`` is jit-able and
  vmappable over ``params0`` (restarts) and ``lr``.
* :func:`back_to_front`: whether a ``(T, L)`` mask shows C19's order, step ``t = 1, 2, ...`` changing exactly
  the last ``min(t, L)`` layers; :func:`first_change` gives each layer's first step of change.

Why the order is back to front (zero weights, any biases, L layers, ``A[0] = x``): the backward pass
``dA[l-1] = dZ[l] W[l]^T`` is exactly zero while ``W[l] = 0``, so layer ``l < L`` receives no gradient until
``W[l+1]`` has moved; ``W[L]`` moves at step 1 when ``dW[L] = A[L-1]^T dZ[L] / m`` is non-zero, which for
constant hidden activations ``a`` is ``a * mean_k dZ[L]_k``: it needs a non-zero average output error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from xgnn_jax.core import losses as losses_lib
from xgnn_jax.core import metrics
from xgnn_jax.core.mlp import MLP, Params, objective

Array = jax.Array


# ---------------------------------------------------------------------------------------------- one step
def update_masks(before: Params, after: Params) -> dict[str, Array]:
    """Per layer, whether anything changed between two parameter sets of the same network.

    Returns ``{"W": (L,) bool, "b": (L,) bool, "W_fraction": (L,), "b_fraction": (L,)}``: any entry of ``W[l]``
    (resp. ``b[l]``) differs, and the fraction of entries that differ. Layers without a bias report ``False``/0.
    Leading batch axes (restarts under ``vmap``) are not supported here: ``vmap`` this function instead.
    """
    _check_same_structure(before, after)
    out: dict[str, list[Array]] = {"W": [], "b": [], "W_fraction": [], "b_fraction": []}
    for old, new in zip(before, after, strict=True):
        for name in ("W", "b"):
            if name in old:
                diff = old[name] != new[name]
                out[name].append(jnp.any(diff))
                out[f"{name}_fraction"].append(jnp.mean(diff.astype(jnp.float32)))
            else:
                out[name].append(jnp.asarray(False))
                out[f"{name}_fraction"].append(jnp.asarray(0.0, jnp.float32))
    return {k: jnp.stack(v) for k, v in out.items()}


def _check_same_structure(a: Params, b: Params) -> None:
    if jax.tree.structure(a) != jax.tree.structure(b):
        raise ValueError("after: expected parameters with the same structure as before (same layers, same keys), "
                         f"got {jax.tree.structure(b)} vs {jax.tree.structure(a)}")
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        if x.shape != y.shape:
            raise ValueError(f"after: a parameter has shape {y.shape}, expected {x.shape} as in before")


# ---------------------------------------------------------------------------------------------- symmetry
def max_pairwise_distance(v: Array) -> Array:
    """``max_{i<j} ||v_i - v_j||_2`` over the rows of ``v: (k, p)`` (0 for k = 1), from the exact differences."""
    if v.ndim != 2:
        raise ValueError(f"v: expected a matrix (units, features), got shape {tuple(v.shape)}")
    diff = v[:, None, :] - v[None, :, :]
    return jnp.sqrt(jnp.max(jnp.sum(diff * diff, axis=-1)))


def unit_vectors(params: Params, layer: int, *, include_bias: bool = True, include_outgoing: bool = False) -> Array:
    """The units of hidden layer ``layer`` (1-based, ``1 <= layer <= L-1``) as rows ``(d_layer, p)``:
    ``(W[l][:, j], b[l][j])``, followed by ``W[l+1][j, :]`` when ``include_outgoing``."""
    L = len(params)
    if not 1 <= layer <= L - 1:
        raise ValueError(f"layer: expected a hidden layer between 1 and {L - 1} (1-based), got {layer!r}")
    p = params[layer - 1]
    parts = [p["W"].T]
    if include_bias and "b" in p:
        parts.append(p["b"][:, None])
    if include_outgoing:
        parts.append(params[layer]["W"])
    return jnp.concatenate(parts, axis=1)


def unit_spread(params: Params, *, include_bias: bool = True, include_outgoing: bool = False) -> Array:
    """``(L-1,)``: for each hidden layer, the largest pairwise distance between its units' incoming vectors
    ``(W[l][:, j], b[l][j])`` (and outgoing rows ``W[l+1][j, :]`` when ``include_outgoing``). 0 = all units equal.

    A network without hidden layers gives an empty array.
    """
    if len(params) < 1 or any("W" not in p for p in params):
        raise ValueError("params: expected a tuple of per-layer dicts with 'W' (and optionally 'b')")
    spreads = [max_pairwise_distance(unit_vectors(params, l, include_bias=include_bias,
                                                  include_outgoing=include_outgoing))
               for l in range(1, len(params))]
    return jnp.stack(spreads) if spreads else jnp.zeros((0,), params[0]["W"].dtype)


def activation_spread(model: MLP, params: Params, x: Array, weights: Array | None = None) -> Array:
    """``(L-1,)``: for each hidden layer, ``max_{j<j'} ||A[l][:, j] - A[l][:, j']||_2`` over the batch ``x: (n, d_0)``
    (units whose outputs coincide on every example, whatever their weights). Rows whose ``weights: (n,)`` entry is 0
    are left out."""
    hidden = model.hidden_activations(params, x)
    if not hidden:
        return jnp.zeros((0,), x.dtype)
    keep = jnp.ones((x.shape[0], 1), x.dtype) if weights is None else (weights != 0).astype(x.dtype)[:, None]
    return jnp.stack([max_pairwise_distance((a * keep).T) for a in hidden])


# ---------------------------------------------------------------------------------------------- trajectories
class Trajectory(NamedTuple):
    """What :func:`make_trajectory`'s run records (``T`` steps, ``L`` layers; a leading axis per ``vmap``).

    ``W_changed, b_changed: (T, L)`` bool, step ``t`` (row ``t-1``) compared with step ``t-1``;
    ``W_grad_norm, b_grad_norm: (T, L)``: Frobenius norms of the gradient used at step ``t`` (``> 0``: the layer
    received a non-zero gradient, the structural statement of C19-C21, which rounding cannot hide: a tiny
    update to a non-zero weight may round away, so ``W_changed`` can be False where the gradient is not 0);
    ``spread: (T+1, L-1)``: :func:`unit_spread` (incoming weights + bias) before step 1 and after each step;
    ``activation_spread: (T+1, L-1)``; ``loss, accuracy: (T+1,)`` on the training batch, before step 1 and after
    each step; ``params``: the final parameters.
    """

    W_changed: Array
    b_changed: Array
    W_grad_norm: Array
    b_grad_norm: Array
    spread: Array
    activation_spread: Array
    loss: Array
    accuracy: Array
    params: Params


def make_trajectory(model: MLP, steps: int, *, loss: str = "half_sse", reduction: str | None = None,
                    threshold: float = 0.5, record_activation_spread: bool = True) -> Callable[..., Trajectory]:
    """``trajectory(params0, x, y, lr, weights=None) -> Trajectory``: ``steps`` full-batch gradient-descent updates
    ``theta_t = theta_{t-1} - lr grad J(theta_{t-1})`` with ``J`` = ``loss`` reduced by ``reduction`` (default:
    the loss's usual one, the mean for ``half_sse``: the book's accumulated error E, eq. 5.16).

    ``weights: (n,)`` (0/1) selects examples: the mean becomes ``sum_k w_k L_k / sum_k w_k``, so one compiled
    program serves several subsets of the same data set (e.g. a balanced subset). Static: the network, ``steps``,
    the loss, ``record_activation_spread`` (False: ``activation_spread`` is NaN, and the program is smaller).
    ``params0``, ``x``, ``y``, ``lr`` and ``weights`` are arrays (vmappable).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    J = objective(model, loss, reduction)

    def measure(params, x, y, w):
        # Rows with weight 0 drop out of the loss, the accuracy and the activation spread alike.
        asp = (activation_spread(model, params, x, w) if record_activation_spread
               else jnp.full((model.num_layers - 1,), jnp.nan, x.dtype))
        return (unit_spread(params), asp, J(params, x, y, w),
                metrics.accuracy(model.apply(params, x), y, threshold, weights=w))

    def trajectory(params0: Params, x: Array, y: Array, lr: Array | float, weights: Array | None = None
                   ) -> Trajectory:
        model.check_input(x)
        losses_lib.check_targets((x.shape[0], model.sizes[-1]), y)
        w = jnp.ones((x.shape[0],), x.dtype) if weights is None else weights
        if w.shape != (x.shape[0],):
            raise ValueError(f"weights: expected one weight per example, shape ({x.shape[0]},), got {w.shape}")

        # steps + 1 iterations, each measuring the parameters it starts from, so that the measurements before
        # step 1 and after the last step come from one copy of the program; the last update is discarded.
        def step(params, t):
            g = jax.grad(J)(params, x, y, w)
            new = jax.tree.map(lambda p, d: p - lr * d, params, g)
            masks = update_masks(params, new)
            gw = jnp.stack([jnp.linalg.norm(layer["W"]) for layer in g])
            gb = jnp.stack([jnp.linalg.norm(layer["b"]) if "b" in layer else jnp.zeros((), gw.dtype)
                            for layer in g])
            keep = jax.tree.map(lambda a, b: jnp.where(t < steps, a, b), new, params)
            return keep, (masks["W"], masks["b"], gw, gb, *measure(params, x, y, w))

        final, (wc, bc, gw, gb, sp, asp, lo, acc) = jax.lax.scan(step, params0, jnp.arange(steps + 1))
        return Trajectory(wc[:-1], bc[:-1], gw[:-1], gb[:-1], sp, asp, lo, acc, final)

    return trajectory


def gradient_descent_trace(J: Callable[..., Array], params0: Any, lr: Array | float, steps: int,
                           measure: Callable[[Any, Any, Any], Any], *args: Any) -> tuple[Any, Any]:
    """Plain full-batch gradient descent on any pytree: ``theta_t = theta_{t-1} - lr grad J(theta_{t-1}, *args)``.

    Returns ``(final params, trace)`` where ``trace`` stacks ``measure(before, after, grad)`` over the ``steps``
    updates (leading axis T). For models that are not an :class:`MLP` (e.g. :mod:`xgnn_jax.core.embedding`).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")

    def step(params, _):
        g = jax.grad(J)(params, *args)
        new = jax.tree.map(lambda p, d: p - lr * d, params, g)
        return new, measure(params, new, g)

    return jax.lax.scan(step, params0, None, length=steps)


# ---------------------------------------------------------------------------------------------- reading masks
def first_change(mask: Array) -> Array:
    """``(L,)``: for a mask ``(T, L)`` (row t-1 = step t), the first step (1-based) at which each layer changed;
    0 where it never changed. Extra leading axes (restarts) are kept."""
    mask = jnp.asarray(mask, bool)
    t = mask.shape[-2]
    steps = jnp.arange(1, t + 1)[:, None]
    return jnp.where(jnp.any(mask, axis=-2), jnp.min(jnp.where(mask, steps, t + 1), axis=-2), 0)


def back_to_front_mask(steps: int, layers: int) -> Array:
    """The mask C19 predicts, ``(steps, layers)``: step t changes exactly layers ``L - min(t, L) + 1 .. L``."""
    t = jnp.arange(1, steps + 1)[:, None]
    l = jnp.arange(1, layers + 1)[None, :]
    return l > layers - t


def back_to_front(mask: Array) -> Array:
    """Whether a mask ``(..., T, L)`` shows C19's order in its first ``min(T, L)`` steps: step 1 changes only the
    last layer, step 2 exactly the last two, ..., step L every layer (leading axes are kept).

    Later steps are not compared: once every layer moves, a layer whose update is below the rounding of its
    (non-zero) value can leave a value-change mask ``False`` at some step without contradicting the claim.
    """
    mask = jnp.asarray(mask, bool)
    t = min(mask.shape[-2], mask.shape[-1])
    expected = back_to_front_mask(t, mask.shape[-1])
    return jnp.all(mask[..., :t, :] == expected, axis=(-2, -1))
