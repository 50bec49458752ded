"""What a result depends on besides its config: package versions, the commit, devices and XLA flags."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide the numbers."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("xgnn_jax", "jax", "jaxlib", "optax", "flax", "chex", "numpy", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_state() -> dict[str, Any]:
    """The commit of the code that ran, and whether tracked files had uncommitted changes (``dirty``)."""
    root = Path(__file__).resolve().parents[1]  # the repository (this file is xgnn_jax/provenance.py)
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        return {"git_commit": head or None, "git_dirty": bool(status)}
    except Exception:
        return {"git_commit": None, "git_dirty": None}


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def use_cpu_cores(requested: str | None = None) -> int | None:
    """Give JAX one CPU device per usable core (``requested``: a count from ``XGNN_CPU_DEVICES``, default all).

    A sweep shards its chunks over the devices, and a fused or small-network program runs on one thread per device,
    so with a single CPU device the second core idles through every sweep. Must run before JAX starts its CPU
    backend; it does nothing when XLA_FLAGS already sets ``--xla_force_host_platform_device_count`` or the backend
    is up (a library caller keeps its own setting). Returns the count set, or None. Results stay within tolerance
    of a one-device run: each restart is computed on one device, only chunk layouts change (docs/restarts.md).
    """
    import jax
    from jax._src import xla_bridge

    text = os.environ.get("XGNN_CPU_DEVICES", "") if requested is None else requested
    try:
        n = int(text) if text.strip() else usable_cores()
    except ValueError:
        n = 0
    if n < 1:
        raise SystemExit(f"XGNN_CPU_DEVICES: expected a positive number of CPU devices, got {text!r}")
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "") or xla_bridge.backends_are_initialized():
        return None
    jax.config.update("jax_num_cpu_devices", n)
    return n


def environment() -> dict[str, Any]:
    """Device count and kind, x64 flag, PRNG implementation, host: what bit-level results depend on."""
    import jax

    devs = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devs),
        "device_kind": devs[0].device_kind,
        "process_count": jax.process_count(),
        "x64": bool(jax.config.jax_enable_x64),
        "prng_impl": str(jax.config.jax_default_prng_impl),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
