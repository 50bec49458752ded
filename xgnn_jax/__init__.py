"""xgnn_jax: the classic theory of neural networks (chapter 5 of Zhou Zhihua's *Machine Learning*) in functional JAX.

What is where (each folder's ``__init__`` says more):

=================  ==========================================================================================
``core/``          pure functions on parameter pytrees: ``activations``, ``losses``, ``initializers``,
                   ``metrics``, ``mlp`` (the multi-layer network), ``shortcut`` (direct input-output links),
                   ``embedding`` (a net embedded in a wider one),
                   ``model`` (the Model protocol)
``grads/``         gradients: ``backprop`` (hand-derived, beside ``jax.grad``), ``gradcheck`` (float64 and
                   finite-difference checks, the bug zoo of C14), ``article`` (the article's numpy code)
``engine/``        training: ``train`` (one run as one ``lax.scan``: ``make_run -> run(key, hparams)``),
                   ``restarts`` (many runs: vmap, chunks, devices, resume), ``fused`` (tiny-network kernel),
                   ``optimizers``, ``penalties``, ``outcomes`` (steps to a target, divergence, saturation)
``data/``          ``datasets``: the chapter's data sets (watermelon 3.0, gates, XOR, parity, synthetic), one container
``analysis/``      the science on top: ``critical`` points, ``landscape`` slices, ``symmetry``, ``escape``
                   strategies and ``escape_protocol`` (their comparison), ``tasks``, ``convergence``, ``logistic``,
                   ``xor_runs``, ``perceptron``, ``neurons`` (RBF, ART, SOM, cascade, Elman, Boltzmann),
                   ``approximation``
``frameworks/``    ``torch_net``, ``keras_net`` (the article's PyTorch and Keras code), ``flax_models`` (Flax
                   modules on the same engine)
``study/``         the study framework: ``registry`` (the Study description), ``verdict``, ``results``
                   (results folders), ``claims`` (C1-C24), ``report``, ``cli``, ``stability``, ``plotting``
``studies/``       one module per study (config, a short ``run``, verdict rules, figures); found by the CLI at
                   run time, never imported by the library
``io``             atomic writes, folder locks, JSON and CSV
``provenance``     versions, commit and devices recorded with every result
``stats``          intervals and tests on scipy.stats
=================  ==========================================================================================
"""

__version__ = "0.1.0"
