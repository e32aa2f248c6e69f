"""Usage errors found after parsing are usage errors (exit 2) naming the field, and every setting the
config accepts gives a checkpoint that loads."""

import math
import warnings

import numpy as np
import pytest

from core.checkpoint import load_checkpoint
from core.config import ConfigError, TrainConfig
from core.datasets import DatasetError, load_dataset
from core.training import TrainingSession
from tui.cli import main

CIRCLE = ["--dataset", "circle", "--n-samples", "200", "--hidden", "8", "--batch-size", "10", "--steps", "2"]


@pytest.mark.parametrize("flags, message", [
    (["--test-ratio", "0.001"], "test_ratio=0.001 of n_samples=200 leaves an empty test set"),
    (["--test-ratio", "0.999"], "test_ratio=0.999 of n_samples=200 leaves an empty training set"),
    (["--validation", "0.001"], "validation=0.001 leaves an empty validation set"),
    (["--subset-per-class", "1000"], "subset_per_class=1000 is more than the"),
    (["--data-dir", "~no-such-user-here/data"],
     "invalid data_dir='~no-such-user-here/data': expected a directory path; ~no-such-user-here is not"),
    (["--init", "1e30", "--dtype", "float32"], "invalid weight_init=1e+30: expected one of"),
    (["--init", "1e160", "--dtype", "float64"], "at most 1.34e+154 in float64"),
    (["--weight-decay", "1e20", "--dtype", "float32"], "invalid weight_decay=1e+20: expected a number >= 0 and at most"),
])
def test_a_usage_error_found_after_parsing_exits_2_naming_the_field(capsys, tmp_path, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *CIRCLE, *flags, "--save", "run.npz"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run.npz").exists()


def test_a_subset_larger_than_a_class_of_digits_exits_2(capsys):
    assert main(["train", "--dataset", "mnist-sample", "--subset-per-class", "10000", "--steps", "1"]) == 2
    assert "subset_per_class=10000 is more than the" in capsys.readouterr().err


def test_a_dataset_setting_that_cannot_work_is_a_config_error_and_still_a_dataset_error():
    with pytest.raises(ConfigError) as info:
        load_dataset("circle", n_samples=200, validation=0.999)
    assert isinstance(info.value, DatasetError) and "validation=0.999 leaves an empty training set" in str(info.value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_largest_scales_the_config_accepts_give_a_checkpoint_that_loads(tmp_path, dtype):
    limit = math.sqrt(float(np.finfo(dtype).max))
    config = TrainConfig(dataset="circle", n_samples=200, hidden=(8,), batch_size=10, steps=2, dtype=dtype,
                         weight_init=limit, weight_decay=limit)
    session = TrainingSession(config, load_dataset("circle", n_samples=200))
    session.start()
    session.run()  # it diverges at once: the weights are kept at their initial values
    session.save_checkpoint(tmp_path / "run.npz")
    weights = load_checkpoint(tmp_path / "run.npz").weights
    assert all(np.isfinite(w).all() for w in weights.values())
    with pytest.raises(ConfigError, match="weight_init"):
        config.replace(weight_init=limit * 1.01)


def test_a_checkpoint_written_at_the_largest_init_is_one_evaluate_can_load(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["train", *CIRCLE, "--init", "1.8e19", "--dtype", "float32", "--save", "run.npz"])
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would reach the user's terminal
        assert main(["evaluate", "run.npz"]) == 0
