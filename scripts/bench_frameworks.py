"""Speed of each route through the article's two framework runs (C15): a benchmark, not a test.

Routes, for one training run (float32, the article's data 64 x 1000 -> 10, the same initial parameters):

* ``core scan``: :func:`xgnn_jax.engine.train.make_run` on the core MLP, the whole run one jit-compiled ``lax.scan``
  (the baseline; ratios are its time over the route's, so > 1 means faster than the baseline);
* ``flax scan``: the same :func:`~xgnn_jax.engine.train.make_run` on the Flax module
  (:class:`xgnn_jax.frameworks.flax_models.FlaxModel`: every forward pass through ``nnx.merge``);
* ``core bare scan``, ``flax bare scan``: the training step alone (loss and gradient, optax update) in one
  ``lax.scan``, without ``make_run``'s initial draws and per-epoch measurements (loss and accuracy on the whole set
  after every step: two more forward passes);
* ``core step loop``, ``flax step loop``: that step, ``jax.jit``-compiled, called from a Python loop (what a plain
  JAX user writes);
* ``nnx loop``: the stateful NNX idiom, ``nnx.Optimizer`` and an ``nnx.jit`` step called from a Python loop
  (:func:`xgnn_jax.frameworks.flax_models.train_nnx_loop`);
* ``article's PyTorch loop``: the article's own PyTorch code (:mod:`xgnn_jax.frameworks.torch_net`, eager, CPU) and
  ``article's Keras fit``: its Keras model and ``fit`` (:mod:`xgnn_jax.frameworks.keras_net`, Keras 3 on JAX), each
  from the same initial parameters, when installed (the ``frameworks`` extra).

The ``make_run`` scans run with ``record_grad_norm=False`` (no extra backward pass per epoch). Compilation is timed separately; run times are the
best of ``--repeats`` calls. Final losses are printed to show that the routes computed the same run.

Usage: ``python scripts/bench_frameworks.py [--torch-steps 500] [--keras-epochs 100] [--keras-hidden 1000 100]
[--repeats 3]``. The machine is shared: read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

import jax
import numpy as np
import optax

from xgnn_jax.data import datasets
from xgnn_jax.engine import train
from xgnn_jax.frameworks import flax_models as fm


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_scan(run_fn, key, hp, repeats):
    t0 = time.perf_counter()
    compiled = jax.jit(run_fn).lower(key, hp).compile()
    compile_s = time.perf_counter() - t0
    result = compiled(key, hp)
    run_s = best_of(lambda: compiled(key, hp).final_loss, repeats)
    return compile_s, run_s, float(result.final_loss)


def _step_fn(J, tx):
    def step(params, opt_state, x, y):
        loss, g = jax.value_and_grad(J)(params, x, y)
        updates, opt_state = tx.update(g, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def bench_step_loop(J, data, steps, params0, tx, repeats):
    """A ``jax.jit`` step (loss and gradient, optax update) called ``steps`` times from Python."""
    step = jax.jit(_step_fn(J, tx))
    t0 = time.perf_counter()
    jax.block_until_ready(step(params0, tx.init(params0), data.x, data.y))
    compile_s = time.perf_counter() - t0

    def loop():
        params, opt_state = params0, tx.init(params0)
        for _ in range(steps):
            params, opt_state, _ = step(params, opt_state, data.x, data.y)
        return params

    run_s = best_of(loop, repeats)
    return compile_s, run_s, float(jax.jit(J)(loop(), data.x, data.y))


def bench_bare_scan(J, data, steps, params0, tx, repeats):
    """The same step as :func:`bench_step_loop` inside one ``lax.scan`` (no initialisation, no per-epoch
    measurements): separates the cost of the scan itself from what ``make_run`` adds."""
    step = _step_fn(J, tx)

    def run(params):
        def body(carry, _):
            p, s, _ = step(*carry, data.x, data.y)
            return (p, s), None

        return jax.lax.scan(body, (params, tx.init(params)), None, length=steps)[0][0]

    t0 = time.perf_counter()
    compiled = jax.jit(run).lower(params0).compile()
    compile_s = time.perf_counter() - t0
    run_s = best_of(lambda: compiled(params0), repeats)
    return compile_s, run_s, float(jax.jit(J)(compiled(params0), data.x, data.y))


def bench_nnx_loop(spec, data, tcfg, params0, hp, repeats):
    tx = train.make_optimizer(tcfg.optimizer, hp)

    def go():
        module = spec.module(spec.from_core(params0))
        return fm.train_nnx_loop(module, data.x, data.y, tx, tcfg.epochs, loss=tcfg.loss, reduction=tcfg.reduction)[1]

    t0 = time.perf_counter()
    losses = go()
    first_s = time.perf_counter() - t0
    run_s = best_of(go, repeats)
    return first_s - run_s, run_s, float(losses[-1])


def _framework(name):
    try:
        return importlib.import_module(f"xgnn_jax.frameworks.{name}")
    except ImportError:
        return None


def bench_torch(data, tcfg, params0, lr, repeats):
    """The article's own PyTorch loop (xgnn_jax.frameworks.torch_net), from the same parameters; None if absent."""
    tn = _framework("torch_net")
    if tn is None:
        return None
    x, y = np.asarray(data.x), np.asarray(data.y)
    p0 = jax.tree.map(np.asarray, params0)

    def go():
        return tn.train(tn.model_from_core(p0, np.float32), x, y, tcfg.epochs, lr)

    t0 = time.perf_counter()
    final = go()[-1]
    first_s = time.perf_counter() - t0
    run_s = best_of(go, repeats)
    return max(first_s - run_s, 0.0), run_s, float(final)


def bench_keras(data, tcfg, params0, repeats):
    """The article's own Keras model and fit (xgnn_jax.frameworks.keras_net, JAX backend); None if absent. Each call
    builds, compiles and fits a fresh model (a fresh Adam state), and Keras traces and compiles its train step for
    every new model: so the run time includes that compilation (for short runs, most of it)."""
    kn = _framework("keras_net")
    if kn is None:
        return None
    x, y = np.asarray(data.x), np.asarray(data.y)
    weights = kn.weights_from_core(jax.tree.map(np.asarray, params0))

    def go():
        model = kn.build(x.shape[1], tuple(w.shape[-1] for w in weights[1::2]))
        model.set_weights(weights)
        return kn.fit(model, x, y, tcfg.epochs, x.shape[0])[1]

    t0 = time.perf_counter()
    final = go()[-1]
    first_s = time.perf_counter() - t0
    run_s = best_of(go, repeats)
    return max(first_s - run_s, 0.0), run_s, float(final)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch-steps", type=int, default=500)
    ap.add_argument("--keras-epochs", type=int, default=100)
    ap.add_argument("--keras-hidden", type=int, nargs=2, default=(1000, 100))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    d = datasets.random_regression(jax.random.key(args.seed))
    data = train.Data(d.x, d.y)
    runs = {
        "pytorch": (lambda rngs: fm.TwoLayerNet(1000, 100, 10, rngs=rngs),
                    train.TrainConfig(epochs=args.torch_steps, mode="full_batch", loss="sse", reduction="sum",
                                      optimizer="sgd", record_grad_norm=False), 1e-4),
        # Keras's Adam rule (keras_net.keras_adam) in every route when Keras is installed: the same work.
        "keras": (lambda rngs: fm.KerasNet(1000, (*args.keras_hidden, 10), rngs=rngs),
                  train.TrainConfig(epochs=args.keras_epochs, mode="full_batch", loss="mse", reduction="mean",
                                    optimizer=getattr(_framework("keras_net"), "keras_adam", "adam"),
                                    record_grad_norm=False), 1e-3),
    }
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}, {os.cpu_count()} CPUs; float32; best of "
          f"{args.repeats}")
    key = jax.random.key(args.seed)
    for name, (factory, tcfg, lr) in runs.items():
        spec = fm.abstract_spec(factory)
        hp = train.hparams(lr=lr)
        params0 = spec.core.init(jax.random.split(key)[0])  # what make_run(key) starts from
        state0 = spec.from_core(params0)
        J_core = train.make_objective(spec.core, tcfg)[0]
        J_flax = fm.objective(spec, tcfg.loss, tcfg.reduction)
        tx = train.make_optimizer(tcfg.optimizer, hp)
        rows = {
            "core scan": bench_scan(train.make_run(spec.core, data, tcfg), key, hp, args.repeats),
            "flax scan": bench_scan(train.make_run(fm.FlaxModel(spec), data, tcfg), key, hp, args.repeats),
            "core bare scan": bench_bare_scan(J_core, data, tcfg.epochs, params0, tx, args.repeats),
            "flax bare scan": bench_bare_scan(J_flax, data, tcfg.epochs, state0, tx, args.repeats),
            "core step loop": bench_step_loop(J_core, data, tcfg.epochs, params0, tx, args.repeats),
            "flax step loop": bench_step_loop(J_flax, data, tcfg.epochs, state0, tx, args.repeats),
            "nnx loop": bench_nnx_loop(spec, data, tcfg, params0, hp, args.repeats),
        }
        if name == "pytorch":
            rows["article's PyTorch loop"] = bench_torch(data, tcfg, params0, lr, args.repeats)
        else:
            rows["article's Keras fit"] = bench_keras(data, tcfg, params0, args.repeats)
        if None in rows.values():
            print(f"  ({[k for k, v in rows.items() if v is None][0]}: framework not installed)")
            rows = {k: v for k, v in rows.items() if v is not None}
        base = rows["core scan"][1]
        sizes = "-".join(map(str, spec.core.sizes))
        print(f"\n{name}-style run: {sizes}, {getattr(tcfg.optimizer, '__name__', tcfg.optimizer)}, {tcfg.loss}/{tcfg.reduction}, {tcfg.epochs} steps")
        print(f"  {'route':<20} {'compile s':>9} {'run s':>8} {'ms/step':>8} {'speed vs core scan':>19} "
              f"{'final loss':>14}")
        for route, (compile_s, run_s, final) in rows.items():
            print(f"  {route:<20} {compile_s:9.2f} {run_s:8.3f} {1e3 * run_s / tcfg.epochs:8.3f} "
                  f"{base / run_s:18.2f}x {final:14.7g}")


if __name__ == "__main__":
    main()
