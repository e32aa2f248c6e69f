"""Datasets for ScratchNet: bundled MNIST digits, full MNIST / Fashion-MNIST, and 2-D toy problems.

    from core.datasets import load_dataset, load_mnist
    data = load_dataset("mnist-sample")           # Dataset: float32 rows, int64 labels
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

Every failure (bad file, no network, bad knob) is a DatasetError with a readable message; a bad
knob is a SettingError, which is a ConfigError too.
"""

from .base import Dataset
from .download import SOURCES, RemoteSource, fetch_files, search_dirs
from .errors import DatasetError, SettingError
from .idx import read_image_label_pair, read_images, read_labels, write_idx
from .mnist import load_mnist
from .registry import DATASETS, DatasetInfo, DatasetStatus, dataset_status, load_dataset
from .toy2d import make_toy2d

__all__ = [
    "DATASETS", "Dataset", "DatasetError", "DatasetInfo", "DatasetStatus", "RemoteSource",
    "SOURCES", "SettingError", "dataset_status", "fetch_files", "load_dataset", "load_mnist", "make_toy2d",
    "read_image_label_pair", "read_images", "read_labels", "search_dirs", "write_idx",
]
