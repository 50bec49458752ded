"""What every study shares: its description, its verdicts, its results folder and its command line.

A study is a module ``experiments/<name>.py`` that defines

* ``Config``: a frozen dataclass whose defaults are the *quick* setting (seconds on 2 CPU cores), and whose
  ``full()`` classmethod returns the full setting. Every field is a CLI flag.
* ``run(config, out_dir=None, progress=True) -> dict``: does the work (callable from a notebook), writes the
  results folder when ``out_dir`` is given and returns the summary, both through :func:`finish`.
* ``STUDY = Study(...)``: its name, title, the claims it measures, and an ``order`` in the report.
* ``if __name__ == "__main__": experiment.main(STUDY)``.

Results folder ``results/<study>/``:

| file | content |
|---|---|
| ``config.json`` | the exact config |
| ``meta.json`` | seed, package versions, device count and kind, x64 flag, wall time, git commit (and whether the tree was dirty), command line |
| ``arrays.npz`` | raw per-restart arrays (one row per restart) |
| ``summary.json`` | measured numbers and a :class:`Verdict` per claim |
| ``*.png`` | figures |

:func:`finish` writes the folder; :func:`xgnn_jax.report.write_report` turns all ``summary.json`` files into ``results/REPORT.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from xgnn_jax.claims import CLAIMS, VERDICTS

HOLDS, CONDITIONAL, FAILS, INCONCLUSIVE, NOT_MEASURED = VERDICTS


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a study concludes about one claim (``C1``-``C24``) or one further question (any other id).

    ``verdict`` is one of ``"holds"``, ``"holds under conditions"`` (say which in ``conditions``),
    ``"does not hold"`` or ``"inconclusive"`` (the evidence cannot separate two outcomes at this sample size; say
    which and why in ``conditions``). ``measured`` states the numbers (with spread over seeds) the verdict rests
    on; it must be computed from the run, never written by hand.

    ``facts`` are the discrete findings the verdict and its conditions rest on (booleans, category names, lists of
    names; no raw numbers), e.g. ``{"widest_worse": []}``: what must not move with the seed or the compiler. The
    stability check (``python -m xgnn_jax stability``) compares the verdict word and these facts across runs.
    """

    claim: str
    verdict: str
    question: str
    measured: str
    setting: str = ""
    conditions: str = ""
    figures: tuple[str, ...] = ()
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS[:4]:
            raise ValueError(f"verdict: expected one of {VERDICTS[:4]}, got {self.verdict!r}")
        if self.verdict in (CONDITIONAL, INCONCLUSIVE) and not self.conditions:
            raise ValueError(f"conditions: a verdict {self.verdict!r} must name its conditions (for "
                             "'inconclusive': which outcomes the evidence cannot separate, and why)")
        for name, value in self.facts.items():
            if isinstance(value, float):
                raise ValueError(f"facts[{name!r}]: a fact is discrete (bool, int count, name, list of names), "
                                 f"got the float {value!r}; put numbers in 'measured'")


def verdict(claim: str, ok: bool | None, question: str, measured: str, *, conditional: bool = False,
            conditions: str = "", setting: str = "", figures: Iterable[str] = (),
            facts: Mapping[str, Any] | None = None) -> Verdict:
    """A :class:`Verdict` from a measured boolean: ``holds`` (or ``holds under conditions``) if ``ok``, ``does not
    hold`` if not, ``inconclusive`` if ``ok is None`` (the evidence could not decide)."""
    v = INCONCLUSIVE if ok is None else (CONDITIONAL if conditional else HOLDS) if ok else FAILS
    return Verdict(claim, v, question, measured, setting, conditions, tuple(figures), dict(facts or {}))


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


# ---------------------------------------------------------------------------------------------- provenance
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


def _git_state() -> dict[str, Any]:
    """The commit of the code that ran, and whether tracked files had uncommitted changes (``dirty``)."""
    root = Path(__file__).resolve().parent.parent
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


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/jax scalars and arrays, dataclasses, tuples and paths into JSON-friendly values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.generic,)):
        obj = obj.item()
    if hasattr(obj, "__array__") and not isinstance(obj, (str, bytes)):
        arr = np.asarray(obj)
        return to_jsonable(arr.item() if arr.ndim == 0 else arr.tolist())  # again: NaN/inf inside arrays
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, ``fsync`` and ``os.replace``: a reader (or a sweep resumed after
    a crash) sees the old file or the whole new one, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(Path(path), (json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n").encode())


def write_npz(path: Path, arrays: Mapping[str, Any]) -> None:
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(Path(path), buf.getvalue())


def finish(study: Study, config: Any, summary: dict, out_dir: str | Path | None, *,
           arrays: Mapping[str, Any] | None = None, wall_time_s: float | None = None,
           seed: int | None = None, extra_meta: Mapping[str, Any] | None = None) -> dict:
    """The last line of every study's ``run``: returns the JSON-ready summary and, when ``out_dir`` is given,
    writes ``config.json``, ``meta.json``, ``arrays.npz`` and ``summary.json`` there.

    ``summary`` holds the measured numbers; its ``"verdicts"`` entry is a list of :class:`Verdict`.
    Figures are saved by the study itself (see :func:`xgnn_jax.plotting.save`) and named in the verdicts.
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
        **_git_state(),
        "command": " ".join(sys.argv),
        **(extra_meta or {}),
    }
    write_json(out / "meta.json", meta)
    if arrays:
        write_npz(out / "arrays.npz", arrays)
    write_json(out / "summary.json", body)
    return body


# ---------------------------------------------------------------------------------------------- progress
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


# ---------------------------------------------------------------------------------------------- CLI
def parse_config(study: Study, argv: list[str] | None = None):
    """Build a study's config from the command line: ``--full`` selects the full setting, and every config field
    is an override flag (``--seeds 512 --lr 0.1``). Unknown flags exit with a message listing the valid ones."""
    import tyro

    argv = list(sys.argv[1:] if argv is None else argv)
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    default = study.full_config() if full else study.quick_config()
    description = (f"{study.title} (claims {', '.join(study.claims) or '-'}). Defaults shown are the "
                   f"{'full' if full else 'quick'} setting; pass --full for the full one.")
    return tyro.cli(study.config, default=default, args=argv, description=description,
                    prog=f"python -m xgnn_jax run {study.name}", config=(tyro.conf.FlagConversionOff,)), full


def run_study(study: Study, config: Any, *, results_root: str | Path = "results", progress: bool = True) -> dict:
    """Run one study with ``config``, writing ``results_root/<study.name>/``; returns its summary."""
    out = Path(results_root) / study.name
    t0 = time.perf_counter()
    summary = study.run(config, out_dir=out, progress=progress)
    if progress:
        print(f"[{study.name}] done in {time.perf_counter() - t0:.1f} s -> {out}/")
    return summary


def main(study: Study, argv: list[str] | None = None) -> dict:
    """Entry point of ``python experiments/<study>.py [--full] [--field value ...] [--results DIR]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    results_root = "results"
    if "--results" in argv:
        i = argv.index("--results")
        if i + 1 >= len(argv):
            raise SystemExit("--results: expected a folder")
        results_root = argv[i + 1]
        del argv[i : i + 2]
    config, _ = parse_config(study, argv)
    return run_study(study, config, results_root=results_root)
