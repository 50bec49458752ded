"""The article's framework models (its Keras ``Sequential`` and its PyTorch ``TwoLayerNet``) written in Flax, and
converters between Flax parameters and the core's parameter pytree (C15).

Which Flax API, and why
-----------------------
Flax 0.12 ships two APIs, Linen and NNX. The Flax documentation encourages new code to use **NNX** (Linen is not
deprecated but is in maintenance), so the models here are ``flax.nnx.Module`` s. They are used in NNX's
**functional split/merge style**: :func:`split` turns a module into a static, hashable definition
(:class:`FlaxSpec`, holding the ``nnx.GraphDef``) and a parameter pytree (an ``nnx.State`` of ``nnx.Param``);
``nnx.merge(graphdef, state)`` rebuilds the module inside a pure function. Plain ``jax.jit``, ``jax.vmap`` and
``lax.scan`` then work directly on the state, so a Flax model runs inside the same kind of whole-run ``lax.scan``
and restart ``vmap`` as the core (:mod:`xgnn_jax.engine.train`), with no ``nnx.jit``/``nnx.vmap`` lifting. Two more
reasons (see ``docs/frameworks.md``): ``nnx.jit`` traverses the object graph in Python on every call (measured in the
project notes: about 5x slower than a functional ``jax.jit`` + ``lax.scan`` for small models), and Flax's announced switch to "tree mode"
drops ``StateAxes`` and changes ``nnx.grad``'s default filter, while code built on ``split``/``merge`` and plain JAX
transforms keeps working. The stateful NNX idiom (``nnx.Optimizer`` and an ``nnx.jit`` step in a Python loop,
which reads like the article's PyTorch loop) is kept as :func:`train_nnx_loop`, for comparison.

The models (shapes: ``x: (n, d_in)``, rows are examples; ``nnx.Linear`` stores ``kernel: (d_in, d_out)``, the
core's ``W``, and computes ``x @ kernel + bias``: the core's ``Z = A W + b``)

* :class:`TwoLayerNet`: the article's PyTorch model, ``Linear(D_in, H) -> clamp(min=0) -> Linear(H, D_out)``, with
  PyTorch's default initialisation of ``nn.Linear`` (weights and biases ``U(-1/sqrt(d_in), 1/sqrt(d_in))``).
  (``torch.nn.Linear`` stores ``weight: (D_out, D_in)`` and computes ``x @ weight.T + bias``: to load core weights
  into PyTorch, transpose ``W``.)
* :class:`KerasNet`: the article's Keras model, ``Dense(1000, relu) -> Dense(100, relu) -> Dense(10, sigmoid)`` on
  1000 inputs, with Keras's default initialisation (``glorot_uniform`` kernels, zero biases).
* :class:`FlaxMLP`: any core :class:`xgnn_jax.core.mlp.MLP` (sizes, activations, bias, initialisers) as a Flax module.

Each has ``logits(x)`` (the output layer's pre-activation ``Z[L]``), ``__call__(x)`` (the outputs ``A[L]``),
``layer_paths()`` (where its linear layers sit in the state, in forward order) and
``core_model()`` (the :class:`~xgnn_jax.core.mlp.MLP` computing the same function).

Converters: ``spec.to_core(state) -> ({"W", "b"}, ...)`` and ``spec.from_core(params) -> state`` are pure pytree
relabelings (no arithmetic), so they are exact both ways and can be used inside ``jit``/``vmap``/``grad``.

Initial parameters: NNX draws from ``nnx.Rngs`` (counters and ``fold_in``), the core from ``split(key, 2L)``; the
same seed gives different draws. :meth:`FlaxSpec.init` therefore draws with the core's initialisers and converts,
so a Flax run and a core run given the same key start from the same parameters; the modules' own initialisers
(``Module(..., rngs=nnx.Rngs(params=key))``) draw from the same distributions with different numbers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from xgnn_jax.core import activations, initializers
from xgnn_jax.core import losses as losses_lib
from xgnn_jax.core.mlp import MLP, Params, check_loss_fits

Array = jax.Array
State = Any  # an nnx.State of nnx.Param (a pytree); plain dicts once Flax replaces State by dict

# Flax's leaf names for a linear layer's parameters, and the core's.
_TO_CORE = {"kernel": "W", "bias": "b"}


def _initializer(name: str, fan_in: int, fan_out: int) -> Callable[..., Array]:
    """A core initialiser (see :mod:`xgnn_jax.core.initializers`) in Flax's ``init(key, shape, dtype)`` signature."""
    init = initializers.get(name)

    def flax_init(key, shape, dtype=jnp.float32):
        return init(key, shape, fan_in, fan_out, dtype)

    return flax_init


def _linear(d_in: int, d_out: int, *, bias: bool, weight_init: str, bias_init: str, rngs: nnx.Rngs,
            param_dtype: Any) -> nnx.Linear:
    return nnx.Linear(d_in, d_out, use_bias=bias, kernel_init=_initializer(weight_init, d_in, d_out),
                      bias_init=_initializer(bias_init, d_in, d_out), param_dtype=param_dtype, rngs=rngs)


def _check_positive(**sizes: Any) -> None:
    for name, v in sizes.items():
        vals = v if isinstance(v, tuple) else (v,)
        if not vals or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in vals):
            raise ValueError(f"{name}: expected positive int(s), got {v!r}")


# ---------------------------------------------------------------------------------------------- models
class TwoLayerNet(nnx.Module):
    """The article's PyTorch ``TwoLayerNet``: ``y_pred = linear2(clamp(linear1(x), min=0))``.

    ``x: (n, D_in) -> (n, D_out)``; ``linear1.kernel: (D_in, H)``, ``linear2.kernel: (H, D_out)``. Initialised like
    ``torch.nn.Linear``: weights and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
    """

    def __init__(self, d_in: int, h: int, d_out: int, *, rngs: nnx.Rngs, param_dtype: Any = jnp.float32):
        _check_positive(d_in=d_in, h=h, d_out=d_out)
        self.d_in, self.h, self.d_out = d_in, h, d_out
        kw = dict(bias=True, weight_init="fan_in_uniform", bias_init="fan_in_uniform", rngs=rngs,
                  param_dtype=param_dtype)
        self.linear1 = _linear(d_in, h, **kw)
        self.linear2 = _linear(h, d_out, **kw)

    def logits(self, x: Array) -> Array:
        # clamp(min=0) as jax.nn.relu, whose derivative at an exact 0 is 0, like the core's relu. PyTorch's clamp
        # passes the gradient at 0 (clamp_backward: where(x >= min, grad, 0)), and so does the article's numpy code
        # (grad_h[h < 0] = 0); exact zeros are rare but occur (one in a 500-step float32 run of the article's net).
        h_relu = nnx.relu(self.linear1(x))
        return self.linear2(h_relu)

    def __call__(self, x: Array) -> Array:
        return self.logits(x)

    def layer_paths(self) -> tuple[tuple, ...]:
        return (("linear1",), ("linear2",))

    def core_model(self) -> MLP:
        return MLP((self.d_in, self.h, self.d_out), hidden="relu", output="identity", bias=True,
                   weight_init="fan_in_uniform", bias_init="fan_in_uniform")


class KerasNet(nnx.Module):
    """The article's Keras model: ``Dense(units[0], relu) -> Dense(units[1], relu) -> Dense(units[2], sigmoid)``.

    Defaults are the article's: 1000 inputs, ``units = (1000, 100, 10)``. Keras's default initialisation:
    ``glorot_uniform`` kernels ``U(-sqrt(6/(fan_in+fan_out)), +...)`` and zero biases. ``x: (n, d_in) -> (n, units[2])``.
    """

    def __init__(self, d_in: int = 1000, units: Sequence[int] = (1000, 100, 10), *, rngs: nnx.Rngs,
                 param_dtype: Any = jnp.float32):
        units = tuple(units)
        _check_positive(d_in=d_in, units=units)
        if len(units) != 3:
            raise ValueError(f"units: expected the widths of the three Dense layers, got {units!r}")
        self.d_in, self.units = d_in, units
        kw = dict(bias=True, weight_init="glorot_uniform", bias_init="zeros", rngs=rngs, param_dtype=param_dtype)
        self.dense1 = _linear(d_in, units[0], **kw)
        self.dense2 = _linear(units[0], units[1], **kw)
        self.dense3 = _linear(units[1], units[2], **kw)

    def logits(self, x: Array) -> Array:
        h = nnx.relu(self.dense1(x))
        h = nnx.relu(self.dense2(h))
        return self.dense3(h)

    def __call__(self, x: Array) -> Array:
        return nnx.sigmoid(self.logits(x))

    def layer_paths(self) -> tuple[tuple, ...]:
        return (("dense1",), ("dense2",), ("dense3",))

    def core_model(self) -> MLP:
        return MLP((self.d_in, *self.units), hidden="relu", output="sigmoid", bias=True,
                   weight_init="glorot_uniform", bias_init="zeros")


class FlaxMLP(nnx.Module):
    """A core :class:`~xgnn_jax.core.mlp.MLP` as a Flax module: ``layers[l]`` is the core's layer ``l + 1``.

    Same widths, activations (taken from :mod:`xgnn_jax.core.activations`), bias flag and initialiser distributions.
    """

    def __init__(self, spec: MLP, *, rngs: nnx.Rngs, param_dtype: Any = jnp.float32):
        if not isinstance(spec, MLP):
            raise ValueError(f"spec: expected an xgnn_jax.core.mlp.MLP, got {type(spec).__name__}")
        self.spec = spec
        self.layers = nnx.List([
            _linear(d_in, d_out, bias=spec.bias, weight_init=spec.weight_init, bias_init=spec.bias_init,
                    rngs=rngs, param_dtype=param_dtype)
            for d_in, d_out in zip(spec.sizes[:-1], spec.sizes[1:], strict=True)])

    def logits(self, x: Array) -> Array:
        names = self.spec.layer_activations
        a = x
        for l, layer in enumerate(self.layers):
            z = layer(a)
            if l < len(names) - 1:
                a = activations.get(names[l]).f(z)
        return z

    def __call__(self, x: Array) -> Array:
        return activations.get(self.spec.output).f(self.logits(x))

    def layer_paths(self) -> tuple[tuple, ...]:
        return tuple(("layers", l) for l in range(self.spec.num_layers))

    def core_model(self) -> MLP:
        return self.spec


# ---------------------------------------------------------------------------------------------- split / convert
def _key(path) -> tuple:
    """A state leaf's key path as plain keys, without the ``Variable``'s trailing ``.value`` attribute."""
    out = []
    for k in path:
        if isinstance(k, jax.tree_util.DictKey):
            out.append(k.key)
        elif isinstance(k, jax.tree_util.SequenceKey):
            out.append(k.idx)
        elif isinstance(k, jax.tree_util.GetAttrKey):
            if k.name != "value":
                out.append(k.name)
        else:
            out.append(getattr(k, "key", k))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class FlaxSpec:
    """The static half of a split Flax model (hashable; safe as a ``jit`` static argument).

    ``graphdef``: NNX's static graph; ``treedef`` and ``leaf_keys``: the parameter state's pytree structure and the
    key path of each leaf; ``layer_paths``: where the linear layers sit, in forward order; ``core``: the
    :class:`~xgnn_jax.core.mlp.MLP` computing the same function. The other half, the parameter state, is a pytree:
    ``jax.vmap`` over a stacked state runs restarts.
    """

    graphdef: Any
    treedef: Any
    leaf_keys: tuple[tuple, ...]
    shapes: tuple[tuple[int, ...], ...]
    layer_paths: tuple[tuple, ...]
    core: MLP

    def module(self, state: State) -> nnx.Module:
        """The module with parameters ``state`` (``nnx.merge``; works on traced values inside jit/vmap/grad)."""
        return nnx.merge(self.graphdef, state)

    def apply(self, state: State, x: Array) -> Array:
        """Outputs ``A[L]: (n, d_L)`` of the module with parameters ``state``."""
        self.core.check_input(x)
        return self.module(state)(x)

    def logits(self, state: State, x: Array) -> Array:
        """The output layer's pre-activation ``Z[L]: (n, d_L)``."""
        self.core.check_input(x)
        return self.module(state).logits(x)

    def to_core(self, state: State) -> Params:
        """The core's parameter pytree ``({"W": kernel, "b": bias}, ...)`` of a Flax state (exact; leading
        vmapped axes are kept)."""
        leaves = jax.tree.leaves(state)
        if len(leaves) != len(self.leaf_keys):
            raise ValueError(f"state: expected {len(self.leaf_keys)} parameter arrays, got {len(leaves)}")
        flat = dict(zip(self.leaf_keys, leaves, strict=True))
        params = []
        for p in self.layer_paths:
            layer = {"W": flat[(*p, "kernel")]}
            if (*p, "bias") in flat:
                layer["b"] = flat[(*p, "bias")]
            params.append(layer)
        return tuple(params)

    def from_core(self, params: Params) -> State:
        """A Flax parameter state holding the core's ``params`` (exact; works under jit/vmap/grad).

        Raises ``ValueError`` if ``params`` does not have one ``{"W", "b"}`` dict per layer with the model's
        shapes (any leading batch axes must be shared by all arrays).
        """
        if not isinstance(params, (tuple, list)) or len(params) != len(self.layer_paths):
            raise ValueError(f"params: expected a tuple of {len(self.layer_paths)} layer dicts, got "
                             f"{type(params).__name__} of length {len(params) if hasattr(params, '__len__') else '?'}")
        lookup = {}
        for l, (p, layer) in enumerate(zip(self.layer_paths, params, strict=True)):
            want = {"W"} | ({"b"} if (*p, "bias") in self.leaf_keys else set())
            if not isinstance(layer, dict) or set(layer) != want:
                raise ValueError(f"params[{l}]: expected keys {sorted(want)}, got "
                                 f"{sorted(layer) if isinstance(layer, dict) else type(layer).__name__}")
            lookup[(*p, "kernel")] = layer["W"]
            if "b" in layer:
                lookup[(*p, "bias")] = layer["b"]
        leaves = []
        for k, shape in zip(self.leaf_keys, self.shapes, strict=True):
            a = jnp.asarray(lookup[k])
            if tuple(a.shape[a.ndim - len(shape):]) != shape:
                name = {"kernel": "W", "bias": "b"}[k[-1]]
                l = self.layer_paths.index(k[:-1])
                raise ValueError(f"params[{l}][{name!r}]: expected shape {shape}, got {tuple(a.shape)}")
            leaves.append(a)
        return jax.tree.unflatten(self.treedef, leaves)

    def init(self, key: Array, weight_scale: Array | float = 1.0, bias_scale: Array | float = 1.0,
             dtype: Any = jnp.float32) -> State:
        """Initial parameters drawn exactly as ``core.init(key, ...)`` draws them, as a Flax state."""
        return self.from_core(self.core.init(key, weight_scale, bias_scale, dtype))


def split(module: nnx.Module) -> tuple[FlaxSpec, State]:
    """``(spec, state)``: the static definition and the parameter pytree of one of this module's models.

    The module must hold only ``nnx.Param`` variables and provide ``layer_paths()`` and ``core_model()``.
    """
    for attr in ("layer_paths", "core_model"):
        if not callable(getattr(module, attr, None)):
            raise ValueError(f"module: expected a model from xgnn_jax.frameworks.flax_models with {attr}(), "
                             f"got {type(module).__name__}")
    graphdef, state, rest = nnx.split(module, nnx.Param, ...)
    if jax.tree.leaves(rest):
        raise ValueError(f"module: expected only nnx.Param variables, found other state: {rest}")
    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(state)
    leaf_keys = tuple(_key(p) for p, _ in leaves_with_path)
    shapes = tuple(tuple(leaf.shape) for _, leaf in leaves_with_path)
    layer_paths = tuple(tuple(p) for p in module.layer_paths())
    for k in leaf_keys:
        if k[-1] not in _TO_CORE or k[:-1] not in layer_paths:
            raise ValueError(f"module: parameter {k} is not the kernel or bias of a layer in layer_paths()")
    spec = FlaxSpec(graphdef, treedef, leaf_keys, shapes, layer_paths, module.core_model())
    if spec.core.num_params != sum(int(jnp.prod(jnp.asarray(s))) for s in shapes):
        raise ValueError("module: its parameters do not match core_model()'s sizes")
    return spec, state


def to_core(module: nnx.Module) -> Params:
    """The core parameter pytree of a Flax model (see :meth:`FlaxSpec.to_core`)."""
    spec, state = split(module)
    return spec.to_core(state)


def from_core(module: nnx.Module, params: Params) -> nnx.Module:
    """A copy of ``module`` holding the core's ``params`` (``module`` itself is not changed)."""
    spec, _ = split(module)
    return spec.module(spec.from_core(params))


def abstract_spec(factory: Callable[[nnx.Rngs], nnx.Module]) -> FlaxSpec:
    """The :class:`FlaxSpec` of ``factory(rngs)`` without drawing any parameters (``nnx.eval_shape``)."""
    return split(nnx.eval_shape(lambda: factory(nnx.Rngs(0))))[0]


# ---------------------------------------------------------------------------------------------- training
def objective(spec: FlaxSpec, loss: str | losses_lib.Loss = "half_sse", reduction: str | None = None
              ) -> Callable[[State, Array, Array], Array]:
    """``J(state, x, y) = reduce_k L_k(module(x_k), y_k)``, the Flax twin of :func:`xgnn_jax.core.mlp.objective`.

    Cross-entropy losses take the module's ``logits``; the others its outputs.
    """
    loss_spec = losses_lib.get(loss)
    reduction = reduction or loss_spec.default_reduction
    losses_lib.check_reduction(reduction)
    check_loss_fits(spec.core, loss_spec)

    def J(state: State, x: Array, y: Array) -> Array:
        out = spec.logits(state, x) if loss_spec.from_logits else spec.apply(state, x)
        losses_lib.check_targets(out.shape, y)
        return losses_lib.reduce(loss_spec.fn(out, y), reduction)

    return J


@dataclasses.dataclass(frozen=True)
class FlaxModel:
    """A Flax model as a model of the training engine (:class:`xgnn_jax.core.model.Model`): the Flax route of
    :func:`xgnn_jax.engine.train.make_run` and of restart sweeps over it (:func:`xgnn_jax.engine.restarts.sweep`).

    The parameters the engine carries are the core's layout (``({"W", "b"}, ...)``, drawn by the core's
    initialisers, so a Flax run and a core run given the same key start from the same point); every forward pass
    goes through the Flax module: ``apply(params, x) = nnx.merge(graphdef, from_core(params))(x)``. The
    relabelling is exact, so ``jax.grad`` through it is the gradient of the Flax module's objective, and optax
    updates the same numbers a Flax state would hold (``spec.from_core(result.params)`` gives that state).
    """

    spec: FlaxSpec

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.spec.core.sizes

    @property
    def output(self) -> str:
        return self.spec.core.output

    @property
    def d_out(self) -> int:
        return self.spec.core.sizes[-1]

    def check_input(self, x: Array, argument: str = "x") -> None:
        self.spec.core.check_input(x, argument=argument)

    def init(self, key: Array, weight_scale: Array | float = 1.0, bias_scale: Array | float = 1.0,
             dtype: Any = jnp.float32) -> Params:
        return self.spec.core.init(key, weight_scale, bias_scale, dtype=dtype)

    def apply(self, params: Params, x: Array) -> Array:
        return self.spec.module(self.spec.from_core(params))(x)

    def logits(self, params: Params, x: Array) -> Array:
        return self.spec.module(self.spec.from_core(params)).logits(x)


def train_nnx_loop(module: nnx.Module, x: Array, y: Array, tx: optax.GradientTransformation, steps: int, *,
                   loss: str = "half_sse", reduction: str | None = None) -> tuple[nnx.Module, Array]:
    """The stateful NNX idiom, shaped like the article's PyTorch loop: ``nnx.Optimizer`` and an ``nnx.jit`` step
    called ``steps`` times from Python, full batch.

    Returns the trained module (``module`` itself is updated in place, as NNX does) and the objective **after**
    each step, ``(steps,)``: the same record as the core run's ``history["loss"]`` in ``full_batch`` mode. The
    compiled step is cached per (model structure, loss, reduction); pass the same ``tx`` object again to reuse it.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    spec, _ = split(module)
    step, evaluate = _nnx_step(spec, loss, reduction)
    optimizer = nnx.Optimizer(module, tx, wrt=nnx.Param)
    before = [step(module, optimizer, x, y) for _ in range(steps)]
    after = jnp.stack([*before[1:], evaluate(module, x, y)])
    return module, after


@functools.lru_cache(maxsize=32)
def _nnx_step(spec: FlaxSpec, loss: str, reduction: str | None):
    """``(step, evaluate)``: the ``nnx.jit`` functions of :func:`train_nnx_loop` (cached, so not retraced)."""
    J = objective(spec, loss, reduction)

    def loss_of(m, x, y):
        return J(nnx.state(m, nnx.Param), x, y)

    @nnx.jit
    def step(m, opt, x, y):
        # The value returned is the loss before the update, like the article's loop prints it.
        value, grads = nnx.value_and_grad(loss_of)(m, x, y)
        opt.update(m, grads)
        return value

    return step, nnx.jit(loss_of)
