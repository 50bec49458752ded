"""The study protocol, results folders, the report and the command line (issue 9's plumbing)."""

import dataclasses
import json

import numpy as np
import pytest

from xgnn_jax.io import to_jsonable
from xgnn_jax.study import cli, report, results
from xgnn_jax.study.claims import CLAIMS
from xgnn_jax.study.cli import parse_config
from xgnn_jax.study.registry import Study
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
        assert f"| {cid} |" in text
    assert "| C1 | M-P neuron | **holds** | [tiny](tiny/) | Are losses non-negative? |" in text
    assert "| C2 | Perceptron model | not yet measured | - | - |" in text


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
