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
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.grads import backprop as bp
from xgnn_jax.grads import gradcheck as gc
from xgnn_jax.io import atomic_write_bytes
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study

from .report import AUTODIFF_RTOL, CHECKS, figure, table
from .verdicts import verdicts as _verdicts


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    seeds: int = 2  # random draws (parameters, inputs, targets) per architecture
    batch: int = 8  # examples per draw (the C13 network uses the article's 64)
    directions: int = 4  # random directions of the directional finite-difference check (C13)

    ESTIMATED_SECONDS = {"quick": 10, "full": 24}  # compile-bound: one program per architecture
    RANGES: ClassVar[dict] = {"seeds": (1, None), "batch": (1, None), "directions": (1, None)}

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
    return J, manual_fn, full_fd, gc.gradient_program(J, manual_fn, finite_differences=full_fd)


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


def _check_rows(cfg: Config, progress: bool) -> tuple[list[dict], np.ndarray]:
    """Every row of the table at ``cfg.seeds`` draws: the row's record and its errors ``(rows, seeds, 3)``."""
    table_rows = rows()
    runs, errors = [], np.zeros((len(table_rows), cfg.seeds, 3))
    for i, row in enumerate(results.progress(table_rows, desc="backprop_check", enabled=progress)):
        per_seed = [_check_row(row, cfg.seed * 1_000_003 + 1000 * i + s, cfg) for s in range(cfg.seeds)]
        errors[i] = [p["errors"] for p in per_seed]
        passes = np.array([p["passes"] for p in per_seed])
        # A bug is flagged when, on every draw, both manual-vs-autodiff and manual-vs-finite-differences fail.
        any_flag = bool((~passes[:, 0]).all() and (~passes[:, 1]).all())
        runs.append({
            "name": row.name, "claim": row.claim, "manual": row.manual, "expect_pass": row.expect_pass,
            "hidden_layers": len(row.model.sizes) - 2, "hidden": row.model.hidden, "loss": row.loss,
            "reduction": row.reduction,
            "errors": errors[i].max(axis=0).tolist(), "median_errors": np.median(errors[i], axis=0).tolist(),
            "passes": passes.all(axis=0).tolist(), "fd_kind": per_seed[0]["fd_kind"],
            "describe": per_seed[0]["describe"],
            "as_expected": bool(passes.all()) if row.expect_pass else any_flag,
        })
    return runs, errors


def _bug_zoo(runs: list[dict], key) -> list[dict]:
    """C14: each variant's gradient-check outcome (from its row) and init statistics at the article's sizes,
    against a draw of the intended init from another key."""
    article = (1000, 100, 10)
    k_ref, k_var = jax.random.split(key)
    reference = bp.DNN(article).init(k_ref)
    zoo, by_name = [], {r["manual"]: r for r in runs}
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
    return zoo


def _hidden_fed_input_one_layer(cfg: Config) -> float:
    """'Hidden layers fed X' with one hidden layer (the article's own depth): max rel difference of its gradient
    from the correct one (0: the bug cannot show)."""
    one = bp.DNN((4, 6, 3))
    p1, x1, y1 = _draw(Row("one", "C14", one.model, "half_sse", "sum", "dnn"), cfg.seed, cfg.batch)
    return gc.compare(bp.DNN((4, 6, 3), "hidden_fed_input").grad(p1, x1, y1), one.grad(p1, x1, y1),
                      rtol=0.0).max_rel


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    if cfg.seeds < 1 or cfg.batch < 1 or cfg.directions < 1:
        raise ValueError("seeds, batch, directions: expected positive integers")
    with jax.enable_x64(True):
        k_c10, k_init = jax.random.split(jax.random.key(cfg.seed))
        runs, errors = _check_rows(cfg, progress)
        c10 = bp.output_layer_checks(k_c10)
        zoo = _bug_zoo(runs, k_init)
        hidden_one_rel = _hidden_fed_input_one_layer(cfg)
    verdicts = _verdicts(runs, zoo, c10, hidden_one_rel, cfg, ZOO_SIZES)
    figures = []
    if out_dir is not None:
        out = Path(out_dir)
        figures.append(figure(runs, out))
        atomic_write_bytes(out / "table.md", table(runs, zoo, c10, hidden_one_rel, cfg).encode())
    verdicts = [dataclasses.replace(v, figures=tuple(figures)) for v in verdicts]
    summary = {"verdicts": verdicts, "rows": runs, "bug_zoo": zoo, "c10": c10,
               "hidden_fed_input_one_hidden_layer_rel": hidden_one_rel, "checks": list(CHECKS),
               "tolerances": {"autodiff": AUTODIFF_RTOL, "finite_differences": gc.FD_RTOL}}
    arrays = {"errors": errors, "row_names": np.array([r["name"] for r in runs])}
    return results.finish(STUDY, cfg, summary, out_dir, arrays=arrays, wall_time_s=time.perf_counter() - t0,
                          seed=cfg.seed)


STUDY = Study(
    name="backprop_check",
    title="Hand-derived backprop vs autodiff vs finite differences, and the C14 bug zoo",
    claims=("C9", "C10", "C12", "C13", "C14"),
    config=Config,
    run=run,
    order=10,
    description=__doc__.split("\n\n")[0],
)
