"""Float64 critical-point analysis of sampled end points (non-converged, and a few converged), refinement by
further plain GD through the restart engine, and the per-network summary (labels, tolerance check)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import critical, escape
from xgnn_jax.core.mlp import objective
from xgnn_jax.engine import restarts
from xgnn_jax.studies.minima.sweeps import levels

OPTIMIZERS = ("gd", "momentum", "sgd", "adam")


def _sample(cfg, outs: dict, rng: np.random.Generator):
    """Up to ``max_hessians`` non-converged end points and ``max_hessians // 8`` converged ones, over every
    optimizer: ``(pools, chosen (pool, index) pairs, number of non-converged taken, non-converged total)``."""
    pools = []
    for opt in OPTIMIZERS:
        if opt in outs:
            o = outs[opt]
            flat_ok = (o["converged"] & ~o["diverged"]).reshape(-1)
            idx = np.arange(flat_ok.size)
            pools.append((opt, o, idx[~flat_ok], idx[flat_ok]))
    n_bad = sum(len(p[2]) for p in pools)
    n_good = sum(len(p[3]) for p in pools)
    take_bad = min(cfg.max_hessians, n_bad)
    take_good = min(max(cfg.max_hessians // 8, 1), n_good)
    bad_all = [(k, j) for k, p in enumerate(pools) for j in p[2]]
    good_all = [(k, j) for k, p in enumerate(pools) for j in p[3]]
    chosen = ([bad_all[i] for i in rng.choice(len(bad_all), take_bad, replace=False)] if take_bad else []) + \
             ([good_all[i] for i in rng.choice(len(good_all), take_good, replace=False)] if take_good else [])
    return pools, chosen, take_bad, n_bad


def _classify(cfg, an, solved, drop, grad_tol, step_tol):
    return np.asarray(critical.classify(an, jnp.asarray(solved), loss_tol=cfg.loss_tol, grad_tol=grad_tol,
                                        step_tol=step_tol, loss_drop=jnp.asarray(drop), drop_tol=cfg.drop_tol))


def analyse_network(cfg, model, data, outs: dict, rng: np.random.Generator, refine: bool, T: int) -> dict[str, Any]:
    """Critical-point analysis (float64) of sampled non-converged and converged end points of every optimizer."""
    pools, chosen, take_bad, n_bad = _sample(cfg, outs, rng)
    if not chosen:
        return {"n": 0}

    def gather(name):
        return np.stack([pools[k][1][name].reshape((-1,) + pools[k][1][name].shape[3:])[j] for k, j in chosen])

    params = jax.tree.map(lambda *leaves: np.stack(leaves),
                          *[jax.tree.map(lambda a, j=j: a.reshape((-1,) + a.shape[3:])[j], pools[k][1]["params"])
                            for k, j in chosen])
    solved, drop = gather("solved"), gather("drop")
    is_bad = np.arange(len(chosen)) < take_bad
    with jax.enable_x64(True):
        J = objective(model, "half_sse", "sum")
        x, y = jnp.asarray(data.x, jnp.float64), jnp.asarray(data.y, jnp.float64)
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        an = critical.analyse_batch(J, p64, x, y, eig_tol=cfg.eig_tol, model=model)
        codes = _classify(cfg, an, solved, drop, cfg.grad_tol, cfg.step_tol)
        # The label of a point near a minimum at infinity hinges on grad_tol: recount the strict minima at other
        # tolerances, with and without the Newton-step test, so the verdict cannot flip on it unnoticed.
        sens = {(name, tol): int(np.sum((_classify(cfg, an, solved, drop, tol, st) == critical.STRICT_MINIMUM)
                                        & is_bad))
                for tol in cfg.grad_tol_sensitivity for name, st in (("newton", cfg.step_tol), ("grad_only", np.inf))}
        res = {"n": len(chosen), "n_nonconverged_total": n_bad, "is_nonconverged": is_bad,
               "optimizer": np.array([pools[k][0] for k, _ in chosen]), "strict_by_grad_tol": sens,
               "codes": codes, "loss": np.asarray(an.loss), "grad_norm": np.asarray(an.grad_norm),
               "eigenvalues": np.asarray(an.eigenvalues), "index": np.asarray(an.index),
               "newton_step": np.asarray(an.newton_step), "n_zero": np.asarray(an.n_zero),
               "saturated": np.asarray(an.saturated), "wnorm_growth": gather("wnorm") - gather("wnorm_T"),
               "solved": solved, "eig_tol": cfg.eig_tol}
        if refine and take_bad:
            res["refined"] = _refine(cfg, model, J, x, y, p64, an, take_bad, T)
    return res


def _refine(cfg, model, J, x, y, p64, an, take_bad: int, T: int) -> dict[str, Any]:
    """``refine_factor * T`` more plain GD steps from the non-converged points (one restart each, through
    :func:`restarts.map_over`), then the same analysis: does the gradient vanish, or do the weights keep growing?"""
    pr = escape.make_problem(model, x, y)
    flat = escape.flatten_batch(p64)
    th = flat[:take_bad]
    steps = cfg.refine_factor * T
    ref = restarts.map_over(lambda k, t0, hp: escape.gradient_descent(pr, k, t0, steps=steps, lr=cfg.ref_lr), th,
                            seed=cfg.seed + 7, progress=False, execution=cfg.execution)
    theta, solved = jnp.asarray(ref.outcomes.theta[:, 0]), jnp.asarray(ref.outcomes.solved[:, 0])
    # Same batch shape as the first analysis (the converged points ride along unchanged): no recompile.
    th_all = jnp.concatenate([theta, flat[take_bad:]])
    an2 = critical.analyse_batch(J, escape.unflatten_batch(pr, th_all), x, y, eig_tol=cfg.eig_tol, model=model)
    an2 = jax.tree.map(lambda a: a[:take_bad], an2)
    codes2 = critical.classify(an2, solved, loss_tol=cfg.loss_tol, grad_tol=cfg.grad_tol, step_tol=cfg.step_tol,
                               loss_drop=1.0 - an2.loss / an.loss[:take_bad], drop_tol=cfg.drop_tol)
    return {"steps": steps, "codes": np.asarray(codes2), "solved": np.asarray(solved),
            "grad_norm": np.asarray(an2.grad_norm), "loss": np.asarray(an2.loss),
            "theta_norm_before": np.asarray(jnp.linalg.norm(th, axis=1)),
            "theta_norm_after": np.asarray(jnp.linalg.norm(theta, axis=1)),
            "index": np.asarray(an2.index), "min_eig": np.asarray(an2.eigenvalues[:, 0]),
            "newton_step": np.asarray(an2.newton_step)}


def _pd_noncritical(a: dict, bad: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    # Positive-definite Hessian but a gradient too large for a critical point: the candidates for a strict minimum
    # that the gradient test rejects (e.g. a valley that keeps descending towards a minimum at infinity).
    pd = bad & (a["eigenvalues"][:, 0] > a["eig_tol"]) & (a["codes"] != critical.STRICT_MINIMUM)
    some = bool(pd.any())
    return pd, {
        "count": int(pd.sum()),
        "grad_norm_range": [float(a["grad_norm"][pd].min()), float(a["grad_norm"][pd].max())] if some else None,
        "min_eig_range": [float(a["eigenvalues"][pd, 0].min()), float(a["eigenvalues"][pd, 0].max())]
        if some else None,
        "newton_step_median": float(np.median(a["newton_step"][pd])) if some else None}


def _summarise_refined(a: dict, bad: np.ndarray, codes: np.ndarray, pd: np.ndarray) -> dict[str, Any]:
    r = a["refined"]
    out = {"steps": r["steps"], "labels": critical.label_counts(r["codes"]), "healed": int(r["solved"].sum()),
           "grad_norm_median_before": float(np.median(a["grad_norm"][bad])),
           "grad_norm_median_after": float(np.median(r["grad_norm"])),
           "theta_norm_growth_median": float(np.median(r["theta_norm_after"] - r["theta_norm_before"])),
           # a strict minimum at finite weights stays one under further descent
           "strict_minima_confirmed": int(np.sum((codes == critical.STRICT_MINIMUM)
                                                 & (r["codes"] == critical.STRICT_MINIMUM))),
           "strict_minima_before": int(np.sum(codes == critical.STRICT_MINIMUM))}
    pd_r = pd[: len(r["codes"])]   # the refined points are the non-converged ones, in the same order
    if pd_r.any():
        out["pd_noncritical"] = {
            "count": int(pd_r.sum()), "healed": int(r["solved"][pd_r].sum()),
            "theta_norm_growth_median": float(np.median(r["theta_norm_after"][pd_r] - r["theta_norm_before"][pd_r])),
            "grad_norm_median_before": float(np.median(a["grad_norm"][pd])),
            "grad_norm_median_after": float(np.median(r["grad_norm"][pd_r])),
            "strict_after": int(np.sum(r["codes"][pd_r] == critical.STRICT_MINIMUM))}
    return out


def summarise(a: dict) -> dict[str, Any]:
    """The JSON summary of one network's analysis (labels of the non-converged points, tolerance check, the
    positive-definite non-critical points, refinement)."""
    if a.get("n", 0) == 0:
        return {"analysed": 0}
    bad = a["is_nonconverged"]
    codes = a["codes"][bad]
    sens = a["strict_by_grad_tol"]
    out = {"analysed_nonconverged": int(bad.sum()), "nonconverged_total": int(a["n_nonconverged_total"]),
           "labels": critical.label_counts(codes), "grad_norm_median_by_label": {},
           "strict_by_grad_tol": {f"{tol:g}": v for (kind, tol), v in sens.items() if kind == "newton"},
           "strict_by_grad_tol_without_newton_test": {f"{tol:g}": v for (kind, tol), v in sens.items()
                                                      if kind == "grad_only"},
           "newton_step_median_by_label": {}, "index_histogram": np.bincount(a["index"][bad]).tolist()}
    for i, name in enumerate(critical.LABELS):
        m = codes == i
        if m.any():
            out["grad_norm_median_by_label"][name] = float(np.median(a["grad_norm"][bad][m]))
            out["newton_step_median_by_label"][name] = float(np.median(a["newton_step"][bad][m]))
    pd, out["pd_noncritical"] = _pd_noncritical(a, bad)
    out["saturated_units_mean"] = float(a["saturated"][bad].mean()) if bad.any() else float("nan")
    out["weight_norm_growth_median"] = float(np.median(a["wnorm_growth"][bad])) if bad.any() else float("nan")
    out["loss_levels"] = levels(a["loss"][bad])
    if (~bad).any():
        out["converged_near_zero_eigs_median"] = float(np.median(a["n_zero"][~bad]))
    if "refined" in a:
        out["refined"] = _summarise_refined(a, bad, codes, pd)
    return out
