"""What a training run came to: one definition of "steps to reach a target", divergence and saturation.

Conventions (every study and the engine use these, nothing else):

* Steps and epochs are counted from 1: history index ``i`` is epoch ``i + 1`` (the state after ``i + 1``
  updates or epochs). :data:`NEVER` (-1) means "not reached within the run".
* :func:`first_step` ``(flags)``: the 1-based index of the first True along the last axis, NEVER if none.
* :func:`steps_to` ``(loss_history, target)``: the first epoch whose data loss is ``<= target``.

A run ends in one of four kinds (see :func:`train_outcomes`):

* *diverged*: the final loss or a parameter is NaN or inf;
* *saturated*: finite, but stuck on a plateau made by squashing units pinned at their asymptotes, where every
  gradient vanishes without a minimum nearby. The rule (:func:`saturated`): the run is finite, its final
  full-batch gradient norm is below ``grad_tol`` (1e-6), its final loss is above ``target_loss`` (the target was
  not reached), and at least ``pin_fraction`` (1/2) of its sigmoid/tanh activations on the training set lie within
  ``xgnn_jax.core.model.PIN_TOL`` (1e-3) of an asymptote (0 or 1 for sigmoid, -1 or 1 for tanh). E.g. sigmoid
  XOR nets at lr 1e4: loss 0.25, gradient norm ~1e-8, every unit pinned;
* *stuck* (at a critical point or plateau that is not saturation): finite, small gradient, target not reached,
  units not pinned (e.g. every output at 1/2 on XOR): not flagged here; :mod:`xgnn_jax.analysis.critical`
  classifies such points;
* otherwise the run reached its target or was still moving.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

NEVER = -1
SATURATION_GRAD_TOL = 1e-6
SATURATION_PIN_FRACTION = 0.5


def check_target(target_loss, argument: str = "target_loss") -> None:
    """Raise a ``ValueError`` naming ``argument`` for a NaN (never reached, silently) or infinite concrete target;
    traced targets pass."""
    if isinstance(target_loss, jax.core.Tracer):
        return
    try:
        value = np.asarray(target_loss, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: expected a number, got {target_loss!r}") from None
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{argument}: expected a finite number (a NaN target is never reached), got {target_loss!r}")


def first_step(flags: Array, axis: int = -1) -> Array:
    """The 1-based position of the first True of ``flags`` along ``axis`` (int32), :data:`NEVER` when none.

    ``flags: (..., T)`` booleans, one per step; the result has the other axes' shape. ``first_step([F, T, T])``
    is 2.
    """
    flags = jnp.asarray(flags, bool)
    hit = jnp.any(flags, axis=axis)
    return jnp.where(hit, jnp.argmax(flags, axis=axis) + 1, NEVER).astype(jnp.int32)


def steps_to(loss_history: Array, target: float | Array, axis: int = -1) -> Array:
    """The first epoch ``t = 1..T`` after which ``loss_history[t - 1] <= target``; :data:`NEVER` if none.

    ``loss_history: (..., T)`` (a NaN never counts as reached)."""
    return first_step(jnp.asarray(loss_history) <= target, axis=axis)


def reached(steps: Array) -> Array:
    """True where a :func:`first_step` / :func:`steps_to` result says the target was reached."""
    return jnp.asarray(steps) != NEVER


def saturated(final_loss: Array, grad_norm: Array, pinned_fraction: Array | None, target_loss: float | Array,
              diverged: Array, *, grad_tol: float = SATURATION_GRAD_TOL,
              pin_fraction: float = SATURATION_PIN_FRACTION) -> Array:
    """The saturation rule of the module docstring: finite, ``grad_norm < grad_tol``, ``final_loss >
    target_loss`` and ``pinned_fraction >= pin_fraction``. False when the pinned fraction is not known (None).
    A NaN gradient norm (not recorded) never counts as small."""
    if pinned_fraction is None:
        return jnp.zeros(jnp.shape(final_loss), bool)
    return (~jnp.asarray(diverged) & (grad_norm < grad_tol) & (final_loss > target_loss)
            & (pinned_fraction >= pin_fraction))


def train_outcomes(result, target_loss: float = 1e-2) -> dict[str, Array]:
    """The standard per-restart outcomes of a :class:`~xgnn_jax.engine.train.TrainResult` (one restart).

    ``final_loss``, ``final_accuracy``, ``final_grad_norm`` (the last epoch's values), ``steps_to_target``
    (:func:`steps_to` of the data loss history, without any penalty term), ``diverged`` (final loss or parameters
    not finite) and ``saturated`` (:func:`saturated`). A NaN or infinite ``target_loss`` raises.
    """
    check_target(target_loss)
    return {
        "final_loss": result.final_loss,
        "final_accuracy": result.final_accuracy,
        "final_grad_norm": result.final_grad_norm,
        "steps_to_target": steps_to(result.history["loss"], target_loss),
        "diverged": result.diverged,
        "saturated": saturated(result.final_loss, result.final_grad_norm,
                               getattr(result, "pinned_fraction", None), target_loss, result.diverged),
    }
