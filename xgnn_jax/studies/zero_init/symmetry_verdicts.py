"""The zero_init study's verdicts on symmetry and update order from zero starts: C19, C20 and C21.

Index conventions of the mask part's arrays: ``[subset, start, seed, step, layer]`` with subset 0 the whole of
watermelon 3.0alpha (8 of 17 good: the mean output error at the start is not 0) and 1 its balanced subset, and
start the index into :data:`~xgnn_jax.studies.zero_init.starts.STARTS`.
"""

from __future__ import annotations

import math

import numpy as np

from xgnn_jax import stats
from xgnn_jax.analysis import symmetry
from xgnn_jax.studies.zero_init.starts import STARTS
from xgnn_jax.studies.zero_init.sweeps import first_at
from xgnn_jax.study.verdict import Number, verdict

S = {s: i for i, s in enumerate(STARTS)}
FULL, BAL = 0, 1


def _share(name: str, hits) -> Number:
    """The fraction of true ``hits`` with its 95% Wilson interval."""
    hits = np.asarray(hits, bool).ravel()
    lo, hi = stats.wilson_interval(int(hits.sum()), hits.size)
    return Number(name, float(hits.mean()), float(lo), float(hi), "95% Wilson", "fraction")


def _masks_c19(cfg, mk) -> dict:
    """C19's mask facts: back-to-front order per depth from all zeros, unit spreads, the balanced subset."""
    b2f, first, sym_max, bal_still, bal_max = [], {}, 0.0, True, 0.0
    for L in cfg.depths:
        wg, bg = mk["W_grad"][("sigmoid", L)], mk["b_grad"][("sigmoid", L)]
        mask = (wg[FULL, S["zeros"]] > 0) | (bg[FULL, S["zeros"]] > 0)  # (seeds, T, L)
        b2f.append(bool(np.all(np.asarray(symmetry.back_to_front(mask)))))
        first[L] = np.asarray(symmetry.first_change(mask))[0].tolist()
        sym_max = max(sym_max, float(mk["spread"][("sigmoid", L)][:, S["zeros"]].max()))
        bal_still &= bool(np.all(wg[BAL, S["zeros"]] == 0) and np.all(bg[BAL, S["zeros"]] == 0))
        bal_max = max(bal_max, float(wg[BAL, S["zeros"]].max()), float(bg[BAL, S["zeros"]].max()))
    const_max = max(float(mk["spread"][k][:, S["constant"]].max()) for k in mk["spread"])
    return {"b2f": b2f, "first": first, "sym_max": sym_max, "bal_still": bal_still, "bal_max": bal_max,
            "const_max": const_max}


def c19(cfg, mk, c20, figs) -> tuple:
    m = _masks_c19(cfg, mk)
    c20_zero_grad, rd, acc = float(c20["W_grad"]["zeros"].max()), c20["rounding"], c20["accuracy"]["zeros"]
    bce_still = c20_zero_grad == 0.0 and bool(np.all(acc == acc[:, :1]))
    # The claim under its condition (a non-zero mean output error: the imbalanced set): back-to-front updates,
    # units identical. It is conditional when a balanced set was measured to leave the zero start still.
    ok = all(m["b2f"]) and m["sym_max"] == 0.0 and m["const_max"] == 0.0
    cond = m["bal_still"] or bce_still
    depths = ", ".join(map(str, cfg.depths))
    first = "; ".join(f"L={L}: {m['first'][L]}" for L in cfg.depths)
    still = []
    if m["bal_still"]:
        still.append(f"on the balanced watermelon subset (8 good, 8 bad, half SSE) every gradient was exactly 0 at "
                     f"every step for L = {depths}")
    if bce_still:
        still.append(f"on balanced two circles (m = {cfg.train_n}, cross-entropy) the largest weight gradient over "
                     f"{cfg.train_steps} steps was {c20_zero_grad:.3g} and accuracy stayed {float(acc[0, 0]):.2f}")
    conditions = ("The average output error at the start must be non-zero: " + "; ".join(still)
                  + f". All zeros is then a stationary point, a saddle: where the errors do not cancel exactly in "
                  f"float32 (balanced circles, m = {cfg.rounding_n}) the rounding residue moved the weights "
                  f"(gradient {rd['first_grad']:.2g} at step 1, final train accuracy {rd['final_accuracy']:.3f})."
                  ) if cond else ""
    numbers = {"back_to_front_per_depth": dict(zip(cfg.depths, m["b2f"], strict=True)),
               "first_step_of_change_per_layer": m["first"], "max_unit_spread_zeros": m["sym_max"],
               "max_unit_spread_constant": m["const_max"], "balanced_half_sse_nothing_moves": m["bal_still"],
               "balanced_half_sse_max_grad": m["bal_max"], "balanced_bce_max_weight_grad": c20_zero_grad,
               "balanced_bce_nothing_moves": bce_still, "float32_rounding_off_the_saddle": rd}
    measured = (
        f"Watermelon 3.0alpha (8 of 17 good), half SSE, full-batch GD, float64, L = {depths} weight layers: step t "
        f"gave a non-zero gradient to exactly the last min(t, L) layers in {sum(m['b2f'])}/{len(m['b2f'])} depths "
        f"(first step of change per layer, front to back: {first}); the largest pairwise distance between units of a hidden layer stayed {m['sym_max']:.3g} over "
        f"{cfg.mask_steps} steps (constant start, every activation and depth: {m['const_max']:.3g}). Balanced subset "
        f"(8 good, 8 bad): every weight and bias gradient exactly 0 at every step for every depth: {m['bal_still']} "
        f"(largest {m['bal_max']:.3g}). Balanced two circles (m = {cfg.train_n}) with cross-entropy, "
        f"2-{'-'.join(map(str, cfg.train_hidden))}-1: largest weight-gradient norm over {cfg.train_steps} steps "
        f"{c20_zero_grad:.3g}, train accuracy constant at {float(acc[0, 0]):.2f}. The stationary point is a saddle "
        f"and float32 can leave it: on balanced circles with m = {cfg.rounding_n} (errors +-1/(2m), which do not "
        f"cancel exactly) the weight gradient at step 1 was {rd['first_grad']:.2g} (rounding), its largest value "
        f"over {cfg.train_steps} steps {rd['max_grad']:.2g}, final train accuracy {rd['final_accuracy']:.3f}.")
    v = verdict(
        "C19", ok,
        "From all-zero weights and biases with sigmoid hidden units, do the units of each hidden layer stay "
        "identical, and does the network update from the back, one more layer per step?",
        measured, conditional=cond, conditions=conditions, setting=f"{cfg.width} units per hidden layer, lr {cfg.mask_lr}",
        figures=(figs.get("masks", ""), figs.get("symmetry", "")),
        facts={"back_to_front": all(m["b2f"]), "units_identical": m["sym_max"] == 0.0 and m["const_max"] == 0.0,
               "balanced_half_sse_still": m["bal_still"], "balanced_bce_still": bce_still},
        answer=("Yes: from all zeros the units stay identical and the layers start to move from the back, one more "
                "per step" + (", provided the mean output error at the start is not zero (on a balanced set "
                              "nothing moves)." if cond else ".")) if ok else
               "No: the measured update order or unit symmetry differs from the claim.",
        numbers=[Number("depths updating back to front", sum(m["b2f"]), unit=f"of {len(m['b2f'])}"),
                 Number("largest distance between units, zero start", m["sym_max"]),
                 Number("float32 rounding gradient at step 1 (m = 250)", rd["first_grad"], unit="norm")])
    return v, numbers


def c20(cfg, mk, c20, figs) -> tuple:
    zr = S["zero_w_random_b"]
    b2f = [bool(np.all(np.asarray(symmetry.back_to_front(
        (mk["W_grad"][("sigmoid", L)][FULL, zr] > 0) | (mk["b_grad"][("sigmoid", L)][FULL, zr] > 0)))))
        for L in cfg.depths]
    spread = min(float(mk["spread"][("sigmoid", L)][FULL, zr, :, -1].min()) for L in cfg.depths if L > 1)
    h90 = {s: first_at(c20["accuracy"][s], 0.9) for s in STARTS}
    reached = {s: float(np.mean(h90[s] >= 0)) for s in STARTS}
    # Medians over all seeds, an unreached seed counting as slower than any reached one ("trains" = the median
    # seed gets there within the budget; one slow seed of eight does not decide the claim).
    med = {s: float(np.median(np.where(h90[s] >= 0, h90[s], np.inf))) for s in STARTS}
    ok = all(b2f) and np.isfinite(med["zero_w_random_b"]) and med["zero_w_random_b"] > med["random"]
    numbers = {"back_to_front_per_depth": dict(zip(cfg.depths, b2f, strict=True)),
               "fraction_reaching_90": reached, "median_steps_to_90": med}
    hidden = "-".join(map(str, cfg.train_hidden))
    v = verdict(
        "C20", ok,
        "From zero weights and random biases (sigmoid), does only the last layer update at step 1, then layer by "
        "layer from the back, and does the network then train, slowly?",
        f"Update order back to front (step t: exactly the last min(t, L) layers) for all {cfg.mask_seeds} seeds in "
        f"{sum(b2f)}/{len(b2f)} depths; after {cfg.mask_steps} steps the units of every hidden layer were apart "
        f"(smallest largest-pairwise-distance {spread:.3g}). Two circles, 2-{hidden}-1, {cfg.train_seeds} seeds: "
        f"{100 * reached['zero_w_random_b']:.0f}% reached 90% train accuracy within {cfg.train_steps} steps, median "
        f"{med['zero_w_random_b']:.0f} steps (an unreached seed counts as slower than any), against "
        f"{med['random']:.0f} from U(+-1/sqrt(d)) starts ({100 * reached['random']:.0f}% reached); constant start: "
        f"{100 * reached['constant']:.0f}% reached (its units stay identical).",
        setting=f"lr {cfg.train_lr}, cross-entropy, biases N(0, 1)",
        facts={"back_to_front": all(b2f), "median_seed_trains": bool(np.isfinite(med["zero_w_random_b"])),
               "slower_than_random": bool(med["zero_w_random_b"] > med["random"])},
        figures=(figs.get("masks", ""), figs.get("training", "")),
        answer=("Yes: the layers start to move from the back, and the network then trains, more slowly than from "
                "a random start." if ok else "No: the update order or the slow training was not measured."),
        numbers=[Number("median steps to 90%, zero weights + random biases", med["zero_w_random_b"],
                        unit="steps"),
                 Number("median steps to 90%, random start", med["random"], unit="steps"),
                 _share("seeds reaching 90%, zero weights + random biases", h90["zero_w_random_b"] >= 0)])
    return v, numbers


def c21(cfg, mk, c24, figs) -> tuple:
    rows, ok, rb, rb_w = [], True, {}, {}
    zr = S["zero_w_random_b"]
    for act in [a for a in cfg.activations if a != "sigmoid"]:
        for L in cfg.depths:
            wg, bg = mk["W_grad"][(act, L)], mk["b_grad"][(act, L)]
            no_w = bool(np.all(wg[:, S["zeros"]] == 0))
            only_out_b = bool(np.all(bg[:, S["zeros"], :, :, :-1] == 0))
            out_b_moves = bool(np.all(bg[FULL, S["zeros"], :, :, -1] > 0))
            ok &= no_w and only_out_b and out_b_moves
            rows.append((act, L, no_w, only_out_b, out_b_moves))
            rb.setdefault(act, []).append(np.asarray(symmetry.back_to_front((wg[FULL, zr] > 0) | (bg[FULL, zr] > 0))))
            # Per seed: did any weight receive a non-zero gradient at some step (zero weights, N(0, 1) biases)?
            rb_w.setdefault(act, []).append(np.any(wg[FULL, zr] > 0, axis=(-2, -1)))
    rb_frac = {a: float(np.mean(np.concatenate(v))) for a, v in rb.items()}
    rb_w_runs = {a: (int(np.concatenate(v).sum()), int(np.concatenate(v).size)) for a, v in rb_w.items()}
    # Conditional when random biases were measured to let weight gradients through: zero biases are then needed.
    cond = any(k > 0 for k, _ in rb_w_runs.values())
    zero_flat = float(np.max(np.abs(c24["loss_curve"]["zeros"] - math.log(2))))
    zero_acc = c24["acc_curve"]["zeros"]
    numbers = {"rows": rows, "random_bias_back_to_front_fraction": rb_frac,
               "random_bias_runs_with_weight_gradient": rb_w_runs, "relu_zero_start_max_abs_loss_minus_ln2": zero_flat}
    n = len(rows)
    measured = (
        f"Zero weights and zero biases, {n} networks ({', '.join(sorted({r[0] for r in rows}))}, L = "
        f"{', '.join(map(str, cfg.depths))}), {cfg.mask_steps} steps: every weight gradient exactly 0 in "
        f"{sum(r[2] for r in rows)}/{n}, hidden-bias gradients exactly 0 in {sum(r[3] for r in rows)}/{n}, the "
        f"output bias moving at every step (imbalanced set) in {sum(r[4] for r in rows)}/{n}. 2-10-5-1 ReLU net on "
        f"balanced circles from zeros ({cfg.scheme_seeds} seeds, {cfg.scheme_steps} steps): |loss - ln 2| <= "
        f"{zero_flat:.2g}, train accuracy {float(zero_acc.min()):.2f}-{float(zero_acc.max()):.2f}. With zero weights "
        f"but N(0, 1) biases the hidden outputs g(b) are not 0 and the layers moved back to front in "
        f"{', '.join(f'{100 * v:.0f}% ({a})' for a, v in rb_frac.items())} of the runs (ReLU units with b < 0 stay "
        "dead).")
    v = verdict(
        "C21", ok,
        "With tanh or ReLU hidden units and all-zero weights, does no weight ever receive a gradient, only the "
        "output bias?", measured, conditional=cond,
        conditions=("The biases must be zero too (then g(0) = 0 for tanh and ReLU): with zero weights and N(0, 1) "
                    "biases the weights received a non-zero gradient in "
                    + ", ".join(f"{k}/{n} {a} runs" for a, (k, n) in rb_w_runs.items())
                    + " (over depths and seeds), since g(b) != 0 (for ReLU only where b > 0).") if cond else "",
        setting=f"half SSE, lr {cfg.mask_lr}, float64", figures=(figs.get("masks", ""),),
        facts={"zero_start_only_output_bias": ok, "random_biases_move_weights": cond},
        answer=("Yes: from all zeros no tanh or ReLU weight ever received a gradient, only the output bias"
                + (", as long as the biases are zero too." if cond else ".")) if ok else
               "No: some weight received a gradient from the all-zero start.",
        numbers=[Number("networks where only the output bias moved", sum(r[2] and r[3] and r[4] for r in rows),
                        unit=f"of {n}"),
                 Number("|loss - ln 2|, ReLU net from zeros", zero_flat, unit="nats")])
    return v, numbers
