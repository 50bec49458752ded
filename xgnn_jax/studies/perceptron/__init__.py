"""The M-P neuron and the perceptron: gates, loss, updates, Novikoff's bound, non-uniqueness, XOR (C1-C5).

What is measured:

* C1: the book's AND, OR and NOT neurons ``y = step(w.x - theta)`` against their truth tables, the same neurons
  as one-layer MLPs with ``b = -theta`` (identical outputs), and sigmoid versions (weights and threshold scaled
  by 10, the threshold moved to the middle of the gap in ``w.x`` so no input sits on it; each output must be on
  the right side of 1/2 by more than 0.1): :func:`xgnn_jax.analysis.neurons.gate_truth_tables`.
* C2: the perceptron loss ``L = -sum_{i in M} y_i (w.x_i + b)`` at random hyperplanes on every data set: ``L >= 0``,
  and whether ``L = 0`` happens exactly when no point is misclassified, counting the boundary case of points *on*
  the hyperplane (``w = 0, b = 0``) separately.
* C3: along recorded runs, the chosen point's functional margin rises by exactly ``eta (|x_i|^2 + 1)`` per update.
* C4: random separable data sets (``datasets.linearly_separable_sets``, several margins), perceptron runs from
  zero with the random, cyclic and first-misclassified choice rules, mapped over the data sets
  (``restarts.map_over``): updates against Novikoff's bound ``(R / gamma)^2`` on augmented vectors, with the
  known separator's margin and with the data's best margin (``perceptron.max_margin``: how tight the bound is);
  and on one data set,
  the separating lines found from different keys, orders and initial values.
* C5: XOR from many initial values (dyadic, so arithmetic is exact), learning rates and every choice rule: every
  run ends with a repeated state, a proof that XOR is not separable; long runs without the proof never converge.
  AND and OR converge for contrast.

Quick setting: 8-9 s on 2 idle CPU cores from a cold compile cache; full: 33 s (measured 2026-12-02).
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import jax
import numpy as np

from xgnn_jax.analysis import neurons
from xgnn_jax.analysis import perceptron as P
from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts
from xgnn_jax.studies.perceptron import verdicts as V
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    datasets_per_margin: int = 96  # random separable data sets per margin level (C2-C4)
    n: int = 40  # points per data set
    d: int = 2  # input dimension
    margins: tuple[float, ...] = (0.05, 0.1, 0.2)
    eta: float = 1.0
    replay_sets: int = 32  # data sets whose update sequence is replayed to check C3
    hyperplane_runs: int = 8  # runs on one data set for the non-uniqueness figure
    xor_runs: int = 64  # XOR runs per choice rule (C5)
    xor_max_epochs: int = 64  # cap for XOR runs with cycle detection (x 4 updates)
    xor_long_epochs: int = 2000  # runs without cycle detection: never converge?

    ESTIMATED_SECONDS: ClassVar[dict[str, int]] = {"quick": 10, "full": 44}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "n": (2, None), "d": (1, None), "margins": (1e-6, None)}

    @classmethod
    def full(cls) -> Config:
        return cls(datasets_per_margin=1024, n=100, d=5, margins=(0.02, 0.05, 0.1, 0.2, 0.4), replay_sets=256,
                   xor_runs=1024, xor_max_epochs=256, xor_long_epochs=20000)


def _map(fn, rows, part, cfg, out_dir, progress):
    """``fn(key, row, hp)`` over the rows through the restart engine (resumable under ``out_dir/sweeps/part``);
    the per-row outcomes (one restart per row) and the engine's result."""
    res = restarts.map_over(fn, rows, seed=cfg.seed, progress=progress,
                            out_dir=None if out_dir is None else f"{out_dir}/sweeps/{part}",
                            config={"study": "perceptron", "part": part, **dataclasses.asdict(cfg)})
    return jax.tree.map(lambda a: a[:, 0], res.outcomes), res


def _runner(choice, max_epochs, detect_cycles, check_rule=False):
    """The per-row perceptron run: ``row`` holds ``x, y, key`` (raw key data), ``eta, w0, b0``."""
    def fn(key, row, hp):
        r = P.perceptron(row["x"], row["y"], jax.random.wrap_key_data(row["key"]), eta=row["eta"], w0=row["w0"],
                         b0=row["b0"], choice=choice, max_epochs=max_epochs, detect_cycles=detect_cycles)
        if not check_rule:
            return r
        err, checked = P.margin_gain_check(row["x"], row["y"], r.chosen, row["eta"], row["w0"], row["b0"])
        return {"w": r.w, "b": r.b, "num_updates": r.num_updates, "converged": r.converged,
                "rule_error": err, "rule_checked": checked}
    return fn


def _set_measures(key, row, hp):
    """Novikoff's bound for the known separator and the loss checks of C2, on one data set."""
    nov = P.novikoff_bound(row["x"], row["y"], row["w"], 0.0)
    return {"R": nov.R, "gamma": nov.gamma, "bound": nov.bound,
            **P.loss_checks(row["x"], row["y"], row["w"], 0.0, row["planes"])}


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    k_data, k_run, k_loss, k_xor, k_plane = jax.random.split(jax.random.key(cfg.seed), 5)
    gates = dict(sorted(neurons.gate_truth_tables(V.SIGMOID_SCALE, V.SIGMOID_MARGIN).items()))
    sets = datasets.linearly_separable_sets(k_data, cfg.datasets_per_margin, cfg.n, cfg.d, cfg.margins, signed=True)
    x_all, y_all = sets.x, sets.y[..., 0]
    planes = jax.random.normal(k_loss, (x_all.shape[0], V.PLANES_PER_SET, cfg.d + 1))
    data, _ = _map(_set_measures, {"x": x_all, "y": y_all, "w": sets.w, "planes": planes}, "data_sets", cfg,
                   out_dir, progress)
    data = {**data, **V.best_bounds(x_all, y_all)}
    # The cap lies above every bound, so a run stopped by the cap would contradict the theorem.
    max_epochs = int(np.ceil(data["bound"].max() / cfg.n)) + 1
    rows = P.novikoff_rows(k_plane, k_run, x_all, y_all, cfg.hyperplane_runs, cfg.eta)
    runs, tables = {}, {}
    for choice in P.CHOICES:
        runs[choice], res = _map(_runner(choice, max_epochs + 64, False, check_rule=True), rows,
                                 f"novikoff_{choice}", cfg, out_dir, progress)
        tables[f"novikoff_{choice}"] = res.table()
    xor_rows = P.gate_rows(k_xor, cfg.xor_runs)
    xor = {c: _map(_runner(c, cfg.xor_max_epochs, True), xor_rows, f"xor_{c}", cfg, out_dir, progress)[0]
           for c in P.CHOICES}
    long_n = min(cfg.xor_runs, 16)
    long_rows = jax.tree.map(lambda a: a[:long_n], xor_rows)
    long_runs, _ = _map(_long_runner(cfg.xor_long_epochs), long_rows, "xor_long", cfg, out_dir, progress)

    summary, arrays = {}, {"margin_level": np.asarray(sets.margin), "eta": np.asarray(rows["eta"])[:x_all.shape[0]]}
    verdicts = [V.c1(gates, summary), V.c2(cfg, data, summary, arrays)]
    verdicts += V.c4_c3(cfg, data, runs, np.asarray(x_all)[0], np.asarray(y_all)[0], summary, arrays, out_dir)
    verdicts.append(V.c5(cfg, xor, long_runs, summary, arrays, out_dir))
    summary["verdicts"] = verdicts
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=time.perf_counter() - t0,
                          seed=cfg.seed, tables=tables)


def _long_runner(epochs):
    """A random-choice XOR run without the cycle check (eta 1, as the replay assumes): converged, and the number
    of misclassified points after every update."""
    def fn(key, row, hp):
        r = P.perceptron(row["x"], row["y"], jax.random.wrap_key_data(row["key"]), w0=row["w0"], b0=row["b0"],
                         choice="random", max_epochs=epochs, detect_cycles=False)
        return {"converged": r.converged,
                "misclassified": P.misclassified_after_updates(row["x"], row["y"], r.chosen, 1.0, row["w0"],
                                                               row["b0"])}
    return fn


STUDY = Study(
    name="perceptron",
    title="M-P neuron and perceptron: gates, loss, update rule, Novikoff's bound, XOR",
    claims=("C1", "C2", "C3", "C4", "C5"),
    config=Config,
    run=run,
    order=5,
    description=__doc__.split("\n\n")[0],
)
