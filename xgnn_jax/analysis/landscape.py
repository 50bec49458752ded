"""Looking at the loss surface: along a line between two parameter points, and on a plane through a point.

* :func:`line`: ``E((1 - a) theta_A + a theta_B)`` for ``a`` on a grid (``a = 0`` is A, ``a = 1`` is B), e.g. from
  the initial to the final parameters of a run, or between two solutions; :func:`barrier` is the height of the
  highest point between the end points above the higher of the two, ``max_{0<=a<=1} E(a) - max(E(0), E(1))``
  (``> 0``: there is a hill to cross on the straight path).
* :func:`surface`: ``E(theta + a d1 + b d2)`` on an ``(len(a), len(b))`` grid, with ``d1, d2`` random directions
  drawn by :func:`filter_normalized_direction`.

Filter normalisation (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the loss landscape of neural nets"):
a direction ``d ~ N(0, I)`` with the structure of ``params`` is rescaled unit by unit so that every unit's slice
has the norm of the same unit's parameters, ``d_j <- d_j |theta_j| / |d_j|``. Here a unit is one output column of
a layer: its incoming weights ``W[:, j]`` together with its bias ``b[j]`` (Li et al. leave biases out; in networks
this small the biases are a large share of the parameters, so they are moved with their unit). Without it a plot
would compare surfaces at incomparable scales: a saturated solution with large weights looks flat under a unit-norm
direction only because its weights are large.

Every function takes the objective ``J(params, x, y)`` and parameter pytrees; grids are evaluated with ``vmap``
under ``jit`` (``J`` is a static argument, hashed by identity: build it once and reuse it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array


def _check_same_structure(a: Any, b: Any, arg_a: str, arg_b: str) -> None:
    sa, sb = jax.tree.structure(a), jax.tree.structure(b)
    shapes_a = [jnp.shape(leaf) for leaf in jax.tree.leaves(a)]
    shapes_b = [jnp.shape(leaf) for leaf in jax.tree.leaves(b)]
    if sa != sb or shapes_a != shapes_b:
        raise ValueError(f"{arg_b}: expected the same structure and shapes as {arg_a}, got {sb} {shapes_b} "
                         f"vs {sa} {shapes_a}")


@functools.partial(jax.jit, static_argnames=("J", "num"))
def line(J: Callable, params_a: Any, params_b: Any, x: Array, y: Array, alphas: Array | None = None,
         num: int = 51) -> tuple[Array, Array]:
    """``(alphas, losses)``: ``E((1 - a) theta_A + a theta_B)`` for each ``a`` (default ``linspace(0, 1, num)``)."""
    _check_same_structure(params_a, params_b, "params_a", "params_b")
    alphas = jnp.linspace(0.0, 1.0, num) if alphas is None else jnp.asarray(alphas)
    if alphas.ndim != 1:
        raise ValueError(f"alphas: expected a 1-D grid, got shape {alphas.shape}")

    def at(a):
        return J(jax.tree.map(lambda p, q: (1 - a) * p + a * q, params_a, params_b), x, y)

    return alphas, jax.vmap(at)(alphas.astype(jax.tree.leaves(params_a)[0].dtype))


def barrier(alphas: Array, losses: Array) -> Array:
    """``max_{0 <= a <= 1} E(a) - max(E(0), E(1))`` from a :func:`line` result (end points read at the grid values
    closest to 0 and 1)."""
    alphas, losses = jnp.asarray(alphas), jnp.asarray(losses)
    inside = (alphas >= 0) & (alphas <= 1)
    e0 = losses[jnp.argmin(jnp.abs(alphas))]
    e1 = losses[jnp.argmin(jnp.abs(alphas - 1))]
    return jnp.max(jnp.where(inside, losses, -jnp.inf)) - jnp.maximum(e0, e1)


def _unit_normalize(d: Array, p: Array) -> Array:
    """Rescale each column (output unit) of ``d`` to the norm of the same column of ``p``; 1-D leaves are one
    entry per unit."""
    if d.ndim == 1:
        return d * jnp.abs(p) / jnp.maximum(jnp.abs(d), 1e-12)
    dn = jnp.linalg.norm(d.reshape(-1, d.shape[-1]), axis=0)
    pn = jnp.linalg.norm(p.reshape(-1, p.shape[-1]), axis=0)
    return d * pn / jnp.maximum(dn, 1e-12)


@jax.jit
def filter_normalized_direction(key: Array, params: Any) -> Any:
    """A random direction with ``params``' structure, normalised per unit (Li et al. 2018; see module docstring).

    For a layer dict ``{"W": (d_in, d_out), "b": (d_out,)}`` unit ``j`` is ``(W[:, j], b[j])`` and its slice of the
    direction gets norm ``|(W[:, j], b[j])|``. Other leaves are normalised column by column (last axis).
    """
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    d = jax.tree.unflatten(treedef, [jax.random.normal(k, jnp.shape(p), jnp.result_type(p))
                                     for k, p in zip(keys, leaves, strict=True)])

    def norm_layer(dl, pl):
        if isinstance(pl, dict) and "W" in pl and "b" in pl and pl["W"].ndim == 2 and pl["b"].shape == pl["W"].shape[-1:]:
            dw = jnp.concatenate([dl["W"], dl["b"][None]], axis=0)
            pw = jnp.concatenate([pl["W"], pl["b"][None]], axis=0)
            nw = _unit_normalize(dw, pw)
            out = dict(dl)
            out["W"], out["b"] = nw[:-1], nw[-1]
            return out
        return jax.tree.map(_unit_normalize, dl, pl)

    if isinstance(params, (tuple, list)):
        return type(params)(norm_layer(dl, pl) for dl, pl in zip(d, params, strict=True))
    return norm_layer(d, params)


@functools.partial(jax.jit, static_argnames=("J",))
def surface(J: Callable, params: Any, d1: Any, d2: Any, x: Array, y: Array, alphas: Array,
            betas: Array) -> Array:
    """``E(theta + a d1 + b d2)`` on the grid: ``(len(alphas), len(betas))``."""
    _check_same_structure(params, d1, "params", "d1")
    _check_same_structure(params, d2, "params", "d2")
    alphas, betas = jnp.asarray(alphas), jnp.asarray(betas)
    if alphas.ndim != 1 or betas.ndim != 1:
        raise ValueError(f"alphas, betas: expected 1-D grids, got shapes {alphas.shape}, {betas.shape}")

    def at(a, b):
        return J(jax.tree.map(lambda p, u, v: p + a * u + b * v, params, d1, d2), x, y)

    return jax.vmap(lambda a: jax.vmap(lambda b: at(a, b))(betas))(alphas)
