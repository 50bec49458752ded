"""The chapter's data sets, shipped with the package or drawn from a key: no download.

Every data set is a pair of arrays ``x: (n, d)`` (rows are examples) and ``y: (n, k)``:

* binary classification: ``y: (n, 1)`` with labels 0/1 (the book's sigmoid output unit and its threshold 0.5);
  ``signed=True`` where offered gives -1/+1 labels (the perceptron's ``sign``, C2);
* ``K > 2`` classes: one-hot rows ``y: (n, K)`` (softmax outputs, C9);
* regression: real targets ``y: (n, k)``.

Functions (all also reachable by name through :func:`load`, e.g. ``load("moons", key=0, n=200)``):

| name | function | x, y | where it comes from |
|---|---|---|---|
| ``and``, ``or``, ``not``, ``xor`` | :func:`logic_gate` | ``(4, 2)`` (``not``: ``(2, 1)``), ``(., 1)`` | C1-C6 |
| ``watermelon3`` | :func:`watermelon3` | ``(17, 19)`` one-hot or ``(17, 8)`` ordinal, ``(17, 1)`` | the book's table 4.3, exercise 5.5 |
| ``watermelon3_alpha`` | :func:`watermelon3_alpha` | ``(17, 2)`` density, sugar; ``(17, 1)`` | the book's table 4.5 |
| ``linearly_separable`` | :func:`linearly_separable` | ``(n, d)``, ``(n, 1)`` | C3-C4 (a chosen margin) |
| ``blobs`` | :func:`blobs` | ``(n, d)``, ``(n, 1)`` or one-hot ``(n, K)`` | |
| ``circles``, ``moons``, ``spirals`` | :func:`circles`, :func:`moons`, :func:`spirals` | ``(n, 2)``, ``(n, 1)`` (spirals with K > 2: one-hot) | non-linear problems |
| ``regression_1d`` | :func:`regression_1d` | ``(n, 1)``, ``(n, 1)`` | C8 (approximating a function) |
| ``random_regression`` | :func:`random_regression` | ``(64, 1000)``, ``(64, 10)`` | the article's numpy net (C13) |

Synthetic data sets take a ``key`` (a ``jax.random`` key or an int seed) as their first argument; the same key
gives the same data. :func:`split` cuts any data set into train / validation / test parts with a key, and
:meth:`Splits.data` turns the result into a :class:`Dataset` with its validation part attached, the form a training
run takes (``xgnn_jax.engine.train.Data`` is the same class).

The watermelon data set 3.0 is kept in its original (Chinese) form in ``xgnn_jax/data/watermelon3.csv``;
:data:`WATERMELON_ATTRIBUTES` gives the English names of its columns and values.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


@jax.tree_util.register_pytree_node_class
@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``x: (n, d)`` and targets ``y: (n, k)``, with an optional validation split ``x_val, y_val``.

    The one data container of the package: data set functions return it and
    :func:`xgnn_jax.engine.train.make_run` takes it (``train.Data`` is this class). It unpacks as
    ``x, y = dataset`` (the training part; the validation part is :attr:`val`), and it is a pytree (its four
    fields, ``None`` for an absent validation part), so it passes through ``jit`` and ``vmap``.
    """

    x: Array
    y: Array
    x_val: Array | None = None
    y_val: Array | None = None

    _fields = ("x", "y", "x_val", "y_val")  # as the NamedTuples this class replaces had

    def __iter__(self):
        return iter((self.x, self.y))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        return (self.x, self.y)[i]

    def __repr__(self) -> str:
        val = "" if self.x_val is None else f", val={_shape(self.x_val)}->{_shape(self.y_val)}"
        return f"Dataset(x={_shape(self.x)}, y={_shape(self.y)}{val})"

    @property
    def val(self) -> Dataset | None:
        """The validation part as a Dataset, or None."""
        return None if self.x_val is None else Dataset(self.x_val, self.y_val)

    @property
    def has_val(self) -> bool:
        return self.x_val is not None

    def with_val(self, x_val: Array | None, y_val: Array | None) -> Dataset:
        """The same training part with the validation part ``x_val, y_val`` (None, None: none)."""
        return Dataset(self.x, self.y, x_val, y_val)

    def replace(self, **changes: Any) -> Dataset:
        return dataclasses.replace(self, **changes)

    _replace = replace  # the NamedTuple spelling

    def tree_flatten(self):
        return (self.x, self.y, self.x_val, self.y_val), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


def _shape(a) -> str:
    return str(tuple(getattr(a, "shape", ()))) if a is not None else "None"


# ---------------------------------------------------------------------------------------------- argument checks
def _check_n(n: Any, argument: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{argument}: expected a positive int (number of examples), got {n!r}")
    return int(n)


def _check_positive(value: Any, argument: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and (
        value >= 0 if allow_zero else value > 0)
    if not ok or not math.isfinite(float(value)):
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{argument}: expected {kind} finite number, got {value!r}")
    return float(value)


def as_key(key: Any, argument: str = "key") -> Array:
    """A ``jax.random`` key from a key (new-style or raw uint32) or an int seed; anything else is an error."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array) and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape == (2,)):
        return key
    raise ValueError(f"{argument}: expected a jax.random key or an int seed, got {key!r}")


def _binary_targets(labels: Array, signed: bool, dtype) -> Array:
    """Boolean labels ``(n,)`` as a column ``(n, 1)`` of 0/1 (or -1/+1 when ``signed``)."""
    y = labels.astype(dtype)[:, None]
    return 2 * y - 1 if signed else y


def _class_targets(classes: Array, k: int, one_hot: bool | None, dtype) -> Array:
    """Class indices ``(n,)`` as targets: a 0/1 column for ``k == 2`` unless ``one_hot``, else one-hot ``(n, k)``."""
    if one_hot is None:
        one_hot = k > 2
    if not one_hot and k != 2:
        raise ValueError(f"one_hot: a single 0/1 target column needs exactly 2 classes, got {k}")
    return jax.nn.one_hot(classes, k, dtype=dtype) if one_hot else classes.astype(dtype)[:, None]


# ---------------------------------------------------------------------------------------------- logic gates
_GATES = {
    "and": ((0, 0, 0, 1), 2),
    "or": ((0, 1, 1, 1), 2),
    "xor": ((0, 1, 1, 0), 2),
    "not": ((1, 0), 1),
}
GATES: tuple[str, ...] = tuple(_GATES)


def logic_gate(name: str, *, signed: bool = False, dtype=jnp.float32) -> Dataset:
    """The truth table of a logic gate: ``and``, ``or``, ``xor`` (``x: (4, 2)``) or ``not`` (``x: (2, 1)``).

    Rows in binary counting order (00, 01, 10, 11); ``y: (n, 1)`` with 0/1 targets. ``signed=True`` maps inputs and
    targets to -1/+1 (0 -> -1), the perceptron's convention.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _GATES:
        raise ValueError(f"name: unknown logic gate {name!r}; expected one of {', '.join(GATES)}")
    outputs, d = _GATES[key]
    x = jnp.asarray([[(i >> (d - 1 - j)) & 1 for j in range(d)] for i in range(2**d)], dtype)
    y = jnp.asarray(outputs, dtype)[:, None]
    if signed:
        x, y = 2 * x - 1, 2 * y - 1
    return Dataset(x, y)


# ---------------------------------------------------------------------------------------------- watermelon 3.0
class Attribute(NamedTuple):
    """A column of watermelon 3.0: English name, Chinese name, and its values (English, Chinese) in code order."""

    name: str
    chinese: str
    values: tuple[tuple[str, str], ...]


# The value order is the ordinal code (0, 1, 2): for root, texture and navel it follows the book's ranking from the
# ripe-looking to the unripe-looking value; for color and sound it is the order of first appearance in the table.
WATERMELON_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("color", "色泽", (("green", "青绿"), ("dark", "乌黑"), ("light", "浅白"))),
    Attribute("root", "根蒂", (("curled", "蜷缩"), ("slightly_curled", "稍蜷"), ("stiff", "硬挺"))),
    Attribute("sound", "敲声", (("muffled", "浊响"), ("dull", "沉闷"), ("crisp", "清脆"))),
    Attribute("texture", "纹理", (("clear", "清晰"), ("slightly_blurry", "稍糊"), ("blurry", "模糊"))),
    Attribute("navel", "脐部", (("sunken", "凹陷"), ("slightly_sunken", "稍凹"), ("flat", "平坦"))),
    Attribute("touch", "触感", (("hard_smooth", "硬滑"), ("soft_sticky", "软粘"))),
)
WATERMELON_CONTINUOUS: tuple[tuple[str, str], ...] = (("density", "密度"), ("sugar", "含糖率"))
WATERMELON_LABEL = ("good", "好瓜", (("no", "否"), ("yes", "是")))
WATERMELON_ID = ("id", "编号")
WATERMELON_FILE = "watermelon3.csv"
ENCODINGS = ("onehot", "ordinal")


def watermelon3_raw() -> list[dict[str, str]]:
    """The shipped table exactly as stored: 17 rows, keys are the Chinese column names."""
    text = resources.files("xgnn_jax").joinpath("data", WATERMELON_FILE).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def watermelon3_table() -> list[dict[str, Any]]:
    """The table in English: 17 dicts with ``id``, the six attributes (English values), ``density``, ``sugar``
    (floats) and ``good`` (bool)."""
    rows = []
    for raw in watermelon3_raw():
        row: dict[str, Any] = {"id": int(raw[WATERMELON_ID[1]])}
        for attr in WATERMELON_ATTRIBUTES:
            english = {zh: en for en, zh in attr.values}
            value = raw[attr.chinese]
            if value not in english:
                raise ValueError(f"{WATERMELON_FILE}: unexpected value {value!r} in column {attr.chinese}")
            row[attr.name] = english[value]
        for name, zh in WATERMELON_CONTINUOUS:
            row[name] = float(raw[zh])
        label = {zh: en for en, zh in WATERMELON_LABEL[2]}[raw[WATERMELON_LABEL[1]]]
        row["good"] = label == "yes"
        rows.append(row)
    return rows


def watermelon3_feature_names(encoding: str = "onehot", *, continuous: bool = True) -> tuple[str, ...]:
    """Column names of :func:`watermelon3`'s ``x``: ``color=green, ...`` (one-hot) or ``color, ...`` (ordinal)."""
    _check_encoding(encoding)
    if encoding == "onehot":
        names = [f"{a.name}={en}" for a in WATERMELON_ATTRIBUTES for en, _ in a.values]
    else:
        names = [a.name for a in WATERMELON_ATTRIBUTES]
    if continuous:
        names += [name for name, _ in WATERMELON_CONTINUOUS]
    return tuple(names)


def _check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding: unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def watermelon3(encoding: str = "onehot", *, continuous: bool = True, signed: bool = False,
                dtype=jnp.float32) -> Dataset:
    """Watermelon data set 3.0 (17 melons, 8 good): ``x: (17, 19)`` one-hot or ``(17, 8)`` ordinal, ``y: (17, 1)``.

    * ``"onehot"``: each of the six attributes as indicator columns (3 + 3 + 3 + 3 + 3 + 2 = 17) followed by
      density and sugar content: 19 inputs, the usual encoding for exercise 5.5.
    * ``"ordinal"``: each attribute as its code ``c / (levels - 1)`` in [0, 1] (value order in
      :data:`WATERMELON_ATTRIBUTES`), then density and sugar: 8 inputs.

    ``continuous=False`` drops density and sugar (17 or 6 inputs). Label: good = 1, bad = 0 (``signed``: +1/-1).
    Columns are named by :func:`watermelon3_feature_names`.
    """
    _check_encoding(encoding)
    table = watermelon3_table()
    x_rows = []
    for row in table:
        feats: list[float] = []
        for attr in WATERMELON_ATTRIBUTES:
            code = [en for en, _ in attr.values].index(row[attr.name])
            if encoding == "onehot":
                feats += [1.0 if i == code else 0.0 for i in range(len(attr.values))]
            else:
                feats.append(code / (len(attr.values) - 1))
        if continuous:
            feats += [row[name] for name, _ in WATERMELON_CONTINUOUS]
        x_rows.append(feats)
    x = jnp.asarray(x_rows, dtype)
    y = _binary_targets(jnp.asarray([row["good"] for row in table]), signed, dtype)
    return Dataset(x, y)


def watermelon3_alpha(*, signed: bool = False, dtype=jnp.float32) -> Dataset:
    """Watermelon data set 3.0alpha: ``x: (17, 2)`` = (density, sugar content), ``y: (17, 1)`` good = 1."""
    table = watermelon3_table()
    x = jnp.asarray([[row["density"], row["sugar"]] for row in table], dtype)
    y = _binary_targets(jnp.asarray([row["good"] for row in table]), signed, dtype)
    return Dataset(x, y)


# ---------------------------------------------------------------------------------------------- synthetic
def linearly_separable(key: Any, n: int = 100, d: int = 2, margin: float = 0.1, *, signed: bool = False,
                       dtype=jnp.float32) -> Dataset:
    """Points on both sides of a random hyperplane through the origin, at distance at least ``margin`` from it.

    A unit normal ``w ~ uniform on the sphere`` and points ``u ~ U(-1, 1)^d`` are drawn; each point is pushed
    away from the plane ``w.x = 0`` by ``margin`` along ``w``: ``x = u + margin sign(w.u) w``. So
    ``y_i (w.x_i) >= margin`` for every i (the geometric margin gamma of C4, with the separating hyperplane
    ``w`` and ``b = 0``), and ``|x_i| <= sqrt(d) + margin``. Labels ``y = [w.x >= 0]`` (0/1, or -1/+1).
    Use :func:`separating_hyperplane` to get ``w`` back from the same key.
    """
    n, d = _check_n(n), _check_n(d, "d")
    margin = _check_positive(margin, "margin", allow_zero=True)
    _, k_x = jax.random.split(as_key(key))
    w = separating_hyperplane(key, d, dtype=dtype)
    u = jax.random.uniform(k_x, (n, d), dtype, -1.0, 1.0)
    side = jnp.where(u @ w >= 0, 1.0, -1.0).astype(dtype)
    x = u + margin * side[:, None] * w
    return Dataset(x, _binary_targets(side > 0, signed, dtype))


def separating_hyperplane(key: Any, d: int = 2, *, dtype=jnp.float32) -> Array:
    """The unit normal ``w: (d,)`` that :func:`linearly_separable` uses for the same key."""
    k_w, _ = jax.random.split(as_key(key))
    w = jax.random.normal(k_w, (_check_n(d, "d"),), dtype)
    return w / jnp.linalg.norm(w)


def blobs(key: Any, n: int = 100, centers: int | Sequence[Sequence[float]] = 2, d: int = 2, std: float = 1.0,
          *, spread: float = 4.0, one_hot: bool | None = None, dtype=jnp.float32) -> Dataset:
    """Isotropic Gaussian blobs: class ``c`` drawn from ``N(mu_c, std^2 I)``, classes balanced (``n // K`` each,
    the first ``n % K`` classes one more).

    ``centers``: the number of classes K (centres drawn uniformly in ``[-spread, spread]^d``) or explicit
    centres ``(K, d)``. Targets: a 0/1 column for K = 2 (unless ``one_hot=True``), one-hot ``(n, K)`` for K > 2.
    """
    n = _check_n(n)
    std = _check_positive(std, "std", allow_zero=True)
    k_c, k_x = jax.random.split(as_key(key))
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = int(centers)
        if k < 2:
            raise ValueError(f"centers: expected at least 2 classes, got {centers!r}")
        mu = jax.random.uniform(k_c, (k, _check_n(d, "d")), dtype, -spread, spread)
    else:
        mu = jnp.asarray(centers, dtype)
        if mu.ndim != 2 or mu.shape[0] < 2:
            raise ValueError(f"centers: expected an int >= 2 or an array of shape (K >= 2, d), got {centers!r}")
        k = mu.shape[0]
    classes = jnp.arange(n) % k
    x = mu[classes] + std * jax.random.normal(k_x, (n, mu.shape[1]), dtype)
    return Dataset(x, _class_targets(classes, k, one_hot, dtype))


def circles(key: Any, n: int = 200, noise: float = 0.05, factor: float = 0.5, *, dtype=jnp.float32) -> Dataset:
    """Two concentric circles (radius 1 outside, ``factor`` inside) plus Gaussian noise ``noise``; inner = 1.

    The first ``n // 2`` points lie on the outer circle, the rest on the inner one, at angles ``~ U(0, 2 pi)``.
    """
    n = _check_n(n)
    noise = _check_positive(noise, "noise", allow_zero=True)
    if not 0 < factor < 1:
        raise ValueError(f"factor: expected the inner radius in (0, 1), got {factor!r}")
    k_a, k_e = jax.random.split(as_key(key))
    inner = jnp.arange(n) >= n // 2
    angle = jax.random.uniform(k_a, (n,), dtype, 0.0, 2 * math.pi)
    radius = jnp.where(inner, factor, 1.0).astype(dtype)
    x = radius[:, None] * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    x = x + noise * jax.random.normal(k_e, (n, 2), dtype)
    return Dataset(x, _binary_targets(inner, False, dtype))


def moons(key: Any, n: int = 200, noise: float = 0.1, *, dtype=jnp.float32) -> Dataset:
    """Two interleaving half circles (as scikit-learn's ``make_moons``) plus Gaussian noise; lower moon = 1.

    Upper moon ``(cos t, sin t)``, lower moon ``(1 - cos t, 1/2 - sin t)``, ``t ~ U(0, pi)``.
    """
    n = _check_n(n)
    noise = _check_positive(noise, "noise", allow_zero=True)
    k_t, k_e = jax.random.split(as_key(key))
    lower = jnp.arange(n) >= n // 2
    t = jax.random.uniform(k_t, (n,), dtype, 0.0, math.pi)
    x = jnp.where(lower[:, None], jnp.stack([1 - jnp.cos(t), 0.5 - jnp.sin(t)], 1),
                  jnp.stack([jnp.cos(t), jnp.sin(t)], 1))
    x = x + noise * jax.random.normal(k_e, (n, 2), dtype)
    return Dataset(x, _binary_targets(lower, False, dtype))


def spirals(key: Any, n: int = 200, classes: int = 2, noise: float = 0.1, turns: float = 1.5, *,
            one_hot: bool | None = None, dtype=jnp.float32) -> Dataset:
    """``classes`` interleaved spiral arms in the plane: arm ``c`` is ``r (cos(a), sin(a))`` with
    ``r ~ U(0, 1)``, ``a = 2 pi (turns r + c / classes)``, plus Gaussian noise ``noise * r`` (arms stay apart
    near the centre). Targets: a 0/1 column for 2 arms (unless ``one_hot``), one-hot ``(n, K)`` for more.
    """
    n = _check_n(n)
    noise = _check_positive(noise, "noise", allow_zero=True)
    turns = _check_positive(turns, "turns")
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"classes: expected an int >= 2, got {classes!r}")
    k_r, k_e = jax.random.split(as_key(key))
    c = jnp.arange(n) % classes
    r = jax.random.uniform(k_r, (n,), dtype)
    a = 2 * math.pi * (turns * r + c / classes)
    x = r[:, None] * jnp.stack([jnp.cos(a), jnp.sin(a)], 1)
    x = x + noise * r[:, None] * jax.random.normal(k_e, (n, 2), dtype)
    return Dataset(x, _class_targets(c, int(classes), one_hot, dtype))


REGRESSION_FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "sin": jnp.sin,
    "cubic": lambda t: t**3 - t,
    "abs": jnp.abs,
    "step": lambda t: jnp.where(t >= 0, 1.0, 0.0).astype(t.dtype),
    "bump": lambda t: jnp.exp(-4 * t**2),
    "sinc": jnp.sinc,
}


def regression_1d(key: Any, n: int = 100, function: str = "sin", noise: float = 0.0,
                  x_range: tuple[float, float] = (-math.pi, math.pi), *, grid: bool = False,
                  dtype=jnp.float32) -> Dataset:
    """A 1-D regression problem ``y = f(x) + noise * eps``, ``x: (n, 1)``, ``y: (n, 1)``, ``eps ~ N(0, 1)``.

    ``function``: one of :data:`REGRESSION_FUNCTIONS` (``sin``, ``cubic`` = x^3 - x, ``abs``, ``step``,
    ``bump`` = exp(-4 x^2), ``sinc``). ``x ~ U(x_range)``, or evenly spaced on ``x_range`` with ``grid=True``.
    """
    n = _check_n(n)
    noise = _check_positive(noise, "noise", allow_zero=True)
    if function not in REGRESSION_FUNCTIONS:
        raise ValueError(f"function: unknown target {function!r}; expected one of {', '.join(REGRESSION_FUNCTIONS)}")
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(f"x_range: expected (low, high) with low < high, got {x_range!r}")
    k_x, k_e = jax.random.split(as_key(key))
    if grid:
        x = jnp.linspace(lo, hi, n, dtype=dtype)[:, None]
    else:
        x = jax.random.uniform(k_x, (n, 1), dtype, lo, hi)
    y = REGRESSION_FUNCTIONS[function](x) + noise * jax.random.normal(k_e, (n, 1), dtype)
    return Dataset(x, y.astype(dtype))


def random_regression(key: Any, n: int = 64, d_in: int = 1000, d_out: int = 10, *, dtype=jnp.float32) -> Dataset:
    """The article's random problem (C13): ``x ~ N(0, 1)^(n x d_in)``, ``y ~ N(0, 1)^(n x d_out)``.

    Defaults ``N, D_in, D_out = 64, 1000, 10``. The article draws with numpy's unseeded ``randn``; here the draws
    come from ``key`` (same distribution, reproducible).
    """
    n, d_in, d_out = _check_n(n), _check_n(d_in, "d_in"), _check_n(d_out, "d_out")
    k_x, k_y = jax.random.split(as_key(key))
    return Dataset(jax.random.normal(k_x, (n, d_in), dtype), jax.random.normal(k_y, (n, d_out), dtype))


# ---------------------------------------------------------------------------------------------- by name
_FIXED: dict[str, Callable[..., Dataset]] = {
    **{g: functools.partial(logic_gate, g) for g in GATES},
    "watermelon3": watermelon3,
    "watermelon3_alpha": watermelon3_alpha,
}
_SYNTHETIC: dict[str, Callable[..., Dataset]] = {
    "linearly_separable": linearly_separable,
    "blobs": blobs,
    "circles": circles,
    "moons": moons,
    "spirals": spirals,
    "regression_1d": regression_1d,
    "random_regression": random_regression,
}
NAMES: tuple[str, ...] = (*_FIXED, *_SYNTHETIC)


def load(name: str, key: Any = None, **kwargs: Any) -> Dataset:
    """A data set by name (see the module table): ``load("xor")``, ``load("watermelon3", encoding="ordinal")``,
    ``load("moons", key=0, n=500, noise=0.2)``. Synthetic data sets need ``key`` (a key or an int seed)."""
    if name in _FIXED:
        if key is not None:
            raise ValueError(f"key: the data set {name!r} is fixed and takes no key")
        return _FIXED[name](**kwargs)
    if name in _SYNTHETIC:
        if key is None:
            raise ValueError(f"key: the synthetic data set {name!r} needs a key (a jax.random key or an int seed)")
        return _SYNTHETIC[name](key, **kwargs)
    raise ValueError(f"name: unknown data set {name!r}; expected one of {', '.join(NAMES)}")


# ---------------------------------------------------------------------------------------------- splits
class Splits(NamedTuple):
    """Train / validation / test parts of a data set (each a :class:`Dataset`; a part may have 0 rows)."""

    train: Dataset
    val: Dataset
    test: Dataset

    def data(self) -> Dataset:
        """The :class:`Dataset` a training run takes: the train part, with the validation part attached (``None``
        when it is empty)."""
        has_val = self.val.x.shape[0] > 0
        return Dataset(self.train.x, self.train.y, self.val.x if has_val else None, self.val.y if has_val else None)


def split(data: Dataset | tuple[Array, Array], key: Any, fractions: Sequence[float] = (0.6, 0.2, 0.2), *,
          stratify: bool = False) -> Splits:
    """Cut ``(x, y)`` into train / validation / test parts in a random order drawn from ``key``.

    ``fractions``: (train, val, test), or (train, test) for no validation part; non-negative, summing to 1.
    Part sizes: ``round(f_train n)`` and ``round(f_val n)``, the test part gets the rest. Every example lands in
    exactly one part. ``stratify=True`` splits each class (the 0/1 label, or the arg-max of one-hot rows)
    separately, so the parts keep the class proportions (up to rounding).
    """
    x, y = data
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"data: x has {n} rows but y has {y.shape[0]}")
    fr = tuple(float(f) for f in fractions)
    if len(fr) == 2:
        fr = (fr[0], 0.0, fr[1])
    if len(fr) != 3 or any(not math.isfinite(f) or f < 0 for f in fr):
        raise ValueError(f"fractions: expected (train, val, test) or (train, test), non-negative, got {fractions!r}")
    if abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions: must add up to 1, got {fractions!r} (sum {sum(fr):.6g})")
    key = as_key(key)
    if stratify:
        labels = np.asarray(y[:, 0] >= 0.5 if y.shape[1] == 1 else jnp.argmax(y, axis=1))
        parts: list[list[int]] = [[], [], []]
        for i, c in enumerate(np.unique(labels)):
            members = np.flatnonzero(labels == c)
            perm = members[np.asarray(jax.random.permutation(jax.random.fold_in(key, i), len(members)))]
            for p, idx in enumerate(_cut(perm, fr)):
                parts[p] += idx.tolist()
        order_key = jax.random.fold_in(key, len(np.unique(labels)))
        # Shuffle within each part so that classes are not in blocks (matters for in-order training).
        idxs = [np.asarray(p, dtype=np.int64)[np.asarray(jax.random.permutation(jax.random.fold_in(order_key, j),
                                                                                 len(p)))] if p else
                np.zeros(0, np.int64) for j, p in enumerate(parts)]
    else:
        idxs = _cut(np.asarray(jax.random.permutation(key, n)), fr)
    return Splits(*(Dataset(x[i], y[i]) for i in idxs))


def _cut(perm: np.ndarray, fr: tuple[float, float, float]) -> list[np.ndarray]:
    n = len(perm)
    n_train = min(n, round(fr[0] * n))
    n_val = min(n - n_train, round(fr[1] * n))
    return [perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]]


def parity(bits: int = 3, *, dtype=jnp.float32) -> Dataset:
    """The n-bit parity problem: every binary input ``x: (2^bits, bits)`` (in lexicographic order), target
    ``y: (2^bits, 1)`` = 1 when the number of ones is odd. 2-bit parity is XOR (:func:`logic_gate`)."""
    import itertools  # local: this function is an additive change to the module

    bits = _check_n(bits, "bits")
    x = jnp.asarray(list(itertools.product([0, 1], repeat=bits)), dtype)
    return Dataset(x, jnp.sum(x, axis=1, keepdims=True) % 2)


class SeparableSets(NamedTuple):
    """Many :func:`linearly_separable` data sets stacked: ``x: (S, n, d)``, ``y: (S, n, 1)``, their known unit
    separators ``w: (S, d)`` (through the origin) and each set's ``margin: (S,)``."""

    x: Array
    y: Array
    w: Array
    margin: Array


def linearly_separable_sets(key: Any, count: int, n: int = 100, d: int = 2, margins: Sequence[float] = (0.1,), *,
                            signed: bool = False, dtype=jnp.float32) -> SeparableSets:
    """``count`` data sets of :func:`linearly_separable` for each margin in ``margins``, margin level by margin
    level (``S = len(margins) * count``); set ``j`` of level ``i`` uses key ``split(key, S)[i * count + j]``, so
    every set and its separator (:func:`separating_hyperplane`) can be redrawn alone."""
    count, n, d = _check_n(count, "count"), _check_n(n), _check_n(d, "d")
    margins = [_check_positive(m, "margins", allow_zero=True) for m in margins]
    if not margins:
        raise ValueError("margins: expected at least one margin")
    return _separable_sets(as_key(key), count, n, d, tuple(margins), bool(signed), jnp.dtype(dtype))


def _separable_sets_impl(key, count, n, d, margins, signed, dtype):
    keys = jax.random.split(key, len(margins) * count).reshape(len(margins), count)
    xs, ys, ws = [], [], []
    for i, m in enumerate(margins):
        x, y = jax.vmap(lambda k, m=m: linearly_separable(k, n, d, m, signed=signed, dtype=dtype))(keys[i])
        xs.append(x)
        ys.append(y)
        ws.append(jax.vmap(lambda k: separating_hyperplane(k, d, dtype=dtype))(keys[i]))
    margin = jnp.repeat(jnp.asarray(margins, dtype), count)
    return SeparableSets(jnp.concatenate(xs), jnp.concatenate(ys), jnp.concatenate(ws), margin)


_separable_sets = jax.jit(_separable_sets_impl, static_argnums=(1, 2, 3, 4, 5, 6))  # one program for all sets
