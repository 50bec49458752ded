"""Benchmark of the training loop: prints timings and ratios measured in one run (nothing is asserted).

1. The article's seed network (C13: 64-1000-100-10 ReLU, sum of squares, 500 steps at lr 1e-6, float32):

   (a) numpy, the article's code (OpenBLAS with its default threads, and with one thread);
   (b) a jit-compiled step called from a Python loop;
   (c) the whole run as one ``lax.scan`` (one call);

   with time per step, compile time separately, GFLOP/s (``2 m k n`` per product: about 26 MFLOP per step), and
   the machine's float32 GEMM throughput at the same five shapes measured in the same run (XLA: each product
   repeated inside a scan with a loop-carried dependency; numpy: the same products). Targets from the issue: the
   scan reaches at least 85% of that GEMM throughput and is not slower than numpy.

2. One epoch of standard BP (17 per-example updates, fresh order) on watermelon 3.0 (ordinal encoding, 8-10-1
   sigmoid network, the book's E_k = 1/2 sum (y_hat - y)^2): a JAX ``lax.scan`` over epochs against a numpy
   per-example loop written with the book's eqs. (5.10)-(5.14). Target: the scan at least 20x faster.

Timings on a shared machine are noisy: each figure is the best of ``--repeats`` runs.

    python scripts/bench_train.py [--steps 500] [--repeats 3] [--epochs 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from xgnn_jax.core.mlp import MLP, objective  # noqa: E402
from xgnn_jax.data import datasets
from xgnn_jax.engine import fused, train
from xgnn_jax.grads import backprop  # noqa: E402
from xgnn_jax.studies.seed_numpy_net import numpy_seed_net, single_threaded_blas  # noqa: E402

N, D_IN, H, D_OUT = backprop.C13_N, backprop.C13_D_IN, backprop.C13_H, backprop.C13_D_OUT
# The five products of one step: forward x w1, h_relu w2; backward h_relu^T g, g w2^T, x^T grad_h.
GEMMS = ((N, D_IN, H), (N, H, D_OUT), (H, N, D_OUT), (N, D_OUT, H), (D_IN, N, H))
FLOPS_PER_STEP = sum(2 * m * k * n for m, k, n in GEMMS)


def best_of(fn, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls of ``fn`` (which must block until its work is done)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def timed_compile(fn, *args):
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------- 1. seed network
def seed_step(params, x, y, lr):
    """One step of the article's network with its hand-written gradients (factor 2); returns (params, loss)."""
    J = objective(backprop.C13_MODEL, "sse", "sum")
    loss = J(params, x, y)
    g = backprop.numpy_two_layer_gradients(params, x, y)
    return jax.tree.map(lambda w, gw: w - lr * gw, params, g), loss


def seed_scan(params, x, y, lr, steps: int):
    return jax.lax.scan(lambda p, _: seed_step(p, x, y, lr), params, None, length=steps)


def gemm_scan(a, b, reps: int):
    """``reps`` products ``a @ b`` in one scan; ``b`` is nudged by each result so nothing is hoisted or skipped."""

    def body(b, _):
        c = a @ b
        return b + 1e-30 * c[0, 0], None

    return jax.lax.scan(body, b, None, length=reps)[0]


def gemm_step_scan(x, w1, w2, g, steps: int):
    """The five products of a step, and nothing else but the carried weights, ``steps`` times in one scan."""

    def body(carry, _):
        w1, w2 = carry
        h = x @ w1
        o = h @ w2
        gw2 = h.T @ g
        gh = (g + 1e-30 * o) @ w2.T
        gw1 = x.T @ gh
        return (w1 - 1e-30 * gw1, w2 - 1e-30 * gw2), None

    return jax.lax.scan(body, (w1, w2), None, length=steps)[0]


def bench_seed(steps: int, repeats: int) -> dict:
    key = jax.random.key(0)
    x, y = datasets.random_regression(key)
    params = backprop.C13_MODEL.init(jax.random.key(1), 1.0, 1.0)
    lr = jnp.float32(1e-6)
    out = {}

    # (a) numpy, the article's loop (float32 here, to compare like with like).
    xn, yn = np.asarray(x), np.asarray(y)
    w1, w2 = np.asarray(params[0]["W"]), np.asarray(params[1]["W"])
    out["numpy (default BLAS threads)"] = best_of(lambda: numpy_seed_net(xn, yn, w1, w2, 1e-6, steps), repeats)
    with single_threaded_blas():
        out["numpy (1 BLAS thread)"] = best_of(lambda: numpy_seed_net(xn, yn, w1, w2, 1e-6, steps), repeats)

    # (b) a jit-compiled step called from Python.
    step, compile_step = timed_compile(seed_step, params, x, y, lr)

    def python_loop():
        p = params
        for _ in range(steps):
            p, loss = step(p, x, y, lr)
        jax.block_until_ready(p)

    out["jit step from a Python loop"] = best_of(python_loop, repeats)

    # (c) one lax.scan.
    scan, compile_scan = timed_compile(lambda p, x, y, lr: seed_scan(p, x, y, lr, steps), params, x, y, lr)
    out["one lax.scan"] = best_of(lambda: jax.block_until_ready(scan(params, x, y, lr)), repeats)

    # Same losses? (the three implementations of the same 500 steps)
    losses_np = numpy_seed_net(xn, yn, w1, w2, 1e-6, steps)[0]
    losses_scan = np.asarray(scan(params, x, y, lr)[1])
    agree = float(np.max(np.abs(losses_np[:100] - losses_scan[:100]) / losses_np[:100]))

    # GEMM throughput at the same shapes: XLA (scan of products) and numpy.
    gemm_xla, gemm_np, gemm_np1 = 0.0, 0.0, 0.0
    reps = steps
    rows = []
    for m, k, n in GEMMS:
        a = jax.random.normal(jax.random.key(m + k), (m, k), jnp.float32)
        b = jax.random.normal(jax.random.key(n), (k, n), jnp.float32)
        f, _ = timed_compile(lambda a, b: gemm_scan(a, b, reps), a, b)
        t_xla = best_of(lambda: jax.block_until_ready(f(a, b)), repeats) / reps  # noqa: B023
        an, bn = np.asarray(a), np.asarray(b)
        t_np = best_of(lambda: [an @ bn for _ in range(reps)], repeats) / reps  # noqa: B023
        with single_threaded_blas():
            t_np1 = best_of(lambda: [an @ bn for _ in range(reps)], repeats) / reps  # noqa: B023
        gemm_xla += t_xla
        gemm_np += t_np
        gemm_np1 += t_np1
        rows.append((m, k, n, 2 * m * k * n / t_xla / 1e9, 2 * m * k * n / t_np1 / 1e9))

    g = jax.random.normal(jax.random.key(2), (N, D_OUT), jnp.float32)
    fused, _ = timed_compile(lambda x, w1, w2, g: gemm_step_scan(x, w1, w2, g, steps), x, params[0]["W"],
                             params[1]["W"], g)
    gemm_fused = best_of(lambda: jax.block_until_ready(fused(x, params[0]["W"], params[1]["W"], g)), repeats) / steps

    print(f"\n== 1. The article's seed network {N}-{D_IN}-{H}-{D_OUT}, {steps} steps, float32, "
          f"{FLOPS_PER_STEP / 1e6:.1f} MFLOP per step ==")
    print(f"{'shape (m, k, n)':>22} {'XLA GFLOP/s':>12} {'numpy 1-thread GFLOP/s':>24}")
    for m, k, n, g1, g2 in rows:
        print(f"{str((m, k, n)):>22} {g1:12.1f} {g2:24.1f}")
    gemm_rate = FLOPS_PER_STEP / gemm_xla / 1e9
    print(f"GEMM-only time per step (sum of the five products): XLA {gemm_xla * 1e6:.0f} us "
          f"({gemm_rate:.1f} GFLOP/s), numpy 1 thread {gemm_np1 * 1e6:.0f} us "
          f"({FLOPS_PER_STEP / gemm_np1 / 1e9:.1f} GFLOP/s), numpy default threads {gemm_np * 1e6:.0f} us")
    print(f"the five products chained in one scan (GEMMs plus the weight update, no ReLU or loss): "
          f"{gemm_fused * 1e6:.0f} us per step ({FLOPS_PER_STEP / gemm_fused / 1e9:.1f} GFLOP/s)")
    gemm_xla = min(gemm_xla, gemm_fused)  # the faster of the two is the GEMM reference
    print(f"{'implementation':>32} {'us/step':>10} {'GFLOP/s':>9} {'vs GEMM':>8} {'vs numpy(1t)':>13}")
    base = out["numpy (1 BLAS thread)"]
    for name, t in out.items():
        per = t / steps
        print(f"{name:>32} {per * 1e6:10.1f} {FLOPS_PER_STEP / per / 1e9:9.1f} {gemm_xla / per:8.0%} "
              f"{base / t:12.2f}x")
    print(f"compile: jit step {compile_step:.2f} s, whole scan {compile_scan:.2f} s")
    print(f"losses, numpy vs scan (first 100 steps): largest relative difference {agree:.1e}")
    scan_eff = gemm_xla / (out["one lax.scan"] / steps)
    print(f"targets: scan at >= 85% of GEMM throughput: {scan_eff:.0%} "
          f"({'met' if scan_eff >= 0.85 else 'NOT met'}); scan not slower than numpy (1 thread): "
          f"{base / out['one lax.scan']:.2f}x ({'met' if out['one lax.scan'] <= base else 'NOT met'})")
    return out


# ---------------------------------------------------------------------------------------------- 2. standard BP
def numpy_standard_bp_epoch(x, y, v, gamma, w, theta, eta, rng):
    """One epoch of the book's standard BP (eqs. 5.10-5.14), one example at a time, in a fresh random order.

    ``v: (d, q)``, ``gamma: (q,)`` (hidden thresholds), ``w: (q, l)``, ``theta: (l,)``; updated in place.
    """
    for k in rng.permutation(x.shape[0]):
        xk, yk = x[k], y[k]
        b = 1 / (1 + np.exp(-(xk @ v - gamma)))
        y_hat = 1 / (1 + np.exp(-(b @ w - theta)))
        g = y_hat * (1 - y_hat) * (yk - y_hat)  # (5.10)
        e = b * (1 - b) * (w @ g)  # (5.15)
        w += eta * np.outer(b, g)  # (5.11)
        theta -= eta * g  # (5.12)
        v += eta * np.outer(xk, e)  # (5.13)
        gamma -= eta * e  # (5.14)


def bench_standard_bp(epochs: int, repeats: int) -> None:
    x, y = datasets.watermelon3("ordinal")
    m = x.shape[0]
    model = MLP((x.shape[1], 10, 1), hidden="sigmoid", output="sigmoid", bias_init="fan_in_uniform")
    J = objective(model, "half_sse", "mean")
    params = model.init(jax.random.key(0))
    eta = jnp.float32(0.1)

    def epochs_scan(params, key):
        """Standard BP only: per epoch a fresh order and m updates ``w <- w - eta grad E_k``."""

        def epoch(p, k):
            def update(p, i):
                g = jax.grad(J)(p, x[i][None], y[i][None])
                return jax.tree.map(lambda w, gw: w - eta * gw, p, g), None

            return jax.lax.scan(update, p, jax.random.permutation(k, m))[0], None

        return jax.lax.scan(epoch, params, jax.random.split(key, epochs))[0]

    scan, compile_s = timed_compile(epochs_scan, params, jax.random.key(1))
    t_scan = best_of(lambda: jax.block_until_ready(scan(params, jax.random.key(1))), repeats) / epochs

    # The training engine itself (adds one full-batch loss/accuracy measurement per epoch).
    cfg = train.TrainConfig(epochs=epochs, mode="sgd", optimizer=optax.sgd, record_grad_norm=False)
    run = train.make_run(model, datasets.Dataset(x, y), cfg)
    hp = {"learning_rate": eta}
    engine, compile_engine = timed_compile(run, jax.random.key(1), hp)
    t_engine = best_of(lambda: jax.block_until_ready(engine(jax.random.key(1), hp)), repeats) / epochs

    # The fused tiny-network kernel (xgnn_jax.engine.fused): one restart alone, and per restart of a batch of 512
    # (the restart axis innermost, as a sweep runs it).
    frun = fused.make_run(model, datasets.Dataset(x, y), dataclasses.replace(cfg, record_grad_norm=True))
    f_one, compile_f1 = timed_compile(lambda k: frun(k, hp), jax.random.key(1))
    t_f1 = best_of(lambda: jax.block_until_ready(f_one(jax.random.key(1))), repeats) / epochs
    n_batch = 512
    keys = jax.random.split(jax.random.key(1), n_batch)
    f_many, compile_fb = timed_compile(lambda ks: frun.batched(ks, {"learning_rate": jnp.full(n_batch, eta)},
                                                               frun.block_size), keys)
    t_fb = best_of(lambda: jax.block_until_ready(f_many(keys)), repeats) / epochs / n_batch

    xn, yn = np.asarray(x, np.float64), np.asarray(y, np.float64)
    v, w = np.asarray(params[0]["W"], np.float64), np.asarray(params[1]["W"], np.float64)
    gamma, theta = -np.asarray(params[0]["b"], np.float64), -np.asarray(params[1]["b"], np.float64)
    np_epochs = max(1, min(epochs, 200))
    rng = np.random.default_rng(0)

    def numpy_loop():
        vv, gg, ww, tt = v.copy(), gamma.copy(), w.copy(), theta.copy()
        for _ in range(np_epochs):
            numpy_standard_bp_epoch(xn, yn, vv, gg, ww, tt, 0.1, rng)

    t_np = best_of(numpy_loop, repeats) / np_epochs
    print(f"\n== 2. Standard BP on watermelon 3.0 (ordinal, {x.shape[1]}-10-1 sigmoid): one epoch = {m} "
          f"per-example updates ==")
    print(f"{'implementation':>44} {'us/epoch':>10} {'speed-up vs numpy':>18}")
    for name, t in (("numpy per-example loop (book eqs. 5.10-5.14)", t_np),
                    (f"JAX lax.scan over {epochs} epochs", t_scan),
                    ("train.make_run (sgd mode, + per-epoch loss)", t_engine),
                    ("fused kernel, one restart (+ per-epoch loss)", t_f1),
                    (f"fused kernel, per restart of {n_batch} (blocks of {frun.block_size})", t_fb)):
        print(f"{name:>44} {t * 1e6:10.2f} {t_np / t:17.1f}x")
    print(f"compile: scan {compile_s:.2f} s, train.make_run {compile_engine:.2f} s, fused one restart "
          f"{compile_f1:.2f} s, fused batch {compile_fb:.2f} s")
    print(f"target: standard BP at most 10 us per epoch: fused per restart of a batch {t_fb * 1e6:.2f} us "
          f"({'met' if t_fb <= 10e-6 else 'NOT met'}), one restart alone {t_f1 * 1e6:.1f} us "
          f"({'met' if t_f1 <= 10e-6 else 'NOT met'})")
    print(f"target: scan at least 20x faster than numpy: {t_np / t_scan:.1f}x "
          f"({'met' if t_np / t_scan >= 20 else 'NOT met'})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500, help="steps of the seed network (article: 500)")
    parser.add_argument("--epochs", type=int, default=2000, help="standard-BP epochs in one scan")
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    args = parser.parse_args(argv)
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, devices {jax.devices()}, "
          f"os.cpu_count() {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (timings are noisy when loaded)")
    bench_seed(args.steps, args.repeats)
    bench_standard_bp(args.epochs, args.repeats)


if __name__ == "__main__":
    main()
