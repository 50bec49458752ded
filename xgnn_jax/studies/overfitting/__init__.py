"""Overfitting and its two remedies from the chapter: early stopping and regularisation (C16).

What is measured, on a small noisy regression problem where an over-sized network overfits:

* Data per restart (each restart draws its own data and initial parameters from its sweep key): ``y = sin(x) +
  noise * eps`` on ``x ~ U(-pi, pi)``, ``n_train`` training points, ``n_val`` validation points and ``n_test`` test
  points from the same distribution. Network ``1-h-1`` with tanh hidden units and a linear output, ``h`` much
  larger than needed, trained on the book's ``E = (1/m) sum_k E_k`` (half squared error) with full-batch updates
  (Adam by default, so the over-fit appears within a few thousand epochs; ``optimizer="sgd"`` for the book's plain
  steps).
* No remedy: the parameters after the whole budget of epochs.
* Early stopping (the book's rule, C16): the run stops once the validation error has not improved for ``patience``
  epochs and returns the parameters with the smallest validation error (``train.TrainConfig(early_stopping=True)``).
* Regularisation: L2 ``E + (wd / 2) sum w^2`` over a grid of ``wd``, and the book's ``E = lam (1/m) sum E_k +
  (1 - lam) sum w^2`` over a grid of ``lam``; for each restart the strength with the smallest final validation
  error is chosen (the test set is not used for any choice).

Each remedy is one restart sweep (:func:`xgnn_jax.engine.restarts.sweep`, grid = its strengths): restart ``i`` uses
the same data and initial parameters at every strength and in every sweep, so the comparisons are paired.

Reported: train / validation curves with their spread over restarts; the test error (half squared error on the test
points; the noise floor is ``noise^2 / 2``) of each remedy, and how often each remedy beats no remedy on the same
restart (paired, with a sign test, :func:`xgnn_jax.stats.paired_sign_test`). The verdict holds when the network
overfits without a remedy (validation error rises from its minimum while the training error keeps falling) and both
remedies lower the median test error and beat no remedy on significantly more restarts than chance (p < 0.05). It
holds *under conditions* when measured facts limit it: some tested strengths (``wd`` or ``lam``) raise the test
error or make no clear difference (so the strength must be chosen; the book's ``lam`` has to be close to 1), or the
validation set chose an end of a grid. The grids span several decades (``lam`` down to 0.5) so that the chosen
strength is interior.

Quick setting: about 20-30 s on 2 CPU cores (three compiled programs); full: a minute or two.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import ClassVar

import jax
import numpy as np

from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts, train
from xgnn_jax.studies.overfitting import figures
from xgnn_jax.studies.overfitting import verdicts as verdicts_lib
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    restarts: int = 16  # each restart: its own data draw and initial parameters
    n_train: int = 20  # training points per restart
    n_val: int = 20  # validation points (early stopping, choice of the penalty strength)
    n_test: int = 500  # test points (only reported, never used for a choice)
    noise: float = 0.3  # standard deviation of the target noise
    hidden: int = 100  # hidden tanh units (over-sized on purpose)
    epochs: int = 2000  # full-batch epochs
    optimizer: str = "adam"  # train.OPTIMIZERS; "sgd" is the book's plain step
    lr: float = 0.01  # learning rate
    patience: int = 200  # early stopping: epochs without a better validation error
    weight_decays: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # L2 strengths wd (E + wd/2 sum w^2)
    lams: tuple[float, ...] = (0.99999, 0.9999, 0.999, 0.99, 0.9, 0.5)  # the book's lambda (lam E + (1-lam) sum w^2)

    ESTIMATED_SECONDS = {"quick": 12, "full": 54}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "seed": (0, 2**32 - 1), "restarts": (2, None), "n_train": (1, None), "n_val": (1, None),
        "n_test": (1, None), "noise": (0, None), "hidden": (1, None), "epochs": (1, None), "lr": (1e-12, None),
        "patience": (1, None), "weight_decays": (1e-12, None), "lams": (1e-12, 1)}

    @classmethod
    def full(cls) -> Config:
        return cls(restarts=128, epochs=5000,
                   weight_decays=(1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1, 1.0),
                   lams=(0.99999, 0.9999, 0.9997, 0.999, 0.997, 0.99, 0.9, 0.5))


def _draw(key, cfg: Config):
    """Train, validation and test sets of one restart."""
    k_tr, k_val, k_te = jax.random.split(key, 3)
    draw = lambda k, n: datasets.regression_1d(k, n=n, function="sin", noise=cfg.noise)  # noqa: E731
    return draw(k_tr, cfg.n_train), draw(k_val, cfg.n_val), draw(k_te, cfg.n_test)


def _remedy_run(model: MLP, cfg: Config, tcfg: train.TrainConfig, hp_name: str | None):
    """``run(key, {"strength": s}) -> outcomes`` of one restart: its own data (from the key's first half) and
    initial parameters (second half), trained with the penalty ``hp_name = s`` (None: no penalty hparam)."""
    J = objective(model, "half_sse", "mean")

    def run_one(key, hp):
        k_data, k_run = jax.random.split(key)
        (xtr, ytr), (xv, yv), (xt, yt) = _draw(k_data, cfg)
        fit = train.make_run(model, train.Data(xtr, ytr, xv, yv), tcfg)
        r = fit(k_run, {"lr": cfg.lr, **({hp_name: hp["strength"]} if hp_name else {})})
        return {"train": r.history["loss"], "val": r.history["val_loss"],
                "test_final": J(r.params, xt, yt), "test_best": J(r.best_params, xt, yt),
                "best_epoch": r.best_epoch, "stop_epoch": r.stop_epoch, "diverged": r.diverged}

    return run_one


def _sweeps(cfg: Config, out_dir, progress: bool) -> tuple[dict, dict]:
    """The three remedy sweeps: outcomes ``{name: {key: (strengths, restarts, ...)}}`` and per-restart tables."""
    model = MLP((1, cfg.hidden, 1), hidden="tanh", output="identity", weight_init="fan_in_uniform",
                bias_init="fan_in_uniform")
    base = train.TrainConfig(epochs=cfg.epochs, mode="full_batch", loss="half_sse", reduction="mean",
                             optimizer=cfg.optimizer, record_grad_norm=False)
    variants = {
        # wd = 0 is the no-remedy run; its best_params are the validation-selected epoch over the whole budget.
        "l2": (dataclasses.replace(base, regularization="l2"), "weight_decay", (0.0, *cfg.weight_decays)),
        "book": (dataclasses.replace(base, regularization="book"), "lam", tuple(cfg.lams)),
        "early_stopping": (dataclasses.replace(base, early_stopping=True, patience=cfg.patience), None, (0.0,)),
    }
    out, tables = {}, {}
    for name, (tcfg, hp_name, grid) in variants.items():
        sub = None if out_dir is None else Path(out_dir) / "sweeps" / name
        sw = restarts.sweep(_remedy_run(model, cfg, tcfg, hp_name), cfg.seed, cfg.restarts,
                            {"strength": np.asarray(grid, np.float32)}, out_dir=sub, progress=progress,
                            config={"study": dataclasses.asdict(cfg), "remedy": name})
        out[name] = {k: np.asarray(v) for k, v in sw.outcomes.items()}
        tables[name] = sw.table()
    return out, tables


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t_start = time.perf_counter()
    cfg = config
    if cfg.restarts <= 0 or not cfg.weight_decays or not cfg.lams:
        raise ValueError("restarts, weight_decays, lams: expected a positive count and non-empty grids")
    if not all(0 < lam <= 1 for lam in cfg.lams):
        raise ValueError(f"lams: the book's lambda lies in (0, 1], got {cfg.lams!r}")
    out, tables = _sweeps(cfg, out_dir, progress)
    none = {k: v[0] for k, v in out["l2"].items()}
    l2 = {k: v[1:] for k, v in out["l2"].items()}
    book, es = out["book"], {k: v[0] for k, v in out["early_stopping"].items()}
    idx = np.arange(cfg.restarts)
    # Strength chosen per restart by the final validation error (never by the test set).
    l2_pick = np.argmin(l2["val"][:, :, -1], axis=0)
    book_pick = np.argmin(book["val"][:, :, -1], axis=0)
    test = {"no remedy": none["test_final"], "early stopping": es["test_best"],
            "L2 (wd chosen on validation)": l2["test_final"][l2_pick, idx],
            "book's lambda form (chosen on validation)": book["test_final"][book_pick, idx],
            "best validation epoch, full budget": none["test_best"]}
    m = verdicts_lib.measure(cfg, none, l2, book, es, test, l2_pick, book_pick)
    figs = []
    if out_dir is not None:
        figs.append(figures.curves(out_dir, none, es, l2, book, l2_pick, book_pick, cfg, m["floor"]))
        figs.append(figures.test_errors(out_dir, test, m["floor"]))
    summary = verdicts_lib.summary(cfg, m, es, l2, book, l2_pick, book_pick)
    summary["verdicts"] = [verdicts_lib.c16(cfg, m, es, l2, book, figs)]
    arrays = {"none_train": none["train"], "none_val": none["val"], "es_train": es["train"], "es_val": es["val"],
              "es_stop_epoch": es["stop_epoch"], "es_best_epoch": es["best_epoch"],
              "l2_train": l2["train"], "l2_val": l2["val"], "book_train": book["train"], "book_val": book["val"],
              "weight_decays": np.asarray(cfg.weight_decays), "lams": np.asarray(cfg.lams),
              **{f"test_{short}": test[k] for short, k in zip(("none", "early_stopping", "l2", "book", "best_val_epoch"),
                                                              test, strict=True)}}
    arrays = {k: (v.astype(np.float32) if v.ndim >= 2 else v) for k, v in arrays.items()}
    table = {"remedy": np.concatenate([np.full(t["point"].size, n) for n, t in tables.items()]),
             **{k: np.concatenate([t[k] for t in tables.values()]) for k in tables["l2"]}}
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=time.perf_counter() - t_start,
                          seed=cfg.seed, tables={"restarts": table})


STUDY = Study(
    name="overfitting",
    title="Overfitting: early stopping and regularisation",
    claims=("C16",),
    config=Config,
    run=run,
    order=35,
)
