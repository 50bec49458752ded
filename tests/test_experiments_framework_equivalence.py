"""Smoke test of the framework_equivalence study (C15) on its quick setting."""

import numpy as np
import pytest

from xgnn_jax.studies import framework_equivalence as fe
from xgnn_jax.study.verdict import HOLDS


def test_quick_study_finds_flax_and_core_equal_at_every_step(tmp_path, study_seed):
    cfg = fe.Config(seed=study_seed)
    summary = fe.run(cfg, out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    assert v["claim"] == "C15"
    rows = summary["rows"]
    assert {(r["run"], r["dtype"]) for r in rows} == {(run, d) for run in ("pytorch", "keras") for d in cfg.dtypes}
    for r in rows:
        assert r["steps"] == (cfg.torch_steps if r["run"] == "pytorch" else cfg.keras_epochs)
        assert r["diverged_core"] == r["diverged_flax"] == 0
        assert r["final_loss_mean"] < r["first_loss_mean"]  # the runs train
    # The quick config's verdict, and the numbers behind it: both routes take jax.grad from the same start in the
    # same compiled program, so the losses agree far inside the tolerances (bit for bit on CPU so far).
    assert v["verdict"] == HOLDS, v["measured"]
    for r in rows:
        assert r["ok"] and r["max_rel_diff"] <= 1e-3 * r["tolerance"], r
        if r["run"] in cfg.nnx_loop:
            assert r["nnx_max_rel_diff"] <= 1e-3 * r["tolerance"], r
    # The Keras-style run fits N(0, 1) targets with sigmoid outputs: its loss stays above the clipped-target floor.
    floor = summary["keras_sigmoid_mse_floor"]
    # The floor is a sample estimate over this data draw (0.5754 for a large N(0, 1) sample; 0.48 at seed 3).
    assert 0.35 < floor < 0.8
    for r in rows:
        if r["run"] == "keras":
            assert floor < r["final_loss_mean"] < floor + 0.1, r
    assert "seed_numpy_net" in v["measured"] and "backprop_check" in v["measured"]
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["pytorch_float32_core_loss"].shape == (cfg.restarts, cfg.torch_steps)
        assert arrays["keras_float64_rel_diff"].shape == (cfg.restarts, cfg.keras_epochs)
    for name in v["figures"]:
        assert (tmp_path / name).exists()


def test_relative_difference_is_zero_only_for_equal_values():
    a = np.array([1.0, 0.0, np.nan, 2.0, np.inf])
    b = np.array([1.0, 0.0, np.nan, 2.0 + 2e-6, 1.0])
    np.testing.assert_allclose(fe.relative_difference(a, b), [0.0, 0.0, 0.0, 1e-6, np.inf], rtol=1e-5)


def test_sigmoid_mse_floor_counts_only_targets_outside_0_1():
    assert fe.sigmoid_mse_floor(np.array([[-1.0, 0.5, 2.0, 0.0]])) == 0.5  # (1 + 0 + 1 + 0) / 4
    assert fe.sigmoid_mse_floor(np.array([0.2, 0.9])) == 0.0
    # Large sample of N(0, 1): 1/2 from y < 0 plus 2 (1 - Phi(1)) - phi(1) ~ 0.0754 from y > 1.
    y = np.random.default_rng(0).standard_normal(400_000)
    assert abs(fe.sigmoid_mse_floor(y) - 0.5754) < 0.005


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="restarts: expected a positive int"):
        fe.Config(restarts=0)
    with pytest.raises(ValueError, match="dtypes: expected some of"):
        fe.Config(dtypes=("float16",))
    with pytest.raises(ValueError, match="keras_batch: 128 is larger than the training set"):
        fe.Config(keras_batch=128)
    with pytest.raises(ValueError, match="nnx_loop"):
        fe.Config(nnx_loop=("tensorflow",))
    full = fe.Config.full()
    assert full.keras_hidden == (1000, 100) and full.torch_steps == 500 and full.keras_epochs == 100
