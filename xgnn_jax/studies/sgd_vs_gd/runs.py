"""Paired runs of one algorithm: every restart key at every step size, through :func:`restarts.map_over`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jax
import numpy as np

from xgnn_jax.engine import restarts, train


def _outcome(res: train.TrainResult) -> dict[str, Any]:
    return {"loss": res.history["loss"], "final_accuracy": res.final_accuracy, "diverged": res.diverged,
            "params": res.params, "init_params": res.init_params}


def keyed_runs(model, data, tc: train.TrainConfig, keys, lrs, *, out_dir: Path | None = None,
               **sweep_kwargs) -> tuple[dict[str, Any], Any]:
    """``train.make_run(model, data, tc)`` for every key of ``keys: (R,)`` at every learning rate of ``lrs: (n,)``.

    The keys are given (not the sweep's own), so two algorithms run with the same keys start from the same
    parameters (a paired comparison). Returns the outcomes with leading axes ``(n, R)`` (``loss``: the per-epoch
    history, ``final_accuracy``, ``diverged``, ``params``, ``init_params``) and the SweepResult (one row per run).
    ``out_dir``: the sweep's folder (its chunks; an interrupted study resumes there). Its identity names the
    training config, the step sizes, a hash of the keys and of the data, so other runs never load these chunks."""
    run = train.make_run(model, data, tc)
    R, n = int(np.shape(keys)[0]), len(lrs)
    rows = np.tile(np.asarray(jax.random.key_data(keys)), (n, 1))   # row i R + r: step size i, restart r
    lr = np.repeat(np.asarray(lrs, np.float32), R)
    sweep_kwargs.setdefault("progress", False)
    if out_dir is not None:
        digest = hashlib.sha1(rows.tobytes())
        for a in (data.x, data.y):
            digest.update(np.asarray(a).tobytes())
        sweep_kwargs.update(out_dir=out_dir, config={"train": tc, "model": model, "lrs": [float(v) for v in lrs],
                                                     "keys_and_data": digest.hexdigest()})
    res = restarts.map_over(lambda _k, kd, hp: run(jax.random.wrap_key_data(kd), hp), rows,
                            hparams={"learning_rate": lr}, outcome=_outcome, **sweep_kwargs)
    out = jax.tree.map(lambda a: np.asarray(a).reshape((n, R) + np.shape(a)[2:]), res.outcomes)
    return out, res
