"""The restart engine: many whole training runs at once, from 1 to 10^6 restarts, on one or many devices.

A *run function* is a pure ``run(key, hparams) -> pytree`` (e.g. :func:`xgnn_jax.engine.train.make_run`'s ``run``, one
``lax.scan``). :func:`sweep` runs it for every restart ``i = 0..R-1`` of every hyperparameter point ``p = 0..P-1``
and hands back every restart's outcome::

    key(p, i)     = fold_in(key(seed), i)            # threefry; the same initial parameters at every point p
    hparams(p)    = {name: values[p] for name, values in hparams.items()}
    outcome(p, i) = outcome_fn(run(key(p, i), hparams(p)))

Restart i's key depends on ``(seed, i)`` alone, so restart i starts from the same parameters whatever the chunk
size, device count, number of restarts or grid (common random numbers across the points of a grid).

How the ``P * R`` runs are executed (none of this changes what is computed, only the last bits, see below):

* **Chunks.** Runs ``j = p * R + i`` are cut into chunks of a fixed size ``C`` (the last one padded, so the chunk
  program is compiled once); ``C`` is chosen from ``memory_budget`` when not given (:func:`choose_chunk_size`).
  Each chunk's outcomes are reduced in the compiled program (a :class:`~xgnn_jax.engine.train.TrainResult`'s per-epoch
  history never leaves it unless asked for), copied to the host, and, with ``out_dir``, written atomically to disk.
* **Devices.** Each chunk is split across ``devices`` (default: all local devices) with ``shard_map``; each
  device runs its slice independently (no communication). Multi-host: see :func:`sweep` and ``docs/restarts.md``.
* **Execution inside a device** (``execution=``): ``"vmap"`` (all restarts of the slice batched), ``"blocked"``
  (blocks of ``block_size`` restarts, each running its whole scan, via ``lax.map(..., batch_size=)``),
  ``"map"`` (restart by restart, ``lax.map``), or ``"fused"`` (the run function's own batched kernel, see
  :mod:`xgnn_jax.engine.fused`). ``"auto"`` picks fused when the run function has one, ``"map"`` when the run contains a
  large matrix product (vmap would turn it into slow small batched products on CPU), ``"blocked"`` otherwise
  (on accelerators: ``"vmap"``).

Hyperparameters: a dict of scalars (one point: outcomes have shape ``(R, ...)``) or of 1-D arrays of one common
length P (a grid: outcomes have shape ``(P, R, ...)``); :func:`grid` builds the product of several axes. Only
array-valued choices can be swept this way (one compile); structural choices (width, depth, activation, mode)
need one compile each: loop over them at the top level, one :func:`sweep` per structure.

Outcomes: ``outcome=None`` picks :func:`train_outcomes` for a ``TrainResult`` (final loss, accuracy, gradient
norm, steps to reach ``target_loss``, diverged and saturated flags) and keeps any other pytree whole; pass a callable to reduce
the run's result yourself (it runs inside the compiled program, per restart). A restart is *diverged* when its
outcome has ``diverged`` set (an outcome with a ``diverged`` entry decides for itself) or, for outcomes without
one, any of its floating values is NaN/inf; diverged restarts are counted in the summary and left out of its
statistics.

Determinism: the same seed and the same layout (chunk size, device count, execution, backend, versions) give
bit-identical outcomes. A different layout gives the same initial parameters bit for bit, but matrix products and
reductions may be evaluated in a different order, so trajectories agree only to float tolerance (about 1e-7
relative after a few hundred float32 steps; chaotic runs can amplify that). See ``docs/restarts.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import itertools
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from xgnn_jax.engine import outcomes as outcomes_lib
from xgnn_jax.engine.train import TrainResult
from xgnn_jax.io import FolderLock, atomic_write_bytes, to_jsonable
from xgnn_jax.provenance import versions

Array = jax.Array

EXECUTIONS = ("auto", "vmap", "blocked", "map", "fused")
MANIFEST = "manifest.json"
CARRIED = ".carried"  # marks a sweep folder a study hard-linked from its last published run (study.results)
CHUNK_DIR = "chunks"
REJECTED_DIR = "rejected"  # chunk files not used (damaged, or another sweep's) are moved here, never deleted
LOCK_FILE = ".lock"  # flock'ed for the whole sweep: one writer per folder
FORMAT_VERSION = 2  # 2: chunks carry the sweep's fingerprint, a checksum and their non-finite counts
DEFAULT_MEMORY_BUDGET = 1 << 30  # bytes for one chunk's buffers; peak process memory adds the runtime (~0.5 GiB)
DEFAULT_MAX_CHUNK = 1 << 16  # restarts per chunk at most: bounds the work lost to a crash and sets progress steps
DEFAULT_BLOCK = 128  # restarts per block for "blocked"/"fused": a block's working set stays in L1/L2 cache
LARGE_DOT_FLOPS = 2 * 64 * 64 * 64  # a matrix product this large is compute-bound: run restart by restart


# ---------------------------------------------------------------------------------------------- outcomes
def train_outcomes(result: TrainResult, target_loss: float = 1e-2) -> dict[str, Array]:
    """The standard per-restart outcomes of a :class:`~xgnn_jax.engine.train.TrainResult` (one restart, no batch axis):
    :func:`xgnn_jax.engine.outcomes.train_outcomes`, the one definition the engine and the fused kernel share.

    Returns ``final_loss``, ``final_accuracy``, ``final_grad_norm`` (the last epoch's values), ``steps_to_target``
    (the first epoch t = 1..T after which the data loss, without any penalty term, is ``<= target_loss``; -1 if
    never), ``diverged`` (final loss or parameters not finite; NaN/inf) and ``saturated`` (finite, final gradient
    norm < 1e-6, target not reached, at least half the sigmoid/tanh units pinned at an asymptote: a plateau, not
    a minimum). :class:`SweepResult` counts diverged and saturated restarts apart and averages neither in.
    """
    return outcomes_lib.train_outcomes(result, target_loss)


def _resolve_outcome(outcome, target_loss):
    """``outcome`` as a callable ``result -> pytree`` (None: standard outcomes for a TrainResult, else identity).

    ``target_loss`` (None: 1e-2) applies to the standard outcomes only: given together with an ``outcome`` callable,
    or for a run function that does not return a TrainResult (e.g. :func:`outcome_run`'s, whose target is fixed
    when it is built), it raises instead of being silently ignored."""
    if outcome is None:
        explicit = target_loss is not None
        return _auto_outcome_for(float(1e-2 if target_loss is None else target_loss), explicit)
    if not callable(outcome):
        raise ValueError(f"outcome: expected None or a callable result -> pytree, got {outcome!r}")
    if target_loss is not None:
        raise ValueError("target_loss: applies to the standard outcomes only; with an outcome callable, compute "
                         "steps to your target inside it")
    return outcome


@functools.cache
def _auto_outcome_for(target_loss: float, explicit: bool = False):
    """One callable per target (so the compiled chunk program is reused across sweeps)."""
    return functools.partial(_auto_outcome, target_loss=target_loss, explicit=explicit)


def _auto_outcome(result, target_loss, explicit=False):
    if isinstance(result, TrainResult):
        return train_outcomes(result, target_loss)
    if explicit:
        raise ValueError("target_loss: this run function returns its own outcomes (not a TrainResult), so the "
                         "target cannot be applied here; give it where the run function is built, e.g. "
                         "restarts.outcome_run(model, data, config, target_loss=...)")
    return result


def outcome_run(model, data, config=None, target_loss: float = 1e-2, fused: bool | None = None) -> Callable:
    """``run(key, hparams) -> outcomes`` (those of :func:`train_outcomes`) for ``train.make_run(model, data,
    config)``, as fast as available: the fused tiny-network kernel of :mod:`xgnn_jax.engine.fused` when the configuration
    allows it (``fused=None``: when possible; True: required, else ValueError; False: never), otherwise
    ``make_run``'s run reduced to its outcomes. Both give the same numbers within float tolerance. On an
    accelerator backend ``fused=None`` means never (plain vmap is faster there)."""
    from xgnn_jax.engine import fused as fused_lib
    from xgnn_jax.engine import train as train_lib

    config = config if config is not None else train_lib.TrainConfig()
    if fused_lib.chosen(model, data, config, fused):
        return fused_lib.make_run(model, data, config, target_loss)
    run = train_lib.make_run(model, data, config)

    def run_outcomes(key, hp=None):
        return train_outcomes(run(key, hp), target_loss)

    # What it computes, for a sweep folder's identity (the fused run carries the same three fields).
    run_outcomes.model, run_outcomes.config, run_outcomes.target_loss = model, config, float(target_loss)
    return run_outcomes


# ---------------------------------------------------------------------------------------------- hyperparameters
def grid(**axes: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """The Cartesian product of hyperparameter axes as a sweep grid: ``{name: (P,) array}``, ``P = prod(len)``.

    The first axis varies slowest (``itertools.product`` order), e.g. ``grid(lr=[0.1, 1], weight_scale=[0.5, 1,
    2])`` has P = 6 points, ``lr = [0.1, 0.1, 0.1, 1, 1, 1]``. Values are float32 unless given as integer arrays.
    """
    if not axes:
        raise ValueError("grid: expected at least one axis, e.g. grid(lr=[0.1, 0.5])")
    values = {}
    for name, v in axes.items():
        a = np.asarray(v)
        if a.ndim != 1 or a.size == 0:
            raise ValueError(f"{name}: expected a non-empty 1-D sequence of values, got shape {a.shape}")
        values[name] = a if a.dtype.kind in "iub" else a.astype(np.float32)
    combos = list(itertools.product(*(range(len(v)) for v in values.values())))
    return {name: v[[c[k] for c in combos]] for k, (name, v) in enumerate(values.items())}


def _normalize_hparams(hparams: Mapping[str, Any] | None) -> tuple[dict[str, np.ndarray], int, bool]:
    """``(values as (P,) arrays, P, is_grid)``; scalars are a single point."""
    if hparams is None:
        return {}, 1, False
    if not isinstance(hparams, Mapping):
        raise ValueError(f"hparams: expected a dict of name -> scalar or 1-D array, got {type(hparams).__name__}")
    arrays = {}
    lengths = {}
    for name, v in hparams.items():
        a = np.asarray(v)
        if a.dtype.kind not in "fiub":
            raise ValueError(f"hparams[{name!r}]: expected numbers, got dtype {a.dtype}")
        if a.dtype.kind == "f" and not jax.config.jax_enable_x64:
            a = a.astype(np.float32)  # what JAX would silently do anyway; said here so the manifest is exact
        if a.ndim > 1:
            raise ValueError(f"hparams[{name!r}]: expected a scalar or a 1-D array of grid values, got shape {a.shape}")
        if a.ndim == 1:
            if a.size == 0:
                raise ValueError(f"hparams[{name!r}]: empty array of grid values")
            lengths[name] = a.size
        arrays[name] = a
    if len(set(lengths.values())) > 1:
        raise ValueError(
            "hparams: grid arrays must all have the same length (one entry per grid point; use grid() for a "
            f"product), got lengths {lengths}")
    n_points = next(iter(lengths.values()), 1)
    is_grid = bool(lengths)
    out = {name: (np.broadcast_to(a, (n_points,)).copy() if a.ndim == 0 else a) for name, a in arrays.items()}
    return out, n_points, is_grid


# ---------------------------------------------------------------------------------------------- cost model
def _subjaxprs(eqn):
    for p in eqn.params.values():
        for q in p if isinstance(p, (tuple, list)) else (p,):
            if hasattr(q, "eqns"):
                yield q
            elif hasattr(q, "jaxpr") and hasattr(q.jaxpr, "eqns"):
                yield q.jaxpr


def _aval_bytes(v) -> int:
    aval = getattr(v, "aval", None)
    shape = getattr(aval, "shape", None)
    dtype = getattr(aval, "dtype", None)
    if shape is None or dtype is None:
        return 0
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:  # key types
        itemsize = 8
    return int(np.prod(shape, dtype=np.int64)) * itemsize


def _walk_cost(jaxpr) -> tuple[int, int]:
    """(bytes of every value one pass creates, flops of its largest matrix product); loop bodies counted once."""
    total, big = 0, 0
    for eqn in jaxpr.eqns:
        total += sum(_aval_bytes(v) for v in eqn.outvars)
        if eqn.primitive.name == "dot_general":
            (lc, _), _ = eqn.params["dimension_numbers"]
            lhs_shape = eqn.invars[0].aval.shape
            k = int(np.prod([lhs_shape[d] for d in lc], dtype=np.int64)) if lc else 1
            out_size = int(np.prod(eqn.outvars[0].aval.shape, dtype=np.int64))
            big = max(big, 2 * out_size * k)
        for sub in _subjaxprs(eqn):
            t, b = _walk_cost(sub)
            total += t
            big = max(big, b)
    return total, big


@dataclasses.dataclass(frozen=True)
class RunCost:
    """A run function's footprint per restart, from its jaxpr (tracing only, nothing compiled).

    ``temp_bytes``: every value one restart creates (scan bodies counted once, their stacked outputs in full): an
    upper bound on its live memory. ``out_bytes``: its outcome's size. ``max_dot_flops``: flops of its largest
    matrix product (``2 n k m``); a large one means the run is compute-bound and batching it is not worth it.
    """

    temp_bytes: int
    out_bytes: int
    max_dot_flops: int


def _trace(run_fn: Callable, outcome: Callable, hp_example: Mapping[str, Any]):
    def one(key, hp):
        return outcome(run_fn(key, hp))

    return jax.make_jaxpr(one)(jax.random.key(0), dict(hp_example))


def _cost_of(closed) -> RunCost:
    temp, big = _walk_cost(closed.jaxpr)
    out = sum(_aval_bytes(v) for v in closed.jaxpr.outvars)
    return RunCost(int(temp), int(out), int(big))


def run_cost(run_fn: Callable, outcome: Callable, hp_example: Mapping[str, Any]) -> RunCost:
    """Measure :class:`RunCost` for one restart of ``outcome(run_fn(key, hparams))``."""
    return _cost_of(_trace(run_fn, outcome, hp_example))


def run_fingerprint(closed) -> str:
    """SHA-256 of what one restart computes: the text of its jaxpr (every operation, shape, dtype and literal:
    e.g. the scan length is the epoch count) and the values of the arrays it closes over (the data). Two run
    functions with the same fingerprint compute the same thing (on the same jax version: its tracing may
    change the text). Object addresses, which change from one process to the next, are left out."""
    h = hashlib.sha256(re.sub(r"0x[0-9a-fA-F]{6,}", "0x", str(closed.jaxpr)).encode())
    for c in closed.consts:
        try:
            a = np.asarray(c)
        except TypeError:  # a typed PRNG key array
            a = np.asarray(jax.random.key_data(c))
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=64)
def _analyze(run_fn, outcome, hp_signature: tuple) -> tuple[RunCost, Any, str]:
    """(cost, outcome structure, :func:`run_fingerprint`) of one restart, traced once per run function and
    hyperparameter dtypes (abstract values only; nothing is compiled)."""
    hp = {name: jnp.zeros((), dtype) for name, dtype in hp_signature}
    closed = _trace(run_fn, outcome, hp)
    struct = jax.eval_shape(lambda k, h: outcome(run_fn(k, h)), jax.random.key(0), hp)
    return _cost_of(closed), struct, run_fingerprint(closed)


def choose_execution(cost: RunCost, has_fused: bool, platform: str = "cpu") -> str:
    """``"fused"`` when available, ``"map"`` for compute-bound runs, else ``"blocked"`` (see module docstring).

    On accelerators (``platform`` other than ``"cpu"``) one wide batch is what keeps the device busy: ``"vmap"``.
    Measured on one H200 (jax 0.11.2, ``scripts/device_check.py``): XOR 2-2-1, 10^6 restarts x 2000 steps ran at
    2.9e8 restart-steps/s with vmap against 8.4e7 with the fused kernel; the 784-128-10 case at 11x the speed of
    ``"map"``. Cache blocking and restart-by-restart loops are CPU matters.
    """
    if platform != "cpu":
        return "vmap"
    if has_fused:
        return "fused"
    if cost.max_dot_flops >= LARGE_DOT_FLOPS:
        return "map"
    return "blocked"


def chunk_bytes(cost: RunCost, execution: str, chunk: int, block: int) -> int:
    """Estimated buffer bytes of one chunk of ``chunk`` restarts (all devices together)."""
    out = chunk * cost.out_bytes
    if execution == "vmap":
        return out + chunk * cost.temp_bytes
    if execution == "blocked":
        return out + min(block, chunk) * cost.temp_bytes
    if execution == "map":
        return out + cost.temp_bytes
    return out + chunk * 64  # fused: parameters and hyperparameters only


def choose_chunk_size(cost: RunCost, execution: str, n_runs: int, n_devices: int, block: int,
                      memory_budget: int, max_chunk: int = DEFAULT_MAX_CHUNK) -> int:
    """The largest chunk within ``memory_budget`` (and ``max_chunk``) that is a multiple of the device count
    (times the block size, for blocked executions), but no larger than ``n_runs`` rounded up to that multiple."""
    quantum = n_devices * (block if execution in ("blocked", "fused") else 1)
    c = min(_round_up(n_runs, quantum), _round_up(max_chunk, quantum))
    while c > quantum and chunk_bytes(cost, execution, c, block * n_devices) > memory_budget:
        c = max(quantum, _round_up(c // 2, quantum))
    # Same number of chunks, least padding: e.g. 10^6 runs in 16 chunks of 62500 (vmap) rather than 65536.
    n_chunks = -(-n_runs // c)
    return min(c, _round_up(-(-n_runs // n_chunks), quantum))


def _round_up(n: int, q: int) -> int:
    return -(-n // q) * q


# ---------------------------------------------------------------------------------------------- result
@dataclasses.dataclass
class SweepResult:
    """Every restart's outcome, plus how the sweep was run.

    ``outcomes``: the outcome pytree as numpy arrays, each leaf of shape ``(R, ...)`` (or ``(P, R, ...)`` for a
    grid); ``diverged``: bool ``(R,)`` / ``(P, R)``; ``hparams``: the grid values ``{name: (P,)}``.
    :meth:`table` (one row per restart) and :meth:`summary` (one row per grid point, diverged restarts counted and
    excluded from the statistics) are dicts of equal-length 1-D columns: ``pandas.DataFrame(result.summary())``.
    ``computed_chunks`` / ``loaded_chunks``: chunk indices run now / read from ``out_dir``; ``rejected_chunks``:
    those whose file was moved to ``out_dir/rejected/`` (damaged or another sweep's) and recomputed.
    """

    outcomes: Any
    diverged: np.ndarray
    seed: int
    n_restarts: int
    hparams: dict[str, np.ndarray]
    is_grid: bool
    chunk_size: int
    n_devices: int
    execution: str
    block_size: int
    wall_time_s: float
    computed_chunks: list[int]
    loaded_chunks: list[int]
    out_dir: str | None = None
    rejected_chunks: list[int] = dataclasses.field(default_factory=list)

    @property
    def n_points(self) -> int:
        return self.diverged.shape[0] if self.is_grid else 1

    @property
    def n_diverged(self) -> int:
        return int(self.diverged.sum())

    def __getitem__(self, name: str) -> np.ndarray:
        """An outcome by name (for dict outcomes): ``result["final_loss"]``."""
        return self.outcomes[name]

    def _scalar_leaves(self) -> dict[str, np.ndarray]:
        lead = self.diverged.ndim
        leaves, _ = jax.tree_util.tree_flatten_with_path(self.outcomes)
        out = {}
        for path, leaf in leaves:
            if np.ndim(leaf) == lead:
                out[_path_name(path)] = np.asarray(leaf)
        return out

    def table(self) -> dict[str, np.ndarray]:
        """One row per restart: ``point``, ``restart``, the hyperparameters, every scalar outcome, ``diverged``."""
        n_points = self.n_points
        cols: dict[str, np.ndarray] = {
            "point": np.repeat(np.arange(n_points), self.n_restarts),
            "restart": np.tile(np.arange(self.n_restarts), n_points),
        }
        for name, v in self.hparams.items():
            cols[name] = np.repeat(v, self.n_restarts)
        for name, v in self._scalar_leaves().items():
            cols[name] = v.reshape(-1)
        cols["diverged"] = self.diverged.reshape(-1)
        return cols

    @property
    def saturated(self) -> np.ndarray:
        """Per-restart saturation flag (bool, like ``diverged``): the outcome's ``saturated`` entry (see
        :mod:`xgnn_jax.engine.outcomes`: finite, vanishing gradient, target not reached, units pinned), False
        where there is none or the restart diverged."""
        own = self.outcomes.get("saturated") if isinstance(self.outcomes, Mapping) else None
        if own is None:
            return np.zeros_like(self.diverged)
        return np.asarray(own, bool).reshape(self.diverged.shape) & ~self.diverged

    @property
    def n_saturated(self) -> int:
        return int(self.saturated.sum())

    def summary(self) -> dict[str, np.ndarray]:
        """One row per grid point: hyperparameters, ``n``, ``n_diverged``, ``n_saturated``, and for every scalar
        float outcome its ``mean``, ``std``, ``min``, ``median``, ``max`` over the restarts that neither diverged
        nor saturated (both are counted, never averaged in). For ``steps_to_target`` (-1: never reached):
        ``reached_target`` (fraction of those restarts), ``reached_target_of_all`` (fraction of all ``n``: a
        diverged or saturated restart has not reached it) and the median and mean steps of those that reached
        it. Boolean outcomes give the fraction that is true."""
        shape = (self.n_points, self.n_restarts)
        div, sat = self.diverged.reshape(shape), self.saturated.reshape(shape)
        rows: dict[str, list] = {name: list(v) for name, v in self.hparams.items()}
        rows["n"] = [self.n_restarts] * self.n_points
        rows["n_diverged"] = [int(d.sum()) for d in div]
        rows["n_saturated"] = [int(d.sum()) for d in sat]
        for name, v in self._scalar_leaves().items():
            if name in ("diverged", "saturated"):
                continue
            v = v.reshape(shape)
            for p in range(self.n_points):
                stats = _column_stats(name, v[p][~(div[p] | sat[p])])
                if "reached_target" in stats:
                    stats["reached_target_of_all"] = float((v[p] >= 0)[~(div[p] | sat[p])].sum() / self.n_restarts)
                for stat, value in stats.items():
                    rows.setdefault(stat, []).append(value)
        return {k: np.asarray(v) for k, v in rows.items()}


def _column_stats(name: str, values: np.ndarray) -> dict[str, float]:
    nan = float("nan")
    if values.dtype == bool:
        return {f"{name}_fraction": float(values.mean()) if values.size else nan}
    if name == "steps_to_target" or name.endswith("steps_to_target"):
        reached = values[values >= 0]
        return {
            "reached_target": float((values >= 0).mean()) if values.size else nan,
            f"{name}_median": float(np.median(reached)) if reached.size else nan,
            f"{name}_mean": float(reached.mean()) if reached.size else nan,
        }
    v = values.astype(np.float64)
    if v.size == 0:
        return {f"{name}_{s}": nan for s in ("mean", "std", "min", "median", "max")}
    return {f"{name}_mean": float(v.mean()), f"{name}_std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            f"{name}_min": float(v.min()), f"{name}_median": float(np.median(v)), f"{name}_max": float(v.max())}


def _path_name(path) -> str:
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(str(k))
    return ".".join(parts) if parts else "value"


def _diverged(out, lead: int) -> np.ndarray:
    """Per-restart divergence flag: the outcome's own ``diverged`` entry when it has one (it knows which values
    may be NaN by design, e.g. ``final_grad_norm`` with ``record_grad_norm=False``), else NaN/inf in any floating
    leaf."""
    leaves = jax.tree.leaves(out)
    shape = np.shape(leaves[0])[:lead] if leaves else ()
    own = out.get("diverged") if isinstance(out, Mapping) else getattr(out, "diverged", None)  # dict or TrainResult
    if own is not None:
        return np.asarray(own, bool).reshape(shape)
    bad = np.zeros(shape, bool)
    for leaf in leaves:
        leaf = np.asarray(leaf)
        if leaf.dtype.kind in "fc":
            bad |= ~np.isfinite(leaf).reshape(shape + (-1,)).all(axis=-1)
    return bad


# ---------------------------------------------------------------------------------------------- compiled chunk
@functools.lru_cache(maxsize=64)
def _chunk_program(run_fn, outcome, execution: str, block: int, devices: tuple | None, hp_names: tuple):
    """The compiled chunk program ``(seed, restart_ids (C,), hparams {name: (C,)}) -> outcomes (C, ...)``.

    Cached per (run function, outcome, execution, block, devices), so sweeps over new seeds, grids or restart
    counts with the same structure reuse it; the chunk size is the one compiled shape.
    """

    def one(key, hp):
        return outcome(run_fn(key, hp))

    def local(seed, rid, hp):
        base = jax.random.key(seed)
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(rid)
        if execution == "fused":
            return jax.vmap(outcome)(run_fn.batched(keys, hp, block))
        if execution == "vmap":
            return jax.vmap(one)(keys, hp)
        return jax.lax.map(lambda a: one(*a), (keys, hp), batch_size=block if execution == "blocked" else None)

    if devices is None:
        return jax.jit(local)
    mesh = Mesh(np.asarray(devices), ("r",), axis_types=(jax.sharding.AxisType.Auto,))
    # check_vma=False: with the check on, shard_map inserted cross-device sums into gradients of values created
    # inside the body and so coupled restarts (PITFALLS). The body has no collectives: each device is independent.
    f = jax.shard_map(local, mesh=mesh, in_specs=(P(), P("r"), P("r")), out_specs=P("r"), check_vma=False)
    return jax.jit(f), mesh


# ---------------------------------------------------------------------------------------------- persistence
class RejectedChunkWarning(UserWarning):
    """A chunk file of a sweep folder was not used (damaged, or not this sweep's): it was moved to the folder's
    ``rejected/`` subfolder, with a ``.why.txt`` file giving the reason, and its runs were recomputed."""


def _chunk_path(out_dir: Path, c: int) -> Path:
    return out_dir / CHUNK_DIR / f"chunk_{c:06d}.npz"


def _stable_json(obj: Any) -> Any:
    """``obj`` as JSON values that are the same in every process (object addresses removed from reprs)."""
    def text(o):
        return re.sub(r" at 0x[0-9a-fA-F]+", "", str(o))

    return json.loads(json.dumps(to_jsonable(obj), default=text, sort_keys=True))


def _short_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _brief(identity: dict) -> dict:
    """The identity a chunk file carries: small fields as they are, large ones (grid, config, outcome) hashed."""
    return {k: (v if k in ("seed", "n_restarts", "n_points", "chunk_size", "x64") else _short_hash(v))
            for k, v in identity.items()}


@dataclasses.dataclass(frozen=True)
class _Expected:
    """What a chunk file must hold to be used: this sweep's fingerprint, its run range, the outcome leaves."""

    fingerprint: str
    brief: dict
    start: int
    stop: int
    names: tuple[str, ...]
    specs: tuple[tuple[tuple[int, ...], str], ...]


def _checksum(rng: np.ndarray, leaves: Sequence[np.ndarray]) -> str:
    h = hashlib.sha256(np.ascontiguousarray(rng).tobytes())
    for a in leaves:
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _nonfinite(a: np.ndarray) -> int:
    return int((~np.isfinite(a)).sum()) if a.dtype.kind in "fc" else 0


def _save_chunk(path: Path, exp: _Expected, leaves: list[np.ndarray]) -> None:
    rng = np.asarray([exp.start, exp.stop], np.int64)
    arrays = {f"leaf_{k}": a for k, a in enumerate(leaves)}
    arrays.update(_range=rng, _fingerprint=np.asarray(exp.fingerprint), _identity=np.asarray(json.dumps(exp.brief)),
                  _nonfinite=np.asarray([_nonfinite(a) for a in leaves], np.int64),
                  _sha256=np.asarray(_checksum(rng, leaves)))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _load_chunk(path: Path, exp: _Expected) -> tuple[list[np.ndarray] | None, str | None]:
    """``(leaves, None)`` for a good chunk file, ``(None, reason)`` for one that must not be used, ``(None,
    None)`` when there is none."""
    if not path.exists():
        return None, None
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # own handle: closed on any error
            data = {k: z[k] for k in z.files}
    except Exception as e:  # a damaged file raises BadZipFile, EOFError, ValueError, OSError, zlib.error ...
        return None, f"unreadable ({type(e).__name__}: {e})"
    reason = _chunk_problem(data, exp)
    return (None, reason) if reason else ([data[f"leaf_{k}"] for k in range(len(exp.names))], None)


def _chunk_problem(data: dict, exp: _Expected) -> str | None:
    """Why a chunk file's contents are not this chunk of this sweep (None when they are)."""
    needed = ("_range", "_fingerprint", "_identity", "_nonfinite", "_sha256")
    if any(k not in data for k in needed):
        return "it has no fingerprint (written by an older version or another program)"
    if str(data["_fingerprint"]) != exp.fingerprint:
        try:
            theirs = json.loads(str(data["_identity"]))
        except ValueError:
            theirs = {}
        diff = [f"{k} {theirs.get(k)!r} there, {v!r} here" if k in ("seed", "n_restarts", "n_points",
                                                                     "chunk_size", "x64")
                else f"{'run function' if k == 'run' else k} differs" for k, v in exp.brief.items()
                if theirs.get(k) != v]
        return f"it is from a different sweep ({'; '.join(diff) or 'fingerprint differs'})"
    rng = tuple(int(v) for v in data["_range"])
    if rng != (exp.start, exp.stop):
        return f"it holds runs {rng}, this chunk is runs {(exp.start, exp.stop)}"
    # Numeric order, as written (a plain sort puts leaf_10 before leaf_2 and broke the checksum of every chunk
    # with more than ten outcome arrays, so those sweeps never resumed).
    leaves = sorted((k for k in data if k.startswith("leaf_")), key=lambda k: int(k[len("leaf_"):]))
    if len(leaves) != len(exp.names):
        return f"it has {len(leaves)} outcome arrays, this sweep has {len(exp.names)}"
    rows = exp.stop - exp.start
    recorded = np.asarray(data["_nonfinite"]).reshape(-1)
    for k, (name, (shape, dtype)) in enumerate(zip(exp.names, exp.specs, strict=True)):
        a = data[f"leaf_{k}"]
        if str(a.dtype) != dtype:
            return f"outcome {name!r} has dtype {a.dtype}, expected {dtype}"
        if a.ndim == 0 or a.shape[0] != rows:
            return f"outcome {name!r} has {a.shape[0] if a.ndim else 0} rows, expected {rows}"
        if a.shape[1:] != tuple(shape):
            return f"outcome {name!r} has shape {a.shape[1:]} per run, expected {tuple(shape)}"
        if k < recorded.size and _nonfinite(a) != int(recorded[k]):
            return f"outcome {name!r} has {_nonfinite(a)} non-finite values, {int(recorded[k])} when written"
    if str(data["_sha256"]) != _checksum(data["_range"], [data[k] for k in leaves]):
        return "its contents do not match their checksum (changed after writing)"
    return None


def _drop_carried(out_dir: Path, identity: dict) -> None:
    """A folder a study carried over from its last published run (marked :data:`CARRIED`; its files are hard links
    or copies of that run's) that holds another sweep than this one is emptied, so the sweep starts afresh there
    instead of refusing it: the code changed what it computes (e.g. a faster kernel). Elsewhere a different sweep
    stays an error. Once this sweep owns the folder, the mark goes."""
    mark = out_dir / CARRIED
    if not mark.exists():
        return
    try:
        old = json.loads((out_dir / MANIFEST).read_text()).get("identity", {})
    except (OSError, ValueError, AttributeError):
        old = None
    if old != identity:
        for p in sorted(out_dir.rglob("*"), key=lambda q: -len(q.parts)):
            if p.name == ".lock" or p == mark:
                continue
            try:
                p.rmdir() if p.is_dir() else p.unlink()
            except OSError:  # a nested sweep's folder (its own lock): left to that sweep
                pass
        warnings.warn(f"out_dir: {out_dir} held another sweep carried over from the last published run (the code "
                      "now computes something else there); starting afresh", RejectedChunkWarning, stacklevel=5)
    mark.unlink()


def _open_manifest(out_dir: Path, identity: dict, layout: dict) -> dict:
    """Create or check ``out_dir``'s manifest (the lock is held). Another sweep's manifest is an error (except in a
    folder carried over by a study, see :func:`_drop_carried`)."""
    _drop_carried(out_dir, identity)
    path = out_dir / MANIFEST
    if not path.exists():
        chunk_dir = out_dir / CHUNK_DIR
        if chunk_dir.exists() and any(chunk_dir.iterdir()):
            raise ValueError(f"out_dir: {chunk_dir} holds files but {path} is missing; not touching it")
        manifest = {"format": FORMAT_VERSION, "identity": identity, "sessions": [layout]}
    else:
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"out_dir: {path} is not a readable sweep manifest ({e}); not touching it") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"out_dir: {out_dir} holds a sweep of format {manifest.get('format')!r} (chunks "
                             f"without fingerprints), this version writes format {FORMAT_VERSION}. Use another "
                             "folder, or remove it to start over; nothing was changed.")
        _check_same_sweep(out_dir, manifest.get("identity", {}), identity)
        manifest.setdefault("sessions", []).append(layout)
    (out_dir / CHUNK_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(manifest, indent=1, default=str).encode())
    return manifest


def _check_same_sweep(out_dir: Path, old: dict, identity: dict) -> None:
    diff = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
    if not diff:
        return

    def show(k):
        if k == "run":
            return ("run: the run function's traced program differs (e.g. other epochs, model, data, loss or "
                    "optimizer, or another jax version)")
        return f"{k}: on disk {old.get(k)!r}, now {identity.get(k)!r}"

    raise ValueError(f"out_dir: {out_dir} holds a different sweep (differs in {', '.join(diff)}: "
                     f"{'; '.join(show(k) for k in diff[:4])}). Use another folder, or remove it to start over; "
                     "nothing was changed.")


class _SweepFolder:
    """A sweep's ``out_dir`` while the sweep runs: locked (:class:`xgnn_jax.io.FolderLock`, so two sweeps never
    write one folder), its manifest checked, chunk files loaded when they are this sweep's and moved to
    ``rejected/`` (and recomputed) when not. In a multi-process job only process 0 writes; the others load
    what it loaded (a shared file system) or receive the computed outcomes."""

    def __init__(self, path: Path, identity: dict, multi_process: bool):
        self.path, self.identity, self.multi_process = path, identity, multi_process
        self.writer = not multi_process or jax.process_index() == 0
        self.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        self.brief = _brief(identity)
        self.lock = FolderLock(path, LOCK_FILE, "sweep folder")
        self.rejected: list[dict] = []

    def open(self, layout: dict) -> None:
        if not self.writer:
            return
        self.lock.acquire()
        try:
            _open_manifest(self.path, self.identity, layout)
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        if not self.writer or self.lock.fd is None:
            return
        try:
            if self.rejected:  # the session's record of what it moved aside
                manifest = json.loads((self.path / MANIFEST).read_text())
                manifest["sessions"][-1]["rejected"] = self.rejected
                atomic_write_bytes(self.path / MANIFEST, json.dumps(manifest, indent=1, default=str).encode())
        finally:
            self.lock.release()

    def expected(self, start: int, stop: int, names, specs) -> _Expected:
        return _Expected(self.fingerprint, self.brief, start, stop, tuple(names), tuple(specs))

    def load(self, c: int, exp: _Expected) -> list[np.ndarray] | None:
        got, reason = _load_chunk(_chunk_path(self.path, c), exp) if self.writer else (None, None)
        if reason is not None:
            self._reject(c, reason)
        if self.multi_process:
            from jax.experimental import multihost_utils

            flag = multihost_utils.broadcast_one_to_all(np.asarray(got is not None))
            if bool(flag) and got is None:
                got, reason = _load_chunk(_chunk_path(self.path, c), exp)  # shared filesystem
                if got is None:
                    raise ValueError(f"out_dir: process 0 loaded {_chunk_path(self.path, c)} but this process "
                                     f"cannot ({reason or 'missing'}); is out_dir on a shared file system?")
        return got

    def save(self, c: int, exp: _Expected, leaves: list[np.ndarray]) -> None:
        if self.writer:
            _save_chunk(_chunk_path(self.path, c), exp, leaves)

    def _reject(self, c: int, reason: str) -> None:
        src = _chunk_path(self.path, c)
        folder = self.path / REJECTED_DIR
        folder.mkdir(exist_ok=True)
        dest, k = folder / src.name, 1
        while dest.exists():
            dest, k = folder / f"{src.stem}.{k}{src.suffix}", k + 1
        os.replace(src, dest)
        atomic_write_bytes(dest.with_name(dest.name + ".why.txt"), f"{src}: {reason}\n".encode())
        self.rejected.append({"chunk": c, "file": str(dest), "reason": reason})
        warnings.warn(f"out_dir: chunk file {src} not used: {reason}. Moved to {dest}; its runs are recomputed.",
                      RejectedChunkWarning, stacklevel=4)


# ---------------------------------------------------------------------------------------------- progress
@dataclasses.dataclass(frozen=True)
class ChunkInfo:
    """Passed to a ``progress`` callable after each chunk: which chunk, whether it was loaded from disk, how many
    runs are done of the total, and seconds since the sweep started."""

    chunk: int
    n_chunks: int
    loaded: bool
    done: int
    total: int
    elapsed_s: float


class _Progress:
    def __init__(self, progress, total: int, desc: str):
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="run", unit_scale=True, leave=False)

    def update(self, info: ChunkInfo, n: int):
        if self.bar is not None:
            self.bar.update(n)
        if self.callback is not None:
            self.callback(info)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------- sweep
@dataclasses.dataclass(frozen=True)
class _Plan:
    """What a sweep decided before running anything: grid, outcome, devices, execution, chunking, structure."""

    values: dict[str, np.ndarray]
    n_points: int
    is_grid: bool
    n_runs: int
    outcome_fn: Callable
    devs: tuple
    multi_process: bool
    exe: str
    block: int
    chunk: int
    names: tuple[str, ...]
    specs: tuple[tuple[tuple[int, ...], str], ...]
    treedef: Any
    run_sha: str

    @property
    def n_chunks(self) -> int:
        return -(-self.n_runs // self.chunk)


def sweep(
    run_fn: Callable,
    seed: int,
    n_restarts: int,
    hparams: Mapping[str, Any] | None = None,
    *,
    outcome: Callable | None = None,
    target_loss: float | None = None,
    chunk_size: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    execution: str = "auto",
    block_size: int | None = None,
    devices: Sequence[Any] | None = None,
    out_dir: str | os.PathLike | None = None,
    config: Any = None,
    progress: bool | Callable[[ChunkInfo], None] = True,
) -> SweepResult:
    """Run ``run_fn`` for ``n_restarts`` restarts at every hyperparameter point and collect the outcomes.

    Args:
      run_fn: pure ``run(key, hparams) -> pytree`` (jit-able and vmappable; hparams is a dict of scalars).
      seed: restart i of every point uses the key ``fold_in(jax.random.key(seed), i)``.
      n_restarts: R >= 1, restarts per point.
      hparams: ``{name: scalar}`` (one point) or ``{name: (P,) array}`` (a grid, see :func:`grid`).
      outcome: ``result -> pytree`` applied per restart inside the compiled program; None: :func:`train_outcomes`
        for a TrainResult, the whole result otherwise.
      target_loss: the loss that ``steps_to_target`` counts epochs to (None: 1e-2); only for the standard
        outcomes of a TrainResult (it raises with an ``outcome`` callable or an already-reduced run function).
      chunk_size: runs per compiled chunk (a multiple of the device count, and of the block size for blocked and
        fused executions); None: the largest within ``memory_budget`` bytes (:func:`choose_chunk_size`), or, when
        ``out_dir`` already holds this sweep, the chunk size it was started with (if the device count divides it),
        so a sweep interrupted under another device count or budget resumes instead of being refused.
      execution: ``"auto"``, ``"vmap"``, ``"blocked"``, ``"map"`` or ``"fused"`` (module docstring).
      block_size: restarts per block for ``"blocked"`` (default 128) and ``"fused"`` (default: the fused run's
        own, 512; on an accelerator the whole per-device slice); fewer when there are fewer runs.
      devices: the devices to shard each chunk over (default: all devices; in a multi-process job started with
        ``jax.distributed.initialize``, all processes' devices, and every process gets every outcome).
      out_dir: folder for the manifest and one ``.npz`` file per finished chunk, written atomically, and locked
        for the whole sweep (a second sweep on it fails at once, naming the process that holds it). A folder
        holding this sweep's manifest is resumed: each chunk file is used only if it carries this sweep's
        fingerprint (run function's traced program and data, seed, grid, config, outcome structure) and its
        range, dtypes, shapes, non-finite counts and checksum match; any other is moved to ``rejected/`` with a
        :class:`RejectedChunkWarning` naming it and the reason, and recomputed. A folder holding a different
        sweep's manifest is an error.
      config: any JSON-able description of what ``run_fn`` computes (model, data, training config); stored in the
        manifest and compared on resume (the run function's own ``config``/``model`` attributes, set by
        ``train.make_run`` and :func:`outcome_run`, and its traced program are compared as well).
      progress: True: a terminal progress bar per chunk; False: quiet; a callable: called with a
        :class:`ChunkInfo` after each chunk.
    """
    t0 = time.perf_counter()
    _check_sweep_args(run_fn, seed, n_restarts, chunk_size, block_size, execution, memory_budget)
    plan = _make_plan(run_fn, n_restarts, hparams, outcome, target_loss, chunk_size, memory_budget, execution,
                      block_size, devices)
    on_disk = _folder_chunk_size(out_dir) if chunk_size is None else None
    if on_disk is not None and on_disk != plan.chunk and on_disk % len(plan.devs) == 0:
        # Resume in the folder's chunking: the automatic size depends on the device count and memory budget, which
        # may differ from the interrupted session's (the chunk size is part of the sweep's identity).
        plan = _make_plan(run_fn, n_restarts, hparams, outcome, target_loss, on_disk, memory_budget, execution,
                          block_size, devices)
    folder = None
    if out_dir is not None:
        folder = _SweepFolder(Path(out_dir), _identity(plan, run_fn, seed, n_restarts, config), plan.multi_process)
    sharded = len(plan.devs) > 1 or devices is not None or plan.multi_process
    program = _chunk_program(run_fn, plan.outcome_fn, plan.exe, plan.block, plan.devs if sharded else None,
                             tuple(plan.values))
    program, mesh = program if isinstance(program, tuple) else (program, None)
    bar = _Progress(progress, plan.n_runs, f"sweep {plan.n_runs} runs")
    try:
        if folder is not None:
            folder.open(_session(plan))
        parts, computed, loaded = _run_chunks(plan, program, mesh, seed, n_restarts, folder, bar, t0)
    finally:
        bar.close()
        if folder is not None:
            folder.close()
    lead = (plan.n_points, n_restarts) if plan.is_grid else (n_restarts,)
    arrays = [np.concatenate(p).reshape(lead + s[0]) for p, s in zip(parts, plan.specs, strict=True)]
    outcomes = jax.tree.unflatten(plan.treedef, arrays)
    return SweepResult(
        outcomes=outcomes, diverged=_diverged(outcomes, len(lead)), seed=int(seed), n_restarts=int(n_restarts),
        hparams=plan.values, is_grid=plan.is_grid, chunk_size=int(plan.chunk), n_devices=len(plan.devs),
        execution=plan.exe, block_size=plan.block, wall_time_s=time.perf_counter() - t0, computed_chunks=computed,
        loaded_chunks=loaded, out_dir=str(out_dir) if out_dir is not None else None,
        rejected_chunks=[r["chunk"] for r in folder.rejected] if folder is not None else [])


def _folder_chunk_size(out_dir) -> int | None:
    """The chunk size of the sweep already in ``out_dir`` (None if none or unreadable: the manifest check reports
    that)."""
    if out_dir is None:
        return None
    try:
        size = json.loads((Path(out_dir) / MANIFEST).read_text())["identity"]["chunk_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return size if isinstance(size, int) and size > 0 else None


def _check_sweep_args(run_fn, seed, n_restarts, chunk_size, block_size, execution, memory_budget) -> None:
    _check_int("seed", seed, minimum=0)
    if seed >= 2**32:
        raise ValueError(f"seed: expected an int < 2^32 (a uint32 threefry seed), got {seed!r}")
    _check_int("n_restarts", n_restarts, minimum=1)
    if chunk_size is not None:
        _check_int("chunk_size", chunk_size, minimum=1)
    if block_size is not None:
        _check_int("block_size", block_size, minimum=1)
    if execution not in EXECUTIONS:
        raise ValueError(f"execution: unknown {execution!r}; expected one of {', '.join(EXECUTIONS)}")
    if not callable(run_fn):
        raise ValueError(f"run_fn: expected a callable run(key, hparams), got {run_fn!r}")
    if not (isinstance(memory_budget, int) and memory_budget > 0):
        raise ValueError(f"memory_budget: expected a positive number of bytes, got {memory_budget!r}")


def _make_plan(run_fn, n_restarts, hparams, outcome, target_loss, chunk_size, memory_budget, execution,
               block_size, devices) -> _Plan:
    values, n_points, is_grid = _normalize_hparams(hparams)
    n_runs = n_points * n_restarts
    if n_runs >= 2**31:
        raise ValueError(f"n_restarts: {n_points} points x {n_restarts} restarts exceeds 2^31 runs")
    outcome_fn = _resolve_outcome(outcome, target_loss)
    multi_process = jax.process_count() > 1
    devs = tuple(devices) if devices is not None else tuple(jax.devices() if multi_process else jax.local_devices())
    if not devs:
        raise ValueError("devices: expected at least one device")
    has_fused = hasattr(run_fn, "batched")
    if execution == "fused" and not has_fused:
        raise ValueError("execution: 'fused' needs a run function with a batched kernel (see xgnn_jax.engine.fused)")
    hp_signature = tuple((k, str(v.dtype)) for k, v in values.items())
    cost, out_struct, run_sha = _analyze(run_fn, outcome_fn, hp_signature)
    platform = devs[0].platform
    exe = choose_execution(cost, has_fused, platform) if execution == "auto" else execution
    block, chunk = _chunking(run_fn, cost, exe, platform, n_runs, len(devs), chunk_size, block_size, memory_budget)
    # The outcome's structure, for the manifest and for reassembling chunks read from disk.
    paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(out_struct)
    names = tuple(_path_name(p) for p, _ in paths_leaves)
    specs = tuple((tuple(s.shape), str(s.dtype)) for _, s in paths_leaves)
    return _Plan(values, n_points, is_grid, n_runs, outcome_fn, devs, multi_process, exe, block, chunk, names,
                 specs, treedef, run_sha)


def _chunking(run_fn, cost, exe, platform, n_runs, n_dev, chunk_size, block_size, memory_budget) -> tuple[int, int]:
    """``(block, chunk)``: restarts per block and runs per compiled chunk (see :func:`choose_chunk_size`)."""
    block = block_size or (getattr(run_fn, "block_size", DEFAULT_BLOCK) if exe == "fused" else DEFAULT_BLOCK)
    if exe in ("blocked", "fused"):
        block = max(1, min(block, -(-n_runs // n_dev)))
    if chunk_size is None and exe == "fused" and platform != "cpu" and block_size is None:
        chunk = choose_chunk_size(cost, exe, n_runs, n_dev, 1, memory_budget)
        return chunk // n_dev, chunk  # an accelerator runs the whole slice as one block
    if chunk_size is None:
        return block, choose_chunk_size(cost, exe, n_runs, n_dev, block, memory_budget)
    if chunk_size % n_dev:
        raise ValueError(f"chunk_size: {chunk_size} must be a multiple of the device count {n_dev}")
    if exe in ("blocked", "fused"):
        per_device = chunk_size // n_dev
        if block_size is not None and per_device % block_size:
            raise ValueError(f"chunk_size: {chunk_size} must be a multiple of {n_dev} devices x block_size "
                             f"{block_size}")
        block = max(b for b in range(1, min(block, per_device) + 1) if per_device % b == 0)
    return block, chunk_size


def _identity(plan: _Plan, run_fn, seed: int, n_restarts: int, config: Any) -> dict:
    """What makes a sweep this sweep (the manifest's ``identity``; its hash is every chunk's fingerprint)."""
    described = {k: getattr(run_fn, k) for k in ("model", "config", "target_loss") if hasattr(run_fn, k)}
    return {
        "seed": int(seed), "n_restarts": int(n_restarts), "n_points": int(plan.n_points),
        "hparams": {k: v.tolist() for k, v in plan.values.items()}, "chunk_size": int(plan.chunk),
        "outcome": [[n, list(s), d] for n, (s, d) in zip(plan.names, plan.specs, strict=True)],
        "config": _stable_json(config) if config is not None else None,
        "run_config": _stable_json(described) if described else None,
        "run": plan.run_sha,
        "x64": bool(jax.config.jax_enable_x64),
    }


def _session(plan: _Plan) -> dict:
    """How this session runs the sweep (recorded in the manifest, not compared: layout does not change what is
    computed beyond float tolerance, see the module docstring)."""
    return {"n_devices": len(plan.devs), "device_kind": plan.devs[0].device_kind, "execution": plan.exe,
            "block_size": plan.block, "process_count": jax.process_count(), "versions": versions(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}


def _run_chunks(plan: _Plan, program, mesh, seed: int, n_restarts: int, folder: _SweepFolder | None,
                bar: _Progress, t0: float) -> tuple[list[list[np.ndarray]], list[int], list[int]]:
    """Load or compute every chunk in order: ``(per-leaf lists of chunk arrays, computed, loaded)``."""
    parts: list[list[np.ndarray]] = [[] for _ in plan.names]
    computed, loaded = [], []
    for c in range(plan.n_chunks):
        start, stop = c * plan.chunk, min((c + 1) * plan.chunk, plan.n_runs)
        exp = folder.expected(start, stop, plan.names, plan.specs) if folder is not None else None
        got = folder.load(c, exp) if folder is not None else None
        if got is not None:
            loaded.append(c)
        else:
            got = _compute_chunk(plan, program, mesh, seed, n_restarts, start, stop)
            if folder is not None:
                folder.save(c, exp, got)
            computed.append(c)
        for k, leaf in enumerate(got):
            parts[k].append(leaf)
        bar.update(ChunkInfo(c, plan.n_chunks, c in loaded, stop, plan.n_runs, time.perf_counter() - t0),
                   stop - start)
    return parts, computed, loaded


def _compute_chunk(plan: _Plan, program, mesh, seed: int, n_restarts: int, start: int, stop: int):
    j = np.arange(start, start + plan.chunk, dtype=np.int64)
    j[stop - start:] = start  # padding: repeats a real run, sliced off below
    point, rid = j // n_restarts, (j % n_restarts).astype(np.int32)
    hp_chunk = {k: v[point] for k, v in plan.values.items()}
    out = _call(program, mesh, np.uint32(seed), rid, hp_chunk, plan.multi_process)
    return [np.asarray(leaf)[: stop - start] for leaf in jax.tree.leaves(out)]


def _call(program, mesh, seed, rid, hp_chunk, multi_process):
    if mesh is None:
        return program(seed, rid, hp_chunk)
    sharding = NamedSharding(mesh, P("r"))
    if multi_process:
        from jax.experimental import multihost_utils

        def put(a):
            return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])

        out = program(seed, put(rid), {k: put(v) for k, v in hp_chunk.items()})
        return multihost_utils.process_allgather(out, tiled=True)
    return program(seed, jax.device_put(rid, sharding), jax.device_put(hp_chunk, sharding))


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")


def map_over(fn: Callable, inputs: Any, *, seed: int = 0, n_restarts: int = 1,
             hparams: Mapping[str, Any] | None = None, **sweep_kwargs: Any) -> SweepResult:
    """Run ``fn(key, row, hparams)`` for every row of ``inputs`` through :func:`sweep` (chunked, sharded,
    resumable with ``out_dir``, diverged rows counted), for computations over data sets, grids of structures
    given as arrays, or start points rather than over hyperparameters alone.

    ``inputs`` is a pytree of arrays sharing a leading axis ``N`` (row ``n`` is ``tree_map(lambda a: a[n])``);
    ``hparams`` are optional per-row scalars ``{name: (N,) array}`` (or scalars, the same for every row). Each row
    runs ``n_restarts`` restarts with the keys ``fold_in(key(seed), i)``: the same keys for every row (common
    random numbers, as across the points of a :func:`sweep` grid). Outcomes have shape ``(N, n_restarts, ...)``;
    the grid column ``row`` (in :meth:`SweepResult.table`) names the row.
    """
    leaves = jax.tree.leaves(inputs)
    if not leaves:
        raise ValueError("inputs: expected a pytree of arrays with a leading axis, got no arrays")
    sizes = {np.shape(a)[0] if np.ndim(a) else None for a in leaves}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"inputs: expected arrays sharing one leading axis, got leading sizes {sorted(map(str, sizes))}")
    n = sizes.pop()
    if n < 1:
        raise ValueError("inputs: expected at least one row")
    extra = dict(hparams or {})
    if "row" in extra:
        raise ValueError("hparams: the name 'row' is reserved for the row index")
    consts = jax.tree.map(jnp.asarray, inputs)

    def run(key, hp):
        hp = dict(hp)
        row = jax.tree.map(lambda a: a[hp["row"]], consts)
        r = hp.pop("row")
        del r
        return fn(key, row, hp)

    grid_hp = {"row": np.arange(n, dtype=np.int32), **extra}
    return sweep(run, seed, n_restarts, grid_hp, **sweep_kwargs)
