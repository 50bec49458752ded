"""XOR with two layers: the hand-set step network, a trained 2-2-1 sigmoid network, linear collapse, and the RBF
network of exercise 5.7 (C6, C7).

What is measured:

* C6: the book's hand-set 2-2-1 network of step units on the four XOR inputs; a 2-2-1 sigmoid network trained
  with the book's setting (sigmoid output, ``E = (1/m) sum_k 1/2 (y_hat_k - y_k)^2``, full-batch gradient descent
  = accumulated BP) from many random initialisations (``train.make_run`` through ``restarts.sweep``): how many reach 100%
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
import time
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from xgnn_jax.analysis import neurons
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts, train
from xgnn_jax.studies.xor_networks import figures
from xgnn_jax.studies.xor_networks.verdicts import c6, c7, ex57
from xgnn_jax.study import results
from xgnn_jax.study.registry import Study


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

    ESTIMATED_SECONDS: ClassVar[dict[str, int]] = {"quick": 9, "full": 19}
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "linear_sizes": (1, None), "rbf_beta": (1e-6, None), "rbf_centres": (1, None)}

    @classmethod
    def full(cls) -> Config:
        return cls(seeds=1024, epochs=10000, rbf_steps=2000)


def _trained(result):
    """What the study keeps of a training run: final loss and accuracy, the diverged flag, the parameters."""
    out = {"final_loss": result.final_loss, "final_accuracy": result.final_accuracy, "params": result.params}
    return {**out, "diverged": result.diverged} if hasattr(result, "diverged") else out


def _sweep(run_fn, hp, part, cfg, out_dir, progress):
    """``cfg.seeds`` restarts of ``run_fn`` through the restart engine (resumable under ``out_dir/sweeps/part``)."""
    return restarts.sweep(run_fn, cfg.seed, cfg.seeds, hp, outcome=_trained, progress=progress,
                          out_dir=None if out_dir is None else f"{out_dir}/sweeps/{part}",
                          config={"study": "xor_networks", "part": part, **dataclasses.asdict(cfg)})


def _train_all(cfg, x, y, out_dir, progress):
    """The three trained networks: 2-2-1 sigmoid (float32), deep linear (float64), RBF (float32)."""
    sig_model = MLP((2, 2, 1), hidden="sigmoid", output="sigmoid", weight_init=cfg.init, bias_init=cfg.init)
    tcfg = train.TrainConfig(epochs=cfg.epochs, mode=train.ACCUMULATED_BP, loss="half_sse", optimizer=optax.sgd,
                             record_grad_norm=False)
    sig = _sweep(train.make_run(sig_model, train.Data(x, y), tcfg), train.hparams(learning_rate=cfg.lr), "sigmoid", cfg,
                 out_dir, progress)
    lin_model = MLP(tuple(cfg.linear_sizes), hidden="identity", output="identity", weight_init="fan_in_uniform",
                    bias_init="fan_in_uniform")
    with jax.enable_x64(True):
        x64, y64 = jnp.asarray(np.asarray(x), jnp.float64), jnp.asarray(np.asarray(y), jnp.float64)
        lin_run = train.make_run(lin_model, train.Data(x64, y64), dataclasses.replace(tcfg, threshold=0.5))
        lin = _sweep(lin_run, train.hparams(learning_rate=cfg.linear_lr), "linear", cfg, out_dir, progress)
    rcfg = neurons.RBFTrainConfig(q=cfg.rbf_centres, steps=cfg.rbf_steps, bias=True, beta0=cfg.rbf_beta)
    rbf = _sweep(neurons.make_rbf_run(x, y, rcfg), {"learning_rate": np.float32(cfg.rbf_lr)}, "rbf", cfg, out_dir,
                 progress)
    return sig_model, sig, lin, rbf


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    xor = datasets.logic_gate("xor")
    x, y = xor.x, xor.y
    x_np, y_np = np.asarray(x), np.asarray(y)
    step_model, step_params = neurons.xor_step_network()
    step_out = np.asarray(step_model.apply(step_params, x))
    hidden = np.asarray(step_model.hidden_activations(step_params, x)[0])
    sig_model, sig, lin, rbf = _train_all(cfg, x, y, out_dir, progress)
    sig_ok = sig["final_accuracy"] == 1.0
    rbf_ok = rbf["final_accuracy"] == 1.0

    # C7: the deep linear net against one linear map, in float64.
    lin_model = MLP(tuple(cfg.linear_sizes), hidden="identity", output="identity", weight_init="normal",
                    bias_init="normal")
    with jax.enable_x64(True):
        x64, y64 = jnp.asarray(x_np, jnp.float64), jnp.asarray(y_np, jnp.float64)
        collapse_err, out_scale = (float(a) for a in neurons.collapse_check(lin_model, jax.random.split(jax.random.key(cfg.seed), 4)[3]))
        w_ls, b_ls = neurons.least_squares_linear(x64, y64)
        ls_out = np.asarray(x64 @ w_ls + b_ls)
    ls_loss = float(0.5 * np.mean(np.sum((ls_out - y_np) ** 2, axis=1)))
    lin_loss, lin_div = np.asarray(lin["final_loss"], np.float64), lin.diverged
    best = int(np.nanargmin(np.where(lin_div, np.inf, lin_loss)))
    lin_W, lin_b = lin["params"][0]["W"][best], lin["params"][0]["b"][best]
    for layer in lin["params"][1:]:  # the trained deep linear net as its single map x W + b
        lin_W, lin_b = lin_W @ layer["W"][best], lin_b @ layer["W"][best] + layer["b"][best]

    # Exercise 5.7 in closed form: four centres on the inputs (no bias); two centres (0,0), (1,1) with a bias.
    rbf4 = neurons.rbf_fit_output(x, y, x, cfg.rbf_beta)
    rbf2 = neurons.rbf_fit_output(x, y, x[jnp.array([0, 3])], cfg.rbf_beta, bias=True)
    closed_err = {name: float(jnp.max(jnp.abs(neurons.rbf_apply(p, x) - y))) for name, p in
                  (("4 centres on the inputs, no bias", rbf4), ("2 centres (0,0), (1,1) + bias", rbf2))}

    figs = []
    if out_dir is not None:
        figs.append(figures.plot_decision_regions(
            out_dir, cfg, x_np, y_np, (step_model, step_params), (sig_model, sig["params"], sig_ok, sig["final_loss"]),
            (lin_W, lin_b, lin_loss[best]), rbf2, (rbf["params"], rbf_ok)))
    summary = {}
    verdicts = [c6(cfg, step_out, hidden, y_np, sig, figs, summary),
                c7(cfg, collapse_err, out_scale, ls_loss, ls_out, lin, figs, summary),
                ex57(cfg, closed_err, rbf, figs, summary)]
    summary["verdicts"] = verdicts
    arrays = {"sigmoid_final_loss": sig["final_loss"], "sigmoid_final_accuracy": sig["final_accuracy"],
              "sigmoid_diverged": sig.diverged, "linear_final_loss": lin_loss,
              "linear_final_accuracy": lin["final_accuracy"], "linear_diverged": lin_div,
              "rbf_final_loss": rbf["final_loss"], "rbf_final_accuracy": rbf["final_accuracy"]}
    tables = {name: r.table() for name, r in (("sigmoid", sig), ("linear", lin), ("rbf", rbf))}
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=time.perf_counter() - t0,
                          seed=cfg.seed, tables=tables)


STUDY = Study(
    name="xor_networks",
    title="XOR with two layers: step network, trained sigmoid network, linear collapse, RBF network",
    claims=("C6", "C7"),
    config=Config,
    run=run,
    order=6,
    description=__doc__.split("\n\n")[0],
)
