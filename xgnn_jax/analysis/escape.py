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
success of a strategy whose attempts are independent is ``E[evals per attempt] / P(success)``
(:func:`cost_per_success`).

Methods:

* :func:`best_of_k`: the chance that the best (lowest-loss) of k independent runs succeeds, measured on disjoint
  groups of k finished restarts, against ``1 - (1 - p)^k`` from the single-run rate ``p``.
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

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from xgnn_jax.core import metrics
from xgnn_jax.core.mlp import objective

Array = jax.Array


# ---------------------------------------------------------------------------------------------- statistics
def wilson_interval(successes: Any, n: Any, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(lo, hi)`` for a binomial proportion (95% for ``z = 1.96``); arrays broadcast.

    ``center = (p + z^2 / 2n) / (1 + z^2 / n)``, ``half = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)``,
    with ``p = successes / n``. ``n = 0`` gives ``(0, 1)``.
    """
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if np.any(s < 0) or np.any(s > n):
        raise ValueError("successes: expected 0 <= successes <= n")
    safe = np.maximum(n, 1)
    p = s / safe
    denom = 1 + z**2 / safe
    center = (p + z**2 / (2 * safe)) / denom
    half = z * np.sqrt(p * (1 - p) / safe + z**2 / (4 * safe**2)) / denom
    lo, hi = np.clip(center - half, 0, 1), np.clip(center + half, 0, 1)
    return np.where(n > 0, lo, 0.0), np.where(n > 0, hi, 1.0)


def cost_per_success(evals: Any, solved: Any) -> float:
    """``mean(evals) / mean(solved)``: expected compute until the first success when attempts are repeated
    independently (``inf`` when nothing succeeded)."""
    evals, solved = np.asarray(evals, dtype=np.float64), np.asarray(solved, dtype=bool)
    p = solved.mean() if solved.size else 0.0
    return float(evals.mean() / p) if p > 0 else math.inf


def mcnemar_exact(solved_a: Any, solved_b: Any) -> dict[str, float]:
    """Exact McNemar test of two strategies run on the same (paired) starts: did they succeed equally often?

    Only the discordant pairs count: ``a_only`` (a succeeded, b failed) and ``b_only``. Under equal success
    probabilities ``a_only ~ Binomial(a_only + b_only, 1/2)``; the two-sided p-value is
    ``min(1, 2 P(X <= min(a_only, b_only)))`` (1 when there is no discordant pair).
    """
    a, b = np.asarray(solved_a, dtype=bool).ravel(), np.asarray(solved_b, dtype=bool).ravel()
    if a.shape != b.shape:
        raise ValueError(f"solved_b: expected the shape of solved_a {a.shape} (paired attempts), got {b.shape}")
    n10, n01 = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = n10 + n01
    tail = sum(math.comb(n, i) for i in range(min(n10, n01) + 1)) / 2.0**n if n else 1.0
    return {"a_only": n10, "b_only": n01, "p": float(min(1.0, 2.0 * tail))}


def bootstrap_cost_per_success(evals: Any, solved: Any, *, n_boot: int = 2000, seed: int = 0,
                               groups: Any = None) -> np.ndarray:
    """Bootstrap replicates ``(n_boot,)`` of :func:`cost_per_success` (``inf`` where a replicate has no success).

    Resamples the attempts with replacement, or, with ``groups: (A,)`` (e.g. the start point of each attempt, when
    several attempts share a start), whole groups (a cluster bootstrap: attempts from one start are not
    independent). The resampling depends only on ``seed`` and the number of attempts / groups, so two strategies
    bootstrapped with the same seed on the same paired starts get the same resamples: the ratio of their
    replicates is a paired bootstrap of the ratio of their costs.
    """
    evals, solved = np.asarray(evals, dtype=np.float64).ravel(), np.asarray(solved, dtype=bool).ravel()
    if evals.shape != solved.shape or evals.size == 0:
        raise ValueError(f"evals, solved: expected two non-empty arrays of one shape, got {evals.shape}, "
                         f"{solved.shape}")
    if n_boot < 1:
        raise ValueError(f"n_boot: expected a positive number of replicates, got {n_boot!r}")
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, evals.size, (n_boot, evals.size))
        e_sum, s_sum = evals[idx].sum(1), solved[idx].sum(1)
    else:
        g = np.asarray(groups).ravel()
        if g.shape != evals.shape:
            raise ValueError(f"groups: expected one group label per attempt {evals.shape}, got {g.shape}")
        _, gi = np.unique(g, return_inverse=True)
        ng = int(gi.max()) + 1
        ge, gs = np.bincount(gi, evals, ng), np.bincount(gi, solved.astype(np.float64), ng)
        idx = rng.integers(0, ng, (n_boot, ng))
        e_sum, s_sum = ge[idx].sum(1), gs[idx].sum(1)
    # cost = mean(evals) / mean(solved) = sum(evals) / sum(solved) on each replicate
    return np.where(s_sum > 0, e_sum / np.maximum(s_sum, 1), np.inf)


def best_of_k(solved: Any, losses: Any, ks: Any) -> dict[str, np.ndarray]:
    """Best of k restarts, measured on ``R // k`` disjoint groups of consecutive finished restarts.

    Returns, per ``k``: ``measured`` (fraction of groups whose lowest-loss member succeeded), ``any`` (fraction of
    groups with at least one success), ``groups`` (number of groups), Wilson bounds ``lo, hi`` of ``measured``,
    and ``predicted = 1 - (1 - p)^k`` with ``p`` the single-run success rate. Non-finite losses count as failures.
    """
    solved = np.asarray(solved, dtype=bool).ravel()
    losses = np.where(np.isfinite(np.asarray(losses, dtype=np.float64).ravel()), np.asarray(losses).ravel(), np.inf)
    if solved.shape != losses.shape:
        raise ValueError(f"losses: expected the shape of solved {solved.shape}, got {losses.shape}")
    ks = np.asarray(ks, dtype=np.int64).ravel()
    if np.any(ks < 1) or np.any(ks > solved.size):
        raise ValueError(f"ks: expected values between 1 and the number of restarts {solved.size}, got {ks}")
    p = solved.mean()
    out = {k: [] for k in ("k", "measured", "any", "groups", "lo", "hi", "predicted")}
    for k in ks:
        g = solved.size // k
        s = solved[: g * k].reshape(g, k)
        best = np.argmin(losses[: g * k].reshape(g, k), axis=1)
        hit = s[np.arange(g), best]
        lo, hi = wilson_interval(hit.sum(), g)
        for name, v in (("k", k), ("measured", hit.mean()), ("any", s.any(axis=1).mean()), ("groups", g),
                        ("lo", lo), ("hi", hi), ("predicted", 1 - (1 - p) ** k)):
            out[name].append(v)
    return {k: np.asarray(v) for k, v in out.items()}


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
