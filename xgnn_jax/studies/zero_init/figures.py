"""The zero_init study's figures: update masks, unit symmetry, C20 training, logistic regression, embeddings,
initialisation schemes and the depth profile (one function each, returning the saved path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xgnn_jax.studies.zero_init.starts import EMBEDDING_LABELS, SCHEME_LABELS, SCHEMES, STARTS, start_label
from xgnn_jax.study import plotting


def _masks(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    import matplotlib.colors as mcolors
    from matplotlib.patches import Patch

    L = max(cfg.depths)
    t_show = min(cfg.mask_steps, L + 3)
    cmap = mcolors.ListedColormap(["white", "#9ecae1", "#fdae6b", "#31a354"])
    fig, axes = plotting.figure(len(STARTS), len(cfg.activations), width=3.2, height=2.6)
    axes = np.asarray(axes).reshape(len(cfg.activations), len(STARTS))
    for i, act in enumerate(cfg.activations):
        for j, s in enumerate(STARTS):
            wg = mk["W_grad"][(act, L)][0, j, 0, :t_show] > 0
            bg = mk["b_grad"][(act, L)][0, j, 0, :t_show] > 0
            code = bg.astype(int) + 2 * wg.astype(int)
            ax = axes[i, j]
            ax.imshow(code.T, cmap=cmap, vmin=0, vmax=3, aspect="auto", origin="lower",
                      extent=(0.5, t_show + 0.5, 0.5, L + 0.5))
            ax.set_title(f"{act}, {start_label(s, cfg.constant)}", fontsize=8)
            ax.set_xlabel("step")
            ax.set_ylabel("layer (1 = first)")
    axes[0, -1].legend(handles=[Patch(color=cmap(k), label=lab) for k, lab in
                                enumerate(["no gradient", "bias only", "weights only", "weights and bias"])],
                       fontsize=7, loc="upper right")
    fig.suptitle(f"Which layers receive a non-zero gradient, per step (L = {L}, watermelon 3.0alpha)")
    return plotting.save(fig, out / "update_masks.png")

def _symmetry(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    L = max(cfg.depths)
    fig, axes = plotting.figure(2, 1, width=5.0)
    Ls = 3 if 3 in cfg.depths else L
    styles = {"zeros": (0, ":"), "constant": (1, "--")}  # both stay at exactly 0: draw them apart
    for s in STARTS:
        sp = mk["spread"][("sigmoid", Ls)][0, STARTS.index(s)]  # (seeds, T+1, L-1)
        spc = c20["spread"][s]
        for ax, v in ((axes[0], sp[:, :, 0]), (axes[1], spc[:, :, 0])):
            line = plotting.band(ax, np.arange(v.shape[1]), v, label=start_label(s, cfg.constant))
            if s in styles:
                line.set_linestyle(styles[s][1])
                line.set_linewidth(2.5 - styles[s][0])
    for ax, title in zip(axes, (f"sigmoid, L = {Ls}, watermelon 3.0alpha", "sigmoid 2-8-8-1, two circles"),
                         strict=True):
        ax.set_yscale("symlog", linthresh=1e-6)
        ax.set_xlabel("step")
        ax.set_ylabel("largest distance between units (layer 1)")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.suptitle("Symmetry: do the units of a hidden layer stay copies of each other?")
    return plotting.save(fig, out / "symmetry.png")

def _training(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    fig, ax = plotting.figure(1, 1)
    for s in STARTS:
        acc = c20["accuracy"][s]
        plotting.band(ax, np.arange(acc.shape[1]), acc, label=start_label(s, cfg.constant))
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("train accuracy")
    ax.set_title("C20: sigmoid 2-8-8-1 on two circles, by start")
    ax.legend(fontsize=7)
    return plotting.save(fig, out / "c20_training.png")

def _logistic(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    fig, ax = plotting.figure(1, 1)
    # float32 resolves the loss to about 3e-8: below that the gap is rounding, drawn at the floor.
    gap = np.maximum(np.abs(c22["loss_curve"] - c22["loss_star"]), 1e-8)
    plotting.band(ax, np.arange(1, gap.shape[1] + 1), gap[1:], label="N(0, 1) starts")
    ax.plot(np.arange(1, gap.shape[1] + 1), gap[0], color="k", lw=1.5, label="zero start")
    ax.set_yscale("log")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("|loss - optimum L*| (nats; float32 floor 1e-8)")
    ax.set_title("C22: logistic regression on watermelon 3.0alpha")
    ax.legend(fontsize=7)
    return plotting.save(fig, out / "logistic.png")

def _embeddings(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    fig, axes = plotting.figure(2, 1, height=4.0)
    for name in ("mlp_tanh_zero", "mlp_tanh_random", "mlp_relu_zero", "fm_zero", "fm_random"):
        lo = c23[name]["loss"]
        plotting.band(axes[0], np.arange(lo.shape[1]), lo, label=EMBEDDING_LABELS[name])
        plotting.band(axes[1], np.arange(lo.shape[1]), np.maximum(c23[name]["emb_grad"], 1e-12),
                      label=EMBEDDING_LABELS[name])
    axes[0].set_ylabel("training loss (mean cross-entropy, nats)")
    axes[1].set_ylabel("embedding gradient norm\n(0 shown as 1e-12)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("gradient-descent step")
        ax.legend(fontsize=6)
    fig.suptitle("C23: embedding tables from zeros")
    return plotting.save(fig, out / "embeddings.png")

def _schemes(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    fig, axes = plotting.figure(3, 1, width=4.6, height=4.4)
    labels = [SCHEME_LABELS[s] for s in SCHEMES]
    axes[0].boxplot([c24["test_acc"][s] for s in SCHEMES], tick_labels=labels)
    axes[0].set_ylabel("final test accuracy")
    axes[1].boxplot([np.where(c24["steps95"][s] > 0, c24["steps95"][s], cfg.scheme_steps + 1) for s in SCHEMES],
                    tick_labels=labels)
    axes[1].set_ylabel(f"steps to 95% train acc. ({cfg.scheme_steps + 1} = never)")
    axes[2].boxplot([c24["loss0"][s] for s in SCHEMES], tick_labels=labels)
    axes[2].set_yscale("log")
    axes[2].set_ylabel("loss at step 0 (nats)")
    for ax in axes:
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.set_xlabel("initialisation scheme")
    fig.suptitle(f"C24: 2-10-5-1 ReLU net on two circles, {cfg.scheme_seeds} seeds per scheme")
    return plotting.save(fig, out / "schemes.png")

def _depth(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> str:
    fig, axes = plotting.figure(2, 2, width=4.8)
    axes = np.asarray(axes).reshape(2, 2)
    for i, h in enumerate(("relu", "tanh")):
        for s in SCHEMES:
            if s == "zeros":
                continue
            a = dp["act_rms"][(h, s)]
            g = dp["grad_norm"][(h, s)]
            axes[i, 0].plot(np.arange(1, a.shape[1] + 1), np.median(a, 0), marker="o", ms=3, label=SCHEME_LABELS[s])
            axes[i, 1].plot(np.arange(1, g.shape[1] + 1), np.maximum(np.median(g, 0), 1e-30), marker="o", ms=3,
                            label=SCHEME_LABELS[s])
        axes[i, 0].set_ylabel(f"{h}: activation RMS")
        axes[i, 1].set_ylabel(f"{h}: |dJ/dW| (Frobenius)")
        for ax in axes[i]:
            ax.set_yscale("log")
            ax.set_xlabel("layer")
            ax.legend(fontsize=6)
    fig.suptitle(f"Signal and gradient scale at initialisation through {cfg.depth_layers} layers "
                 f"(median of {cfg.depth_seeds} seeds; zeros: all 0, not shown)")
    return plotting.save(fig, out / "depth_profile.png")


FIGURES = (_masks, _symmetry, _training, _logistic, _embeddings, _schemes, _depth)


def make_all(cfg, mk, c20, c22, c23, c24, dp, out: Path) -> dict:
    """Every figure: ``{name: saved path}``."""
    names = ('masks', 'symmetry', 'training', 'logistic', 'embeddings', 'schemes', 'depth')
    return {n: f(cfg, mk, c20, c22, c23, c24, dp, Path(out)) for n, f in zip(names, FIGURES, strict=True)}
