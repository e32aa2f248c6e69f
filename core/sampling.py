"""BatchSampler: which training rows make up the batch of each step.

    sampler = BatchSampler(n_train=1000, batch_size=100, sampling="epoch", rng=np.random.default_rng(1))
    rows = sampler.batch(step)     # the batch of the update after `step` updates
    ...                            # the update, with x_train[rows] and t_train[rows]
    sampler.done()                 # the next call draws a new batch

sampling="epoch": each epoch visits the training rows in a fresh random order, one batch after
another (the rows too few to fill a last batch sit that epoch out).
sampling="random": every batch is drawn with replacement, as the notebook's np.random.choice does.

A batch stays drawn until done(): a step that is cut short and redone uses the same rows. The
random state, the epoch's order and the batch drawn but not yet used are the sampler's whole state;
a checkpoint keeps them (state_dict), so a resumed run draws the very batches the first would have.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class BatchSampler:
    """The row indices of each step's batch, from a random generator of its own."""

    def __init__(self, n_train: int, batch_size: int, sampling: str, rng: np.random.Generator) -> None:
        self.n_train, self.batch_size, self.sampling, self.rng = n_train, batch_size, sampling, rng
        self.steps_per_epoch = max(n_train // batch_size, 1)  # as TrainConfig.steps_per_epoch counts them
        self.order: np.ndarray | None = None  # this epoch's permutation of the rows (sampling="epoch")
        self.order_epoch = -1  # the epoch `order` is for
        self.pending: np.ndarray | None = None  # drawn for a step not done yet

    def batch(self, step: int) -> np.ndarray:
        """The rows of the update after `step` updates: the pending batch, or a new one."""
        if self.pending is None:
            self.pending = self._draw(step)
        return self.pending

    def done(self) -> None:
        """The pending batch has been used: the next step draws its own."""
        self.pending = None

    def _draw(self, step: int) -> np.ndarray:
        if self.sampling == "random":
            return self.rng.choice(self.n_train, self.batch_size)
        epoch, k = divmod(step, self.steps_per_epoch)
        if self.order_epoch != epoch:
            self.order, self.order_epoch = self.rng.permutation(self.n_train), epoch
        return self.order[k * self.batch_size:(k + 1) * self.batch_size]

    def state_dict(self) -> dict[str, Any]:
        """Copies of the state, under the names of core.checkpoint.Checkpoint's fields."""
        return {
            "rng_state": self.rng.bit_generator.state,
            "order": None if self.order is None else self.order.copy(),
            "order_epoch": self.order_epoch,
            "batch": None if self.pending is None else self.pending.copy(),
        }

    def load_state_dict(self, rng_state: dict[str, Any], order: np.ndarray | None, order_epoch: int,
                        batch: np.ndarray | None) -> None:
        """Take a state_dict()'s values (ValueError naming the part that does not fit)."""
        try:
            self.rng.bit_generator.state = rng_state
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"random state is invalid: {exc}") from None
        if order is not None and not np.array_equal(np.sort(order), np.arange(self.n_train)):
            raise ValueError("epoch order is not a permutation of the training rows")
        if batch is not None and (len(batch) != self.batch_size or batch.min() < 0 or batch.max() >= self.n_train):
            raise ValueError("pending batch does not fit the training set")
        self.order, self.order_epoch, self.pending = order, order_epoch, batch
