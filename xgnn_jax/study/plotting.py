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


def problems(fig) -> list[str]:
    """What a figure lacks: a title (its own or the figure's), x and y labels on every panel that draws data, and
    a legend where a panel draws several labelled series (one legend in the figure may serve all its panels).
    Colour bars and empty panels are not checked."""
    out = []
    has_suptitle = bool(getattr(fig, "_suptitle", None) and fig._suptitle.get_text())
    for i, ax in enumerate(fig.axes):
        if ax.get_label() == "<colorbar>" or not ax.get_visible() or not ax.has_data():
            continue
        name = f"panel {i}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        if not (ax.get_title() or has_suptitle):
            out.append(f"{name}: no title")
        if not ax.get_xlabel():
            out.append(f"{name}: no x-axis label")
        if not ax.get_ylabel():
            out.append(f"{name}: no y-axis label")
        labelled = [h for h in ax.get_legend_handles_labels()[1] if h and not h.startswith("_")]
        # One legend may serve several panels that draw the same series.
        if len(labelled) > 1 and not fig.legends and all(a.get_legend() is None for a in fig.axes):
            out.append(f"{name}: {len(labelled)} labelled series but no legend")
    return out


def save(fig, path: str | Path) -> str:
    """Save ``fig`` as PNG at ``path`` (folders created), close it, and return the file name.

    With the environment variable ``XGNN_STRICT_FIGURES=1`` (set by the test suite) a figure that lacks a title,
    axis labels or a needed legend (see :func:`problems`) raises ``ValueError`` instead of being saved.
    """
    import os

    path = Path(path)
    missing = problems(fig)
    if missing and os.environ.get("XGNN_STRICT_FIGURES") == "1":
        plt.close(fig)
        raise ValueError(f"figure {path.name}: " + "; ".join(missing))
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:  # a figure made with layout="constrained" keeps its own layout
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
