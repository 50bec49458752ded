"""The zero_init study's verdicts C19-C24, each from the parts' measurements (every number comes from the run):
C19-C21 (symmetry and update order) in :mod:`.symmetry_verdicts`, C22-C24 (logistic regression, embeddings,
schemes) here.
"""

from __future__ import annotations

import numpy as np

from xgnn_jax import stats
from xgnn_jax.studies.zero_init.starts import SCALED, SCHEME_LABELS, SCHEMES
from xgnn_jax.studies.zero_init.symmetry_verdicts import c19, c20, c21
from xgnn_jax.study.verdict import Number, verdict


def _fmt_range(a) -> str:
    a = np.asarray(a, dtype=float)
    return f"median {np.median(a):.3g} (range {a.min():.3g}-{a.max():.3g})"


def _iqr(name: str, a, n: int, unit: str = "") -> Number:
    q = stats.quartiles(a)
    return Number(name, q[1], q[0], q[2], f"IQR over {n} seeds", unit)


def c22(cfg, c22, figs) -> tuple:
    gap0 = abs(float(c22["final_loss"][0]) - c22["loss_star"])
    gapr = np.abs(c22["final_loss"][1:] - c22["loss_star"])
    acc = c22["final_accuracy"]
    ok = gap0 <= 1e-6 and float(gapr.max()) <= 1e-6 and not bool(np.any(c22["diverged"]))
    numbers = {"loss_star": c22["loss_star"], "zero_start_gap": gap0, "random_gap_max": float(gapr.max())}
    v = verdict(
        "C22", ok,
        "Can logistic regression start from all zeros and train normally, to the same optimum as random starts?",
        f"Watermelon 3.0alpha (not linearly separable: the optimum is finite, loss L* = {c22['loss_star']:.6f} by "
        f"Newton's method in float64, accuracy there {float(acc[0]):.3f}). Gradient at the zero start: norm "
        f"{c22['zero_start_grad_norm']:.3g} (not 0). After {cfg.logistic_steps} full-batch GD steps (lr "
        f"{cfg.logistic_lr}, float32): |L - L*| = {gap0:.2g} from zeros, at most {float(gapr.max()):.2g} over "
        f"{len(gapr)} N(0, 1) starts; diverged runs: {int(np.sum(c22['diverged']))}.",
        setting="mean binary cross-entropy, MLP((2, 1)) with a sigmoid output", figures=(figs.get("logistic", ""),),
        facts={"same_optimum": ok, "newton_converged": bool(c22["newton_converged"])},
        answer=("Yes: from all zeros gradient descent reaches the same optimum as every random start."
                if ok else "No: the zero start or a random start did not reach the optimum."),
        numbers=[Number("optimum L* (Newton, float64)", c22["loss_star"], unit="nats"),
                 Number("|L - L*| from zeros", gap0, unit="nats"),
                 Number("largest |L - L*| from random starts", float(gapr.max()), unit="nats")])
    return v, numbers


EMBEDDINGS = ("mlp_tanh_zero", "mlp_tanh_random", "mlp_relu_zero", "fm_zero", "fm_random")


def c23(cfg, e, figs) -> tuple:
    mz, mr, rz, fz, fr = (e[k] for k in EMBEDDINGS)
    mlp_ok = bool(np.all(mz["emb_grad"][:, 0] > 0)) and bool(np.all(mz["distinct_final"] == e["used_rows"]))
    mlp_close = float(np.median(mz["test_acc"])) >= float(np.median(mr["test_acc"])) - 0.05
    fm_stuck = float(fz["emb_grad"].max()) == 0.0 and float(fz["table_norm"].max()) == 0.0
    relu_stuck = float(rz["emb_grad"].max()) == 0.0
    # The claim under its condition (random downstream units that pass a gradient at 0: the tanh MLP): zero tables
    # get distinct non-zero gradients and train about as well as random ones. Conditional when a model was measured
    # where zero tables never move.
    ok, cond = mlp_ok and mlp_close, fm_stuck or relu_stuck
    stuck = []
    if relu_stuck:
        stuck.append("behind a ReLU MLP with zero biases (relu'(0) = 0) the largest embedding gradient over all "
                     f"steps was {float(rz['emb_grad'].max()):.3g}: the tables never moved (positive biases would "
                     "open the units; not measured here)")
    if fm_stuck:
        stuck.append("where embeddings meet only each other (factorisation machine, pairwise dot products) all-zero "
                     f"tables got gradient {float(fz['emb_grad'].max()):.3g} at every step and stayed at norm "
                     f"{float(fz['table_norm'].max()):.3g}")
    text = "; ".join(stuck)
    conditions = ("The zero tables must feed randomly initialised downstream units that pass a gradient at input 0 "
                  "(measured: tanh). " + text[:1].upper() + text[1:] + ".") if cond else ""
    numbers = {k: {"test_acc_median": float(np.median(e[k]["test_acc"])),
                   "train_acc_median": float(np.median(e[k]["train_acc"])),
                   "max_emb_grad": float(e[k]["emb_grad"].max())} for k in EMBEDDINGS}
    numbers.update(relu_mlp_stuck=relu_stuck, fm_stuck=fm_stuck, mlp_tanh_moves=mlp_ok,
                   mlp_tanh_close_to_random=mlp_close)
    measured = (
        f"Every pair of two {cfg.vocab}-category fields labelled by a hidden rank-2 interaction, {cfg.emb_train} "
        f"training pairs, {cfg.emb_seeds} seeds, full-batch GD, {cfg.emb_steps} steps. Zero tables + random tanh MLP:"
        f" embedding gradient at step 0 {_fmt_range(mz['emb_grad'][:, 0])}; {_fmt_range(mz['grad0_distinct'])} "
        f"distinct gradient rows of {e['used_rows']} at step 0, table rank {_fmt_range(mz['rank_step1'])} after "
        f"step 1 (every row moves along one direction first) and {_fmt_range(mz['rank_final'])} at the end, "
        f"{_fmt_range(mz['distinct_final'])} distinct rows; test accuracy {_fmt_range(mz['test_acc'])} against "
        f"{_fmt_range(mr['test_acc'])} from N(0, 0.1^2) tables. Factorisation machine from zero tables: largest "
        f"embedding-gradient norm over all steps {float(fz['emb_grad'].max()):.3g}, final table norm "
        f"{float(fz['table_norm'].max()):.3g}, test accuracy {_fmt_range(fz['test_acc'])} (the linear terms only) "
        f"against {_fmt_range(fr['test_acc'])} from random tables. Zero tables + ReLU MLP with zero biases: largest "
        f"embedding gradient {float(rz['emb_grad'].max()):.3g} (stuck: {relu_stuck}).")
    v = verdict(
        "C23", ok,
        "Can embedding tables start from zeros? With randomly initialised layers after the embedding, and in a "
        "model where embeddings meet only each other (factorisation machine)?",
        measured, conditional=cond, conditions=conditions,
        setting=f"embedding size {cfg.emb_dim}, hidden 16, lr {cfg.emb_lr}, mean cross-entropy",
        figures=(figs.get("embeddings", ""),),
        facts={"tanh_mlp_moves": mlp_ok, "tanh_mlp_close_to_random": mlp_close, "relu_mlp_stuck": relu_stuck,
               "fm_stuck": fm_stuck},
        answer=("Yes, when random downstream units pass a gradient at 0 (a tanh MLP): zero tables then train about "
                "as well as random ones" + ("; behind a ReLU MLP with zero biases or in a factorisation machine "
                                            "they never move." if cond else ".")) if ok else
               "No: zero tables did not train as well as random ones behind a tanh MLP.",
        numbers=[_iqr("test accuracy, zero tables + tanh MLP", mz["test_acc"], cfg.emb_seeds, "fraction"),
                 _iqr("test accuracy, random tables + tanh MLP", mr["test_acc"], cfg.emb_seeds, "fraction"),
                 _iqr("test accuracy, zero tables, factorisation machine", fz["test_acc"], cfg.emb_seeds,
                      "fraction")])
    return v, numbers


def _depth_gain(cfg, dp) -> dict:
    """Per-layer gain of the activation RMS: (last / first hidden layer) ^ (1 / (hidden layers - 1)), median
    over seeds, per (hidden activation, scheme) except zeros."""
    ratio = {(h, s): float(np.median(dp["act_rms"][(h, s)][:, -1] / dp["act_rms"][(h, s)][:, 0]))
             for h in ("relu", "tanh") for s in SCHEMES if s != "zeros"}
    return {k: v ** (1.0 / max(cfg.depth_layers - 2, 1)) for k, v in ratio.items()}


def c24(cfg, c24, dp, figs) -> tuple:
    med_test = {s: float(np.median(c24["test_acc"][s])) for s in SCHEMES}
    reach = {s: float(np.mean(c24["steps95"][s] > 0)) for s in SCHEMES}
    steps_med = {s: float(np.median(c24["steps95"][s][c24["steps95"][s] > 0])) if reach[s] > 0 else float("inf")
                 for s in SCHEMES}
    best = max(SCALED, key=lambda s: med_test[s])
    shallow_ok = (med_test["fan_in_uniform"] >= med_test[best] - 0.02
                  and reach["fan_in_uniform"] >= 0.9 * max(reach[s] for s in SCALED))
    gain = _depth_gain(cfg, dp)
    deep_shrinks = gain[("relu", "fan_in_uniform")] < 0.8 and 0.8 <= gain[("relu", "he_normal")] <= 1.25
    numbers = {"median_test_accuracy": med_test, "fraction_reaching_95": reach, "median_steps_to_95": steps_med,
               "relu_act_rms_gain_per_layer": {s: gain[("relu", s)] for s in SCHEMES if s != "zeros"},
               "tanh_act_rms_gain_per_layer": {s: gain[("tanh", s)] for s in SCHEMES if s != "zeros"},
               "median_loss_step0": {s: float(np.median(c24["loss0"][s])) for s in SCHEMES},
               "diverged": {s: int(np.sum(c24["diverged"][s])) for s in SCHEMES}}
    table = "; ".join(f"{SCHEME_LABELS[s]}: test {med_test[s]:.3f}, reached 95% {100 * reach[s]:.0f}%"
                      + (f" (median {steps_med[s]:.0f} steps among them)" if reach[s] > 0 else "")
                      + f", loss0 {float(np.median(c24['loss0'][s])):.3g}"
                      + (f", diverged {int(np.sum(c24['diverged'][s]))}" if np.any(c24["diverged"][s]) else "")
                      for s in SCHEMES)
    fr, he = gain[("relu", "fan_in_uniform")], gain[("relu", "he_normal")]
    measured = (
        f"2-10-5-1 ReLU/ReLU/sigmoid on two circles, {cfg.scheme_seeds} seeds per scheme, {cfg.scheme_steps} "
        f"full-batch GD steps (lr {cfg.scheme_lr}); median final test accuracy, share of seeds reaching 95% train "
        f"accuracy: {table}. Through {cfg.depth_layers} layers of width {cfg.depth_width} at initialisation, the "
        f"activation RMS changes per layer by x{fr:.2f} (ReLU) and x{gain[('tanh', 'fan_in_uniform')]:.2f} (tanh) "
        f"with U(+-1/sqrt(d)), against x{he:.2f} (ReLU, He) and x{gain[('tanh', 'glorot_uniform')]:.2f} (tanh, "
        f"Glorot): its variance 1/(3d) is a third of LeCun's and a sixth of He's.")
    v = verdict(
        "C24", shallow_ok,
        "Is U(-1/sqrt(d), 1/sqrt(d)) (d = fan-in) a good initialisation, compared with zeros, the book's U(0, 1), "
        "Glorot, He, LeCun and a too-large normal?",
        measured, conditional=deep_shrinks,
        conditions=(f"Shallow networks like this one: the scheme trains as well as Glorot/He/LeCun here, but its "
                    f"variance 1/(3d) makes signals shrink layer after layer in deep ReLU networks (activation RMS "
                    f"x{fr:.2f} per layer through {cfg.depth_layers} layers), where He's 2/d keeps them about "
                    f"constant (x{he:.2f}).") if deep_shrinks else "",
        setting="biases 0 (the book's scheme: U(0, 1) biases too); mean binary cross-entropy",
        figures=(figs.get("schemes", ""), figs.get("depth", "")),
        facts={"fan_in_uniform_as_good_shallow": shallow_ok, "fan_in_uniform_shrinks_deep_relu": deep_shrinks},
        answer=("Yes for shallow nets: it trains as well as Glorot, He and LeCun here"
                + (", but in deep ReLU nets it shrinks the signal layer after layer." if deep_shrinks else ".")
                if shallow_ok else "No: it trained worse than the fan-in-scaled schemes here."),
        numbers=[_iqr(f"test accuracy, {SCHEME_LABELS[s]}", c24["test_acc"][s], cfg.scheme_seeds, "fraction")
                 for s in ("fan_in_uniform", best, "zeros")]
        + [Number("ReLU activation RMS gain per layer, U(+-1/sqrt(d))", fr, unit="x per layer"),
           Number("ReLU activation RMS gain per layer, He normal", he, unit="x per layer")])
    return v, numbers


def all_verdicts(cfg, mk, c20_res, c22_res, c23_res, c24_res, dp, figs) -> tuple[list, dict]:
    """The six verdicts in claim order and their numbers per claim."""
    parts = {"C19": c19(cfg, mk, c20_res, figs), "C20": c20(cfg, mk, c20_res, figs),
             "C21": c21(cfg, mk, c24_res, figs), "C22": c22(cfg, c22_res, figs), "C23": c23(cfg, c23_res, figs),
             "C24": c24(cfg, c24_res, dp, figs)}
    return [v for v, _ in parts.values()], {k: n for k, (_, n) in parts.items()}
