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
# # Looking at a loss landscape
#
# Train the 2-2-1 sigmoid XOR network from a few random starts, then look at the book's error
# E = (1/4) sum_k 1/2 (y_hat_k - y_k)^2 along the straight line from the initial to the final parameters, and on a
# plane through the final point spanned by two filter-normalised random directions (Li et al. 2018).

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from xgnn_jax.analysis import landscape
from xgnn_jax.core import initializers
from xgnn_jax.core.mlp import MLP, objective
from xgnn_jax.data.datasets import logic_gate
from xgnn_jax.engine.train import TrainConfig, make_run

QUICK = os.environ.get("XGNN_NOTEBOOK_QUICK") == "1"
GRID = 21 if QUICK else 61

data = logic_gate("xor")  # x: (4, 2), y: (4, 1)
x, y = data
model = MLP((2, 2, 1), weight_init=initializers.uniform(-1, 1), bias_init=initializers.uniform(-1, 1))
J = objective(model, "half_sse", "mean")
# optax.sgd: plain gradient descent; its learning_rate is a hyperparameter (an array: one compile for all seeds)
run = jax.jit(make_run(model, data, TrainConfig(epochs=3000, mode="full_batch", optimizer=optax.sgd)))
results = [run(jax.random.key(s), {"learning_rate": jnp.float32(2.0)}) for s in range(8)]
solved = [bool(r.final_accuracy == 1.0) for r in results]
print("solved:", solved)

# %% [markdown]
# Along the line from start to end: does the path climb over a hill (a barrier > 0)?

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for r, ok in zip(results, solved, strict=True):
    a, e = landscape.line(J, r.init_params, r.params, x, y, num=GRID)
    ax.plot(a, e, color="C1" if ok else "C0", lw=1)
ax.set(title="Loss from initial (0) to final (1) parameters", xlabel="interpolation a", ylabel="E",
       yscale="log")
ax.plot([], [], color="C1", label="solved")
ax.plot([], [], color="C0", label="not solved")
ax.legend()
plt.show()

# %% [markdown]
# A 2-D slice through the first run's end point.

# %%
r = results[0]
d1 = landscape.filter_normalized_direction(jax.random.key(10), r.params)
d2 = landscape.filter_normalized_direction(jax.random.key(11), r.params)
ab = jnp.linspace(-1.0, 1.0, GRID)
E = np.asarray(landscape.surface(J, r.params, d1, d2, x, y, ab, ab))
fig, ax = plt.subplots(figsize=(5, 4))
cs = ax.contourf(ab, ab, np.log10(E.T), levels=20)
fig.colorbar(cs, label="log10 E")
ax.plot(0, 0, "r*", ms=10, label="end point")
ax.set(title="Loss on a filter-normalised plane", xlabel="alpha (direction 1)", ylabel="beta (direction 2)")
ax.legend()
plt.show()
