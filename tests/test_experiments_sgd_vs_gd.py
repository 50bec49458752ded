import numpy as np

from experiments import sgd_vs_gd
from xgnn_jax import experiment


def test_epochs_to_threshold_counts_from_one_and_marks_never():
    curves = np.array([[0.5, 0.2, 0.05, 0.01], [0.5, 0.4, 0.3, 0.2]])
    np.testing.assert_array_equal(sgd_vs_gd.epochs_to(curves, 0.1), [3, np.inf])


def test_quick_study_reports_c11(tmp_path):
    summary = sgd_vs_gd.run(sgd_vs_gd.Config(), out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    assert v["claim"] == "C11" and v["verdict"] in experiment.VERDICTS[:3]
    parts = summary["parts"]
    # Deterministic parts of the quick setting (seeded): counts of updates and gradient evaluations, gradient
    # geometry. Wall-time comparisons are noisy on a shared machine and are only reported.
    assert parts["more_updates"] and parts["updates_cancel"] and parts["large_fewer_gradient_evaluations"]
    assert v["verdict"] == (experiment.CONDITIONAL if parts["large_faster_wall_time"] else experiment.FAILS)
    rows = summary["watermelon"]["rows"]
    assert {r["algorithm"] for r in rows} == {"standard BP", "accumulated BP, mean gradient",
                                              "accumulated BP, sum gradient"}
    assert all(r["diverged"] == 0 for r in rows)
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["wm_standard_curves"].shape[:2] == (len(sgd_vs_gd.Config().etas), sgd_vs_gd.Config().restarts)
    assert (tmp_path / "sgd_vs_gd_watermelon.png").exists() and (tmp_path / "sgd_vs_gd_large.png").exists()
