"""The minima study's verdict rules: C17 (GD stops short depending on the start; do the ways out work?),
C17.traps (are the stopping points strict local minima?) and C17.escape (is restarting at least as cheap?)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xgnn_jax import stats
from xgnn_jax.analysis import critical
from xgnn_jax.studies.minima.sweeps import levels, rate
from xgnn_jax.study.verdict import CONDITIONAL, FAILS, HOLDS, Number, Verdict, verdict

WILSON = "95% Wilson"


def _pct(r) -> str:
    return "n/a" if r is None else f"{100 * r['success']:.0f}% [{100 * r['lo']:.0f}, {100 * r['hi']:.0f}]"


def _cost(r) -> str:
    if not np.isfinite(r["cost_per_success"]):
        return "no success"
    hi = f"{r['cost_hi']:.0f}" if np.isfinite(r["cost_hi"]) else "inf"
    return f"{r['cost_per_success']:.0f} [{r['cost_lo']:.0f}, {hi}]"


def _ratio(c) -> str:
    hi = f"{c['cost_ratio_hi']:.2f}" if np.isfinite(c["cost_ratio_hi"]) else "inf"
    mc = (f"; success McNemar p = {c['mcnemar_p']:.2g} ({c['restart_only']} starts solved only by the restart, "
          f"{c['other_only']} only by it)" if c["paired"] else "; unpaired")
    return (f"{c['strategy']} ({c['start']}): cost ratio to the restart "
            + (f"{c['cost_ratio']:.2f} [{c['cost_ratio_lo']:.2f}, {hi}]" if np.isfinite(c["cost_ratio"])
               else "inf (no success)") + mc)


def _fmt_rate(c: dict, idx) -> str:
    return f"{100 * c['rate'][idx]:.0f}% [{100 * c['lo'][idx]:.0f}, {100 * c['hi'][idx]:.0f}]"


def reference(cfg, cells: dict, ref: dict, i_r: int, i_lr: int) -> dict[str, Any]:
    """The reference cell: failures at T and 4T, plateau levels, and whether success depends on r (the best and
    the worst init range's Wilson intervals are apart)."""
    by_r = cells[cfg.ref_network]["gd"]["solved_T"]
    col = by_r["rate"][:, i_lr]
    i_best, i_worst = int(np.argmax(col)), int(np.argmin(col))
    failed = ~ref["solved"][i_r, i_lr] & ~ref["diverged"][i_r, i_lr]
    return {"fail_T": 1 - by_r["rate"][i_r, i_lr], "by_r": by_r, "failed": failed,
            "fail_4T": rate(~ref["solved"][i_r, i_lr] | ref["diverged"][i_r, i_lr]),
            "levels": levels(ref["loss"][i_r, i_lr][failed]),
            "strong_init": bool(by_r["lo"][i_best, i_lr] > by_r["hi"][i_worst, i_lr])}


def traps(cfg, an: dict) -> dict[str, Any]:
    """Strict local minima among the analysed XOR end points, at every tolerance of the sensitivity check."""
    tags = list(cfg.networks)
    tot = {name: sum(an[t].get("labels", {}).get(name, 0) for t in tags) for name in critical.LABELS}
    n_an = sum(tot.values())
    tols = list(cfg.grad_tol_sensitivity)
    strict_at = {tol: sum(an[t].get("strict_by_grad_tol", {}).get(f"{tol:g}", 0) for t in tags) for tol in tols}
    loose = {tol: sum(an[t].get("strict_by_grad_tol_without_newton_test", {}).get(f"{tol:g}", 0) for t in tags)
             for tol in tols}
    maj_at = {tol: n_an > 0 and v > n_an / 2 for tol, v in strict_at.items()}
    maj_loose = {tol: n_an > 0 and v > n_an / 2 for tol, v in loose.items()}
    strict = tot["strict local minimum"]
    return {"tags": tags, "tot": tot, "n_an": n_an, "tols": tols, "strict_at": strict_at, "loose": loose,
            "maj_at": maj_at, "maj_loose": maj_loose, "strict": strict,
            "stuck": tot["saddle"] + tot["flat region / plateau"],
            "majority": bool(maj_at.get(cfg.grad_tol, n_an > 0 and strict > n_an / 2)),
            "robust": len(set(maj_at.values()) | set(maj_loose.values())) == 1,
            "refined": an[cfg.ref_network].get("refined")}


def _pd_text(an: dict, tr: dict) -> str:
    pd_by_tag = {t: an[t].get("pd_noncritical", {}).get("count", 0) for t in tr["tags"]}
    n_pd, n_an = sum(pd_by_tag.values()), tr["n_an"]
    if not n_pd:
        return f"none of the {n_an} has a positive-definite Hessian without being critical"

    def one(t, v):
        p = an[t]["pd_noncritical"]
        return f"{t}: {v}" + (f", |grad| {p['grad_norm_range'][0]:.0e} to {p['grad_norm_range'][1]:.0e}, smallest "
                              f"eigenvalue {p['min_eig_range'][0]:.0e} to {p['min_eig_range'][1]:.0e}, median Newton "
                              f"step {p['newton_step_median']:.1f}" if v else "")

    return (f"{n_pd} of the {n_an} have a positive-definite Hessian (every eigenvalue > eig_tol) but a gradient "
            "too large to count as critical (" + ", ".join(one(t, v) for t, v in pd_by_tag.items() if v) + ")")


def _refine_text(cfg, refined) -> str:
    if not refined:
        return ""
    txt = (f"after {refined['steps']} more plain GD steps from the {cfg.ref_network} end points: "
           f"{refined['healed']} of {sum(refined['labels'].values())} healed, median |grad| "
           f"{refined['grad_norm_median_before']:.1e} -> {refined['grad_norm_median_after']:.1e}, median "
           f"|theta| grew by {refined['theta_norm_growth_median']:.2f}, strict minima after: "
           f"{refined['labels']['strict local minimum']}")
    pdr = refined.get("pd_noncritical")
    if pdr:
        txt += (f"; of the {pdr['count']} with a positive-definite Hessian, {pdr['healed']} healed, their "
                f"median |theta| grew by {pdr['theta_norm_growth_median']:.2f} and median |grad| went "
                f"{pdr['grad_norm_median_before']:.1e} -> {pdr['grad_norm_median_after']:.1e}, "
                f"{pdr['strict_after']} became strict minima")
    return txt


def trap_text(cfg, an: dict, tr: dict) -> tuple[str, str]:
    """The measured text of C17.traps and the refinement sentence."""
    tols = tr["tols"]
    sens_txt = ("strict local minima counted at grad_tol " + ", ".join(f"{t:g}: {tr['strict_at'][t]}" for t in tols)
                + f" (Newton step <= {cfg.step_tol:g}); without the Newton-step test: "
                + ", ".join(f"{t:g}: {tr['loose'][t]}" for t in tols) + f" (of {tr['n_an']})")
    txt = (f"of {tr['n_an']} non-converged XOR end points analysed in float64 ({', '.join(tr['tags'])}; "
           + ", ".join(f"{t}: {an[t].get('analysed_nonconverged', 0)}" for t in tr["tags"])
           + f"), at grad_tol {cfg.grad_tol:g}: " + ", ".join(f"{v} {k}" for k, v in tr["tot"].items() if v)
           + "; median |grad E| by label: "
           + "; ".join(f"{t}: " + ", ".join(f"{k} {v:.1e}" for k, v in an[t]["grad_norm_median_by_label"].items())
                       for t in tr["tags"] if an[t].get("grad_norm_median_by_label"))
           + f". {_pd_text(an, tr)}. Tolerance check: {sens_txt}")
    refine_txt = _refine_text(cfg, tr["refined"])
    if refine_txt:
        txt += f". Refinement: {refine_txt}"
    return txt, refine_txt


def traps_verdict(cfg, an: dict, tr: dict, figures: tuple[str, ...]) -> Verdict:
    """C17.traps: plain only when the majority of strict local minima is the same at every tolerance of the
    sensitivity check (with and without the Newton-step test); otherwise it holds under the tolerance named."""
    txt, refine_txt = trap_text(cfg, an, tr)
    if tr["robust"]:
        ok, conditional = tr["majority"], False
        cond = (f"the same verdict at every grad_tol in {tr['tols']}, with or without the Newton-step test"
                + (f"; evidence for minima at infinity rather than at finite weights: {refine_txt}"
                   if refine_txt and not tr["majority"] else ""))
    else:
        flips = [t for t in tr["tols"] if tr["maj_at"][t] or tr["maj_loose"][t]]
        ok, conditional = True, True
        cond = (f"the verdict depends on the tolerance: strict local minima are the majority only when a "
                f"gradient up to {min(flips):g} counts as zero (at grad_tol {cfg.grad_tol:g}: {tr['strict']} of "
                f"{tr['n_an']})" + (f"; {refine_txt}" if refine_txt else ""))
    n = tr["n_an"]
    s_lo, s_hi = _wilson(tr["strict"], n)
    answer = (("Mostly yes: " if ok else "No: ") + f"{tr['strict']} of {n} analysed points where gradient descent "
              "stopped on XOR are strict local minima" + ("" if ok else "; the rest are saddles and plateaus"
                                                          " with small but non-zero gradients") + ".")
    numbers = [Number("strict local minima among analysed stops", tr["strict"] / n if n else float("nan"), s_lo, s_hi,
                      WILSON), Number("saddles and plateaus", tr["stuck"], unit=f"of {n}")]
    if tr["refined"]:
        numbers.append(Number("median |theta| growth under further GD", tr["refined"]["theta_norm_growth_median"]))
    return Verdict("C17.traps", (CONDITIONAL if conditional else HOLDS) if ok else FAILS,
                   "Are the points where gradient descent stops on XOR strict local minima (zero gradient, positive "
                   "definite Hessian, finite weights)?", txt + ".",
                   f"float64 Hessians of up to {cfg.max_hessians} non-converged end points per network; a strict "
                   f"local minimum needs |grad E| <= grad_tol {cfg.grad_tol:g}, a Newton step <= {cfg.step_tol:g} "
                   f"and every Hessian eigenvalue > eig_tol {cfg.eig_tol:g}; recounted at grad_tol {tr['tols']}",
                   cond, figures, answer=answer, numbers=tuple(numbers))


def _wilson(s: int, n: int) -> tuple[float | None, float | None]:
    if n <= 0:
        return None, None
    lo, hi = stats.wilson_interval(int(s), int(n))
    return float(lo), float(hi)


def _main_measured(cfg, rc: dict, tr: dict, an: dict, esc: dict, bok: dict) -> str:
    rows = {(r["strategy"], r["start"]): r for r in esc["rows"]}
    ties = [c for c in esc["comparisons"] if c["separated"] == "tie"]
    failed_rows = [r for r in esc["rows"] if r["start"] == "failed"]
    best_failed = min(failed_rows, key=lambda r: r["cost_per_success"]) if failed_rows else None
    k_max, groups_max = int(bok["k"][-1]), int(bok["groups"][-1])
    consistent = bool(bok["lo"][-1] - 1e-9 <= bok["predicted"][-1] <= bok["hi"][-1] + 1e-9)
    f4, i_lr = rc["fail_4T"], cfg.gd_lrs.index(cfg.ref_lr)
    trap_txt, _ = trap_text(cfg, an, tr)
    return (
        f"{cfg.ref_network} plain GD, r = {cfg.ref_init_range:g}, lr = {cfg.ref_lr:g}: {100 * rc['fail_T']:.0f}% fail "
        f"at T = {cfg.epochs}, {100 * f4['rate']:.0f}% [{100 * f4['lo']:.0f}, {100 * f4['hi']:.0f}] still fail at "
        f"{cfg.heal_factor}T (R = {cfg.restarts} restarts); in this cell the {int(rc['failed'].sum())} failed runs "
        "end on plateaus of E: " + ", ".join(f"{lvl} ({cnt} runs)" for lvl, cnt in rc["levels"].items())
        + f". Success at T over r (lr {cfg.ref_lr:g}): "
        + ", ".join(f"r={r:g}: {_fmt_rate(rc['by_r'], (i, i_lr))}" for i, r in enumerate(cfg.init_ranges))
        + f". Traps: {trap_txt}. Ways out ({esc['budget']} evaluations per attempt, {cfg.escape_attempts} attempts "
        f"each): best of {k_max} restarts {100 * bok['measured'][-1]:.0f}% [{100 * bok['lo'][-1]:.0f}, "
        f"{100 * bok['hi'][-1]:.0f}] vs 1-(1-p)^k = {100 * bok['predicted'][-1]:.0f}% "
        f"({'inside' if consistent else 'outside'} its 95% CI, but over only n = {groups_max} disjoint groups of "
        f"{k_max}: a weak check); from the failed end points ({cfg.escape_attempts} attempts cycling over "
        f"{esc['failed_points']} distinct points, intervals over the distinct points): continued GD "
        f"{_pct(rows.get(('GD continued', 'failed')))}, simulated annealing "
        f"{_pct(rows.get(('simulated annealing', 'failed')))}, per-example SGD "
        f"{_pct(rows.get(('per-example SGD', 'failed')))}, decaying gradient noise "
        f"{_pct(rows.get(('GD + decaying noise', 'failed')))}; cost per success (bootstrap 95% CI): GD restart "
        f"{_cost(rows[('GD restart', 'scratch')])}"
        + (f", tied with it: {'; '.join(_ratio(c) for c in ties)}" if ties else "")
        + (f"; from a failed point at best {best_failed['strategy']} ({_cost(best_failed)})"
           if best_failed and np.isfinite(best_failed["cost_per_success"]) else "") + ".")


def main_verdict(cfg, rc: dict, tr: dict, an: dict, esc: dict, bok: dict, figures: list[str]) -> Verdict:
    """C17: GD stops short (failures at 4T with an interval above 0) depending on r; conditional unless the stops
    are mostly strict minima and every named way out rescues failed runs (its rescue rate's Wilson interval above
    ``rescue_min``; wholly below: it fails; straddling: undecided, said in the conditions). Independent restarts
    succeed with ``1 - (1 - p)^k``, so they rescue as soon as one restart succeeds with a rate whose interval
    excludes 0."""
    rows = {(r["strategy"], r["start"]): r for r in esc["rows"]}
    sa_f, sgd_f = rows.get(("simulated annealing", "failed")), rows.get(("per-example SGD", "failed"))
    stops, f4 = bool(rc["fail_4T"]["lo"] > 0), rc["fail_4T"]
    # A way out rescues when its rescue rate's interval lies above rescue_min, fails when wholly below it, and is
    # undecided when the interval straddles it (a rare rescue, ~1%, needs hundreds of distinct failed points).
    ways_work = {"restarts": bool(f4["hi"] < 1),
                 **{name: (stats.decide((r["lo"], r["hi"]), cfg.rescue_min) if r else False)
                    for name, r in (("simulated annealing", sa_f), ("SGD", sgd_f))}}
    refined = tr["refined"]
    cond_parts = []
    if not tr["majority"]:
        cond_parts.append(
            f"the points where GD stops are mostly not strict local minima ({tr['strict']} of {tr['n_an']} at "
            f"grad_tol {cfg.grad_tol:g}; at most {max(tr['loose'].values())} at any tolerance checked); they are "
            f"saddles and flat regions / plateaus ({tr['stuck']}) with small but non-zero gradients"
            + (f", and further descent lets |theta| grow (median +{refined['theta_norm_growth_median']:.2f} over "
               f"{refined['steps']} steps): minima at infinity in the sense of the literature"
               if refined and refined["theta_norm_growth_median"] > 0 else ""))
    failing = [k for k, v in ways_work.items() if v is False]
    undecided = [k for k, v in ways_work.items() if v is None]
    if failing:
        cond_parts.append("not every named way out rescues failed runs here: " + ", ".join(failing)
                          + f" did not (rescue rate below {100 * cfg.rescue_min:g}% with 95% confidence, from the "
                          "failed end points, on equal compute)")
    if undecided:
        cond_parts.append("inconclusive at this sample size whether " + ", ".join(undecided) + " rescues failed "
                          f"runs (its rescue rate's interval contains the {100 * cfg.rescue_min:g}% threshold)")
    ok = stops and rc["strong_init"]
    conditional = not (tr["majority"] and all(v is True for v in ways_work.values()))
    if ok:
        answer = (f"Yes: {100 * f4['rate']:.0f}% of the reference runs stay stuck even after {cfg.heal_factor}T and "
                  "success depends on the initial range; " + (("restarts get out, but " + ", ".join(failing)
                                                               + " did not") if failing else
                                                              "every named way out that could be decided rescues "
                                                              "failed runs" if undecided else
                                                              "every named way out rescues failed runs") + ".")
    else:
        answer = "No: gradient descent does not measurably stop short depending on the initial parameters here."
    numbers = (Number(f"failed at {cfg.heal_factor}T (reference cell)", float(f4["rate"]), float(f4["lo"]),
                      float(f4["hi"]), WILSON),
               *(Number(f"rescued from failed points: {name}", r["success"], r["lo"], r["hi"],
                        f"{WILSON}, distinct starts") for name, r in (("simulated annealing", sa_f), ("SGD", sgd_f))
                 if r))
    return verdict(
        "C17", ok, "Does gradient descent stop short of a solution depending on the initial parameters, and do "
        "restarts, simulated annealing and SGD get out?", _main_measured(cfg, rc, tr, an, esc, bok),
        conditional=conditional and ok, conditions="; ".join(cond_parts),
        setting=f"XOR {', '.join(cfg.networks)} sigmoid nets, E = 1/2 sum of squares over the 4 patterns, init "
                f"U(-r, r), r in {list(cfg.init_ranges)}, {cfg.restarts} restarts per cell"
                + (f" ({cfg.optimizer_restarts} per SGD / Adam cell)"
                   if cfg.optimizer_restarts and cfg.all_optimizer_networks else "") + f", T = {cfg.epochs}",
        figures=figures, answer=answer, numbers=numbers,
        facts={"stops_short": stops, "depends_on_init": bool(rc["strong_init"]),
               "strict_minima_majority": tr["majority"], "ways_out_that_fail": failing,
               "ways_out_undecided": undecided})


def escape_verdict(cfg, esc: dict, figures: list[str]) -> Verdict:
    """C17.escape: "at least as good" includes a tie, so it fails only if another strategy is measurably cheaper
    (its cost-ratio interval below 1). Which strategies tie moves with the seed: measured, not decided on."""
    comps = esc["comparisons"]
    ties = [c for c in comps if c["separated"] == "tie"]
    cheaper = [c for c in comps if c["separated"] == "other cheaper"]
    measured = "; ".join(
        f"{r['strategy']} ({r['start']}): {_pct(r)}"
        + (f" over {r['distinct_starts']} distinct starts" if r["distinct_starts"] < r["attempts"] else "")
        + f", {r['evals_mean']:.0f} evaluations per attempt, "
        + (f"{_cost(r)} per success, " if np.isfinite(r["cost_per_success"]) else "no success, ")
        + f"{1e3 * r['wall_s_per_attempt']:.2f} ms per attempt (compilation included)" for r in esc["rows"])
    measured += (f" ({cfg.escape_attempts} attempts per strategy; the scratch strategies except the genetic "
                 f"algorithm share the same {cfg.escape_attempts} starts). Against restarting: "
                 + "; ".join(_ratio(c) for c in comps) + ".")
    if ties:
        measured += (" Not separated from restarting at this sample size (the 95% bootstrap interval of the cost "
                     "ratio contains 1): " + ", ".join(f"{c['strategy']} ({c['start']})" for c in ties) + ".")
    restart = esc["rows"][0]
    answer = ("Yes: no other way out is measurably cheaper per success than restarting gradient descent."
              if not cheaper else "No: " + ", ".join(c["strategy"] for c in cheaper) + " is measurably cheaper per "
              "success than restarting gradient descent.")
    numbers = [Number("GD restart: evaluations per success", restart["cost_per_success"], restart["cost_lo"],
                      restart["cost_hi"], "95% bootstrap")]
    numbers += [Number(f"cost ratio {c['strategy']} ({c['start']}) / restart", c["cost_ratio"], c["cost_ratio_lo"],
                       c["cost_ratio_hi"], "95% bootstrap") for c in comps if c["start"] == "scratch"]
    return verdict(
        "C17.escape", not cheaper,
        "Per unit of compute, is restarting gradient descent at least as good as the other ways out?", measured,
        facts={"cheaper_than_restarting": [f"{c['strategy']} ({c['start']})" for c in cheaper]},
        setting=f"{cfg.ref_network}, r = {cfg.ref_init_range:g}, GD lr {cfg.ref_lr:g}, budget {esc['budget']} "
                "full-batch evaluations per attempt (a loss evaluation counts 1, a per-example gradient 1/m); cost "
                f"intervals: {cfg.n_boot} bootstrap replicates, paired where the starts are shared, resampling "
                "distinct starts from the failed end points",
        figures=figures, answer=answer, numbers=numbers)
