"""The studies: one module per study (see xgnn_jax.study.registry for what a study module defines)."""
