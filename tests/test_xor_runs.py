import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import xor_runs as xr
from xgnn_jax.engine import train


def test_first_epoch_is_one_based_and_minus_one_when_never():
    flags = jnp.array([[False, True, True], [False, False, False], [True, False, True]])
    assert xr.first_epoch(flags).tolist() == [2, -1, 1]


def test_solve_outcome_reads_the_history_of_a_train_result():
    loss = jnp.array([0.5, 0.3, 0.019, 0.01, 0.02, 0.005, 0.004, 0.004, 0.004, 0.002])
    acc = jnp.array([0.5, 0.75, 1.0, 1.0, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0])
    params = ({"W": jnp.ones((2, 2)), "b": jnp.zeros(2)}, {"W": jnp.ones((2, 1)), "b": jnp.zeros(1)})
    res = train.TrainResult(params, params, {"loss": loss, "accuracy": acc}, loss[-1], acc[-1], jnp.nan,
                            jnp.asarray(False))
    out = xr.solve_outcome((("tss", 0.02), ("tiny", 1e-4)), keep_params=True)(res)
    assert int(out["epochs_tss"]) == 3 and int(out["epochs_tiny"]) == -1 and int(out["epochs_correct"]) == 3
    # loss drop over the last tenth: E_T = 0.002 against E at epoch 9 (0.004)
    assert float(out["loss_drop"]) == pytest.approx(0.5)
    assert jax.tree.structure(out["params"]) == jax.tree.structure(params)
    assert xr.solve_outcome((("tss", 0.02),), True) is xr.solve_outcome((("tss", 0.02),), True)


@pytest.mark.parametrize("mode", ["full_batch", "sgd"])
def test_the_fused_kernel_gives_solve_outcome_s_numbers(mode):
    # The literature study's sweeps run on the fused kernel: the probes must give what the history gives.
    from xgnn_jax.core.mlp import MLP
    from xgnn_jax.engine import fused, restarts
    from xgnn_jax.studies.literature import tasks

    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    run, outcome = tasks.run_and_outcome(model, 300, mode, keep=True)
    assert isinstance(run, fused.FusedRun) and run.probes.loss_targets == tuple(t for _, t in tasks.TARGETS)
    hp = {"lr": 2.0, "momentum": 0.5}
    fast = restarts.sweep(run, 3, 32, hp, outcome=outcome, progress=False)
    slow = restarts.sweep(train.make_run(model, tasks.DATA, tasks.train_config(300, mode)), 3, 32, hp,
                          outcome=xr.solve_outcome(tasks.TARGETS, True), progress=False)
    assert set(fast.outcomes) == set(slow.outcomes)
    for k in ("final_loss", "loss_drop"):
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-3, atol=1e-5, err_msg=k)
    np.testing.assert_array_equal(fast["final_accuracy"], slow["final_accuracy"])
    for k in ("epochs_correct", "epochs_tss", "epochs_rms"):
        assert np.abs(np.asarray(fast[k]) - np.asarray(slow[k])).max() <= 1, k
    assert (np.asarray(slow["epochs_tss"]) > 0).any()  # the epochs are compared on runs that get there
    with pytest.raises(ValueError, match="loss_targets"):
        fused.Probes(loss_targets=(0.0,))


def test_solve_outcome_rejects_bad_targets():
    with pytest.raises(ValueError, match="loss_targets"):
        xr.solve_outcome((("tss", -1.0),))
    with pytest.raises(ValueError, match="loss_targets"):
        xr.solve_outcome((("not a name", 1.0),))


def test_restart_chain_takes_the_first_attempt_within_the_plateau():
    # chains (run i, run 3 + i): 100 ok; 3000 > plateau -> 2500 + 400; both fail -> inf
    times = np.array([100, 3000, -1, 50, 400, 2600])
    total = xr.restart_chain(times, 2500, 2)
    assert total[0] == 100 and total[1] == 2900 and np.isinf(total[2])
    with pytest.raises(ValueError, match="plateau"):
        xr.restart_chain(times, 0)


def test_median_interval_covers_the_median_and_matches_order_statistics():
    x = np.arange(1, 101, dtype=float)
    m, lo, hi = xr.median_interval(x)
    assert m == 50.5 and lo < m < hi
    # Binomial(100, 1/2): the 95% order-statistic interval is [x_(40), x_(61)].
    assert (lo, hi) == (40.0, 61.0)
    m, lo, hi = xr.median_interval([1.0, 2.0, np.inf, np.inf, np.inf])
    assert np.isinf(m)
    with pytest.raises(ValueError, match="NaN"):
        xr.median_interval([1.0, np.nan])


def test_fraction_rules():
    assert xr.fractions_agree(5, 30, 5, 30)
    assert not xr.fractions_agree(0, 1000, 500, 1000)
    p, lo, hi = xr.fraction(7, 128)
    assert lo < p < hi


def test_median_consistent_is_strict_for_many_runs_and_loose_for_few():
    ours = np.arange(1, 1001, dtype=float)
    assert xr.median_consistent(ours, 500.0, 30)[3]
    assert not xr.median_consistent(ours, 900.0, 30)[3]
    assert xr.median_consistent(ours, 650.0, 30)[3]
    assert not xr.median_consistent(ours, 650.0, 1000)[3]
    with pytest.raises(ValueError, match="n_published"):
        xr.median_consistent(ours, 1.0, 0)


def test_value_in_range_and_slope():
    lo, hi, ok = xr.value_in_range(np.arange(1000.0), 500.0)
    assert ok and lo < 50 and hi > 950
    assert not xr.value_in_range(np.arange(1000.0), 2000.0)[2]
    rng = np.random.default_rng(0)
    widths = [2, 4, 8, 16]
    samples = [280 - 33 * np.log2(h) + rng.normal(0, 5, 200) for h in widths]
    b, a, lo, hi = xr.log2_slope(widths, samples)
    assert lo <= -33 <= hi and abs(a - 280) < 10


def test_boundary_fraction_and_time_classes():
    smooth = np.zeros((8, 8), int)
    smooth[:, 4:] = 1
    assert xr.boundary_fraction(smooth) == pytest.approx(8 / 112)
    checker = np.indices((8, 8)).sum(0) % 2
    assert xr.boundary_fraction(checker) == 1.0
    assert xr.time_classes([1, 2, 3, 4, -1]).tolist() == [0, 1, 1, 2, -1]
    with pytest.raises(ValueError, match="labels"):
        xr.boundary_fraction(np.zeros(4))
