"""The overfitting study's measurements and its C16 verdict, from the remedy sweeps' outcomes.

A remedy "lowers the test error" when its median is lower than no remedy's and the paired sign test over the
same restarts (:func:`xgnn_jax.stats.paired_sign_test`) says it beat no remedy on significantly more restarts than
chance (one-sided p < 0.05); "raises it" the other way round; otherwise "no clear difference".
"""

from __future__ import annotations

import numpy as np

from xgnn_jax import stats
from xgnn_jax.study.verdict import Number, verdict

ALPHA = 0.05


def _med(a) -> float:
    return float(np.nanmedian(a))


def effect(tests, base) -> str:
    """``"lower"``, ``"higher"`` or ``"no clear difference"``: ``tests`` against ``base`` on the same restarts."""
    c = stats.paired_sign_test(tests, base)
    if c["p_lower"] < ALPHA and _med(tests) < _med(base):
        return "lower"
    return "higher" if c["p_higher"] < ALPHA and _med(tests) > _med(base) else "no clear difference"


def choice(grid, pick) -> dict:
    """Most chosen strength, its count, the chosen range, and how many restarts chose an end of the grid."""
    counts = np.bincount(pick, minlength=len(grid))
    ends = {int(np.argmin(grid)), int(np.argmax(grid))}
    chosen = np.asarray(grid)[pick]
    return {"mode": float(grid[int(np.argmax(counts))]), "mode_count": int(counts.max()),
            "min": float(chosen.min()), "max": float(chosen.max()), "at_grid_end": int(sum(counts[i] for i in ends))}


def measure(cfg, none, l2, book, es, test, l2_pick, book_pick) -> dict:
    """Every number the verdict rests on (overfitting without a remedy, paired comparisons, chosen strengths)."""
    val_rise = none["val"][:, -1] / none["val"].min(axis=1)
    train_drop = none["train"][:, -1] / none["train"][:, np.argmin(none["val"], axis=1)].diagonal()
    base = test["no remedy"]
    cmp = {"early stopping": stats.paired_sign_test(test["early stopping"], base),
           "L2": stats.paired_sign_test(test["L2 (wd chosen on validation)"], base),
           "book": stats.paired_sign_test(test["book's lambda form (chosen on validation)"], base)}
    chosen = {"early stopping": test["early stopping"], "L2": test["L2 (wd chosen on validation)"],
              "book": test["book's lambda form (chosen on validation)"]}
    helps = {n: _med(t) < _med(base) and cmp[n]["p_lower"] < ALPHA for n, t in chosen.items()}
    # The effect beside each sign test: the median paired difference remedy - no remedy, with its interval.
    diff = {n: stats.paired_median_difference(t, base) for n, t in chosen.items()}
    l2_choice, book_choice = choice(cfg.weight_decays, l2_pick), choice(cfg.lams, book_pick)
    l2_effect = [effect(t, base) for t in l2["test_final"]]
    book_effect = [effect(t, base) for t in book["test_final"]]
    strongest = {"L2": (max(cfg.weight_decays), l2_effect[int(np.argmax(cfg.weight_decays))]),
                 "book": (min(cfg.lams), book_effect[int(np.argmin(cfg.lams))])}

    def at(grid, effects, value):
        return effects[int(np.argmin(np.abs(np.asarray(grid) - value)))]

    return {
        "floor": cfg.noise**2 / 2, "test": test, "base": base, "cmp": cmp, "diff": diff, "val_rise": val_rise,
        "train_drop": train_drop,
        "overfits": _med(val_rise) > 1.1 and _med(train_drop) < 0.9,
        "es_helps": helps["early stopping"], "reg_helps": helps["L2"] and helps["book"],
        "better_share": {n: float(np.mean(t < base)) for n, t in chosen.items()},
        "l2_choice": l2_choice, "book_choice": book_choice, "l2_effect": l2_effect, "book_effect": book_effect,
        # The chosen strength is "interior" when at most a quarter of the restarts chose an end of the grid.
        "interior": {n: c["at_grid_end"] <= cfg.restarts / 4 for n, c in (("L2", l2_choice), ("book", book_choice))},
        "strongest": strongest,
        "at_chosen": {"L2": at(cfg.weight_decays, l2_effect, l2_choice["mode"]),
                      "book": at(cfg.lams, book_effect, book_choice["mode"])},
        "diverged": {"no remedy": int(none["diverged"].sum()), "l2": int(l2["diverged"].sum()),
                     "book": int(book["diverged"].sum()), "early stopping": int(es["diverged"].sum())},
    }


def summary(cfg, m, es, l2, book, l2_pick, book_pick) -> dict:
    """The JSON summary's numbers (verdicts are added by the caller)."""
    return {
        "setting": {"data": f"sin(x) + {cfg.noise} N(0,1), x ~ U(-pi, pi); {cfg.n_train} train / {cfg.n_val} val / "
                            f"{cfg.n_test} test points per restart", "network": f"1-{cfg.hidden}-1 tanh, linear output",
                    "optimizer": f"{cfg.optimizer}, lr {cfg.lr}, full batch, {cfg.epochs} epochs",
                    "noise_floor": m["floor"]},
        "test_error_q25_50_75": {k: stats.quartiles(v) for k, v in m["test"].items()},
        "diverged": m["diverged"],
        "share_of_restarts_beating_no_remedy": m["better_share"],
        "paired_vs_no_remedy": {n: {"lower": c["lower"], "higher": c["higher"], "untied": c["pairs"],
                                    "p_lower": c["p_lower"], "p_higher": c["p_higher"],
                                    "median_difference": m["diff"][n]} for n, c in m["cmp"].items()},
        "chosen_strength": {"L2 wd": m["l2_choice"], "book lambda": m["book_choice"], "interior": m["interior"]},
        "no_remedy": {"val_final_over_min_median": _med(m["val_rise"]),
                      "train_drop_after_best_val_median": _med(m["train_drop"])},
        "early_stopping": {"stop_epoch_q25_50_75": stats.quartiles(es["stop_epoch"]),
                           "best_epoch_q25_50_75": stats.quartiles(es["best_epoch"]), "patience": cfg.patience},
        "l2_grid": {f"{wd:g}": {"test_median": _med(l2["test_final"][i]), "chosen": int(np.sum(l2_pick == i)),
                                "vs_no_remedy": m["l2_effect"][i]} for i, wd in enumerate(cfg.weight_decays)},
        "book_grid": {f"{lam:g}": {"test_median": _med(book["test_final"][i]), "chosen": int(np.sum(book_pick == i)),
                                   "vs_no_remedy": m["book_effect"][i]} for i, lam in enumerate(cfg.lams)},
        "all_finite": {k: bool(np.isfinite(v).all()) for k, v in m["test"].items()},
    }


def _listed(name, grid, effects) -> str:
    """'lam = a, b lowered the test error, lam = c raised it' from the paired per-strength comparisons."""
    parts = []
    for which, verb in (("lower", "lowered the test error (paired, p < 0.05)"), ("higher", "raised it"),
                        ("no clear difference", "made no clear difference")):
        vals = [f"{g:g}" for g, e in zip(grid, effects, strict=True) if e == which]
        if vals:
            parts.append(f"{name} = {', '.join(vals)} {verb}")
    return ", ".join(parts)


def _times(k: int) -> str:
    return "once" if k == 1 else f"{k} times"


def _measured(cfg, m, es, l2, book) -> str:
    lc, bc, q = m["l2_choice"], m["book_choice"], {k: stats.quartiles(v) for k, v in m["test"].items()}
    return (
        f"{cfg.restarts} restarts (own data each), 1-{cfg.hidden}-1 tanh on {cfg.n_train} noisy points: without a "
        f"remedy the final validation error is {_med(m['val_rise']):.2f}x its minimum (median) while the training "
        f"error falls to {_med(m['train_drop']):.2f}x its value at that minimum. Test error (half squared error, "
        f"noise floor {m['floor']:.3g}), median [25%, 75%]: "
        + "; ".join(f"{k} {v[1]:.3g} [{v[0]:.3g}, {v[2]:.3g}]" for k, v in q.items())
        + ". Lower test error than no remedy on the same restart (sign test): "
        + ", ".join(f"{n} {c['lower']} of {c['pairs']} (p = {c['p_lower']:.2g}; median paired difference "
                    f"{stats.format_effect(m['diff'][n])})" for n, c in m["cmp"].items())
        + f". Median test error per fixed strength (no remedy {_med(m['base']):.3g}): L2 "
        + ", ".join(f"wd {wd:g}: {_med(l2['test_final'][i]):.3g}" for i, wd in enumerate(cfg.weight_decays))
        + "; book's form " + ", ".join(f"lam {lam:g}: {_med(book['test_final'][i]):.3g}"
                                       for i, lam in enumerate(cfg.lams))
        + f". Chosen on validation: wd {lc['mode']:g} most often ({lc['mode_count']} of {cfg.restarts}; range "
        f"{lc['min']:g}-{lc['max']:g}; an end of the grid {_times(lc['at_grid_end'])}), lam {bc['mode']:g} most "
        f"often ({bc['mode_count']} of {cfg.restarts}; range {bc['min']:g}-{bc['max']:g}; an end of the grid "
        f"{_times(bc['at_grid_end'])}). Early stopping stopped at epoch {_med(es['stop_epoch']):.0f} (median of "
        f"{cfg.epochs}), returning epoch {_med(es['best_epoch']):.0f}. Diverged runs: {sum(m['diverged'].values())}."
        " Per fixed strength against no remedy (paired sign test, p < 0.05): "
        + _listed("wd", cfg.weight_decays, m["l2_effect"]) + "; " + _listed("lam", cfg.lams, m["book_effect"]) + ".")


def _conditions(cfg, m) -> list[str]:
    """What held at every seed tried: the effect of the strongest penalty of each grid and of the validation-chosen
    one. Which strengths in between clear p < 0.05 moves with the seed; the whole list is in the measured text."""
    st, ch, lc, bc = m["strongest"], m["at_chosen"], m["l2_choice"], m["book_choice"]
    cond = []
    if st["book"][1] != "lower":
        cond.append(f"the book's lambda must be close to 1: the strongest penalty tried, lam = {st['book'][0]:g}, "
                    f"{'raised' if st['book'][1] == 'higher' else 'did not lower'} the test error, while the "
                    f"lam the validation set chose most often ({bc['mode']:g}, {bc['mode_count']} "
                    f"of {cfg.restarts}) {'lowered it' if ch['book'] == 'lower' else 'made no clear difference'}")
    if st["L2"][1] != "lower":
        cond.append(f"L2 helps only in a range of strengths: the strongest, wd = {st['L2'][0]:g}, "
                    f"{'raised' if st['L2'][1] == 'higher' else 'did not lower'} the test error, while the "
                    f"wd chosen most often ({lc['mode']:g}, {lc['mode_count']} of {cfg.restarts}) "
                    f"{'lowered it' if ch['L2'] == 'lower' else 'made no clear difference'}")
    if cond:
        cond.append("so the strength has to be chosen, here on a held-out validation set")
    for n, c, short in (("L2 wd", lc, "L2"), ("book lambda", bc, "book")):
        if not m["interior"][short]:
            cond.append(f"NOTE: the chosen {n} was an end of its grid in {c['at_grid_end']} of {cfg.restarts} "
                        "restarts, so the best strength may lie outside the grid")
    if not m["overfits"]:
        cond.append("NOTE: no clear overfitting was measured")
    return cond


def c16(cfg, m, es, l2, book, figs):
    st, ch = m["strongest"], m["at_chosen"]
    cond = _conditions(cfg, m)
    conditional = st["L2"][1] != "lower" or st["book"][1] != "lower" or not all(m["interior"].values())
    facts = {"overfits": bool(m["overfits"]), "early_stopping_lowers": bool(m["es_helps"]),
             "chosen_strengths_lower": bool(m["reg_helps"]), "strongest_l2": st["L2"][1],
             "strongest_book": st["book"][1], "chosen_l2": ch["L2"], "chosen_book": ch["book"],
             "chosen_interior": all(m["interior"].values())}
    ok = m["overfits"] and m["es_helps"] and m["reg_helps"]
    answer = ("Yes: the over-sized net overfits, and early stopping and a validation-chosen penalty both lower the "
              "test error" + (", but only a penalty of the right strength helps." if conditional else ".")
              if ok else "No: overfitting or a remedy's benefit was not measured clearly.")
    n = cfg.restarts
    numbers = [Number(f"test error, {k}", q[1], q[0], q[2], f"IQR over {n} restarts", "half squared error")
               for k, q in ((k, stats.quartiles(m["test"][k])) for k in ("no remedy", "early stopping",
                            "L2 (wd chosen on validation)", "book's lambda form (chosen on validation)"))]
    numbers += [Number(f"{k} beats no remedy", c["lower"], unit=f"of {c['pairs']} restarts (sign-test p = "
                       f"{c['p_lower']:.2g})") for k, c in m["cmp"].items()]
    numbers += [Number(f"{k} - no remedy, test error per restart (median)", d["effect"], d["low"], d["high"],
                       "95% order statistics", "half squared error") for k, d in m["diff"].items()]
    return verdict(
        "C16", ok,
        "Does an over-sized network overfit a small noisy training set, and do early stopping (return the weights "
        "with the smallest validation error) and the book's regularisation lower the test error?",
        _measured(cfg, m, es, l2, book), conditional=conditional, conditions="; ".join(cond),
        setting=f"a {cfg.hidden}-unit network on {cfg.n_train} points with noise {cfg.noise}, {cfg.optimizer} "
                f"full-batch for {cfg.epochs} epochs; E = (1/m) sum_k 1/2 (y_hat_k - y_k)^2; L2: E + wd/2 sum w^2 "
                f"(weights only); book: lam E + (1 - lam) sum w^2; early stopping patience {cfg.patience}",
        figures=figs, facts=facts, answer=answer, numbers=numbers)
