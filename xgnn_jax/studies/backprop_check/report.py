"""Tables and figures of the backprop_check study."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from xgnn_jax.grads import gradcheck as gc
from xgnn_jax.study import plotting

CHECKS = ("manual vs autodiff", "manual vs finite differences", "autodiff vs finite differences")
AUTODIFF_RTOL = 1e-10
CAP = 1e3  # where a failed comparison with no number (shape mismatch, crash) is drawn in the figure


def fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "inf (shape)"
    return "0" if v == 0 else f"{v:.1e}"


def table(runs: list[dict], zoo: list[dict], c10: dict, hidden_one_layer_rel: float, cfg) -> str:
    lines = [f"# Backprop check (float64, {cfg.seeds} draws per row; max over draws and leaves)", "",
             "Errors are relative to each leaf's largest reference entry. Pass: <= 1e-10 against autodiff, <= 1e-5 "
             "against finite differences.", "",
             "| architecture | claim | " + " | ".join(CHECKS) + " | expected | verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in runs:
        fd_note = "" if r["fd_kind"] == "full" else " (dir.)"
        lines.append(f"| {r['name']} | {r['claim']} | {fmt(r['errors'][0])} | {fmt(r['errors'][1])}{fd_note} | "
                     f"{fmt(r['errors'][2])}{fd_note} | "
                     f"{'pass' if r['expect_pass'] else 'fail'} | {'as expected' if r['as_expected'] else 'UNEXPECTED'} |")
    lines += ["", "## C14 bug zoo", "", "| variant | gradient check | init check | caught | caught by | effect |",
              "|---|---|---|---|---|---|"]
    for z in zoo:
        lines.append(f"| {z['variant']} | {z['gradient_check']} | {z['init_check']} | "
                     f"{'yes' if z['caught'] else ('n/a' if z['variant'] == 'correct' else 'NO')} | "
                     f"{z['caught_by']} | {z['effect']} |")
    lines += ["", f"`hidden_fed_input` on a network with one hidden layer (4-6-3): max rel difference from the correct "
              f"gradient {fmt(hidden_one_layer_rel)} (the article's [1000, 100, 10] cannot show this bug).", "",
              "## C10 output layers (float64)", "",
              "| quantity | value |", "|---|---|",
              f"| max abs(sum softmax - 1), logits ~ N(0, 9) | {fmt(c10['softmax_sum_err'])} |",
              f"| max abs(sum softmax - 1), saturated logits ~ N(0, 100^2) | {fmt(c10['softmax_sum_err_saturated'])} |",
              f"| sum of 5 independent sigmoid outputs: min, max | {c10['sigmoid_sum_min']:.2f}, "
              f"{c10['sigmoid_sum_max']:.2f} |",
              f"| softmax CE: max abs(jax.grad - (o - o*)/N) | {fmt(c10['ce_grad_err'])} |",
              f"| sigmoid BCE: max abs(jax.grad - (o - o*)/N) | {fmt(c10['bce_grad_err'])} |",
              f"| sigmoid + 1/2 SSE: max abs(jax.grad - (y_hat - y) y_hat (1 - y_hat)) | "
              f"{fmt(c10['half_sse_sigmoid_grad_err'])} |",
              f"| losses finite for saturated logits | {c10['losses_finite_saturated']} |", ""]
    return "\n".join(lines)


def figure(runs: list[dict], out_dir: Path) -> str:
    errs = np.array([r["errors"] for r in runs], dtype=float)
    shown = np.where(np.isfinite(errs), np.maximum(errs, 1e-18), CAP)
    fig, ax = plotting.figure(width=9.0, height=0.42 * len(runs) + 1.5)
    ypos = np.arange(len(runs))
    h = 0.27
    for j, (check, color) in enumerate(zip(CHECKS, ("tab:blue", "tab:orange", "tab:green"), strict=True)):
        ax.barh(ypos + (j - 1) * h, shown[:, j], height=h, color=color, label=check, log=True, left=1e-18)
    ax.axvline(AUTODIFF_RTOL, color="k", ls="--", lw=1, label="tolerance vs autodiff (1e-10)")
    ax.axvline(gc.FD_RTOL, color="gray", ls=":", lw=1.2, label="tolerance vs finite differences (1e-5)")
    ax.set_yticks(ypos, [r["name"] for r in runs], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1e-18, CAP * 10)
    ax.set(xlabel="max relative error over leaves and draws\n(log scale; 0 drawn at 1e-18, shape mismatch at 1e3)",
           ylabel="architecture (claim rows of table.md)",
           title="Hand-derived gradients vs autodiff vs finite differences (float64)")
    ax.legend(fontsize=7, loc="lower right")
    return plotting.save(fig, out_dir / "errors.png")
