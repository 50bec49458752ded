import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xgnn_jax.data import datasets
from xgnn_jax.engine.train import Data


def test_logic_gates_truth_tables():
    x, y = datasets.logic_gate("xor")
    assert x.shape == (4, 2) and y.shape == (4, 1)
    a, b = np.asarray(x, int).T
    np.testing.assert_array_equal(np.asarray(y[:, 0], int), a ^ b)
    np.testing.assert_array_equal(np.asarray(datasets.load("and").y[:, 0], int), a & b)
    np.testing.assert_array_equal(np.asarray(datasets.load("or").y[:, 0], int), a | b)
    x, y = datasets.load("not")
    np.testing.assert_array_equal(np.asarray(y[:, 0]), 1 - np.asarray(x[:, 0]))
    xs, ys = datasets.logic_gate("XOR", signed=True)
    assert set(np.unique(np.asarray(xs))) == {-1.0, 1.0}
    np.testing.assert_array_equal(np.asarray(ys), 2 * np.asarray(datasets.load("xor").y) - 1)


def test_watermelon3_encodings_match_the_raw_table():
    raw = datasets.watermelon3_raw()
    assert len(raw) == 17 and "色泽" in raw[0]
    x, y = datasets.watermelon3()
    assert x.shape == (17, 19) and y.shape == (17, 1)
    assert int(y.sum()) == 8  # melons 1-8 are good
    np.testing.assert_array_equal(np.asarray(y[:8, 0]), 1)
    # Every categorical block is one-hot.
    blocks = np.split(np.asarray(x[:, :17]), np.cumsum([len(a.values) for a in datasets.WATERMELON_ATTRIBUTES])[:-1],
                      axis=1)
    for block in blocks:
        np.testing.assert_array_equal(block.sum(axis=1), 1)
    names = datasets.watermelon3_feature_names()
    assert len(names) == 19
    # Row 1: green, curled, muffled, clear, sunken, hard_smooth, 0.697, 0.460.
    on = {names[j] for j in np.flatnonzero(np.asarray(x[0, :17]))}
    assert on == {"color=green", "root=curled", "sound=muffled", "texture=clear", "navel=sunken", "touch=hard_smooth"}
    np.testing.assert_allclose(np.asarray(x[0, 17:]), [0.697, 0.460], rtol=1e-6)
    xo, yo = datasets.watermelon3("ordinal")
    assert xo.shape == (17, 8) and float(xo[:, :6].min()) == 0 and float(xo[:, :6].max()) == 1
    # Row 10: stiff root is the last level -> 1.0; crisp sound -> 1.0.
    assert datasets.watermelon3_table()[9]["root"] == "stiff" and float(xo[9, 1]) == 1.0
    xa, ya = datasets.watermelon3_alpha()
    np.testing.assert_array_equal(np.asarray(xa), np.asarray(x[:, 17:]))
    assert datasets.watermelon3(continuous=False).x.shape == (17, 17)


def test_linearly_separable_has_the_margin():
    key = jax.random.key(3)
    x, y = datasets.linearly_separable(key, n=300, d=3, margin=0.2, signed=True)
    w = datasets.separating_hyperplane(key, 3)
    dist = np.asarray(y[:, 0] * (x @ w))
    assert dist.min() >= 0.2 - 1e-5
    assert 0 < float((y > 0).mean()) < 1


def test_synthetic_sets_are_reproducible_and_shaped():
    for name, kw, k in [("blobs", {"centers": 3}, 3), ("blobs", {}, 1), ("circles", {}, 1), ("moons", {}, 1),
                        ("spirals", {"classes": 3}, 3), ("regression_1d", {"noise": 0.1}, 1)]:
        a = datasets.load(name, key=5, n=90, **kw)
        c = datasets.load(name, key=6, n=90, **kw)
        assert a.x.shape[0] == 90 and a.y.shape == (90, k), name
        assert not np.array_equal(np.asarray(a.x), np.asarray(c.x)), name
    # An int seed and the key made from it give the same data.
    a, b = datasets.load("moons", key=5, n=30), datasets.load("moons", key=jax.random.key(5), n=30)
    np.testing.assert_array_equal(np.asarray(a.x), np.asarray(b.x))
    x, y = datasets.circles(0, n=200, noise=0.0, factor=0.3)
    r = np.linalg.norm(np.asarray(x), axis=1)
    np.testing.assert_allclose(r[np.asarray(y[:, 0]) == 1], 0.3, rtol=1e-5)
    np.testing.assert_allclose(r[np.asarray(y[:, 0]) == 0], 1.0, rtol=1e-5)
    x, y = datasets.regression_1d(0, n=50, function="cubic", grid=True, x_range=(-1.0, 1.0))
    np.testing.assert_allclose(np.asarray(y), np.asarray(x**3 - x), atol=1e-6)
    x, y = datasets.random_regression(0)
    assert x.shape == (64, 1000) and y.shape == (64, 10)
    assert abs(float(x.std()) - 1) < 0.05


def test_split_partitions_every_example_once():
    x = jnp.arange(20.0)[:, None]
    y = (jnp.arange(20) % 2).astype(jnp.float32)[:, None]
    s = datasets.split((x, y), jax.random.key(0), (0.5, 0.25, 0.25))
    sizes = [p.x.shape[0] for p in s]
    assert sizes == [10, 5, 5]
    seen = np.sort(np.concatenate([np.asarray(p.x[:, 0]) for p in s]))
    np.testing.assert_array_equal(seen, np.arange(20))
    for p in s:  # rows stay paired with their labels
        np.testing.assert_array_equal(np.asarray(p.y[:, 0]), np.asarray(p.x[:, 0]) % 2)
    s2 = datasets.split((x, y), jax.random.key(1), (0.5, 0.25, 0.25))
    assert not np.array_equal(np.asarray(s.train.x), np.asarray(s2.train.x))
    d = s.data()
    assert isinstance(d, Data) and d.x_val.shape == (5, 1)
    assert datasets.split((x, y), 0, (0.8, 0.2)).data().x_val is None
    st = datasets.split(datasets.watermelon3(), 0, (0.5, 0.0, 0.5), stratify=True)
    assert [int(p.y.sum()) for p in st] == [4, 0, 4]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: datasets.load("iris"), "name: unknown data set"),
        (lambda: datasets.logic_gate("nand"), "unknown logic gate"),
        (lambda: datasets.load("moons"), "key: .* needs a key"),
        (lambda: datasets.load("xor", key=0), "takes no key"),
        (lambda: datasets.moons(0, n=0), "n: expected a positive int"),
        (lambda: datasets.blobs(0, n=-3), "n: expected a positive int"),
        (lambda: datasets.random_regression(0, d_in=0), "d_in"),
        (lambda: datasets.watermelon3("binary"), "encoding"),
        (lambda: datasets.split(datasets.load("xor"), 0, (0.5, 0.4, 0.2)), "fractions: must add up to 1"),
        (lambda: datasets.split(datasets.load("xor"), 0, (1.2, -0.2, 0.0)), "fractions"),
        (lambda: datasets.moons("seed", n=5), "key: expected a jax.random key"),
        (lambda: datasets.regression_1d(0, function="tan"), "function"),
        (lambda: datasets.linearly_separable(0, margin=-1.0), "margin"),
    ],
)
def test_bad_requests_get_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_one_dataset_container_unpacks_carries_a_validation_part_and_is_a_pytree():
    d = datasets.moons(0, n=10)
    assert isinstance(d, datasets.Dataset) and Data is datasets.Dataset and d.val is None and not d.has_val
    x, y = d
    assert x.shape == (10, 2) and y.shape == (10, 1)
    v = d.with_val(x[:3], y[:3])
    assert v.has_val and v.val.x.shape == (3, 2) and tuple(v) == (v.x, v.y)
    doubled = jax.tree.map(lambda a: 2 * a, v)  # a pytree: the validation part travels along
    np.testing.assert_array_equal(doubled.x_val, 2 * x[:3])
    assert jax.jit(lambda ds: ds.y.sum() + ds.y_val.sum())(v) == y.sum() + y[:3].sum()
    assert v.replace(x_val=None, y_val=None).val is None
