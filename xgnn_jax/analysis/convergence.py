"""How fast training gets somewhere: time to a threshold, honest quartiles when some runs never get there, the
wall time of one epoch, and how much per-example gradients cancel (standard vs accumulated BP, C11).

* :func:`epochs_to`: the first epoch (1-based) at which a loss curve is below a threshold, ``inf`` if never (so
  an unreached run sorts after every reached one).
* :func:`quartiles_unreached`: quartiles that never hide an ``inf`` inside an interpolation.
* :func:`seconds_per_epoch`: wall time of one epoch of a single jit-compiled run; :func:`hardware` names the
  machine it was measured on.
* :func:`gradient_conflict`: ``||sum_k g_k|| / sum_k ||g_k||`` and the share of example pairs with opposing
  gradients at one parameter point.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from xgnn_jax.core.mlp import objective
from xgnn_jax.engine import train

Array = jax.Array


def epochs_to(curves: Any, threshold: float) -> np.ndarray:
    """First epoch (1-based) at which each curve (last axis: epochs) is below ``threshold``; ``inf`` if never."""
    below = np.asarray(curves) < threshold
    first = np.argmax(below, axis=-1).astype(np.float64) + 1
    return np.where(below.any(axis=-1), first, np.inf)


def quartiles_unreached(a: Any, q: tuple[float, ...] = (25, 50, 75)) -> np.ndarray:
    """Percentiles (default the quartiles) that keep ``inf`` (a run that never reached the threshold) honestly.

    The position ``p (n - 1)`` of a percentile in the sorted sample usually falls between two values: a lower
    percentile (``p < 50``) takes the lower of them, an upper one (``p > 50``) the higher, the median their mean. So
    the interval never hides an unreached run inside an interpolation: of ``[6, 6, 6, inf]`` the quartiles are
    ``6, 6, inf``, and the median is ``inf`` as soon as half the runs never got there."""
    a = np.sort(np.asarray(a, np.float64).ravel())
    if a.size == 0:
        raise ValueError("a: expected at least one value")
    out = []
    for p in q:
        pos = p / 100 * (len(a) - 1)
        lo, hi = a[int(np.floor(pos))], a[int(np.ceil(pos))]
        out.append(lo if p < 50 else hi if p > 50 else (np.inf if np.isinf(hi) else (lo + hi) / 2))
    return np.array(out)


def seconds_per_epoch(model: Any, data: Any, cfg: train.TrainConfig, hparams: dict[str, float],
                      repeats: int = 3) -> float:
    """Wall time of one epoch of a single jit-compiled ``train.make_run`` run (best of ``repeats`` calls after
    compiling, divided by ``cfg.epochs``)."""
    hp = {k: jnp.float32(v) for k, v in hparams.items()}
    fn, _ = train.compile_run(train.make_run(model, data, cfg), jax.random.key(0), hp)
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(jax.random.key(r), hp))
        best = min(best, time.perf_counter() - t0)
    return best / cfg.epochs


def hardware() -> str:
    """The machine wall times were measured on, in words (CPU model, core count, JAX device)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    dev = jax.devices()[0]
    return f"{model}, {os.cpu_count()} cores visible, JAX {dev.platform} device ({dev.device_kind})"


def gradient_conflict(model: Any, params: Any, x: Array, y: Array, loss: str = "half_sse") -> tuple[Array, Array]:
    """Per-example gradient agreement at one parameter point, for ``x: (m, d)``, ``y: (m, k)``.

    With ``g_k = grad E_k`` (flattened): ``ratio = ||sum_k g_k|| / sum_k ||g_k||`` (1: all aligned, 0: they
    cancel exactly) and ``negative = #{(k, l), k != l: cos(g_k, g_l) < 0} / (m (m - 1))``."""
    J = objective(model, loss, "mean")
    g = jax.vmap(lambda xk, yk: ravel_pytree(jax.grad(J)(params, xk[None], yk[None]))[0])(x, y)
    norms = jnp.linalg.norm(g, axis=1)
    ratio = jnp.linalg.norm(g.sum(0)) / jnp.maximum(norms.sum(), 1e-30)
    cos = (g @ g.T) / jnp.maximum(norms[:, None] * norms[None, :], 1e-30)
    m = x.shape[0]
    neg = (jnp.sum(cos < 0) - jnp.sum(jnp.diag(cos) < 0)) / (m * (m - 1))
    return ratio, neg
