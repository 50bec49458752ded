"""The depth_width study's figures: trained errors per seed, parameters of the exact constructions, best fits."""

from __future__ import annotations

import numpy as np

from xgnn_jax.study import plotting


def errors(out_dir, names, labels, rms, nparams, learned_rms):
    fig, ax = plotting.figure(width=7.0, height=3.8)
    n_arch = len(labels)
    for j, lab in enumerate(labels):
        pos = np.arange(len(names)) + (j - (n_arch - 1) / 2) * 0.25
        vals = rms[lab]
        ax.scatter(np.repeat(pos, vals.shape[1]), vals.ravel(), s=8, alpha=0.6,
                   label=f"{lab}, {nparams[lab]} params (one dot per seed)")
        ax.scatter(pos, np.median(vals, axis=1), marker="_", s=300, color="k")
    ax.scatter([], [], marker="_", s=200, color="k", label="median over seeds")
    ax.axhline(learned_rms, color="tab:gray", ls=":", lw=1, label=f"'learned' threshold (RMS {learned_rms:g})")
    ax.set(xticks=np.arange(len(names)), xticklabels=names, yscale="log", ylabel="test RMS error",
           xlabel="target", title="Trained ReLU nets at matched parameter counts (best lr each)")
    ax.legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/depth_width_errors.png")


def exact(out_dir, exact):
    fig, ax = plotting.figure(width=5.0, height=3.6)
    ax.plot(exact[:, 0], exact[:, 1], "o-", label="deep 1-2-...-2-1 (6k + 1)")
    ax.plot(exact[:, 0], exact[:, 2], "s-", label="shallow 1-2^k-1 (3 2^k + 1)")
    ax.set(yscale="log", xlabel="compositions k of the tent map", ylabel="parameters (count)",
           title="Parameters to compute the sawtooth T^k exactly")
    ax.legend(fontsize=8)
    return plotting.save(fig, f"{out_dir}/depth_width_exact.png")


def fits(out_dir, names, labels, rms, outs, x_test, ys_test):
    idx = [i for i, n in enumerate(names) if n.startswith("sawtooth")][-1]
    fig, ax = plotting.figure(width=6.0, height=3.6)
    xs = np.asarray(x_test)[:, 0]
    ax.plot(xs, np.asarray(ys_test[idx])[:, 0], "k", lw=2, label=names[idx])
    for lab in (labels[0], labels[-1]):
        best = int(np.argmin(rms[lab][idx]))
        ax.plot(xs, outs[lab][idx, best], lw=1, label=f"{lab} (best seed)")
    ax.set(xlabel="x", ylabel="output", title=f"Best trained fits of {names[idx]}")
    ax.legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/depth_width_fits.png")
