"""Time to solution over many restarts, and how to compare it with a published number.

Outcome of one run (:func:`solve_outcome`, applied per restart inside :func:`xgnn_jax.engine.restarts.sweep`), from
the per-epoch history of a :class:`~xgnn_jax.engine.train.TrainResult` (index ``t - 1`` is epoch ``t``):

* ``epochs_correct``: the first epoch after which every example is on the right side of the threshold (for 0/1
  targets and a sigmoid output: every ``|o_k - y_k| < 0.5``);
* ``epochs_<name>`` for each ``(name, tol)`` in ``loss_targets``: the first epoch with data loss ``<= tol``;
* ``final_loss``, ``final_accuracy``, ``loss_drop`` (``1 - E_T / E_{0.9 T}``, the relative fall over the last tenth
  of training: is the run still moving?), ``diverged``, and with ``keep_params`` the final parameters.

"First epoch" follows :func:`xgnn_jax.engine.restarts.train_outcomes`: 1-based, ``-1`` when never reached.
:func:`as_times` turns that into floats with ``inf`` for never, so medians and quantiles count a failure as slower
than every success.

With the half sum of squares ``E = 1/2 sum_k (o_k - y_k)^2`` over ``m`` examples, the usual criteria are loss
thresholds: the PDP total sum of squares ``tss = sum_k (o_k - y_k)^2 = 2 E`` (``tss <= c`` is ``E <= c / 2``) and
the root mean square error ``rms = sqrt(2 E / m)`` (``rms < r`` is ``E < m r^2 / 2``).

Comparing with a published result (95% intervals from :mod:`xgnn_jax.stats` or order statistics):

* a fraction ``k / n`` against ours: :func:`fractions_agree` (the two Wilson intervals overlap);
* a published median of ``n`` runs: :func:`median_consistent`. Under our distribution ``F`` a median of ``n``
  independent runs falls below ``v`` with about the chance that at least half of ``n`` draws do; ``v`` is
  consistent when ``F(v)`` lies in the Wilson 95% interval of ``1/2`` at ``n`` draws (for large ``n`` it must be
  close to our median, for ``n = 1`` any value inside the central range is);
* a single published run: :func:`value_in_range` (inside our central 95% of runs);
* our median itself: :func:`median_interval`, the distribution-free order-statistic interval
  ``[x_(j), x_(k)]`` with ``j, k`` the binomial ``(1 -/+ c) / 2`` quantiles of ``Binomial(n, 1/2)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from scipy import stats as _st

from xgnn_jax import stats


def first_epoch(flags: Any) -> Any:
    """The first 1-based index along the last axis where ``flags`` holds, ``-1`` where it never does (jit-able)."""
    flags = jnp.asarray(flags, bool)
    return jnp.where(jnp.any(flags, axis=-1), jnp.argmax(flags, axis=-1) + 1, -1).astype(jnp.int32)


@functools.cache
def solve_outcome(loss_targets: tuple[tuple[str, float], ...] = (), keep_params: bool = False) -> Callable:
    """``outcome(result) -> dict`` (see the module docstring); one callable per argument tuple, so the sweep's
    compiled chunk program is reused. ``loss_targets``: ``(("tss", 0.02), ...)`` pairs of name and loss threshold."""
    for name, tol in loss_targets:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"loss_targets: expected (name, threshold) pairs with identifier names, got {name!r}")
        if not np.isfinite(tol) or tol <= 0:
            raise ValueError(f"loss_targets: the threshold of {name!r} must be a positive number, got {tol!r}")

    def outcome(result) -> dict[str, Any]:
        loss = result.history["loss"]
        T = loss.shape[-1]
        before = loss[max(0, (9 * T) // 10 - 1)]
        out = {"epochs_correct": first_epoch(result.history["accuracy"] >= 1.0),
               "final_loss": result.final_loss, "final_accuracy": result.final_accuracy,
               "loss_drop": 1.0 - result.final_loss / jnp.maximum(before, 1e-30), "diverged": result.diverged}
        for name, tol in loss_targets:
            out[f"epochs_{name}"] = first_epoch(loss <= tol)
        if keep_params:
            out["params"] = result.params
        return out

    return outcome


def drop_epoch(epochs: int) -> int:
    """The 1-based epoch whose loss :func:`solve_outcome`'s ``loss_drop`` compares the final loss with (9/10 in)."""
    return max(1, (9 * epochs) // 10)


def solve_probes(loss_targets: tuple[tuple[str, float], ...], keep_params: bool, epochs: int):
    """What the fused kernel must record for :func:`fused_solve_outcome` (:class:`xgnn_jax.engine.fused.Probes`)."""
    from xgnn_jax.engine import fused

    return fused.Probes(epochs=(drop_epoch(epochs),), params=keep_params,
                        loss_targets=tuple(float(tol) for _, tol in loss_targets))


@functools.cache
def fused_solve_outcome(loss_targets: tuple[tuple[str, float], ...] = (), keep_params: bool = False) -> Callable:
    """:func:`solve_outcome`'s outcomes from the fused kernel's output with :func:`solve_probes` (the same numbers
    without the per-epoch history)."""
    solve_outcome(loss_targets, keep_params)  # the same checks of the targets

    def outcome(o) -> dict[str, Any]:
        out = {"epochs_correct": o["first_solved"], "final_loss": o["final_loss"],
               "final_accuracy": o["final_accuracy"],
               "loss_drop": 1.0 - o["final_loss"] / jnp.maximum(o["loss_at"][0], 1e-30), "diverged": o["diverged"]}
        for k, (name, _) in enumerate(loss_targets):
            out[f"epochs_{name}"] = o["first_below"][k]
        if keep_params:
            out["params"] = o["params"]
        return out

    return outcome


def as_times(epochs: Any) -> np.ndarray:
    """First-epoch counts (``-1`` = never) as floats with ``inf`` for never."""
    e = np.asarray(epochs, np.float64)
    return np.where(e < 0, np.inf, e)


def restart_chain(times: Any, plateau: int, attempts: int = 2) -> np.ndarray:
    """Total epochs to a solution when a run that has not succeeded after ``plateau`` epochs is restarted afresh.

    ``times: (attempts * N,)`` first-success epochs of independent runs (``inf`` or ``-1`` = never), read as
    ``attempts`` blocks of ``N``: chain ``i`` tries run ``i``, then ``N + i``, ... Returns ``(N,)``: ``a * plateau +
    t`` for the first attempt ``a`` (0-based) with ``t <= plateau``, ``inf`` when none succeeds.
    """
    t = as_times(times).ravel()
    if isinstance(plateau, bool) or not isinstance(plateau, (int, np.integer)) or plateau <= 0:
        raise ValueError(f"plateau: expected a positive int of epochs, got {plateau!r}")
    if isinstance(attempts, bool) or not isinstance(attempts, (int, np.integer)) or attempts <= 0:
        raise ValueError(f"attempts: expected a positive int, got {attempts!r}")
    if t.size < attempts:
        raise ValueError(f"times: {t.size} runs are fewer than attempts={attempts}")
    n = t.size // attempts
    blocks = t[: n * attempts].reshape(attempts, n)
    total = np.full(n, np.inf)
    for a in range(attempts - 1, -1, -1):  # the earliest successful attempt wins
        ok = blocks[a] <= plateau
        total = np.where(ok, a * plateau + blocks[a], total)
    return total


def median_interval(x: Any, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(median, lo, hi)``: the sample median and its distribution-free order-statistic interval (module
    docstring); ``inf`` values (never solved) count as the largest. NaNs are an error."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    if x.size == 0 or np.any(np.isnan(x)):
        raise ValueError("x: expected a non-empty sample without NaN")
    n = x.size
    j = int(_st.binom.ppf((1 - confidence) / 2, n, 0.5))
    k = int(_st.binom.isf((1 - confidence) / 2, n, 0.5))
    return float(np.median(x)), float(x[max(j - 1, 0)]), float(x[min(k, n - 1)])


def fraction(k: int, n: int) -> tuple[float, float, float]:
    """``(k / n, lo, hi)`` with the Wilson 95% interval."""
    lo, hi = stats.wilson_interval(k, n)
    return (k / n if n else float("nan")), float(lo), float(hi)


def fractions_agree(k: int, n: int, k_pub: int, n_pub: int) -> bool:
    """Whether the Wilson 95% intervals of our ``k / n`` and the published ``k_pub / n_pub`` overlap."""
    _, lo, hi = fraction(k, n)
    _, lo_p, hi_p = fraction(k_pub, n_pub)
    return bool(lo <= hi_p and lo_p <= hi)


def median_consistent(ours: Any, published: float, n_published: int) -> tuple[float, float, float, bool]:
    """``(F, lo, hi, ok)``: ``F`` the fraction of our runs at or below the published median of ``n_published``
    runs, ``[lo, hi]`` the Wilson 95% interval of one half at ``n_published`` draws, ``ok = lo <= F <= hi``."""
    x = np.asarray(ours, np.float64).ravel()
    if x.size == 0:
        raise ValueError("ours: expected at least one run")
    if isinstance(n_published, bool) or not isinstance(n_published, int) or n_published <= 0:
        raise ValueError(f"n_published: expected a positive int, got {n_published!r}")
    F = float(np.mean(x <= published))
    lo, hi = _half_interval(n_published)
    return F, lo, hi, bool(lo <= F <= hi)


def _half_interval(n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion of 1/2 at ``n`` draws (for odd ``n``: the wider of the two neighbours)."""
    lo1, hi1 = stats.wilson_interval(n // 2, n)
    lo2, hi2 = stats.wilson_interval(-(-n // 2), n)
    return float(min(lo1, lo2)), float(max(hi1, hi2))


def value_in_range(ours: Any, value: float, coverage: float = 0.95) -> tuple[float, float, bool]:
    """``(lo, hi, ok)``: our central ``coverage`` range of runs (``inf`` = never solved) and whether ``value`` is
    inside it."""
    x = np.asarray(ours, np.float64).ravel()
    lo, hi = np.quantile(x, [(1 - coverage) / 2, (1 + coverage) / 2], method="inverted_cdf")
    return float(lo), float(hi), bool(lo <= value <= hi)


def log2_slope(widths: Sequence[int], samples: Sequence[Any], seed: int = 0) -> tuple[float, float, float, float]:
    """``(slope, intercept, lo, hi)``: least-squares line ``median_H = a + b log2 H`` through the medians of the
    per-width samples, and a percentile bootstrap 95% interval of ``b`` (each width resampled on its own)."""
    lx = np.log2(np.asarray(widths, np.float64))
    if lx.size < 2 or lx.size != len(samples):
        raise ValueError("widths: expected at least two widths, one sample each")

    def slope(*s):
        return np.polyfit(lx, [np.median(v) for v in s], 1)[0]

    b, a = np.polyfit(lx, [np.median(v) for v in samples], 1)
    lo, hi = stats.bootstrap_ci([np.asarray(v, np.float64) for v in samples], slope, seed=seed, n_resamples=999)
    return float(b), float(a), lo, hi


def boundary_fraction(labels: Any) -> float:
    """The fraction of horizontally or vertically adjacent pairs of a 2-D label map whose labels differ (a smooth
    basin map has few such pairs, a ragged, fractal-like one many)."""
    lab = np.asarray(labels)
    if lab.ndim != 2 or min(lab.shape) < 2:
        raise ValueError(f"labels: expected a 2-D map of at least 2 x 2, got shape {lab.shape}")
    pairs = (lab[1:, :] != lab[:-1, :]).sum() + (lab[:, 1:] != lab[:, :-1]).sum()
    total = lab[1:, :].size + lab[:, 1:].size
    return float(pairs / total)


def boundary_dimension(labels: Any) -> float:
    """A two-scale box-counting estimate of the dimension of the boundaries in a 2-D label map:
    ``log2(B(map) / B(map[::2, ::2]))`` with ``B`` the number of adjacent pairs whose labels differ. A smooth
    boundary crosses twice as many pairs at twice the resolution (1); a ragged, fractal-like one more (up to 2 for
    labels that change from point to point). Unlike :func:`boundary_fraction`, which falls as ``1 / resolution``
    for a smooth boundary, it does not depend on the resolution of the map. NaN when the coarse map has no
    boundary."""
    lab = np.asarray(labels)
    if lab.ndim != 2 or min(lab.shape) < 4:
        raise ValueError(f"labels: expected a 2-D map of at least 4 x 4, got shape {lab.shape}")

    def pairs(a):
        return int((a[1:, :] != a[:-1, :]).sum() + (a[:, 1:] != a[:, :-1]).sum())

    fine, coarse = pairs(lab), pairs(lab[::2, ::2])
    return float(np.log2(fine / coarse)) if coarse else float("nan")


def time_classes(times: Any) -> np.ndarray:
    """Times to solution in doubling classes: ``floor(log2 t)`` for solved runs, ``-1`` for never solved."""
    t = as_times(times)
    return np.where(np.isfinite(t), np.floor(np.log2(np.maximum(t, 1))), -1).astype(np.int32)
