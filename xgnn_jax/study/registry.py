"""A study's description (:class:`Study`), its config's validation (:func:`check_config`) and running one study
into its results folder (:func:`run_study`).

A study is a module ``xgnn_jax/studies/<name>.py`` that defines

* ``Config``: a frozen dataclass whose defaults are the *quick* setting (seconds on 2 CPU cores), and whose
  ``full()`` classmethod returns the full setting. Every field is a CLI flag. An optional class attribute
  ``RANGES: ClassVar[dict[str, tuple[float | None, float | None]]]`` gives inclusive bounds per field (None:
  unbounded); it replaces the rule the field's name implies (see :func:`check_config`).
* ``run(config, out_dir=None, progress=True) -> dict``: does the work (callable from a notebook), writes the
  results folder when ``out_dir`` is given and returns the summary, both through
  :func:`xgnn_jax.study.results.finish`.
* ``STUDY = Study(...)``: its name, title, the claims it measures, and an ``order`` in the report.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xgnn_jax.study import results
from xgnn_jax.study.claims import CLAIMS


class ConfigError(ValueError):
    """An invalid config value: the message names the field, its CLI flag, the value and the allowed range."""


# Rules from a field's name (its ``_``-separated tokens): (low, high, low_open, what). Inclusive bounds unless
# low_open. The first rule whose tokens meet the name's decides; RANGES on the Config replaces them.
_COUNT = frozenset({"seeds", "restarts", "epochs", "steps", "width", "widths", "hidden", "batch", "runs", "sets",
                    "datasets", "points", "pairs", "attempts", "population", "layers", "depths", "directions",
                    "centres", "dim", "n"})
_RATE = frozenset({"lr", "lrs", "eta", "etas"})
_UNIT = frozenset({"threshold", "fraction", "frac", "prob", "probability", "accuracy", "alpha", "momentum"})
_NONNEG = frozenset({"tol", "tolerance", "noise", "decay", "decays"})


def _name_rule(name: str) -> tuple[float | None, float | None, bool, str] | None:
    tokens = set(name.lower().split("_"))
    if name == "seed":
        return 0, 2**32 - 1, False, "a seed"
    if tokens & _COUNT:
        return 1, None, False, "a count"
    if tokens & _RATE or "learning_rate" in name.lower():
        return 0, None, True, "a learning rate"
    if tokens & _UNIT:
        return 0, 1, False, "a probability or fraction"
    if tokens & _NONNEG:
        return 0, None, False, "non-negative"
    if "budget" in tokens:
        return 0, None, True, "a budget"
    return None


def _numbers(value: Any) -> list[Any] | None:
    """The numbers of a field value (a number, or a tuple/list of them); None for what is not checked."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, numbers.Number):
        return [value]
    if isinstance(value, (tuple, list)):
        out = []
        for v in value:
            sub = _numbers(v)
            out.extend(sub or [])
        return out
    return None


def _interval(low, high, low_open=False) -> str:
    lo = "(-inf" if low is None else (f"({low:g}" if low_open else f"[{low:g}")
    hi = "inf)" if high is None else f"{high:g}]"
    return f"{lo}, {hi}"


def check_config(config: Any) -> None:
    """Validate a study config before anything runs; raise :class:`ConfigError` naming field, flag and range.

    Every number of every field (ints, floats, the elements of tuple fields) must be finite. Then each field is
    checked against ``type(config).RANGES[field] = (low, high)`` (inclusive, None = unbounded) when given, else
    against the rule its name implies: ``seed`` an int in [0, 2^32 - 1]; counts (``seeds``, ``restarts``,
    ``epochs``, ``steps``, ``width``, ``n_*`` ...) >= 1; learning rates (``lr``, ``*_lrs``, ``eta`` ...) > 0;
    thresholds, fractions, probabilities, ``alpha``, ``momentum`` in [0, 1]; tolerances, noise, decays >= 0;
    budgets > 0. The full list is in ``/work/tools/RESULTS_API.md`` and ``_name_rule``.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ConfigError(f"config: expected a dataclass instance, got {type(config).__name__}")
    fields = {f.name for f in dataclasses.fields(config)}
    ranges = dict(getattr(type(config), "RANGES", None) or {})
    unknown = sorted(set(ranges) - fields)
    if unknown:
        raise ConfigError(f"{type(config).__name__}.RANGES names fields that do not exist: {unknown}")
    for name in sorted(fields):
        value = getattr(config, name)
        nums = _numbers(value)
        if not nums:
            continue
        where = f"config.{name} (--{name})"
        for x in nums:
            if not math.isfinite(float(x)):
                raise ConfigError(f"{where}: {value!r} is not a finite number" if len(nums) == 1 else
                                  f"{where}: {value!r} holds {x!r}, not a finite number")
        if name in ranges:
            low, high = ranges[name]
            low_open, what = False, "its RANGES entry"
        else:
            rule = _name_rule(name)
            if rule is None:
                continue
            low, high, low_open, what = rule
        for x in nums:
            bad_low = low is not None and (x <= low if low_open else x < low)
            bad_high = high is not None and x > high
            bad_int = name == "seed" and float(x) != int(x)
            if bad_low or bad_high or bad_int:
                shown = f"{value!r}" if len(nums) == 1 else f"{value!r} holds {x!r}, which"
                raise ConfigError(f"{where}: {shown} is outside {_interval(low, high, low_open)} ({what})"
                                  + (" and must be an integer" if bad_int else ""))


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

    def check(self, config: Any) -> None:
        """:func:`check_config`, and that ``config`` is this study's ``Config``."""
        if not isinstance(config, self.config):
            raise ConfigError(f"config: expected a {self.config.__name__} for study {self.name!r}, got "
                              f"{type(config).__name__}")
        check_config(config)


def run_study(study: Study, config: Any, *, results_root: str | Path = "results", progress: bool = True) -> dict:
    """Validate ``config`` (:meth:`Study.check`: an invalid value raises :class:`ConfigError` before anything
    runs), run the study into a staging folder and publish it as ``results_root/<study.name>`` (see
    :func:`xgnn_jax.study.results.staging_folder`); returns its summary.

    The study's ``out_dir`` is the staging folder ``results_root/.runs/<name>/<run-id>/`` (figures saved there
    land in the published folder); :func:`xgnn_jax.study.results.finish` writes the files, then points the
    symlink ``results_root/<name>`` at it in one atomic step. A study that fails leaves the old results in
    place (its staging folder is removed; one killed outright is taken over, with its resumable sweeps, by the
    next run of the same config)."""
    study.check(config)
    t0 = time.perf_counter()
    staging = results.staging_folder(results_root, study.name, config)
    try:
        summary = study.run(config, out_dir=staging, progress=progress)
    except BaseException:
        results.discard_staging(staging)
        raise
    if results.is_staging(staging):
        results.discard_staging(staging)
        raise RuntimeError(f"study {study.name!r} returned without calling results.finish(..., out_dir) with the "
                           f"folder it was given ({staging}); nothing was published")
    out = Path(results_root) / study.name
    if progress:
        print(f"[{study.name}] done in {time.perf_counter() - t0:.1f} s -> {out}/")
    return summary
