"""Weight and bias initialisers, by name.

An initialiser is a function ``init(key, shape, fan_in, fan_out, dtype) -> array``. Weights have shape
``(fan_in, fan_out)`` (``W: (d_in, d_out)``, rows are inputs); biases have shape ``(fan_out,)`` and receive the
same fan-in and fan-out as their layer's weights (PyTorch draws its default bias from the fan-in too).

Names, with ``d`` the fan-in:

| name | distribution | where it comes from |
|---|---|---|
| ``zeros`` | 0 | C19-C23 |
| ``constant(c)`` | c | C19's "constant non-zero value" |
| ``uniform(a, b)`` | U(a, b); ``uniform`` alone is U(0, 1) | the book's U(0, 1) and the article's ``np.random.rand`` (C14) |
| ``fan_in_uniform`` | U(-1/sqrt(d), 1/sqrt(d)) | the article's recommendation (C24); PyTorch's ``nn.Linear`` default |
| ``normal(s)`` | N(0, s^2); ``normal`` alone is N(0, 1) | the article's ``np.random.randn`` (C13) |
| ``glorot_uniform``, ``glorot_normal`` | variance 2 / (fan_in + fan_out) | Glorot & Bengio 2010 (Xavier) |
| ``he_uniform``, ``he_normal`` | variance 2 / fan_in | He et al. 2015 (Kaiming) |
| ``lecun_normal`` | truncated normal, variance 1 / fan_in | Flax's default kernel init |

Each factory returns an :class:`Initializer`: a function object compared and hashed by its name and arguments
(``uniform(-1, 1) == uniform(-1, 1)``), so a network built with it stays a hashable frozen dataclass and two equal
networks share one compiled program. ``MLP(..., weight_init=initializers.uniform(-1, 1))`` is the typed
spelling; the string ``"uniform(-1, 1)"`` is a shorthand for the command line, parsed by :func:`get` into the
same object. Arguments must be finite numbers (``normal(inf)`` is an error naming the argument). A swept scale (e.g. the ``r`` of U(-r, r)) is not part of the name: pass it as an array to
:meth:`xgnn_jax.core.mlp.MLP.init` (``weight_scale``), which multiplies the draw, so a sweep over scales is one compile.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class Initializer:
    """``init(key, shape, fan_in, fan_out, dtype) -> array``, named: ``name(args)`` says what it draws.

    Equality and hashing use ``name`` and ``args`` only (``fn`` is the drawing function)."""

    name: str
    args: tuple[float, ...]
    fn: Callable[..., Array] = dataclasses.field(compare=False, repr=False)

    def __call__(self, key, shape, fan_in, fan_out, dtype=jnp.float32) -> Array:
        return self.fn(key, shape, fan_in, fan_out, dtype)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(f'{a:g}' for a in self.args)})" if self.args else self.name


def _finite(value, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{argument}: expected a finite number, got {value!r}")
    return float(value)


def zeros() -> Initializer:
    def init(key, shape, fan_in, fan_out, dtype=jnp.float32):
        return jnp.zeros(shape, dtype)

    return Initializer("zeros", (), init)


def constant(value: float) -> Initializer:
    value = _finite(value, "constant(c): c")

    def init(key, shape, fan_in, fan_out, dtype=jnp.float32):
        return jnp.full(shape, value, dtype)

    return Initializer("constant", (value,), init)


def uniform(a: float = 0.0, b: float = 1.0) -> Initializer:
    a, b = _finite(a, "uniform(a, b): a"), _finite(b, "uniform(a, b): b")
    if not b > a:
        raise ValueError(f"uniform(a, b): expected a < b, got a={a}, b={b}")

    def init(key, shape, fan_in, fan_out, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, minval=a, maxval=b)

    return Initializer("uniform", (a, b), init)


def fan_in_uniform() -> Initializer:
    """U(-1/sqrt(d), 1/sqrt(d)) with d the fan-in (C24)."""

    def init(key, shape, fan_in, fan_out, dtype=jnp.float32):
        bound = 1.0 / math.sqrt(max(fan_in, 1))
        return jax.random.uniform(key, shape, dtype, minval=-bound, maxval=bound)

    return Initializer("fan_in_uniform", (), init)


def normal(std: float = 1.0) -> Initializer:
    std = _finite(std, "normal(std): std")
    if not std >= 0:
        raise ValueError(f"normal(std): expected std >= 0, got {std}")

    def init(key, shape, fan_in, fan_out, dtype=jnp.float32):
        return std * jax.random.normal(key, shape, dtype)

    return Initializer("normal", (std,), init)


def _variance_scaling(scale: float, mode: str, distribution: str) -> Callable[..., Array]:
    def init(key, shape, fan_in, fan_out, dtype=jnp.float32):
        denom = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
        var = scale / max(denom, 1)
        if distribution == "uniform":
            bound = math.sqrt(3 * var)
            return jax.random.uniform(key, shape, dtype, minval=-bound, maxval=bound)
        if distribution == "normal":
            return math.sqrt(var) * jax.random.normal(key, shape, dtype)
        # Truncated to [-2, 2] and rescaled to unit variance, as jax.nn.initializers.lecun_normal does.
        std = math.sqrt(var) / 0.87962566103423978
        return std * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)

    return init


def glorot_uniform() -> Initializer:
    return Initializer("glorot_uniform", (), _variance_scaling(1.0, "fan_avg", "uniform"))


def glorot_normal() -> Initializer:
    return Initializer("glorot_normal", (), _variance_scaling(1.0, "fan_avg", "normal"))


def he_uniform() -> Initializer:
    return Initializer("he_uniform", (), _variance_scaling(2.0, "fan_in", "uniform"))


def he_normal() -> Initializer:
    return Initializer("he_normal", (), _variance_scaling(2.0, "fan_in", "normal"))


def lecun_normal() -> Initializer:
    return Initializer("lecun_normal", (), _variance_scaling(1.0, "fan_in", "truncated_normal"))


FACTORIES: dict[str, Callable[..., Initializer]] = {
    "zeros": zeros,
    "constant": constant,
    "uniform": uniform,
    "fan_in_uniform": fan_in_uniform,
    "normal": normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
}
# Common aliases (the names used by Keras and PyTorch).
ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal", "kaiming_normal": "he_normal",
           "kaiming_uniform": "he_uniform", "randn": "normal", "rand": "uniform"}

NAMES: tuple[str, ...] = tuple(FACTORIES)

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def get(spec: str | Initializer, *, argument: str = "init") -> Initializer:
    """An initialiser from a spec such as ``"zeros"``, ``"uniform(-1, 1)"``, ``"normal(0.01)"`` (the command-line
    shorthand for ``uniform(-1, 1)`` etc.).

    Unknown names, malformed or non-finite arguments (``"normal(inf)"``) raise a ``ValueError`` that names
    ``argument``. A callable (an :class:`Initializer` or any ``init(key, shape, fan_in, fan_out, dtype)``) is
    returned unchanged.
    """
    if callable(spec):
        return spec
    m = _SPEC.match(spec) if isinstance(spec, str) else None
    if m is None:
        raise ValueError(f"{argument}: cannot parse initialiser {spec!r}; expected e.g. 'zeros' or 'uniform(-1, 1)'")
    name, arg_text = m.group(1), m.group(2)
    name = ALIASES.get(name, name)
    if name not in FACTORIES:
        raise ValueError(f"{argument}: unknown initialiser {m.group(1)!r}; expected one of {', '.join(NAMES)}")
    args: list[float] = []
    if arg_text and arg_text.strip():
        try:
            args = [float(a) for a in arg_text.split(",")]
        except ValueError:
            raise ValueError(f"{argument}: initialiser arguments must be numbers, got {spec!r}") from None
    try:
        return FACTORIES[name](*args)
    except TypeError:
        raise ValueError(f"{argument}: wrong number of arguments for initialiser {name!r} in {spec!r}") from None
    except ValueError as e:
        raise ValueError(f"{argument}: {e}") from None
