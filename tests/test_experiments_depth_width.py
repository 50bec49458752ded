import numpy as np
import pytest
import scipy.stats

from xgnn_jax.studies import depth_width
from xgnn_jax.study.verdict import CONDITIONAL, FAILS


def test_quick_study_reports_c18_and_the_training_half_of_c8(tmp_path, study_seed):
    cfg = depth_width.Config(seed=study_seed)
    summary = depth_width.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C18", "C8"}
    params = [a["params"] for a in summary["architectures"].values()]
    assert max(params) <= 1.1 * min(params)  # matched parameter counts
    exact = np.asarray(summary["exact"])
    ks = exact[:, 0]
    np.testing.assert_array_equal(exact[:, 1], 6 * ks + 1)
    np.testing.assert_array_equal(exact[:, 2], 3 * 2**ks + 1)
    assert np.all(exact[:, 3:] < 1e-4)
    # At seeds 0-4, both XLA optimisation levels and AVX2 rounding (24 seeds per architecture): the wide layer wins
    # on T^2 and on the smooth target, and no architecture learns T^4 (all stay near the constant fit).
    assert summary["targets"] == ["sawtooth T^2", "sawtooth T^4", "smooth"]
    assert summary["outcome"] == ["shallow", "not learned", "shallow"]
    learned = summary["learned_fraction"]
    assert all(f[1] == 0 for f in learned.values())
    assert min(m[1] for m in summary["median_rms"].values()) > 0.2
    assert summary["c8_counts"] == {"deep": 0, "shallow": 2, "tie": 0, "not_learned": 1}
    assert summary["diverged"] == 0
    outcome = dict(zip(summary["targets"], summary["outcome"], strict=True))
    assert verdicts["C18"]["facts"] == {"exact_constructions": True, "outcome": outcome}
    assert verdicts["C8"]["facts"] == {"outcome": outcome}
    # C18 holds only by construction; the trained comparison and the sawtooth-only evidence are its conditions.
    assert verdicts["C18"]["verdict"] == CONDITIONAL
    assert "sawtooth" in verdicts["C18"]["conditions"] and "lost on sawtooth T^2" in verdicts["C18"]["conditions"]
    # C8 (practical): deep clearly worse on the learnable targets, better on none; T^4 left out of the count.
    assert verdicts["C8"]["verdict"] == FAILS
    assert "left out: sawtooth T^4" in verdicts["C8"]["conditions"]
    assert "80 units" in verdicts["C8"]["conditions"] and "1500 steps" in verdicts["C8"]["conditions"]
    with np.load(tmp_path / "arrays.npz") as a:
        assert a["rms_all_lrs_arch0"].shape == (len(cfg.lrs), 3, cfg.seeds)
        # The reported errors are those of one of the tried rates, per target.
        for i in range(3):
            assert any(np.array_equal(a["rms_arch2"][i], a["rms_all_lrs_arch2"][j, i]) for j in range(len(cfg.lrs)))
        # The study's rank-sum p-values are scipy's Mann-Whitney (normal approximation with tie and continuity
        # corrections at 24 seeds), deep (arch2) against shallow (arch0).
        for i in range(3):
            deep, shallow = (np.asarray(a[k][i], np.float64) for k in ("rms_arch2", "rms_arch0"))
            want = scipy.stats.mannwhitneyu(deep, shallow, alternative="two-sided", method="asymptotic",
                                            use_continuity=True).pvalue
            assert summary["rank_sum_p"][i] == pytest.approx(want, rel=1e-9)
    # One row per restart of every architecture's sweep (learning rate x target x seed).
    with open(tmp_path / "restarts.csv") as f:
        assert sum(1 for _ in f) == 1 + 3 * len(cfg.lrs) * 3 * cfg.seeds
    numbers = {n["name"]: n for n in verdicts["C8"]["numbers"]}
    effect = numbers["sawtooth T^2: shallow / deep median RMS"]  # the effect beside its p-value
    assert 0 < effect["low"] < effect["high"] < np.inf and "rank-sum p" in effect["unit"]
    # The ratio is recomputed from the stored per-seed errors (shallow = arch0, deep = arch2), as the docstring says.
    with np.load(tmp_path / "arrays.npz") as a:
        shallow, deep = (np.asarray(a[k][0], np.float64) for k in ("rms_arch0", "rms_arch2"))
    expected = 10 ** (np.median(np.log10(shallow[np.isfinite(shallow)])) - np.median(np.log10(deep[np.isfinite(deep)])))
    np.testing.assert_allclose(summary["shallow_over_deep_median_ratio"][0]["ratio"], expected, rtol=1e-9)
    assert effect["value"] == summary["shallow_over_deep_median_ratio"][0]["ratio"]
    assert verdicts["C8"]["answer"]
    for fig in ("depth_width_errors.png", "depth_width_exact.png", "depth_width_fits.png"):
        assert (tmp_path / fig).exists()
