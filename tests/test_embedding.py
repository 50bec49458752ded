"""Embedding models (xgnn_jax.core.embedding): C23's two cases, checked on a tiny categorical problem."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.core import embedding

VOCAB = (5, 4)


def _data():
    ids, y = embedding.interaction_dataset(jax.random.key(1), VOCAB, rank=2)
    return ids, y


def test_interaction_dataset_covers_every_pair():
    ids, y = _data()
    assert ids.shape == (20, 2) and y.shape == (20, 1) and ids.dtype == jnp.int32
    assert {tuple(r) for r in np.asarray(ids).tolist()} == set(itertools.product(range(5), range(4)))
    assert set(np.unique(np.asarray(y)).tolist()) <= {0.0, 1.0}


def test_factorisation_machine_pairwise_term_matches_the_explicit_sum():
    model = embedding.FactorizationMachine((3, 4, 5), dim=2, embedding_init="normal")
    params = model.init(jax.random.key(0))
    params["w0"] = jnp.asarray([0.3])
    ids = jnp.asarray([[0, 1, 2], [2, 3, 4]], jnp.int32)
    E = params["embeddings"]
    expected = [0.3 + sum(float(E[f][r[f]] @ E[g][r[g]]) for f, g in itertools.combinations(range(3), 2))
                for r in np.asarray(ids)]
    np.testing.assert_allclose(model.logits(params, ids)[:, 0], expected, rtol=1e-5)


def test_zero_tables_get_no_gradient_when_embeddings_only_meet_each_other():
    ids, y = _data()
    fm = embedding.FactorizationMachine(VOCAB, dim=3)
    g = embedding.embedding_gradients(fm, fm.init(jax.random.key(0)), ids, y)
    assert all(float(jnp.max(jnp.abs(t))) == 0.0 for t in g)
    # The linear part still receives a gradient (the model is not frozen, only its embeddings are).
    J = embedding.objective(fm)
    assert float(jnp.abs(jax.grad(J)(fm.init(jax.random.key(0)), ids, y)["w0"][0])) > 0
    # Random tables do get gradients.
    fm_r = embedding.FactorizationMachine(VOCAB, dim=3, embedding_init="normal(0.1)")
    g = embedding.embedding_gradients(fm_r, fm_r.init(jax.random.key(0)), ids, y)
    assert all(float(jnp.max(jnp.abs(t))) > 0 for t in g)


def test_zero_tables_before_random_tanh_layers_get_distinct_gradients():
    ids, y = _data()
    model = embedding.EmbeddingMLP(VOCAB, dim=3, hidden_sizes=(8,), hidden="tanh")
    params = model.init(jax.random.key(0))
    assert all(float(jnp.max(jnp.abs(t))) == 0.0 for t in params["embeddings"])
    g = embedding.embedding_gradients(model, params, ids, y)
    assert float(jnp.min(jnp.linalg.norm(g[0], axis=1))) > 0  # every row of field 1 gets a gradient
    # Rows whose categories have different label counts get different gradients.
    pos = np.asarray(jax.ops.segment_sum(y[:, 0], ids[:, 0], num_segments=VOCAB[0]))
    assert int(embedding.distinct_rows(g[0])) == len(np.unique(pos))
    # ReLU units with zero biases pass no gradient at 0 (relu'(0) = 0): the zero tables are stuck.
    relu = embedding.EmbeddingMLP(VOCAB, dim=3, hidden_sizes=(8,), hidden="relu")
    g = embedding.embedding_gradients(relu, relu.init(jax.random.key(0)), ids, y)
    assert all(float(jnp.max(jnp.abs(t))) == 0.0 for t in g)


def test_distinct_rows_counts_used_rows_once():
    t = jnp.asarray([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    assert int(embedding.distinct_rows(t)) == 3
    assert int(embedding.distinct_rows(t, jnp.asarray([True, True, False, False]))) == 1
    assert int(embedding.distinct_rows(jnp.zeros((4, 3)))) == 1


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="vocab_sizes: expected a non-empty tuple of positive ints"):
        embedding.EmbeddingMLP((0, 3))
    with pytest.raises(ValueError, match="dim: expected a positive int"):
        embedding.FactorizationMachine((3, 3), dim=0)
    with pytest.raises(ValueError, match="vocab_sizes: a factorisation machine needs at least 2 fields"):
        embedding.FactorizationMachine((3,))
    with pytest.raises(ValueError, match="embedding_init: unknown initialiser"):
        embedding.EmbeddingMLP((3, 3), embedding_init="nonsense")
    model = embedding.FactorizationMachine((3, 3))
    params = model.init(jax.random.key(0))
    with pytest.raises(ValueError, match=r"ids: expected integer ids of shape \(n, 2\)"):
        model.logits(params, jnp.zeros((4, 3), jnp.int32))
    with pytest.raises(ValueError, match="ids: expected an integer array"):
        model.logits(params, jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="ids: ids out of range"):
        model.logits(params, jnp.asarray([[0, 3]], jnp.int32))
    with pytest.raises(ValueError, match="loss: softmax_cross_entropy works on logits"):
        embedding.objective(model, "softmax_cross_entropy")
