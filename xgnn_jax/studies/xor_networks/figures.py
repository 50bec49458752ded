"""The xor_networks study's figure: each network's output over the input plane and its decision boundary."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import neurons
from xgnn_jax.study import plotting

OUTPUT_NORM = (0.0, 1.0)  # colour scale of the network output shared by the panels (values beyond are clipped)


def decision_panel(ax, predict, title, x, y):
    """The network output over the input plane as a colour map on [0, 1] (clipped), its 1/2 contour (the decision
    boundary, where the output crosses 1/2) and the XOR points. Returns the colour-map artist (for a colour bar)."""
    g = np.linspace(-0.5, 1.5, 161)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    z = np.asarray(predict(grid), np.float64).reshape(gx.shape)
    lo, hi = OUTPUT_NORM
    im = ax.imshow(np.clip(z, lo, hi), origin="lower", extent=(-0.5, 1.5, -0.5, 1.5), cmap="RdBu", vmin=lo,
                   vmax=hi, aspect="auto")
    if z.min() < 0.5 < z.max():
        ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1)
    pos = y[:, 0] > 0.5
    ax.scatter(x[pos, 0], x[pos, 1], c="tab:blue", marker="o", s=50, edgecolors="w", label="XOR = 1", zorder=3)
    ax.scatter(x[~pos, 0], x[~pos, 1], c="tab:red", marker="s", s=50, edgecolors="w", label="XOR = 0", zorder=3)
    ax.plot([], [], "k-", lw=1, label="output = 1/2 (decision boundary)")
    ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(-0.5, 1.5), ylim=(-0.5, 1.5))
    return im, (float(z.min()), float(z.max()))


def plot_decision_regions(out_dir, cfg, x, y, step, sig, lin, rbf2, rbf):
    """Six panels: the hand-set step net, a trained sigmoid net that solves XOR and one that does not (or the final
    losses), the best deep linear net, the closed-form RBF net and a trained RBF net."""
    step_model, step_params = step
    sig_model, sig_params, sig_ok, sig_loss = sig
    lin_W, lin_b, lin_loss = lin
    rbf_params, rbf_ok = rbf
    fig, axes = plotting.figure(3, 2, width=3.8, height=3.5, layout="constrained")
    shared = [decision_panel(axes[0], lambda g: step_model.apply(step_params, jnp.asarray(g)),
                             "hand-set step net", x, y)[0]]
    if sig_ok.any():
        i = int(np.argmax(sig_ok))
        p = jax.tree.map(lambda a: a[i], sig_params)
        shared.append(decision_panel(axes[1], lambda g: sig_model.apply(p, jnp.asarray(g)),
                                     f"trained 2-2-1 sigmoid, seed {i}: XOR", x, y)[0])
    if (~sig_ok).any():
        i = int(np.argmax(~sig_ok))
        p = jax.tree.map(lambda a: a[i], sig_params)
        shared.append(decision_panel(axes[2], lambda g: sig_model.apply(p, jnp.asarray(g)),
                                     f"trained 2-2-1 sigmoid, seed {i}:\nnot XOR after {cfg.epochs} steps", x, y)[0])
    else:
        axes[2].hist(sig_loss, bins=20, color="tab:gray", label="final loss per seed")
        axes[2].set(title="2-2-1 sigmoid: final losses", xlabel="final loss E", ylabel="seeds (count)")
        axes[2].legend(fontsize=7)
    # The deep linear net's output is 1/2 up to rounding everywhere (W -> 0): on the shared scale one neutral
    # colour, which the title spells out.
    g = np.linspace(-0.5, 1.5, 161)
    plane = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) @ lin_W + lin_b
    shared.append(decision_panel(
        axes[3], lambda g: g @ lin_W + lin_b,
        f"deep linear net (best seed, loss {lin_loss:.3f}):\noutput {plane.min():.4f}-{plane.max():.4f}, "
        f"the neutral colour: no decision", x, y)[0])
    shared.append(decision_panel(axes[4], lambda g: neurons.rbf_apply(rbf2, jnp.asarray(g)),
                                 "RBF, 2 centres + bias (closed form)", x, y)[0])
    if rbf_ok.any():
        i = int(np.argmax(rbf_ok))
        p = jax.tree.map(lambda a: a[i], rbf_params)
        shared.append(decision_panel(axes[5], lambda g: neurons.rbf_apply(p, jnp.asarray(g)),
                                     f"RBF, {cfg.rbf_centres} centres, trained", x, y)[0])
    fig.colorbar(shared[0], ax=list(axes), shrink=0.7, extend="both",
                 label="network output (red 0, white 1/2, blue 1; clipped)")
    for ax in axes:
        ax.title.set_fontsize(9)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle("XOR: network output over the input plane (colour) and its 1/2 contour (decision boundary)",
                 fontsize=10)
    return plotting.save(fig, f"{out_dir}/xor_decision_regions.png")
