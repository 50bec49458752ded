"""Depth vs width at matched parameter counts (C18, and the practical half of C8).

What is measured:

* Representation, exactly: the sawtooth ``T^k`` (the tent map composed ``k`` times, ``2^(k-1)`` teeth) is computed
  by a hand-built deep ReLU network ``1 -> 2 -> ... -> 2 -> 1`` with ``6k + 1`` parameters
  (:func:`xgnn_jax.analysis.approximation.sawtooth_network`) and by a hand-built shallow one ``1 -> 2^k -> 1`` with
  ``3 * 2^k + 1`` (:func:`~xgnn_jax.analysis.approximation.shallow_sawtooth_network`); no shallow net with fewer than
  ``2^k - 1`` units can, as each kink needs a unit. Both are checked numerically.
* Training: ReLU networks with about the same number of parameters, one hidden layer (wide), two, and
  ``deep_layers`` (narrow), trained by full-batch Adam on an even grid on [0, 1] from many seeds, on sawtooth
  targets ``T^k`` (which reward composition) and on a smooth target ``1/2 + 1/2 sin(2 pi x)`` (which does not).
  Each architecture gets a small learning-rate choice per target (the rate with the lowest median *training*
  loss, so the test error does not pick it). Test RMS error on 2001 points; all rates, targets and seeds of one
  architecture in one compiled program.
* A comparison is a win only when one median test error is ``clear_factor`` times lower *and* a rank-sum
  (Mann-Whitney) test over the seeds gives p < 0.05; otherwise it is a tie. A target that no architecture learned
  (test RMS <= ``learned_rms`` on no seed) says nothing about which is easier to train and is left out.

The verdicts separate what depth can represent (C18, by construction, for sawtooth targets only) from what
gradient training at matched size finds (the practical half of C8, and a condition of C18).

Quick setting: about 25 s on 2 CPU cores; full: several minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import approximation as A
from xgnn_jax.core.mlp import MLP
from xgnn_jax.engine import train
from xgnn_jax.study import plotting, results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import verdict


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    ks: tuple[int, ...] = (2, 4)  # sawtooth targets T^k
    deep_width: int = 8
    deep_layers: int = 4  # the shallow and 2-layer nets are sized to the deep one's parameter count
    seeds: int = 24  # 8 left T^2's comparison (p 0.04-0.3) and the smooth one (p = 0.041) at the mercy of the seed
    epochs: int = 1500  # full-batch Adam steps
    lrs: tuple[float, ...] = (0.003, 0.01, 0.03)  # Adam rates tried per architecture and target (best train loss)
    m: int = 128  # training points, an even grid on [0, 1]
    exact_ks: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)  # hand-built constructions checked
    learned_rms: float = 0.05  # test RMS error counted as "learned"
    clear_factor: float = 1.25  # a win needs a median error this many times lower (and rank-sum p < alpha)
    alpha: float = 0.05  # significance level of the rank-sum test over seeds

    ESTIMATED_SECONDS = {"quick": 25, "full": 900}

    @classmethod
    def full(cls) -> Config:
        return cls(ks=(2, 3, 4, 5, 6), seeds=32, epochs=5000, m=256)


def architectures(cfg: Config) -> dict[str, tuple[int, ...]]:
    """Layer sizes of the shallow, 2-hidden-layer and deep networks, matched to the deep one's parameter count."""
    deep = (1,) + (cfg.deep_width,) * cfg.deep_layers + (1,)
    p = MLP(deep).num_params
    shallow = (1, A.shallow_width_for(p), 1)
    # (1, w, w, 1) has w^2 + 4 w + 1 parameters.
    w2 = max(1, int(round(-2 + np.sqrt(3 + p))))
    return {f"1 hidden layer ({shallow[1]} units)": shallow, f"2 hidden layers ({w2} units each)": (1, w2, w2, 1),
            f"{cfg.deep_layers} hidden layers ({cfg.deep_width} units each)": deep}


def _smooth(x):
    return 0.5 + 0.5 * jnp.sin(2 * jnp.pi * x)


@functools.partial(jax.jit, static_argnames=("ks",))
def _exact_errors(ks):
    """Max error of the hand-built deep and shallow sawtooth networks against ``T^k`` on a fine grid, ``(len(ks), 2)``."""
    out = []
    for k in ks:
        xt = jnp.linspace(0.0, 1.0, 4 * 2 ** k + 1)[:, None]
        t = A.sawtooth(xt, k)
        row = []
        for build in (A.sawtooth_network, A.shallow_sawtooth_network):
            model, params = build(k)
            row.append(jnp.max(jnp.abs(model.apply(params, xt) - t)))
        out.append(jnp.stack(row))
    return jnp.stack(out)


def rank_sum_p(a, b) -> float:
    """Two-sided p-value of the Mann-Whitney rank-sum test of samples ``a`` and ``b`` (normal approximation with
    the tie correction): ``U = R_a - n_a (n_a + 1) / 2``, ``z = (U - n_a n_b / 2) / sigma``,
    ``sigma^2 = n_a n_b / 12 ((n + 1) - sum_t (t^3 - t) / (n (n - 1)))`` over groups of ``t`` tied values."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    na, nb = a.size, b.size
    if na == 0 or nb == 0:
        return 1.0
    both = np.concatenate([a, b])
    n = both.size
    _, inv, counts = np.unique(both, return_inverse=True, return_counts=True)
    # Average ranks (1-based) of tied values.
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = (first + (counts + 1) / 2)[inv]
    u = ranks[:na].sum() - na * (na + 1) / 2
    var = na * nb / 12 * ((n + 1) - np.sum(counts**3 - counts) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - na * nb / 2) - 0.5) / np.sqrt(var)  # continuity correction
    return float(math.erfc(max(z, 0.0) / math.sqrt(2)))


def _train_arch(sizes, x, ys, x_test, ys_test, keys, cfg):
    """All learning rates x targets x seeds of one architecture: test RMS, diverged, final training loss and the
    test outputs, each ``(len(lrs), targets, seeds, ...)``."""
    model = MLP(sizes, hidden="relu", output="identity", weight_init="he_uniform", bias_init="uniform(-1, 1)")
    tcfg = train.TrainConfig(epochs=cfg.epochs, mode="full_batch", loss="half_sse", optimizer="adam",
                             record_grad_norm=False)
    lrs = jnp.asarray(cfg.lrs, jnp.float32)

    def one(lr, y, y_test, key):
        res = train.make_run(model, train.Data(x, y), tcfg)(key, train.hparams(lr=lr))
        out = model.apply(res.params, x_test)
        return A.rms_error(out, y_test), res.diverged, res.final_loss, out[:, 0]

    per_seed = jax.vmap(one, in_axes=(None, None, None, 0))
    per_target = jax.vmap(per_seed, in_axes=(None, 0, 0, None))
    f, _ = train.compile_run(jax.vmap(per_target, in_axes=(0, None, None, None)), lrs, ys, ys_test, keys)
    return model.num_params, jax.device_get(f(lrs, ys, ys_test, keys))


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    if any(k <= 0 for k in cfg.ks) or not cfg.ks:
        raise ValueError(f"ks: expected positive sawtooth depths, got {cfg.ks!r}")
    x = jnp.linspace(0.0, 1.0, cfg.m)[:, None]
    x_test = jnp.linspace(0.0, 1.0, 2001)[:, None]
    names = [f"sawtooth T^{k}" for k in cfg.ks] + ["smooth"]
    fns = [lambda z, k=k: A.sawtooth(z, k) for k in cfg.ks] + [_smooth]
    ys = jnp.stack([f(x) for f in fns])
    ys_test = jnp.stack([f(x_test) for f in fns])
    keys = jax.random.split(jax.random.key(cfg.seed), cfg.seeds)

    # ------------------------------------------------------------------ exact constructions
    errs = np.asarray(_exact_errors(tuple(cfg.exact_ks)))
    exact = [(k, A.sawtooth_network(k)[0].num_params, A.shallow_sawtooth_network(k)[0].num_params, *errs[i])
             for i, k in enumerate(cfg.exact_ks)]
    exact = np.asarray(exact)
    exact_ok = bool(np.all(exact[:, 3:] < 1e-4))
    gap = exact[-1, 2] / exact[-1, 1]

    # ------------------------------------------------------------------ trained, matched parameter counts
    archs = architectures(cfg)
    rms, div, outs, nparams, lr_idx, rms_all, div_all = {}, {}, {}, {}, {}, {}, {}
    for label, sizes in results.progress(archs.items(), desc="architectures", enabled=progress):
        nparams[label], (r, d, fl, o) = _train_arch(sizes, x, ys, x_test, ys_test, keys, cfg)
        r, d, fl, o = (np.asarray(a) for a in (r, d, fl, o))
        # Per target, the rate with the lowest median training loss (diverged runs count as infinitely bad).
        best = np.argmin(np.median(np.where(d | ~np.isfinite(fl), np.inf, fl), axis=2), axis=0)
        t_idx = np.arange(len(names))
        lr_idx[label], rms_all[label], div_all[label] = best, r, d
        rms[label], div[label], outs[label] = r[best, t_idx], d[best, t_idx], o[best, t_idx]
    labels = list(archs)
    shallow_l, deep_l = labels[0], labels[-1]
    short = {lab: lab.split(" (")[0] for lab in labels}
    med = {lab: np.nanmedian(np.where(div[lab], np.nan, rms[lab]), axis=1) for lab in labels}
    iqr = {lab: np.nanpercentile(np.where(div[lab], np.nan, rms[lab]), [25, 75], axis=1) for lab in labels}
    learned = {lab: np.mean(rms[lab] <= cfg.learned_rms, axis=1) for lab in labels}
    n_learned = {lab: np.sum(rms[lab] <= cfg.learned_rms, axis=1) for lab in labels}
    # P(a deep seed ends below a shallow seed), over all pairs of seeds: the rank-sum statistic U / (n_a n_b).
    deep_beats = np.asarray([np.mean(rms[deep_l][i][:, None] < rms[shallow_l][i][None, :]) for i in range(len(names))])
    p_val = np.asarray([rank_sum_p(rms[deep_l][i], rms[shallow_l][i]) for i in range(len(names))])

    outcome = []
    for i in range(len(names)):
        ratio = med[shallow_l][i] / med[deep_l][i]
        if not any(learned[lab][i] > 0 for lab in labels):
            outcome.append("not learned")
        elif ratio >= cfg.clear_factor and p_val[i] < cfg.alpha:
            outcome.append("deep")
        elif ratio <= 1 / cfg.clear_factor and p_val[i] < cfg.alpha:
            outcome.append("shallow")
        else:
            outcome.append("tie")
    comp = [i for i, n in enumerate(names) if n.startswith("sawtooth")]

    def names_with(result, idx):
        return [names[i] for i in idx if outcome[i] == result]

    # ------------------------------------------------------------------ figures
    figs = []
    if out_dir is not None:
        figs.append(_plot_errors(out_dir, names, labels, rms, nparams, cfg.learned_rms))
        figs.append(_plot_exact(out_dir, exact))
        figs.append(_plot_fits(out_dir, names, labels, rms, outs, x_test, ys_test))

    # ------------------------------------------------------------------ verdicts
    table = "; ".join(
        f"{name}: median test RMS [IQR] " + ", ".join(
            f"{short[lab]} {med[lab][i]:.3g} [{iqr[lab][0, i]:.2g}-{iqr[lab][1, i]:.2g}] (lr {cfg.lrs[lr_idx[lab][i]]:g}, "
            f"learned {n_learned[lab][i]}/{cfg.seeds})" for lab in labels)
        + f"; deep vs shallow rank-sum p = {p_val[i]:.2g} -> {outcome[i]}" for i, name in enumerate(names))
    n_div = int(sum(v.sum() for v in div_all.values()))
    n_runs = int(sum(v.size for v in div_all.values()))
    wide_units = archs[shallow_l][1]
    budget = (f"at matched size ({nparams[shallow_l]} vs {nparams[deep_l]} parameters, so the single layer has "
              f"{wide_units} units, not an 'extremely wide' one), full-batch Adam for {cfg.epochs} steps with the "
              f"best of lr {{{', '.join(f'{v:g}' for v in cfg.lrs)}}} per architecture and target, {cfg.seeds} seeds")
    measured = (
        f"exact constructions of T^k for k = {int(exact[0, 0])}..{int(exact[-1, 0])}: deep 1-2-...-2-1 needs "
        f"{', '.join(str(int(p)) for p in exact[:, 1])} parameters, shallow 1-2^k-1 "
        f"{', '.join(str(int(p)) for p in exact[:, 2])} (x{gap:.0f} at k = {int(exact[-1, 0])}); max error "
        f"{exact[:, 3:].max():.1e}. Trained at matched parameter counts "
        f"({', '.join(f'{lab}: {nparams[lab]}' for lab in labels)}; {cfg.seeds} seeds): {table}. "
        f"Diverged: {n_div} of {n_runs} runs (all rates)")

    # C18: capacity by construction (sawtooth targets only); the trained comparison enters as a measured condition.
    saw_won, saw_lost = names_with("deep", comp), names_with("shallow", comp)
    saw_tie, saw_none = names_with("tie", comp), names_with("not learned", comp)
    trained_agrees = bool(saw_won) and not (saw_lost or saw_tie)
    smooth_won = outcome[-1] == "deep"
    conds = []
    if not smooth_won:
        conds.append(
            f"shown by construction only for the sawtooth (compositional) targets T^k, where depth needs 6k + 1 "
            f"parameters against 3 2^k + 1; on the smooth target the trained deep net did not do better "
            f"({outcome[-1]})")
    if not trained_agrees:
        parts = [f"won on {', '.join(saw_won) or 'no sawtooth target'}"]
        parts += [f"lost on {', '.join(saw_lost)}"] if saw_lost else []
        parts += [f"tied on {', '.join(saw_tie)}"] if saw_tie else []
        parts += [f"no architecture learned {', '.join(saw_none)}"] if saw_none else []
        conds.append("as representational capacity only: trained by gradient descent from random initialisations "
                     f"{budget}, the deep-narrow net " + "; ".join(parts))
    verdicts = [verdict(
        "C18", exact_ok and gap > 1,
        "Can a deep narrow ReLU net compute the sawtooth T^k with far fewer parameters than one hidden layer "
        "(checked on hand-built networks), and do trained nets of matched size show it?",
        measured, conditional=bool(conds), conditions="; ".join(conds),
        setting=f"hand-built networks checked on a grid for k = {int(exact[0, 0])}..{int(exact[-1, 0])} (the lower "
                f"bound 2^k - 1 units for one layer is the kink-count theorem, not measured); trained: ReLU nets, "
                f"{cfg.m} training points on [0, 1], mean half squared error, {budget}; 'learned' = test RMS <= "
                f"{cfg.learned_rms}; a win needs a x{cfg.clear_factor} lower median error and rank-sum p < {cfg.alpha}",
        figures=figs, facts={"exact_constructions": bool(exact_ok), "outcome": dict(zip(names, outcome, strict=True))})]

    # C8, practical half: only targets some architecture learned can say which is easier to train.
    decided = [i for i in range(len(names)) if outcome[i] != "not learned"]
    n_deep = sum(outcome[i] == "deep" for i in decided)
    n_shallow = sum(outcome[i] == "shallow" for i in decided)
    n_tie = len(decided) - n_deep - n_shallow
    unlearned = names_with("not learned", range(len(names)))
    c8_conds = [f"only {budget}"]
    if n_deep == n_shallow:
        c8_conds.insert(0, f"inconclusive: of {len(decided)} learnable targets the deep net was clearly better on "
                           f"{n_deep} and clearly worse on {n_shallow} (ties: {n_tie})")
    if unlearned:
        c8_conds.append(f"left out: {', '.join(unlearned)}, which no architecture learned")
    verdicts.append(verdict(
        "C8", n_deep >= n_shallow,
        "In practice, are several layers easier to train than one wide layer of the same size?",
        f"of {len(decided)} targets that some architecture learned ({', '.join(names[i] for i in decided) or 'none'}), "
        f"the {short[deep_l]} net reached a clearly lower median test error than the {short[shallow_l]} net on "
        f"{n_deep}, a clearly higher one on {n_shallow}, and tied on {n_tie}; probability that a deep seed ends "
        f"below a shallow seed (all {cfg.seeds} x {cfg.seeds} pairs) per target: "
        + ", ".join(f"{n} {100 * b:.0f}% (p = {p:.2g})" for n, b, p in zip(names, deep_beats, p_val, strict=True))
        + (f"; left out (no architecture learned them): {', '.join(unlearned)}" if unlearned else ""),
        conditional=True, conditions="; ".join(c8_conds),
        setting=f"as for C18 in this study; {cfg.seeds} seeds per architecture, target and learning rate",
        figures=figs[:1], facts={"outcome": dict(zip(names, outcome, strict=True))}))
    summary = {"architectures": {lab: {"sizes": archs[lab], "params": nparams[lab]} for lab in labels},
               "targets": names, "median_rms": med, "iqr_rms": iqr, "learned_fraction": learned,
               "chosen_lr": {lab: [cfg.lrs[j] for j in lr_idx[lab]] for lab in labels}, "outcome": outcome,
               "rank_sum_p": p_val, "deep_beats_shallow_fraction": deep_beats,
               "c8_counts": {"deep": n_deep, "shallow": n_shallow, "tie": n_tie, "not_learned": len(unlearned)},
               "exact": exact, "diverged": n_div, "verdicts": verdicts}
    arrays = {"exact_k_deep_params_shallow_params_errors": exact, "lrs": np.asarray(cfg.lrs)}
    for j, lab in enumerate(labels):
        arrays[f"rms_arch{j}"] = rms[lab]  # (targets, seeds) at the chosen rate
        arrays[f"diverged_arch{j}"] = div[lab]
        arrays[f"rms_all_lrs_arch{j}"] = rms_all[lab]  # (lrs, targets, seeds)
        arrays[f"diverged_all_lrs_arch{j}"] = div_all[lab]
    wall = time.perf_counter() - t0
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def _plot_errors(out_dir, names, labels, rms, nparams, learned_rms):
    fig, ax = plotting.figure(width=7.0, height=3.8)
    n_arch = len(labels)
    for j, lab in enumerate(labels):
        pos = np.arange(len(names)) + (j - (n_arch - 1) / 2) * 0.25
        vals = rms[lab]
        ax.scatter(np.repeat(pos, vals.shape[1]), vals.ravel(), s=8, alpha=0.6,
                   label=f"{lab}, {nparams[lab]} params (one dot per seed)")
        ax.scatter(pos, np.median(vals, axis=1), marker="_", s=300, color="k")
    ax.scatter([], [], marker="_", s=200, color="k", label="median over seeds")
    ax.axhline(learned_rms, color="tab:gray", ls=":", lw=1, label=f"'learned' threshold (RMS {learned_rms:g})")
    ax.set(xticks=np.arange(len(names)), xticklabels=names, yscale="log", ylabel="test RMS error",
           xlabel="target", title="Trained ReLU nets at matched parameter counts (best lr each)")
    ax.legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/depth_width_errors.png")


def _plot_exact(out_dir, exact):
    fig, ax = plotting.figure(width=5.0, height=3.6)
    ax.plot(exact[:, 0], exact[:, 1], "o-", label="deep 1-2-...-2-1 (6k + 1)")
    ax.plot(exact[:, 0], exact[:, 2], "s-", label="shallow 1-2^k-1 (3 2^k + 1)")
    ax.set(yscale="log", xlabel="compositions k of the tent map", ylabel="parameters (count)",
           title="Parameters to compute the sawtooth T^k exactly")
    ax.legend(fontsize=8)
    return plotting.save(fig, f"{out_dir}/depth_width_exact.png")


def _plot_fits(out_dir, names, labels, rms, outs, x_test, ys_test):
    idx = [i for i, n in enumerate(names) if n.startswith("sawtooth")][-1]
    fig, ax = plotting.figure(width=6.0, height=3.6)
    xs = np.asarray(x_test)[:, 0]
    ax.plot(xs, np.asarray(ys_test[idx])[:, 0], "k", lw=2, label=names[idx])
    for lab in (labels[0], labels[-1]):
        best = int(np.argmin(rms[lab][idx]))
        ax.plot(xs, outs[lab][idx, best], lw=1, label=f"{lab} (best seed)")
    ax.set(xlabel="x", ylabel="output", title=f"Best trained fits of {names[idx]}")
    ax.legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/depth_width_fits.png")


STUDY = Study(
    name="depth_width",
    title="Depth vs width: exact sawtooth constructions and trained nets at matched parameter counts",
    claims=("C18", "C8"),
    config=Config,
    run=run,
    order=8,
    description=__doc__.split("\n\n")[0],
)
