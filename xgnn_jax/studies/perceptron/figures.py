"""The perceptron study's figures: updates against Novikoff's bound, the separating lines found, XOR."""

from __future__ import annotations

import numpy as np

from xgnn_jax.study import plotting


def plot_novikoff(out_dir, bound, counts):
    fig, ax = plotting.figure(width=5.5, height=4.2)
    for c, marker in zip(counts, ("o", "x", "+", "^"), strict=False):
        ax.scatter(bound, np.maximum(counts[c], 0.8), s=10, alpha=0.5, marker=marker, label=f"{c} choice")
    lim = [min(bound.min(), 1) * 0.8, bound.max() * 1.2]
    ax.plot(lim, lim, "k--", lw=1, label="updates = (R/gamma*)^2")
    ax.set(xscale="log", yscale="log", xlabel="Novikoff bound (R/gamma*)^2, gamma* the best margin (updates)",
           ylabel="updates made (count)", title="Perceptron updates vs Novikoff's bound")
    ax.legend(fontsize=8)
    return plotting.save(fig, f"{out_dir}/perceptron_novikoff.png")


def plot_planes(out_dir, x, y, planes, h):
    fig, ax = plotting.figure(width=5.0, height=4.6)
    ax.scatter(x[y > 0, 0], x[y > 0, 1], c="tab:blue", marker="o", s=18, label="y = +1")
    ax.scatter(x[y < 0, 0], x[y < 0, 1], c="tab:red", marker="s", s=18, label="y = -1")
    xs = np.linspace(x[:, 0].min() - 0.2, x[:, 0].max() + 0.2, 50)
    for j, (w1, w2, b) in enumerate(planes):
        style = "-" if j < h else ":"
        lab = ("random order, different keys" if j == 0 else "cyclic, different starts and orders" if j == h
               else None)
        if abs(w2) > 1e-9:
            ax.plot(xs, -(w1 * xs + b) / w2, style, lw=1, color="k" if j < h else "tab:green", label=lab)
    ax.set(xlim=(x[:, 0].min() - 0.2, x[:, 0].max() + 0.2), ylim=(x[:, 1].min() - 0.2, x[:, 1].max() + 0.2),
           xlabel="x1", ylabel="x2", title="Separating lines found by the perceptron")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    return plotting.save(fig, f"{out_dir}/perceptron_hyperplanes.png")


def plot_xor(out_dir, mis):
    """Histogram of the number of misclassified XOR points after each update of the long runs ``mis: (runs, T)``;
    the title says whether a state with none misclassified was ever reached."""
    fig, ax = plotting.figure(width=5.5, height=3.6)
    counts = np.bincount(np.asarray(mis).ravel(), minlength=5)[:5]
    ax.bar(np.arange(5), counts / counts.sum(), color="tab:gray", label=f"{mis.shape[0]} runs x {mis.shape[1]} updates")
    zero = (f"0 misclassified in none of {counts.sum()} states" if counts[0] == 0
            else f"0 misclassified in {counts[0]} of {counts.sum()} states")
    ax.set(xlabel="misclassified XOR points after an update (of 4)", ylabel="fraction of updates",
           title=f"Perceptron on XOR: {zero}", xticks=range(5))
    ax.legend(fontsize=8)
    return plotting.save(fig, f"{out_dir}/perceptron_xor.png")
