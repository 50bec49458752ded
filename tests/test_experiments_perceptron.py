import numpy as np

from experiments import perceptron
from xgnn_jax import experiment


def test_quick_study_reports_c1_to_c5(tmp_path):
    cfg = perceptron.Config()
    summary = perceptron.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C1", "C2", "C3", "C4", "C5"}
    for c in ("C1", "C3", "C4", "C5"):
        assert verdicts[c]["verdict"] == experiment.HOLDS, verdicts[c]["measured"]
    # The loss is zero at w = b = 0 while every point is in M: the boundary condition of C2.
    assert verdicts["C2"]["verdict"] == experiment.CONDITIONAL
    assert summary["loss"]["boundary_cases"] == len(cfg.margins) * cfg.datasets_per_margin
    with np.load(tmp_path / "arrays.npz") as a:
        for choice in ("random", "cyclic"):
            assert np.all(a[f"updates_{choice}"] <= a["novikoff_bound"])
            assert a[f"converged_{choice}"].all()
            assert a[f"xor_not_separable_{choice}"].all()
        # (R / gamma)^2 recomputed from the stored R and gamma.
        np.testing.assert_allclose(a["novikoff_bound"], (a["R"] / a["gamma"]) ** 2, rtol=1e-5)
    assert summary["non_uniqueness"]["distinct"] > 1
    assert summary["xor"]["converged"] == 0
    for fig in ("perceptron_novikoff.png", "perceptron_hyperplanes.png", "perceptron_xor.png"):
        assert (tmp_path / fig).exists()
