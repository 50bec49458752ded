"""The perceptron study's verdicts (C1-C5): the rules, the measured text, the answer and the key numbers."""

from __future__ import annotations

import numpy as np

from xgnn_jax import stats
from xgnn_jax.analysis import perceptron as P
from xgnn_jax.studies.perceptron import figures
from xgnn_jax.study.verdict import Number, verdict

SIGMOID_SCALE = 10.0  # the sigmoid version uses 10 w and 10 theta, so it is nearly a step away from the threshold
SIGMOID_MARGIN = 0.1  # a sigmoid output counts as correct only when it is this far from 1/2, on the right side
PLANES_PER_SET = 16  # random hyperplanes per data set for C2


def _fmt_q(a, q=(0, 50, 100), fmt="{:.3g}"):
    return "/".join(fmt.format(t) for t in np.percentile(np.asarray(a, np.float64), q))


def c1(gates, summary):
    ok = all(g["step_ok"] and g["mlp_equal"] and g["sigmoid_ok"] for g in gates.values())
    summary["gates"] = gates
    measured = "; ".join(
        f"{n}: step outputs {g['step'].astype(int).tolist()} vs truth table {g['table'].astype(int).tolist()}"
        f"{' (MLP with b = -theta identical)' if g['mlp_equal'] else ' (MLP differs)'}, sigmoid version (theta "
        f"{g['sigmoid_theta']:g}) outputs {np.round(np.asarray(g['sigmoid'], np.float64), 3).tolist()}: "
        f"{'correct' if g['sigmoid_ok'] else 'not correct'} with margin {g['sigmoid_margin']:.3f} from 1/2"
        for n, g in gates.items())
    on_input = [n for n, g in gates.items() if g["book_theta_on_input"]]
    return verdict(
        "C1", ok, "Does the M-P neuron y = f(sum w_i x_i - theta) with the book's weights compute AND, OR, NOT?",
        measured,
        setting="step: AND w=(1,1), theta=2; OR w=(1,1), theta=0.5; NOT x1 w=(-0.6,0), theta=-0.5; inputs 00, 01, "
                "10, 11; sigmoid version: same w, theta moved to the middle of the gap in w.x between the inputs "
                "with output 0 and 1"
                + "".join(f" (the book's {n} theta lies on an input, where the sigmoid gives exactly 1/2)"
                          for n in on_input)
                + f", weights and threshold x{SIGMOID_SCALE:g}; correct means every output on the right side of 1/2 "
                  f"by more than {SIGMOID_MARGIN}",
        answer=("Yes: the book's weights give AND, OR and NOT exactly, also as one-layer MLPs, and a steep sigmoid "
                "version does too once its threshold sits between the inputs." if ok else
                "No: at least one gate neuron does not reproduce its truth table."),
        numbers=[Number("gates right as M-P neurons", sum(g["step_ok"] for g in gates.values()), unit="of 3"),
                 Number("smallest sigmoid margin from 1/2", min(g["sigmoid_margin"] for g in gates.values()))],
        facts={"step_correct": [n for n, g in gates.items() if g["step_ok"]],
               "sigmoid_correct": [n for n, g in gates.items() if g["sigmoid_ok"]], "theta_on_input": on_input})


def c2(cfg, data, summary, arrays):
    losses, strict, loss_sep, loss_zero, m_zero = (data[k] for k in ("loss", "strict", "loss_sep", "loss_zero",
                                                                     "m_zero"))
    num_sets = losses.shape[0]
    nonneg = bool(np.all(losses >= 0) and np.all(loss_sep >= 0))
    iff_strict = bool(np.all((losses == 0) == (strict == 0)))
    boundary = int(np.sum((loss_zero == 0) & (m_zero > 0)))
    sep_zero = bool(np.all(loss_sep == 0))
    n_zero, in_m = int(np.sum(losses == 0)), int(np.median(m_zero))
    summary["loss"] = {"min": losses.min() + 0.0, "zero_count": n_zero, "iff_strict": iff_strict,
                       "boundary_cases": boundary, "median_in_M_at_zero": in_m}
    arrays["loss_random_hyperplanes"] = losses
    lo, hi = stats.wilson_interval(boundary, num_sets)
    return verdict(
        "C2", nonneg and iff_strict and sep_zero,
        "Is the perceptron loss L = -sum_{i in M} y_i (w.x_i + b) non-negative, and zero exactly when nothing is "
        "misclassified?",
        f"{losses.size} random hyperplanes on {num_sets} data sets: min L = {losses.min() + 0.0:.3g} (>= 0: {nonneg}); "
        f"L = 0 exactly when no point is strictly on the wrong side: {iff_strict} ({n_zero} zero-loss hyperplanes); "
        f"the known separators give L = 0 on all sets: {sep_zero}. But at w = 0, b = 0 every point lies on the "
        f"hyperplane: M holds all {in_m} points (median) while L = 0, on {boundary} of {num_sets} sets",
        conditional=boundary > 0,
        conditions="'misclassified' must mean strictly on the wrong side; points on the hyperplane are in the update "
                   "rule's set M (y_i(w.x_i + b) <= 0) but add nothing to L, so L = 0 does not mean the algorithm "
                   "has stopped (it starts that way from w = b = 0)",
        setting=f"d = {cfg.d}, n = {cfg.n}, (w, b) ~ N(0, I), {PLANES_PER_SET} per data set",
        answer=("Yes, with one caveat: L is never negative and is zero exactly when no point is strictly on the "
                "wrong side, but points lying on the hyperplane (as at w = b = 0) count as misclassified for the "
                "update rule while adding nothing to L." if boundary else
                "Yes: L is never negative and is zero exactly when nothing is misclassified.")
        if nonneg and iff_strict and sep_zero else "No: the loss was negative or zero with points misclassified.",
        numbers=[Number("smallest loss at a random hyperplane", float(losses.min()) + 0.0),
                 Number("sets with L = 0 and all points in M at w = b = 0", boundary / num_sets, float(lo), float(hi),
                        "95% Wilson", f"fraction of {num_sets}")],
        facts={"non_negative": nonneg, "zero_iff_none_strictly_wrong": iff_strict, "separators_zero": sep_zero,
               "boundary_case_seen": boundary > 0})



def best_bounds(x_all, y_all) -> dict[str, np.ndarray]:
    """Novikoff's bound at every data set's maximum-margin separator (float64): ``gamma_best``, ``bound_best``."""
    best = [P.novikoff_bound_best(x, y) for x, y in zip(np.asarray(x_all), np.asarray(y_all), strict=True)]
    return {"gamma_best": np.array([b.gamma for b in best]), "bound_best": np.array([b.bound for b in best])}


def c4_c3(cfg, data, runs, x0, y0, summary, arrays, out_dir):
    """C4 (updates against Novikoff's bound, with the generating separator's margin and with the data's best
    margin; non-uniqueness on data set 0) and C3 (the update rule, replayed)."""
    bound, num_sets, h = data["bound"], data["bound"].shape[0], cfg.hyperplane_runs
    bound_best = data["bound_best"]
    counts = {c: r["num_updates"][:num_sets] for c, r in runs.items()}
    converged = {c: r["converged"][:num_sets] for c, r in runs.items()}
    # The best bound is the theorem's sharpest form, so it is the one that must hold (1e-9: float64 rounding).
    within = {c: bool(np.all(counts[c] <= bound_best * (1 + 1e-9))) for c in counts}
    ratio = {c: counts[c] / bound for c in counts}
    tight = {c: counts[c] / bound_best for c in counts}
    all_conv = all(bool(v.all()) for v in converged.values())
    for c in counts:
        arrays[f"updates_{c}"], arrays[f"converged_{c}"] = counts[c], converged[c]
    arrays.update(novikoff_bound=bound, R=data["R"], gamma=data["gamma"], novikoff_bound_best=bound_best,
                  gamma_best=data["gamma_best"])
    # Non-uniqueness: data set 0 from different keys (random choice), orders and initial values (cyclic).
    picked = [(runs["random"], slice(num_sets, num_sets + h)), (runs["cyclic"], slice(num_sets + h, num_sets + 2 * h))]
    planes = np.concatenate([np.c_[r["w"][sl], r["b"][sl]] for r, sl in picked])
    plane_ok = np.concatenate([r["converged"][sl] for r, sl in picked])
    unit = planes / np.linalg.norm(planes, axis=1, keepdims=True)
    distinct = P.count_distinct(unit, tol=1e-4)
    max_angle = float(np.degrees(np.arccos(np.clip(unit @ unit.T, -1, 1).min())))
    arrays["hyperplanes"] = planes
    ok_c4 = all_conv and all(within.values()) and distinct > 1 and bool(plane_ok.all())
    figs = []
    if out_dir is not None:
        figs.append(figures.plot_novikoff(out_dir, bound_best, counts))
        if cfg.d == 2:
            figs.append(figures.plot_planes(out_dir, x0, y0, planes, h))
    summary["novikoff"] = {c: {"updates_max": counts[c].max(), "updates_median": np.median(counts[c]),
                               "ratio_max": ratio[c].max(), "ratio_median": np.median(ratio[c]),
                               "tightness_max": tight[c].max(), "tightness_median": np.median(tight[c]),
                               "within_bound": within[c], "all_converged": bool(converged[c].all())}
                           for c in counts}
    summary["novikoff"]["bound_median"] = np.median(bound)
    summary["novikoff"]["bound_best_median"] = np.median(bound_best)
    summary["novikoff"]["best_over_known_margin_median"] = np.median(data["gamma_best"] / data["gamma"])
    summary["non_uniqueness"] = {"runs": 2 * h, "distinct": distinct, "max_angle_deg": max_angle}
    v4 = verdict(
        "C4", ok_c4, "On separable data, is the number of perceptron updates at most (R/gamma)^2, and does the "
                     "hyperplane found depend on initial values and order?",
        f"{num_sets} data sets (margins {', '.join(f'{m:g}' for m in cfg.margins)}; bound (R/gamma)^2 min/median/max "
        f"{_fmt_q(bound)} with the generating separator's margin, {_fmt_q(bound_best)} with the data's best margin, "
        f"which is {np.median(data['gamma_best'] / data['gamma']):.2f}x the generating one (median)): all runs "
        f"converged: {all_conv}; "
        + "; ".join(f"{c} choice: updates min/median/max {_fmt_q(counts[c], fmt='{:.0f}')}, updates/best bound "
                    f"median {np.median(tight[c]):.3f}, max {tight[c].max():.3f} (updates/generating-margin bound "
                    f"median {np.median(ratio[c]):.3f}), best bound exceeded on "
                    f"{int(np.sum(counts[c] > bound_best * (1 + 1e-9)))} sets" for c in counts)
        + f". On one data set, {2 * h} runs ({h} random keys, {h} cyclic runs from different initial values and "
          f"data orders) found {distinct} different separating hyperplanes (all separate: {bool(plane_ok.all())}; "
          f"largest angle between two of them {max_angle:.1f} degrees)",
        setting=f"datasets.linearly_separable, d = {cfg.d}, n = {cfg.n}, known separator through the origin; "
                f"w0 = 0, b0 = 0, eta in {{1, 1/2, 1/4, 1/8}}; cap above every bound; choice rules "
                f"{', '.join(counts)}; margins on augmented vectors (x, 1); the best margin is the hard-margin "
                f"separator's (perceptron.max_margin, exact NNLS in float64), so updates/best bound measures the "
                f"bound's tightness",
        figures=figs,
        answer=(f"Yes: every run converged within Novikoff's bound, and {distinct} different separating hyperplanes "
                f"came out of {2 * h} runs on one data set." if ok_c4 else
                "No: some run exceeded the bound, did not converge, or the runs found one hyperplane only."),
        numbers=[Number(f"updates / best bound, {c} choice (median)", float(np.median(tight[c])),
                        *stats.quartiles(tight[c])[::2], f"IQR over {num_sets} data sets") for c in counts]
        + [Number("largest updates / best bound", float(max(r.max() for r in tight.values()))),
           Number("best margin / generating separator's margin (median)",
                  float(np.median(data["gamma_best"] / data["gamma"]))),
           Number("distinct hyperplanes on one data set", distinct, unit=f"of {2 * h} runs")],
        facts={"all_converged": all_conv, "within_bound": all(within.values()), "not_unique": distinct > 1})
    return [v4, _c3(cfg, runs, summary)]


def _c3(cfg, runs, summary):
    r = min(cfg.replay_sets, runs["random"]["rule_error"].shape[0])
    rel = max(float(runs[c]["rule_error"][:r].max()) for c in runs)
    checked = sum(int(runs[c]["rule_checked"][:r].sum()) for c in runs)
    ok = rel < 1e-4 and checked > 0
    summary["update_rule"] = {"updates_checked": checked, "max_rel_error": rel}
    return verdict(
        "C3", ok, "Does each update w += eta y_i x_i, b += eta y_i raise the chosen point's y_i(w.x_i + b) by "
                  "exactly eta (|x_i|^2 + 1)?",
        f"{checked} updates replayed from {len(runs) * r} runs ({', '.join(runs)} choice, "
        f"eta in {{1, 1/2, 1/4, 1/8}}): "
        f"relative difference between the measured rise and eta (|x_i|^2 + 1) at most {rel:.2e} (float32)",
        setting="states recomputed with perceptron.replay from the recorded sequence of chosen points",
        answer=("Yes: every replayed update raised the chosen point's margin by eta (|x_i|^2 + 1), up to float32 "
                "rounding." if ok else "No: some update's margin rise differs from eta (|x_i|^2 + 1)."),
        numbers=[Number("largest relative difference", rel, unit="float32"),
                 Number("updates checked", checked, unit=f"from {len(runs) * r} runs")],
        facts={"rule_exact_to_float32": ok})


def c5(cfg, xor, long_runs, summary, arrays, out_dir):
    """C5: XOR runs end with a proof of non-separability; long runs never converge; AND and OR converge."""
    n_x = cfg.xor_runs
    fields = [k for k in P.PerceptronResult._fields if k != "gram"]  # the primal form has no Gram matrix
    xr = {c: {k: np.asarray(getattr(r, k))[:n_x] for k in fields} for c, r in xor.items()}
    others = {c: {k: np.asarray(getattr(r, k))[n_x:] for k in fields} for c, r in xor.items()}
    n_all = len(xor) * n_x
    proofs = {c: r["not_separable"] for c, r in xr.items()}
    n_proofs = sum(int(v.sum()) for v in proofs.values())
    n_conv_short = sum(int(r["converged"].sum()) for r in xr.values())
    long_conv, long_mis = int(long_runs["converged"].sum()), long_runs["misclassified"]
    other_conv = bool(all(np.all(o["converged"]) for o in others.values()))
    and_or = others["cyclic"]["num_updates"]
    ok = n_conv_short + long_conv == 0 and n_proofs == n_all and other_conv
    figs = [figures.plot_xor(out_dir, long_mis)] if out_dir is not None else []
    summary["xor"] = {"runs": n_all, "converged": n_conv_short + long_conv, "proofs": n_proofs,
                      "long_runs": long_mis.shape[0], "long_updates": 4 * cfg.xor_long_epochs,
                      "long_min_misclassified": int(long_mis.min()),
                      "describe_example": P.describe(P.PerceptronResult(**{k: v[0] for k, v in xr["cyclic"].items()}))}
    for c, r in xr.items():
        arrays[f"xor_not_separable_{c}"] = proofs[c]
        arrays[f"xor_updates_{c}"], arrays[f"xor_cycle_length_{c}"] = r["num_updates"], r["cycle_length"]
    lo, hi = stats.wilson_interval(n_proofs, n_all)
    return verdict(
        "C5", ok, "Does a single perceptron fail to converge on XOR?",
        f"{n_all} XOR runs ({', '.join(xor)} choice, dyadic initial values, eta 1 or 1/2): converged "
        f"{n_conv_short}, ended with a repeated state (a proof of non-separability) {n_proofs}; "
        + "; ".join(f"{c}: state repeats after {_fmt_q(r['num_updates'][proofs[c]], fmt='{:.0f}')} updates "
                    f"(min/median/max), cycle length {_fmt_q(r['cycle_length'][proofs[c]], fmt='{:.0f}')}"
                    for c, r in xr.items() if proofs[c].any())
        + f". {long_mis.shape[0]} further random-choice runs without the cycle check for {4 * cfg.xor_long_epochs} "
          f"updates: converged {long_conv}, fewest misclassified points ever reached {int(long_mis.min())} of 4. "
          f"For contrast AND and OR converge after {int(and_or[0])} and {int(and_or[1])} updates (cyclic, from "
          f"zero): {other_conv}",
        setting="XOR inputs 00, 01, 10, 11 with labels -1, +1, +1, -1; cap with cycle check "
                f"{4 * cfg.xor_max_epochs} updates",
        figures=figs,
        answer=("Yes: no XOR run converged; every run with the cycle check ended in a repeated state, which proves "
                "XOR is not linearly separable, while AND and OR converge." if ok else
                "No: some XOR run converged or ended without a proof, or AND/OR failed."),
        numbers=[Number("XOR runs ending with a proof of non-separability", n_proofs / n_all, float(lo),
                        float(hi), "95% Wilson", f"fraction of {n_all} runs"),
                 Number("fewest misclassified XOR points in long runs", int(long_mis.min()), unit="of 4")],
        facts={"xor_converged": n_conv_short + long_conv, "all_proofs": n_proofs == n_all,
               "and_or_converge": other_conv})
