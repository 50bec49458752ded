"""The multilayer perceptron as pure functions on a parameter pytree.

Structure (static, hashable, safe as a ``jit`` static argument) lives in the frozen dataclass :class:`MLP`;
parameters are a plain pytree: a tuple with one dict per layer, ``({"W": (d_0, d_1), "b": (d_1,)}, ...)``
(``"b"`` absent when ``bias=False``). ``jax.grad`` of any loss returns exactly this structure.

Forward pass for a batch ``x: (n, d_0)`` (rows are examples), layers ``l = 1..L`` (C12):

    A[0] = x,   Z[l] = A[l-1] W[l] + b[l],   A[l] = g_l(Z[l])

with ``g_l`` the hidden activation for ``l < L`` and the output activation for ``l = L``. The book writes the
M-P neuron as ``y = f(sum_i w_i x_i - theta)`` (C1): its threshold is ``theta = -b``.

Everything here is jit-able and vmappable: ``jax.vmap(model.init)(keys)`` stacks restarts along a leading axis,
``jax.vmap(model.apply, in_axes=(0, None))(params, x)`` evaluates them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xgnn_jax.core import activations, initializers
from xgnn_jax.core import losses as losses_lib

Array = jax.Array
Params = tuple[dict[str, Array], ...]


@dataclasses.dataclass(frozen=True)
class MLP:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Args:
      sizes: layer widths including input and output, e.g. ``(2, 2, 1)`` for the XOR network.
      hidden: activation of the hidden layers: one name for all, or a tuple with one name per hidden layer.
      output: activation of the output layer (``identity`` for logits/regression, ``sigmoid``, ``softmax``, ...).
      bias: whether layers have biases.
      weight_init, bias_init: initialiser specs (see :mod:`xgnn_jax.core.initializers`), e.g. ``"uniform(-1, 1)"``.
    """

    sizes: tuple[int, ...]
    hidden: str | tuple[str, ...] = "sigmoid"
    output: str = "sigmoid"
    bias: bool = True
    weight_init: str = "fan_in_uniform"
    bias_init: str = "zeros"

    def __post_init__(self):
        sizes = tuple(self.sizes) if isinstance(self.sizes, (list, tuple)) else self.sizes
        if isinstance(sizes, tuple):  # numpy integers (e.g. from a config array) are fine widths
            sizes = tuple(int(s) if isinstance(s, np.integer) else s for s in sizes)
        if not isinstance(sizes, tuple) or len(sizes) < 2:
            raise ValueError(f"sizes: expected at least (d_in, d_out), got {self.sizes!r}")
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"sizes: every layer width must be a positive int, got {self.sizes!r}")
        object.__setattr__(self, "sizes", sizes)
        if isinstance(self.hidden, list):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        if isinstance(self.hidden, tuple):
            if len(self.hidden) != self.num_layers - 1:
                raise ValueError(
                    f"hidden: expected one activation per hidden layer ({self.num_layers - 1}), "
                    f"got {len(self.hidden)}: {self.hidden!r}"
                )
            for h in self.hidden:
                activations.get(h, argument="hidden")
        else:
            activations.get(self.hidden, argument="hidden")
        activations.get(self.output, argument="output")
        initializers.get(self.weight_init, argument="weight_init")
        initializers.get(self.bias_init, argument="bias_init")

    # ------------------------------------------------------------------ structure
    @property
    def num_layers(self) -> int:
        """L, the number of weight layers (a 2-2-1 network has L = 2)."""
        return len(self.sizes) - 1

    @property
    def layer_activations(self) -> tuple[str, ...]:
        """The activation name of each layer 1..L."""
        hidden = self.hidden if isinstance(self.hidden, tuple) else (self.hidden,) * (self.num_layers - 1)
        return (*hidden, self.output)

    @property
    def num_params(self) -> int:
        return sum(a * b + (b if self.bias else 0) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    # ------------------------------------------------------------------ init / apply
    def init(self, key: Array, weight_scale: Array | float = 1.0, bias_scale: Array | float = 1.0,
             dtype: Any = jnp.float32) -> Params:
        """Draw parameters. ``weight_scale``/``bias_scale`` multiply the draws (arrays: sweep them under vmap).

        Layer l uses the keys ``split(key, 2 L)[2l]`` (weights) and ``[2l + 1]`` (bias), so a restart's
        parameters depend on its key alone.
        """
        w_init = initializers.get(self.weight_init)
        b_init = initializers.get(self.bias_init)
        keys = jax.random.split(key, 2 * self.num_layers)
        params = []
        for l, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            layer = {"W": weight_scale * w_init(keys[2 * l], (d_in, d_out), d_in, d_out, dtype)}
            if self.bias:
                layer["b"] = bias_scale * b_init(keys[2 * l + 1], (d_out,), d_in, d_out, dtype)
            params.append(jax.tree.map(lambda a: a.astype(dtype), layer))
        return tuple(params)

    def check_input(self, x: Array, *, argument: str = "x") -> None:
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(
                f"{argument}: expected a batch of shape (n, {self.sizes[0]}) (rows are examples, "
                f"{self.sizes[0]} inputs as the first layer has), got shape {tuple(x.shape)}"
            )

    def forward(self, params: Params, x: Array) -> tuple[list[Array], list[Array]]:
        """All pre-activations and activations: ``Zs = [Z1..ZL]``, ``As = [A0 = x, A1..AL]``."""
        self.check_input(x)
        zs, acts = [], [x]
        a = x
        for layer, act_name in zip(params, self.layer_activations, strict=True):
            z = a @ layer["W"]
            if "b" in layer:
                z = z + layer["b"]
            a = activations.get(act_name).f(z)
            zs.append(z)
            acts.append(a)
        return zs, acts

    def logits(self, params: Params, x: Array) -> Array:
        """The output layer's pre-activation ``Z[L]: (n, d_L)``."""
        return self.forward(params, x)[0][-1]

    def apply(self, params: Params, x: Array) -> Array:
        """The network's outputs ``A[L] = g_L(Z[L]): (n, d_L)``."""
        return self.forward(params, x)[1][-1]

    def hidden_activations(self, params: Params, x: Array) -> list[Array]:
        """``[A1, ..., A_{L-1}]``, the hidden layers' outputs."""
        return self.forward(params, x)[1][1:-1]


def objective(model: Any, loss: str | losses_lib.Loss = "half_sse", reduction: str | None = None
              ) -> Callable[[Params, Array, Array], Array]:
    """``J(params, x, y) = reduce_k L_k(net(x_k), y_k)``: the scalar training objective.

    Cross-entropy losses take the logits and require the matching output activation (``softmax`` or
    ``sigmoid``), so the network's probabilities and the loss agree; other losses take ``model.apply``'s outputs.
    ``reduction`` defaults to the loss's usual one (see :mod:`xgnn_jax.core.losses`).
    """
    spec = losses_lib.get(loss)
    reduction = reduction or spec.default_reduction
    losses_lib.check_reduction(reduction)
    check_loss_fits(model, spec)

    def J(params: Params, x: Array, y: Array, weights: Array | None = None) -> Array:
        out = model.logits(params, x) if spec.from_logits else model.apply(params, x)
        losses_lib.check_targets(out.shape, y)
        return losses_lib.reduce(spec.fn(out, y), reduction, weights=weights)

    return J


def check_loss_fits(model: Any, loss: losses_lib.Loss) -> None:
    """A loss on logits needs ``model.logits`` and the output activation it assumes (``model.output``)."""
    if loss.from_logits and not hasattr(model, "logits"):
        raise ValueError(f"loss: {loss.name} works on logits, but the model {type(model).__name__} has no logits()")
    output = getattr(model, "output", None)
    if loss.activation is not None and output is not None and output != loss.activation:
        raise ValueError(
            f"loss: {loss.name} works on logits and assumes the output activation {loss.activation!r}, "
            f"but the model's output activation is {output!r}"
        )
