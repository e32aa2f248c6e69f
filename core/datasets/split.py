"""Seeded, stratified selections of examples: train/test splits and per-class subsets."""

from __future__ import annotations

import numpy as np

from .errors import SettingError, check_range, check_whole

Arrays = tuple[np.ndarray, np.ndarray]


def stratified_counts(class_counts: np.ndarray, fraction: float) -> np.ndarray:
    """How many of each class to hold out so that the total is round(fraction * N).

    Largest-remainder rounding: each class gets floor(fraction * n_c), then the remaining
    examples go one each to the classes with the largest fractional parts (ties to the lower
    class index). Every class is thus within one example of fraction * n_c.
    """
    class_counts = np.asarray(class_counts, dtype=np.int64)
    exact = fraction * class_counts
    counts = np.floor(exact).astype(np.int64)
    missing = int(round(fraction * class_counts.sum())) - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:missing]] += 1
    return counts


def stratified_split(labels: np.ndarray, fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out), each sorted, holding out `fraction` of every class at random."""
    labels = np.asarray(labels)
    classes, class_counts = np.unique(labels, return_counts=True)
    held_counts = stratified_counts(class_counts, fraction)
    held = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, held_counts)]
    held_idx = np.sort(np.concatenate(held)) if held else np.empty(0, np.int64)
    kept_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return kept_idx, held_idx


def per_class_subset(labels: np.ndarray, n_per_class: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `n_per_class` examples drawn at random from each class."""
    labels = np.asarray(labels)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:n_per_class]
              for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen))


def check_selection(*, subset_per_class: int | None, validation: float, seed: int) -> None:
    """Raise SettingError for knob values select_train_test refuses whatever the data."""
    check_range("validation", validation, 0.0, 1.0, high_open=True)
    check_whole("seed", seed)
    check_range("seed", seed, 0, 2**63 - 1)
    if subset_per_class is not None:
        check_whole("subset_per_class", subset_per_class)
        check_range("subset_per_class", subset_per_class, 1, float("inf"))


def select_train_test(train: Arrays, test: Arrays, *, subset_per_class: int | None,
                      validation: float, seed: int) -> tuple[Arrays, Arrays]:
    """Apply the `validation` and `subset_per_class` knobs (in that order) to a train/test pair.

    validation=f > 0 holds out a stratified, seeded fraction f of the TRAIN set and returns it
    as the test set; the real test set is then not used at all. subset_per_class=n then keeps n
    random examples of each class of the (remaining) training set.
    """
    check_selection(subset_per_class=subset_per_class, validation=validation, seed=seed)
    rng = np.random.default_rng(seed)
    x_train, t_train = train
    if validation > 0:
        kept, held = stratified_split(t_train, validation, rng)
        if kept.size == 0 or held.size == 0:
            raise SettingError(f"validation={validation!r} leaves an empty "
                               f"{'training' if kept.size == 0 else 'validation'} set")
        test = (x_train[held], t_train[held])
        x_train, t_train = x_train[kept], t_train[kept]
    if subset_per_class is not None:
        smallest = int(np.unique(t_train, return_counts=True)[1].min())
        if subset_per_class > smallest:
            raise SettingError(f"subset_per_class={subset_per_class!r} is more than the {smallest} examples of the "
                               f"smallest class in the training set: allowed 1 to {smallest}")
        keep = per_class_subset(t_train, subset_per_class, rng)
        x_train, t_train = x_train[keep], t_train[keep]
    return (x_train, t_train), test
