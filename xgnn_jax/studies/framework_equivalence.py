"""The article's framework versions (C15): its PyTorch and Keras runs with Flax models, against the pure core.

The article closes its code section by rewriting the network with PyTorch and with Keras "to train more
efficiently". Here the framework is Flax (NNX, functional split/merge; see ``docs/frameworks.md``) with optax, and
the question is whether the framework version and the hand-written pure-function version are the same
computation: the same losses at every step, from the same initial parameters.

Data: the article's random problem ``x ~ N(0, 1)^(64 x 1000)``, ``y ~ N(0, 1)^(64 x 10)``
(:func:`xgnn_jax.data.datasets.random_regression`), drawn once in float32 and cast, so both precisions see the same
numbers.

Runs (each a restart sweep, :func:`xgnn_jax.engine.restarts.sweep`, ``restarts`` keys; restart i of both routes starts
from the same parameters, the core's draws for key i):

* **PyTorch-style**: :class:`~xgnn_jax.frameworks.flax_models.TwoLayerNet` ``Linear(1000, 100) -> clamp(min=0) ->
  Linear(100, 10)`` (PyTorch's default init, ``U(+-1/sqrt(fan_in))``), ``MSELoss(reduction='sum')`` =
  ``sum_k sum_j (y_hat - y)^2`` (the core's ``sse`` with ``sum``), plain SGD with ``lr = 1e-4``, full batch,
  ``torch_steps`` steps (the article's loop runs once, ``range(1)``; its numpy version runs 500 steps: the full
  setting uses 500).
* **Keras-style**: :class:`~xgnn_jax.frameworks.flax_models.KerasNet` ``Dense(1000, relu) -> Dense(100, relu) ->
  Dense(10, sigmoid)`` (Keras's default init: glorot-uniform kernels, zero biases), Keras's ``mse`` (the mean over
  the 10 outputs and over the batch: the core's ``mse`` with ``mean``), Adam with Keras's default learning rate
  1e-3 (optax's Adam: ``eps = 1e-8``, where Keras uses 1e-7; both routes use the same optimizer, which is what the
  comparison needs), batch 64, 100 epochs. With 64 examples, batch 64 is the whole set: one update per epoch (Keras
  shuffles the order inside the batch, which changes only the order of a sum), so the run is full-batch.

Each run is computed twice per restart: the **core** route (:func:`xgnn_jax.engine.train.make_run` on the core
:class:`~xgnn_jax.core.mlp.MLP`) and the **Flax** route (:func:`xgnn_jax.frameworks.flax_models.make_run`: the Flax module split
into a static ``graphdef`` and a parameter state, the states vmapped over restarts by the sweep). Both routes of a
restart run in one compiled sweep program (the compilation, mostly the initial draws, is shared; each route keeps
its own ``lax.scan``); with ``time_routes`` (full setting) each route also runs as its own sweep program, timed.
The recorded loss is the objective after each update on the whole training set. A third route, the stateful NNX
idiom (``nnx.Optimizer`` and an ``nnx.jit`` step called from a Python loop, the shape of the article's PyTorch
loop), runs restart 0 of the runs named in ``nnx_loop``. All of it in float32 and in float64.

Verdict (C15): holds when, for both runs, both precisions and every restart, the Flax losses equal the core
losses at every step to a relative difference of at most 1e-10 (float64) / 1e-5 (float32), the NNX loop's too,
and no restart diverges. Run times of the routes are reported (compilation separately); the careful
speed comparison is ``scripts/bench_frameworks.py``.

Quick setting (mostly compilation: four sweep programs and one NNX step): the article's PyTorch network for 100
steps, a narrower Keras network (1000-128-32-10) for the article's 100 epochs, 4 restarts, no separate timing.
Full: 500 PyTorch steps, the article's Keras network (1000-1000-100-10), 8 restarts, the NNX loop for both runs,
and each route timed as its own program.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts, train
from xgnn_jax.frameworks import flax_models as fm
from xgnn_jax.study import plotting, results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import Verdict, verdict

TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0  # data draw and restart keys (restart i: fold_in(key(seed), i), the same in both routes)
    restarts: int = 4  # restarts per run, each through both routes
    n: int = 64  # the article's N (examples)
    d_in: int = 1000  # the article's D_in
    d_out: int = 10  # the article's D_out
    torch_hidden: int = 100  # H of TwoLayerNet
    torch_steps: int = 100  # full-batch SGD steps of the PyTorch-style run (the article's numpy net: 500)
    torch_lr: float = 1e-4  # the article's SGD learning rate
    keras_hidden: tuple[int, int] = (128, 32)  # widths of the two relu Dense layers (the article: 1000, 100)
    keras_epochs: int = 100  # the article's epochs
    keras_batch: int = 64  # the article's batch size (64 = n: one full batch per epoch)
    keras_lr: float = 1e-3  # Keras's Adam default
    dtypes: tuple[str, ...] = ("float32", "float64")  # precisions, each compared at its own tolerance
    nnx_loop: tuple[str, ...] = ("pytorch",)  # runs whose restart 0 also goes through the stateful NNX idiom
    time_routes: bool = False  # also run each route as its own sweep, timed (two more compiles per run)

    ESTIMATED_SECONDS = {"quick": 20, "full": 480}

    @classmethod
    def full(cls) -> Config:
        return cls(restarts=8, torch_steps=500, keras_hidden=(1000, 100), nnx_loop=("pytorch", "keras"),
                   time_routes=True)

    def __post_init__(self):
        for name in ("restarts", "n", "d_in", "d_out", "torch_hidden", "torch_steps", "keras_epochs", "keras_batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        bad = [d for d in self.dtypes if d not in TOLERANCE]
        if bad or not self.dtypes:
            raise ValueError(f"dtypes: expected some of {sorted(TOLERANCE)}, got {self.dtypes!r}")
        if not set(self.nnx_loop) <= {"pytorch", "keras"}:
            raise ValueError(f"nnx_loop: expected some of ('pytorch', 'keras'), got {self.nnx_loop!r}")
        if self.keras_batch > self.n:
            raise ValueError(f"keras_batch: {self.keras_batch} is larger than the training set (n = {self.n})")


def runs(cfg: Config) -> dict[str, tuple]:
    """``{name: (Flax module factory, TrainConfig, hparams)}`` for the PyTorch-style and the Keras-style runs."""
    keras_mode = "full_batch" if cfg.keras_batch == cfg.n else "minibatch"
    return {
        "pytorch": (
            lambda rngs: fm.TwoLayerNet(cfg.d_in, cfg.torch_hidden, cfg.d_out, rngs=rngs),
            train.TrainConfig(epochs=cfg.torch_steps, mode="full_batch", loss="sse", reduction="sum",
                              optimizer="sgd", record_grad_norm=False),
            {"lr": cfg.torch_lr},
        ),
        "keras": (
            lambda rngs: fm.KerasNet(cfg.d_in, (*cfg.keras_hidden, cfg.d_out), rngs=rngs),
            train.TrainConfig(epochs=cfg.keras_epochs, mode=keras_mode, batch_size=cfg.keras_batch, loss="mse",
                              reduction="mean", optimizer="adam", record_grad_norm=False),
            {"lr": cfg.keras_lr},
        ),
    }


def _outcome(result: train.TrainResult) -> dict:
    """Per restart: the loss after every step, the diverged flag, and per-layer sums of the final parameters."""
    return {"loss": result.history["loss"], "diverged": result.diverged,
            "W_sum": jnp.stack([jnp.sum(layer["W"]) for layer in result.params]),
            "b_sum": jnp.stack([jnp.sum(layer["b"]) for layer in result.params])}


def relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b| / max(|a|, |b|)`` elementwise; 0 where both are 0 (and where both are the same non-finite value)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    return np.where(same, 0.0, np.where(np.isfinite(r), r, np.inf))


def nnx_loop_losses(spec: fm.FlaxSpec, data: train.Data, tcfg: train.TrainConfig, hp: dict, seed: int,
                    restart: int = 0) -> tuple[np.ndarray, float]:
    """Restart ``restart`` of a full-batch run through the stateful NNX idiom; ``(losses after each step, seconds)``.

    The module starts from the parameters the sweep's restart gets: ``key = fold_in(key(seed), restart)``, then
    the core's draws for ``split(key)[0]`` (see :func:`xgnn_jax.engine.train.make_run`).
    """
    k_init = jax.random.split(jax.random.fold_in(jax.random.key(seed), restart))[0]
    module = spec.module(spec.init(k_init, dtype=data.x.dtype))
    # The sweep's hyperparameter values, in the run's precision, on top of the defaults (as make_run does).
    tx = train.make_optimizer(tcfg.optimizer, {**train.hparams(), **{k: jnp.asarray(v) for k, v in hp.items()}})
    t0 = time.perf_counter()
    _, losses = fm.train_nnx_loop(module, data.x, data.y, tx, tcfg.epochs, loss=tcfg.loss, reduction=tcfg.reduction)
    losses = np.asarray(losses)
    return losses, time.perf_counter() - t0


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    cfg = config
    t_start = time.perf_counter()
    data32 = datasets.random_regression(jax.random.key(cfg.seed), cfg.n, cfg.d_in, cfg.d_out)
    rows, arrays, curves = [], {}, {}
    tasks = [(dtype, name) for dtype in cfg.dtypes for name in ("pytorch", "keras")]
    for dtype, name in results.progress(tasks, desc="runs", enabled=progress):
        with jax.enable_x64(dtype == "float64"):
            data = train.Data(data32.x.astype(dtype), data32.y.astype(dtype))
            factory, tcfg, hp = runs(cfg)[name]
            spec = fm.abstract_spec(factory)
            hp_arr = {k: np.asarray(v, dtype) for k, v in hp.items()}
            core_run, flax_run = train.make_run(spec.core, data, tcfg), fm.make_run(spec, data, tcfg)

            def both(key, hp, core_run=core_run, flax_run=flax_run):
                # One restart through both routes in one compiled program (the compile, mostly the initial draws,
                # is shared); each route keeps its own training loop (its own lax.scan).
                return {"core": _outcome(core_run(key, hp)), "flax": _outcome(flax_run(key, hp))}

            sw = restarts.sweep(both, cfg.seed, cfg.restarts, hp_arr, outcome=_identity, progress=False)
            oc, of = sw.outcomes["core"], sw.outcomes["flax"]
            lc, lf = np.asarray(oc["loss"]), np.asarray(of["loss"])
            rel = relative_difference(lc, lf)  # (R, steps)
            rel_params = max(float(relative_difference(oc[k], of[k]).max()) for k in ("W_sum", "b_sum"))
            div_c, div_f = _diverged(oc), _diverged(of)
            row = {
                "run": name, "dtype": dtype, "restarts": cfg.restarts, "steps": int(lc.shape[1]),
                "tolerance": TOLERANCE[dtype], "execution": sw.execution, "sweep_s": sw.wall_time_s,
                "max_rel_diff": float(rel.max()), "bit_identical_steps": int((rel == 0).sum()),
                "total_steps": int(rel.size), "max_rel_diff_param_sums": rel_params,
                "diverged_core": int(div_c.sum()), "diverged_flax": int(div_f.sum()),
                "same_diverged": bool(np.array_equal(div_c, div_f)),
                "first_loss_mean": float(np.mean(lc[:, 0])), "final_loss_mean": float(np.mean(lc[:, -1])),
                "final_loss_std": float(np.std(lc[:, -1])),
            }
            tol_ok = [row["max_rel_diff"], rel_params]
            if cfg.time_routes:
                row.update(_time_routes(cfg, core_run, flax_run, hp_arr))
                tol_ok.append(row["separate_max_rel_diff"])
            if name in cfg.nnx_loop and tcfg.mode == "full_batch":
                ln, secs = nnx_loop_losses(spec, data, tcfg, hp_arr, cfg.seed)
                rel_n = relative_difference(lc[0], ln)
                row.update(nnx_max_rel_diff=float(rel_n.max()), nnx_bit_identical_steps=int((rel_n == 0).sum()),
                           nnx_loop_s=secs)
                tol_ok.append(row["nnx_max_rel_diff"])
                arrays[f"{name}_{dtype}_nnx_loss"] = ln
            row["ok"] = bool(max(tol_ok) <= row["tolerance"] and row["same_diverged"] and row["diverged_core"] == 0)
            rows.append(row)
            arrays[f"{name}_{dtype}_core_loss"] = lc
            arrays[f"{name}_{dtype}_flax_loss"] = lf
            arrays[f"{name}_{dtype}_rel_diff"] = rel
            curves[(name, dtype)] = (lc, lf, rel)

    figures = []
    if out_dir is not None:
        figures = _figures(cfg, curves, out_dir)
    wall = time.perf_counter() - t_start
    floor = sigmoid_mse_floor(np.asarray(data32.y))
    summary = {"rows": rows, "keras_sigmoid_mse_floor": floor, "verdicts": [_verdict(cfg, rows, figures, floor)]}
    return results.finish(STUDY, cfg, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def sigmoid_mse_floor(y: np.ndarray) -> float:
    """The lowest mean squared error outputs in [0, 1] can reach on targets ``y``: ``mean((clip(y, 0, 1) - y)^2)``.

    The Keras-style net ends in a sigmoid (outputs in (0, 1)) but the article's targets are N(0, 1): every target
    below 0 or above 1 leaves an error no training removes (about 0.58 per output for y ~ N(0, 1): 1/2 from y < 0,
    0.075 from y > 1).
    """
    y = np.asarray(y, np.float64)
    return float(np.mean((np.clip(y, 0.0, 1.0) - y) ** 2))


def _identity(result):
    return result


def _diverged(outcome: dict) -> np.ndarray:
    """Per restart: the run's own diverged flag, or any non-finite loss."""
    return np.asarray(outcome["diverged"], bool) | ~np.isfinite(np.asarray(outcome["loss"])).all(axis=-1)


def _time_routes(cfg: Config, core_run, flax_run, hp_arr) -> dict:
    """Each route as its own sweep (its own compiled program), run twice: the first call's wall time includes
    compilation, the second is the run alone. Also the core-vs-Flax difference between these separate programs."""
    out, losses, execution = {}, {}, None
    for route, run_fn in (("core", core_run), ("flax", flax_run)):
        # The same execution for both, so both compute in the same layout (PITFALLS: no bit identity across
        # layouts).
        first = restarts.sweep(run_fn, cfg.seed, cfg.restarts, hp_arr, outcome=_outcome,
                               execution=execution or "auto", progress=False)
        execution = first.execution
        again = restarts.sweep(run_fn, cfg.seed, cfg.restarts, hp_arr, outcome=_outcome, execution=execution,
                               progress=False)
        out[f"{route}_first_s"], out[f"{route}_run_s"] = first.wall_time_s, again.wall_time_s
        losses[route] = np.asarray(again["loss"])
    out["separate_max_rel_diff"] = float(relative_difference(losses["core"], losses["flax"]).max())
    return out


def _verdict(cfg: Config, rows: list[dict], figures, floor: float) -> Verdict:
    def describe(r):
        text = (f"{r['run']} {r['dtype']}: max relative loss difference Flax vs core {r['max_rel_diff']:.1e} over "
                f"{r['restarts']} restarts x {r['steps']} steps (tolerance {r['tolerance']:.0e}; "
                f"{r['bit_identical_steps']}/{r['total_steps']} bit-identical)")
        if "nnx_max_rel_diff" in r:
            text += (f", NNX loop (restart 0) {r['nnx_max_rel_diff']:.1e} ({r['nnx_bit_identical_steps']}/"
                     f"{r['steps']} bit-identical)")
        text += (f"; final loss {r['final_loss_mean']:.4g} +- {r['final_loss_std']:.2g} over restarts (from "
                 f"{r['first_loss_mean']:.4g}); diverged {r['diverged_core']} (core) / {r['diverged_flax']} (Flax)")
        if "core_run_s" in r:
            text += (f"; as separate programs: difference {r['separate_max_rel_diff']:.1e}, run time Flax/core "
                     f"{r['flax_run_s'] / max(r['core_run_s'], 1e-9):.2f}x ({r['flax_run_s']:.2f} s / "
                     f"{r['core_run_s']:.2f} s; first call with compilation {r['flax_first_s']:.1f} s / "
                     f"{r['core_first_s']:.1f} s)")
        return text

    ok = all(r["ok"] for r in rows)
    keras = f"{cfg.d_in}-{cfg.keras_hidden[0]}-{cfg.keras_hidden[1]}-{cfg.d_out}"
    keras_final = [r["final_loss_mean"] for r in rows if r["run"] == "keras"]
    flat = (f" The Keras-style loss flattens (final {min(keras_final):.3g}-{max(keras_final):.3g}) because its "
            f"sigmoid outputs lie in (0, 1) while the article's targets are N(0, 1): no output in [0, 1] can get "
            f"below mean((clip(y, 0, 1) - y)^2) = {floor:.3g} on these targets.") if keras_final else ""
    return verdict(
        "C15", ok,
        "Do the article's PyTorch and Keras models, written with a framework (Flax NNX + optax), give the same "
        "numbers as the hand-written pure-function network from the same initial parameters?",
        "; ".join(describe(r) for r in rows) + "." + flat
        + " Both routes differentiate by JAX autodiff from identical initial parameters, so bit-identity is expected:"
        " this checks the framework plumbing (module, parameter state, optimizer), not the gradients; the "
        "hand-written gradients are checked against autodiff and finite differences in the seed_numpy_net and "
        "backprop_check studies.",
        setting=(f"data x, y ~ N(0, 1), {cfg.n} x {cfg.d_in} -> {cfg.d_out}; PyTorch-style {cfg.d_in}-"
                 f"{cfg.torch_hidden}-{cfg.d_out} ReLU net, sum MSE, SGD lr {cfg.torch_lr:g}, {cfg.torch_steps} full-batch "
                 f"steps; Keras-style {keras} relu/relu/sigmoid, mean MSE, Adam lr {cfg.keras_lr:g}, batch "
                 f"{cfg.keras_batch}, {cfg.keras_epochs} epochs; restart sweeps with the static Flax graphdef and "
                 f"vmapped parameter states; relu'(0) = 0 in both routes (PyTorch's clamp uses 1 at an exact 0); "
                 f"gradients by jax.grad in both routes (hand-written gradients: seed_numpy_net, backprop_check)"),
        figures=figures,
    )


def _figures(cfg: Config, curves: dict, out_dir) -> list[str]:
    names = []
    dtype = cfg.dtypes[0]
    fig, axes = plotting.figure(ncols=2)
    for ax, name, title in zip(axes, ("pytorch", "keras"), ("PyTorch-style TwoLayerNet, SGD", "Keras-style net, Adam"),
                               strict=True):
        lc, lf, _ = curves[(name, dtype)]
        steps = np.arange(1, lc.shape[1] + 1)
        ax.plot(steps, lc[0], label="core (pure functions)", lw=2.5, alpha=0.6)
        ax.plot(steps, lf[0], "--", label="Flax NNX module", lw=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("update step")
        ax.set_ylabel("training loss (" + ("sum of squares" if name == "pytorch" else "mean squared error") + ")")
        ax.set_title(f"{title}, {dtype}, restart 0")
        ax.legend()
    names.append(plotting.save(fig, f"{out_dir}/framework_equivalence_losses.png"))

    floor = 1e-18
    fig, axes = plotting.figure(ncols=2)
    for ax, name in zip(axes, ("pytorch", "keras"), strict=True):
        identical = []
        for dt, style in zip(cfg.dtypes, ("-", "--"), strict=False):
            _, _, rel = curves[(name, dt)]
            worst = np.maximum(rel.max(axis=0), floor)
            (line,) = ax.plot(np.arange(1, worst.size + 1), worst, style, lw=3 if style == "-" else 1.5,
                              label=f"{dt}, max over restarts")
            ax.axhline(TOLERANCE[dt], ls=":", color=line.get_color(), label=f"{dt} tolerance {TOLERANCE[dt]:.0e}")
            if not rel.any():
                identical.append(dt)
        if identical:
            ax.text(0.5, 0.12, f"bit-identical at every step: {', '.join(identical)}", transform=ax.transAxes,
                    ha="center", fontsize=9)
        ax.set_yscale("log")
        ax.set_ylim(floor / 3, 1e-3)
        ax.set_xlabel("update step")
        ax.set_ylabel("relative loss difference (0 drawn at 1e-18)")
        ax.set_title(f"{name}-style run: |Flax - core| / loss")
        ax.legend(fontsize=8, loc="center right")
    names.append(plotting.save(fig, f"{out_dir}/framework_equivalence_differences.png"))
    return names


STUDY = Study(
    name="framework_equivalence",
    title="Framework versions: the article's Keras and PyTorch models in Flax against the pure-function core",
    claims=("C15",),
    config=Config,
    run=run,
    order=60,
    description="The article's TwoLayerNet (PyTorch) and Dense(1000)-Dense(100)-Dense(10) (Keras) runs, as Flax NNX "
                "modules and as the pure-function core, from the same initial parameters: losses at every step, "
                "restart sweeps, float32 and float64, and the run time of each route.",
)
