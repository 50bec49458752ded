"""Intervals and tests for the studies, on :mod:`scipy.stats` wherever scipy has them.

* :func:`wilson_interval`: the Wilson score interval of a binomial proportion (``binomtest(...).proportion_ci``).
* :func:`sign_test`: one- or two-sided sign test of paired wins and losses (``binomtest`` with ``p = 1/2``).
* :func:`paired_sign_test`: the sign test of two paired samples (ties and non-finite pairs left out).
* :func:`mcnemar_exact`: the exact McNemar test of two paired success indicators (``binomtest`` on the
  discordant pairs).
* :func:`rank_sum_p`: the two-sided Mann-Whitney rank-sum test (``mannwhitneyu``).
* :func:`bootstrap_ci`: a percentile bootstrap interval of any statistic (``scipy.stats.bootstrap``).
* :func:`quartiles`: ``(q25, median, q75)`` of the finite values, and :func:`iqrs_apart`.

Effect sizes with intervals, for the comparisons verdicts rest on (each returns ``effect``, ``low``, ``high`` and
a p-value, and :func:`decide` turns the interval into a three-way answer):

* :func:`median_difference`: ``median(a) - median(b)`` of two independent samples, percentile bootstrap interval,
  Mann-Whitney p.
* :func:`paired_median_difference`: the median of the paired differences ``a_i - b_i``, its distribution-free
  interval (``scipy.stats.quantile_test``, the sign test's own interval) and the two-sided sign-test p.
* :func:`rate_difference`: ``k_a / n_a - k_b / n_b`` of two independent success rates, Newcombe's hybrid score
  interval (from the two Wilson intervals), Fisher's exact p.
* :func:`decide`: ``True`` when the interval lies above the threshold, ``False`` below, ``None`` (inconclusive)
  when it straddles it.

Only what scipy lacks is written here (quartiles of finite values, the "IQRs apart" rule, Newcombe's combination
of two Wilson intervals).
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


def _finite(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64).ravel()
    if np.any(np.isnan(x)):
        raise ValueError(f"{name}: NaN in the sample (count diverged runs apart instead of passing them in)")
    return x[np.isfinite(x)]


def median_difference(a: Any, b: Any, *, confidence: float = 0.95, n_resamples: int = 2000,
                      seed: int = 0) -> dict[str, float]:
    """``median(a) - median(b)`` of two independent samples, with a percentile bootstrap interval (each sample
    resampled on its own, ``scipy.stats.bootstrap``) and the two-sided Mann-Whitney p (:func:`rank_sum_p`).

    Infinite values are left out (``inf`` marks "never reached"; count those apart); NaN is an error. Returns
    ``effect, low, high, p, n_a, n_b``; with fewer than 2 values in either sample the interval is ``(-inf, inf)``.
    """
    a, b = _finite(a, "a"), _finite(b, "b")
    effect = float(np.median(a) - np.median(b)) if a.size and b.size else float("nan")
    out = {"effect": effect, "low": -np.inf, "high": np.inf, "p": rank_sum_p(a, b), "n_a": a.size, "n_b": b.size}
    if a.size >= 2 and b.size >= 2:
        if np.ptp(a) == 0 and np.ptp(b) == 0:
            out["low"] = out["high"] = effect
        else:
            out["low"], out["high"] = bootstrap_ci((a, b), lambda u, v: np.median(u) - np.median(v),
                                                   confidence=confidence, n_resamples=n_resamples, seed=seed)
    return out


def paired_median_difference(a: Any, b: Any, *, confidence: float = 0.95) -> dict[str, float]:
    """The median of the paired differences ``d_i = a_i - b_i`` (e.g. two methods on the same restarts), with its
    distribution-free interval from the order statistics of ``d`` (``scipy.stats.quantile_test(d, q=0, p=0.5)``,
    the interval that matches the sign test) and the two-sided sign-test p (ties left out).

    Pairs with a non-finite value are left out. Returns ``effect, low, high, p, pairs`` (``pairs`` counts the
    finite pairs, ties included; no pair: NaN effect, infinite interval, p = 1).
    """
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a {a.shape} (paired samples), got {b.shape}")
    d = (a - b)[np.isfinite(a) & np.isfinite(b)]
    if d.size == 0:
        return {"effect": float("nan"), "low": -np.inf, "high": np.inf, "p": 1.0, "pairs": 0}
    ci = _st.quantile_test(d, q=0.0, p=0.5).confidence_interval(confidence)
    wins, losses = int(np.sum(d > 0)), int(np.sum(d < 0))
    return {"effect": float(np.median(d)), "low": float(ci.low), "high": float(ci.high),
            "p": sign_test(wins, losses, "two-sided"), "pairs": int(d.size)}


def rate_difference(k_a: int, n_a: int, k_b: int, n_b: int, *, confidence: float = 0.95) -> dict[str, float]:
    """``k_a / n_a - k_b / n_b`` for two independent success counts, with Newcombe's hybrid score interval
    (method 10 of Newcombe 1998: ``d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2)``, ``d + sqrt((u_a - p_a)^2 +
    (p_b - l_b)^2)`` from the Wilson intervals ``[l, u]``) and the two-sided Fisher exact p
    (``scipy.stats.fisher_exact``). Returns ``effect, low, high, p``."""
    for name, k, n in (("k_a", k_a, n_a), ("k_b", k_b, n_b)):
        if not (0 <= int(k) <= int(n)) or int(n) < 1:
            raise ValueError(f"{name}: expected 0 <= {name} <= n with n >= 1, got {k} of {n}")
    pa, pb = k_a / n_a, k_b / n_b
    (la,), (ua,) = (np.atleast_1d(v) for v in wilson_interval(k_a, n_a, confidence))
    (lb,), (ub,) = (np.atleast_1d(v) for v in wilson_interval(k_b, n_b, confidence))
    d = pa - pb
    p = float(_st.fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
    return {"effect": float(d), "low": float(d - np.hypot(pa - la, ub - pb)),
            "high": float(d + np.hypot(ua - pa, pb - lb)), "p": p}


def decide(effect: dict[str, float] | tuple[float, float], threshold: float = 0.0) -> bool | None:
    """Three-way answer from an interval: ``True`` when it lies wholly above ``threshold``, ``False`` when wholly
    below, ``None`` (inconclusive: the evidence cannot tell the two apart at this sample size) when it contains
    it. ``effect`` is a dict with ``low`` and ``high`` (as the functions above return) or a ``(low, high)`` pair."""
    low, high = (effect["low"], effect["high"]) if isinstance(effect, dict) else effect
    if low > threshold:
        return True
    if high < threshold:
        return False
    return None


def format_effect(e: dict[str, float], fmt: str = "{:.3g}") -> str:
    """``"+0.12 [0.03, 0.2], p = 0.004"``: an effect with its interval and p-value, for verdict texts."""
    sign = "+" if e["effect"] > 0 else ""
    return (f"{sign}{fmt.format(e['effect'])} [{fmt.format(e['low'])}, {fmt.format(e['high'])}], "
            f"p = {e['p']:.2g}")
