import numpy as np
import pytest

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
