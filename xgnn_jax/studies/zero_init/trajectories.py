"""The zero_init study's per-step traces (parts 1-2, 3 and 5): update masks, unit symmetry, C20's training
curves and the embedding tables from zeros.

Each part is :func:`xgnn_jax.engine.restarts.map_over` over the rows of the flattened product of its axes (data
subset x start x seed, start x seed, ...), every row carrying its own seed key, so the numbers are those of the
study's own keys, not of the sweep's restart keys (each row is run once). The outcomes come back as ``(rows, 1,
...)`` and are reshaped to the product's axes.

These record per-layer gradient norms and unit spreads at every step, which ``train.make_run``'s history does not
hold yet; they use :func:`xgnn_jax.analysis.symmetry.make_trajectory` and
:func:`~xgnn_jax.analysis.symmetry.gradient_descent_trace` until the training run can record such metrics.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import symmetry
from xgnn_jax.core import embedding, metrics
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data import datasets
from xgnn_jax.engine import restarts
from xgnn_jax.studies.zero_init.starts import STARTS, start_model

Config = Any  # the study's Config (xgnn_jax.studies.zero_init.Config)


def product_rows(*sizes: int) -> tuple[np.ndarray, ...]:
    """The flattened product of axes of the given sizes, in C order: one int32 index array ``(prod(sizes),)`` per
    axis (row ``r`` is the point ``np.unravel_index(r, sizes)``)."""
    return tuple(i.reshape(-1).astype(np.int32) for i in np.indices(sizes))


def over_rows(fn, inputs: dict, shape: tuple[int, ...]):
    """``fn(row)`` for every row of ``inputs`` (one restart each: the sweep's key is not used, a row that needs
    randomness carries its own key), through :func:`restarts.map_over`; every outcome leaf reshaped from
    ``(rows, 1, ...)`` to ``shape + (...)`` as numpy arrays."""
    res = restarts.map_over(lambda key, row, hp: fn(row), inputs, progress=False)
    return jax.tree.map(lambda a: np.asarray(a).reshape(shape + np.shape(a)[2:]), res.outcomes)


def seed_keys(key, n: int) -> np.ndarray:
    """``n`` keys split from ``key``, as raw key data ``(n, 2)`` uint32 (rows of a :func:`over_rows` input)."""
    return np.asarray(jax.random.key_data(jax.random.split(key, n)))


def start_params(row_key, start, sizes: tuple[int, ...], c: float, dtype=jnp.float32):
    """The parameters of start number ``start`` (an index into :data:`STARTS`, may be traced) for one key: every
    start is drawn and the chosen one kept, so one program serves all four. The starts depend on the layer sizes
    only (the hidden activation does not enter the initialisers)."""
    trees = [start_model(sizes, "sigmoid", s, c).init(row_key, dtype=dtype) for s in STARTS]
    return jax.tree.map(lambda *a: jnp.stack(a)[start], *trees)


def masks_part(cfg: Config, key) -> dict:
    """Parts 1-2, in float64: every activation and depth, over data subset x start x seed (one program)."""
    with jax.enable_x64(True):
        x, y = datasets.watermelon3_alpha(dtype=jnp.float64)
        m = x.shape[0]
        full = jnp.ones((m,), jnp.float64)
        balanced = full.at[m - 1].set(0.0)  # melon 17 is bad: 8 good, 8 bad remain
        weights = np.stack([full, balanced])
        lr = jnp.asarray(cfg.mask_lr, jnp.float64)
        sizes_of = {L: (2, *(cfg.width,) * (L - 1), 1) for L in cfg.depths}
        trajs = {(act, L): symmetry.make_trajectory(MLP(sizes_of[L], hidden=act, output="sigmoid"), cfg.mask_steps,
                                                    record_activation_spread=False)
                 for L in cfg.depths for act in cfg.activations}

        def one(row):
            k = jax.random.wrap_key_data(row["key"])
            res = {}
            for L in cfg.depths:
                p0 = start_params(jax.random.fold_in(k, L), row["start"], sizes_of[L], cfg.constant, jnp.float64)
                for act in cfg.activations:
                    tr = trajs[(act, L)](p0, x, y, lr, row["weights"])
                    # Per row (T, L) and (T + 1, L - 1).
                    res[f"{act}/{L}"] = {"W_grad": tr.W_grad_norm, "b_grad": tr.b_grad_norm,
                                         "W_changed": tr.W_changed, "spread": tr.spread, "loss": tr.loss}
            return res

        shape = (len(weights), len(STARTS), cfg.mask_seeds)
        subset, start, seed = product_rows(*shape)
        keys = seed_keys(jax.random.fold_in(key, 100), cfg.mask_seeds)
        res = over_rows(one, {"weights": weights[subset], "start": start, "key": keys[seed]}, shape)
        out: dict = {k: {} for k in ("W_grad", "b_grad", "W_changed", "spread", "loss")}
        for name, r in res.items():  # shapes (subsets, starts, seeds, T, L) and (..., T + 1, L - 1)
            act, L = name.split("/")
            for k, v in r.items():
                out[k][(act, int(L))] = v
    return out


def c20_training_part(cfg: Config, key) -> dict:
    """Part 3: sigmoid net on balanced two circles from the four starts (over start x seed)."""
    data = datasets.circles(jax.random.fold_in(key, 300), cfg.train_n, noise=0.05, factor=0.5)
    rounding = datasets.circles(jax.random.fold_in(key, 302), cfg.rounding_n, noise=0.05, factor=0.5)
    sizes = (2, *cfg.train_hidden, 1)
    traj = symmetry.make_trajectory(MLP(sizes, hidden="sigmoid", output="sigmoid"), cfg.train_steps,
                                    loss="sigmoid_binary_cross_entropy", record_activation_spread=False)

    def one(row):
        p0 = start_params(jax.random.wrap_key_data(row["key"]), row["start"], sizes, cfg.constant)
        tr = traj(p0, data.x, data.y, cfg.train_lr)
        return {"accuracy": tr.accuracy, "loss": tr.loss, "spread": tr.spread, "W_grad": tr.W_grad_norm}

    shape = (len(STARTS), cfg.train_seeds)
    start, seed = product_rows(*shape)
    keys = seed_keys(jax.random.fold_in(key, 301), cfg.train_seeds)
    r = over_rows(one, {"start": start, "key": keys[seed]}, shape)
    out = {k: {s: v[i] for i, s in enumerate(STARTS)} for k, v in r.items()}
    out["positive_fraction"] = float(jnp.mean(data.y))

    # The zero start on a balanced set whose per-example errors (1/2 - y_k) / m do not cancel exactly in
    # float32 (m = rounding_n): the residue of the mean is all that can move the network off the saddle.
    zeros = jax.tree.map(lambda a: a[None], start_model(sizes, "sigmoid", "zeros", cfg.constant).init(
        jax.random.key(0)))  # one row: the zero start (no randomness in it)

    def off_the_saddle(p0):
        tr = traj(p0, rounding.x, rounding.y, cfg.train_lr)
        return {"grad": tr.W_grad_norm, "accuracy": tr.accuracy}

    rnd = jax.tree.map(lambda a: a[0], over_rows(off_the_saddle, zeros, (1,)))
    out["rounding"] = {"first_grad": float(np.max(rnd["grad"][0])), "max_grad": float(np.max(rnd["grad"])),
                       "final_accuracy": float(rnd["accuracy"][-1]),
                       "positive_fraction": float(jnp.mean(rounding.y))}
    return out


def _embedding_run(cfg: Config, model, ids, y, tr, te, used):
    """``one(p0)``: full-batch GD on a model of :mod:`xgnn_jax.core.embedding` from ``p0``, with its traces and
    the final tables' rank, distinct rows and accuracies."""
    J = embedding.objective(model)

    def measure(old, new, g):
        return {"loss": J(old, ids[tr], y[tr]), "emb_grad": jnp.sqrt(sum(jnp.sum(t * t) for t in g["embeddings"]))}

    def one(p0):
        g0 = jax.grad(J)(p0, ids[tr], y[tr])
        p1 = jax.tree.map(lambda p, d: p - cfg.emb_lr * d, p0, g0)
        pf, trace = symmetry.gradient_descent_trace(J, p0, cfg.emb_lr, cfg.emb_steps, measure, ids[tr], y[tr])
        return {"loss": trace["loss"], "emb_grad": trace["emb_grad"],
                "grad0_distinct": embedding.distinct_rows(g0["embeddings"][0], used[0]),
                "rank_step1": jnp.linalg.matrix_rank(p1["embeddings"][0]),
                "rank_final": jnp.linalg.matrix_rank(pf["embeddings"][0]),
                "distinct_final": embedding.distinct_rows(pf["embeddings"][0], used[0]),
                "table_norm": jnp.sqrt(sum(jnp.sum(t * t) for t in pf["embeddings"])),
                "train_acc": metrics.accuracy(model.apply(pf, ids[tr]), y[tr]),
                "test_acc": metrics.accuracy(model.apply(pf, ids[te]), y[te])}

    return one


def c23_part(cfg: Config, key) -> dict:
    """Part 5: embedding tables from zeros, with random downstream layers and in a factorisation machine."""
    vocab = (cfg.vocab, cfg.vocab)
    ids, y = embedding.interaction_dataset(jax.random.fold_in(key, 500), vocab)
    perm = jax.random.permutation(jax.random.fold_in(key, 501), ids.shape[0])
    tr, te = perm[: cfg.emb_train], perm[cfg.emb_train:]
    used = [jnp.zeros((v,), bool).at[ids[tr, f]].set(True) for f, v in enumerate(vocab)]
    variants = {
        "mlp_tanh_zero": embedding.EmbeddingMLP(vocab, cfg.emb_dim, (16,), "tanh"),
        "mlp_tanh_random": embedding.EmbeddingMLP(vocab, cfg.emb_dim, (16,), "tanh", embedding_init="normal(0.1)"),
        "mlp_relu_zero": embedding.EmbeddingMLP(vocab, cfg.emb_dim, (16,), "relu"),
        "fm_zero": embedding.FactorizationMachine(vocab, cfg.emb_dim),
        "fm_random": embedding.FactorizationMachine(vocab, cfg.emb_dim, embedding_init="normal(0.1)"),
    }
    # Models of one structure whose starts (zero or random tables) differ; a row is (start, seed) and runs every
    # group from the group's start number min(start, its last): the ReLU MLP, zero tables only, runs twice.
    groups = {"mlp_tanh": ("mlp_tanh_zero", "mlp_tanh_random"), "mlp_relu": ("mlp_relu_zero",),
              "fm": ("fm_zero", "fm_random")}
    runs = {g: _embedding_run(cfg, variants[names[0]], ids, y, tr, te, used) for g, names in groups.items()}

    def one(row):
        k, res = jax.random.wrap_key_data(row["key"]), {}
        for g, names in groups.items():
            trees = [variants[n].init(k) for n in names]
            p0 = jax.tree.map(lambda *a: jnp.stack(a)[jnp.minimum(row["start"], len(a) - 1)], *trees)
            res[g] = runs[g](p0)
        return res

    shape = (2, cfg.emb_seeds)
    start, seed = product_rows(*shape)
    keys = seed_keys(jax.random.fold_in(key, 502), cfg.emb_seeds)
    r = over_rows(one, {"start": start, "key": keys[seed]}, shape)
    out: dict = {n: jax.tree.map(lambda a, i=i: a[i], r[g]) for g, names in groups.items()
                 for i, n in enumerate(names)}
    out["used_rows"] = int(used[0].sum())
    return out
