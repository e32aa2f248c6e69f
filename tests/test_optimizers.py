"""Tests of core/optimizers.py: hand-computed updates, convergence, state, validation, allocations."""

from __future__ import annotations

import inspect
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.optimizers import (
    DEFAULTS,
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Optimizer,
    RMSprop,
    make_optimizer,
)

NAMES = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
EPS = 1e-7

# One parameter, two gradients; every hand computation below starts from these.
P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.5, -1.0, 2.0])
G2 = np.array([1.0, 0.25, -0.5])


def _tolerances(dtype):
    return {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-6, "atol": 2e-6}


def _two_updates(opt: Optimizer, dtype):
    """Apply G1 then G2 to a copy of P0 in `dtype`; return (p after 1, p after 2, state after 2)."""
    params = {"w": P0.astype(dtype)}
    opt.update(params, {"w": G1.astype(dtype)})
    p1 = params["w"].copy()
    opt.update(params, {"w": G2.astype(dtype)})
    assert params["w"].dtype == dtype
    state = opt.state_dict()
    for key, value in state.items():
        if key != "t":
            assert value.dtype == dtype, key
    return p1, params["w"], state


# --------------------------------------------------------------------- first two updates, by hand


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_by_hand(dtype):
    p1, p2, state = _two_updates(SGD(lr=0.1), dtype)
    # p1 = p0 - 0.1 * g1 = [1 - 0.05, -2 + 0.1, 0.5 - 0.2]
    np.testing.assert_allclose(p1, [0.95, -1.9, 0.3], **_tolerances(dtype))
    # p2 = p1 - 0.1 * g2 = [0.95 - 0.1, -1.9 - 0.025, 0.3 + 0.05]
    np.testing.assert_allclose(p2, [0.85, -1.925, 0.35], **_tolerances(dtype))
    assert state == {}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_momentum_by_hand(dtype):
    p1, p2, state = _two_updates(Momentum(lr=0.1, momentum=0.9), dtype)
    # v1 = 0.9 * 0 - 0.1 * g1 = [-0.05, 0.1, -0.2];  p1 = p0 + v1
    np.testing.assert_allclose(p1, [0.95, -1.9, 0.3], **_tolerances(dtype))
    # v2 = 0.9 * v1 - 0.1 * g2 = [-0.045 - 0.1, 0.09 - 0.025, -0.18 + 0.05] = [-0.145, 0.065, -0.13]
    np.testing.assert_allclose(state["v/w"], [-0.145, 0.065, -0.13], **_tolerances(dtype))
    # p2 = p1 + v2 = [0.95 - 0.145, -1.9 + 0.065, 0.3 - 0.13]
    np.testing.assert_allclose(p2, [0.805, -1.835, 0.17], **_tolerances(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adagrad_by_hand(dtype):
    p1, p2, state = _two_updates(AdaGrad(lr=0.1), dtype)
    # h1 = g1 * g1 = [0.25, 1, 4], sqrt(h1) = [0.5, 1, 2];  p1 = p0 - 0.1 * g1 / (sqrt(h1) + eps)
    expected_p1 = [
        1.0 - 0.1 * 0.5 / (0.5 + EPS),
        -2.0 - 0.1 * -1.0 / (1.0 + EPS),
        0.5 - 0.1 * 2.0 / (2.0 + EPS),
    ]
    np.testing.assert_allclose(p1, expected_p1, **_tolerances(dtype))
    # h2 = h1 + g2 * g2 = [0.25 + 1, 1 + 0.0625, 4 + 0.25]
    np.testing.assert_allclose(state["h/w"], [1.25, 1.0625, 4.25], **_tolerances(dtype))
    expected_p2 = [
        expected_p1[0] - 0.1 * 1.0 / (math.sqrt(1.25) + EPS),
        expected_p1[1] - 0.1 * 0.25 / (math.sqrt(1.0625) + EPS),
        expected_p1[2] - 0.1 * -0.5 / (math.sqrt(4.25) + EPS),
    ]
    np.testing.assert_allclose(p2, expected_p2, **_tolerances(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rmsprop_by_hand(dtype):
    p1, p2, state = _two_updates(RMSprop(lr=0.1, decay_rate=0.9), dtype)
    # h1 = 0.9 * 0 + 0.1 * g1 * g1 = [0.025, 0.1, 0.4];  p1 = p0 - 0.1 * g1 / (sqrt(h1) + eps)
    expected_p1 = [
        1.0 - 0.1 * 0.5 / (math.sqrt(0.025) + EPS),
        -2.0 - 0.1 * -1.0 / (math.sqrt(0.1) + EPS),
        0.5 - 0.1 * 2.0 / (math.sqrt(0.4) + EPS),
    ]
    np.testing.assert_allclose(p1, expected_p1, **_tolerances(dtype))
    # h2 = 0.9 * h1 + 0.1 * g2 * g2 = [0.0225 + 0.1, 0.09 + 0.00625, 0.36 + 0.025]
    np.testing.assert_allclose(state["h/w"], [0.1225, 0.09625, 0.385], **_tolerances(dtype))
    expected_p2 = [
        expected_p1[0] - 0.1 * 1.0 / (0.35 + EPS),  # sqrt(0.1225) = 0.35
        expected_p1[1] - 0.1 * 0.25 / (math.sqrt(0.09625) + EPS),
        expected_p1[2] - 0.1 * -0.5 / (math.sqrt(0.385) + EPS),
    ]
    np.testing.assert_allclose(p2, expected_p2, **_tolerances(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_by_hand(dtype):
    p1, p2, state = _two_updates(Adam(lr=0.1, beta1=0.9, beta2=0.999), dtype)
    # t = 1: lr_t = 0.1 * sqrt(1 - 0.999) / (1 - 0.9)
    #        m1 = 0 + 0.1 * (g1 - 0) = [0.05, -0.1, 0.2]
    #        v1 = 0 + 0.001 * (g1 * g1 - 0) = [0.00025, 0.001, 0.004]
    lr_t1 = 0.1 * math.sqrt(0.001) / 0.1
    m1 = np.array([0.05, -0.1, 0.2])
    v1 = np.array([0.00025, 0.001, 0.004])
    expected_p1 = P0 - lr_t1 * m1 / (np.sqrt(v1) + EPS)
    np.testing.assert_allclose(p1, expected_p1, **_tolerances(dtype))
    # t = 2: lr_t = 0.1 * sqrt(1 - 0.999**2) / (1 - 0.9**2) = 0.1 * sqrt(0.001999) / 0.19
    #        m2 = m1 + 0.1 * (g2 - m1) = [0.045 + 0.1, -0.09 + 0.025, 0.18 - 0.05]
    #        v2 = v1 + 0.001 * (g2 * g2 - v1) = [0.00024975 + 0.001, 0.000999 + 0.0000625, 0.003996 + 0.00025]
    lr_t2 = 0.1 * math.sqrt(0.001999) / 0.19
    m2 = np.array([0.145, -0.065, 0.13])
    v2 = np.array([0.00124975, 0.0010615, 0.004246])
    np.testing.assert_allclose(state["m/w"], m2, **_tolerances(dtype))
    np.testing.assert_allclose(state["v/w"], v2, **_tolerances(dtype))
    assert state["t"].shape == () and int(state["t"]) == 2
    expected_p2 = expected_p1 - lr_t2 * m2 / (np.sqrt(v2) + EPS)
    np.testing.assert_allclose(p2, expected_p2, **_tolerances(dtype))


# ------------------------------------------------------------------------------------ convergence

# lr per optimizer for the quadratic below, whose curvatures a lie in [0.5, 4].
CONVERGENCE_LR = {"sgd": 0.2, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.05}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_converges_on_a_quadratic(name, dtype):
    """f(p) = 0.5 * sum(a * (p - c)^2), gradient a * (p - c): every optimizer reaches c."""
    rng = np.random.default_rng(1)
    a = {"W": rng.uniform(0.5, 4.0, (2, 3)).astype(dtype), "b": rng.uniform(0.5, 4.0, 3).astype(dtype)}
    c = {"W": rng.uniform(-2.0, 2.0, (2, 3)).astype(dtype), "b": rng.uniform(-2.0, 2.0, 3).astype(dtype)}
    params = {k: np.zeros_like(v) for k, v in c.items()}
    grads = {k: np.empty_like(v) for k, v in c.items()}
    opt = make_optimizer(name, lr=CONVERGENCE_LR[name])

    def loss():
        return sum(float(0.5 * np.sum(a[k] * (params[k] - c[k]) ** 2)) for k in params)

    start = loss()
    for _ in range(500):
        for k in params:
            np.multiply(a[k], params[k] - c[k], out=grads[k])
        opt.update(params, grads)
    for k in params:
        assert params[k].dtype == dtype
        np.testing.assert_allclose(params[k], c[k], atol=1e-4, rtol=0)
    assert loss() < 1e-6 * start


# ------------------------------------------------------------------------------- grads, dtype, misc


def _problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(3), "W2": rng.standard_normal((3, 2))}
    return {k: v.astype(dtype) for k, v in params.items()}


def _grads(params, rng):
    return {k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in params.items()}


@pytest.mark.parametrize("name", NAMES)
def test_grads_are_not_modified(name):
    rng = np.random.default_rng(2)
    params = _problem()
    opt = make_optimizer(name)
    for _ in range(3):
        grads = _grads(params, rng)
        saved = {k: v.copy() for k, v in grads.items()}
        for g in grads.values():
            g.flags.writeable = False  # any write into a grad would raise
        opt.update(params, grads)
        for k in grads:
            np.testing.assert_array_equal(grads[k], saved[k])


@pytest.mark.parametrize("name", NAMES)
def test_params_are_updated_in_place(name):
    params = _problem()
    ids = {k: id(v) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    make_optimizer(name).update(params, _grads(params, np.random.default_rng(3)))
    assert {k: id(v) for k, v in params.items()} == ids
    assert all(not np.array_equal(params[k], before[k]) for k in params)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32_with_float64_grads(name):
    params = _problem(np.float32)
    grads = {k: v.astype(np.float64) for k, v in _grads(params, np.random.default_rng(4)).items()}
    opt = make_optimizer(name)
    opt.update(params, grads)
    opt.update(params, grads)
    assert all(v.dtype == np.float32 for v in params.values())
    assert all(v.dtype == np.float32 for k, v in opt.state_dict().items() if k != "t")


def test_float32_arithmetic_is_done_in_float32():
    """Hyperparameters are cast to float32, not applied as float64 and rounded afterwards."""
    rng = np.random.default_rng(17)
    p0 = rng.standard_normal(1000).astype(np.float32)
    g = rng.standard_normal(1000).astype(np.float32)
    lr, mom = np.float32(0.1), np.float32(0.9)

    params = {"w": p0.copy()}
    SGD(lr=0.1).update(params, {"w": g})
    np.testing.assert_array_equal(params["w"], p0 - lr * g)  # all-float32 arithmetic

    params = {"w": p0.copy()}
    opt = Momentum(lr=0.1, momentum=0.9)
    opt.update(params, {"w": g})
    opt.update(params, {"w": g})
    v1 = mom * np.zeros_like(p0) - lr * g
    v2 = mom * v1 - lr * g
    np.testing.assert_array_equal(params["w"], (p0 + v1) + v2)


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_params(name):
    """A transposed (Fortran-ordered) parameter is updated exactly like its contiguous copy."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal((3, 4))
    p_view = {"W": base.T}  # non-C-contiguous
    p_copy = {"W": np.ascontiguousarray(base.T)}
    a, b = make_optimizer(name), make_optimizer(name)
    for _ in range(3):
        g = rng.standard_normal((4, 3))
        a.update(p_view, {"W": g})
        b.update(p_copy, {"W": g})
    np.testing.assert_array_equal(p_view["W"], p_copy["W"])


# ------------------------------------------------------------------------------------ checkpoints


def _run(opt, params, rng, steps):
    for _ in range(steps):
        opt.update(params, _grads(params, rng))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_is_bit_identical(name, dtype, tmp_path):
    params = _problem(dtype)
    original = make_optimizer(name, lr=0.05)
    _run(original, params, np.random.default_rng(6), 5)

    # Save to disk and back, as a checkpoint would, and resume in a fresh optimizer.
    np.savez(tmp_path / "opt.npz", **original.state_dict())
    with np.load(tmp_path / "opt.npz") as f:
        loaded_state = {k: f[k] for k in f.files}
    resumed = make_optimizer(name, lr=0.05)
    resumed.load_state_dict(loaded_state)
    resumed_params = {k: v.copy() for k, v in params.items()}

    _run(original, params, np.random.default_rng(7), 5)
    _run(resumed, resumed_params, np.random.default_rng(7), 5)
    for k in params:
        np.testing.assert_array_equal(resumed_params[k], params[k])
        assert resumed_params[k].dtype == dtype
    a, b = original.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert a[k].dtype == b[k].dtype


def test_state_dict_keys_and_types():
    params = _problem()
    grads = _grads(params, np.random.default_rng(8))
    expected = {
        "sgd": set(),
        "momentum": {"v/W1", "v/b1", "v/W2"},
        "nesterov": {"v/W1", "v/b1", "v/W2"},
        "adagrad": {"h/W1", "h/b1", "h/W2"},
        "rmsprop": {"h/W1", "h/b1", "h/W2"},
        "adam": {"m/W1", "m/b1", "m/W2", "v/W1", "v/b1", "v/W2", "t"},
    }
    for name, keys in expected.items():
        opt = make_optimizer(name)
        opt.update(params, grads)
        state = opt.state_dict()
        assert set(state) == keys, name
        for k, v in state.items():
            assert isinstance(v, np.ndarray)
            if k == "t":
                assert v.shape == () and v.dtype.kind == "i" and int(v) == 1
            else:
                assert v.shape == params[k.split("/", 1)[1]].shape


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_state_dict_is_a_snapshot(name):
    params = _problem()
    opt = make_optimizer(name)
    opt.update(params, _grads(params, np.random.default_rng(9)))
    snapshot = opt.state_dict()
    saved = {k: v.copy() for k, v in snapshot.items()}
    opt.update(params, _grads(params, np.random.default_rng(10)))
    for k in saved:  # later updates do not leak into an earlier snapshot
        np.testing.assert_array_equal(snapshot[k], saved[k])
    snapshot["v/W1"][...] = 123.0  # and writing into the snapshot does not touch the optimizer
    assert not np.any(opt.state_dict()["v/W1"] == 123.0)


def test_load_before_any_update_and_state_dict_of_pending_state():
    state = {"v/w": np.array([1.0, 2.0, 3.0])}
    opt = Momentum(lr=0.1, momentum=0.5)
    opt.load_state_dict(state)
    state["v/w"][0] = 99.0  # the optimizer copied it
    np.testing.assert_array_equal(opt.state_dict()["v/w"], [1.0, 2.0, 3.0])
    params = {"w": np.zeros(3)}
    opt.update(params, {"w": np.array([1.0, 1.0, 1.0])})
    # v = 0.5 * [1, 2, 3] - 0.1 * 1 = [0.4, 0.9, 1.4]; p = 0 + v
    np.testing.assert_allclose(params["w"], [0.4, 0.9, 1.4], rtol=1e-15)


def test_float64_checkpoint_resumes_in_float32():
    opt = Momentum(lr=0.1, momentum=0.5)
    opt.load_state_dict({"v/w": np.array([1.0, 2.0, 3.0])})
    params = {"w": np.zeros(3, np.float32)}
    opt.update(params, {"w": np.ones(3, np.float32)})
    assert params["w"].dtype == np.float32
    assert opt.state_dict()["v/w"].dtype == np.float32
    np.testing.assert_allclose(params["w"], [0.4, 0.9, 1.4], rtol=1e-6)


def test_load_state_dict_rejects_bad_states():
    with pytest.raises(ValueError, match="unexpected key 'x/w'"):
        Momentum().load_state_dict({"x/w": np.zeros(3)})
    with pytest.raises(ValueError, match="unexpected key 'v/w'"):
        SGD().load_state_dict({"v/w": np.zeros(3)})
    with pytest.raises(ValueError, match="v/w"):
        Adam().load_state_dict({"t": np.array(1), "m/w": np.zeros(3)})
    with pytest.raises(ValueError, match="'t'"):
        Adam().load_state_dict({"m/w": np.zeros(3), "v/w": np.zeros(3)})
    with pytest.raises(ValueError, match="'t'"):
        Adam().load_state_dict({"t": np.array(-1)})
    # A failed load leaves the old state in place.
    opt = Momentum()
    opt.load_state_dict({"v/w": np.ones(2)})
    with pytest.raises(ValueError):
        opt.load_state_dict({"v/w": np.ones(2), "bogus": np.ones(2)})
    np.testing.assert_array_equal(opt.state_dict()["v/w"], np.ones(2))
    # A loaded state of the wrong shape is reported, with both shapes, on the next update.
    opt = Momentum()
    opt.load_state_dict({"v/w": np.zeros(2)})
    params = {"w": np.zeros(3)}
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        opt.update(params, {"w": np.ones(3)})
    np.testing.assert_array_equal(params["w"], np.zeros(3))


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    before=st.integers(min_value=0, max_value=6),
    after=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_resume_anywhere_matches_an_uninterrupted_run(name, before, after, seed):
    uninterrupted_params, resumed_params = _problem(seed=seed), _problem(seed=seed)
    uninterrupted = make_optimizer(name)
    _run(uninterrupted, uninterrupted_params, np.random.default_rng(seed), before + after)

    first = make_optimizer(name)
    rng = np.random.default_rng(seed)
    _run(first, resumed_params, rng, before)
    second = make_optimizer(name)
    second.load_state_dict(first.state_dict())
    _run(second, resumed_params, rng, after)
    for k in resumed_params:
        np.testing.assert_array_equal(resumed_params[k], uninterrupted_params[k])


# ------------------------------------------------------------------------- changing hyperparameters


def test_lr_change_takes_effect():
    opt = SGD(lr=0.1)
    params = {"w": np.array([1.0, 2.0])}
    grads = {"w": np.array([1.0, -1.0])}
    opt.update(params, grads)  # [1 - 0.1, 2 + 0.1]
    np.testing.assert_allclose(params["w"], [0.9, 2.1], rtol=1e-15)
    opt.lr = opt.lr / 2
    opt.update(params, grads)  # [0.9 - 0.05, 2.1 + 0.05]
    np.testing.assert_allclose(params["w"], [0.85, 2.15], rtol=1e-15)
    opt.lr *= 4
    opt.update(params, grads)  # [0.85 - 0.2, 2.15 + 0.2]
    np.testing.assert_allclose(params["w"], [0.65, 2.35], rtol=1e-15)
    assert opt.lr == 0.2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,hyper", [(n, h) for n in NAMES for h in DEFAULTS[n]])
def test_changing_any_hyperparameter_mid_run_takes_effect(name, hyper, dtype):
    """Changing a hyperparameter between updates = resuming the state in an optimizer built with it."""
    new_value = DEFAULTS[name][hyper] * 0.5
    params = _problem(dtype)
    changed = make_optimizer(name)
    _run(changed, params, np.random.default_rng(13), 3)
    rebuilt = make_optimizer(name, **{hyper: new_value})
    rebuilt.load_state_dict(changed.state_dict())
    rebuilt_params = {k: v.copy() for k, v in params.items()}

    setattr(changed, hyper, new_value)
    _run(changed, params, np.random.default_rng(14), 2)
    _run(rebuilt, rebuilt_params, np.random.default_rng(14), 2)
    for k in params:
        np.testing.assert_array_equal(params[k], rebuilt_params[k])


# ------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [0, 0.0, -0.01, float("nan"), float("inf"), -float("inf")])
def test_bad_lr_raises(name, bad):
    with pytest.raises(ValueError, match=r"lr.*" + repr(bad).replace("(", r"\(").replace(")", r"\)")):
        make_optimizer(name, lr=bad)


@pytest.mark.parametrize("bad", ["0.1", None, True, [0.1], 1j])
def test_non_number_lr_raises(bad):
    with pytest.raises(ValueError, match="lr"):
        make_optimizer("sgd", lr=bad)


@pytest.mark.parametrize(
    "name,hyper,bad",
    [
        ("momentum", "momentum", 1.0),
        ("momentum", "momentum", -0.1),
        ("nesterov", "momentum", 1.5),
        ("nesterov", "momentum", float("nan")),
        ("rmsprop", "decay_rate", 1.0),
        ("rmsprop", "decay_rate", -1e-9),
        ("adam", "beta1", 1.0),
        ("adam", "beta2", 1.0),
        ("adam", "beta2", -0.5),
        ("adam", "beta1", float("inf")),
    ],
)
def test_bad_hyperparameter_raises(name, hyper, bad):
    with pytest.raises(ValueError, match=rf"{hyper}.*{bad!r}"):
        make_optimizer(name, **{hyper: bad})


@pytest.mark.parametrize("name,hyper", [("momentum", "momentum"), ("rmsprop", "decay_rate"), ("adam", "beta1"), ("adam", "beta2")])
def test_zero_is_a_valid_rate(name, hyper):
    make_optimizer(name, **{hyper: 0.0})


def test_unknown_optimizer_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'") as excinfo:
        make_optimizer("adamw")
    for name in NAMES:
        assert name in str(excinfo.value)


def test_unknown_hyperparameter_names_it_and_the_valid_ones():
    with pytest.raises(ValueError, match="'momentum'") as excinfo:
        make_optimizer("adam", momentum=0.9)
    message = str(excinfo.value)
    assert "adam" in message and "lr" in message and "beta1" in message and "beta2" in message
    with pytest.raises(ValueError, match="'decay'"):
        make_optimizer("rmsprop", decay=0.9)


def test_key_mismatch_names_the_keys():
    params = {"W1": np.zeros(2), "b1": np.zeros(2)}
    with pytest.raises(ValueError, match="b1") as excinfo:
        SGD().update(params, {"W1": np.zeros(2), "W9": np.zeros(2)})
    assert "W9" in str(excinfo.value)
    np.testing.assert_array_equal(params["W1"], np.zeros(2))


@pytest.mark.parametrize("name", NAMES)
def test_shape_mismatch_names_both_shapes_and_changes_nothing(name):
    params = {"a": np.ones(3), "W": np.ones((2, 3))}
    grads = {"a": np.ones(3), "W": np.ones((3, 2))}
    opt = make_optimizer(name)
    with pytest.raises(ValueError, match=r"'W'.*\(3, 2\).*\(2, 3\)"):
        opt.update(params, grads)
    # Validation precedes every write: the good parameter "a" was not updated either.
    np.testing.assert_array_equal(params["a"], np.ones(3))
    assert all(not np.any(v) for k, v in opt.state_dict().items() if k != "t")
    if name == "adam":
        assert opt.t == 0


def test_non_float_or_read_only_params_are_refused():
    with pytest.raises(TypeError, match="float"):
        SGD().update({"w": np.zeros(3, dtype=np.int64)}, {"w": np.ones(3, dtype=np.int64)})
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD().update({"w": frozen}, {"w": np.ones(3)})


# --------------------------------------------------------------------------------- no allocations


@pytest.mark.parametrize("name", NAMES)
def test_no_new_buffers_after_the_first_update(name):
    params = _problem()
    opt = make_optimizer(name)
    rng = np.random.default_rng(15)
    opt.update(params, _grads(params, rng))

    def arrays():
        return {k: (id(opt._scratch[k]), *(id(getattr(opt, s)[k]) for s in opt.state_names)) for k in params}

    before = arrays()
    _run(opt, params, rng, 5)
    opt.lr = opt.lr * 0.5  # a new hyperparameter value changes scalars only, never arrays
    _run(opt, params, rng, 2)
    assert arrays() == before


@pytest.mark.parametrize("name", NAMES)
def test_no_array_sized_allocation_per_update(name):
    """With 1.6 MB parameters, any temporary array would show up in tracemalloc's peak."""
    rng = np.random.default_rng(16)
    params = {"W": rng.standard_normal((400, 500)), "b": rng.standard_normal(500)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    opt = make_optimizer(name)
    opt.update(params, grads)  # allocates the state and scratch buffers
    tracemalloc.start()
    try:
        current, _ = tracemalloc.get_traced_memory()
        for _ in range(5):
            opt.update(params, grads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - current < 64 * 1024


# ------------------------------------------------------------------------------- registry, defaults


def test_registry_and_defaults():
    assert list(OPTIMIZERS) == NAMES
    for name, cls in OPTIMIZERS.items():
        assert cls.name == name and issubclass(cls, Optimizer)
    assert DEFAULTS == {
        "sgd": {"lr": 0.01},
        "momentum": {"lr": 0.01, "momentum": 0.9},
        "nesterov": {"lr": 0.01, "momentum": 0.9},
        "adagrad": {"lr": 0.01},
        "rmsprop": {"lr": 0.01, "decay_rate": 0.99},
        "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999},
    }


@pytest.mark.parametrize("name", NAMES)
def test_make_optimizer_uses_defaults_and_overrides(name):
    opt = make_optimizer(name)
    assert type(opt) is OPTIMIZERS[name]
    assert {k: getattr(opt, k) for k in DEFAULTS[name]} == DEFAULTS[name]
    opt = make_optimizer(name.upper(), lr=0.123)
    assert opt.lr == 0.123 and type(opt) is OPTIMIZERS[name]
    # the table of defaults and the constructors' own defaults agree
    signature = inspect.signature(OPTIMIZERS[name])
    assert {k: p.default for k, p in signature.parameters.items()} == DEFAULTS[name]


@pytest.mark.parametrize("name", NAMES)
def test_docstring_states_the_update_formula(name):
    doc = OPTIMIZERS[name].__doc__
    assert "p = p" in doc and "lr" in doc
