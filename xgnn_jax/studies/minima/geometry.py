"""Basins of the plain-GD end points (modulo hidden-unit symmetries) and the landscapes of the reference cell;
every batch over end points or pairs goes through :func:`xgnn_jax.engine.restarts.map_over`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import critical, landscape
from xgnn_jax.core.mlp import objective
from xgnn_jax.engine import restarts


def _take(tree, idx):
    return jax.tree.map(lambda a: np.asarray(a)[idx], tree)


def basins(cfg, model, data, o: dict, rng: np.random.Generator) -> dict[str, Any]:
    """Cluster the plain-GD end points of one network by their canonical activations (``basin_tol``)."""
    n = o["solved"].size
    keep = np.sort(rng.choice(n, cfg.max_basin_points, replace=False)) if n > cfg.max_basin_points else np.arange(n)
    params = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[3:])[keep], o["params"])
    solved = o["solved"].reshape(-1)[keep]
    finite = ~o["diverged"].reshape(-1)[keep]
    hidden = model.layer_activations[0]
    x = data.x
    res = restarts.map_over(lambda k, p, hp: critical.basin_features(model, p, x, hidden), params,
                            progress=False, execution=cfg.execution)
    feats = np.asarray(res.outcomes)[:, 0]
    cl = critical.cluster(np.where(finite[:, None], feats, np.nan), cfg.basin_tol)
    rows = []
    loss = o["loss"].reshape(-1)[keep]
    for b in range(min(len(cl.counts), 8)):
        m = cl.labels == b
        rows.append({"basin": b, "count": int(cl.counts[b]), "fraction": float(cl.counts[b] / finite.sum()),
                     "solved_fraction": float(solved[m].mean()), "loss_median": float(np.median(loss[m]))})
    sol_basins = {int(b) for b in np.unique(cl.labels[solved & finite])}
    fail_basins = {int(b) for b in np.unique(cl.labels[~solved & finite])}
    return {"points": int(keep.size), "n_basins": int(len(cl.counts)), "solution_basins": len(sol_basins),
            "failure_basins": len(fail_basins), "top": rows, "counts": cl.counts,
            "solved_by_basin": np.array([solved[cl.labels == b].mean() for b in range(len(cl.counts))])}


def _through(cfg, J, data, o, i: int, line_alphas, grid) -> dict[str, Any]:
    """Loss along init -> final of restart ``i`` and the filter-normalised plane through its end point."""
    p0, p1 = _take(o["init_params"], i), _take(o["params"], i)
    a, ls = landscape.line(J, p0, p1, data.x, data.y, alphas=line_alphas)
    d1 = landscape.filter_normalized_direction(jax.random.key(cfg.seed + 11), p1)
    d2 = landscape.filter_normalized_direction(jax.random.key(cfg.seed + 12), p1)
    surf = landscape.surface(J, p1, d1, d2, data.x, data.y, grid, grid)
    return {"restart": i, "line_alphas": np.asarray(a), "line_loss": np.asarray(ls),
            "init_to_final_barrier": float(landscape.barrier(a, ls)), "surface": np.asarray(surf),
            "surface_min": float(jnp.min(surf)), "centre": float(J(p1, data.x, data.y))}


def _pairs(cfg, model, J, data, params, ok, line_alphas) -> dict[str, Any]:
    """Barriers between pairs of solutions, raw and with their symmetries aligned (canonical representatives)."""
    n = min(cfg.barrier_pairs, len(ok) // 2)
    A, B = _take(params, ok[:n]), _take(params, ok[n:2 * n])
    hidden = model.layer_activations[0]
    x, y = data.x, data.y
    alphas = jnp.linspace(0.0, 1.0, 41)

    def pair(_key, ab, _hp):
        p, q = ab
        bar = lambda u, v: landscape.barrier(alphas, landscape.line(J, u, v, x, y, alphas=alphas)[1])  # noqa: E731
        return {"raw": bar(p, q),
                "aligned": bar(critical.canonicalize(p, hidden, x), critical.canonicalize(q, hidden, x))}

    res = restarts.map_over(pair, (A, B), progress=False, execution=cfg.execution)
    a0, b0 = (jax.tree.map(jnp.asarray, _take(t, 0)) for t in (A, B))
    _, example = landscape.line(J, a0, b0, x, y, alphas=line_alphas)
    _, example_c = landscape.line(J, critical.canonicalize(a0, hidden, x), critical.canonicalize(b0, hidden, x),
                                  x, y, alphas=line_alphas)
    return {"n": n, "barrier_raw": np.asarray(res["raw"])[:, 0], "barrier_aligned": np.asarray(res["aligned"])[:, 0],
            "example_raw": np.asarray(example), "example_aligned": np.asarray(example_c),
            "alphas": np.asarray(line_alphas)}


def landscapes(cfg, model, data, ref: dict, i_r: int, i_lr: int) -> dict[str, Any]:
    """Lines, planes and pair barriers in the reference cell (first converged and first failed restart)."""
    J = objective(model, "half_sse", "sum")
    o = jax.tree.map(lambda a: a[i_r, i_lr], {k: ref[k] for k in ("params", "init_params", "solved", "diverged")})
    ok = np.where(o["solved"] & ~o["diverged"])[0]
    bad = np.where(~o["solved"] & ~o["diverged"])[0]
    grid = jnp.linspace(-1.0, 1.0, cfg.landscape_points)
    line_alphas = jnp.linspace(-0.25, 1.25, 61)
    out: dict[str, Any] = {name: _through(cfg, J, data, o, int(idx[0]), line_alphas, grid)
                           for name, idx in (("converged", ok), ("failed", bad)) if len(idx)}
    if len(ok) >= 2:
        out["pairs"] = _pairs(cfg, model, J, data, o["params"], ok, line_alphas)
    return out


def summary(land: dict) -> dict[str, Any]:
    """The landscape numbers for ``summary.json`` (no arrays)."""
    out = {}
    for k, v in land.items():
        if k == "pairs":
            out[k] = {"n": v["n"], "barrier_raw_median": float(np.median(v["barrier_raw"])),
                      "barrier_aligned_median": float(np.median(v["barrier_aligned"])),
                      "fraction_raw_with_barrier": float(np.mean(v["barrier_raw"] > 1e-3)),
                      "fraction_aligned_with_barrier": float(np.mean(v["barrier_aligned"] > 1e-3))}
        else:
            out[k] = {kk: vv for kk, vv in v.items() if kk in ("restart", "init_to_final_barrier", "surface_min",
                                                               "centre")}
    return out
