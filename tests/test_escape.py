import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.analysis import escape
from xgnn_jax.core.mlp import MLP

XOR_X = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32)
XOR_Y = jnp.array([[0], [1], [1], [0]], jnp.float32)


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


def test_flatten_batch_matches_ravel_pytree_and_round_trips(xor_problem):
    from jax.flatten_util import ravel_pytree

    theta = escape.draw_starts(xor_problem, jax.random.key(2), 3, 1.0)
    assert theta.shape == (3, xor_problem.size)
    params = escape.unflatten_batch(xor_problem, theta)
    flat = escape.flatten_batch(params)
    np.testing.assert_array_equal(flat, theta)
    np.testing.assert_array_equal(flat[1], ravel_pytree(jax.tree.map(lambda a: a[1], params))[0])
    with pytest.raises(ValueError, match="params"):
        escape.flatten_batch({})
