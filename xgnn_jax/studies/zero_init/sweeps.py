"""The zero_init study's restart sweeps (parts 4, 6 and 7): logistic regression from zeros and from random
starts (C22), the initialisation schemes on two circles (C24) and the scale of signals and gradients through depth.

Each part is one :func:`xgnn_jax.engine.restarts.sweep` (restart ``i``'s key is ``fold_in(key(seed), i)``, the
same at every grid point), resumable when given a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import logistic
from xgnn_jax.core import metrics
from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts, train
from xgnn_jax.studies.zero_init.starts import SCHEMES, scheme_params

Config = Any  # the study's Config (xgnn_jax.studies.zero_init.Config)


def _folder(out_dir, name: str) -> Path | None:
    return None if out_dir is None else Path(out_dir) / "sweeps" / name


def first_at(curves: np.ndarray, level: float) -> np.ndarray:
    """Per row, the first step (index into the curve) with value >= level; -1 when never."""
    hit = curves >= level
    return np.where(hit.any(axis=-1), hit.argmax(axis=-1), -1)


def c22_part(cfg: Config, key, out_dir=None) -> tuple[dict, restarts.SweepResult]:
    """Part 4: logistic regression (``MLP((2, 1))``, sigmoid output, mean cross-entropy) on watermelon 3.0alpha by
    full-batch GD from all zeros (grid point ``scale = 0``: weights and bias scaled by 0) and from N(0, 1) starts
    (``scale = 1``); the reference optimum by Newton's method in float64. Row 0 of the outcomes is the zero start,
    rows 1..R the random ones."""
    del key  # the sweep's keys come from cfg.seed
    x, y = datasets.watermelon3_alpha()
    ref = logistic.newton_logistic(np.asarray(x), np.asarray(y))
    model = MLP((2, 1), output="sigmoid", weight_init="normal", bias_init="normal")
    fit = train.make_run(model, train.Data(x, y), train.TrainConfig(
        epochs=cfg.logistic_steps, loss="sigmoid_binary_cross_entropy", record_grad_norm=False))

    def run_one(k, hp):
        r = fit(k, {"lr": cfg.logistic_lr, "weight_scale": hp["scale"], "bias_scale": hp["scale"]})
        return {"final_loss": r.final_loss, "loss_curve": r.history["loss"], "final_accuracy": r.final_accuracy,
                "diverged": r.diverged, "final_params": jnp.concatenate([r.params[0]["W"][:, 0], r.params[0]["b"]])}

    sw = restarts.sweep(run_one, cfg.seed, cfg.logistic_seeds, {"scale": np.asarray([0.0, 1.0], np.float32)},
                        out_dir=_folder(out_dir, "c22_logistic"), progress=False,
                        config={"part": "c22", "steps": cfg.logistic_steps, "lr": cfg.logistic_lr})
    o = {k: np.concatenate([v[0, :1], v[1]]) for k, v in sw.outcomes.items()}  # zero start once, then random
    zeros = model.init(jax.random.key(0), 0.0, 0.0)
    g0 = jax.grad(objective(model, "sigmoid_binary_cross_entropy"))(zeros, x, y)
    return {"loss_star": ref.loss, "w_star": ref.w, "newton_converged": ref.converged,
            "final_loss": o["final_loss"].astype(np.float64), "loss_curve": o["loss_curve"].astype(np.float64),
            "diverged": o["diverged"], "final_accuracy": o["final_accuracy"],
            "zero_start_grad_norm": float(train.global_norm(g0)), "final_params": o["final_params"]}, sw


def c24_part(cfg: Config, key, out_dir=None) -> tuple[dict, restarts.SweepResult]:
    """Part 6: the schemes on two circles, ``scheme_seeds`` restarts per scheme: one sweep over the grid of
    schemes (the scheme only decides the starting parameters, so one program serves all)."""
    data = datasets.circles(jax.random.fold_in(key, 600), cfg.scheme_n, noise=cfg.scheme_noise, factor=0.5)
    test = datasets.circles(jax.random.fold_in(key, 601), cfg.scheme_n, noise=cfg.scheme_noise, factor=0.5)
    base = MLP((2, 10, 5, 1), hidden="relu", output="sigmoid")
    fit = train.make_run(base, train.Data(data.x, data.y), train.TrainConfig(
        epochs=cfg.scheme_steps, loss="sigmoid_binary_cross_entropy", record_grad_norm=False))
    J = objective(base, "sigmoid_binary_cross_entropy")

    def run_one(k, hp):
        p0 = scheme_params(k, base.sizes, "relu", hp["scheme"])
        res = fit(k, {"lr": cfg.scheme_lr}, p0)
        return {"loss0": J(p0, data.x, data.y), "loss": res.history["loss"], "acc": res.history["accuracy"],
                "test_acc": metrics.accuracy(base.apply(res.params, test.x), test.y), "diverged": res.diverged}

    sw = restarts.sweep(run_one, cfg.seed, cfg.scheme_seeds, {"scheme": np.arange(len(SCHEMES), dtype=np.int32)},
                        out_dir=_folder(out_dir, "c24_schemes"), progress=False,
                        config={"part": "c24", "steps": cfg.scheme_steps, "lr": cfg.scheme_lr, "n": cfg.scheme_n,
                                "noise": cfg.scheme_noise})
    r = {k: np.asarray(v) for k, v in sw.outcomes.items()}
    out: dict = {k: {} for k in ("loss0", "train_acc", "test_acc", "steps95", "loss_curve", "acc_curve",
                                 "diverged")}
    for i, s in enumerate(SCHEMES):
        out["loss0"][s], out["loss_curve"][s], out["acc_curve"][s] = r["loss0"][i], r["loss"][i], r["acc"][i]
        out["train_acc"][s], out["test_acc"][s] = r["acc"][i][:, -1], r["test_acc"][i]
        out["diverged"][s] = r["diverged"][i]
        hit = first_at(r["acc"][i], 0.95)
        out["steps95"][s] = np.where(hit >= 0, hit + 1, -1)  # history index j is epoch j + 1
    out["positive_fraction"] = float(jnp.mean(data.y))
    return out, sw


def depth_part(cfg: Config, key, out_dir=None) -> dict:
    """Part 7: activation RMS and weight-gradient norm per layer at initialisation, ``depth_layers`` deep, per
    scheme and restart (ReLU and tanh nets share the starting parameters)."""
    data = datasets.circles(jax.random.fold_in(key, 700), 256, noise=0.08, factor=0.5)
    sizes = (2, *(cfg.depth_width,) * (cfg.depth_layers - 1), 1)
    nets = {h: MLP(sizes, hidden=h, output="sigmoid") for h in ("relu", "tanh")}

    def run_one(k, hp):
        params = scheme_params(k, sizes, "relu", hp["scheme"])
        out = {}
        for h, net in nets.items():
            acts = net.forward(params, data.x)[1][1:-1]
            g = jax.grad(objective(net, "sigmoid_binary_cross_entropy"))(params, data.x, data.y)
            out[h] = {"act_rms": jnp.stack([jnp.sqrt(jnp.mean(a * a)) for a in acts]),
                      "grad_norm": jnp.stack([jnp.linalg.norm(layer["W"]) for layer in g])}
        return out

    sw = restarts.sweep(run_one, cfg.seed, cfg.depth_seeds, {"scheme": np.arange(len(SCHEMES), dtype=np.int32)},
                        out_dir=_folder(out_dir, "depth_profile"), progress=False,
                        config={"part": "depth", "layers": cfg.depth_layers, "width": cfg.depth_width})
    out: dict = {"act_rms": {}, "grad_norm": {}}
    for h, r in sw.outcomes.items():
        for i, s in enumerate(SCHEMES):
            out["act_rms"][(h, s)], out["grad_norm"][(h, s)] = np.asarray(r["act_rms"][i]), np.asarray(r["grad_norm"][i])
    return out
