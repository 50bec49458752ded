"""Typed task names: network specs and data sets parsed once, at the boundary."""

import numpy as np
import pytest

from xgnn_jax.analysis.tasks import NetSpec, Task, load_data
from xgnn_jax.core.mlp import MLP
from xgnn_jax.core.shortcut import ShortcutMLP
from xgnn_jax.data import datasets


def test_parity_two_bits_is_xor_and_three_bits_counts_ones():
    x, y = datasets.parity(2)
    gx, gy = datasets.logic_gate("xor")
    np.testing.assert_array_equal(x, gx)
    np.testing.assert_array_equal(y, gy)
    x3, y3 = datasets.parity(3)
    assert x3.shape == (8, 3) and y3.shape == (8, 1)
    np.testing.assert_array_equal(y3[:, 0], np.asarray(x3).sum(1) % 2)
    with pytest.raises(ValueError, match="bits"):
        datasets.parity(0)


def test_network_names_parse_into_specs_and_models():
    s = NetSpec.parse("2-1-1s")
    assert s == NetSpec(2, 1, 1, shortcut=True) and s.name == "2-1-1s"
    assert isinstance(s.build(), ShortcutMLP) and s.build().num_params == 7
    m = NetSpec.parse("2-3-1").build()
    assert isinstance(m, MLP) and m.sizes == (2, 3, 1)
    for bad in ("two-two-one", "2-2", "2-0-1", "2-2-1x", 3):
        with pytest.raises(ValueError, match="networks"):
            NetSpec.parse(bad)


def test_task_names_default_to_xor_and_name_the_bad_part():
    t = Task.parse("watermelon3_alpha:2-2-1")
    assert t.data == "watermelon3_alpha" and t.net == NetSpec(2, 2, 1) and t.tag == "watermelon3_alpha:2-2-1"
    assert t.dataset().x.shape == (17, 2)
    x = Task.parse("2-2-1")
    assert x.data == "xor" and x.tag == "2-2-1" and x.dataset().x.shape == (4, 2)
    assert Task.parse("parity3:3-3-1").dataset().x.shape == (8, 3)
    with pytest.raises(ValueError, match="other_data: unknown data set 'iris'"):
        Task.parse("iris:4-3-1")
    with pytest.raises(ValueError, match="other_data: expected names like"):
        Task.parse("xor:2-2")
    with pytest.raises(ValueError, match="data: unknown data set"):
        load_data("parity")
