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
# # A small restart sweep: how often does gradient descent solve XOR?
#
# One training run is one pure function `run(key, hparams)`; `jax.vmap` runs hundreds of them at once.
# This notebook trains the book's 2-2-1 sigmoid network on XOR from many random starts (weights uniform in
# (-r, r)) with full-batch gradient descent ("accumulated BP") and plots the final losses.
# Set `XGNN_NOTEBOOK_QUICK=1` for a fast run.

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from xgnn_jax.core import initializers
from xgnn_jax.core.mlp import MLP
from xgnn_jax.data.datasets import logic_gate
from xgnn_jax.engine import outcomes
from xgnn_jax.engine.train import TrainConfig, make_run

QUICK = os.environ.get("XGNN_NOTEBOOK_QUICK") == "1"
R = 128 if QUICK else 4096
EPOCHS = 500 if QUICK else 4000

data = logic_gate("xor")  # x: (4, 2), y: (4, 1)
u = initializers.uniform(-1, 1)
model = MLP((2, 2, 1), hidden="sigmoid", output="sigmoid", weight_init=u, bias_init=u)
# optax.sgd is plain gradient descent ("accumulated BP" in full-batch mode); its arguments are hyperparameters.
config = TrainConfig(epochs=EPOCHS, mode="full_batch", loss="half_sse", optimizer=optax.sgd)
run = make_run(model, data, config)
print("hyperparameters of this run (defaults):", run.hyperparameters)

# %% [markdown]
# Restart `i` gets the key `fold_in(key(seed), i)`, so it starts from the same parameters however the sweep is split.
# The learning rate and the init range `r` are arrays: a grid over them is one compiled program.

# %%
keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(R))
hp = {k: jnp.full((R,), v, jnp.float32) for k, v in {"learning_rate": 2.0, "weight_scale": 1.0, "bias_scale": 1.0}.items()}
result = jax.jit(jax.vmap(run))(keys, hp)
final = np.asarray(result.final_loss)
solved = np.asarray(result.final_accuracy) == 1.0
out = jax.vmap(outcomes.train_outcomes)(result)  # steps to E <= 0.01 (1-based; -1 = never), diverged, saturated
print(f"{R} restarts: {solved.mean():.1%} classify all four patterns; reached E <= 0.01: "
      f"{np.mean(np.asarray(out['steps_to_target']) != outcomes.NEVER):.1%}; diverged: {int(out['diverged'].sum())}; "
      f"saturated: {int(out['saturated'].sum())}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.hist(final, bins=40)
ax1.set(title="Final loss over restarts", xlabel="E = (1/4) sum_k E_k (half sum of squares)", ylabel="restarts")
hist = np.asarray(result.history["loss"])
for i in range(min(20, R)):
    ax2.plot(hist[i], color="C1" if solved[i] else "C0", lw=0.8)
ax2.set(title="Loss curves (orange: solved)", xlabel="epoch", ylabel="accumulated error E", yscale="log")
plt.tight_layout()
plt.show()
