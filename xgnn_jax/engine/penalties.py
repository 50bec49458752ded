"""Regularisation penalties (C16) as typed objects: ``E(params) = penalty(J, S, hp)``.

``J`` is the data objective on the batch (the reduced loss), ``S = sum_i w_i^2`` the sum of squares over the
model's connection weights (:func:`xgnn_jax.core.model.sum_of_squares`; with ``include_bias=True`` over the biases
too: the book's ``w_i`` counts the thresholds), ``hp`` the run's hyperparameters. A penalty says which
hyperparameters it takes (``hyperparameters``: name -> default), so the run accepts and validates them.

* :class:`NoPenalty`: ``E = J``.
* :class:`L2`: ``E = J + (weight_decay / 2) S``; for plain SGD this is weight decay
  ``w <- w - eta (grad J + weight_decay w)``.
* :class:`Book`: the book's eq. (5.17) ``E = lam (1/m) sum_k E_k + (1 - lam) S`` with ``lam`` in (0, 1]
  (``lam = 1``: no regularisation); needs the mean reduction (the book's 1/m), checked by ``TrainConfig``.

Any object with ``hyperparameters``, ``include_bias``, ``needs_mean`` and ``__call__(J, S, hp)`` works as a
penalty. The strings ``"none"``, ``"l2"``, ``"book"`` stay as a command-line convenience (:func:`as_penalty`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

import jax
import numpy as np

Array = jax.Array


@runtime_checkable
class Penalty(Protocol):
    hyperparameters: dict[str, Any]
    include_bias: bool
    needs_mean: bool

    def __call__(self, data_term: Array, sq: Array, hp: dict[str, Array]) -> Array:
        ...


@dataclasses.dataclass(frozen=True)
class NoPenalty:
    """``E = J`` (no regularisation)."""

    include_bias: bool = False
    needs_mean: bool = dataclasses.field(default=False, init=False)
    name: str = dataclasses.field(default="none", init=False)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {}

    def __call__(self, data_term, sq, hp):
        return data_term


@dataclasses.dataclass(frozen=True)
class L2:
    """``E = J + (weight_decay / 2) sum_i w_i^2``; hyperparameter ``weight_decay`` (default 0)."""

    include_bias: bool = False
    needs_mean: bool = dataclasses.field(default=False, init=False)
    name: str = dataclasses.field(default="l2", init=False)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"weight_decay": np.float32(0.0)}

    def __call__(self, data_term, sq, hp):
        return data_term + 0.5 * hp["weight_decay"] * sq


@dataclasses.dataclass(frozen=True)
class Book:
    """The book's eq. (5.17): ``E = lam J + (1 - lam) sum_i w_i^2``; hyperparameter ``lam`` in (0, 1] (default 1)."""

    include_bias: bool = False
    needs_mean: bool = dataclasses.field(default=True, init=False)
    name: str = dataclasses.field(default="book", init=False)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"lam": np.float32(1.0)}

    def __call__(self, data_term, sq, hp):
        return hp["lam"] * data_term + (1 - hp["lam"]) * sq


NAMED = {"none": NoPenalty, "l2": L2, "book": Book}
NAMES: tuple[str, ...] = tuple(NAMED)


def as_penalty(spec: Any, *, include_bias: bool = False, argument: str = "regularization") -> Any:
    """A penalty object from a penalty (returned as is) or a name (with ``include_bias``, the config's
    ``penalize_bias``); anything else raises a ``ValueError`` naming ``argument``."""
    if isinstance(spec, str):
        if spec not in NAMED:
            raise ValueError(f"{argument}: unknown form {spec!r}; expected one of {', '.join(NAMES)} or a penalty "
                             "object (xgnn_jax.engine.penalties.L2(), Book())")
        return NAMED[spec](include_bias=include_bias)
    if spec is None:
        return NoPenalty()
    if isinstance(spec, Penalty):
        return spec
    raise ValueError(f"{argument}: expected a penalty (penalties.L2(), penalties.Book()) or one of "
                     f"{', '.join(NAMES)}, got {spec!r}")


def is_none(penalty: Any) -> bool:
    """True for a penalty that adds nothing (the objective is the data term)."""
    return isinstance(penalty, NoPenalty)
