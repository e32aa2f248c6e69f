"""DivergenceGuard: the weights and optimizer state of any step since the last backup, on demand.

    guard = DivergenceGuard(network, optimizer, gather, every=BACKUP_EVERY)
    guard.before_update(step)          # backs up every `every` steps
    optimizer.update(network.params, grads)
    guard.record(batch, optimizer.lr)
    ...
    guard.rewind(step)                 # the loss became nan: back to the weights after `step` updates

A backup copies the weights and the optimizer state; each update made since is recorded as its
batch and learning rate. Rewinding loads the backup and replays the recorded updates up to the step
asked for, which gives the same weights bit for bit: no step pays for a copy of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.network import MLP
from core.optimizers import Optimizer

#: Backprop steps between two backups. Numerical steps are slow enough to be backed up every one
#: (every=1), and never replayed.
BACKUP_EVERY = 32


@dataclass
class Backup:
    """The weights and optimizer state after `step` updates, and each update made since: (batch, lr)."""

    step: int
    weights: dict[str, np.ndarray]
    optimizer_state: dict[str, np.ndarray]
    updates: list[tuple[np.ndarray, float]] = field(default_factory=list)


class DivergenceGuard:
    """Backs up `network` and `optimizer` every `every` steps and rewinds them to any step since.

    gather(batch) gives the inputs and labels of a batch of row indices, to replay its update.
    """

    def __init__(self, network: MLP, optimizer: Optimizer,
                 gather: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], every: int = BACKUP_EVERY) -> None:
        self.network, self.optimizer, self.gather, self.every = network, optimizer, gather, every
        self.back_up(0)

    def back_up(self, step: int) -> None:
        """Copy the weights and optimizer state, as they are after `step` updates."""
        self.backup = Backup(step, {name: p.copy() for name, p in self.network.params.items()},
                             self.optimizer.state_dict())

    def before_update(self, step: int) -> None:
        """Back up first if `every` updates have been made since the last backup."""
        if step - self.backup.step >= self.every:
            self.back_up(step)

    def record(self, batch: np.ndarray, lr: float) -> None:
        """An update was made, with the rows `batch` at learning rate `lr`."""
        self.backup.updates.append((batch, lr))

    def rewind(self, step: int) -> None:
        """Weights and optimizer state as they were after `step` updates (at least the backup's):
        the backup's, then the updates made since replayed with their batches and learning rates."""
        backup, lr = self.backup, self.optimizer.lr
        self.network.set_params(backup.weights)
        self.optimizer.load_state_dict(backup.optimizer_state)
        del backup.updates[step - backup.step:]
        for batch, batch_lr in backup.updates:
            x, t = self.gather(batch)
            self.optimizer.lr = batch_lr
            self.optimizer.update(self.network.params, self.network.gradient(x, t))
        self.optimizer.lr = lr
