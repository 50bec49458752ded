"""Universal approximation with one hidden layer: trained networks against the hand-built bump construction (C8).

What is measured, for four targets on ``[-1, 1]`` (``sin(pi x)``, ``|x|``, a unit step, and a wiggly composite
``sin(2 pi x) + 0.5 sin(5 pi x) exp(-x^2)``):

* trained: a ``1 -> W -> 1`` network (sigmoid hidden units, linear output) for each width ``W``, trained on an even
  grid of ``m`` points by full-batch Adam on the mean half squared error, from several seeds; all targets and
  seeds of one width run in one compiled program (``train.make_run`` vmapped over targets and seeds). Error: the
  RMS and max error on a 1001-point test grid.
* constructive: :func:`xgnn_jax.analysis.approximation.bump_network` with ``n`` bumps (``2 n`` hidden units), no
  training: ``g(x) = sum_j f(m_j) [sigmoid(k (x - e_{j-1})) - sigmoid(k (x - e_j))]``.

Both are plotted against the number of hidden units. The theorem is about continuous targets: the step is
included to show where it stops (the RMS error falls, the max error cannot).

Quick setting: about 15 s on 2 CPU cores; full: a few minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

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
    targets: tuple[str, ...] = ("sin", "abs", "step", "wiggly")
    widths: tuple[int, ...] = (1, 4, 16, 64, 256)
    seeds: int = 4
    epochs: int = 2000  # full-batch Adam steps
    lr: float = 0.02
    m: int = 128  # training points (an even grid on [-1, 1])
    bumps: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
    sharpness: float = 20.0  # sigmoid steepness times bin width in the bump construction
    tolerance: float = 0.05  # RMS error counted as "approximated" (targets have range about 1-2)

    ESTIMATED_SECONDS = {"quick": 15, "full": 300}

    @classmethod
    def full(cls) -> Config:
        return cls(widths=(1, 2, 4, 8, 16, 32, 64, 128, 256), seeds=16, epochs=10000, lr=0.01)


def _train_width(width: int, x, ys, x_test, ys_test, keys, cfg: Config):
    """All targets x all seeds for one width: test RMS and max error ``(targets, seeds)``, diverged flags."""
    model = MLP((1, width, 1), hidden="sigmoid", output="identity", weight_init="he_uniform",
                bias_init="uniform(-4, 4)")
    tcfg = train.TrainConfig(epochs=cfg.epochs, mode="full_batch", loss="half_sse", optimizer="adam",
                             record_grad_norm=False)
    hp = train.hparams(lr=cfg.lr)

    def one(y, y_test, key):
        res = train.make_run(model, train.Data(x, y), tcfg)(key, hp)
        out = model.apply(res.params, x_test)
        return A.rms_error(out, y_test), A.max_error(out, y_test), res.diverged, res.final_loss

    f, _ = train.compile_run(jax.vmap(jax.vmap(one, in_axes=(None, None, 0)), in_axes=(0, 0, None)),
                             ys, ys_test, keys)
    return jax.device_get(f(ys, ys_test, keys))


FIT_BUMPS = (4, 16)  # bump counts drawn in the fits figure


@functools.partial(jax.jit, static_argnames=("targets", "bumps", "fit_bumps", "sharpness"))
def _bump_curves(targets, bumps, fit_bumps, sharpness, x_test, ys_test):
    """RMS and max test error of the bump construction ``(targets, bumps)``, and the curves for ``fit_bumps``."""
    rms, mx, fits = [], [], []
    for i, name in enumerate(targets):
        r, m, c = [], [], []
        for n in sorted(set(bumps) | set(fit_bumps)):
            model, params = A.bump_network(A.target(name), n, sharpness=sharpness)
            out = model.apply(params, x_test)
            if n in bumps:
                r.append(A.rms_error(out, ys_test[i]))
                m.append(A.max_error(out, ys_test[i]))
            if n in fit_bumps:
                c.append(out[:, 0])
        order = np.argsort(np.argsort(bumps))  # back to the order of ``bumps``
        rms.append(jnp.stack(r)[order])
        mx.append(jnp.stack(m)[order])
        fits.append(jnp.stack(c))
    return jnp.stack(rms), jnp.stack(mx), jnp.stack(fits)


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    for name in cfg.targets:
        A.target(name)
    x = jnp.linspace(-1.0, 1.0, cfg.m)[:, None]
    x_test = jnp.linspace(-1.0, 1.0, 1001)[:, None]
    ys = jnp.stack([A.target(n)(x) for n in cfg.targets])
    ys_test = jnp.stack([A.target(n)(x_test) for n in cfg.targets])
    keys = jax.random.split(jax.random.key(cfg.seed), cfg.seeds)

    # ------------------------------------------------------------------ trained, one compile per width
    rms, mx, div = [], [], []
    for w in results.progress(cfg.widths, desc="widths", enabled=progress):
        r, m_, d, _ = _train_width(w, x, ys, x_test, ys_test, keys, cfg)
        rms.append(r)
        mx.append(m_)
        div.append(d)
    # (targets, widths, seeds); diverged runs are counted and left out of the statistics.
    rms, mx, div = (np.stack(a, axis=1) for a in (rms, mx, div))
    rms_ok = np.where(div, np.nan, rms)
    q25, med, q75 = np.nanpercentile(rms_ok, [25, 50, 75], axis=2)

    # ------------------------------------------------------------------ constructive bumps, no training
    bump_rms, bump_max, bump_fits = (np.asarray(a) for a in _bump_curves(
        tuple(cfg.targets), tuple(cfg.bumps), FIT_BUMPS, cfg.sharpness, x_test, ys_test))
    bump_units = 2 * np.asarray(cfg.bumps)

    # ------------------------------------------------------------------ figures
    figs = []
    if out_dir is not None:
        figs.append(_plot_errors(out_dir, cfg, rms_ok, med, bump_units, bump_rms, bump_max))
        figs.append(_plot_fits(out_dir, cfg, x_test, ys_test, bump_fits))

    # ------------------------------------------------------------------ verdict
    widths = np.asarray(cfg.widths)
    lines, per_target = [], {}
    continuous_ok, step_max_stays = True, None

    def iqr(i, j):
        return f"{med[i, j]:.3g} [{q25[i, j]:.2g}-{q75[i, j]:.2g}]"

    for i, name in enumerate(cfg.targets):
        best_j = int(np.nanargmin(med[i]))
        b_first, b_last = bump_rms[i, 0], bump_rms[i, -1]
        # Coarse bins need not help (one bump cannot follow an oscillation); from half way on, every doubling must.
        mono = bool(np.all(np.diff(bump_rms[i, len(cfg.bumps) // 2 - 1:]) < 0))
        trained_fall = med[i, best_j] < med[i, 0]
        reached = bool(med[i, best_j] <= cfg.tolerance)
        info = {"trained_median_rms": med[i], "trained_q25_rms": q25[i], "trained_q75_rms": q75[i],
                "best_width": int(widths[best_j]), "bump_rms": bump_rms[i], "bump_max": bump_max[i],
                "bump_monotone": mono, "trained_reached_tolerance": reached,
                "widest_over_best": float(med[i, -1] / med[i, best_j])}
        per_target[name] = info
        lines.append(
            f"{name}{'' if A.CONTINUOUS[name] else ' (discontinuous, outside the theorem)'}: trained median [IQR] "
            f"RMS error W={widths[0]} {iqr(i, 0)} -> best {iqr(i, best_j)} at W={widths[best_j]} "
            f"(W={widths[-1]}: {iqr(i, -1)}); bumps {2 * cfg.bumps[0]} -> {bump_units[-1]} hidden units: RMS "
            f"{b_first:.3g} -> {b_last:.3g}, max {bump_max[i, 0]:.3g} -> {bump_max[i, -1]:.3g}")
        if A.CONTINUOUS[name]:
            continuous_ok &= mono and b_last < b_first / 10 and trained_fall and reached
        else:
            step_max_stays = bool(bump_max[i, -1] > 0.4)
    n_div = int(div.sum())
    step_note = "".join(
        f". Outside the theorem's hypothesis, the discontinuous {n}'s max error with {bump_units[-1]} bump units is "
        f"{bump_max[i, -1]:.2g} " + ("(it stays near 1/2: only the RMS error falls)" if bump_max[i, -1] > 0.4
                                      else "(it falls too)")
        for i, n in enumerate(cfg.targets) if not A.CONTINUOUS[n])
    # The widest layer against the best width, per continuous target: a rank-sum test over the seeds. With one
    # untuned rate the widest layer sometimes trains worse; whether it does moves with the seed at this sample
    # size, so it is reported as measured, not made a condition of the theorem's verdict (the practical half of
    # C8, training deep against wide, is the depth_width study's).
    widest_lines = []
    for i, name in enumerate(cfg.targets):
        info = per_target[name]
        j = widths.tolist().index(info["best_width"])
        a, b = rms_ok[i, -1][np.isfinite(rms_ok[i, -1])], rms_ok[i, j][np.isfinite(rms_ok[i, j])]
        p = float(scipy.stats.mannwhitneyu(a, b).pvalue) if j != len(widths) - 1 and a.size and b.size else 1.0
        info["widest_vs_best_rank_sum_p"] = p
        if A.CONTINUOUS[name] and j != len(widths) - 1:
            widest_lines.append(f"{name} x{info['widest_over_best']:.2g} (rank-sum p = {p:.2g})")
    widest_note = (f". With one untuned Adam rate (lr {cfg.lr}) the widest layer W={widths[-1]} ended above the best "
                   f"width's median error on " + ", ".join(widest_lines) + f" ({cfg.seeds} seeds per width: "
                   "training detail, not part of the theorem") if widest_lines else ""
    facts = {"continuous_targets_approximated": bool(continuous_ok),
             "step_max_error_stays": bool(step_max_stays) if step_max_stays is not None else None}
    verdicts = [verdict(
        "C8", continuous_ok, "Does one hidden layer approximate continuous functions ever better as it widens?",
        "; ".join(lines) + step_note + widest_note + f". Diverged runs: {n_div} of {div.size}",
        setting=f"1-W-1 sigmoid nets, {cfg.m} training points on [-1, 1], full-batch Adam lr {cfg.lr} (the same, "
                f"untuned, for every width), {cfg.epochs} steps, {cfg.seeds} seeds per width (median and IQR over "
                f"seeds); bumps with sharpness {cfg.sharpness}; errors on 1001 test points; 'approximated' means "
                f"the bump construction's error falls with every doubling from half way on, to a tenth, and the "
                f"trained median RMS at the best width is <= {cfg.tolerance}",
        figures=figs, facts=facts)]
    summary = {"targets": list(cfg.targets), "widths": list(cfg.widths), "per_target": per_target,
               "step_max_stays": step_max_stays, "diverged": n_div,
               "verdicts": verdicts}
    arrays = {"trained_rms": rms, "trained_max": mx, "diverged": div, "bump_rms": bump_rms, "bump_max": bump_max,
              "bump_hidden_units": bump_units, "widths": widths}
    wall = time.perf_counter() - t0
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def _plot_errors(out_dir, cfg, rms_ok, med, bump_units, bump_rms, bump_max):
    k = len(cfg.targets)
    fig, axes = plotting.figure(min(k, 4), (k + 3) // 4, width=3.8, height=3.4, layout="constrained")
    axes = np.atleast_1d(axes)
    for i, name in enumerate(cfg.targets):
        ax = axes[i]
        plotting.band(ax, np.asarray(cfg.widths), rms_ok[i].T, label="trained RMS")
        ax.plot(bump_units, bump_rms[i], "s--", ms=3, label="bumps RMS (no training)")
        ax.plot(bump_units, bump_max[i], "^:", ms=3, label="bumps max error")
        ax.set(xscale="log", yscale="log", xlabel="hidden units (count)", ylabel="test error",
               title=f"{name}{'' if A.CONTINUOUS[name] else ' (discontinuous)'}")
    # One legend for all panels (they draw the same three series).
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8)
    return plotting.save(fig, f"{out_dir}/approximation_error_vs_width.png")


def _plot_fits(out_dir, cfg, x_test, ys_test, fits):
    k = len(cfg.targets)
    fig, axes = plotting.figure(min(k, 4), (k + 3) // 4, width=3.8, height=3.0, layout="constrained")
    axes = np.atleast_1d(axes)
    xs = np.asarray(x_test)[:, 0]
    for i, name in enumerate(cfg.targets):
        ax = axes[i]
        ax.plot(xs, np.asarray(ys_test[i])[:, 0], "k", lw=2, label="target")
        for j, n in enumerate(FIT_BUMPS):
            ax.plot(xs, fits[i, j], lw=1, label=f"{n} bumps ({2 * n} units)")
        ax.set(xlabel="x", ylabel="f(x)", title=f"{name}: bump construction")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8)
    return plotting.save(fig, f"{out_dir}/approximation_bumps.png")


STUDY = Study(
    name="approximation",
    title="Universal approximation: one hidden layer, trained vs built by hand from sigmoid bumps",
    claims=("C8",),
    config=Config,
    run=run,
    order=7,
    description=__doc__.split("\n\n")[0],
)
