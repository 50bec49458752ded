"""JAX's random permutation of a short epoch, computed without XLA's sort.

``jax.random.permutation(key, m)`` shuffles by sorting ``m`` random keys (one round for the short epochs here:
JAX does ``ceil(3 ln m / ln 2^32)`` rounds, one for ``m <= 1625``). On CPU, XLA's sort of a short row costs more
than a tiny network's whole epoch of per-example updates (about ten times, measured in the fused kernel), so both
engines compute the same permutation from ``m^2`` elementwise comparisons instead: a key's rank is the number of
keys below it, ties broken by index as JAX's stable sort breaks them. The permutations are JAX's, element for
element (tested for ``m = 1..256``); a JAX release that changes its shuffle fails those tests.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

MAX_EXAMPLES = 256  # beyond this the m^2 comparisons stop paying off against the sort
ORDER_MAX = 64  # make_run's per-epoch order: sort-free up to this m (measured: 17 examples, 26 -> 10 us per epoch)


def permutation_ranks(keys: Array, m: int) -> Array:
    """``(m, B)`` int32: ``ranks[i, b]`` is the position of example ``i`` in ``jax.random.permutation(keys[b], m)``
    (``keys``: ``(B,)`` typed PRNG keys; ``1 <= m <= MAX_EXAMPLES``)."""
    if not 1 <= m <= MAX_EXAMPLES:
        raise ValueError(f"m: expected 1..{MAX_EXAMPLES} examples, got {m}")
    if m == 1:  # JAX's shuffle does no round for one element
        return jnp.zeros((1,) + keys.shape, jnp.int32)
    u = jax.vmap(lambda k: jax.random.bits(jax.random.split(k)[1], (m,), jnp.uint32))(keys).T  # (m, B)
    below = u[None, :, :] < u[:, None, :]  # [i, k]: key k sorts before key i
    tie_first = (u[None, :, :] == u[:, None, :]) & (jnp.arange(m)[None, :] < jnp.arange(m)[:, None])[:, :, None]
    return jnp.sum((below | tie_first).astype(jnp.int32), axis=1)


def permutation(key: Array, m: int) -> Array:
    """``jax.random.permutation(key, m)`` (``(m,)`` int32), without the sort for ``m <= ORDER_MAX``:
    ``order[j]`` is the example of rank ``j``."""
    if m > ORDER_MAX:
        return jax.random.permutation(key, m)
    ranks = permutation_ranks(key[None], m)[:, 0]  # (m,)
    idx = jnp.arange(m, dtype=jnp.int32)
    return jnp.sum(jnp.where(ranks[None, :] == idx[:, None], idx[None, :], 0), axis=1, dtype=jnp.int32)
