"""The studies: one module per study (see xgnn_jax.experiment for what a study module defines)."""
