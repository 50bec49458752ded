import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.data import datasets
from xgnn_jax.engine import train

MODEL = MLP((2, 3, 1), hidden="sigmoid", output="sigmoid", bias_init="uniform(-1, 1)")


def _run(fn, *args):
    """Compile ``fn`` for ``args`` (XLA optimisation level 1: compile time dominates these tests) and call it."""
    return train.compile_run(fn, *args)[0](*args)


def _moons_splits(n=40):
    return datasets.split(datasets.moons(0, n=n, noise=0.3), 1, (0.5, 0.5, 0.0))


def _python_loop(model, x, y, config, key, lr):
    """The same run written as plain Python loops over epochs and updates, with jax.grad of the objective."""
    k_init, k_order = jax.random.split(key)
    params = model.init(k_init, 1.0, 1.0, dtype=x.dtype)
    J = objective(model, config.loss, config.reduction)
    grad = jax.jit(jax.grad(J))
    m = x.shape[0]
    n_updates, batch = train.schedule(config, m)
    losses = []
    for k in jax.random.split(k_order, config.epochs):
        if config.mode == "full_batch":
            batches = [np.arange(m)]
        else:
            order = np.asarray(jax.random.permutation(k, m))
            batches = [order[i * batch:(i + 1) * batch] for i in range(n_updates)]
        for idx in batches:
            g = grad(params, x[idx], y[idx])
            params = jax.tree.map(lambda p, gi: p - lr * gi, params, g)
        losses.append(float(J(params, x, y)))
    return params, np.array(losses)


@pytest.mark.parametrize("mode", ["full_batch", "sgd", "minibatch"])
def test_scan_run_equals_python_loop(x64, mode):
    x, y = datasets.watermelon3_alpha(dtype=jnp.float64)
    config = train.TrainConfig(epochs=4, mode=mode, batch_size=5, loss="half_sse")
    key = jax.random.key(7)
    res = _run(train.make_run(MODEL, train.Data(x, y), config), key, train.hparams(lr=0.7))
    # hparams are float32: the loop uses the same rounded learning rate.
    params, losses = _python_loop(MODEL, x, y, config, key, float(np.float32(0.7)))
    np.testing.assert_allclose(np.asarray(res.history["loss"]), losses, rtol=1e-10)
    chex.assert_trees_all_close(res.params, params, rtol=1e-10, atol=1e-12)
    assert not np.allclose(losses[0], losses[-1])  # the run did move


def test_gd_converges_on_a_convex_problem_and_sum_is_m_times_mean(x64):
    key = jax.random.key(0)
    x = jax.random.normal(key, (64, 3), jnp.float64)
    w_true = jnp.array([[1.5], [-2.0], [0.5]])
    y = x @ w_true + 0.3
    linear = MLP((3, 1), output="identity")
    data = train.Data(x, y)
    mean_cfg = train.TrainConfig(epochs=300, mode="full_batch", loss="half_sse", reduction="mean")
    res = _run(train.make_run(linear, data, mean_cfg), key, train.hparams(lr=0.25))
    loss = np.asarray(res.history["loss"])
    assert np.all(np.diff(loss) <= 1e-15)  # monotone on a convex quadratic with a small enough step
    assert loss[-1] < 1e-12
    np.testing.assert_allclose(np.asarray(res.params[0]["W"]), np.asarray(w_true), atol=1e-6)
    np.testing.assert_allclose(float(res.params[0]["b"][0]), 0.3, atol=1e-6)
    # The sum convention is the mean one with an m-times larger step: lr / m reproduces the mean run
    # (0.25 and 0.25 / 64 are exact in float32, the hparams' dtype).
    sum_cfg = train.TrainConfig(epochs=300, mode="full_batch", loss="half_sse", reduction="sum")
    res_sum = _run(train.make_run(linear, data, sum_cfg), key, train.hparams(lr=0.25 / 64))
    np.testing.assert_allclose(np.asarray(res_sum.history["loss"]) / 64, loss, rtol=1e-9, atol=1e-20)


def test_new_hyperparameter_values_do_not_retrace():
    x, y = datasets.logic_gate("xor")
    run = train.make_run(MODEL, train.Data(x, y), train.TrainConfig(epochs=5, mode="sgd"))
    run_once = jax.jit(chex.assert_max_traces(run, n=1))
    a = run_once(jax.random.key(0), train.hparams(lr=0.1, weight_scale=1.0))
    b = run_once(jax.random.key(1), train.hparams(lr=2.0, weight_scale=0.5, weight_decay=0.1))
    assert not np.allclose(a.final_loss, b.final_loss)
    chex.clear_trace_counter()


def test_vmapped_restarts_match_single_runs():
    x, y = datasets.logic_gate("xor")
    run = train.make_run(MODEL, train.Data(x, y), train.TrainConfig(epochs=20, mode="sgd"))
    keys = jax.random.split(jax.random.key(3), 3)
    lrs = jnp.array([0.1, 1.0, 3.0])
    batched = _run(jax.vmap(lambda k, lr: run(k, {"lr": lr})), keys, lrs)
    single = train.compile_run(run, keys[0], {"lr": lrs[0]})[0]
    for i in range(3):
        one = single(keys[i], {"lr": lrs[i]})
        np.testing.assert_allclose(np.asarray(batched.history["loss"][i]), np.asarray(one.history["loss"]),
                                   rtol=1e-5, atol=1e-6)


def test_l2_and_book_penalties_change_the_first_step_as_derived(x64):
    x, y = datasets.watermelon3_alpha(dtype=jnp.float64)
    key = jax.random.key(2)
    J = objective(MODEL, "half_sse", "mean")
    params0 = MODEL.init(jax.random.split(key)[0], 1.0, 1.0, dtype=jnp.float64)
    g = jax.grad(J)(params0, x, y)
    lr, wd, lam = 0.5, 0.25, 0.75  # exact in float32, the hparams' dtype
    cases = {  # (the unregularised step is checked against a Python loop above)
        "l2": ({"weight_decay": wd}, lambda p, gi, is_w: p - lr * (gi + wd * p * is_w)),
        "book": ({"lam": lam}, lambda p, gi, is_w: p - lr * (lam * gi + 2 * (1 - lam) * p * is_w)),
    }
    for reg, (hp, rule) in cases.items():
        cfg = train.TrainConfig(epochs=1, mode="full_batch", regularization=reg)
        res = _run(train.make_run(MODEL, train.Data(x, y), cfg), key, train.hparams(lr=lr, **hp))
        for layer, l0, gl in zip(res.params, params0, g, strict=True):
            np.testing.assert_allclose(np.asarray(layer["W"]), np.asarray(rule(l0["W"], gl["W"], 1.0)), rtol=1e-12)
            np.testing.assert_allclose(np.asarray(layer["b"]), np.asarray(rule(l0["b"], gl["b"], 0.0)), rtol=1e-12)
    # penalize_bias: the biases shrink too.
    cfg = train.TrainConfig(epochs=1, mode="full_batch", regularization="l2", penalize_bias=True)
    res = _run(train.make_run(MODEL, train.Data(x, y), cfg), key, train.hparams(lr=lr, weight_decay=wd))
    np.testing.assert_allclose(np.asarray(res.params[0]["b"]),
                               np.asarray(params0[0]["b"] - lr * (g[0]["b"] + wd * params0[0]["b"])), rtol=1e-12)


def test_early_stopping_returns_the_best_validation_parameters():
    s = _moons_splits()
    model = MLP((2, 20, 1), bias_init="uniform(-1, 1)")
    cfg = train.TrainConfig(epochs=120, mode="full_batch", early_stopping=True, patience=5)
    run = train.make_run(model, s.data(), cfg)
    res = _run(run, jax.random.key(0), train.hparams(lr=8.0))
    val = np.asarray(res.history["val_loss"])
    J = objective(model, "half_sse", "mean")
    v0 = float(J(res.init_params, s.val.x, s.val.y))
    best_epoch = int(res.best_epoch)
    expected = int(np.argmin(np.concatenate([[v0], val[: int(res.stop_epoch)]])))
    assert best_epoch == expected
    np.testing.assert_allclose(float(J(res.best_params, s.val.x, s.val.y)), float(res.best_val_error), rtol=1e-5)
    stop = int(res.stop_epoch)
    assert best_epoch < stop < cfg.epochs  # it stopped early, `patience` epochs after the best one
    assert stop - best_epoch == cfg.patience
    # After stopping nothing moves: the remaining history is flat and the final params are the stop-epoch ones.
    loss = np.asarray(res.history["loss"])
    np.testing.assert_array_equal(loss[stop - 1:], loss[stop - 1])
    assert np.asarray(res.history["stopped"])[stop - 1] and not np.asarray(res.history["stopped"])[stop - 2]
    # Without early stopping the best parameters are tracked and training runs on.
    cfg2 = train.TrainConfig(epochs=120, mode="full_batch", early_stopping=False)
    res2 = _run(train.make_run(model, s.data(), cfg2), jax.random.key(0), train.hparams(lr=8.0))
    assert int(res2.stop_epoch) == 120
    assert float(res2.best_val_error) <= float(res.best_val_error) + 1e-7
    # No validation set: nothing tracked.
    res3 = _run(train.make_run(model, train.Data(s.train.x, s.train.y), train.TrainConfig(epochs=2)),
                jax.random.key(0))
    assert res3.best_params is None and "val_loss" not in res3.history


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs"),
        ({"mode": "online"}, "mode: unknown mode"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"loss": "hinge"}, "loss: unknown loss"),
        ({"reduction": "max"}, "reduction"),
        ({"regularization": "l1"}, "regularization: unknown form"),
        ({"regularization": "book", "loss": "sse"}, "reduction='mean'"),
        ({"patience": 0}, "patience"),
        ({"val_metric": "auc"}, "val_metric"),
        ({"min_delta": -1.0}, "min_delta"),
    ],
)
def test_bad_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.TrainConfig(**kwargs)


def test_bad_data_and_hparams_errors():
    x, y = datasets.logic_gate("xor")
    with pytest.raises(ValueError, match="early_stopping: needs a validation set"):
        train.make_run(MODEL, train.Data(x, y), train.TrainConfig(early_stopping=True))
    with pytest.raises(ValueError, match="x_val and y_val"):
        train.make_run(MODEL, train.Data(x, y, x_val=x), train.TrainConfig())
    with pytest.raises(ValueError, match="batch_size: 8 is larger"):
        train.make_run(MODEL, train.Data(x, y), train.TrainConfig(mode="minibatch", batch_size=8))
    with pytest.raises(ValueError, match="data.y"):
        train.make_run(MODEL, train.Data(x, y[:, :0]), train.TrainConfig())
    with pytest.raises(ValueError, match="hparams: unknown names"):
        train.hparams(learning_rate=0.1)


def test_schedule_counts_updates_and_gradient_evaluations():
    assert train.schedule(train.TrainConfig(mode="full_batch"), 17) == (1, 17)
    assert train.schedule(train.TrainConfig(mode="sgd"), 17) == (17, 1)
    assert train.schedule(train.TrainConfig(mode="minibatch", batch_size=5), 17) == (3, 5)


def test_run_from_given_params0_equals_run_from_its_own_init():
    x, y = datasets.logic_gate("xor")
    run = train.make_run(MODEL, train.Data(x, y), train.TrainConfig(epochs=20))
    key, hp = jax.random.key(3), train.hparams(lr=0.5)
    own = run(key, hp)
    given = run(key, hp, own.init_params)
    chex.assert_trees_all_equal(given.params, own.params)
    zero = jax.tree.map(jnp.zeros_like, own.init_params)
    from_zero = run(key, hp, zero)
    chex.assert_trees_all_equal(from_zero.init_params, zero)
    assert not np.allclose(np.asarray(from_zero.final_loss), np.asarray(own.final_loss))


def test_bad_inputs_get_clear_errors_and_ordinary_arrays_are_accepted():
    import numpy as np

    from xgnn_jax.core.mlp import MLP as _MLP
    from xgnn_jax.engine import train as train_lib

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # integer numpy data: converted, not a tracer error
    y = np.array([[0], [1], [1], [0]])
    run = train_lib.make_run(_MLP((2, 2, 1)), train_lib.Data(x, y), train_lib.TrainConfig(epochs=3))
    assert np.isfinite(float(run(jax.random.key(0), {"lr": 0.5}).final_loss))
    with pytest.raises(ValueError, match="hparams: unknown names"):
        run(jax.random.key(0), {"learning_rate": 0.5})
    with pytest.raises(ValueError, match="training set is empty"):
        train_lib.make_run(_MLP((2, 2, 1)), train_lib.Data(x[:0], y[:0]))
    with pytest.raises(ValueError, match="threshold"):
        train_lib.TrainConfig(threshold="a")
    assert train_lib.TrainConfig(mode="standard_bp").mode == "sgd"
    assert train_lib.TrainConfig(mode="accumulated_bp").mode == "full_batch"
