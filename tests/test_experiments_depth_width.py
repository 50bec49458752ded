import numpy as np

from experiments import depth_width
from xgnn_jax import experiment


def test_quick_study_reports_c18_and_the_training_half_of_c8(tmp_path):
    cfg = depth_width.Config()
    summary = depth_width.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C18", "C8"}
    params = [a["params"] for a in summary["architectures"].values()]
    assert max(params) <= 1.1 * min(params)  # matched parameter counts
    exact = np.asarray(summary["exact"])
    assert np.all(exact[:, 3:] < 1e-4) and np.all(exact[:, 2] >= exact[:, 1])
    assert verdicts["C18"]["verdict"] in (experiment.HOLDS, experiment.CONDITIONAL)
    outcome = summary["outcome"]
    deep_all = all(o == "deep" for o, t in zip(outcome, summary["targets"], strict=True) if t.startswith("sawtooth"))
    assert (verdicts["C18"]["verdict"] == experiment.HOLDS) == deep_all
    wins, losses = outcome.count("deep"), outcome.count("shallow")
    assert (verdicts["C8"]["verdict"] == experiment.HOLDS) == (wins > losses)
    for fig in ("depth_width_errors.png", "depth_width_exact.png", "depth_width_fits.png"):
        assert (tmp_path / fig).exists()
