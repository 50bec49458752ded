"""The M-P neuron and the perceptron: gates, loss, updates, Novikoff's bound, non-uniqueness, XOR (C1-C5).

What is measured:

* C1: the book's AND, OR and NOT neurons ``y = step(w.x - theta)`` against their truth tables, the same neurons
  as one-layer MLPs with ``b = -theta`` (identical outputs), and sigmoid versions (weights and threshold scaled
  by 10, the threshold moved to the middle of the gap in ``w.x`` so no input sits on it; each output must be on
  the right side of 1/2 by more than 0.1).
* C2: the perceptron loss ``L = -sum_{i in M} y_i (w.x_i + b)`` at random hyperplanes on every data set: ``L >= 0``,
  and whether ``L = 0`` happens exactly when no point is misclassified, counting the boundary case of points *on*
  the hyperplane (``w = 0, b = 0``) separately.
* C3: along recorded runs, the chosen point's functional margin rises by exactly ``eta (|x_i|^2 + 1)`` per update.
* C4: ``datasets`` random separable data sets (``datasets.linearly_separable``, several margins), perceptron runs
  from zero with random and cyclic choice, vmapped over data sets: updates against Novikoff's bound
  ``(R / gamma)^2`` (margin of the known separator, on augmented vectors); and on one data set, the separating
  lines found from different keys, orders and initial values.
* C5: XOR from many initial values (dyadic, so arithmetic is exact), learning rates and both choice rules: every
  run ends with a repeated state, a proof that XOR is not separable; long runs without the proof never converge.
  AND and OR converge for contrast.

Quick setting: about 10-15 s on 2 CPU cores; full: about 2 minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.analysis import neurons
from xgnn_jax.analysis import perceptron as P
from xgnn_jax.data import datasets
from xgnn_jax.engine import train
from xgnn_jax.study import plotting, results
from xgnn_jax.study.registry import Study
from xgnn_jax.study.verdict import verdict


@dataclasses.dataclass(frozen=True)
class Config:
    """Quick setting by default; ``Config.full()`` for the full one."""

    seed: int = 0
    datasets_per_margin: int = 96  # random separable data sets per margin level (C2-C4)
    n: int = 40  # points per data set
    d: int = 2  # input dimension
    margins: tuple[float, ...] = (0.05, 0.1, 0.2)
    eta: float = 1.0
    replay_sets: int = 32  # data sets whose update sequence is replayed to check C3
    hyperplane_runs: int = 8  # runs on one data set for the non-uniqueness figure
    xor_runs: int = 64  # XOR runs per choice rule (C5)
    xor_max_epochs: int = 64  # cap for XOR runs with cycle detection (x 4 updates)
    xor_long_epochs: int = 2000  # runs without cycle detection: never converge?

    ESTIMATED_SECONDS = {"quick": 15, "full": 120}

    @classmethod
    def full(cls) -> Config:
        return cls(datasets_per_margin=1024, n=100, d=5, margins=(0.02, 0.05, 0.1, 0.2, 0.4), replay_sets=256,
                   xor_runs=1024, xor_max_epochs=256, xor_long_epochs=20000)


SIGMOID_SCALE = 10.0  # the sigmoid version uses 10 w and 10 theta, so it is nearly a step away from the threshold
SIGMOID_MARGIN = 0.1  # a sigmoid output counts as correct only when it is this far from 1/2, on the right side


def sigmoid_threshold(neuron) -> float:
    """The threshold for the sigmoid version of a gate neuron: the middle of the gap between the largest ``w.x`` of
    an input whose output is 0 and the smallest ``w.x`` of an input whose output is 1 (AND: 1.5, between 1 and 2).

    The book's step thresholds may sit *on* an input (AND: ``w.x = theta = 2`` at 11), where ``step(0) = 1`` is
    right but ``sigmoid(0) = 1/2`` decides nothing."""
    step = np.asarray(neurons.mp_neuron(neurons.XOR_X, neuron.w, neuron.theta, "step"))
    s = neurons.XOR_X @ np.asarray(neuron.w, np.float64)
    return float((s[step == 0].max() + s[step == 1].min()) / 2)


@jax.jit
def _gate_outputs(thetas):
    """The gate neurons' outputs on the four inputs: as M-P neurons (step), as one-layer MLPs, with a sigmoid
    (weights x ``SIGMOID_SCALE``, threshold ``thetas[name]`` x ``SIGMOID_SCALE``)."""
    x = jnp.asarray(neurons.XOR_X)
    out = {}
    for name, neuron in neurons.GATES.items():
        model, params = neurons.as_mlp(neuron, "step")
        out[name] = {"step": neurons.mp_neuron(x, neuron.w, neuron.theta, "step"),
                     "mlp": model.apply(params, x)[:, 0],
                     "sigmoid": neurons.mp_neuron(x, SIGMOID_SCALE * neuron.w, SIGMOID_SCALE * thetas[name],
                                                  "sigmoid")}
    return out


def _gates():
    """C1: truth tables of the book's gate neurons, as M-P neurons, as MLPs and with a sigmoid (correct only with a
    margin: ``|s - 1/2| > SIGMOID_MARGIN`` on the right side of 1/2)."""
    thetas = {name: sigmoid_threshold(n) for name, n in neurons.GATES.items()}
    rows = {}
    for name, o in jax.device_get(_gate_outputs({k: jnp.float32(v) for k, v in thetas.items()})).items():
        table = neurons.truth_table(name)
        signed = np.where(table > 0.5, 1.0, -1.0) * (np.asarray(o["sigmoid"], np.float64) - 0.5)
        rows[name] = {**o, "table": table, "step_ok": bool(np.all(o["step"] == table)),
                      "mlp_equal": bool(np.all(o["mlp"] == o["step"])), "sigmoid_theta": thetas[name],
                      "book_theta_on_input": bool(np.any(neurons.XOR_X @ np.asarray(neurons.GATES[name].w, np.float64)
                                                         == float(neurons.GATES[name].theta))),
                      "sigmoid_margin": float(signed.min()),
                      "sigmoid_ok": bool(signed.min() > SIGMOID_MARGIN)}
    return rows


def _fmt_q(a, q=(0, 50, 100), fmt="{:.3g}"):
    v = np.percentile(np.asarray(a, np.float64), q)
    return "/".join(fmt.format(t) for t in v)


def run(config: Config = Config(), out_dir=None, progress: bool = True) -> dict:
    t0 = time.perf_counter()
    cfg = config
    key = jax.random.key(cfg.seed)
    k_data, k_run, k_loss, k_xor, k_plane = jax.random.split(key, 5)
    verdicts, arrays, summary = [], {}, {}

    # ------------------------------------------------------------------ C1 gates
    gates = _gates()
    ok_c1 = all(g["step_ok"] and g["mlp_equal"] and g["sigmoid_ok"] for g in gates.values())
    verdicts.append(verdict(
        "C1", ok_c1, "Does the M-P neuron y = f(sum w_i x_i - theta) with the book's weights compute AND, OR, NOT?",
        "; ".join(f"{n}: step outputs {g['step'].astype(int).tolist()} vs truth table {g['table'].astype(int).tolist()}"
                  f"{' (MLP with b = -theta identical)' if g['mlp_equal'] else ' (MLP differs)'}"
                  f", sigmoid version (theta {g['sigmoid_theta']:g}) outputs "
                  f"{np.round(np.asarray(g['sigmoid'], np.float64), 3).tolist()}: "
                  f"{'correct' if g['sigmoid_ok'] else 'not correct'} with margin {g['sigmoid_margin']:.3f} from 1/2"
                  for n, g in gates.items()),
        setting="step: AND w=(1,1), theta=2; OR w=(1,1), theta=0.5; NOT x1 w=(-0.6,0), theta=-0.5; inputs 00, 01, "
                "10, 11; sigmoid version: same w, theta moved to the middle of the gap in w.x between the inputs "
                "with output 0 and 1"
                + "".join(f" (the book's {n} theta lies on an input, where the sigmoid gives exactly 1/2)"
                          for n, g in gates.items() if g["book_theta_on_input"])
                + f", weights and threshold x{SIGMOID_SCALE:g}; correct means every output on the right side of 1/2 "
                  f"by more than {SIGMOID_MARGIN}"))
    summary["gates"] = {n: {k: v for k, v in g.items()} for n, g in gates.items()}

    # ------------------------------------------------------------------ data sets with known separators
    margins = np.repeat(np.asarray(cfg.margins, np.float32), cfg.datasets_per_margin)
    num_sets = margins.size
    data = _fast(functools.partial(_prepare, n=cfg.n, d=cfg.d, margins=tuple(cfg.margins),
                                   per_margin=cfg.datasets_per_margin), k_data, k_loss)
    x_all, y_all = data["x"], data["y"]
    bound = np.asarray(data["bound"])
    # The cap lies above every bound, so a run stopped by the cap would contradict the theorem.
    max_epochs = int(np.ceil(bound.max() / cfg.n)) + 1

    # ------------------------------------------------------------------ C2 loss
    losses, strict = np.asarray(data["loss"]), np.asarray(data["strict"])
    loss_sep, loss_zero, m_zero = (np.asarray(data[k]) for k in ("loss_sep", "loss_zero", "m_zero"))
    nonneg = bool(np.all(losses >= 0) and np.all(loss_sep >= 0))
    iff_strict = bool(np.all((losses == 0) == (strict == 0)))
    boundary_cases = int(np.sum((loss_zero == 0) & (m_zero > 0)))
    sep_zero = bool(np.all(loss_sep == 0))
    ok_c2 = nonneg and iff_strict and sep_zero
    verdicts.append(verdict(
        "C2", ok_c2, "Is the perceptron loss L = -sum_{i in M} y_i (w.x_i + b) non-negative, and zero exactly when "
                     "nothing is misclassified?",
        f"{losses.size} random hyperplanes on {num_sets} data sets: min L = {losses.min() + 0.0:.3g} (>= 0: {nonneg}); "
        f"L = 0 exactly when no point is strictly on the wrong side: {iff_strict} "
        f"({int(np.sum(losses == 0))} zero-loss hyperplanes); the known separators give L = 0 on all sets: {sep_zero}. "
        f"But at w = 0, b = 0 every point lies on the hyperplane: M holds all {int(np.median(m_zero))} points "
        f"(median) while L = 0, on {boundary_cases} of {num_sets} sets",
        conditional=boundary_cases > 0,
        conditions="'misclassified' must mean strictly on the wrong side; points on the hyperplane are in the update "
                   "rule's set M (y_i(w.x_i + b) <= 0) but add nothing to L, so L = 0 does not mean the algorithm "
                   "has stopped (it starts that way from w = b = 0)",
        setting=f"d = {cfg.d}, n = {cfg.n}, (w, b) ~ N(0, I), 16 per data set"))
    summary["loss"] = {"min": losses.min() + 0.0, "zero_count": int(np.sum(losses == 0)), "iff_strict": iff_strict,
                       "boundary_cases": boundary_cases, "median_in_M_at_zero": int(np.median(m_zero))}
    arrays["loss_random_hyperplanes"] = losses

    # ------------------------------------------------------------------ C4 Novikoff (random and cyclic choice)
    # One batch per choice rule: the data sets (from zero, eta in {1, 1/2, 1/4, 1/8}: the count from zero does not
    # depend on eta), then h runs on data set 0 with other keys, then h runs on data set 0 in other orders from
    # other (dyadic) initial values.
    h = cfg.hyperplane_runs
    batch = _fast(functools.partial(_novikoff_batch, h=h, eta=cfg.eta), k_plane, k_run, x_all, y_all)
    nb = num_sets + 2 * h
    runs = {}
    for choice in P.CHOICES:
        runs[choice] = _fast(jax.vmap(lambda x, y, k, e, w0, b0, c=choice: P.perceptron(
            x, y, k, eta=e, w0=w0, b0=b0, choice=c, max_epochs=max_epochs + 64, detect_cycles=False)), *batch)
    counts = {c: np.asarray(r.num_updates)[:num_sets] for c, r in runs.items()}
    converged = {c: np.asarray(r.converged)[:num_sets] for c, r in runs.items()}
    within = {c: bool(np.all(counts[c] <= bound)) for c in counts}
    ratio = {c: counts[c] / bound for c in counts}
    all_conv = all(bool(v.all()) for v in converged.values())
    for c in counts:
        arrays[f"updates_{c}"] = counts[c]
        arrays[f"converged_{c}"] = converged[c]
    arrays["novikoff_bound"], arrays["R"], arrays["gamma"], arrays["margin_level"] = (
        bound, np.asarray(data["R"]), np.asarray(data["gamma"]), margins)
    etas = np.asarray(batch[3])
    arrays["eta"] = etas[:num_sets]

    # Non-uniqueness: data set 0 from different keys (random choice), orders and initial values (cyclic).
    picked = [(runs["random"], slice(num_sets, num_sets + h)), (runs["cyclic"], slice(num_sets + h, nb))]
    planes = np.concatenate([np.c_[np.asarray(r.w)[sl], np.asarray(r.b)[sl]] for r, sl in picked])
    plane_ok = np.concatenate([np.asarray(r.converged)[sl] for r, sl in picked])
    unit = planes / np.linalg.norm(planes, axis=1, keepdims=True)
    cos = np.clip(unit @ unit.T, -1, 1)
    distinct = _count_distinct(unit, tol=1e-4)
    max_angle = float(np.degrees(np.arccos(cos.min())))
    ok_c4 = all_conv and all(within.values()) and distinct > 1 and bool(plane_ok.all())
    fig_nov = fig_planes = None
    if out_dir is not None:
        fig_nov = _plot_novikoff(out_dir, bound, counts, margins)
        x0, y0 = np.asarray(x_all)[0], np.asarray(y_all)[0]
        fig_planes = _plot_planes(out_dir, x0, y0, planes, h) if cfg.d == 2 else None
    verdicts.append(verdict(
        "C4", ok_c4, "On separable data, is the number of perceptron updates at most (R/gamma)^2, and does the "
                     "hyperplane found depend on initial values and order?",
        f"{num_sets} data sets (margins {', '.join(f'{m:g}' for m in cfg.margins)}; bound (R/gamma)^2 min/median/max "
        f"{_fmt_q(bound)}): all runs converged: {all_conv}; "
        + "; ".join(f"{c} choice: updates min/median/max {_fmt_q(counts[c], fmt='{:.0f}')}, updates/bound "
                    f"median {np.median(ratio[c]):.3f}, max {ratio[c].max():.3f}, bound exceeded on "
                    f"{int(np.sum(counts[c] > bound))} sets" for c in counts)
        + f". On one data set, {2 * h} runs ({h} random keys, {h} cyclic runs from different initial values and "
          f"data orders) found {distinct} different separating hyperplanes (all separate: {bool(plane_ok.all())}; "
          f"largest angle between two of them {max_angle:.1f} degrees)",
        setting=f"datasets.linearly_separable, d = {cfg.d}, n = {cfg.n}, known separator through the origin; "
                f"w0 = 0, b0 = 0, eta in {{1, 1/2, 1/4, 1/8}}; cap above every bound; gamma is the margin of the "
                f"known (generating) separator, not the largest margin of the data, so (R/gamma)^2 is looser than "
                f"Novikoff's best bound and the updates/bound ratios above understate how close the updates come to it",
        figures=[f for f in (fig_nov, fig_planes) if f]))
    summary["novikoff"] = {c: {"updates_max": counts[c].max(), "updates_median": np.median(counts[c]),
                               "ratio_max": ratio[c].max(), "ratio_median": np.median(ratio[c]),
                               "within_bound": within[c], "all_converged": bool(converged[c].all())}
                           for c in counts}
    summary["novikoff"]["bound_median"] = np.median(bound)
    summary["non_uniqueness"] = {"runs": 2 * h, "distinct": distinct, "max_angle_deg": max_angle}
    arrays["hyperplanes"] = planes

    # ------------------------------------------------------------------ C3 update rule along the same runs
    r = min(cfg.replay_sets, num_sets)
    gains, expected = [], []
    for choice in P.CHOICES:
        g, e = _margin_gains_batch(x_all, y_all, runs[choice].chosen, etas, r)
        gains.append(np.asarray(g))
        expected.append(np.asarray(e))
    gains, expected = np.concatenate(gains), np.concatenate(expected)
    valid = ~np.isnan(expected)
    rel = np.abs(gains[valid] - expected[valid]) / expected[valid]
    ok_c3 = bool(rel.max() < 1e-4) and valid.sum() > 0
    verdicts.append(verdict(
        "C3", ok_c3, "Does each update w += eta y_i x_i, b += eta y_i raise the chosen point's y_i(w.x_i + b) by "
                     "exactly eta (|x_i|^2 + 1)?",
        f"{int(valid.sum())} updates replayed from {2 * r} runs (random and cyclic choice, eta in "
        f"{{1, 1/2, 1/4, 1/8}}): relative difference between the measured rise and eta (|x_i|^2 + 1) at most "
        f"{rel.max():.2e} (float32)",
        setting="states recomputed with perceptron.replay from the recorded sequence of chosen points"))
    summary["update_rule"] = {"updates_checked": int(valid.sum()), "max_rel_error": rel.max()}

    # ------------------------------------------------------------------ C5 XOR
    # One batch per choice rule: the XOR runs, then AND and OR from zero for contrast.
    n_x = cfg.xor_runs
    xor_batch = _fast(functools.partial(_xor_batch, n_x=n_x), k_xor)
    xor_res, others = {}, {}
    for choice in P.CHOICES:
        res = _fast(jax.vmap(lambda x, y, k, w0, b0, e, c=choice: P.perceptron(
            x, y, k, eta=e, w0=w0, b0=b0, choice=c, max_epochs=cfg.xor_max_epochs)), *xor_batch)
        xor_res[choice] = jax.tree.map(lambda a: a[:n_x], res)
        others[choice] = jax.tree.map(lambda a: a[n_x:], res)
    proofs = {c: np.asarray(rx.not_separable) for c, rx in xor_res.items()}
    conv_x = {c: np.asarray(rx.converged) for c, rx in xor_res.items()}
    first_rep = {c: np.asarray(rx.num_updates)[proofs[c]] for c, rx in xor_res.items()}
    cyc_len = {c: np.asarray(rx.cycle_length)[proofs[c]] for c, rx in xor_res.items()}
    long_n = min(n_x, 16)
    long_conv, long_mis = _fast(functools.partial(_xor_long_runs, long_n=long_n, epochs=cfg.xor_long_epochs),
                                *xor_batch)
    long_conv, long_mis = int(long_conv), np.asarray(long_mis)
    n_proofs = sum(int(v.sum()) for v in proofs.values())
    n_conv_short = sum(int(v.sum()) for v in conv_x.values())
    other_conv = bool(np.all(np.asarray(others["cyclic"].converged)) and np.all(np.asarray(others["random"].converged)))
    ok_c5 = n_conv_short + long_conv == 0 and n_proofs == 2 * n_x and other_conv
    fig_xor = _plot_xor(out_dir, long_mis) if out_dir is not None else None
    and_or = np.asarray(others["cyclic"].num_updates)
    verdicts.append(verdict(
        "C5", ok_c5, "Does a single perceptron fail to converge on XOR?",
        f"{2 * n_x} XOR runs (random and cyclic choice, dyadic initial values, eta 1 or 1/2): converged "
        f"{n_conv_short}, ended with a repeated state (a proof of non-separability) {n_proofs}; "
        + "; ".join(f"{c}: state repeats after {_fmt_q(first_rep[c], fmt='{:.0f}')} updates (min/median/max), cycle "
                    f"length {_fmt_q(cyc_len[c], fmt='{:.0f}')}" for c in proofs if proofs[c].any())
        + f". {long_n} further random-choice runs without the cycle check for {4 * cfg.xor_long_epochs} updates: "
          f"converged {long_conv}, fewest misclassified points ever reached {int(long_mis.min())} of 4. "
          f"For contrast AND and OR converge after {int(and_or[0])} and {int(and_or[1])} updates (cyclic, from "
          f"zero): {other_conv}",
        setting="XOR inputs 00, 01, 10, 11 with labels -1, +1, +1, -1; cap with cycle check "
                f"{4 * cfg.xor_max_epochs} updates",
        figures=[fig_xor] if fig_xor else []))
    summary["xor"] = {"runs": 2 * n_x, "converged": n_conv_short + long_conv, "proofs": n_proofs,
                      "long_runs": long_n, "long_updates": 4 * cfg.xor_long_epochs,
                      "long_min_misclassified": int(long_mis.min()),
                      "describe_example": P.describe(jax.tree.map(lambda a: a[0], xor_res["cyclic"]))}
    for c in proofs:
        arrays[f"xor_not_separable_{c}"] = proofs[c]
        arrays[f"xor_updates_{c}"] = np.asarray(xor_res[c].num_updates)
        arrays[f"xor_cycle_length_{c}"] = np.asarray(xor_res[c].cycle_length)

    summary["verdicts"] = verdicts
    wall = time.perf_counter() - t0
    return results.finish(STUDY, config, summary, out_dir, arrays=arrays, wall_time_s=wall, seed=cfg.seed)


def _fast(fn, *args):
    """Compile ``fn`` for ``args`` with XLA's fast-compile setting (:func:`xgnn_jax.engine.train.compile_run`), run it,
    and return the runs on the host."""
    compiled, _ = train.compile_run(fn, *args)
    return jax.device_get(compiled(*args))


def _prepare(k_data, k_loss, n, d, margins, per_margin):
    """The data sets (per margin level), their Novikoff bounds, and the loss at random and special hyperplanes."""
    keys = jax.random.split(k_data, len(margins) * per_margin).reshape(len(margins), per_margin)
    xs, ys, ws = [], [], []
    for i, m in enumerate(margins):
        x, y = jax.vmap(lambda k, m=m: datasets.linearly_separable(k, n, d, float(m), signed=True))(keys[i])
        xs.append(x)
        ys.append(y[..., 0])
        ws.append(jax.vmap(lambda k: datasets.separating_hyperplane(k, d))(keys[i]))
    x, y, w = jnp.concatenate(xs), jnp.concatenate(ys), jnp.concatenate(ws)
    b = jnp.zeros(x.shape[0])
    nov = jax.vmap(P.novikoff_bound)(x, y, w, b)
    wb = jax.random.normal(k_loss, (x.shape[0], 16, d + 1))

    def per_plane(fn):
        return jax.vmap(lambda x, y, W: jax.vmap(lambda v: fn(v[:-1], v[-1], x, y))(W))(x, y, wb)

    zero = jnp.zeros(d)
    return {
        "x": x, "y": y, "R": nov.R, "gamma": nov.gamma, "bound": nov.bound,
        "loss": per_plane(P.loss),
        "strict": per_plane(lambda w, b, x, y: jnp.sum(P.functional_margins(w, b, x, y) < 0)),
        "loss_sep": jax.vmap(P.loss)(w, b, x, y),
        "loss_zero": jax.vmap(lambda x, y: P.loss(zero, 0.0, x, y))(x, y),
        "m_zero": jax.vmap(lambda x, y: jnp.sum(P.misclassified(zero, 0.0, x, y)))(x, y),
    }


def _novikoff_batch(k_plane, k_run, x_all, y_all, h, eta):
    """Arguments of the batched runs: the data sets from zero (eta in {1, 1/2, 1/4, 1/8}), then ``h`` runs on data
    set 0 with other keys, then ``h`` runs on data set 0 in other orders from other dyadic initial values."""
    num_sets, n, d = x_all.shape
    kk = jax.random.split(k_plane, 4)
    perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(kk[2], h))
    x0, y0 = x_all[0], y_all[0]
    xb = jnp.concatenate([x_all, jnp.broadcast_to(x0, (h, n, d)), x0[perms]])
    yb = jnp.concatenate([y_all, jnp.broadcast_to(y0, (h, n)), y0[perms]])
    nb = num_sets + 2 * h
    w0b = jnp.zeros((nb, d)).at[num_sets + h:].set(jnp.round(4 * jax.random.normal(kk[0], (h, d))) / 4)
    b0b = jnp.zeros(nb).at[num_sets + h:].set(jnp.round(4 * jax.random.normal(kk[1], (h,))) / 4)
    etas = (2.0 ** -jax.random.randint(kk[3], (nb,), 0, 4)).astype(jnp.float32).at[num_sets:].set(eta)
    return xb, yb, jax.random.split(k_run, nb), etas, w0b, b0b


def _xor_batch(k_xor, n_x):
    """Arguments of the batched gate runs: ``n_x`` XOR runs from dyadic starts (eta 1 or 1/2), then AND and OR."""
    gates = {g: datasets.logic_gate(g) for g in ("xor", "and", "or")}
    kx = jax.random.split(k_xor, 3)
    xg = jnp.concatenate([jnp.broadcast_to(gates["xor"].x, (n_x, 4, 2)), gates["and"].x[None], gates["or"].x[None]])
    yg = jnp.concatenate([jnp.broadcast_to(P.labels_pm1(gates["xor"].y), (n_x, 4)),
                          P.labels_pm1(gates["and"].y)[None], P.labels_pm1(gates["or"].y)[None]])
    w0s = jnp.zeros((n_x + 2, 2)).at[:n_x].set(jnp.round(4 * jax.random.normal(kx[0], (n_x, 2))) / 4)
    b0s = jnp.zeros(n_x + 2).at[:n_x].set(jnp.round(4 * jax.random.normal(kx[1], (n_x,))) / 4)
    eta_x = jnp.where(jnp.arange(n_x + 2) % 2 == 0, 1.0, 0.5).at[n_x:].set(1.0)
    return xg, yg, jax.random.split(kx[2], n_x + 2), w0s, b0s, eta_x


def _xor_long_runs(xg, yg, keys, w0s, b0s, eta, long_n, epochs):
    """``long_n`` random-choice XOR runs without the cycle check: how many converged, and the number of
    misclassified points after every update ``(long_n, 4 epochs)``."""
    x, y = xg[0], yg[0]
    res = jax.vmap(lambda k, w0, b0: P.perceptron(x, y, k, w0=w0, b0=b0, choice="random", max_epochs=epochs,
                                                  detect_cycles=False))(keys[:long_n], w0s[:long_n], b0s[:long_n])
    ws, bs = jax.vmap(lambda c, w0, b0: P.replay(x, y, c, 1.0, w0, b0))(res.chosen, w0s[:long_n], b0s[:long_n])
    mis = jnp.sum(y * (jnp.einsum("rtd,nd->rtn", ws, x) + bs[..., None]) <= 0, axis=-1)
    return jnp.sum(res.converged), mis


def _count_distinct(unit: np.ndarray, tol: float) -> int:
    reps: list[np.ndarray] = []
    for u in unit:
        if all(np.linalg.norm(u - r) > tol for r in reps):
            reps.append(u)
    return len(reps)


def _margin_gains(x, y, chosen, eta):
    """For each recorded update: the rise of the chosen point's margin, and ``eta (|x_i|^2 + 1)`` (NaN: no update)."""
    ws, bs = P.replay(x, y, chosen, eta)
    w_prev = jnp.concatenate([jnp.zeros((1, x.shape[1]), x.dtype), ws[:-1]])
    b_prev = jnp.concatenate([jnp.zeros((1,), x.dtype), bs[:-1]])
    i = jnp.maximum(chosen, 0)
    xi, yi = x[i], y[i]
    gain = yi * (jnp.sum(ws * xi, axis=1) + bs) - yi * (jnp.sum(w_prev * xi, axis=1) + b_prev)
    expected = jnp.where(chosen >= 0, eta * (jnp.sum(xi * xi, axis=1) + 1.0), jnp.nan)
    return gain, expected


@functools.partial(jax.jit, static_argnames=("r",))
def _margin_gains_batch(x, y, chosen, eta, r):
    """:func:`_margin_gains` for the first ``r`` runs."""
    return jax.vmap(_margin_gains)(x[:r], y[:r], chosen[:r], eta[:r])


def _plot_novikoff(out_dir, bound, counts, margins):
    fig, ax = plotting.figure(width=5.5, height=4.2)
    for c, marker in zip(counts, ("o", "x"), strict=False):
        ax.scatter(bound, np.maximum(counts[c], 0.8), s=10, alpha=0.5, marker=marker, label=f"{c} choice")
    lim = [min(bound.min(), 1) * 0.8, bound.max() * 1.2]
    ax.plot(lim, lim, "k--", lw=1, label="updates = (R/gamma)^2")
    ax.set(xscale="log", yscale="log", xlabel="Novikoff bound (R/gamma)^2 (updates)",
           ylabel="updates made (count)", title="Perceptron updates vs Novikoff's bound")
    ax.legend(fontsize=8)
    return plotting.save(fig, f"{out_dir}/perceptron_novikoff.png")


def _plot_planes(out_dir, x, y, planes, h):
    fig, ax = plotting.figure(width=5.0, height=4.6)
    ax.scatter(x[y > 0, 0], x[y > 0, 1], c="tab:blue", marker="o", s=18, label="y = +1")
    ax.scatter(x[y < 0, 0], x[y < 0, 1], c="tab:red", marker="s", s=18, label="y = -1")
    xs = np.linspace(x[:, 0].min() - 0.2, x[:, 0].max() + 0.2, 50)
    for j, (w1, w2, b) in enumerate(planes):
        style = "-" if j < h else ":"
        lab = ("random order, different keys" if j == 0 else "cyclic, different starts and orders" if j == h
               else None)
        if abs(w2) > 1e-9:
            ax.plot(xs, -(w1 * xs + b) / w2, style, lw=1, color="k" if j < h else "tab:green", label=lab)
    ax.set(xlim=(x[:, 0].min() - 0.2, x[:, 0].max() + 0.2), ylim=(x[:, 1].min() - 0.2, x[:, 1].max() + 0.2),
           xlabel="x1", ylabel="x2", title="Separating lines found by the perceptron")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    return plotting.save(fig, f"{out_dir}/perceptron_hyperplanes.png")


def _plot_xor(out_dir, mis):
    fig, ax = plotting.figure(width=5.5, height=3.6)
    counts = np.bincount(np.asarray(mis).ravel(), minlength=5)[:5]
    ax.bar(np.arange(5), counts / counts.sum(), color="tab:gray", label=f"{mis.shape[0]} runs x {mis.shape[1]} updates")
    zero = (f"0 misclassified in none of {counts.sum()} states" if counts[0] == 0
            else f"0 misclassified in {counts[0]} of {counts.sum()} states")
    ax.set(xlabel="misclassified XOR points after an update (of 4)", ylabel="fraction of updates",
           title=f"Perceptron on XOR: {zero}", xticks=range(5))
    ax.legend(fontsize=8)
    return plotting.save(fig, f"{out_dir}/perceptron_xor.png")


STUDY = Study(
    name="perceptron",
    title="M-P neuron and perceptron: gates, loss, update rule, Novikoff's bound, XOR",
    claims=("C1", "C2", "C3", "C4", "C5"),
    config=Config,
    run=run,
    order=5,
    description=__doc__.split("\n\n")[0],
)
