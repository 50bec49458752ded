"""Figure conventions: xgnn_jax.study.plotting refuses incomplete figures under XGNN_STRICT_FIGURES=1 (the test suite)."""

import numpy as np
import pytest

from xgnn_jax.study import plotting


def test_complete_figure_is_saved_as_png(tmp_path):
    fig, ax = plotting.figure()
    plotting.band(ax, np.arange(5), np.random.default_rng(0).random((4, 5)), label="loss")
    ax.plot(np.arange(5), np.arange(5), label="reference")
    ax.set(title="t", xlabel="epoch", ylabel="loss")
    ax.legend()
    name = plotting.save(fig, tmp_path / "sub" / "ok.png")
    assert name == "ok.png" and (tmp_path / "sub" / "ok.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("missing", ["title", "xlabel", "ylabel", "legend"])
def test_incomplete_figure_is_refused(tmp_path, missing):
    fig, ax = plotting.figure()
    ax.plot([0, 1], [0, 1], label="a")
    ax.plot([0, 1], [1, 0], label="b")
    labels = {"title": "t", "xlabel": "x (units)", "ylabel": "y (units)"}
    labels.pop(missing, None)
    ax.set(**labels)
    if missing != "legend":
        ax.legend()
    expected = {"title": "no title", "xlabel": "no x-axis label", "ylabel": "no y-axis label", "legend": "no legend"}
    with pytest.raises(ValueError, match=expected[missing]):
        plotting.save(fig, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_figure_title_counts_for_every_panel(tmp_path):
    fig, axes = plotting.figure(2)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set(xlabel="x", ylabel="y")
    fig.suptitle("shared title")
    assert plotting.problems(fig) == []
    plotting.save(fig, tmp_path / "two.png")
