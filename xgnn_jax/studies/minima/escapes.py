"""The ways out on the reference cell, on equal compute (:mod:`xgnn_jax.analysis.escape_protocol`): GD restarts,
per-example SGD, GD with decaying gradient noise, simulated annealing and a genetic algorithm, from scratch and
from the failed end points. One :func:`~xgnn_jax.analysis.escape_protocol.run_attempts` (one compile) per strategy
function; every attempt keeps the key it had when each strategy was compiled on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import escape
from xgnn_jax.analysis import escape_protocol as ep

# (strategy, start) in the order of the rows; the record index i gives attempt keys split(fold_in(k_run, i), A)
ROWS = (("GD restart", "scratch"), ("per-example SGD", "scratch"), ("GD + decaying noise", "scratch"),
        ("simulated annealing", "scratch"), ("genetic algorithm", "scratch"), ("GD continued", "failed"),
        ("per-example SGD", "failed"), ("GD + decaying noise", "failed"), ("simulated annealing", "failed"))
FN_OF = {"GD restart": "gd", "GD continued": "gd", "GD + decaying noise": "gd", "per-example SGD": "sgd",
         "simulated annealing": "sa", "genetic algorithm": "ga"}


def _strategies(cfg, pr) -> dict[str, Any]:
    B, r = cfg.escape_budget, cfg.ref_init_range
    gens = max(B // cfg.ga_population - 1, 1)
    return {
        "gd": lambda k, t0, hp: escape.gradient_descent(pr, k, t0, steps=B, lr=hp["lr"], noise=hp["noise"]),
        "sgd": lambda k, t0, hp: escape.gradient_descent(pr, k, t0, steps=B, lr=cfg.sgd_lr, per_example=True),
        "sa": lambda k, t0, hp: escape.simulated_annealing(pr, k, t0, steps=B, step_size=cfg.sa_step,
                                                           t_start=cfg.sa_t_start, t_end=cfg.sa_t_end),
        "ga": lambda k, t0, hp: escape.genetic_algorithm(pr, k, generations=gens, population=cfg.ga_population,
                                                         init_scale=r, mutation=cfg.ga_mutation)}


def escapes(cfg, model, data, ref: dict, i_r: int, i_lr: int, out_dir=None, **sweep_kwargs) -> dict[str, Any]:
    """Rows (success with a Wilson interval over distinct starts, cost per success with a bootstrap interval) and
    comparisons with restarting GD (cost ratio interval, McNemar on shared starts). With ``out_dir``, one resumable
    sweep folder per strategy function below it."""
    pr = escape.make_problem(model, data.x, data.y)
    A = cfg.escape_attempts
    failed = np.where(~ref["solved"][i_r, i_lr] | ref["diverged"][i_r, i_lr])[0]
    nf = len(failed)
    k_init, k_run = jax.random.split(jax.random.key(cfg.seed + 1000))
    starts = {"scratch": escape.draw_starts(pr, k_init, A, cfg.ref_init_range)}
    # From the failed end points the attempts cycle through the nf points: only min(A, nf) are distinct.
    start_ids = {"scratch": np.arange(A)}
    if nf:
        start_ids["failed"] = failed[np.arange(A) % nf]
        starts["failed"] = escape.flatten_batch(jax.tree.map(lambda a: jnp.asarray(a[i_r, i_lr][start_ids["failed"]]),
                                                             ref["params"]))
    todo = [(i, s, st) for i, (s, st) in enumerate(ROWS) if st == "scratch" or nf]
    fns = _strategies(cfg, pr)
    outs: dict[int, tuple[ep.Attempts, float]] = {}
    for fname, fn in fns.items():
        mine = [(i, s, st) for i, s, st in todo if FN_OF[s] == fname]
        batches = [ep.Batch(jax.random.split(jax.random.fold_in(k_run, i), A),
                            None if fname == "ga" else starts[st],
                            {"lr": np.full(A, cfg.ref_lr, np.float32),
                             "noise": np.full(A, cfg.noise if "noise" in s else 0.0, np.float32)})
                   for i, s, st in mine]
        got, wall = ep.run_attempts(fn, batches, out_dir=None if out_dir is None else Path(out_dir) / fname,
                                    **sweep_kwargs)
        for (i, _, _), att in zip(mine, got, strict=True):
            outs[i] = (att, wall / (A * len(mine)))
    boot_seed = {"scratch": cfg.seed + 2000, "failed": cfg.seed + 3000}
    rows, boots, solved = [], [], []
    for i, s, st in todo:
        att, wall = outs[i]
        row, boot = ep.summarise(s, st, att, start_ids[st], n_boot=cfg.n_boot, boot_seed=boot_seed[st],
                                 cluster=st == "failed", paired=s != "genetic algorithm", wall_s=wall)
        rows.append(row)
        boots.append(boot)
        solved.append(att.solved)
    return {"rows": rows, "comparisons": ep.compare(rows, boots, solved, reference=0), "failed_points": nf,
            "budget": cfg.escape_budget}
