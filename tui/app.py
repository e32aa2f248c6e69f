"""ScratchNet's Textual app: configure a network on the left, train it live, watch it on the right.

Threads, and who talks to whom:

- The training loop is `TrainingSession.run()` in a Textual thread worker (group "train"). The UI
  steers it with the session's thread-safe commands (start, pause, step, stop, set_learning_rate)
  and PULLS `session.snapshot()` on a timer (`refresh_hz`, 4 Hz by default). The loop never waits
  on the UI and posts nothing.
- Loading a dataset and building a session, loading and saving checkpoints, and the gradient check
  run in other thread workers; they report back with `post_message` (thread-safe, non-blocking),
  except the gradient check's result, which comes with its worker's state event. The check's worker
  is exclusive in its group; cancelling the worker stops its thread and drops its late messages.
- Each poll updates the status line and hands the snapshot to the view on screen (`show`), which
  redraws only when what it shows has changed and at its own pace: curves when the history grew
  (at most once a second while data keeps coming), weight tiles once per epoch while training (or
  when paused, or on demand), decision regions at most twice a second.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.reactive import var
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.config import FIELDS, ConfigError, TrainConfig
from core.datasets import Dataset, DatasetError
from core.files import atomic_write
from core.gradcheck import GradCheckResult, gradient_check
from core.training import ENDED, RESUMABLE, TrainingSession, build_network, load_data
from tui.components.charts import AccuracyChart, LossChart
from tui.components.config_form import ConfigForm, error_field
from tui.components.decision_view import DecisionView
from tui.components.gradcheck_view import GradCheckView
from tui.components.weights_view import WeightsView
from tui.components.file_dialog import (ChoiceDialog, ConfirmDialog, PathDialog, checkpoint_input,
                                        checkpoint_output, screenshot_output)
from tui.components.help_screen import HelpScreen
from tui.components.pacing import Run
from tui.components.unsaved_dialog import UnsavedDialog
from tui.components.status_bar import StatusBar
from tui import safety
from tui.messages import (
    CheckpointSaved,
    ConfigEdited,
    DatasetProgress,
    GradCheckProgress,
    SessionFailed,
    SessionReady,
)

#: Rows of the training set the gradient check runs on, and entries checked per parameter.
GRADCHECK_ROWS = 8
GRADCHECK_SAMPLE = 40
DEFAULT_CHECKPOINT = "scratchnet.npz"


@dataclass(frozen=True)
class ViewInfo:
    id: str
    key: str
    title: str
    short: str


VIEWS = (
    ViewInfo("loss", "1", "Loss", "Loss"),
    ViewInfo("accuracy", "2", "Accuracy", "Acc"),
    ViewInfo("weights", "3", "Weights", "Weights"),
    ViewInfo("gradcheck", "4", "Gradient check", "Grads"),
    ViewInfo("decision", "5", "Decision regions", "Regions"),
)
VIEW_IDS = tuple(v.id for v in VIEWS)


# ------------------------------------------------------------------------------------ view widgets

VIEW_CLASSES: dict[str, type[Widget]] = {
    "loss": LossChart,
    "accuracy": AccuracyChart,
    "weights": WeightsView,
    "gradcheck": GradCheckView,
    "decision": DecisionView,
}


def _make_view(view: str) -> Widget:
    return VIEW_CLASSES[view](id=f"view-{view}")


class ViewTabs(Static):
    """One line naming the views and their keys, the visible one highlighted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = VIEWS[0].id

    def show(self, current: str) -> None:
        self.current = current
        self.refresh()

    def render(self) -> Text:
        width = self.content_size.width or 80
        long = sum(len(v.title) + 5 for v in VIEWS) <= width
        text = Text(no_wrap=True, overflow="ellipsis")
        for v in VIEWS:
            name = v.title if long else v.short
            if v.id == self.current:
                text.append(f" {v.key} {name} ", style="bold reverse")
            else:
                text.append(" ")
                text.append(v.key, style="bold")
                text.append(f" {name} ", style="dim")
            if long:
                text.append(" ")
        return text


class ViewsPane(Vertical, can_focus=True):
    """The right-hand side; focusable, so that the app's keys work without a form field focused."""


# ------------------------------------------------------------------------------------------ the app


SPACE_DOES = ("start", "pause", "resume", "continue")  # what space does, by the session's state


@dataclass(frozen=True)
class Key:
    """A key that runs a command, and how the footer shows it."""

    name: str  # Textual's key name(s), comma-separated: "left_square_bracket", "question_mark,f1"
    label: str  # the footer's text
    show: bool = True  # in the footer
    action: str = ""  # when not the command's own action
    display: str | None = None  # the footer's key, when not the one Textual shows
    priority: bool = False  # before the focused widget's own bindings
    id: str | None = None


@dataclass(frozen=True)
class Command:
    """Something the user can do: a row of the help screen, an entry of the palette, and its keys.

    `keys` is how the help screen and the palette write the keys; `action` is what the palette runs;
    `help_line`, when set, is what the help screen says instead of `title`.
    """

    keys: str
    title: str
    help: str
    action: str  # an App action (without "action_")
    bound_to: tuple[Key, ...]
    help_line: str = ""

    def bindings(self) -> list[Binding]:
        return [Binding(key.name, key.action or self.action, key.label, show=key.show, key_display=key.display,
                        priority=key.priority, id=key.id) for key in self.bound_to]


COMMANDS = (
    Command("space", "Start / pause / resume / continue", "Start training with the configuration, pause, resume, or continue "
            "a stopped run (a finished one for another `epochs`)", "toggle_run",
            # one binding per thing space does, so that the footer names it; check_action keeps the one in force
            tuple(Key("space", does.title(), action=f"toggle_run('{does}')", display="space", id=does)
                  for does in SPACE_DOES)),
    Command("n", "One step", "Do one training step (pauses a running session first)", "step", (Key("n", "Step"),)),
    Command("s", "Stop", "End the run (the network is kept: inspect it, save it)", "stop", (Key("s", "Stop"),)),
    Command("r", "Re-initialise", "Build a fresh network from the configuration (asks first when the run "
            "has unsaved steps)", "reinit", (Key("r", "Reset"),)),
    Command("g", "Gradient check", "Check backprop against numerical gradients (g again cancels)", "gradcheck",
            (Key("g", "Check"),)),
    Command("[", "Halve the learning rate", "Halve the learning rate of the session", "lr_down",
            (Key("left_square_bracket", "lr/2", display="["),)),
    Command("]", "Double the learning rate", "Double the learning rate of the session", "lr_up",
            (Key("right_square_bracket", "lr×2", display="]"),)),
    Command("1", "View: loss", "Batch loss per step (and smoothed); train and test loss per evaluation", "view('loss')",
            (Key("1", "Loss", show=False),)),
    Command("2", "View: accuracy", "Train and test accuracy per evaluation", "view('accuracy')",
            (Key("2", "Accuracy", show=False),)),
    Command("3", "View: weights", "First-layer weights as images, the other layers as heatmaps", "view('weights')",
            (Key("3", "Weights", show=False),)),
    Command("4", "View: gradient check", "The gradient-check table", "view('gradcheck')",
            (Key("4", "Gradcheck", show=False),)),
    Command("5", "View: decision regions", "Class regions over the plane (2-D datasets)", "view('decision')",
            (Key("5", "Regions", show=False),)),
    Command("l", "Log / linear loss axis", "Toggle the loss chart's y axis", "toggle_log", (Key("l", "Log y", show=False),)),
    Command("w", "Redraw the weights", "Draw the weights as they are now", "refresh_weights",
            (Key("w", "Redraw weights", show=False),)),
    Command(", .", "Previous / next weights page", "Page through the weight tiles", "weights_page(1)",
            (Key("comma", "Prev page", show=False, action="weights_page(-1)"), Key("full_stop", "Next page", show=False)),
            help_line="Page through the weight tiles"),
    Command("< >", "Previous / next weights layer", "Jump to the previous or next layer's weights", "weights_layer(1)",
            (Key("less_than_sign", "Prev layer", show=False, action="weights_layer(-1)"),
             Key("greater_than_sign", "Next layer", show=False))),
    Command("z", "Weight tile size", "Cycle the size of the weight tiles: auto, full, half, third", "weights_zoom",
            (Key("z", "Tile size", show=False),)),
    Command("c", "Show / hide the configuration", "Collapse the configuration pane (more room at 80x24)", "toggle_config",
            (Key("c", "Config", show=False),)),
    Command("e", "Edit the configuration", "Move to the configuration pane (escape comes back)", "focus_config",
            (Key("e", "Edit", show=False),)),
    Command("ctrl+s", "Save a checkpoint", "Write the weights, optimizer state and history to a .npz file", "save",
            (Key("ctrl+s", "Save", show=False, priority=True),)),
    Command("ctrl+o", "Load a checkpoint", "Load a .npz checkpoint to resume training or inspect it", "load",
            (Key("ctrl+o", "Load", show=False, priority=True),)),
    Command("? f1", "Help", "The list of keys (f1 where ? would be typed into a field)", "help",
            (Key("question_mark,f1", "Help"),)),  # the footer shows f1 where ? is typed (TextField)
    Command("q", "Quit", "Quit (asks first while training or with unsaved steps)", "quit",
            (Key("q", "Quit"), Key("ctrl+q", "Quit", show=False, priority=True))),
)


class ScratchNetApp(App):
    """Train a from-scratch NumPy MLP live in the terminal.

    `config`: the configuration the form starts with (default TrainConfig(): mnist-sample, one hidden
    layer of 100, relu, sgd lr 0.1, batch 100). `refresh_hz`: snapshot polls per second.
    """

    CSS_PATH = "app.tcss"
    TITLE = "ScratchNet"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [binding for command in COMMANDS for binding in command.bindings()]

    view: var[str] = var(VIEW_IDS[0], init=False)
    """The view on screen (one of VIEW_IDS); setting it switches the view."""

    def __init__(self, config: TrainConfig | None = None, *, resume: str | Path | None = None,
                 refresh_hz: float = 4.0) -> None:
        """The app with `config` in its form; with `resume`, a checkpoint's path, on that saved run
        (`config` may then change only the fields a resumed run may change)."""
        super().__init__()
        if not (refresh_hz > 0 and math.isfinite(refresh_hz)):
            raise ValueError(f"refresh_hz must be a positive number, got {refresh_hz}")
        self.initial_config = config if config is not None else TrainConfig()
        self.resume = None if resume is None else str(resume)
        self.refresh_hz = float(refresh_hz)
        self.session: TrainingSession | None = None
        self.dataset: Dataset | None = None
        self.last_snapshot: Any = None
        self.checkpoint_path = DEFAULT_CHECKPOINT
        self.loading = False
        self._datasets: dict[tuple, Dataset] = {}
        self._datasets_lock = threading.Lock()
        self._prepare_token = 0
        self._pending: str | None = None  # "start" or "step" once the session being built is ready
        self._saved_step = 0  # the session's step when it was built, loaded or last saved
        self._pending_edits: list[str] = []  # form fields edited that need a fresh network (r)
        self._after_save: tuple[TrainingSession, Callable[[], Any]] | None = None  # "save first, then ..."
        self._note = ""  # shown in the status line's message row (loading progress, ...)
        self._seen_state: str | None = None
        self.gradcheck_running = False
        self.gradcheck_result = None
        self._quitting = False
        self.farewell = ""  # what `scratchnet app` says on stderr after the app ended unexpectedly

    # ------------------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ConfigForm(self.initial_config, id="config")
            with ViewsPane(id="views"):
                yield ViewTabs(id="view-tabs")
                with ContentSwitcher(initial=f"view-{self.view}", id="switcher"):
                    for view in VIEW_IDS:
                        yield _make_view(view)
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def main(self) -> Screen:
        """The main screen (queries must not go to a dialog or the help screen on top of it)."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    @property
    def form(self) -> ConfigForm:
        return self.main.query_one(ConfigForm)

    @property
    def status(self) -> StatusBar:
        return self.main.query_one(StatusBar)

    def view_widget(self, view: str) -> Widget:
        return self.main.query_one(f"#view-{view}")

    def on_mount(self) -> None:
        safety.install_signal_handlers(self)  # SIGTERM, SIGHUP: autosave, then leave as on q
        self.call_after_refresh(self.offer_autosave)
        self.status.show_text("loading", "")
        self.main.query_one("#views").focus()
        self.set_interval(1.0 / self.refresh_hz, self.poll, name="poll")
        if self.resume is not None:
            self.prepare(self.initial_config, source=self.resume)
            return
        config, errors = self.form.build()
        self.form.show_errors(errors)
        if config is not None:
            self.prepare(config)
        else:
            self.status.show_text("error", "the configuration is invalid: fix the marked fields")

    def on_unmount(self) -> None:
        self._stop_threads()
        safety.remove_signal_handlers()

    def _handle_exception(self, error: Exception) -> None:
        """Textual's hook for an unhandled error, which ends the app with exit code 1: autosave the run
        and log the traceback first; `scratchnet app` then prints a few lines instead of the traceback."""
        report = safety.crash_report(self, error)
        super()._handle_exception(error)
        self._exit_renderables.clear()  # the traceback is in the log
        self.farewell = self.farewell or report  # the first error is the one to read

    # ------------------------------------------------------------------------- sessions

    def form_config(self, action: str) -> TrainConfig | None:
        """The form's config, or None after marking the invalid fields and saying why `action` can't go on."""
        config, errors = self.form.build()
        self.form.show_errors(errors)
        if config is None:
            field, reason = next(iter(errors.items()))
            where = "" if field.startswith("_") else f"{field}: "
            self.notify(f"Cannot {action}: {where}{reason}", title="Invalid configuration", severity="error")
            if self.form.display is False:
                self.form.display = True
        return config

    def prepare(self, config: TrainConfig, then: str | None = None, *, source: Any = None) -> None:
        """Build a session for `config` in a worker (loading its dataset); `then` "start" or "step"."""
        self._prepare_token += 1
        self._pending = then
        self.loading = True
        name = "the checkpoint" if config is None else config.dataset
        self._note = f"loading {name}…" if config is None or self._cached(config) is None else ""
        if self.session is None:
            self.status.show_text("loading", self._note)
        self._prepare_worker(config, self._prepare_token, source)

    @staticmethod
    def _data_key(config: TrainConfig) -> tuple:
        return (config.dataset, config.data_dir, config.seed, config.noise, config.n_samples,
                config.test_ratio, config.subset_per_class, config.validation)

    def _cached(self, config: TrainConfig) -> Dataset | None:
        with self._datasets_lock:
            return self._datasets.get(self._data_key(config))

    def _dataset_for(self, config: TrainConfig) -> Dataset:
        """The config's dataset, from the cache or loaded (called in a worker thread)."""
        dataset = self._cached(config)
        if dataset is not None:
            return dataset
        def progress(done: int, total: int) -> None:
            # one message per downloaded chunk (64 KB); queued ones replace each other (can_replace)
            self.post_message(DatasetProgress(config.dataset, done, total))

        dataset = load_data(config, progress=progress)
        with self._datasets_lock:
            if len(self._datasets) >= 3:
                self._datasets.pop(next(iter(self._datasets)))
            self._datasets[self._data_key(config)] = dataset
        return dataset

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False)
    def _prepare_worker(self, config: TrainConfig, token: int, source: Any) -> None:
        """Load the dataset and build a session: fresh for `config`, or from `source` (a checkpoint
        path or Checkpoint object) with `config` (None: the checkpoint's)."""
        try:
            if source is None:
                dataset = self._dataset_for(config)
                session = TrainingSession(config, dataset)
            else:
                checkpoint = load_checkpoint(source) if isinstance(source, (str, Path)) else source
                dataset = self._dataset_for(config or checkpoint.config)
                session = TrainingSession.from_checkpoint(checkpoint, dataset, config=config)
        except Exception as error:  # everything a user can get wrong, and anything else: say it, carry on
            message = str(error) if isinstance(error, (ConfigError, DatasetError, CheckpointError, OSError)) else \
                f"{type(error).__name__}: {error}"
            field = error_field(error, set(self.initial_config.__dataclass_fields__))
            self.post_message(SessionFailed(message, field, token=token))
            return
        label = str(source) if isinstance(source, (str, Path)) else ""
        self.post_message(SessionReady(session, dataset, token=token, source=label,
                                       continued=source is not None and not label))

    @on(DatasetProgress)
    def _dataset_progress(self, event: DatasetProgress) -> None:
        if self.closing:
            return
        if event.total:
            self._note = (f"downloading {event.name}: {100 * event.done / event.total:.0f}% "
                          f"of {event.total / 1e6:.1f} MB")
        else:
            self._note = f"downloading {event.name}: {event.done / 1e6:.1f} MB"
        if self.session is None:
            self.status.show_text("loading", self._note)

    @property
    def closing(self) -> bool:
        """True once the app is quitting: handlers of late messages must leave the widgets alone."""
        return self._quitting or not self.is_running or not self.screen_stack

    @on(SessionReady)
    def _session_ready(self, event: SessionReady) -> None:
        if event.token != self._prepare_token or self.closing:
            event.session.stop()
            return
        self.loading = False
        self._note = ""
        then, self._pending = self._pending, None
        snap = event.session.snapshot()
        if not event.continued:  # a continuation's steps are as saved (or not) as before
            self._saved_step = snap.step
        self.install(event.session, event.dataset, from_checkpoint=bool(event.source))
        if event.continued:
            self.form.set_value("epochs", event.session.config.epochs)  # the target it goes on to
        if event.source:
            self.checkpoint_path = event.source
            goes_on = "resumes training" if snap.step < snap.total_steps else "continues it for more epochs"
            self.notify(f"Loaded {event.source}: step {snap.step:,} of {snap.total_steps:,}. "
                        f"Space {goes_on}.", title="Checkpoint loaded")
        if then == "start":
            event.session.start()
        elif then == "step":
            event.session.step(1)
        self.poll()

    @on(SessionFailed)
    def _session_failed(self, event: SessionFailed) -> None:
        if self.closing:
            return
        if event.token != self._prepare_token:
            return
        self.loading = False
        self._pending = None
        self._note = ""
        if event.field and event.field in self.form.errors.keys() | set(self.form.field_names):
            self.form.show_errors({event.field: event.message})
        self.notify(event.message, title="Cannot build the session", severity="error", timeout=10)
        if self.session is None:
            self.status.show_text("error", event.message)
        else:
            self._mark_edited()  # the note of pending edits, cleared while loading

    def install(self, session: TrainingSession, dataset: Dataset, *, from_checkpoint: bool = False) -> None:
        """Make `session` the app's session (stopping the previous one) and start its loop's worker."""
        old = self.session
        if old is not None:
            old.stop()
        self.session = session
        self.dataset = dataset
        self._seen_state = None
        if from_checkpoint:
            self.form.set_config(session.config)  # the form shows the loaded run
        else:
            self.form.base = session.config  # built from the form: leave what is being typed alone
        self._cancel_gradcheck()
        self.gradcheck_result = None
        for view in VIEW_IDS:
            self.view_widget(view).clear()  # a fresh network: nothing of the last one stays
        self._run_session(session)
        self._mark_edited()
        self.refresh_bindings()
        self.call_later(self.show_view, force=True)

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _run_session(self, session: TrainingSession) -> Any:
        return session.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self.closing:
            return
        worker = event.worker
        if worker.group == "train":
            if event.state == WorkerState.ERROR:
                self.notify(f"The training worker failed: {worker.error}", title="Error", severity="error", timeout=10)
            if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
                self.poll()
        elif worker.group == "gradcheck":
            if event.state in (WorkerState.SUCCESS, WorkerState.ERROR) and not worker.is_cancelled:
                self._gradcheck_finished(worker)
        elif worker.group in ("prepare", "io") and event.state == WorkerState.ERROR:
            self.notify(f"{type(worker.error).__name__}: {worker.error}", title="Error", severity="error")

    # ---------------------------------------------------------------------------- polling

    def poll(self) -> None:
        """Pull a snapshot; update the status line and the visible view if what they show changed."""
        if self.closing:
            return  # the app is closing: its widgets are going or gone
        try:
            self._poll()
        except (NoMatches, ScreenStackError):
            pass

    def _poll(self) -> None:
        session = self.session
        if session is None or self._quitting:
            return
        snap = session.snapshot()
        self.last_snapshot = snap
        if snap.state != self._seen_state:
            self._state_changed(self._seen_state, snap)
            self._seen_state = snap.state
        steps_per_epoch = max(snap.steps_per_epoch, 1)
        epochs = math.ceil(snap.total_steps / steps_per_epoch)
        self.status.show(snap, epochs=epochs, note=self._note)
        self.show_view(snap)

    def _state_changed(self, old: str | None, snap: Any) -> None:
        self.refresh_bindings()
        self._mark_edited()  # what an edit of the form means depends on the state
        if old is None:
            return
        if snap.state in ("diverged", "error"):
            self.notify(snap.message or snap.state, title="Training " + snap.state, severity="error", timeout=15)
        elif snap.state == "finished":
            acc = snap.test_accuracy
            extra = f": test accuracy {100 * acc:.1f}%" if acc is not None else ""
            self.notify(f"Finished {snap.step:,} steps{extra}", title="Training finished")

    def show_view(self, snap: Any = None, force: bool = False) -> None:
        """Hand a snapshot (by default a fresh one) to the visible view: it redraws if it is due."""
        session, dataset = self.session, self.dataset
        if session is None or dataset is None:
            return
        widget = self.view_widget(self.view)
        try:
            widget.show(snap if snap is not None else session.snapshot(), Run(session, dataset), force)
        except Exception as error:  # a view that cannot draw this data must not take the app down
            widget.forget()
            self.notify(f"{type(error).__name__}: {error}", title=f"Cannot draw the {self.view} view", severity="error")

    # ---------------------------------------------------------------------------- state

    @property
    def state(self) -> str | None:
        return None if self.session is None else self.session.snapshot().state

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_run" and parameters:  # the space bindings: the one for what space does now
            return parameters[0] == self._space_does()
        return True

    def _space_does(self) -> str:
        """What space does now, one of SPACE_DOES: "continue" is for a stopped or finished run."""
        snap = None if self.session is None else self.session.snapshot()
        if snap is not None and snap.state == "training":
            return "pause"
        if snap is None or snap.step == 0 or snap.state in ("diverged", "error"):
            return "start"
        if snap.state in ("ready", "paused") and snap.step < snap.total_steps:
            return "resume"  # a paused run, or one loaded from a checkpoint
        return "start" if snap.state in ENDED and self._pending_edits else "continue"

    # --------------------------------------------------------------------------- actions

    def action_toggle_run(self, which: str = "") -> None:
        """Space: start a run (building it first if the form changed), pause it, resume or continue it."""
        if self.state == "training":
            self.session.pause()
            self.poll()
            return
        if self._follow_form("start"):
            self.session.start()
            self.poll()

    def action_step(self) -> None:
        """n: one training step (pausing a running session first)."""
        if self.state == "training":
            self.session.pause()
            self.session.step(1)
            self.poll()
            return
        if self._follow_form("step"):
            self.session.step(1)
            self.poll()

    def _follow_form(self, then: str) -> bool:
        """Before starting or stepping: make the session the form describes, keeping a trained network.

        True when the current session should `then` now; False when the form is invalid, or a session
        is being built (it will `then` once ready), or the user is asked first.
        - A session without steps is rebuilt from the form when the form differs from it.
        - A run with steps goes on with its network, taking the form's learning rate, epochs and other
          RESUMABLE fields. A run at its target (finished, or reopened finished) goes on for another
          `epochs` (or `steps`). While it is ready or paused, edits that need a fresh network wait for r
          (they show as pending).
        - After a divergence or an error, or once a run ended with such edits in the form: a fresh run
          from the form, asking first about unsaved steps.
        """
        config = self.form_config(then)
        if config is None:
            return False
        session = self.session
        if self.loading:
            self._pending = then
            self.notify(f"Will {then} as soon as the data is loaded…", timeout=3)
            return False
        if session is None:
            self.prepare(config, then)
            return False
        snap = session.snapshot()
        if snap.step == 0 or self._form_replaces(snap.state, config, session.config):
            if config == session.config and snap.state in ("ready", "paused"):
                return True
            self.confirm_discard(lambda: self.prepare(config, then), "start a run with the form's settings")
            return False
        goes_on = session.config.replace(**{name: getattr(config, name) for name in RESUMABLE})
        if not self._resumable(config, session.config) and then == "start":
            self.notify("Going on with the run's own network; r starts over with the edited form.",
                        title="Configuration edited", timeout=5)
        if goes_on.total_steps(session.dataset.n_train) <= snap.step:
            goes_on = self._extended(goes_on, snap.step, snap.steps_per_epoch)
            target = f"{goes_on.steps:,} steps" if goes_on.steps is not None else f"{goes_on.epochs:,} epochs"
            self.notify(f"The run goes on from step {snap.step:,} to {target}.", title="Continuing", timeout=5)
        if snap.state in ("ready", "paused") and self._only_lr_differs(goes_on, session.config):
            session.set_learning_rate(goes_on.lr)
            return True
        self._continue_with(goes_on, then)  # a new session from this one's checkpoint
        return False

    def _form_replaces(self, state: str, config: TrainConfig, running: TrainConfig) -> bool:
        """Does space make a fresh run of the form's `config` rather than go on with the `running` one?"""
        return state in ("diverged", "error") or (state in ENDED and not self._resumable(config, running))

    @staticmethod
    def _extended(config: TrainConfig, step: int, steps_per_epoch: int) -> TrainConfig:
        """`config` with its target moved on from `step`: by another `steps` if it counts steps, else `epochs`."""
        if config.steps is not None:
            return config.replace(steps=step + config.steps)
        return config.replace(epochs=math.ceil(step / steps_per_epoch) + config.epochs)

    @staticmethod
    def _only_lr_differs(a: TrainConfig, b: TrainConfig) -> bool:
        return a.replace(lr=b.lr) == b

    @staticmethod
    def _resumable(a: TrainConfig, b: TrainConfig) -> bool:
        changes = {name: getattr(a, name) for name in RESUMABLE}
        try:
            return b.replace(**changes) == a
        except ConfigError:
            return False

    def _continue_with(self, config: TrainConfig, then: str | None) -> None:
        """Continue the current run with a config differing only in RESUMABLE fields (e.g. more epochs)."""
        session = self.session
        assert session is not None
        session.pause()  # stopped once the continuation is installed; kept if building it fails
        self.prepare(config, then, source=session.checkpoint())

    def action_stop(self) -> None:
        self._pending = None  # a start or step waiting for the session being built is called off too
        if self.state in ("ready", "training", "paused"):
            self.session.stop()
            self.poll()

    def action_reinit(self) -> None:
        """r: a fresh network from the form, asking first when the run has unsaved steps."""
        config = self.form_config("re-initialise")
        if config is None:
            return
        self.confirm_discard(lambda: self._reinit(config), "re-initialise")

    def _reinit(self, config: TrainConfig) -> None:
        if self.session is not None:
            self.session.stop()
        self.prepare(config)
        self.notify("A fresh network from the configuration.", title="Re-initialised", timeout=3)

    # --------------------------------------------------------------------- unsaved progress

    @property
    def unsaved_steps(self) -> int:
        """Steps of the current run in no checkpoint: taken since it was built, loaded or last saved."""
        if self.session is None:
            return 0
        return max(0, self.session.snapshot().step - self._saved_step)

    def mark_saved(self, step: int) -> None:
        """The current run was saved at `step` (the save path calls this once the file is written)."""
        self._saved_step = step

    def confirm_discard(self, then: Callable[[], Any], action: str = "go on") -> None:
        """Call `then`, which replaces the run's network, at once if the run has no unsaved steps; else
        ask first: d discards them, s saves a checkpoint first (and goes on once it is written), c cancels.
        `action` completes "To ..., the network is replaced" (e.g. "open a checkpoint")."""
        steps = self.unsaved_steps
        if steps == 0:
            then()
            return
        if isinstance(self.screen, UnsavedDialog):
            return
        self.push_screen(UnsavedDialog(steps, action), lambda choice: self._discard_answer(choice, then))

    def _discard_answer(self, choice: str | None, then: Callable[[], Any]) -> None:
        if choice == "discard":
            then()
        elif choice == "save" and self.session is not None:
            self._after_save = (self.session, then)
            self.action_save()

    @on(CheckpointSaved)
    def _go_on_after_save(self, event: CheckpointSaved) -> None:
        """After "save first": go on once the checkpoint is written; if it could not be, nothing is discarded."""
        pending, self._after_save = self._after_save, None
        if pending is None or self.closing:
            return
        session, then = pending
        if event.error:
            self.notify("The run was not saved, so it is kept.", title="Nothing discarded", severity="warning")
        elif session is self.session:
            then()

    def _set_lr(self, factor: float) -> None:
        session = self.session
        if session is None or self.state in ENDED:
            self.notify("No run to change the learning rate of.", severity="warning", timeout=3)
            return
        lr = session.config.lr * factor
        try:
            session.set_learning_rate(lr)
        except ConfigError as error:
            self.notify(str(error), severity="error")
            return
        self.form.set_value("lr", session.config.lr)
        self.notify(f"learning rate {session.config.lr:g}", timeout=2)
        self.poll()

    def action_lr_down(self) -> None:
        self._set_lr(0.5)

    def action_lr_up(self) -> None:
        self._set_lr(2.0)

    def action_view(self, view: str) -> None:
        if view in VIEW_IDS:
            self.view = view

    def watch_view(self, view: str) -> None:
        """Bring `view` on screen: the switcher, the tabs, the focus, and the last snapshot drawn."""
        switcher = self.main.query_one(ContentSwitcher)
        focused = self.main.focused
        switcher.current = f"view-{view}"
        if focused is not None and switcher in focused.ancestors:
            # the view that had the focus is hidden now (which would leave the focus nowhere): pass it on
            shown = self.view_widget(view)
            (shown if shown.can_focus else self.main.query_one("#views")).focus()
        self.main.query_one(ViewTabs).show(view)
        if self.last_snapshot is not None:
            self.show_view(self.last_snapshot)

    def action_toggle_log(self) -> None:
        if self.view != "loss":
            self.action_view("loss")
        self.main.query_one(LossChart).toggle_log()

    def action_refresh_weights(self) -> None:
        if self.view != "weights":
            self.action_view("weights")
        if self.last_snapshot is not None:
            self.show_view(self.last_snapshot, force=True)

    def action_weights_page(self, delta: int) -> None:
        if self.view != "weights":
            self.action_view("weights")
            return
        weights = self.main.query_one(WeightsView)
        weights.next_page() if delta > 0 else weights.prev_page()

    def action_weights_layer(self, delta: int) -> None:
        """< and >: the weights of the previous or next layer (showing the weights view first)."""
        self.action_view("weights")
        weights = self.main.query_one(WeightsView)
        weights.next_layer() if delta > 0 else weights.prev_layer()

    def action_weights_zoom(self) -> None:
        """z: the next size of weight tiles (showing the weights view first)."""
        self.action_view("weights")
        self.main.query_one(WeightsView).toggle_zoom()

    def action_toggle_config(self) -> None:
        form = self.form
        form.display = not form.display
        if form.display:
            form.focus()
        else:
            self.action_focus_views()

    def action_focus_config(self) -> None:
        form = self.form
        form.display = True
        first = form.query("Input, Select").first()
        (form.focused_field or first).focus()

    def action_focus_views(self) -> None:
        self.main.query_one("#views").focus()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        rows = [("", "Keys")] + [(command.keys, command.help_line or command.title) for command in COMMANDS]
        rows += [("", "Elsewhere"), ("tab", "Next field or pane"), ("escape", "Leave the configuration form"),
                 ("ctrl+p", "Command palette: every action by name")]
        self.push_screen(HelpScreen(rows))

    # ------------------------------------------------------------------------ gradient check

    def action_gradcheck(self) -> None:
        if self.gradcheck_running:
            self._cancel_gradcheck()
            self.notify("Gradient check cancelled.", timeout=3)
            return
        session, dataset = self.session, self.dataset
        if session is None or dataset is None:
            self.notify("Nothing to check yet: the data is still loading.", severity="warning")
            return
        weights = session.snapshot(weights=True).weights
        net = build_network(session.config, dataset)
        net.set_params(weights)
        rng = np.random.default_rng(session.config.seed)
        rows = rng.choice(dataset.n_train, min(GRADCHECK_ROWS, dataset.n_train), replace=False)
        x, t = dataset.x_train[np.sort(rows)], dataset.t_train[np.sort(rows)]
        self.gradcheck_running = True
        self.action_view("gradcheck")
        self.main.query_one(GradCheckView).set_running()
        self._gradcheck_worker(net, x, t)

    @work(thread=True, exclusive=True, group="gradcheck", exit_on_error=False)
    def _gradcheck_worker(self, net: Any, x: np.ndarray, t: np.ndarray) -> GradCheckResult:
        """The check, in its thread: its result comes back through the worker's SUCCESS state."""
        worker = get_current_worker()

        def progress(done: int, total: int) -> None:
            self.post_message(GradCheckProgress(done, total, worker))

        return gradient_check(net, x, t, sample=GRADCHECK_SAMPLE, seed=0, progress=progress,
                              should_stop=lambda: worker.is_cancelled)

    def _cancel_gradcheck(self) -> None:
        """Cancel the running check: its thread stops at the next parameter, and its results are not shown."""
        self.workers.cancel_group(self, "gradcheck")
        if self.gradcheck_running:
            self.gradcheck_running = False
            self.main.query_one(GradCheckView).set_error("cancelled. Press g to check again.")

    @on(GradCheckProgress)
    def _gradcheck_progress(self, event: GradCheckProgress) -> None:
        if self.closing or event.worker.is_cancelled:
            return
        self.main.query_one(GradCheckView).set_progress(event.done, event.total)

    def _gradcheck_finished(self, worker: Worker) -> None:
        """Show the result of a check that ran to its end, or why it failed."""
        self.gradcheck_running = False
        view = self.main.query_one(GradCheckView)
        if worker.state == WorkerState.SUCCESS:
            self.gradcheck_result = worker.result
            view.set_result(worker.result)
            if self.view != "gradcheck":
                self.notify(f"Gradient check: {worker.result.verdict} (4 shows the table)", timeout=4)
        else:
            error = f"{type(worker.error).__name__}: {worker.error}"
            view.set_error(error)
            self.notify(error, title="Gradient check failed", severity="error")

    # ---------------------------------------------------------------------------- checkpoints

    def action_save(self) -> None:
        if self.session is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        if isinstance(self.screen, PathDialog):
            return
        self.push_screen(
            PathDialog("Save a checkpoint", self.checkpoint_path, check=checkpoint_output,
                       hint="Weights, optimizer state, history and config, in one .npz file."),
            self._save_to)

    def _save_to(self, path: Path | None) -> None:
        if path is None:
            self._after_save = None  # "save first" was cancelled: nothing goes on
        elif self.session is not None:
            self._save_worker(self.session, path)

    @work(thread=True, group="io", exit_on_error=False)
    def _save_worker(self, session: TrainingSession, path: Path) -> None:
        try:
            checkpoint = session.checkpoint()
            save_checkpoint(path, checkpoint)
        except Exception as error:
            self.post_message(CheckpointSaved(str(path), f"{error}"))
        else:
            self.post_message(CheckpointSaved(str(path), session=session, step=checkpoint.step))

    @on(CheckpointSaved)
    def _saved(self, event: CheckpointSaved) -> None:
        if self.closing:
            return
        if event.error:
            self.notify(event.error, title="Cannot save", severity="error", timeout=10)
        else:
            if event.session is self.session:
                self.mark_saved(event.step)
            self.checkpoint_path = event.path
            self.notify(f"Saved {event.path}", title="Checkpoint saved", timeout=4)

    def action_load(self) -> None:
        if isinstance(self.screen, PathDialog):
            return
        self.push_screen(
            PathDialog("Load a checkpoint", self.checkpoint_path, check=checkpoint_input,
                       hint="The run continues where it was saved: space resumes training."),
            self._load_from)

    def _load_from(self, path: Path | None) -> None:
        if path is None:
            return

        def load() -> None:
            if self.state == "training":
                self.session.pause()
            self.prepare(None, source=str(path))  # type: ignore[arg-type]

        self.confirm_discard(load, "open a checkpoint")

    # --------------------------------------------------------------------------- quitting

    async def action_quit(self) -> None:
        """q: quit; while training, or with steps in no checkpoint, ask first (y quits, s saves first)."""
        steps, training = self.unsaved_steps, self.state == "training"
        if not (steps or training):
            self._quit_now()
            return
        if isinstance(self.screen, ConfirmDialog):
            return
        lines = ["Training is running. Stop it and quit?"] if training else []
        if steps:
            lines.append(f"The run has {steps:,} unsaved training step{'s' * (steps != 1)}: "
                         "y quits without them, s saves them first.")
        question = "\n".join(lines)
        dialog = ConfirmDialog("Quit?", question, also=("s", "Save first", "save") if steps else None)
        self.push_screen(dialog, self._quit_answer)

    def _quit_answer(self, answer: object) -> None:
        if answer is True:
            self._quit_now()
        elif answer == "save" and self.session is not None:
            if self.state == "training":
                self.session.pause()  # what is saved is what quitting ends
            self._after_save = (self.session, self._quit_now)  # quits once the checkpoint is written
            self.action_save()

    def _quit_now(self) -> None:
        self._stop_threads()
        self.exit()

    def _stop_threads(self) -> None:
        """Stop everything running in threads: the trainer ends after its current step."""
        self._quitting = True
        self.workers.cancel_group(self, "gradcheck")
        self._prepare_token += 1
        if self.session is not None:
            self.session.stop()

    # ------------------------------------------------------------------------- configuration

    @on(ConfigEdited)
    def _config_edited(self, event: ConfigEdited) -> None:
        if self.closing:
            return
        if event.committed:
            self._apply_form_lr()
        self._mark_edited()
        self.poll()

    def _apply_form_lr(self) -> None:
        """A learning rate edited in the form applies to the live run at once, as [ and ] do."""
        session = self.session
        config, _ = self.form.build()
        if session is None or config is None or self.state in ENDED or config.lr == session.config.lr:
            return
        session.set_learning_rate(config.lr)
        self.notify(f"learning rate {session.config.lr:g}", timeout=2)
        self.poll()

    def _mark_edited(self) -> None:
        """Say in the form's border when the form no longer describes the session's run, and in the
        status line which edits wait for a fresh network (r)."""
        session, form, state = self.session, self.form, self.state
        status, pending = "", []
        if form.errors:
            status = "✗ invalid: see the marks"
        elif session is not None:
            config, _ = form.build()
            if config is not None and config != session.config:
                if self._form_replaces(state, config, session.config):
                    status = "edited: space starts a run with it"
                elif self._resumable(config, session.config):
                    status = "edited: the run goes on with it"
                else:
                    status = "edited: r applies it"
                if not self._resumable(config, session.config):
                    pending = [name for name in FIELDS if name not in RESUMABLE
                               and getattr(config, name) != getattr(session.config, name)]
        form.set_status(status)
        if pending != self._pending_edits:
            self._pending_edits = pending
            self.refresh_bindings()  # space starts a fresh run rather than continue an ended one
        if not self.loading and state not in ("diverged", "error"):  # their own message shows there
            keys = "space or r builds" if state in ENDED else "r builds"
            self._note = f"pending: {', '.join(pending)} ({keys} a fresh network with them)" if pending else ""

    # ------------------------------------------------------------------------ command palette

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's palette, but without Textual's fixed id, which made a second palette (opened
        over a dialog that was opened over the first: ctrl+p, ctrl+s, ctrl+p) crash the app."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":  # Textual's writes where it likes: ours asks where
                yield command
        yield SystemCommand("Screenshot", "Save an SVG picture of the screen to a file you name",
                            self.action_screenshot_to)
        for command in COMMANDS:
            yield SystemCommand(f"{command.title} ({command.keys})", command.help, self._runner(command.action))

    def _runner(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.run_action(action)

        return run

    def action_screenshot_to(self) -> None:
        """Ask for a file (checked like every output: a file that is not ours is replaced only when
        confirmed), then save an SVG picture of the screen under the dialog."""
        if isinstance(self.screen, PathDialog):
            return
        default = f"scratchnet-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        self.push_screen(PathDialog("Save a screenshot", default, check=screenshot_output,
                                    hint="An SVG picture of the screen."),
                         lambda path: path and self.call_after_refresh(self._save_screenshot, path))

    def _save_screenshot(self, path: Path) -> None:
        svg = self.export_screenshot().encode("utf-8")
        try:
            atomic_write(path, lambda file: file.write(svg))
        except OSError as error:
            self.notify(f"{path}: {error.strerror or error}", title="Cannot save the screenshot", severity="error")
        else:
            self.notify(f"Saved {path}", title="Screenshot saved", timeout=4)

    # ------------------------------------------------------------------------------ autosaves

    def offer_autosave(self) -> None:
        """At start: offer the newest run autosaved by a signal or a crash (see tui.safety)."""
        pending = safety.pending_autosaves()
        if not pending or self.closing:
            return
        path = pending[0]
        more = f" ({len(pending) - 1} older one{'s' * (len(pending) > 2)} kept in {path.parent})" if len(pending) > 1 else ""
        dialog = ChoiceDialog(
            "Autosaved run", f"A run was autosaved when the app last ended unexpectedly:\n{path}{more}",
            [("o", "Open it", "open"), ("d", "Discard", "discard"), ("l", "Later", None)])
        self.push_screen(dialog, lambda choice: self._autosave_answer(choice, path))

    def _autosave_answer(self, choice: object, path: Path) -> None:
        if choice == "discard":
            safety.discard(path)
        elif choice == "open":
            self._load_from(path)

    @on(SessionReady)
    def _autosave_opened(self, event: SessionReady) -> None:
        """An autosave, once opened, is the app's run (and its steps count as unsaved): its file goes."""
        if event.source and safety.is_autosave(event.source) and event.token == self._prepare_token:
            safety.discard(Path(event.source))
            self.call_later(self._adopt_autosave)

    def _adopt_autosave(self) -> None:
        """After _session_ready: the opened autosave's steps are in no file of the user's."""
        self.mark_saved(0)
        self.checkpoint_path = DEFAULT_CHECKPOINT
