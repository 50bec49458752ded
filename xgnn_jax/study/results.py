"""The results folder of a study, written by :func:`finish`; progress bars and a timer for the studies.

Results folder ``results/<study>/``:

| file | content |
|---|---|
| ``config.json`` | the exact config |
| ``meta.json`` | seed, package versions, device count and kind, x64 flag, wall time, git commit (and whether the tree was dirty), command line |
| ``arrays.npz`` | raw per-restart arrays (one row per restart) |
| ``summary.json`` | measured numbers and a :class:`Verdict` per claim |
| ``*.png`` | figures |

:func:`finish` writes the folder; :func:`xgnn_jax.study.report.write_report` turns all ``summary.json`` files into ``results/REPORT.md``.
"""

from __future__ import annotations

import datetime as _dt
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xgnn_jax.io import to_jsonable, write_csv, write_json, write_npz
from xgnn_jax.provenance import environment, git_state, versions
from xgnn_jax.study.registry import Study


def finish(study: Study, config: Any, summary: dict, out_dir: str | Path | None, *,
           arrays: Mapping[str, Any] | None = None, wall_time_s: float | None = None,
           seed: int | None = None, extra_meta: Mapping[str, Any] | None = None,
           tables: Mapping[str, Mapping[str, Any]] | None = None) -> dict:
    """The last line of every study's ``run``: returns the JSON-ready summary and, when ``out_dir`` is given,
    writes ``config.json``, ``meta.json``, ``arrays.npz`` and ``summary.json`` there.

    ``summary`` holds the measured numbers; its ``"verdicts"`` entry is a list of :class:`Verdict`.
    ``tables`` are written as ``<name>.csv``: ``{name: {column: 1-D values of one length}}`` (e.g. one row per
    restart with named columns, :meth:`xgnn_jax.engine.restarts.SweepResult.table`), for a user to filter or plot.
    Figures are saved by the study itself (see :func:`xgnn_jax.study.plotting.save`) and named in the verdicts.
    """
    body = to_jsonable({"study": study.name, "title": study.title, "claims": list(study.claims),
                        "wall_time_s": wall_time_s, **summary})
    if out_dir is None:
        return body
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config)
    meta = {
        "study": study.name,
        "seed": seed if seed is not None else getattr(config, "seed", None),
        "wall_time_s": wall_time_s,
        "finished_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "environment": environment(),
        **git_state(),
        "command": " ".join(sys.argv),
        **(extra_meta or {}),
    }
    write_json(out / "meta.json", meta)
    if arrays:
        write_npz(out / "arrays.npz", arrays)
    for name, cols in (tables or {}).items():
        write_csv(out / f"{name}.csv", cols)
    write_json(out / "summary.json", body)
    return body


def progress(iterable: Iterable, *, desc: str = "", total: int | None = None, enabled: bool = True):
    """A terminal progress bar (tqdm) over a Python-level loop (chunks, grid cells); silent when disabled."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False, dynamic_ncols=True)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
