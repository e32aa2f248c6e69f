"""The bundled mnist-sample and the book's load_mnist options."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import core.datasets
from core.datasets import DatasetError, load_mnist, read_image_label_pair

DATA = Path(core.datasets.__file__).parent / "data"


@pytest.fixture(scope="module")
def full():
    """The 10,000 bundled digits, read straight from the files (not through the loader's cache)."""
    return read_image_label_pair(DATA / "t10k-images-idx3-ubyte.gz", DATA / "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def raw():
    return load_mnist(normalize=False)


def row_hashes(images: np.ndarray) -> list[str]:
    return sorted(hashlib.sha1(row.tobytes()).hexdigest() for row in images.reshape(len(images), -1))


def test_bundled_files_are_the_mnist_test_set(full):
    images, labels = full
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_default_shapes_and_values():
    (x_train, t_train), (x_test, t_test) = load_mnist()
    assert x_train.shape == (8000, 784) and x_test.shape == (2000, 784)
    assert x_train.dtype == x_test.dtype == np.float32
    assert t_train.shape == (8000,) and t_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and x_train.max() == 1.0


def test_split_is_80_20_in_every_class(full, raw):
    (_, t_train), (_, t_test) = raw
    per_class = np.bincount(full[1])
    assert len(t_train) == 8000 and len(t_test) == 2000
    assert np.all(np.abs(np.bincount(t_test) - 0.2 * per_class) < 1)
    assert np.all(np.bincount(t_train) + np.bincount(t_test) == per_class)


def test_split_partitions_the_10000_digits(full, raw):
    (x_train, _), (x_test, _) = raw
    assert row_hashes(np.concatenate([x_train, x_test])) == row_hashes(full[0])
    assert not set(row_hashes(x_train)) & set(row_hashes(x_test))


def test_same_split_every_call_and_every_seed(raw):
    (x_train, t_train), (x_test, _) = raw
    (x2, t2), (x3, _) = load_mnist(normalize=False, seed=7)
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(t2, t_train)
    np.testing.assert_array_equal(x3, x_test)


def test_same_split_in_a_fresh_process(raw):
    """The split does not depend on the in-process cache: another interpreter gets it too."""
    code = ("import hashlib; from core.datasets import load_mnist; "
            "print(hashlib.sha1(load_mnist(normalize=False)[1][0].tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == hashlib.sha1(raw[1][0].tobytes()).hexdigest()


def test_normalize_is_division_by_255(raw):
    (x_float, _), _ = load_mnist(normalize=True)
    np.testing.assert_array_equal(x_float, raw[0][0].astype(np.float32) / np.float32(255))
    (x64, _), _ = load_mnist(dtype=np.float64)
    assert x64.dtype == np.float64


def test_book_options(raw):
    (x, t), (x_test, t_test) = load_mnist(normalize=False, flatten=False, one_hot_label=True)
    assert x.shape == (8000, 1, 28, 28) and x.dtype == np.uint8
    assert x_test.shape == (2000, 1, 28, 28)
    assert t.shape == (8000, 10) and t_test.shape == (2000, 10)
    np.testing.assert_array_equal(t.argmax(axis=1), raw[0][1])
    assert np.all(t.sum(axis=1) == 1)
    np.testing.assert_array_equal(x.reshape(8000, 784), raw[0][0])


def test_returned_arrays_are_the_callers_own():
    (x, t), _ = load_mnist(normalize=False)
    x[:] = 0
    t[:] = 0
    (x2, t2), _ = load_mnist(normalize=False)
    assert x2.max() == 255 and t2.max() == 9


def test_the_bundled_files_are_read_once(monkeypatch):
    from core.datasets import mnist

    reads = []

    def counted(*paths):
        reads.append(paths)
        return read_image_label_pair(*paths)

    monkeypatch.setattr(mnist, "read_image_label_pair", counted)
    mnist._bundled_digits.cache_clear()
    mnist._sample_split.cache_clear()
    first = load_mnist(normalize=False)
    second = load_mnist(normalize=False)
    assert len(reads) == 1
    assert np.array_equal(first[0][0], second[0][0]) and np.array_equal(first[1][1], second[1][1])


def test_subset_per_class_is_seeded():
    (x, t), (_, t_test) = load_mnist(subset_per_class=20, seed=1)
    assert np.bincount(t).tolist() == [20] * 10 and len(t_test) == 2000
    (x_same, _), _ = load_mnist(subset_per_class=20, seed=1)
    (x_other, _), _ = load_mnist(subset_per_class=20, seed=2)
    np.testing.assert_array_equal(x, x_same)
    assert not np.array_equal(x, x_other)


def test_validation_is_carved_from_train(raw):
    (x, t), (x_val, t_val) = load_mnist(normalize=False, validation=0.25, seed=3)
    (x_train, t_train), _ = raw
    assert len(x) == 6000 and len(x_val) == 2000
    assert np.all(np.abs(np.bincount(t_val) - 0.25 * np.bincount(t_train)) < 1)
    assert row_hashes(np.concatenate([x, x_val])) == row_hashes(x_train)


def test_validation_then_subset():
    (_, t), (_, t_val) = load_mnist(validation=0.1, subset_per_class=5)
    assert np.bincount(t).tolist() == [5] * 10 and len(t_val) == 800


@pytest.mark.parametrize("knobs, words", [
    (dict(validation=1.0), ["validation=1.0", "[0.0, 1.0)"]),
    (dict(validation=-0.1), ["validation=-0.1"]),
    (dict(validation=1e-6), ["validation", "empty validation set"]),
    (dict(subset_per_class=0), ["subset_per_class=0", "[1, "]),
    (dict(subset_per_class=10_000), ["subset_per_class=10000", "the 714 examples of the smallest class"]),
    (dict(subset_per_class=2.5), ["subset_per_class=2.5", "whole number"]),
    (dict(seed=-1), ["seed=-1"]),
    (dict(dtype=np.int32), ["dtype=int32", "float"]),
    (dict(dataset="cifar"), ["cifar", "mnist-sample"]),
])
def test_bad_knobs_name_the_knob(knobs, words):
    with pytest.raises(DatasetError) as info:
        load_mnist(**knobs)
    for word in words:
        assert word in str(info.value)
