"""The backprop_check study's quick setting: every check comes out as the code's correctness says it must."""

import json

import jax
import numpy as np

from xgnn_jax.studies import backprop_check
from xgnn_jax.study.verdict import CONDITIONAL, HOLDS


def test_quick_study_reports_c9_c10_c12_c13_c14(tmp_path, study_seed):
    x64_before = jax.config.jax_enable_x64
    summary = backprop_check.run(backprop_check.Config(seed=study_seed), out_dir=tmp_path, progress=False)
    assert jax.config.jax_enable_x64 == x64_before  # float64 only inside the study

    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C9", "C10", "C12", "C13", "C14"}
    for claim in ("C9", "C10", "C12", "C13"):
        assert verdicts[claim]["verdict"] == HOLDS, verdicts[claim]["measured"]
    # C14's conditions are measured facts: the init bug passes the gradient check, and 'hidden layers fed X' is
    # invisible with one hidden layer.
    c14 = verdicts["C14"]
    assert c14["verdict"] == CONDITIONAL, c14["measured"]
    assert "U[0, 1)" in c14["conditions"] and "init check" in c14["conditions"]
    assert "two hidden layers" in c14["conditions"]
    assert "4/4 gradient bugs" in c14["measured"] and "5/5 bugs" in c14["measured"]
    # The depth range is read off the rows: the quick table's C12 networks have 1 to 3 hidden layers.
    assert "1-3 hidden layers" in verdicts["C12"]["measured"], verdicts["C12"]["measured"]
    assert {r["hidden_layers"] for r in summary["rows"] if r["claim"] == "C12"} == {1, 2, 3}

    rows = summary["rows"]
    assert all(r["as_expected"] for r in rows), [r["name"] for r in rows if not r["as_expected"]]
    for r in rows:
        manual_auto, manual_fd, auto_fd = r["errors"]
        assert auto_fd <= 1e-5  # autodiff always agrees with finite differences
        if r["expect_pass"]:
            assert manual_auto <= 1e-10 and manual_fd <= 1e-5, r
        else:
            assert manual_auto == "inf" or manual_auto > 1e-3, r
    printed = next(r for r in rows if r["manual"] == "c13_article")
    assert abs(printed["errors"][0] - 0.5) < 1e-9

    zoo = {z["variant"]: z for z in summary["bug_zoo"]}
    assert set(zoo) == {"correct", *backprop_check.bp.DNN_BUGS}
    assert not zoo["correct"]["caught"]
    assert all(z["caught"] for name, z in zoo.items() if name != "correct")
    assert zoo["weights_uniform_0_1"]["caught_by"] == "init check"
    assert summary["hidden_fed_input_one_hidden_layer_rel"] == 0.0
    assert summary["c10"]["softmax_sum_err"] < 1e-12 and summary["c10"]["sigmoid_sum_max"] > 1.5

    names = {p.name for p in tmp_path.iterdir()}
    assert {"summary.json", "arrays.npz", "table.md", "errors.png", "config.json", "meta.json"} <= names
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    table = (tmp_path / "table.md").read_text()
    assert "| C13 as printed (factor 2 missing) |" in table and "## C14 bug zoo" in table
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["errors"].shape == (len(rows), backprop_check.Config(seed=study_seed).seeds, 3)
