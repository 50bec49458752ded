"""A one-hidden-layer network with shortcut connections from the inputs to the outputs (e.g. XOR's 2-1-1 net).

Structure (static, hashable) in the frozen dataclass :class:`ShortcutMLP`; parameters are a plain pytree laid out
like :class:`xgnn_jax.core.mlp.MLP`'s, two layer dicts, so the training run (:func:`xgnn_jax.engine.train.make_run`), the
critical-point analysis and the landscapes take either model:

    params = ({"W": (d_in, H), "b": (H,)},             # input -> hidden
              {"W": (H + d_in, d_out), "b": (d_out,)})  # [hidden, inputs] -> output

Forward pass for ``x: (n, d_in)``:

    h = g(x W1 + b1)                      (n, H)
    y_hat = f([h, x] W2 + b2)             (n, d_out)

i.e. ``y_hat = f(h W2[:H] + x W2[H:] + b2)``: the first ``H`` rows of the output weights belong to the hidden
units (as in the plain MLP, so hidden-unit symmetries act on the same rows) and the last ``d_in`` rows are the
shortcut weights. With ``H = 1`` and sigmoid units this is the classical 2-1-1 XOR network with direct
input-output connections (Rumelhart, Hinton & Williams 1986), 7 parameters, which solves XOR with one hidden unit.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from xgnn_jax.core import activations, initializers

Array = jax.Array
Params = tuple[dict[str, Array], ...]


@dataclasses.dataclass(frozen=True)
class ShortcutMLP:
    """``d_in -> hidden -> d_out`` with extra direct connections ``d_in -> d_out`` (see module docstring).

    Args:
      d_in, hidden, d_out: layer widths (``hidden`` is the number of hidden units H).
      hidden_activation, output: activation names (:mod:`xgnn_jax.core.activations`).
      weight_init, bias_init: initialiser specs (:mod:`xgnn_jax.core.initializers`), e.g. ``"uniform(-1, 1)"``; the
        shortcut weights use ``weight_init`` with the output layer's fan-in ``H + d_in``.
    """

    d_in: int = 2
    hidden: int = 1
    d_out: int = 1
    hidden_activation: str = "sigmoid"
    output: str = "sigmoid"
    weight_init: str = "uniform(-1, 1)"
    bias_init: str = "uniform(-1, 1)"

    def __post_init__(self):
        for name in ("d_in", "hidden", "d_out"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        activations.get(self.hidden_activation, argument="hidden_activation")
        activations.get(self.output, argument="output")
        initializers.get(self.weight_init, argument="weight_init")
        initializers.get(self.bias_init, argument="bias_init")

    # The attributes below mirror MLP's so that train.make_run, mlp.objective and xgnn_jax.analysis.critical accept it.
    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.d_in, self.hidden, self.d_out)

    @property
    def num_layers(self) -> int:
        return 2

    @property
    def bias(self) -> bool:
        return True

    @property
    def layer_activations(self) -> tuple[str, ...]:
        return (self.hidden_activation, self.output)

    @property
    def num_params(self) -> int:
        return self.d_in * self.hidden + self.hidden + (self.hidden + self.d_in) * self.d_out + self.d_out

    def init(self, key: Array, weight_scale: Array | float = 1.0, bias_scale: Array | float = 1.0,
             dtype: Any = jnp.float32) -> Params:
        """Draw parameters; ``weight_scale`` / ``bias_scale`` multiply the draws (arrays: sweep them under vmap)."""
        w_init = initializers.get(self.weight_init)
        b_init = initializers.get(self.bias_init)
        k1, k2, k3, k4 = jax.random.split(key, 4)
        H, d, k = self.hidden, self.d_in, self.d_out
        return (
            {"W": (weight_scale * w_init(k1, (d, H), d, H, dtype)).astype(dtype),
             "b": (bias_scale * b_init(k2, (H,), d, H, dtype)).astype(dtype)},
            {"W": (weight_scale * w_init(k3, (H + d, k), H + d, k, dtype)).astype(dtype),
             "b": (bias_scale * b_init(k4, (k,), H + d, k, dtype)).astype(dtype)},
        )

    def check_input(self, x: Array, *, argument: str = "x") -> None:
        if x.ndim != 2 or x.shape[1] != self.d_in:
            raise ValueError(f"{argument}: expected a batch of shape (n, {self.d_in}) (rows are examples), "
                             f"got shape {tuple(x.shape)}")

    def forward(self, params: Params, x: Array) -> tuple[list[Array], list[Array]]:
        """Pre-activations ``[Z1 (n, H), Z2 (n, d_out)]`` and activations ``[x, h, y_hat]``."""
        self.check_input(x)
        p1, p2 = params
        z1 = x @ p1["W"] + p1["b"]
        h = activations.get(self.hidden_activation).f(z1)
        z2 = jnp.concatenate([h, x], axis=-1) @ p2["W"] + p2["b"]
        return [z1, z2], [x, h, activations.get(self.output).f(z2)]

    def logits(self, params: Params, x: Array) -> Array:
        return self.forward(params, x)[0][-1]

    def apply(self, params: Params, x: Array) -> Array:
        return self.forward(params, x)[1][-1]

    def hidden_activations(self, params: Params, x: Array) -> list[Array]:
        return [self.forward(params, x)[1][1]]
