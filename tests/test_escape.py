import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import escape
from xgnn_jax.core.mlp import MLP

XOR_X = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32)
XOR_Y = jnp.array([[0], [1], [1], [0]], jnp.float32)


def test_wilson_interval_known_values():
    lo, hi = escape.wilson_interval(5, 10)
    assert float(lo) == pytest.approx(0.2366, abs=1e-4) and float(hi) == pytest.approx(0.7634, abs=1e-4)
    lo, hi = escape.wilson_interval(0, 10)
    assert float(lo) == 0.0 and float(hi) == pytest.approx(0.2775, abs=1e-4)
    lo, hi = escape.wilson_interval(np.array([0, 3]), np.array([0, 3]))
    assert lo.tolist()[0] == 0.0 and hi.tolist()[0] == 1.0 and hi[1] == 1.0 and lo[1] < 1.0
    with pytest.raises(ValueError, match="successes"):
        escape.wilson_interval(4, 3)


def test_best_of_k_keeps_the_lowest_loss_member_of_each_group():
    solved = np.array([0, 1, 0, 0, 1, 1, 0, 0], bool)
    losses = np.array([0.1, 0.2, 0.5, 0.6, 0.3, 0.01, 0.9, np.nan])
    out = escape.best_of_k(solved, losses, [1, 2, 4])
    assert out["groups"].tolist() == [8, 4, 2]
    np.testing.assert_allclose(out["measured"], [3 / 8, 1 / 4, 1 / 2])   # group 1 of k=2: the failure has lower loss
    np.testing.assert_allclose(out["any"], [3 / 8, 2 / 4, 2 / 2])
    np.testing.assert_allclose(out["predicted"], [1 - (5 / 8) ** k for k in (1, 2, 4)])
    assert np.all(out["lo"] <= out["measured"]) and np.all(out["measured"] <= out["hi"])
    with pytest.raises(ValueError, match="ks"):
        escape.best_of_k(solved, losses, [9])


def test_cost_per_success():
    assert escape.cost_per_success([10, 10, 30, 30], [1, 0, 1, 0]) == pytest.approx(40.0)
    assert escape.cost_per_success([10], [0]) == float("inf")


@pytest.fixture(scope="module")
def xor_problem():
    model = MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)")
    return escape.make_problem(model, XOR_X, XOR_Y)


def test_gradient_descent_stops_counting_at_the_first_success_and_stays_at_a_stationary_point(xor_problem):
    pr = xor_problem
    run = jax.jit(jax.vmap(lambda k, th, noise: escape.gradient_descent(pr, k, th, steps=3000, lr=2.0, noise=noise)))
    keys = jax.random.split(jax.random.key(0), 3)
    theta = jnp.stack([jnp.zeros(pr.size), pr.init(jax.random.key(5), 1.0), jnp.zeros(pr.size)])
    out = run(keys, theta, jnp.array([0.0, 0.0, 1.0]))
    # The all-zero point is stationary for XOR: plain GD never leaves it, and it pays the whole budget.
    assert not bool(out.solved[0]) and float(out.evals[0]) == 3000.0
    np.testing.assert_allclose(out.theta[0], 0.0, atol=1e-6)
    # Gradient noise pushes the point off the stationary point (and usually to a solution).
    assert float(jnp.max(jnp.abs(out.theta[2]))) > 0.1
    for i in (1, 2):
        if bool(out.solved[i]):
            assert float(out.evals[i]) < 3000 and bool(pr.solved(out.theta[i]))


def test_per_example_sgd_counts_one_evaluation_per_epoch(xor_problem):
    pr = xor_problem
    out = jax.jit(lambda k: escape.gradient_descent(pr, k, jnp.zeros(pr.size), steps=50, lr=0.1,
                                                   per_example=True))(jax.random.key(0))
    assert float(out.evals) == 50.0 and not bool(out.solved)
    assert float(jnp.max(jnp.abs(out.theta))) > 0   # one example at a time is not stationary at zero


def test_annealing_at_zero_temperature_never_accepts_a_worse_point_and_hot_annealing_does(xor_problem):
    pr = xor_problem
    theta0 = pr.init(jax.random.key(2), 1.0)

    @jax.jit
    def both(key):
        cold = escape.simulated_annealing(pr, key, theta0, steps=200, step_size=0.5, t_start=1e-9, t_end=1e-9)
        hot = escape.simulated_annealing(pr, key, theta0, steps=200, step_size=0.5, t_start=1e3, t_end=1e3)
        return cold, hot

    cold, hot = both(jax.random.key(0))
    if not bool(cold.solved):
        assert float(cold.loss) == pytest.approx(float(cold.best_loss))    # monotone: the end is the best seen
        assert float(cold.loss) <= float(pr.loss(theta0))
        assert float(cold.evals) == 200.0
    # At a huge temperature almost every proposal is accepted: a random walk far from the start.
    assert float(jnp.linalg.norm(hot.theta - theta0)) > 3.0


def test_genetic_algorithm_elitism_and_evaluation_count(xor_problem):
    pr = xor_problem
    theta0 = pr.init(jax.random.key(4), 1.0)
    out = jax.jit(lambda k: escape.genetic_algorithm(pr, k, generations=30, population=16, mutation=0.5,
                                                     theta0=theta0))(jax.random.key(0))
    evals = float(out.evals)
    assert evals % 16 == 0 and 16 <= evals <= 16 * 31
    assert bool(out.solved) or evals == 16 * 31
    # The best member is kept (elitism): the returned point is the lowest loss seen, no worse than the start.
    assert float(out.loss) == pytest.approx(float(out.best_loss), rel=1e-6)
    assert float(out.loss) <= float(pr.loss(theta0)) + 1e-6
    with pytest.raises(ValueError, match="population"):
        escape.genetic_algorithm(pr, jax.random.key(0), generations=3, population=2)


def test_mcnemar_exact_counts_discordant_pairs():
    a = np.array([1, 1, 1, 1, 1, 1, 0, 0], bool)
    b = np.array([1, 1, 0, 0, 0, 0, 0, 0], bool)
    out = escape.mcnemar_exact(a, b)
    assert (out["a_only"], out["b_only"]) == (4, 0)
    assert out["p"] == pytest.approx(2 / 16)                  # 2 * P(Bin(4, 1/2) <= 0)
    assert escape.mcnemar_exact(a, a)["p"] == 1.0             # no discordant pair
    big = np.arange(40) < 30
    assert escape.mcnemar_exact(big, ~big)["p"] < 0.01        # 30 vs 10 discordant
    with pytest.raises(ValueError, match="solved_b"):
        escape.mcnemar_exact(a, b[:3])


def test_bootstrap_cost_per_success_is_paired_by_seed_and_resamples_groups():
    rng = np.random.default_rng(1)
    evals = rng.uniform(10, 100, 50)
    solved = rng.uniform(size=50) < 0.5
    reps = escape.bootstrap_cost_per_success(evals, solved, n_boot=500, seed=3)
    assert reps.shape == (500,)
    point = escape.cost_per_success(evals, solved)
    assert np.quantile(reps, 0.025) < point < np.quantile(reps, 0.975)
    # same seed, same starts: a strategy twice as expensive on every attempt gives a ratio of exactly 2
    ratio = escape.bootstrap_cost_per_success(2 * evals, solved, n_boot=500, seed=3) / reps
    np.testing.assert_allclose(ratio, 2.0)
    # never a success: every replicate is infinite
    assert np.all(np.isinf(escape.bootstrap_cost_per_success(evals, np.zeros(50, bool), n_boot=10)))
    # groups: 2 groups that are each all-or-nothing give only three possible costs
    g = np.repeat([0, 1], 25)
    reps_g = escape.bootstrap_cost_per_success(np.ones(50), g == 0, n_boot=200, seed=0, groups=g)
    assert set(np.unique(reps_g)) <= {1.0, 2.0, np.inf}
    with pytest.raises(ValueError, match="groups"):
        escape.bootstrap_cost_per_success(evals, solved, groups=g[:10])
