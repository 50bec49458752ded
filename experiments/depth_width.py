"""Depth vs width at matched parameter counts (C18, and the practical half of C8).

What is measured:

* Representation, exactly: the sawtooth ``T^k`` (the tent map composed ``k`` times, ``2^(k-1)`` teeth) is computed
  by a hand-built deep ReLU network ``1 -> 2 -> ... -> 2 -> 1`` with ``6k + 1`` parameters
  (:func:`xgnn_jax.approximation.sawtooth_network`) and by a hand-built shallow one ``1 -> 2^k -> 1`` with
  ``3 * 2^k + 1`` (:func:`~xgnn_jax.approximation.shallow_sawtooth_network`); no shallow net with fewer than
  ``2^k - 1`` units can, as each kink needs a unit. Both are checked numerically.
* Training: ReLU networks with about the same number of parameters, one hidden layer (wide), two, and
  ``deep_layers`` (narrow), trained by full-batch Adam on an even grid on [0, 1] from many seeds, on sawtooth
  targets ``T^k`` (which reward composition) and on a smooth target ``1/2 + 1/2 sin(2 pi x)`` (which does not).
  Test RMS error on 2001 points; all targets and seeds of one architecture in one compiled program.

The verdict separates what depth can represent from what gradient training finds.

Quick setting: about 15 s on 2 CPU cores; full: a few minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax import approximation as A
from xgnn_jax import experiment, plotting, train
from xgnn_jax.mlp import MLP


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    ks: tuple[int, ...] = (2, 4)  # sawtooth targets T^k
    deep_width: int = 8
    deep_layers: int = 4  # the shallow and 2-layer nets are sized to the deep one's parameter count
    seeds: int = 8
    epochs: int = 1500  # full-batch Adam steps
    lr: float = 0.01
    m: int = 128  # training points, an even grid on [0, 1]
    exact_ks: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)  # hand-built constructions checked
    learned_rms: float = 0.05  # test RMS error counted as "learned"
    clear_factor: float = 1.25  # one architecture "wins" when its median error is this many times lower

    ESTIMATED_SECONDS = {"quick": 15, "full": 300}

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


def _train_arch(sizes, x, ys, x_test, ys_test, keys, cfg):
    model = MLP(sizes, hidden="relu", output="identity", weight_init="he_uniform", bias_init="uniform(-1, 1)")
    tcfg = train.TrainConfig(epochs=cfg.epochs, mode="full_batch", loss="half_sse", optimizer="adam",
                             record_grad_norm=False)
    hp = train.hparams(lr=cfg.lr)

    def one(y, y_test, key):
        res = train.make_run(model, train.Data(x, y), tcfg)(key, hp)
        out = model.apply(res.params, x_test)
        return A.rms_error(out, y_test), res.diverged, out[:, 0]

    f, _ = train.compile_run(jax.vmap(jax.vmap(one, in_axes=(None, None, 0)), in_axes=(0, 0, None)),
                             ys, ys_test, keys)
    return model.num_params, jax.device_get(f(ys, ys_test, keys))


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
    rms, div, outs, nparams = {}, {}, {}, {}
    for label, sizes in experiment.progress(archs.items(), desc="architectures", enabled=progress):
        nparams[label], (r, d, o) = _train_arch(sizes, x, ys, x_test, ys_test, keys, cfg)
        rms[label], div[label], outs[label] = np.asarray(r), np.asarray(d), np.asarray(o)
    labels = list(archs)
    shallow_l, deep_l = labels[0], labels[-1]
    med = {lab: np.nanmedian(np.where(div[lab], np.nan, rms[lab]), axis=1) for lab in labels}
    learned = {lab: np.mean(rms[lab] <= cfg.learned_rms, axis=1) for lab in labels}
    deep_beats = np.mean(rms[deep_l] < rms[shallow_l], axis=1)  # same seed index, per target

    outcome = []
    for i in range(len(names)):
        ratio = med[shallow_l][i] / med[deep_l][i]
        outcome.append("deep" if ratio >= cfg.clear_factor else "shallow" if ratio <= 1 / cfg.clear_factor
                       else "tie")
    comp = [i for i, n in enumerate(names) if n.startswith("sawtooth")]
    deep_won = [names[i] for i in comp if outcome[i] == "deep"]
    deep_lost = [names[i] for i in comp if outcome[i] == "shallow"]
    smooth_outcome = outcome[-1]

    # ------------------------------------------------------------------ figures
    figs = []
    if out_dir is not None:
        figs.append(_plot_errors(out_dir, names, labels, rms, nparams))
        figs.append(_plot_exact(out_dir, exact))
        figs.append(_plot_fits(out_dir, names, labels, rms, outs, x_test, ys_test))

    # ------------------------------------------------------------------ verdicts
    table = "; ".join(
        f"{name}: median test RMS " + ", ".join(f"{lab.split(' (')[0]} {med[lab][i]:.3g} (learned {100 * learned[lab][i]:.0f}%)"
                                                for lab in labels)
        + f" -> {outcome[i]}" for i, name in enumerate(names))
    n_div = int(sum(v.sum() for v in div.values()))
    measured = (
        f"exact constructions of T^k for k = {int(exact[0, 0])}..{int(exact[-1, 0])}: deep 1-2-...-2-1 needs "
        f"{', '.join(str(int(p)) for p in exact[:, 1])} parameters, shallow 1-2^k-1 "
        f"{', '.join(str(int(p)) for p in exact[:, 2])} (x{gap:.0f} at k = {int(exact[-1, 0])}); max error "
        f"{exact[:, 3:].max():.1e}. Trained at matched parameter counts "
        f"({', '.join(f'{lab}: {nparams[lab]}' for lab in labels)}; {cfg.seeds} seeds): {table}. Diverged: {n_div}")
    conds = []
    if deep_lost or len(deep_won) < len(comp):
        conds.append(
            "as a statement about capacity (what a network of a given size can represent, shown by construction); "
            "trained by gradient descent from random initialisations at matched size, the deep-narrow network "
            + (f"won on {', '.join(deep_won)}" if deep_won else "won on none of the sawtooth targets")
            + (f" and lost on {', '.join(deep_lost)}" if deep_lost else "")
            + f", and on the smooth target the result was: {smooth_outcome}")
    verdicts = [experiment.verdict(
        "C18", exact_ok and gap > 1, "Do extra hidden layers raise capacity more than extra units in one layer?",
        measured, conditional=bool(conds), conditions="; ".join(conds),
        setting=f"ReLU nets, {cfg.m} training points on [0, 1], full-batch Adam lr {cfg.lr}, {cfg.epochs} steps, "
                f"mean half squared error; 'learned' = test RMS <= {cfg.learned_rms}; a win needs a x{cfg.clear_factor} "
                f"lower median error",
        figures=figs)]
    n_deep = sum(o == "deep" for o in outcome)
    n_shallow = sum(o == "shallow" for o in outcome)
    verdicts.append(experiment.verdict(
        "C8", n_deep > n_shallow,
        "In practice, are several layers easier to train than one wide layer of the same size?",
        f"targets where the {deep_l.split(' (')[0]} net reached a clearly lower median test error than the "
        f"{shallow_l.split(' (')[0]} net: {n_deep} of {len(names)}; clearly higher: {n_shallow}; fraction of seeds "
        f"where deep beat shallow per target: "
        + ", ".join(f"{n} {100 * b:.0f}%" for n, b in zip(names, deep_beats, strict=True)),
        setting=f"as for C18 in this study; {cfg.seeds} seeds per architecture and target", figures=figs[:1]))
    summary = {"architectures": {lab: {"sizes": archs[lab], "params": nparams[lab]} for lab in labels},
               "targets": names, "median_rms": med, "learned_fraction": learned, "outcome": outcome,
               "deep_beats_shallow_fraction": deep_beats, "exact": exact, "diverged": n_div, "verdicts": verdicts}
    arrays = {"exact_k_deep_params_shallow_params_errors": exact}
    for j, lab in enumerate(labels):
        arrays[f"rms_arch{j}"] = rms[lab]
        arrays[f"diverged_arch{j}"] = div[lab]
    wall = time.perf_counter() - t0
    return experiment.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def _plot_errors(out_dir, names, labels, rms, nparams):
    fig, ax = plotting.figure(width=7.0, height=3.8)
    n_arch = len(labels)
    for j, lab in enumerate(labels):
        pos = np.arange(len(names)) + (j - (n_arch - 1) / 2) * 0.25
        vals = rms[lab]
        ax.scatter(np.repeat(pos, vals.shape[1]), vals.ravel(), s=8, alpha=0.6,
                   label=f"{lab}, {nparams[lab]} params (one dot per seed)")
        ax.scatter(pos, np.median(vals, axis=1), marker="_", s=300, color="k")
    ax.scatter([], [], marker="_", s=200, color="k", label="median over seeds")
    ax.set(xticks=np.arange(len(names)), xticklabels=names, yscale="log", ylabel="test RMS error",
           xlabel="target", title="Trained ReLU nets at matched parameter counts")
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


STUDY = experiment.Study(
    name="depth_width",
    title="Depth vs width: exact sawtooth constructions and trained nets at matched parameter counts",
    claims=("C18", "C8"),
    config=Config,
    run=run,
    order=8,
    description=__doc__.split("\n\n")[0],
)

if __name__ == "__main__":
    experiment.main(STUDY)
