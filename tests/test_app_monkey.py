"""The app survives what a user's hands and terminal do to it: key-mashing, rapid toggling, resizes,
loading a checkpoint mid-run, and quitting at any moment (issue 7).

Keys go through the app's driver, as `Pilot.press` sends them, but with a short pause instead of
the pilot's wait for idle (which never comes while training runs flat out in a thread). Every
TrainingSession.run() is counted while it runs (the `runs` fixture): at most one training loop may
be alive at a time, and none after the app has quit. Datasets that need a download fail at once,
as offline: the monkey may pick mnist in the form, and no test waits on the network.
"""

from __future__ import annotations

import asyncio
import os
import random
import string
import threading
import time
import unicodedata

import numpy as np
import pytest
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.widgets import Footer, Input
from textual.worker import WorkerState

import tui.app as app_module
from core.checkpoint import load_checkpoint
from core.config import TrainConfig
from core.datasets import DATASETS, DatasetError
from core.training import ENDED, TrainingSession
from tests.app_driving import ready, stop, wait_for
from tui.app import ScratchNetApp, ViewTabs
from tui.components.charts import LossChart
from tui.components.config_form import ConfigForm
from tui.components.file_dialog import ConfirmDialog, PathDialog
from tui.components.help_screen import HelpScreen
from tui.components.status_bar import StatusBar
from tui.components.unsaved_dialog import UnsavedDialog
from tui.components.weights_view import WeightsView

# Runs that do not end during a test.
CIRCLE = TrainConfig(dataset="circle", hidden=(16,), batch_size=10, epochs=100_000, lr=0.1)
MNIST_SAMPLE = TrainConfig(dataset="mnist-sample", hidden=(16,), batch_size=20, epochs=1000, lr=0.1)


# ------------------------------------------------------------------------------------- keys


def binding_keys(*owners: type) -> list[str]:
    """Every key of the owners' BINDINGS (a binding may list several, comma-separated)."""
    keys: set[str] = set()
    for owner in owners:
        for binding in owner.BINDINGS:
            key = binding.key if isinstance(binding, Binding) else binding[0]
            keys.update(k.strip() for k in key.split(","))
    return sorted(keys)


APP_KEYS = binding_keys(ScratchNetApp)
SCREEN_KEYS = binding_keys(HelpScreen, PathDialog, ConfirmDialog, ConfigForm, LossChart, WeightsView)
PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
NAVIGATION = ["tab", "shift+tab", "escape", "enter", "up", "down", "left", "right", "backspace"]
QUIT_KEYS = {"q", "ctrl+q"}


def key_event(key: str) -> events.Key:
    """The Key event a terminal sends for `key` (a key name or one character), as Pilot.press makes it."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


async def send(pilot, *keys: str, pause: float = 0.02) -> None:
    """Post key events to the app, as its driver does, without the pilot's waits for idle."""
    app = pilot.app
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        app.post_message(event)
        await pilot.pause(pause)


async def mash(pilot, key: str, pause: float = 0.01) -> None:
    """Press a key and go on after `pause`, whether or not the app has handled it (a user mashing keys)."""
    event = key_event(key)
    event.set_sender(pilot.app)
    pilot.app.post_message(event)
    await asyncio.sleep(pause)


async def resize(pilot, width: int, height: int, pause: float = 0.05) -> None:
    """pilot.resize_terminal without its wait for idle (which the monkey must not wait on: a trainer
    keeps the app busy); the headless driver's size is what pilot.resize_terminal sets too."""
    size = Size(width, height)
    pilot.app._driver._size = size
    pilot.app.post_message(events.Resize(size, size))
    await pilot.pause(pause)


async def settle(pilot, rounds: int = 4) -> None:
    """Let the keys sent so far land: the app forwards a key to the focused widget, which handles it
    or lets it bubble to the bindings; each round waits for every queue on the screen to drain once."""
    for _ in range(rounds):
        await asyncio.sleep(0)
        await pilot._wait_for_screen()  # pilot.pause() would also wait for idle, up to a second a round



def state(app: ScratchNetApp) -> str | None:
    return app.state


def record_notifications(app: ScratchNetApp) -> list[tuple[str, str]]:
    """(title, message) of every notification from now on."""
    notes: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        notes.append((str(kwargs.get("title", "")), str(message)))
        return notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return notes


def unexpected(notes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Notifications that say something broke (a worker failed, a view could not draw, the loop raised)."""
    return [(t, m) for t, m in notes if t == "Error" or t.startswith("Cannot draw") or t == "Training error"]


# --------------------------------------------------------------------------------- fixtures


class RunTracker:
    """Counts TrainingSession.run() calls under way, and remembers every session that ran."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live = 0
        self.sessions: list[TrainingSession] = []


@pytest.fixture
async def runs(monkeypatch):  # async: set up after the test's event loop, and torn down before it
    tracker = RunTracker()
    original = TrainingSession.run

    def run(self):
        with tracker.lock:
            tracker.live += 1
            tracker.sessions.append(self)
        try:
            return original(self)
        finally:
            with tracker.lock:
                tracker.live -= 1

    monkeypatch.setattr(TrainingSession, "run", run)
    yield tracker
    for session in tracker.sessions:  # a failed test must not hang on a loop nobody stopped
        session.stop()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Datasets that need a download fail at once; saves and loads happen in tmp_path."""
    real_load = app_module.load_data

    def load_data(config, progress=None):
        if DATASETS[config.dataset].needs_download:
            raise DatasetError(f"cannot download {config.dataset}: offline in this test")
        return real_load(config, progress=progress)

    monkeypatch.setattr(app_module, "load_data", load_data)
    monkeypatch.chdir(tmp_path)


async def at_most_one_run(pilot, runs: RunTracker, what: str = "") -> None:
    """At most one training loop alive (an old one may take a moment to finish its last step)."""
    await wait_for(pilot, lambda: runs.live <= 1, what=f"at most one training loop {what}")


def runs_ended(runs: RunTracker, timeout: float = 10.0) -> bool:
    """Called after the app has gone: wait (blocking) for every training loop to return."""
    deadline = time.monotonic() + timeout
    while runs.live and time.monotonic() < deadline:
        time.sleep(0.01)
    return runs.live == 0


async def to_main_screen(pilot, keys: list[str] | None = None) -> None:
    """Close whatever is on top of the main screen (escape says no / cancel / close)."""
    app = pilot.app
    for _ in range(10):
        if app.screen is app.main:
            return
        await send(pilot, "escape", pause=0.05)
        if keys is not None:
            keys.append("escape")
    assert app.screen is app.main, f"cannot close {app.screen!r}"


async def assert_status_agrees(pilot, context: str = "") -> None:
    """With no run training: after a poll, the status line shows the session's state, epoch and step."""
    app = pilot.app
    await wait_for(pilot, lambda: not app.loading, what="the session being built")
    await wait_for(pilot, lambda: state(app) != "training", what="no training")
    await pilot.pause(2.5 / app.refresh_hz)  # a poll or two
    snap = app.session.snapshot()
    status = app.main.query_one(StatusBar)
    head = status.parts[0].plain
    assert status.state == snap.state, f"status {status.state!r}, session {snap.state!r} {context}"
    assert head.startswith("● " + snap.state.upper()), f"{head!r} vs {snap.state} {context}"
    assert f"step {snap.step:,}/{snap.total_steps:,}" in head, f"{head!r} vs step {snap.step} {context}"
    epochs = -(-snap.total_steps // snap.steps_per_epoch)
    under_way = min(snap.epoch + 1, epochs)  # as `scratchnet train` counts: 1/5 before the first step
    assert f"epoch {under_way}/{epochs}" in head, f"{head!r} vs epoch {snap.epoch} done {context}"


# ---------------------------------------------------------------------------- 1. the monkey


N_KEYS = 250
SIZES = [(40, 12), (48, 14), (60, 18), (72, 20), (80, 24), (100, 30), (120, 40)]


async def quit_key_is_safe(pilot, key: str) -> bool:
    """Would `key` (q or ctrl+q) leave the app running? Waits for the keys before it to land first."""
    app = pilot.app
    await settle(pilot)  # everything sent so far is handled: the screen and focus are current
    screen = app.screen
    if isinstance(screen, ConfirmDialog):
        return False  # quit is already being asked; a run that ended meanwhile would quit at once
    if key == "q" and isinstance(screen, HelpScreen):
        return True  # closes the help
    if key == "q" and isinstance(app.focused, Input):
        return True  # typed into a field
    return state(app) == "training"  # asks first


async def focus_views(pilot, keys: list[str] | None = None) -> None:
    """Escape out of the form (an open drop-down first) until the views pane has the focus."""
    app = pilot.app
    views = app.main.query_one("#views")
    for _ in range(3):
        if app.focused is views or views in getattr(app.focused, "ancestors", ()):
            return
        await send(pilot, "escape", pause=0.05)
        if keys is not None:
            keys.append("escape")
    assert app.focused is views or views in getattr(app.focused, "ancestors", ()), f"focus on {app.focused!r}"


async def start_training(pilot, config: TrainConfig, keys: list[str]) -> None:
    """What a teacher does to get a run going again: close dialogs, fix the form, leave it, space."""
    app = pilot.app
    await to_main_screen(pilot, keys)
    if app.form.errors:  # random typing made a field invalid: put the form back
        app.form.set_config(config)
        keys.append("<form reset>")
    await focus_views(pilot, keys)
    await send(pilot, "space")
    keys.append("space")


async def monkey(pilot, rng: random.Random, n_keys: int, runs: RunTracker, keys: list[str],
                 config: TrainConfig) -> int:
    """Send n_keys random keys (and resizes); returns how many were sent while a run was training."""
    app = pilot.app
    modal_for = 0
    training = 0
    for i in range(n_keys):
        if i and i % 25 == 0:
            assert app.is_running, f"the app quit; last keys {keys[-20:]}"
            await at_most_one_run(pilot, runs, f"after {keys[-20:]}")
            assert app.screen_stack[0] is app.main
            await settle(pilot)  # keys sent faster than they are handled do not pile up
            if rng.random() < 0.7 and state(app) != "training":  # training part of the time
                await start_training(pilot, config, keys)
        if i == n_keys // 3 or i == 2 * n_keys // 3:  # a sweep down to the smallest and back up
            sweep = SIZES if i == n_keys // 3 else SIZES[::-1]
            for width, height in sweep:
                await resize(pilot, width, height, pause=0.02)
                keys.append(f"<{width}x{height}>")
        elif rng.random() < 0.03:
            width, height = rng.choice(SIZES)
            await resize(pilot, width, height, pause=0.02)
            keys.append(f"<{width}x{height}>")

        if isinstance(app.screen, ConfirmDialog):
            key = rng.choice(["n", "escape"])  # never y: that would quit
        elif app.screen is not app.main and modal_for > rng.randint(3, 12):
            key = "escape"  # do not stay in a dialog forever
        else:
            draw = rng.random()
            if draw < 0.45:
                key = rng.choice(APP_KEYS + SCREEN_KEYS)
            elif draw < 0.75:
                key = rng.choice(PRINTABLE)
            else:
                key = rng.choice(NAVIGATION)
        if key in QUIT_KEYS and not await quit_key_is_safe(pilot, key):
            keys.append(f"({key} skipped)")
            continue
        training += state(app) == "training"
        await mash(pilot, key)
        keys.append(key)
        if key in QUIT_KEYS:
            await settle(pilot)  # the quit question, if any, is up before the next key is chosen
        modal_for = modal_for + 1 if app.screen is not app.main else 0
    return training


def monkey_seeds() -> list:
    """Seeds 1 (circle) and 3 (mnist-sample); SCRATCHNET_MONKEY_SEEDS="4,5,6" runs others instead
    (a multiple of 3 on mnist-sample), for a longer hunt (about 20 s a seed)."""
    chosen = os.environ.get("SCRATCHNET_MONKEY_SEEDS", "1,3")
    seeds = [int(seed) for seed in chosen.replace(" ", "").split(",") if seed]
    return [pytest.param(seed, MNIST_SAMPLE if seed % 3 == 0 else CIRCLE,
                         id=f"{'mnist-sample' if seed % 3 == 0 else 'circle'}-{seed}") for seed in seeds]


@pytest.mark.parametrize("seed, config", monkey_seeds())
async def test_monkey_keys_and_resizes(seed, config, runs):
    rng = random.Random(seed)
    app = ScratchNetApp(config)  # polls at the default 4 Hz
    keys: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await send(pilot, "space")  # training from the start
        training = await monkey(pilot, rng, N_KEYS, runs, keys, config)
        assert training > N_KEYS // 5, f"only {training} of {N_KEYS} keys came while training"

        # still running, on its main screen, and answering
        assert app.is_running, f"the app quit; last keys {keys[-20:]}"
        await resize(pilot, 80, 24)
        await to_main_screen(pilot, keys)
        await asyncio.wait_for(pilot.pause(), 5)
        assert app.screen is app.main and len(app.screen_stack) == 1
        await focus_views(pilot, keys)
        await send(pilot, "2")
        await wait_for(pilot, lambda: app.view == "accuracy", what="a view key to work")
        await send(pilot, "1")
        await wait_for(pilot, lambda: app.view == "loss", what="a view key to work")
        await at_most_one_run(pilot, runs, f"after {keys[-20:]}")

        # the status line agrees with the session: paused (or ended), after a poll
        if state(app) == "training":
            await send(pilot, "space")
        await assert_status_agrees(pilot, f"(seed {seed}, last keys {keys[-20:]})")
        # and a run can be started (or resumed) again, from a valid form
        if app.form.errors:
            app.form.set_config(config)
        session = app.session
        before = session.snapshot().step
        await send(pilot, "space")
        await wait_for(pilot, lambda: state(app) == "training" and (
            app.session is not session or app.session.snapshot().step > before), what="training again")
        assert not unexpected(notes), f"{unexpected(notes)} (seed {seed}, keys {keys})"
        assert not [w for w in app.workers if w.state == WorkerState.ERROR]
        # only the app's session may still be alive
        for session in runs.sessions:
            if session is not app.session:
                assert session.snapshot().state in ENDED, session.snapshot().state
    assert runs_ended(runs), "a training loop outlived the app"


# ------------------------------------------------------------------ 2. rapid start/stop/reset


def train_workers(app: ScratchNetApp) -> list:
    return [w for w in app.workers if w.group == "train" and not w.is_finished]


async def test_rapid_start_stop_reset_toggling(runs):
    baseline = threading.active_count()
    app = ScratchNetApp(CIRCLE, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await send(pilot, "space")
        await wait_for(pilot, lambda: state(app) == "training", what="training")
        for i in range(50):
            for key in ("space", "s", "r", "d"):  # d: discard the unsaved steps, when r asks
                await mash(pilot, key, pause=0.005)
            if i % 10 == 9:
                await settle(pilot)
                await at_most_one_run(pilot, runs, f"at round {i}")
                # and Textual's side: a replaced worker is cancelled (its task ends an iteration later)
                await wait_for(pilot, lambda: len(train_workers(app)) <= 1, what="one train worker")
        await mash(pilot, "space", pause=0.005)  # ... and one more start: it is the last word
        await wait_for(pilot, lambda: not app.loading and state(app) == "training", what="the last start")
        before = app.session.snapshot().step
        await wait_for(pilot, lambda: app.session.snapshot().step > before, what="training")
        await at_most_one_run(pilot, runs)
        await send(pilot, "s")  # a stop is the last word too
        await wait_for(pilot, lambda: state(app) == "stopped", what="stopped")
        await assert_status_agrees(pilot)
        await pilot.pause(0.2)
        assert state(app) == "stopped" and not app.loading
        await at_most_one_run(pilot, runs)
        for session in runs.sessions:
            assert session.snapshot().state in ENDED
        assert len(runs.sessions) > 20  # r built new sessions (each one's loop ran)
        assert not unexpected(notes), unexpected(notes)
        await send(pilot, "q")
    assert runs_ended(runs)
    # no leaked threads: once the executor that ran the workers is shut, the count is back to where it was
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.shutdown_default_executor(), 5)
    assert threading.active_count() <= baseline, [t.name for t in threading.enumerate()]


async def test_stop_while_a_start_waits_for_the_session_cancels_the_start(runs):
    """space then s while the session is being built: the run must not start after all."""
    app = ScratchNetApp(CIRCLE, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        release = threading.Event()
        real_prepare = app._dataset_for

        def slow(config):
            release.wait(5)
            return real_prepare(config)

        app._dataset_for = slow  # the rebuild below waits until released
        await send(pilot, "r")
        assert app.loading
        await send(pilot, "space", "s")
        release.set()
        await wait_for(pilot, lambda: not app.loading, what="the new session")
        await pilot.pause(0.3)
        assert state(app) == "ready" and app.session.snapshot().step == 0
        await assert_status_agrees(pilot)


async def test_switching_away_from_a_focused_view_leaves_the_focus_in_the_views():
    """Found by the monkey: tab onto the loss chart, press 5 (regions, not focusable): the focus was lost."""
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        views = app.main.query_one("#views")
        app.main.query_one(LossChart).focus()
        await pilot.pause()
        await pilot.press("5")
        assert app.focused is views, app.focused
        await pilot.press("3")
        app.main.query_one(WeightsView).focus()  # a focusable view hands the focus to the next one
        await pilot.pause()
        await pilot.press("2")
        assert app.focused is app.main.query_one("#view-accuracy")
        await pilot.press("escape", "n")  # and the keys still work
        await wait_for(pilot, lambda: app.session.snapshot().step == 1, what="a step")


# ------------------------------------------------------------------------------- 3. resizes


def layout(app: ScratchNetApp) -> dict[str, object]:
    main = app.main
    widgets = {"config": main.query_one(ConfigForm), "views": main.query_one("#views"),
               "tabs": main.query_one(ViewTabs), "switcher": main.query_one("#switcher"),
               "status": main.query_one(StatusBar), "footer": main.query_one(Footer)}
    return {name: (w.region, w.display) for name, w in widgets.items()}


async def test_resizes_down_to_40x12_and_back_while_training(runs):
    app = ScratchNetApp(CIRCLE, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await send(pilot, "space")
        await wait_for(pilot, lambda: state(app) == "training", what="training")
        await pilot.pause(0.2)
        normal = layout(app)
        assert normal["config"][0].width == 32 and normal["status"][0].height == 2

        sizes = [(72, 22), (64, 20), (56, 16), (48, 14), (40, 12), (60, 18), (100, 30), (120, 40), (80, 24)]
        for view in ("1", "5"):
            await send(pilot, view)
            for width, height in sizes:
                await resize(pilot, width, height, pause=0.05)
                assert app.size == (width, height)
                assert app.screen is app.main and len(app.screen_stack) == 1
                if width in (40, 56, 120):
                    app.export_screenshot()  # renders the whole screen again, to an SVG: nothing raises
                status = app.main.query_one(StatusBar)
                await wait_for(pilot, lambda: status.region.bottom <= height and status.region.height >= 1,
                               what=f"the status line laid out at {width}x{height}")
                assert "TRAINING" in status.text
                assert state(app) == "training"
        assert app.size == (80, 24)
        await send(pilot, "1")
        await wait_for(pilot, lambda: layout(app) == normal, what="the 80x24 layout again")
        assert not unexpected(notes), unexpected(notes)
        await send(pilot, "s")
        await assert_status_agrees(pilot)
    assert runs_ended(runs)


# --------------------------------------------------------------- 4. loading while training


async def test_loading_a_checkpoint_while_training(tmp_path, runs):
    path = tmp_path / "earlier.npz"
    app = ScratchNetApp(CIRCLE, refresh_hz=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        notes = record_notifications(app)
        await send(pilot, *"nnnnn")
        await wait_for(pilot, lambda: app.session.snapshot().step == 5, what="five steps")
        await send(pilot, "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
        app.screen.query_one(Input).value = str(path)
        await send(pilot, "enter")
        await wait_for(pilot, lambda: path.exists(), what="the checkpoint")
        saved = load_checkpoint(path)

        await send(pilot, "r")  # a fresh network, trained for a while
        await wait_for(pilot, lambda: not app.loading and app.session.snapshot().step == 0, what="a new session")
        await send(pilot, "space")
        await wait_for(pilot, lambda: app.session.snapshot().step > 200, what="training")
        old = app.session
        await send(pilot, "ctrl+o")  # while training
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the load dialog")
        app.screen.query_one(Input).value = str(path)
        await send(pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedDialog), what="the question: the run has unsaved steps")
        await send(pilot, "d")
        await wait_for(pilot, lambda: app.session is not old and not app.loading, what="the loaded session")
        assert old.snapshot().state == "stopped"
        await wait_for(pilot, lambda: runs.live == 1, what="only the loaded session's loop")

        snap = app.session.snapshot(weights=True)
        assert snap.step == saved.step == 5 and snap.state == "ready"
        assert set(snap.weights) == set(saved.weights)
        for name, array in saved.weights.items():
            np.testing.assert_array_equal(snap.weights[name], array)
        assert app.form.build()[0] == saved.config
        await assert_status_agrees(pilot)

        await send(pilot, "space")  # the run continues from the checkpoint
        await wait_for(pilot, lambda: app.session.snapshot().step > 50, what="training after loading")
        assert state(app) == "training"
        assert not unexpected(notes), unexpected(notes)
        await stop(pilot)
    assert runs_ended(runs)


# ------------------------------------------------------------------------------- 5. quitting


@pytest.fixture
def slow_gradcheck(monkeypatch):
    """A gradient check that runs until cancelled (it checks should_stop as the real one does)."""
    calls: dict[str, object] = {}
    from core.gradcheck import GradCheckCancelled

    def check(net, x, t, *, progress, should_stop, **kwargs):
        calls["started"] = True
        try:
            for done in range(1, 100_000):
                if should_stop():
                    raise GradCheckCancelled("gradient check cancelled")
                progress(done, 100_000)
                time.sleep(0.001)
            raise AssertionError("never cancelled")
        finally:
            calls["ended"] = True

    monkeypatch.setattr(app_module, "gradient_check", check)
    return calls


async def quit_now(pilot) -> float:
    """Press q (y when asked; q also closes the help first) until the app has gone; seconds taken."""
    app = pilot.app
    start = time.monotonic()
    for _ in range(6):
        screen = app.screen
        key = "y" if isinstance(screen, ConfirmDialog) else "q"
        event = key_event(key)
        event.set_sender(app)
        app.post_message(event)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if not app.is_running:
                return time.monotonic() - start
            if app.screen is not screen:
                break
    raise AssertionError(f"q did not quit; the screen is {app.screen!r}")


@pytest.mark.parametrize("moment", ["idle", "loading", "training", "gradcheck", "help", "help-training",
                                    "save-dialog", "saving"])
async def test_quit_at_any_moment(moment, runs, slow_gradcheck, tmp_path):
    app = ScratchNetApp(CIRCLE, refresh_hz=20)
    path = tmp_path / "quit.npz"
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        if moment in ("training", "help-training", "save-dialog", "saving"):
            await send(pilot, "space")
            await wait_for(pilot, lambda: app.session.snapshot().step > 20, what="training")
        if moment == "loading":
            real_dataset_for = app._dataset_for

            def slow(config):
                time.sleep(0.5)
                return real_dataset_for(config)

            app._dataset_for = slow
            await send(pilot, "r")  # a session being built
            assert app.loading
        if moment == "gradcheck":
            await send(pilot, "g")
            await wait_for(pilot, lambda: app.gradcheck_running and slow_gradcheck.get("started"), what="the check")
        if moment.startswith("help"):
            await send(pilot, "question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        if moment in ("save-dialog", "saving"):
            await send(pilot, "ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
            app.screen.query_one(Input).value = str(path)
            if moment == "save-dialog":
                await send(pilot, "q")  # types a q: the dialog's field has the keys
                value = app.screen.query_one(Input).value
                assert app.is_running and len(value) == len(str(path)) + 1 and "q" in value
                await send(pilot, "escape")  # out of the dialog, then q
                await wait_for(pilot, lambda: app.screen is app.main, what="the dialog closed")
            else:
                await send(pilot, "enter", pause=0)
                await wait_for(pilot, lambda: app.screen is app.main, what="the dialog closed")
                # the save runs in its thread while the app quits
        start = time.monotonic()
        elapsed_quit = await quit_now(pilot)
    elapsed = time.monotonic() - start
    assert elapsed_quit < 10 and elapsed < 10, f"quitting took {elapsed:.2f} s: hung?"
    assert runs_ended(runs), "a training loop outlived the app"
    assert app.session.snapshot().state in ENDED
    if moment == "gradcheck":
        deadline = time.monotonic() + 10
        while not slow_gradcheck.get("ended") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slow_gradcheck.get("ended"), "the gradient check outlived the app"
    if moment == "saving":
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert load_checkpoint(path).step > 20  # the save in flight finished, whole
