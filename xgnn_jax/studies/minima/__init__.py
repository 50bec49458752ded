"""Local vs global minima: what stops gradient descent on XOR and friends, and which way out works (C17).

The chapter (C17): gradient descent can stop in a local minimum, which one depends strongly on the initial
parameters, and there are three ways out: several random initialisations keeping the best, simulated annealing,
and stochastic gradient descent (the book also names genetic algorithms). The literature is sharper: the 2-2-1
sigmoid XOR network has no strict local minimum at finite weights (its traps are saddles, plateaus and minima at
infinity: Hamey 1998; Sprinkhuizen-Kuyper & Boers 1998/1999), while larger networks may have non-zero-error
minima. This study measures what really happens.

Setting: the book's sigmoid networks and ``E = 1/2 sum_k (y_hat_k - y_k)^2`` summed over the training examples
(``loss="half_sse", reduction="sum"``); initial weights and biases uniform in ``(-r, r)`` (``uniform(-1, 1)``
scaled by ``r``). Success = every output on the right side of 0.5; the stricter success also asks ``E <= loss_tol``.

What is measured:

* Sweeps (one :func:`xgnn_jax.engine.restarts.sweep` per network and optimizer family, ``restarts`` restarts per cell):
  XOR with ``2-1-1s`` (one hidden unit plus input-output shortcuts, :mod:`xgnn_jax.core.shortcut`), ``2-2-1``,
  ``2-3-1``, ``2-4-1``; full-batch GD and GD with momentum (one sweep: momentum 0 and ``momentum``), per-example
  SGD (the book's standard BP) and Adam; grid ``init_ranges x lrs``. Every run is trained for ``heal_factor * T``
  epochs; success at ``T = epochs`` is the headline, success at ``heal_factor * T`` says whether failures heal
  (slow escape) or not (a real trap). Also watermelon 3.0alpha (17 x 2) and 3-bit parity (8 x 3).
  Outputs: success-rate heat maps with Wilson 95% intervals, final-loss histograms, time-to-success curves.
* Critical points: for up to ``max_hessians`` end points per network that did not converge (and a few that did),
  in float64: gradient norm, Hessian eigenvalues, index, near-zero eigenvalues, saturated hidden units and a
  label (:mod:`xgnn_jax.analysis.critical`); for ``refine_networks`` the same after ``refine_factor * T`` further plain GD
  steps (does the gradient vanish at finite weights, or do the weights keep growing?).
* Basins: end points described by their canonical hidden and output activations (modulo hidden-unit
  permutations and sigmoid flips) and clustered; number of basins and their frequencies.
* Escapes on the reference cell (``ref_network``, plain GD, ``ref_init_range``, ``ref_lr``), on equal compute
  (``escape_budget`` full-batch evaluations per attempt, :mod:`xgnn_jax.analysis.escape`): GD restarts, per-example SGD,
  GD with decaying gradient noise, simulated annealing, a genetic algorithm, from scratch and from the failed end
  points; best of k restarts against ``1 - (1 - p)^k``. Every strategy is compared with restarting GD by a
  bootstrap interval of the ratio of costs per success (paired: the scratch strategies share their starts) and,
  on shared starts, McNemar's exact test of success; an interval containing 1 is a tie, never a win. From the
  failed end points the attempts cycle through the failed points, so intervals count distinct points only.
* Tolerance check (C17.traps): strict local minima are recounted at each ``grad_tol_sensitivity`` (with and
  without the Newton-step test), and end points with a positive-definite Hessian but a non-critical gradient are
  counted apart; the verdict is plain only when every tolerance gives the same answer.
* Landscapes (reference cell): loss along the line from the initial to the final parameters (a converged and a
  failed restart), barriers between pairs of solutions before and after aligning their symmetries, and 2-D
  filter-normalised surfaces through a converged and a failed end point.

Layout: :mod:`.sweeps` (restart sweeps, cell rates), :mod:`.critical_points` (float64 Hessians, refinement),
:mod:`.geometry` (basins, landscapes), :mod:`.escapes` (the equal-compute comparison), :mod:`.verdicts`,
:mod:`.figures`. With ``out_dir`` every sweep keeps its chunks under ``out_dir/sweeps/`` (an interrupted run
resumes) and the per-restart outcomes go out as ``restarts_<network>_<family>.csv``.

Quick setting: estimated 40-60 s on 2 idle CPU cores (45 s measured at a load of 3), almost all of it XLA compilation (about 20 programs);
measured 130-180 s on the shared 2-core machine at a load of 8-10. Full setting: 512 restarts per GD cell (128 per
SGD / Adam cell) on a 10 x 6 grid, 2000 epochs: 257 s measured in one ``scripts/run.sh --full`` (2-core AMD EPYC,
2026-12-02), about 140 s of it the sweeps (mostly compilation). Every sweep (GD, momentum, per-example SGD, Adam) runs on the
fused tiny-network kernel with probes (:func:`.sweeps.run_and_outcome`), sharded over the CPU cores. On a GPU: ``--execution vmap --memory_budget_gb 16``. Per-phase timings are in
``summary["timings_s"]``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from xgnn_jax import stats
from xgnn_jax.analysis import escape_protocol
from xgnn_jax.analysis.tasks import NetSpec, Task
from xgnn_jax.studies.minima import critical_points, escapes, figures, geometry, sweeps, verdicts
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study

OPTIMIZERS = critical_points.OPTIMIZERS


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    restarts: int = 128  # restarts per cell (init range x learning rate)
    epochs: int = 1000  # T: the training budget; every run continues to heal_factor * T
    heal_factor: int = 4
    networks: tuple[str, ...] = ("2-1-1s", "2-2-1", "2-3-1", "2-4-1")  # XOR networks ("s": shortcuts)
    all_optimizer_networks: tuple[str, ...] = ()  # also swept with per-example SGD and Adam (full: all)
    optimizer_restarts: int = 0  # restarts per cell of those SGD and Adam sweeps (0: restarts)
    init_ranges: tuple[float, ...] = (0.25, 1.0, 2.0, 4.0)  # r of U(-r, r)
    gd_lrs: tuple[float, ...] = (0.5, 2.0)  # full-batch GD and momentum (E summed over examples)
    momentum: float = 0.9
    sgd_lrs: tuple[float, ...] = (0.5,)  # per-example SGD
    adam_lrs: tuple[float, ...] = (0.05,)
    loss_tol: float = 0.05  # stricter success: also E <= loss_tol
    other_data: tuple[str, ...] = ("watermelon3_alpha:2-2-1",)  # data set : network (full: + parity3:3-3-1)
    other_restarts: int = 64
    other_epochs: int = 500
    max_hessians: int = 96  # non-converged end points analysed per network (plus max_hessians // 8 converged)
    grad_tol: float = 1e-4  # |grad E| at or below (and a Newton step at most step_tol): a critical point
    grad_tol_sensitivity: tuple[float, ...] = (1e-4, 1e-3, 1e-2)  # C17.traps recounted at these grad_tol
    step_tol: float = 0.1
    eig_tol: float = 1e-6  # |lambda| at or below: a flat direction
    drop_tol: float = 1e-2  # relative loss drop over the last T epochs above: still descending
    refine_networks: tuple[str, ...] = ("2-2-1",)
    refine_factor: int = 5  # refinement: refine_factor * T more plain GD steps from the analysed end points
    basin_tol: float = 0.2  # max-abs distance of canonical activations within one basin
    ref_network: str = "2-2-1"
    ref_init_range: float = 2.0
    ref_lr: float = 2.0
    escape_budget: int = 1000  # full-batch evaluations per escape attempt
    rescue_min: float = 0.05  # a way out rescues failed runs when its rescue rate is above this (95% interval)
    escape_attempts: int = 64  # attempts per strategy (from failed end points: cycling through the reference cell's)
    noise: float = 1.0  # sigma_0 of the decaying gradient noise
    sgd_lr: float = 2.0  # per-example SGD in the escape comparison
    sa_step: float = 1.0
    sa_t_start: float = 0.1
    sa_t_end: float = 1e-3
    ga_population: int = 16
    ga_mutation: float = 0.5
    best_of_ks: tuple[int, ...] = (1, 2, 4, 8, 16)
    n_boot: int = 2000  # bootstrap replicates of the cost per success
    landscape_points: int = 25  # grid points per axis of the 2-D surfaces
    barrier_pairs: int = 16
    max_basin_points: int = 20000  # end points clustered per network (a random subset beyond this)
    execution: str = "auto"  # restart engine execution ("vmap" on a GPU)
    memory_budget_gb: float = 1.0  # restart engine: bytes per chunk

    ESTIMATED_SECONDS: ClassVar[dict[str, int]] = {"quick": 38, "full": 221}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "heal_factor": (2, None), "optimizer_restarts": (0, None), "rescue_min": (0, 1), "init_ranges": (1e-6, None), "ref_init_range": (1e-6, None),
        "grad_tol_sensitivity": (0, None), "refine_factor": (1, None), "basin_tol": (1e-9, None),
        "escape_budget": (1, None), "sa_step": (1e-9, None), "sa_t_start": (1e-12, None),
        "sa_t_end": (1e-12, None), "ga_population": (4, None), "ga_mutation": (0, None), "best_of_ks": (1, None),
        "n_boot": (1, None), "max_hessians": (1, None), "max_basin_points": (2, None),
        "memory_budget_gb": (1e-3, None), "landscape_points": (2, None), "barrier_pairs": (1, None)}

    @classmethod
    def full(cls) -> Config:
        nets = ("2-1-1s", "2-2-1", "2-3-1", "2-4-1")
        # Sized by the precision the rates need: 512 restarts per GD cell put a Wilson 95% interval within
        # +-4.4 points of any rate (the reference cell's failure rate, the headline of C17); 128 per SGD / Adam cell
        # and 256 per cell of the other data sets (+-8.7 / +-6.2 points) for the heat maps beside it.
        return cls(restarts=512, optimizer_restarts=128, epochs=2000, all_optimizer_networks=nets,
                   init_ranges=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0),
                   gd_lrs=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0), sgd_lrs=(0.25, 0.5, 1.0, 2.0, 4.0),
                   adam_lrs=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2), other_restarts=256, other_epochs=2000,
                   other_data=("watermelon3_alpha:2-2-1", "parity3:3-3-1"), max_hessians=512, refine_factor=5,
                   refine_networks=nets + ("watermelon3_alpha:2-2-1", "parity3:3-3-1"),
                   escape_budget=2000, escape_attempts=1024, best_of_ks=(1, 2, 4, 8, 16, 32, 64),
                   landscape_points=41, barrier_pairs=128)


def _check(cfg: Config) -> list[Task]:
    for name, grid_ in (("init_ranges", cfg.init_ranges), ("gd_lrs", cfg.gd_lrs)):
        if not grid_:
            raise ValueError(f"{name}: expected at least one value")
    nets = [NetSpec.parse(n, "networks") for n in cfg.networks]
    if cfg.ref_network not in cfg.networks:
        raise ValueError(f"ref_network: {cfg.ref_network!r} is not among networks {cfg.networks}")
    if cfg.ref_init_range not in cfg.init_ranges or cfg.ref_lr not in cfg.gd_lrs:
        raise ValueError("ref_init_range, ref_lr: expected values from init_ranges and gd_lrs")
    return [Task("xor", n) for n in nets] + [Task.parse(t, "other_data") for t in cfg.other_data]


class _Timings(dict):
    """Seconds per phase; printed as they come when ``progress`` is on."""

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose = verbose

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if self.verbose:
            print(f"[minima] {key}: {value:.1f} s", flush=True)


def _per_task(cfg: Config, tasks: list[Task], out_path, progress: bool, timings) -> dict[str, dict]:
    """Sweeps, cell rates, critical points and basins of every task: ``{part: {tag: ...}}``."""
    rng = np.random.default_rng(cfg.seed)
    got: dict[str, dict] = {k: {} for k in ("sweeps", "cells", "analyses", "basins", "T", "tasks", "tables")}
    for task in tasks:
        xor, tag = task.data == "xor", task.tag
        T, R = (cfg.epochs, cfg.restarts) if xor else (cfg.other_epochs, cfg.other_restarts)
        fams = ("gd+momentum",) + (("sgd", "adam") if xor and task.net.name in cfg.all_optimizer_networks else ())
        clock = time.perf_counter()
        s, lrs, res = sweeps.family_sweeps(cfg, task, T, R, fams, out_dir=out_path, progress=progress,
                                           optimizer_restarts=cfg.optimizer_restarts)
        timings[f"sweep {tag}"] = time.perf_counter() - clock
        got["sweeps"][tag], got["T"][tag], got["tasks"][tag] = s, T, task
        got["cells"][tag] = {opt: sweeps.cells(o) for opt, o in s.items()} | {"_T": T, "_lrs": lrs}
        for fam, r in res.items():
            got["tables"][f"restarts_{tag}_{fam}".replace(":", "_").replace("+", "_")] = r.table()
        model, data = task.model(), task.dataset()
        refine = tag in cfg.refine_networks or f"xor:{tag}" in cfg.refine_networks
        clock = time.perf_counter()
        got["analyses"][tag] = critical_points.analyse_network(cfg, model, data, s, rng, refine, T)
        timings[f"hessians {tag}"] = time.perf_counter() - clock
        clock = time.perf_counter()
        got["basins"][tag] = geometry.basins(cfg, model, data, s["gd"], rng)
        timings[f"basins {tag}"] = time.perf_counter() - clock
    return got


def _figures(out_path, cfg, got, esc, bok, land) -> dict[str, str]:
    if out_path is None:
        return {}
    figs = {"heatmaps": figures.heatmaps(out_path, got["cells"], cfg),
            "losses": figures.losses(out_path, got["sweeps"], list(got["sweeps"])),
            "time": figures.time_to_success(out_path, got["sweeps"], list(got["sweeps"]), got["T"]),
            "critical": figures.critical_points(out_path, got["analyses"]),
            "escape": figures.escapes(out_path, esc, bok), "basins": figures.basins(out_path, got["basins"])}
    f = figures.landscapes(out_path, land, cfg.ref_network)
    if f:
        figs["landscape"] = f
    return figs


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    cfg, t0 = config, time.perf_counter()
    tasks = _check(cfg)
    out_path = Path(out_dir) if out_dir is not None else None
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
    timings = _Timings(progress)
    got = _per_task(cfg, tasks, out_path, progress, timings)
    ref_task = got["tasks"][cfg.ref_network]
    model, data = ref_task.model(), ref_task.dataset()
    i_r, i_lr = cfg.init_ranges.index(cfg.ref_init_range), cfg.gd_lrs.index(cfg.ref_lr)
    ref = got["sweeps"][cfg.ref_network]["gd"]
    bok = escape_protocol.best_of_k(ref["solved_T"][i_r, i_lr] & ~ref["diverged"][i_r, i_lr],
                                    ref["loss_T"][i_r, i_lr], [k for k in cfg.best_of_ks if k <= cfg.restarts])
    clock = time.perf_counter()
    esc = escapes.escapes(cfg, model, data, ref, i_r, i_lr, execution=cfg.execution,
                          out_dir=sweeps.sweep_dir(out_path, "escapes", {"seed": cfg.seed, **dataclasses.asdict(cfg)}))
    timings["escapes"] = time.perf_counter() - clock
    clock = time.perf_counter()
    land = geometry.landscapes(cfg, model, data, ref, i_r, i_lr)
    timings["landscapes"] = time.perf_counter() - clock
    clock = time.perf_counter()
    figs = _figures(out_path, cfg, got, esc, bok, land)
    timings["figures"] = time.perf_counter() - clock
    an = {tag: critical_points.summarise(a) for tag, a in got["analyses"].items()}
    rc = verdicts.reference(cfg, got["cells"], ref, i_r, i_lr)
    tr = verdicts.traps(cfg, an)
    summary = {**_numbers(cfg, got, an), "escapes": esc, "best_of_k": bok, "timings_s": dict(timings),
               "landscape": geometry.summary(land),
               "reference_cell": {"network": cfg.ref_network, "init_range": cfg.ref_init_range, "lr": cfg.ref_lr,
                                  "restarts": cfg.restarts, "failed_4T": int(rc["failed"].sum()),
                                  "diverged": int(ref["diverged"][i_r, i_lr].sum()),
                                  "loss_levels_failed_4T": rc["levels"]},
               "verdicts": [verdicts.main_verdict(cfg, rc, tr, an, esc, bok, [f for f in (
                                figs.get("heatmaps"), figs.get("critical"), figs.get("escape")) if f]),
                            verdicts.traps_verdict(cfg, an, tr, tuple(f for f in (figs.get("critical"),) if f)),
                            verdicts.escape_verdict(cfg, esc, [f for f in (figs.get("escape"),) if f])]}
    return results.finish(STUDY, cfg, summary, out_dir, arrays=_arrays(got), tables=got["tables"],
                          wall_time_s=time.perf_counter() - t0, seed=cfg.seed)


def _numbers(cfg: Config, got: dict, an: dict) -> dict[str, Any]:
    """Per-cell rates, healing between T and 4T, and the basin summaries, for ``summary.json``."""
    cells = {}
    for tag, c in got["cells"].items():
        cells[tag] = {}
        for opt in (o for o in OPTIMIZERS if o in c):
            fam = "gd+momentum" if opt in ("gd", "momentum") else opt
            cells[tag][opt] = {
                "lrs": c["_lrs"][fam], "init_ranges": cfg.init_ranges,
                "solved_T": c[opt]["solved_T"]["rate"], "solved_T_lo": c[opt]["solved_T"]["lo"],
                "solved_T_hi": c[opt]["solved_T"]["hi"], "converged_T": c[opt]["converged_T"]["rate"],
                "solved_4T": c[opt]["solved"]["rate"], "diverged": c[opt]["diverged"],
                "failed_T": c[opt]["failed_T"], "healed_by_4T": c[opt]["healed"]}
    heal = {}
    for tag, s in got["sweeps"].items():
        o = s["gd"]
        f_T = int((~o["solved_T"] | o["diverged"]).sum())
        h = int((o["solved"] & ~o["solved_T"] & ~o["diverged"]).sum())
        lo, hi = stats.wilson_interval(h, f_T) if f_T else (np.nan, np.nan)
        first = o["first_solved"]
        heal[tag] = {"failed_at_T": f_T, "healed_by_4T": h, "healed_fraction": h / f_T if f_T else None,
                     "lo": float(lo), "hi": float(hi),
                     "time_to_success_median": float(np.median(first[first > 0])) if (first > 0).any() else None,
                     "loss_levels_failed_4T": sweeps.levels(o["loss"][~o["solved"] & ~o["diverged"]])}
    basins = {tag: {k: v for k, v in b.items() if k not in ("counts", "solved_by_basin")}
              for tag, b in got["basins"].items()}
    return {"cells": cells, "healing": heal, "critical_points": an, "basins": basins}


def _arrays(got: dict) -> dict[str, np.ndarray]:
    arrays = {}
    for tag, s in got["sweeps"].items():
        key = tag.replace(":", "_").replace("-", "_")
        for opt, o in s.items():
            for name in ("solved_T", "solved", "converged_T", "loss_T", "loss", "first_solved", "drop", "diverged"):
                arrays[f"{key}__{opt}__{name}"] = o[name]
        a = got["analyses"][tag]
        if a.get("n", 0):
            for name in ("codes", "grad_norm", "eigenvalues", "index", "n_zero", "saturated", "loss",
                         "is_nonconverged"):
                arrays[f"{key}__hessian__{name}"] = a[name]
    return arrays


STUDY = Study("minima", "Local vs global minima: what stops gradient descent, and the ways out",
              ("C17",), Config, run, order=40,
              description="Restart sweeps over init range and learning rate, float64 critical-point analysis of "
                          "failed runs, basins modulo symmetries, escapes on equal compute, landscapes.")
