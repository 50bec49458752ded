import numpy as np

from xgnn_jax.studies import perceptron
from xgnn_jax.study.verdict import CONDITIONAL, HOLDS


def test_xor_figure_title_counts_zero_misclassified_states(tmp_path, monkeypatch):
    titles = []
    monkeypatch.setattr(perceptron.figures.plotting, "save", lambda fig, path: titles.append(fig.axes[0].get_title()))
    perceptron.figures.plot_xor(tmp_path, np.array([[1, 2, 1], [3, 1, 2]]))
    perceptron.figures.plot_xor(tmp_path, np.array([[1, 0, 1], [3, 1, 2]]))
    assert titles == ["Perceptron on XOR: 0 misclassified in none of 6 states",
                      "Perceptron on XOR: 0 misclassified in 1 of 6 states"]


def test_quick_study_reports_c1_to_c5(tmp_path, study_seed):
    cfg = perceptron.Config(seed=study_seed)
    summary = perceptron.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert set(verdicts) == {"C1", "C2", "C3", "C4", "C5"}
    for c in ("C1", "C3", "C4", "C5"):
        assert verdicts[c]["verdict"] == HOLDS, verdicts[c]["measured"]
    # The sigmoid gates are right with a margin (the book's AND theta = 2 would give exactly 1/2 at 11).
    gates = summary["gates"]
    assert gates["AND"]["book_theta_on_input"] and not gates["OR"]["book_theta_on_input"]
    assert all(g["sigmoid_margin"] > 0.4 for g in gates.values())
    # The loss is zero at w = b = 0 while every point is in M: the boundary condition of C2.
    assert verdicts["C2"]["verdict"] == CONDITIONAL
    assert summary["loss"]["boundary_cases"] == len(cfg.margins) * cfg.datasets_per_margin
    with np.load(tmp_path / "arrays.npz") as a:
        for choice in ("random", "cyclic", "first"):
            assert np.all(a[f"updates_{choice}"] <= a["novikoff_bound_best"] * (1 + 1e-9))
            assert a[f"converged_{choice}"].all()
            assert a[f"xor_not_separable_{choice}"].all()
        # (R / gamma)^2 recomputed from the stored R and gamma.
        np.testing.assert_allclose(a["novikoff_bound"], (a["R"] / a["gamma"]) ** 2, rtol=1e-5)
        # The best margin is at least the generating separator's, so its bound is the tighter one.
        assert np.all(a["gamma_best"] >= a["gamma"] * (1 - 1e-5))
        np.testing.assert_allclose(a["novikoff_bound_best"], (a["R"] / a["gamma_best"]) ** 2, rtol=1e-5)
    assert summary["non_uniqueness"]["distinct"] > 1
    assert summary["xor"]["converged"] == 0 and summary["xor"]["long_min_misclassified"] >= 1
    for v in verdicts.values():
        assert v["answer"] and v["numbers"], v["claim"]
    assert summary["loss"]["boundary_cases"] > 0 and verdicts["C5"]["facts"]["all_proofs"]
    assert (tmp_path / "novikoff_random.csv").exists()
    for fig in ("perceptron_novikoff.png", "perceptron_hyperplanes.png", "perceptron_xor.png"):
        assert (tmp_path / fig).exists()
