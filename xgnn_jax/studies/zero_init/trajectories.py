"""The zero_init study's per-step traces (parts 1-2, 3 and 5): update masks, unit symmetry, C20's training
curves and the embedding tables from zeros, each part ONE compiled program vmapped over data subset, start and
seed.

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
from xgnn_jax.engine import train
from xgnn_jax.studies.zero_init.starts import STARTS, start_model

Config = Any  # the study's Config (xgnn_jax.studies.zero_init.Config)


def compiled_call(fn, *args):
    """``fn(*args)`` through ONE ahead-of-time compile at XLA's fast optimisation level
    (:func:`xgnn_jax.engine.train.compile_run`). Each part of the study puts everything it computes (drawing the starts
    included) into one such program: compile time, not run time, dominates the quick setting, and one larger
    program compiles several times faster than the same work split into many."""
    return train.compile_run(fn, *args)[0](*args)


def stack(trees: list):
    """Stack pytrees of equal structure along a new leading axis."""
    return jax.tree.map(lambda *a: jnp.stack(a), *trees)



def masks_part(cfg: Config, key) -> dict:
    """Parts 1-2, in float64: every activation and depth, vmapped over data subset, start and seed."""
    with jax.enable_x64(True):
        x, y = datasets.watermelon3_alpha(dtype=jnp.float64)
        m = x.shape[0]
        full = jnp.ones((m,), jnp.float64)
        balanced = full.at[m - 1].set(0.0)  # melon 17 is bad: 8 good, 8 bad remain
        weights = jnp.stack([full, balanced])
        lr = jnp.asarray(cfg.mask_lr, jnp.float64)
        sizes_of = {L: (2, *(cfg.width,) * (L - 1), 1) for L in cfg.depths}

        def program(keys):
            res = {}
            for L in cfg.depths:
                # The starts depend on the layer sizes only, so every activation shares them.
                p0 = stack([jax.vmap(lambda k, s=s, L=L: start_model(sizes_of[L], "sigmoid", s, cfg.constant).init(
                    jax.random.fold_in(k, L), dtype=jnp.float64))(keys) for s in STARTS])  # (starts, seeds, ...)
                for act in cfg.activations:
                    traj = symmetry.make_trajectory(MLP(sizes_of[L], hidden=act, output="sigmoid"), cfg.mask_steps,
                                                    record_activation_spread=False)
                    f = jax.vmap(traj, in_axes=(0, None, None, None, None))  # seeds
                    f = jax.vmap(f, in_axes=(0, None, None, None, None))  # starts
                    f = jax.vmap(f, in_axes=(None, None, None, None, 0))  # data subsets
                    tr = f(p0, x, y, lr, weights)
                    # Shapes (subsets, starts, seeds, T, L) and (subsets, starts, seeds, T + 1, L - 1).
                    res[f"{act}/{L}"] = {"W_grad": tr.W_grad_norm, "b_grad": tr.b_grad_norm,
                                         "W_changed": tr.W_changed, "spread": tr.spread, "loss": tr.loss}
            return res

        res = compiled_call(program, jax.random.split(jax.random.fold_in(key, 100), cfg.mask_seeds))
        out: dict = {k: {} for k in ("W_grad", "b_grad", "W_changed", "spread", "loss")}
        for name, r in res.items():
            act, L = name.split("/")
            for k, v in r.items():
                out[k][(act, int(L))] = np.asarray(v)
    return out


def c20_training_part(cfg: Config, key) -> dict:
    """Part 3: sigmoid net on balanced two circles from the four starts (vmapped over start and seed)."""
    data = datasets.circles(jax.random.fold_in(key, 300), cfg.train_n, noise=0.05, factor=0.5)
    sizes = (2, *cfg.train_hidden, 1)
    traj = symmetry.make_trajectory(MLP(sizes, hidden="sigmoid", output="sigmoid"), cfg.train_steps,
                                    loss="sigmoid_binary_cross_entropy", record_activation_spread=False)

    def program(keys):
        p0 = stack([jax.vmap(start_model(sizes, "sigmoid", s, cfg.constant).init)(keys) for s in STARTS])
        tr = jax.vmap(jax.vmap(traj, in_axes=(0, None, None, None)), in_axes=(0, None, None, None))(
            p0, data.x, data.y, cfg.train_lr)
        # The zero start on a balanced set whose per-example errors (1/2 - y_k) / m do not cancel exactly in
        # float32 (m = rounding_n): the residue of the mean is all that can move the network off the saddle.
        tr2 = traj(jax.tree.map(lambda a: a[0, 0], p0), rounding.x, rounding.y, cfg.train_lr)  # zeros, seed 0
        return {"accuracy": tr.accuracy, "loss": tr.loss, "spread": tr.spread, "W_grad": tr.W_grad_norm,
                "rounding": {"grad": tr2.W_grad_norm, "accuracy": tr2.accuracy}}

    rounding = datasets.circles(jax.random.fold_in(key, 302), cfg.rounding_n, noise=0.05, factor=0.5)
    r = compiled_call(program, jax.random.split(jax.random.fold_in(key, 301), cfg.train_seeds))
    rnd = r.pop("rounding")
    out = {k: {s: np.asarray(v[i]) for i, s in enumerate(STARTS)} for k, v in r.items()}
    out["positive_fraction"] = float(jnp.mean(data.y))
    out["rounding"] = {"first_grad": float(jnp.max(rnd["grad"][0])), "max_grad": float(jnp.max(rnd["grad"])),
                       "final_accuracy": float(rnd["accuracy"][-1]),
                       "positive_fraction": float(jnp.mean(rounding.y))}
    return out


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
    # Starts of the same structure (zero or random tables) share one vmapped computation.
    groups = {"mlp_tanh": ("mlp_tanh_zero", "mlp_tanh_random"), "mlp_relu": ("mlp_relu_zero",),
              "fm": ("fm_zero", "fm_random")}

    def program(keys):
        res = {}
        for names in groups.values():
            model = variants[names[0]]
            J = embedding.objective(model)

            def measure(old, new, g, J=J):
                return {"loss": J(old, ids[tr], y[tr]),
                        "emb_grad": jnp.sqrt(sum(jnp.sum(t * t) for t in g["embeddings"]))}

            def one(p0, model=model, J=J, measure=measure):
                g0 = jax.grad(J)(p0, ids[tr], y[tr])
                p1 = jax.tree.map(lambda p, d: p - cfg.emb_lr * d, p0, g0)
                pf, trace = symmetry.gradient_descent_trace(J, p0, cfg.emb_lr, cfg.emb_steps, measure, ids[tr],
                                                            y[tr])
                return {"loss": trace["loss"], "emb_grad": trace["emb_grad"],
                        "grad0_distinct": embedding.distinct_rows(g0["embeddings"][0], used[0]),
                        "rank_step1": jnp.linalg.matrix_rank(p1["embeddings"][0]),
                        "rank_final": jnp.linalg.matrix_rank(pf["embeddings"][0]),
                        "distinct_final": embedding.distinct_rows(pf["embeddings"][0], used[0]),
                        "table_norm": jnp.sqrt(sum(jnp.sum(t * t) for t in pf["embeddings"])),
                        "train_acc": metrics.accuracy(model.apply(pf, ids[tr]), y[tr]),
                        "test_acc": metrics.accuracy(model.apply(pf, ids[te]), y[te])}

            p0 = stack([jax.vmap(variants[n].init)(keys) for n in names])  # (starts, seeds, ...)
            r = jax.vmap(jax.vmap(one))(p0)
            for i, n in enumerate(names):
                res[n] = jax.tree.map(lambda a, i=i: a[i], r)
        return res

    out = jax.tree.map(np.asarray, compiled_call(program, jax.random.split(jax.random.fold_in(key, 502),
                                                                            cfg.emb_seeds)))
    out["used_rows"] = int(used[0].sum())
    return out


