"""The app, driven as a user drives it: keys through the pilot, at 80x24 and 120x40.

`pilot.press` waits for the app to go idle (up to a second per call), which it never does while
training runs flat out in a thread; so keys pressed while training go through `press`, below,
which sends them to the app the way the pilot does but then only pauses briefly.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from textual import events
from textual.widgets import DataTable, Input, Static

from core.config import TrainConfig
from core.gradcheck import VERDICTS
from core.training import TrainingSession, load_data
from tests.app_driving import ready, stop, wait_for
from tui.app import COMMANDS, ScratchNetApp
from tui.components.charts import AccuracyChart, LossChart
from tui.components.config_form import ConfigForm, FieldRow
from tui.components.decision_view import DecisionView
from tui.components.file_dialog import ConfirmDialog, PathDialog
from tui.components.gradcheck_view import GradCheckView
from tui.components.help_screen import HelpScreen
from tui.components.unsaved_dialog import UnsavedDialog
from tui.components.weights_view import WeightsView

SIZES = [(80, 24), (120, 40)]
# A run that does not end during a test: a small 2-D problem, many epochs.
LONG_CIRCLE = TrainConfig(dataset="circle", hidden=(8,), batch_size=10, epochs=100_000, lr=0.1)


KEY_CHARS = {"space": " ", "left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?"}


async def press(pilot, *keys: str, pause: float = 0.05) -> None:
    """Post key events to the app, as `pilot.press` does, without its waits for idle."""
    app = pilot.app
    for key in keys:
        event = events.Key(key, KEY_CHARS.get(key, key if len(key) == 1 else None))
        event.set_sender(app)
        app.post_message(event)
        await pilot.pause(pause)


def snap(app: ScratchNetApp):
    return app.session.snapshot()


def record_notifications(app: ScratchNetApp) -> list[str]:
    notes: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        notes.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return notes


# ------------------------------------------------------------------------------------ training


@pytest.mark.parametrize("size", SIZES)
async def test_space_starts_training_and_pauses_it(size):
    app = ScratchNetApp(LONG_CIRCLE, refresh_hz=20)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        assert snap(app).state == "ready" and snap(app).step == 0
        assert "READY" in app.status.text
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).step > 50, what="steps")
        first = snap(app).step
        chart = app.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.steps) > 0, what="the loss series")
        last = chart.steps[-1]  # (the series is decimated as it grows: its last step, not its length)
        await wait_for(pilot, lambda: snap(app).step > first, what="more steps")
        await wait_for(pilot, lambda: chart.steps[-1] > last, what="the loss series to grow")
        assert snap(app).state == "training"
        assert "TRAINING" in app.status.text

        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).state == "paused", what="paused")
        at_pause = snap(app).step
        await pilot.pause(0.3)
        paused_at = snap(app).step
        assert paused_at in (at_pause, at_pause + 1), "only the step under way when the pause came in ends"
        await pilot.pause(0.3)
        assert snap(app).step == paused_at
        await wait_for(pilot, lambda: chart.steps[-1] == paused_at, what="the chart to catch up")
        await pilot.pause(0.3)
        assert chart.steps[-1] == paused_at
        assert "PAUSED" in app.status.text
        assert f"step {paused_at:,}/" in app.status.text

        await press(pilot, "space")  # resume
        await wait_for(pilot, lambda: snap(app).step > paused_at, what="resumed steps")
        await press(pilot, "s")
        await wait_for(pilot, lambda: snap(app).state == "stopped", what="stopped")


async def test_n_does_one_step_and_s_stops():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: snap(app).step == 1, what="one step")
        await pilot.pause(0.2)
        assert snap(app).step == 1 and snap(app).state == "paused"
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: snap(app).step == 3, what="two more steps")
        await pilot.press("s")
        await wait_for(pilot, lambda: snap(app).state == "stopped", what="stopped")
        await pilot.pause(0.3)
        assert "STOPPED" in app.status.text
        assert snap(app).step == 3


async def test_default_app_opens_on_mnist_sample():
    with pytest.raises(ValueError):
        ScratchNetApp(refresh_hz=0)
    app = ScratchNetApp()  # what `scratchnet` with no arguments runs
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        config = app.session.config
        assert (config.dataset, config.hidden, config.activation, config.optimizer, config.lr, config.batch_size) == (
            "mnist-sample", (100,), "relu", "sgd", 0.1, 100)
        assert app.form.build()[0] == config
        assert snap(app).total_steps == 10 * 80
        timer = next(t for t in app._timers if t.name == "poll")
        assert timer._interval == pytest.approx(1 / 4)  # refresh_hz: 4 polls a second by default


# ----------------------------------------------------------------------------------- the form


@pytest.mark.parametrize(
    "field, text, reason, size",
    [("hidden", "10,-3", "layer sizes must be >= 1", (80, 24)),
     ("lr", "abc", "'abc' is not a number", (120, 40)),
     ("batch_size", "0", "batch_size=0", (80, 24))],
)
async def test_invalid_field_is_marked_and_blocks_the_start(field, text, reason, size):
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        box = app.query_one(f"#f-{field}", Input)
        box.focus()
        box.value = ""
        await pilot.press(*text)  # typed as a user types it
        await pilot.pause()
        row = app.query_one(f"#row-{field}", FieldRow)
        assert row.has_class("-invalid")
        note = row.query_one(".field-note")
        assert note.display and "✗" in row.note and reason in str(note.render())
        assert "invalid" in app.form.status_text

        await pilot.press("escape")  # out of the form
        assert app.focused.id == "views"
        await pilot.press("space")
        await pilot.pause(0.3)
        assert snap(app).state == "ready" and snap(app).step == 0
        assert any("Cannot start" in n and field in n and reason in n for n in notes), notes

        # fixing the field clears the mark and lets the run start
        box.value = {"hidden": "10,3", "lr": "0.1", "batch_size": "10"}[field]
        await pilot.pause()
        assert not row.has_class("-invalid") and not note.display
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).step > 0, what="the run to start")
        await stop(pilot)


async def test_form_edits_apply_to_the_next_run():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.query_one("#f-hidden", Input).value = "5,4"
        app.query_one("#f-optimizer").value = "momentum"
        await pilot.pause()
        assert app.query_one("#row-momentum").display and not app.query_one("#row-beta1").display
        app.query_one("#f-momentum", Input).value = "0.5"
        await pilot.pause()
        assert app.form.status_text == "edited: r applies it"
        await press(pilot, "space")  # ready + a changed form: a new session from the form
        await wait_for(pilot, lambda: app.session.config.hidden == (5, 4) and snap(app).step > 0, what="the new run")
        assert app.session.config.optimizer == "momentum"
        assert dict(app.session.config.optimizer_params) == {"momentum": 0.5}
        assert app.session.network.sizes == (2, 5, 4, 2)
        await stop(pilot)


async def test_r_reinitialises_and_c_collapses_the_form():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: snap(app).step == 2, what="two steps")
        old = app.session
        await pilot.press("r")  # two unsaved steps: it asks first
        assert isinstance(app.screen, UnsavedDialog)
        await pilot.press("d")  # discard them
        await wait_for(pilot, lambda: app.session is not old and not app.loading, what="a new session")
        assert snap(app).step == 0 and snap(app).state == "ready"
        assert old.snapshot().state == "stopped"
        form = app.query_one(ConfigForm)
        assert form.display
        await pilot.press("c")
        assert not form.display
        await pilot.press("e")
        assert form.display and app.focused is not None and app.focused.id.startswith("f-")
        await pilot.press("escape")
        assert app.focused.id == "views"


# ---------------------------------------------------------------------------------- the views


@pytest.mark.parametrize("size", SIZES)
async def test_g_fills_the_gradient_check_table(size):
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(16, 8)))
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("g")
        assert app.view == "gradcheck"
        await wait_for(pilot, lambda: app.gradcheck_result is not None, what="the gradient check")
        await pilot.pause()
        view = app.query_one(GradCheckView)
        table = view.query_one(DataTable)
        names = ["W1", "b1", "W2", "b2", "W3", "b3"]
        assert table.row_count == len(names)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == names
        verdict_column = table.get_column("verdict")
        verdicts = [str(cell).split()[-1] for cell in verdict_column]
        assert all(v in VERDICTS for v in verdicts), verdicts
        assert app.gradcheck_result.verdict in ("good", "acceptable", "inconclusive")


async def test_g_again_cancels_a_running_check(monkeypatch):
    import tui.app as app_module
    from core.gradcheck import GradCheckCancelled

    calls = {}

    def slow_check(net, x, t, *, progress, should_stop, **kwargs):
        calls["rows"] = len(x)
        for done in range(1, 10_000):
            if should_stop():
                calls["cancelled_at"] = done
                raise GradCheckCancelled("gradient check cancelled")
            progress(done, 10_000)
            time.sleep(0.001)
        raise AssertionError("never cancelled")

    monkeypatch.setattr(app_module, "gradient_check", slow_check)
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(20,)))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await press(pilot, "g")
        await wait_for(pilot, lambda: calls.get("rows") == 8 and app.gradcheck_running, what="the check")
        view = app.query_one(GradCheckView)
        assert view.state == "running"
        await press(pilot, "g")
        await wait_for(pilot, lambda: not app.gradcheck_running, what="the cancellation")
        workers = [w for w in app.workers if w.group == "gradcheck"]
        await wait_for(pilot, lambda: all(w.is_finished for w in workers), what="the check's thread")
        assert "cancelled_at" in calls
        await pilot.pause(0.1)
        assert app.gradcheck_result is None
        assert view.state == "error" and "cancelled" in str(view.query_one("#gc-summary").render())


@pytest.mark.parametrize("size", SIZES)
async def test_weights_view_shows_tiles_for_mnist_sample(size):
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(32,)))
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("3")
        view = app.query_one(WeightsView)
        await pilot.pause()
        assert view.display and app.view == "weights"
        assert view.weights["W1"].shape == (784, 32)
        assert view.image_shape == (28, 28)
        assert view.tiles_on_page() > 0
        page = view.current_page
        assert page.kind == "tiles" and page.layer == "W1"
        # the tiles follow the training: a step changes them (redrawn when paused)
        before = view.weights["W1"].copy()
        await pilot.press("n")
        await wait_for(pilot, lambda: not np.array_equal(view.weights["W1"], before), what="redrawn tiles")
        if view.page_count > 1:
            await pilot.press("full_stop")
            assert view.page == 1


async def test_only_the_visible_view_is_redrawn():
    app = ScratchNetApp(LONG_CIRCLE, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3")  # weights on screen, the loss chart hidden
        await press(pilot, "space")
        weights = app.query_one(WeightsView)
        await wait_for(pilot, lambda: weights.version >= 1 and snap(app).step > 100, what="tiles drawn while on screen")
        await pilot.pause(0.3)
        loss = app.query_one(LossChart)
        assert len(loss.steps) == 0 and loss.data_version <= 1
        await press(pilot, "1")
        await wait_for(pilot, lambda: app.view == "loss" and len(loss.steps) > 0, what="the loss chart on screen")
        weights_version, loss_version = weights.version, loss.data_version
        # two more chart redraws: at least one chart interval, as long as the weights' redraw interval
        await wait_for(pilot, lambda: loss.data_version >= loss_version + 2, what="the loss chart redrawn")
        assert weights.version == weights_version
        await stop(pilot)


@pytest.mark.parametrize("size", SIZES)
async def test_decision_view_draws_regions_for_spiral(size):
    config = TrainConfig(dataset="spiral", hidden=(16, 16), batch_size=10, epochs=100_000,
                         optimizer="adam", lr=0.01)
    app = ScratchNetApp(config, refresh_hz=10)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("5")
        view = app.query_one(DecisionView)
        await pilot.pause()
        assert view.predictor is not None
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).step > 1000, what="training")
        first = view.evaluations
        await wait_for(pilot, lambda: view.evaluations > first, what="live redraws")
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).state == "paused", what="paused")
        await pilot.pause(0.3)
        grid = view.probability_grid(view.size.width, 2 * (view.size.height - 1))
        regions = grid.argmax(axis=-1)
        assert set(np.unique(regions)) == {0, 1}  # both classes have a region
        assert len(view.points[0]) == app.dataset.n_train and len(view.points[1]) == app.dataset.n_test
        await stop(pilot)


async def test_views_follow_a_new_network():
    app = ScratchNetApp(TrainConfig(dataset="gauss", hidden=(4,), batch_size=10, epochs=2))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("5", "space")
        await wait_for(pilot, lambda: snap(app).state == "finished", what="the end of the run")
        await pilot.press("g")
        await wait_for(pilot, lambda: app.gradcheck_result is not None, what="the gradient check")
        await pilot.press("5")
        old_session = app.session
        app.query_one("#f-dataset").value = "moons"
        await pilot.pause()
        await pilot.press("r")
        assert isinstance(app.screen, UnsavedDialog)  # the trained network goes only when the user says so
        await pilot.press("d")
        await wait_for(pilot, lambda: app.session is not old_session and not app.loading, what="a new session")
        await pilot.pause(0.3)
        view = app.query_one(DecisionView)
        assert view.display and view.predictor is not None
        assert app.dataset.name == "moons" and np.array_equal(view.points[0], app.dataset.x_train)
        assert app.query_one(GradCheckView).state == "empty"  # the old network's table is gone
        await pilot.press("4")
        assert app.query_one(GradCheckView).display


# ------------------------------------------------------------------------- learning rate keys


async def test_brackets_change_the_running_sessions_learning_rate():
    app = ScratchNetApp(LONG_CIRCLE.replace(lr=0.1))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).step > 10, what="training")
        await press(pilot, "right_square_bracket")
        await wait_for(pilot, lambda: app.session.optimizer.lr == pytest.approx(0.2), what="lr 0.2")
        assert snap(app).learning_rate == pytest.approx(0.2)
        await press(pilot, "left_square_bracket")
        await wait_for(pilot, lambda: app.session.optimizer.lr == pytest.approx(0.1), what="lr 0.1")
        await press(pilot, "left_square_bracket")
        await wait_for(pilot, lambda: app.session.optimizer.lr == pytest.approx(0.05), what="lr 0.05")
        assert app.query_one("#f-lr", Input).value == "0.05"
        assert snap(app).state == "training"
        await pilot.pause(0.3)
        assert "lr 0.05" in app.status.text
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).state == "paused", what="paused")
        await pilot.press("right_square_bracket")  # paused: the pilot's own press
        assert app.session.optimizer.lr == pytest.approx(0.1)
        await stop(pilot)


# -------------------------------------------------------------------------------- checkpoints


async def test_save_then_load_restores_the_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n", "n", "n", "n", "n")
        await wait_for(pilot, lambda: snap(app).step == 5, what="five steps")
        saved = app.session.snapshot(weights=True).weights

        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PathDialog)
        box = app.screen.query_one(Input)
        assert box.value == "scratchnet.npz"
        box.value = str(tmp_path / "run.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "run.npz").exists(), what="the checkpoint file")

        await pilot.press("n")
        await wait_for(pilot, lambda: snap(app).step == 6, what="a step after the save")
        await pilot.press("r", "d")  # a fresh network (discarding the unsaved step): the trained weights are gone
        await wait_for(pilot, lambda: snap(app).step == 0 and not app.loading, what="re-initialisation")
        fresh = app.session.snapshot(weights=True).weights
        assert not np.array_equal(fresh["W1"], saved["W1"])

        await pilot.press("ctrl+o")
        assert isinstance(app.screen, PathDialog)
        app.screen.query_one(Input).value = str(tmp_path / "missing.npz")
        await pilot.press("enter")
        assert isinstance(app.screen, PathDialog)  # refused, with the reason
        assert "does not exist" in str(app.screen.query_one("#path-error").render())
        app.screen.query_one(Input).value = str(tmp_path / "run.npz")
        await pilot.press("enter")
        await wait_for(pilot, lambda: snap(app).step == 5 and not app.loading, what="the loaded session")
        loaded = app.session.snapshot(weights=True).weights
        for name in saved:
            np.testing.assert_array_equal(loaded[name], saved[name])
        assert snap(app).state == "ready"
        await pilot.press("n")  # and the run goes on from there
        await wait_for(pilot, lambda: snap(app).step == 6, what="a step after loading")


async def test_the_app_opens_on_a_saved_run_with_the_changes_a_resume_allows(tmp_path):
    config = LONG_CIRCLE.replace(steps=7)
    session = TrainingSession(config, load_data(config))
    session.start()
    session.run()
    session.save_checkpoint(tmp_path / "run.npz")
    saved = session.snapshot(weights=True).weights

    app = ScratchNetApp(config.replace(steps=1000, lr=0.05), resume=tmp_path / "run.npz")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert (snap(app).step, snap(app).total_steps, snap(app).state) == (7, 1000, "ready")
        loaded = app.session.snapshot(weights=True).weights
        for name in saved:
            np.testing.assert_array_equal(loaded[name], saved[name])
        shown, errors = app.form.build()
        assert not errors and (shown.lr, shown.steps, shown.hidden) == (0.05, 1000, (8,))
        assert app.checkpoint_path == str(tmp_path / "run.npz")  # ctrl+s offers to save it back there
        await pilot.press("n")
        await wait_for(pilot, lambda: snap(app).step == 8, what="a step of the resumed run")


async def test_loading_a_bad_checkpoint_says_why(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        session = app.session
        await pilot.press("ctrl+o")
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        assert isinstance(app.screen, PathDialog)  # refused in the dialog, with the reason
        assert "bad.npz is not a ScratchNet checkpoint" in str(app.screen.query_one("#path-error").render())
        await pilot.press("escape")
        assert app.session is session and not app.loading
        await pilot.press("n")
        await wait_for(pilot, lambda: snap(app).step == 1, what="the app to go on")


async def test_a_run_finishes_and_more_epochs_continue_it():
    app = ScratchNetApp(TrainConfig(dataset="gauss", hidden=(4,), batch_size=10, epochs=2))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("2", "space")
        await wait_for(pilot, lambda: snap(app).state == "finished", what="the end of the run")
        chart = app.query_one(AccuracyChart)
        await wait_for(pilot, lambda: len(chart.x) == 2, what="an evaluation per epoch")
        assert chart.test_acc[-1] > 0.9
        await pilot.pause(0.3)
        assert "FINISHED" in app.status.text
        done = snap(app).step
        weights = app.session.snapshot(weights=True).weights
        app.query_one("#f-epochs", Input).value = "4"
        await pilot.pause()
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "finished" and snap(app).step == 2 * done,
                       what="two more epochs")
        assert app.session.config.epochs == 4
        assert len(snap(app).evaluations) == 4  # the history went on too
        await wait_for(pilot, lambda: len(chart.x) == 4, what="the accuracy chart to go on")
        assert not np.array_equal(app.session.snapshot(weights=True).weights["W1"], weights["W1"])


# ------------------------------------------------------------------------------------- errors


async def test_divergence_is_shown_and_the_app_lives_on():
    app = ScratchNetApp(TrainConfig(dataset="circle", hidden=(8,), batch_size=10, epochs=1000, lr=1e6))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "diverged", what="divergence")
        await pilot.pause(0.2)
        assert "DIVERGED" in app.status.text
        assert "lower the learning rate" in app.status.text
        assert any("lower the learning rate" in n for n in notes)
        # the app goes on: a lower learning rate, a new run
        app.query_one("#f-lr", Input).value = "0.1"
        await pilot.pause()
        assert snap(app).step > 0
        await pilot.press("space")
        assert isinstance(app.screen, UnsavedDialog)  # the diverged run's steps go only when the user says so
        await press(pilot, "d")
        await wait_for(pilot, lambda: snap(app).state == "training" and snap(app).step > 10, what="a new run")
        await stop(pilot)


async def test_an_exception_in_the_worker_is_shown_and_the_app_lives_on(monkeypatch):
    from core.training import TrainingSession

    calls = {"n": 0}
    original = TrainingSession._train_step

    def flaky(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom in the training loop")
        return original(self)

    monkeypatch.setattr(TrainingSession, "_train_step", flaky)
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await pilot.press("space")
        await wait_for(pilot, lambda: snap(app).state == "error", what="the error")
        await pilot.pause(0.2)
        assert "ERROR" in app.status.text and "boom in the training loop" in app.status.text
        assert any("boom" in n for n in notes)
        await pilot.press("2", "1", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("space")  # a new run, once the two unsaved steps are discarded
        assert isinstance(app.screen, UnsavedDialog)
        await press(pilot, "d")
        await wait_for(pilot, lambda: snap(app).state == "training", what="a new run")
        await stop(pilot)


async def test_a_dataset_that_fails_to_load_is_shown(monkeypatch):
    import tui.app as app_module
    from core.datasets import DatasetError

    def broken(config, progress=None):
        raise DatasetError("cannot reach any mirror for mnist")

    monkeypatch.setattr(app_module, "load_data", broken)
    app = ScratchNetApp(TrainConfig(dataset="mnist"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: not app.loading, what="the failure")
        await pilot.pause(0.1)
        assert app.session is None
        assert "ERROR" in app.status.text and "cannot reach any mirror" in app.status.text
        await pilot.press("space", "n", "g", "3", "ctrl+s")  # nothing to do, nothing breaks
        assert app.is_running


async def test_dataset_download_progress_is_shown_while_the_ui_stays_live(monkeypatch):
    import threading

    import tui.app as app_module

    release = threading.Event()
    real_load = app_module.load_data

    def slow_download(config, progress=None):
        progress(0, 2_000_000)
        progress(1_000_000, 2_000_000)
        release.wait(10)
        progress(2_000_000, 2_000_000)
        return real_load(config)

    monkeypatch.setattr(app_module, "load_data", slow_download)
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "50% of 2.0 MB" in app.status.text, what="download progress")
        assert app.loading and app.session is None
        assert "LOADING" in app.status.text
        await pilot.press("3", "question_mark", "escape", "1")  # the UI answers meanwhile
        assert app.view == "loss"
        await pilot.press("space")  # queued until the data is there
        release.set()
        await wait_for(pilot, lambda: app.session is not None and snap(app).step > 0, what="the queued start")
        await stop(pilot)


# ---------------------------------------------------------------------------------- quitting


def test_quit_while_training_asks_then_stops_the_run():
    """Through App.run(), as `scratchnet` runs it: asyncio.run() returns only once the worker
    threads have ended, the training thread's included."""
    # a run of several seconds: were quitting to wait for its end, it would end "finished"
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(100,), epochs=100))
    seen = {}

    async def auto_pilot(pilot):
        await ready(pilot)
        await press(pilot, "space")
        await wait_for(pilot, lambda: snap(app).step > 5, what="training")
        await press(pilot, "q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        seen["asked"] = True
        await press(pilot, "n")  # no: training goes on
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog), what="the answer")
        await pilot.pause(0.2)
        seen["after no"] = (app.is_running, snap(app).state)
        await press(pilot, "q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question again")
        seen["state"] = snap(app).state
        await press(pilot, "y", pause=0)

    app.run(headless=True, size=(80, 24), auto_pilot=auto_pilot)
    assert seen["asked"] and seen["after no"] == (True, "training")
    assert seen["state"] == "training"
    final = app.session.snapshot()
    assert final.state == "stopped" and final.step < final.total_steps, "quitting stopped the run"


async def test_quit_when_idle_does_not_ask():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


# ------------------------------------------------------------------------- help and palette


async def test_help_screen_and_command_palette_list_every_action():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = [k for k, _ in app.screen.rows]
        for command in COMMANDS:
            assert command.keys in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        commands = list(app.get_system_commands(app.screen))
        titles = [c.title for c in commands]
        for command in COMMANDS:
            assert any(command.title in t for t in titles), command.title
        # and they run: "One step" from the palette
        step = next(c for c in commands if c.title.startswith("One step"))
        await step.callback()
        await wait_for(pilot, lambda: snap(app).step == 1, what="a step from the palette")


async def test_a_hidden_list_too_long_for_its_field_is_shown_whole_beneath_it():
    app = ScratchNetApp(LONG_CIRCLE.replace(hidden=(100,) * 6))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        note = app.query_one("#row-hidden .field-note", Static)
        await wait_for(pilot, lambda: "100" in str(note.render()), what="the whole list")
        assert str(note.render()) == "6 hidden layers: 100, 100, 100, 100, 100, 100"
        app.query_one("#f-hidden", Input).value = "8,4"  # fits: no note
        await wait_for(pilot, lambda: str(note.render()) == "", what="the note to go")
