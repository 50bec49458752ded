"""Smoke test of the framework_equivalence study (C15) on its quick setting: the article's numpy loop, its fixed
DNN class, its PyTorch and Keras code and the Flax versions against the core."""

import os

import numpy as np
import pytest

from xgnn_jax.studies import framework_equivalence as fe
from xgnn_jax.study.verdict import HOLDS


def test_quick_study_finds_every_system_equal_to_the_core(tmp_path, study_seed):
    cfg = fe.Config(seed=study_seed)
    summary = fe.run(cfg, out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    assert v["claim"] == "C15"
    missing = [k for k, ok in summary["installed"].items() if not ok]
    if missing and os.environ.get("XGNN_ALLOW_MISSING_FRAMEWORKS") != "1":
        pytest.fail(f"frameworks not installed: {missing} (pip install -e '.[frameworks]')")
    rows = summary["rows"]
    assert {(r["system"], r["dtype"]) for r in rows} == {(s, d) for s in fe.SYSTEMS for d in cfg.dtypes}
    for r in rows:
        if not r["ran"]:
            assert r["system"] in missing
            continue
        assert r["ok"] and r["max_rel_diff"] <= r["tolerance"], r
        assert r["max_rel_diff_whole_run"] >= r["max_rel_diff"]  # the decided prefix is part of the whole run
        if r["system"] != "flax":
            assert r["final_loss"] < r["first_loss"], r  # every system trains
    if not missing:
        assert v["verdict"] == HOLDS, v["measured"]
        assert set(v["facts"]["ran"]) == set(fe.SYSTEMS) and v["facts"]["not_installed"] == []
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["numpy_float64_core"].shape == (cfg.numpy_steps,)
        assert arrays["keras_float32_own"].shape == (cfg.keras_epochs,)
    for name in v["figures"]:
        assert (tmp_path / name).exists()
    # The Flax sweeps keep their chunks in the results folder (an interrupted run resumes them).
    assert {p.parent.name for p in (tmp_path / "sweeps").rglob("manifest.json")} == {
        f"flax_{m}_{d}" for m in ("pytorch", "keras") for d in cfg.dtypes}


def test_relative_difference_is_zero_only_for_equal_values():
    a = np.array([1.0, 0.0, np.nan, 2.0, np.inf])
    b = np.array([1.0, 0.0, np.nan, 2.0 + 2e-6, 1.0])
    np.testing.assert_allclose(fe.relative_difference(a, b), [0.0, 0.0, 0.0, 1e-6, np.inf], rtol=1e-5)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="dtypes: expected some of"):
        fe.Config(dtypes=("float16",))
    with pytest.raises(ValueError, match="keras_batch: 128 is larger than the training set"):
        fe.Config(keras_batch=128)
    full = fe.Config.full()
    assert full.keras_hidden == (1000, 100) and full.torch_steps == 500 and full.keras_epochs == 100
