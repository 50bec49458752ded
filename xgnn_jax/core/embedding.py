"""Small embedding models for categorical inputs, to test when an embedding table can start from zeros (C23).

Inputs are integer ids ``ids: (n, F)``: example k has one category per field f, ``ids[k, f] in {0..V_f - 1}``.
Field f has a table ``E_f: (V_f, k)`` (k = ``dim``); its row ``E_f[i]`` is category i's embedding. A lookup is the
product of a one-hot row with the table, so the table is the weight matrix of a layer whose input is one-hot:
initialisers receive ``fan_in = V_f``, ``fan_out = k`` (see :mod:`xgnn_jax.core.initializers`).

Two models, both returning logits ``(n, 1)`` (sigmoid output, binary labels ``y: (n, 1)``):

* :class:`EmbeddingMLP`: ``h = concat_f E_f[ids[:, f]]: (n, F k)``, then an :class:`xgnn_jax.core.mlp.MLP`
  ``F k -> hidden_sizes -> 1`` with its own (random) initialisation. From ``E = 0`` the gradient of a row is
  ``dE_f[i] = sum_{k: ids[k, f] = i} dZ1_k W1_f^T``, ``W1_f`` the rows of the first weight matrix that read field
  f: non-zero as soon as ``W1`` is random and the first layer passes a gradient at ``Z1 = b1`` (``g'(b1) != 0``:
  tanh and sigmoid always; ReLU only for units with ``b1 > 0``, since ``relu'(0) = 0``), and different for rows
  that appear in different examples.
* :class:`FactorizationMachine` (Rendle 2010): embeddings meet only each other,

      z = w0 + sum_f w_f[ids_f] + sum_{f < g} <E_f[ids_f], E_g[ids_g]>,

  the pairwise sum computed as ``1/2 (||sum_f v_f||^2 - sum_f ||v_f||^2)`` with ``v_f = E_f[ids_f]``. The gradient
  of the interaction term with respect to ``v_f`` is ``sum_{g != f} v_g``: exactly 0 when every table is 0, so
  all-zero embeddings never move (only ``w0`` and the linear weights ``w_f`` train).

Parameters are plain dicts of arrays (pytrees), as for :mod:`xgnn_jax.core.mlp`; :func:`objective` gives the training
objective ``J(params, ids, y)`` with the losses of :mod:`xgnn_jax.core.losses`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core import initializers
from xgnn_jax.core import losses as losses_lib
from xgnn_jax.core.mlp import MLP, check_loss_fits

Array = jax.Array


def _check_vocab(vocab_sizes: Any, dim: Any) -> tuple[int, ...]:
    sizes = tuple(vocab_sizes) if isinstance(vocab_sizes, (list, tuple)) else vocab_sizes
    if not isinstance(sizes, tuple) or not sizes or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
        raise ValueError(f"vocab_sizes: expected a non-empty tuple of positive ints (categories per field), "
                         f"got {vocab_sizes!r}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
        raise ValueError(f"dim: expected a positive int (embedding size), got {dim!r}")
    return sizes


def check_ids(ids: Array, vocab_sizes: tuple[int, ...], *, argument: str = "ids") -> None:
    """Raise a ``ValueError`` unless ``ids`` is an integer array ``(n, F)`` with ``0 <= ids[:, f] < V_f``
    (the range is checked only on concrete arrays, not under ``jit``)."""
    if not hasattr(ids, "shape") or ids.ndim != 2 or ids.shape[1] != len(vocab_sizes):
        raise ValueError(f"{argument}: expected integer ids of shape (n, {len(vocab_sizes)}) (one column per field), "
                         f"got shape {tuple(getattr(ids, 'shape', ()))}")
    if not jnp.issubdtype(ids.dtype, jnp.integer):
        raise ValueError(f"{argument}: expected an integer array of category ids, got dtype {ids.dtype}")
    if not isinstance(ids, jax.core.Tracer):
        # numpy, not jnp: inside a trace even a jnp operation on a concrete array gives a tracer.
        a = np.asarray(ids)
        if np.any((a < 0) | (a >= np.asarray(vocab_sizes)[None, :])):
            raise ValueError(f"{argument}: ids out of range; field f needs 0 <= id < {list(vocab_sizes)}[f]")


def _tables(key: Array, vocab_sizes: tuple[int, ...], dim: int, init: str, scale, dtype) -> tuple[Array, ...]:
    fn = initializers.get(init, argument="embedding_init")
    keys = jax.random.split(key, len(vocab_sizes))
    return tuple(scale * fn(k, (v, dim), v, dim, dtype) for k, v in zip(keys, vocab_sizes, strict=True))


def lookup(tables: tuple[Array, ...], ids: Array) -> list[Array]:
    """``[E_f[ids[:, f]]: (n, k) for each field f]``."""
    return [t[ids[:, f]] for f, t in enumerate(tables)]


@dataclasses.dataclass(frozen=True)
class EmbeddingMLP:
    """Embedding tables followed by an MLP: ``ids: (n, F) -> concat_f E_f[ids_f]: (n, F dim) -> MLP -> (n, 1)``.

    Args:
      vocab_sizes: categories per field ``(V_1, ..., V_F)``; ``dim``: embedding size k.
      hidden_sizes: widths of the MLP's hidden layers; ``hidden``, ``output``: its activations.
      embedding_init: initialiser of the tables (default ``zeros``: C23's question).
      weight_init, bias_init: initialisers of the MLP after the tables.
    """

    vocab_sizes: tuple[int, ...]
    dim: int = 4
    hidden_sizes: tuple[int, ...] = (16,)
    hidden: str = "tanh"
    output: str = "sigmoid"
    embedding_init: str = "zeros"
    weight_init: str = "fan_in_uniform"
    bias_init: str = "zeros"

    def __post_init__(self):
        object.__setattr__(self, "vocab_sizes", _check_vocab(self.vocab_sizes, self.dim))
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        initializers.get(self.embedding_init, argument="embedding_init")
        self.mlp  # noqa: B018  (validates the MLP part)

    @property
    def mlp(self) -> MLP:
        return MLP((len(self.vocab_sizes) * self.dim, *self.hidden_sizes, 1), self.hidden, self.output, True,
                   self.weight_init, self.bias_init)

    def init(self, key: Array, embedding_scale: Array | float = 1.0, weight_scale: Array | float = 1.0,
             dtype: Any = jnp.float32) -> dict[str, Any]:
        """``{"embeddings": (E_1, ..., E_F), "mlp": MLP params}``; the scales multiply the draws."""
        k_e, k_m = jax.random.split(key)
        return {"embeddings": _tables(k_e, self.vocab_sizes, self.dim, self.embedding_init, embedding_scale, dtype),
                "mlp": self.mlp.init(k_m, weight_scale, 1.0, dtype)}

    def features(self, params: dict[str, Any], ids: Array) -> Array:
        """``concat_f E_f[ids[:, f]]: (n, F dim)``."""
        check_ids(ids, self.vocab_sizes)
        return jnp.concatenate(lookup(params["embeddings"], ids), axis=1)

    def logits(self, params: dict[str, Any], ids: Array) -> Array:
        return self.mlp.logits(params["mlp"], self.features(params, ids))

    def apply(self, params: dict[str, Any], ids: Array) -> Array:
        return self.mlp.apply(params["mlp"], self.features(params, ids))


@dataclasses.dataclass(frozen=True)
class FactorizationMachine:
    """``z = w0 + sum_f w_f[ids_f] + sum_{f<g} <E_f[ids_f], E_g[ids_g]>`` (see the module docstring); ``(n, 1)``.

    Args:
      vocab_sizes: categories per field; ``dim``: embedding size k.
      embedding_init: initialiser of the tables (default ``zeros``); ``linear``: include the bias ``w0`` and the
        per-category weights ``w_f`` (initialised to 0) or keep only the pairwise interactions.
    """

    vocab_sizes: tuple[int, ...]
    dim: int = 4
    embedding_init: str = "zeros"
    linear: bool = True
    output: str = "sigmoid"

    def __post_init__(self):
        object.__setattr__(self, "vocab_sizes", _check_vocab(self.vocab_sizes, self.dim))
        if len(self.vocab_sizes) < 2:
            raise ValueError(f"vocab_sizes: a factorisation machine needs at least 2 fields to pair, "
                             f"got {self.vocab_sizes!r}")
        initializers.get(self.embedding_init, argument="embedding_init")
        if self.output != "sigmoid":
            raise ValueError(f"output: only 'sigmoid' (binary labels) is supported, got {self.output!r}")

    def init(self, key: Array, embedding_scale: Array | float = 1.0, dtype: Any = jnp.float32) -> dict[str, Any]:
        """``{"embeddings": (E_1..E_F), "w0": (1,), "linear": (w_1: (V_1,), ...)}`` (the last two only with
        ``linear``; they start at 0)."""
        params: dict[str, Any] = {
            "embeddings": _tables(key, self.vocab_sizes, self.dim, self.embedding_init, embedding_scale, dtype)}
        if self.linear:
            params["w0"] = jnp.zeros((1,), dtype)
            params["linear"] = tuple(jnp.zeros((v,), dtype) for v in self.vocab_sizes)
        return params

    def interactions(self, params: dict[str, Any], ids: Array) -> Array:
        """``sum_{f<g} <v_f, v_g> = 1/2 (||sum_f v_f||^2 - sum_f ||v_f||^2)``, ``(n,)``."""
        check_ids(ids, self.vocab_sizes)
        vs = lookup(params["embeddings"], ids)
        total = sum(vs)
        return 0.5 * (jnp.sum(total * total, axis=1) - sum(jnp.sum(v * v, axis=1) for v in vs))

    def logits(self, params: dict[str, Any], ids: Array) -> Array:
        z = self.interactions(params, ids)
        if self.linear:
            z = z + params["w0"][0] + sum(w[ids[:, f]] for f, w in enumerate(params["linear"]))
        return z[:, None]

    def apply(self, params: dict[str, Any], ids: Array) -> Array:
        return jax.nn.sigmoid(self.logits(params, ids))


Model = EmbeddingMLP | FactorizationMachine


def objective(model: Model, loss: str | losses_lib.Loss = "sigmoid_binary_cross_entropy",
              reduction: str | None = None) -> Callable[..., Array]:
    """``J(params, ids, y) = reduce_k L_k(z_k, y_k)`` for an embedding model (``y: (n, 1)``, 0/1 labels).

    Cross-entropy takes the logits; other losses take the sigmoid outputs. ``reduction`` defaults to the loss's.
    """
    spec = losses_lib.get(loss)
    reduction = reduction or spec.default_reduction
    losses_lib.check_reduction(reduction)
    check_loss_fits(model, spec)

    def J(params: dict[str, Any], ids: Array, y: Array) -> Array:
        out = model.logits(params, ids) if spec.from_logits else model.apply(params, ids)
        losses_lib.check_targets(out.shape, y)
        return losses_lib.reduce(spec.fn(out, y), reduction)

    return J


def embedding_gradients(model: Model, params: dict[str, Any], ids: Array, y: Array,
                        loss: str = "sigmoid_binary_cross_entropy") -> tuple[Array, ...]:
    """``dJ/dE_f: (V_f, k)`` for every table: the rows C23 asks about."""
    return jax.grad(objective(model, loss))(params, ids, y)["embeddings"]


def distinct_rows(table: Array, used: Array | None = None) -> Array:
    """The number of distinct rows of ``table: (V, k)`` (exact comparison), among the rows flagged in ``used: (V,)``
    (default all). A zero-initialised table that trains as C23 claims ends with as many distinct rows as used
    categories that the data can tell apart; one that never moves has 1."""
    v = table.shape[0]
    used = jnp.ones((v,), bool) if used is None else used.astype(bool)
    same = jnp.all(table[:, None, :] == table[None, :, :], axis=-1) & used[:, None] & used[None, :]
    # A row is counted once: at its first occurrence among the used rows.
    earlier = jnp.tril(same, k=-1)
    return jnp.sum(used & ~jnp.any(earlier, axis=1))


def interaction_dataset(key: Any, vocab_sizes: tuple[int, int] = (20, 20), rank: int = 2,
                        dtype: Any = jnp.float32) -> tuple[Array, Array]:
    """Every pair of categories of two fields, labelled by a hidden low-rank interaction:
    ``y = 1[<u_i, v_j> > 0]`` with ``u: (V_1, rank)``, ``v: (V_2, rank)`` drawn from N(0, 1) with ``key``.

    Returns ``ids: (V_1 V_2, 2)`` (int32) and ``y: (V_1 V_2, 1)``. Each category is positive with about half of
    the other field's categories, so per-category (linear) weights alone cannot fit the labels: the pairs must
    interact, which is what embeddings are for.
    """
    sizes = _check_vocab(vocab_sizes, rank)
    if len(sizes) != 2:
        raise ValueError(f"vocab_sizes: expected two fields (V_1, V_2), got {vocab_sizes!r}")
    k_u, k_v = jax.random.split(key if isinstance(key, jax.Array) else jax.random.key(key))
    u = jax.random.normal(k_u, (sizes[0], rank))
    v = jax.random.normal(k_v, (sizes[1], rank))
    i, j = jnp.meshgrid(jnp.arange(sizes[0]), jnp.arange(sizes[1]), indexing="ij")
    ids = jnp.stack([i.ravel(), j.ravel()], axis=1).astype(jnp.int32)
    y = (jnp.sum(u[ids[:, 0]] * v[ids[:, 1]], axis=1) > 0).astype(dtype)[:, None]
    return ids, y
