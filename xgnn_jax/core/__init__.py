"""Pure functions on parameter pytrees: activations, losses (1/2 and 1/m conventions in each docstring), initializers, metrics, the MLP (init/apply), shortcut networks and embeddings."""
