"""The xor_networks study's verdicts (C6, C7, exercise 5.7): rules, measured text, answers and key numbers."""

from __future__ import annotations

import numpy as np

from xgnn_jax import stats
from xgnn_jax.study.verdict import Number, verdict


def c6(cfg, step_out, hidden, y, sig, figs, summary):
    """C6: the hand-set step network solves XOR; gradient training of a 2-2-1 sigmoid net does from some seeds."""
    step_ok = bool(np.all(step_out == y))
    ok, div, loss = sig["final_accuracy"] == 1.0, sig.diverged, sig["final_loss"]
    n_ok, n_div, frac = int(ok.sum()), int(div.sum()), float(ok.mean())
    stuck = loss[~ok & ~div]
    lo, hi = (float(v) for v in stats.wilson_interval(n_ok, cfg.seeds))
    summary["step_network"] = {"outputs": step_out[:, 0], "correct": step_ok}
    summary["sigmoid_221"] = {"seeds": cfg.seeds, "success_fraction": frac, "success_wilson95": (lo, hi),
                              "diverged": n_div}
    measured = (
        f"hand-set step network outputs {step_out[:, 0].astype(int).tolist()} on 00, 01, 10, 11 (XOR: "
        f"{y[:, 0].astype(int).tolist()}; hidden units {hidden.astype(int).tolist()}): correct = {step_ok}. "
        f"Trained 2-2-1 sigmoid network: {n_ok} of {cfg.seeds} seeds ({100 * frac:.0f}%, 95% Wilson interval "
        f"{100 * lo:.0f}-{100 * hi:.0f}%) reach 100% accuracy; diverged {n_div}; final loss of the successful seeds "
        f"median {np.median(loss[ok]) if ok.any() else float('nan'):.2g}"
        + (f"; the other {len(stuck)} end at loss {np.min(stuck):.3g}-{np.max(stuck):.3g} (median "
           f"{np.median(stuck):.3g}) without reaching XOR" if len(stuck) else ""))
    return verdict(
        "C6", step_ok and frac > 0, "Do two layers solve XOR, hand-set with step units and trained with sigmoids?",
        measured, conditional=frac < 1,
        conditions=f"gradient training reaches XOR from {100 * frac:.0f}% (95% CI {100 * lo:.0f}-{100 * hi:.0f}%) "
                   f"of random initialisations ({cfg.init}, lr {cfg.lr}); the other {cfg.seeds - n_ok} do not reach "
                   f"XOR within {cfg.epochs} full-batch steps (not shown here to be local minima: the minima study, C17, "
                   f"examines such end points), so training needs restarts or longer runs",
        setting=f"book's figure 5.5a weights; sigmoid 2-2-1, mean half squared error, accumulated BP (full batch "
                f"sgd), lr {cfg.lr}, {cfg.epochs} epochs, {cfg.seeds} seeds",
        figures=figs,
        answer=(f"Yes: the hand-set step network computes XOR, and a trained 2-2-1 sigmoid network reaches it from "
                f"{100 * frac:.0f}% of random starts{', so training needs restarts' if frac < 1 else ''}."
                if step_ok and frac > 0 else "No: neither the hand-set network nor training solved XOR."),
        numbers=[Number("sigmoid 2-2-1 seeds reaching XOR", frac, lo, hi, "95% Wilson", f"fraction of {cfg.seeds}"),
                 Number("diverged seeds", n_div, unit=f"of {cfg.seeds}")],
        facts={"step_network_correct": step_ok, "some_seeds_solve": n_ok > 0, "all_seeds_solve": n_ok == cfg.seeds})


def c7(cfg, collapse_err, out_scale, ls_loss, ls_out, lin, figs, summary):
    """C7: a deep identity network is one linear map; trained, it never beats the least-squares line on XOR."""
    loss, acc, div = np.asarray(lin["final_loss"], np.float64), lin["final_accuracy"], lin.diverged
    ok_loss = loss[~div]
    # A linear map cannot beat the least-squares optimum; 1e-9 allows for float64 rounding.
    never_better = bool(np.all(ok_loss >= ls_loss - 1e-9))
    max_acc = float(acc[~div].max()) if (~div).any() else float("nan")
    collapses = collapse_err <= 1e-12 * max(out_scale, 1.0)
    ok = collapses and never_better and max_acc <= 0.75
    summary["linear_collapse"] = {"max_abs_difference": collapse_err, "least_squares_loss": ls_loss,
                                  "trained_min_loss": float(ok_loss.min()), "trained_max_accuracy": max_acc}
    return verdict(
        "C7", ok, "Does a network without activations collapse to one linear map that cannot fit XOR?",
        f"deep identity network {tuple(cfg.linear_sizes)} vs x W + b with W = W1 W2 ... WL: max difference "
        f"{collapse_err:.2e} on 256 random inputs (outputs up to {out_scale:.3g}; float64). Best single linear "
        f"layer on XOR (least squares): loss {ls_loss:.4f}, outputs {ls_out[:, 0].round(3).tolist()}. "
        f"Deep linear network trained from {cfg.seeds} seeds: final loss min/median {ok_loss.min():.6f}/"
        f"{np.median(ok_loss):.6f} (never below the single layer's: {never_better}), best accuracy "
        f"{max_acc:.2f} (no line gets more than 3 of 4 XOR points)",
        setting=f"float64; training: mean half squared error, full batch, lr {cfg.linear_lr}, {cfg.epochs} epochs",
        figures=figs,
        answer=("Yes: the deep network without activations is one linear map x W + b to rounding, and trained on "
                "XOR it never does better than the best line (3 of 4 points)." if ok else
                "No: the deep linear network differed from one linear map or beat the best line."),
        numbers=[Number("max |deep - linear map|", collapse_err, unit="float64"),
                 Number("least-squares loss on XOR", ls_loss),
                 Number("lowest trained deep linear loss", float(ok_loss.min()), unit=f"of {cfg.seeds} seeds"),
                 Number("best trained accuracy", max_acc)],
        facts={"collapses_to_one_map": collapses, "never_below_least_squares": never_better,
               "at_most_three_of_four": max_acc <= 0.75})


def ex57(cfg, closed_err, rbf, figs, summary):
    """Exercise 5.7: RBF networks solve XOR in closed form always, by training from some starts."""
    ok, loss = rbf["final_accuracy"] == 1.0, rbf["final_loss"]
    n_ok, frac = int(ok.sum()), float(ok.mean())
    closed_ok = all(e < 1e-3 for e in closed_err.values())
    lo, hi = (float(v) for v in stats.wilson_interval(n_ok, cfg.seeds))
    summary["rbf"] = {"closed_form_max_error": closed_err, "trained_success_fraction": frac,
                      "trained_success_wilson95": (lo, hi)}
    return verdict(
        "Ex5.7", closed_ok and frac > 0, "Does an RBF network solve XOR (exercise 5.7), in closed form and by training?",
        "closed form: " + "; ".join(f"{k}: max |phi(x) - y| = {e:.1e}" for k, e in closed_err.items())
        + f". Trained ({cfg.rbf_centres} centres + bias, centres, widths and weights by Adam, {cfg.rbf_steps} steps): "
          f"{n_ok} of {cfg.seeds} seeds ({100 * frac:.0f}%, 95% Wilson interval {100 * lo:.0f}-"
          f"{100 * hi:.0f}%) reach 100% accuracy, final loss median {np.median(loss):.2g}"
        + (f"; the other {cfg.seeds - n_ok} end at loss {np.min(loss[~ok]):.3g}-{np.max(loss[~ok]):.3g}"
           if (~ok).any() else ""),
        conditional=frac < 1,
        conditions=f"the closed forms always solve it; gradient training of {cfg.rbf_centres} centres + bias reaches "
                   f"XOR from {100 * frac:.0f}% (95% CI {100 * lo:.0f}-{100 * hi:.0f}%) of random starts "
                   f"(centres uniform in [0, 1]^2, Adam lr {cfg.rbf_lr}, {cfg.rbf_steps} steps); the other "
                   f"{cfg.seeds - n_ok} do not within that budget",
        setting=f"rho(x, c) = exp(-beta |x - c|^2), beta = {cfg.rbf_beta} in the closed forms; trained: lr "
                f"{cfg.rbf_lr}, centres uniform in [0, 1]^2",
        figures=figs,
        answer=(f"Yes: both closed forms solve XOR exactly, and gradient training reaches it from {100 * frac:.0f}% "
                "of random starts." if closed_ok and frac > 0 else "No: an RBF network did not solve XOR."),
        numbers=[Number("trained RBF seeds reaching XOR", frac, lo, hi, "95% Wilson", f"fraction of {cfg.seeds}"),
                 Number("largest closed-form error", max(closed_err.values()))],
        facts={"closed_forms_solve": closed_ok, "some_seeds_solve": n_ok > 0, "all_seeds_solve": n_ok == cfg.seeds})
