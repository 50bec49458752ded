"""The engine: one training run as a pure function on lax.scan (train), many restarts of it vmapped, chunked, sharded and resumable (restarts), and the fused kernel for tiny networks (fused)."""
