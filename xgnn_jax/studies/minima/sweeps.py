"""The restart sweeps of the minima study: one :func:`xgnn_jax.engine.restarts.sweep` per network and optimizer
family over the grid ``init_ranges x learning rates`` (x momentum for GD), and the per-cell success rates."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax import stats
from xgnn_jax.engine import fused, outcomes, restarts, train

FAMILIES = {"gd+momentum": ("gd", "momentum"), "sgd": ("sgd",), "adam": ("adam",)}


def outcome_fn(T: int, factor: int, loss_tol: float):
    """Per-restart outcomes of a ``factor * T``-epoch run (inside the compiled program). ``first_*``: the first
    epoch (1-based) at which the run is solved / converged, -1 if never (:func:`outcomes.first_step`)."""

    def outcome(res: train.TrainResult) -> dict[str, Any]:
        acc, loss = res.history["accuracy"], res.history["loss"]
        ok = acc >= 1.0
        conv = ok & (loss <= loss_tol)
        wn = jnp.sum(res.history["weight_norm"], axis=-1)
        return {"params": res.params, "init_params": res.init_params,
                "solved_T": ok[T - 1], "converged_T": conv[T - 1], "loss_T": loss[T - 1],
                "solved": ok[-1], "converged": conv[-1], "loss": loss[-1],
                "first_solved": outcomes.first_step(ok), "first_converged": outcomes.first_step(conv),
                "drop": 1.0 - loss[-1] / loss[(factor - 1) * T - 1],
                "wnorm_T": wn[T - 1], "wnorm": wn[-1], "diverged": res.diverged}

    return outcome


def fused_outcome_fn(T: int, factor: int, loss_tol: float):
    """The outcomes of :func:`outcome_fn` from the fused kernel's probes (:class:`xgnn_jax.engine.fused.Probes`
    at epochs ``T, (factor - 1) T, factor T``, ``target_loss = loss_tol``): the same numbers without the history."""

    def outcome(o: dict[str, Any]) -> dict[str, Any]:
        ok_T, ok = o["accuracy_at"][0] >= 1.0, o["final_accuracy"] >= 1.0
        wn = jnp.sum(o["weight_norm_at"], axis=-1)
        return {"params": o["params"], "init_params": o["init_params"],
                "solved_T": ok_T, "converged_T": ok_T & (o["loss_at"][0] <= loss_tol), "loss_T": o["loss_at"][0],
                "solved": ok, "converged": ok & (o["final_loss"] <= loss_tol), "loss": o["final_loss"],
                "first_solved": o["first_solved"], "first_converged": o["first_solved_target"],
                "drop": 1.0 - o["final_loss"] / o["loss_at"][1],
                "wnorm_T": wn[0], "wnorm": wn[2], "diverged": o["diverged"]}

    return outcome


def run_and_outcome(cfg, model, data, tc: train.TrainConfig, T: int):
    """The run function of one family's sweep and its outcome function: the fused tiny-network kernel with probes
    where it implements the configuration and the sweep runs on CPU (``execution="auto"``; ``"fused"``: required),
    else :func:`xgnn_jax.engine.train.make_run` with the history."""
    f, d = cfg.heal_factor, train.Data(data.x, data.y)
    fused_tc = dataclasses.replace(tc, record_grad_norm=True)  # the kernel measures the gradient norm anyway
    prefer = {"fused": True, "auto": None}.get(cfg.execution, False)
    if fused.chosen(model, d, fused_tc, prefer):
        run = fused.make_run(model, d, fused_tc, target_loss=cfg.loss_tol,
                             probes=fused.Probes((T, (f - 1) * T, f * T), params=True))
        return run, fused_outcome_fn(T, f, cfg.loss_tol), fused_tc
    return train.make_run(model, d, tc), outcome_fn(T, f, cfg.loss_tol), tc


def _family(cfg, fam: str, epochs: int) -> tuple[train.TrainConfig, tuple[float, ...], tuple[float, ...]]:
    base = dict(epochs=epochs, loss="half_sse", reduction="sum", record_grad_norm=False)
    if fam == "gd+momentum":
        return train.TrainConfig(optimizer="momentum", **base), cfg.gd_lrs, (0.0, cfg.momentum)
    if fam == "sgd":
        return train.TrainConfig(mode="sgd", optimizer="sgd", **base), cfg.sgd_lrs, (0.0,)
    return train.TrainConfig(optimizer="adam", **base), cfg.adam_lrs, (0.0,)


def sweep_dir(out_dir: Path | None, name: str, identity: dict) -> Path | None:
    """``out_dir/sweeps/<name>-<fingerprint>``: an interrupted study resumes its sweeps; another setting gets
    another folder (the fingerprint is a hash of ``identity``)."""
    if out_dir is None:
        return None
    tag = hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return Path(out_dir) / "sweeps" / f"{re.sub(r'[^A-Za-z0-9_.]+', '_', name)}-{tag}"


def family_sweeps(cfg, task, T: int, R: int, families: tuple[str, ...], *, out_dir: Path | None,
                  progress: bool, optimizer_restarts: int | None = None
                  ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray], dict]:
    """One restart sweep per optimizer family, ``R`` restarts per cell (``optimizer_restarts`` for the per-example
    SGD and Adam families when given). Returns ``({optimizer: {outcome: (n_r, n_lr, R, ...)}}, {family: learning
    rates}, {family: SweepResult})``."""
    out, lrs_of, results = {}, {}, {}
    model, data = task.model(), task.dataset()
    for fam in families:
        n = R if fam == "gd+momentum" or not optimizer_restarts else optimizer_restarts
        tc, lrs, moms = _family(cfg, fam, cfg.heal_factor * T)
        run_fn, outcome, tc = run_and_outcome(cfg, model, data, tc, T)
        # momentum is a hyperparameter of the momentum optimizer only (0: plain GD, in the same program)
        hp = restarts.grid(weight_scale=cfg.init_ranges, learning_rate=lrs, momentum=moms)
        hp["bias_scale"] = hp["weight_scale"]
        if fam != "gd+momentum":
            del hp["momentum"]
        identity = {"task": task.tag, "family": fam, "T": T, "loss_tol": cfg.loss_tol, "train": tc}
        res = restarts.sweep(run_fn, cfg.seed, n, hp, outcome=outcome, progress=progress, execution=cfg.execution,
                             memory_budget=int(cfg.memory_budget_gb * 2**30), config=identity,
                             out_dir=sweep_dir(out_dir, f"{task.tag}_{fam}", {"seed": cfg.seed, "R": n, **identity}))
        shape = (len(cfg.init_ranges), len(lrs), len(moms), n)
        o = jax.tree.map(lambda a, shape=shape: np.asarray(a).reshape(shape + np.shape(a)[2:]), res.outcomes)
        o["diverged"] = np.asarray(res.diverged).reshape(shape)
        for k, opt in enumerate(FAMILIES[fam]):
            out[opt] = jax.tree.map(lambda a, k=k: a[:, :, k], o)
        lrs_of[fam] = np.asarray(lrs)
        results[fam] = res
    return out, lrs_of, results


def rate(flags: np.ndarray) -> dict[str, Any]:
    """Success rate over the last axis with its Wilson 95% interval (:func:`xgnn_jax.stats.wilson_interval`)."""
    n = flags.shape[-1]
    s = flags.sum(axis=-1)
    lo, hi = stats.wilson_interval(s, np.full_like(s, n))
    return {"rate": s / n, "lo": lo, "hi": hi, "n": n}


def cells(o: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per-cell success statistics from one optimizer's outcomes ``(n_r, n_lr, R)``; a diverged restart is a
    failure, counted in ``diverged``."""
    ok_T = o["solved_T"] & ~o["diverged"]
    ok = o["solved"] & ~o["diverged"]
    failed_T = ~ok_T
    return {"solved_T": rate(ok_T), "converged_T": rate(o["converged_T"] & ~o["diverged"]),
            "solved": rate(ok), "diverged": o["diverged"].sum(-1),
            "failed_T": failed_T.sum(-1), "healed": (ok & failed_T).sum(-1)}


def levels(losses: np.ndarray, decimals: int = 2) -> dict[str, int]:
    """Counts of end-point losses rounded to ``decimals`` (the plateau levels failed runs end at), top 8."""
    vals, counts = np.unique(np.round(losses[np.isfinite(losses)], decimals), return_counts=True)
    order = np.argsort(-counts)[:8]
    return {f"{vals[i]:.{decimals}f}": int(counts[i]) for i in order}
