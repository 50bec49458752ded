"""Part 2: standard vs accumulated BP on a larger data set (two moons), each at its best step size: per-example
gradient evaluations to a low error decide; wall time is reported with the hardware, not used."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np

from xgnn_jax.analysis import convergence
from xgnn_jax.analysis.convergence import epochs_to
from xgnn_jax.analysis.convergence import quartiles_unreached as _q
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import train
from xgnn_jax.studies.sgd_vs_gd.runs import keyed_runs
from xgnn_jax.studies.sgd_vs_gd.watermelon import paired_ratio, sign


def _algorithms(cfg, key_data, key_runs, progress, sweeps=None):
    xl, yl = datasets.moons(key_data, n=cfg.large_n, noise=cfg.large_noise)
    data = train.Data(xl, yl)
    model = MLP((2, cfg.large_hidden, 1), hidden="sigmoid", output="sigmoid", weight_init=cfg.weight_init,
                bias_init=cfg.bias_init)
    base = train.TrainConfig(epochs=cfg.large_sgd_epochs, mode=train.STANDARD_BP, loss="half_sse",
                             reduction="mean", record_grad_norm=False)
    algos = {"standard": (base, cfg.large_sgd_etas),
             "accumulated": (dataclasses.replace(base, epochs=cfg.large_gd_epochs, mode=train.ACCUMULATED_BP),
                             cfg.large_gd_etas)}
    keys = jax.random.split(key_runs, cfg.large_restarts)
    if progress:
        print(f"[sgd_vs_gd] two moons, m = {cfg.large_n}: standard and accumulated BP")
    large, tables = {}, {}
    for name, (c, etas_l) in algos.items():
        out, res = keyed_runs(model, data, c, keys, etas_l,
                              out_dir=None if sweeps is None else Path(sweeps) / f"moons_{name}")
        cur = np.asarray(out["loss"], np.float64)
        e = epochs_to(cur, cfg.large_target)
        med = np.array([_q(e[i])[1] for i in range(len(etas_l))])
        fin = np.array([np.median(cur[i, :, -1]) for i in range(len(etas_l))])
        best = int(np.lexsort((fin, med))[0])
        large[name] = {"etas": list(etas_l), "curves": cur, "epochs": e, "best": best,
                       "interior": bool(min(etas_l) < etas_l[best] < max(etas_l)),
                       "updates_per_epoch": train.schedule(c, cfg.large_n)[0], "cfg": c,
                       "diverged": int(np.sum(out["diverged"]))}
        tables[f"restarts_moons_{name}"] = res.table()
    return model, data, large, tables


def measure(cfg, key_data, key_runs, progress: bool, sweeps: Path | None = None) -> dict[str, Any]:
    """Both algorithms on the two moons; ``sweeps``: the folder for the sweeps' chunks (resumable), or None."""
    model, data, large, tables = _algorithms(cfg, key_data, key_runs, progress, sweeps)
    if progress:
        print("[sgd_vs_gd] timing one epoch of a single run of each")
    timing_epochs = {"standard": cfg.timing_epochs_sgd, "accumulated": cfg.timing_epochs_gd}
    sec = {name: convergence.seconds_per_epoch(model, data, dataclasses.replace(d["cfg"], epochs=timing_epochs[name]),
                                               {"learning_rate": d["etas"][d["best"]]})
           for name, d in large.items()}
    rows = {}
    for name, d in large.items():
        e = d["epochs"][d["best"]]
        rows[name] = {
            "eta": d["etas"][d["best"]], "best_eta_interior": d["interior"],
            "reached": float(np.mean(np.isfinite(e))), "reached_count": int(np.sum(np.isfinite(e))),
            "epochs_q25_50_75": _q(e), "updates_q25_50_75": _q(e * d["updates_per_epoch"]),
            "grad_evals_q25_50_75": _q(e * cfg.large_n),
            "seconds_per_epoch": sec[name], "seconds_q25_50_75": _q(e * sec[name]),
            "final_loss_median": float(np.median(d["curves"][d["best"], :, -1])), "diverged": d["diverged"],
            "per_eta_median_epochs": [float(_q(d["epochs"][i])[1]) for i in range(len(d["etas"]))],
            "per_eta_reached": [float(np.mean(np.isfinite(d["epochs"][i]))) for i in range(len(d["etas"]))]}
    e_ls = large["standard"]["epochs"][large["standard"]["best"]]
    e_lg = large["accumulated"]["epochs"][large["accumulated"]["best"]]
    # the same m per epoch for both: epochs and gradient evaluations rank alike
    return {"large": large, "rows": rows, "sec": sec, "e_ls": e_ls, "e_lg": e_lg, "wins": sign(e_ls, e_lg),
            "ratio": paired_ratio(e_ls, e_lg),
            "hardware": convergence.hardware(), "tables": tables}


def summary(cfg, lg: dict) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    w = lg["wins"]
    out = {"data": f"two moons, n = {cfg.large_n}, noise {cfg.large_noise}",
           "network": f"2-{cfg.large_hidden}-1 sigmoid", "target": cfg.large_target,
           "restarts": cfg.large_restarts, "rows": lg["rows"], "hardware": lg["hardware"],
           "paired_standard_fewer_gradient_evaluations": {"wins": w[0], "pairs": w[1], "p_sign_test": w[2]},
           "paired_gradient_evaluations_ratio_standard_over_accumulated": lg["ratio"]}
    arrays = {"large_sgd_etas": np.asarray(cfg.large_sgd_etas), "large_gd_etas": np.asarray(cfg.large_gd_etas)}
    for name, d in lg["large"].items():
        arrays[f"large_{name}_curves"] = d["curves"].astype(np.float32)
        arrays[f"large_{name}_epochs_to_target"] = d["epochs"]
    return out, arrays
