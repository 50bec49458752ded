"""Smoke test of the zero_init study on its quick config: the verdicts it reports and what it writes."""

import math

import numpy as np

from xgnn_jax.studies import zero_init
from xgnn_jax.study.verdict import CONDITIONAL, HOLDS


def test_quick_study_reports_c19_to_c24(tmp_path, study_seed):
    cfg = zero_init.Config(seed=study_seed)
    summary = zero_init.run(cfg, out_dir=tmp_path, progress=False)
    verdicts = {v["claim"]: v for v in summary["verdicts"]}
    assert list(verdicts) == ["C19", "C20", "C21", "C22", "C23", "C24"]
    # The quick config's verdicts. C19 needs a non-zero mean output error, C21 zero biases, C23 downstream units
    # that pass a gradient at 0, C24 shallow nets: each condition is stated because the run measured it.
    for claim, word in (("C19", "balanced watermelon subset"), ("C21", "N(0, 1) biases"),
                        ("C23", "ReLU MLP"), ("C23", "each other"), ("C24", "deep ReLU")):
        assert verdicts[claim]["verdict"] == CONDITIONAL, verdicts[claim]["measured"]
        assert word in verdicts[claim]["conditions"], verdicts[claim]["conditions"]
    for claim in ("C20", "C22"):
        assert verdicts[claim]["verdict"] == HOLDS, verdicts[claim]["measured"]
        assert verdicts[claim]["conditions"] == ""

    n = summary["numbers"]
    assert all(n["C19"]["back_to_front_per_depth"].values())
    assert n["C19"]["max_unit_spread_zeros"] == 0.0 and n["C19"]["balanced_half_sse_nothing_moves"]
    assert n["C19"]["max_unit_spread_constant"] == 0.0  # symmetric starts stay exactly symmetric
    assert n["C19"]["balanced_bce_max_weight_grad"] == 0.0  # m = 128: the errors cancel exactly
    assert 0 < n["C19"]["float32_rounding_off_the_saddle"]["first_grad"] < 1e-6  # m = 250: only rounding is left
    for L in cfg.depths:  # first step of change, front to back: L, L-1, ..., 1
        assert n["C19"]["first_step_of_change_per_layer"][str(L)] == list(range(L, 0, -1))
    assert n["C20"]["median_steps_to_90"]["zero_w_random_b"] > n["C20"]["median_steps_to_90"]["random"]
    assert n["C22"]["zero_start_gap"] <= 1e-6 and n["C22"]["random_gap_max"] <= 1e-6
    assert n["C23"]["fm_zero"]["max_emb_grad"] == 0.0 and n["C23"]["mlp_tanh_zero"]["max_emb_grad"] > 0
    assert n["C23"]["relu_mlp_stuck"] and n["C23"]["fm_stuck"] and n["C23"]["mlp_tanh_close_to_random"]
    assert n["C23"]["mlp_tanh_zero"]["test_acc_median"] > 0.75 > n["C23"]["fm_zero"]["test_acc_median"]
    # Zero weights with N(0, 1) biases: every tanh run moves its weights; ReLU runs move unless all units are dead.
    tanh_moved, tanh_runs = n["C21"]["random_bias_runs_with_weight_gradient"]["tanh"]
    assert tanh_moved == tanh_runs == len(cfg.depths) * cfg.mask_seeds
    assert all(r[2] and r[3] and r[4] for r in n["C21"]["rows"])  # zero start: no weight gradient, output bias moves
    # Most seeds (not necessarily all: 7 of 8 at seed 2) reach 90% from zero weights and random biases, slowly.
    assert n["C20"]["fraction_reaching_90"]["zero_w_random_b"] >= 0.5
    assert verdicts["C20"]["facts"] == {"back_to_front": True, "median_seed_trains": True, "slower_than_random": True}
    assert n["C20"]["fraction_reaching_90"]["constant"] == 0.0
    c24 = n["C24"]
    assert c24["median_test_accuracy"]["zeros"] == 0.5 and c24["fraction_reaching_95"]["zeros"] == 0.0
    assert abs(c24["median_loss_step0"]["zeros"] - math.log(2)) < 1e-6
    assert c24["median_test_accuracy"]["fan_in_uniform"] > 0.95
    assert c24["relu_act_rms_gain_per_layer"]["fan_in_uniform"] < 0.8 < c24["relu_act_rms_gain_per_layer"]["he_normal"]

    # The discrete findings behind the verdicts (what must not move with the seed or the compiler).
    assert verdicts["C19"]["facts"] == {"back_to_front": True, "units_identical": True,
                                        "balanced_half_sse_still": True, "balanced_bce_still": True}
    assert verdicts["C21"]["facts"] == {"zero_start_only_output_bias": True, "random_biases_move_weights": True}
    assert verdicts["C22"]["facts"] == {"same_optimum": True, "newton_converged": True}
    assert verdicts["C23"]["facts"] == {"tanh_mlp_moves": True, "tanh_mlp_close_to_random": True,
                                        "relu_mlp_stuck": True, "fm_stuck": True}
    assert verdicts["C24"]["facts"] == {"fan_in_uniform_as_good_shallow": True,
                                        "fan_in_uniform_shrinks_deep_relu": True}
    for v in verdicts.values():
        assert v["answer"] and v["numbers"], v["claim"]
    # Per-restart tables of the scheme sweep (one row per scheme and seed) and of the logistic sweep.
    with open(tmp_path / "restarts.csv") as f:
        assert sum(1 for _ in f) == 1 + len(zero_init.SCHEMES) * cfg.scheme_seeds
    assert (tmp_path / "logistic_restarts.csv").exists()
    with np.load(tmp_path / "arrays.npz") as a:
        zeros_loss_is_ln2 = a["c24_zeros_loss0"]
        assert zeros_loss_is_ln2.shape == (cfg.scheme_seeds,)
        assert a["c22_final_loss"].shape == (cfg.logistic_seeds + 1,)  # the zero start, then the random ones
        assert a["masks_sigmoid_L2_W_grad"].shape == (2, 4, cfg.mask_seeds, cfg.mask_steps, 2)
    for fig in ("update_masks.png", "symmetry.png", "c20_training.png", "logistic.png", "embeddings.png",
                "schemes.png", "depth_profile.png"):
        assert (tmp_path / fig).exists()
