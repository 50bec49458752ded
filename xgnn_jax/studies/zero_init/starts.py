"""The zero_init study's starts and initialisation schemes: which initialiser each one names, and the networks."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from xgnn_jax.core.mlp import MLP

STARTS = ("zeros", "zero_w_random_b", "constant", "random")
SCHEMES = ("zeros", "uniform01", "fan_in_uniform", "glorot_uniform", "he_normal", "lecun_normal", "he_normal_x10")
SCHEME_LABELS = {"zeros": "zeros", "uniform01": "U(0, 1) (book)", "fan_in_uniform": "U(+-1/sqrt(d)) (article)",
                 "glorot_uniform": "Glorot uniform", "he_normal": "He normal", "lecun_normal": "LeCun normal",
                 "he_normal_x10": "10 x He normal"}
SCALED = ("glorot_uniform", "he_normal", "lecun_normal")
EMBEDDING_LABELS = {"mlp_tanh_zero": "zero tables + tanh MLP", "mlp_tanh_random": "random tables + tanh MLP",
                    "mlp_relu_zero": "zero tables + ReLU MLP", "fm_zero": "zero tables, factorisation machine",
                    "fm_random": "random tables, factorisation machine"}


def start_label(start: str, c: float) -> str:
    """A readable name of one of :data:`STARTS` (figures and text)."""
    return {"zeros": "all zeros", "zero_w_random_b": "zero weights, random biases",
            "constant": f"every weight and bias = {c:g}", "random": "random U(+-1/sqrt(d))"}[start]



def start_model(sizes: tuple[int, ...], hidden: str, start: str, c: float) -> MLP:
    """The network with the initialisers of one of :data:`STARTS`."""
    w, b = {"zeros": ("zeros", "zeros"), "zero_w_random_b": ("zeros", "normal"),
            "constant": (f"constant({c})", f"constant({c})"),
            "random": ("fan_in_uniform", "fan_in_uniform")}[start]
    return MLP(sizes, hidden=hidden, output="sigmoid", weight_init=w, bias_init=b)


def scheme_model(sizes: tuple[int, ...], hidden, scheme: str) -> tuple[MLP, float]:
    """``(network, weight_scale)`` for one of :data:`SCHEMES` (biases: 0, except the book's U(0, 1) for both)."""
    w, b, scale = {"zeros": ("zeros", "zeros", 1.0), "uniform01": ("uniform(0, 1)", "uniform(0, 1)", 1.0),
                   "fan_in_uniform": ("fan_in_uniform", "zeros", 1.0),
                   "glorot_uniform": ("glorot_uniform", "zeros", 1.0), "he_normal": ("he_normal", "zeros", 1.0),
                   "lecun_normal": ("lecun_normal", "zeros", 1.0),
                   "he_normal_x10": ("he_normal", "zeros", 10.0)}[scheme]
    return MLP(sizes, hidden=hidden, output="sigmoid", weight_init=w, bias_init=b), scale



def scheme_params(key, sizes: tuple[int, ...], hidden: str, scheme):
    """The starting parameters of scheme number ``scheme`` (an index into :data:`SCHEMES`, may be traced) for the
    key: every scheme's initialiser is drawn and the chosen one kept, so one compiled program serves all schemes."""
    trees = [m.init(key, c) for m, c in (scheme_model(sizes, hidden, s) for s in SCHEMES)]
    return jax.tree.map(lambda *a: jnp.stack(a)[scheme], *trees)
