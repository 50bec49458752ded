"""Tests of the restart engine: keys, chunks, grids, outcomes, divergence, persistence (locks, chunk identity,
damaged files), devices, bad input."""

import json
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from xgnn_jax.core.mlp import MLP
from xgnn_jax.engine import optimizers, restarts, train
from xgnn_jax.io import FolderInUse

ROOT = Path(__file__).resolve().parent.parent
X_XOR = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32)
Y_XOR = jnp.array([[0], [1], [1], [0]], jnp.float32)


def tiny_run(key, hp):
    """A small run with a matrix product and a mean: gradient descent on a random least-squares problem."""
    k1, k2 = jax.random.split(key)
    w0 = jax.random.normal(k1, (3,)) * hp["scale"]
    a = jax.random.normal(k2, (5, 3))

    def step(w, _):
        g = a.T @ (a @ w - 1.0) / 5.0
        w = w - hp["lr"] * g
        return w, jnp.mean((a @ w - 1.0) ** 2)

    w, losses = jax.lax.scan(step, w0, None, length=30)
    return {"w0": w0, "final_loss": losses[-1], "w": w}


HP = {"lr": 0.1, "scale": 1.0}


@pytest.fixture(scope="module")
def xor_run():
    return train.make_run(MLP((2, 2, 1)), train.Data(X_XOR, Y_XOR), train.TrainConfig(epochs=40))


def test_restart_key_depends_on_seed_and_index_only():
    a = restarts.sweep(tiny_run, 3, 10, HP, chunk_size=4, execution="vmap", progress=False)
    b = restarts.sweep(tiny_run, 3, 7, HP, chunk_size=7, execution="map", progress=False)
    # Initial parameters are bit-identical whatever R, chunking or execution...
    np.testing.assert_array_equal(a["w0"][:7], b["w0"])
    expected = jax.vmap(lambda i: tiny_run(jax.random.fold_in(jax.random.key(3), i), HP)["w0"])(jnp.arange(7))
    np.testing.assert_array_equal(b["w0"], np.asarray(expected))
    # ...trajectories agree to float tolerance (different batch shapes may reorder the products' sums).
    np.testing.assert_allclose(a["w"][:7], b["w"], rtol=1e-5, atol=1e-6)
    assert a.computed_chunks == [0, 1, 2] and a.chunk_size == 4


def test_same_layout_reruns_are_bit_identical():
    a = restarts.sweep(tiny_run, 0, 9, HP, chunk_size=4, execution="vmap", progress=False)
    b = restarts.sweep(tiny_run, 0, 9, HP, chunk_size=4, execution="vmap", progress=False)
    jax.tree.map(np.testing.assert_array_equal, a.outcomes, b.outcomes)
    c = restarts.sweep(tiny_run, 1, 9, HP, chunk_size=4, execution="vmap", progress=False)
    assert not np.array_equal(a["w0"], c["w0"])


def test_grid_product_shapes_table_and_common_keys():
    g = restarts.grid(lr=[0.05, 0.1], scale=[0.5, 1.0, 2.0])
    np.testing.assert_array_equal(g["lr"], np.float32([0.05, 0.05, 0.05, 0.1, 0.1, 0.1]))
    np.testing.assert_array_equal(g["scale"], np.float32([0.5, 1, 2, 0.5, 1, 2]))
    res = restarts.sweep(tiny_run, 0, 5, g, chunk_size=8, progress=False)
    assert res["w0"].shape == (6, 5, 3) and res.diverged.shape == (6, 5)
    # Restart i starts from the same draw at every point (only the scale multiplies it).
    np.testing.assert_allclose(res["w0"][1] * 2.0, res["w0"][2], rtol=1e-6)
    # Each point's outcome equals a sweep of that point alone.
    alone = restarts.sweep(tiny_run, 0, 5, {"lr": 0.1, "scale": 2.0}, chunk_size=8, progress=False)
    np.testing.assert_allclose(res["final_loss"][5], alone["final_loss"], rtol=1e-5)
    table = res.table()
    assert {len(v) for v in table.values()} == {30}
    assert table["lr"][29] == np.float32(0.1) and table["restart"][29] == 4 and table["point"][29] == 5
    np.testing.assert_array_equal(table["final_loss"], res["final_loss"].reshape(-1))
    summary = res.summary()
    assert len(summary["lr"]) == 6 and "final_loss_median" in summary
    np.testing.assert_allclose(summary["final_loss_mean"][5], alone["final_loss"].mean(), rtol=1e-5)


def test_diverged_restarts_are_counted_and_excluded_from_statistics():
    # lr = 1.0 overshoots for some least-squares problems and not others: a mix of finite and infinite runs.
    res = restarts.sweep(tiny_run, 0, 64, {"lr": [0.1, 3.0], "scale": [1.0, 1.0]}, chunk_size=8, progress=False)
    s = res.summary()
    assert s["n_diverged"][0] == 0 and 0 < s["n_diverged"][1] <= 64
    np.testing.assert_array_equal(res.diverged[1], ~np.isfinite(res["final_loss"][1]) | ~np.isfinite(
        res["w"][1]).all(-1))
    if s["n_diverged"][1] < 64:
        ok = res["final_loss"][1][~res.diverged[1]]
        assert np.isfinite(s["final_loss_mean"][1])
        np.testing.assert_allclose(s["final_loss_mean"][1], ok.mean(), rtol=1e-6)
    assert res.n_diverged == s["n_diverged"].sum()


def test_any_pytree_result_is_kept_whole_and_train_outcomes_match_the_history(xor_run):
    res = restarts.sweep(xor_run, 0, 6, {"lr": 2.0}, outcome=lambda r: r, execution="vmap", progress=False)
    assert isinstance(res.outcomes, train.TrainResult) and res.outcomes.history["loss"].shape == (6, 40)
    np.testing.assert_array_equal(res.outcomes.final_loss, res.outcomes.history["loss"][:, -1])
    assert "history.loss" not in res.table() and "final_loss" in res.table()  # only per-restart scalars
    # steps_to_target: the first epoch (1-based) whose loss is <= the target, -1 if none.
    losses = res.outcomes.history["loss"]
    target = float(np.median(losses[:, 20]))
    out = jax.vmap(lambda r: restarts.train_outcomes(r, target))(jax.tree.map(jnp.asarray, res.outcomes))
    steps = np.asarray(out["steps_to_target"])
    for r in range(6):
        hit = np.nonzero(losses[r] <= target)[0]
        assert steps[r] == (hit[0] + 1 if hit.size else -1)
    assert (steps > 0).any() and (steps > 1).any() and (steps == -1).any()
    np.testing.assert_array_equal(out["final_accuracy"], res.outcomes.final_accuracy)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_restarts": 0}, "n_restarts"),
        ({"n_restarts": -3}, "n_restarts"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"hparams": {"lr": [0.1, 0.2], "scale": [1.0, 2.0, 3.0]}}, "same length"),
        ({"hparams": {"lr": [[0.1]], "scale": 1.0}}, "lr"),
        ({"execution": "warp"}, "execution"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"hparams": [0.1, 0.2]}, "hparams"),
        ({"memory_budget": 0}, "memory_budget"),
        ({"execution": "fused"}, "fused"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, match):
    args = {"run_fn": tiny_run, "seed": 0, "n_restarts": 4, "hparams": HP, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        restarts.sweep(**args)


def test_grid_rejects_empty_axes():
    with pytest.raises(ValueError, match="lr"):
        restarts.grid(lr=[])


# ---------------------------------------------------------------------------------------------- fused kernel
@pytest.mark.parametrize(
    "model, reduction",
    [
        (MLP((2, 2, 1), weight_init="uniform(-1, 1)", bias_init="uniform(-1, 1)"), "mean"),  # the book's XOR
        (MLP((2, 3, 2, 2), hidden=("tanh", "sigmoid"), output="identity", bias_init="uniform(-1, 1)"), "sum"),
    ],
)
def test_fused_kernel_matches_make_run(model, reduction):
    y = Y_XOR if model.sizes[-1] == 1 else jnp.concatenate([Y_XOR, 1 - Y_XOR], axis=1)
    data = train.Data(X_XOR, y)
    config = train.TrainConfig(epochs=60, reduction=reduction)
    lr, target = (10.0, 0.121) if reduction == "mean" else (0.2, 0.99)
    slow = restarts.outcome_run(model, data, config, target_loss=target, fused=False)
    fast = restarts.outcome_run(model, data, config, target_loss=target)
    a = restarts.sweep(slow, 0, 16, {"lr": lr}, execution="vmap", progress=False)
    b = restarts.sweep(fast, 0, 16, {"lr": lr}, progress=False)
    assert b.execution == "fused" and a.execution == "vmap"
    for name in ("final_loss", "final_grad_norm"):
        np.testing.assert_allclose(b[name], a[name], rtol=2e-4, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(b["final_accuracy"], a["final_accuracy"])
    np.testing.assert_array_equal(b["diverged"], a["diverged"])
    # steps_to_target may move by one epoch when a loss sits within float noise of the target
    assert np.abs(b["steps_to_target"] - a["steps_to_target"]).max() <= 1
    assert (a["steps_to_target"] > 0).any()


def test_fused_kernel_rejects_what_it_cannot_do():
    data = train.Data(X_XOR, Y_XOR)
    with pytest.raises(ValueError, match="mode"):
        restarts.outcome_run(MLP((2, 2, 1)), data, train.TrainConfig(mode="minibatch", batch_size=2), fused=True)
    with pytest.raises(ValueError, match="optimizer"):
        restarts.outcome_run(MLP((2, 2, 1)), data, train.TrainConfig(optimizer="rmsprop"), fused=True)
    with pytest.raises(ValueError, match="optimizer arguments"):
        restarts.outcome_run(MLP((2, 2, 1)), data, train.TrainConfig(optimizer=optimizers.spec(
            optax.adam, mu_dtype=jnp.float32)), fused=True)
    # without fused=True it falls back to make_run
    run = restarts.outcome_run(MLP((2, 2, 1)), data, train.TrainConfig(optimizer="rmsprop"))
    assert not hasattr(run, "batched")


# ---------------------------------------------------------------------------------------------- persistence
class Interrupt(Exception):
    pass


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    kw = {"chunk_size": 4, "execution": "vmap", "config": {"what": "tiny_run"}}
    whole = restarts.sweep(tiny_run, 5, 17, HP, progress=False, **kw)
    assert whole.computed_chunks == [0, 1, 2, 3, 4]

    def crash_after_two(info):
        if info.chunk == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        restarts.sweep(tiny_run, 5, 17, HP, out_dir=tmp_path, progress=crash_after_two, **kw)
    assert sorted(p.name for p in (tmp_path / "chunks").iterdir()) == ["chunk_000000.npz", "chunk_000001.npz"]
    seen = []
    resumed = restarts.sweep(tiny_run, 5, 17, HP, out_dir=tmp_path, progress=seen.append, **kw)
    assert resumed.loaded_chunks == [0, 1] and resumed.computed_chunks == [2, 3, 4]
    assert [i.loaded for i in seen] == [True, True, False, False, False] and seen[-1].done == 17
    jax.tree.map(np.testing.assert_array_equal, resumed.outcomes, whole.outcomes)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["identity"]["seed"] == 5 and manifest["identity"]["chunk_size"] == 4
    assert len(manifest["sessions"]) == 2 and manifest["sessions"][0]["n_devices"] == 1
    assert "jax" in manifest["sessions"][0]["versions"]
    # A third run only reads.
    again = restarts.sweep(tiny_run, 5, 17, HP, out_dir=tmp_path, progress=False, **kw)
    assert again.computed_chunks == [] and again.loaded_chunks == [0, 1, 2, 3, 4]


def test_a_sweep_with_more_than_ten_outcome_arrays_resumes(tmp_path):
    # Regression: chunk leaves were read back in string order (leaf_10 before leaf_2), so the checksum of every
    # chunk with more than ten outcome arrays failed and such sweeps were recomputed on every run.
    def many(key, hp):
        r = tiny_run(key, hp)
        return {**r, **{f"extra_{i:02d}": r["final_loss"] * i for i in range(10)}}

    kw = {"chunk_size": 4, "execution": "vmap", "config": {"what": "many"}, "out_dir": tmp_path, "progress": False}
    first = restarts.sweep(many, 1, 8, HP, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a rejected chunk warns
        again = restarts.sweep(many, 1, 8, HP, **kw)
    assert again.computed_chunks == [] and again.loaded_chunks == [0, 1]
    jax.tree.map(np.testing.assert_array_equal, again.outcomes, first.outcomes)
    assert not (tmp_path / "rejected").exists()


@pytest.mark.parametrize(
    "change",
    [{"seed": 6}, {"n_restarts": 18}, {"hparams": {"lr": 0.2, "scale": 1.0}}, {"chunk_size": 8},
     {"config": {"what": "other"}}],
)
def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path, change):
    kw = {"run_fn": tiny_run, "seed": 5, "n_restarts": 9, "hparams": HP, "chunk_size": 4, "execution": "vmap",
          "config": {"what": "tiny_run"}, "out_dir": tmp_path, "progress": False}
    restarts.sweep(**kw)
    before = _files(tmp_path)
    with pytest.raises(ValueError, match="different sweep"):
        restarts.sweep(**{**kw, **change})
    assert _files(tmp_path) == before


def test_chunks_without_a_manifest_are_not_touched(tmp_path):
    (tmp_path / "chunks").mkdir()
    (tmp_path / "chunks" / "chunk_000000.npz").write_bytes(b"precious")
    with pytest.raises(ValueError, match="manifest"):
        restarts.sweep(tiny_run, 0, 4, HP, chunk_size=4, execution="vmap", out_dir=tmp_path, progress=False)
    assert (tmp_path / "chunks" / "chunk_000000.npz").read_bytes() == b"precious"


# ---------------------------------------------------------------------------------------------- devices and hosts
# The device count is fixed when JAX starts, so multi-device runs happen in fresh processes.
MULTI_DEVICE = """
import jax, numpy as np
from jax import numpy as jnp
from xgnn_jax.engine import restarts, train
from xgnn_jax.core.mlp import MLP
assert jax.device_count() == 4, jax.devices()
X = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32); Y = jnp.array([[0], [1], [1], [0]], jnp.float32)
data = train.Data(X, Y)
# Biases start at zeros made inside the run: the case where shard_map's default check coupled restarts.
run = train.make_run(MLP((2, 2, 1)), data, train.TrainConfig(epochs=30))
keep = lambda r: {"init": r.init_params, "final_loss": r.final_loss, "params": r.params}
kw = dict(outcome=keep, execution="vmap", progress=False)
four = restarts.sweep(run, 0, 21, {"lr": [2.0, 4.0]}, chunk_size=8, **kw)
four_again = restarts.sweep(run, 0, 21, {"lr": [2.0, 4.0]}, chunk_size=8, **kw)
one = restarts.sweep(run, 0, 21, {"lr": [2.0, 4.0]}, chunk_size=8, devices=jax.devices()[:1], **kw)
assert four.n_devices == 4 and one.n_devices == 1 and four.computed_chunks == list(range(6))
jax.tree.map(np.testing.assert_array_equal, four.outcomes, four_again.outcomes)   # same layout: bit for bit
jax.tree.map(np.testing.assert_array_equal, four["init"], one["init"])            # keys: bit for bit
jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), four["params"], one["params"])
fast = restarts.outcome_run(MLP((2, 2, 1)), data, train.TrainConfig(epochs=30), target_loss=0.124)
f4 = restarts.sweep(fast, 0, 100, {"lr": 4.0}, block_size=8, progress=False)
assert f4.execution == "fused" and f4.n_devices == 4 and f4.chunk_size % 32 == 0
# the fused kernel, sharded, against make_run on one device
np.testing.assert_allclose(f4["final_loss"][:21], one["final_loss"][1], rtol=1e-5)
print("MULTI-DEVICE OK")
"""


def _python(code: str, env_extra: dict, timeout: float = 120, cwd=ROOT):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", **env_extra}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_sharded_sweep_equals_unsharded_on_four_fake_devices():
    r = _python(MULTI_DEVICE, {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert r.returncode == 0 and "MULTI-DEVICE OK" in r.stdout, r.stderr[-3000:]


MULTI_HOST = """
import sys
import jax
pid, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=pid,
                           initialization_timeout=60)
import numpy as np
sys.path.insert(0, "tests")
from test_restarts import HP, tiny_run
from xgnn_jax.engine import restarts
assert jax.device_count() == 4 and jax.local_device_count() == 2
res = restarts.sweep(tiny_run, 7, 19, HP, chunk_size=8, execution="vmap", out_dir=out + "/sweep", progress=False)
assert res.n_devices == 4 and res.computed_chunks == [0, 1, 2]
np.savez(out + f"/p{pid}.npz", **res.outcomes)
jax.distributed.shutdown()
"""


def test_two_processes_on_loopback_share_one_sweep(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen([sys.executable, "-c", MULTI_HOST, str(pid), port, str(tmp_path)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for pid in (0, 1)]
    outs = [p.communicate(timeout=150) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    p0, p1 = (np.load(tmp_path / f"p{pid}.npz") for pid in (0, 1))
    local = restarts.sweep(tiny_run, 7, 19, HP, chunk_size=8, execution="vmap", progress=False)
    for name in ("w0", "w", "final_loss"):
        np.testing.assert_array_equal(p0[name], p1[name])  # every process gets every outcome
        np.testing.assert_allclose(p0[name], local[name], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(p0["w0"], local["w0"])
    manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    assert manifest["sessions"][0]["process_count"] == 2 and manifest["sessions"][0]["n_devices"] == 4
    assert len(list((tmp_path / "sweep" / "chunks").iterdir())) == 3


def test_unrecorded_gradient_norm_is_not_counted_as_divergence():
    # record_grad_norm=False leaves final_grad_norm NaN by design; the run's own diverged flag decides.
    run = train.make_run(MLP((2, 2, 1)), train.Data(X_XOR, Y_XOR),
                         train.TrainConfig(epochs=20, record_grad_norm=False))
    res = restarts.sweep(run, 0, 4, {"lr": 0.5}, execution="vmap", progress=False)
    assert np.isnan(res["final_grad_norm"]).all()
    assert res.n_diverged == 0 and np.isfinite(res.summary()["final_loss_mean"][0])


def test_whole_train_results_use_their_own_divergence_flag_and_target_loss_is_checked():
    run = train.make_run(MLP((2, 2, 1)), train.Data(X_XOR, Y_XOR),
                         train.TrainConfig(epochs=10, record_grad_norm=False))
    res = restarts.sweep(run, 0, 4, {"lr": 0.5}, outcome=lambda r: r, execution="vmap", progress=False)
    assert res.n_diverged == 0
    ten = restarts.sweep(run, 0, 4, {"lr": 0.5}, target_loss=10.0, execution="vmap", progress=False)
    assert (ten["steps_to_target"] == 1).all()  # the target is applied, not silently replaced by the default
    reduced = restarts.outcome_run(MLP((2, 2, 1)), train.Data(X_XOR, Y_XOR), train.TrainConfig(epochs=10))
    with pytest.raises(ValueError, match="target_loss"):
        restarts.sweep(reduced, 0, 4, {"lr": 0.5}, target_loss=10.0, progress=False)


def test_fused_kernel_is_not_used_for_what_it_does_not_implement():
    from xgnn_jax.engine import fused

    data = train.Data(X_XOR, Y_XOR)
    for cfg in (train.TrainConfig(epochs=5, regularization="l2"), train.TrainConfig(epochs=5, record_grad_norm=False)):
        assert fused.unsupported_reason(MLP((2, 2, 1)), data, cfg) is not None
        assert not hasattr(restarts.outcome_run(MLP((2, 2, 1)), data, cfg), "batched")
        assert not fused.chosen(MLP((2, 2, 1)), data, cfg)  # the one rule every "fused when possible" follows
        assert not fused.chosen(MLP((2, 2, 1)), data, cfg, fused=False)
        with pytest.raises(ValueError, match="fused: the fused kernel does not support"):
            fused.chosen(MLP((2, 2, 1)), data, cfg, fused=True)
    supported = train.TrainConfig(epochs=5)
    assert fused.chosen(MLP((2, 2, 1)), data, supported) == (jax.default_backend() == "cpu")
    assert fused.chosen(MLP((2, 2, 1)), data, supported, fused=True)
    assert not fused.chosen(MLP((2, 2, 1)), data, supported, fused=False)


def test_a_sweep_resumes_in_the_chunking_it_was_started_with(tmp_path):
    # The automatic chunk size depends on the device count and the memory budget; the chunk size is part of the
    # sweep's identity, so a resumed session must take the folder's, not refuse the folder or mix two layouts.
    kw = {"execution": "vmap", "config": {"what": "tiny_run"}, "progress": False}
    first = restarts.sweep(tiny_run, 5, 17, HP, chunk_size=4, out_dir=tmp_path / "s", **kw)
    assert first.chunk_size == 4 and len(first.computed_chunks) > 1
    again = restarts.sweep(tiny_run, 5, 17, HP, out_dir=tmp_path / "s", **kw)
    assert again.chunk_size == 4 and again.computed_chunks == [] and again.loaded_chunks == first.computed_chunks
    jax.tree.map(np.testing.assert_array_equal, again.outcomes, first.outcomes)
    with pytest.raises(ValueError, match="chunk_size"):  # an explicit other size is still another sweep
        restarts.sweep(tiny_run, 5, 17, HP, chunk_size=8, out_dir=tmp_path / "s", **kw)


def test_map_over_runs_a_function_per_row_of_data_through_the_sweep(tmp_path):
    x = np.arange(12.0, dtype=np.float32).reshape(4, 3)

    def fn(key, row, hp):
        return {"s": row.sum() * hp["scale"], "u": jax.random.uniform(key)}

    kw = dict(n_restarts=2, hparams={"scale": np.array([1.0, 2, 3, 4])}, progress=False, chunk_size=2)
    r = restarts.map_over(fn, x, out_dir=tmp_path / "m", **kw)
    np.testing.assert_allclose(r["s"][:, 0], x.sum(1) * np.array([1, 2, 3, 4]))
    assert r["s"].shape == (4, 2) and not r.diverged.any()
    np.testing.assert_array_equal(r["u"][0], r["u"][3])  # common random numbers across rows
    again = restarts.map_over(fn, x, out_dir=tmp_path / "m", **kw)
    assert again.computed_chunks == [] and np.array_equal(again["s"], r["s"])
    with pytest.raises(ValueError, match="inputs"):
        restarts.map_over(fn, {"a": np.zeros(3), "b": np.zeros(4)})


# ---------------------------------------------------------------------------------------------- folder integrity
def _damage(kind: str, path: Path, foreign: Path):
    """Damage the chunk file at ``path`` in one of the ways a user or a crash can; returns the expected reason."""
    if kind == "foreign":  # a chunk copied in from the seed-6 folder
        path.write_bytes(foreign.read_bytes())
        return "different sweep (seed 6 there, 5 here)"
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
        return "unreadable"
    if kind == "empty":
        path.write_bytes(b"")
        return "unreadable"
    if kind == "flipped":  # one bit in the middle of the file (the outcome values)
        b = bytearray(data)
        b[len(b) // 2] ^= 0x10
        path.write_bytes(bytes(b))
        return ""  # a CRC error or a checksum or finiteness mismatch, depending on which byte it hits
    z = dict(np.load(path))
    if kind == "rows":
        z["leaf_0"] = z["leaf_0"][:3]
        reason = "has 3 rows, expected 4"
    elif kind == "dtype":
        z["leaf_0"] = z["leaf_0"].astype(np.float64)
        reason = "has dtype float64, expected float32"
    elif kind == "nan":
        z["leaf_0"] = np.where(np.arange(4) == 2, np.nan, z["leaf_0"]).astype(np.float32)
        reason = "has 1 non-finite values, 0 when written"
    else:  # "values": same finiteness, other numbers
        z["leaf_0"] = z["leaf_0"] + 1
        reason = "do not match their checksum"
    np.savez(path, **z)
    return reason


@pytest.mark.parametrize("kind", ["foreign", "truncated", "empty", "flipped", "rows", "dtype", "nan", "values"])
def test_a_damaged_or_foreign_chunk_is_named_moved_aside_and_recomputed(tmp_path, kind):
    kw = {"chunk_size": 4, "execution": "vmap", "progress": False}
    good = restarts.sweep(tiny_run, 5, 9, HP, out_dir=tmp_path / "a", **kw)
    restarts.sweep(tiny_run, 6, 9, HP, out_dir=tmp_path / "b", **kw)
    chunk = tmp_path / "a" / "chunks" / "chunk_000001.npz"
    reason = _damage(kind, chunk, tmp_path / "b" / "chunks" / "chunk_000001.npz")
    with pytest.warns(restarts.RejectedChunkWarning, match=r"chunk file .*chunk_000001\.npz not used: .*"
                      + re.escape(reason)):
        again = restarts.sweep(tiny_run, 5, 9, HP, out_dir=tmp_path / "a", **kw)
    assert again.rejected_chunks == [1] and again.computed_chunks == [1] and again.loaded_chunks == [0, 2]
    jax.tree.map(np.testing.assert_array_equal, again.outcomes, good.outcomes)
    moved = tmp_path / "a" / "rejected" / "chunk_000001.npz"
    assert moved.exists() and reason in (tmp_path / "a" / "rejected" / "chunk_000001.npz.why.txt").read_text()
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["rejected"][0]["chunk"] == 1
    third = restarts.sweep(tiny_run, 5, 9, HP, out_dir=tmp_path / "a", **kw)  # the recomputed chunk is good
    assert third.loaded_chunks == [0, 1, 2] and third.rejected_chunks == []


def _steps_run(steps: int, a_seed: int = 0):
    """tiny_run's least squares with ``steps`` steps on the matrix ``a`` drawn from ``a_seed`` (closed over)."""
    a = jax.random.normal(jax.random.key(100 + a_seed), (5, 3))

    def run(key, hp):
        w0 = jax.random.normal(key, (3,)) * hp["scale"]
        w, _ = jax.lax.scan(lambda w, _: (w - hp["lr"] * a.T @ (a @ w - 1.0) / 5.0, None), w0, None, length=steps)
        return {"final_loss": jnp.mean((a @ w - 1.0) ** 2)}

    return run


def test_another_run_function_in_the_same_folder_is_refused_without_config(tmp_path):
    kw = {"chunk_size": 4, "execution": "vmap", "progress": False, "out_dir": tmp_path}
    restarts.sweep(_steps_run(30), 0, 4, HP, **kw)
    before = _files(tmp_path)
    for other in (_steps_run(10), _steps_run(30, a_seed=1)):  # other epochs; other (closed-over) data
        with pytest.raises(ValueError, match=r"different sweep \(differs in run: run: the run function's traced"):
            restarts.sweep(other, 0, 4, HP, **kw)
    assert _files(tmp_path) == before
    assert restarts.sweep(_steps_run(30), 0, 4, HP, **kw).loaded_chunks == [0]  # an equal rebuild resumes


def test_a_second_sweep_on_a_folder_in_use_fails_at_once_naming_the_process(tmp_path):
    kw = {"chunk_size": 4, "execution": "vmap", "out_dir": tmp_path}
    errors = []

    def second(info):
        if info.chunk == 0:
            with pytest.raises(FolderInUse) as e:
                restarts.sweep(tiny_run, 1, 9, HP, progress=False, **kw)
            errors.append(str(e.value))

    first = restarts.sweep(tiny_run, 0, 9, HP, progress=second, **kw)
    assert len(errors) == 1 and f"pid {os.getpid()} on {socket.gethostname()}" in errors[0]
    assert str(tmp_path) in errors[0] and first.computed_chunks == [0, 1, 2]
    assert (tmp_path / ".lock").read_text() == ""  # released (and the file kept, see io.FolderLock)
    assert restarts.sweep(tiny_run, 0, 9, HP, progress=False, **kw).loaded_chunks == [0, 1, 2]


HOLDER = """
import sys, time
from pathlib import Path
sys.path.insert(0, "tests")
from test_restarts import HP, tiny_run
from xgnn_jax.engine import restarts
folder = Path(sys.argv[1])
def wait(info):
    if info.chunk == 0:
        (folder.parent / "ready").write_text("1")
        t = time.time()
        while not (folder.parent / "go").exists() and time.time() - t < 120:
            time.sleep(0.05)
restarts.sweep(tiny_run, 0, 9, HP, chunk_size=4, execution="vmap", out_dir=folder, progress=wait)
print("HOLDER DONE")
"""


def test_two_processes_racing_for_one_folder_never_mix(tmp_path):
    import time

    folder = tmp_path / "sweep"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t = time.time()
        while not (tmp_path / "ready").exists() and holder.poll() is None and time.time() - t < 150:
            time.sleep(0.05)
        assert (tmp_path / "ready").exists(), holder.communicate()[1][-3000:]
        with pytest.raises(FolderInUse, match=rf"in use by another process \(pid {holder.pid} on "):
            restarts.sweep(tiny_run, 1, 9, HP, chunk_size=4, execution="vmap", out_dir=folder, progress=False)
    finally:
        (tmp_path / "go").write_text("1")
        out, err = holder.communicate(timeout=150)
    assert holder.returncode == 0 and "HOLDER DONE" in out, err[-3000:]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["identity"]["seed"] == 0 and len(manifest["sessions"]) == 1
    resumed = restarts.sweep(tiny_run, 0, 9, HP, chunk_size=4, execution="vmap", out_dir=folder, progress=False)
    assert resumed.loaded_chunks == [0, 1, 2] and resumed.rejected_chunks == []
    alone = restarts.sweep(tiny_run, 0, 9, HP, chunk_size=4, execution="vmap", progress=False)
    np.testing.assert_array_equal(resumed["w0"], alone["w0"])


def test_a_folder_of_the_old_format_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "identity": {}, "sessions": []}))
    with pytest.raises(ValueError, match="format 1 .*without fingerprints"):
        restarts.sweep(tiny_run, 0, 4, HP, chunk_size=4, execution="vmap", out_dir=tmp_path, progress=False)


def test_saturated_restarts_are_counted_apart_and_never_averaged_in():
    def run(key, hp):
        u = jax.random.uniform(key)
        sat = u < 0.3  # a plateau: loss 0.25, target never reached
        return {"final_loss": jnp.where(sat, 0.25, 0.01 * u), "steps_to_target": jnp.where(sat, -1, 5),
                "diverged": u > 0.95, "saturated": sat}

    res = restarts.sweep(run, 0, 64, {"lr": [0.1, 0.2]}, chunk_size=64, execution="vmap", progress=False)
    s = res.summary()
    sat, div = res["saturated"][0], res["diverged"][0]
    assert 0 < sat.sum() < 64 and 0 < div.sum() and s["n_saturated"][0] == sat.sum() == res.n_saturated / 2
    ok = ~sat & ~div
    np.testing.assert_allclose(s["final_loss_mean"][0], res["final_loss"][0][ok].mean(), rtol=1e-6)
    assert s["final_loss_max"][0] < 0.25 and s["reached_target"][0] == 1.0
    np.testing.assert_allclose(s["reached_target_of_all"][0], ok.mean())
    assert "saturated_fraction" not in s


def test_sigmoid_nets_at_a_huge_learning_rate_are_flagged_saturated_not_diverged(xor_run):
    # lr 1e4: every unit pinned at 0 or 1, loss 0.25, gradient ~0: finite, so not diverged, and not a minimum.
    res = restarts.sweep(xor_run, 0, 16, {"lr": [2.0, 1e4]}, execution="vmap", progress=False)
    s = res.summary()
    assert res.n_diverged == 0 and s["n_saturated"][0] == 0 and s["n_saturated"][1] >= 4
    np.testing.assert_array_equal(s["n_saturated"], res["saturated"].sum(1))
    sat = res["saturated"][1]
    assert np.all(res["final_grad_norm"][1][sat] < 1e-6) and np.all(res["steps_to_target"][1][sat] == -1)
