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
  loss, so the test error does not pick it). Test RMS error on 2001 points. One restart sweep per architecture
  (:func:`xgnn_jax.engine.restarts.sweep` over the grid learning rate x target; seed ``i`` starts from the same
  parameters at every grid point).
* A comparison is a win only when one median test error is ``clear_factor`` times lower *and* a rank-sum
  (Mann-Whitney, :func:`xgnn_jax.stats.rank_sum_p`) test over the seeds gives p < 0.05; otherwise it is a tie. A
  target that no architecture learned (test RMS <= ``learned_rms`` on no seed) says nothing about which is easier
  to train and is left out.

The verdicts separate what depth can represent (C18, by construction, for sawtooth targets only) from what
gradient training at matched size finds (the practical half of C8, and a condition of C18).

Quick setting: about 25 s on 2 CPU cores; full (the same with 64 seeds): about a minute.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from xgnn_jax import stats
from xgnn_jax.analysis import approximation as A
from xgnn_jax.core.mlp import MLP
from xgnn_jax.engine import restarts, train
from xgnn_jax.studies.depth_width import figures
from xgnn_jax.studies.depth_width import verdicts as verdicts_lib
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study


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

    ESTIMATED_SECONDS = {"quick": 32, "full": 50}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "seed": (0, 2**32 - 1), "deep_width": (1, None), "deep_layers": (1, None), "seeds": (2, None),
        "epochs": (1, None), "m": (2, None), "learned_rms": (0, None), "clear_factor": (1, None),
        "alpha": (0, 1)}

    @classmethod
    def full(cls) -> Config:
        # The same experiment as the quick setting with more seeds: the verdicts compare per-target outcomes, so
        # other targets, training lengths or grids would measure something else (the former full setting, k = 2..6
        # with 5000 steps on 256 points, tied on T^2 where the quick one lost). 64 seeds narrow the bootstrap
        # interval of each median ratio by about sqrt(64 / 24) = 1.6x.
        return cls(seeds=64)


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


def exact_constructions(ks) -> np.ndarray:
    """Rows ``(k, deep params, shallow params, deep max error, shallow max error)`` of the hand-built sawtooth
    networks against ``T^k`` on the grid of ``4 2^k + 1`` points."""
    rows = []
    for k in ks:
        xt = jnp.linspace(0.0, 1.0, 4 * 2**k + 1)[:, None]
        t = A.sawtooth(xt, k)
        built = [build(k) for build in (A.sawtooth_network, A.shallow_sawtooth_network)]
        errs = [float(jnp.max(jnp.abs(model.apply(params, xt) - t))) for model, params in built]
        rows.append((k, built[0][0].num_params, built[1][0].num_params, *errs))
    return np.asarray(rows)


def _train_arch(sizes, x, ys, x_test, ys_test, cfg, out_dir, progress) -> tuple[int, restarts.SweepResult, dict]:
    """One sweep over learning rates x targets x seeds of one architecture. Returns the parameter count, the
    sweep and its outcomes reshaped to ``(len(lrs), targets, seeds, ...)``: ``test_rms``, ``final_loss``,
    ``diverged`` and ``test_output`` (the net's outputs on the test grid)."""
    model = MLP(sizes, hidden="relu", output="identity", weight_init="he_uniform", bias_init="uniform(-1, 1)")
    tcfg = train.TrainConfig(epochs=cfg.epochs, mode="full_batch", loss="half_sse", optimizer="adam",
                             record_grad_norm=False)

    def run_one(key, hp):
        res = train.make_run(model, train.Data(x, ys[hp["target"]]), tcfg)(key, {"lr": hp["lr"]})
        out = model.apply(res.params, x_test)
        return {"test_rms": A.rms_error(out, ys_test[hp["target"]]), "final_loss": res.final_loss,
                "diverged": res.diverged, "test_output": out[:, 0]}

    hp = restarts.grid(lr=cfg.lrs, target=np.arange(len(ys), dtype=np.int32))
    sub = None if out_dir is None else Path(out_dir) / "sweeps" / "x".join(map(str, sizes))
    sw = restarts.sweep(run_one, cfg.seed, cfg.seeds, hp, out_dir=sub, progress=progress,
                        config={"sizes": sizes, "epochs": cfg.epochs, "m": cfg.m, "ks": cfg.ks})
    shaped = {k: np.asarray(v).reshape((len(cfg.lrs), len(ys)) + np.shape(v)[1:]) for k, v in sw.outcomes.items()}
    return model.num_params, sw, shaped


def _compare(rms: dict, labels: list, names: list, cfg: Config) -> tuple[list, np.ndarray, np.ndarray]:
    """Per target: ``deep``, ``shallow``, ``tie`` or ``not learned`` (deep = last label, shallow = first), the
    rank-sum p-values and P(a deep seed ends below a shallow seed) over all pairs of seeds (U / (n_a n_b))."""
    shallow_l, deep_l = labels[0], labels[-1]
    p_val = np.asarray([stats.rank_sum_p(rms[deep_l][i], rms[shallow_l][i]) for i in range(len(names))])
    deep_beats = np.asarray([np.mean(rms[deep_l][i][:, None] < rms[shallow_l][i][None, :]) for i in range(len(names))])
    outcome = []
    for i in range(len(names)):
        ratio = np.nanmedian(rms[shallow_l][i]) / np.nanmedian(rms[deep_l][i])
        if not any(np.any(rms[lab][i] <= cfg.learned_rms) for lab in labels):
            outcome.append("not learned")
        elif ratio >= cfg.clear_factor and p_val[i] < cfg.alpha:
            outcome.append("deep")
        elif ratio <= 1 / cfg.clear_factor and p_val[i] < cfg.alpha:
            outcome.append("shallow")
        else:
            outcome.append("tie")
    return outcome, p_val, deep_beats


def _effects(rms: dict, labels: list, cfg: Config) -> list[dict]:
    """Per target, the effect the comparison rests on: the ratio of the shallow to the deep net's median test RMS
    error, from the difference of the medians of log10 RMS with its percentile bootstrap interval over the seeds
    (:func:`xgnn_jax.stats.median_difference`); ``ratio > 1``: the deep net ends lower."""
    out = []
    for i in range(rms[labels[0]].shape[0]):
        # float64: numpy's float32 log10 rounds differently on AVX2 and AVX-512 machines
        a, b = (np.asarray(rms[k][i], np.float64) for k in (labels[0], labels[-1]))
        # Diverged runs are NaN here (counted apart); they are left out of the effect as of the medians.
        e = stats.median_difference(np.log10(a[np.isfinite(a)]), np.log10(b[np.isfinite(b)]), seed=cfg.seed)
        out.append({**e, "ratio": 10 ** e["effect"], "low": 10 ** e["low"], "high": 10 ** e["high"]})
    return out


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    if any(k <= 0 for k in cfg.ks) or not cfg.ks:
        raise ValueError(f"ks: expected positive sawtooth depths, got {cfg.ks!r}")
    x = jnp.linspace(0.0, 1.0, cfg.m)[:, None]
    x_test = jnp.linspace(0.0, 1.0, 2001)[:, None]
    names = [f"sawtooth T^{k}" for k in cfg.ks] + ["smooth"]
    fns = [lambda z, k=k: A.sawtooth(z, k) for k in cfg.ks] + [_smooth]
    ys, ys_test = jnp.stack([f(x) for f in fns]), jnp.stack([f(x_test) for f in fns])
    exact = exact_constructions(cfg.exact_ks)

    archs = architectures(cfg)
    labels = list(archs)
    t_idx = np.arange(len(names))
    rms, div, outs, nparams, lr_idx, rms_all, div_all, tables = {}, {}, {}, {}, {}, {}, {}, []
    for j, (label, sizes) in enumerate(archs.items()):
        nparams[label], sw, o = _train_arch(sizes, x, ys, x_test, ys_test, cfg, out_dir, progress)
        tables.append({"architecture": np.full(sw.diverged.size, j), **sw.table()})
        # Per target, the rate with the lowest median training loss (diverged runs count as infinitely bad).
        d = o["diverged"]
        best = np.argmin(np.median(np.where(d | ~np.isfinite(o["final_loss"]), np.inf, o["final_loss"]), axis=2), 0)
        lr_idx[label], rms_all[label], div_all[label] = best, o["test_rms"], d
        rms[label] = np.where(d[best, t_idx], np.nan, o["test_rms"][best, t_idx])  # diverged runs left out
        div[label], outs[label] = d[best, t_idx], o["test_output"][best, t_idx]
    outcome, p_val, deep_beats = _compare(rms, labels, names, cfg)
    effects = _effects(rms, labels, cfg)

    figs = []
    if out_dir is not None:
        figs.append(figures.errors(out_dir, names, labels, rms, nparams, cfg.learned_rms))
        figs.append(figures.exact(out_dir, exact))
        figs.append(figures.fits(out_dir, names, labels, rms, outs, x_test, ys_test))
    q = {lab: np.asarray([stats.quartiles(r) for r in rms[lab]]).T for lab in labels}  # (3, targets)
    n_learned = {lab: np.sum(rms[lab] <= cfg.learned_rms, axis=1) for lab in labels}
    ctx = dict(cfg=cfg, names=names, labels=labels, nparams=nparams, archs=archs, outcome=outcome, p_val=p_val,
               q=q, exact=exact, figs=figs)
    verdicts = [verdicts_lib.c18(**ctx, n_learned=n_learned, lr_idx=lr_idx,
                     n_div=int(sum(v.sum() for v in div_all.values())),
                     n_runs=int(sum(v.size for v in div_all.values()))),
                verdicts_lib.c8(**ctx, deep_beats=deep_beats, effects=effects)]
    decided = [o for o in outcome if o != "not learned"]
    summary = {"architectures": {lab: {"sizes": archs[lab], "params": nparams[lab]} for lab in labels},
               "targets": names, "median_rms": {lab: q[lab][1] for lab in labels},
               "iqr_rms": {lab: q[lab][[0, 2]] for lab in labels},
               "learned_fraction": {lab: n_learned[lab] / cfg.seeds for lab in labels},
               "chosen_lr": {lab: [cfg.lrs[j] for j in lr_idx[lab]] for lab in labels}, "outcome": outcome,
               "rank_sum_p": p_val, "deep_beats_shallow_fraction": deep_beats,
               "shallow_over_deep_median_ratio": [{k: e[k] for k in ("ratio", "low", "high")} for e in effects],
               "c8_counts": {"deep": decided.count("deep"), "shallow": decided.count("shallow"),
                             "tie": decided.count("tie"), "not_learned": len(outcome) - len(decided)},
               "exact": exact, "diverged": int(sum(v.sum() for v in div_all.values())), "verdicts": verdicts}
    arrays = {"exact_k_deep_params_shallow_params_errors": exact, "lrs": np.asarray(cfg.lrs)}
    for j, lab in enumerate(labels):
        arrays[f"rms_arch{j}"] = rms[lab]  # (targets, seeds) at the chosen rate
        arrays[f"diverged_arch{j}"] = div[lab]
        arrays[f"rms_all_lrs_arch{j}"] = rms_all[lab]  # (lrs, targets, seeds)
        arrays[f"diverged_all_lrs_arch{j}"] = div_all[lab]
    table = {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=time.perf_counter() - t0,
                          seed=cfg.seed, tables={"restarts": table})

STUDY = Study(
    name="depth_width",
    title="Depth vs width: exact sawtooth constructions and trained nets at matched parameter counts",
    claims=("C18", "C8"),
    config=Config,
    run=run,
    order=8,
    description=__doc__.split("\n\n")[0],
)
