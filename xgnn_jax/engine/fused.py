"""A fused kernel for many restarts of a tiny network: full-batch gradient descent, restart axis innermost.

For networks like the 2-2-1 XOR network, one restart's step is a few dozen flops: batching restarts with
``jax.vmap`` keeps every matrix product tiny and streams all restarts' state through memory each step. This kernel
instead stores every parameter with the restart axis *last* (``W: (d_in, d_out, B)``, ``b: (d_out, B)``), writes
the tiny matrix products as sums of elementwise products over that axis (one vector instruction covers many
restarts), and runs a whole ``lax.scan`` over all epochs for a block of ``B`` restarts whose state fits in cache,
then the next block (``lax.map`` over blocks). It computes what :func:`xgnn_jax.engine.train.make_run` computes, for:

* ``mode="full_batch"`` (accumulated BP), ``loss="half_sse"`` with ``reduction`` ``"mean"`` (the book's
  ``E = (1/m) sum_k E_k``, eq. 5.16) or ``"sum"``; or ``mode="sgd"`` (standard BP: ``m`` updates per epoch, one
  per example, on ``E_k = 1/2 |y_hat_k - y_k|^2``, eq. 5.4, in a fresh random order each epoch drawn exactly as
  ``make_run`` draws it, ``permutation(split(k_order, epochs)[e], m)``, or the stored order with
  ``shuffle=False``);
* plain gradient descent ``w <- w - eta g`` (``optimizer="sgd"`` or ``optax.sgd``) or heavy-ball momentum
  (``"momentum"``, ``"nesterov"``, or ``optax.sgd`` given a ``momentum`` hyperparameter), in optax's form:
  ``v <- g + mu v``, ``w <- w - eta v`` (Nesterov: ``w <- w - eta (g + mu v)``), ``v = 0`` at the start; or Adam
  (``"adam"``, ``optax.adam``) as optax computes it: ``m <- (1 - b1) g + b1 m``, ``v <- (1 - b2) g^2 + b2 v``,
  ``w <- w - eta m_hat / (sqrt(v_hat + eps_root) + eps)`` with ``m_hat = m / (1 - b1^t)``,
  ``v_hat = v / (1 - b2^t)`` at update ``t = 1, 2, ...``;
* elementwise activations ``sigmoid``, ``tanh``, ``identity``, ``relu`` (any depth; small widths);
* :class:`xgnn_jax.core.mlp.MLP` and :class:`xgnn_jax.core.shortcut.ShortcutMLP` (the output layer's input is
  ``[h, x]``: the hidden units, then the inputs through the shortcut rows of ``W2``).

Backward pass (eq. 5.10-5.14 in matrix form, per restart), with ``s = 1/m`` for the mean and ``1`` for the sum:

    delta[L] = s (A[L] - y) * g_L'(Z[L]),      delta[l] = (delta[l+1] W[l+1]^T) * g_l'(Z[l])
    dJ/dW[l] = A[l-1]^T delta[l],              dJ/db[l] = sum_k delta[l]_k

Initial parameters are drawn exactly as ``make_run`` draws them (``model.init`` on the first half of
``split(key)``), so a restart starts bit-identically; its trajectory agrees with ``make_run``'s to float
tolerance (sums in another order). It returns the outcomes of :func:`xgnn_jax.engine.outcomes.train_outcomes`
directly (final loss, accuracy, gradient norm, steps to ``target_loss``, diverged, saturated), tracking the first
epoch that reaches the target inside the scan instead of storing the per-epoch history (the same convention as
:func:`xgnn_jax.engine.outcomes.steps_to`: 1-based, :data:`~xgnn_jax.engine.outcomes.NEVER` if never).

What a study reads from make_run's history it can ask for as :class:`Probes` instead: the values at a few epochs
(loss, accuracy, per-layer weight norms, recorded inside the scan when the epoch comes), the first epoch at
which the training set is classified without error (and the first with that *and* a loss at or below
``target_loss``), and the initial and final parameters. A probe costs a few selects per step, not a
``(epochs, B)`` history.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from xgnn_jax.core import activations
from xgnn_jax.core import model as model_lib
from xgnn_jax.core.mlp import MLP
from xgnn_jax.core.shortcut import ShortcutMLP
from xgnn_jax.engine import optimizers as optimizers_lib
from xgnn_jax.engine import outcomes as outcomes_lib
from xgnn_jax.engine import penalties as penalties_lib
from xgnn_jax.engine import shuffle as shuffle_lib
from xgnn_jax.engine import train as train_lib

Array = jax.Array

# Activation value and its derivative from (z, a = g(z)): cheap forms that reuse the forward pass.
_ACTS = {
    "sigmoid": (activations.sigmoid, lambda z, a: a * (1 - a)),
    "tanh": (activations.tanh, lambda z, a: 1 - a * a),
    "identity": (activations.identity, lambda z, a: jnp.ones_like(a)),
    "relu": (activations.relu, lambda z, a: (z > 0).astype(a.dtype)),
}
def _sum(a: Array, axis: int) -> Array:
    """Sum over a short axis as unrolled adds: stays elementwise over the restart axis (XLA's CPU reductions
    of larger arrays go to a library call that was several times slower here)."""
    parts = [jax.lax.index_in_dim(a, k, axis, keepdims=False) for k in range(a.shape[axis])]
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


@dataclasses.dataclass(frozen=True)
class Probes:
    """What a fused run records besides its final outcomes: history values at chosen epochs, first epochs.

    ``epochs``: 1-based epochs ``e`` (``1 <= e <= config.epochs``) at which ``loss_at``, ``accuracy_at`` (both
    ``(S,)``) and ``weight_norm_at`` (``(S, L)``, Frobenius norm of each layer's ``W``) are taken: the values
    ``make_run``'s ``history[...][e - 1]`` holds, i.e. at the parameters after ``e`` epochs. Always recorded with
    probes: ``first_solved`` (the first epoch with training accuracy 1) and ``first_solved_target`` (accuracy 1 and
    loss at or below ``target_loss``), 1-based, :data:`~xgnn_jax.engine.outcomes.NEVER` if never, as
    :func:`xgnn_jax.engine.outcomes.first_step` of the history flags. ``params=True`` adds ``params`` and
    ``init_params`` (the model's pytree, per restart). ``loss_targets``: losses ``tol_k`` for which ``first_below``
    ``(K,)`` gives the first epoch with ``J <= tol_k`` (:func:`xgnn_jax.engine.outcomes.steps_to` of the history).
    """

    epochs: tuple[int, ...] = ()
    params: bool = False
    loss_targets: tuple[float, ...] = ()

    def __post_init__(self):
        if not isinstance(self.epochs, tuple) or any(isinstance(e, bool) or not isinstance(e, int) or e < 1
                                                     for e in self.epochs):
            raise ValueError(f"probes: epochs must be a tuple of positive ints, got {self.epochs!r}")
        if not isinstance(self.loss_targets, tuple) or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v == float("inf")
                for v in self.loss_targets):
            raise ValueError(f"probes: loss_targets must be a tuple of positive finite numbers, got "
                             f"{self.loss_targets!r}")


MAX_PARAMS = 1024  # beyond this the unrolled elementwise products stop paying off: use the generic engine
MAX_EXAMPLES = shuffle_lib.MAX_EXAMPLES
permutation_ranks = shuffle_lib.permutation_ranks  # the epoch order, as make_run draws it


ADAM_DEFAULTS = {"eps": 1e-8, "eps_root": 0.0}  # optax.adam's, used unless given as hyperparameters


def _optimizer_reason(opt: optimizers_lib.Optimizer) -> str | None:
    """Why the kernel cannot do this optimizer: it does optax.sgd (plain, heavy ball or Nesterov) and optax.adam."""
    if opt.factory not in (optax.sgd, optax.adam) or opt.transformation is not None:
        return (f"optimizer {opt.name!r} (the fused kernel does gradient descent, with or without momentum, and "
                "Adam only)")
    if opt.factory is optax.sgd:
        extra = {k for k, _ in opt.static} - {"nesterov"}
        if extra:
            return f"optimizer arguments {sorted(extra)} (the fused kernel takes learning_rate, momentum, nesterov)"
        return None
    static = {k for k, v in opt.static if not (k == "nesterov" and v is False)}
    numeric = set(opt.hyperparameters) - {"learning_rate", "b1", "b2", *ADAM_DEFAULTS}
    if static or numeric & {k for k, _ in opt.defaults}:
        return (f"optimizer arguments {sorted(static | (numeric & {k for k, _ in opt.defaults}))} (the fused "
                "kernel's Adam takes learning_rate, b1, b2, eps, eps_root)")
    return None


def chosen(model, data: train_lib.Data, config: train_lib.TrainConfig, fused: bool | None = None) -> bool:
    """Whether runs of this configuration go on the fused kernel: ``fused=None`` when the kernel supports the
    configuration and JAX's default backend is the CPU (on accelerators plain vmap is faster, see
    :func:`xgnn_jax.engine.restarts.choose_execution`); ``True``: required (``ValueError`` naming what the kernel
    does not support); ``False``: never. The one rule behind every "fused when possible" in the project."""
    if fused is False or (fused is None and jax.default_backend() != "cpu"):
        return False
    reason = unsupported_reason(model, data, config)
    if reason is not None and fused:
        raise ValueError(f"fused: the fused kernel does not support {reason}")
    return reason is None


def unsupported_reason(model, data: train_lib.Data, config: train_lib.TrainConfig) -> str | None:
    """Why the fused kernel cannot run this configuration (None when it can)."""
    # The kernel re-implements MLP's forward pass itself, so it takes exactly that class (not other models,
    # which plug into train.make_run through the Model protocol, nor subclasses that may change the forward pass).
    if type(model) not in (MLP, ShortcutMLP):
        return (f"model type {type(model).__name__} (the fused kernel implements xgnn_jax.core.mlp.MLP and "
                "xgnn_jax.core.shortcut.ShortcutMLP only)")
    if not penalties_lib.is_none(config.penalty):
        return f"regularization {config.regularization!r} (the fused kernel has no penalty term)"
    if config.early_stopping or data.x_val is not None:
        return "a validation set or early stopping (the fused kernel trains on the training set only)"
    if not config.record_grad_norm:
        return "record_grad_norm=False (the fused kernel always measures the gradient norm)"
    if config.mode not in ("full_batch", "sgd"):
        return f"mode {config.mode!r} (the fused kernel does full-batch and per-example updates only)"
    reason = _optimizer_reason(config.optimizer_spec)
    if reason is not None:
        return reason
    if config.loss != "half_sse":
        return f"loss {config.loss!r} (the fused kernel does the book's half sum of squares only)"
    for name in model.layer_activations:
        if name not in _ACTS:
            return f"activation {name!r} (supported: {', '.join(_ACTS)})"
    if model.num_params > MAX_PARAMS:
        return f"{model.num_params} parameters (more than {MAX_PARAMS}: not a tiny network)"
    if data.x.shape[0] > MAX_EXAMPLES:
        return f"{data.x.shape[0]} examples (more than {MAX_EXAMPLES})"
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class FusedRun:
    """``run(key, hparams) -> outcomes`` for one restart, plus ``batched(keys, hparams, block)`` for many.

    Build with :func:`make_run`. ``restarts.sweep`` uses ``batched`` (``execution="fused"``); calling the object
    runs one restart through the same kernel (a block of one).
    """

    model: MLP | ShortcutMLP
    data: train_lib.Data
    config: train_lib.TrainConfig
    target_loss: float
    unroll: int = 1
    block_size: int = 512
    probes: Probes | None = None

    # ------------------------------------------------------------------ one restart (the run-function contract)
    def __call__(self, key: Array, hp: dict[str, Array] | None = None) -> dict[str, Array]:
        out = self.batched(key[None], {k: jnp.asarray(v)[None] for k, v in (hp or {}).items()}, 1)
        return jax.tree.map(lambda a: a[0], out)

    # ------------------------------------------------------------------ many restarts
    def batched(self, keys: Array, hp: dict[str, Array], block: int) -> dict[str, Array]:
        """Outcomes of ``c = len(keys)`` restarts (``hp`` values ``(c,)``), in blocks of ``block`` restarts."""
        c = keys.shape[0]
        if c % block:
            raise ValueError(f"block: {block} must divide the number of restarts {c}")
        x = self.data.x
        full = train_lib._resolve_hparams(self.config, hp)
        extra = [n for n in full if n not in ("learning_rate", "weight_scale", "bias_scale", "momentum", "b1", "b2",
                                              *ADAM_DEFAULTS)]
        if extra:
            raise ValueError(f"hparams: the fused kernel has no use for {sorted(extra)}")
        names = ("learning_rate", "weight_scale", "bias_scale") + (("momentum",) if "momentum" in full else ())
        per = {k: jnp.broadcast_to(jnp.asarray(full[k], x.dtype), (c,)) for k in names}
        # Adam's rates keep their own dtype (float32 by default), as optax.adam receives them from make_run.
        per.update({k: jnp.broadcast_to(jnp.asarray(full[k]), (c,)) for k in ("b1", "b2", *ADAM_DEFAULTS)
                    if k in full})
        k_init, k_order = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
        params0 = jax.vmap(lambda k, ws, bs: self.model.init(k, ws, bs, dtype=x.dtype))(
            k_init, per["weight_scale"], per["bias_scale"])
        nb = c // block

        def to_blocks(a):  # (c, ...) -> (nb, ..., B): restart axis innermost
            a = a.reshape((nb, block) + a.shape[1:])
            return jnp.moveaxis(a, 1, -1)

        blocks = jax.tree.map(to_blocks, params0)
        h = {k: v.reshape(nb, block) for k, v in per.items() if k not in ("weight_scale", "bias_scale")}
        k_order = k_order.reshape(nb, block) if self.config.mode == "sgd" and self.config.shuffle else None
        out = jax.lax.map(lambda a: self._block(*a), (blocks, h, k_order))
        # (nb, ..., B) -> (c, ...): restart axis back in front
        return jax.tree.map(lambda a: jnp.moveaxis(a, -1, 1).reshape((c,) + a.shape[1:-1]), out)

    # ------------------------------------------------------------------ the kernel
    def _inputs(self, acts, l):
        """The columns feeding layer ``l``, each (m, 1, B) or (m, 1, 1): A[l] (a shortcut net's output layer also
        takes the inputs x after its hidden units)."""
        a = acts[l]
        cols = [a[:, i, None, :] for i in range(a.shape[1])]
        if isinstance(self.model, ShortcutMLP) and l == 1:
            cols += [acts[0][:, i, None, :] for i in range(acts[0].shape[1])]
        return cols

    def _forward(self, params, x0=None):
        """``Z[l], A[l]``: (n, d_l, B); A[0] = ``x0``, by default the training inputs as (m, d_0, 1)."""
        zs, acts = [], [self.data.x[:, :, None] if x0 is None else x0]
        for l, (layer, name) in enumerate(zip(params, self.model.layer_activations, strict=True)):
            w = layer["W"]  # (d_in, d_out, B)
            z = layer["b"][None] if "b" in layer else 0.0
            for i, col in enumerate(self._inputs(acts, l)):  # Z[:, j] = sum_i A[:, i] W[i, j] over (m, d_out, B)
                z = z + col * w[i][None]
            zs.append(z)
            acts.append(_ACTS[name][0](z))
        return zs, acts

    def _loss_and_grads(self, params, x0=None, y0=None):
        """``(J, dJ/dparams, A)`` on the whole training set, or on the examples ``x0: (n, d_0, B)``, ``y0: (n, d_L,
        B)`` with scale 1 (one example's ``E_k``: the mean and the sum of a batch of one agree)."""
        if x0 is None:
            y = self.data.y[:, :, None]
            m = self.data.x.shape[0]
            scale = 1.0 / m if (self.config.reduction or "mean") == "mean" else 1.0
        else:
            y, scale = y0, 1.0
        zs, acts = self._forward(params, x0)
        err = acts[-1] - y
        loss = scale * 0.5 * _sum(_sum(err * err, 0), 0)  # (B,)
        g_a = scale * err
        grads = [None] * len(params)
        for l in range(len(params) - 1, -1, -1):
            name = self.model.layer_activations[l]
            delta = g_a * _ACTS[name][1](zs[l], acts[l + 1])  # (m, d_out, B)
            w = params[l]["W"]
            g = {"W": jnp.stack([jnp.broadcast_to(_sum(col * delta, 0), delta.shape[1:])
                                 for col in self._inputs(acts, l)])}
            if "b" in params[l]:
                g["b"] = _sum(delta, 0)
            grads[l] = g
            if l > 0:  # dJ/dA[l-1][:, i] = sum_j delta[:, j] W[i, j] (a shortcut's rows lead to x, not back)
                g_a = jnp.stack([_sum(delta * w[i][None], 1) for i in range(acts[l].shape[1])], axis=1)
        return loss, tuple(grads), acts

    def _example(self, ranks, j):
        """``(x0, y0)``: (1, d, B), for each restart b the example ``k`` with ``ranks[k, b] == j`` (the ``j``-th of
        its epoch's order), chosen by ``m`` elementwise selects (cheaper on CPU than a gather of a few values)."""
        x, y = self.data.x, self.data.y
        xs, ys = jnp.zeros(x.shape[1:] + ranks.shape[1:], x.dtype), jnp.zeros(y.shape[1:] + ranks.shape[1:], y.dtype)
        for k in range(x.shape[0]):
            hit = ranks[k] == j
            xs, ys = jnp.where(hit, x[k][:, None], xs), jnp.where(hit, y[k][:, None], ys)
        return xs[None], ys[None]

    def _is_adam(self) -> bool:
        return self.config.optimizer_spec.factory is optax.adam

    def _opt_init(self, params0, h):
        """The optimizer state: None (plain GD), the momentum trace, or Adam's ``(count, m, v)``."""
        if self._is_adam():
            zeros = jax.tree.map(jnp.zeros_like, params0)
            return (jnp.zeros((), jnp.int32), zeros, zeros)
        return jax.tree.map(jnp.zeros_like, params0) if "momentum" in h else None

    def _update(self, params, state, grads, h):
        """One optimizer update (see the module docstring), per restart; ``h``: (B,) hyperparameters."""
        lr = h["learning_rate"]
        if self._is_adam():  # optax.scale_by_adam then scale_by_learning_rate, term by term
            count, m1, m2 = state
            b1, b2 = h["b1"], h["b2"]
            eps, eps_root = (h.get(k, v) for k, v in ADAM_DEFAULTS.items())
            m1 = jax.tree.map(lambda g, t: (1 - b1) * g + b1 * t, grads, m1)
            m2 = jax.tree.map(lambda g, t: (1 - b2) * (g ** 2) + b2 * t, grads, m2)
            count = optax.safe_increment(count)
            c1, c2 = 1 - b1 ** count, 1 - b2 ** count
            step_dir = jax.tree.map(lambda a, b: (a / c1.astype(a.dtype)) / (jnp.sqrt(b / c2.astype(b.dtype)
                                                                                       + eps_root) + eps), m1, m2)
            return jax.tree.map(lambda p, u: (p + (-lr) * u).astype(p.dtype), params, step_dir), (count, m1, m2)
        if state is None:
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), state
        mu = h["momentum"]
        nesterov = dict(self.config.optimizer_spec.static).get("nesterov", False)
        state = jax.tree.map(lambda g, v: g + mu * v, grads, state)
        step_dir = jax.tree.map(lambda g, v: g + mu * v, grads, state) if nesterov else state
        return jax.tree.map(lambda p, u: p - lr * u, params, step_dir), state

    def _per_example_epoch(self, params, trace, ranks, h):
        """Standard BP's epoch: ``m`` updates, update ``j`` on the example of rank ``j`` (ranks (m, B) int32, or
        (m, 1) when every restart visits the stored order)."""

        def one(carry, j):
            x0, y0 = self._example(ranks, j)
            _, grads, _ = self._loss_and_grads(carry[0], x0, y0)
            return self._update(*carry, grads, h), None

        m = self.data.x.shape[0]
        (params, trace), _ = jax.lax.scan(one, (params, trace), jnp.arange(m, dtype=jnp.int32),
                                          unroll=min(m, self.unroll * 2))
        return params, trace

    def _pinned_fraction(self, acts):
        """(B,) fraction of sigmoid/tanh activations pinned at an asymptote (as :func:`model_lib.pinned_fraction`)."""
        pinned, total = 0.0, 0
        for a, name in zip(acts[1:], self.model.layer_activations, strict=True):
            if name not in model_lib._ASYMPTOTES:
                continue
            lo, hi = model_lib._ASYMPTOTES[name]
            near = (jnp.abs(a - lo) < model_lib.PIN_TOL) | (jnp.abs(a - hi) < model_lib.PIN_TOL)
            pinned = pinned + _sum(_sum(near.astype(jnp.float32), 0), 0)
            total += a.shape[0] * a.shape[1]
        return pinned / total if total else jnp.zeros(acts[-1].shape[-1], jnp.float32)

    def _correct(self, out):
        """(m, B) booleans: example k classified right (threshold for one output, argmax for several)."""
        y = self.data.y[:, :, None]
        thr = self.config.threshold
        if out.shape[1] == 1:
            return (out[:, 0] >= thr) == (y[:, 0] >= thr)
        return jnp.argmax(out, axis=1) == jnp.argmax(y, axis=1)

    def _solved(self, out):
        """(B,) training accuracy 1 (every example right), as unrolled ands over the m examples."""
        c = self._correct(out)
        s = c[0]
        for k in range(1, c.shape[0]):
            s = s & c[k]
        return s

    @staticmethod
    def _weight_norms(params):
        """(L, B): the Frobenius norm of each layer's W (make_run's ``history["weight_norm"]``)."""
        return jnp.stack([jnp.sqrt(_sum(_sum(layer["W"] * layer["W"], 0), 0)) for layer in params])

    def _block(self, params0, h, k_order):
        """One block: the whole scan of ``epochs`` epochs for B restarts; returns (B,) outcomes (and the probes,
        restart axis last). ``h``: the optimizer's (B,) hyperparameters; ``k_order``: (B,) keys of the per-example
        orders (None: full batch, or the stored order)."""
        lr = h["learning_rate"]
        target = jnp.asarray(self.target_loss, lr.dtype)
        epochs = self.config.epochs
        per_example = self.config.mode == "sgd"
        m = self.data.x.shape[0]
        probes = self.probes
        inner = tuple(e for e in probes.epochs if e < epochs) if probes is not None else ()
        never = outcomes_lib.NEVER
        tols = (jnp.asarray(probes.loss_targets, lr.dtype)[:, None] if probes is not None and probes.loss_targets
                else None)  # (K, 1)

        def first_hit(first, flag, t):
            return jnp.where((first == never) & flag, t, first)

        def step(carry, xs):
            t, k_epoch = xs
            params, trace, first, rec = carry
            # Per example, only J and A are used here (the gradient below is left out of the program by XLA).
            loss, grads, acts = self._loss_and_grads(params)
            # loss is J(theta_t), the value make_run's history records after epoch t (t >= 1).
            first = first_hit(first, (t >= 1) & (loss <= target), t)
            if probes is not None:
                solved = self._solved(acts[-1])
                rec = dict(rec, first_solved=first_hit(rec["first_solved"], (t >= 1) & solved, t),
                           first_solved_target=first_hit(rec["first_solved_target"],
                                                         (t >= 1) & solved & (loss <= target), t))
                if probes.loss_targets:
                    rec["first_below"] = first_hit(rec["first_below"], (t >= 1) & (loss <= tols), t)
                if inner:  # the probe epochs: a scalar branch on t, so the norms cost nothing on other steps
                    hit = jnp.any(t == jnp.asarray(inner))

                    def take(r):
                        now = {"loss_at": loss, "accuracy_at": jnp.mean(self._correct(acts[-1]).astype(loss.dtype),
                                                                        axis=0),
                               "weight_norm_at": self._weight_norms(params)}
                        return {**r, **{k: jnp.stack([jnp.where(t == e, now[k], r[k][i])
                                                      for i, e in enumerate(inner)]) for k in now}}

                    rec = jax.lax.cond(hit, take, lambda r: r, rec)
            if not per_example:
                params, trace = self._update(params, trace, grads, h)
            else:
                ranks = jnp.arange(m, dtype=jnp.int32)[:, None] if k_epoch is None else permutation_ranks(k_epoch, m)
                params, trace = self._per_example_epoch(params, trace, ranks, h)
            return (params, trace, first, rec), None

        first0 = jnp.full(lr.shape, never, jnp.int32)
        trace0 = self._opt_init(params0, h)
        rec0 = {}
        if probes is not None:
            rec0 = {"first_solved": first0, "first_solved_target": first0}
            if probes.loss_targets:
                rec0["first_below"] = jnp.full((len(probes.loss_targets),) + lr.shape, never, jnp.int32)
            if inner:
                n_l = len(params0)
                rec0.update(loss_at=jnp.zeros((len(inner),) + lr.shape, lr.dtype),
                            accuracy_at=jnp.zeros((len(inner),) + lr.shape, lr.dtype),
                            weight_norm_at=jnp.zeros((len(inner), n_l) + lr.shape, lr.dtype))
        # Epoch e (0-based) of a restart shuffles with split(k_order, epochs)[e], as make_run does.
        k_epochs = None if k_order is None else jnp.swapaxes(
            jax.vmap(lambda k: jax.random.split(k, epochs))(k_order), 0, 1)  # (epochs, B)
        (params, _, first, rec), _ = jax.lax.scan(step, (params0, trace0, first0, rec0),
                                                  (jnp.arange(epochs, dtype=jnp.int32), k_epochs),
                                                  unroll=1 if per_example else self.unroll)
        loss, grads, acts = self._loss_and_grads(params)
        out = acts[-1]
        first = jnp.where((first == never) & (loss <= target), epochs, first)
        grad_norm = jnp.sqrt(sum(jnp.sum(g * g, axis=tuple(range(g.ndim - 1))) for g in jax.tree.leaves(grads)))
        accuracy = jnp.mean(self._correct(out).astype(jnp.float32), axis=0)
        finite = jnp.isfinite(loss)
        for p in jax.tree.leaves(params):
            finite &= jnp.all(jnp.isfinite(p), axis=tuple(range(p.ndim - 1)))
        saturated = outcomes_lib.saturated(loss, grad_norm, self._pinned_fraction(acts), target, ~finite)
        result = {"final_loss": loss, "final_accuracy": accuracy, "final_grad_norm": grad_norm,
                  "steps_to_target": first, "diverged": ~finite, "saturated": saturated}
        if probes is not None:
            solved = self._solved(out)
            result["first_solved"] = first_hit(rec["first_solved"], solved, epochs)
            result["first_solved_target"] = first_hit(rec["first_solved_target"], solved & (loss <= target), epochs)
            if probes.loss_targets:
                result["first_below"] = first_hit(rec["first_below"], loss <= tols, epochs)
            if probes.epochs:
                last = {"loss_at": loss, "accuracy_at": accuracy.astype(loss.dtype),
                        "weight_norm_at": self._weight_norms(params)}
                for k, v in last.items():
                    result[k] = jnp.stack([v if e == epochs else rec[k][inner.index(e)] for e in probes.epochs])
            if probes.params:
                result["params"], result["init_params"] = params, params0
        return result


def make_run(model: MLP | ShortcutMLP, data: train_lib.Data,
             config: train_lib.TrainConfig = train_lib.TrainConfig(), target_loss: float = 1e-2,
             unroll: int | None = None, block_size: int | None = None, probes: Probes | None = None) -> FusedRun:
    """The fused run for ``model`` on ``data`` (raises ``ValueError`` naming what is unsupported).

    ``probes``: what to record besides the final outcomes (:class:`Probes`; None: nothing, the program is the
    one without probes).

    ``block_size``: restarts per block (the sweep's default for this run; None: 512 for networks of at most 16
    parameters, else 256); ``unroll``: scan steps per loop iteration (None: 4 for networks of at most 16
    parameters, else 1: unrolling a larger body costs more compile time than it saves). Measured on 1 core of a Xeon (AVX-512), XOR 2-2-1 x 2000 steps, R = 16384: block 128 /
    unroll 1: 3.5e7 restart-steps/s; 512 / 4: 6.3e7; 2048 / 4: 5.4e7 (the block's state leaves L1/L2). For 2-16-1,
    unroll 1: block 128: 5.2e6, 512: 7.4e6.
    """
    data = train_lib.as_data(data)
    train_lib.validate_data(model, data)
    train_lib.check_threshold(model, config, data.y.shape[1])
    outcomes_lib.check_target(target_loss)
    reason = unsupported_reason(model, data, config)
    if reason is not None:
        raise ValueError(f"config: the fused kernel does not support {reason}; use train.make_run")
    if unroll is None:
        unroll = 4 if model.num_params <= 16 else 1
    if block_size is None:
        # Measured on 2 cores (AMD EPYC, AVX2), per restart-step: 2-16-1 XOR 1.57e7/s at 256 against 1.29e7 at
        # 512; watermelon 8-10-1 standard BP 2.9 us per epoch against 3.7; 2-2-1 the same at 256 and 512.
        block_size = 512 if model.num_params <= 16 else 256
    if not (isinstance(block_size, int) and block_size > 0):
        raise ValueError(f"block_size: expected a positive int, got {block_size!r}")
    if probes is not None:
        if not isinstance(probes, Probes):
            raise ValueError(f"probes: expected None or a fused.Probes, got {probes!r}")
        late = [e for e in probes.epochs if e > config.epochs]
        if late:
            raise ValueError(f"probes: epochs {late} lie beyond the run's {config.epochs} epochs")
    return FusedRun(model, data, config, float(target_loss), int(unroll), block_size, probes)
