"""Ways out of a bad end point, compared on equal compute: restarts, simulated annealing, noise, a genetic algorithm.

The chapter names three (C17): train from several random initialisations and keep the best; simulated annealing
(accept a worse point with a probability that falls over time); stochastic gradient descent. The book also names
genetic algorithms. Each method here is a pure function of a key (and, for the local ones, a starting point),
built on ``lax.scan`` and vmappable over attempts, that works on the flattened parameters ``theta: (P,)`` of a
:class:`Problem`.

Success and stopping. An attempt *succeeds* as soon as its current point classifies every training example
correctly (the book's goal for XOR); it stops there, so ``evals`` counts the compute used until the first
success (or the whole budget on failure). Compute is counted in **full-batch evaluations**: one gradient of
``E`` over the m examples = 1, one loss evaluation over the m examples = 1 (a forward pass is cheaper than a
gradient, so this favours the derivative-free methods slightly), one per-example gradient = 1/m. The cost per
success of a strategy whose attempts are independent is ``E[evals per attempt] / P(success)``; comparing
strategies on equal compute (attempts through the restart engine, bootstrap and McNemar) is
:mod:`xgnn_jax.analysis.escape_protocol`.

Methods:

* :func:`gradient_descent`: ``theta <- theta - eta (grad E(theta) + sigma_t xi)``, ``xi ~ N(0, I)``, with a decaying
  noise ``sigma_t^2 = sigma_0^2 / (1 + t)^gamma`` (Neelakantan et al. 2015 use gamma = 0.55); ``sigma_0 = 0`` is
  plain GD. ``per_example=True`` is the book's standard BP (per-example SGD): every epoch visits the m examples in
  a fresh random order, one update ``theta <- theta - eta grad E_k`` each.
* :func:`simulated_annealing`: Metropolis with Gaussian proposals ``theta' = theta + s xi``; a worse point is
  accepted with probability ``exp(-(E' - E) / T_t)``, ``T_t = T_0 (T_1 / T_0)^(t / (K - 1))`` falling
  geometrically; optionally followed by gradient-descent polishing steps.
* :func:`genetic_algorithm`: a population of parameter vectors, fitness ``-E``, elitism, binary tournament
  selection, uniform crossover and Gaussian mutation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from xgnn_jax.core import metrics
from xgnn_jax.core.mlp import objective

Array = jax.Array


# ---------------------------------------------------------------------------------------------- the problem
class Problem(NamedTuple):
    """A training problem on flat parameters ``theta: (P,)``.

    ``loss(theta)``: the objective ``E`` on all m examples; ``example_loss(theta, k)``: ``E_k`` on example ``k``;
    ``solved(theta)``: every example on the right side of the threshold; ``unravel``: ``theta -> params``;
    ``init(key, r)``: a flat draw of the model's initialiser scaled by ``r``; ``size``: P; ``m``: examples.
    """

    loss: Callable[[Array], Array]
    example_loss: Callable[[Array, Array], Array]
    solved: Callable[[Array], Array]
    unravel: Callable[[Array], Any]
    init: Callable[[Array, Array], Array]
    size: int
    m: int


def make_problem(model: Any, x: Array, y: Array, *, loss: str = "half_sse", reduction: str = "sum",
                 threshold: float = 0.5) -> Problem:
    """A :class:`Problem` for ``model`` (an MLP or ShortcutMLP) on ``x: (m, d), y: (m, k)``; the default objective
    is the book's ``E = 1/2 sum_k sum_j (y_hat_kj - y_kj)^2`` summed (not averaged) over the m examples."""
    model.check_input(x)
    J = objective(model, loss, reduction)
    theta_example, unravel = ravel_pytree(model.init(jax.random.key(0), dtype=x.dtype))
    size = int(theta_example.size)
    m = x.shape[0]

    def flat_init(key, r):
        return ravel_pytree(model.init(key, r, r, dtype=x.dtype))[0]

    return Problem(
        loss=lambda t: J(unravel(t), x, y),
        example_loss=lambda t, k: J(unravel(t), x[k][None], y[k][None]),
        solved=lambda t: jnp.all(metrics.correct(model.apply(unravel(t), x), y, threshold)),
        unravel=unravel,
        init=flat_init,
        size=size,
        m=m,
    )


class Outcome(NamedTuple):
    """One attempt: ``theta`` (the end point, or the point where it first succeeded), ``solved``, ``evals`` (full-
    batch evaluations until the first success or the end), ``loss`` (of ``theta``), ``best_loss`` (lowest seen)."""

    theta: Array
    solved: Array
    evals: Array
    loss: Array
    best_loss: Array


def _scan_until_solved(problem: Problem, step: Callable, state0: Any, theta_of: Callable, xs: Any,
                       evals_per_step: float, evals0: float = 0.0) -> Outcome:
    """Run ``step(state, x) -> state`` over ``xs``, freezing the state once ``solved(theta_of(state))``."""
    theta0 = theta_of(state0)
    done0 = problem.solved(theta0)
    l0 = problem.loss(theta0)

    def body(carry, x):
        state, done, evals, best = carry
        new = step(state, x)
        state = jax.tree.map(lambda a, b: jnp.where(done, a, b), state, new)
        evals = evals + jnp.where(done, 0.0, evals_per_step)
        th = theta_of(state)
        best = jnp.minimum(best, jnp.where(jnp.isfinite(problem.loss(th)), problem.loss(th), jnp.inf))
        return (state, done | problem.solved(th), evals, best), None

    (state, done, evals, best), _ = jax.lax.scan(body, (state0, done0, jnp.asarray(evals0, jnp.float32), l0), xs)
    th = theta_of(state)
    return Outcome(th, done, evals, problem.loss(th), best)


def gradient_descent(problem: Problem, key: Array, theta0: Array, *, steps: int, lr: Array,
                     noise: Array = 0.0, gamma: float = 0.55, per_example: bool = False) -> Outcome:
    """Plain, noisy or per-example gradient descent from ``theta0`` for ``steps`` full-batch steps or epochs
    (see module docstring). ``lr``, ``noise`` (``sigma_0``) may be traced arrays."""
    if steps <= 0:
        raise ValueError(f"steps: expected a positive number of steps, got {steps!r}")
    lr = jnp.asarray(lr, theta0.dtype)
    noise = jnp.asarray(noise, theta0.dtype)
    m = problem.m

    def step(state, inp):
        theta, t = state
        k, = inp
        if per_example:
            def one(th, idx):
                return th - lr * jax.grad(problem.example_loss)(th, idx), None
            kp, kn = jax.random.split(k)
            theta_new, _ = jax.lax.scan(one, theta, jax.random.permutation(kp, m))
        else:
            kn = k
            theta_new = theta - lr * jax.grad(problem.loss)(theta)
        sigma = noise / jnp.sqrt((1.0 + t) ** gamma)
        theta_new = theta_new - lr * sigma * jax.random.normal(kn, theta.shape, theta.dtype)
        return (theta_new, t + 1.0)

    return _scan_until_solved(problem, step, (theta0, jnp.zeros((), theta0.dtype)), lambda s: s[0],
                              (jax.random.split(key, steps),), 1.0)


def simulated_annealing(problem: Problem, key: Array, theta0: Array, *, steps: int, step_size: Array,
                        t_start: Array, t_end: Array, polish_steps: int = 0, polish_lr: Array = 0.5) -> Outcome:
    """Metropolis search from ``theta0`` with a geometrically falling temperature, then ``polish_steps`` of plain
    gradient descent (learning rate ``polish_lr``) from the last accepted point.

    Each step: ``theta' = theta + step_size xi``; accept when ``u < exp(-(E(theta') - E(theta)) / T_t)``, ``u ~ U(0,1)``
    (always when ``E`` falls). A non-finite ``E(theta')`` is rejected. Costs one loss evaluation per step.
    """
    if steps <= 0:
        raise ValueError(f"steps: expected a positive number of steps, got {steps!r}")
    if polish_steps < 0:
        raise ValueError(f"polish_steps: expected >= 0, got {polish_steps!r}")
    dtype = theta0.dtype
    t_start, t_end = jnp.asarray(t_start, dtype), jnp.asarray(t_end, dtype)
    frac = jnp.arange(steps, dtype=dtype) / max(steps - 1, 1)
    temps = t_start * (t_end / t_start) ** frac
    k_sa, k_pol = jax.random.split(key)

    def step(state, inp):
        theta, e = state
        k, temp = inp
        kp, ku = jax.random.split(k)
        prop = theta + step_size * jax.random.normal(kp, theta.shape, dtype)
        e_new = problem.loss(prop)
        accept = jnp.isfinite(e_new) & (jax.random.uniform(ku, (), dtype) < jnp.exp(-(e_new - e) / temp))
        return (jnp.where(accept, prop, theta), jnp.where(accept, e_new, e))

    out = _scan_until_solved(problem, step, (theta0, problem.loss(theta0)), lambda s: s[0],
                             (jax.random.split(k_sa, steps), temps), 1.0)
    if polish_steps == 0:
        return out
    pol = gradient_descent(problem, k_pol, out.theta, steps=polish_steps, lr=polish_lr)
    # An attempt already solved by the annealing phase keeps its point and its count (polishing stops at once).
    return Outcome(pol.theta, pol.solved, out.evals + pol.evals, pol.loss, jnp.minimum(out.best_loss, pol.best_loss))


def genetic_algorithm(problem: Problem, key: Array, *, generations: int, population: int = 32,
                      init_scale: Array = 1.0, mutation: Array = 0.3, mutation_rate: float = 0.2,
                      elite: int = 2, theta0: Array | None = None) -> Outcome:
    """A small genetic algorithm on parameter vectors (fitness ``-E``; the book's fourth way out).

    Initial population: draws of the model's initialiser scaled by ``init_scale`` (or, given ``theta0``, that
    point plus ``mutation`` noise). Each generation keeps the ``elite`` best, and fills the rest with children of
    two binary-tournament winners: uniform crossover, then each gene mutated with probability ``mutation_rate``
    by ``N(0, mutation^2)``. Costs ``population`` loss evaluations per generation (the initial one included).
    ``theta`` of the outcome is the best member.
    """
    if generations <= 0 or population < 4 or not 0 <= elite < population:
        raise ValueError(f"generations, population, elite: expected generations > 0, population >= 4 and "
                         f"0 <= elite < population, got {generations}, {population}, {elite}")
    k_init, k_run = jax.random.split(key)
    init_keys = jax.random.split(k_init, population)
    if theta0 is None:
        pop0 = jax.vmap(lambda k: problem.init(k, init_scale))(init_keys)
    else:
        noise = jax.vmap(lambda k: jax.random.normal(k, theta0.shape, theta0.dtype))(init_keys)
        pop0 = (theta0 + mutation * noise).at[0].set(theta0)
    n_child = population - elite

    def fitness(pop):
        e = jax.vmap(problem.loss)(pop)
        return jnp.where(jnp.isfinite(e), e, jnp.inf)

    def best_of(state):
        pop, e = state
        return pop[jnp.argmin(e)]

    def step(state, k):
        pop, e = state
        order = jnp.argsort(e)
        # One uniform and one normal draw per generation: every extra threefry call site costs seconds of
        # XLA compile time on CPU, and the draws below are all functions of these two.
        k1, k2 = jax.random.split(k)
        dim = pop.shape[1]
        u = jax.random.uniform(k1, (n_child, 4 + 2 * dim), pop.dtype)
        a = jnp.minimum((u[:, :4] * population).astype(jnp.int32), population - 1).reshape(n_child, 2, 2)
        winners = jnp.where(e[a[..., 0]] <= e[a[..., 1]], a[..., 0], a[..., 1])      # (n_child, 2) parents
        child = jnp.where(u[:, 4:4 + dim] < 0.5, pop[winners[:, 0]], pop[winners[:, 1]])
        mutate = u[:, 4 + dim:] < mutation_rate
        child = child + mutate * mutation * jax.random.normal(k2, child.shape, child.dtype)
        new = jnp.concatenate([pop[order[:elite]], child], axis=0)
        return (new, fitness(new))

    return _scan_until_solved(problem, step, (pop0, fitness(pop0)), best_of, jax.random.split(k_run, generations),
                              float(population), evals0=float(population))


# ---------------------------------------------------------------------------------------------- batches of points
def flatten_batch(params: Any) -> Array:
    """A batch of parameter pytrees (every leaf with a leading axis ``N``) as flat vectors ``(N, P)``, in
    :func:`jax.flatten_util.ravel_pytree`'s order (leaves in tree order, each raveled)."""
    leaves = jax.tree.leaves(params)
    if not leaves:
        raise ValueError("params: expected a pytree of arrays with a leading axis, got no arrays")
    n = jnp.shape(leaves[0])[0]
    return jnp.concatenate([jnp.reshape(jnp.asarray(a), (n, -1)) for a in leaves], axis=1)


def unflatten_batch(problem: Problem, theta: Array) -> Any:
    """Flat vectors ``theta: (N, P)`` back to a batch of parameter pytrees (inverse of :func:`flatten_batch`)."""
    return jax.vmap(problem.unravel)(jnp.asarray(theta))


def draw_starts(problem: Problem, key: Array, n: int, r: Any) -> Array:
    """``n`` flat draws ``(n, P)`` of the model's initialiser scaled by ``r``, from ``split(key, n)``."""
    return jax.vmap(lambda k: problem.init(k, r))(jax.random.split(key, n))
