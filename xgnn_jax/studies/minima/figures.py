"""The minima study's figures: success heat maps, final losses, time to success, critical points, escapes,
landscapes and basins. Each function saves one figure into ``out_dir`` and returns its file name."""

from __future__ import annotations

import numpy as np

from xgnn_jax.analysis import critical
from xgnn_jax.study import plotting

OPTIMIZERS = ("gd", "momentum", "sgd", "adam")


def heatmaps(out_dir, cells: dict, cfg, which: str = "solved_T") -> str:
    """One row per network / data set, one panel per optimizer: success rate at T with Wilson 95% bounds."""
    tags = list(cells)
    opts = [o for o in OPTIMIZERS if any(o in cells[t] for t in tags)]
    fig, axes = plotting.plt.subplots(len(tags), len(opts), figsize=(3.4 * len(opts), 2.9 * len(tags)),
                                      squeeze=False, layout="constrained")
    im = None
    for row, tag in enumerate(tags):
        for ax, opt in zip(axes[row], opts, strict=True):
            if opt not in cells[tag]:
                ax.axis("off")
                continue
            c = cells[tag][opt][which]
            lrs = cells[tag]["_lrs"]["gd+momentum" if opt in ("gd", "momentum") else opt]
            im = ax.imshow(c["rate"], vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
            for (i, j), v in np.ndenumerate(c["rate"]):
                ax.text(j, i, f"{100 * v:.0f}%\n[{100 * c['lo'][i, j]:.0f},{100 * c['hi'][i, j]:.0f}]",
                        ha="center", va="center", fontsize=6, color="w" if v < 0.6 else "k")
            ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
            ax.set_yticks(range(len(cfg.init_ranges)), [f"{v:g}" for v in cfg.init_ranges])
            ax.set_xlabel("learning rate")
            ax.set_ylabel("init range r of U(-r, r)")
            ax.set_title(f"{tag}, {opt}, T = {cells[tag]['_T']}, {c['n']} restarts per cell", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axes, label="success rate at T (every output on the right side of 0.5)", shrink=0.6)
    fig.suptitle("Success rate per cell; brackets: Wilson 95% interval", fontsize=9)
    return plotting.save(fig, out_dir / "heatmaps.png")


def losses(out_dir, sweeps: dict, tags: list[str]) -> str:
    fig, axes = plotting.figure(len(tags), 1, width=3.4, height=3.0)
    axes = np.atleast_1d(axes)
    for ax, tag in zip(axes, tags, strict=True):
        o = sweeps[tag]["gd"]
        loss = np.clip(o["loss"].reshape(-1), 1e-6, None)
        solved = o["solved"].reshape(-1)
        bins = np.logspace(-6, 1, 50)
        ax.hist(loss[solved], bins=bins, alpha=0.6, label="solved")
        ax.hist(loss[~solved], bins=bins, alpha=0.6, label="failed")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("final E (sum of 1/2 squared errors)")
        ax.set_ylabel("restarts")
        ax.set_title(f"{tag} (plain GD, all cells)", fontsize=9)
        ax.legend(fontsize=7)
    return plotting.save(fig, out_dir / "final_losses.png")


def time_to_success(out_dir, sweeps: dict, tags: list[str], T: dict) -> str:
    fig, ax = plotting.figure(1, 1, width=5.5, height=3.6)
    for tag in tags:
        o = sweeps[tag]["gd"]
        f = o["first_solved"].reshape(-1)
        n = f.size
        t = np.sort(f[f > 0])
        ax.step(np.concatenate([[1], t]), np.arange(len(t) + 1) / n, where="post", label=tag)
        ax.axvline(T[tag], color="0.7", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("epochs until every output is on the right side of 0.5")
    ax.set_ylabel("fraction of restarts solved")
    ax.set_title("Time to success (plain GD, all cells; dotted: T)")
    ax.legend(fontsize=7)
    return plotting.save(fig, out_dir / "time_to_success.png")


def critical_points(out_dir, analyses: dict) -> str:
    tags = [t for t in analyses if analyses[t].get("n", 0)]
    fig, axes = plotting.figure(2, 1, width=5.0, height=3.8)
    bottom = np.zeros(len(tags))
    for i, name in enumerate(critical.LABELS):
        vals = np.array([np.mean(analyses[t]["codes"][analyses[t]["is_nonconverged"]] == i)
                         if analyses[t]["is_nonconverged"].any() else 0 for t in tags])
        axes[0].bar(range(len(tags)), vals, bottom=bottom, label=name)
        bottom += vals
    axes[0].set_xticks(range(len(tags)), tags, rotation=30, fontsize=7)
    axes[0].set_xlabel("network (data set)")
    axes[0].set_ylabel("fraction of analysed end points")
    axes[0].set_title("What stopped the runs that did not converge", fontsize=9)
    axes[0].legend(fontsize=6)
    for t in tags:
        a = analyses[t]
        m = a["is_nonconverged"]
        axes[1].scatter(a["grad_norm"][m], a["eigenvalues"][m, 0], s=8, alpha=0.6, label=t)
    axes[1].set_xscale("log")
    axes[1].set_yscale("symlog", linthresh=1e-6)
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set_xlabel("gradient norm |grad E|")
    axes[1].set_ylabel("smallest Hessian eigenvalue")
    axes[1].set_title("Non-converged end points (float64)", fontsize=9)
    axes[1].legend(fontsize=6)
    return plotting.save(fig, out_dir / "critical_points.png")


def escapes(out_dir, esc: dict, bok: dict) -> str:
    rows = esc["rows"]
    fig, axes = plotting.figure(2, 1, width=5.2, height=3.8)
    labels = [f"{r['strategy']}\n({r['start']})" for r in rows]
    cost = np.array([r["cost_per_success"] for r in rows])
    lo = np.array([r["cost_lo"] for r in rows])
    hi = np.array([r["cost_hi"] for r in rows])
    finite = np.concatenate([cost[np.isfinite(cost)], hi[np.isfinite(hi)]])
    xmax = 1.15 * (finite.max() if finite.size else 1.0)
    for i, r in enumerate(rows):
        color = "C0" if r["start"] == "scratch" else "C3"
        right = min(hi[i], xmax)
        if np.isfinite(cost[i]):
            axes[0].plot([lo[i], right], [i, i], color=color, lw=1.5)
            axes[0].plot(cost[i], i, "o", color=color, ms=4)
            if not np.isfinite(hi[i]):
                axes[0].plot(xmax, i, ">", color=color, ms=4)       # the interval has no upper end
        else:
            axes[0].plot(xmax, i, "x", color=color, ms=5)
        axes[0].text(0.01 * xmax, i + 0.3, f"p={100 * r['success']:.0f}%"
                     + ("" if np.isfinite(cost[i]) else ", no success"), va="center", fontsize=5)
    axes[0].plot([], [], "o-", color="C0", label="from scratch")
    axes[0].plot([], [], "o-", color="C3", label="from failed end points")
    axes[0].set_xlim(0, xmax * 1.03)
    axes[0].set_yticks(range(len(rows)), labels, fontsize=6)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("strategy (start)")
    axes[0].set_xlabel("full-batch evaluations per success")
    axes[0].set_title(f"Ways out, {esc['budget']} evaluations per attempt: cost per success with bootstrap 95% "
                      "CI\n(x at right edge: no success; > : no upper bound)", fontsize=7)
    axes[0].legend(fontsize=6, loc="upper right")
    ks = bok["k"]
    yerr = np.clip([bok["measured"] - bok["lo"], bok["hi"] - bok["measured"]], 0, None)  # rounding can dip below 0
    axes[1].errorbar(ks, bok["measured"], yerr=yerr,
                     fmt="o", label="measured (lowest loss of k succeeds)")
    axes[1].plot(ks, bok["predicted"], "-", label="1 - (1 - p)^k")
    axes[1].set_xscale("log", base=2)
    axes[1].set_xlabel("k restarts")
    axes[1].set_ylabel("success probability")
    axes[1].set_title(f"Best of k random restarts (Wilson 95% CI over {int(bok['groups'][-1])} groups at "
                      f"k = {int(ks[-1])})", fontsize=8)
    axes[1].legend(fontsize=7)
    return plotting.save(fig, out_dir / "escapes.png")


def landscapes(out_dir, land: dict, tag: str) -> str | None:
    have = [k for k in ("converged", "failed") if k in land]
    if not have:
        return None
    fig, axes = plotting.figure(len(have) + 1, 1, width=3.8, height=3.4)
    axes = np.atleast_1d(axes)
    for name in have:
        l = land[name]
        axes[0].plot(l["line_alphas"], l["line_loss"], label=f"init -> final ({name})")
    if "pairs" in land:
        p = land["pairs"]
        axes[0].plot(p["alphas"], p["example_raw"], ls="--", label="solution A -> B (raw)")
        axes[0].plot(p["alphas"], p["example_aligned"], ls=":", label="A -> B (symmetries aligned)")
    axes[0].set_xlabel("a (0: first point, 1: second point)")
    axes[0].set_ylabel("E")
    axes[0].set_title(f"{tag}: loss along straight lines", fontsize=9)
    axes[0].legend(fontsize=6)
    for ax, name in zip(axes[1:], have, strict=True):
        s = land[name]["surface"]
        g = np.linspace(-1, 1, s.shape[0])
        cs = ax.contourf(g, g, np.log10(np.maximum(s.T, 1e-8)), levels=20, cmap="viridis")
        ax.plot(0, 0, "r*")
        fig.colorbar(cs, ax=ax, label="log10 E")
        ax.set_xlabel("direction 1 (filter-normalised)")
        ax.set_ylabel("direction 2")
        ax.set_title(f"{tag}: plane through a {name} end point", fontsize=9)
    return plotting.save(fig, out_dir / "landscapes.png")


def basins(out_dir, basins: dict) -> str:
    tags = list(basins)
    fig, axes = plotting.figure(len(tags), 1, width=3.0, height=2.8)
    axes = np.atleast_1d(axes)
    for ax, tag in zip(axes, tags, strict=True):
        b = basins[tag]
        counts = b["counts"][:12]
        colors = ["C2" if s > 0.5 else "C3" for s in b["solved_by_basin"][:12]]
        ax.bar(range(len(counts)), counts / b["counts"].sum(), color=colors)
        ax.set_xlabel("basin (by frequency)")
        ax.set_ylabel("fraction of end points")
        ax.set_title(f"{tag}: {b['n_basins']} basins\n(green: solved, red: failed)", fontsize=8)
    return plotting.save(fig, out_dir / "basins.png")
