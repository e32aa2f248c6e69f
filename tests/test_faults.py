"""Fault injection: a process killed while it writes a checkpoint, a full disk or an unwritable path
while saving, an exception inside the training loop, divergence, and Ctrl-C in the CLI.

What must hold: the previous checkpoint survives anything that happens while the next one is
written; a failed save is reported (CheckpointError naming the path and the reason) and the run
goes on; a failure inside the loop ends the run in state "error" with the weights intact; a
diverging run is stopped at the very step whose loss is not finite.

Temporary files: a save writes `.<name>.<random>.tmp` next to the target and renames it over the
target. A SIGKILL can leave such a file behind. Their names are unique (mkstemp) and hidden, nothing
ever reads them, and the next save into the same folder removes them (a writer at work holds a lock
on its own, which keeps it).
"""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from core import checkpoint as checkpoint_module
from core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from core.config import TrainConfig
from core.datasets import load_dataset
from core.metrics import MetricsHistory
from core.training import BATCH_STREAM, TrainingSession, build_network, build_optimizer
from tests.cli_driving import CIRCLE, ENV, ROOT, interrupt_training


@pytest.fixture(scope="module")
def circle():
    return load_dataset("circle", n_samples=200)  # 100 training rows, 100 test rows


def tiny(**changes) -> TrainConfig:
    settings = dict(dataset="circle", n_samples=200, hidden=(8,), batch_size=10, epochs=3, lr=0.1)
    return TrainConfig(**{**settings, **changes})


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        time.sleep(0.002)


def temp_files(directory) -> set[str]:
    return {name for name in os.listdir(directory) if name.endswith(".tmp")}


# ---------------------------------------------------------------------- SIGKILL while writing


BIG_SIZES = {"W1": (784, 300), "b1": (300,), "W2": (300, 10), "b2": (10,)}


def big_checkpoint(generation: int) -> Checkpoint:
    """A 784-300-10 float64 Adam checkpoint (about 6 MB) stamped with `generation`: step ==
    generation and every weight equals the same random base plus the generation, so a file that
    mixes two generations, or is cut short, cannot pass for a good one."""
    rng = np.random.default_rng(1234)
    weights = {name: rng.standard_normal(shape) + generation for name, shape in BIG_SIZES.items()}
    optimizer = {f"{slot}/{name}": np.full(shape, float(generation)) for slot in "mv"
                 for name, shape in BIG_SIZES.items()}
    optimizer["t"] = np.array(generation)
    config = TrainConfig(dataset="mnist-sample", hidden=(300,), optimizer="adam", dtype="float64")
    return Checkpoint(
        config=config, weights=weights, optimizer_state=optimizer, history=MetricsHistory().state_dict(),
        step=generation, elapsed=float(generation), n_train=8000,
        rng_state=np.random.default_rng(generation).bit_generator.state,
        order=np.random.default_rng(5).permutation(8000), order_epoch=0, batch=None, state="paused", message="",
    )


def assert_whole_generation(ckpt: Checkpoint) -> int:
    """The generation the loaded checkpoint was stamped with, checking that every part agrees."""
    generation = ckpt.step
    expected = big_checkpoint(generation)
    for name, value in ckpt.weights.items():
        assert np.array_equal(value, expected.weights[name]), name
    for key, value in ckpt.optimizer_state.items():
        assert np.array_equal(value, expected.optimizer_state[key]), key
    assert ckpt.elapsed == generation and ckpt.rng_state == expected.rng_state
    return generation


# The child: calibrates how long one save takes, says so, waits for "go", then overwrites the
# target with generation 1, 2, 3, ... as fast as it can, printing each generation once saved.
WRITER = """
import sys, time
from core.checkpoint import save_checkpoint
from tests.test_faults import big_checkpoint

target, scratch = sys.argv[1], sys.argv[2]
ckpts = [big_checkpoint(g) for g in range(1, 11)]
start = time.perf_counter()
for ckpt in ckpts[:3]:
    save_checkpoint(scratch, ckpt)
print("ready", (time.perf_counter() - start) / 3, flush=True)
sys.stdin.readline()
generation = 1
while True:
    save_checkpoint(target, ckpts[generation - 1] if generation <= 10 else big_checkpoint(generation))
    print(generation, flush=True)
    generation += 1
"""


def kill_while_writing(target, delay_in_saves: float) -> dict:
    """Start the writer, let it save for `delay_in_saves` save-durations, SIGKILL it; report what it
    had announced and what it left behind."""
    directory = os.path.dirname(target)
    scratch = os.path.join(directory, "calibration", "scratch.npz")
    os.makedirs(os.path.dirname(scratch), exist_ok=True)
    before = temp_files(directory)
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(target), scratch], cwd=ROOT, env=ENV,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = child.stdout.readline().split()
        assert ready and ready[0] == "ready", child.stderr.read()
        save_seconds = float(ready[1])
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(delay_in_saves * save_seconds)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        announced = [int(line) for line in child.stdout.read().split()]
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    left = temp_files(directory) - before
    return {"announced": max(announced, default=0), "left": left, "save_seconds": save_seconds,
            "temp_sizes": [os.path.getsize(os.path.join(directory, name)) for name in left]}


def test_a_kill_at_any_point_of_a_checkpoint_write_leaves_the_old_or_the_new_checkpoint(tmp_path):
    target = tmp_path / "run.npz"
    save_checkpoint(target, big_checkpoint(0))
    full_size = os.path.getsize(target)
    outcomes = []
    for i in range(10):  # kill points spread over the first three writes
        report = kill_while_writing(target, delay_in_saves=0.33 * i)
        ckpt = load_checkpoint(target)  # never a broken file: this raises if it is one
        generation = assert_whole_generation(ckpt)
        assert generation in (report["announced"], report["announced"] + 1), (generation, report)
        outcomes.append((generation, report))
        for name in report["left"]:  # a stray temporary file: hidden, unique, next to the target
            assert name.startswith(".run.npz.") and name.endswith(".tmp")

    print("kill points (generation found, announced, temp file bytes of a full file's):",
          [(g, r["announced"], [f"{size}/{full_size}" for size in r["temp_sizes"]]) for g, r in outcomes])
    assert any(report["left"] for _, report in outcomes), f"no kill landed inside a write: {outcomes}"
    assert len({generation for generation, _ in outcomes}) > 1, "every kill found the same file"

    # the next save works and removes the strays
    save_checkpoint(target, big_checkpoint(99))
    assert assert_whole_generation(load_checkpoint(target)) == 99
    assert temp_files(tmp_path) == set()


def test_a_kill_during_the_first_write_leaves_no_file_or_a_whole_one(tmp_path):
    for i in range(4):
        target = tmp_path / f"new-{i}.npz"
        kill_while_writing(target, delay_in_saves=0.25 * i)
        if target.exists():
            assert_whole_generation(load_checkpoint(target))
        else:
            with pytest.raises(CheckpointError, match="no checkpoint file at"):
                load_checkpoint(target)


# ---------------------------------------------------------------------- full disk, unwritable paths


def no_space() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FillingDisk(io.FileIO):
    """A file on a disk with `room` bytes left: the write that does not fit fails with ENOSPC."""

    def __init__(self, fd: int, room: int):
        super().__init__(fd, "wb")
        self.room = room

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        if size > self.room:
            raise no_space()
        self.room -= size
        return super().write(data)


@pytest.fixture
def running(circle):
    """A session training in a worker thread (until stopped), with a good checkpoint on disk."""
    session = TrainingSession(tiny(steps=10**9, eval_every=1000), circle)
    worker = threading.Thread(target=session.run, daemon=True)
    session.start()
    worker.start()
    wait_until(lambda: session.snapshot().step > 0)
    yield session
    session.stop()
    worker.join(10)
    assert not worker.is_alive()


def assert_keeps_training(session: TrainingSession) -> None:
    step = session.snapshot().step
    wait_until(lambda: session.snapshot().step > step + 100)
    assert session.snapshot().state == "training"


def running_checkpoint_bytes(session: TrainingSession, folder) -> bytes:
    """What save_checkpoint writes for the session now (into a file of its own, in `folder`)."""
    folder.mkdir()
    session.save_checkpoint(folder / "size.npz")
    return (folder / "size.npz").read_bytes()


@pytest.mark.parametrize("fault", ["full before writing", "full mid-write", "full at the last byte",
                                   "fsync fails", "rename fails"])
def test_a_full_disk_while_saving_is_reported_and_the_run_goes_on(running, tmp_path, monkeypatch, fault):
    path = tmp_path / "run.npz"
    running.save_checkpoint(path)
    before = path.read_bytes()
    # paused for the failing save, so that its checkpoint has a known size (a running history can
    # shrink: its loss curve halves when full); the run resumes after the failure
    running.pause()
    settled = -1
    while settled != running.snapshot().step:  # only the step under way may still end
        settled = running.snapshot().step
        time.sleep(0.05)
    size = len(running_checkpoint_bytes(running, tmp_path / "probe"))

    def failing(exc):
        def fail(*args, **kwargs):
            raise exc
        return fail

    with monkeypatch.context() as patch:
        if fault.startswith("full"):
            room = {"full before writing": 0, "full mid-write": size // 2, "full at the last byte": size - 1}[fault]
            patch.setattr(checkpoint_module.os, "fdopen", lambda fd, mode: FillingDisk(fd, room))
        elif fault == "fsync fails":
            patch.setattr(checkpoint_module.os, "fsync", failing(OSError(errno.EIO, os.strerror(errno.EIO))))
        else:
            patch.setattr(checkpoint_module.os, "replace", failing(no_space()))
        with pytest.raises(CheckpointError) as info:
            running.save_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    assert os.strerror(errno.EIO if fault == "fsync fails" else errno.ENOSPC) in message
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["probe", "run.npz"]  # intact, no temp file
    running.resume()
    assert_keeps_training(running)
    running.save_checkpoint(path)  # the disk has room again: the next save works
    assert load_checkpoint(path).step > 0


@pytest.mark.parametrize("where", ["parent is a file", "parent missing", "a directory", "read-only directory"])
def test_an_unwritable_path_is_reported_and_the_run_goes_on(running, tmp_path, monkeypatch, where):
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "read-only").mkdir()
    paths = {"parent is a file": (tmp_path / "a-file" / "run.npz", "Not a directory"),
             "parent missing": (tmp_path / "missing" / "run.npz", "No such file or directory"),
             "a directory": (tmp_path / "read-only", "Is a directory"),
             "read-only directory": (tmp_path / "read-only" / "run.npz", "Permission denied")}
    path, reason = paths[where]
    if where == "read-only directory":
        # the tests run as root, whom a chmod does not stop: the refusal is the one the OS gives others
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "read-only"))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(CheckpointError) as info:
        running.save_checkpoint(path)
    assert f"cannot save a checkpoint to {path}" in str(info.value) and reason in str(info.value)
    assert_keeps_training(running)
    assert sorted(os.listdir(tmp_path)) == ["a-file", "read-only"] and not os.listdir(tmp_path / "read-only")


# ---------------------------------------------------------------------- an exception inside the loop


def fail_on_call(k: int, function, exc: Exception):
    """`function`, except that its k-th call raises `exc`."""
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == k:
            raise exc
        return function(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("k", [1, 7, 23])
def test_an_exception_in_a_step_ends_the_run_in_error_with_the_weights_intact(circle, tmp_path, k):
    config = tiny(optimizer="adam", lr=0.01, epochs=5)
    session = TrainingSession(config, circle)
    session.network.gradient = fail_on_call(k, session.network.gradient, RuntimeError(f"injected fault {k}"))
    session.start()
    final = session.run()  # returns: the failure is the run's final state
    assert final.state == "error" and final.message == f"RuntimeError: injected fault {k}"
    assert final.step == k - 1

    # the failed step changed nothing: the weights are those of a clean run one step shorter
    snap = session.snapshot(weights=True)
    assert all(np.isfinite(w).all() for w in snap.weights.values())
    if k > 1:
        shorter = TrainingSession(config.replace(steps=k - 1), circle)
        shorter.start()
        shorter.run()
        for name, value in snap.weights.items():
            assert np.array_equal(value, shorter.network.params[name]), name

    # the session stays usable: controls are ignored, it saves, and the save resumes exactly
    for control in (session.start, session.pause, session.step, session.stop):
        control()
        assert session.snapshot().state == "error"
    path = tmp_path / "failed.npz"
    session.save_checkpoint(path)
    saved = load_checkpoint(path)
    assert (saved.state, saved.message, saved.step) == ("error", final.message, k - 1)
    resumed = TrainingSession.from_checkpoint(path, circle)
    resumed.start()
    assert resumed.run().state == "finished"
    straight = TrainingSession(config, circle)
    straight.start()
    straight.run()
    for name, value in straight.network.params.items():
        assert np.array_equal(value, resumed.network.params[name]), name


@pytest.mark.parametrize("failing_update", [1, 45])
def test_an_exception_halfway_through_an_update_leaves_no_half_updated_weights(circle, failing_update):
    # Momentum: its state is half updated too; at update 45 the run rewinds to its backup of step 32
    config = tiny(optimizer="momentum", epochs=10)
    reference = TrainingSession(config.replace(steps=max(failing_update - 1, 1)), circle)
    if failing_update > 1:  # else: the initial weights and state
        reference.start()
        reference.run()
    session = TrainingSession(config, circle)
    gradient, calls = session.network.gradient, []

    class Poisoned(np.ndarray):
        """A gradient that fails the moment the update computes with it."""

        def __array_ufunc__(self, *args, **kwargs):
            raise RuntimeError("injected fault in the update")

    def gradient_then_fail(x, t):
        grads = gradient(x, t)
        calls.append(1)
        if len(calls) == failing_update:  # W1 and b1 of that update are done when W2 fails
            grads = {**grads, "W2": grads["W2"].view(Poisoned)}
        return grads

    session.network.gradient = gradient_then_fail
    session.start()
    final = session.run()
    assert final.state == "error" and final.step == failing_update - 1
    for name, p in session.network.params.items():
        assert np.array_equal(p, reference.network.params[name]), name
    state, expected = session.optimizer.state_dict(), reference.optimizer.state_dict()
    assert state.keys() == expected.keys()
    assert all(np.array_equal(state[k], expected[k]) for k in state)


def test_an_exception_while_evaluating_ends_the_run_in_error(circle, monkeypatch):
    from core import training

    session = TrainingSession(tiny(eval_every=5), circle)
    monkeypatch.setattr(training, "evaluate", fail_on_call(3, training.evaluate, MemoryError("no room for scores")))
    session.start()
    final = session.run()
    assert final.state == "error" and final.message == "MemoryError: no room for scores"
    assert final.step == 10 and len(final.evaluations) == 1  # the 2nd evaluation's first half failed
    assert all(np.isfinite(w).all() for w in session.snapshot(weights=True).weights.values())


# ---------------------------------------------------------------------- divergence


def first_nonfinite_step(config: TrainConfig, dataset) -> int | None:
    """Replay the run by hand (same network, optimizer and batches) and return the first step whose
    loss is not finite."""
    net, optimizer = build_network(config, dataset), build_optimizer(config)
    x_all, t_all = dataset.x_train.astype(config.dtype), dataset.t_train
    rng = np.random.default_rng([config.seed, BATCH_STREAM])
    n, size = dataset.n_train, config.batch_size
    per_epoch, order, order_epoch = config.steps_per_epoch(n), None, -1
    with threadpool_limits(limits=1), np.errstate(all="ignore"):
        for step in range(1, config.total_steps(n) + 1):
            if config.sampling == "random":
                batch = rng.choice(n, size)
            else:
                epoch, k = divmod(step - 1, per_epoch)
                if order_epoch != epoch:
                    order, order_epoch = rng.permutation(n), epoch
                batch = order[k * size:(k + 1) * size]
            grads = net.gradient(x_all[batch], t_all[batch])
            if not np.isfinite(net.last_loss):
                return step
            optimizer.update(net.params, grads)
    return None


@pytest.mark.parametrize("changes", [
    dict(lr=1e6, weight_init=5.0),
    dict(lr=1e4, optimizer="momentum"),
    dict(lr=300.0, sampling="random", seed=3),
    dict(lr=1e3, activation="sigmoid", loss="sum_squared", output="identity"),
    dict(lr=1e150, dtype="float64", weight_init=3.0),
    dict(lr=100.0, activation="leaky_relu", optimizer="nesterov", hidden=(8, 8)),
], ids=["sgd", "momentum", "random-batches", "squared-loss", "float64", "nesterov"])
def test_divergence_is_caught_at_the_step_it_happens(circle, changes):
    config = tiny(epochs=50, **changes)
    expected = first_nonfinite_step(config, circle)
    assert expected is not None, "this run does not diverge: pick a larger lr"
    session = TrainingSession(config, circle)
    session.start()
    final = session.run()
    assert final.state == "diverged"
    assert f"at step {expected} (lr=" in final.message, (expected, final.message)
    assert final.step == expected - 1  # the updates before it were done, the one at it was not
    assert all(np.isfinite(w).all() for w in session.snapshot(weights=True).weights.values())


def test_the_runs_above_diverge_at_various_steps(circle):
    """So that the step numbers compared above are not all the same (nor all 1)."""
    steps = {first_nonfinite_step(tiny(epochs=50, **changes), circle) for changes in (
        dict(lr=1e6, weight_init=5.0), dict(lr=1e4, optimizer="momentum"), dict(lr=300.0, sampling="random", seed=3))}
    assert len(steps) == 3 and min(steps) > 1, steps


# ---------------------------------------------------------------------- Ctrl-C in the CLI
# (tests/test_cli.py has Ctrl-C with --save: exit 130, no traceback, the checkpoint loads)


def test_ctrl_c_without_save_exits_130_and_writes_nothing(tmp_path):
    code, stdout, stderr = interrupt_training([*CIRCLE, "--steps", "100000000", "--json"], cwd=tmp_path)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "stopping" in stderr and "checkpoint saved" not in stderr
    assert json.loads(stdout)["state"] == "stopped"
    assert os.listdir(tmp_path) == []


def test_ctrl_c_pressed_again_and_again_still_saves_and_exits_130(tmp_path):
    """An impatient user: Ctrl-C every few milliseconds until the program has exited. Presses fall
    while the run stops, while the checkpoint (a 784-1000-10 network, several MB) is written, while
    the summary is printed and while the interpreter shuts down: the save must finish and the exit
    must stay a clean 130."""
    path = tmp_path / "interrupted.npz"
    args = ["--dataset", "mnist-sample", "--hidden", "1000", "--batch-size", "10", "--steps", "100000000",
            "--eval-every", "100000000", "--save", str(path)]
    code, stdout, stderr = interrupt_training(args, cwd=tmp_path, signals=5000, interval=0.002)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "checkpoint saved" in stderr and load_checkpoint(path).step > 0
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_a_save_path_that_cannot_be_written_is_refused_before_training(tmp_path):
    """Found out after an hour of training, a bad --save path would lose the run."""
    (tmp_path / "a-file").write_text("not a directory")
    for path, reason in [(tmp_path / "a-file" / "run.npz", "Not a directory"),
                         (tmp_path / "missing" / "run.npz", "does not exist"),
                         (tmp_path, "is a folder")]:
        result = subprocess.run([sys.executable, "-m", "tui.cli", "train", *CIRCLE, "--steps", "100000000",
                                 "--save", str(path)], capture_output=True, text=True, env=ENV, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and "ETA" not in result.stderr  # no training happened
        assert f"error: checkpoint {path}" in result.stderr and reason in result.stderr
