"""One training run as one pure function ``run(key, hparams) -> TrainResult``, built on ``lax.scan``.

``make_run(model, data, config)`` returns ``run``; the same function is jit-ed, vmapped over restarts
(``jax.vmap(run)(keys, hparams)``), chunked and sharded by :mod:`xgnn_jax.engine.restarts`.

* Static structure (network shape, mode, epochs, batch size, loss, optimizer, penalty, early stopping) lives
  in the frozen dataclass :class:`TrainConfig`; changing it recompiles. The optimizer is an optax factory
  (``optax.sgd``, ``optax.adam``; :mod:`xgnn_jax.engine.optimizers`), the penalty a typed object
  (:mod:`xgnn_jax.engine.penalties`); names (``"sgd"``, ``"l2"``) stay as a command-line convenience.
* Swept values are array arguments in ``hparams`` (a dict of scalars): the optimizer's own arguments
  (``learning_rate``, alias ``lr``; ``momentum``, ``b1``, ...), the model's ``weight_scale`` and ``bias_scale``
  (multiplying the initial draws) and the penalty's (``weight_decay``, ``lam``). ``run.hyperparameters`` lists
  them with their defaults; an unknown name, or one the run would ignore (a momentum for the plain ``"sgd"``),
  is an error, and so is an out-of-range value (:func:`check_hparams`). Changing them does not recompile (the
  optimizer is built *inside* the run with the traced values, see PITFALLS: optax bakes a Python float into the
  program).
* The loop's carry is a :class:`TrainState`; the data a :class:`~xgnn_jax.data.datasets.Dataset` (``Data``);
  the model anything following :class:`xgnn_jax.core.model.Model`.

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

Regularisation (C16), added to the objective each update minimises (``J`` is the data term above, on the batch;
:mod:`xgnn_jax.engine.penalties` has the objects, here by their names):

* ``"l2"``: ``J + (weight_decay / 2) sum_i w_i^2``; for plain SGD this is weight decay ``w <- w - eta (grad J +
  weight_decay w)``.
* ``"book"``: the book's eq. (5.17) ``E = lam (1/m) sum_k E_k + (1 - lam) sum_i w_i^2`` with ``lam`` in (0, 1]
  (``lam = 1``: no regularisation). Needs ``reduction="mean"``, the book's 1/m.

``sum_i w_i^2`` runs over the connection weights ``W`` (:func:`xgnn_jax.core.model.weights`); ``penalize_bias=True`` adds the biases (the book's
``w_i`` counts the thresholds too).

History (one entry per epoch, measured after the epoch on the whole training set): data objective ``loss``
(without the penalty), the penalised ``objective``, ``accuracy``, full-batch gradient norm of the data objective
``grad_norm`` (NaN when ``record_grad_norm=False``, which saves one backward pass per epoch), and the Frobenius
norm of each layer's weights ``weight_norm: (epochs, L)``. With a validation set (``Data.x_val``): ``val_loss``
(the data objective on the validation set) and ``val_accuracy``. Index ``i`` of the history is epoch ``i + 1``.
With ``make_run(..., measure=fn)``: ``measure``, what ``fn(params, grads)`` returns each epoch (see :func:`make_run`).

Validation and early stopping (C16): with a validation set the run keeps the parameters with the smallest
validation error (``val_metric``: ``"loss"`` or ``"error"`` = 1 - accuracy), counting the initial parameters as
epoch 0, and returns them as ``best_params`` with ``best_epoch``. With ``early_stopping=True`` the updates stop
once the validation error has not improved (by more than ``min_delta``) for ``patience`` consecutive epochs
(``patience=1`` is the book's literal rule: stop as soon as the validation error rises); the scan keeps its fixed
length, the remaining epochs leave the parameters unchanged, and ``stop_epoch`` says when it stopped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from xgnn_jax.core import losses as losses_lib
from xgnn_jax.core import metrics
from xgnn_jax.core import model as model_lib
from xgnn_jax.core.mlp import Params, objective
from xgnn_jax.data.datasets import Dataset
from xgnn_jax.engine import optimizers as optimizers_lib
from xgnn_jax.engine import outcomes as outcomes_lib
from xgnn_jax.engine import penalties as penalties_lib
from xgnn_jax.engine import shuffle as shuffle_lib

Array = jax.Array

MODES = ("full_batch", "sgd", "minibatch")
# The book's names for the two modes of C11 are accepted too and stored as the mode they name.
MODE_ALIASES = {"accumulated_bp": "full_batch", "standard_bp": "sgd"}
OPTIMIZERS = optimizers_lib.NAMES  # the command-line names; TrainConfig also takes optax factories
REGULARIZATIONS = penalties_lib.NAMES
VAL_METRICS = ("loss", "error")
UNROLL_UPDATES = 32  # an epoch of at most this many updates runs unrolled (sgd, minibatch modes)
# The book's names for the two modes of C11.
ACCUMULATED_BP, STANDARD_BP = "full_batch", "sgd"
# The model's hyperparameters: the scales that multiply the initial draws (swept as arrays).
MODEL_HPARAMS = {"weight_scale": np.float32(1.0), "bias_scale": np.float32(1.0)}
# Output activations with a bounded range: an accuracy threshold outside it classifies every example alike.
_OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "sign": (-1.0, 1.0), "step": (0.0, 1.0)}

# The one data container (xgnn_jax.data.datasets.Dataset): x, y and an optional validation split x_val, y_val.
Data = Dataset


def _check_count(value: Any, argument: str, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{argument}: expected a positive int ({what}), got {value!r}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Static description of a run (hashable; a change recompiles). Every field is checked when it is built.

    Args:
      epochs: passes over the training set (a positive int).
      mode: ``"full_batch"`` (accumulated BP; also accepted as ``"accumulated_bp"``), ``"sgd"`` (standard BP:
        per-example updates; also ``"standard_bp"``) or ``"minibatch"``. Not to be confused with
        ``optimizer="sgd"``, the plain update rule ``w <- w - eta g`` used by any mode.
      batch_size: for ``"minibatch"`` (a positive int).
      loss: a name from :mod:`xgnn_jax.core.losses`; ``reduction``: ``"mean"`` or ``"sum"`` (default: the loss's usual).
      optimizer: an optax factory (``optax.sgd``, ``optax.adam``, ...), an :func:`~xgnn_jax.engine.optimizers.spec`,
        a ready ``optax.GradientTransformation``, or a name: ``"sgd"`` (the book's plain ``w <- w - eta grad``),
        ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"rmsprop"`` (:mod:`xgnn_jax.engine.optimizers`). Its
        numeric arguments come from ``hparams`` (``learning_rate`` alias ``lr``, ``momentum``, ``b1``, ...).
      threshold: accuracy threshold on a single output unit (0.5 for sigmoid outputs; finite, and inside the
        output activation's range, checked by ``make_run``).
      shuffle: a fresh random order every epoch (sgd, minibatch); ``False``: the stored order.
      regularization: a penalty (:mod:`xgnn_jax.engine.penalties`: ``L2()``, ``Book()``) or a name: ``"none"``,
        ``"l2"`` (``hparams["weight_decay"]``), ``"book"`` (``hparams["lam"]``).
      penalize_bias: include biases in ``sum_i w_i^2`` (for a penalty given by name).
      early_stopping, patience, min_delta, val_metric: see the module docstring (need a validation set).
      record_grad_norm: measure the full-batch gradient norm every epoch (one extra backward pass per epoch).

    ``optimizer_spec`` and ``penalty`` are the typed forms of ``optimizer`` and ``regularization``.
    """

    epochs: int = 100
    mode: str = "full_batch"
    batch_size: int = 1
    loss: str = "half_sse"
    reduction: str | None = None
    optimizer: Any = "sgd"
    threshold: float = 0.5
    shuffle: bool = True
    regularization: Any = "none"
    penalize_bias: bool = False
    early_stopping: bool = False
    patience: int = 10
    min_delta: float = 0.0
    val_metric: str = "loss"
    record_grad_norm: bool = True
    optimizer_spec: optimizers_lib.Optimizer = dataclasses.field(init=False, repr=False, compare=False)
    penalty: Any = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        _check_count(self.epochs, "epochs", "passes over the training set")
        if self.mode in MODE_ALIASES:
            object.__setattr__(self, "mode", MODE_ALIASES[self.mode])
        if self.mode not in MODES:
            raise ValueError(f"mode: unknown mode {self.mode!r}; expected one of "
                             f"{', '.join(MODES + tuple(MODE_ALIASES))}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float, np.number)) \
                or not np.isfinite(self.threshold):
            raise ValueError(f"threshold: expected a finite number (0.5 for sigmoid outputs), got {self.threshold!r}")
        _check_count(self.batch_size, "batch_size", "examples per update")
        object.__setattr__(self, "optimizer_spec", optimizers_lib.as_optimizer(self.optimizer))
        spec = losses_lib.get(self.loss)
        if self.reduction is not None:
            losses_lib.check_reduction(self.reduction)
        penalty = penalties_lib.as_penalty(self.regularization, include_bias=self.penalize_bias)
        object.__setattr__(self, "penalty", penalty)
        if getattr(penalty, "needs_mean", False) and (self.reduction or spec.default_reduction) != "mean":
            raise ValueError("regularization: the book's E = lam (1/m) sum_k E_k + (1 - lam) sum w^2 uses the mean "
                             "over examples; set reduction='mean'")
        _check_count(self.patience, "patience", "epochs without improvement")
        if isinstance(self.min_delta, bool) or not isinstance(self.min_delta, (int, float, np.number)) \
                or not np.isfinite(self.min_delta) or self.min_delta < 0:
            raise ValueError(f"min_delta: expected a finite non-negative number, got {self.min_delta!r}")
        if self.val_metric not in VAL_METRICS:
            raise ValueError(f"val_metric: unknown metric {self.val_metric!r}; expected one of {', '.join(VAL_METRICS)}")

    def __repr__(self) -> str:
        # The dataclass's own format (configs given by names print exactly as they always did, so fingerprints
        # built from the repr stay valid), with a factory or transformation shown by a stable name rather than
        # its memory address.
        def show(f):
            v = getattr(self, f.name)
            if f.name == "optimizer" and not isinstance(v, str):
                return repr(self.optimizer_spec)
            return repr(v)

        fields = ", ".join(f"{f.name}={show(f)}" for f in dataclasses.fields(self) if f.repr)
        return f"{type(self).__qualname__}({fields})"

    def describe(self) -> dict[str, Any]:
        """Every field as JSON-ready values that are the same in every process (``repr`` of a config holding a
        function shows its memory address): the optimizer by :meth:`Optimizer.describe`, the penalty by its
        ``repr`` (a frozen dataclass). For fingerprints of sweeps and results."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        out["optimizer"] = self.optimizer_spec.describe()
        out["regularization"] = repr(self.penalty)
        return out

    def hyperparameters(self) -> dict[str, Any]:
        """``{name: default}`` of every hyperparameter a run of this config takes: the optimizer's (None: left to
        the optax factory unless given), the model's ``weight_scale`` and ``bias_scale``, the penalty's."""
        return {**self.optimizer_spec.hyperparameters, **MODEL_HPARAMS, **self.penalty.hyperparameters}


# The engine's hyperparameters before they were open to whatever the optimizer takes (kept for old callers).
DEFAULT_HPARAMS = {"lr": 0.1, "weight_scale": 1.0, "bias_scale": 1.0, "momentum": 0.9, "b1": 0.9, "b2": 0.999,
                   "weight_decay": 0.0, "lam": 1.0}


def hparams(**values: Any) -> dict[str, Array]:
    """The given hyperparameters as float32 arrays ready to be vmapped (values checked: a NaN, inf, negative or
    zero learning rate and other out-of-range values raise, naming the hyperparameter). Names are checked by the
    run (they depend on its optimizer and penalty); missing names take the run's defaults."""
    optimizers_lib.check_values(values)
    return {k: jnp.asarray(v, jnp.float32) for k, v in values.items()}


def check_hparams(config_or_run: Any, hp: dict[str, Any] | None) -> dict[str, Any]:
    """Check hyperparameter names and values for a run (or its ``TrainConfig``) before any compile; returns ``hp``
    with aliases resolved (``lr`` -> ``learning_rate``). Grids (1-D arrays of values) are checked value by value.

    Raises a ``ValueError`` naming an unknown hyperparameter and listing the run's, a momentum given to the plain
    ``"sgd"``, or an out-of-range value (NaN/inf anywhere; learning_rate <= 0; momentum, b1, b2 outside [0, 1);
    lam outside (0, 1]; weight_decay < 0)."""
    config = getattr(config_or_run, "config", config_or_run)
    if not isinstance(config, TrainConfig):
        raise ValueError(f"check_hparams: expected a TrainConfig or a run from make_run, got {config_or_run!r}")
    hp = dict(hp or {})
    optimizers_lib.check_names(hp, config.hyperparameters(), optimizer=config.optimizer_spec)
    optimizers_lib.check_values(hp)
    return optimizers_lib.canonical(hp)


def complete_hparams(hp: dict[str, Any] | None) -> dict[str, Any]:
    """Old callers' form: ``hp`` with every missing entry of :data:`DEFAULT_HPARAMS` set, learning rate as
    ``lr`` (``learning_rate`` accepted). Unknown names raise. Values are kept as given (arrays stay traced)."""
    hp = dict(hp or {})
    if "learning_rate" in hp:
        if "lr" in hp:
            raise ValueError("hparams: 'lr' is an alias of 'learning_rate'; give only one of them")
        hp["lr"] = hp.pop("learning_rate")
    unknown = set(hp) - set(DEFAULT_HPARAMS)
    if unknown:
        raise ValueError(f"hparams: unknown names {sorted(unknown)}; expected some of {sorted(DEFAULT_HPARAMS)}")
    optimizers_lib.check_values(hp)
    return {**{k: jnp.asarray(v, jnp.float32) for k, v in DEFAULT_HPARAMS.items()}, **hp}


def make_optimizer(spec: Any, hp: dict[str, Any]) -> optax.GradientTransformation:
    """The optimizer ``spec`` (a name, factory, spec or transformation) built with the hyperparameters ``hp``
    (``lr`` or ``learning_rate``; names the optimizer does not take are ignored). Call it inside the traced run,
    so that the values stay arrays (one compile per sweep; see :meth:`~xgnn_jax.engine.optimizers.Optimizer.build`)."""
    return optimizers_lib.as_optimizer(spec).build(optimizers_lib.canonical(hp))


class TrainState(NamedTuple):
    """The training loop's state, the carry of the scan over epochs.

    ``params``, ``opt_state`` (the optax state), ``epoch`` (epochs done, int32). With a validation set:
    ``best_params`` (smallest validation error so far, the initial parameters counted as epoch 0), ``best_val``,
    ``best_epoch``, ``since_best`` (epochs since it improved), ``stopped`` (early stopping fired) and
    ``stop_epoch`` (the epoch it fired, ``epochs`` if never); without one these are None.
    """

    params: Params
    opt_state: Any
    epoch: Array
    best_params: Params | None = None
    best_val: Array | None = None
    best_epoch: Array | None = None
    since_best: Array | None = None
    stopped: Array | None = None
    stop_epoch: Array | None = None


class TrainResult(NamedTuple):
    """What one run returns (under vmap every leaf gains a leading restart axis).

    ``params``: final parameters (with early stopping: those at ``stop_epoch``); ``init_params``: the starting
    point; ``history``: per-epoch measurements (see module docstring); ``final_loss``, ``final_accuracy``,
    ``final_grad_norm``: the last epoch's values; ``diverged``: True when the final loss or parameters are not
    finite. With a validation set: ``best_params`` (smallest validation error, initial parameters included),
    ``best_epoch`` (0 = initial), ``best_val_error``, and ``stop_epoch`` (the number of epochs with updates:
    ``epochs`` unless early stopping fired); without one these four are ``None``. ``pinned_fraction``: the
    fraction of sigmoid/tanh activations on the training set pinned at an asymptote by the final parameters
    (:func:`xgnn_jax.core.model.pinned_fraction`; the saturation rule of :mod:`xgnn_jax.engine.outcomes` uses it).
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
    pinned_fraction: Array | None = None


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


def sum_of_squares(params: Params, *, include_bias: bool = False, model: Any = None) -> Array:
    """``sum_i w_i^2`` over every layer's ``W`` (and ``b`` when ``include_bias``); see
    :func:`xgnn_jax.core.model.sum_of_squares` for models that say which leaves are weights."""
    return model_lib.sum_of_squares(model, params, include_bias=include_bias)


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


def as_data(data: Any) -> Dataset:
    """``data`` (a :class:`Dataset`, alias ``Data``, or an ``(x, y)`` pair) with every array as a floating
    ``jax.Array`` (numpy arrays and nested lists accepted), so that traced indexing works; integer or boolean
    inputs are converted to the default float dtype."""
    if isinstance(data, tuple) and len(data) == 2:
        data = Dataset(*data)
    if not isinstance(data, Dataset):
        raise ValueError(f"data: expected a Dataset(x, y[, x_val, y_val]) (train.Data) or an (x, y) pair, got "
                         f"{type(data).__name__}")

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

    return Dataset(*(conv(getattr(data, n), n) for n in Dataset._fields))


def validate_data(model: Any, data: Dataset) -> None:
    """Shapes and values of ``data`` for ``model``: non-empty, ``y: (m, d_out)``, finite, validation part whole."""
    model_lib.check_input(model, data.x, argument="data.x")
    if data.x.shape[0] == 0:
        raise ValueError("data.x: the training set is empty (expected at least one example)")
    d_out = model_lib.output_size(model)
    if data.y.ndim != 2 or data.y.shape[0] != data.x.shape[0] or (d_out is not None and data.y.shape[1] != d_out):
        raise ValueError(f"data.y: expected shape ({data.x.shape[0]}, {d_out if d_out is not None else 'd_out'}), "
                         f"got {tuple(data.y.shape)}")
    if not _all_finite(data.x, data.y):
        raise ValueError("data: x or y contains NaN or inf")
    if (data.x_val is None) != (data.y_val is None):
        raise ValueError("data: give both x_val and y_val, or neither")
    if data.x_val is not None:
        model_lib.check_input(model, data.x_val, argument="data.x_val")
        if data.y_val.shape != (data.x_val.shape[0], data.y.shape[1]) or data.x_val.shape[0] == 0:
            raise ValueError(f"data.y_val: expected shape ({data.x_val.shape[0]} > 0, {data.y.shape[1]}), "
                             f"got {tuple(data.y_val.shape)}")
        if not _all_finite(data.x_val, data.y_val):
            raise ValueError("data: x_val or y_val contains NaN or inf")


def check_threshold(model: Any, config: TrainConfig, d_out: int) -> None:
    """The accuracy threshold must lie strictly inside a bounded output activation's range (a threshold of 1.5
    on sigmoid outputs classifies every example as 0). Only a single output unit uses it (several: arg-max)."""
    lo_hi = _OUTPUT_RANGES.get(getattr(model, "output", None))
    if d_out == 1 and lo_hi is not None and not lo_hi[0] < config.threshold < lo_hi[1]:
        raise ValueError(f"threshold: {config.threshold!r} is outside the range {lo_hi} of the model's "
                         f"{model.output} outputs; every example would get the same class")


def make_objective(model: Any, config: TrainConfig):
    """``(J, E)``: the data objective ``J(params, x, y)`` and the penalised one ``E(params, x, y, hp)`` that the
    updates minimise (``E = config.penalty(J, sum_i w_i^2, hp)``, see :mod:`xgnn_jax.engine.penalties`)."""
    loss_spec = losses_lib.get(config.loss)
    J = objective(model, loss_spec, config.reduction or loss_spec.default_reduction)
    penalty = config.penalty

    def E(params: Params, x: Array, y: Array, hp: dict[str, Array]) -> Array:
        data_term = J(params, x, y)
        if penalties_lib.is_none(penalty):
            return data_term
        sq = model_lib.sum_of_squares(model, params, include_bias=penalty.include_bias)
        return penalty(data_term, sq, hp)

    return J, E


def _resolve_hparams(config: TrainConfig, hp: dict[str, Any] | None) -> dict[str, Any]:
    """The run's full hyperparameters: names and concrete values checked (:func:`check_hparams`), aliases
    resolved, missing names set to their defaults (names whose default is None are left out)."""
    hp = check_hparams(config, hp)
    defaults = {k: v for k, v in config.hyperparameters().items() if v is not None}
    return {**defaults, **hp}


def make_run(model: Any, data: Any, config: TrainConfig = TrainConfig(), *,
             measure: Callable[[Params, Params], Any] | None = None):
    """``run(key, hparams) -> TrainResult`` for ``model`` on ``data`` (see module docstring).

    ``model``: anything with ``init`` and ``apply`` (:class:`xgnn_jax.core.model.Model`: MLP, ShortcutMLP, a Flax
    adapter). ``data``: a :class:`~xgnn_jax.data.datasets.Dataset` (alias ``Data``), with a validation part for
    early stopping. The key is split into an initialisation key and a shuffling key, so a restart's initial
    parameters depend on its key alone; epoch e (0-based) uses the order ``permutation(split(k_order, epochs)[e],
    m)``. ``hparams``: a dict of the names in ``run.hyperparameters`` (optimizer's, model's, penalty's; ``lr`` is
    ``learning_rate``), values scalars or arrays; missing entries take the defaults; an unknown name or an
    out-of-range value raises before anything is compiled. ``run(key, hparams, params0)`` starts from given
    parameters instead (same structure as ``model.init``'s), so one compiled program serves starts drawn by
    different initialisers (vmap over ``params0``); the key then only orders the examples.

    ``measure``: optional ``measure(params, grads) -> pytree``, recorded once per epoch as ``history["measure"]``
    (every leaf gains a leading axis ``epochs``; row ``e`` is epoch ``e + 1``): ``params`` are the parameters the
    epoch starts from, ``grads`` the gradient of the penalised objective ``E`` at them on the whole training set.
    In full-batch mode that is the very gradient the epoch's update uses (no extra backward pass); in the sgd and
    minibatch modes it costs one extra full-batch backward pass per epoch. For per-step traces of a training run
    (per-layer gradient norms, unit spreads). None (default): nothing is recorded, the program is the same.
    """
    if measure is not None and not callable(measure):
        raise ValueError(f"measure: expected None or a callable measure(params, grads) -> pytree, got {measure!r}")
    hook = measure  # the name `measure` is the per-epoch history below
    model_lib.check_model(model)
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config: expected a TrainConfig, got {type(config).__name__}")
    data = as_data(data)
    validate_data(model, data)
    has_val = data.x_val is not None
    if config.early_stopping and not has_val:
        raise ValueError("early_stopping: needs a validation set (Data.x_val, Data.y_val)")
    check_threshold(model, config, data.y.shape[1])
    J, E = make_objective(model, config)
    x, y = data.x, data.y
    m = x.shape[0]
    if config.mode == "minibatch" and config.batch_size > m:
        raise ValueError(f"batch_size: {config.batch_size} is larger than the training set ({m} examples)")
    n_updates, batch = schedule(config, m)
    penalised = not penalties_lib.is_none(config.penalty)

    def measure(params, hp):
        if config.record_grad_norm:
            loss, g = jax.value_and_grad(J)(params, x, y)
            grad_norm = global_norm(g)
        else:
            loss, grad_norm = J(params, x, y), jnp.asarray(jnp.nan, x.dtype)
        out = {"loss": loss, "objective": E(params, x, y, hp) if penalised else loss,
               "accuracy": metrics.accuracy(model.apply(params, x), y, config.threshold), "grad_norm": grad_norm,
               "weight_norm": jnp.stack([jnp.linalg.norm(w) for w in model_lib.weights(model, params)])}
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
        hp = _resolve_hparams(config, hp)
        k_init, k_order = jax.random.split(key)
        if params0 is None:
            params0 = model.init(k_init, hp["weight_scale"], hp["bias_scale"], dtype=x.dtype)
        tx = config.optimizer_spec.build(hp)

        def step(carry, idx):  # one update, and the gradient it used
            params, opt_state = carry
            g = jax.grad(E)(params, x[idx], y[idx], hp)
            updates, opt_state = tx.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), g

        def update(carry, idx):
            return step(carry, idx)[0], None

        def epoch(state: TrainState, k):
            carry = (state.params, state.opt_state)
            recorded = None
            if config.mode == "full_batch" and hook is not None:
                new, g = step(carry, jnp.arange(m))
                recorded = hook(state.params, g)
            elif config.mode == "full_batch":
                new, _ = update(carry, jnp.arange(m))
            else:
                if hook is not None:
                    recorded = hook(state.params, jax.grad(E)(state.params, x, y, hp))
                order = shuffle_lib.permutation(k, m) if config.shuffle else jnp.arange(m)
                # A short epoch unrolled: the loop's per-iteration cost was half of a tiny network's update.
                new, _ = jax.lax.scan(update, carry, order[: n_updates * batch].reshape(n_updates, batch),
                                      unroll=n_updates if n_updates <= UNROLL_UPDATES else 1)
            if config.early_stopping:
                new = select(state.stopped, carry, new)
            state = state._replace(params=new[0], opt_state=new[1], epoch=state.epoch + 1)
            h = measure(new[0], hp)
            if hook is not None:
                h["measure"] = recorded
            if has_val:
                v = val_error(h)
                improved = v < state.best_val - config.min_delta
                state = state._replace(best_params=select(improved, new[0], state.best_params),
                                       best_val=jnp.where(improved, v, state.best_val),
                                       best_epoch=jnp.where(improved, state.epoch, state.best_epoch),
                                       since_best=jnp.where(improved, 0, state.since_best + 1))
                if config.early_stopping:
                    # Once stopped, later epochs neither update nor move the stop epoch.
                    stop_now = ~state.stopped & (state.since_best >= config.patience)
                    state = state._replace(stop_epoch=jnp.where(stop_now, state.epoch, state.stop_epoch),
                                           stopped=state.stopped | stop_now)
                    h["stopped"] = state.stopped
            return state, h

        state0 = TrainState(params0, tx.init(params0), jnp.asarray(0, jnp.int32))
        if has_val:
            v0 = val_error(measure(params0, hp))
            state0 = state0._replace(best_params=params0, best_val=v0, best_epoch=jnp.asarray(0, jnp.int32),
                                     since_best=jnp.asarray(0, jnp.int32), stopped=jnp.asarray(False),
                                     stop_epoch=jnp.asarray(config.epochs, jnp.int32))
        state, history = jax.lax.scan(epoch, state0, jax.random.split(k_order, config.epochs))
        params = state.params
        final_loss = history["loss"][-1]
        finite = jnp.isfinite(final_loss) & jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]))
        best = (state.best_params, state.best_epoch, state.best_val, state.stop_epoch)
        return TrainResult(params, params0, history, final_loss, history["accuracy"][-1],
                           history["grad_norm"][-1], ~finite, *best,
                           pinned_fraction=model_lib.pinned_fraction(model, params, x))

    run.config = config
    run.model = model
    run.hyperparameters = config.hyperparameters()
    run.check_hparams = lambda hp: check_hparams(config, hp)
    return run


def train_outcomes(result: TrainResult, target_loss: float = 1e-2) -> dict[str, Array]:
    """The standard outcomes of one run (:func:`xgnn_jax.engine.outcomes.train_outcomes`)."""
    return outcomes_lib.train_outcomes(result, target_loss)
