"""core.checks: the checks every setting goes through, the field each error names, and the form
finding that field by the error's `field` attribute."""

import math

import numpy as np
import pytest

from core.checks import ConfigError, choice, in_interval, number, whole
from core.config import ConfigError as ConfigErrorOfConfig
from core.config import TrainConfig
from core.datasets import DatasetError, SettingError, load_dataset
from core.network import MLP
from core.optimizers import make_optimizer
from tui.components.config_form import error_field


def test_config_error_is_the_one_core_config_exports_and_a_value_error():
    assert ConfigErrorOfConfig is ConfigError and issubclass(ConfigError, ValueError)
    assert ConfigError("no field in particular").field is None


@pytest.mark.parametrize("value, low, high, expected", [
    (5, 1, None, 5), (np.int64(3), 0, 9, 3), (2**63 - 1, 0, 2**63 - 1, 2**63 - 1),
])
def test_whole_gives_an_int(value, low, high, expected):
    result = whole("seed", value, low, high)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value, low, high, allowed", [
    (0, 1, None, "a whole number >= 1"),
    (2.0, 1, None, "a whole number >= 1"),
    (True, 0, None, "a whole number >= 0"),
    (2**63, 0, 2**63 - 1, f"a whole number from 0 to {2**63 - 1}"),
    ("3", None, None, "a whole number"),
])
def test_whole_refuses_naming_field_value_and_range(value, low, high, allowed):
    with pytest.raises(ConfigError) as info:
        whole("seed", value, low, high)
    assert str(info.value) == f"invalid seed={value!r}: expected {allowed}"
    assert info.value.field == "seed"


@pytest.mark.parametrize("ends, allowed, inside, outside", [
    (dict(low=0, low_open=True), "a number > 0", [1e-300, 5], [0, -1]),
    (dict(low=0), "a number >= 0", [0, 3.5], [-1e-300]),
    (dict(low=0, high=0.5), "a number from 0 to 0.5", [0, 0.5], [0.51, -0.1]),
    (dict(low=0, high=1, low_open=True, high_open=True), "a number strictly between 0 and 1", [0.5], [0, 1]),
    (dict(low=0, high=1, high_open=True), "a number from 0 up to (not including) 1", [0, 0.99], [1]),
    (dict(low=0, high=1, low_open=True), "a number above 0 up to 1", [1], [0]),
    (dict(high=1), "a number <= 1", [-5, 1], [2]),
    (dict(), "a number", [-1e300, 0], []),
])
def test_number_checks_each_kind_of_interval(ends, allowed, inside, outside):
    for value in inside:
        assert number("x", value, **ends) == value
    for value in [*outside, math.nan, math.inf, -math.inf, 10**400, "1", True, None]:
        with pytest.raises(ConfigError) as info:
            number("x", value, **ends)
        assert str(info.value) == f"invalid x={value!r}: expected {allowed}" and info.value.field == "x"


def test_number_may_say_what_is_allowed_in_its_own_words():
    with pytest.raises(ConfigError, match=r"^invalid weight_init=-1: expected he or a deviation$"):
        number("weight_init", -1, 0, low_open=True, allowed="he or a deviation")


def test_in_interval_compares_whole_numbers_exactly():
    assert in_interval(2**63 - 1, 0, 2**63 - 1)  # its float, 2.0**63, would be above the limit
    assert not in_interval(2**63, 0, 2**63 - 1)


def test_choice_lists_the_names():
    assert choice("dtype", "float64", ("float32", "float64")) == "float64"
    for value in ("float16", 32, None):
        with pytest.raises(ConfigError) as info:
            choice("dtype", value, ("float32", "float64"))
        assert str(info.value) == f"invalid dtype={value!r}: expected one of float32, float64"
        assert info.value.field == "dtype"


# ------------------------------------------------------------------ the field at fault, everywhere


def test_config_errors_carry_their_field():
    for changes, field in [(dict(lr=0), "lr"), (dict(hidden=[8, 0]), "hidden"), (dict(output="identity"), "output"),
                           (dict(optimizer="adam", optimizer_params={"beta1": "high"}), "optimizer_params.beta1"),
                           (dict(optimizer="momentum", optimizer_params={"momentum": 1.5}), "optimizer_params")]:
        with pytest.raises(ConfigError) as info:
            TrainConfig(**changes)
        assert info.value.field == field


def test_a_config_files_error_keeps_its_field(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("batch_size = 0\n")
    with pytest.raises(ConfigError, match=f"config file {path}: invalid batch_size=0") as info:
        TrainConfig.from_toml(path)
    assert info.value.field == "batch_size"


def test_an_error_about_no_field_has_none():
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({"learning_rate": 0.1})
    assert info.value.field is None


@pytest.mark.parametrize("name, hyper, field", [
    ("sgd", dict(lr=0.0), "lr"), ("adam", dict(beta1=1.0), "beta1"), ("adamw", {}, "optimizer"),
    ("adam", dict(momentum=0.9), "optimizer_params"),
])
def test_make_optimizer_raises_config_errors_with_the_field(name, hyper, field):
    with pytest.raises(ConfigError) as info:
        make_optimizer(name, **hyper)
    assert info.value.field == field


@pytest.mark.parametrize("kwargs, field", [
    (dict(sizes=[4, 0, 2]), "sizes"), (dict(sizes=[4, 2], activation="swish"), "activation"),
    (dict(sizes=[4, 2], weight_init="glorot"), "weight_init"), (dict(sizes=[4, 2], weight_init=-1.0), "weight_init"),
    (dict(sizes=[4, 2], weight_decay=math.inf), "weight_decay"), (dict(sizes=[4, 2], dtype="float16"), "dtype"),
])
def test_the_network_refuses_settings_with_config_errors_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        MLP(**kwargs)
    assert info.value.field == field and f"invalid {field}=" in str(info.value)


def test_a_dataset_knob_is_a_setting_error_with_its_field():
    with pytest.raises(SettingError) as info:
        load_dataset("circle", noise=0.6)
    assert isinstance(info.value, DatasetError) and isinstance(info.value, ConfigError)
    assert info.value.field == "noise" and "noise=0.6 is out of range: allowed [0.0, 0.5]" in str(info.value)


def test_a_dataset_takes_the_largest_seed_a_config_does():
    assert load_dataset("circle", n_samples=20, seed=2**63 - 1).n_train > 0


# ------------------------------------------------------------------ the form reads the field


KNOWN = {"lr", "hidden", "optimizer", "momentum", "beta1", "optimizer_params"}


def test_the_form_takes_the_errors_field_not_its_words():
    assert error_field(ConfigError("the rate is too small", field="lr"), KNOWN) == "lr"
    assert error_field(ConfigError("invalid hidden=[0]: but it is lr's fault", field="lr"), KNOWN) == "lr"


def test_the_form_maps_a_hyperparameter_to_its_row_or_the_optimizers():
    assert error_field(ConfigError("...", field="optimizer_params.beta1"), KNOWN) == "beta1"
    assert error_field(ConfigError("...", field="optimizer_params.eps"), KNOWN) == "optimizer"
    assert error_field(ConfigError("...", field="optimizer_params"), KNOWN) == "optimizer"


def test_the_form_knows_no_field_the_error_does_not_name():
    assert error_field(ConfigError("config file x: unknown key 'y'"), KNOWN) is None
    assert error_field(ConfigError("...", field="sizes"), KNOWN) is None
    assert error_field(RuntimeError("boom"), KNOWN) is None


def test_a_refused_change_on_resume_names_its_field():
    from core.config import TrainConfig
    from core.training import check_resumable

    with pytest.raises(ConfigError) as info:
        check_resumable(TrainConfig(hidden=(4,)), TrainConfig(hidden=(8,)))
    assert info.value.field == "hidden" and error_field(info.value, KNOWN) == "hidden"
