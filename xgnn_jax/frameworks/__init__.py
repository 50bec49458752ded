"""Framework versions of the article's models (Flax NNX, the article's PyTorch net) running on the same engine."""
