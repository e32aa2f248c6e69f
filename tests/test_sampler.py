"""BatchSampler: epochs cover the rows once each, a drawn batch waits for its step, its state resumes."""

import numpy as np
import pytest

from core.config import TrainConfig
from core.sampling import BatchSampler
from core.training import TrainingSession, load_data


def sampler(sampling: str = "epoch", n_train: int = 25, batch_size: int = 5, seed: int = 0) -> BatchSampler:
    return BatchSampler(n_train, batch_size, sampling, np.random.default_rng(seed))


def batches(sampler: BatchSampler, steps: range) -> list[np.ndarray]:
    """The batch of each step in `steps`, each used as a step uses it."""
    drawn = []
    for step in steps:
        drawn.append(sampler.batch(step).copy())
        sampler.done()
    return drawn


def test_an_epochs_batches_cover_every_row_exactly_once_in_a_fresh_order_each_epoch():
    rows = batches(sampler(n_train=27, batch_size=5), range(3 * 5))  # 5 steps an epoch, 2 rows left over
    epochs = [np.concatenate(rows[k * 5:(k + 1) * 5]) for k in range(3)]
    for epoch in epochs:
        assert len(epoch) == 25 and len(np.unique(epoch)) == 25 and set(epoch) <= set(range(27))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])


def test_the_sessions_epochs_cover_every_training_row_exactly_once():
    config = TrainConfig(dataset="circle", n_samples=200, hidden=(4,), batch_size=10, epochs=3)
    session = TrainingSession(config, load_data(config))
    drawn, batch = [], session.sampler.batch
    session.sampler.batch = lambda step: drawn.append(batch(step).copy()) or drawn[-1]
    session.start()
    session.run()
    per_epoch = session.steps_per_epoch
    assert len(drawn) == 3 * per_epoch
    epochs = [np.concatenate(drawn[k * per_epoch:(k + 1) * per_epoch]) for k in range(3)]
    for rows in epochs:
        np.testing.assert_array_equal(np.sort(rows), np.arange(session.dataset.n_train))
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each epoch


def test_random_batches_are_drawn_with_replacement_as_the_notebook_does():
    rng = np.random.default_rng(3)
    expected = [rng.choice(25, 5) for _ in range(4)]
    for got, want in zip(batches(sampler("random", seed=3), range(4)), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("sampling", ["epoch", "random"])
def test_a_batch_stays_drawn_until_its_step_is_done(sampling):
    s = sampler(sampling)
    first = s.batch(0)
    assert s.batch(0) is first  # a step redone (a numerical gradient cut short) takes the same rows
    s.done()
    assert not np.array_equal(s.batch(1), first)


@pytest.mark.parametrize("sampling", ["epoch", "random"])
@pytest.mark.parametrize("pending", [False, True])
def test_a_sampler_loaded_from_anothers_state_draws_the_same_batches(sampling, pending):
    original = sampler(sampling)
    batches(original, range(7))  # into the second epoch
    if pending:
        original.batch(7)
    state = original.state_dict()
    resumed = sampler(sampling, seed=99)
    resumed.load_state_dict(**state)
    for want, got in zip(batches(original, range(7, 20)), batches(resumed, range(7, 20))):
        np.testing.assert_array_equal(got, want)


def test_the_state_is_a_copy_and_names_the_checkpoints_fields():
    s = sampler()
    s.batch(0)
    state = s.state_dict()
    assert set(state) == {"rng_state", "order", "order_epoch", "batch"}
    assert state["order_epoch"] == 0 and not np.shares_memory(state["order"], s.order)
    assert not np.shares_memory(state["batch"], s.pending)
    assert state["rng_state"] == s.rng.bit_generator.state


@pytest.mark.parametrize("change, fragment", [
    (dict(order=np.arange(24)), "epoch order is not a permutation of the training rows"),
    (dict(order=np.zeros(25, np.int64)), "epoch order is not a permutation of the training rows"),
    (dict(batch=np.arange(4)), "pending batch does not fit the training set"),
    (dict(batch=np.array([0, 1, 2, 3, 25])), "pending batch does not fit the training set"),
    (dict(rng_state={"bit_generator": "MT19937"}), "random state is invalid"),
])
def test_a_state_that_does_not_fit_is_refused_naming_the_part(change, fragment):
    s = sampler()
    s.batch(0)
    with pytest.raises(ValueError, match=fragment):
        sampler().load_state_dict(**{**s.state_dict(), **change})
