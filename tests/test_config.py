"""TrainConfig: defaults, validation (field, value and what is allowed), TOML, memory refusal."""

import dataclasses
import math

import numpy as np
import pytest

from core import config as config_module
from core import training
from core.config import FIELDS, ConfigError, TrainConfig, check_memory, estimate_memory
from core.datasets import load_dataset


def test_defaults_are_valid_and_what_a_learner_expects():
    config = TrainConfig()
    assert (config.dataset, config.hidden, config.activation, config.optimizer) == ("mnist-sample", (100,), "relu", "sgd")
    assert (config.lr, config.batch_size, config.epochs, config.dtype, config.seed) == (0.1, 100, 10, "float32", 0)
    assert config.steps is None and config.gradient == "backprop" and config.sampling == "epoch"
    assert isinstance(ConfigError("x"), ValueError)


def test_values_are_normalised_and_the_config_is_frozen_and_hashable():
    config = TrainConfig(hidden=[50, 20], lr=1, optimizer="momentum", optimizer_params={"momentum": 0.5})
    assert config.hidden == (50, 20) and isinstance(config.lr, float)
    assert config.optimizer_params == (("momentum", 0.5),)
    assert config.optimizer_kwargs == {"lr": 1.0, "momentum": 0.5}
    assert config == TrainConfig(hidden=(50, 20), lr=1.0, optimizer="momentum", optimizer_params=(("momentum", 0.5),))
    assert hash(config) == hash(config.replace())
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 0.5


def test_no_hidden_layer_is_allowed():
    assert TrainConfig(hidden=()).layer_sizes() == (784, 10)
    assert TrainConfig(dataset="circle", hidden=(8, 4)).layer_sizes() == (2, 8, 4, 2)


INVALID = [
    ("dataset", "imagenet", "mnist-sample"),
    ("data_dir", "", "directory"),
    ("noise", 0.9, "0 to 0.5"),
    ("n_samples", 2, "whole number from 4"),
    ("test_ratio", 1.0, "strictly between 0 and 1"),
    ("subset_per_class", 0, ">= 1"),
    ("validation", -0.1, "up to"),
    ("hidden", (100, 0), "whole numbers >= 1"),
    ("hidden", (100.5,), "whole numbers >= 1"),
    ("hidden", "100", "list of layer sizes"),
    ("activation", "softplus", "relu"),
    ("output", "argmax", "softmax"),
    ("loss", "hinge", "cross_entropy"),
    ("weight_init", "lecun", "he"),
    ("weight_init", -0.01, "positive standard deviation"),
    ("optimizer", "lbfgs", "adam"),
    ("lr", 0, "> 0"),
    ("lr", math.nan, "> 0"),
    ("lr", "fast", "a number"),
    ("lr", True, "a number"),
    ("batch_size", 0, ">= 1"),
    ("batch_size", 2.5, "whole number"),
    ("epochs", -1, ">= 1"),
    ("steps", 0, ">= 1"),
    ("weight_decay", -1e-4, ">= 0"),
    ("gradient", "finite-differences", "backprop"),
    ("sampling", "stratified", "epoch"),
    ("eval_every", -5, ">= 0"),
    ("eval_samples", 0, ">= 1"),
    ("dtype", "float16", "float32"),
    ("seed", -1, "from 0"),
]


@pytest.mark.parametrize("field, value, allowed", INVALID, ids=[f"{f}={v!r}" for f, v, _ in INVALID])
def test_each_invalid_value_is_refused_naming_field_value_and_what_is_allowed(field, value, allowed):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    message = str(info.value)
    assert f"{field}=" in message and repr(value) in message and "expected" in message
    assert allowed in message
    assert info.value.field == field


def test_optimizer_params_are_checked_against_the_optimizer():
    with pytest.raises(ConfigError, match=r"optimizer_params=\{'momentum': 0.9\}.*sgd"):
        TrainConfig(optimizer="sgd", optimizer_params={"momentum": 0.9})
    with pytest.raises(ConfigError, match=r"momentum=1.5: expected a number from 0 up to \(not including\) 1"):
        TrainConfig(optimizer="momentum", optimizer_params={"momentum": 1.5})
    with pytest.raises(ConfigError, match="optimizer_params.beta1='high'"):
        TrainConfig(optimizer="adam", optimizer_params={"beta1": "high"})
    assert TrainConfig(optimizer="adam", optimizer_params={"beta1": 0.8}).optimizer_kwargs["beta1"] == 0.8


def test_an_identity_output_cannot_go_with_cross_entropy():
    with pytest.raises(ConfigError, match="output='identity' with loss='cross_entropy'"):
        TrainConfig(output="identity")
    TrainConfig(output="identity", loss="sum_squared")


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown key 'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ConfigError, match="unknown key 'momentum'"):
        TrainConfig().replace(momentum=0.9)


def test_dict_and_toml_round_trip(tmp_path):
    config = TrainConfig(
        dataset="spiral", data_dir=str(tmp_path), noise=0.2, n_samples=300, hidden=(16, 8), activation="tanh",
        weight_init=0.05, optimizer="adam", optimizer_params={"beta2": 0.99}, lr=0.01, steps=500,
        weight_decay=1e-4, gradient="numerical", sampling="random", eval_every=50, dtype="float64", seed=7,
    )
    assert TrainConfig.from_dict(config.to_dict()) == config
    path = tmp_path / "run.toml"
    config.to_toml(path)
    assert TrainConfig.from_toml(path) == config
    TrainConfig().to_toml(path)  # None fields and an empty optimizer_params are left out
    assert TrainConfig.from_toml(path) == TrainConfig()
    assert set(config.to_dict()) == set(FIELDS)


@pytest.mark.parametrize("text, fragment", [
    ('lr = "fast"\n', "lr='fast'"),
    ("hidden = 100\n", "hidden=100"),
    ("hidden = [100, -3]\n", "hidden=[100, -3]"),
    ("epochs = 2.5\n", "epochs=2.5"),
    ("learning_rate = 0.1\n", "unknown key 'learning_rate'"),
    ("[optimizer_params]\nmomentum = 0.9\n", "optimizer_params"),
    ("lr = \n", "not valid TOML"),
])
def test_bad_toml_files_are_refused_naming_the_file_and_the_key(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_toml(path)
    assert fragment in str(info.value) and str(info.value).count(str(path)) == 1


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no config file at .*nope.toml"):
        TrainConfig.from_toml(tmp_path / "nope.toml")


def test_a_network_too_big_for_memory_is_refused_before_anything_is_allocated(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the network was allocated")

    monkeypatch.setattr(training, "MLP", no_network)
    config = TrainConfig(dataset="circle", n_samples=100, hidden=(10**6, 10**6), batch_size=10)
    with pytest.raises(ConfigError) as info:
        training.TrainingSession(config, load_dataset("circle", n_samples=100))
    message = str(info.value)
    assert "invalid hidden=[1000000, 1000000]" in message and "2-1000000-1000000-2 would need" in message
    assert "TiB" in message and "available" in message
    with pytest.raises(ConfigError, match="784-1000000-1000000-10 would need"):
        check_memory(TrainConfig(hidden=(10**6, 10**6)))  # the registered dataset's shape by default


def test_making_a_config_does_not_read_the_free_memory(monkeypatch):
    def no_reading():
        raise AssertionError("/proc/meminfo was read")

    monkeypatch.setattr(config_module, "memory_limit", no_reading)
    config = TrainConfig(hidden=(10**6, 10**6), optimizer="adam")  # each keystroke in the form makes one
    config.replace(lr=0.5, batch_size=7)
    TrainConfig.from_dict(config.to_dict())
    with pytest.raises(AssertionError, match="meminfo"):
        check_memory(config)  # the check reads it: when a network is built


def test_the_memory_limit_counts_optimizer_state_and_batch(monkeypatch):
    small = estimate_memory(TrainConfig(hidden=(1000,)))
    adam = estimate_memory(TrainConfig(hidden=(1000,), optimizer="adam"))
    big_batch = estimate_memory(TrainConfig(hidden=(1000,), batch_size=100_000))
    assert adam.optimizer == 3 * small.optimizer and adam.parameters == small.parameters
    assert big_batch.activations > small.activations
    monkeypatch.setattr(config_module, "memory_limit", lambda: small.total + 1)
    check_memory(TrainConfig(hidden=(1000,)))
    with pytest.raises(ConfigError, match="optimizer state"):
        check_memory(TrainConfig(hidden=(1000,), optimizer="adam"))


def test_validate_against_refuses_a_batch_larger_than_the_training_set():
    data = load_dataset("circle", n_samples=100)
    config = TrainConfig(dataset="circle", n_samples=100, batch_size=51)
    with pytest.raises(ConfigError, match=r"batch_size=51: expected at most the 50 training rows"):
        config.validate_against(data)
    config.replace(batch_size=50).validate_against(data)


def test_steps_override_epochs():
    config = TrainConfig(batch_size=30, epochs=3)
    assert config.steps_per_epoch(100) == 3 and config.total_steps(100) == 9
    assert config.replace(steps=5).total_steps(100) == 5
    assert TrainConfig(batch_size=7).steps_per_epoch(7) == 1


def test_a_float32_run_is_estimated_at_half_the_bytes_of_float64():
    f32 = estimate_memory(TrainConfig(dtype="float32"))
    f64 = estimate_memory(TrainConfig(dtype="float64"))
    assert f64.total == 2 * f32.total
    assert f32.parameters == 3 * np.dtype("float32").itemsize * (785 * 100 + 101 * 10)


async def test_the_app_reads_the_free_memory_when_it_builds_a_session_not_at_each_keystroke(monkeypatch):
    from textual.widgets import Input

    from tests.app_driving import ready, wait_for
    from tui.app import ScratchNetApp
    from tui.components.config_form import FieldRow

    reads, real_limit = [], config_module.memory_limit
    monkeypatch.setattr(config_module, "memory_limit", lambda: reads.append(1) or real_limit())
    app = ScratchNetApp(TrainConfig(dataset="circle", hidden=(8,), batch_size=10, epochs=100_000, lr=0.1))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        built = len(reads)
        box = app.query_one("#f-hidden", Input)
        box.focus()
        box.value = ""
        await pilot.press(*"1000000,1000000")  # typed as a user types it
        await pilot.pause()
        assert len(reads) == built
        await pilot.press("escape", "space")  # ready + a changed form: a new session from the form
        row = app.query_one("#row-hidden", FieldRow)
        await wait_for(pilot, lambda: row.has_class("-invalid"), what="the refusal")
        assert "2-1000000-1000000-2 would need" in row.note and len(reads) == built + 1
        assert app.session.network.sizes == (2, 8, 2) and app.session.snapshot().step == 0
