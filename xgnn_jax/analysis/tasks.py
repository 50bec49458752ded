"""Typed names of small classification tasks: a network shape and a data set, as in ``"watermelon3_alpha:2-2-1"``.

A network name ``"d-H-k"`` is a one-hidden-layer sigmoid MLP ``d -> H -> k`` (:class:`xgnn_jax.core.mlp.MLP`);
``"d-H-ks"`` adds direct input-output connections (:class:`xgnn_jax.core.shortcut.ShortcutMLP`, e.g. XOR's 7-parameter
``2-1-1s``). A task name is ``"<data>:<network>"`` or a bare network name (the data set is then XOR). The strings are
a convenience for configs and the CLI: they are parsed once, at the boundary, into the frozen dataclasses
:class:`NetSpec` and :class:`Task` (an unknown name is a ``ValueError`` naming the argument).

Data sets: ``"xor"`` (:func:`xgnn_jax.data.datasets.logic_gate`), ``"watermelon3_alpha"`` (17 melons, 2 inputs),
``"parityN"`` (N-bit parity, :func:`xgnn_jax.data.datasets.parity`).
"""

from __future__ import annotations

import dataclasses
import re

from xgnn_jax.core.mlp import MLP
from xgnn_jax.core.shortcut import ShortcutMLP
from xgnn_jax.data import datasets

_NET = re.compile(r"^(\d+)-(\d+)-(\d+)(s?)$")
# The book's initialisation for these small nets: weights and biases uniform in (-1, 1), scaled by r in a sweep.
UNIFORM_INIT = {"weight_init": "uniform(-1, 1)", "bias_init": "uniform(-1, 1)"}


@dataclasses.dataclass(frozen=True)
class NetSpec:
    """``d_in -> hidden -> d_out`` sigmoid network, with input-output ``shortcut`` connections or not."""

    d_in: int
    hidden: int
    d_out: int
    shortcut: bool = False

    def __post_init__(self):
        for name in ("d_in", "hidden", "d_out"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive int width, got {v!r}")

    @classmethod
    def parse(cls, name: str, argument: str = "networks") -> NetSpec:
        """``"2-2-1"`` or ``"2-1-1s"`` (``argument`` names the config field in the error message)."""
        m = _NET.match(name) if isinstance(name, str) else None
        if m is None or min(int(m[1]), int(m[2]), int(m[3])) < 1:
            raise ValueError(f"{argument}: expected names like '2-2-1' or '2-1-1s' (positive widths), got {name!r}")
        return cls(int(m[1]), int(m[2]), int(m[3]), bool(m[4]))

    @property
    def name(self) -> str:
        return f"{self.d_in}-{self.hidden}-{self.d_out}" + ("s" if self.shortcut else "")

    def build(self, **init) -> MLP | ShortcutMLP:
        """The model, with :data:`UNIFORM_INIT` unless initialisers are given."""
        init = {**UNIFORM_INIT, **init}
        if self.shortcut:
            return ShortcutMLP(d_in=self.d_in, hidden=self.hidden, d_out=self.d_out, **init)
        return MLP((self.d_in, self.hidden, self.d_out), **init)


def load_data(name: str, argument: str = "data") -> datasets.Dataset:
    """``"xor"``, ``"watermelon3_alpha"`` or ``"parityN"`` (N >= 1 bits) as a :class:`~xgnn_jax.data.datasets.Dataset`."""
    if name == "xor":
        return datasets.logic_gate("xor")
    if name == "watermelon3_alpha":
        return datasets.watermelon3_alpha()
    m = re.fullmatch(r"parity(\d+)", name) if isinstance(name, str) else None
    if m and int(m[1]) >= 1:
        return datasets.parity(int(m[1]))
    raise ValueError(f"{argument}: unknown data set {name!r}; expected xor, watermelon3_alpha or parityN")


@dataclasses.dataclass(frozen=True)
class Task:
    """A data set name and a network: ``Task.parse("watermelon3_alpha:2-2-1")``; ``Task.parse("2-2-1")`` is XOR."""

    data: str
    net: NetSpec

    def __post_init__(self):
        load_data(self.data)   # fail early, naming the data set

    @classmethod
    def parse(cls, name: str, argument: str = "other_data") -> Task:
        if not isinstance(name, str):
            raise ValueError(f"{argument}: expected a task name such as 'watermelon3_alpha:2-2-1', got {name!r}")
        data, _, net = name.partition(":")
        if not net:
            data, net = "xor", data
        try:
            load_data(data)
        except ValueError:
            raise ValueError(f"{argument}: unknown data set {data!r} in {name!r}; expected xor, watermelon3_alpha "
                             "or parityN") from None
        return cls(data, NetSpec.parse(net, argument))

    @property
    def tag(self) -> str:
        """The network name for XOR, ``"<data>:<network>"`` otherwise."""
        return self.net.name if self.data == "xor" else f"{self.data}:{self.net.name}"

    def dataset(self) -> datasets.Dataset:
        return load_data(self.data)

    def model(self, **init) -> MLP | ShortcutMLP:
        return self.net.build(**init)
