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
