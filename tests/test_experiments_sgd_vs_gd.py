import numpy as np
import pytest

from xgnn_jax.studies import sgd_vs_gd
from xgnn_jax.studies.sgd_vs_gd import watermelon
from xgnn_jax.study.verdict import CONDITIONAL


def test_sign_test_counts_untied_pairs_and_never_as_the_largest():
    wins, n, p = watermelon.sign([1, 2, 3, np.inf], [2, 3, 3, np.inf])
    assert (wins, n) == (2, 2) and np.isclose(p, 0.25)
    wins, n, p = watermelon.sign(np.arange(8.0), np.full(8, np.inf))
    assert (wins, n) == (8, 8) and np.isclose(p, 2.0**-8)
    assert watermelon.sign([3, 3], [1, 1])[0] == 0


def test_quick_study_reports_c11(tmp_path, study_seed):
    cfg = sgd_vs_gd.Config(seed=study_seed)
    summary = sgd_vs_gd.run(cfg, out_dir=tmp_path, progress=False)
    (v,) = summary["verdicts"]
    # Pinned for the seeded quick setting: every part measured on deterministic counts holds, and the condition is
    # that "more iterations" counts updates (standard BP needs fewer passes) and depends on the gradient convention.
    assert v["claim"] == "C11" and v["verdict"] == CONDITIONAL
    parts = summary["parts"]
    assert parts["more_updates"] and parts["updates_cancel"] and parts["large_fewer_gradient_evaluations"]
    assert parts["fewer_epochs"] and set(parts["equal_eta_mean_convention_standard_fewer_updates"]) <= set(cfg.etas)
    assert v["facts"] == {"more_updates": True, "fewer_epochs": True, "more_epochs": False, "updates_cancel": True,
                          "large_fewer_gradient_evaluations": True}
    assert "At equal eta with the mean gradient" in v["measured"]
    assert all(parts["best_interior"].values())
    best = summary["watermelon"]["best"]
    assert best["standard_eta"] == 10.0 and best["accumulated_step"] == 51.0  # sum gradient at eta 3 = mean at 51
    # The share of gradient pairs pointing apart is the share of melon pairs from different classes (8 good, 9 bad):
    # the two classes pull the single sigmoid output in opposite directions.
    gc = summary["watermelon"]["gradient_conflict"]
    assert np.isclose(gc["different_class_pairs"], 2 * 8 * 9 / (17 * 16))
    assert np.allclose(gc["negative_pairs_start"], gc["different_class_pairs"], atol=0.02)
    assert gc["ratio_start"][2] < 0.5 and gc["ratio_mid"][2] < 0.5 and 0 < gc["mid_epoch"] < cfg.standard_epochs
    large = summary["large"]["rows"]
    assert large["standard"]["reached"] == 1.0 and large["accumulated"]["reached"] == 1.0
    # Standard BP reaches the target with at least 10x fewer per-example gradient evaluations.
    assert 10 * large["standard"]["grad_evals_q25_50_75"][2] < large["accumulated"]["grad_evals_q25_50_75"][0]
    assert "reached it on 8/8" in v["measured"] and "not used for the verdict" in v["measured"]
    rows = summary["watermelon"]["rows"]
    assert {r["algorithm"] for r in rows} == {"standard BP", "accumulated BP, mean gradient",
                                              "accumulated BP, sum gradient"}
    assert all(r["diverged"] == 0 for r in rows)
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["wm_standard_curves"].shape[:2] == (len(cfg.etas), cfg.restarts)
        assert arrays["wm_conflict_ratio_mid"].shape == (cfg.restarts,)
    assert (tmp_path / "sgd_vs_gd_watermelon.png").exists() and (tmp_path / "sgd_vs_gd_large.png").exists()
    # every sweep keeps its chunks in the study's folder (an interrupted study resumes from them)
    for name in ("watermelon_standard", "watermelon_accumulated", "watermelon_mid", "moons_standard",
                 "moons_accumulated"):
        assert (tmp_path / "sweeps" / name / "manifest.json").exists(), name
    # one row per run (restart x step size) of every algorithm
    lines = (tmp_path / "restarts_watermelon_standard.csv").read_text().splitlines()
    assert len(lines) == 1 + len(cfg.etas) * cfg.restarts
    assert v["answer"] and len(v["numbers"]) == 6
    ratios = {n["name"]: n for n in v["numbers"] if "per restart" in n["name"]}
    assert len(ratios) == 2 and all(r["low"] <= r["value"] <= r["high"] and "sign test p" in r["unit"]
                                    for r in ratios.values())


def test_keyed_runs_resume_from_their_folder_and_refuse_other_keys(tmp_path):
    import jax

    from xgnn_jax.core.mlp import MLP
    from xgnn_jax.engine import train
    from xgnn_jax.studies.sgd_vs_gd.runs import keyed_runs

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    data = train.Data(x, np.array([[0], [1], [1], [0]], np.float32))
    model, tc = MLP((2, 2, 1)), train.TrainConfig(epochs=5, mode="sgd", record_grad_norm=False)
    keys = jax.random.split(jax.random.key(0), 4)
    first, r1 = keyed_runs(model, data, tc, keys, [0.5, 1.0], out_dir=tmp_path / "s", chunk_size=4)
    again, r2 = keyed_runs(model, data, tc, keys, [0.5, 1.0], out_dir=tmp_path / "s", chunk_size=4)
    assert r1.computed_chunks == [0, 1] and r2.computed_chunks == [] and r2.loaded_chunks == [0, 1]
    np.testing.assert_array_equal(first["loss"], again["loss"])
    with pytest.raises(ValueError, match="different sweep"):  # other keys are another sweep, never mixed in
        keyed_runs(model, data, tc, jax.random.split(jax.random.key(1), 4), [0.5, 1.0], out_dir=tmp_path / "s")
