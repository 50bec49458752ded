"""XOR with two layers: the hand-set step network, a trained 2-2-1 sigmoid network, linear collapse, and the RBF
network of exercise 5.7 (C6, C7).

What is measured:

* C6: the book's hand-set 2-2-1 network of step units on the four XOR inputs; a 2-2-1 sigmoid network trained
  with the book's setting (sigmoid output, ``E = (1/m) sum_k 1/2 (y_hat_k - y_k)^2``, full-batch gradient descent
  = accumulated BP) from many random initialisations (``train.make_run`` vmapped over seeds): how many reach 100%
  accuracy; decision regions plotted.
* C7: in float64, a deep network with identity activations against the single linear map
  ``x W + b`` from :func:`xgnn_jax.analysis.neurons.collapse_linear` (max difference, target 1e-12); the same deep linear
  network trained on XOR from many seeds against the best single linear layer (least squares in closed form):
  its loss is never lower and its accuracy never above 3/4.
* Exercise 5.7: an RBF network ``phi(x) = sum_i w_i exp(-beta |x - c_i|^2) (+ b)`` solving XOR, with the output
  weights in closed form (four centres on the inputs, the book's bias-free form; two centres (0,0), (1,1) plus a
  bias), and trained by gradient descent (centres, widths and weights) from many seeds.

Quick setting: about 10-15 s on 2 CPU cores; full: about a minute.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import neurons
from xgnn_jax.analysis.escape import wilson_interval
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import train
from xgnn_jax.study import plotting, results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import verdict


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    seeds: int = 64  # random initialisations of each trained network
    epochs: int = 2000  # full-batch gradient descent steps (accumulated BP)
    lr: float = 2.0  # learning rate of the 2-2-1 sigmoid network (mean half squared error)
    init: str = "uniform(-1, 1)"  # weights and biases of the trained 2-2-1 network
    linear_sizes: tuple[int, ...] = (2, 8, 8, 8, 1)  # the deep network without activations
    linear_lr: float = 0.05
    rbf_centres: int = 2  # centres of the trained RBF network (with a bias)
    rbf_steps: int = 500
    rbf_lr: float = 0.05
    rbf_beta: float = 1.0  # width of the closed-form RBF networks

    ESTIMATED_SECONDS = {"quick": 15, "full": 75}

    @classmethod
    def full(cls) -> Config:
        return cls(seeds=1024, epochs=10000, rbf_steps=2000)


OUTPUT_NORM = (0.0, 1.0)  # colour scale of the network output shared by the panels (values beyond are clipped)


def _decision_panel(ax, predict, title, x, y):
    """The network output over the input plane as a colour map on [0, 1] (clipped), its 1/2 contour (the decision
    boundary, where the output crosses 1/2) and the XOR points. Returns the colour-map artist (for a colour bar)."""
    g = np.linspace(-0.5, 1.5, 161)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    z = np.asarray(jax.jit(predict)(grid), np.float64).reshape(gx.shape)
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


def _compiled_vmap(run_fn, keys, hp):
    """``run_fn`` vmapped over keys (one shared ``hp``), compiled with the fast XLA setting, as numpy arrays."""
    f, _ = train.compile_run(jax.vmap(run_fn, in_axes=(0, None)), keys, hp)
    return jax.device_get(f(keys, hp))


@functools.partial(jax.jit, static_argnames=("model",))
def _collapse(model, key, x, y):
    """Max |deep(x) - (x W + b)| on 256 random inputs, the output scale, and the least-squares line on (x, y)."""
    params = model.init(key, dtype=x.dtype)
    xr = jax.random.normal(key, (256, model.sizes[0]), x.dtype)
    W, b = neurons.collapse_linear(model, params)
    deep = model.apply(params, xr)
    w_ls, b_ls = neurons.least_squares_linear(x, y)
    ls_out = x @ w_ls + b_ls
    return (jnp.max(jnp.abs(deep - (xr @ W + b))), jnp.max(jnp.abs(deep)), ls_out,
            0.5 * jnp.mean(jnp.sum((ls_out - y) ** 2, axis=1)))


@jax.jit
def _rbf_closed_forms(x, y, beta):
    """Exercise 5.7 in closed form: four centres on the inputs (no bias) and two centres (0,0), (1,1) with a bias."""
    rbf4 = neurons.rbf_fit_output(x, y, x, beta)
    rbf2 = neurons.rbf_fit_output(x, y, x[jnp.array([0, 3])], beta, bias=True)
    err = [jnp.max(jnp.abs(neurons.rbf_apply(p, x) - y)) for p in (rbf4, rbf2)]
    return rbf4, rbf2, err[0], err[1]


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    key = jax.random.key(cfg.seed)
    k_sig, k_lin, k_rbf, k_col = jax.random.split(key, 4)
    xor = datasets.logic_gate("xor")
    x, y = xor.x, xor.y
    x_np, y_np = np.asarray(x), np.asarray(y)
    verdicts, arrays, summary = [], {}, {}

    # ------------------------------------------------------------------ C6: hand-set step network
    step_model, step_params = neurons.xor_step_network()
    step_out, hidden = (np.asarray(a) for a in jax.jit(
        lambda p: (step_model.apply(p, x), step_model.hidden_activations(p, x)[0]))(step_params))
    step_ok = bool(np.all(step_out == y_np))

    # ------------------------------------------------------------------ C6: trained 2-2-1 sigmoid network
    sig_model = MLP((2, 2, 1), hidden="sigmoid", output="sigmoid", weight_init=cfg.init, bias_init=cfg.init)
    tcfg = train.TrainConfig(epochs=cfg.epochs, mode=train.ACCUMULATED_BP, loss="half_sse", optimizer="sgd",
                             record_grad_norm=False)
    sig_run = train.make_run(sig_model, train.Data(x, y), tcfg)
    sig = _compiled_vmap(sig_run, jax.random.split(k_sig, cfg.seeds), train.hparams(lr=cfg.lr))
    sig_ok = np.asarray(sig.final_accuracy) == 1.0
    sig_div = np.asarray(sig.diverged)
    sig_loss = np.asarray(sig.final_loss)
    frac = float(sig_ok.mean())
    arrays.update(sigmoid_final_loss=sig_loss, sigmoid_final_accuracy=np.asarray(sig.final_accuracy),
                  sigmoid_diverged=sig_div)
    stuck = sig_loss[~sig_ok & ~sig_div]

    # ------------------------------------------------------------------ C7: linear collapse (float64)
    lin_model = MLP(tuple(cfg.linear_sizes), hidden="identity", output="identity", weight_init="normal",
                    bias_init="normal")
    with jax.enable_x64(True):
        x64, y64 = jnp.asarray(np.asarray(x), jnp.float64), jnp.asarray(np.asarray(y), jnp.float64)
        collapse_err, out_scale, ls_out, ls_loss = (np.asarray(a) for a in _collapse(lin_model, k_col, x64, y64))
        collapse_err, out_scale, ls_loss = float(collapse_err), float(out_scale), float(ls_loss)
        lin_init = dataclasses.replace(lin_model, weight_init="fan_in_uniform", bias_init="fan_in_uniform")
        lin_run = train.make_run(lin_init, train.Data(x64, y64), dataclasses.replace(tcfg, threshold=0.5))
        lin = _compiled_vmap(lin_run, jax.random.split(k_lin, cfg.seeds), train.hparams(lr=cfg.linear_lr))
        lin_loss = np.asarray(lin.final_loss, np.float64)
        lin_acc = np.asarray(lin.final_accuracy)
        lin_div = np.asarray(lin.diverged)
        best = int(np.nanargmin(np.where(lin_div, np.inf, lin_loss)))
        # The trained deep linear net as its single map x W + b (numpy: no further compiles).
        lin_W, lin_b = np.asarray(lin.params[0]["W"][best]), np.asarray(lin.params[0]["b"][best])
        for layer in lin.params[1:]:
            lin_W, lin_b = lin_W @ layer["W"][best], lin_b @ layer["W"][best] + layer["b"][best]
    arrays.update(linear_final_loss=lin_loss, linear_final_accuracy=lin_acc, linear_diverged=lin_div)
    ok_lin = lin_loss[~lin_div]
    # A linear map cannot beat the least-squares optimum; 1e-9 allows for float64 rounding.
    never_better = bool(np.all(ok_lin >= ls_loss - 1e-9))
    max_acc = float(lin_acc[~lin_div].max()) if (~lin_div).any() else float("nan")
    ok_c7 = collapse_err <= 1e-12 * max(out_scale, 1.0) and never_better and max_acc <= 0.75

    # ------------------------------------------------------------------ exercise 5.7: RBF networks
    rbf4, rbf2, err4, err2 = _rbf_closed_forms(x, y, cfg.rbf_beta)
    closed_err = {"4 centres on the inputs, no bias": float(err4), "2 centres (0,0), (1,1) + bias": float(err2)}
    rcfg = neurons.RBFTrainConfig(q=cfg.rbf_centres, steps=cfg.rbf_steps, bias=True, beta0=cfg.rbf_beta)
    rbf_run = neurons.make_rbf_run(x, y, rcfg)
    rbf = _compiled_vmap(rbf_run, jax.random.split(k_rbf, cfg.seeds), jnp.float32(cfg.rbf_lr))
    rbf_ok = np.asarray(rbf.final_accuracy) == 1.0
    rbf_frac = float(rbf_ok.mean())
    arrays.update(rbf_final_loss=np.asarray(rbf.final_loss), rbf_final_accuracy=np.asarray(rbf.final_accuracy))
    ok_rbf = all(e < 1e-3 for e in closed_err.values()) and rbf_frac > 0

    # ------------------------------------------------------------------ figure
    figs = []
    if out_dir is not None:
        fig, axes = plotting.figure(3, 2, width=3.8, height=3.5, layout="constrained")
        shared = [_decision_panel(axes[0], lambda g: step_model.apply(step_params, jnp.asarray(g)),
                                  "hand-set step net", x_np, y_np)[0]]
        if sig_ok.any():
            i = int(np.argmax(sig_ok))
            p = jax.tree.map(lambda a: a[i], sig.params)
            shared.append(_decision_panel(axes[1], lambda g: sig_model.apply(p, jnp.asarray(g)),
                                          f"trained 2-2-1 sigmoid, seed {i}: XOR", x_np, y_np)[0])
        if (~sig_ok).any():
            i = int(np.argmax(~sig_ok))
            p = jax.tree.map(lambda a: a[i], sig.params)
            shared.append(_decision_panel(axes[2], lambda g: sig_model.apply(p, jnp.asarray(g)),
                                          f"trained 2-2-1 sigmoid, seed {i}:\nnot XOR after {cfg.epochs} steps", x_np,
                                          y_np)[0])
        else:
            axes[2].hist(sig_loss, bins=20, color="tab:gray", label="final loss per seed")
            axes[2].set(title="2-2-1 sigmoid: final losses", xlabel="final loss E", ylabel="seeds (count)")
            axes[2].legend(fontsize=7)
        # The deep linear net's output is 1/2 up to rounding everywhere (W -> 0): on the shared scale one neutral
        # colour, which the title spells out.
        g = np.linspace(-0.5, 1.5, 161)
        plane = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) @ lin_W + lin_b
        shared.append(_decision_panel(
            axes[3], lambda g: g @ lin_W + lin_b,
            f"deep linear net (best seed, loss {lin_loss[best]:.3f}):\noutput {plane.min():.4f}-{plane.max():.4f}, "
            f"the neutral colour: no decision", x_np, y_np)[0])
        shared.append(_decision_panel(axes[4], lambda g: neurons.rbf_apply(rbf2, jnp.asarray(g)),
                                      "RBF, 2 centres + bias (closed form)", x_np, y_np)[0])
        if rbf_ok.any():
            i = int(np.argmax(rbf_ok))
            p = jax.tree.map(lambda a: a[i], rbf.params)
            shared.append(_decision_panel(axes[5], lambda g: neurons.rbf_apply(p, jnp.asarray(g)),
                                          f"RBF, {cfg.rbf_centres} centres, trained", x_np, y_np)[0])
        fig.colorbar(shared[0], ax=list(axes), shrink=0.7, extend="both",
                     label="network output (red 0, white 1/2, blue 1; clipped)")
        for ax in axes:
            ax.title.set_fontsize(9)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8)
        fig.suptitle("XOR: network output over the input plane (colour) and its 1/2 contour (decision boundary)",
                     fontsize=10)
        figs.append(plotting.save(fig, f"{out_dir}/xor_decision_regions.png"))

    # ------------------------------------------------------------------ verdicts
    n_div = int(sig_div.sum())
    n_ok = int(sig_ok.sum())
    lo, hi = (float(v) for v in wilson_interval(n_ok, cfg.seeds))
    c6_measured = (
        f"hand-set step network outputs {step_out[:, 0].astype(int).tolist()} on 00, 01, 10, 11 (XOR: "
        f"{y_np[:, 0].astype(int).tolist()}; hidden units {hidden.astype(int).tolist()}): correct = {step_ok}. "
        f"Trained 2-2-1 sigmoid network: {n_ok} of {cfg.seeds} seeds ({100 * frac:.0f}%, 95% Wilson interval "
        f"{100 * lo:.0f}-{100 * hi:.0f}%) reach 100% accuracy; diverged {n_div}; final loss of the successful seeds "
        f"median {np.median(sig_loss[sig_ok]) if sig_ok.any() else float('nan'):.2g}"
        + (f"; the other {len(stuck)} end at loss {np.min(stuck):.3g}-{np.max(stuck):.3g} (median "
           f"{np.median(stuck):.3g}) without reaching XOR" if len(stuck) else ""))
    verdicts.append(verdict(
        "C6", step_ok and frac > 0, "Do two layers solve XOR, hand-set with step units and trained with sigmoids?",
        c6_measured, conditional=frac < 1,
        conditions=f"gradient training reaches XOR from {100 * frac:.0f}% (95% CI {100 * lo:.0f}-{100 * hi:.0f}%) "
                   f"of random initialisations ({cfg.init}, lr {cfg.lr}); the other {cfg.seeds - n_ok} do not reach "
                   f"XOR within {cfg.epochs} full-batch steps (not shown here to be local minima: the minima study, C17, "
                   f"examines such end points), so training needs restarts or longer runs",
        setting=f"book's figure 5.5a weights; sigmoid 2-2-1, mean half squared error, accumulated BP (full batch "
                f"sgd), lr {cfg.lr}, {cfg.epochs} epochs, {cfg.seeds} seeds",
        figures=figs))
    verdicts.append(verdict(
        "C7", ok_c7, "Does a network without activations collapse to one linear map that cannot fit XOR?",
        f"deep identity network {tuple(cfg.linear_sizes)} vs x W + b with W = W1 W2 ... WL: max difference "
        f"{collapse_err:.2e} on 256 random inputs (outputs up to {out_scale:.3g}; float64). Best single linear "
        f"layer on XOR (least squares): loss {ls_loss:.4f}, outputs {np.asarray(ls_out)[:, 0].round(3).tolist()}. "
        f"Deep linear network trained from {cfg.seeds} seeds: final loss min/median {ok_lin.min():.6f}/"
        f"{np.median(ok_lin):.6f} (never below the single layer's: {never_better}), best accuracy "
        f"{max_acc:.2f} (no line gets more than 3 of 4 XOR points)",
        setting=f"float64; training: mean half squared error, full batch, lr {cfg.linear_lr}, {cfg.epochs} epochs",
        figures=figs))
    n_rbf = int(rbf_ok.sum())
    r_lo, r_hi = (float(v) for v in wilson_interval(n_rbf, cfg.seeds))
    rbf_loss = np.asarray(rbf.final_loss)
    verdicts.append(verdict(
        "Ex5.7", ok_rbf, "Does an RBF network solve XOR (exercise 5.7), in closed form and by training?",
        "closed form: " + "; ".join(f"{k}: max |phi(x) - y| = {e:.1e}" for k, e in closed_err.items())
        + f". Trained ({cfg.rbf_centres} centres + bias, centres, widths and weights by Adam, {cfg.rbf_steps} steps): "
          f"{n_rbf} of {cfg.seeds} seeds ({100 * rbf_frac:.0f}%, 95% Wilson interval {100 * r_lo:.0f}-"
          f"{100 * r_hi:.0f}%) reach 100% accuracy, final loss median {np.median(rbf_loss):.2g}"
        + (f"; the other {cfg.seeds - n_rbf} end at loss {np.min(rbf_loss[~rbf_ok]):.3g}-"
           f"{np.max(rbf_loss[~rbf_ok]):.3g}" if (~rbf_ok).any() else ""),
        conditional=rbf_frac < 1,
        conditions=f"the closed forms always solve it; gradient training of {cfg.rbf_centres} centres + bias reaches "
                   f"XOR from {100 * rbf_frac:.0f}% (95% CI {100 * r_lo:.0f}-{100 * r_hi:.0f}%) of random starts "
                   f"(centres uniform in [0, 1]^2, Adam lr {cfg.rbf_lr}, {cfg.rbf_steps} steps); the other "
                   f"{cfg.seeds - n_rbf} do not within that budget",
        setting=f"rho(x, c) = exp(-beta |x - c|^2), beta = {cfg.rbf_beta} in the closed forms; trained: lr "
                f"{cfg.rbf_lr}, centres uniform in [0, 1]^2",
        figures=figs))

    summary.update(
        step_network={"outputs": step_out[:, 0], "correct": step_ok},
        sigmoid_221={"seeds": cfg.seeds, "success_fraction": frac, "success_wilson95": (lo, hi), "diverged": n_div},
        linear_collapse={"max_abs_difference": collapse_err, "least_squares_loss": ls_loss,
                         "trained_min_loss": float(ok_lin.min()), "trained_max_accuracy": max_acc},
        rbf={"closed_form_max_error": closed_err, "trained_success_fraction": rbf_frac,
             "trained_success_wilson95": (r_lo, r_hi)},
        verdicts=verdicts)
    wall = time.perf_counter() - t0
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


STUDY = Study(
    name="xor_networks",
    title="XOR with two layers: step network, trained sigmoid network, linear collapse, RBF network",
    claims=("C6", "C7"),
    config=Config,
    run=run,
    order=6,
    description=__doc__.split("\n\n")[0],
)
