"""The results folder of a study, written by :func:`finish` and checked by :func:`check_folder`; progress bars
and a timer for the studies.

Results folder ``results/<study>/``:

| file | content |
|---|---|
| ``config.json`` | the exact config |
| ``arrays.npz`` | raw per-restart arrays (one row per restart) |
| ``<table>.csv`` | per-restart tables (``tables=``) |
| ``summary.json`` | measured numbers and a :class:`Verdict` per claim |
| ``*.png`` | figures |
| ``meta.json`` | seed, package versions, device count and kind, x64 flag, wall time, git commit (and whether the tree was dirty), command line, ``run_id``, and ``files``: the SHA-256 of every other file; written last |

Published as a whole: :func:`xgnn_jax.study.registry.run_study` gives the study a staging folder
``results/.runs/<study>/<run-id>/`` (:func:`staging_folder`) as its ``out_dir``; the study saves its figures
there and :func:`finish` writes the other files, then replaces the symlink ``results/<study>`` (pointing at the
previous run's folder) by one pointing at the new folder with ``os.replace``, one atomic step on POSIX file
systems. A kill at any moment leaves ``results/<study>`` naming the old complete folder or the new complete one.
A ``finish`` into a plain folder (a notebook's or a test's ``out_dir``) writes there directly, meta.json last,
so :func:`check_folder` flags a folder whose writing was cut short.

:func:`xgnn_jax.study.report.write_report` turns all ``summary.json`` files into ``results/REPORT.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xgnn_jax.io import atomic_write_bytes, to_jsonable, write_csv, write_json, write_npz
from xgnn_jax.provenance import environment, git_state, versions

if TYPE_CHECKING:  # only annotations: registry imports this module
    from xgnn_jax.study.registry import Study

RUNS = ".runs"  # results/.runs/<study>/<run-id>/: every run's folder; results/<study> links the published one
STAGING_MARK = ".staging.json"  # present while a run folder is being written; names where it will be published
REQUIRED = ("config.json", "summary.json", "meta.json")


# ---------------------------------------------------------------------------------------------- staging
def staging_folder(results_root: str | Path, name: str, config: Any = None) -> Path:
    """A run folder ``results_root/.runs/<name>/<run-id>/`` marked as staging: :func:`finish` into it publishes
    it as ``results_root/<name>``. ``run-id`` = UTC time, host, pid and a random suffix.

    With ``config``, a study's resumable sweeps (``out_dir/sweeps/``, see :func:`xgnn_jax.engine.restarts.sweep`)
    carry over: the staging folder of an earlier run of the same config whose process died (killed, crashed) is
    taken over as it is, and otherwise the published run's ``sweeps/`` files are hard-linked into the new folder
    when its config is the same (chunk files are never rewritten in place, so the old run stays intact)."""
    root = Path(results_root)
    key = _config_key(config) if config is not None else None
    host = socket.gethostname()
    mark = {"publish_as": name, "pid": os.getpid(), "host": host, "config_key": key,
            "started": _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")}
    runs = root / RUNS / name
    if key is not None and runs.is_dir():
        for d in sorted(runs.iterdir()):
            info = _staging_info(d)
            if info and info.get("config_key") == key and _gone(info):
                atomic_write_bytes(d / STAGING_MARK, json.dumps({**mark, "run_id": d.name}).encode())
                return d
    run_id = f"{mark['started']}-{host}-{os.getpid()}-{secrets.token_hex(3)}"
    folder = runs / run_id
    folder.mkdir(parents=True, exist_ok=False)
    atomic_write_bytes(folder / STAGING_MARK, json.dumps({**mark, "run_id": run_id}).encode())
    published = root / name
    if key is not None and (published / "sweeps").is_dir():
        try:
            same = _config_key(json.loads((published / "config.json").read_text())) == key
        except (OSError, ValueError):
            same = False
        if same:
            _link_tree(published / "sweeps", folder / "sweeps")
    return folder


def sweep_kwargs(out_dir: str | Path | None, study: str, part: str, config: Any) -> dict[str, Any]:
    """The restart engine's keyword arguments that make one of a study's sweeps resumable: its chunks go to
    ``out_dir/sweeps/<part>``, fingerprinted by the study's name, the part and its whole (dataclass) ``config``, so
    another setting never loads them; nothing when ``out_dir`` is None."""
    if out_dir is None:
        return {}
    return {"out_dir": Path(out_dir) / "sweeps" / part.replace(" ", "_"),
            "config": {"study": study, "part": part, **dataclasses.asdict(config)}}


def _config_key(config: Any) -> str:
    return hashlib.sha256(json.dumps(to_jsonable(config), sort_keys=True, default=str).encode()).hexdigest()


def _staging_info(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STAGING_MARK).read_text())
    except (OSError, ValueError):
        return None


def _link_tree(src: Path, dest: Path) -> None:
    """Hard-link the files of every sweep folder under ``src`` (a folder with a ``manifest.json`` of the current
    format) into ``dest`` (copy where links are not possible). Lock files are left out (the new folder gets its
    own); sweep folders of an older format are not carried over (they would be refused)."""
    from xgnn_jax.engine.restarts import CARRIED, FORMAT_VERSION, MANIFEST

    for manifest in src.rglob(MANIFEST):
        try:
            if json.loads(manifest.read_text()).get("format") != FORMAT_VERSION:
                continue
        except (OSError, ValueError):
            continue
        # Marked as carried over: if this version of the code computes another sweep there (a changed program),
        # the sweep replaces these links instead of refusing the folder (the published run keeps its files).
        carried = dest / manifest.parent.relative_to(src) / CARRIED
        carried.parent.mkdir(parents=True, exist_ok=True)
        carried.touch()
        for p in manifest.parent.rglob("*"):
            if not p.is_file() or p.name in (".lock", CARRIED):
                continue
            target = dest / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(p, target)
            except FileExistsError:
                pass  # nested sweep folders: linked once
            except OSError:
                shutil.copy2(p, target)


def is_staging(folder: str | Path) -> bool:
    """Whether ``folder`` is a run folder not yet published (its :data:`STAGING_MARK` is still there)."""
    return (Path(folder) / STAGING_MARK).exists()


def discard_staging(folder: str | Path) -> None:
    """Give up an unpublished staging folder (a failed or interrupted run): removed, unless it holds resumable
    sweeps (``sweeps/``), then marked abandoned so that the next run of the same config takes it over. A
    published folder is never touched."""
    folder = Path(folder)
    if not is_staging(folder):
        return
    if (folder / "sweeps").is_dir():
        info = _staging_info(folder) or {}
        atomic_write_bytes(folder / STAGING_MARK, json.dumps({**info, "abandoned": True}).encode())
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _gone(info: dict) -> bool:
    """Whether the run that wrote a staging mark is over: abandoned, or its process is dead (on this host)."""
    try:
        return bool(info.get("abandoned")) or (info["host"] == socket.gethostname()
                                               and not _pid_alive(int(info["pid"])))
    except (KeyError, TypeError, ValueError):
        return False


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _publish(folder: Path) -> Path:
    """Point ``results_root/<name>`` at ``folder`` (a finished run folder) in one ``os.replace`` of a symlink."""
    mark = json.loads((folder / STAGING_MARK).read_text())
    name = mark["publish_as"]
    root = folder.parent.parent.parent
    link = root / name
    if link.is_dir() and not link.is_symlink():  # a folder from before run folders: kept as a run of its own
        legacy = root / RUNS / name / f"legacy-{time.strftime('%Y%m%dT%H%M%S')}"
        os.rename(link, legacy)
        os.symlink(os.path.relpath(legacy, root), link)
    previous = os.readlink(link) if link.is_symlink() else None
    (folder / STAGING_MARK).unlink()  # the folder is complete from here on
    _fsync_dir(folder)
    tmp = root / f".{name}.link-{os.getpid()}-{secrets.token_hex(3)}"
    os.symlink(os.path.relpath(folder, root), tmp)
    os.replace(tmp, link)
    _fsync_dir(root)
    _prune(root / RUNS / name, keep={folder.name, Path(previous).name if previous else ""})
    return link


def _prune(runs: Path, keep: set[str]) -> None:
    """Remove run folders other than the published and the previous one (a reader may still be in the previous
    one); staging folders of runs still going (this host's live processes, or other hosts') are left alone."""
    for d in runs.iterdir():
        if d.name in keep or not d.is_dir():
            continue
        if (d / STAGING_MARK).exists() and not _gone(_staging_info(d) or {}):
            continue
        shutil.rmtree(d, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------------------------- hashes
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _folder_files(folder: Path) -> list[str]:
    """Every file of a results folder except meta.json and hidden files (markers, temporary files)."""
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_file() and rel.as_posix() != "meta.json" and not any(s.startswith(".") for s in rel.parts):
            out.append(rel.as_posix())
    return out


# ---------------------------------------------------------------------------------------------- finish
def finish(study: Study, config: Any, summary: dict, out_dir: str | Path | None, *,
           arrays: Mapping[str, Any] | None = None, wall_time_s: float | None = None,
           seed: int | None = None, extra_meta: Mapping[str, Any] | None = None,
           tables: Mapping[str, Mapping[str, Any]] | None = None) -> dict:
    """The last line of every study's ``run``: returns the JSON-ready summary and, when ``out_dir`` is given,
    writes ``config.json``, ``arrays.npz``, ``<table>.csv``, ``summary.json`` and, last, ``meta.json`` (with the
    SHA-256 of every file of the folder) there; a staging folder (:func:`staging_folder`) is then published.

    ``summary`` holds the measured numbers; its ``"verdicts"`` entry is a list of :class:`Verdict`.
    ``tables`` are written as ``<name>.csv``: ``{name: {column: 1-D values of one length}}`` (e.g. one row per
    restart with named columns, :meth:`xgnn_jax.engine.restarts.SweepResult.table`), for a user to filter or plot.
    Figures are saved by the study itself into ``out_dir`` before (see :func:`xgnn_jax.study.plotting.save`) and
    named in the verdicts.
    """
    body = to_jsonable({"study": study.name, "title": study.title, "claims": list(study.claims),
                        "wall_time_s": wall_time_s, **summary})
    if out_dir is None:
        return body
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = is_staging(out)
    run_id = (json.loads((out / STAGING_MARK).read_text())["run_id"] if staging
              else f"{_dt.datetime.now(_dt.UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}-{secrets.token_hex(3)}")
    write_json(out / "config.json", config)
    if arrays:
        write_npz(out / "arrays.npz", arrays)
    for name, cols in (tables or {}).items():
        write_csv(out / f"{name}.csv", cols)
    write_json(out / "summary.json", body)
    meta = {
        "study": study.name,
        "run_id": run_id,
        "seed": seed if seed is not None else getattr(config, "seed", None),
        "wall_time_s": wall_time_s,
        "finished_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "environment": environment(),
        **git_state(),
        "command": " ".join(sys.argv),
        **(extra_meta or {}),
        "files": {rel: _sha256(out / rel) for rel in _folder_files(out)},
    }
    write_json(out / "meta.json", meta)  # last: the folder's commit point
    if staging:
        _publish(out)
    return body


# ---------------------------------------------------------------------------------------------- check
def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        problems.append(f"{path.name} is missing")
    except (OSError, ValueError) as e:
        problems.append(f"{path.name} is unreadable ({type(e).__name__}: {e})")
    return None


def check_folder(path: str | Path) -> list[str]:
    """The problems of one results folder, ``[]`` when it is whole: missing ``config.json``, ``summary.json`` or
    ``meta.json``; a meta.json without file hashes (written by an older version); a recorded file missing or
    with another SHA-256 (files of different runs side by side, e.g. a run killed between them); files that
    meta.json does not record (left from another run); figures named in the verdicts but absent; meta.json and
    summary.json naming different studies. Each problem is one sentence naming the file."""
    folder = Path(path)
    if not folder.is_dir():
        return [f"{folder}: no such results folder"]
    problems: list[str] = []
    if is_staging(folder):
        problems.append(f"{STAGING_MARK} is present: the run writing this folder did not finish")
    for name in ("config.json",):
        if not (folder / name).is_file():
            problems.append(f"{name} is missing")
    summary = _read_json(folder / "summary.json", problems)
    meta = _read_json(folder / "meta.json", problems)
    if isinstance(meta, dict):
        files = meta.get("files")
        if not isinstance(files, dict):
            problems.append("meta.json records no file hashes (written before results folders were checked); "
                            "rerun the study")
        else:
            for rel, digest in sorted(files.items()):
                p = folder / rel
                if not p.is_file():
                    problems.append(f"{rel} is recorded in meta.json (run {meta.get('run_id')}) but missing")
                elif _sha256(p) != digest:
                    problems.append(f"{rel} differs from the file of run {meta.get('run_id')} recorded in "
                                    "meta.json (from another run, or changed since)")
            for rel in _folder_files(folder):
                if rel not in files:
                    problems.append(f"{rel} is not part of run {meta.get('run_id')} recorded in meta.json "
                                    "(left from another run?)")
        if isinstance(summary, dict) and meta.get("study") != summary.get("study"):
            problems.append(f"meta.json is of study {meta.get('study')!r} but summary.json of "
                            f"{summary.get('study')!r}")
    if isinstance(summary, dict):
        for v in summary.get("verdicts") or []:
            for fig in (v.get("figures") or []) if isinstance(v, dict) else []:
                if not (folder / fig).is_file():
                    problems.append(f"figure {fig} named by {v.get('claim')}'s verdict is missing")
    return problems


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
