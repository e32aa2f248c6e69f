"""TrainingSession: one training run, driven by the thread that calls run() and steered from others.

    session = TrainingSession(TrainConfig(dataset="circle", hidden=(8,)))
    session.start()
    final = session.run()          # blocks until finished, stopped, diverged or failed

From any other thread, at any time: start(), pause(), resume(), step(n), stop(),
set_learning_rate(lr), snapshot(), save_checkpoint(path). None of them waits on the trainer for
more than one parameter update (or, once, at a divergence, the few the run replays to rewind: see
core.divergence); the session pushes nothing to anyone and never waits on a reader.
A pause or stop takes effect after the current step, or within milliseconds in the middle of a
numerical gradient, whose step is then redone from scratch (with the same batch).

Reproducible: the same config gives the same weights step for step, whether the run went straight
through, was paused and stepped, or was saved and resumed from a checkpoint (core.checkpoint).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from core.config import ConfigError, TrainConfig, check_memory
from core.datasets import Dataset, load_dataset
from core.divergence import BACKUP_EVERY, DivergenceGuard
from core.metrics import EvalRecord, MetricsHistory, evaluate
from core.network import MLP
from core.numerical import Cancelled, network_numerical_gradient
from core.optimizers import Optimizer, make_optimizer
from core.sampling import BatchSampler

STATES = ("ready", "training", "paused", "stopped", "finished", "diverged", "error")
#: States a run never leaves.
ENDED = ("stopped", "finished", "diverged", "error")
#: Config fields that may differ from a checkpoint's when resuming it.
RESUMABLE = ("data_dir", "epochs", "steps", "lr", "eval_every", "eval_samples")
#: The numerical-gradient method (core.numerical) of each config.gradient that uses one.
NUMERICAL_METHODS = {"numerical": "fast", "numerical-naive": "naive"}
# Independent random streams derived from config.seed (the network's init uses the seed itself).
BATCH_STREAM, EVAL_STREAM = 1, 2


def load_data(config: TrainConfig, progress: Callable[[int, int], None] | None = None) -> Dataset:
    """The config's dataset, from core.datasets.load_dataset (progress: download bytes done, total)."""
    return load_dataset(
        config.dataset, data_dir=config.data_dir, seed=config.seed, noise=config.noise,
        n_samples=config.n_samples, test_ratio=config.test_ratio,
        subset_per_class=config.subset_per_class, validation=config.validation, progress=progress,
    )


def check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    """Raise ConfigError unless `config` differs from a checkpoint's `saved` config in RESUMABLE fields only."""
    for field in dataclasses.fields(TrainConfig):
        old, new = getattr(saved, field.name), getattr(config, field.name)
        if field.name not in RESUMABLE and old != new:
            raise ConfigError(
                f"invalid {field.name}={new!r} when resuming: the checkpoint was trained with "
                f"{field.name}={old!r}; expected only {', '.join(RESUMABLE)} to change", field=field.name
            )


def build_network(config: TrainConfig, dataset: Dataset) -> MLP:
    """The config's network for `dataset`, freshly initialised; ConfigError, before anything is
    allocated, if the run would not fit in the memory available now (core.config.check_memory)."""
    check_memory(config, dataset.n_features, dataset.n_classes)
    return MLP(
        config.layer_sizes(dataset.n_features, dataset.n_classes), activation=config.activation,
        output=config.output, loss=config.loss, weight_init=config.weight_init,
        weight_decay=config.weight_decay, dtype=config.dtype, seed=config.seed,
    )


def build_optimizer(config: TrainConfig) -> Optimizer:
    return make_optimizer(config.optimizer, **config.optimizer_kwargs)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The session at one moment. Arrays are read-only copies; `weights` only when asked for.

    step counts parameter updates done; epoch counts whole epochs done and epoch_progress the
    fraction of the current one. loss is the last batch's; train_*/test_* come from the last
    evaluation (None before the first). step_progress: the fraction of the current numerical
    gradient done (0 with backprop). elapsed and eta are seconds of training, pauses excluded.
    version changes whenever anything but elapsed, eta and step_progress changes.
    """

    version: int
    state: str
    message: str
    step: int
    total_steps: int
    epoch: int
    epoch_progress: float
    steps_per_epoch: int
    learning_rate: float
    loss: float | None
    train_loss: float | None
    train_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    steps_per_second: float | None
    elapsed: float
    eta: float | None
    step_progress: float
    loss_steps: np.ndarray
    losses: np.ndarray
    evaluations: tuple[EvalRecord, ...]
    weights: dict[str, np.ndarray] | None = None


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class TrainingSession:
    """A training run. Only the thread in run() touches the network's layers; every other method is
    thread-safe and holds the lock only for short sections (at most one parameter update)."""

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None) -> None:
        self.dataset = load_data(config) if dataset is None else dataset
        config.validate_against(self.dataset)
        self.config = config
        self.network = build_network(config, self.dataset)  # checks the memory before allocating it
        self.optimizer = build_optimizer(config)
        data, dtype = self.dataset, np.dtype(config.dtype)
        self._x_train, self._t_train = data.x_train.astype(dtype, copy=False), data.t_train
        self._x_test, self._t_test = data.x_test.astype(dtype, copy=False), data.t_test
        chosen = np.random.default_rng([config.seed, EVAL_STREAM]).choice(
            data.n_train, min(config.eval_samples, data.n_train), replace=False)
        chosen.sort()
        self._x_eval, self._t_eval = self._x_train[chosen], self._t_train[chosen]
        # each step's batch is gathered into these, allocated once
        self._x_batch = np.empty((config.batch_size, data.n_features), dtype)
        self._t_batch = np.empty(config.batch_size, self._t_train.dtype)

        self._numerical_method = NUMERICAL_METHODS.get(config.gradient)
        # numerical gradients are taken on a float64 twin: float32 differences would be mostly rounding
        self._probe = self.network.astype("float64") if self._numerical_method else None
        self.sampler = BatchSampler(data.n_train, config.batch_size, config.sampling,
                                    np.random.default_rng([config.seed, BATCH_STREAM]))
        self._guard = DivergenceGuard(self.network, self.optimizer, self._gather,
                                      every=1 if self._probe is not None else BACKUP_EVERY)
        self.steps_per_epoch = config.steps_per_epoch(data.n_train)
        self.total_steps = config.total_steps(data.n_train)

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._state = "ready"
        self._message = ""
        self._step = 0
        self._pending_steps = 0  # steps asked for by step(n) while paused
        self._stop_requested = False
        self._running = False
        self._version = 0
        self._elapsed = 0.0  # training seconds before _active_since
        self._active_since: float | None = None
        self._step_progress = 0.0
        self._history = MetricsHistory()

    # ------------------------------------------------------------------ control (any thread)

    def start(self) -> None:
        """ready or paused -> training."""
        with self._wake:
            if self._state in ("ready", "paused"):
                self._pending_steps = 0
                self._set_state("training")

    resume = start

    def pause(self) -> None:
        """training -> paused, after the current step (a numerical gradient is cut short and redone)."""
        with self._wake:
            self._pending_steps = 0
            if self._state == "training":
                self._set_state("paused")

    def step(self, n: int = 1) -> None:
        """While ready or paused: do n more steps, then stay paused. Ignored in other states."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"step(n) needs a whole number n >= 1, got {n!r}")
        with self._wake:
            if self._state in ("ready", "paused"):
                self._pending_steps += n
                self._set_state("paused")

    def stop(self) -> None:
        """End the run: after the current step, or at once if run() is not running."""
        with self._wake:
            if self._state in ENDED:
                return
            self._stop_requested = True
            if self._running:
                self._wake.notify_all()
            else:
                self._set_state("stopped")

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate from the next update on (ConfigError if lr is invalid)."""
        config = self.config.replace(lr=lr)
        with self._lock:
            self.optimizer.lr = config.lr
            self.config = config
            self._version += 1

    def _set_state(self, state: str, message: str = "") -> None:
        """Call with the lock held."""
        self._state, self._message = state, message
        self._version += 1
        self._wake.notify_all()

    # ------------------------------------------------------------------ reading (any thread)

    def snapshot(self, weights: bool = False) -> Snapshot:
        with self._lock:
            history, step = self._history, self._step
            last = history.last_evaluation
            loss_steps, losses = history.loss.arrays()
            rate = history.steps_per_second
            return Snapshot(
                version=self._version,
                state=self._state,
                message=self._message,
                step=step,
                total_steps=self.total_steps,
                epoch=step // self.steps_per_epoch,
                epoch_progress=(step % self.steps_per_epoch) / self.steps_per_epoch,
                steps_per_epoch=self.steps_per_epoch,
                learning_rate=self.config.lr,
                loss=history.loss.last_loss if step else None,
                train_loss=None if last is None else last.train_loss,
                train_accuracy=None if last is None else last.train_accuracy,
                test_loss=None if last is None else last.test_loss,
                test_accuracy=None if last is None else last.test_accuracy,
                steps_per_second=rate,
                elapsed=self._elapsed_now(),
                eta=history.eta(step, self.total_steps) if self._state not in ENDED else None,
                step_progress=self._step_progress,
                loss_steps=_read_only(loss_steps),
                losses=_read_only(losses),
                evaluations=history.evaluations,
                weights={k: _read_only(p.copy()) for k, p in self.network.params.items()} if weights else None,
            )

    def _elapsed_now(self) -> float:
        if self._active_since is None:
            return self._elapsed
        return self._elapsed + time.perf_counter() - self._active_since

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self) -> Checkpoint:
        """Everything needed to resume the run exactly, as copies taken between two updates."""
        with self._lock:
            return Checkpoint(
                config=self.config,
                weights={k: p.copy() for k, p in self.network.params.items()},
                optimizer_state=self.optimizer.state_dict(),
                history=self._history.state_dict(),
                step=self._step,
                elapsed=self._elapsed_now(),
                n_train=self.dataset.n_train,
                **self.sampler.state_dict(),
                state=self._state,
                message=self._message,
            )

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write checkpoint() to `path` atomically (CheckpointError if it cannot be written)."""
        save_checkpoint(path, self.checkpoint())

    @classmethod
    def from_checkpoint(
        cls, source: str | os.PathLike | Checkpoint, dataset: Dataset | None = None,
        config: TrainConfig | None = None,
    ) -> "TrainingSession":
        """A session that continues exactly where the checkpoint's run stopped, in state "ready".

        `config` may change the RESUMABLE fields (e.g. more epochs); others raise ConfigError.
        """
        ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source)
        if config is None:
            config = ckpt.config
        check_resumable(ckpt.config, config)
        session = cls(config, dataset)
        session._restore(ckpt)
        return session

    def _restore(self, ckpt: Checkpoint) -> None:
        n_train = self.dataset.n_train
        if ckpt.n_train != n_train:
            raise CheckpointError(
                f"the checkpoint was trained on {ckpt.n_train} rows, but {self.dataset.name} has {n_train}")
        try:
            self.network.set_params(ckpt.weights)
        except ValueError as exc:
            raise CheckpointError(f"the checkpoint's weights do not fit {self.dataset.name}: {exc}") from None
        try:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"the checkpoint's optimizer state is invalid: {exc}") from None
        try:
            self.sampler.load_state_dict(ckpt.rng_state, ckpt.order, ckpt.order_epoch, ckpt.batch)
        except ValueError as exc:
            raise CheckpointError(f"the checkpoint's {exc}") from None
        self._step, self._elapsed = ckpt.step, ckpt.elapsed
        self._guard.back_up(self._step)
        self._history = MetricsHistory.from_state_dict(ckpt.history)

    # ------------------------------------------------------------------ the loop (one thread)

    def run(self) -> Snapshot:
        """Train in the calling thread until the run ends; returns the final snapshot.

        Waits while ready or paused. Any exception from training ends the run in state "error".
        BLAS is limited to one thread meanwhile, leaving the other cores to the caller's other threads.
        """
        with self._lock:
            if self._running:
                raise RuntimeError("run() is already running in another thread")
            self._running = True
        try:
            # a diverging loss overflows on its way to nan: that is reported as "diverged", not warned
            with threadpool_limits(limits=1), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._loop()
        except Exception as exc:  # the run's failure is its final state, for the caller to show
            with self._lock:
                self._set_state("error", f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._pause_clock()
                self._running = False
        return self.snapshot()

    def _loop(self) -> None:
        while self._state not in ENDED:
            if not self._wait_for_work():
                ending = "stopped" if self._stop_requested else "finished"
                self._evaluate_if_stale()
                with self._lock:
                    self._set_state(ending, self._message)
                return
            try:
                self._train_step()
            except Cancelled:
                continue  # a pause or stop came in mid-gradient: the step is redone from scratch
            if self._state != "diverged" and self._evaluation_due():
                self._evaluate()

    def _wait_for_work(self) -> bool:
        """Block while idle; True when a step should be done, False when the run should end."""
        with self._wake:
            while True:
                if self._stop_requested or self._step >= self.total_steps:
                    return False
                if self._state == "training" or self._pending_steps > 0:
                    if self._active_since is None:
                        self._active_since = time.perf_counter()
                    return True
                self._pause_clock()
                self._wake.wait()

    def _pause_clock(self) -> None:
        """Call with the lock held."""
        if self._active_since is not None:
            self._elapsed += time.perf_counter() - self._active_since
            self._active_since = None

    def _should_stop(self) -> bool:
        """For numerical gradients: has a stop or pause come in? (Plain reads: no lock needed.)"""
        return self._stop_requested or (self._state != "training" and self._pending_steps == 0)

    def _train_step(self) -> None:
        with self._lock:
            batch = self.sampler.batch(self._step)
        x, t = self._gather(batch)
        params = self.network.params
        if self._probe is None:
            grads = self.network.gradient(x, t)
            loss = self.network.last_loss
        else:
            self._probe.set_params(params)
            loss = self._probe.loss(x, t)
            grads = network_numerical_gradient(
                self._probe, x, t, method=self._numerical_method, should_stop=self._should_stop,
                progress=self._note_progress)
        with self._lock:
            if not math.isfinite(loss):
                self._diverge(loss)
                return
            self._guard.before_update(self._step)
            try:
                self.optimizer.update(params, grads)
            except Exception:  # no half-updated weights or state: back to where the step started
                self._guard.rewind(self._step)
                raise
            self._guard.record(batch, self.optimizer.lr)
            self._step += 1
            self.sampler.done()
            self._step_progress = 0.0
            if self._pending_steps:
                self._pending_steps -= 1
            self._history.add_loss(self._step, loss)
            self._history.tick(self._step, self._elapsed_now())
            self._version += 1

    def _gather(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The batch's rows and labels, in the buffers allocated for them."""
        # mode="clip" (the indices are valid): with the default "raise", take() gathers into a temporary first
        return (np.take(self._x_train, batch, axis=0, out=self._x_batch, mode="clip"),
                np.take(self._t_train, batch, out=self._t_batch, mode="clip"))

    def _note_progress(self, done: int, total: int) -> None:
        self._step_progress = done / total if total else 1.0

    def _diverge(self, loss: float) -> None:
        """The loss is not finite: end the run with the weights and optimizer state from before the
        last update, the last to give a finite loss (lock held). The step count stays as it is."""
        lr, kept = self.config.lr, max(self._step - 1, 0)
        self._guard.rewind(kept)
        where = f"as they were after step {kept}" if kept else "at their initial values"
        self._set_state("diverged", (
            f"loss became {loss} at step {self._step + 1} (lr={lr:g}): lower the learning rate "
            f"(try lr={lr / 10:g}); the weights are kept {where}, the last to give a finite loss"
        ))

    # ------------------------------------------------------------------ evaluation

    def _evaluation_due(self) -> bool:
        every = self.config.eval_every or self.steps_per_epoch
        return self._step % every == 0 or self._step >= self.total_steps

    def _evaluate_if_stale(self) -> None:
        last = self._history.last_evaluation
        if self._state != "diverged" and (last is None or last.step != self._step):
            self._evaluate()

    def _evaluate(self) -> None:
        train_loss, train_accuracy = evaluate(self.network, self._x_eval, self._t_eval)
        test_loss, test_accuracy = evaluate(self.network, self._x_test, self._t_test)
        with self._lock:
            self._history.add_evaluation(EvalRecord(
                step=self._step, epoch=self._step / self.steps_per_epoch,
                train_loss=train_loss, train_accuracy=train_accuracy,
                test_loss=test_loss, test_accuracy=test_accuracy, elapsed=self._elapsed_now(),
            ))
            self._version += 1
