"""Hand-derived backpropagation against autodiff and finite differences, and the C14 bug zoo (C9, C10, C12-C14).

What is measured, in float64 (every row at ``seeds`` random draws of parameters, inputs and targets; biases are
drawn non-zero so that a bias bug shows):

* For each architecture, three errors per parameter leaf, relative to the leaf's largest reference entry
  (:mod:`xgnn_jax.grads.gradcheck`): manual vs ``jax.grad``; manual vs central finite differences; ``jax.grad`` vs finite
  differences. Full finite-difference gradients for the small networks; for the article's 1000-100-10 network
  (101 000 weights) random directional derivatives instead. Tolerances: 1e-10 (manual vs autodiff), 1e-5 (finite
  differences, ``jax.test_util``'s float64 default). (``gradcheck.check_grads_manual`` runs ``jax.test_util.check_grads`` on a manual gradient; the
  tests use it, the study does not, to stay within its time budget.)
* Rows: the book's single-hidden-layer BP (eqs. 5.10-5.15); the article's 2-3-2 network (C9); the vectorised
  L-layer backward pass on several depths, activations, losses and reductions (C12); the article's numpy network
  with the factor 2 restored and as printed (C13); the correct generic DNN and each bug of the article's class (C14).
* C14: each bug is a separate variant; the gradient check's verdict on each, and an init-statistics check (each
  weight leaf's mean and spread against a draw of the intended fan-in uniform init, at the article's 1000-100-10
  sizes), because drawing weights from U[0, 1) is not a gradient bug. Also: whether "hidden layers fed X" is
  visible with the article's single hidden layer.
* C10: softmax probabilities sum to 1 (also for saturated logits), independent sigmoid outputs do not; the logit
  gradients of softmax + cross-entropy ``(o - o*)/N``, sigmoid + binary cross-entropy ``(o - o*)/N`` and the book's
  sigmoid + half squared error ``(y_hat - y) y_hat (1 - y_hat)`` (= -g_j, eq. 5.10) against ``jax.grad``.

Writes ``summary.json``, ``arrays.npz`` (errors per row, seed and check), ``table.md`` (readable tables) and
``errors.png`` (error magnitudes per check, log scale). Quick setting: about 16 s of CPU (compiling one small
program per architecture dominates; more draws cost almost nothing), full: 64 draws per row.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core import losses
from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.grads import backprop as bp
from xgnn_jax.grads import gradcheck as gc
from xgnn_jax.io import atomic_write_bytes
from xgnn_jax.study import plotting, results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import Verdict, verdict

CHECKS = ("manual vs autodiff", "manual vs finite differences", "autodiff vs finite differences")
AUTODIFF_RTOL = 1e-10
CAP = 1e3  # where a failed comparison with no number (shape mismatch, crash) is drawn in the figure


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    seeds: int = 2  # random draws (parameters, inputs, targets) per architecture
    batch: int = 8  # examples per draw (the C13 network uses the article's 64)
    directions: int = 4  # random directions of the directional finite-difference check (C13)

    ESTIMATED_SECONDS = {"quick": 20, "full": 40}  # compile-bound: one program per architecture

    @classmethod
    def full(cls) -> Config:
        return cls(seeds=64, directions=16)


@dataclasses.dataclass(frozen=True)
class Row:
    """One architecture of the table: the model, its objective, and which hand-written gradient is checked."""

    name: str
    claim: str
    model: MLP
    loss: str
    reduction: str
    manual: str  # "generic", "book", "232", "c13", "c13_article", "dnn" or "dnn:<bug>"
    expect_pass: bool = True


def rows() -> tuple[Row, ...]:
    generic = [
        ((4, 8, 8, 3), "tanh", "identity", "mse", "mean"),
        ((4, 8, 8, 8, 3), "relu", "softmax", "softmax_cross_entropy", "mean"),
        ((5, 6, 6, 4), "sigmoid", "sigmoid", "sigmoid_binary_cross_entropy", "sum"),
        ((3, 5, 2), "relu", "sigmoid", "half_sse", "mean"),
        ((6, 7, 5, 4, 2), "softmax", "tanh", "sse", "sum"),
        ((2, 1, 3), "identity", "relu", "half_sse", "sum"),
    ]
    out = [Row("book 3-4-2, sigmoid units, eqs. 5.10-5.15", "C12", bp.book_model(3, 4, 2), "half_sse", "mean",
               "book"),
           Row("article 2-3-2, sigmoid + softmax cross-entropy", "C9", bp.ARTICLE_232, "softmax_cross_entropy",
               "mean", "232")]
    for sizes, hidden, output, loss, reduction in generic:
        name = f"{'-'.join(map(str, sizes))} {hidden} / {output}, {loss} ({reduction})"
        out.append(Row(name, "C12", MLP(sizes, hidden=hidden, output=output), loss, reduction, "generic"))
    out += [Row("C13 1000-100-10 relu, sse, factor 2 restored", "C13", bp.C13_MODEL, "sse", "sum", "c13"),
            Row("C13 as printed (factor 2 missing)", "C13", bp.C13_MODEL, "sse", "sum", "c13_article", False)]
    dnn = bp.DNN(ZOO_SIZES)
    out.append(Row(f"C14 DNN {'-'.join(map(str, ZOO_SIZES))}, correct", "C14", dnn.model, dnn.LOSS, dnn.REDUCTION,
                   "dnn"))
    for bug in bp.DNN_BUGS:
        grad_bug = bug != "weights_uniform_0_1"
        out.append(Row(f"C14 bug: {bug}", "C14", dnn.model, dnn.LOSS, dnn.REDUCTION, f"dnn:{bug}", not grad_bug))
    return tuple(out)


ZOO_SIZES = (6, 6, 6, 4)  # two hidden layers as wide as the input, so "hidden layers fed X" computes numbers


def _manual_fn(row: Row) -> Callable:
    if row.manual == "generic":
        return bp.manual_grad(row.model, row.loss, row.reduction)
    if row.manual == "book":
        return bp.book_gradient
    if row.manual == "232":
        return lambda p, x, y: bp.net_232_gradients(p, x, y)[0]
    if row.manual == "c13":
        return bp.numpy_two_layer_gradients
    if row.manual == "c13_article":
        return functools.partial(bp.numpy_two_layer_gradients, factor=bp.ARTICLE_FACTOR)
    bug = row.manual.partition(":")[2] or None
    return bp.DNN(row.model.sizes, bug).grad


def _draw(row: Row, seed: int, batch: int):
    """Parameters, inputs and targets for the row's loss, drawn with numpy (no compile per shape).

    Weights fan-in uniform U(-1/sqrt(d), 1/sqrt(d)) (C24), or standard normal for the article's C13 network; biases
    N(0, 0.5^2), non-zero so that a bias bug shows.
    """
    rng = np.random.default_rng(seed)
    params = []
    for d_in, d_out in zip(row.model.sizes[:-1], row.model.sizes[1:], strict=True):
        if row.manual.startswith("c13"):
            layer = {"W": rng.standard_normal((d_in, d_out))}
        else:
            bound = 1 / math.sqrt(d_in)
            layer = {"W": rng.uniform(-bound, bound, (d_in, d_out))}
        if row.model.bias:
            layer["b"] = 0.5 * rng.standard_normal(d_out)
        params.append(layer)
    n = bp.C13_N if row.manual.startswith("c13") else batch
    k = row.model.sizes[-1]
    x = rng.standard_normal((n, row.model.sizes[0]))
    if row.loss == "softmax_cross_entropy":
        y = np.eye(k)[rng.integers(0, k, n)]
    elif row.loss == "sigmoid_binary_cross_entropy":
        y = (rng.random((n, k)) < 0.5).astype(float)
    elif row.manual == "book":
        y = rng.random((n, k))  # the book's sigmoid outputs fit targets in (0, 1)
    else:
        y = rng.standard_normal((n, k))
    as64 = functools.partial(jnp.asarray, dtype=jnp.float64)
    return jax.tree.map(as64, tuple(params)), as64(x), as64(y)


@functools.cache
def _programs(row: Row):
    """The row's objective, manual gradient, and one compiled program computing (manual, autodiff, finite
    differences or None): one compile per architecture, reused for every draw."""
    J = objective(row.model, row.loss, row.reduction)
    manual_fn = _manual_fn(row)
    n_params = sum(a * b + (b if row.model.bias else 0) for a, b in zip(row.model.sizes, row.model.sizes[1:], strict=False))
    full_fd = n_params <= gc.MAX_FD_PARAMS
    return J, manual_fn, full_fd, jax.jit(lambda p, x, y: (
        manual_fn(p, x, y), jax.grad(J)(p, x, y), gc.finite_difference_grad(J, p, x, y) if full_fd else None))


def _check_row(row: Row, seed: int, cfg: Config) -> dict:
    """The three errors (max over leaves) and the pass/fail of each, for one draw."""
    params, x, y = _draw(row, seed, cfg.batch)
    J, manual_fn, full_fd, program = _programs(row)
    manual, auto, fd = program(params, x, y)
    vs_auto = gc.compare(manual, auto, AUTODIFF_RTOL)
    if full_fd:
        vs_fd, auto_fd = gc.compare(manual, fd, gc.FD_RTOL), gc.compare(auto, fd, gc.FD_RTOL)
        fd_kind = "full"
        errs = [vs_auto.max_rel, vs_fd.max_rel, auto_fd.max_rel]
        passes = [vs_auto.passed, vs_fd.passed, auto_fd.passed]
    else:
        kd = jax.random.key(seed)
        d_man = gc.directional_check(manual, J, params, x, y, key=kd, num_directions=cfg.directions)
        d_auto = gc.directional_check(auto, J, params, x, y, key=kd, num_directions=cfg.directions)
        fd_kind = f"directional ({cfg.directions} directions)"
        errs = [vs_auto.max_rel, d_man.max_rel, d_auto.max_rel]
        passes = [vs_auto.passed, d_man.passed, d_auto.passed]
    return {"errors": errs, "passes": passes, "fd_kind": fd_kind,
            "describe": vs_auto.describe(), "leaf_rel": {e.path: e.max_rel for e in vs_auto.leaves}}


def _c10(key) -> dict:
    """Softmax sums, sigmoid sums, and the three logit-gradient forms against jax.grad (float64)."""
    return {k: float(v) if v.dtype != bool else bool(v) for k, v in _c10_numbers(key).items()}


@jax.jit
def _c10_numbers(key) -> dict:
    k1, k2, k3 = jax.random.split(key, 3)
    n, k = 32, 5
    z = 3.0 * jax.random.normal(k1, (n, k), jnp.float64)
    z_sat = 100.0 * jax.random.normal(k1, (n, k), jnp.float64)  # saturated logits
    o_star = jax.nn.one_hot(jax.random.randint(k2, (n,), 0, k), k, dtype=jnp.float64)
    y01 = jax.random.bernoulli(k3, 0.5, (n, k)).astype(jnp.float64)
    p, p_sat, s = jax.nn.softmax(z), jax.nn.softmax(z_sat), jax.nn.sigmoid(z)

    def J(name, target):
        return lambda logits: jnp.mean(losses.get(name).fn(logits, target))

    ce_err = jnp.max(jnp.abs(jax.grad(J("softmax_cross_entropy", o_star))(z) - (p - o_star) / n))
    bce_err = jnp.max(jnp.abs(jax.grad(J("sigmoid_binary_cross_entropy", y01))(z) - (s - y01) / n))
    # The book: sigmoid outputs y_hat = sigmoid(z), E_k = 1/2 sum (y_hat - y)^2, dE_k/dz = (y_hat - y) y_hat (1-y_hat).
    E = lambda logits: jnp.sum(losses.half_sse(jax.nn.sigmoid(logits), y01))  # noqa: E731
    sse_err = jnp.max(jnp.abs(jax.grad(E)(z) - (s - y01) * s * (1 - s)))
    finite = (jnp.all(jnp.isfinite(losses.sigmoid_binary_cross_entropy(z_sat, y01)))
              & jnp.all(jnp.isfinite(losses.softmax_cross_entropy(z_sat, o_star))))
    sig_sums = jnp.sum(s, axis=-1)
    return {"softmax_sum_err": jnp.max(jnp.abs(jnp.sum(p, -1) - 1)),
            "softmax_sum_err_saturated": jnp.max(jnp.abs(jnp.sum(p_sat, -1) - 1)),
            "sigmoid_sum_min": sig_sums.min(), "sigmoid_sum_max": sig_sums.max(),
            "ce_grad_err": ce_err, "bce_grad_err": bce_err, "half_sse_sigmoid_grad_err": sse_err,
            "losses_finite_saturated": finite}


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "inf (shape)"
    return "0" if v == 0 else f"{v:.1e}"


def _table(runs: list[dict], zoo: list[dict], c10: dict, hidden_one_layer_rel: float, cfg: Config) -> str:
    lines = [f"# Backprop check (float64, {cfg.seeds} draws per row; max over draws and leaves)", "",
             "Errors are relative to each leaf's largest reference entry. Pass: <= 1e-10 against autodiff, <= 1e-5 "
             "against finite differences.", "",
             "| architecture | claim | " + " | ".join(CHECKS) + " | expected | verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in runs:
        fd_note = "" if r["fd_kind"] == "full" else " (dir.)"
        lines.append(f"| {r['name']} | {r['claim']} | {_fmt(r['errors'][0])} | {_fmt(r['errors'][1])}{fd_note} | "
                     f"{_fmt(r['errors'][2])}{fd_note} | "
                     f"{'pass' if r['expect_pass'] else 'fail'} | {'as expected' if r['as_expected'] else 'UNEXPECTED'} |")
    lines += ["", "## C14 bug zoo", "", "| variant | gradient check | init check | caught | caught by | effect |",
              "|---|---|---|---|---|---|"]
    for z in zoo:
        lines.append(f"| {z['variant']} | {z['gradient_check']} | {z['init_check']} | "
                     f"{'yes' if z['caught'] else ('n/a' if z['variant'] == 'correct' else 'NO')} | "
                     f"{z['caught_by']} | {z['effect']} |")
    lines += ["", f"`hidden_fed_input` on a network with one hidden layer (4-6-3): max rel difference from the correct "
              f"gradient {_fmt(hidden_one_layer_rel)} (the article's [1000, 100, 10] cannot show this bug).", "",
              "## C10 output layers (float64)", "",
              "| quantity | value |", "|---|---|",
              f"| max abs(sum softmax - 1), logits ~ N(0, 9) | {_fmt(c10['softmax_sum_err'])} |",
              f"| max abs(sum softmax - 1), saturated logits ~ N(0, 100^2) | {_fmt(c10['softmax_sum_err_saturated'])} |",
              f"| sum of 5 independent sigmoid outputs: min, max | {c10['sigmoid_sum_min']:.2f}, "
              f"{c10['sigmoid_sum_max']:.2f} |",
              f"| softmax CE: max abs(jax.grad - (o - o*)/N) | {_fmt(c10['ce_grad_err'])} |",
              f"| sigmoid BCE: max abs(jax.grad - (o - o*)/N) | {_fmt(c10['bce_grad_err'])} |",
              f"| sigmoid + 1/2 SSE: max abs(jax.grad - (y_hat - y) y_hat (1 - y_hat)) | "
              f"{_fmt(c10['half_sse_sigmoid_grad_err'])} |",
              f"| losses finite for saturated logits | {c10['losses_finite_saturated']} |", ""]
    return "\n".join(lines)


def _figure(runs: list[dict], out_dir: Path) -> str:
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


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    if cfg.seeds < 1 or cfg.batch < 1 or cfg.directions < 1:
        raise ValueError("seeds, batch, directions: expected positive integers")
    with jax.enable_x64(True):
        key = jax.random.key(cfg.seed)
        k_c10, k_init = jax.random.split(key)
        table_rows = rows()
        runs, errors = [], np.zeros((len(table_rows), cfg.seeds, 3))
        for i, row in enumerate(results.progress(table_rows, desc="backprop_check", enabled=progress)):
            per_seed = [_check_row(row, cfg.seed * 1_000_003 + 1000 * i + s, cfg)
                        for s in range(cfg.seeds)]
            errors[i] = [p["errors"] for p in per_seed]
            passes = np.array([p["passes"] for p in per_seed])
            all_pass = bool(passes.all())
            # A bug is flagged when, on every draw, both manual-vs-autodiff and manual-vs-finite-differences fail.
            any_flag = bool((~passes[:, 0]).all() and (~passes[:, 1]).all())
            runs.append({
                "name": row.name, "claim": row.claim, "manual": row.manual, "expect_pass": row.expect_pass,
                "hidden_layers": len(row.model.sizes) - 2, "hidden": row.model.hidden, "loss": row.loss,
                "reduction": row.reduction,
                "errors": errors[i].max(axis=0).tolist(), "median_errors": np.median(errors[i], axis=0).tolist(),
                "passes": passes.all(axis=0).tolist(), "fd_kind": per_seed[0]["fd_kind"],
                "describe": per_seed[0]["describe"],
                "as_expected": all_pass if row.expect_pass else any_flag,
            })
        c10 = _c10(k_c10)
        # C14: init statistics at the article's sizes, against a draw of the intended init from another key.
        article = (1000, 100, 10)
        k_ref, k_var = jax.random.split(k_init)
        reference = bp.DNN(article).init(k_ref)
        zoo = []
        by_name = {r["manual"]: r for r in runs}
        for bug in (None, *bp.DNN_BUGS):
            ic = gc.init_check(bp.DNN(article, bug).init(k_var), reference)
            r = by_name["dnn" if bug is None else f"dnn:{bug}"]
            grad_flag = not (r["passes"][0] or r["passes"][1])
            zoo.append({"variant": bug or "correct",
                        "gradient_check": "pass" if r["passes"][0] and r["passes"][1] else "FAIL: " + r["describe"],
                        "init_check": ic.describe(), "gradient_flagged": grad_flag, "init_flagged": not ic.passed,
                        "caught": grad_flag or not ic.passed,
                        "caught_by": ", ".join(n for n, f in (("gradient check", grad_flag),
                                                               ("init check", not ic.passed)) if f) or "-",
                        "effect": bp.DNN_BUGS[bug].effect if bug else "the correct network"})
        # "hidden layers fed X" with one hidden layer (the article's own depth): gradients identical to the correct.
        one = bp.DNN((4, 6, 3))
        p1, x1, y1 = _draw(Row("one", "C14", one.model, "half_sse", "sum", "dnn"), cfg.seed, cfg.batch)
        hidden_one_rel = gc.compare(bp.DNN((4, 6, 3), "hidden_fed_input").grad(p1, x1, y1), one.grad(p1, x1, y1),
                                    rtol=0.0).max_rel

    verdicts = _verdicts(runs, zoo, c10, hidden_one_rel, cfg)
    figures = []
    if out_dir is not None:
        out = Path(out_dir)
        figures.append(_figure(runs, out))
        atomic_write_bytes(out / "table.md", _table(runs, zoo, c10, hidden_one_rel, cfg).encode())
    verdicts = [dataclasses.replace(v, figures=tuple(figures)) for v in verdicts]
    summary = {"verdicts": verdicts, "rows": runs, "bug_zoo": zoo, "c10": c10,
               "hidden_fed_input_one_hidden_layer_rel": hidden_one_rel, "checks": list(CHECKS),
               "tolerances": {"autodiff": AUTODIFF_RTOL, "finite_differences": gc.FD_RTOL}}
    arrays = {"errors": errors, "row_names": np.array([r["name"] for r in runs])}
    return results.finish(STUDY, cfg, summary, out_dir, arrays=arrays, wall_time_s=time.perf_counter() - t0,
                             seed=cfg.seed)


def _verdicts(runs, zoo, c10, hidden_one_rel, cfg) -> list[Verdict]:
    by_claim = {c: [r for r in runs if r["claim"] == c] for c in ("C9", "C12", "C13", "C14")}
    draws = f"{cfg.seeds} draws"

    def worst(rs, j):
        return max(r["errors"][j] for r in rs)

    r232 = by_claim["C9"][0]
    out = [verdict(
        "C9", r232["as_expected"],
        "Do the 2-3-2 network's hand-derived gradients (sigmoid hidden, softmax, cross-entropy) equal autodiff, with "
        "o - o* at the logits?",
        f"max rel error over {draws}: manual vs jax.grad {_fmt(r232['errors'][0])}, manual vs finite differences "
        f"{_fmt(r232['errors'][1])}, jax.grad vs finite differences {_fmt(r232['errors'][2])}; softmax CE logit "
        f"gradient vs (o - o*)/N: {_fmt(c10['ce_grad_err'])}.", setting="float64, batch of "
        f"{cfg.batch}, weights fan-in uniform, biases N(0, 0.25)")]
    ok10 = (c10["softmax_sum_err"] <= 1e-12 and c10["softmax_sum_err_saturated"] <= 1e-12
            and max(c10["ce_grad_err"], c10["bce_grad_err"], c10["half_sse_sigmoid_grad_err"]) <= 1e-12
            and c10["sigmoid_sum_max"] - c10["sigmoid_sum_min"] > 0.5 and c10["losses_finite_saturated"])
    out.append(verdict(
        "C10", ok10,
        "Do softmax outputs sum to 1 while independent sigmoids need not, and do the CE, BCE and sigmoid + 1/2 SSE "
        "logit gradients have the stated forms?",
        f"max |sum softmax - 1| = {_fmt(c10['softmax_sum_err'])} ({_fmt(c10['softmax_sum_err_saturated'])} for "
        f"saturated logits); 5 sigmoid outputs sum to between {c10['sigmoid_sum_min']:.2f} and "
        f"{c10['sigmoid_sum_max']:.2f}; max abs gradient-form errors: CE {_fmt(c10['ce_grad_err'])}, BCE "
        f"{_fmt(c10['bce_grad_err'])}, sigmoid + 1/2 SSE {_fmt(c10['half_sse_sigmoid_grad_err'])}.",
        setting="float64, 32 examples x 5 outputs, logits N(0, 9)"))
    c12 = by_claim["C12"]
    depths = [r["hidden_layers"] for r in c12]
    acts = sorted({r["hidden"] for r in c12})
    loss_names = sorted({r["loss"] for r in c12})
    reductions = sorted({r["reduction"] for r in c12})
    out.append(verdict(
        "C12", all(r["as_expected"] for r in c12),
        "Does the vectorised L-layer backward pass equal autodiff for any depth, activation, loss and reduction?",
        f"{len(c12) - 1} architectures plus the book's eqs. 5.10-5.15 ({min(depths)}-{max(depths)} hidden layers; "
        f"hidden units {', '.join(acts)}; {len(loss_names)} losses ({', '.join(loss_names)}); reductions "
        f"{' and '.join(reductions)}), {draws} each: max rel error manual vs jax.grad "
        f"{_fmt(worst(c12, 0))}, manual vs finite differences {_fmt(worst(c12, 1))}, jax.grad vs finite differences "
        f"{_fmt(worst(c12, 2))}.",
        setting="float64; full central-difference gradients, eps 1e-5"))
    fixed, printed = by_claim["C13"]
    printed_rel = [float(v) for v in printed["errors"][:1]]
    ok13 = fixed["as_expected"] and printed["as_expected"] and abs(printed_rel[0] - 0.5) < 1e-9
    out.append(verdict(
        "C13", ok13,
        "Are the numpy two-layer net's hand-written gradients right once the factor 2 is restored, and is the printed "
        "line's factor missing?",
        f"factor 2 restored: max rel error vs jax.grad {_fmt(fixed['errors'][0])}, directional finite differences "
        f"{_fmt(fixed['errors'][1])}; as printed (factor 1): max rel error {printed_rel[0]:.6f} on every leaf, i.e. "
        f"every gradient halved; flagged against directional finite differences too ({_fmt(printed['errors'][1])}).",
        setting=f"N, D_in, H, D_out = 64, 1000, 100, 10; x, y, w1, w2 ~ randn; float64; {draws}"))
    correct = next(z for z in zoo if z["variant"] == "correct")
    bugs = [z for z in zoo if z["variant"] != "correct"]
    grad_bugs = [z for z in bugs if z["variant"] != "weights_uniform_0_1"]
    init_bug = next(z for z in bugs if z["variant"] == "weights_uniform_0_1")
    dnn_correct = next(r for r in runs if r["manual"] == "dnn")
    # The claim: the correct DNN matches autodiff, the gradient check flags every gradient bug, and every bug
    # (the init bug included) is caught by some check.
    ok14 = (dnn_correct["as_expected"] and not correct["caught"] and all(z["gradient_flagged"] for z in grad_bugs)
            and all(z["caught"] for z in bugs))
    # Its conditions, as measured: a bug the gradient check cannot flag (a wrong initialisation), and a bug the
    # article's own one-hidden-layer depth cannot show.
    init_unseen = not init_bug["gradient_flagged"]
    hidden_invisible = hidden_one_rel == 0.0
    conds = []
    if init_unseen:
        conds.append("drawing weights from U[0, 1) is not a gradient bug: it passes the gradient check and is caught "
                     f"by: {init_bug['caught_by']}")
    if hidden_invisible:
        conds.append("'hidden layers fed X' changes nothing with one hidden layer (max rel difference "
                     f"{_fmt(hidden_one_rel)}), so it needs at least two hidden layers to be seen (and hidden widths "
                     "equal to the input width to run)")
    init_text = (f"U[0, 1) weights {'pass' if not init_bug['gradient_flagged'] else 'FAIL'} the gradient check and "
                 f"{'fail' if init_bug['init_flagged'] else 'pass'} the init check ({init_bug['init_check']})")
    out.append(verdict(
        "C14", ok14,
        "Does a correct generic DNN match autodiff, and does a check catch each bug of the article's class?",
        f"correct DNN: max rel error vs jax.grad {_fmt(dnn_correct['errors'][0])}, vs finite differences "
        f"{_fmt(dnn_correct['errors'][1])}; gradient check flags "
        f"{sum(z['gradient_flagged'] for z in grad_bugs)}/{len(grad_bugs)} gradient bugs ("
        + ", ".join(f"{z['variant']}: {_fmt(next(r for r in runs if r['manual'] == 'dnn:' + z['variant'])['errors'][0])}"
                    for z in grad_bugs)
        + f"); {init_text}; caught by some check: {sum(z['caught'] for z in bugs)}/{len(bugs)} bugs; 'hidden "
        f"layers fed X' with one hidden layer (4-6-3): max rel difference from the correct gradient "
        f"{_fmt(hidden_one_rel)}"
        + (", so the article's [1000, 100, 10] cannot show it." if hidden_invisible else "."),
        conditional=bool(conds),
        conditions="; ".join(conds),
        setting=f"DNN {'-'.join(map(str, ZOO_SIZES))}, 1/2 sum of squares (sum), non-zero biases, float64, {draws}; "
                "init check at 1000-100-10"))
    return out


STUDY = Study(
    name="backprop_check",
    title="Hand-derived backprop vs autodiff vs finite differences, and the C14 bug zoo",
    claims=("C9", "C10", "C12", "C13", "C14"),
    config=Config,
    run=run,
    order=10,
    description=__doc__.split("\n\n")[0],
)
