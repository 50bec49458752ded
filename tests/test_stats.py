import numpy as np
import pytest
from scipy import stats as scipy_stats

from xgnn_jax import stats


def test_wilson_interval_matches_the_closed_form():
    lo, hi = stats.wilson_interval([3, 0, 10], [10, 0, 10])
    z = 1.959963984540054
    p, n = 0.3, 10
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    np.testing.assert_allclose([lo[0], hi[0]], [center - half, center + half], rtol=1e-9)
    assert (lo[1], hi[1]) == (0.0, 1.0)  # no trials: no information
    assert hi[2] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="successes"):
        stats.wilson_interval(5, 3)


def test_sign_and_mcnemar_tests_are_exact_binomial_tails():
    assert stats.sign_test(8, 0) == pytest.approx(1 / 256)
    assert stats.sign_test(0, 0) == 1.0
    a = np.array([1, 1, 1, 1, 0, 0], bool)
    b = np.array([0, 0, 0, 0, 0, 1], bool)
    r = stats.mcnemar_exact(a, b)
    assert (r["a_only"], r["b_only"]) == (4, 1)
    assert r["p"] == pytest.approx(2 * (1 + 5) / 32)
    s = stats.paired_sign_test([1.0, 2.0, 3.0, np.nan], [2.0, 3.0, 3.0, 1.0])
    assert (s["lower"], s["higher"], s["pairs"]) == (2, 0, 2)
    assert s["p_lower"] == pytest.approx(0.25)


def test_rank_sum_and_bootstrap():
    assert stats.rank_sum_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(2 / 70)
    assert stats.rank_sum_p([1, 1], [1, 1]) == 1.0
    assert stats.rank_sum_p([], [1.0]) == 1.0
    x = np.random.default_rng(0).normal(size=200)
    lo, hi = stats.bootstrap_ci([x], np.mean, seed=1)
    assert lo < x.mean() < hi and hi - lo < 0.5
    assert stats.quartiles([1, 2, 3, np.inf])[1] == 2.0
    assert stats.iqrs_apart([1, 2, 3], [10, 11, 12]) and not stats.iqrs_apart([1, 5], [2, 6])


def test_median_difference_interval_covers_a_known_shift_and_decides():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 400)
    e = stats.median_difference(a, b)
    assert e["low"] < 1.0 < e["high"] and e["low"] > 0 and e["p"] < 1e-6
    assert stats.decide(e) is True and stats.decide(e, threshold=2.0) is False
    tie = stats.median_difference(rng.normal(0, 1, 20), rng.normal(0, 1, 20))
    assert stats.decide(tie) is None  # two draws of one distribution: the interval straddles 0
    # inf (never reached) is left out, NaN is refused.
    assert stats.median_difference(np.r_[a, np.inf], b)["n_a"] == 400
    with pytest.raises(ValueError, match="^a: NaN"):
        stats.median_difference(np.r_[a, np.nan], b)


def test_paired_median_difference_uses_the_order_statistic_interval():
    d = np.arange(1.0, 21.0)  # differences 1..20: median 10.5
    e = stats.paired_median_difference(d, np.zeros(20))
    ci = scipy_stats.quantile_test(d, q=0, p=0.5).confidence_interval(0.95)
    assert e["effect"] == 10.5 and (e["low"], e["high"]) == (ci.low, ci.high)
    assert e["p"] == pytest.approx(2 * 0.5 ** 20) and e["pairs"] == 20
    with pytest.raises(ValueError, match="^b: expected the shape"):
        stats.paired_median_difference(d, np.zeros(3))


def test_rate_difference_newcombe_interval():
    # Newcombe (1998), table II example: 56/70 vs 48/80 gives d = 0.2 with the hybrid score interval
    # [0.0524, 0.3339].
    e = stats.rate_difference(56, 70, 48, 80)
    assert e["effect"] == pytest.approx(0.2)
    assert e["low"] == pytest.approx(0.0524, abs=5e-4) and e["high"] == pytest.approx(0.3339, abs=5e-4)
    assert stats.decide(e) is True and 0 < e["p"] < 0.05
    assert stats.decide(stats.rate_difference(7, 8, 8, 8)) is None
    with pytest.raises(ValueError, match="^k_b"):
        stats.rate_difference(1, 2, 3, 2)
    assert stats.format_effect(e).startswith("+0.2 [0.0524, 0.334], p = ")
