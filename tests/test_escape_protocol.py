"""The equal-compute comparison of escape strategies: attempts through the restart engine, costs, comparisons."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import escape
from xgnn_jax.analysis import escape_protocol as ep
from xgnn_jax.core.mlp import MLP


def test_best_of_k_keeps_the_lowest_loss_member_of_each_group():
    solved = np.array([0, 1, 0, 0, 1, 1, 0, 0], bool)
    losses = np.array([0.1, 0.2, 0.5, 0.6, 0.3, 0.01, 0.9, np.nan])
    out = ep.best_of_k(solved, losses, [1, 2, 4])
    assert out["groups"].tolist() == [8, 4, 2]
    np.testing.assert_allclose(out["measured"], [3 / 8, 1 / 4, 1 / 2])   # group 1 of k=2: the failure has lower loss
    np.testing.assert_allclose(out["any"], [3 / 8, 2 / 4, 2 / 2])
    np.testing.assert_allclose(out["predicted"], [1 - (5 / 8) ** k for k in (1, 2, 4)])
    assert np.all(out["lo"] <= out["measured"]) and np.all(out["measured"] <= out["hi"])
    with pytest.raises(ValueError, match="ks"):
        ep.best_of_k(solved, losses, [9])


def test_cost_per_success():
    assert ep.cost_per_success([10, 10, 30, 30], [1, 0, 1, 0]) == pytest.approx(40.0)
    assert ep.cost_per_success([10], [0]) == float("inf")


def test_bootstrap_cost_per_success_is_paired_by_seed_and_resamples_groups():
    rng = np.random.default_rng(1)
    evals = rng.uniform(10, 100, 50)
    solved = rng.uniform(size=50) < 0.5
    reps = ep.bootstrap_cost_per_success(evals, solved, n_boot=500, seed=3)
    assert reps.shape == (500,)
    point = ep.cost_per_success(evals, solved)
    assert np.quantile(reps, 0.025) < point < np.quantile(reps, 0.975)
    # same seed, same starts: a strategy twice as expensive on every attempt gives a ratio of exactly 2
    ratio = ep.bootstrap_cost_per_success(2 * evals, solved, n_boot=500, seed=3) / reps
    np.testing.assert_allclose(ratio, 2.0)
    # never a success: every replicate is infinite
    assert np.all(np.isinf(ep.bootstrap_cost_per_success(evals, np.zeros(50, bool), n_boot=10)))
    # groups: 2 groups that are each all-or-nothing give only three possible costs
    g = np.repeat([0, 1], 25)
    reps_g = ep.bootstrap_cost_per_success(np.ones(50), g == 0, n_boot=200, seed=0, groups=g)
    assert set(np.unique(reps_g)) <= {1.0, 2.0, np.inf}
    with pytest.raises(ValueError, match="groups"):
        ep.bootstrap_cost_per_success(evals, solved, groups=g[:10])


def test_run_attempts_keeps_each_attempts_key_and_splits_batches():
    x = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32)
    y = jnp.array([[0], [1], [1], [0]], jnp.float32)
    pr = escape.make_problem(MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)"), x, y)
    starts = escape.draw_starts(pr, jax.random.key(0), 3, 1.0)
    keys = jax.random.split(jax.random.key(1), 3)

    def fn(k, t0, hp):
        return escape.gradient_descent(pr, k, t0, steps=20, lr=hp["lr"], noise=hp["noise"])

    lr, zero = np.full(3, 0.5, np.float32), np.zeros(3, np.float32)
    (a, b), wall = ep.run_attempts(fn, [ep.Batch(keys, starts, {"lr": lr, "noise": zero}),
                                        ep.Batch(keys[::-1], starts[::-1], {"lr": lr, "noise": zero + 1.0})])
    assert wall > 0 and a.solved.shape == (3,) and a.evals.dtype == np.float64
    alone = jax.vmap(lambda k, t: fn(k, t, {"lr": 0.5, "noise": 1.0}))(keys[::-1], starts[::-1])
    np.testing.assert_allclose(b.loss, np.asarray(alone.loss), rtol=1e-5)
    np.testing.assert_array_equal(b.evals, np.asarray(alone.evals))
    with pytest.raises(ValueError, match="batches"):
        ep.run_attempts(fn, [ep.Batch(keys, starts, {"lr": lr}), ep.Batch(keys, None, {"lr": lr})])


def test_summarise_and_compare_tie_unless_the_interval_excludes_one():
    A = 40
    ids = np.arange(A)
    same = ep.Attempts(np.arange(A) % 2 == 0, np.full(A, 100.0), np.zeros(A))
    dear = ep.Attempts(np.arange(A) % 2 == 0, np.full(A, 300.0), np.zeros(A))
    rows, boots = zip(*[ep.summarise(n, "scratch", att, ids, n_boot=300, boot_seed=5)
                        for n, att in (("GD restart", same), ("twin", same), ("dear", dear))], strict=True)
    assert rows[0]["cost_per_success"] == pytest.approx(200.0)
    assert rows[0]["lo"] < 0.5 < rows[0]["hi"] and rows[0]["distinct_starts"] == A
    comps = ep.compare(list(rows), list(boots), [same.solved] * 3, reference=0)
    by = {c["strategy"]: c for c in comps}
    assert by["twin"]["separated"] == "tie" and by["twin"]["mcnemar_p"] == 1.0
    assert by["dear"]["separated"] == "restart cheaper" and by["dear"]["cost_ratio"] == pytest.approx(3.0)
    # attempts cycling over 5 starts: the success interval counts the 5 distinct starts only
    row, _ = ep.summarise("GD continued", "failed", same, ids % 5, n_boot=50, boot_seed=0, cluster=True)
    assert row["distinct_starts"] == 5 and row["hi"] - row["lo"] > rows[0]["hi"] - rows[0]["lo"]
