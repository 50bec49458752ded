"""Comparing ways out of a bad end point on equal compute: attempts through the sweep, costs, paired comparisons.

The strategies themselves are in :mod:`xgnn_jax.analysis.escape` (pure functions of a key and a start
``theta0: (P,)``, returning an :class:`~xgnn_jax.analysis.escape.Outcome` with ``solved`` and ``evals``, the
full-batch evaluations used until the first success). This module runs many attempts of them through the one
restart engine and compares them:

* :func:`run_attempts`: batches of attempts ``(keys (A,), starts (A, P) or None, hparams {name: (A,)})`` of one
  strategy function, run as one :func:`xgnn_jax.engine.restarts.map_over` (one compile for every batch of the
  strategy: chunked, resumable with ``out_dir``, non-finite end losses counted). The keys are given per attempt,
  so an attempt's random numbers do not depend on the batches it is run with.
* :func:`cost_per_success`: ``mean(evals) / mean(solved)``, the expected compute until the first success when
  attempts are repeated independently; :func:`bootstrap_cost_per_success`: its bootstrap replicates, resampling
  attempts or whole groups of attempts that share a start (a cluster bootstrap, which scipy lacks).
* :func:`summarise`: one strategy's row (success rate with a Wilson 95% interval over the *distinct* starts,
  cost per success with a percentile bootstrap 95% interval).
* :func:`compare`: every strategy against a reference (restarting GD): the 95% interval of the ratio of costs per
  success (paired bootstrap: the same resamples where the starts are shared) and, on shared starts, McNemar's exact
  test of success (:func:`xgnn_jax.stats.mcnemar_exact`). An interval containing 1 is a tie, never a win.
* :func:`best_of_k`: the chance that the lowest-loss of k independent runs succeeds, against ``1 - (1 - p)^k``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax import stats
from xgnn_jax.engine import restarts

Array = jax.Array


class Batch(NamedTuple):
    """``A`` attempts of one strategy: typed PRNG ``keys: (A,)``, ``starts: (A, P)`` (None for a strategy that
    draws its own, e.g. a genetic algorithm) and per-attempt ``hparams: {name: (A,)}``."""

    keys: Array
    starts: Any = None
    hparams: Mapping[str, Any] | None = None


class Attempts(NamedTuple):
    """Outcomes of one batch: ``solved: (A,)`` bool, ``evals: (A,)`` full-batch evaluations, ``loss: (A,)``."""

    solved: np.ndarray
    evals: np.ndarray
    loss: np.ndarray


def _outcome(out) -> dict[str, Array]:
    return {"solved": out.solved, "evals": out.evals, "loss": out.loss, "diverged": ~jnp.isfinite(out.loss)}


def run_attempts(fn: Callable, batches: Sequence[Batch], **sweep_kwargs: Any) -> tuple[list[Attempts], float]:
    """Run ``fn(key, theta0, hparams) -> Outcome`` for every attempt of every batch, as one
    :func:`~xgnn_jax.engine.restarts.map_over` (``theta0`` is None when the batches have no starts). Returns the
    outcomes per batch and the wall time of the whole call in seconds (compilation included).

    Every batch must have the same hparam names and either all have starts of one width or none."""
    if not batches:
        raise ValueError("batches: expected at least one batch of attempts")
    with_starts = {b.starts is not None for b in batches}
    names = {tuple(sorted(b.hparams or {})) for b in batches}
    if len(with_starts) != 1 or len(names) != 1:
        raise ValueError("batches: expected batches that all have starts (or none) and the same hparam names")
    sizes = [int(np.shape(b.keys)[0]) for b in batches]
    inputs = {"key": np.concatenate([np.asarray(jax.random.key_data(b.keys)) for b in batches])}
    if with_starts.pop():
        inputs["theta"] = np.concatenate([np.asarray(b.starts) for b in batches])
    hp = {k: np.concatenate([np.broadcast_to(np.asarray(b.hparams[k]), (n,)) for b, n in zip(batches, sizes,
                                                                                                strict=True)])
          for k in names.pop()}

    def one(_key, row, hparams):
        # the attempt's own key, not the sweep's: an attempt draws the same numbers in any batch
        return fn(jax.random.wrap_key_data(row["key"]), row.get("theta"), hparams)

    sweep_kwargs.setdefault("progress", False)
    res = restarts.map_over(one, inputs, hparams=hp, outcome=_outcome, **sweep_kwargs)
    out, start = [], 0
    for n in sizes:
        part = {k: np.asarray(res[k])[start:start + n, 0] for k in ("solved", "evals", "loss")}
        out.append(Attempts(part["solved"].astype(bool), part["evals"].astype(np.float64), part["loss"]))
        start += n
    return out, float(res.wall_time_s)


def cost_per_success(evals: Any, solved: Any) -> float:
    """``mean(evals) / mean(solved)``: expected compute until the first success when attempts are repeated
    independently (``inf`` when nothing succeeded)."""
    evals, solved = np.asarray(evals, dtype=np.float64), np.asarray(solved, dtype=bool)
    p = solved.mean() if solved.size else 0.0
    return float(evals.mean() / p) if p > 0 else math.inf


def bootstrap_cost_per_success(evals: Any, solved: Any, *, n_boot: int = 2000, seed: int = 0,
                               groups: Any = None) -> np.ndarray:
    """Bootstrap replicates ``(n_boot,)`` of :func:`cost_per_success` (``inf`` where a replicate has no success).

    Resamples the attempts with replacement, or, with ``groups: (A,)`` (e.g. the start point of each attempt, when
    several attempts share a start), whole groups (a cluster bootstrap: attempts from one start are not
    independent). The resampling depends only on ``seed`` and the number of attempts / groups, so two strategies
    bootstrapped with the same seed on the same paired starts get the same resamples: the ratio of their
    replicates is a paired bootstrap of the ratio of their costs.
    """
    evals, solved = np.asarray(evals, dtype=np.float64).ravel(), np.asarray(solved, dtype=bool).ravel()
    if evals.shape != solved.shape or evals.size == 0:
        raise ValueError(f"evals, solved: expected two non-empty arrays of one shape, got {evals.shape}, "
                         f"{solved.shape}")
    if n_boot < 1:
        raise ValueError(f"n_boot: expected a positive number of replicates, got {n_boot!r}")
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, evals.size, (n_boot, evals.size))
        e_sum, s_sum = evals[idx].sum(1), solved[idx].sum(1)
    else:
        g = np.asarray(groups).ravel()
        if g.shape != evals.shape:
            raise ValueError(f"groups: expected one group label per attempt {evals.shape}, got {g.shape}")
        _, gi = np.unique(g, return_inverse=True)
        ng = int(gi.max()) + 1
        ge, gs = np.bincount(gi, evals, ng), np.bincount(gi, solved.astype(np.float64), ng)
        idx = rng.integers(0, ng, (n_boot, ng))
        e_sum, s_sum = ge[idx].sum(1), gs[idx].sum(1)
    # cost = mean(evals) / mean(solved) = sum(evals) / sum(solved) on each replicate
    return np.where(s_sum > 0, e_sum / np.maximum(s_sum, 1), np.inf)


def summarise(strategy: str, start: str, att: Attempts, start_ids: Any, *, n_boot: int, boot_seed: int,
              cluster: bool = False, paired: bool = True,
              wall_s: float = float("nan")) -> tuple[dict[str, Any], np.ndarray]:
    """One strategy's row and its bootstrap replicates of the cost per success.

    ``start_ids: (A,)`` names each attempt's start; when attempts share starts (fewer distinct ids than attempts)
    the success interval counts distinct starts only (Wilson 95% on ``rate * distinct``, rounded to a count);
    ``cluster=True`` bootstraps whole starts (use it for attempts that share starts). ``paired``: the attempts' starts are shared with the reference (for :func:`compare`)."""
    s, e = att.solved, att.evals
    ids = np.asarray(start_ids)
    distinct = len(np.unique(ids))
    lo, hi = stats.wilson_interval(round(s.mean() * distinct), distinct)
    boot = bootstrap_cost_per_success(e, s, n_boot=n_boot, seed=boot_seed, groups=ids if cluster else None)
    c_lo, c_hi = np.quantile(boot, [0.025, 0.975], method="inverted_cdf")
    row = {"strategy": strategy, "start": start, "attempts": int(s.size), "distinct_starts": distinct,
           "paired_starts": paired, "success": float(s.mean()), "lo": float(lo), "hi": float(hi),
           "evals_mean": float(e.mean()), "cost_per_success": cost_per_success(e, s),
           "cost_lo": float(c_lo), "cost_hi": float(c_hi), "wall_s_per_attempt": wall_s}
    return row, boot


def compare(rows: Sequence[Mapping[str, Any]], boots: Sequence[np.ndarray], solved: Sequence[np.ndarray],
            reference: int, paired_start: str = "scratch") -> list[dict[str, Any]]:
    """Every row against ``rows[reference]``: cost ratio with its bootstrap 95% interval (replicate by replicate;
    paired when both used the same bootstrap seed on shared starts) and, for rows from ``paired_start`` with
    ``paired_starts``, McNemar's exact test of success. ``separated``: ``"restart cheaper"`` (interval above 1),
    ``"other cheaper"`` (below 1) or ``"tie"``."""
    ref = rows[reference]
    out = []
    for i, r in enumerate(rows):
        if i == reference:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = boots[i] / boots[reference]
        ratio = np.where(np.isnan(ratio), np.inf, ratio)        # neither succeeded in a replicate: no evidence
        r_lo, r_hi = np.quantile(ratio, [0.025, 0.975], method="inverted_cdf")
        paired = r["start"] == paired_start and r["paired_starts"]
        mc = stats.mcnemar_exact(solved[reference], solved[i]) if paired else None
        with np.errstate(invalid="ignore"):
            point = r["cost_per_success"] / ref["cost_per_success"]
        out.append({"strategy": r["strategy"], "start": r["start"], "paired": paired, "cost_ratio": point,
                    "cost_ratio_lo": float(r_lo), "cost_ratio_hi": float(r_hi),
                    "mcnemar_p": mc["p"] if mc else None,
                    "restart_only": mc["a_only"] if mc else None, "other_only": mc["b_only"] if mc else None,
                    "separated": "restart cheaper" if r_lo > 1 else "other cheaper" if r_hi < 1 else "tie"})
    return out


def best_of_k(solved: Any, losses: Any, ks: Any) -> dict[str, np.ndarray]:
    """Best of k restarts, measured on ``R // k`` disjoint groups of consecutive finished restarts.

    Returns, per ``k``: ``measured`` (fraction of groups whose lowest-loss member succeeded), ``any`` (fraction of
    groups with at least one success), ``groups`` (number of groups), Wilson 95% bounds ``lo, hi`` of ``measured``
    (:func:`xgnn_jax.stats.wilson_interval`), and ``predicted = 1 - (1 - p)^k`` with ``p`` the single-run success
    rate. Non-finite losses count as failures.
    """
    solved = np.asarray(solved, dtype=bool).ravel()
    losses = np.where(np.isfinite(np.asarray(losses, dtype=np.float64).ravel()), np.asarray(losses).ravel(), np.inf)
    if solved.shape != losses.shape:
        raise ValueError(f"losses: expected the shape of solved {solved.shape}, got {losses.shape}")
    ks = np.asarray(ks, dtype=np.int64).ravel()
    if np.any(ks < 1) or np.any(ks > solved.size):
        raise ValueError(f"ks: expected values between 1 and the number of restarts {solved.size}, got {ks}")
    p = solved.mean()
    out = {k: [] for k in ("k", "measured", "any", "groups", "lo", "hi", "predicted")}
    for k in ks:
        g = solved.size // k
        s = solved[: g * k].reshape(g, k)
        best = np.argmin(losses[: g * k].reshape(g, k), axis=1)
        hit = s[np.arange(g), best]
        lo, hi = stats.wilson_interval(int(hit.sum()), g)
        for name, v in (("k", k), ("measured", hit.mean()), ("any", s.any(axis=1).mean()), ("groups", g),
                        ("lo", lo), ("hi", hi), ("predicted", 1 - (1 - p) ** k)):
            out[name].append(v)
    return {k: np.asarray(v) for k, v in out.items()}
