"""One table, COMMANDS, gives the app's key bindings, its palette's commands and its help screen; and the
gradient check runs in a worker of its own group, cancelled and reported by Textual's worker machinery."""

from __future__ import annotations

import threading

from textual.keys import _character_to_key
from textual.worker import WorkerState

from core.config import TrainConfig
from tests.app_driving import ready, wait_for
from tests.test_app import record_notifications
from tui.app import COMMANDS, SPACE_DOES, ScratchNetApp
from tui.components.gradcheck_view import GradCheckView
from tui.components.help_screen import HelpScreen
from tui.messages import GradCheckProgress

CIRCLE = TrainConfig(dataset="circle", hidden=(4,), batch_size=10, epochs=1000, lr=0.1)


def action_name(action: str) -> str:
    return action.split("(")[0]


def command_of(binding) -> object:
    """The row of COMMANDS that declares `binding`."""
    (command,) = [command for command in COMMANDS if binding in command.bindings()]
    return command


# ------------------------------------------------------------------------------------ the table


def test_every_binding_is_declared_by_one_command_with_the_same_action():
    assert ScratchNetApp.BINDINGS, "no bindings"
    for binding in ScratchNetApp.BINDINGS:
        assert action_name(binding.action) == action_name(command_of(binding).action), binding


def test_the_keys_the_help_screen_shows_are_the_keys_bound_to_that_command():
    for command in COMMANDS:
        bound = {key for binding in command.bindings() for key in binding.key.split(",")}
        shown = {key if len(key) > 1 else _character_to_key(key) for key in command.keys.split()}
        assert shown <= bound, (command.keys, bound)


def test_no_key_is_bound_twice_but_space_whose_bindings_check_action_tells_apart():
    owners: dict[str, list[str]] = {}
    for binding in ScratchNetApp.BINDINGS:
        for key in binding.key.split(","):
            owners.setdefault(key, []).append(binding.action)
    doubled = {key: actions for key, actions in owners.items() if len(actions) > 1}
    assert doubled == {"space": [f"toggle_run('{does}')" for does in SPACE_DOES]}


async def test_every_bindings_action_is_in_the_help_screen_and_the_palette():
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_rows = app.screen.rows
        await pilot.press("escape")
        palette = {command.title: command for command in app.get_system_commands(app.screen)}
        for binding in ScratchNetApp.BINDINGS:
            command = command_of(binding)
            assert (command.keys, command.help_line or command.title) in help_rows, binding
            entry = palette[f"{command.title} ({command.keys})"]
            assert entry.help == command.help


async def test_space_has_one_binding_in_force_which_the_footer_names():
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        space = [binding for binding in ScratchNetApp.BINDINGS if binding.key == "space"]
        in_force = [binding.id for binding in space
                    if app.check_action("toggle_run", (binding.action.split("'")[1],))]
        assert in_force == ["start"]
        await pilot.press("n")  # a step: space now resumes
        await wait_for(pilot, lambda: app.session.snapshot().step == 1, what="a step")
        in_force = [binding.id for binding in space
                    if app.check_action("toggle_run", (binding.action.split("'")[1],))]
        assert in_force == ["resume"]


# ------------------------------------------------------------------------ the gradient check


def held_gradcheck(monkeypatch) -> dict:
    """A gradient check that reports progress, then waits for `release` and returns `result`, cancelled or
    not (as a check between two parameters does); it records whether it was asked to stop."""
    import tui.app as app_module

    calls: dict = {"release": threading.Event(), "result": None}

    def check(net, x, t, *, progress, should_stop, **kwargs):
        calls["started"] = calls.get("started", 0) + 1
        progress(1, 10)
        calls["release"].wait(10)
        calls["asked_to_stop"] = should_stop()
        return calls["result"]

    monkeypatch.setattr(app_module, "gradient_check", check)
    return calls


def gradcheck_workers(app):
    return [worker for worker in app.workers if worker.group == "gradcheck"]


async def test_g_again_cancels_the_worker_and_its_late_result_is_not_shown(monkeypatch):
    calls = held_gradcheck(monkeypatch)
    calls["result"] = "late"  # what a cancelled check would hand back if it were listened to
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: calls.get("started") == 1, what="the check")
        (worker,) = gradcheck_workers(app)
        await pilot.press("g")
        assert worker.is_cancelled and not app.gradcheck_running
        calls["release"].set()
        await wait_for(pilot, lambda: "asked_to_stop" in calls, what="the check's thread")
        await pilot.pause()
        assert calls["asked_to_stop"]  # should_stop reads the worker's cancellation
        assert worker.state == WorkerState.CANCELLED
        assert app.gradcheck_result is None
        view = app.query_one(GradCheckView)
        assert view.state == "error" and "cancelled" in str(view.query_one("#gc-summary").render())


async def test_progress_of_a_cancelled_check_is_not_shown(monkeypatch):
    calls = held_gradcheck(monkeypatch)
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: calls.get("started") == 1, what="the check")
        (worker,) = gradcheck_workers(app)
        await pilot.press("g")
        view = app.query_one(GradCheckView)
        summary = str(view.query_one("#gc-summary").render())
        app.post_message(GradCheckProgress(5, 10, worker))
        await pilot.pause()
        assert view.state == "error" and str(view.query_one("#gc-summary").render()) == summary
        calls["release"].set()


async def test_a_new_network_cancels_a_running_check_the_exclusive_group_keeps_one(monkeypatch):
    calls = held_gradcheck(monkeypatch)
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("g")
        await wait_for(pilot, lambda: calls.get("started") == 1, what="the check")
        (first,) = gradcheck_workers(app)
        await pilot.press("g", "g")  # cancel, then check again
        await wait_for(pilot, lambda: calls.get("started") == 2, what="the second check")
        running = [worker for worker in gradcheck_workers(app) if not worker.is_cancelled]
        assert first.is_cancelled and len(running) == 1 and app.gradcheck_running
        await pilot.press("r")  # a fresh network: its check would be of the old one
        await wait_for(pilot, lambda: not app.gradcheck_running, what="the check cancelled")
        assert all(worker.is_cancelled for worker in gradcheck_workers(app))
        calls["release"].set()


async def test_a_failed_check_says_why_once(monkeypatch):
    import tui.app as app_module

    def broken(*args, **kwargs):
        raise ValueError("no rows")

    monkeypatch.setattr(app_module, "gradient_check", broken)
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await pilot.press("g")
        await wait_for(pilot, lambda: not app.gradcheck_running, what="the failure")
        view = app.query_one(GradCheckView)
        assert view.state == "error" and "ValueError: no rows" in str(view.query_one("#gc-summary").render())
        assert [note for note in notes if "no rows" in note] == ["ValueError: no rows"]  # not twice
