"""Gradient checks: hand-written gradients against ``jax.grad``, and both against finite differences.

Errors are measured per leaf of the parameter pytree (``W`` and ``b`` of each layer), for gradients ``g`` (the
one checked) and ``r`` (the reference):

    max_abs = max_i |g_i - r_i|,     max_rel = max_abs / max_i |r_i|

i.e. relative to the leaf's largest reference entry (a leaf whose reference is all zero has ``max_rel = 0`` if
``g`` is zero too and ``inf`` otherwise). A leaf whose shape differs from the reference's, or a missing leaf,
fails with ``inf``. The tolerances of a passing check (:func:`default_rtol`) are ``1e-10`` in float64 and
``1e-5`` in float32 for manual vs autodiff, and :data:`FD_RTOL` (1e-5) for anything against finite
differences.

Finite differences (always computed in float64, so x64 must be on):

* :func:`finite_difference_grad`: the full gradient by central differences ``(J(p + eps e_i) - J(p - eps e_i)) /
  (2 eps)``, one coordinate at a time (vectorised); for networks of up to :data:`MAX_FD_PARAMS` parameters.
* :func:`directional_check`: ``<g, v>`` against ``(J(p + eps v) - J(p - eps v)) / (2 eps)`` for random unit
  directions ``v``; scales to any size (the C13 network has 101 000 weights).
* :func:`check_grads_manual`: ``jax.test_util.check_grads`` applied to a manual gradient, by wrapping the
  objective in a ``jax.custom_vjp`` whose backward pass is the manual gradient.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

Array = jax.Array
Pytree = Any

FD_EPS = 1e-5
"""Central-difference step in float64, near the optimum (machine epsilon)^(1/3): truncation error ~eps^2 |J^(3)|,
round-off ~1e-16 |J| / eps. Measured on the study's architectures: worst leaf-relative error 5e-7 (a leaf whose
gradient is tiny next to J: softmax hidden layer, summed squared error), 1e-9 typical; at eps = 1e-6 the worst was
5e-6."""
FD_RTOL = 1e-5
"""Tolerance of anything against finite differences (``jax.test_util``'s float64 default)."""
MAX_FD_PARAMS = 20_000


def default_rtol(dtype) -> float:
    """Tolerance of manual vs autodiff: 1e-10 in float64, 1e-5 in float32 (relative to each leaf's largest entry)."""
    return 1e-10 if jnp.dtype(dtype) == jnp.float64 else 1e-5


@dataclasses.dataclass(frozen=True)
class LeafError:
    """Errors of one parameter leaf: ``path`` like ``"[1]['W']"``, shapes, ``max_abs``, ``max_rel``, ``ref_max``."""

    path: str
    shape: tuple[int, ...] | None
    ref_shape: tuple[int, ...] | None
    max_abs: float
    max_rel: float
    ref_max: float

    @property
    def shape_ok(self) -> bool:
        return self.shape == self.ref_shape


@dataclasses.dataclass(frozen=True)
class GradCheck:
    """The result of a comparison: one :class:`LeafError` per leaf, the tolerance, and a note (e.g. a crash)."""

    leaves: tuple[LeafError, ...]
    rtol: float
    note: str = ""

    @property
    def max_abs(self) -> float:
        return max((e.max_abs for e in self.leaves), default=math.inf)

    @property
    def max_rel(self) -> float:
        return max((e.max_rel for e in self.leaves), default=math.inf)

    @property
    def passed(self) -> bool:
        return bool(self.leaves) and not self.note and all(e.shape_ok and e.max_rel <= self.rtol for e in self.leaves)

    def worst(self) -> LeafError | None:
        return max(self.leaves, key=lambda e: e.max_rel, default=None)

    def describe(self) -> str:
        """One line: pass/fail, the worst leaf and its errors (or the shape mismatch or crash)."""
        if self.note:
            return f"FAIL: {self.note}"
        bad = [e for e in self.leaves if not e.shape_ok]
        if bad:
            return "FAIL: shape mismatch at " + ", ".join(f"{e.path} {e.shape} vs {e.ref_shape}" for e in bad)
        w = self.worst()
        verdict = "pass" if self.passed else "FAIL"
        return f"{verdict}: max rel {w.max_rel:.2e} (abs {w.max_abs:.2e}) at {w.path}, rtol {self.rtol:.0e}"

    def as_dict(self) -> dict:
        return {"passed": self.passed, "max_abs": self.max_abs, "max_rel": self.max_rel, "rtol": self.rtol,
                "note": self.note, "describe": self.describe(),
                "leaves": [dataclasses.asdict(e) for e in self.leaves]}


def _leaves_by_path(tree: Pytree) -> dict[str, Array]:
    return {jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def compare(grads: Pytree, reference: Pytree, rtol: float | None = None, *, scale: Pytree | None = None
            ) -> GradCheck:
    """Per-leaf errors of ``grads`` against ``reference`` (see the module docstring); ``rtol`` defaults to
    :func:`default_rtol` of the reference's dtype.

    ``scale`` (params-shaped, optional) replaces ``|reference|`` as the magnitude each leaf's error is relative to,
    e.g. :func:`summand_magnitude`, the size of the per-example terms the gradient sums.
    """
    got, ref = _leaves_by_path(grads), _leaves_by_path(reference)
    mag = ref if scale is None else _leaves_by_path(scale)
    if rtol is None:
        dtypes = [jnp.result_type(r) for r in ref.values()]
        rtol = default_rtol(jnp.float64 if any(d == jnp.float64 for d in dtypes) else jnp.float32)
    out = []
    for path in sorted(set(got) | set(ref)):
        g, r = got.get(path), ref.get(path)
        g_shape = None if g is None else tuple(np.shape(g))
        r_shape = None if r is None else tuple(np.shape(r))
        if g is None or r is None or g_shape != r_shape:
            out.append(LeafError(path, g_shape, r_shape, math.inf, math.inf, math.nan))
            continue
        g64, r64 = np.asarray(g, np.float64), np.asarray(r, np.float64)
        max_abs = float(np.max(np.abs(g64 - r64))) if g64.size else 0.0
        m64 = np.asarray(mag[path], np.float64)
        ref_max = float(np.max(np.abs(m64))) if m64.size else 0.0
        if not np.isfinite(max_abs):
            max_rel = math.inf
        elif max_abs == 0.0:
            max_rel = 0.0
        else:
            max_rel = max_abs / ref_max if ref_max > 0 else math.inf
        out.append(LeafError(path, g_shape, r_shape, max_abs, max_rel, ref_max))
    return GradCheck(tuple(out), float(rtol))


def summand_magnitude(per_example_loss: Callable[..., Array], params: Pytree, x: Array, y: Array,
                      reduction: str = "mean") -> Pytree:
    """``c sum_k |grad L_k|``, entry by entry (``c = 1/m`` for ``"mean"``, 1 for ``"sum"``): the magnitude of the
    per-example terms a batch gradient adds up. ``per_example_loss(params, x_k, y_k)`` takes one example
    ``(d_0,), (d_L,)``.

    Rounding error of a sum scales with this, not with the sum: when per-example terms cancel, a leaf's largest
    entry can be far smaller than its summands, and float32 gradients then differ by more than 1e-5 of it (measured
    here: 1 draw in ~1200 random float32 networks). Relative to this magnitude the float32 error stays below 1e-5.
    """
    per = jax.vmap(jax.grad(per_example_loss), in_axes=(None, 0, 0))(params, x, y)
    c = 1.0 / x.shape[0] if reduction == "mean" else 1.0
    return jax.tree.map(lambda g: c * jnp.sum(jnp.abs(g), axis=0), per)


def crashed(reference: Pytree, error: Exception, rtol: float) -> GradCheck:
    """A failed check for a gradient function that raised instead of returning (e.g. a shape error)."""
    leaves = tuple(LeafError(p, None, tuple(np.shape(r)), math.inf, math.inf, math.nan)
                   for p, r in _leaves_by_path(reference).items())
    return GradCheck(leaves, rtol, note=f"raised {type(error).__name__}: {str(error).splitlines()[0][:200]}")


def check_against_autodiff(grad_fn: Callable[..., Pytree], objective: Callable[..., Array], params: Pytree,
                           *args, rtol: float | None = None, jit: bool = False) -> GradCheck:
    """``grad_fn(params, *args)`` against ``jax.grad(objective)(params, *args)``, leaf by leaf.

    A ``grad_fn`` that raises gives a failed check (with the exception in ``note``) rather than an error.
    ``jit=True`` compiles both into one program: for a new architecture one compile is much cheaper than running
    op by op, which compiles every primitive for every new shape.
    """
    reference_fn = jax.grad(objective)
    if jit:
        reference_fn, grad_fn = jax.jit(reference_fn), jax.jit(grad_fn)
    reference = reference_fn(params, *args)
    try:
        grads = grad_fn(params, *args)
    except (ValueError, TypeError) as e:
        return crashed(reference, e, rtol if rtol is not None else default_rtol(_dtype(params)))
    return compare(grads, reference, rtol)


def _dtype(tree: Pytree):
    return jnp.result_type(*jax.tree.leaves(tree))


def _require_x64(what: str) -> None:
    if not jax.config.jax_enable_x64:
        raise ValueError(f"{what}: finite differences need float64; turn on jax_enable_x64 "
                         "(jax.config.update or `with jax.enable_x64(True):`)")


def _to64(tree: Pytree) -> Pytree:
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if jnp.issubdtype(jnp.result_type(a), jnp.floating)
                        else a, tree)


def finite_difference_grad(objective: Callable[..., Array], params: Pytree, *args, eps: float = FD_EPS) -> Pytree:
    """Central-difference gradient of the scalar ``objective(params, *args)`` in float64, params-shaped.

    Every coordinate is perturbed by ``+-eps`` (vectorised with ``vmap``); ``2 P`` evaluations for ``P`` parameters,
    so ``P`` may be at most :data:`MAX_FD_PARAMS` (use :func:`directional_check` for larger networks).
    """
    _require_x64("finite_difference_grad")
    params, args = _to64(params), _to64(args)
    flat, unravel = ravel_pytree(params)
    if flat.size > MAX_FD_PARAMS:
        raise ValueError(f"params: {flat.size} parameters is more than MAX_FD_PARAMS = {MAX_FD_PARAMS} for a full "
                         "finite-difference gradient; use directional_check")

    def f(theta):
        return objective(unravel(theta), *args)

    steps = eps * jnp.eye(flat.size, dtype=jnp.float64)
    diffs = jax.vmap(lambda s: f(flat + s) - f(flat - s))(steps)
    return unravel(diffs / (2 * eps))


@dataclasses.dataclass(frozen=True)
class DirectionalCheck:
    """``<g, v>`` against the central difference along ``v``, for several random unit directions ``v``."""

    analytic: tuple[float, ...]
    numeric: tuple[float, ...]
    rtol: float

    @property
    def max_rel(self) -> float:
        a, n = np.asarray(self.analytic), np.asarray(self.numeric)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
            return math.inf
        # Relative to the largest directional derivative, as leaf errors are relative to the leaf's largest entry:
        # a direction almost orthogonal to the gradient has a tiny derivative and would otherwise show round-off
        # (~1e-16 |J| / eps) as a large relative error.
        scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), np.finfo(np.float64).tiny)
        return float(np.max(np.abs(a - n)) / scale)

    @property
    def passed(self) -> bool:
        return self.max_rel <= self.rtol

    def as_dict(self) -> dict:
        return {"passed": self.passed, "max_rel": self.max_rel, "rtol": self.rtol,
                "analytic": list(self.analytic), "numeric": list(self.numeric)}


def directional_check(grads: Pytree, objective: Callable[..., Array], params: Pytree, *args, key: Array,
                      num_directions: int = 4, eps: float = FD_EPS, rtol: float = FD_RTOL) -> DirectionalCheck:
    """Directional derivatives: ``<grads, v>`` vs ``(J(p + h v) - J(p - h v)) / (2 h)`` in float64.

    ``v`` are ``num_directions`` random unit vectors in parameter space (drawn from ``key``), ``h = eps``. The
    error is ``max_i |a_i - n_i|`` relative to the largest ``|a_i|`` or ``|n_i|``. A leaf of the wrong shape makes
    the check fail.
    """
    _require_x64("directional_check")
    params, args = _to64(params), _to64(args)
    flat, unravel = ravel_pytree(params)
    try:
        g_flat, _ = ravel_pytree(_to64(grads))
    except Exception:  # noqa: BLE001 -- a malformed gradient pytree is a failed check
        g_flat = None
    same_shapes = jax.tree.structure(grads) == jax.tree.structure(params) and all(
        np.shape(a) == np.shape(b) for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(params), strict=True))
    if g_flat is None or g_flat.shape != flat.shape or not same_shapes:
        return DirectionalCheck((math.inf,), (0.0,), rtol)
    v = jax.random.normal(key, (num_directions, flat.size), jnp.float64)
    v = v / jnp.linalg.norm(v, axis=1, keepdims=True)

    def f(theta):
        return objective(unravel(theta), *args)

    # A fixed step, not one scaled by |p|: a longer step crosses ReLU kinks (measured on C13: a step of 3e-3 gave a
    # 0.2% error in one direction of four), while round-off ~1e-16 |J| / eps stays ~1e-7 of the derivative there.
    numeric = jax.vmap(lambda d: (f(flat + eps * d) - f(flat - eps * d)) / (2 * eps))(v)
    analytic = v @ g_flat
    return DirectionalCheck(tuple(map(float, analytic)), tuple(map(float, numeric)), rtol)


def with_manual_vjp(objective: Callable[..., Array], grad_fn: Callable[..., Pytree]) -> Callable[..., Array]:
    """``objective`` with its reverse-mode derivative replaced by ``grad_fn(params, *args)`` (a ``custom_vjp``).

    Only ``params`` (the first argument) gets the manual gradient; the other arguments get zero cotangents.
    """

    @jax.custom_vjp
    def f(params, *args):
        return objective(params, *args)

    def fwd(params, *args):
        return objective(params, *args), (params, args)

    def bwd(res, ct):
        params, args = res
        g = jax.tree.map(lambda a: ct * a, grad_fn(params, *args))
        return (g, *jax.tree.map(jnp.zeros_like, args))

    f.defvjp(fwd, bwd)
    return f


def check_grads_manual(objective: Callable[..., Array], grad_fn: Callable[..., Pytree], params: Pytree, *args,
                       eps: float = 1e-4, rtol: float | None = None, jit: bool = False) -> tuple[bool, str]:
    """``jax.test_util.check_grads`` (reverse mode, one random direction) on a manual gradient.

    Returns ``(passed, message)``; ``jax.test_util``'s float64 tolerance is 1e-5 unless ``rtol`` is given.
    ``jit=True`` compiles the wrapped objective once instead of running it op by op (cheaper for new shapes).
    """
    from jax import test_util

    _require_x64("check_grads_manual")
    params, args = _to64(params), _to64(args)
    f = with_manual_vjp(objective, grad_fn)
    if jit:
        f = jax.jit(f)
    try:
        test_util.check_grads(lambda p: f(p, *args), (params,), order=1, modes=("rev",), eps=eps,
                              atol=rtol, rtol=rtol)
    except AssertionError as e:
        return False, str(e).strip().splitlines()[0][:200] if str(e).strip() else "AssertionError"
    except (ValueError, TypeError) as e:
        return False, f"raised {type(e).__name__}: {str(e).splitlines()[0][:200]}"
    return True, "pass"


# --------------------------------------------------------------------------------------------- init statistics
@dataclasses.dataclass(frozen=True)
class InitCheck:
    """Per-leaf statistics of drawn parameters against a reference draw from the intended initialiser.

    ``rows``: one dict per leaf with its shape and the reference shape, the mean, its z-score against the reference
    mean (standard error from the reference spread), and the ratio of standard deviations.
    """

    rows: tuple[dict, ...]
    z_max: float
    std_ratio_range: tuple[float, float]

    @property
    def passed(self) -> bool:
        return all(r["ok"] for r in self.rows)

    def describe(self) -> str:
        bad = [r for r in self.rows if not r["ok"]]
        if not bad:
            return "pass: every leaf has the intended shape, mean and spread"
        r = bad[0]
        if r["shape"] != r["ref_shape"]:
            return f"FAIL: {r['path']} has shape {r['shape']}, expected {r['ref_shape']}"
        return (f"FAIL: {r['path']} mean {r['mean']:.3g} (z = {r['z']:.1f}), std ratio {r['std_ratio']:.2f} "
                f"against the intended init")


def init_check(params: Pytree, reference: Pytree, *, z_max: float = 6.0,
               std_ratio_range: tuple[float, float] = (0.8, 1.25), min_size: int = 100) -> InitCheck:
    """Does ``params`` look drawn from the same initialiser as ``reference`` (a draw from a different key)?

    For each leaf: same shape; ``|mean - ref_mean| <= z_max * ref_std / sqrt(n)``; ``std / ref_std`` within
    ``std_ratio_range``. Leaves with fewer than ``min_size`` entries (or a constant reference, e.g. zero biases)
    are compared exactly in mean and spread with a small absolute tolerance instead.
    """
    got, ref = _leaves_by_path(params), _leaves_by_path(reference)
    rows = []
    for path in sorted(set(got) | set(ref)):
        g, r = got.get(path), ref.get(path)
        shape = None if g is None else tuple(np.shape(g))
        ref_shape = None if r is None else tuple(np.shape(r))
        row = {"path": path, "shape": shape, "ref_shape": ref_shape, "mean": math.nan, "z": math.nan,
               "std_ratio": math.nan, "ok": False}
        if shape is not None and shape == ref_shape:
            g64, r64 = np.asarray(g, np.float64).ravel(), np.asarray(r, np.float64).ravel()
            row["mean"], rs = float(g64.mean()), float(r64.std())
            if rs == 0.0 or g64.size < min_size:
                tol = 1e-12 + 0.5 * rs
                row["z"] = abs(row["mean"] - r64.mean()) / max(tol, 1e-300)
                row["std_ratio"] = float(g64.std() / rs) if rs > 0 else (1.0 if g64.std() == 0 else math.inf)
                row["ok"] = bool(abs(row["mean"] - r64.mean()) <= tol and abs(g64.std() - rs) <= tol)
            else:
                row["z"] = abs(row["mean"] - float(r64.mean())) / (rs / math.sqrt(g64.size))
                row["std_ratio"] = float(g64.std() / rs)
                lo, hi = std_ratio_range
                row["ok"] = bool(row["z"] <= z_max and lo <= row["std_ratio"] <= hi)
        rows.append(row)
    return InitCheck(tuple(rows), z_max, std_ratio_range)


def gradient_program(objective: Callable[..., Array], grad_fn: Callable[..., Pytree], *,
                     finite_differences: bool) -> Callable[..., tuple]:
    """One compiled program ``(params, x, y) -> (grad_fn, jax.grad(objective), finite differences or None)``.

    One compile per architecture serves every draw of parameters and data (a study checking many draws would
    otherwise compile every primitive op by op). ``finite_differences=True`` adds the full central-difference
    gradient (:func:`finite_difference_grad`, float64, at most :data:`MAX_FD_PARAMS` parameters).
    """
    auto = jax.grad(objective)

    def program(params, x, y):
        fd = finite_difference_grad(objective, params, x, y) if finite_differences else None
        return grad_fn(params, x, y), auto(params, x, y), fd

    return jax.jit(program)
