"""Figure helpers shared by the studies: a headless backend, one saving convention, consistent style.

Every figure a study writes has a title, labelled axes (with units where there are any) and a legend where several
series are drawn; :func:`save` writes a PNG at a size that reads well in the report and closes the figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
    try:
        matplotlib.use("Agg")
    except Exception:  # an interactive backend already in use (a notebook): keep it
        pass

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 110


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 5.0, height: float = 3.6, **kw):
    """``fig, axes`` with a per-panel size in inches; ``axes`` is a flat array when there are several panels."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    flat = axes.ravel()
    return fig, (flat[0] if flat.size == 1 else flat)


def save(fig, path: str | Path) -> str:
    """Save ``fig`` as PNG at ``path`` (folders created), close it, and return the file name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path.name


def band(ax, x, ys, *, label: str, color=None, q=(25, 75)):
    """Median of ``ys`` (rows: seeds, columns: x) as a line, with the ``q`` percentile band shaded."""
    ys = np.asarray(ys)
    med = np.nanmedian(ys, axis=0)
    lo, hi = np.nanpercentile(ys, q[0], axis=0), np.nanpercentile(ys, q[1], axis=0)
    (line,) = ax.plot(x, med, label=f"{label} (median, {q[0]}-{q[1]}%)", color=color)
    ax.fill_between(x, lo, hi, alpha=0.25, color=line.get_color())
    return line
