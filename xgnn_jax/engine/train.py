"""One training run as one pure function ``run(key, hparams) -> TrainResult``, built on ``lax.scan``.

``make_run(model, data, config)`` returns ``run``; the same function is jit-ed, vmapped over restarts
(``jax.vmap(run)(keys, hparams)``), chunked and sharded by :mod:`xgnn_jax.engine.restarts`.

* Static structure (network shape, mode, epochs, batch size, loss, optimizer name, regularisation form, early
  stopping) lives in the frozen dataclass :class:`TrainConfig`; changing it recompiles.
* Swept values are array arguments in ``hparams`` (a dict of scalars): ``lr``, ``weight_scale``,
  ``bias_scale``, ``momentum``, ``weight_decay``, ``lam``, ... Changing them does not recompile (optax's
  optimizers are built *inside* the run with the traced learning rate, see PITFALLS: optax bakes a Python float
  into the program).

Modes (the book's names in brackets), for a training set of m examples:

* ``"full_batch"`` [accumulated BP]: one update per epoch with the gradient of the whole objective
  ``J = reduce_k L_k``. With ``reduction="mean"`` that is ``(1/m) sum_k grad L_k``; with ``"sum"`` the step is m
  times larger for the same learning rate.
* ``"sgd"`` [standard BP]: a fresh random order every epoch, then m updates, one per example, each with
  ``grad L_k`` (per-example reduction is the same for mean and sum).
* ``"minibatch"``: a fresh random order every epoch, then ``m // batch_size`` updates on consecutive batches
  (the last ``m % batch_size`` examples of each shuffled epoch are left out of that epoch).

``shuffle=False`` visits the examples in their stored order every epoch instead (sgd and minibatch modes).
:func:`schedule` gives the number of updates and of per-example gradient evaluations per epoch.

Regularisation (C16), added to the objective each update minimises (``J`` is the data term above, on the batch):

* ``"l2"``: ``J + (weight_decay / 2) sum_i w_i^2``; for plain SGD this is weight decay ``w <- w - eta (grad J +
  weight_decay w)``.
* ``"book"``: the book's eq. (5.17) ``E = lam (1/m) sum_k E_k + (1 - lam) sum_i w_i^2`` with ``lam`` in (0, 1]
  (``lam = 1``: no regularisation). Needs ``reduction="mean"``, the book's 1/m.

``sum_i w_i^2`` runs over the connection weights ``W``; ``penalize_bias=True`` adds the biases (the book's
``w_i`` counts the thresholds too).

History (one entry per epoch, measured after the epoch on the whole training set): data objective ``loss``
(without the penalty), the penalised ``objective``, ``accuracy``, full-batch gradient norm of the data objective
``grad_norm`` (NaN when ``record_grad_norm=False``, which saves one backward pass per epoch), and the Frobenius
norm of each layer's weights ``weight_norm: (epochs, L)``. With a validation set (``Data.x_val``): ``val_loss``
(the data objective on the validation set) and ``val_accuracy``. Index ``i`` of the history is epoch ``i + 1``.

Validation and early stopping (C16): with a validation set the run keeps the parameters with the smallest
validation error (``val_metric``: ``"loss"`` or ``"error"`` = 1 - accuracy), counting the initial parameters as
epoch 0, and returns them as ``best_params`` with ``best_epoch``. With ``early_stopping=True`` the updates stop
once the validation error has not improved (by more than ``min_delta``) for ``patience`` consecutive epochs
(``patience=1`` is the book's literal rule: stop as soon as the validation error rises); the scan keeps its fixed
length, the remaining epochs leave the parameters unchanged, and ``stop_epoch`` says when it stopped.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from xgnn_jax.core import losses as losses_lib
from xgnn_jax.core import metrics
from xgnn_jax.core.mlp import MLP, Params, objective

Array = jax.Array

MODES = ("full_batch", "sgd", "minibatch")
# The book's names for the two modes of C11 are accepted too and stored as the mode they name.
MODE_ALIASES = {"accumulated_bp": "full_batch", "standard_bp": "sgd"}
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")
REGULARIZATIONS = ("none", "l2", "book")
VAL_METRICS = ("loss", "error")
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
      mode: ``"full_batch"`` (accumulated BP; also accepted as ``"accumulated_bp"``), ``"sgd"`` (standard BP:
        per-example updates; also ``"standard_bp"``) or ``"minibatch"``. Not to be confused with
        ``optimizer="sgd"``, the plain update rule ``w <- w - eta g`` used by any mode.
      batch_size: for ``"minibatch"``.
      loss: a name from :mod:`xgnn_jax.core.losses`; ``reduction``: ``"mean"`` or ``"sum"`` (default: the loss's usual).
      optimizer: ``"sgd"`` (the book's plain ``w <- w - eta grad``), ``"momentum"``, ``"nesterov"``, ``"adam"``,
        ``"rmsprop"``. Its hyperparameters come from ``hparams`` (``lr``, ``momentum``, ``b1``, ``b2``...).
      threshold: accuracy threshold on a single output unit (0.5 for sigmoid outputs).
      shuffle: a fresh random order every epoch (sgd, minibatch); ``False``: the stored order.
      regularization: ``"none"``, ``"l2"`` (``hparams["weight_decay"]``) or ``"book"`` (``hparams["lam"]``).
      penalize_bias: include biases in ``sum_i w_i^2``.
      early_stopping, patience, min_delta, val_metric: see the module docstring (need a validation set).
      record_grad_norm: measure the full-batch gradient norm every epoch (one extra backward pass per epoch).
    """

    epochs: int = 100
    mode: str = "full_batch"
    batch_size: int = 1
    loss: str = "half_sse"
    reduction: str | None = None
    optimizer: str = "sgd"
    threshold: float = 0.5
    shuffle: bool = True
    regularization: str = "none"
    penalize_bias: bool = False
    early_stopping: bool = False
    patience: int = 10
    min_delta: float = 0.0
    val_metric: str = "loss"
    record_grad_norm: bool = True

    def __post_init__(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs <= 0:
            raise ValueError(f"epochs: expected a positive int, got {self.epochs!r}")
        if self.mode in MODE_ALIASES:
            object.__setattr__(self, "mode", MODE_ALIASES[self.mode])
        if self.mode not in MODES:
            raise ValueError(f"mode: unknown mode {self.mode!r}; expected one of "
                             f"{', '.join(MODES + tuple(MODE_ALIASES))}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise ValueError(f"threshold: expected a number (0.5 for sigmoid outputs), got {self.threshold!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size <= 0:
            raise ValueError(f"batch_size: expected a positive int, got {self.batch_size!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
        spec = losses_lib.get(self.loss)
        if self.reduction is not None:
            losses_lib.check_reduction(self.reduction)
        if self.regularization not in REGULARIZATIONS:
            raise ValueError(f"regularization: unknown form {self.regularization!r}; "
                             f"expected one of {', '.join(REGULARIZATIONS)}")
        if self.regularization == "book" and (self.reduction or spec.default_reduction) != "mean":
            raise ValueError("regularization: the book's E = lam (1/m) sum_k E_k + (1 - lam) sum w^2 uses the mean "
                             "over examples; set reduction='mean'")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience <= 0:
            raise ValueError(f"patience: expected a positive int (epochs without improvement), got {self.patience!r}")
        if not isinstance(self.min_delta, (int, float)) or self.min_delta < 0:
            raise ValueError(f"min_delta: expected a non-negative number, got {self.min_delta!r}")
        if self.val_metric not in VAL_METRICS:
            raise ValueError(f"val_metric: unknown metric {self.val_metric!r}; expected one of {', '.join(VAL_METRICS)}")


DEFAULT_HPARAMS = {"lr": 0.1, "weight_scale": 1.0, "bias_scale": 1.0, "momentum": 0.9, "b1": 0.9, "b2": 0.999,
                   "weight_decay": 0.0, "lam": 1.0}


def hparams(**overrides: Any) -> dict[str, Array]:
    """A full hyperparameter dict (defaults overridden), values as float32 arrays ready to be vmapped."""
    unknown = set(overrides) - set(DEFAULT_HPARAMS)
    if unknown:
        raise ValueError(f"hparams: unknown names {sorted(unknown)}; expected some of {sorted(DEFAULT_HPARAMS)}")
    return {k: jnp.asarray(overrides.get(k, v), jnp.float32) for k, v in DEFAULT_HPARAMS.items()}


def complete_hparams(hp: dict[str, Any] | None) -> dict[str, Any]:
    """``hp`` with every missing entry set to its default; an unknown name (a typo such as ``learning_rate`` for
    ``lr``) raises a ``ValueError`` instead of being silently ignored. Values are kept as given (arrays stay traced)."""
    hp = dict(hp or {})
    unknown = set(hp) - set(DEFAULT_HPARAMS)
    if unknown:
        raise ValueError(f"hparams: unknown names {sorted(unknown)}; expected some of {sorted(DEFAULT_HPARAMS)}")
    return {**hparams(), **hp}


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

    ``params``: final parameters (with early stopping: those at ``stop_epoch``); ``init_params``: the starting
    point; ``history``: per-epoch measurements (see module docstring); ``final_loss``, ``final_accuracy``,
    ``final_grad_norm``: the last epoch's values; ``diverged``: True when the final loss or parameters are not
    finite. With a validation set: ``best_params`` (smallest validation error, initial parameters included),
    ``best_epoch`` (0 = initial), ``best_val_error``, and ``stop_epoch`` (the number of epochs with updates:
    ``epochs`` unless early stopping fired); without one these four are ``None``.
    """

    params: Params
    init_params: Params
    history: dict[str, Array]
    final_loss: Array
    final_accuracy: Array
    final_grad_norm: Array
    diverged: Array
    best_params: Params | None = None
    best_epoch: Array | None = None
    best_val_error: Array | None = None
    stop_epoch: Array | None = None


# XLA's CPU backend compiles at LLVM optimisation level 3 by default; level 1 compiled the vmapped training scans
# here about 3x faster with the same run time (measured on watermelon/moons sweeps, 2 CPU cores).
FAST_COMPILE = {"xla_backend_optimization_level": 1}


def compile_run(fn, *args, compiler_options: dict | None = None):
    """Jit ``fn``, lower it for ``args`` and compile it ahead of time; returns ``(compiled, seconds)``.

    ``compiler_options`` default to :data:`FAST_COMPILE` (compile time dominates short studies and tests);
    pass ``{}`` for XLA's defaults. The compiled function takes arguments of the same shapes and dtypes.
    """
    import time

    lowered = jax.jit(fn).lower(*args)
    t0 = time.perf_counter()
    compiled = lowered.compile(compiler_options=FAST_COMPILE if compiler_options is None else compiler_options)
    return compiled, time.perf_counter() - t0


def global_norm(tree) -> Array:
    return optax.tree.norm(tree)


def sum_of_squares(params: Params, *, include_bias: bool = False) -> Array:
    """``sum_i w_i^2`` over every layer's ``W`` (and ``b`` when ``include_bias``)."""
    keys = ("W", "b") if include_bias else ("W",)
    return sum(jnp.sum(layer[k] ** 2) for layer in params for k in keys if k in layer)


def schedule(config: TrainConfig, m: int) -> tuple[int, int]:
    """``(updates per epoch, examples per update)`` for a training set of m examples; their product is the number
    of per-example gradient evaluations per epoch."""
    batch = {"full_batch": m, "sgd": 1, "minibatch": config.batch_size}[config.mode]
    return m // batch, batch


def _all_finite(*arrays: Array) -> bool:
    """True unless a concrete array holds NaN or inf; traced arrays (``make_run`` called inside ``jax.vmap`` over
    data sets, e.g. several targets at once) are not checked here, as their values are not known yet."""
    # numpy, not jnp: inside a trace even a concrete array's jnp result is a tracer.
    return all(isinstance(a, jax.core.Tracer) or bool(np.all(np.isfinite(np.asarray(a)))) for a in arrays)


def as_data(data: Data) -> Data:
    """``data`` with every array as a floating ``jax.Array`` (numpy arrays and nested lists accepted), so that traced
    indexing works; integer or boolean inputs are converted to the default float dtype."""
    if not isinstance(data, Data):
        raise ValueError(f"data: expected a train.Data(x, y[, x_val, y_val]), got {type(data).__name__}")

    def conv(a, name):
        if a is None:
            return None
        try:
            a = jnp.asarray(a)
        except TypeError as e:
            raise ValueError(f"data.{name}: expected an array, got {type(a).__name__} ({e})") from None
        if not jnp.issubdtype(a.dtype, jnp.floating):
            a = a.astype(jnp.result_type(float))
        return a

    return Data(*(conv(a, n) for a, n in zip(data, Data._fields, strict=True)))


def validate_data(model: MLP, data: Data) -> None:
    model.check_input(data.x, argument="data.x")
    if data.x.shape[0] == 0:
        raise ValueError("data.x: the training set is empty (expected at least one example)")
    if data.y.ndim != 2 or data.y.shape != (data.x.shape[0], model.sizes[-1]):
        raise ValueError(f"data.y: expected shape ({data.x.shape[0]}, {model.sizes[-1]}), got {tuple(data.y.shape)}")
    if not _all_finite(data.x, data.y):
        raise ValueError("data: x or y contains NaN or inf")
    if (data.x_val is None) != (data.y_val is None):
        raise ValueError("data: give both x_val and y_val, or neither")
    if data.x_val is not None:
        model.check_input(data.x_val, argument="data.x_val")
        if data.y_val.shape != (data.x_val.shape[0], model.sizes[-1]) or data.x_val.shape[0] == 0:
            raise ValueError(f"data.y_val: expected shape ({data.x_val.shape[0]} > 0, {model.sizes[-1]}), "
                             f"got {tuple(data.y_val.shape)}")
        if not _all_finite(data.x_val, data.y_val):
            raise ValueError("data: x_val or y_val contains NaN or inf")


def make_objective(model: MLP, config: TrainConfig):
    """``(J, E)``: the data objective ``J(params, x, y)`` and the penalised one ``E(params, x, y, hp)`` that the
    updates minimise (see the module docstring for the regularisation forms)."""
    loss_spec = losses_lib.get(config.loss)
    J = objective(model, loss_spec, config.reduction or loss_spec.default_reduction)

    def E(params: Params, x: Array, y: Array, hp: dict[str, Array]) -> Array:
        data_term = J(params, x, y)
        if config.regularization == "none":
            return data_term
        sq = sum_of_squares(params, include_bias=config.penalize_bias)
        if config.regularization == "l2":
            return data_term + 0.5 * hp["weight_decay"] * sq
        return hp["lam"] * data_term + (1 - hp["lam"]) * sq

    return J, E


def make_run(model: MLP, data: Data, config: TrainConfig = TrainConfig()):
    """``run(key, hparams) -> TrainResult`` for ``model`` on ``data`` (see module docstring).

    The key is split into an initialisation key and a shuffling key, so a restart's initial parameters depend on
    its key alone; epoch e (0-based) uses the order ``permutation(split(k_order, epochs)[e], m)``.
    ``hparams`` is a dict as returned by :func:`hparams` (missing entries take the defaults).
    ``run(key, hparams, params0)`` starts from given parameters instead (same structure as ``model.init``'s), so
    one compiled program serves starts drawn by different initialisers (vmap over ``params0``); the key then
    only orders the examples.
    """
    data = as_data(data)
    validate_data(model, data)
    has_val = data.x_val is not None
    if config.early_stopping and not has_val:
        raise ValueError("early_stopping: needs a validation set (Data.x_val, Data.y_val)")
    J, E = make_objective(model, config)
    x, y = data.x, data.y
    m = x.shape[0]
    if config.mode == "minibatch" and config.batch_size > m:
        raise ValueError(f"batch_size: {config.batch_size} is larger than the training set ({m} examples)")
    n_updates, batch = schedule(config, m)

    def measure(params, hp):
        if config.record_grad_norm:
            loss, g = jax.value_and_grad(J)(params, x, y)
            grad_norm = global_norm(g)
        else:
            loss, grad_norm = J(params, x, y), jnp.asarray(jnp.nan, x.dtype)
        out = {"loss": loss, "objective": E(params, x, y, hp) if config.regularization != "none" else loss,
               "accuracy": metrics.accuracy(model.apply(params, x), y, config.threshold), "grad_norm": grad_norm,
               "weight_norm": jnp.stack([jnp.linalg.norm(layer["W"]) for layer in params])}
        if has_val:
            out["val_loss"] = J(params, data.x_val, data.y_val)
            out["val_accuracy"] = metrics.accuracy(model.apply(params, data.x_val), data.y_val, config.threshold)
        return out

    def val_error(h):
        return h["val_loss"] if config.val_metric == "loss" else 1.0 - h["val_accuracy"]

    def select(flag, new, old):
        return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)

    def run(key: Array, hp: dict[str, Array] | None = None, params0: Params | None = None) -> TrainResult:
        if isinstance(key, int):  # a plain seed is fine for a single run
            key = jax.random.key(key)
        hp = complete_hparams(hp)
        k_init, k_order = jax.random.split(key)
        if params0 is None:
            params0 = model.init(k_init, hp["weight_scale"], hp["bias_scale"], dtype=x.dtype)
        tx = make_optimizer(config.optimizer, hp)

        def update(carry, idx):
            params, opt_state = carry
            g = jax.grad(E)(params, x[idx], y[idx], hp)
            updates, opt_state = tx.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        def epoch(state, k):
            carry = (state["params"], state["opt_state"])
            if config.mode == "full_batch":
                new, _ = update(carry, jnp.arange(m))
            else:
                order = jax.random.permutation(k, m) if config.shuffle else jnp.arange(m)
                new, _ = jax.lax.scan(update, carry, order[: n_updates * batch].reshape(n_updates, batch))
            if config.early_stopping:
                new = select(state["stopped"], carry, new)
            state = {**state, "params": new[0], "opt_state": new[1], "epoch": state["epoch"] + 1}
            h = measure(new[0], hp)
            if has_val:
                v = val_error(h)
                improved = v < state["best_val"] - config.min_delta
                state["best_params"] = select(improved, new[0], state["best_params"])
                state["best_val"] = jnp.where(improved, v, state["best_val"])
                state["best_epoch"] = jnp.where(improved, state["epoch"], state["best_epoch"])
                state["since_best"] = jnp.where(improved, 0, state["since_best"] + 1)
                if config.early_stopping:
                    # Once stopped, later epochs neither update nor move the stop epoch.
                    stop_now = ~state["stopped"] & (state["since_best"] >= config.patience)
                    state["stop_epoch"] = jnp.where(stop_now, state["epoch"], state["stop_epoch"])
                    state["stopped"] = state["stopped"] | stop_now
                    h["stopped"] = state["stopped"]
            return state, h

        state0 = {"params": params0, "opt_state": tx.init(params0), "epoch": jnp.asarray(0, jnp.int32)}
        if has_val:
            v0 = val_error(measure(params0, hp))
            state0.update(best_params=params0, best_val=v0, best_epoch=jnp.asarray(0, jnp.int32),
                          since_best=jnp.asarray(0, jnp.int32), stopped=jnp.asarray(False),
                          stop_epoch=jnp.asarray(config.epochs, jnp.int32))
        state, history = jax.lax.scan(epoch, state0, jax.random.split(k_order, config.epochs))
        params = state["params"]
        final_loss = history["loss"][-1]
        finite = jnp.isfinite(final_loss) & jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]))
        best = (state["best_params"], state["best_epoch"], state["best_val"], state["stop_epoch"]) if has_val else \
            (None, None, None, None)
        return TrainResult(params, params0, history, final_loss, history["accuracy"][-1],
                           history["grad_norm"][-1], ~finite, *best)

    return run
