"""Accelerator check of the restart engine: the same sweeps on the accelerator and on the CPU, compared.

Run on a machine with a GPU (or any JAX backend) from the repository root:

    PYTHONPATH=. python scripts/device_check.py [--restarts 1000000] [--steps 2000] [--executions vmap:1000000,fused:65536] [--json out.json]

It prints, for the 2-2-1 sigmoid XOR network (full-batch GD, half-SSE, 2000 steps):
* compile time and run time of ``restarts.sweep`` on the default backend for R restarts, in every execution that
  applies there ("vmap", "fused", "blocked"), as restart-steps per second;
* the first ``--compare`` restarts recomputed on the CPU backend, and the largest difference in final loss and
  the agreement of the solved/not-solved labels (the same restart must end in the same place; bits may differ
  since the backends order floating-point sums differently);
and for a compute-bound case (784-128-10 softmax MLP, minibatch 128, 64 restarts) the "vmap" and "map" executions.
No assertion on speed: the numbers are printed (and written to ``--json``).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core.mlp import MLP
from xgnn_jax.engine import restarts
from xgnn_jax.engine.train import Data, TrainConfig

XOR_X = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = jnp.array([[0.0], [1.0], [1.0], [0.0]])


def timed_sweep(run, R, devices, execution, hp, chunk_size=None):
    t0 = time.perf_counter()
    small = restarts.sweep(run, 0, min(R, chunk_size or R), hp, devices=devices, execution=execution,
                           chunk_size=chunk_size, progress=False)  # compiles the same chunk program
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = restarts.sweep(run, 0, R, hp, devices=devices, execution=execution, chunk_size=chunk_size or small.chunk_size,
                         progress=False)
    return res, t_first, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--restarts", type=int, default=1_000_000)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--compare", type=int, default=4096)
    p.add_argument("--chunk", type=int, default=None)
    p.add_argument("--executions", default="vmap:1000000,fused:65536,blocked:16384",
                   help="execution:restarts pairs; block-wise executions run blocks one after another, so give "
                        "them fewer restarts on an accelerator")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    out = {"jax": jax.__version__, "backend": jax.default_backend(),
           "devices": [str(d) for d in jax.devices()], "xor": {}, "compute_bound": {}}
    print(json.dumps({k: out[k] for k in ("jax", "backend", "devices")}), flush=True)

    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    cfg = TrainConfig(epochs=args.steps, mode="full_batch", loss="half_sse")
    data = Data(XOR_X, XOR_Y)
    hp = {"lr": 2.0}
    accel = jax.devices()
    results = {}
    for item in args.executions.split(","):
        execution, _, r = item.partition(":")
        R = min(int(r) if r else args.restarts, args.restarts)
        fused = execution == "fused"
        try:
            run = restarts.outcome_run(model, data, cfg, fused=fused)
            res, t_first, t = timed_sweep(run, R, accel, execution, hp, args.chunk)
        except Exception as e:  # report and go on: one execution failing must not hide the others
            print(f"xor {execution}: FAILED {type(e).__name__}: {e}", flush=True)
            out["xor"][execution] = {"error": repr(e)}
            continue
        results[execution] = res
        rate = R * args.steps / t
        solved = float(np.mean(res["final_accuracy"][~res.diverged] == 1.0))
        out["xor"][execution] = {"R": R, "chunk": res.chunk_size, "first_call_s": t_first, "run_s": t,
                                 "restart_steps_per_s": rate, "solved_fraction": solved,
                                 "diverged": res.n_diverged}
        print(f"xor {execution}: R={R} chunk={res.chunk_size} first call {t_first:.1f}s, run {t:.2f}s, "
              f"{rate:.3g} restart-steps/s, solved {solved:.3f}, diverged {res.n_diverged}", flush=True)

    # The same first restarts on the CPU backend.
    cpu = jax.devices("cpu")
    for execution, res in results.items():
        n = min(args.compare, res.n_restarts)
        fused = execution == "fused"
        run = restarts.outcome_run(model, data, cfg, fused=fused)
        ref = restarts.sweep(run, 0, n, hp, devices=cpu[:1], execution=execution, progress=False)
        a, b = res["final_loss"][:n], ref["final_loss"]
        ok = np.isfinite(a) & np.isfinite(b)
        same_label = float(np.mean((res["final_accuracy"][:n] == 1.0) == (ref["final_accuracy"] == 1.0)))
        close = float(np.mean(np.abs(a - b) <= 1e-3 + 1e-2 * np.abs(b)))
        out["xor"][execution]["vs_cpu"] = {"n": n, "max_abs_diff_final_loss": float(np.max(np.abs(a - b)[ok])),
                                           "median_abs_diff": float(np.median(np.abs(a - b)[ok])),
                                           "fraction_close": close, "same_solved_label": same_label}
        print(f"xor {execution} vs CPU on {n} restarts: max |dloss| {np.max(np.abs(a - b)[ok]):.2e}, median "
              f"{np.median(np.abs(a - b)[ok]):.2e}, close {close:.4f}, same solved label {same_label:.4f}",
              flush=True)

    # Compute-bound case.
    big = MLP((784, 128, 10), hidden="relu", output="softmax", weight_init="he_normal")
    kx, ky = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (1024, 784))
    y = jax.nn.one_hot(jax.random.randint(ky, (1024,), 0, 10), 10)
    bcfg = TrainConfig(epochs=5, mode="minibatch", batch_size=128, loss="softmax_cross_entropy")
    run = restarts.outcome_run(big, Data(x, y), bcfg, fused=False)
    steps = 5 * (1024 // 128)
    for execution in ("vmap", "map"):
        try:
            res, t_first, t = timed_sweep(run, 64, accel, execution, {"lr": 0.05}, 64)
        except Exception as e:
            print(f"compute-bound {execution}: FAILED {e!r}", flush=True)
            continue
        flops = 64 * steps * 3 * 2 * 128 * (784 * 128 + 128 * 10)
        out["compute_bound"][execution] = {"first_call_s": t_first, "run_s": t, "gflops": flops / t / 1e9}
        print(f"compute-bound {execution}: first call {t_first:.1f}s, run {t:.3f}s, {flops / t / 1e9:.1f} GFLOP/s",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
