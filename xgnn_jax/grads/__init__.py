"""Gradients: hand-derived backprop (the chapter's equations 5.10-5.14) beside jax.grad, and the checks (float64, finite differences) that catch each bug of C14."""
