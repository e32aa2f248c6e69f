"""TrainingSession: runs, steering from another thread, reproducibility, divergence; MetricsHistory."""

import threading
import time
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from core.config import ConfigError, TrainConfig
from core.datasets import Dataset, load_dataset
from core.metrics import EvalRecord, LossCurve, MetricsHistory, confusion_matrix, per_class_accuracy
from core.numerical import METHODS as NUMERICAL_METHODS, naive_numerical_gradient
from core.divergence import DivergenceGuard
from core.training import TrainingSession, build_network, build_optimizer


@pytest.fixture(scope="module")
def circle():
    return load_dataset("circle", n_samples=200)  # 100 training rows, 100 test rows


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-sample")


def tiny(**changes) -> TrainConfig:
    """A 2-8-2 network on 100 circle points: 10 steps per epoch, a fraction of a millisecond each."""
    settings = dict(dataset="circle", n_samples=200, hidden=(8,), batch_size=10, epochs=3, lr=0.1)
    return TrainConfig(**{**settings, **changes})


def in_thread(session: TrainingSession) -> threading.Thread:
    worker = threading.Thread(target=session.run, daemon=True)
    worker.start()
    return worker


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        time.sleep(0.002)


def trained(config: TrainConfig, dataset) -> TrainingSession:
    session = TrainingSession(config, dataset)
    session.start()
    session.run()
    return session


def assert_same_run(a: TrainingSession, b: TrainingSession) -> None:
    """Bit for bit: step count, weights and optimizer state."""
    assert a.snapshot().step == b.snapshot().step
    assert_same_weights_and_state(a, b)


def assert_same_weights_and_state(a: TrainingSession, b: TrainingSession) -> None:
    for name in a.network.params:
        assert np.array_equal(a.network.params[name], b.network.params[name]), name
    state_a, state_b = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert np.array_equal(state_a[key], state_b[key]), key


# ---------------------------------------------------------------------- a run


def test_a_run_goes_through_its_epochs_evaluating_each_one(circle):
    session = TrainingSession(tiny(epochs=20), circle)
    assert session.snapshot().state == "ready"
    session.start()
    final = session.run()
    assert final.state == "finished" and final.message == ""
    assert final.step == final.total_steps == 200 and final.epoch == 20 and final.epoch_progress == 0
    assert [r.step for r in final.evaluations] == list(range(10, 201, 10))
    assert final.test_accuracy == final.evaluations[-1].test_accuracy > 0.7
    assert final.loss_steps[-1] == 200 and len(final.losses) == 200 and final.eta is None
    assert final.elapsed > 0 and final.steps_per_second > 0


def test_eval_every_counts_steps_and_the_last_step_is_always_evaluated(circle):
    final = trained(tiny(steps=25, eval_every=7), circle).snapshot()
    assert [r.step for r in final.evaluations] == [7, 14, 21, 25]
    assert final.evaluations[0].epoch == pytest.approx(0.7)


def test_the_dataset_is_loaded_when_not_given_and_cast_to_the_config_dtype():
    session = TrainingSession(tiny(dtype="float64"))
    assert session.dataset.name == "circle" and session.dataset.n_train == 100
    assert all(p.dtype == np.float64 for p in session.network.params.values())


def test_a_batch_larger_than_the_training_set_is_refused(circle):
    with pytest.raises(ConfigError, match="batch_size=101"):
        TrainingSession(tiny(batch_size=101), circle)


def test_gradient_keeps_the_loss_at_the_weights_it_differentiates(circle):
    net = build_network(tiny(weight_decay=0.01), circle)
    x, t = circle.x_train[:10], circle.t_train[:10]
    expected = net.loss(x, t)
    grads = net.gradient(x, t)
    assert net.last_loss == expected and set(grads) == set(net.params)


def test_blas_is_limited_to_one_thread_while_training(circle):
    assert [lib for lib in threadpool_info() if lib["user_api"] == "blas"], "numpy's BLAS not found"
    session = TrainingSession(tiny(steps=1), circle)
    seen = []
    original = session.network.gradient

    def spy(x, t):
        seen.extend(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        return original(x, t)

    session.network.gradient = spy
    session.start()
    session.run()
    assert seen and set(seen) == {1}


def test_an_exception_while_training_ends_the_run_in_the_error_state(circle):
    session = TrainingSession(tiny(), circle)

    def broken(x, t):
        raise RuntimeError("the GPU caught fire")

    session.network.gradient = broken
    session.start()
    final = session.run()
    assert final.state == "error" and final.message == "RuntimeError: the GPU caught fire"


# ---------------------------------------------------------------------- steering from another thread


def test_pause_step_resume_and_stop_from_another_thread_take_effect_at_once(circle):
    session = TrainingSession(tiny(steps=10**8, eval_every=1000), circle)
    worker = in_thread(session)
    time.sleep(0.05)
    assert session.snapshot().step == 0, "run() waits for start()"
    session.start()
    wait_until(lambda: session.snapshot().step > 50)

    session.pause()
    at_pause = session.snapshot()
    assert at_pause.state == "paused"
    time.sleep(0.3)
    paused_at = session.snapshot().step
    assert paused_at in (at_pause.step, at_pause.step + 1), "only the step under way may end"
    time.sleep(0.2)
    assert session.snapshot().step == paused_at

    session.step(3)
    wait_until(lambda: session.snapshot().step == paused_at + 3)
    time.sleep(0.1)
    assert session.snapshot().step == paused_at + 3 and session.snapshot().state == "paused"

    session.resume()
    assert session.snapshot().state == "training"
    wait_until(lambda: session.snapshot().step > paused_at + 100)

    session.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    final = session.snapshot()
    assert final.state == "stopped" and final.evaluations[-1].step == final.step


def test_step_from_ready_does_the_steps_then_stays_paused(circle):
    session = TrainingSession(tiny(), circle)
    worker = in_thread(session)
    session.step(4)
    wait_until(lambda: session.snapshot().step == 4)
    assert session.snapshot().state == "paused"
    session.stop()
    worker.join(timeout=2)
    assert session.snapshot().state == "stopped"
    with pytest.raises(ValueError):
        session.step(0)


def test_stop_before_run_ends_the_session_without_training(circle):
    session = TrainingSession(tiny(), circle)
    session.stop()
    assert session.snapshot().state == "stopped"
    assert session.run().step == 0


def test_readers_and_a_stop_never_wait_for_a_numerical_step(digits, monkeypatch):
    """The worker is held inside a naive numerical gradient while this thread reads a snapshot and
    asks to stop: neither waits for the step, and the gradient ends at its next check, undoing the
    step. (How long these take is printed by benchmarks/bench_latency.py.)"""
    inside, release = threading.Event(), threading.Event()
    answers_after_release = []

    def held(net, x, t, h, *, should_stop, progress):
        def held_progress(done, total):
            progress(done, total)
            if not inside.is_set():
                inside.set()
                release.wait(30)

        def watched_should_stop():
            answer = should_stop()
            if release.is_set():
                answers_after_release.append(answer)
            return answer

        return naive_numerical_gradient(net, x, t, h, should_stop=watched_should_stop, progress=held_progress)

    monkeypatch.setitem(NUMERICAL_METHODS, "naive", held)
    config = TrainConfig(hidden=(30,), batch_size=10, steps=2, gradient="numerical-naive")
    session = TrainingSession(config, digits)
    initial = session.snapshot(weights=True).weights
    worker = in_thread(session)
    session.start()
    assert inside.wait(10), "the step never reached its numerical gradient"

    snaps = []
    returns_while_held(lambda: snaps.append(session.snapshot(weights=True)))
    assert snaps[0].state == "training" and snaps[0].step == 0
    assert all(np.array_equal(snaps[0].weights[k], initial[k]) for k in initial)
    returns_while_held(session.stop)
    assert worker.is_alive(), "the step is still held"

    release.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert answers_after_release == [True], "the first check after the stop ends the gradient"
    final = session.snapshot(weights=True)
    assert final.state == "stopped" and final.step == 0
    assert all(np.array_equal(final.weights[k], initial[k]) for k in initial)


def returns_while_held(call) -> None:
    """Run call() in another thread; it must return while the trainer is held (it would hang if it
    waited for the step)."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "waited for the step"


def test_a_numerical_step_paused_midway_is_redone_with_the_same_batch(tmp_path):
    # 300-10-10 on 10 rows: about a sixth of a second per naive numerical step; random batches,
    # so drawing the batch again would change the run
    rng = np.random.default_rng(0)
    data = Dataset("noise", rng.random((100, 300), np.float32), rng.integers(0, 10, 100),
                   rng.random((20, 300), np.float32), rng.integers(0, 10, 20),
                   tuple("0123456789"), None, "random points", "this test")
    config = TrainConfig(hidden=(10,), batch_size=10, steps=2, gradient="numerical-naive", sampling="random")
    reference = trained(config, data)

    session = TrainingSession(config, data)
    worker = in_thread(session)
    session.start()
    wait_until(lambda: session.snapshot().step_progress > 0)
    session.pause()
    time.sleep(0.1)
    assert session.snapshot().step == 0 and session.snapshot().state == "paused"
    checkpoint = session.checkpoint()
    assert checkpoint.batch is not None
    session.save_checkpoint(tmp_path / "midway.npz")
    session.resume()
    worker.join(timeout=30)
    assert session.snapshot().state == "finished"
    assert_same_run(reference, session)

    resumed = TrainingSession.from_checkpoint(tmp_path / "midway.npz", data)
    resumed.start()
    resumed.run()
    assert_same_run(reference, resumed)


def test_set_learning_rate_is_validated_and_used_from_the_next_update(circle):
    session = TrainingSession(tiny(), circle)
    version = session.snapshot().version
    session.set_learning_rate(0.02)
    snap = session.snapshot()
    assert snap.learning_rate == 0.02 and session.optimizer.lr == 0.02 and snap.version > version
    with pytest.raises(ConfigError, match="lr=-1"):
        session.set_learning_rate(-1)
    assert session.snapshot().learning_rate == 0.02


def test_a_snapshot_holds_copies_that_cannot_be_written(circle):
    session = trained(tiny(), circle)
    snap = session.snapshot(weights=True)
    assert session.snapshot().weights is None
    session.network.params["W1"] += 1
    assert not np.array_equal(snap.weights["W1"], session.network.params["W1"])
    for array in (snap.weights["W1"], snap.losses, snap.loss_steps):
        with pytest.raises(ValueError):
            array[0] = 0


# ---------------------------------------------------------------------- reproducibility

RUNS = [(sampling, optimizer) for sampling in ("epoch", "random") for optimizer in ("sgd", "momentum", "adam")]


@pytest.mark.parametrize("sampling, optimizer", RUNS)
def test_a_paused_and_stepped_run_equals_an_uninterrupted_one(circle, sampling, optimizer):
    config = tiny(epochs=5, sampling=sampling, optimizer=optimizer, lr=0.05)
    reference = trained(config, circle)
    session = TrainingSession(config, circle)
    worker = in_thread(session)
    for n in (7, 1, 5):
        before = session.snapshot().step
        session.step(n)
        wait_until(lambda: session.snapshot().step == before + n)
    session.start()
    wait_until(lambda: session.snapshot().step > 20)
    session.pause()
    session.resume()
    worker.join(timeout=10)
    assert_same_run(reference, session)
    assert np.array_equal(reference.snapshot().losses, session.snapshot().losses)


@pytest.mark.parametrize("sampling, optimizer", RUNS)
def test_a_run_saved_and_resumed_from_a_checkpoint_equals_an_uninterrupted_one(circle, tmp_path, sampling, optimizer):
    config = tiny(epochs=5, sampling=sampling, optimizer=optimizer, lr=0.05)
    reference = trained(config, circle)
    first = TrainingSession(config, circle)
    worker = in_thread(first)
    first.step(13)  # mid-epoch: the epoch's row order must be saved too
    wait_until(lambda: first.snapshot().step == 13)
    first.save_checkpoint(tmp_path / "run.npz")
    first.stop()
    worker.join(timeout=2)

    resumed = TrainingSession.from_checkpoint(tmp_path / "run.npz", circle)
    assert resumed.snapshot().step == 13 and resumed.snapshot().state == "ready"
    resumed.start()
    resumed.run()
    assert_same_run(reference, resumed)
    done, again = reference.snapshot(), resumed.snapshot()
    assert np.array_equal(done.losses, again.losses) and np.array_equal(done.loss_steps, again.loss_steps)
    strip = lambda records: [(r.step, r.train_loss, r.test_accuracy) for r in records]  # noqa: E731
    assert strip(done.evaluations) == strip(again.evaluations)


def test_resuming_may_lengthen_the_run_but_not_change_the_network(circle, tmp_path):
    session = trained(tiny(epochs=2), circle)
    session.save_checkpoint(tmp_path / "run.npz")
    longer = TrainingSession.from_checkpoint(tmp_path / "run.npz", circle, config=tiny(epochs=4))
    longer.start()
    longer.run()
    assert_same_run(trained(tiny(epochs=4), circle), longer)
    with pytest.raises(ConfigError, match="hidden=.*when resuming"):
        TrainingSession.from_checkpoint(tmp_path / "run.npz", circle, config=tiny(hidden=(9,)))


# ---------------------------------------------------------------------- divergence


def test_a_huge_learning_rate_ends_in_divergence_keeping_the_last_finite_weights(circle):
    config = tiny(lr=1e6, weight_init=5.0, epochs=50)
    session = TrainingSession(config, circle)
    session.start()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow on the way to nan is not warned about
        final = session.run()
    assert final.state == "diverged" and final.step < final.total_steps
    assert f"at step {final.step + 1} (lr=1e+06)" in final.message
    assert "lower the learning rate" in final.message
    weights = session.snapshot(weights=True).weights
    assert all(np.isfinite(w).all() for w in weights.values())
    # kept: the weights before the last update, those of a run one step shorter
    assert final.step >= 2
    shorter = trained(config.replace(steps=final.step - 1), circle)
    assert all(np.array_equal(weights[k], shorter.network.params[k]) for k in weights)


def stepped(config: TrainConfig, dataset, schedule) -> TrainingSession:
    """A session driven by step(n) through `schedule`: (steps, learning rate) pairs, in order; the
    last pair's steps may be None: train at that rate until the run ends."""
    session = TrainingSession(config, dataset)
    worker = in_thread(session)
    done = 0
    for steps, lr in schedule:
        session.set_learning_rate(lr)
        if steps is None:
            session.start()
            break
        session.step(steps)
        done += steps
        wait_until(lambda: session.snapshot().step == done)
    if schedule[-1][0] is not None:
        session.stop()
    worker.join(timeout=30)
    assert not worker.is_alive()
    return session


def test_a_divergence_long_after_the_start_keeps_the_weights_and_state_of_the_step_before(circle):
    # 70 good steps at lr 0.1 (backups every 32), then lr 1e6 (Momentum): the loss blows up a few
    # steps later, and the run rewinds to a backup and replays the steps since, with their rates
    config = tiny(optimizer="momentum", weight_init=5.0, epochs=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diverged = stepped(config, circle, [(70, 0.1), (None, 1e6)])
    final = diverged.snapshot()
    assert final.state == "diverged" and final.step > 72
    assert f"after step {final.step - 1}," in final.message
    reference = stepped(config, circle, [(70, 0.1), (final.step - 1 - 70, 1e6)])
    assert reference.snapshot().step == final.step - 1
    assert_same_weights_and_state(diverged, reference)


def guarded_run(dataset, updates: int, every: int):
    """`updates` Momentum steps on a 2-8-2 network, at a rate that changes each step, under a
    DivergenceGuard; returns the guard, the network, the optimizer and each step's weights and state."""
    config = tiny(optimizer="momentum")
    net, optimizer = build_network(config, dataset), build_optimizer(config)
    x, t = dataset.x_train.astype(config.dtype), dataset.t_train
    guard = DivergenceGuard(net, optimizer, lambda rows: (x[rows], t[rows]), every=every)
    seen = [({k: p.copy() for k, p in net.params.items()}, optimizer.state_dict())]
    for step in range(updates):
        rows = np.arange(10 * step, 10 * step + 10) % dataset.n_train
        guard.before_update(step)
        optimizer.lr = 0.1 * (1 + step % 3)
        optimizer.update(net.params, net.gradient(x[rows], t[rows]))
        guard.record(rows, optimizer.lr)
        seen.append(({k: p.copy() for k, p in net.params.items()}, optimizer.state_dict()))
    optimizer.lr = 0.5
    return guard, net, optimizer, seen


@pytest.mark.parametrize("step", [8, 9, 10])
def test_a_rewind_gives_the_weights_and_state_of_any_step_since_the_backup_bit_for_bit(circle, step):
    guard, net, optimizer, seen = guarded_run(circle, updates=10, every=4)
    assert guard.backup.step == 8 and len(guard.backup.updates) == 2  # backed up after steps 0, 4, 8
    guard.rewind(step)
    weights, state = seen[step]
    assert all(np.array_equal(net.params[k], weights[k]) for k in weights)
    assert optimizer.state_dict().keys() == state.keys()
    assert all(np.array_equal(optimizer.state_dict()[k], state[k]) for k in state)
    assert optimizer.lr == 0.5  # the rate set last, not the replayed ones


# ---------------------------------------------------------------------- metrics


def test_the_loss_curve_stays_bounded_over_ten_million_steps():
    curve = LossCurve(capacity=2048)
    chunk = 1_000_000
    for first in range(1, 10_000_001, chunk):
        steps = np.arange(first, first + chunk)
        curve.extend(steps, np.ones(chunk))
    steps, losses = curve.arrays()
    assert len(steps) <= 2048 and steps[-1] == 10_000_000 and curve.last_step == 10_000_000
    assert np.all(np.diff(steps[:-1]) == curve.stride) and np.all(losses == 1.0)  # the last: a partial bucket
    assert curve.stride == 8192


def test_evaluation_records_stay_bounded_keeping_the_newest():
    history = MetricsHistory(eval_capacity=64)
    for step in range(1, 1001):
        history.add_evaluation(EvalRecord(step, step / 10, 1.0, 0.5, 1.0, 0.5, float(step)))
    kept = [record.step for record in history.evaluations]
    assert len(kept) <= 64 and kept[-1] == 1000 and kept == sorted(kept)
    assert kept[0] == 1  # thinned evenly from the start, not cut off
    restored = MetricsHistory.from_state_dict(history.state_dict())
    assert [record.step for record in restored.evaluations] == kept


def test_appending_one_by_one_and_in_bulk_give_the_same_curve():
    one, bulk = LossCurve(capacity=64), LossCurve(capacity=64)
    rng = np.random.default_rng(0)
    steps, losses = np.arange(1, 100_001), rng.random(100_000)
    for s, v in zip(steps.tolist(), losses.tolist()):
        one.append(s, v)
    bulk.extend(steps[:333], losses[:333])
    bulk.extend(steps[333:], losses[333:])
    (s1, l1), (s2, l2) = one.arrays(), bulk.arrays()
    assert one.stride == bulk.stride and np.array_equal(s1, s2) and np.allclose(l1, l2)
    assert len(s1) <= 65
    assert l1[0] == pytest.approx(losses[:one.stride].mean())  # each point: its steps' mean loss


def test_a_metrics_history_survives_its_state_dict():
    history = MetricsHistory(capacity=8)
    for step in range(1, 30):
        history.add_loss(step, 1.0 / step)
    history.add_evaluation(EvalRecord(10, 1.0, 0.5, 0.8, 0.6, 0.75, 1.5))
    copy = MetricsHistory.from_state_dict(history.state_dict())
    assert copy.evaluations == history.evaluations
    for a, b in zip(copy.loss.arrays(), history.loss.arrays()):
        assert np.array_equal(a, b)
    copy.add_loss(30, 0.1)
    history.add_loss(30, 0.1)
    assert np.array_equal(copy.loss.arrays()[1], history.loss.arrays()[1])


def test_speed_and_time_left_come_from_training_time():
    history = MetricsHistory()
    assert history.steps_per_second is None and history.eta(0, 100) is None
    history.tick(0, 0.0)
    history.tick(100, 1.0)
    history.tick(200, 2.0)
    assert history.steps_per_second == pytest.approx(100)
    assert history.eta(200, 1200) == pytest.approx(10)


def test_confusion_matrix_and_per_class_accuracy():
    confusion = confusion_matrix(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), 3)
    assert confusion.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 0]]
    accuracy = per_class_accuracy(confusion)
    assert accuracy[:2].tolist() == [0.5, 2 / 3] and np.isnan(accuracy[2])
