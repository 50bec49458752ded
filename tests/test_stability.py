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
