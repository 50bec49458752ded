"""Benchmark of the restart engine (``xgnn_jax.engine.restarts.sweep``) against baselines and the machine's limits.

Prints restart-steps per second (one restart-step = one training step of one restart) for

* XOR 2-2-1 sigmoid network, full-batch GD on the half-SSE loss, 2000 steps, at R = 1, 64, 1024, 16384;
* a 2-16-1 network on XOR (R = 16384);
* a compute-bound case: a 784-128-10 softmax MLP, minibatch 128, 64 restarts;

for the sweep engine (all devices, and one device for per-core figures), the same run function called restart
by restart in a Python loop, numpy batched over the restart axis, PyTorch (batched tensors, eager and
``torch.compile``; skipped when torch is not installed), and the machine's limits measured in the same run:
float32 GEMM throughput and hand-fused C loops for 2-2-1 and 2-16-1 (compiled with gcc/cc when present, skipped
otherwise).
It ends with the ratios the issue asks about and the 10^6-restart run (wall time and peak memory, measured in a
fresh process). Timings on a shared machine are noisy: compare ratios from the same run.

Usage: ``python scripts/bench_restarts.py [--devices N] [--quick] [--skip-scale] [--json out.json]``.
``--devices`` sets the number of JAX CPU devices (default: the number of cores this process may use).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

C_XOR = r"""
/* Hand-fused full-batch GD for R restarts of the 2-2-1 sigmoid XOR network, half-SSE mean loss: the speed limit.
   Restarts in blocks of BLK with the restart index innermost, so the compiler vectorises across restarts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define BLK 64
static inline float sg(float z) { return 1.0f / (1.0f + expf(-z)); }
int main(int argc, char **argv) {
  long R = argc > 1 ? atol(argv[1]) : 16384;
  int T = argc > 2 ? atoi(argv[2]) : 2000;
  float lr = argc > 3 ? atof(argv[3]) : 0.5f;
  const float X0[4] = {0, 0, 1, 1}, X1[4] = {0, 1, 0, 1}, Y[4] = {0, 1, 1, 0};
  unsigned s = 12345u;
  double check = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long r0 = 0; r0 < R; r0 += BLK) {
    float w[9][BLK], loss[BLK];
    for (int k = 0; k < 9; k++)
      for (int r = 0; r < BLK; r++) { s = s * 1664525u + 1013904223u; w[k][r] = (s >> 8) * (2.0f / 16777216.0f) - 1.0f; }
    for (int t = 0; t < T; t++) {
#pragma GCC ivdep
      for (int r = 0; r < BLK; r++) {
        float a = w[0][r], bq = w[1][r], c = w[2][r], d = w[3][r], b1 = w[4][r], b2 = w[5][r];
        float v1 = w[6][r], v2 = w[7][r], b3 = w[8][r];
        float ga = 0, gb = 0, gc = 0, gd = 0, gb1 = 0, gb2 = 0, gv1 = 0, gv2 = 0, gb3 = 0, L = 0;
        for (int k = 0; k < 4; k++) {
          float h1 = sg(X0[k] * a + X1[k] * c + b1), h2 = sg(X0[k] * bq + X1[k] * d + b2);
          float o = sg(h1 * v1 + h2 * v2 + b3);
          float e = o - Y[k];
          L += 0.5f * e * e;
          float dz = 0.25f * e * o * (1 - o);
          gv1 += dz * h1; gv2 += dz * h2; gb3 += dz;
          float d1 = dz * v1 * h1 * (1 - h1), d2 = dz * v2 * h2 * (1 - h2);
          ga += d1 * X0[k]; gc += d1 * X1[k]; gb1 += d1;
          gb += d2 * X0[k]; gd += d2 * X1[k]; gb2 += d2;
        }
        w[0][r] = a - lr * ga; w[1][r] = bq - lr * gb; w[2][r] = c - lr * gc; w[3][r] = d - lr * gd;
        w[4][r] = b1 - lr * gb1; w[5][r] = b2 - lr * gb2; w[6][r] = v1 - lr * gv1; w[7][r] = v2 - lr * gv2;
        w[8][r] = b3 - lr * gb3; loss[r] = 0.25f * L;
      }
    }
    for (int r = 0; r < BLK; r++) check += loss[r];
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double dt = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
  printf("%.6g %.6g %.6g\n", (double)R * T / dt, dt, check / R);
  return 0;
}
"""


C_WIDE = r"""
/* The same hand-fused loop for a 2-H-1 sigmoid network (H set at compile time with -DH=...): the limit for the
   wider case. Every loop over the restarts of a block innermost, so each vectorises. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define BLK 64
#define NP (4 * H + 1)
static inline float sg(float z) { return 1.0f / (1.0f + expf(-z)); }
int main(int argc, char **argv) {
  long R = argc > 1 ? atol(argv[1]) : 16384;
  int T = argc > 2 ? atoi(argv[2]) : 2000;
  float lr = argc > 3 ? atof(argv[3]) : 0.5f;
  const float X0[4] = {0, 0, 1, 1}, X1[4] = {0, 1, 0, 1}, Y[4] = {0, 1, 1, 0};
  unsigned s = 12345u;
  double check = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long r0 = 0; r0 < R; r0 += BLK) {
    /* w[j] = W1[0, j], w[H + j] = W1[1, j], w[2H + j] = b1[j], w[3H + j] = W2[j, 0], w[4H] = b2 */
    static float w[NP][BLK], loss[BLK];
    for (int k = 0; k < NP; k++)
      for (int r = 0; r < BLK; r++) { s = s * 1664525u + 1013904223u; w[k][r] = (s >> 8) * (2.0f / 16777216.0f) - 1.0f; }
    for (int t = 0; t < T; t++) {
      static float g[NP][BLK], h[H][BLK];
      float z[BLK], dz[BLK];
      for (int k = 0; k < NP; k++)
        for (int r = 0; r < BLK; r++) g[k][r] = 0;
      for (int r = 0; r < BLK; r++) loss[r] = 0;
      for (int k = 0; k < 4; k++) {
        for (int r = 0; r < BLK; r++) z[r] = w[4 * H][r];
        for (int j = 0; j < H; j++)
          for (int r = 0; r < BLK; r++) {
            h[j][r] = sg(X0[k] * w[j][r] + X1[k] * w[H + j][r] + w[2 * H + j][r]);
            z[r] += h[j][r] * w[3 * H + j][r];
          }
        for (int r = 0; r < BLK; r++) {
          float o = sg(z[r]), e = o - Y[k];
          loss[r] += 0.125f * e * e;
          dz[r] = 0.25f * e * o * (1 - o);
          g[4 * H][r] += dz[r];
        }
        for (int j = 0; j < H; j++)
          for (int r = 0; r < BLK; r++) {
            float d = dz[r] * w[3 * H + j][r] * h[j][r] * (1 - h[j][r]);
            g[3 * H + j][r] += dz[r] * h[j][r];
            g[j][r] += d * X0[k]; g[H + j][r] += d * X1[k]; g[2 * H + j][r] += d;
          }
      }
      for (int k = 0; k < NP; k++)
        for (int r = 0; r < BLK; r++) w[k][r] -= lr * g[k][r];
    }
    for (int r = 0; r < BLK; r++) check += loss[r];
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double dt = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
  printf("%.6g %.6g %.6g\n", (double)R * T / dt, dt, check / R);
  return 0;
}
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=None, help="JAX CPU devices (default: usable cores)")
    p.add_argument("--steps", type=int, default=2000, help="training steps of the XOR runs")
    p.add_argument("--quick", action="store_true", help="a fast smoke run (fewer restarts and steps)")
    p.add_argument("--skip-scale", action="store_true", help="skip the 10^6-restart run")
    p.add_argument("--scale-restarts", type=int, default=1_000_000)
    p.add_argument("--scale-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    return p.parse_args(argv)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


ARGS = parse_args()
N_DEV = ARGS.devices or usable_cores()

import jax  # noqa: E402

jax.config.update("jax_num_cpu_devices", N_DEV)  # fixed when the CPU backend starts; no effect on GPUs

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from xgnn_jax.core import mlp  # noqa: E402
from xgnn_jax.core.mlp import MLP  # noqa: E402
from xgnn_jax.engine import restarts, train  # noqa: E402

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
Y_XOR = np.array([[0], [1], [1], [0]], np.float32)
LR = 0.5
RESULTS: dict = {"rates": {}, "ratios": {}, "env": {}}


def record(section: str, name: str, rate: float | None, note: str = "") -> None:
    RESULTS["rates"].setdefault(section, {})[name] = rate
    shown = f"{rate:12.4g}" if rate is not None else f"{'skipped':>12}"
    print(f"  {name:<44} {shown} restart-steps/s  {note}", flush=True)


def best_time(fn, repeat: int = 2) -> float:
    """Seconds of the fastest of ``repeat`` calls (after one warm-up call that compiles)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# ---------------------------------------------------------------------------------------------- baselines
def numpy_mlp_rate(sizes, R: int, steps: int, acts=("sigmoid", "sigmoid")) -> float:
    """Full-batch GD of a 1-hidden-layer sigmoid MLP on XOR-like data, numpy, batched over the restart axis."""
    rng = np.random.default_rng(0)
    d, h, o = sizes
    x = np.tile(X_XOR, (1, d // 2)) if d > 2 else X_XOR
    y = Y_XOR if o == 1 else np.tile(Y_XOR, (1, o))
    m = x.shape[0]
    W1 = rng.uniform(-1, 1, (R, d, h)).astype(np.float32)
    b1 = np.zeros((R, 1, h), np.float32)
    W2 = rng.uniform(-1, 1, (R, h, o)).astype(np.float32)
    b2 = np.zeros((R, 1, o), np.float32)
    lr = np.float32(LR)

    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    t = time.perf_counter()
    for _ in range(steps):
        A1 = sig(x @ W1 + b1)  # (R, m, h)
        A2 = sig(A1 @ W2 + b2)  # (R, m, o)
        d2 = (A2 - y) * A2 * (1 - A2) / m
        d1 = (d2 @ W2.transpose(0, 2, 1)) * A1 * (1 - A1)
        W2 -= lr * (A1.transpose(0, 2, 1) @ d2)
        b2 -= lr * d2.sum(1, keepdims=True)
        W1 -= lr * (x.T @ d1)
        b1 -= lr * d1.sum(1, keepdims=True)
    return R * steps / (time.perf_counter() - t)


def torch_mlp_rates(sizes, R: int, steps: int) -> dict[str, float | None]:
    """The same batched GD in PyTorch: eager, and with the step compiled by ``torch.compile``."""
    try:
        import torch
    except ImportError:
        return {"eager": None, "compiled": None}
    torch.set_num_threads(usable_cores())
    d, h, o = sizes
    x = torch.tensor(np.tile(X_XOR, (1, d // 2)) if d > 2 else X_XOR)
    y = torch.tensor(Y_XOR if o == 1 else np.tile(Y_XOR, (1, o)))
    m = x.shape[0]
    g = torch.Generator().manual_seed(0)

    def fresh():
        return [torch.rand((R, d, h), generator=g) * 2 - 1, torch.zeros(R, 1, h),
                torch.rand((R, h, o), generator=g) * 2 - 1, torch.zeros(R, 1, o)]

    def step(W1, b1, W2, b2):
        A1 = torch.sigmoid(x @ W1 + b1)
        A2 = torch.sigmoid(A1 @ W2 + b2)
        d2 = (A2 - y) * A2 * (1 - A2) / m
        d1 = (d2 @ W2.transpose(1, 2)) * A1 * (1 - A1)
        return (W1 - LR * (x.T @ d1), b1 - LR * d1.sum(1, keepdim=True),
                W2 - LR * (A1.transpose(1, 2) @ d2), b2 - LR * d2.sum(1, keepdim=True))

    out = {}
    for name, fn in (("eager", step), ("compiled", None)):
        if fn is None:
            try:
                fn = torch.compile(step)
                fn(*fresh())
            except Exception as e:  # no C++ compiler, unsupported platform...
                print(f"  (torch.compile unavailable: {type(e).__name__}: {str(e)[:100]})")
                out[name] = None
                continue
        params = fresh()
        with torch.no_grad():
            for _ in range(3):
                params = fn(*params)
            t = time.perf_counter()
            for _ in range(steps):
                params = fn(*params)
        out[name] = R * steps / (time.perf_counter() - t)
    return out


def c_xor_rate(R: int, steps: int, parallel: int = 1, hidden: int | None = None) -> float | None:
    """Restart-steps/s of the hand-fused C loop (``parallel`` copies at once: the rate of that many cores); the
    2-2-1 loop, or with ``hidden`` the 2-H-1 one (``C_WIDE``)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    d = tempfile.mkdtemp(prefix="xor_c_")
    src, exe = os.path.join(d, "xor.c"), os.path.join(d, "xor")
    with open(src, "w") as fh:
        fh.write(C_XOR if hidden is None else C_WIDE)
    defs = [] if hidden is None else [f"-DH={hidden}"]
    flags = ["-O3", "-march=native", "-ffast-math"]
    r = subprocess.run([cc, *flags, *defs, "-o", exe, src, "-lm"], capture_output=True, text=True)
    if r.returncode != 0:
        r = subprocess.run([cc, "-O3", *defs, "-o", exe, src, "-lm"], capture_output=True, text=True)
        if r.returncode != 0:
            return None
    procs = [subprocess.Popen([exe, str(R), str(steps), str(LR)], stdout=subprocess.PIPE, text=True)
             for _ in range(parallel)]
    rates = [float(p.communicate()[0].split()[0]) for p in procs]
    shutil.rmtree(d, ignore_errors=True)
    return sum(rates)


def gemm_rate() -> dict[str, float]:
    """float32 GEMM FLOP/s: XLA (one jitted 2048^3 product) and numpy's BLAS."""
    n = 2048
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda a, b: a @ b)
    t = best_time(lambda: f(a, a).block_until_ready(), repeat=3)
    an = np.ones((n, n), np.float32)
    tn = best_time(lambda: an @ an, repeat=3)
    return {"xla": 2 * n**3 / t, "numpy": 2 * n**3 / tn}


def gemm_at_run_shapes(R: int = 64) -> float:
    """FLOP/s of the compute-bound run's largest product, 128x784 @ 784x128, for R weight matrices in a row."""
    x = jnp.ones((CB_BATCH, 784), jnp.float32)
    w = jnp.ones((R, 784, 128), jnp.float32)
    f = jax.jit(lambda x, w: jax.lax.map(lambda wi: x @ wi, w))
    t = best_time(lambda: f(x, w).block_until_ready(), repeat=3)
    return R * 2 * CB_BATCH * 784 * 128 / t


def loop_rate(run_fn, hp, R: int, steps: int) -> float:
    """The run function called restart by restart from Python (jit-compiled once)."""
    one = jax.jit(run_fn)
    base = jax.random.key(0)
    jax.block_until_ready(one(jax.random.fold_in(base, 0), hp))
    t = time.perf_counter()
    for i in range(R):
        jax.block_until_ready(one(jax.random.fold_in(base, i), hp))
    return R * steps / (time.perf_counter() - t)


def engine_rate(run_fn, hp, R: int, steps: int, **kw) -> tuple[float, restarts.SweepResult]:
    res = None

    def go():
        nonlocal res
        res = restarts.sweep(run_fn, 0, R, hp, progress=False, **kw)

    dt = best_time(go, repeat=1 if R * steps > 1e8 else 2)
    return R * steps / dt, res


# ---------------------------------------------------------------------------------------------- sections
def xor_section(steps: int, rs: list[int]) -> None:
    print(f"\n== XOR 2-2-1, sigmoid, full-batch GD, half-SSE, {steps} steps ==")
    data = train.Data(jnp.asarray(X_XOR), jnp.asarray(Y_XOR))
    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    config = train.TrainConfig(epochs=steps)
    fast = restarts.outcome_run(model, data, config, target_loss=0.01)
    generic = restarts.outcome_run(model, data, config, target_loss=0.01, fused=False)
    hp = {"lr": LR}
    one_dev = jax.devices()[:1]
    for R in rs:
        print(f" R = {R}")
        rate, res = engine_rate(fast, hp, R, steps)
        record(f"xor_R{R}", "engine (all devices)", rate, f"[{res.execution}, {res.n_devices} dev, chunk "
               f"{res.chunk_size}, block {res.block_size}; {res.n_diverged} diverged]")
        if N_DEV > 1:
            rate, _ = engine_rate(fast, hp, R, steps, devices=one_dev)
            record(f"xor_R{R}", "engine (1 device)", rate)
        if R <= 1024:
            for exe in ("vmap", "blocked"):
                rate, _ = engine_rate(generic, hp, R, steps, execution=exe, devices=one_dev)
                record(f"xor_R{R}", f"engine, make_run + {exe} (1 device)", rate, "[generic path, with history]")
        record(f"xor_R{R}", "python loop, restart by restart", loop_rate(fast, hp, min(R, 16), steps))
        record(f"xor_R{R}", "numpy batched", numpy_mlp_rate((2, 2, 1), R, min(steps, 2000 if R <= 64 else 200)))
        t = torch_mlp_rates((2, 2, 1), R, min(steps, 200))
        record(f"xor_R{R}", "pytorch batched, eager", t["eager"])
        record(f"xor_R{R}", "pytorch batched, torch.compile", t["compiled"])
    R = rs[-1]
    print(f" machine limit: hand-fused C loop, R = {R}")
    record("xor_limit", "C hand-fused, 1 core", c_xor_rate(R, steps))
    if N_DEV > 1:
        record("xor_limit", f"C hand-fused, {N_DEV} processes", c_xor_rate(R, steps, parallel=N_DEV))
    # The 2-H-1 loop at H = 2: another way to write the same limit (every loop over restarts innermost).
    record("xor_limit", "C 2-H-1 loop at H = 2, 1 core", c_xor_rate(R, steps, hidden=2))


def wide_section(steps: int, R: int) -> None:
    print(f"\n== 2-16-1 on XOR, sigmoid, full-batch GD, {steps} steps, R = {R} ==")
    data = train.Data(jnp.asarray(X_XOR), jnp.asarray(Y_XOR))
    model = MLP((2, 16, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    fast = restarts.outcome_run(model, data, train.TrainConfig(epochs=steps), target_loss=0.01)
    hp = {"lr": LR}
    rate, res = engine_rate(fast, hp, R, steps)
    record("wide", "engine (all devices)", rate, f"[{res.execution}, block {res.block_size}]")
    if N_DEV > 1:
        record("wide", "engine (1 device)", engine_rate(fast, hp, R, steps, devices=jax.devices()[:1])[0])
    record("wide", "python loop, restart by restart", loop_rate(fast, hp, 16, steps))
    record("wide", "numpy batched", numpy_mlp_rate((2, 16, 1), R, min(steps, 100)))
    t = torch_mlp_rates((2, 16, 1), R, min(steps, 100))
    record("wide", "pytorch batched, eager", t["eager"])
    record("wide", "pytorch batched, torch.compile", t["compiled"])
    record("wide", "C hand-fused 2-16-1, 1 core", c_xor_rate(R, steps, hidden=16))
    if N_DEV > 1:
        record("wide", f"C hand-fused 2-16-1, {N_DEV} processes", c_xor_rate(R, steps, parallel=N_DEV, hidden=16))


CB_SIZES, CB_BATCH = (784, 128, 10), 128
CB_FLOPS = 2 * CB_BATCH * (784 * 128 * 2 + 128 * 10 * 3)  # forward + backward products of one SGD step


def make_cb_run(steps: int):
    """784-128-10 softmax MLP, plain SGD on ``steps`` fixed random minibatches of 128 (a lean run function)."""
    model = MLP(CB_SIZES, hidden="sigmoid", output="softmax")
    J = mlp.objective(model, "softmax_cross_entropy")
    k1, k2 = jax.random.split(jax.random.key(42))
    xs = jax.random.normal(k1, (steps, CB_BATCH, 784), jnp.float32)
    ys = jax.nn.one_hot(jax.random.randint(k2, (steps, CB_BATCH), 0, 10), 10)

    def run(key, hp):
        params = model.init(key)

        def step(p, batch):
            loss, g = jax.value_and_grad(J)(p, *batch)
            return jax.tree.map(lambda a, b: a - hp["lr"] * b, p, g), loss

        params, losses = jax.lax.scan(step, params, (xs, ys))
        return {"final_loss": losses[-1]}

    return run


def compute_bound_section(R: int, steps: int, gemm: dict) -> None:
    print(f"\n== compute-bound: 784-128-10 softmax MLP, SGD, batch {CB_BATCH}, {steps} steps, R = {R} "
          f"({CB_FLOPS / 1e6:.1f} MFLOP per restart-step) ==")
    run = make_cb_run(steps)
    hp = {"lr": 0.1}
    for exe in ("auto", "map", "vmap", "blocked"):
        kw = {"execution": exe} | ({"block_size": 8} if exe == "blocked" else {})
        rate, res = engine_rate(run, hp, R, steps, **kw)
        record("compute_bound", f"engine {exe}", rate,
               f"[{res.execution}, {res.n_devices} dev; {rate * CB_FLOPS / 1e9:.1f} GFLOP/s]")
    rate = loop_rate(run, hp, min(R, 16), steps)
    record("compute_bound", "python loop, restart by restart", rate, f"[{rate * CB_FLOPS / 1e9:.1f} GFLOP/s]")
    record("compute_bound", "numpy batched", numpy_cb_rate(min(R, 16), min(steps, 5)))
    gemm["run_shapes"] = gemm_at_run_shapes(R)
    print(f"  GEMM limit: 2048^3 XLA {gemm['xla'] / 1e9:.1f} GFLOP/s, numpy {gemm['numpy'] / 1e9:.1f} GFLOP/s "
          f"= {max(gemm['xla'], gemm['numpy']) / CB_FLOPS:.4g} restart-steps/s; at the run's shape 128x784x128: "
          f"{gemm['run_shapes'] / 1e9:.1f} GFLOP/s = {gemm['run_shapes'] / CB_FLOPS:.4g} restart-steps/s")


def numpy_cb_rate(R: int, steps: int) -> float:
    rng = np.random.default_rng(0)
    W1 = rng.normal(0, 0.03, (R, 784, 128)).astype(np.float32)
    W2 = rng.normal(0, 0.1, (R, 128, 10)).astype(np.float32)
    b1, b2 = np.zeros((R, 1, 128), np.float32), np.zeros((R, 1, 10), np.float32)
    x = rng.normal(size=(CB_BATCH, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, CB_BATCH)]
    t = time.perf_counter()
    for _ in range(steps):
        A1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
        z = A1 @ W2 + b2
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        dz = (p - y) / CB_BATCH
        d1 = (dz @ W2.transpose(0, 2, 1)) * A1 * (1 - A1)
        W2 -= 0.1 * (A1.transpose(0, 2, 1) @ dz)
        b2 -= 0.1 * dz.sum(1, keepdims=True)
        W1 -= 0.1 * (x.T @ d1)
        b1 -= 0.1 * d1.sum(1, keepdims=True)
    return R * steps / (time.perf_counter() - t)


def scale_run(R: int, steps: int) -> None:
    """The 10^6-restart run, in this (fresh) process: prints wall time and peak resident memory as JSON."""
    compile_s = [0.0]

    def on_event(event, duration, **_):  # tracing, lowering and XLA compilation, summed over every program
        if event.startswith("/jax/core/compile/"):
            compile_s[0] += duration

    jax.monitoring.register_event_duration_secs_listener(on_event)
    t0 = time.perf_counter()
    data = train.Data(jnp.asarray(X_XOR), jnp.asarray(Y_XOR))
    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    fast = restarts.outcome_run(model, data, train.TrainConfig(epochs=steps), target_loss=0.01)
    t1 = time.perf_counter()
    res = restarts.sweep(fast, 0, R, {"lr": LR}, progress=sys.stderr.isatty())
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    s = res.summary()
    print(json.dumps({"restarts": R, "steps": steps, "sweep_s": t2 - t1, "process_s": t2 - t0 + STARTUP_S,
                      "compile_s": compile_s[0],
                      "peak_rss_bytes": peak, "n_devices": res.n_devices, "chunk_size": res.chunk_size,
                      "block_size": res.block_size, "n_diverged": res.n_diverged,
                      "solved_fraction": float(np.mean(res["final_accuracy"] == 1.0)),
                      "final_loss_median": float(s["final_loss_median"][0])}))


STARTUP_S = time.time() - float(os.environ["_BENCH_T0"]) if "_BENCH_T0" in os.environ else 0.0


def main() -> None:
    if ARGS.scale_only:
        scale_run(ARGS.scale_restarts, ARGS.steps)
        return
    steps = 200 if ARGS.quick else ARGS.steps
    rs = [1, 64, 1024] if ARGS.quick else [1, 64, 1024, 16384]
    RESULTS["env"] = {"devices": [str(d) for d in jax.devices()], "cores": usable_cores(), "jax": jax.__version__,
                      "backend": jax.default_backend(), "steps": steps}
    print(f"restart engine benchmark: {len(jax.devices())} {jax.default_backend()} device(s), "
          f"{usable_cores()} usable cores, jax {jax.__version__}")
    gemm = gemm_rate()
    RESULTS["gemm_flops"] = gemm
    print(f"float32 GEMM 2048^3: XLA {gemm['xla'] / 1e9:.1f} GFLOP/s, numpy {gemm['numpy'] / 1e9:.1f} GFLOP/s")
    xor_section(steps, rs)
    wide_section(steps, 1024 if ARGS.quick else 16384)
    compute_bound_section(8 if ARGS.quick else 64, 4 if ARGS.quick else 20, gemm)

    r = RESULTS["rates"]
    big = f"xor_R{rs[-1]}"
    per_core = r[big].get("engine (1 device)", r[big]["engine (all devices)"])
    ratios = {
        "engine per core / C hand-fused per core (target >= 0.9)": _div(per_core, r["xor_limit"]["C hand-fused, 1 core"]),
        "engine per core / C 2-H-1 loop at H = 2 per core": _div(per_core, r["xor_limit"]["C 2-H-1 loop at H = 2, 1 core"]),
        "engine / numpy batched (target >= 30)": _div(r[big]["engine (all devices)"], r[big]["numpy batched"]),
        "engine / pytorch compiled (target >= 7)": _div(r[big]["engine (all devices)"],
                                                        r[big]["pytorch batched, torch.compile"]),
        "engine / python loop (target >= 8)": _div(r[big]["engine (all devices)"],
                                                   r[big]["python loop, restart by restart"]),
        "2-16-1 engine / numpy batched": _div(r["wide"]["engine (all devices)"], r["wide"]["numpy batched"]),
        "2-16-1 engine per core / C per core (target >= 0.8)": _div(
            r["wide"].get("engine (1 device)", r["wide"]["engine (all devices)"]),
            r["wide"]["C hand-fused 2-16-1, 1 core"]),
        "compute-bound engine auto, fraction of 2048^3 GEMM (target >= 0.8)": _div(
            r["compute_bound"]["engine auto"] * CB_FLOPS, max(gemm["xla"], gemm["numpy"])),
        "compute-bound engine auto, fraction of GEMM at the run's shapes": _div(
            r["compute_bound"]["engine auto"] * CB_FLOPS, gemm["run_shapes"]),
        "compute-bound engine auto / python loop (target >= 1)": _div(
            r["compute_bound"]["engine auto"], r["compute_bound"]["python loop, restart by restart"]),
        "compute-bound engine vmap / map": _div(r["compute_bound"]["engine vmap"], r["compute_bound"]["engine map"]),
    }
    RESULTS["ratios"] = ratios
    print(f"\n== ratios (XOR at R = {rs[-1]}) ==")
    for k, v in ratios.items():
        print(f"  {k:<68} {v:8.3g}" if v is not None else f"  {k:<68} {'n/a':>8}")

    if not ARGS.skip_scale and not ARGS.quick:
        print(f"\n== scale: {ARGS.scale_restarts} restarts x {ARGS.steps} steps of XOR 2-2-1, fresh process ==",
              flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--scale-only", "--devices", str(N_DEV),
               "--steps", str(ARGS.steps), "--scale-restarts", str(ARGS.scale_restarts)]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "_BENCH_T0": str(time.time())})
        wall = time.perf_counter() - t
        if out.returncode != 0:
            print(out.stderr[-2000:])
        else:
            scale = json.loads(out.stdout.strip().splitlines()[-1])
            scale["wall_s_with_startup"] = wall
            RESULTS["scale"] = scale
            print(f"  wall {wall:.1f} s (process incl. JAX start-up and compile; target < 30 s), sweep "
                  f"{scale['sweep_s']:.1f} s = {scale['restarts'] * scale['steps'] / scale['sweep_s']:.3g} "
                  f"restart-steps/s, of which tracing and compiling {scale['compile_s']:.1f} s, peak memory {scale['peak_rss_bytes'] / 2**30:.2f} GiB (target < 2 GiB), "
                  f"{scale['n_devices']} devices, chunk {scale['chunk_size']}, block {scale['block_size']}, "
                  f"{scale['n_diverged']} diverged, {scale['solved_fraction']:.1%} solve XOR")
            # The C loop on the same work, sustained as long (a short burst runs at a higher clock on some hosts).
            c_rate = c_xor_rate(-(-scale["restarts"] // N_DEV), scale["steps"], parallel=N_DEV)
            if c_rate:
                c_s = scale["restarts"] * scale["steps"] / c_rate
                scale["c_s"] = c_s
                print(f"  the C loop on the same restarts, {N_DEV} processes: {c_s:.1f} s; sweep / C "
                      f"{scale['sweep_s'] / c_s:.2f} "
                      f"(target <= 1.1), compile excluded {(scale['sweep_s'] - scale['compile_s']) / c_s:.2f} "
                      "(the C program's compile is not in its time either)")
                RESULTS["ratios"]["10^6 sweep / C loop on all cores (target <= 1.1)"] = scale["sweep_s"] / c_s
    if ARGS.json:
        with open(ARGS.json, "w") as fh:
            json.dump(RESULTS, fh, indent=1, default=str)


def _div(a, b):
    return None if a is None or b is None or b == 0 else a / b


if __name__ == "__main__":
    main()
