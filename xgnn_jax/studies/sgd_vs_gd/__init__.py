"""Standard BP against accumulated BP (the book's exercise 5.5 and claim C11): SGD versus full-batch descent.

What is measured:

* Watermelon 3.0 (one-hot, 19 inputs, 17 melons), a single-hidden-layer sigmoid network ``19-q-1``, the book's
  ``E_k = 1/2 sum_j (y_hat_j - y_j)^2`` and accumulated error ``E = (1/m) sum_k E_k`` (eq. 5.16). Every restart
  key gives the same initial parameters to both algorithms (paired comparison); all restarts and step sizes of one
  algorithm run as one :func:`xgnn_jax.engine.restarts.map_over` over the restart keys.

  - standard BP (``mode="sgd"``, a fresh random order every epoch): ``m = 17`` updates per epoch with step
    ``eta``;
  - accumulated BP (``mode="full_batch"``) under both gradient conventions: the *mean* ``grad E`` with step
    ``eta`` and the *sum* ``grad (sum_k E_k) = m grad E`` with step ``eta``, run as the mean with step ``m eta``
    (identical trajectories, tested in ``tests/test_train.py``).

  Reported per algorithm and ``eta``: epochs, updates and per-example gradient evaluations until ``E`` first drops
  below ``threshold`` (median and quartiles over restarts; restarts that never get there count as infinite, and
  their number is given), the curves of ``E`` with their spread, the final training accuracy, and the cost per
  epoch (wall time of the sweep per restart-epoch, compilation included). Each algorithm is compared at its best step (the
  grids are wide enough that the best is interior; the summary says when it is not), paired over restarts with a
  sign test. How much the per-example updates cancel is measured by the per-example gradients of standard BP at the
  start, in mid-training (a run stopped after half the median epochs to the threshold) and at the end:
  ``||sum_k g_k|| / sum_k ||g_k||`` (1: all aligned, 0: they cancel exactly) and the share of example pairs whose
  gradients point against each other (negative cosine). Only start and mid-training decide: at the end ``E`` is
  near a minimum, where ``sum_k g_k = m grad E`` is ~0 by definition.

* A larger data set (two moons, ``large_n`` points, a ``2-h-1`` sigmoid network): the same two algorithms, each with
  a grid of step sizes, until ``E`` drops below ``large_target``. Cost to get there for each algorithm at its best
  step size: per-example gradient evaluations (deterministic; this decides "faster"), and, reported only, wall
  time = epochs x the measured time of one epoch of a single (non-vmapped) jit-compiled run on the named hardware.

Layout: :mod:`.watermelon` (part 1), :mod:`.large` (part 2), :mod:`.verdicts`, :mod:`.figures`; the keyed runs
in :mod:`.runs`; time-to-threshold, quartiles and gradient conflict in :mod:`xgnn_jax.analysis.convergence`.

Quick setting: about 30 s on 2 CPU cores (mostly compilation); full: a few minutes.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import ClassVar

import jax

from xgnn_jax.studies.sgd_vs_gd import figures, large, verdicts, watermelon
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    restarts: int = 32  # watermelon restarts (paired across algorithms)
    hidden: int = 10  # q, hidden units of the 19-q-1 network
    etas: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)  # step sizes; accumulated BP runs at eta (mean) and m eta (sum)
    standard_epochs: int = 400  # epochs of standard BP (17 updates each)
    accumulated_epochs: int = 2000  # epochs of accumulated BP (1 update each)
    threshold: float = 0.02  # accumulated error E below which a run counts as trained
    weight_init: str = "fan_in_uniform"  # initialiser of the weights (xgnn_jax.core.initializers)
    bias_init: str = "fan_in_uniform"  # initialiser of the biases (thresholds)
    large_n: int = 2000  # size of the larger data set (two moons)
    large_noise: float = 0.2  # noise of the two moons
    large_hidden: int = 16  # hidden units of the 2-h-1 network on the larger set
    large_restarts: int = 8  # restarts on the larger set (paired across algorithms)
    large_sgd_etas: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)  # standard-BP step sizes on the larger set
    large_gd_etas: tuple[float, ...] = (10.0, 30.0, 100.0)  # accumulated-BP (mean gradient) steps, larger set
    large_sgd_epochs: int = 12  # standard-BP epochs on the larger set
    large_gd_epochs: int = 800  # accumulated-BP epochs on the larger set
    large_target: float = 0.02  # the "low error" E on the larger set
    timing_epochs_sgd: int = 3  # epochs per timed single run (standard BP)
    timing_epochs_gd: int = 100  # epochs per timed single run (accumulated BP)

    ESTIMATED_SECONDS: ClassVar[dict[str, int]] = {"quick": 23, "full": 179}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "threshold": (1e-12, None), "large_target": (1e-12, None), "large_noise": (0, None),
        "large_n": (4, None), "timing_epochs_sgd": (1, None), "timing_epochs_gd": (1, None)}

    @classmethod
    def full(cls) -> Config:
        return cls(restarts=256, etas=(0.3, 1.0, 3.0, 10.0, 30.0, 100.0), standard_epochs=2000,
                   accumulated_epochs=5000, large_n=10000, large_restarts=16,
                   large_sgd_etas=(0.3, 1.0, 3.0, 10.0, 30.0), large_gd_etas=(3.0, 10.0, 30.0, 100.0),
                   large_sgd_epochs=30, large_gd_epochs=5000)


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t_start = time.perf_counter()
    cfg = config
    if cfg.restarts <= 0 or cfg.large_restarts <= 0 or not cfg.etas:
        raise ValueError("restarts, large_restarts: expected positive counts and at least one eta")
    k_wm, k_large_data, k_large = jax.random.split(jax.random.key(cfg.seed), 3)
    sweeps = None if out_dir is None else Path(out_dir) / "sweeps"  # chunks of every sweep: a rerun resumes
    w = watermelon.measure(cfg, k_wm, progress, sweeps)
    lg = large.measure(cfg, k_large_data, k_large, progress, sweeps)
    wm_summary, arrays = watermelon.summary(cfg, w)
    lg_summary, lg_arrays = large.summary(cfg, lg)
    arrays.update(lg_arrays)
    p = verdicts.parts(cfg, w, lg)
    figs = []
    if out_dir is not None:
        figs = [figures.watermelon(out_dir, w["curves"], w["etas"], watermelon.LABELS, w["upe"], cfg.threshold,
                                   w["m"], w["best"]["plot"]),
                figures.large(out_dir, lg["large"], lg["sec"], cfg)]
    summary = {"watermelon": wm_summary, "large": lg_summary,
               "parts": {"more_updates": p["more_updates"], "fewer_epochs": p["fewer_epochs"],
                         "more_epochs": p["more_epochs"], "updates_cancel": p["cancel"],
                         "large_fewer_gradient_evaluations": p["fewer_grads"],
                         "large_faster_wall_time_reported_only": p["faster_time"],
                         "equal_eta_mean_convention_standard_fewer_updates": p["mean_slower"],
                         "best_interior": {"watermelon_standard": w["best"]["std_interior"],
                                           "watermelon_accumulated": w["best"]["acc_interior"],
                                           "large_standard": lg["rows"]["standard"]["best_eta_interior"],
                                           "large_accumulated": lg["rows"]["accumulated"]["best_eta_interior"]}},
               "verdicts": [verdicts.c11(cfg, w, lg, p, wm_summary["network"], figs)]}
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, tables={**w["tables"], **lg["tables"]},
                          wall_time_s=time.perf_counter() - t_start, seed=cfg.seed)


STUDY = Study(
    name="sgd_vs_gd",
    title="Standard BP vs accumulated BP (exercise 5.5): SGD versus full-batch gradient descent",
    claims=("C11",),
    config=Config,
    run=run,
    order=30,
)
