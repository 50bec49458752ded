"""One training run as one pure function ``run(key, hparams) -> TrainResult``, built on ``lax.scan``.

``make_run(model, data, config)`` returns ``run``; the same function is jit-ed, vmapped over restarts
(``jax.vmap(run)(keys, hparams)``), chunked and sharded by :mod:`xgnn_jax.restarts`.

* Static structure (network shape, mode, epochs, batch size, loss, optimizer name) lives in the frozen
  dataclass :class:`TrainConfig`; changing it recompiles.
* Swept values are array arguments in ``hparams`` (a dict of scalars): ``lr``, ``weight_scale``,
  ``bias_scale``, ``momentum``, ... Changing them does not recompile (optax's optimizers are built *inside*
  the run with the traced learning rate, see PITFALLS: optax bakes a Python float into the program).

Modes (the book's names in brackets), for a training set of m examples:

* ``"full_batch"`` [accumulated BP]: one update per epoch with the gradient of the whole objective
  ``J = reduce_k L_k``. With ``reduction="mean"`` that is ``(1/m) sum_k grad L_k``; with ``"sum"`` the step is m
  times larger for the same learning rate.
* ``"sgd"`` [standard BP]: a fresh random order every epoch, then m updates, one per example, each with
  ``grad L_k`` (per-example reduction is the same for mean and sum).
* ``"minibatch"``: a fresh random order every epoch, then ``m // batch_size`` updates on consecutive batches
  (the last ``m % batch_size`` examples of each shuffled epoch are left out of that epoch).

History (one entry per epoch, measured after the epoch on the whole training set): objective ``loss``,
``accuracy``, full-batch gradient norm ``grad_norm``, and the Frobenius norm of each layer's weights
``weight_norm: (epochs, L)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from xgnn_jax import losses as losses_lib
from xgnn_jax import metrics
from xgnn_jax.mlp import MLP, Params, objective

Array = jax.Array

MODES = ("full_batch", "sgd", "minibatch")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
# The book's names for the two modes of C11.
ACCUMULATED_BP, STANDARD_BP = "full_batch", "sgd"


class Data(NamedTuple):
    """A training set: ``x: (m, d_in)``, ``y: (m, d_out)``; optional validation set ``x_val, y_val``."""

    x: Array
    y: Array
    x_val: Array | None = None
    y_val: Array | None = None


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Static description of a run (hashable; a change recompiles).

    Args:
      epochs: passes over the training set.
      mode: ``"full_batch"`` (accumulated BP), ``"sgd"`` (standard BP) or ``"minibatch"``.
      batch_size: for ``"minibatch"``.
      loss: a name from :mod:`xgnn_jax.losses`; ``reduction``: ``"mean"`` or ``"sum"`` (default: the loss's usual).
      optimizer: ``"sgd"`` (the book's plain ``w <- w - eta grad``), ``"momentum"``, ``"nesterov"``, ``"adam"``,
        ``"rmsprop"``. Its hyperparameters come from ``hparams`` (``lr``, ``momentum``, ``b1``, ``b2``...).
      threshold: accuracy threshold on a single output unit (0.5 for sigmoid outputs).
    """

    epochs: int = 100
    mode: str = "full_batch"
    batch_size: int = 1
    loss: str = "half_sse"
    reduction: str | None = None
    optimizer: str = "sgd"
    threshold: float = 0.5

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs <= 0:
            raise ValueError(f"epochs: expected a positive int, got {self.epochs!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode: unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if not isinstance(self.batch_size, int) or self.batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive int, got {self.batch_size!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        losses_lib.get(self.loss)
        if self.reduction is not None:
            losses_lib.check_reduction(self.reduction)


DEFAULT_HPARAMS = {"lr": 0.1, "weight_scale": 1.0, "bias_scale": 1.0, "momentum": 0.9, "b1": 0.9, "b2": 0.999}


def hparams(**overrides: Any) -> dict[str, Array]:
    """A full hyperparameter dict (defaults overridden), values as float32 arrays ready to be vmapped."""
    unknown = set(overrides) - set(DEFAULT_HPARAMS)
    if unknown:
        raise ValueError(f"hparams: unknown names {sorted(unknown)}; expected some of {sorted(DEFAULT_HPARAMS)}")
    return {k: jnp.asarray(overrides.get(k, v), jnp.float32) for k, v in DEFAULT_HPARAMS.items()}


def make_optimizer(name: str, hp: dict[str, Array]) -> optax.GradientTransformation:
    """Build the optimizer inside the traced run so that ``hp["lr"]`` etc. stay arrays (one compile per sweep)."""
    lr = hp["lr"]
    if name == "sgd":
        return optax.sgd(lr)
    if name == "momentum":
        return optax.sgd(lr, momentum=hp["momentum"])
    if name == "nesterov":
        return optax.sgd(lr, momentum=hp["momentum"], nesterov=True)
    if name == "adam":
        return optax.adam(lr, b1=hp["b1"], b2=hp["b2"])
    if name == "rmsprop":
        return optax.rmsprop(lr)
    raise ValueError(f"optimizer: unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


class TrainResult(NamedTuple):
    """What one run returns (under vmap every leaf gains a leading restart axis).

    ``params``: final parameters; ``init_params``: the starting point; ``history``: per-epoch measurements
    (see module docstring); ``final_loss``, ``final_accuracy``, ``final_grad_norm``: the last epoch's values;
    ``diverged``: True when the final loss or parameters are not finite.
    """

    params: Params
    init_params: Params
    history: dict[str, Array]
    final_loss: Array
    final_accuracy: Array
    final_grad_norm: Array
    diverged: Array


def global_norm(tree) -> Array:
    return optax.global_norm(tree)


def validate_data(model: MLP, data: Data) -> None:
    model.check_input(data.x, argument="data.x")
    if data.y.ndim != 2 or data.y.shape != (data.x.shape[0], model.sizes[-1]):
        raise ValueError(f"data.y: expected shape ({data.x.shape[0]}, {model.sizes[-1]}), got {tuple(data.y.shape)}")
    if not bool(jnp.all(jnp.isfinite(data.x))) or not bool(jnp.all(jnp.isfinite(data.y))):
        raise ValueError("data: x or y contains NaN or inf")


def make_run(model: MLP, data: Data, config: TrainConfig = TrainConfig()):
    """``run(key, hparams) -> TrainResult`` for ``model`` on ``data`` (see module docstring).

    The key is split into an initialisation key and a shuffling key, so a restart's initial parameters depend on
    its key alone. ``hparams`` is a dict as returned by :func:`hparams` (missing entries take the defaults).
    """
    validate_data(model, data)
    loss_spec = losses_lib.get(config.loss)
    reduction = config.reduction or loss_spec.default_reduction
    J = objective(model, loss_spec, reduction)
    x, y = data.x, data.y
    m = x.shape[0]
    if config.mode == "minibatch" and config.batch_size > m:
        raise ValueError(f"batch_size: {config.batch_size} is larger than the training set ({m} examples)")
    batch = {"full_batch": m, "sgd": 1, "minibatch": config.batch_size}[config.mode]
    n_updates = m // batch

    def measure(params):
        loss, g = jax.value_and_grad(J)(params, x, y)
        acc = metrics.accuracy(model.apply(params, x), y, config.threshold)
        wn = jnp.stack([jnp.linalg.norm(layer["W"]) for layer in params])
        return {"loss": loss, "accuracy": acc, "grad_norm": global_norm(g), "weight_norm": wn}

    def run(key: Array, hp: dict[str, Array] | None = None) -> TrainResult:
        hp = {**hparams(), **(hp or {})}
        k_init, k_order = jax.random.split(key)
        params0 = model.init(k_init, hp["weight_scale"], hp["bias_scale"], dtype=x.dtype)
        tx = make_optimizer(config.optimizer, hp)

        def update(carry, idx):
            params, opt_state = carry
            g = jax.grad(J)(params, x[idx], y[idx])
            updates, opt_state = tx.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        def epoch(carry, k):
            if config.mode == "full_batch":
                carry, _ = update(carry, jnp.arange(m))
            else:
                order = jax.random.permutation(k, m)[: n_updates * batch].reshape(n_updates, batch)
                carry, _ = jax.lax.scan(update, carry, order)
            return carry, measure(carry[0])

        (params, _), history = jax.lax.scan(epoch, (params0, tx.init(params0)),
                                            jax.random.split(k_order, config.epochs))
        final_loss = history["loss"][-1]
        finite = jnp.isfinite(final_loss) & jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]))
        return TrainResult(params, params0, history, final_loss, history["accuracy"][-1],
                           history["grad_norm"][-1], ~finite)

    return run
