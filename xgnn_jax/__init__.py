"""xgnn_jax: the classic theory of neural networks (chapter 5 of Zhou Zhihua's *Machine Learning*) in functional JAX.

Layers, from the bottom up (see README.md):
``activations``, ``losses``, ``initializers``, ``mlp``, ``metrics`` (pure functions on parameter pytrees);
``backprop`` (hand-derived gradients checked against ``jax.grad``); ``data`` (shipped data sets);
``train`` (one training run as one ``lax.scan``); ``restarts`` (many runs at once: vmap, chunks, devices);
``experiment`` and ``report`` (results folders and the research report).
"""

__version__ = "0.1.0"
