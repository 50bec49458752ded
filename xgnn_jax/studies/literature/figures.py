"""The literature study's figures: time-to-solution distributions with the published numbers marked, the laws in
H and in the init radius, and Kolen & Pollack's 2-D slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xgnn_jax.analysis import xor_runs as xr
from xgnn_jax.study import plotting


def _ecdf(ax, t: np.ndarray, label: str) -> None:
    s = np.sort(t[np.isfinite(t)])
    ax.step(s, np.arange(1, s.size + 1) / t.size, where="post", label=f"{label} ({s.size}/{t.size} solved)")


def times(out_dir: Path, curves: dict[str, np.ndarray], marks: dict[str, float]) -> str:
    """Empirical distribution of epochs to solution per setting; published values as vertical lines."""
    fig, ax = plotting.figure(width=6.5, height=4.0)
    for label, t in curves.items():
        _ecdf(ax, t, label)
    for label, v in marks.items():
        ax.axvline(v, ls="--", color="k", lw=0.8)
        ax.text(v, 0.98, f" {label}", rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xscale("log")
    ax.set(xlabel="epochs (sweeps) to solution", ylabel="fraction of runs solved",
           title="Time to solution; dashed: published numbers")
    ax.tick_params(axis="x", which="minor", labelbottom=False)
    ax.legend(fontsize=8, loc="lower right")
    return plotting.save(fig, out_dir / "literature_times.png")


def laws(out_dir: Path, widths, width_times, radii, radius_times) -> str:
    """Left: median epochs vs hidden units with Chauvin's P = 280 - 33 log2 H. Right: median epochs and the
    unsolved fraction vs the init radius (Kolen & Pollack)."""
    fig, (a, b) = plotting.figure(2, width=5.0, height=3.8)
    meds = np.array([xr.median_interval(t) for t in width_times])
    a.errorbar(widths, meds[:, 0], yerr=[meds[:, 0] - meds[:, 1], meds[:, 2] - meds[:, 0]], fmt="o-",
               label="ours (median, 95% order statistics)")
    h = np.geomspace(min(widths), max(widths), 50)
    a.plot(h, 280 - 33 * np.log2(h), "k--", label="Chauvin: 280 - 33 log2 H")
    a.set(xscale="log", xlabel="hidden units H", ylabel="epochs to solution", title="XOR, eta 0.25")
    a.set_xticks(list(widths), [str(w) for w in widths])
    a.tick_params(axis="x", which="minor", labelbottom=False)
    a.legend(fontsize=8)
    rm = np.array([xr.median_interval(t) for t in radius_times])
    finite_hi = np.where(np.isfinite(rm[:, 2]), rm[:, 2], np.nan)
    b.plot(radii, np.where(np.isfinite(rm[:, 0]), rm[:, 0], np.nan), "o-", label="median epochs (ours)")
    b.fill_between(radii, rm[:, 1], finite_hi, alpha=0.25)
    b.set(xscale="log", yscale="log", xlabel="init radius r (weights in [-r, r])", ylabel="epochs to solution",
          title="Kolen & Pollack: time vs init radius")
    b.set_xticks(list(radii), [f"{r:g}" for r in radii])
    b.tick_params(axis="x", which="minor", labelbottom=False)
    c = b.twinx()
    c.plot(radii, [np.mean(~np.isfinite(t)) for t in radius_times], "s:", color="C3", label="unsolved fraction")
    c.set(ylabel="unsolved fraction", xlabel=b.get_xlabel(), title=b.get_title())  # the twin shares b's axes
    fig.legend(*[sum(x, []) for x in zip(b.get_legend_handles_labels(), c.get_legend_handles_labels(),
                                         strict=True)], loc="lower right", fontsize=8)
    return plotting.save(fig, out_dir / "literature_laws.png")


def slice_map(out_dir: Path, sl: dict, span: float) -> str:
    """Epochs to solution on the 2-D slice of initial weights (log colour scale); unsolved starts in black."""
    t = np.asarray(sl["epochs_correct"], np.float64)
    fig, ax = plotting.figure(width=5.2, height=4.4)
    shown = np.ma.masked_where(t < 0, np.log2(np.maximum(t, 1)))
    cmap = plotting.plt.get_cmap("viridis").with_extremes(bad="black")
    im = ax.imshow(shown.T, origin="lower", extent=(-span, span, -span, span), cmap=cmap, aspect="equal")
    fig.colorbar(im, ax=ax, label="log2 epochs to solution")
    ax.set(xlabel="W1[0, 0] (input 1 -> hidden 1)", ylabel="W1[1, 0] (input 2 -> hidden 1)",
           title="Kolen & Pollack slice (black: unsolved)")
    return plotting.save(fig, out_dir / "literature_slice.png")
