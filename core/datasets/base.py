"""The Dataset record every loader returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test pair of one classification problem.

    x_* are float32 (N, n_features) rows (images flattened, pixels in [0, 1]); t_* are int64
    class indices into `class_names` (not one-hot). `image_shape` is (rows, cols) for images,
    None for points in the plane.
    """

    name: str
    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    class_names: tuple[str, ...]
    image_shape: tuple[int, int] | None
    description: str
    provenance: str

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_test(self) -> int:
        return len(self.x_test)
