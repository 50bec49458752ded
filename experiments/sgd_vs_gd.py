"""Standard BP against accumulated BP (the book's exercise 5.5 and claim C11): SGD versus full-batch descent.

What is measured:

* Watermelon 3.0 (one-hot, 19 inputs, 17 melons), a single-hidden-layer sigmoid network ``19-q-1``, the book's
  ``E_k = 1/2 sum_j (y_hat_j - y_j)^2`` and accumulated error ``E = (1/m) sum_k E_k`` (eq. 5.16). Every restart
  key gives the same initial parameters to both algorithms (paired comparison); all restarts and step sizes of one
  algorithm run as one vmapped ``lax.scan``.

  - standard BP (``mode="sgd"``, a fresh random order every epoch): ``m = 17`` updates per epoch with step
    ``eta``;
  - accumulated BP (``mode="full_batch"``) under both gradient conventions: the *mean* ``grad E`` with step
    ``eta`` and the *sum* ``grad (sum_k E_k) = m grad E`` with step ``eta``, run as the mean with step ``m eta``
    (identical trajectories, tested in ``tests/test_train.py``).

  Reported per algorithm and ``eta``: epochs, updates and per-example gradient evaluations until ``E`` first drops
  below ``threshold`` (median and quartiles over restarts; restarts that never get there count as infinite, and
  their number is given), the curves of ``E`` with their spread, the final training accuracy, and the cost per
  epoch (wall time of the vmapped program per restart-epoch). How much the per-example updates cancel is measured
  by the per-example gradients at the start and at the end of standard BP: ``||sum_k g_k|| / sum_k ||g_k||``
  (1: all aligned, 0: they cancel exactly) and the share of example pairs whose gradients point against each
  other (negative cosine).

* A larger data set (two moons, ``large_n`` points, a ``2-h-1`` sigmoid network): the same two algorithms, each with
  a small grid of step sizes, until ``E`` drops below ``large_target``. Cost to get there for each algorithm at its
  best step size: per-example gradient evaluations, and wall time = epochs x the measured time of one epoch of a
  single (non-vmapped) jit-compiled run.

Quick setting: about 30 s on 2 CPU cores (mostly compilation); full: a few minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from xgnn_jax import datasets, experiment, plotting, train
from xgnn_jax.mlp import MLP, objective


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    restarts: int = 32  # watermelon restarts (paired across algorithms)
    hidden: int = 10  # q, hidden units of the 19-q-1 network
    etas: tuple[float, ...] = (0.1, 1.0)  # step sizes; accumulated BP runs at eta (mean) and m * eta (sum)
    standard_epochs: int = 400  # epochs of standard BP (17 updates each)
    accumulated_epochs: int = 2000  # epochs of accumulated BP (1 update each)
    threshold: float = 0.02  # accumulated error E below which a run counts as trained
    weight_init: str = "fan_in_uniform"  # initialiser of the weights (xgnn_jax.initializers)
    bias_init: str = "fan_in_uniform"  # initialiser of the biases (thresholds)
    large_n: int = 2000  # size of the larger data set (two moons)
    large_noise: float = 0.2  # noise of the two moons
    large_hidden: int = 16  # hidden units of the 2-h-1 network on the larger set
    large_restarts: int = 4  # restarts on the larger set
    large_sgd_etas: tuple[float, ...] = (0.3, 1.0)  # standard-BP step sizes on the larger set
    large_gd_etas: tuple[float, ...] = (10.0, 30.0)  # accumulated-BP (mean gradient) step sizes on the larger set
    large_sgd_epochs: int = 12  # standard-BP epochs on the larger set
    large_gd_epochs: int = 800  # accumulated-BP epochs on the larger set
    large_target: float = 0.02  # the "low error" E on the larger set
    timing_epochs_sgd: int = 3  # epochs per timed single run (standard BP)
    timing_epochs_gd: int = 100  # epochs per timed single run (accumulated BP)

    ESTIMATED_SECONDS = {"quick": 30, "full": 300}

    @classmethod
    def full(cls) -> Config:
        return cls(restarts=256, etas=(0.03, 0.1, 0.3, 1.0, 3.0), standard_epochs=2000, accumulated_epochs=20000,
                   large_n=10000, large_restarts=16, large_sgd_etas=(0.1, 0.3, 1.0, 3.0),
                   large_gd_etas=(3.0, 10.0, 30.0, 100.0), large_sgd_epochs=30, large_gd_epochs=5000)


# ---------------------------------------------------------------------------------------------- helpers
def epochs_to(curves: np.ndarray, threshold: float) -> np.ndarray:
    """First epoch (1-based) at which each curve (last axis: epochs) is below ``threshold``; ``inf`` if never."""
    below = np.asarray(curves) < threshold
    first = np.argmax(below, axis=-1).astype(np.float64) + 1
    return np.where(below.any(axis=-1), first, np.inf)


def _q(a, q=(25, 50, 75)) -> np.ndarray:
    """Percentiles with ``inf`` entries kept (a median is finite when more than half the runs are)."""
    a = np.sort(np.asarray(a, np.float64).ravel())
    return np.array([a[min(len(a) - 1, int(np.floor(p / 100 * (len(a) - 1) + 0.5)))] for p in q])


def _fmt(v) -> str:
    return "never" if not np.isfinite(v) else f"{v:.3g}"


def _fmt_q(a) -> str:
    lo, med, hi = _q(a)
    return f"{_fmt(med)} [{_fmt(lo)}, {_fmt(hi)}]"


def _sweep(model, data, cfg: train.TrainConfig, keys, lrs):
    """All restarts x step sizes of one algorithm as one vmapped scan: compile once, then run once, timed apart.

    Returns the results with leading axes ``(len(lrs), len(keys))`` and ``(compile_s, run_s)``."""
    run = train.make_run(model, data, cfg)
    fn = jax.vmap(jax.vmap(lambda k, lr: run(k, {"lr": lr}), in_axes=(0, None)), in_axes=(None, 0))
    lrs = jnp.asarray(lrs, jnp.float32)
    compiled, compile_s = train.compile_run(fn, keys, lrs)
    t1 = time.perf_counter()
    res = jax.block_until_ready(compiled(keys, lrs))
    return res, (compile_s, time.perf_counter() - t1)


def seconds_per_epoch(model, data, cfg: train.TrainConfig, lr: float, repeats: int = 3) -> float:
    """Wall time of one epoch of a single jit-compiled run (best of ``repeats`` calls after compiling)."""
    fn, _ = train.compile_run(train.make_run(model, data, cfg), jax.random.key(0), {"lr": jnp.float32(lr)})
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(jax.random.key(r), {"lr": jnp.float32(lr)}))
        best = min(best, time.perf_counter() - t0)
    return best / cfg.epochs


@functools.partial(jax.jit, static_argnums=0)
def _gradient_conflict(model, params, x, y):
    """Per-example gradient agreement for a batch of restarts: ``||sum_k g_k|| / sum_k ||g_k||`` and the share of
    pairs ``k != l`` with ``cos(g_k, g_l) < 0``."""

    def one(p):
        J = objective(model, "half_sse", "mean")
        g = jax.vmap(lambda xk, yk: ravel_pytree(jax.grad(J)(p, xk[None], yk[None]))[0])(x, y)
        norms = jnp.linalg.norm(g, axis=1)
        ratio = jnp.linalg.norm(g.sum(0)) / jnp.maximum(norms.sum(), 1e-30)
        cos = (g @ g.T) / jnp.maximum(norms[:, None] * norms[None, :], 1e-30)
        m = x.shape[0]
        neg = (jnp.sum(cos < 0) - jnp.sum(jnp.diag(cos) < 0)) / (m * (m - 1))
        return ratio, neg

    return jax.vmap(one)(params)


# ---------------------------------------------------------------------------------------------- the study
def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t_start = time.perf_counter()
    cfg = config
    if cfg.restarts <= 0 or cfg.large_restarts <= 0 or not cfg.etas:
        raise ValueError("restarts, large_restarts: expected positive counts and at least one eta")
    key = jax.random.key(cfg.seed)
    k_wm, k_large_data, k_large = jax.random.split(key, 3)
    arrays, summary, figures = {}, {}, []

    # ------------------------------------------------------------------ part 1: watermelon 3.0
    x, y = datasets.watermelon3("onehot")
    m = x.shape[0]
    data = train.Data(x, y)
    model = MLP((x.shape[1], cfg.hidden, 1), hidden="sigmoid", output="sigmoid", weight_init=cfg.weight_init,
                bias_init=cfg.bias_init)
    keys = jax.random.split(k_wm, cfg.restarts)
    etas = np.asarray(cfg.etas, np.float64)
    std_cfg = train.TrainConfig(epochs=cfg.standard_epochs, mode=train.STANDARD_BP, loss="half_sse",
                                reduction="mean", record_grad_norm=False)
    acc_cfg = dataclasses.replace(std_cfg, epochs=cfg.accumulated_epochs, mode=train.ACCUMULATED_BP)
    if progress:
        print(f"[sgd_vs_gd] watermelon 3.0: {cfg.restarts} restarts x {len(etas)} step sizes, standard BP")
    std, std_t = _sweep(model, data, std_cfg, keys, etas)
    acc_lrs = np.concatenate([etas, m * etas])  # mean convention at eta, then sum convention at eta
    if progress:
        print(f"[sgd_vs_gd] accumulated BP ({len(acc_lrs)} step sizes: mean and sum conventions)")
    acc, acc_t = _sweep(model, data, acc_cfg, keys, acc_lrs)

    curves = {"standard": np.asarray(std.history["loss"], np.float64),
              "acc_mean": np.asarray(acc.history["loss"][: len(etas)], np.float64),
              "acc_sum": np.asarray(acc.history["loss"][len(etas):], np.float64)}
    final_acc = {"standard": np.asarray(std.final_accuracy), "acc_mean": np.asarray(acc.final_accuracy[: len(etas)]),
                 "acc_sum": np.asarray(acc.final_accuracy[len(etas):])}
    diverged = {"standard": np.asarray(std.diverged), "acc_mean": np.asarray(acc.diverged[: len(etas)]),
                "acc_sum": np.asarray(acc.diverged[len(etas):])}
    updates_per_epoch = {"standard": train.schedule(std_cfg, m)[0], "acc_mean": 1, "acc_sum": 1}
    labels = {"standard": "standard BP", "acc_mean": "accumulated BP, mean gradient",
              "acc_sum": "accumulated BP, sum gradient"}
    cost = {"standard": std_t[1] / (std_cfg.epochs * cfg.restarts * len(etas)),
            "acc_mean": acc_t[1] / (acc_cfg.epochs * cfg.restarts * len(acc_lrs))}
    cost["acc_sum"] = cost["acc_mean"]
    table = {}
    for name, c in curves.items():
        e = epochs_to(c, cfg.threshold)  # (etas, restarts)
        arrays[f"wm_{name}_epochs_to_threshold"] = e
        arrays[f"wm_{name}_final_loss"] = c[..., -1]
        arrays[f"wm_{name}_final_accuracy"] = final_acc[name]
        for i, eta in enumerate(etas):
            table[(name, float(eta))] = {
                "reached": float(np.mean(np.isfinite(e[i]))),
                "epochs": _q(e[i]), "updates": _q(e[i] * updates_per_epoch[name]), "grad_evals": _q(e[i] * m),
                "final_loss": _q(c[i, :, -1]), "final_accuracy": float(np.mean(final_acc[name][i])),
                "diverged": int(np.sum(diverged[name][i])),
            }
    summary["watermelon"] = {
        "network": f"{x.shape[1]}-{cfg.hidden}-1 sigmoid", "m": m, "threshold": cfg.threshold,
        "restarts": cfg.restarts, "epochs": {"standard": cfg.standard_epochs, "accumulated": cfg.accumulated_epochs},
        "compile_s": {"standard": std_t[0], "accumulated": acc_t[0]},
        "seconds_per_restart_epoch": cost,
        "rows": [{"algorithm": labels[n], "eta": eta, "step": eta * (m if n == "acc_sum" else 1),
                  "reached": r["reached"], "epochs_q25_50_75": r["epochs"], "updates_q25_50_75": r["updates"],
                  "grad_evals_q25_50_75": r["grad_evals"], "final_loss_q25_50_75": r["final_loss"],
                  "final_accuracy_mean": r["final_accuracy"], "diverged": r["diverged"]}
                 for (n, eta), r in table.items()],
    }
    for name, c in curves.items():
        arrays[f"wm_{name}_curves"] = c.astype(np.float32)
    arrays["wm_etas"] = etas

    # Per-example gradient conflict at the start and at the end of standard BP (at its fastest eta).
    def best_eta(name):
        meds = [table[(name, float(eta))]["updates"][1] for eta in etas]
        finals = [table[(name, float(eta))]["final_loss"][1] for eta in etas]
        return int(np.lexsort((finals, meds))[0])  # fewest updates, ties broken by lower final error

    i_std = best_eta("standard")
    ratio0, neg0 = _gradient_conflict(model, jax.tree.map(lambda a: a[i_std], std.init_params), x, y)
    ratio1, neg1 = _gradient_conflict(model, jax.tree.map(lambda a: a[i_std], std.params), x, y)
    arrays.update(wm_conflict_ratio_start=np.asarray(ratio0), wm_conflict_ratio_end=np.asarray(ratio1),
                  wm_negative_pairs_start=np.asarray(neg0), wm_negative_pairs_end=np.asarray(neg1))
    summary["watermelon"]["gradient_conflict"] = {
        "eta": float(etas[i_std]), "ratio_start": _q(ratio0), "ratio_end": _q(ratio1),
        "negative_pairs_start": _q(neg0), "negative_pairs_end": _q(neg1)}

    # ------------------------------------------------------------------ part 2: a larger data set
    xl, yl = datasets.moons(k_large_data, n=cfg.large_n, noise=cfg.large_noise)
    big = train.Data(xl, yl)
    big_model = MLP((2, cfg.large_hidden, 1), hidden="sigmoid", output="sigmoid", weight_init=cfg.weight_init,
                    bias_init=cfg.bias_init)
    lkeys = jax.random.split(k_large, cfg.large_restarts)
    lsgd_cfg = dataclasses.replace(std_cfg, epochs=cfg.large_sgd_epochs)
    lgd_cfg = dataclasses.replace(acc_cfg, epochs=cfg.large_gd_epochs)
    if progress:
        print(f"[sgd_vs_gd] two moons, m = {cfg.large_n}: standard and accumulated BP")
    lsgd, _ = _sweep(big_model, big, lsgd_cfg, lkeys, cfg.large_sgd_etas)
    lgd, _ = _sweep(big_model, big, lgd_cfg, lkeys, cfg.large_gd_etas)
    large = {}
    for name, res, etas_l, c in (("standard", lsgd, cfg.large_sgd_etas, lsgd_cfg),
                                 ("accumulated", lgd, cfg.large_gd_etas, lgd_cfg)):
        cur = np.asarray(res.history["loss"], np.float64)
        e = epochs_to(cur, cfg.large_target)
        med = np.array([_q(e[i])[1] for i in range(len(etas_l))])
        fin = np.array([np.median(cur[i, :, -1]) for i in range(len(etas_l))])
        best = int(np.lexsort((fin, med))[0])
        large[name] = {"etas": list(etas_l), "curves": cur, "epochs": e, "best": best,
                       "updates_per_epoch": train.schedule(c, cfg.large_n)[0], "cfg": c}
        arrays[f"large_{name}_curves"] = cur.astype(np.float32)
        arrays[f"large_{name}_epochs_to_target"] = e
    if progress:
        print("[sgd_vs_gd] timing one epoch of a single run of each")
    sec = {
        "standard": seconds_per_epoch(big_model, big, dataclasses.replace(lsgd_cfg, epochs=cfg.timing_epochs_sgd),
                                      cfg.large_sgd_etas[large["standard"]["best"]]),
        "accumulated": seconds_per_epoch(big_model, big, dataclasses.replace(lgd_cfg, epochs=cfg.timing_epochs_gd),
                                         cfg.large_gd_etas[large["accumulated"]["best"]]),
    }
    large_rows = {}
    for name, d in large.items():
        e = d["epochs"][d["best"]]
        large_rows[name] = {
            "eta": d["etas"][d["best"]], "reached": float(np.mean(np.isfinite(e))), "epochs_q25_50_75": _q(e),
            "updates_q25_50_75": _q(e * d["updates_per_epoch"]), "grad_evals_q25_50_75": _q(e * cfg.large_n),
            "seconds_per_epoch": sec[name], "seconds_q25_50_75": _q(e * sec[name]),
            "final_loss_median": float(np.median(d["curves"][d["best"], :, -1])),
            "per_eta_median_epochs": [float(_q(d["epochs"][i])[1]) for i in range(len(d["etas"]))],
        }
    summary["large"] = {"data": f"two moons, n = {cfg.large_n}, noise {cfg.large_noise}",
                        "network": f"2-{cfg.large_hidden}-1 sigmoid", "target": cfg.large_target,
                        "restarts": cfg.large_restarts, "rows": large_rows}

    # ------------------------------------------------------------------ verdict (C11)
    # (a) standard BP needs more iterations (updates) to reach the same accumulated error: compare each algorithm at
    #     its best step size, for both conventions; and at equal eta under the mean convention.
    def med(name, eta, what):
        return table[(name, float(eta))][what][1]

    best = {n: float(etas[best_eta(n)]) for n in curves}
    upd = {n: med(n, best[n], "updates") for n in curves}
    ep = {n: med(n, best[n], "epochs") for n in curves}
    more_updates = upd["standard"] > min(upd["acc_mean"], upd["acc_sum"])
    same_eta_updates = {float(eta): (med("standard", eta, "updates"), med("acc_mean", eta, "updates"),
                                     med("acc_sum", eta, "updates")) for eta in etas}
    fewer_epochs = ep["standard"] < min(ep["acc_mean"], ep["acc_sum"])
    # (b) updates cancel: per-example gradients at the end of standard BP point against each other.
    ratio_end = float(np.median(np.asarray(ratio1)))
    neg_end = float(np.median(np.asarray(neg1)))
    cancel = ratio_end < 0.5 and neg_end > 0.1
    # (c) on a large training set standard BP reaches a low error faster (wall time and gradient evaluations).
    ls, lg = large_rows["standard"], large_rows["accumulated"]
    faster_time = ls["seconds_q25_50_75"][1] < lg["seconds_q25_50_75"][1]
    fewer_grads = ls["grad_evals_q25_50_75"][1] < lg["grad_evals_q25_50_75"][1]
    ok = more_updates and cancel and faster_time and fewer_grads
    wm = summary["watermelon"]
    measured = (
        f"Watermelon 3.0, {wm['network']}, {cfg.restarts} paired restarts, threshold E < {cfg.threshold}: "
        f"median updates to the threshold (each at its fastest eta) standard BP {_fmt(upd['standard'])} "
        f"(eta {best['standard']:g}), accumulated BP mean {_fmt(upd['acc_mean'])} (eta {best['acc_mean']:g}), "
        f"sum {_fmt(upd['acc_sum'])} (eta {best['acc_sum']:g}, step {best['acc_sum'] * m:g}); median epochs "
        f"{_fmt(ep['standard'])} / {_fmt(ep['acc_mean'])} / {_fmt(ep['acc_sum'])}. At equal eta "
        + "; ".join(f"eta {eta:g}: updates standard {_fmt(a)}, mean {_fmt(b)}, sum {_fmt(c)}"
                    for eta, (a, b, c) in same_eta_updates.items())
        + ". Reached: " + ", ".join(f"{labels[n]} {table[(n, best[n])]['reached']:.0%}" for n in curves)
        + f". Per-example gradients at the end of standard BP: ||sum g_k|| / sum ||g_k|| median {ratio_end:.2f} "
        f"(start {float(np.median(np.asarray(ratio0))):.2f}), pairs with negative cosine {neg_end:.0%}. "
        f"Cost per restart-epoch {cost['standard'] * 1e6:.1f} us (standard, {m} updates) vs "
        f"{cost['acc_mean'] * 1e6:.1f} us (accumulated, 1 update). "
        f"Two moons m = {cfg.large_n}, target E < {cfg.large_target}: standard BP (eta {ls['eta']:g}) "
        f"{_fmt_q(np.array(ls['epochs_q25_50_75']))} epochs, {_fmt(ls['grad_evals_q25_50_75'][1])} gradient "
        f"evaluations, {_fmt(ls['seconds_q25_50_75'][1])} s; accumulated BP (eta {lg['eta']:g}) "
        f"{_fmt(lg['epochs_q25_50_75'][1])} epochs, {_fmt(lg['grad_evals_q25_50_75'][1])} gradient evaluations, "
        f"{_fmt(lg['seconds_q25_50_75'][1])} s (single-run epoch {ls['seconds_per_epoch'] * 1e3:.2f} ms vs "
        f"{lg['seconds_per_epoch'] * 1e3:.3f} ms)."
    )
    conditions = (
        "'more iterations' counts updates (one per example vs one per pass): standard BP "
        + ("needs more updates than accumulated BP" if more_updates else "does NOT need more updates")
        + ("; in epochs (passes) it needs fewer" if fewer_epochs else "; it also needs at least as many epochs")
        + ". With the mean gradient and the same eta accumulated BP takes about m times smaller steps per pass, so "
          "the comparison depends on the convention (the sum gradient is the mean with step m eta). "
        + ("On the larger set standard BP reached the target first in wall time and gradient evaluations."
           if faster_time and fewer_grads else "On the larger set standard BP was NOT faster in "
           + " and ".join(w for w, f in (("wall time", faster_time), ("gradient evaluations", fewer_grads)) if not f)
           + ".")
    )
    summary["parts"] = {"more_updates": more_updates, "fewer_epochs": fewer_epochs, "updates_cancel": cancel,
                        "large_faster_wall_time": faster_time, "large_fewer_gradient_evaluations": fewer_grads}
    if out_dir is not None:
        figures.append(_plot_watermelon(out_dir, curves, etas, labels, updates_per_epoch, cfg.threshold, m))
        figures.append(_plot_large(out_dir, large, sec, cfg))
    summary["verdicts"] = [experiment.verdict(
        "C11", ok,
        "Does standard BP (per-example updates) need more iterations than accumulated BP to reach the same "
        "accumulated error, do its updates cancel, and does it reach a low error faster on a large training set?",
        measured, conditional=True, conditions=conditions,
        setting=f"half-SSE E = (1/m) sum E_k, sigmoid units, plain SGD, init {cfg.weight_init}/{cfg.bias_init}",
        figures=figures)]
    wall = time.perf_counter() - t_start
    return experiment.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def _plot_watermelon(out_dir, curves, etas, labels, upe, threshold, m):
    fig, axes = plotting.figure(ncols=2, width=5.5, height=4.0)
    for name, c in curves.items():
        for i, eta in enumerate(etas):
            step = eta * (m if name == "acc_sum" else 1)
            ep = np.arange(1, c.shape[-1] + 1)
            for ax, xs in zip(axes, (ep, ep * upe[name]), strict=True):
                plotting.band(ax, xs, c[i], label=f"{labels[name]}, step {step:g}")
    for ax, xl in zip(axes, ("epochs (passes over the 17 melons)", "updates (parameter changes)"), strict=True):
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"threshold {threshold:g}")
        ax.set(xscale="log", yscale="log", xlabel=xl, ylabel="accumulated error E = (1/m) sum E_k")
    axes[0].set_title("Watermelon 3.0: accumulated error per epoch")
    axes[1].set_title("... per update")
    axes[1].legend(fontsize=6)
    return plotting.save(fig, f"{out_dir}/sgd_vs_gd_watermelon.png")


def _plot_large(out_dir, large, sec, cfg):
    fig, axes = plotting.figure(ncols=2, width=5.5, height=4.0)
    for name, d in large.items():
        b = d["best"]
        c = d["curves"][b]
        ep = np.arange(1, c.shape[-1] + 1)
        label = f"{'standard' if name == 'standard' else 'accumulated'} BP, eta {d['etas'][b]:g}"
        plotting.band(axes[0], ep * cfg.large_n, c, label=label)
        plotting.band(axes[1], ep * sec[name], c, label=label)
    for ax, xl in zip(axes, ("per-example gradient evaluations", "wall time of a single run (s)"), strict=True):
        ax.axhline(cfg.large_target, color="k", ls=":", lw=1, label=f"target {cfg.large_target:g}")
        ax.set(xscale="log", yscale="log", xlabel=xl, ylabel="accumulated error E")
        ax.legend(fontsize=7)
    axes[0].set_title(f"Two moons, m = {cfg.large_n}: error vs gradient evaluations")
    axes[1].set_title("... vs wall time")
    return plotting.save(fig, f"{out_dir}/sgd_vs_gd_large.png")


STUDY = experiment.Study(
    name="sgd_vs_gd",
    title="Standard BP vs accumulated BP (exercise 5.5): SGD versus full-batch gradient descent",
    claims=("C11",),
    config=Config,
    run=run,
    order=30,
)

if __name__ == "__main__":
    experiment.main(STUDY)
