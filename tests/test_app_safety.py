"""The app never crashes and never loses a trained network (issue 11): the command palette over
every dialog and screen, paths typed into the dialogs, unhandled errors (exit 1, a log, an autosave)
and the save offered when quitting. Signals and the terminal are in test_app_safety_signals.py."""

from __future__ import annotations

import os
import random
import stat

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from core.checkpoint import is_checkpoint, load_checkpoint
from core.config import TrainConfig
from tests.app_driving import ready, wait_for
from tui import safety
from tui.app import ScratchNetApp
from tui.components.file_dialog import ChoiceDialog, ConfirmDialog, PathDialog, checkpoint_output
from tui.components.help_screen import HelpScreen
from tui.components.unsaved_dialog import UnsavedDialog

#: A small problem that trains for as long as a test needs.
CIRCLE = TrainConfig(dataset="circle", n_samples=200, hidden=(8,), batch_size=10, epochs=100_000)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Autosaves and crash logs go to a temporary folder; relative paths land in tmp_path too."""
    monkeypatch.setenv(safety.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def stack(app) -> list[str]:
    return [type(screen).__name__ for screen in app.screen_stack]


async def take_steps(pilot, n: int) -> None:
    app = pilot.app
    start = app.session.snapshot().step
    for _ in range(n):
        await pilot.press("n")
    await wait_for(pilot, lambda: app.session.snapshot().step == start + n, what=f"{n} steps")


async def palette_command(pilot, title: str) -> None:
    """Open the palette (over whatever is on screen), search for `title` and run the command found first."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: CommandPalette.is_open(app), what="the palette")
    palette = app.screen
    palette.query_one(Input).value = title  # as typed, without a wait per key

    def found() -> bool:
        options = palette.query_one(CommandList)
        return options.option_count > 0 and str(options.get_option_at_index(0).prompt).startswith(title)

    await wait_for(pilot, found, what=f"{title!r} in the palette")
    await pilot.press("down", "enter")
    await wait_for(pilot, lambda: palette not in app.screen_stack, what="the palette to close")
    await pilot.pause()


async def open_screen(pilot, which: str) -> type:
    """Open the save or load dialog, the quit question or the help; returns the screen's class."""
    keys = {"save": "ctrl+s", "load": "ctrl+o", "quit": "q", "help": "question_mark"}[which]
    kind = {"save": PathDialog, "load": PathDialog, "quit": ConfirmDialog, "help": HelpScreen}[which]
    await pilot.press(keys)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), what=f"the {which} screen")
    return kind


# --------------------------------------------------------------------------------- the palette


@pytest.mark.parametrize("which", ["save", "load", "quit", "help"])
async def test_the_palette_opens_over_each_screen_and_its_commands_run_from_there(which):
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await take_steps(pilot, 2)  # unsaved steps: q asks
        kind = await open_screen(pilot, which)
        under = app.screen

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: CommandPalette.is_open(app), what="the palette")
        await pilot.press("ctrl+p")  # over itself: still one palette
        await pilot.pause()
        assert stack(app).count("CommandPalette") == 1 and app.screen_stack[-2] is under
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is under, what="the palette to close")

        await palette_command(pilot, "Help")  # the help over the screen (or the help kept as it is)
        assert isinstance(app.screen, HelpScreen) and under in app.screen_stack
        await palette_command(pilot, "Save a checkpoint")  # over the help, or over the save dialog
        assert isinstance(app.screen, (PathDialog, HelpScreen))
        await palette_command(pilot, "Keys")  # Textual's own commands too
        await palette_command(pilot, "Screenshot")
        assert isinstance(app.screen, PathDialog)

        for _ in range(6):  # escape closes everything again, one screen at a time
            if len(app.screen_stack) == 1:
                break
            await pilot.press("escape")
            await pilot.pause()
        assert stack(app) == ["Screen"] and app.is_running, kind


async def test_dialogs_open_over_the_palette():
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: CommandPalette.is_open(app), what="the palette")
        await pilot.press("ctrl+s")  # a priority key: the save dialog opens over the palette
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
        await pilot.press("ctrl+o")  # a dialog is up: not another one
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: CommandPalette.is_open(app), what="a palette over the dialog")
        assert stack(app) == ["Screen", "CommandPalette", "PathDialog", "CommandPalette"]
        for _ in range(3):
            await pilot.press("escape")
            await pilot.pause()
        assert stack(app) == ["Screen"] and app.is_running


ACTIONS = ["ctrl+p", "ctrl+s", "ctrl+o", "question_mark", "q", "escape", "escape", "n", "tab", "1", "3",
           "palette:Help", "palette:Save a checkpoint", "palette:Load a checkpoint", "palette:Keys",
           "palette:Screenshot", "palette:One step", "palette:View: weights", "palette:Theme",
           "palette:Show / hide the configuration", "palette:Edit the configuration"]


@pytest.mark.parametrize("seed", range(1))
async def test_screens_dialogs_and_the_palette_in_any_order(seed):
    """Random sequences of keys and palette commands: the app is still up, whatever the stack."""
    rng = random.Random(seed)
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        done = []
        for _ in range(30):
            action = rng.choice(ACTIONS)
            if action == "q" and not isinstance(app.screen, (PathDialog, HelpScreen)) \
                    and app.unsaved_steps == 0 and app.state != "training":
                continue  # would quit, rightly
            done.append(action)
            if action.startswith("palette:"):
                if CommandPalette.is_open(app):
                    await pilot.press("escape")
                    await pilot.pause()
                await palette_command(pilot, action.removeprefix("palette:"))
            else:
                await pilot.press(action)
            await pilot.pause(0.05)
            assert app.is_running, f"the app ended after {done}"
        for _ in range(12):
            if len(app.screen_stack) == 1:
                break
            await pilot.press("escape")
            await pilot.pause()
        assert app.is_running and stack(app) == ["Screen"], done


# ------------------------------------------------------------------------------------- paths


def bad_paths(tmp_path) -> list[tuple[str, str]]:
    """(text typed, a fragment of the error shown) for names no dialog may accept."""
    (tmp_path / "folder").mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return [
        ("", "empty"),
        ("   ", "empty"),
        (str(tmp_path / "folder") + "/", "folder"),
        (str(tmp_path / "folder"), "a folder"),
        ("/dev/null", "a device"),
        (str(fifo), "a pipe (FIFO)"),
        ("~nosuchuser/x.npz", "not a user's home folder"),
        (str(tmp_path / "nowhere" / "x.npz"), "does not exist"),
        ("n" * 300 + ".npz", "too long"),
        ("run\x00.npz", "NUL"),
        ("\ud800.npz", "\\ud800"),
    ]


async def submit(pilot, text: str) -> str:
    """Type `text` into the path dialog on screen, press enter; the error the dialog shows ('' if none)."""
    dialog = pilot.app.screen
    assert isinstance(dialog, PathDialog)
    dialog.query_one("#path-input", Input).value = text
    await pilot.press("enter")
    await pilot.pause()
    return str(dialog.query_one("#path-error").render()) if dialog in pilot.app.screen_stack else ""


async def test_the_save_dialog_refuses_unusable_paths_inside_the_dialog(tmp_path):
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await take_steps(pilot, 1)
        await open_screen(pilot, "save")
        for text, fragment in bad_paths(tmp_path) + [("/dev/null/x.npz", "")]:
            error = await submit(pilot, text)
            assert isinstance(app.screen, PathDialog), f"{text!r} was accepted"
            assert fragment in error, (text, error)
        assert app.is_running and not list(tmp_path.glob("*.npz"))
        # odd but valid unicode is a name like any other
        name = "réseau 🧠 ok.npz"
        assert await submit(pilot, name) == ""
        await wait_for(pilot, lambda: (tmp_path / name).exists(), what="the checkpoint")
        assert is_checkpoint(tmp_path / name)


async def test_saving_over_a_file_that_is_not_a_checkpoint_asks_first(tmp_path):
    notes = tmp_path / "notes.npz"
    notes.write_text("my notes")
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await take_steps(pilot, 3)
        await open_screen(pilot, "save")
        error = await submit(pilot, str(notes))
        assert "not a ScratchNet checkpoint" in error and isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # no: the file is left alone, the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, PathDialog) and notes.read_text() == "my notes"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question again")
        await pilot.press("y")
        await wait_for(pilot, lambda: is_checkpoint(notes), what="the checkpoint written over the file")
        await wait_for(pilot, lambda: app.unsaved_steps == 0, what="the run marked as saved")
        assert load_checkpoint(notes).step == 3 and stack(app) == ["Screen"]
        # a checkpoint of ours is replaced without a question
        await take_steps(pilot, 1)
        await open_screen(pilot, "save")
        assert await submit(pilot, str(notes)) == ""
        await wait_for(pilot, lambda: load_checkpoint(notes).step == 4, what="the second save")


async def test_the_open_dialog_refuses_what_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / "fake.npz").write_bytes(b"PK\x03\x04 not really")
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await open_screen(pilot, "load")
        cases = bad_paths(tmp_path)[:-1] + [("\ud800.npz", "\\ud800"),
                                            (str(tmp_path / "notes.txt"), "not a ScratchNet checkpoint"),
                                            (str(tmp_path / "fake.npz"), "not a ScratchNet checkpoint"),
                                            (str(tmp_path / "missing.npz"), "does not exist")]
        for text, fragment in cases:
            error = await submit(pilot, text)
            assert isinstance(app.screen, PathDialog), f"{text!r} was accepted"
            assert fragment.lower() in error.lower(), (text, error)
        assert app.is_running


async def test_the_screenshot_command_asks_for_a_file_and_never_replaces_a_foreign_one(tmp_path):
    picture = tmp_path / "picture.svg"
    picture.write_text("somebody's drawing")
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await palette_command(pilot, "Screenshot")
        assert isinstance(app.screen, PathDialog)
        assert "a device" in await submit(pilot, "/dev/null")
        assert "folder" in await submit(pilot, str(tmp_path))
        assert "exists" in await submit(pilot, str(picture))
        await pilot.press("n")
        await pilot.pause()
        assert picture.read_text() == "somebody's drawing"
        assert await submit(pilot, str(tmp_path / "shot.svg")) == ""
        await wait_for(pilot, lambda: (tmp_path / "shot.svg").exists(), what="the screenshot")
        assert (tmp_path / "shot.svg").read_text().startswith("<svg")
        assert not (stat.S_IMODE(os.stat(tmp_path / "shot.svg").st_mode) & 0o002)


# ------------------------------------------------------------------- autosaves and quitting


async def autosave_a_run(steps: int) -> None:
    """What SIGTERM does to a run with `steps` unsaved steps (tui.safety's handler, without the exit)."""
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await take_steps(pilot, steps)
        assert safety.autosave(app, "sigterm") is not None
        assert app.unsaved_steps == 0 and safety.autosave(app, "sigterm") is None  # nothing new to save


async def test_the_next_start_offers_the_autosaved_run(home, tmp_path):
    await autosave_a_run(4)
    (autosaved,) = safety.pending_autosaves()

    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:  # later: the offer comes back next time
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="the offer")
        assert str(autosaved) in str(app.screen.question)
        await pilot.press("l")
        await pilot.pause()
        assert stack(app) == ["Screen"] and autosaved.exists()

    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:  # open: the run as it was, its steps still unsaved
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="the offer")
        await pilot.press("o")
        await wait_for(pilot, lambda: app.session is not None and app.session.snapshot().step == 4
                       and app.unsaved_steps == 4, what="the autosaved run")
        assert not autosaved.exists() and app.checkpoint_path == "scratchnet.npz"
        await pilot.press("q")  # quitting asks, and can save first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the quit question")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
        assert await submit(pilot, "kept.npz") == ""
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit once saved")
    assert load_checkpoint(tmp_path / "kept.npz").step == 4

    await autosave_a_run(2)
    (autosaved,) = safety.pending_autosaves()
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:  # discard
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="the offer")
        await pilot.press("d")
        await pilot.pause()
        assert not autosaved.exists() and stack(app) == ["Screen"]


async def test_quitting_with_unsaved_steps_asks_and_cancelling_the_save_keeps_the_app():
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await take_steps(pilot, 2)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the quit question")
        assert "2 unsaved training steps" in str(app.screen.question)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("q", "s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the save dialog")
        await pilot.press("escape")  # no save after all: nothing quits
        await pilot.pause()
        assert app.is_running and stack(app) == ["Screen"]
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: not app.is_running, what="quit without saving")


async def test_an_error_in_a_handler_ends_the_app_with_code_1_a_log_and_an_autosave(home, monkeypatch):
    def broken(self):
        raise RuntimeError("a bug in a key handler")

    monkeypatch.setattr(ScratchNetApp, "action_help", broken)
    app = ScratchNetApp(CIRCLE)
    with pytest.raises(RuntimeError, match="a bug in a key handler"):  # run_test re-raises it
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            await take_steps(pilot, 2)
            await pilot.press("question_mark")
            await pilot.pause()
    assert app.return_code == 1
    (log,) = (home / "logs").glob("crash-*.log")
    (autosaved,) = safety.pending_autosaves()
    assert "RuntimeError: a bug in a key handler" in log.read_text() and load_checkpoint(autosaved).step == 2
    assert app.farewell.splitlines() == [
        "scratchnet: the app failed: RuntimeError: a bug in a key handler",
        f"  the full traceback is in {log}",
        f"  the run was autosaved to {autosaved} (the next `scratchnet` offers to open it)"]


async def test_the_help_screen_shows_every_key_whole_at_80x24():
    from textual.containers import VerticalScroll

    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        scroll = app.screen.query_one(VerticalScroll)
        assert scroll.max_scroll_x == 0, "nothing is cut on the right: long descriptions wrap"
        assert scroll.max_scroll_y > 0 and "scroll" in str(scroll.border_subtitle)  # more below, and it says so
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y, "the last rows can be reached"


async def test_two_answers_in_a_row_close_a_dialog_once():
    """Keys that land while a dialog closes (y then escape, q then q) answered it a second time, and
    the second dismiss popped the main screen: ScreenStackError, the app gone (found by the monkey)."""
    app = ScratchNetApp(CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for dialog, first, second in [
            (ConfirmDialog("Quit?", "Really?"), lambda d: d.action_choose(1), lambda d: d.action_cancel()),
            (UnsavedDialog(3, "re-initialise"), lambda d: d.answer("cancel"), lambda d: d.answer("discard")),
            (PathDialog("Save", "x.npz", check=checkpoint_output), lambda d: d.action_cancel(),
             lambda d: d.action_cancel()),
            (HelpScreen([("q", "Quit")]), lambda d: d.action_dismiss_help(), lambda d: d.action_dismiss_help()),
        ]:
            answers = []
            app.push_screen(dialog, answers.append)
            await pilot.pause()
            first(dialog)
            second(dialog)
            await pilot.pause()
            assert app.is_running and app.screen is app.main, type(dialog).__name__
            assert len(answers) == 1, (type(dialog).__name__, answers)
