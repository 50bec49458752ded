"""Overfitting and its two remedies from the chapter: early stopping and regularisation (C16).

What is measured, on a small noisy regression problem where an over-sized network overfits:

* Data per restart (each restart draws its own data and initial parameters): ``y = sin(x) + noise * eps`` on
  ``x ~ U(-pi, pi)``, ``n_train`` training points, ``n_val`` validation points and ``n_test`` test points from the
  same distribution. Network ``1-h-1`` with tanh hidden units and a linear output, ``h`` much larger than needed,
  trained on the book's ``E = (1/m) sum_k E_k`` (half squared error) with full-batch updates (Adam by default, so
  the over-fit appears within a few thousand epochs; ``optimizer="sgd"`` for the book's plain steps).
* No remedy: the parameters after the whole budget of epochs.
* Early stopping (the book's rule, C16): the run stops once the validation error has not improved for ``patience``
  epochs and returns the parameters with the smallest validation error (``train.TrainConfig(early_stopping=True)``).
* Regularisation: L2 ``E + (wd / 2) sum w^2`` over a grid of ``wd``, and the book's ``E = lam (1/m) sum E_k +
  (1 - lam) sum w^2`` over a grid of ``lam``; for each restart the strength with the smallest final validation
  error is chosen (the test set is not used for any choice).

Reported: train / validation curves with their spread over restarts; the test error (half squared error on the test
points; the noise floor is ``noise^2 / 2``) of each remedy, and how often each remedy beats no remedy on the same
restart (paired, with a sign test). The verdict holds when the network overfits without a remedy (validation error
rises from its minimum while the training error keeps falling) and both remedies lower the median test error and
beat no remedy on significantly more restarts than chance (p < 0.05). It holds *under conditions* when measured
facts limit it: some tested strengths (``wd`` or ``lam``) raise the test error or make no clear difference (so the
strength must be chosen; the book's ``lam`` has to be close to 1), or the validation set chose an end of a grid.
The grids span several decades (``lam`` down to 0.5) so that the chosen strength is interior.

Quick setting: about 20-30 s on 2 CPU cores (three compiled programs); full: a minute or two.
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.data import datasets
from xgnn_jax.engine import train
from xgnn_jax.study import plotting, results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import verdict


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    restarts: int = 16  # each restart: its own data draw and initial parameters
    n_train: int = 20  # training points per restart
    n_val: int = 20  # validation points (early stopping, choice of the penalty strength)
    n_test: int = 500  # test points (only reported, never used for a choice)
    noise: float = 0.3  # standard deviation of the target noise
    hidden: int = 100  # hidden tanh units (over-sized on purpose)
    epochs: int = 2000  # full-batch epochs
    optimizer: str = "adam"  # train.OPTIMIZERS; "sgd" is the book's plain step
    lr: float = 0.01  # learning rate
    patience: int = 200  # early stopping: epochs without a better validation error
    weight_decays: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # L2 strengths wd (E + wd/2 sum w^2)
    lams: tuple[float, ...] = (0.99999, 0.9999, 0.999, 0.99, 0.9, 0.5)  # the book's lambda (lam E + (1-lam) sum w^2)

    ESTIMATED_SECONDS = {"quick": 25, "full": 180}

    @classmethod
    def full(cls) -> Config:
        return cls(restarts=128, epochs=5000,
                   weight_decays=(1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1, 1.0),
                   lams=(0.99999, 0.9999, 0.9997, 0.999, 0.997, 0.99, 0.9, 0.5))


def sign_p(wins: int, pairs: int) -> float:
    """One-sided sign test: the chance of at least ``wins`` successes in ``pairs`` fair coin flips."""
    return sum(math.comb(pairs, k) for k in range(wins, pairs + 1)) / 2**pairs if pairs else 1.0


def paired(a, b) -> tuple[int, int, int, float, float]:
    """Paired comparison of test errors ``a`` against ``b`` (same restarts): ``(a lower, a higher, untied pairs,
    p of "a lower", p of "a higher")`` by the sign test; ties and non-finite pairs are left out."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ok = np.isfinite(a) & np.isfinite(b) & (a != b)
    lower, higher = int(np.sum(a[ok] < b[ok])), int(np.sum(a[ok] > b[ok]))
    n = lower + higher
    return lower, higher, n, sign_p(lower, n), sign_p(higher, n)


def _draw(key, cfg: Config):
    """Train, validation and test sets of one restart."""
    k_tr, k_val, k_te = jax.random.split(key, 3)
    draw = lambda k, n: datasets.regression_1d(k, n=n, function="sin", noise=cfg.noise)  # noqa: E731
    return draw(k_tr, cfg.n_train), draw(k_val, cfg.n_val), draw(k_te, cfg.n_test)


def _program(model: MLP, cfg: Config, tcfg: train.TrainConfig, hp_name: str | None):
    """``f(data_keys, run_keys, strengths) -> dict``: restarts x strengths, each restart on its own data."""
    J = objective(model, "half_sse", "mean")

    def one(k_data, k_run, strength):
        (xtr, ytr), (xv, yv), (xt, yt) = _draw(k_data, cfg)
        run = train.make_run(model, train.Data(xtr, ytr, xv, yv), tcfg)
        hp = {"lr": jnp.float32(cfg.lr)}
        if hp_name is not None:
            hp[hp_name] = strength
        r = run(k_run, hp)
        return {"train": r.history["loss"], "val": r.history["val_loss"],
                "test_final": J(r.params, xt, yt), "test_best": J(r.best_params, xt, yt),
                "best_epoch": r.best_epoch, "stop_epoch": r.stop_epoch, "diverged": r.diverged}

    per_restart = jax.vmap(one, in_axes=(0, 0, None))
    return jax.vmap(per_restart, in_axes=(None, None, 0))  # leading axes: (strengths, restarts)


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t_start = time.perf_counter()
    cfg = config
    if cfg.restarts <= 0 or not cfg.weight_decays or not cfg.lams:
        raise ValueError("restarts, weight_decays, lams: expected a positive count and non-empty grids")
    if not all(0 < lam <= 1 for lam in cfg.lams):
        raise ValueError(f"lams: the book's lambda lies in (0, 1], got {cfg.lams!r}")
    key = jax.random.key(cfg.seed)
    k_data, k_run = jax.random.split(key)
    data_keys = jax.random.split(k_data, cfg.restarts)
    run_keys = jax.random.split(k_run, cfg.restarts)
    model = MLP((1, cfg.hidden, 1), hidden="tanh", output="identity", weight_init="fan_in_uniform",
                bias_init="fan_in_uniform")
    base = train.TrainConfig(epochs=cfg.epochs, mode="full_batch", loss="half_sse", reduction="mean",
                             optimizer=cfg.optimizer, record_grad_norm=False)
    variants = {
        # wd = 0 is the no-remedy run; its best_params are the validation-selected epoch over the whole budget.
        "l2": (dataclasses.replace(base, regularization="l2"), "weight_decay", (0.0, *cfg.weight_decays)),
        "book": (dataclasses.replace(base, regularization="book"), "lam", tuple(cfg.lams)),
        "early_stopping": (dataclasses.replace(base, early_stopping=True, patience=cfg.patience), None, (0.0,)),
    }
    out, compile_s = {}, {}
    for name, (tcfg, hp_name, grid) in variants.items():
        if progress:
            print(f"[overfitting] {name}: {cfg.restarts} restarts x {len(grid)} strengths")
        fn = _program(model, cfg, tcfg, hp_name)
        strengths = jnp.asarray(grid, jnp.float32)
        compiled, compile_s[name] = train.compile_run(fn, data_keys, run_keys, strengths)
        out[name] = jax.tree.map(np.asarray, jax.device_get(compiled(data_keys, run_keys, strengths)))

    none = {k: v[0] for k, v in out["l2"].items()}
    l2 = {k: v[1:] for k, v in out["l2"].items()}
    book, es = out["book"], {k: v[0] for k, v in out["early_stopping"].items()}
    idx = np.arange(cfg.restarts)
    # Strength chosen per restart by the final validation error (never by the test set).
    l2_pick = np.argmin(l2["val"][:, :, -1], axis=0)
    book_pick = np.argmin(book["val"][:, :, -1], axis=0)
    test = {"no remedy": none["test_final"], "early stopping": es["test_best"],
            "L2 (wd chosen on validation)": l2["test_final"][l2_pick, idx],
            "book's lambda form (chosen on validation)": book["test_final"][book_pick, idx],
            "best validation epoch, full budget": none["test_best"]}
    diverged = {"no remedy": int(none["diverged"].sum()), "l2": int(l2["diverged"].sum()),
                "book": int(book["diverged"].sum()), "early stopping": int(es["diverged"].sum())}
    finite = {k: np.isfinite(v) for k, v in test.items()}
    floor = cfg.noise**2 / 2

    # Overfitting without a remedy: validation error rises from its minimum while the training error falls.
    val_min = none["val"].min(axis=1)
    val_rise = none["val"][:, -1] / val_min
    train_drop = none["train"][:, -1] / none["train"][:, np.argmin(none["val"], axis=1)].diagonal()
    overfits = float(np.median(val_rise)) > 1.1 and float(np.median(train_drop)) < 0.9

    def med(a):
        return float(np.nanmedian(a))

    def q(a):
        return np.nanpercentile(a, [25, 50, 75])

    # Paired over restarts (same data, same initial parameters): a remedy "lowers the test error" when its median
    # is lower and the sign test says it beat no remedy on significantly more restarts than chance (p < 0.05).
    base = test["no remedy"]
    cmp = {"early stopping": paired(test["early stopping"], base),
           "L2": paired(test["L2 (wd chosen on validation)"], base),
           "book": paired(test["book's lambda form (chosen on validation)"], base)}
    es_better, l2_better, book_better = (float(np.mean(t < base)) for t in
                                         (test["early stopping"], test["L2 (wd chosen on validation)"],
                                          test["book's lambda form (chosen on validation)"]))
    es_helps = med(test["early stopping"]) < med(base) and cmp["early stopping"][3] < 0.05
    reg_helps = all(med(t) < med(base) and cmp[n][3] < 0.05 for n, t in
                    (("L2", test["L2 (wd chosen on validation)"]),
                     ("book", test["book's lambda form (chosen on validation)"])))

    # Each fixed strength against no remedy: which strengths lower the test error, which raise it (p < 0.05).
    def effect(tests):
        lower, higher, _, p_lower, p_higher = paired(tests, base)
        return "lower" if p_lower < 0.05 and med(tests) < med(base) else (
            "higher" if p_higher < 0.05 and med(tests) > med(base) else "no clear difference")

    l2_effect = [effect(l2["test_final"][i]) for i in range(len(cfg.weight_decays))]
    book_effect = [effect(book["test_final"][i]) for i in range(len(cfg.lams))]

    def choice(grid, pick):
        """Most chosen strength, its count, the chosen range, and how many restarts chose an end of the grid."""
        counts = np.bincount(pick, minlength=len(grid))
        ends = {int(np.argmin(grid)), int(np.argmax(grid))}
        chosen = np.asarray(grid)[pick]
        return {"mode": float(grid[int(np.argmax(counts))]), "mode_count": int(counts.max()),
                "min": float(chosen.min()), "max": float(chosen.max()),
                "at_grid_end": int(sum(counts[i] for i in ends))}

    l2_choice, book_choice = choice(cfg.weight_decays, l2_pick), choice(cfg.lams, book_pick)
    # The chosen strength is "interior" when at most a quarter of the restarts chose an end of the grid.
    interior = {n: c["at_grid_end"] <= cfg.restarts / 4 for n, c in (("L2", l2_choice), ("book", book_choice))}
    summary = {
        "setting": {"data": f"sin(x) + {cfg.noise} N(0,1), x ~ U(-pi, pi); {cfg.n_train} train / {cfg.n_val} val / "
                            f"{cfg.n_test} test points per restart", "network": f"1-{cfg.hidden}-1 tanh, linear output",
                    "optimizer": f"{cfg.optimizer}, lr {cfg.lr}, full batch, {cfg.epochs} epochs",
                    "noise_floor": floor},
        "test_error_q25_50_75": {k: q(v) for k, v in test.items()},
        "diverged": diverged,
        "share_of_restarts_beating_no_remedy": {"early stopping": es_better, "L2": l2_better, "book": book_better},
        "paired_vs_no_remedy": {n: {"lower": c[0], "higher": c[1], "untied": c[2], "p_lower": c[3], "p_higher": c[4]}
                                for n, c in cmp.items()},
        "chosen_strength": {"L2 wd": l2_choice, "book lambda": book_choice, "interior": interior},
        "no_remedy": {"val_final_over_min_median": med(val_rise), "train_drop_after_best_val_median": med(train_drop)},
        "early_stopping": {"stop_epoch_q25_50_75": q(es["stop_epoch"]), "best_epoch_q25_50_75": q(es["best_epoch"]),
                           "patience": cfg.patience},
        "l2_grid": {f"{wd:g}": {"test_median": med(l2["test_final"][i]), "chosen": int(np.sum(l2_pick == i)),
                                "vs_no_remedy": l2_effect[i]} for i, wd in enumerate(cfg.weight_decays)},
        "book_grid": {f"{lam:g}": {"test_median": med(book["test_final"][i]), "chosen": int(np.sum(book_pick == i)),
                                   "vs_no_remedy": book_effect[i]} for i, lam in enumerate(cfg.lams)},
        "compile_s": compile_s,
        "all_finite": {k: bool(v.all()) for k, v in finite.items()},
    }
    arrays = {"none_train": none["train"], "none_val": none["val"], "es_train": es["train"], "es_val": es["val"],
              "es_stop_epoch": es["stop_epoch"], "es_best_epoch": es["best_epoch"],
              "l2_train": l2["train"], "l2_val": l2["val"], "book_train": book["train"], "book_val": book["val"],
              "weight_decays": np.asarray(cfg.weight_decays), "lams": np.asarray(cfg.lams),
              **{f"test_{short}": test[k] for short, k in zip(("none", "early_stopping", "l2", "book", "best_val_epoch"),
                                                              test, strict=True)}}
    arrays = {k: (v.astype(np.float32) if v.ndim >= 2 else v) for k, v in arrays.items()}

    figures = []
    if out_dir is not None:
        figures.append(_plot_curves(out_dir, none, es, l2, book, l2_pick, book_pick, cfg, floor))
        figures.append(_plot_test(out_dir, test, floor))
    def listed(name, grid, effects):
        """'lam = a, b lowered the test error, lam = c raised it' from the paired per-strength comparisons."""
        parts = []
        for which, verb in (("lower", "lowered the test error (paired, p < 0.05)"), ("higher", "raised it"),
                            ("no clear difference", "made no clear difference")):
            vals = [f"{g:g}" for g, e in zip(grid, effects, strict=True) if e == which]
            if vals:
                parts.append(f"{name} = {', '.join(vals)} {verb}")
        return ", ".join(parts)

    def times(k):
        return "once" if k == 1 else f"{k} times"

    measured = (
        f"{cfg.restarts} restarts (own data each), 1-{cfg.hidden}-1 tanh on {cfg.n_train} noisy points: without a "
        f"remedy the final validation error is {med(val_rise):.2f}x its minimum (median) while the training error "
        f"falls to {med(train_drop):.2f}x its value at that minimum. Test error (half squared error, noise floor "
        f"{floor:.3g}), median [25%, 75%]: "
        + "; ".join(f"{k} {v[1]:.3g} [{v[0]:.3g}, {v[2]:.3g}]" for k, v in summary["test_error_q25_50_75"].items())
        + ". Lower test error than no remedy on the same restart (sign test): "
        + ", ".join(f"{n} {c[0]} of {c[2]} (p = {c[3]:.2g})" for n, c in cmp.items())
        + ". Median test error per fixed strength (no remedy " + f"{med(base):.3g}): L2 "
        + ", ".join(f"wd {wd:g}: {med(l2['test_final'][i]):.3g}" for i, wd in enumerate(cfg.weight_decays))
        + "; book's form " + ", ".join(f"lam {lam:g}: {med(book['test_final'][i]):.3g}" for i, lam in enumerate(cfg.lams))
        + f". Chosen on validation: wd {l2_choice['mode']:g} most often ({l2_choice['mode_count']} of {cfg.restarts}; "
        f"range {l2_choice['min']:g}-{l2_choice['max']:g}; an end of the grid {times(l2_choice['at_grid_end'])}), "
        f"lam {book_choice['mode']:g} most often ({book_choice['mode_count']} of {cfg.restarts}; range "
        f"{book_choice['min']:g}-{book_choice['max']:g}; an end of the grid {times(book_choice['at_grid_end'])}). "
        f"Early stopping stopped at epoch {med(es['stop_epoch']):.0f} (median of "
        f"{cfg.epochs}), returning epoch {med(es['best_epoch']):.0f}. Diverged runs: {sum(diverged.values())}."
    )

    # The conditions name what held at every seed tried: the effect of the strongest penalty of each grid and of
    # the validation-chosen one. Which of the strengths in between clear p < 0.05 moves with the seed at this
    # sample size; the whole per-strength list is in the measured text.
    def at(grid, effects, value):
        return effects[int(np.argmin(np.abs(np.asarray(grid) - value)))]

    strongest = {"L2": (max(cfg.weight_decays), l2_effect[int(np.argmax(cfg.weight_decays))]),
                 "book": (min(cfg.lams), book_effect[int(np.argmin(cfg.lams))])}
    at_chosen = {"L2": at(cfg.weight_decays, l2_effect, l2_choice["mode"]),
                 "book": at(cfg.lams, book_effect, book_choice["mode"])}
    measured += (" Per fixed strength against no remedy (paired sign test, p < 0.05): "
                 + listed("wd", cfg.weight_decays, l2_effect) + "; " + listed("lam", cfg.lams, book_effect) + ".")
    l2_hurts, book_hurts = strongest["L2"][1] != "lower", strongest["book"][1] != "lower"
    conditional = l2_hurts or book_hurts or not all(interior.values())
    cond = []
    if book_hurts:
        cond.append(f"the book's lambda must be close to 1: the strongest penalty tried, lam = {strongest['book'][0]:g}, "
                    f"{'raised' if strongest['book'][1] == 'higher' else 'did not lower'} the test error, while the "
                    f"lam the validation set chose most often ({book_choice['mode']:g}, {book_choice['mode_count']} "
                    f"of {cfg.restarts}) {'lowered it' if at_chosen['book'] == 'lower' else 'made no clear difference'}")
    if l2_hurts:
        cond.append(f"L2 helps only in a range of strengths: the strongest, wd = {strongest['L2'][0]:g}, "
                    f"{'raised' if strongest['L2'][1] == 'higher' else 'did not lower'} the test error, while the "
                    f"wd chosen most often ({l2_choice['mode']:g}, {l2_choice['mode_count']} of {cfg.restarts}) "
                    f"{'lowered it' if at_chosen['L2'] == 'lower' else 'made no clear difference'}")
    if cond:
        cond.append("so the strength has to be chosen, here on a held-out validation set")
    for n, c in (("L2 wd", l2_choice), ("book lambda", book_choice)):
        if not interior["L2" if n == "L2 wd" else "book"]:
            cond.append(f"NOTE: the chosen {n} was an end of its grid in {c['at_grid_end']} of {cfg.restarts} restarts, "
                        "so the best strength may lie outside the grid")
    if not overfits:
        cond.append("NOTE: no clear overfitting was measured")
    facts = {"overfits": bool(overfits), "early_stopping_lowers": bool(es_helps), "chosen_strengths_lower": bool(reg_helps),
             "strongest_l2": strongest["L2"][1], "strongest_book": strongest["book"][1],
             "chosen_l2": at_chosen["L2"], "chosen_book": at_chosen["book"], "chosen_interior": all(interior.values())}
    summary["verdicts"] = [verdict(
        "C16", overfits and es_helps and reg_helps,
        "Does an over-sized network overfit a small noisy training set, and do early stopping (return the weights "
        "with the smallest validation error) and the book's regularisation lower the test error?",
        measured, conditional=conditional, conditions="; ".join(cond),
        setting=f"a {cfg.hidden}-unit network on {cfg.n_train} points with noise {cfg.noise}, {cfg.optimizer} "
                f"full-batch for {cfg.epochs} epochs; E = (1/m) sum_k 1/2 (y_hat_k - y_k)^2; L2: E + wd/2 sum w^2 (weights only); book: "
                f"lam E + (1 - lam) sum w^2; early stopping patience {cfg.patience}",
        figures=figures, facts=facts)]
    wall = time.perf_counter() - t_start
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def _plot_curves(out_dir, none, es, l2, book, l2_pick, book_pick, cfg, floor):
    fig, axes = plotting.figure(ncols=3, width=4.6, height=3.8)
    ep = np.arange(1, cfg.epochs + 1)
    idx = np.arange(cfg.restarts)
    panels = [("no remedy", none["train"], none["val"]),
              ("L2, wd chosen on validation", l2["train"][l2_pick, idx], l2["val"][l2_pick, idx]),
              ("book's lambda form, chosen on validation", book["train"][book_pick, idx], book["val"][book_pick, idx])]
    for ax, (title, tr, va) in zip(axes, panels, strict=True):
        plotting.band(ax, ep, tr, label="training error")
        plotting.band(ax, ep, va, label="validation error")
        ax.axhline(floor, color="k", ls=":", lw=1, label="noise floor")
        ax.set(xscale="log", yscale="log", xlabel="epoch", ylabel="E (half squared error)", title=title)
    stops = np.asarray(es["stop_epoch"])
    axes[0].axvline(float(np.median(stops)), color="C3", ls="--", lw=1, label="early stop (median epoch)")
    axes[0].legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/overfitting_curves.png")


def _plot_test(out_dir, test, floor):
    fig, ax = plotting.figure(width=7.0, height=3.8)
    names = list(test)
    ax.boxplot([np.asarray(test[n])[np.isfinite(test[n])] for n in names], orientation="horizontal")
    ax.set_yticks(range(1, len(names) + 1), names, fontsize=7)
    ax.axvline(floor, color="k", ls=":", lw=1, label="noise floor")
    ax.set(xscale="log", xlabel="test error E (half squared error)", ylabel="remedy",
           title="Test error per remedy over restarts")
    ax.legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/overfitting_test_error.png")


STUDY = Study(
    name="overfitting",
    title="Overfitting: early stopping and regularisation",
    claims=("C16",),
    config=Config,
    run=run,
    order=35,
)
