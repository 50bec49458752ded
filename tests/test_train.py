import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.core.shortcut import ShortcutMLP
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
    b = run_once(jax.random.key(1), train.hparams(lr=2.0, weight_scale=0.5))
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
    run = train.make_run(MODEL, train.Data(x, y), train.TrainConfig(epochs=2))
    with pytest.raises(ValueError, match="hparams: unknown name 'lrr'; this run takes bias_scale, learning_rate"):
        run(jax.random.key(0), {"lrr": 0.1})
    # an unregularised run would ignore a weight decay: refused, not ignored
    with pytest.raises(ValueError, match="unknown name 'weight_decay'"):
        run(jax.random.key(0), {"weight_decay": 0.1})


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



def test_measure_hook_records_each_epochs_start_and_gradient_and_changes_nothing_else():
    # Plain GD: theta_{e+1} = theta_e - lr g_e, with (theta_e, g_e) what the hook sees at epoch e + 1; the
    # gradient the full-batch update uses is the one the history's grad_norm measures one epoch earlier.
    x, y = datasets.logic_gate("xor")
    cfg, lr = train.TrainConfig(epochs=6), 0.5
    hook = lambda p, g: {"W0": p[0]["W"], "gW0": g[0]["W"], "g": train.global_norm(g)}  # noqa: E731
    key, hp = jax.random.key(2), train.hparams(lr=lr)
    plain = _run(train.make_run(MODEL, train.Data(x, y), cfg), key, hp)
    got = _run(train.make_run(MODEL, train.Data(x, y), cfg, measure=hook), key, hp)
    rec = got.history.pop("measure")
    chex.assert_trees_all_equal(got, plain)  # the hook adds a record, and changes no bit of the run
    assert rec["W0"].shape == (6, 2, 3) and rec["g"].shape == (6,)
    np.testing.assert_array_equal(rec["W0"][0], plain.init_params[0]["W"])
    np.testing.assert_allclose(rec["W0"][1:], rec["W0"][:-1] - lr * rec["gW0"][:-1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rec["g"][1:], plain.history["grad_norm"][:-1], rtol=1e-5)
    # Minibatch mode: the hook's gradient is the full-batch one at the epoch's start (one extra backward pass).
    mb = train.TrainConfig(epochs=4, mode="minibatch", batch_size=2)
    res = _run(train.make_run(MODEL, train.Data(x, y), mb, measure=hook), key, hp)
    np.testing.assert_allclose(res.history["measure"]["g"][1:], res.history["grad_norm"][:-1], rtol=1e-5)
    with pytest.raises(ValueError, match="measure: expected None or a callable"):
        train.make_run(MODEL, train.Data(x, y), cfg, measure="grad_norm")

def test_bad_inputs_get_clear_errors_and_ordinary_arrays_are_accepted():
    import numpy as np

    from xgnn_jax.core.mlp import MLP as _MLP
    from xgnn_jax.engine import train as train_lib

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # integer numpy data: converted, not a tracer error
    y = np.array([[0], [1], [1], [0]])
    run = train_lib.make_run(_MLP((2, 2, 1)), train_lib.Data(x, y), train_lib.TrainConfig(epochs=3))
    assert np.isfinite(float(run(jax.random.key(0), {"lr": 0.5}).final_loss))
    with pytest.raises(ValueError, match="hparams: unknown name 'learnig_rate'"):
        run(jax.random.key(0), {"learnig_rate": 0.5})
    with pytest.raises(ValueError, match="alias"):
        run(jax.random.key(0), {"learning_rate": 0.5, "lr": 0.5})
    with pytest.raises(ValueError, match="training set is empty"):
        train_lib.make_run(_MLP((2, 2, 1)), train_lib.Data(x[:0], y[:0]))
    with pytest.raises(ValueError, match="threshold"):
        train_lib.TrainConfig(threshold="a")
    assert train_lib.TrainConfig(mode="standard_bp").mode == "sgd"
    assert train_lib.TrainConfig(mode="accumulated_bp").mode == "full_batch"


# ---------------------------------------------------------------------------------------------- typed API
XOR = datasets.logic_gate("xor")


def _same(a, b):
    chex.assert_trees_all_equal(a.params, b.params)
    chex.assert_trees_all_equal(a.history, b.history)


def test_typed_optimizers_and_penalties_equal_their_names_bit_for_bit():
    """optax factories / spec objects / penalty objects compute exactly what the old string names computed."""
    import optax

    from xgnn_jax.engine import optimizers, penalties

    key = jax.random.key(4)
    cases = [  # (old spelling, new spelling, old hparams, new hparams)
        ({"optimizer": "sgd"}, {"optimizer": optax.sgd}, {"lr": 0.5}, {"learning_rate": 0.5}),
        ({"optimizer": "momentum"}, {"optimizer": optimizers.spec(optax.sgd, momentum=0.9)},
         {"lr": 0.5, "momentum": 0.8}, {"learning_rate": 0.5, "momentum": 0.8}),
        ({"optimizer": "momentum"}, {"optimizer": optax.sgd}, {"lr": 0.5, "momentum": 0.8},
         {"learning_rate": 0.5, "momentum": 0.8}),  # a momentum given to optax.sgd: heavy ball
        ({"optimizer": "adam"}, {"optimizer": optax.adam}, {"lr": 0.05}, {"learning_rate": 0.05}),
        ({"regularization": "l2", "penalize_bias": True}, {"regularization": penalties.L2(include_bias=True)},
         {"lr": 0.5, "weight_decay": 0.25}, {"lr": 0.5, "weight_decay": 0.25}),
        ({"regularization": "book"}, {"regularization": penalties.Book()}, {"lr": 0.5, "lam": 0.75},
         {"lr": 0.5, "lam": 0.75}),
    ]
    for old, new, hp_old, hp_new in cases:
        a = train.make_run(MODEL, XOR, train.TrainConfig(epochs=6, **old))(key, train.hparams(**hp_old))
        b = train.make_run(MODEL, XOR, train.TrainConfig(epochs=6, **new))(key, train.hparams(**hp_new))
        _same(a, b)
        assert not np.allclose(a.init_params[0]["W"], a.params[0]["W"])  # it trained
    # A ready GradientTransformation: nothing to sweep (0.5 is exact in float32, so the steps are identical).
    c = train.make_run(MODEL, XOR, train.TrainConfig(epochs=6, optimizer=optax.sgd(0.5)))(key)
    _same(c, train.make_run(MODEL, XOR, train.TrainConfig(epochs=6))(key, {"lr": 0.5}))


def test_hyperparameters_are_open_but_validated():
    import optax

    adam = train.make_run(MODEL, XOR, train.TrainConfig(epochs=2, optimizer=optax.adam))
    assert {"learning_rate", "b1", "b2", "eps", "weight_scale", "bias_scale"} <= set(adam.hyperparameters)
    assert adam.hyperparameters["learning_rate"] == np.float32(0.1)
    adam(0, {"eps": 1e-6, "b2": 0.99})  # the optimizer's own names are hyperparameters
    plain = train.make_run(MODEL, XOR, train.TrainConfig(epochs=2, optimizer="sgd"))
    assert set(plain.hyperparameters) == {"learning_rate", "weight_scale", "bias_scale"}
    with pytest.raises(ValueError, match="'momentum' given, but optimizer 'sgd' is plain gradient descent"):
        plain(0, {"lr": 0.1, "momentum": 0.9})
    with pytest.raises(ValueError, match="unknown name 'b1'"):
        plain(0, {"b1": 0.9})
    ready = train.make_run(MODEL, XOR, train.TrainConfig(epochs=2, optimizer=optax.sgd(0.1)))
    with pytest.raises(ValueError, match="unknown name 'lr'"):
        ready(0, {"lr": 0.1})
    l2 = train.TrainConfig(regularization="l2")
    assert train.check_hparams(l2, {"lr": [0.1, 0.2], "weight_decay": 0.1}) == {
        "learning_rate": [0.1, 0.2], "weight_decay": 0.1}
    with pytest.raises(ValueError, match=r"hparams\['weight_decay'\]: expected a finite non-negative"):
        train.check_hparams(l2, {"weight_decay": -1.0})
    for bad in ("lbfgs", 3):
        with pytest.raises(ValueError, match="optimizer"):
            train.TrainConfig(optimizer=bad)
    with pytest.raises(ValueError, match="regularization"):
        train.TrainConfig(regularization=object())
    # fingerprints: a config by names prints as it always did; a factory prints without a memory address
    import json

    assert repr(train.TrainConfig(optimizer="momentum")) == (
        "TrainConfig(epochs=100, mode='full_batch', batch_size=1, loss='half_sse', reduction=None, "
        "optimizer='momentum', threshold=0.5, shuffle=True, regularization='none', penalize_bias=False, "
        "early_stopping=False, patience=10, min_delta=0.0, val_metric='loss', record_grad_norm=True)")
    assert "0x" not in repr(train.TrainConfig(optimizer=optax.adam)) and "optax.adam" in repr(adam.config)
    assert json.loads(json.dumps(adam.config.describe()))["optimizer"]["factory"].endswith("adam")


@pytest.mark.parametrize("name, value, match", [
    ("lr", float("nan"), "learning_rate"), ("lr", float("inf"), "learning_rate"), ("lr", -1.0, "learning_rate"),
    ("lr", 0.0, "learning_rate"), ("learning_rate", [0.1, float("nan")], "one of the 2 grid values"),
    ("momentum", 1.5, "momentum"), ("weight_scale", float("inf"), "weight_scale"),
])
def test_bad_hyperparameter_values_are_refused_before_any_compile(name, value, match):
    with pytest.raises(ValueError, match=match):
        train.hparams(**{name: value})
    with pytest.raises(ValueError, match=match):
        train.check_hparams(train.TrainConfig(optimizer="momentum"), {name: value})


@pytest.mark.parametrize("kwargs, match", [
    ({"threshold": float("nan")}, "threshold: expected a finite number"),
    ({"epochs": -3}, "epochs"), ({"epochs": True}, "epochs"), ({"batch_size": -1}, "batch_size"),
    ({"min_delta": float("nan")}, "min_delta"), ({"patience": 1.5}, "patience"),
])
def test_bad_numeric_config_fields_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.TrainConfig(**kwargs)


def test_thresholds_outside_the_output_range_and_nan_targets_are_refused():
    from xgnn_jax.engine import fused, outcomes

    for thr in (1.5, 0.0, -0.5):
        with pytest.raises(ValueError, match="threshold: .* outside the range"):
            train.make_run(MODEL, XOR, train.TrainConfig(threshold=thr))
    linear = MLP((2, 1), output="identity")
    train.make_run(linear, XOR, train.TrainConfig(threshold=3.0))  # unbounded outputs: any finite threshold
    with pytest.raises(ValueError, match="target_loss"):
        fused.make_run(MODEL, XOR, train.TrainConfig(epochs=2), target_loss=float("nan"))
    res = train.make_run(MODEL, XOR, train.TrainConfig(epochs=2))(0)
    with pytest.raises(ValueError, match="target_loss"):
        outcomes.train_outcomes(res, float("nan"))


def test_any_model_following_the_protocol_trains():
    """A model with only init/apply and its own parameter layout plugs into make_run (L2 through weights())."""
    from xgnn_jax.core.model import Model

    class Logistic:  # y = sigmoid(x w + c), params {"w": (2, 1), "c": (1,)}
        output = "sigmoid"
        d_out = 1

        def init(self, key, weight_scale=1.0, bias_scale=1.0, dtype=jnp.float32):
            return {"w": weight_scale * jax.random.normal(key, (2, 1), dtype), "c": jnp.zeros((1,), dtype)}

        def apply(self, params, x):
            return jax.nn.sigmoid(x @ params["w"] + params["c"])

        def weights(self, params):
            return [params["w"]]

    model = Logistic()
    assert isinstance(model, Model)
    gate = datasets.logic_gate("and")
    cfg = train.TrainConfig(epochs=300, regularization="l2")
    res = train.make_run(model, gate, cfg)(0, {"lr": 5.0, "weight_decay": 1e-3})
    assert float(res.final_accuracy) == 1.0 and res.history["weight_norm"].shape == (300, 1)
    with pytest.raises(ValueError, match="model: expected a model with init"):
        train.make_run(object(), gate)


def test_train_state_is_a_named_tuple_and_data_is_the_one_dataset():
    assert train.TrainState._fields[:3] == ("params", "opt_state", "epoch")
    assert train.Data is datasets.Dataset
    s = _moons_splits()
    d = s.data()
    assert isinstance(d, datasets.Dataset) and d.has_val and d.val.x.shape == s.val.x.shape
    x, y = d  # unpacks as the training part
    assert x.shape == s.train.x.shape and y.shape == s.train.y.shape


def test_outcomes_count_steps_from_one_and_flag_saturation_apart():
    from xgnn_jax.engine import outcomes

    assert int(outcomes.first_step(jnp.array([False, True, True]))) == 2
    assert int(outcomes.first_step(jnp.array([False, False]))) == outcomes.NEVER == -1
    np.testing.assert_array_equal(outcomes.steps_to(jnp.array([[3.0, 1.0, 0.5], [3.0, jnp.nan, 2.0]]), 1.0),
                                  [2, -1])
    # Sigmoid XOR nets at lr 1e4 saturate: finite, gradient ~0, loss far from the target, units pinned.
    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    run = jax.vmap(train.make_run(model, XOR, train.TrainConfig(epochs=200)), in_axes=(0, None))
    big = jax.vmap(outcomes.train_outcomes)(run(jax.random.split(jax.random.key(0), 8), {"lr": 1e4}))
    assert not big["diverged"].any() and big["saturated"].mean() >= 0.5
    # A zero start is an exact critical point (every output 1/2): stuck, but not saturated.
    zero = MLP((2, 2, 1), weight_init="zeros", bias_init="zeros")
    stuck = outcomes.train_outcomes(train.make_run(zero, XOR, train.TrainConfig(epochs=5))(0, {"lr": 1.0}))
    assert float(stuck["final_grad_norm"]) < 1e-6 and not bool(stuck["saturated"])
    assert int(stuck["steps_to_target"]) == outcomes.NEVER


@pytest.mark.parametrize("optimizer, hp", [("momentum", {"lr": 2.0, "momentum": 0.7}),
                                           ("nesterov", {"lr": 1.0}),
                                           ("sgd", {"lr": 4.0})])
def test_fused_kernel_with_momentum_agrees_with_the_scan(optimizer, hp):
    from xgnn_jax.engine import fused, outcomes

    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    cfg = train.TrainConfig(epochs=80, optimizer=optimizer)
    keys = jax.random.split(jax.random.key(5), 8)
    scan = jax.vmap(lambda k: outcomes.train_outcomes(train.make_run(model, XOR, cfg)(k, hp), 0.05))(keys)
    fast = fused.make_run(model, XOR, cfg, target_loss=0.05)
    kernel = fast.batched(keys, {k: jnp.full((8,), v) for k, v in hp.items()}, 8)
    assert set(kernel) == set(scan)
    np.testing.assert_allclose(kernel["final_loss"], scan["final_loss"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(kernel["final_grad_norm"], scan["final_grad_norm"], rtol=1e-3, atol=1e-6)
    assert np.abs(np.asarray(kernel["steps_to_target"]) - np.asarray(scan["steps_to_target"])).max() <= 1
    np.testing.assert_array_equal(kernel["saturated"], scan["saturated"])
    assert float(jnp.std(scan["final_loss"])) > 0  # the restarts differ


def _scan_and_fused(model, cfg, hp, seed, probes, scan=True):
    """make_run (vmapped) and the fused kernel on XOR, 16 restarts in blocks of 8 from the same keys."""
    from xgnn_jax.engine import fused

    keys = jax.random.split(jax.random.key(seed), 16)
    res = jax.vmap(lambda k: train.make_run(model, XOR, cfg)(k, hp))(keys) if scan else None
    out = fused.make_run(model, XOR, cfg, target_loss=0.05, probes=probes).batched(
        keys, {k: jnp.full((16,), v) for k, v in hp.items()}, 8)
    return res, out


@pytest.mark.parametrize("model", [MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)"),
                                   ShortcutMLP()])
@pytest.mark.parametrize("optimizer, hp", [("momentum", {"lr": 2.0, "momentum": 0.9}), ("sgd", {"lr": 2.0})])
def test_fused_probes_give_what_the_history_holds(model, optimizer, hp):
    # The probes (values at chosen epochs, first solved epochs, parameters) against make_run's per-epoch history,
    # for the plain MLP and the shortcut net, summed loss as the minima study trains it.
    from xgnn_jax.engine import fused, outcomes

    cfg = train.TrainConfig(epochs=300, optimizer=optimizer, loss="half_sse", reduction="sum")
    probes = fused.Probes((100, 250, 300), params=True)
    res, out = _scan_and_fused(model, cfg, hp, 3, probes)
    h = res.history
    for i, e in enumerate(probes.epochs):
        np.testing.assert_allclose(out["loss_at"][:, i], h["loss"][:, e - 1], rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(out["accuracy_at"][:, i], h["accuracy"][:, e - 1])
        np.testing.assert_allclose(out["weight_norm_at"][:, i], h["weight_norm"][:, e - 1], rtol=1e-4, atol=1e-5)
    ok = h["accuracy"] >= 1
    solved, at_target = outcomes.first_step(ok), outcomes.first_step(ok & (h["loss"] <= 0.05))
    assert (np.asarray(solved) > 0).sum() >= 4  # the first epochs are compared on runs that get there
    assert np.abs(out["first_solved"] - solved).max() <= 1
    assert np.abs(out["first_solved_target"] - at_target).max() <= 1
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4), out["params"], res.params)
    jax.tree.map(np.testing.assert_array_equal, out["init_params"], res.init_params)


@pytest.mark.parametrize("m", [1, 2, 4, 17, 256])
def test_fused_permutation_ranks_are_jax_permutations(m):
    # The kernel's sort-free permutation must be JAX's, element for element (a JAX release that changes its
    # shuffle fails here, not silently in a study).
    from xgnn_jax.engine import fused

    keys = jax.random.split(jax.random.key(m), 64)
    ranks = np.asarray(fused.permutation_ranks(keys, m))  # (m, B)
    perms = np.asarray(jax.vmap(lambda k: jax.random.permutation(k, m))(keys))  # (B, m)
    for b in range(64):
        np.testing.assert_array_equal(perms[b][ranks[:, b]], np.arange(m))
    with pytest.raises(ValueError, match="m: expected"):
        fused.permutation_ranks(keys, fused.MAX_EXAMPLES + 1)


@pytest.mark.parametrize("m", [1, 2, 3, 17, 64, 65, 200])
def test_sort_free_epoch_order_is_jax_permutation(m):
    # make_run's epoch order (sort-free up to ORDER_MAX examples) must be jax.random.permutation, bit for bit.
    from xgnn_jax.engine import shuffle

    keys = jax.random.split(jax.random.key(100 + m), 32)
    ours = np.asarray(jax.jit(jax.vmap(lambda k: shuffle.permutation(k, m)))(keys))
    theirs = np.asarray(jax.vmap(lambda k: jax.random.permutation(k, m))(keys))
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


_MLP = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")


@pytest.mark.parametrize("model, mode, optimizer, hp, reduction, shuffle", [
    (_MLP, "sgd", "sgd", {"lr": 1.0}, "sum", True),
    (ShortcutMLP(), "sgd", "momentum", {"lr": 0.5, "momentum": 0.8}, "mean", True),
    (ShortcutMLP(), "sgd", "sgd", {"lr": 1.0}, "mean", False),
    (_MLP, "sgd", "adam", {"lr": 0.05, "b2": 0.99}, "sum", True),
    (ShortcutMLP(), "full_batch", "adam", {"lr": 0.05}, "sum", True),
    (_MLP, "full_batch", "adam", {"lr": 0.1, "b1": 0.5}, "mean", True)])
def test_fused_per_example_sgd_and_adam_follow_make_run(model, mode, optimizer, hp, reduction, shuffle):
    # Standard BP in the kernel: each restart's own order per epoch, drawn as make_run draws it, one update per
    # example at scale 1 whatever the reduction; Adam as optax computes it (full batch and per example); the
    # epoch-end values and the parameters follow make_run's.
    from xgnn_jax.engine import fused

    cfg = train.TrainConfig(epochs=200, mode=mode, optimizer=optimizer, loss="half_sse", reduction=reduction,
                            shuffle=shuffle)
    probes = fused.Probes((1, 50, 200), params=True)
    res, out = _scan_and_fused(model, cfg, hp, 7, probes)
    h = res.history
    for i, e in enumerate(probes.epochs):
        np.testing.assert_allclose(out["loss_at"][:, i], h["loss"][:, e - 1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["final_loss"], res.final_loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["final_grad_norm"], res.final_grad_norm, rtol=1e-3, atol=1e-5)
    # Adam divides by sqrt(v) where gradients vanish, which magnifies float32 rounding in a flat direction (in
    # float64 the parameters agree to 1e-14): a looser bound on the parameters, not on the losses.
    tol = {"rtol": 1e-2, "atol": 1e-3} if optimizer == "adam" else {"rtol": 1e-3, "atol": 1e-4}
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol), out["params"], res.params)
    assert float(jnp.std(res.final_loss)) > 1e-3  # the restarts differ
    if shuffle and mode == "sgd":  # the order matters: the stored order gives other results
        _, other = _scan_and_fused(model, dataclasses.replace(cfg, shuffle=False), hp, 7, None, scan=False)
        assert np.abs(np.asarray(other["final_loss"]) - np.asarray(out["final_loss"])).max() > 1e-4


def test_fused_probes_are_checked():
    from xgnn_jax.engine import fused

    with pytest.raises(ValueError, match="probes"):
        fused.Probes((0,))
    with pytest.raises(ValueError, match="probes: epochs \\[20\\]"):
        fused.make_run(MLP((2, 2, 1)), XOR, train.TrainConfig(epochs=10), probes=fused.Probes((5, 20)))
