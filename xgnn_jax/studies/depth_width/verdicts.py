"""The depth_width study's verdicts: C18 (capacity by construction) and the practical half of C8."""

from __future__ import annotations

import numpy as np

from xgnn_jax.study.verdict import Number, verdict


def _budget(cfg, archs, nparams, labels) -> str:
    return (f"at matched size ({nparams[labels[0]]} vs {nparams[labels[-1]]} parameters, so the single layer has "
            f"{archs[labels[0]][1]} units, not an 'extremely wide' one), full-batch Adam for {cfg.epochs} steps with "
            f"the best of lr {{{', '.join(f'{v:g}' for v in cfg.lrs)}}} per architecture and target, {cfg.seeds} seeds")


def _rms_numbers(cfg, names, labels, q, outcome) -> list[Number]:
    """Median test RMS [IQR] of the deep and the shallow net on each target some architecture learned."""
    return [Number(f"{names[i]}: {lab.split(' (')[0]}", float(q[lab][1, i]), float(q[lab][0, i]),
                   float(q[lab][2, i]), f"IQR over {cfg.seeds} seeds", "test RMS")
            for i in range(len(names)) if outcome[i] != "not learned" for lab in (labels[-1], labels[0])]


def c18(cfg, names, labels, nparams, archs, outcome, p_val, q, exact, figs, n_learned, lr_idx, n_div, n_runs):
    """C18: capacity by construction (sawtooth targets only); the trained comparison is a measured condition."""
    short = {lab: lab.split(" (")[0] for lab in labels}
    exact_ok, gap, k_max = bool(np.all(exact[:, 3:] < 1e-4)), exact[-1, 2] / exact[-1, 1], int(exact[-1, 0])
    table = "; ".join(
        f"{name}: median test RMS [IQR] " + ", ".join(
            f"{short[lab]} {q[lab][1, i]:.3g} [{q[lab][0, i]:.2g}-{q[lab][2, i]:.2g}] (lr {cfg.lrs[lr_idx[lab][i]]:g}, "
            f"learned {n_learned[lab][i]}/{cfg.seeds})" for lab in labels)
        + f"; deep vs shallow rank-sum p = {p_val[i]:.2g} -> {outcome[i]}" for i, name in enumerate(names))
    measured = (
        f"exact constructions of T^k for k = {int(exact[0, 0])}..{k_max}: deep 1-2-...-2-1 needs "
        f"{', '.join(str(int(p)) for p in exact[:, 1])} parameters, shallow 1-2^k-1 "
        f"{', '.join(str(int(p)) for p in exact[:, 2])} (x{gap:.0f} at k = {k_max}); max error "
        f"{exact[:, 3:].max():.1e}. Trained at matched parameter counts "
        f"({', '.join(f'{lab}: {nparams[lab]}' for lab in labels)}; {cfg.seeds} seeds): {table}. "
        f"Diverged: {n_div} of {n_runs} runs (all rates)")
    saw = {o: [n for n, oo in zip(names, outcome, strict=True) if oo == o and n.startswith("sawtooth")]
           for o in ("deep", "shallow", "tie", "not learned")}
    trained_agrees = bool(saw["deep"]) and not (saw["shallow"] or saw["tie"])
    budget = _budget(cfg, archs, nparams, labels)
    conds = []
    if outcome[-1] != "deep":
        conds.append(
            f"shown by construction only for the sawtooth (compositional) targets T^k, where depth needs 6k + 1 "
            f"parameters against 3 2^k + 1; on the smooth target the trained deep net did not do better "
            f"({outcome[-1]})")
    if not trained_agrees:
        parts = [f"won on {', '.join(saw['deep']) or 'no sawtooth target'}"]
        parts += [f"lost on {', '.join(saw['shallow'])}"] if saw["shallow"] else []
        parts += [f"tied on {', '.join(saw['tie'])}"] if saw["tie"] else []
        parts += [f"no architecture learned {', '.join(saw['not learned'])}"] if saw["not learned"] else []
        conds.append("as representational capacity only: trained by gradient descent from random initialisations "
                     f"{budget}, the deep-narrow net " + "; ".join(parts))
    answer = (f"Yes by construction: a deep 1-2-...-2-1 ReLU net computes T^{k_max} exactly with "
              f"{int(exact[-1, 1])} parameters where one hidden layer needs {int(exact[-1, 2])}"
              + ("; trained nets of matched size showed it too." if trained_agrees else
                 ", but trained nets of matched size did not show the advantage."))
    numbers = [Number(f"parameters for T^{k_max}, deep", int(exact[-1, 1]), unit="count"),
               Number(f"parameters for T^{k_max}, shallow", int(exact[-1, 2]), unit="count"),
               Number("max error of the constructions", float(exact[:, 3:].max()), unit="abs")]
    return verdict(
        "C18", exact_ok and gap > 1,
        "Can a deep narrow ReLU net compute the sawtooth T^k with far fewer parameters than one hidden layer "
        "(checked on hand-built networks), and do trained nets of matched size show it?",
        measured, conditional=bool(conds), conditions="; ".join(conds),
        setting=f"hand-built networks checked on a grid for k = {int(exact[0, 0])}..{k_max} (the lower "
                f"bound 2^k - 1 units for one layer is the kink-count theorem, not measured); trained: ReLU nets, "
                f"{cfg.m} training points on [0, 1], mean half squared error, {budget}; 'learned' = test RMS <= "
                f"{cfg.learned_rms}; a win needs a x{cfg.clear_factor} lower median error and rank-sum p < {cfg.alpha}",
        figures=figs, facts={"exact_constructions": exact_ok, "outcome": dict(zip(names, outcome, strict=True))},
        answer=answer, numbers=numbers + _rms_numbers(cfg, names, labels, q, outcome)[:2])


def c8(cfg, names, labels, nparams, archs, outcome, p_val, q, exact, figs, deep_beats, effects):
    """C8, practical half: only targets some architecture learned can say which is easier to train."""
    short = {lab: lab.split(" (")[0] for lab in labels}
    decided = [i for i in range(len(names)) if outcome[i] != "not learned"]
    n_deep = sum(outcome[i] == "deep" for i in decided)
    n_shallow = sum(outcome[i] == "shallow" for i in decided)
    n_tie = len(decided) - n_deep - n_shallow
    unlearned = [n for n, o in zip(names, outcome, strict=True) if o == "not learned"]
    conds = [f"only {_budget(cfg, archs, nparams, labels)}"]
    if n_deep == n_shallow:
        conds.insert(0, f"inconclusive: of {len(decided)} learnable targets the deep net was clearly better on "
                        f"{n_deep} and clearly worse on {n_shallow} (ties: {n_tie})")
    if unlearned:
        conds.append(f"left out: {', '.join(unlearned)}, which no architecture learned")
    measured = (
        f"of {len(decided)} targets that some architecture learned ({', '.join(names[i] for i in decided) or 'none'}), "
        f"the {short[labels[-1]]} net reached a clearly lower median test error than the {short[labels[0]]} net on "
        f"{n_deep}, a clearly higher one on {n_shallow}, and tied on {n_tie}; probability that a deep seed ends "
        f"below a shallow seed (all {cfg.seeds} x {cfg.seeds} pairs) per target: "
        + ", ".join(f"{n} {100 * b:.0f}% (p = {p:.2g})" for n, b, p in zip(names, deep_beats, p_val, strict=True))
        + f"; effect, shallow / deep median test RMS with its 95% bootstrap interval over the seeds (a clear win "
          f"needs a ratio beyond {cfg.clear_factor:g} or below 1/{cfg.clear_factor:g} and p < {cfg.alpha:g}): "
        + ", ".join(f"{n} x{e['ratio']:.2g} [{e['low']:.2g}, {e['high']:.2g}]"
                    for n, e in zip(names, effects, strict=True))
        + (f"; left out (no architecture learned them): {', '.join(unlearned)}" if unlearned else ""))
    word = "easier" if n_deep > n_shallow else "harder" if n_shallow > n_deep else "neither easier nor harder"
    answer = (f"At matched size the {short[labels[-1]]} net was {word} to train than one wide layer here: better "
              f"on {n_deep}, worse on {n_shallow} and tied on {n_tie} of {len(decided)} learnable targets.")
    return verdict(
        "C8", n_deep >= n_shallow,
        "In practice, are several layers easier to train than one wide layer of the same size?",
        measured, conditional=True, conditions="; ".join(conds),
        setting=f"as for C18 in this study; {cfg.seeds} seeds per architecture, target and learning rate",
        figures=figs[:1], facts={"outcome": dict(zip(names, outcome, strict=True))}, answer=answer,
        numbers=_rms_numbers(cfg, names, labels, q, outcome)
        + [Number(f"{names[i]}: shallow / deep median RMS", float(effects[i]["ratio"]), float(effects[i]["low"]),
                  float(effects[i]["high"]), "95% bootstrap", f"ratio (rank-sum p = {p_val[i]:.2g})")
           for i in decided])
