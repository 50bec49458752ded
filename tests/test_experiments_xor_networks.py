import numpy as np

from experiments import xor_networks
from xgnn_jax import experiment


def test_quick_study_reports_c6_c7_and_exercise_5_7(tmp_path, study_seed):
    cfg = xor_networks.Config(seed=study_seed)
    summary = xor_networks.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C6", "C7", "Ex5.7"}
    # Quick setting, seed 0: 48 of 64 sigmoid seeds and 50 of 64 RBF seeds reach XOR, so both trained halves
    # hold only under conditions (restarts), with the Wilson interval in the conditions.
    sig = summary["sigmoid_221"]
    assert summary["step_network"]["correct"]
    assert round(sig["success_fraction"] * cfg.seeds) == 48 and sig["diverged"] == 0
    lo, hi = sig["success_wilson95"]
    assert 0.60 < lo < 0.75 < hi < 0.87
    assert verdicts["C6"]["verdict"] == experiment.CONDITIONAL
    assert "the other 16 do not reach XOR within 2000" in verdicts["C6"]["conditions"]
    assert f"{100 * lo:.0f}-{100 * hi:.0f}%" in verdicts["C6"]["conditions"]
    assert verdicts["C7"]["verdict"] == experiment.HOLDS
    lc = summary["linear_collapse"]
    assert lc["max_abs_difference"] < 1e-12 and abs(lc["least_squares_loss"] - 0.125) < 1e-12
    assert lc["trained_min_loss"] >= lc["least_squares_loss"] - 1e-9 and lc["trained_max_accuracy"] <= 0.75
    rbf = summary["rbf"]
    assert all(e < 1e-3 for e in rbf["closed_form_max_error"].values())
    assert round(rbf["trained_success_fraction"] * cfg.seeds) == 50
    assert verdicts["Ex5.7"]["verdict"] == experiment.CONDITIONAL
    assert "the other 14 do not" in verdicts["Ex5.7"]["conditions"]
    with np.load(tmp_path / "arrays.npz") as a:
        assert a["sigmoid_final_accuracy"].shape == (cfg.seeds,)
        np.testing.assert_allclose(np.mean(a["sigmoid_final_accuracy"] == 1), sig["success_fraction"])
        np.testing.assert_allclose(np.mean(a["rbf_final_accuracy"] == 1), rbf["trained_success_fraction"])
    assert (tmp_path / "xor_decision_regions.png").exists()
