"""A run's life in the app: a trained network is never lost without the user's say, a saved run
reopens exactly as saved, and form edits apply when they can (and say so when they cannot)."""

from __future__ import annotations

import threading

import numpy as np
from textual.widgets import Input

from core.config import TrainConfig
from core.training import TrainingSession, load_data
from tests.app_driving import ready, stop, wait_for
from tests.test_app import LONG_CIRCLE, press, record_notifications, snap
from tui.app import ScratchNetApp
from tui.components.file_dialog import PathDialog
from tui.components.unsaved_dialog import UnsavedDialog

# A run that finishes within a test: 25 steps an epoch, two epochs.
SHORT_GAUSS = TrainConfig(dataset="gauss", hidden=(4,), batch_size=10, epochs=2)


def weights(app_or_session) -> dict[str, np.ndarray]:
    session = getattr(app_or_session, "session", app_or_session)
    return session.snapshot(weights=True).weights


def assert_same_weights(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def trained(config: TrainConfig, steps: int, dataset=None) -> TrainingSession:
    """A session of `config` that did `steps` steps straight, headless, and stopped there."""
    session = TrainingSession(config, dataset or load_data(config))
    session.step(steps)
    worker = threading.Thread(target=session.run)
    worker.start()
    while session.snapshot().step < steps:
        worker.join(0.01)
    session.stop()
    worker.join()
    return session


def saved_run(path, config: TrainConfig, steps: int) -> None:
    """A run of `config` trained `steps` steps and saved to `path`, as `scratchnet train --save` does."""
    trained(config, steps).save_checkpoint(path)


def resumed(path, config: TrainConfig | None = None) -> TrainingSession:
    """What `scratchnet train --resume` runs: the checkpoint's session, trained to its target."""
    session = TrainingSession.from_checkpoint(path, config=config)
    session.start()
    session.run()
    return session


# ------------------------------------------------------------------------ stop, finish, go on


async def test_space_continues_a_stopped_run_with_its_network():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n", "n", "s")
        await wait_for(pilot, lambda: snap(app).state == "stopped", what="the stop")
        assert snap(app).step == 3
        assert app.check_action("toggle_run", ("continue",))  # the footer says what space does
        await pilot.press("n")  # one more step of the same run
        await wait_for(pilot, lambda: snap(app).step == 4 and snap(app).state == "paused", what="step 4")
        # the same run went on: its weights are those of a run that went straight to step 4
        assert_same_weights(weights(app), weights(trained(LONG_CIRCLE, 4, app.dataset)))
        await pilot.press("s")
        await wait_for(pilot, lambda: snap(app).state == "stopped", what="the second stop")
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "training" and snap(app).step > 4, what="the run going on")
        assert not isinstance(app.screen, UnsavedDialog)
        await stop(pilot)


async def test_space_continues_a_finished_run_for_another_epochs():
    app = ScratchNetApp(SHORT_GAUSS)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "finished", what="the end of the run")
        done = snap(app).step
        assert done == 50
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "finished" and snap(app).step == 2 * done,
                       what="two more epochs")
        assert any("to 4 epochs" in note for note in notes), notes
        assert app.session.config.epochs == 4
        assert app.query_one("#f-epochs", Input).value == "4"  # the form shows the new target
        assert app.form.status_text == ""  # ... so it still describes the run
        await pilot.pause(0.3)
        assert "epoch 4/4" in app.status.text
        assert len(snap(app).evaluations) == 4  # one history, going on


# ----------------------------------------------------------------------- asking before a discard


async def test_r_asks_before_discarding_unsaved_steps_and_cancel_keeps_them():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")  # nothing trained yet: no question
        await wait_for(pilot, lambda: not app.loading, what="the fresh network")
        assert not isinstance(app.screen, UnsavedDialog)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: snap(app).step == 2, what="two steps")
        session, trained = app.session, weights(app)
        await pilot.press("r")
        assert isinstance(app.screen, UnsavedDialog)
        assert "2 training steps" in str(app.screen.query_one("Static").render())
        await pilot.press("c")  # cancel: the run is kept
        await pilot.pause(0.2)
        assert app.session is session and not app.loading
        assert_same_weights(weights(app), trained)
        await pilot.press("r", "escape")  # escape cancels too
        await pilot.pause(0.2)
        assert app.session is session
        app.mark_saved(2)  # what the save path says once the file is written
        await pilot.press("r")  # saved: nothing to lose, no question
        await wait_for(pilot, lambda: app.session is not session and not app.loading, what="the fresh network")
        assert snap(app).step == 0


async def test_save_first_writes_the_checkpoint_then_goes_on(tmp_path):
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n", "n")
        await wait_for(pilot, lambda: snap(app).step == 3, what="three steps")
        session, trained = app.session, weights(app)
        await pilot.press("r", "s")  # save first
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
        app.screen.query_one(Input).value = str(tmp_path / "kept.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session is not session and not app.loading, what="the fresh network")
        assert snap(app).step == 0
        kept = TrainingSession.from_checkpoint(tmp_path / "kept.npz")
        assert kept.snapshot().step == 3
        assert_same_weights(weights(kept), trained)


async def test_a_save_marks_the_run_saved_and_a_cancelled_save_first_discards_nothing(tmp_path):
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: snap(app).step == 2, what="two steps")
        session = app.session
        await pilot.press("r", "s")  # save first ...
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
        await pilot.press("escape")  # ... but no: nothing saved, nothing discarded
        await pilot.pause(0.2)
        assert app.session is session and app.unsaved_steps == 2
        await pilot.press("ctrl+s")  # a save of its own later does not discard the run either
        app.screen.query_one(Input).value = str(tmp_path / "run.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.unsaved_steps == 0, what="the run marked saved")
        await pilot.pause(0.2)
        assert app.session is session
        await pilot.press("r")  # nothing unsaved: no question
        await wait_for(pilot, lambda: app.session is not session and not app.loading, what="the fresh network")


async def test_confirm_discard_is_the_hook_for_anything_that_replaces_the_network():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        calls = []
        app.confirm_discard(lambda: calls.append("fresh"))  # no steps: at once
        assert calls == ["fresh"]
        await pilot.press("n")
        await wait_for(pilot, lambda: snap(app).step == 1, what="a step")
        app.confirm_discard(lambda: calls.append("after d"), "open a checkpoint")
        await pilot.pause()
        assert isinstance(app.screen, UnsavedDialog) and calls == ["fresh"]
        assert "To open a checkpoint" in str(app.screen.query_one("Static").render())
        await pilot.press("d")
        assert calls == ["fresh", "after d"]


# --------------------------------------------------------------------------- reopening a run


async def test_a_saved_adam_run_reopens_as_saved_and_goes_on_bit_for_bit(tmp_path):
    config = TrainConfig(dataset="circle", hidden=(8,), batch_size=10, steps=30, optimizer="adam", lr=0.01)
    saved_run(tmp_path / "run.npz", config, 12)
    expected = weights(resumed(tmp_path / "run.npz"))

    app = ScratchNetApp(config, resume=tmp_path / "run.npz")  # as `scratchnet app --resume run.npz`
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert snap(app).step == 12
        assert app.form.status_text == ""  # nothing edited: Adam's betas shown are not betas set
        assert app.check_action("toggle_run", ("resume",))
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "finished", what="the end of the run")
        assert snap(app).step == 30
        assert_same_weights(weights(app), expected)


async def test_a_run_saved_by_the_app_reopens_unedited(tmp_path):
    """The app builds its configs from the form: Adam's betas explicit; reopened, they match."""
    config = TrainConfig(dataset="circle", hidden=(8,), batch_size=10, steps=30, optimizer="adam",
                         optimizer_params={"beta1": 0.9, "beta2": 0.999}, lr=0.0123456789)
    saved_run(tmp_path / "run.npz", config, 3)
    app = ScratchNetApp(config, resume=tmp_path / "run.npz")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.form.status_text == ""
        shown, _ = app.form.build()
        assert shown == app.session.config  # an lr of many digits too


async def test_a_finished_run_reopened_goes_on_rather_than_restarting(tmp_path):
    config = TrainConfig(dataset="circle", hidden=(8,), batch_size=10, steps=7, optimizer="adam", lr=0.01)
    saved_run(tmp_path / "done.npz", config, 7)
    expected = weights(resumed(tmp_path / "done.npz", config.replace(steps=14)))

    app = ScratchNetApp(config, resume=tmp_path / "done.npz")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert snap(app).step == 7 and app.form.status_text == ""
        assert app.check_action("toggle_run", ("continue",))
        await pilot.press("space")  # another 7 steps
        await wait_for(pilot, lambda: snap(app).state == "finished" and snap(app).step == 14,
                       what="seven more steps")
        assert_same_weights(weights(app), expected)


# ------------------------------------------------------------------------------ form edits


async def test_a_learning_rate_typed_in_the_form_applies_to_the_running_session():
    app = ScratchNetApp(LONG_CIRCLE.replace(lr=0.1))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).step > 10, what="training")
        field = app.query_one("#f-lr", Input)
        field.focus()
        field.value = "0.025"
        await press(pilot, "enter")  # the edit is done: it applies now, the run goes on
        await wait_for(pilot, lambda: app.session.optimizer.lr == 0.025, what="the new learning rate")
        assert snap(app).state == "training" and snap(app).learning_rate == 0.025
        await wait_for(pilot, lambda: app.form.status_text == "", what="the form to describe the run")
        await stop(pilot)


async def test_an_edit_that_needs_a_fresh_network_is_pending_in_the_status_line():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: snap(app).step == 2, what="two steps")
        session = app.session
        app.query_one("#f-hidden", Input).value = "6,3"
        await wait_for(pilot, lambda: "pending: hidden" in app.status.text, what="the pending note")
        assert app.form.status_text == "edited: r applies it"
        notes = record_notifications(app)
        await pilot.press("space")  # resumes the run's own network: the edit still waits for r
        await wait_for(pilot, lambda: snap(app).step > 2, what="the run going on")
        assert app.session is session and app.session.network.sizes == (2, 8, 2)
        assert any("r starts over" in note for note in notes)
        await stop(pilot)
        await pilot.pause(0.3)
        assert "pending: hidden" in app.status.text
        assert app.form.status_text == "edited: space starts a run with it"
        assert app.check_action("toggle_run", ("start",))  # and the footer says space starts
        await pilot.press("space")  # the run ended: the edited form makes a fresh run, once the user says so
        assert isinstance(app.screen, UnsavedDialog)
        await pilot.press("d")
        await wait_for(pilot, lambda: app.session.network.sizes == (2, 6, 3, 2) and snap(app).step > 0,
                       what="the fresh run with the edit")
        assert "pending" not in app.status.text and app.form.status_text == ""
        await stop(pilot)


async def test_a_2d_problem_brings_its_family_defaults_where_the_user_set_nothing():
    app = ScratchNetApp(TrainConfig(hidden=(8,)))  # mnist-sample: batch 100, lr 0.1
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        field = lambda name: app.query_one(f"#f-{name}", Input).value  # noqa: E731
        app.query_one("#f-dataset").value = "spiral"
        await pilot.pause()
        assert (field("batch_size"), field("lr")) == ("10", "0.03")  # TF Playground's
        app.query_one("#f-lr", Input).value = "0.5"  # the user's own
        app.query_one("#f-dataset").value = "moons"  # 2-D to 2-D: nothing changes
        await pilot.pause()
        assert (field("batch_size"), field("lr")) == ("10", "0.5")
        app.query_one("#f-dataset").value = "mnist-sample"
        await pilot.pause()
        assert (field("batch_size"), field("lr")) == ("100", "0.5")  # the image default; the user's lr kept
        config, errors = app.form.build()
        assert not errors and (config.batch_size, config.lr) == (100, 0.5)


async def test_ctrl_o_opens_a_finished_adam_run_as_saved_and_space_goes_on(tmp_path):
    config = TrainConfig(dataset="circle", hidden=(8,), batch_size=10, steps=7, optimizer="adam", lr=0.01)
    saved_run(tmp_path / "done.npz", config, 7)
    expected = weights(resumed(tmp_path / "done.npz", config.replace(steps=14)))

    app = ScratchNetApp(LONG_CIRCLE)  # another run in the form; nothing trained yet
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        app.screen.query_one(Input).value = str(tmp_path / "done.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: snap(app).step == 7 and not app.loading, what="the opened run")
        await pilot.pause()
        assert app.form.status_text == "" and app.unsaved_steps == 0
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "finished" and snap(app).step == 14,
                       what="seven more steps")
        assert_same_weights(weights(app), expected)


async def test_ctrl_o_asks_before_replacing_a_run_with_unsaved_steps(tmp_path):
    other = TrainConfig(dataset="circle", hidden=(8,), batch_size=10, steps=7)
    saved_run(tmp_path / "other.npz", other, 7)
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: snap(app).step == 2, what="two steps")
        session, trained = app.session, weights(app)
        await pilot.press("ctrl+o")
        app.screen.query_one(Input).value = str(tmp_path / "other.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedDialog), what="the question")
        assert "open a checkpoint" in str(app.screen.query_one("Static").render())
        await pilot.press("c")  # cancel: the run is kept, nothing opened
        await pilot.pause(0.3)
        assert app.session is session and not app.loading
        assert_same_weights(weights(app), trained)
        await pilot.press("ctrl+o")
        app.screen.query_one(Input).value = str(tmp_path / "other.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedDialog), what="the question again")
        await pilot.press("d")  # discard: the checkpoint opens
        await wait_for(pilot, lambda: app.session is not session and not app.loading and snap(app).step == 7,
                       what="the opened run")
