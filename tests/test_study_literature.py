"""The literature study: every row is computed from runs (rule tests on synthetic samples, no compile) and the
quick setting reproduces the robust rows.

Pinned in the smoke test (held at seeds 0-4 with XLA level 1 and seed 0 with level 3): L01 (558 sweeps inside
our spread), L03 (Chauvin's slope differs), L06 and L07 (no failed run at a strict minimum), L10 (time depends on
the init radius), L13 (batch 2-3-1 success agrees), L14 (zero init stays at ln 2), L17 and L18 (Li Hang's
perceptron tables, exact), L19 (Novikoff's bound, a theorem). Left unpinned because they sit
near an interval's edge, rest on a handful of failures or on two seeds: L02, L04, L05, L08, L09, L11, L12, L15,
L16.
"""

import numpy as np
import pytest

from xgnn_jax.analysis import xor_runs as xr
from xgnn_jax.studies import literature
from xgnn_jax.studies.literature import rows

IDS = [f"L{i:02d}" for i in range(1, 20)]


def test_single_run_row_follows_our_spread():
    assert rows.rhw_shortcut(np.linspace(200, 2000, 200), 5000)["reproduced"]
    far = rows.rhw_shortcut(np.full(50, 5.0), 5000)
    assert not far["reproduced"] and "558" in far["reason"]


def test_fraction_rows_compare_wilson_intervals():
    t = np.where(np.arange(200) < 2, np.inf, 300.0)
    assert rows.rhw_stuck(t, 5000)["reproduced"]
    assert not rows.rhw_stuck(np.where(np.arange(200) < 100, np.inf, 300.0), 5000)["reproduced"]
    fails = np.where(np.arange(300) < 50, np.inf, 900.0)
    assert rows.numpy_fails(fails)["reproduced"] and rows.numpy_fails(fails)["ours"].startswith("50/300")
    assert not rows.numpy_fails(np.full(300, 900.0))["reproduced"]
    ok = rows.two_three_one("L12", "on-line", np.where(np.arange(100) < 4, np.inf, 50.0), 96)
    assert ok["reproduced"] and ok["id"] == "L12"
    assert not rows.two_three_one("L13", "batch", np.where(np.arange(100) < 30, np.inf, 50.0), 99)["reproduced"]


def test_restart_row_uses_the_chain_and_the_published_median():
    rng = np.random.default_rng(0)
    near = rng.uniform(500, 1400, 400)
    assert rows.numpy_restart(near)["reproduced"]
    assert not rows.numpy_restart(np.full(400, 100.0))["reproduced"]


def test_chauvin_row_fits_the_slope():
    rng = np.random.default_rng(1)
    widths = [2, 8, 32]
    law = [280 - 33 * np.log2(h) + rng.normal(0, 3, 100) for h in widths]
    assert rows.chauvin(widths, law, 0)["reproduced"]
    steep = [600 - 100 * np.log2(h) + rng.normal(0, 3, 100) for h in widths]
    assert not rows.chauvin(widths, steep, 0)["reproduced"]


def _analysis(n, strict=0, saturated=0):
    labels = {"strict local minimum": strict, "flat region / plateau": n - strict}
    return {"n": n, "labels": labels, "saturated": np.array([1] * saturated + [0] * (n - saturated))}


def test_minima_rows_count_the_failed_end_points():
    an = {"shortcut": {**_analysis(0), "runs": 100}, "2-2-1 rhw": _analysis(6, saturated=6),
          "2-2-1 numpy": _analysis(4), "2-3-1": _analysis(0)}
    got = {r["id"]: r for r in rows.minima_rows(an)}
    assert got["L06"]["reproduced"] and got["L07"]["reproduced"] and got["L08"]["reproduced"]
    assert got["L09"]["reproduced"] is None and got["L09"]["verdict"] == "undecided"
    an["2-2-1 numpy"] = _analysis(4, strict=1)
    an["2-3-1"] = _analysis(3)
    got = {r["id"]: r for r in rows.minima_rows(an)}
    assert got["L07"]["reproduced"] is False and got["L09"]["reproduced"]


def test_kolen_pollack_rows():
    radii = (0.5, 1.0, 4.0)
    flat = [np.full(64, 300.0) + np.arange(64) for _ in radii]
    assert not rows.kp_radius(radii, flat)["reproduced"]
    slow = [np.full(64, 300.0), np.full(64, 200.0), np.full(64, np.inf)]
    assert rows.kp_radius(radii, slow)["reproduced"]
    # A straight boundary and a circle are smooth (dimension about 1) at any resolution; a ragged map is
    # reproduced without any failing start; a map without boundary is not.
    t = np.full((32, 32), 100)
    t[:, 16:] = 400
    assert not rows.kp_slice({"epochs_correct": t}, 4.0, 1.0)["reproduced"]
    for n in (32, 128):
        u = np.linspace(-1, 1, n)
        circle = np.where(u[:, None] ** 2 + u[None, :] ** 2 < 0.5, 100, -1)
        assert abs(xr.boundary_dimension(xr.time_classes(circle)) - 1.0) < 0.1
        sl = rows.kp_slice({"epochs_correct": circle}, 4.0, 1.0)
        assert not sl["reproduced"] and "in 1 islands" in sl["ours"]
    ragged = np.where(np.random.default_rng(0).random((32, 32)) < 0.5, 100, 400)
    r = rows.kp_slice({"epochs_correct": ragged}, 4.0, 1.0)
    assert r["reproduced"] and "0 unsolved starts in 0 islands" in r["ours"]
    assert not rows.kp_slice({"epochs_correct": np.full((8, 8), 100)}, 4.0, 1.0)["reproduced"]


def test_init_exercise_rows():
    def res(z_loss, big_first, big_acc, he_acc):
        return {"zeros": {"final_loss": np.full(3, z_loss), "final_accuracy": np.full(3, 0.5)},
                "large": {"first_loss": np.full(3, big_first), "final_accuracy": np.full(3, big_acc)},
                "he": {"final_accuracy": np.full(3, he_acc)}}
    got = {r["id"]: r["reproduced"] for r in rows.init_exercise(res(np.log(2.0), 200.0, 0.8, 0.99), 15000)}
    assert got == {"L14": True, "L15": True, "L16": True}
    got = {r["id"]: r["reproduced"] for r in rows.init_exercise(res(0.5, 0.7, 0.99, 0.9), 15000)}
    assert got == {"L14": False, "L15": False, "L16": False}


def test_li_hang_rows_compare_entry_by_entry():
    book = {"chosen": np.array([0, 2, 2, 2, 0, 2, 2]), "w": np.array([1.0, 1.0]), "b": -3.0,
            "alpha": np.array([2.0, 0.0, 5.0]), "dual_b": -3.0,
            "gram": np.array([[18.0, 21, 6], [21, 25, 7], [6, 7, 2]])}
    assert [r["reproduced"] for r in rows.li_hang(book)] == [True, True]
    wrong = {**book, "chosen": np.array([0, 2, 2, 0, 2, 2, 2]), "alpha": np.array([3.0, 0.0, 5.0])}
    assert [r["reproduced"] for r in rows.li_hang(wrong)] == [False, False]
    assert [r["reproduced"] for r in rows.li_hang({**book, "gram": book["gram"] + 1})] == [True, False]


def test_novikoff_row_checks_every_run_against_its_bound():
    res = {"updates": np.array([3, 10, 40]), "bound": np.array([30.0, 100.0, 400.0]),
           "converged": np.array([True, True, True])}
    r = rows.novikoff(res)
    assert r["reproduced"] and "median 0.100" in r["ours"] and r["numbers"][0][1] == pytest.approx(0.1)
    assert not rows.novikoff({**res, "updates": np.array([3, 101, 40])})["reproduced"]
    assert not rows.novikoff({**res, "converged": np.array([True, False, True])})["reproduced"]


def test_bad_config_is_rejected_before_any_run():
    with pytest.raises(ValueError, match="restarts"):
        literature.run(literature.Config(restarts=127), progress=False)
    with pytest.raises(ValueError, match="chauvin_widths"):
        literature.run(literature.Config(chauvin_widths=(8, 16)), progress=False)


def test_quick_study_fills_every_row(tmp_path, study_seed):
    summary = literature.run(literature.Config(seed=study_seed), out_dir=tmp_path, progress=False)
    table = {r["id"]: r for r in summary["table"]}
    assert list(table) == IDS
    for r in table.values():
        assert set(r) == set(rows.ROW_FIELDS) and r["ours"] and r["published"] and r["verdict"]
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"L00", *IDS}
    assert "| L18 |" in verdicts["L00"]["measured"]
    for i in ("L01", "L06", "L07", "L10", "L13", "L14", "L17", "L18", "L19"):
        assert table[i]["reproduced"] is True, (i, table[i])
        assert verdicts[i]["facts"] == {"reproduced": True}
    assert table["L03"]["reproduced"] is False
    assert "bound exceeded on 0 of 96 sets" in table["L19"]["ours"]
    assert verdicts["L01"]["numbers"] and verdicts["L01"]["numbers"][0]["low"] is not None
    for fig in verdicts["L00"]["figures"]:
        assert (tmp_path / fig).is_file()
    assert (tmp_path / "shortcut.csv").is_file() and (tmp_path / "summary.json").is_file()
    # Every sweep is resumable: its chunks live under the study's folder.
    parts = {p.parent.name for p in (tmp_path / "sweeps").rglob("manifest.json")}
    assert parts >= {"shortcut", "2-2-1", "2-3-1_batch", "2-3-1_online", "slice", "init_exercise", "novikoff"}
