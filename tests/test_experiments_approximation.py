import numpy as np

from experiments import approximation
from xgnn_jax import experiment


def test_quick_study_reports_c8(tmp_path):
    cfg = approximation.Config()
    summary = approximation.run(cfg, out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    assert v["claim"] == "C8" and v["verdict"] in (experiment.HOLDS, experiment.CONDITIONAL)
    per = summary["per_target"]
    for name in ("sin", "abs", "wiggly"):
        assert per[name]["bump_monotone"] and per[name]["trained_reached_tolerance"]
        assert per[name]["bump_rms"][-1] < per[name]["bump_rms"][0] / 10
    # The jump keeps a max error near 1/2 however many bumps: the condition the verdict names.
    assert per["step"]["bump_max"][-1] > 0.4 and "step" in v["conditions"]
    with np.load(tmp_path / "arrays.npz") as a:
        assert a["trained_rms"].shape == (len(cfg.targets), len(cfg.widths), cfg.seeds)
        assert not a["diverged"].any()
        med = np.median(a["trained_rms"], axis=2)
        assert np.all(med.min(axis=1) < med[:, 0])  # some width beats a single unit on every target
    for fig in ("approximation_error_vs_width.png", "approximation_bumps.png"):
        assert (tmp_path / fig).exists()
