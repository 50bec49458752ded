"""Optimizers as optax ``GradientTransformation`` factories whose swept values are hyperparameters.

A training run takes an optimizer as a *factory* such as ``optax.sgd`` or ``optax.adam``. Its numeric arguments
(``learning_rate``, ``momentum``, ``b1``, ``eps``, ...) are hyperparameters: the run calls the factory
inside its trace with the values of its ``hparams`` dict (:meth:`Optimizer.build`), so they stay traced array
arguments (a sweep over them is vmapped, not recompiled; a Python float would be baked into the program).
:meth:`Optimizer.injected` builds the same through :func:`optax.inject_hyperparams`, for values that must live in
the optimizer state. Non-numeric arguments
(``nesterov=True``) are static: part of the :class:`Optimizer` spec, so changing them recompiles.

Accepted by :func:`as_optimizer` (and so by ``TrainConfig(optimizer=...)``):

* a factory, e.g. ``optax.sgd``: every argument with a numeric default (or a ``None`` default, e.g. sgd's
  ``momentum``: given, it switches heavy ball on) may be given as a hyperparameter; ``learning_rate`` defaults
  to :data:`DEFAULT_LEARNING_RATE`; the defaults of ``momentum``, ``b1``, ``b2`` are passed as float32 scalars
  (as the names always did), others (``eps``...) are the factory's own unless given;
* :func:`spec` ``(factory, **kwargs)``: the same with chosen defaults (numbers) and static arguments (others);
* a ready ``optax.GradientTransformation``, e.g. ``optax.sgd(0.1)``: used as is, with no hyperparameters;
* a name, as a convenience for the command line: ``"sgd"`` (the book's plain ``w <- w - eta g``: it takes no
  momentum), ``"momentum"`` (heavy ball, momentum 0.9), ``"nesterov"``, ``"adam"``, ``"rmsprop"``.

``lr`` is an alias of ``learning_rate`` (the engine's older name).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import optax

# float32 scalars, as the engine's hyperparameters have always been (a Python float would be rounded to the
# parameters' dtype instead: a different value in a float64 run).
DEFAULT_LEARNING_RATE = np.float32(0.1)
ALIASES = {"lr": "learning_rate"}
# Arguments that are never hyperparameters even with a None default.
_NOT_NUMERIC_SUFFIXES = ("dtype", "mask", "fn", "schedule")


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optax factory with the hyperparameters a run may sweep (hashable: part of a static ``TrainConfig``).

    ``defaults``: ``(name, value)`` pairs passed to the factory when the run's ``hparams`` do not give them; ``optional``: names that may be given but are left to the factory otherwise (e.g. sgd's
    ``momentum``, whose ``None`` default means "no momentum"); ``static``: fixed non-numeric arguments.
    ``transformation``: a ready ``GradientTransformation`` (then ``factory`` is None and nothing is swept).
    """

    factory: Callable[..., optax.GradientTransformation] | None
    defaults: tuple[tuple[str, float], ...] = ()
    optional: tuple[str, ...] = ()
    static: tuple[tuple[str, Any], ...] = ()
    name: str = ""
    transformation: optax.GradientTransformation | None = None

    @property
    def hyperparameters(self) -> dict[str, float | None]:
        """``{name: default}`` of every hyperparameter this optimizer takes (None: left to the factory)."""
        return {**dict(self.defaults), **{n: None for n in self.optional if n not in dict(self.defaults)}}

    def __repr__(self) -> str:
        d = self.describe()
        if "transformation" in d:
            return f"Optimizer(transformation={d['name']}: {', '.join(d['transformation'])})"
        factory = d["factory"].replace("optax._src.alias.", "optax.")
        return (f"Optimizer({factory}, name={self.name!r}, defaults={d['defaults']}, optional={d['optional']}, "
                f"static={d['static']})")

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description that is the same in every process (for fingerprints and manifests): the
        factory's module and name, the defaults, the static arguments. A ready transformation is described by its
        functions' qualified names only (two different ``optax.sgd(lr)`` look alike: prefer a factory)."""
        if self.transformation is not None:
            fns = [getattr(f, "__qualname__", type(f).__name__) for f in self.transformation]
            return {"transformation": fns, "name": self.name}
        factory = f"{getattr(self.factory, '__module__', '')}.{getattr(self.factory, '__qualname__', self.factory)}"
        return {"factory": factory, "name": self.name, "defaults": {k: float(v) for k, v in self.defaults},
                "optional": list(self.optional), "static": {k: repr(v) for k, v in self.static}}

    def values(self, hp: Mapping[str, Any]) -> dict[str, Any]:
        """The factory's numeric arguments for the run's hyperparameters ``hp``: the defaults, overridden by the
        names of ``hp`` that are this optimizer's (others, e.g. ``weight_scale``, are the model's: ignored)."""
        hyper = self.hyperparameters
        values = {k: v for k, v in self.defaults}
        values.update({k: v for k, v in hp.items() if k in hyper})
        return values

    def build(self, hp: Mapping[str, Any]) -> optax.GradientTransformation:
        """The transformation for the run's hyperparameters ``hp`` (values may be traced arrays).

        The factory is called inside the traced run with the traced values, so the values stay array arguments
        (vmapped, one compile per sweep) and every value keeps its own dtype: exactly what the engine has always
        computed. (:func:`optax.inject_hyperparams`, see :meth:`injected`, would instead cast every value to the
        parameters' dtype, e.g. compute a float64 Adam's bias correction ``1 - b1^t`` from a float64 ``b1``
        rather than the float32 one given, which moves the last bits of float64 runs.)
        """
        if self.transformation is not None:
            return self.transformation
        return self.factory(**self.values(hp), **dict(self.static))

    def injected(self, hp: Mapping[str, Any]) -> optax.GradientTransformation:
        """The same optimizer through :func:`optax.inject_hyperparams`: the hyperparameters live in the optimizer
        state (``state.hyperparams``), where a schedule or a callback may change them between updates."""
        if self.transformation is not None:
            return self.transformation
        return optax.inject_hyperparams(self.factory, static_args=tuple(k for k, _ in self.static))(
            **self.values(hp), **dict(self.static))


# Arguments the engine has always passed as float32 hyperparameters (their defaults are injected as float32
# scalars, so optax.adam computes what the name "adam" always computed, bit for bit); other numeric arguments
# (eps, decay, ...) are left to the factory's own default unless given.
_FLOAT32_DEFAULTS = ("learning_rate", "momentum", "b1", "b2")


def _numeric_arguments(factory: Callable) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``(injected defaults, optional names)`` of a factory's signature: learning_rate (default 0.1) and the
    numeric defaults of :data:`_FLOAT32_DEFAULTS` as float32 scalars; every other numeric or None-default
    argument is optional (a hyperparameter when given, the factory's default otherwise)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        raise ValueError(f"optimizer: cannot read the arguments of {factory!r}; pass optimizers.spec(...)") from None
    defaults, optional = {}, []
    for name, p in params.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        d = p.default
        numeric = isinstance(d, (int, float)) and not isinstance(d, bool)
        if name == "learning_rate":
            defaults[name] = DEFAULT_LEARNING_RATE if d is p.empty or d is None else np.float32(d)
        elif numeric and name in _FLOAT32_DEFAULTS:
            defaults[name] = np.float32(d)
        elif numeric or (d is None and not name.endswith(_NOT_NUMERIC_SUFFIXES)):
            optional.append(name)
    return defaults, tuple(optional)


def spec(factory: Callable[..., optax.GradientTransformation], *, name: str | None = None,
         **kwargs: Any) -> Optimizer:
    """An :class:`Optimizer` for ``factory`` with some arguments chosen: numbers become the hyperparameters'
    defaults (still swept when ``hparams`` give them), anything else is a static argument.

    ``spec(optax.sgd, momentum=0.9, nesterov=True)`` is Nesterov momentum with momentum 0.9 by default.
    """
    if not callable(factory):
        raise ValueError(f"optimizer: expected an optax factory such as optax.sgd, got {factory!r}")
    defaults, optional = _numeric_arguments(factory)
    try:
        known = set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        known = set(kwargs)
    static = []
    for k, v in kwargs.items():
        if k not in known:
            raise ValueError(f"optimizer: {getattr(factory, '__name__', factory)!s} takes no argument {k!r}; "
                             f"it takes {', '.join(sorted(known))}")
        if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool):
            defaults[k] = np.float32(v)
        else:
            static.append((k, v))
    return Optimizer(factory, tuple(defaults.items()), tuple(n for n in optional if n not in defaults),
                     tuple(static), name or getattr(factory, "__name__", "optimizer"))


# The command-line names, mapped to factories. "sgd" is the book's plain gradient descent: no momentum at all
# (a momentum given to it is an error, not silently ignored).
NAMED: dict[str, Optimizer] = {
    "sgd": Optimizer(optax.sgd, (("learning_rate", DEFAULT_LEARNING_RATE),), name="sgd"),
    "momentum": Optimizer(optax.sgd, (("learning_rate", DEFAULT_LEARNING_RATE), ("momentum", np.float32(0.9))),
                          name="momentum"),
    "nesterov": Optimizer(optax.sgd, (("learning_rate", DEFAULT_LEARNING_RATE), ("momentum", np.float32(0.9))),
                          static=(("nesterov", True),), name="nesterov"),
    "adam": Optimizer(optax.adam, (("learning_rate", DEFAULT_LEARNING_RATE), ("b1", np.float32(0.9)),
                                   ("b2", np.float32(0.999))), name="adam"),
    "rmsprop": Optimizer(optax.rmsprop, (("learning_rate", DEFAULT_LEARNING_RATE),), name="rmsprop"),
}
NAMES: tuple[str, ...] = tuple(NAMED)


def as_optimizer(optimizer: Any, *, argument: str = "optimizer") -> Optimizer:
    """An :class:`Optimizer` from any accepted form (see the module docstring); anything else is a clear error."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        if optimizer not in NAMED:
            raise ValueError(f"{argument}: unknown optimizer {optimizer!r}; expected one of {', '.join(NAMES)}, "
                             f"an optax factory (optax.sgd) or an optax.GradientTransformation")
        return NAMED[optimizer]
    if isinstance(optimizer, optax.GradientTransformation):
        return Optimizer(None, name=type(optimizer).__name__, transformation=optimizer)
    if callable(optimizer):
        return spec(optimizer)
    raise ValueError(f"{argument}: expected an optax factory (e.g. optax.sgd), an optax.GradientTransformation or "
                     f"one of {', '.join(NAMES)}, got {optimizer!r}")


def canonical(hp: Mapping[str, Any] | None) -> dict[str, Any]:
    """``hp`` with aliases replaced by their names (``lr`` -> ``learning_rate``); both given is an error."""
    out: dict[str, Any] = {}
    for k, v in (hp or {}).items():
        name = ALIASES.get(k, k)
        if name in out:
            raise ValueError(f"hparams: {k!r} is an alias of {name!r}; give only one of them")
        out[name] = v
    return out


# ---------------------------------------------------------------------------------------------- value checks
def _rule(name: str) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """``(ok(values) -> bool array, what is expected)`` for a hyperparameter name."""
    finite = np.isfinite
    rules = {
        "learning_rate": (lambda v: finite(v) & (v > 0), "a finite positive number"),
        "momentum": (lambda v: finite(v) & (v >= 0) & (v < 1), "a number in [0, 1)"),
        "b1": (lambda v: finite(v) & (v >= 0) & (v < 1), "a number in [0, 1)"),
        "b2": (lambda v: finite(v) & (v >= 0) & (v < 1), "a number in [0, 1)"),
        "decay": (lambda v: finite(v) & (v >= 0) & (v <= 1), "a number in [0, 1]"),
        "eps": (lambda v: finite(v) & (v >= 0), "a finite non-negative number"),
        "eps_root": (lambda v: finite(v) & (v >= 0), "a finite non-negative number"),
        "weight_decay": (lambda v: finite(v) & (v >= 0), "a finite non-negative number"),
        "lam": (lambda v: finite(v) & (v > 0) & (v <= 1), "a number in (0, 1]"),
    }
    return rules.get(name, (finite, "a finite number"))


def check_values(hp: Mapping[str, Any], *, argument: str = "hparams") -> None:
    """Raise a ``ValueError`` naming the hyperparameter (and the offending value) unless every concrete value is
    in range (see :func:`_rule`: learning_rate finite > 0, momentum/b1/b2 in [0, 1), lam in (0, 1], ...).
    Scalars and 1-D grids are checked element by element; traced values (inside jit/vmap) cannot be and pass."""
    import jax

    for k, v in hp.items():
        if isinstance(v, jax.core.Tracer):
            continue
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{argument}[{k!r}]: expected a number or an array of numbers, got {v!r}") from None
        ok, expected = _rule(ALIASES.get(k, k))
        label = k if ALIASES.get(k, k) == k else f"{k} (alias of {ALIASES[k]})"
        bad = ~ok(a)
        if np.any(bad):
            first = a.reshape(-1)[int(np.argmax(bad.reshape(-1)))]
            where = "" if a.ndim == 0 else f" (one of the {a.size} grid values)"
            raise ValueError(f"{argument}[{label!r}]: expected {expected}, got {float(first)!r}{where}")


def check_names(hp: Mapping[str, Any], accepted: Mapping[str, Any], *, optimizer: Optimizer | None = None,
                argument: str = "hparams") -> None:
    """Raise a ``ValueError`` for a name in ``hp`` that is not in ``accepted`` (after aliases), listing the
    valid names; a momentum for the plain ``"sgd"`` gets its own message (it would be silently ignored)."""
    for k in hp:
        name = ALIASES.get(k, k)
        if name in accepted:
            continue
        if optimizer is not None and name == "momentum" and optimizer == NAMED["sgd"]:
            raise ValueError(f"{argument}: 'momentum' given, but optimizer 'sgd' is plain gradient descent and "
                             "would ignore it; use optimizer='momentum' or optax.sgd (where a momentum means heavy "
                             "ball)")
        alias = f" (alias of {name!r})" if name != k else ""
        raise ValueError(f"{argument}: unknown name {k!r}{alias}; this run takes {', '.join(sorted(accepted))} "
                         f"(and the alias 'lr' for 'learning_rate')")


def finite_number(value: Any, argument: str, *, low: float | None = None, high: float | None = None,
                  low_open: bool = False, integer: bool = False) -> None:
    """Raise a ``ValueError`` naming ``argument`` unless ``value`` is a finite real number in the range."""
    ok_type = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if integer:
        ok_type = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(float(value)):
        raise ValueError(f"{argument}: expected a finite {'int' if integer else 'number'}, got {value!r}")
    v = float(value)
    if low is not None and (v <= low if low_open else v < low):
        raise ValueError(f"{argument}: expected a value {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{argument}: expected a value <= {high}, got {value!r}")
