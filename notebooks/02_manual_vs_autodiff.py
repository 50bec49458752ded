# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Hand-derived backprop next to `jax.grad`
#
# The chapter derives every gradient by hand (C9, C12). Here the vectorised L-layer backward pass of
# `xgnn_jax.grads.backprop` is compared with `jax.grad` and with central finite differences, in float64, and then
# one of the article's bugs (C14) is planted to show that the check catches it.

# %%
import jax

jax.config.update("jax_enable_x64", True)  # process-wide: set before creating arrays

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.grads import backprop, gradcheck

model = MLP((3, 5, 4, 2), hidden="tanh", output="softmax", weight_init="normal(0.8)", bias_init="normal(0.3)")
params = model.init(jax.random.key(0), dtype=jnp.float64)
x = jax.random.normal(jax.random.key(1), (8, 3), jnp.float64)
y = jax.nn.one_hot(jnp.arange(8) % 2, 2, dtype=jnp.float64)

J = objective(model, "softmax_cross_entropy", "mean")
manual = backprop.manual_grad(model, "softmax_cross_entropy", "mean")

# %% [markdown]
# Per-leaf errors, relative to each leaf's largest entry: manual vs autodiff, manual vs finite differences.

# %%
vs_autodiff = gradcheck.check_against_autodiff(manual, J, params, x, y)
fd = gradcheck.finite_difference_grad(J, params, x, y)
vs_fd = gradcheck.compare(manual(params, x, y), fd, gradcheck.FD_RTOL)
print("manual vs jax.grad:           ", vs_autodiff.describe())
print("manual vs finite differences: ", vs_fd.describe())

# %% [markdown]
# Now a wrong formula: drop the activation derivative g'(Z) in the hidden layers (multiply by 1 instead).

# %%
def wrong_manual(params, x, y):
    m = x.shape[0]
    zs, outs = model.forward(params, x)
    d = jax.nn.softmax(zs[-1]) - y
    grads = []
    for l in reversed(range(model.num_layers)):
        grads.append({"W": outs[l].T @ d / m, "b": d.mean(0)})
        d = d @ params[l]["W"].T  # bug: no "* g'(Z[l-1])"
    return tuple(reversed(grads))


wrong = gradcheck.check_against_autodiff(wrong_manual, J, params, x, y)
print("wrong formula vs jax.grad:    ", wrong.describe())

# %%
names = [e.path for e in vs_autodiff.leaves]
fig, ax = plt.subplots(figsize=(8, 3.5))
pos = np.arange(len(names))
ax.bar(pos - 0.2, [max(e.max_rel, 1e-18) for e in vs_autodiff.leaves], 0.4, label="correct manual formula")
ax.bar(pos + 0.2, [max(e.max_rel, 1e-18) for e in wrong.leaves], 0.4, label="g'(Z) left out")
ax.axhline(1e-10, color="k", ls="--", lw=1, label="float64 tolerance 1e-10")
ax.set(yscale="log", xticks=pos, title="Manual gradient vs jax.grad, per parameter leaf",
       ylabel="max relative error (to leaf's largest entry)", xlabel="parameter leaf")
ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
