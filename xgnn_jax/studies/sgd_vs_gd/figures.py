"""C11's figures: the watermelon curves per epoch and per update, and the two-moons curves per gradient evaluation
and per second."""

from __future__ import annotations

import numpy as np

from xgnn_jax.study import plotting


def watermelon(out_dir, curves, etas, labels, upe, threshold, m, best):
    """Each algorithm at its best eta with a quartile band, the other etas as thin median lines of the same colour;
    one legend for both panels."""
    fig, axes = plotting.figure(ncols=2, width=5.5, height=4.2, layout="constrained")
    for k, (name, c) in enumerate(curves.items()):
        color = f"C{k}"
        ep = np.arange(1, c.shape[-1] + 1)
        for i, eta in enumerate(etas):
            step = eta * (m if name == "acc_sum" else 1)
            for ax, xs in zip(axes, (ep, ep * upe[name]), strict=True):
                if float(eta) == float(best[name]):
                    plotting.band(ax, xs, c[i], color=color, label=f"{labels[name]}, best step {step:g}")
                else:
                    ax.plot(xs, np.median(c[i], axis=0), color=color, lw=0.7, alpha=0.6,
                            ls=(0, (1 + i, 1.5)), label=f"{labels[name]}, step {step:g} (median)")
    for ax, xl in zip(axes, ("epochs (passes over the 17 melons)", "updates (parameter changes)"), strict=True):
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"threshold {threshold:g}")
        ax.set(xscale="log", yscale="log", xlabel=xl, ylabel="accumulated error E = (1/m) sum E_k")
    axes[0].set_title("Watermelon 3.0: accumulated error per epoch")
    axes[1].set_title("... per update")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=7)
    return plotting.save(fig, f"{out_dir}/sgd_vs_gd_watermelon.png")


def large(out_dir, large, sec, cfg):
    fig, axes = plotting.figure(ncols=2, width=5.5, height=4.0)
    for name, d in large.items():
        b = d["best"]
        c = d["curves"][b]
        ep = np.arange(1, c.shape[-1] + 1)
        label = f"{'standard' if name == 'standard' else 'accumulated'} BP, eta {d['etas'][b]:g}"
        plotting.band(axes[0], ep * cfg.large_n, c, label=label)
        plotting.band(axes[1], ep * sec[name], c, label=label)
    for ax, xl in zip(axes, ("per-example gradient evaluations", "wall time of a single run (s)"), strict=True):
        ax.axhline(cfg.large_target, color="k", ls=":", lw=1, label=f"target {cfg.large_target:g}")
        ax.set(xscale="log", yscale="log", xlabel=xl, ylabel="accumulated error E")
        ax.legend(fontsize=7)
    axes[0].set_title(f"Two moons, m = {cfg.large_n}: error vs gradient evaluations")
    axes[1].set_title("... vs wall time (this machine, noisy)")
    return plotting.save(fig, f"{out_dir}/sgd_vs_gd_large.png")
