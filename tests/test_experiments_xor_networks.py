import numpy as np

from experiments import xor_networks
from xgnn_jax import experiment


def test_quick_study_reports_c6_c7_and_exercise_5_7(tmp_path):
    cfg = xor_networks.Config()
    summary = xor_networks.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C6", "C7", "Ex5.7"}
    frac = summary["sigmoid_221"]["success_fraction"]
    assert summary["step_network"]["correct"] and 0 < frac
    assert verdicts["C6"]["verdict"] == (experiment.HOLDS if frac == 1 else experiment.CONDITIONAL)
    assert verdicts["C7"]["verdict"] == experiment.HOLDS
    lc = summary["linear_collapse"]
    assert lc["max_abs_difference"] < 1e-12 and abs(lc["least_squares_loss"] - 0.125) < 1e-12
    assert lc["trained_min_loss"] >= lc["least_squares_loss"] - 1e-9 and lc["trained_max_accuracy"] <= 0.75
    assert verdicts["Ex5.7"]["verdict"] == experiment.HOLDS
    with np.load(tmp_path / "arrays.npz") as a:
        assert a["sigmoid_final_accuracy"].shape == (cfg.seeds,)
        np.testing.assert_allclose(np.mean(a["sigmoid_final_accuracy"] == 1), frac)
    assert (tmp_path / "xor_decision_regions.png").exists()
