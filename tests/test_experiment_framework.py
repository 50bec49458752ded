"""The study protocol, results folders, the report and the command line (issue 9's plumbing)."""

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import ClassVar

import jax
import numpy as np
import pytest

from xgnn_jax.io import to_jsonable
from xgnn_jax.study import cli, report, results
from xgnn_jax.study.claims import CLAIMS
from xgnn_jax.study.cli import parse_config
from xgnn_jax.study.registry import ConfigError, Study, check_config, run_study
from xgnn_jax.study.verdict import Verdict, verdict


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    seed: int = 3
    seeds: int = 4
    lr: float = 0.5
    sizes: tuple[int, ...] = (2, 2, 1)

    @classmethod
    def full(cls):
        return cls(seeds=1000)


def _tiny_run(config, out_dir=None, progress=True):
    losses = np.linspace(1.0, 0.0, config.seeds) * config.lr
    v = verdict("C1", bool(losses.min() >= 0), "Are losses non-negative?", f"min {losses.min():.3f}")
    return results.finish(TINY, config, {"verdicts": [v], "mean_loss": losses.mean()}, out_dir,
                             arrays={"final_loss": losses}, wall_time_s=0.01, seed=config.seed)


TINY = Study("tiny", "A tiny study", ("C1",), TinyConfig, _tiny_run)


def test_finish_writes_the_results_folder(tmp_path):
    summary = TINY.run(TinyConfig(), out_dir=tmp_path / "tiny")
    folder = tmp_path / "tiny"
    assert {p.name for p in folder.iterdir()} == {"config.json", "meta.json", "arrays.npz", "summary.json"}
    assert json.loads((folder / "config.json").read_text())["seeds"] == 4
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["environment"]["device_count"] >= 1 and "jax" in meta["versions"]
    assert "git_commit" in meta and "git_dirty" in meta
    assert np.load(folder / "arrays.npz")["final_loss"].shape == (4,)
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk == summary and summary["verdicts"][0]["verdict"] == "holds"


def test_finish_without_folder_returns_json_ready_summary():
    summary = TINY.run(TinyConfig(lr=-1.0))
    json.dumps(summary, allow_nan=False)
    assert summary["verdicts"][0]["verdict"] == "does not hold"


def test_verdict_rejects_unknown_values_and_unnamed_conditions():
    with pytest.raises(ValueError, match="verdict"):
        Verdict("C1", "mostly", "q", "m")
    with pytest.raises(ValueError, match="conditions"):
        Verdict("C1", "holds under conditions", "q", "m")
    with pytest.raises(ValueError, match="claims"):
        Study("x", "x", ("C99",), TinyConfig, _tiny_run)


def test_config_overrides_full_flag_and_unknown_option(capsys):
    cfg, full = parse_config(TINY, ["--seeds", "7", "--lr", "0.1", "--sizes", "2", "3", "1"])
    assert cfg == TinyConfig(seeds=7, lr=0.1, sizes=(2, 3, 1)) and not full
    cfg, full = parse_config(TINY, ["--full"])
    assert cfg.seeds == 1000 and full
    with pytest.raises(SystemExit) as e:
        parse_config(TINY, ["--lrr", "0.1"])
    assert e.value.code != 0
    assert "--lr" in capsys.readouterr().err + capsys.readouterr().out


def test_report_lists_every_claim_and_marks_unmeasured(tmp_path):
    TINY.run(TinyConfig(), out_dir=tmp_path / "tiny")
    text = report.write_report(tmp_path).read_text()
    for cid in CLAIMS:
        assert f"| [{cid}](#claim-{cid.lower()}) |" in text
    assert "| [C1](#claim-c1) | M-P neuron | **holds** | - | [tiny](tiny/) |" in text
    assert "| [C2](#claim-c2) | Perceptron model | **not yet measured** | - | - |" in text


def test_cli_rejects_unknown_study_and_command():
    with pytest.raises(SystemExit, match="valid studies"):
        cli.main(["run", "no_such_study"])
    with pytest.raises(SystemExit, match="valid commands"):
        cli.main(["frobnicate"])


def test_to_jsonable_handles_arrays_and_non_finite():
    out = to_jsonable({"a": np.arange(3), "b": np.float32(1.5), "c": float("nan"), "d": (1, 2),
                                  "e": np.array([np.nan, 1.0, np.inf]), "f": np.array(np.nan)})
    assert out == {"a": [0, 1, 2], "b": 1.5, "c": None, "d": [1, 2], "e": [None, 1.0, "inf"], "f": None}
    json.dumps(out, allow_nan=False)


# ---------------------------------------------------------------------------------------------- config checks
@dataclasses.dataclass(frozen=True)
class RangedConfig:
    RANGES: ClassVar[dict[str, tuple[float | None, float | None]]] = {"sharpness": (0.0, 10.0), "lams": (0, 1)}
    seed: int = 0
    seeds: int = 2
    lr: float = 0.5
    sharpness: float = 1.0
    lams: tuple[float, ...] = (0.5, 0.9)
    threshold: float = 0.5


CALLS = []


def _counting_run(config, out_dir=None, progress=True):
    CALLS.append(config)
    return _tiny_run(config, out_dir, progress)


COUNTING = Study("tiny", "A tiny study", ("C1",), TinyConfig, _counting_run)


@pytest.mark.parametrize("argv, match", [
    (["--lr", "nan"], r"config\.lr \(--lr\): nan is not a finite number"),
    (["--lr", "inf"], r"config\.lr \(--lr\): inf is not a finite number"),
    (["--lr", "-1"], r"config\.lr \(--lr\): -1\.0 is outside \(0, inf\) \(a learning rate\)"),
    (["--lr", "0"], r"--lr.*outside \(0, inf\)"),
    (["--seeds", "-3"], r"config\.seeds \(--seeds\): -3 is outside \[1, inf\) \(a count\)"),
    (["--seeds", "0"], r"config\.seeds \(--seeds\): 0 is outside \[1, inf\)"),
    (["--seed", "-1"], r"config\.seed \(--seed\): -1 is outside \[0, 4.29\d+e\+09\] \(a seed\)"),
    (["--sizes", "2", "nan", "1"], None),  # tyro refuses a float for an int field itself
])
def test_invalid_cli_values_are_rejected_before_the_study_runs(tmp_path, argv, match):
    CALLS.clear()
    if match is None:
        with pytest.raises(SystemExit):
            parse_config(COUNTING, argv)
        return
    cfg, _ = parse_config(COUNTING, argv)
    with pytest.raises(ConfigError, match=match):
        run_study(COUNTING, cfg, results_root=tmp_path, progress=False)
    assert CALLS == [] and not any(tmp_path.iterdir())  # nothing ran, nothing was written


def test_ranges_replace_the_name_rules_and_apply_to_every_element():
    check_config(RangedConfig())
    check_config(RangedConfig(sharpness=10.0, lams=(0.0, 1.0)))  # inclusive bounds
    with pytest.raises(ConfigError, match=r"config\.sharpness \(--sharpness\): 11\.0 is outside \[0, 10\]"):
        check_config(RangedConfig(sharpness=11.0))
    with pytest.raises(ConfigError, match=r"config\.lams .* holds 1\.5, which is outside \[0, 1\]"):
        check_config(RangedConfig(lams=(0.5, 1.5)))
    with pytest.raises(ConfigError, match=r"config\.lams .* holds nan, not a finite number"):
        check_config(RangedConfig(lams=(0.5, float("nan"))))
    with pytest.raises(ConfigError, match=r"threshold.*\[0, 1\]"):
        check_config(RangedConfig(threshold=1.5))
    with pytest.raises(ConfigError, match=r"threshold.*not a finite"):
        check_config(RangedConfig(threshold=float("nan")))

    @dataclasses.dataclass(frozen=True)
    class Typo:
        RANGES: ClassVar[dict] = {"lrr": (0, 1)}
        lr: float = 0.1

    with pytest.raises(ConfigError, match="lrr"):
        check_config(Typo())
    with pytest.raises(ConfigError, match="TinyConfig"):
        TINY.check(RangedConfig())


def test_every_study_default_config_passes_the_checks():
    studies = cli.discover()
    assert len(studies) >= 5
    for study in studies.values():
        study.check(study.quick_config())
        study.check(study.full_config())


# ---------------------------------------------------------------------------------------------- atomic folders
def _figure_run(config, out_dir=None, progress=True):
    if out_dir is not None:
        (Path(out_dir) / "loss.png").write_bytes(f"figure lr={config.lr}".encode())
    losses = np.linspace(1.0, 0.0, config.seeds) * config.lr
    v = verdict("C1", True, "q", f"lr {config.lr}", figures=("loss.png",))
    return results.finish(FIG, config, {"verdicts": [v], "lr": config.lr}, out_dir, arrays={"loss": losses},
                          tables={"per_restart": {"loss": losses}}, wall_time_s=0.01)


FIG = Study("fig", "A study with a figure", ("C1",), TinyConfig, _figure_run)


def test_run_study_publishes_a_whole_folder_and_check_folder_finds_mixes(tmp_path):
    run_study(FIG, TinyConfig(lr=0.5), results_root=tmp_path, progress=False)
    link = tmp_path / "fig"
    assert link.is_symlink() and results.check_folder(link) == []
    first = link.resolve()
    assert {p.name for p in link.iterdir()} == {"config.json", "meta.json", "arrays.npz", "summary.json",
                                                 "loss.png", "per_restart.csv"}
    meta = json.loads((link / "meta.json").read_text())
    assert set(meta["files"]) == {"config.json", "arrays.npz", "summary.json", "loss.png", "per_restart.csv"}
    assert (link / "loss.png").read_bytes() == b"figure lr=0.5"  # the study's figure is in the published folder
    run_study(FIG, TinyConfig(lr=2.0), results_root=tmp_path, progress=False)
    second = link.resolve()
    assert second != first and first.exists()  # the previous run is kept for readers still in it
    assert json.loads((link / "summary.json").read_text())["lr"] == 2.0 and results.check_folder(link) == []
    run_study(FIG, TinyConfig(lr=3.0), results_root=tmp_path, progress=False)
    assert not first.exists() and second.exists()  # older runs are pruned
    # A mix, as left by a kill between two files of a plain folder: named, file by file.
    (link / "config.json").write_bytes((second / "config.json").read_bytes())
    (link / "old.png").write_bytes(b"x")
    (link / "arrays.npz").unlink()
    problems = results.check_folder(link)
    assert any(p.startswith("config.json differs") for p in problems), problems
    assert any(p.startswith("arrays.npz is recorded") for p in problems)
    assert any(p.startswith("old.png is not part of run") for p in problems)
    assert results.check_folder(tmp_path / "nope") == [f"{tmp_path / 'nope'}: no such results folder"]


def test_a_failing_study_leaves_the_old_results_and_no_staging_folder(tmp_path):
    run_study(FIG, TinyConfig(lr=0.5), results_root=tmp_path, progress=False)

    def broken(config, out_dir=None, progress=True):
        (Path(out_dir) / "loss.png").write_bytes(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_study(Study("fig", "x", ("C1",), TinyConfig, broken), TinyConfig(), results_root=tmp_path,
                  progress=False)
    assert (tmp_path / "fig" / "loss.png").read_bytes() == b"figure lr=0.5"
    assert len(list((tmp_path / ".runs" / "fig").iterdir())) == 1
    with pytest.raises(RuntimeError, match="without calling results.finish"):
        run_study(Study("fig", "x", ("C1",), TinyConfig, lambda c, out_dir=None, progress=True: {}),
                  TinyConfig(), results_root=tmp_path, progress=False)


def test_a_plain_legacy_folder_is_kept_as_a_run_and_replaced_by_the_link(tmp_path):
    (tmp_path / "fig").mkdir(parents=True)
    (tmp_path / "fig" / "summary.json").write_text("{}")
    assert "meta.json is missing" in results.check_folder(tmp_path / "fig")
    run_study(FIG, TinyConfig(lr=0.5), results_root=tmp_path, progress=False)
    assert (tmp_path / "fig").is_symlink() and results.check_folder(tmp_path / "fig") == []
    legacy = [d for d in (tmp_path / ".runs" / "fig").iterdir() if d.name.startswith("legacy-")]
    assert len(legacy) == 1 and (legacy[0] / "summary.json").read_text() == "{}"


KILLED = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, "tests")
import test_experiment_framework as t
from xgnn_jax.study import registry, results
point, root = sys.argv[1], sys.argv[2]
real_write_json, real_symlink = results.write_json, results.os.symlink
def write_json(path, obj):
    if Path(path).name == point:
        os.kill(os.getpid(), signal.SIGKILL)
    real_write_json(path, obj)
def symlink(src, dst):
    if point == "link" and ".link-" in str(dst):
        os.kill(os.getpid(), signal.SIGKILL)
    real_symlink(src, dst)
results.write_json, results.os.symlink = write_json, symlink
registry.run_study(t.FIG, t.TinyConfig(lr=2.0), results_root=root, progress=False)
"""


@pytest.mark.parametrize("point", ["config.json", "link"])  # the first file; the last step (after meta.json)
def test_a_kill_between_the_files_of_a_results_folder_leaves_the_old_folder_whole(tmp_path, point):
    import signal
    import subprocess
    import sys

    run_study(FIG, TinyConfig(lr=0.5), results_root=tmp_path, progress=False)
    before = {p.name: p.read_bytes() for p in (tmp_path / "fig").iterdir()}
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", KILLED, point, str(tmp_path)], cwd=root, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert {p.name: p.read_bytes() for p in (tmp_path / "fig").iterdir()} == before
    assert results.check_folder(tmp_path / "fig") == []
    # the next run prunes the killed run's staging folder (its process is gone) and publishes
    run_study(FIG, TinyConfig(lr=3.0), results_root=tmp_path, progress=False)
    assert len(list((tmp_path / ".runs" / "fig").iterdir())) == 2
    assert json.loads((tmp_path / "fig" / "summary.json").read_text())["lr"] == 3.0


SEEN = []
STOP_AT = []


def _u_run(key, hp):
    import jax

    return {"u": jax.random.uniform(key) * hp["lr"]}


def _sweeping_run(config, out_dir=None, progress=True):
    from xgnn_jax.engine import restarts

    def stop(info):
        if info.chunk in STOP_AT:
            raise KeyboardInterrupt

    res = restarts.sweep(_u_run, config.seed, 8, {"lr": config.lr}, chunk_size=4, execution="vmap",
                         out_dir=Path(out_dir) / "sweeps" / "u", progress=stop)
    SEEN.append((res.loaded_chunks, res.computed_chunks))
    v = verdict("C1", True, "q", "m")
    return results.finish(SWEEPING, config, {"verdicts": [v], "u": res["u"]}, out_dir, wall_time_s=0.01)


SWEEPING = Study("sweeping", "A study with a resumable sweep", ("C1",), TinyConfig, _sweeping_run)


def test_a_studys_sweeps_resume_after_an_interruption_and_carry_over_to_a_rerun(tmp_path):
    SEEN.clear()
    STOP_AT[:] = [0]
    with pytest.raises(KeyboardInterrupt):
        run_study(SWEEPING, TinyConfig(), results_root=tmp_path, progress=False)
    assert not (tmp_path / "sweeping").exists()  # nothing published
    STOP_AT.clear()
    run_study(SWEEPING, TinyConfig(), results_root=tmp_path, progress=False)
    assert SEEN == [([0], [1])]  # the interrupted run's folder was taken over: chunk 0 loaded
    first = (tmp_path / "sweeping").resolve()
    run_study(SWEEPING, TinyConfig(), results_root=tmp_path, progress=False)
    assert SEEN[-1] == ([0, 1], []) and (tmp_path / "sweeping").resolve() != first  # linked from the last run
    assert results.check_folder(tmp_path / "sweeping") == [] and results.check_folder(first) == []
    run_study(SWEEPING, TinyConfig(lr=1.0), results_root=tmp_path, progress=False)
    assert SEEN[-1] == ([], [0, 1])  # another config starts afresh


def test_a_rerun_whose_code_computes_another_sweep_starts_it_afresh_and_keeps_the_old_run(tmp_path, monkeypatch):
    # A published run's sweeps are linked into the next run of the same config; when the code changed what a
    # sweep computes (another traced program), that sweep starts afresh instead of refusing the folder.
    SEEN.clear()
    STOP_AT.clear()
    run_study(SWEEPING, TinyConfig(), results_root=tmp_path, progress=False)
    old = (tmp_path / "sweeping").resolve()
    monkeypatch.setattr(sys.modules[__name__], "_u_run", lambda key, hp: {"u": 2.0 * jax.random.uniform(key)})
    with pytest.warns(UserWarning, match="carried over"):
        run_study(SWEEPING, TinyConfig(), results_root=tmp_path, progress=False)
    assert SEEN[-1] == ([], [0, 1])  # recomputed, nothing of the other program loaded
    new = (tmp_path / "sweeping").resolve()
    assert new != old and results.check_folder(new) == [] and results.check_folder(old) == []
    assert not list(new.rglob(".carried"))
    run_study(SWEEPING, TinyConfig(), results_root=tmp_path, progress=False)
    assert SEEN[-1] == ([0, 1], [])  # and the new sweep carries over as before


def test_the_command_line_gives_jax_one_cpu_device_per_core_unless_told_otherwise():
    # Sweeps shard over devices: with one CPU device the second core idles (measured 2x on fused sweeps).
    import subprocess

    from xgnn_jax import provenance

    code = ("from xgnn_jax import provenance; n = provenance.use_cpu_cores(); import jax; "
            "print(n, jax.device_count(), provenance.usable_cores())")
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "XGNN_CPU_DEVICES"}
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                if not f.startswith("--xla_force_host_platform_device_count"))
    for extra, expect in (({}, None), ({"XGNN_CPU_DEVICES": "3"}, (3, 3))):
        r = subprocess.run([sys.executable, "-c", code], cwd=root, env={**env, **extra}, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        n, count, cores = map(int, r.stdout.split())
        assert (n, count) == (expect or (cores, cores))
    # a device count set in XLA_FLAGS wins
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                       env={**env, "XGNN_CPU_DEVICES": "3", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert r.returncode == 0 and r.stdout.split()[:2] == ["None", "2"], r.stderr[-2000:]
    for bad in ("0", "two", "-1"):
        with pytest.raises(SystemExit, match="XGNN_CPU_DEVICES"):
            provenance.use_cpu_cores(bad)
