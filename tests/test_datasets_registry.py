"""The registry: names, the Dataset record, load_dataset, dataset_status."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from core.datasets import DATASETS, Dataset, DatasetError, dataset_status, load_dataset
from core.datasets import download


def test_registered_names_and_kinds():
    assert list(DATASETS) == ["mnist-sample", "mnist", "fashion-mnist",
                              "circle", "xor", "gauss", "spiral", "moons"]
    assert {n for n, i in DATASETS.items() if i.kind == "image"} == {"mnist-sample", "mnist", "fashion-mnist"}
    assert {n for n, i in DATASETS.items() if i.needs_download} == {"mnist", "fashion-mnist"}
    assert all(info.name == name and info.description for name, info in DATASETS.items())


def test_class_names_and_credits():
    assert DATASETS["mnist"].class_names == tuple("0123456789")
    assert DATASETS["fashion-mnist"].class_names[0] == "T-shirt/top"
    assert DATASETS["fashion-mnist"].class_names[9] == "Ankle boot"
    assert DATASETS["circle"].class_names == ("negative", "positive")
    for name in ("mnist-sample", "mnist"):
        credit = DATASETS[name].provenance
        assert all(word in credit for word in ("LeCun", "Cortes", "Burges", "CC BY-SA 3.0"))
    assert "Zalando Research" in DATASETS["fashion-mnist"].provenance
    assert "MIT" in DATASETS["fashion-mnist"].provenance


def test_mnist_sample_dataset():
    data = load_dataset("mnist-sample")
    assert isinstance(data, Dataset)
    assert (data.n_train, data.n_test, data.n_features, data.n_classes) == (8000, 2000, 784, 10)
    assert data.image_shape == (28, 28)
    assert data.x_train.dtype == np.float32 and data.t_train.dtype == np.int64
    assert data.t_test.ndim == 1
    assert data.provenance == DATASETS["mnist-sample"].provenance


def test_toy_dataset():
    data = load_dataset("moons", seed=2, noise=0.1, n_samples=300, test_ratio=0.3)
    assert (data.n_train, data.n_test, data.n_features, data.n_classes) == (210, 90, 2, 2)
    assert data.image_shape is None and data.name == "moons"
    again = load_dataset("moons", seed=2, noise=0.1, n_samples=300, test_ratio=0.3)
    np.testing.assert_array_equal(data.x_test, again.x_test)


def test_knobs_that_act_on_train_apply_to_toys_too():
    data = load_dataset("gauss", n_samples=1000, subset_per_class=40, validation=0.5)
    assert np.bincount(data.t_train).tolist() == [40, 40]
    assert data.n_test == 250


def test_dataset_is_frozen():
    data = load_dataset("xor")
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.name = "other"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(DatasetError) as info:
        load_dataset("cifar10")
    assert "cifar10" in str(info.value)
    assert all(name in str(info.value) for name in DATASETS)


def test_status(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "user_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.delenv(download.ENV_VAR, raising=False)
    status = {s.name: s for s in dataset_status(data_dir=tmp_path / "mine")}
    assert list(status) == list(DATASETS)
    assert status["mnist-sample"].available and status["mnist-sample"].location.endswith("data")
    assert status["spiral"].available
    assert not status["mnist"].available
    assert status["mnist"].location == str(tmp_path / "mine" / "mnist")
    assert status["fashion-mnist"].location == str(tmp_path / "mine" / "fashion-mnist")
    assert "4 of 4 files missing" in status["fashion-mnist"].note


def test_core_datasets_imports_no_ui_or_network_library():
    code = ("import sys, core.datasets; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich', 'pooch', 'requests'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
