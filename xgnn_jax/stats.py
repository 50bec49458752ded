"""Intervals and tests for the studies, on :mod:`scipy.stats` wherever scipy has them.

* :func:`wilson_interval`: the Wilson score interval of a binomial proportion (``binomtest(...).proportion_ci``).
* :func:`sign_test`: one- or two-sided sign test of paired wins and losses (``binomtest`` with ``p = 1/2``).
* :func:`paired_sign_test`: the sign test of two paired samples (ties and non-finite pairs left out).
* :func:`mcnemar_exact`: the exact McNemar test of two paired success indicators (``binomtest`` on the
  discordant pairs).
* :func:`rank_sum_p`: the two-sided Mann-Whitney rank-sum test (``mannwhitneyu``).
* :func:`bootstrap_ci`: a percentile bootstrap interval of any statistic (``scipy.stats.bootstrap``).
* :func:`quartiles`: ``(q25, median, q75)`` of the finite values, and :func:`iqrs_apart`.

Only what scipy lacks is written here (quartiles of finite values, the "IQRs apart" rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats as _st


def wilson_interval(successes: Any, n: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(lo, hi)`` of a binomial proportion ``successes / n``; arrays broadcast.

    ``center = (p + z^2 / 2n) / (1 + z^2 / n)``, ``half = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)``
    (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``). ``n = 0`` gives ``(0, 1)``.
    """
    s, n = np.broadcast_arrays(np.asarray(successes), np.asarray(n))
    if np.any(s < 0) or np.any(s > n):
        raise ValueError("successes: expected 0 <= successes <= n")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    lo, hi = np.zeros(s.shape), np.ones(s.shape)
    for i in np.ndindex(s.shape):
        if n[i] > 0:
            ci = _st.binomtest(int(s[i]), int(n[i])).proportion_ci(confidence, method="wilson")
            lo[i], hi[i] = ci.low, ci.high
    return lo, hi


def sign_test(wins: int, losses: int, alternative: str = "greater") -> float:
    """p-value of the sign test: under no effect, ``wins ~ Binomial(wins + losses, 1/2)``.

    ``alternative="greater"``: the chance of at least ``wins`` (one-sided); ``"two-sided"`` also available.
    1.0 when there is no untied pair.
    """
    n = int(wins) + int(losses)
    return float(_st.binomtest(int(wins), n, 0.5, alternative=alternative).pvalue) if n else 1.0


def paired_sign_test(a: Any, b: Any) -> dict[str, float]:
    """Sign test of paired samples ``a`` against ``b`` (e.g. test errors of two methods on the same restarts).

    Returns ``lower`` (pairs with ``a < b``), ``higher``, ``pairs`` (untied finite pairs), ``p_lower`` (one-sided p
    of "a lower") and ``p_higher``. Ties and pairs with a non-finite value are left out.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a {a.shape} (paired samples), got {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b) & (a != b)
    lower, higher = int(np.sum(a[ok] < b[ok])), int(np.sum(a[ok] > b[ok]))
    return {"lower": lower, "higher": higher, "pairs": lower + higher,
            "p_lower": sign_test(lower, higher), "p_higher": sign_test(higher, lower)}


def mcnemar_exact(solved_a: Any, solved_b: Any) -> dict[str, float]:
    """Exact McNemar test of two strategies run on the same (paired) starts: did they succeed equally often?

    Only the discordant pairs count: ``a_only`` (a succeeded, b failed) and ``b_only``. Under equal success
    probabilities ``a_only ~ Binomial(a_only + b_only, 1/2)``; the p-value is the two-sided binomial test (1 when
    there is no discordant pair).
    """
    a, b = np.asarray(solved_a, dtype=bool).ravel(), np.asarray(solved_b, dtype=bool).ravel()
    if a.shape != b.shape:
        raise ValueError(f"solved_b: expected the shape of solved_a {a.shape} (paired attempts), got {b.shape}")
    n10, n01 = int(np.sum(a & ~b)), int(np.sum(~a & b))
    return {"a_only": n10, "b_only": n01, "p": sign_test(n10, n01, "two-sided")}


def rank_sum_p(a: Any, b: Any) -> float:
    """Two-sided p-value of the Mann-Whitney rank-sum test of samples ``a`` and ``b`` (non-finite values left out;
    1.0 when either sample is empty). ``scipy.stats.mannwhitneyu`` (exact for small samples without ties, normal
    approximation with tie and continuity corrections otherwise)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return 1.0
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(_st.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def bootstrap_ci(data: Any, statistic: Callable[..., Any], *, confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0, paired: bool = False) -> tuple[float, float]:
    """Percentile bootstrap interval ``(lo, hi)`` of ``statistic`` (``scipy.stats.bootstrap``).

    ``data`` is a sequence of samples (``statistic(*samples)``); with ``paired=True`` the samples are resampled
    together (same indices), e.g. two strategies run on the same starts.
    """
    res = _st.bootstrap(tuple(np.asarray(d) for d in data), statistic, confidence_level=confidence,
                        n_resamples=n_resamples, method="percentile", paired=paired, vectorized=False,
                        rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def quartiles(x: Any) -> tuple[float, float, float]:
    """``(q25, median, q75)`` of the finite values of ``x`` (NaN, NaN, NaN when there are none)."""
    x = np.asarray(x, np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    q = np.percentile(x, [25, 50, 75])
    return float(q[0]), float(q[1]), float(q[2])


def iqrs_apart(a: Any, b: Any) -> bool:
    """Whether the interquartile ranges of ``a`` and ``b`` do not overlap."""
    qa, qb = quartiles(a), quartiles(b)
    return bool(qa[2] < qb[0] or qb[2] < qa[0])
