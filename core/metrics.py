"""What a run measures: the per-step loss curve (decimated, bounded), evaluation records, speed.

A run of millions of steps keeps at most `capacity` points of its loss curve: each point is the
mean loss of `stride` consecutive steps, and when the curve fills up, neighbouring points are
merged pairwise and the stride doubles. Evaluation records are all kept up to `EVAL_CAPACITY`
(every epoch of any run shorter than that many epochs); past it every other record is dropped,
the newest always kept, so the history stays bounded however long the run. The evaluations are
written as a CSV file (`write_metrics_csv`) whose header line tells it from other files
(`is_metrics_file`).
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import math
import os
from dataclasses import dataclass

import numpy as np

from core.files import atomic_write

#: Rows per forward pass when evaluating, so that large test sets need little memory.
EVAL_CHUNK = 2000
#: Points kept of the per-step loss curve (even).
LOSS_CAPACITY = 2048
#: Evaluation records kept before they are thinned to every other one.
EVAL_CAPACITY = 4096
#: Seconds of (active) training over which steps per second is measured.
RATE_WINDOW = 5.0


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation. epoch is fractional (step / steps per epoch); elapsed is training seconds."""

    step: int
    epoch: float
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    elapsed: float


EVAL_COLUMNS = tuple(field.name for field in dataclasses.fields(EvalRecord))
#: The first line of a metrics CSV file.
CSV_HEADER = ",".join(EVAL_COLUMNS)


def write_metrics_csv(path: str | os.PathLike, evaluations) -> None:
    """Write the evaluation records to a CSV file atomically (the old file or the new one, whole;
    OSError if it cannot be written). The caller checks the path first (check_output with
    is_ours=is_metrics_file)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(EVAL_COLUMNS)
    writer.writerows(dataclasses.astuple(record) for record in evaluations)
    atomic_write(path, lambda file: file.write(text.getvalue().encode()))


def is_metrics_file(path: str | os.PathLike) -> bool:
    """Does the regular file `path` begin with a metrics CSV's header line? Reads that line only (a
    few bytes more at most): for deciding whether a file may be replaced (core.files.check_output)."""
    header = CSV_HEADER.encode()
    try:
        with open(path, "rb") as file:
            start = file.read(len(header) + 2)
    except OSError:
        return False
    return start.splitlines()[:1] == [header]


class LossCurve:
    """The per-step training loss, as at most `capacity` points of mean loss over `stride` steps."""

    def __init__(self, capacity: int = LOSS_CAPACITY) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError(f"capacity must be an even number >= 2, got {capacity}")
        self.capacity = capacity
        self.stride = 1
        self._steps = np.empty(capacity, np.int64)
        self._losses = np.empty(capacity, np.float64)
        self._n = 0
        self._pending_sum = 0.0  # the bucket being filled: its loss sum and count
        self._pending_count = 0
        self.last_step = 0
        self.last_loss = math.nan

    def __len__(self) -> int:
        return self._n + (self._pending_count > 0)

    def append(self, step: int, loss: float) -> None:
        self._pending_sum += loss
        self._pending_count += 1
        self.last_step, self.last_loss = step, loss
        if self._pending_count == self.stride:
            self._push(step, self._pending_sum / self.stride)
            self._pending_sum, self._pending_count = 0.0, 0

    def extend(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """append() for many steps at once, with whole buckets averaged in bulk."""
        steps = np.asarray(steps, np.int64)
        losses = np.asarray(losses, np.float64)
        i, total = 0, len(losses)
        while i < total and self._pending_count:
            self.append(int(steps[i]), float(losses[i]))
            i += 1
        while total - i >= self.stride:
            stride = self.stride
            k = min((total - i) // stride, self.capacity - self._n)
            end = i + k * stride
            self._losses[self._n:self._n + k] = losses[i:end].reshape(k, stride).mean(axis=1)
            self._steps[self._n:self._n + k] = steps[i + stride - 1:end:stride]
            self._n += k
            i = end
            self.last_step, self.last_loss = int(steps[end - 1]), float(losses[end - 1])
            if self._n == self.capacity:
                self._halve()
        for j in range(i, total):
            self.append(int(steps[j]), float(losses[j]))

    def _push(self, step: int, mean: float) -> None:
        self._steps[self._n] = step
        self._losses[self._n] = mean
        self._n += 1
        if self._n == self.capacity:
            self._halve()

    def _halve(self) -> None:
        n, half = self._n, self._n // 2
        self._losses[:half] = (self._losses[0:n:2] + self._losses[1:n:2]) / 2
        self._steps[:half] = self._steps[1:n:2]
        self._n = half
        self.stride *= 2

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, mean losses), fresh arrays; a last point averages the steps of the unfinished bucket."""
        steps, losses = self._steps[:self._n], self._losses[:self._n]
        if self._pending_count:
            steps = np.append(steps, self.last_step)
            losses = np.append(losses, self._pending_sum / self._pending_count)
        return steps.copy(), losses.copy()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {
            "loss_steps": self._steps[:self._n].copy(),
            "loss_values": self._losses[:self._n].copy(),
            "loss_counts": np.array([self.capacity, self.stride, self._pending_count, self.last_step], np.int64),
            "loss_floats": np.array([self._pending_sum, self.last_loss], np.float64),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> "LossCurve":
        steps, values = np.asarray(state["loss_steps"]), np.asarray(state["loss_values"])
        counts, floats = np.asarray(state["loss_counts"]), np.asarray(state["loss_floats"])
        if counts.shape != (4,) or floats.shape != (2,) or steps.ndim != 1 or steps.shape != values.shape:
            raise ValueError("the loss curve's arrays have the wrong shapes")
        capacity, stride, pending_count, last_step = (int(v) for v in counts)
        curve = cls(capacity)
        if len(steps) >= capacity or stride < 1 or not 0 <= pending_count < stride:
            raise ValueError("the loss curve's counters are inconsistent")
        curve._n = len(steps)
        curve._steps[:curve._n] = steps
        curve._losses[:curve._n] = values
        curve.stride, curve._pending_count, curve.last_step = stride, pending_count, last_step
        curve._pending_sum, curve.last_loss = float(floats[0]), float(floats[1])
        return curve


class MetricsHistory:
    """The loss curve, every evaluation, and the speed of the run (steps per active second)."""

    def __init__(self, capacity: int = LOSS_CAPACITY, eval_capacity: int = EVAL_CAPACITY) -> None:
        self.loss = LossCurve(capacity)
        self.eval_capacity = eval_capacity
        self._evaluations: list[EvalRecord] = []
        self._evaluations_view: tuple[EvalRecord, ...] | None = ()
        self._rate_samples: collections.deque[tuple[float, int]] = collections.deque()
        self._latest: tuple[float, int] | None = None

    def add_loss(self, step: int, loss: float) -> None:
        self.loss.append(step, loss)

    def add_evaluation(self, record: EvalRecord) -> None:
        if len(self._evaluations) >= self.eval_capacity:
            del self._evaluations[1::2]
        self._evaluations.append(record)
        self._evaluations_view = None

    @property
    def evaluations(self) -> tuple[EvalRecord, ...]:
        if self._evaluations_view is None:
            self._evaluations_view = tuple(self._evaluations)
        return self._evaluations_view

    @property
    def last_evaluation(self) -> EvalRecord | None:
        return self._evaluations[-1] if self._evaluations else None

    def tick(self, step: int, elapsed: float) -> None:
        """Note that `step` steps were done after `elapsed` seconds of training."""
        self._latest = (elapsed, step)
        samples = self._rate_samples
        if not samples or elapsed - samples[-1][0] >= 0.1:
            samples.append(self._latest)
        while len(samples) > 2 and elapsed - samples[0][0] > RATE_WINDOW:
            samples.popleft()

    @property
    def steps_per_second(self) -> float | None:
        """Steps per second over the last RATE_WINDOW seconds of training; None before it can tell."""
        if not self._rate_samples:
            return None
        (t0, s0), (t1, s1) = self._rate_samples[0], self._latest
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None

    def eta(self, step: int, total_steps: int) -> float | None:
        """Seconds of training left to reach total_steps at the current speed."""
        rate = self.steps_per_second
        return max(total_steps - step, 0) / rate if rate else None

    def state_dict(self) -> dict[str, np.ndarray]:
        table = np.array([dataclasses.astuple(r) for r in self._evaluations], np.float64)
        return {**self.loss.state_dict(), "evaluations": table.reshape(-1, len(EVAL_COLUMNS))}

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> "MetricsHistory":
        """Raises ValueError or KeyError when `state` is not a MetricsHistory's state_dict."""
        table = np.asarray(state["evaluations"])
        if table.ndim != 2 or table.shape[1] != len(EVAL_COLUMNS):
            raise ValueError(f"evaluations must be a table of {len(EVAL_COLUMNS)} columns, got shape {table.shape}")
        curve = LossCurve.from_state_dict(state)
        history = cls(curve.capacity)
        history.loss = curve
        for row in table.tolist():
            history._evaluations.append(EvalRecord(int(row[0]), *row[1:]))
        history._evaluations_view = None
        return history


# ---------------------------------------------------------------------- measuring a network


def predict_labels(net, x: np.ndarray, chunk: int = EVAL_CHUNK) -> np.ndarray:
    """The class with the highest score for every row of x."""
    parts = [net.scores(x[i:i + chunk]).argmax(axis=1) for i in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def evaluate(net, x: np.ndarray, t: np.ndarray, chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(loss, accuracy) of an MLP on rows x with labels t, a chunk of rows at a time.

    The loss is the network's: mean data loss plus the weight-decay term.
    """
    if len(x) == 0:
        return math.nan, math.nan
    total_loss, correct = 0.0, 0
    for i in range(0, len(x), chunk):
        scores = net.scores(x[i:i + chunk])
        labels = t[i:i + chunk]
        correct += int(np.sum(scores.argmax(axis=1) == labels))
        total_loss += net.last_layer.forward(scores, labels) * len(labels)
    return total_loss / len(x) + net.decay_loss(), correct / len(x)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[i, j]: rows of true class i predicted as class j."""
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    return counts


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """The fraction of each true class predicted right (nan for a class with no rows)."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diagonal(confusion) / totals
