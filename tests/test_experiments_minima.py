"""Smoke test of the minima study (C17) on its quick setting, plus its small helpers."""

import json

import numpy as np
import pytest

from experiments import minima
from xgnn_jax import critical, datasets, experiment


def test_parity_two_bits_is_xor_and_models_parse():
    x, y = minima.parity(2)
    gx, gy = datasets.logic_gate("xor")
    np.testing.assert_array_equal(x, gx)
    np.testing.assert_array_equal(y, gy)
    assert minima.make_model("2-1-1s").num_params == 7
    assert minima.make_model("2-3-1").sizes == (2, 3, 1)
    with pytest.raises(ValueError, match="networks"):
        minima.make_model("two-two-one")
    with pytest.raises(ValueError, match="ref_network"):
        minima.run(minima.Config(ref_network="2-9-1"))


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("minima")
    return minima.run(minima.Config(), out_dir=out, progress=False), out


def test_quick_run_reports_a_computed_verdict_for_c17(quick):
    summary, out = quick
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C17", "C17.traps", "C17.escape"}
    for v in verdicts.values():
        assert v["verdict"] in experiment.VERDICTS[:3]
        assert any(ch.isdigit() for ch in v["measured"])
        for f in v["figures"]:
            assert (out / f).is_file()
    # The verdict agrees with the numbers it rests on.
    cp = summary["critical_points"]
    strict = sum(cp[n]["labels"]["strict local minimum"] for n in minima.Config().networks)
    analysed = sum(cp[n]["analysed_nonconverged"] for n in minima.Config().networks)
    assert (verdicts["C17.traps"]["verdict"] == "holds") == (strict > analysed / 2)
    if verdicts["C17"]["verdict"] == experiment.CONDITIONAL:
        assert verdicts["C17"]["conditions"]
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["verdicts"] == summary["verdicts"]


def test_quick_run_numbers_are_consistent(quick):
    summary, out = quick
    cfg = minima.Config()
    for per_opt in summary["cells"].values():
        for c in per_opt.values():
            rate = np.asarray(c["solved_T"])
            assert rate.shape == (len(cfg.init_ranges), len(c["lrs"]))
            assert np.all(np.asarray(c["solved_T_lo"]) <= rate + 1e-12)
            assert np.all(rate <= np.asarray(c["solved_T_hi"]) + 1e-12)
            assert np.all(np.asarray(c["healed_by_4T"]) <= np.asarray(c["failed_T"]))
    for a in summary["critical_points"].values():
        if a.get("analysed_nonconverged"):
            assert sum(a["labels"].values()) == a["analysed_nonconverged"]
            assert a["labels"]["converged"] == 0          # non-converged points by construction
    rows = summary["escapes"]["rows"]
    assert {r["start"] for r in rows} <= {"scratch", "failed"}
    for r in rows:
        assert 0 <= r["lo"] <= r["success"] <= r["hi"] <= 1
        assert 0 < r["evals_mean"] <= summary["escapes"]["budget"] + cfg.ga_population
    bok = summary["best_of_k"]
    assert bok["k"][0] == 1 and bok["measured"][0] == pytest.approx(bok["predicted"][0])
    arrays = np.load(out / "arrays.npz")
    assert arrays["2_2_1__gd__solved_T"].shape == (len(cfg.init_ranges), len(cfg.gd_lrs), cfg.restarts)
    codes = arrays["2_2_1__hessian__codes"]
    assert codes.min() >= 0 and codes.max() < len(critical.LABELS)
    for f in ("heatmaps.png", "critical_points.png", "escapes.png", "landscapes.png", "basins.png"):
        assert (out / f).is_file()
