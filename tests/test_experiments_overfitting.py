import dataclasses

import numpy as np
import pytest

from experiments import overfitting
from xgnn_jax import experiment


def test_quick_study_reports_c16(tmp_path):
    summary = overfitting.run(overfitting.Config(), out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    assert v["claim"] == "C16" and v["verdict"] == experiment.CONDITIONAL
    tests = summary["test_error_q25_50_75"]
    floor = summary["setting"]["noise_floor"]
    # No test error can beat the noise floor by much: a sanity check that the test error is measured on fresh data.
    assert all(q[1] > 0.8 * floor for q in tests.values())
    assert tests["early stopping"][1] < tests["no remedy"][1]
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["test_none"].shape == (overfitting.Config().restarts,)
        # A run that stopped early stopped exactly `patience` epochs after its best validation epoch.
        stopped = arrays["es_stop_epoch"] < overfitting.Config().epochs
        assert stopped.any()
        np.testing.assert_array_equal((arrays["es_stop_epoch"] - arrays["es_best_epoch"])[stopped],
                                      overfitting.Config().patience)
    assert (tmp_path / "overfitting_curves.png").exists()


def test_bad_lambda_is_rejected():
    with pytest.raises(ValueError, match="lams"):
        overfitting.run(dataclasses.replace(overfitting.Config(), lams=(1.5,)), progress=False)
