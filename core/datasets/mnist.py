"""MNIST-style image datasets, loaded the way the book's `load_mnist` does.

- "mnist-sample": the real MNIST test set (10,000 digits) shipped with the package, split into
  8,000 train / 2,000 test: 20% of each digit class held out at random with a fixed seed, so
  the split is the same on every machine and every call. Works offline.
- "mnist" and "fashion-mnist": the full 60,000 train / 10,000 test sets, found on disk or
  downloaded (see download.py).
"""

from __future__ import annotations

import functools
import os
from importlib import resources

import numpy as np

from . import download
from .download import ProgressCallback
from .errors import SettingError
from .idx import read_image_label_pair
from .split import Arrays, check_selection, select_train_test, stratified_split

IMAGE_SHAPE = (28, 28)
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IMAGE_DATASETS = ("mnist-sample", "mnist", "fashion-mnist")

TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
#: Seed of the one fixed train/test split of the bundled sample.
SAMPLE_SPLIT_SEED = 20_000
SAMPLE_TEST_FRACTION = 0.2


def _read_only(arrays: Arrays) -> Arrays:
    """Mark cached arrays read-only, so no caller can change what later calls get."""
    for array in arrays:
        array.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=1)
def _bundled_digits() -> Arrays:
    """The 10,000 bundled digits (uint8, (N, 28, 28)) and labels (int64), read once."""
    data = resources.files(__package__).joinpath("data")
    with resources.as_file(data.joinpath(TEST_FILES[0])) as images_path, \
            resources.as_file(data.joinpath(TEST_FILES[1])) as labels_path:
        return _read_only(read_image_label_pair(images_path, labels_path))


@functools.lru_cache(maxsize=1)
def _sample_split() -> tuple[Arrays, Arrays]:
    """The bundled digits split 80/20 per class with SAMPLE_SPLIT_SEED."""
    images, labels = _bundled_digits()
    rng = np.random.default_rng(SAMPLE_SPLIT_SEED)
    train_idx, test_idx = stratified_split(labels, SAMPLE_TEST_FRACTION, rng)
    return (_read_only((images[train_idx], labels[train_idx])),
            _read_only((images[test_idx], labels[test_idx])))


@functools.lru_cache(maxsize=4)
def _read_full(paths: tuple[str, str, str, str]) -> tuple[Arrays, Arrays]:
    """Train and test arrays from the four IDX files, cached per set of paths."""
    return (_read_only(read_image_label_pair(paths[0], paths[1])),
            _read_only(read_image_label_pair(paths[2], paths[3])))


def load_raw(dataset: str = "mnist-sample", *, data_dir: str | os.PathLike | None = None,
             progress: ProgressCallback | None = None) -> tuple[Arrays, Arrays]:
    """((images, labels), (images, labels)) as uint8 (N, 28, 28) and int64 (N,), shared and
    read-only: callers copy before changing them."""
    if dataset == "mnist-sample":
        return _sample_split()
    if dataset not in download.SOURCES:
        raise SettingError(f"unknown image dataset {dataset!r}: choose one of "
                           f"{', '.join(IMAGE_DATASETS)}")
    paths = download.fetch_files(download.SOURCES[dataset], data_dir=data_dir, progress=progress)
    return _read_full(tuple(str(paths[name]) for name in TRAIN_FILES + TEST_FILES))


def _as_book_arrays(images: np.ndarray, labels: np.ndarray, *, normalize: bool, flatten: bool,
                    one_hot_label: bool, dtype: np.dtype) -> Arrays:
    x = images.astype(dtype) / np.asarray(255, dtype) if normalize else images.copy()
    x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, *images.shape[1:])
    t = np.eye(10, dtype=dtype)[labels] if one_hot_label else labels.copy()
    return x, t


def load_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False, *,
               dataset: str = "mnist-sample", data_dir: str | os.PathLike | None = None,
               subset_per_class: int | None = None, validation: float = 0.0, seed: int = 0,
               dtype: np.dtype | type = np.float32,
               progress: ProgressCallback | None = None) -> tuple[Arrays, Arrays]:
    """((x_train, t_train), (x_test, t_test)), as the book's dataset.mnist.load_mnist.

    normalize: pixels as `dtype` scaled by 1/255 into [0, 1]; otherwise the uint8 values.
    flatten: images as rows of 784 values; otherwise shaped (N, 1, 28, 28).
    one_hot_label: labels as (N, 10) one-hot rows of `dtype`; otherwise int64 class indices.
    dataset: "mnist-sample" (bundled, offline), "mnist" or "fashion-mnist" (may download).
    validation, subset_per_class, seed: see split.select_train_test; seed does not change the fixed
    split of mnist-sample.
    progress: called as progress(bytes_done, total) while a file downloads.
    """
    dtype = np.dtype(dtype)
    if normalize and not np.issubdtype(dtype, np.floating):
        raise SettingError(f"dtype={dtype} cannot hold normalized pixels: use a float dtype")
    check_selection(subset_per_class=subset_per_class, validation=validation, seed=seed)
    train, test = load_raw(dataset, data_dir=data_dir, progress=progress)
    train, test = select_train_test(train, test, subset_per_class=subset_per_class,
                                    validation=validation, seed=seed)
    options = dict(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label,
                   dtype=dtype)
    return _as_book_arrays(*train, **options), _as_book_arrays(*test, **options)
