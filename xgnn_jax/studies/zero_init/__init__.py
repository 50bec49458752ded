"""Initialisation: zero weights, symmetry, and the chapter's initialisation claims (C19-C24).

Run: ``python -m xgnn_jax run zero_init`` (quick, about 30 s on 2 idle cores) or ``--full`` (a few minutes).

Parts (every number in the verdicts comes from this run):

1. **Update masks** (C19, C20, C21). Networks ``2 -> width x (L-1) -> 1`` with sigmoid, tanh or ReLU hidden layers
   and a sigmoid output, ``L`` weight layers (quick: 2, 3, 5; full: 2-5), trained by full-batch gradient descent on the book's
   ``E = (1/m) sum_k 1/2 (y_hat_k - y_k)^2`` from four starts: all zeros; zero weights with N(0, 1) biases; a
   constant ``c`` for every weight and bias; random (``U(-1/sqrt(d), 1/sqrt(d))`` for weights and biases). Per
   step and per layer the run records whether ``W[l]`` and ``b[l]`` received a non-zero gradient (and whether their
   values changed), on watermelon 3.0alpha (17 melons, 8 good: the average output error at the start is not 0)
   and on its balanced subset without melon 17 (8 good, 8 bad: at all zeros the errors cancel exactly). This part
   runs in float64: in float32 the products of tiny weights that carry the first gradients to the front layers of
   a deep net can underflow, which delays (numerically, not structurally) when the first layer starts to move
   (seen while building this study: layer 1 of a 5-layer net first moved at step 8 instead of 5, lr 1).
2. **Symmetry over training**: the largest pairwise distance between the incoming weight vectors (+ bias) of the
   units of each hidden layer (:func:`xgnn_jax.analysis.symmetry.unit_spread`), every step, for every start.
3. **C20, training**: a sigmoid ``2-8-8-1`` net on balanced two circles (m = 128, binary cross-entropy,
   full-batch GD) from the four starts: train accuracy over steps, steps to 90%. With m = 128 the zero start's
   errors ``(1/2 - y_k) / m`` cancel exactly; on a balanced set with m = 250 they do not in float32, and the
   rounding residue (about 1e-8) is what moves the network off the saddle: measured too.
4. **C22**: logistic regression on watermelon 3.0alpha (not linearly separable) from zeros and from N(0, 1)
   starts, full-batch GD; final loss compared with the optimum found by Newton's method in float64.
5. **C23**: embedding tables from zeros: tables followed by a randomly initialised tanh (and ReLU) MLP, and a
   factorisation machine where embeddings meet only each other (:mod:`xgnn_jax.core.embedding`), on every pair of two
   20-category fields labelled by a hidden rank-2 interaction.
6. **C24, schemes**: zeros, the book's U(0, 1), the article's U(-1/sqrt(d), 1/sqrt(d)), Glorot uniform, He normal,
   LeCun normal and 10 x He normal, for a ``2-10-5-1`` ReLU/ReLU/sigmoid net on two circles, full-batch GD with
   binary cross-entropy, many seeds at once (one :func:`xgnn_jax.engine.restarts.sweep` over the schemes): loss at
   step 0, final train/test accuracy, steps to 95% train accuracy.
7. **Depth**: per-layer activation RMS and weight-gradient norm at initialisation through a 10-layer net (ReLU and
   tanh), per scheme: the reason the fan-in-scaled schemes exist, and where the article's scheme falls short.

Layout: :mod:`.starts` (the starts and schemes), :mod:`.trajectories` (parts 1-3 and 5: per-step traces),
:mod:`.sweeps` (parts 4, 6, 7 through the restart sweep), :mod:`.symmetry_verdicts` (C19-C21), :mod:`.verdicts`
(C22-C24), :mod:`.figures`. The logistic optimum
is :func:`xgnn_jax.analysis.logistic.newton_logistic`.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import ClassVar

import jax

from xgnn_jax.studies.zero_init import figures, sweeps, trajectories
from xgnn_jax.studies.zero_init import verdicts as verdicts_lib
from xgnn_jax.studies.zero_init.starts import EMBEDDING_LABELS, SCHEMES, STARTS
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study


@dataclasses.dataclass(frozen=True)
class Config:
    """Defaults: the quick setting. ``Config.full()``: more seeds, more steps, more depths."""

    seed: int = 0
    """Master seed: every part folds its own constant into it."""
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    """Parts 1-2 (update masks, symmetry; watermelon 3.0alpha, half SSE, float64): hidden activations."""
    depths: tuple[int, ...] = (2, 3, 5)
    """Parts 1-2: numbers of weight layers L."""
    width: int = 4
    """Parts 1-2: units per hidden layer."""
    constant: float = 0.1
    """The value of every weight and bias in the constant start."""
    mask_seeds: int = 4
    """Parts 1-2: seeds per start."""
    mask_steps: int = 60
    """Parts 1-2: full-batch gradient-descent steps."""
    mask_lr: float = 2.0
    """Parts 1-2: learning rate."""
    train_hidden: tuple[int, ...] = (8, 8)
    """Part 3 (C20 training on two circles, sigmoid, cross-entropy): hidden widths."""
    train_n: int = 128
    """Part 3: training examples (even: balanced classes)."""
    train_seeds: int = 8
    """Part 3: seeds per start."""
    train_steps: int = 1500
    """Part 3: gradient-descent steps."""
    train_lr: float = 5.0
    """Part 3: learning rate."""
    rounding_n: int = 250
    """Part 3: size of a balanced set on which the zero start's errors do not cancel exactly in float32."""
    logistic_seeds: int = 32
    """Part 4 (C22): random starts besides the zero start."""
    logistic_steps: int = 3000
    """Part 4: gradient-descent steps."""
    logistic_lr: float = 5.0
    """Part 4: learning rate (below 2 / the largest Hessian eigenvalue, about 8.8)."""
    vocab: int = 20
    """Part 5 (C23): categories per field (two fields)."""
    emb_dim: int = 4
    """Part 5: embedding size."""
    emb_train: int = 300
    """Part 5: training pairs (of vocab^2; the rest is the test set)."""
    emb_seeds: int = 4
    """Part 5: seeds per model."""
    emb_steps: int = 1000
    """Part 5: gradient-descent steps."""
    emb_lr: float = 2.0
    """Part 5: learning rate."""
    scheme_seeds: int = 32
    """Part 6 (C24, 2-10-5-1 ReLU net on two circles): seeds per scheme."""
    scheme_steps: int = 400
    """Part 6: full-batch gradient-descent steps."""
    scheme_lr: float = 1.0
    """Part 6: learning rate."""
    scheme_n: int = 128
    """Part 6: training examples (and as many test examples)."""
    scheme_noise: float = 0.08
    """Part 6: Gaussian noise of the circles."""
    depth_layers: int = 10
    """Part 7 (scale through depth): weight layers."""
    depth_width: int = 32
    """Part 7: units per hidden layer."""
    depth_seeds: int = 16
    """Part 7: seeds per scheme."""

    ESTIMATED_SECONDS = {"quick": 35, "full": 105}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "seed": (0, 2**32 - 1), "width": (2, None), "constant": (None, None), "mask_seeds": (1, None),
        "train_n": (2, None), "rounding_n": (2, None), "logistic_seeds": (1, None), "vocab": (2, None),
        "emb_dim": (1, None), "emb_train": (1, None), "scheme_n": (2, None), "scheme_noise": (0, None),
        "depth_layers": (3, None), "depth_width": (1, None)}
    @classmethod
    def full(cls) -> Config:
        return cls(depths=(2, 3, 4, 5), mask_seeds=16, mask_steps=400, train_seeds=64, train_steps=4000,
                   logistic_seeds=256, logistic_steps=6000, emb_seeds=16, emb_steps=3000, scheme_seeds=256,
                   scheme_steps=1500, scheme_n=200, depth_seeds=128)


def _check(cfg: Config) -> None:
    if not set(cfg.activations) <= {"sigmoid", "tanh", "relu"} or "sigmoid" not in cfg.activations:
        raise ValueError(f"activations: expected 'sigmoid' plus any of 'tanh', 'relu', got {cfg.activations!r}")
    if not cfg.depths or min(cfg.depths) < 2:
        raise ValueError(f"depths: expected weight-layer counts >= 2, got {cfg.depths!r}")
    if cfg.width < 2:
        raise ValueError(f"width: symmetry needs at least 2 units per hidden layer, got {cfg.width!r}")
    if cfg.train_n % 2 or cfg.scheme_n % 2 or cfg.rounding_n % 2:
        raise ValueError(f"train_n, scheme_n, rounding_n: expected even sizes (balanced classes), got "
                         f"{cfg.train_n}, {cfg.scheme_n}, {cfg.rounding_n}")
    if cfg.emb_train >= cfg.vocab**2:
        raise ValueError(f"emb_train: expected fewer training pairs than vocab^2 = {cfg.vocab**2} (the rest is the "
                         f"test set), got {cfg.emb_train}")


def _arrays(mk, c20, c22, c23, c24, dp) -> dict:
    arrays = {}
    for (act, L), v in mk["W_grad"].items():
        arrays[f"masks_{act}_L{L}_W_grad"] = v
        arrays[f"masks_{act}_L{L}_b_grad"] = mk["b_grad"][(act, L)]
        arrays[f"masks_{act}_L{L}_spread"] = mk["spread"][(act, L)]
    for s in STARTS:
        arrays[f"c20_{s}_accuracy"] = c20["accuracy"][s]
    arrays["c22_final_loss"] = c22["final_loss"]
    for k in EMBEDDING_LABELS:
        arrays[f"c23_{k}_test_acc"] = c23[k]["test_acc"]
        arrays[f"c23_{k}_emb_grad"] = c23[k]["emb_grad"]
    for s in SCHEMES:
        for k in ("loss0", "train_acc", "test_acc", "steps95", "diverged"):
            arrays[f"c24_{s}_{k}"] = c24[k][s]
        for h in ("relu", "tanh"):
            if s != "zeros":
                arrays[f"depth_{h}_{s}_act_rms"] = dp["act_rms"][(h, s)]
                arrays[f"depth_{h}_{s}_grad_norm"] = dp["grad_norm"][(h, s)]
    return arrays


def run(config: Config = Config(), out_dir: str | Path | None = None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    _check(cfg)
    key = jax.random.key(cfg.seed)
    parts = {"masks": lambda: trajectories.masks_part(cfg, key),
             "c20": lambda: trajectories.c20_training_part(cfg, key),
             "c22": lambda: sweeps.c22_part(cfg, key, out_dir), "c23": lambda: trajectories.c23_part(cfg, key),
             "c24": lambda: sweeps.c24_part(cfg, key, out_dir), "depth": lambda: sweeps.depth_part(cfg, key, out_dir)}
    res = {name: part() for name, part in results.progress(parts.items(), desc="zero_init", enabled=progress)}
    (c22, c22_sweep), (c24, c24_sweep) = res["c22"], res["c24"]
    mk, c20, c23, dp = (res[k] for k in ("masks", "c20", "c23", "depth"))
    figs = figures.make_all(cfg, mk, c20, c22, c23, c24, dp, Path(out_dir)) if out_dir is not None else {}
    verdicts, numbers = verdicts_lib.all_verdicts(cfg, mk, c20, c22, c23, c24, dp, figs)
    summary = {"verdicts": verdicts, "numbers": numbers,
               "notes": ["Parts 1-2 run in float64 (jax.enable_x64); the rest in float32.",
                         "Masks count a layer as updated when its gradient is not exactly 0."]}
    return results.finish(STUDY, config, summary, out_dir, arrays=_arrays(mk, c20, c22, c23, c24, dp),
                          wall_time_s=time.perf_counter() - t0, seed=cfg.seed,
                          tables={"restarts": c24_sweep.table(), "logistic_restarts": c22_sweep.table()})


STUDY = Study("zero_init", "Initialisation: zero weights, symmetry, schemes",
              ("C19", "C20", "C21", "C22", "C23", "C24"), Config, run, order=50,
              description="Per-step update masks and unit symmetry from zero, constant and random "
                          "starts; logistic regression and embeddings from zeros; initialisation schemes "
                          "over many seeds and through depth.")
