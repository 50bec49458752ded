"""Writing files that a crash cannot leave half-written, and JSON for numpy/jax values.

``atomic_write_bytes`` writes via a temporary file, ``fsync`` and ``os.replace``; ``write_json`` and ``write_npz``
build on it; ``to_jsonable`` turns arrays, numpy scalars, dataclasses and paths into JSON values (NaN -> null,
inf -> "inf"); :class:`FolderLock` makes a folder one writer's at a time (``fcntl.flock``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


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
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(Path(path), buf.getvalue())


def write_csv(path: Path, columns: Mapping[str, Any]) -> None:
    """Write ``{column: 1-D values of one length}`` as a CSV file with a header row (atomically)."""
    import csv

    cols = {str(k): np.asarray(v).reshape(-1) for k, v in columns.items()}
    lengths = {k: v.size for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns: expected columns of one length, got {lengths}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(cols))
    n = next(iter(lengths.values()), 0)
    for i in range(n):
        w.writerow([v[i].item() if hasattr(v[i], "item") else v[i] for v in cols.values()])
    atomic_write_bytes(Path(path), buf.getvalue().encode())


class FolderInUse(RuntimeError):
    """Raised by :class:`FolderLock` when another process holds the folder's lock."""


class FolderLock:
    """An exclusive lock on a folder, held from :meth:`acquire` to :meth:`release` (or as a context manager):
    ``fcntl.flock`` on ``<folder>/<name>``, so the kernel drops it when the holder dies (even by SIGKILL) and a
    stale lock file never blocks. The holder writes ``pid host time`` into the file so that a second process can
    say who holds it; the file is emptied, never deleted, on release (deleting a lock file races with a process
    about to lock it). ``what`` names the folder's use in the error."""

    def __init__(self, folder: str | os.PathLike, name: str = ".lock", what: str = "folder"):
        self.path = Path(folder) / name
        self.what = what
        self.fd: int | None = None

    def acquire(self) -> FolderLock:
        import fcntl
        import socket
        import time

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode(errors="replace").strip() or "a process that has not yet written its id"
            os.close(fd)
            raise FolderInUse(f"{self.path.parent}: this {self.what} is in use by another process ({holder}); "
                              "two writers would mix their files. Wait for it to finish, or use another "
                              "folder.") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}"
                 .encode())
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        import fcntl

        try:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
