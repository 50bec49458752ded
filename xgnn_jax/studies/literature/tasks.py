"""The runs behind the literature table: one restart sweep per network structure, one map over a 2-D slice.

Every run is XOR (``x`` in binary order, 0/1 targets), sigmoid units, the half sum of squares summed over the four
patterns (``E = 1/2 sum_k (o_k - y_k)^2``), full-batch updates with momentum in optax's form ``v <- g + mu v,
w <- w - eta v`` (the same as Rumelhart et al.'s ``dw(t) = -eta g + alpha dw(t-1)``) unless said otherwise.
A mean over the four patterns (the numpy re-implementation's ``1/(2m)``) is the same run at ``eta / 4``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from xgnn_jax.analysis import critical, xor_runs
from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.core.shortcut import ShortcutMLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import fused, restarts, train
from xgnn_jax.study import results

XOR = datasets.logic_gate("xor")
DATA = train.Data(XOR.x, XOR.y)
U05 = "uniform(-0.5, 0.5)"  # the PDP programs' default weight range (wrange 1) and the numpy re-implementation's
TSS_CRIT = 0.04  # assumed PDP criterion: total sum of squares sum_k (o_k - y_k)^2 <= 0.04, i.e. E <= 0.02
RMS_CRIT = 0.05  # the 2-3-1 report's RMS error < 5%: E < m r^2 / 2
TARGETS = (("tss", TSS_CRIT / 2), ("rms", 4 * RMS_CRIT**2 / 2))


def train_config(epochs: int, mode: str = "full_batch") -> train.TrainConfig:
    return train.TrainConfig(epochs=epochs, mode=mode, loss="half_sse", reduction="sum", optimizer="momentum",
                             record_grad_norm=False)


def sweep_dir(cfg: Any, out_dir, part: str) -> dict[str, Any]:
    """The engine's keyword arguments that make one of the study's sweeps resumable: its chunks go to
    ``out_dir/sweeps/<part>`` (nothing when ``out_dir`` is None), fingerprinted by the whole config."""
    return results.sweep_kwargs(out_dir, "literature", part, cfg)


def run_and_outcome(model, epochs: int, mode: str = "full_batch", keep: bool = False):
    """The run function and outcome of one sweep: the fused tiny-network kernel (every net here is one) on CPU,
    :func:`train.make_run` with its history elsewhere; the same outcomes (:func:`xor_runs.solve_outcome`)."""
    tc = train_config(epochs, mode)
    fast = dataclasses.replace(tc, record_grad_norm=True)  # the kernel measures the gradient norm anyway
    if fused.chosen(model, DATA, fast):
        run = fused.make_run(model, DATA, fast, target_loss=TARGETS[0][1],
                             probes=xor_runs.solve_probes(TARGETS, keep, epochs))
        return run, xor_runs.fused_solve_outcome(TARGETS, keep)
    return train.make_run(model, DATA, tc), xor_runs.solve_outcome(TARGETS, keep)


def _sweep(model, epochs: int, seed: int, n: int, hp: dict, *, mode: str = "full_batch", keep: bool = False,
           progress: bool = False, resume: dict | None = None) -> restarts.SweepResult:
    run, outcome = run_and_outcome(model, epochs, mode, keep)
    return restarts.sweep(run, seed, n, hp, outcome=outcome, progress=progress, **(resume or {}))


def two_two_one_points(radii: tuple[float, ...]) -> list[tuple[str, float, float, float]]:
    """``(name, eta on the summed loss, momentum, weight_scale)`` of every 2-2-1 grid point. ``weight_scale``
    multiplies ``U[-0.5, 0.5]``: radius ``r`` (weights in ``[-r, r]``) is scale ``2 r``."""
    points = [("rhw", 0.5, 0.9, 1.0), ("rhw_eta025", 0.25, 0.9, 1.0), ("numpy", 0.125, 0.9, 1.0)]
    return points + [(f"kp_r{r:g}", 0.125, 0.9, 2.0 * r) for r in radii]


def run_sweeps(cfg: Any, progress: bool = False, out_dir=None) -> dict[str, Any]:
    """Every sweep of the study (see the Config's fields); returns ``{name: SweepResult}`` and the 2-2-1 point names.
    With ``out_dir`` every sweep is resumable (:func:`sweep_dir`)."""
    points = two_two_one_points(tuple(cfg.kp_radii))
    hp = {"lr": np.array([p[1] for p in points]), "momentum": np.array([p[2] for p in points]),
          "weight_scale": np.array([p[3] for p in points]), "bias_scale": np.array([p[3] for p in points])}
    out = {"shortcut": _sweep(ShortcutMLP(2, 1, 1, weight_init=U05, bias_init=U05), cfg.epochs, cfg.seed,
                              cfg.restarts, {"lr": 0.5, "momentum": 0.9}, keep=True, progress=progress,
                              resume=sweep_dir(cfg, out_dir, "shortcut")),
           "2-2-1": _sweep(MLP((2, 2, 1), weight_init=U05, bias_init=U05), cfg.epochs, cfg.seed, cfg.restarts, hp,
                           keep=True, progress=progress, resume=sweep_dir(cfg, out_dir, "2-2-1"))}
    for h in cfg.chauvin_widths:
        if h != 2:
            out[f"2-{h}-1"] = _sweep(MLP((2, h, 1), weight_init=U05, bias_init=U05), cfg.epochs, cfg.seed,
                                     cfg.restarts_wide, {"lr": 0.25, "momentum": 0.9}, progress=progress,
                                     resume=sweep_dir(cfg, out_dir, f"2-{h}-1"))
    u1 = MLP((2, 3, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    hp231 = {"lr": 1.0, "momentum": 0.7}
    out["2-3-1 batch"] = _sweep(u1, cfg.epochs_231, cfg.seed, cfg.restarts_231, hp231, keep=True, progress=progress,
                                resume=sweep_dir(cfg, out_dir, "2-3-1 batch"))
    out["2-3-1 online"] = _sweep(u1, cfg.epochs_231, cfg.seed, cfg.restarts_231, hp231, mode="sgd", keep=True,
                                 progress=progress, resume=sweep_dir(cfg, out_dir, "2-3-1 online"))
    return {"sweeps": out, "points": [p[0] for p in points]}


def kp_slice(cfg: Any, progress: bool = False, out_dir=None) -> dict[str, np.ndarray]:
    """Kolen & Pollack's picture: time to solution on a 2-D slice of initial weights. The start is restart 0 of the
    2-2-1 net at radius ``cfg.slice_radius`` (weights and biases in ``[-r, r]``); the two input weights of hidden
    unit 1 (``W1[0, 0]``, ``W1[1, 0]``) are set to every point of a ``slice_res x slice_res`` grid over
    ``[-slice_span, slice_span]^2``; trained at the numpy re-implementation's setting. Returns the grid and the
    epochs to every ``|o - y| < 0.5`` (``-1``: not within ``epochs``)."""
    model = MLP((2, 2, 1), weight_init=U05, bias_init=U05)
    run = train.make_run(model, DATA, train_config(cfg.epochs))

    base = model.init(jax.random.key(cfg.seed), 2.0 * cfg.slice_radius, 2.0 * cfg.slice_radius)
    axis = np.linspace(-cfg.slice_span, cfg.slice_span, cfg.slice_res, dtype=np.float32)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    outcome = xor_runs.solve_outcome(TARGETS)

    def one(key, row, hp):
        w1 = base[0]["W"].at[0, 0].set(row["a"]).at[1, 0].set(row["b"])
        return outcome(run(key, hp, ({**base[0], "W": w1}, base[1])))

    res = restarts.map_over(one, {"a": a.ravel(), "b": b.ravel()}, seed=cfg.seed,
                            hparams={"lr": 0.125, "momentum": 0.9}, progress=progress,
                            **sweep_dir(cfg, out_dir, "slice"))
    shape = (cfg.slice_res, cfg.slice_res)
    return {"axis": axis, "epochs_correct": res["epochs_correct"].reshape(shape),
            "n_diverged": int(res.n_diverged)}


def analyse_failures(model, outcomes: dict, failed: np.ndarray, max_points: int) -> dict[str, Any]:
    """Hessian analysis (float32) of up to ``max_points`` failed end points: labels from
    :func:`xgnn_jax.analysis.critical.classify` (with the run's loss drop over its last tenth), saturated hidden
    units, final losses. The batch is padded to ``max_points`` (one compile per network whatever the count)."""
    idx = np.flatnonzero(failed)[:max_points]
    if idx.size == 0:
        return {"n": 0, "labels": {}, "saturated": np.zeros(0, int), "loss": np.zeros(0), "codes": np.zeros(0, int)}
    pad = np.resize(idx, max_points)

    params = jax.tree.map(lambda p: np.asarray(p)[pad], outcomes["params"])
    J = _objective(model)
    a = critical.analyse_batch(J, params, DATA.x, DATA.y, eig_tol=1e-5, model=model)
    codes = np.asarray(critical.classify(a, np.zeros(max_points, bool), loss_drop=outcomes["loss_drop"][pad]))
    n = idx.size
    return {"n": int(n), "labels": critical.label_counts(codes[:n]), "codes": codes[:n],
            "saturated": np.asarray(a.saturated)[:n], "loss": np.asarray(a.loss)[:n],
            "grad_norm": np.asarray(a.grad_norm)[:n]}


_OBJECTIVES: dict = {}


def _objective(model):
    """One objective per model (``analyse`` is compiled per objective identity)."""
    if model not in _OBJECTIVES:
        _OBJECTIVES[model] = objective(model, "half_sse", "sum")
    return _OBJECTIVES[model]


DLAI_INITS = {"zeros": ("zeros", 1.0), "large": ("normal(1)", 10.0), "he": ("he_normal", 1.0)}  # spec, scale


def init_exercise(cfg: Any, progress: bool = False, out_dir=None) -> dict[str, dict[str, np.ndarray]]:
    """The deeplearning.ai "Initialization" exercise: a ``[2, 10, 5, 1]`` ReLU net with a sigmoid output on 300
    noisy circles (noise 0.05, inner radius 0.8 as sklearn's ``make_circles``; our draw, not theirs), mean
    binary cross-entropy, ``cfg.init_epochs`` full-batch gradient steps at lr 0.01; biases zero; weights zero,
    ``N(0, 1) x 10`` or He normal. One program for every start: the starts are rows of a map (``params0``).
    Returns per init: ``first_loss`` (after the first step), ``final_loss``, ``final_accuracy`` over the seeds."""
    data = datasets.circles(jax.random.key(cfg.seed), n=300, noise=0.05, factor=0.8)
    tcfg = train.TrainConfig(epochs=cfg.init_epochs, loss="sigmoid_binary_cross_entropy", reduction="mean",
                             optimizer="sgd", record_grad_norm=False)
    base = MLP((2, 10, 5, 1), hidden="relu", output="sigmoid", bias_init="zeros")
    run = train.make_run(base, train.Data(data.x, data.y), tcfg)
    starts = []
    for spec, scale in DLAI_INITS.values():
        m = MLP(base.sizes, hidden="relu", output="sigmoid", weight_init=spec, bias_init="zeros")
        starts += [m.init(jax.random.fold_in(jax.random.key(cfg.seed), s), scale) for s in range(cfg.init_seeds)]
    stacked = jax.tree.map(lambda *a: np.stack(a), *starts)

    def one(key, row, hp):
        r = run(key, hp, row)
        return {"first_loss": r.history["loss"][0], "final_loss": r.final_loss,
                "final_accuracy": r.final_accuracy, "diverged": r.diverged}

    res = restarts.map_over(one, stacked, seed=cfg.seed, hparams={"lr": 0.01}, progress=progress,
                            **sweep_dir(cfg, out_dir, "init_exercise"))
    k = cfg.init_seeds
    return {name: {f: np.asarray(res[f]).reshape(-1)[i * k:(i + 1) * k] for f in ("first_loss", "final_loss",
                                                                                   "final_accuracy")}
            for i, name in enumerate(DLAI_INITS)}


LI_HANG_X = np.array([[3.0, 3.0], [4.0, 3.0], [1.0, 1.0]], np.float32)
LI_HANG_Y = np.array([1.0, 1.0, -1.0], np.float32)


def li_hang() -> dict[str, np.ndarray]:
    """Li Hang's examples 2.1 and 2.2: the perceptron, primal and dual, on ``x = (3,3), (4,3), (1,1)``, ``y = +1,
    +1, -1``, eta 1, from zero, with the book's rule ``"first"`` (always the first misclassified point in data
    order); the Gram matrix is the one the dual run worked with (its result's ``gram``)."""
    from xgnn_jax.analysis import perceptron as pc

    p = pc.perceptron(LI_HANG_X, LI_HANG_Y, eta=1.0, choice="first", max_epochs=20)
    d = pc.perceptron_dual(LI_HANG_X, LI_HANG_Y, eta=1.0, choice="first", max_epochs=20)
    n = int(p.num_updates)
    return {"chosen": np.asarray(p.chosen)[:n], "w": np.asarray(p.w), "b": float(p.b),
            "alpha": np.asarray(d.alpha), "dual_b": float(d.b), "dual_chosen": np.asarray(d.chosen)[: int(d.num_updates)],
            "gram": np.asarray(d.gram, np.float64)}


NOVIKOFF_N, NOVIKOFF_D, NOVIKOFF_MARGINS = 40, 2, (0.05, 0.1, 0.2)


def novikoff(cfg: Any, progress: bool = False, out_dir=None) -> dict[str, np.ndarray]:
    """Novikoff's bound against perceptron runs: ``cfg.novikoff_sets`` separable data sets per margin level
    (``datasets.linearly_separable_sets``, ``n = 40``, ``d = 2``), a run from zero on each (rule ``"first"``, eta 1)
    through the restart engine, and each set's best bound ``(R / gamma*)^2`` (``perceptron.novikoff_bound_best``,
    float64). Returns ``updates``, ``converged``, ``bound``, ``R``, ``gamma`` (one entry per set)."""
    from xgnn_jax.analysis import perceptron as pc

    key = jax.random.fold_in(jax.random.key(cfg.seed), 19)
    sets = datasets.linearly_separable_sets(key, cfg.novikoff_sets, NOVIKOFF_N, NOVIKOFF_D, NOVIKOFF_MARGINS,
                                            signed=True)
    x, y = np.asarray(sets.x), np.asarray(sets.y[..., 0])
    best = [pc.novikoff_bound_best(a, b) for a, b in zip(x, y, strict=True)]
    bound = np.array([b.bound for b in best])
    # A cap above every bound: a run stopped by it would contradict the theorem, not end undecided.
    cap = int(np.ceil(bound.max() / NOVIKOFF_N)) + 2

    def one(key, row, hp):
        r = pc.perceptron(row["x"], row["y"], choice="first", max_epochs=cap, detect_cycles=False)
        return {"updates": r.num_updates, "converged": r.converged}

    res = restarts.map_over(one, {"x": x, "y": y}, seed=cfg.seed, progress=progress,
                            **sweep_dir(cfg, out_dir, "novikoff"))
    got = {k: np.asarray(v)[:, 0] for k, v in res.outcomes.items()}
    return {"updates": got["updates"], "converged": got["converged"],
            "bound": bound, "R": np.array([b.R for b in best]), "gamma": np.array([b.gamma for b in best])}
