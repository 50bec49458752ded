"""Hand-built networks behind universal approximation (C8) and depth vs width (C18), and their 1-D targets.

**Bumps from sigmoid pairs** (the constructive idea behind C8). Split ``[a, b]`` into ``n`` bins of width
``h = (b - a) / n`` with edges ``e_j = a + j h`` and centres ``m_j``. A pair of steep sigmoids makes a bump,

    bump_j(x) = sigmoid(k (x - e_{j-1})) - sigmoid(k (x - e_j))  ~  1[e_{j-1} <= x < e_j],

and ``g(x) = sum_j f(m_j) bump_j(x)`` is a one-hidden-layer network ``1 -> 2n -> 1`` (sigmoid hidden units, linear
output) built by hand, without training. The outer edges ``e_0, e_n`` are moved one bin outwards so that the
ends of ``[a, b]`` are not cut in half. The steepness is ``k = s / h`` (``s`` sigmoid "sharpness" per bin), so the
transitions narrow as the bins do. For a Lipschitz ``f`` the error is ``O(L h)``: it falls like ``1/n``.

**The sawtooth from composition** (C18). The tent map ``T(x) = 2x`` on ``[0, 1/2]``, ``2 - 2x`` on ``[1/2, 1]``
is ``T(x) = 2 relu(x) - 4 relu(x - 1/2)`` on ``[0, 1]``, a layer of two ReLU units. Its ``k``-fold composition
``T^k`` is a sawtooth with ``2^(k-1)`` teeth and ``2^k`` linear pieces, computed exactly by a deep network
``1 -> 2 -> 2 -> ... -> 2 -> 1`` with ``k`` hidden layers (``6k + 1`` parameters, Telgarsky 2016). A one-hidden-
layer ReLU network with ``N`` units is piecewise linear with at most ``N + 1`` pieces, so it needs at least
``2^k - 1`` units (``3 (2^k - 1) + 1`` parameters) to represent ``T^k`` exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core.mlp import MLP, Params

Array = jax.Array


# ---------------------------------------------------------------------------------------------- 1-D targets
def _wiggly(x):
    """``sin(2 pi x) + 0.5 sin(5 pi x) exp(-x^2)``: two oscillations, one damped, 7 turning points on [-1, 1]."""
    return jnp.sin(2 * jnp.pi * x) + 0.5 * jnp.sin(5 * jnp.pi * x) * jnp.exp(-x ** 2)


# Targets on [-1, 1]: smooth, a kink, a jump (not continuous: outside the theorem's hypothesis) and a composite.
TARGETS: dict[str, Callable[[Array], Array]] = {
    "sin": lambda x: jnp.sin(jnp.pi * x),
    "abs": jnp.abs,
    "step": lambda x: (x >= 0).astype(jnp.result_type(x, jnp.float32)),
    "wiggly": _wiggly,
}
CONTINUOUS = {"sin": True, "abs": True, "step": False, "wiggly": True}


def target(name: str) -> Callable[[Array], Array]:
    if name not in TARGETS:
        raise ValueError(f"target: unknown target {name!r}; expected one of {', '.join(TARGETS)}")
    return TARGETS[name]


# ---------------------------------------------------------------------------------------------- bumps (C8)
def bump(x: Array, left: Array | float, right: Array | float, steepness: Array | float) -> Array:
    """``sigmoid(k (x - left)) - sigmoid(k (x - right))``: about 1 on ``[left, right)``, about 0 away from it."""
    return jax.nn.sigmoid(steepness * (x - left)) - jax.nn.sigmoid(steepness * (x - right))


def bump_network(f: Callable[[Array], Array], n_bumps: int, *, lo: float = -1.0, hi: float = 1.0,
                 sharpness: float = 20.0, dtype=jnp.float32) -> tuple[MLP, Params]:
    """The hand-built approximator ``g(x) = sum_j f(m_j) bump_j(x)`` of ``f`` on ``[lo, hi]`` (module docstring).

    Returns ``(MLP((1, 2 n, 1), hidden="sigmoid", output="identity"), params)``: hidden unit ``2j`` is the rising
    sigmoid at edge ``e_j``, unit ``2j + 1`` the falling one at ``e_{j+1}``; ``W1 = k``, ``b1 = -k e``,
    ``W2 = (+f(m_j), -f(m_j))``, ``b2 = 0``. ``sharpness`` is ``k`` times the bin width.
    """
    if not isinstance(n_bumps, (int, np.integer)) or n_bumps <= 0:
        raise ValueError(f"n_bumps: expected a positive int, got {n_bumps!r}")
    if not hi > lo:
        raise ValueError(f"lo, hi: expected lo < hi, got lo={lo}, hi={hi}")
    if not sharpness > 0:
        raise ValueError(f"sharpness: expected > 0, got {sharpness!r}")
    h = (hi - lo) / n_bumps
    edges = lo + h * np.arange(n_bumps + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    edges[0] -= h
    edges[-1] += h
    k = sharpness / h
    # Heights stay a jnp array so the construction can be traced (built inside jit for many n at once).
    heights = jnp.asarray(f(jnp.asarray(centres, dtype)), dtype)
    left, right = edges[:-1], edges[1:]
    e = np.stack([left, right], axis=1).reshape(-1)  # (2n,): rising edge, falling edge, ...
    w2 = jnp.stack([heights, -heights], axis=1).reshape(-1, 1)
    model = MLP((1, 2 * n_bumps, 1), hidden="sigmoid", output="identity")
    params = ({"W": jnp.full((1, 2 * n_bumps), k, dtype), "b": jnp.asarray(-k * e, dtype)},
              {"W": w2, "b": jnp.zeros((1,), dtype)})
    return model, params


# ---------------------------------------------------------------------------------------------- tent map (C18)
def tent(x: Array) -> Array:
    """The tent map ``T(x) = 1 - |2x - 1|`` on ``[0, 1]``."""
    return 1.0 - jnp.abs(2.0 * x - 1.0)


def sawtooth(x: Array, k: int) -> Array:
    """``T^k(x)``, the tent map composed ``k`` times: ``2^(k-1)`` teeth on ``[0, 1]``."""
    for _ in range(k):
        x = tent(x)
    return x


def sawtooth_network(k: int, dtype=jnp.float32) -> tuple[MLP, Params]:
    """A deep ReLU network ``1 -> 2 -> ... -> 2 -> 1`` (``k`` hidden layers) computing ``T^k`` exactly on [0, 1].

    Layer 1: ``h = relu(x - (0, 1/2))``; each further hidden layer takes ``T = 2 h_1 - 4 h_2`` of the previous
    one: ``W = [[2, 2], [-4, -4]]``, ``b = (0, -1/2)``; the output is ``2 h_1 - 4 h_2``.
    """
    if not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k: expected a positive int, got {k!r}")
    model = MLP((1,) + (2,) * k + (1,), hidden="relu", output="identity")
    first = {"W": jnp.array([[1.0, 1.0]], dtype), "b": jnp.array([0.0, -0.5], dtype)}
    middle = {"W": jnp.array([[2.0, 2.0], [-4.0, -4.0]], dtype), "b": jnp.array([0.0, -0.5], dtype)}
    last = {"W": jnp.array([[2.0], [-4.0]], dtype), "b": jnp.zeros((1,), dtype)}
    return model, (first,) + (middle,) * (k - 1) + (last,)


def shallow_sawtooth_network(k: int, dtype=jnp.float32) -> tuple[MLP, Params]:
    """A one-hidden-layer ReLU network ``1 -> 2^k -> 1`` computing ``T^k`` exactly on [0, 1].

    ``T^k`` has slope ``+2^k`` on its even pieces and ``-2^k`` on its odd ones, with kinks at ``j / 2^k``; so
    ``T^k(x) = 2^k relu(x) + sum_{j=1}^{2^k - 1} (-1)^j 2^(k+1) relu(x - j / 2^k)``. Every kink needs its own unit,
    so no shallow ReLU network with fewer than ``2^k - 1`` hidden units computes ``T^k``.
    """
    if not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k: expected a positive int, got {k!r}")
    n = 2 ** k
    j = np.arange(n)
    slope_change = np.where(j == 0, float(n), np.where(j % 2 == 1, -2.0 * n, 2.0 * n))
    model = MLP((1, n, 1), hidden="relu", output="identity")
    params = ({"W": jnp.ones((1, n), dtype), "b": jnp.asarray(-j / n, dtype)},
              {"W": jnp.asarray(slope_change[:, None], dtype), "b": jnp.zeros((1,), dtype)})
    return model, params


def shallow_width_for(num_params: int, d_in: int = 1, d_out: int = 1) -> int:
    """The width ``N`` of a one-hidden-layer network ``d_in -> N -> d_out`` (with biases) whose parameter count
    ``N (d_in + 1) + N d_out + d_out`` is closest to ``num_params``."""
    return max(1, int(round((num_params - d_out) / (d_in + 1 + d_out))))


def rms_error(y_hat: Array, y: Array) -> Array:
    """``sqrt(mean (y_hat - y)^2)`` over the last two axes (grid points and outputs)."""
    return jnp.sqrt(jnp.mean((y_hat - y) ** 2, axis=(-2, -1)))


def max_error(y_hat: Array, y: Array) -> Array:
    """``max |y_hat - y|`` over the last two axes."""
    return jnp.max(jnp.abs(y_hat - y), axis=(-2, -1))


@functools.partial(jax.jit, static_argnames=("targets", "bumps", "fit_bumps", "sharpness"))
def _bump_curves(targets, bumps, fit_bumps, sharpness, x_test):
    rms, mx, fits = [], [], []
    for name in targets:
        y_test = target(name)(x_test)
        out = {}
        for n in sorted(set(bumps) | set(fit_bumps)):
            model, params = bump_network(target(name), n, sharpness=sharpness)
            out[n] = model.apply(params, x_test)
        rms.append(jnp.stack([rms_error(out[n], y_test) for n in bumps]))
        mx.append(jnp.stack([max_error(out[n], y_test) for n in bumps]))
        fits.append(jnp.stack([out[n][:, 0] for n in fit_bumps]) if fit_bumps else jnp.zeros((0, x_test.shape[0])))
    return jnp.stack(rms), jnp.stack(mx), jnp.stack(fits)


def bump_curves(targets: Sequence[str], bumps: Sequence[int], x_test: Array, *, sharpness: float = 20.0,
                fit_bumps: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bump construction's test errors, no training: RMS and max error ``(targets, bumps)`` of
    :func:`bump_network` with ``n`` bumps for each ``n`` in ``bumps`` on ``x_test: (k, 1)``, and its outputs
    ``(targets, fit_bumps, k)`` for the counts in ``fit_bumps`` (for figures). One compiled program."""
    for name in targets:
        target(name)
    out = _bump_curves(tuple(targets), tuple(int(n) for n in bumps), tuple(int(n) for n in fit_bumps),
                       float(sharpness), jnp.asarray(x_test))
    return tuple(np.asarray(a) for a in out)
