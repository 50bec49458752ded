"""Part 1: standard vs accumulated BP on watermelon 3.0 (19-q-1 sigmoid net), paired over restart keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np

from xgnn_jax import stats
from xgnn_jax.analysis import convergence
from xgnn_jax.analysis.convergence import epochs_to
from xgnn_jax.analysis.convergence import quartiles_unreached as _q
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts, train
from xgnn_jax.studies.sgd_vs_gd.runs import keyed_runs

LABELS = {"standard": "standard BP", "acc_mean": "accumulated BP, mean gradient",
          "acc_sum": "accumulated BP, sum gradient"}
_NEVER = 1e300   # a run that never got there: larger than every count, and finite for the sign test


def _never_largest(v) -> np.ndarray:
    """Counts with ``inf`` (never reached) replaced by a finite value larger than every count, flattened."""
    v = np.asarray(v, np.float64)
    return np.where(np.isinf(v), _NEVER, v).ravel()


def sign(a, b) -> tuple[int, int, float]:
    """Paired one-sided sign test that ``a < b`` (:func:`xgnn_jax.stats.paired_sign_test`): ``(wins, untied
    pairs, p)``. ``inf`` (never reached) counts as larger than every finite value; both never is a tie."""
    a, b = _never_largest(a), _never_largest(b)
    t = stats.paired_sign_test(a, b)
    return t["lower"], t["pairs"], t["p_lower"]


def paired_ratio(a, b) -> dict[str, float]:
    """The effect beside :func:`sign`: the median over restarts of the paired ratio ``a_i / b_i`` with its 95%
    distribution-free interval (:func:`xgnn_jax.stats.paired_median_difference` of ``log10``; the sign test's own
    interval). ``inf`` (never reached) counts as larger than every finite value, as in the sign test."""
    a, b = _never_largest(a), _never_largest(b)
    e = stats.paired_median_difference(np.log10(np.maximum(a, 1e-300)), np.log10(np.maximum(b, 1e-300)))
    return {"ratio": float(10 ** e["effect"]), "low": float(10 ** e["low"]), "high": float(10 ** e["high"]),
            "p": e["p"], "pairs": e["pairs"]}


def _setup(cfg):
    x, y = datasets.watermelon3("onehot")
    model = MLP((x.shape[1], cfg.hidden, 1), hidden="sigmoid", output="sigmoid", weight_init=cfg.weight_init,
                bias_init=cfg.bias_init)
    std_cfg = train.TrainConfig(epochs=cfg.standard_epochs, mode=train.STANDARD_BP, loss="half_sse",
                                reduction="mean", record_grad_norm=False)
    acc_cfg = dataclasses.replace(std_cfg, epochs=cfg.accumulated_epochs, mode=train.ACCUMULATED_BP)
    return x, y, train.Data(x, y), model, std_cfg, acc_cfg


def _table(cfg, curves, final_acc, diverged, upe, m, etas) -> dict:
    table = {}
    for name, c in curves.items():
        e = epochs_to(c, cfg.threshold)  # (etas, restarts)
        for i, eta in enumerate(etas):
            table[(name, float(eta))] = {
                "reached": float(np.mean(np.isfinite(e[i]))), "epochs_to": e[i],
                "epochs": _q(e[i]), "updates": _q(e[i] * upe[name]), "grad_evals": _q(e[i] * m),
                "final_loss": _q(c[i, :, -1]), "final_accuracy": float(np.mean(final_acc[name][i])),
                "diverged": int(np.sum(diverged[name][i]))}
    return table


def _best(table, etas, m) -> dict[str, Any]:
    """Best step: fewest median updates to the threshold, ties broken by the lower final error. Accumulated BP is
    one algorithm under two conventions (the sum gradient is the mean at step m eta): its best is over both."""

    def best_of(name):
        meds = [table[(name, float(eta))]["updates"][1] for eta in etas]
        finals = [table[(name, float(eta))]["final_loss"][1] for eta in etas]
        return int(np.lexsort((finals, meds))[0])

    i_std = best_of("standard")
    acc_steps = np.concatenate([etas, m * etas])
    cands = [(n, float(eta)) for n in ("acc_mean", "acc_sum") for eta in etas]
    j = int(np.lexsort(([table[c]["final_loss"][1] for c in cands], [table[c]["updates"][1] for c in cands]))[0])
    return {"i_std": i_std, "eta_std": float(etas[i_std]), "acc": cands[j][0], "acc_eta": cands[j][1],
            "acc_step": float(acc_steps[j]), "std_interior": bool(etas.min() < etas[i_std] < etas.max()),
            "acc_interior": bool(acc_steps.min() < acc_steps[j] < acc_steps.max()),
            "plot": {"standard": etas[i_std], "acc_mean": etas[best_of("acc_mean")],
                     "acc_sum": etas[best_of("acc_sum")]}}


def _conflict(cfg, model, data, std_cfg, keys, std, best, table, x, y, progress, sweeps=None) -> dict[str, Any]:
    """Per-example gradient agreement of standard BP (at its best eta) at the start, in mid-training (a run stopped
    after half the median epochs to the threshold) and at the end; one :func:`restarts.map_over` per stage."""
    eta, i_std = best["eta_std"], best["i_std"]
    t_reach = table[("standard", eta)]["epochs"][1]
    t_mid = int(np.ceil(t_reach / 2)) if np.isfinite(t_reach) else cfg.standard_epochs // 2
    if progress:
        print(f"[sgd_vs_gd] standard BP stopped after {t_mid} epochs (mid-training), eta {eta:g}")
    mid, _ = keyed_runs(model, data, dataclasses.replace(std_cfg, epochs=t_mid), keys, [eta],
                        out_dir=_sub(sweeps, "watermelon_mid"))
    states = {"start": jax.tree.map(lambda a: a[i_std], std["init_params"]),
              "mid": jax.tree.map(lambda a: a[0], mid["params"]),
              "end": jax.tree.map(lambda a: a[i_std], std["params"])}
    conflict = {}
    for stage, p in states.items():
        res = restarts.map_over(lambda _k, q, _hp: convergence.gradient_conflict(model, q, x, y), p, progress=False)
        conflict[stage] = (np.asarray(res.outcomes[0])[:, 0], np.asarray(res.outcomes[1])[:, 0])
    return {"t_mid": t_mid, "e_mid": np.asarray(mid["loss"], np.float64)[0, :, -1], "stages": conflict}


def _sub(sweeps: Path | None, name: str) -> Path | None:
    return None if sweeps is None else Path(sweeps) / name


def measure(cfg, key, progress: bool, sweeps: Path | None = None) -> dict[str, Any]:
    """Both algorithms at every step size, their table, best steps, paired tests and the gradient conflict.
    ``sweeps``: the folder for the sweeps' chunks (resumable), or None."""
    x, y, data, model, std_cfg, acc_cfg = _setup(cfg)
    m = x.shape[0]
    keys = jax.random.split(key, cfg.restarts)
    etas = np.asarray(cfg.etas, np.float64)
    if progress:
        print(f"[sgd_vs_gd] watermelon 3.0: {cfg.restarts} restarts x {len(etas)} step sizes, both algorithms")
    std, std_res = keyed_runs(model, data, std_cfg, keys, etas, out_dir=_sub(sweeps, "watermelon_standard"))
    # accumulated BP: the mean convention at eta, then the sum convention at eta (= the mean at step m eta)
    acc, acc_res = keyed_runs(model, data, acc_cfg, keys, np.concatenate([etas, m * etas]),
                              out_dir=_sub(sweeps, "watermelon_accumulated"))
    k = len(etas)
    curves = {"standard": np.asarray(std["loss"], np.float64), "acc_mean": np.asarray(acc["loss"][:k], np.float64),
              "acc_sum": np.asarray(acc["loss"][k:], np.float64)}
    final_acc = {"standard": std["final_accuracy"], "acc_mean": acc["final_accuracy"][:k],
                 "acc_sum": acc["final_accuracy"][k:]}
    diverged = {"standard": std["diverged"], "acc_mean": acc["diverged"][:k], "acc_sum": acc["diverged"][k:]}
    upe = {"standard": train.schedule(std_cfg, m)[0], "acc_mean": 1, "acc_sum": 1}
    table = _table(cfg, curves, final_acc, diverged, upe, m, etas)
    best = _best(table, etas, m)
    ev = {n: np.stack([table[(n, float(e))]["epochs_to"] for e in etas]) for n in curves}
    upd_std = ev["standard"][best["i_std"]] * upe["standard"]
    upd_acc = ev[best["acc"]][list(etas).index(best["acc_eta"])]
    yb = np.asarray(y).ravel() > 0.5
    wall = {"standard": std_res.wall_time_s / (std_cfg.epochs * cfg.restarts * len(etas)),
            "acc_mean": acc_res.wall_time_s / (acc_cfg.epochs * cfg.restarts * 2 * len(etas))}
    return {"x": x, "m": m, "etas": etas, "curves": curves, "final_acc": final_acc, "upe": upe, "table": table,
            "best": best, "ev": ev, "upd_std": upd_std, "upd_acc": upd_acc, "wins_upd": sign(upd_acc, upd_std),
            "ratio_upd": paired_ratio(upd_std, upd_acc),
            "conflict": _conflict(cfg, model, data, std_cfg, keys, std, best, table, x, y, progress, sweeps),
            "cross_pairs": float(2 * yb.sum() * (~yb).sum() / (m * (m - 1))), "wall": wall,
            "tables": {"restarts_watermelon_standard": std_res.table(),
                       "restarts_watermelon_accumulated": acc_res.table()}}


def summary(cfg, w: dict) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The watermelon part of ``summary.json`` and its raw arrays."""
    table, m, best, conf = w["table"], w["m"], w["best"], w["conflict"]
    cost = dict(w["wall"], acc_sum=w["wall"]["acc_mean"])
    out = {"network": f"{w['x'].shape[1]}-{cfg.hidden}-1 sigmoid", "m": m, "threshold": cfg.threshold,
           "restarts": cfg.restarts, "epochs": {"standard": cfg.standard_epochs, "accumulated": cfg.accumulated_epochs},
           "seconds_per_restart_epoch_with_compile": cost,
           "rows": [{"algorithm": LABELS[n], "eta": eta, "step": eta * (m if n == "acc_sum" else 1),
                     "reached": r["reached"], "epochs_q25_50_75": r["epochs"], "updates_q25_50_75": r["updates"],
                     "grad_evals_q25_50_75": r["grad_evals"], "final_loss_q25_50_75": r["final_loss"],
                     "final_accuracy_mean": r["final_accuracy"], "diverged": r["diverged"]}
                    for (n, eta), r in table.items()],
           "gradient_conflict": {
               "eta": best["eta_std"], "mid_epoch": conf["t_mid"], "E_mid_q25_50_75": _q(conf["e_mid"]),
               "different_class_pairs": w["cross_pairs"],
               **{f"ratio_{s}": _q(r) for s, (r, _) in conf["stages"].items()},
               **{f"negative_pairs_{s}": _q(n) for s, (_, n) in conf["stages"].items()}},
           "best": {"standard_eta": best["eta_std"], "standard_interior": best["std_interior"],
                    "accumulated": LABELS[best["acc"]], "accumulated_eta": best["acc_eta"],
                    "accumulated_step": best["acc_step"], "accumulated_interior": best["acc_interior"]}}
    arrays = {"wm_etas": w["etas"]}
    for name, c in w["curves"].items():
        arrays[f"wm_{name}_epochs_to_threshold"] = w["ev"][name]
        arrays[f"wm_{name}_final_loss"] = c[..., -1]
        arrays[f"wm_{name}_final_accuracy"] = w["final_acc"][name]
        arrays[f"wm_{name}_curves"] = c.astype(np.float32)
    for stage, (r, n) in conf["stages"].items():
        arrays[f"wm_conflict_ratio_{stage}"], arrays[f"wm_negative_pairs_{stage}"] = r, n
    return out, arrays
