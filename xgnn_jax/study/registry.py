"""A study's description (:class:`Study`) and running one study into its results folder (:func:`run_study`).

A study is a module ``xgnn_jax/studies/<name>.py`` that defines

* ``Config``: a frozen dataclass whose defaults are the *quick* setting (seconds on 2 CPU cores), and whose
  ``full()`` classmethod returns the full setting. Every field is a CLI flag.
* ``run(config, out_dir=None, progress=True) -> dict``: does the work (callable from a notebook), writes the
  results folder when ``out_dir`` is given and returns the summary, both through
  :func:`xgnn_jax.study.results.finish`.
* ``STUDY = Study(...)``: its name, title, the claims it measures, and an ``order`` in the report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xgnn_jax.study.claims import CLAIMS


@dataclasses.dataclass(frozen=True)
class Study:
    """A study's description: ``name`` (folder and CLI name), ``title``, the ``claims`` it measures, the ``Config``
    class, the ``run`` function, and its position ``order`` in the report."""

    name: str
    title: str
    claims: tuple[str, ...]
    config: type
    run: Callable[..., dict]
    order: int = 100
    description: str = ""

    def __post_init__(self):
        unknown = [c for c in self.claims if c not in CLAIMS]
        if unknown:
            raise ValueError(f"claims: unknown claim ids {unknown}; expected ids from C1 to C24")

    def quick_config(self):
        return self.config()

    def full_config(self):
        full = getattr(self.config, "full", None)
        return full() if full is not None else self.config()


def run_study(study: Study, config: Any, *, results_root: str | Path = "results", progress: bool = True) -> dict:
    """Run one study with ``config``, writing ``results_root/<study.name>/``; returns its summary."""
    out = Path(results_root) / study.name
    t0 = time.perf_counter()
    summary = study.run(config, out_dir=out, progress=progress)
    if progress:
        print(f"[{study.name}] done in {time.perf_counter() - t0:.1f} s -> {out}/")
    return summary
