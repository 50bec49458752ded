"""The overfitting study's figures: training and validation curves per remedy, test errors per remedy."""

from __future__ import annotations

import numpy as np

from xgnn_jax.study import plotting


def curves(out_dir, none, es, l2, book, l2_pick, book_pick, cfg, floor):
    fig, axes = plotting.figure(ncols=3, width=4.6, height=3.8)
    ep = np.arange(1, cfg.epochs + 1)
    idx = np.arange(cfg.restarts)
    panels = [("no remedy", none["train"], none["val"]),
              ("L2, wd chosen on validation", l2["train"][l2_pick, idx], l2["val"][l2_pick, idx]),
              ("book's lambda form, chosen on validation", book["train"][book_pick, idx], book["val"][book_pick, idx])]
    for ax, (title, tr, va) in zip(axes, panels, strict=True):
        plotting.band(ax, ep, tr, label="training error")
        plotting.band(ax, ep, va, label="validation error")
        ax.axhline(floor, color="k", ls=":", lw=1, label="noise floor")
        ax.set(xscale="log", yscale="log", xlabel="epoch", ylabel="E (half squared error)", title=title)
    stops = np.asarray(es["stop_epoch"])
    axes[0].axvline(float(np.median(stops)), color="C3", ls="--", lw=1, label="early stop (median epoch)")
    axes[0].legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/overfitting_curves.png")


def test_errors(out_dir, test, floor):
    fig, ax = plotting.figure(width=7.0, height=3.8)
    names = list(test)
    ax.boxplot([np.asarray(test[n])[np.isfinite(test[n])] for n in names], orientation="horizontal")
    ax.set_yticks(range(1, len(names) + 1), names, fontsize=7)
    ax.axvline(floor, color="k", ls=":", lw=1, label="noise floor")
    ax.set(xscale="log", xlabel="test error E (half squared error)", ylabel="remedy",
           title="Test error per remedy over restarts")
    ax.legend(fontsize=7)
    return plotting.save(fig, f"{out_dir}/overfitting_test_error.png")
