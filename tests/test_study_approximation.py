import numpy as np

from xgnn_jax.studies import approximation
from xgnn_jax.study.verdict import HOLDS


def test_quick_study_reports_c8(tmp_path, study_seed):
    cfg = approximation.Config(seed=study_seed)
    summary = approximation.run(cfg, out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    # Robust at every seed and compiler setting tried: every continuous target is approximated, by the bump
    # construction (its error falls with every doubling) and by training at the best width. Which width trains
    # best with one untuned rate moves with the seed (4 seeds per width), so it is measured, not pinned.
    assert v["claim"] == "C8" and v["verdict"] == HOLDS, v["measured"]
    assert v["facts"] == {"continuous_targets_approximated": True, "step_max_error_stays": True}
    per = summary["per_target"]
    for name in ("sin", "abs", "wiggly"):
        assert per[name]["bump_monotone"] and per[name]["trained_reached_tolerance"]
        assert per[name]["bump_rms"][-1] < per[name]["bump_rms"][0] / 10
        assert per[name]["best_width"] >= 16
        assert 0 <= per[name]["widest_vs_best_rank_sum_p"] <= 1
    # The jump keeps a max error near 1/2 however many bumps (outside the theorem; reported, not a condition).
    assert summary["step_max_stays"] and per["step"]["bump_max"][-1] > 0.4 and "step" in v["measured"]
    assert "[" in v["measured"]  # medians come with their IQR
    sin = per["sin"]
    with np.load(tmp_path / "arrays.npz") as a:
        assert a["trained_rms"].shape == (len(cfg.targets), len(cfg.widths), cfg.seeds)
        assert not a["diverged"].any()
        med = np.median(a["trained_rms"], axis=2)
        np.testing.assert_allclose(med[0], sin["trained_median_rms"], rtol=1e-6)
        assert np.all(med.min(axis=1) < med[:, 0])  # some width beats a single unit on every target
    assert v["answer"] and len(v["numbers"]) == 4  # three continuous targets and the jump
    assert (tmp_path / "width_16.csv").exists()
    for fig in ("approximation_error_vs_width.png", "approximation_bumps.png"):
        assert (tmp_path / fig).exists()
