"""The stability check: seed and level parsing, flags, and the claim-by-claim comparison of run folders."""

import json

import pytest

from xgnn_jax.study import stability


def test_seeds_and_levels_parse_ranges_and_lists():
    assert stability.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert stability.parse_seeds("0-2,9,1") == [0, 1, 2, 9]
    for bad in ("", "a", "4-1", "-3"):
        with pytest.raises(SystemExit, match="--seeds"):
            stability.parse_seeds(bad)
    assert stability.parse_levels("3,1") == [1, 3]
    with pytest.raises(SystemExit, match="--opt-levels"):
        stability.parse_levels("5")


def test_flags_replace_the_callers_level_and_isa():
    flags = stability.xla_flags(3, "AVX2", base="--xla_force_host_platform_device_count=2 "
                                               "--xla_backend_optimization_level=1 --xla_cpu_max_isa=SSE4_2")
    assert flags.split() == ["--xla_force_host_platform_device_count=2", "--xla_backend_optimization_level=3",
                             "--xla_cpu_max_isa=AVX2"]
    assert stability.xla_flags(1, None, base="").split() == ["--xla_backend_optimization_level=1"]


def _write(folder, study, verdicts):
    (folder / study).mkdir(parents=True)
    (folder / study / "summary.json").write_text(json.dumps({"verdicts": verdicts}))


def test_compare_flags_a_moving_word_a_moving_fact_and_a_missing_run(tmp_path):
    runs = [stability.Run(1, s, tmp_path / f"s{s}") for s in (0, 1, 2)]
    for i, run in enumerate(runs):
        verdicts = [{"claim": "C1", "verdict": "holds", "facts": {"n": 3}},
                    {"claim": "C8", "verdict": "holds" if i else "holds under conditions",
                     "facts": {"widest_worse": ["sin"] if i == 2 else []}}]
        if i < 2:
            verdicts.append({"claim": "C5", "verdict": "holds"})
        _write(run.folder, "a", verdicts)
    rows = {r["claim"]: r for r in stability.compare(stability.collect(runs, ["a"]))}
    assert [r["claim"] for r in stability.compare(stability.collect(runs, ["a"]))] == ["C1", "C5", "C8"]
    assert rows["C1"]["agree"] and rows["C1"]["facts"] == ["n"]
    assert not rows["C5"]["agree"] and rows["C5"]["missing"] == ["O1/s2"]
    c8 = rows["C8"]
    assert not c8["agree"] and c8["verdicts"] == {"holds under conditions": 1, "holds": 2}
    assert c8["moving_facts"] == {"widest_worse": {"[]": 2, '["sin"]': 1}}
    text = stability.render(list(rows.values()), runs)
    assert "**1 of 3 verdicts agree.**" in text and "fact `widest_worse`" in text


def test_the_full_setting_is_compared_with_the_quick_runs(tmp_path):
    quick = [stability.Run(1, s, tmp_path / f"s{s}") for s in (0, 1)]
    full = stability.Run(3, 0, tmp_path / "full", "full")
    assert full.label == "full O3/s0" and quick[0].label == "O1/s0"
    for run in quick:
        _write(run.folder, "a", [{"claim": "C1", "verdict": "holds", "facts": {"n": 3}},
                                 {"claim": "C2", "verdict": "holds", "facts": {"undecided": ["SGD"]}},
                                 {"claim": "C3", "verdict": "holds" if run.seed else "does not hold"}])
    _write(full.folder, "a", [{"claim": "C1", "verdict": "holds", "facts": {"n": 3}},
                              {"claim": "C2", "verdict": "holds", "facts": {"undecided": []}},
                              {"claim": "C3", "verdict": "holds"}])
    rows = {r["claim"]: r for r in stability.compare(stability.collect([*quick, full], ["a"]))}
    assert rows["C1"]["quick_agree"] and rows["C1"]["full_agrees"] is True and rows["C1"]["agree"]
    # the quick runs agree, the full one names another fact: shown as a difference with the full setting
    assert rows["C2"]["quick_agree"] and rows["C2"]["full_agrees"] is False and not rows["C2"]["agree"]
    assert rows["C2"]["moving_facts"] == {"undecided": {'["SGD"]': 2, "[]": 1}}
    # quick runs that disagree among themselves are not compared with the full one
    assert not rows["C3"]["quick_agree"] and rows["C3"]["full_agrees"] is None
    text = stability.render(list(rows.values()), [*quick, full])
    assert "**2 of 3 verdicts agree over the seeds and levels.**" in text
    assert "**The full setting gives the same verdict for 1 of 3.**" in text
    assert "full the same |" in text and "full O3/s0: holds" in text
    # without full runs nothing about them is claimed
    plain = stability.compare(stability.collect(quick, ["a"]))
    assert all(r["full_agrees"] is None for r in plain)
    assert "full the same" not in stability.render(plain, quick)


def test_a_reused_folder_must_hold_the_same_mode(tmp_path, monkeypatch):
    folder = tmp_path / "f"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "summary.json").write_text("{}")
    meta = {"seed": 0, "git_commit": "abc", "git_dirty": False, "mode": "quick",
            "environment": {"xla_flags": "--xla_backend_optimization_level=1"}}
    (folder / "a" / "meta.json").write_text(json.dumps(meta))
    flags = "--xla_backend_optimization_level=1"
    assert stability._is_current(folder, "a", 0, flags, "abc")
    assert not stability._is_current(folder, "a", 0, flags, "abc", "full")
