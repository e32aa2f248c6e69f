"""`scratchnet app` in a pseudo-terminal, as a user runs it (issue 11): SIGTERM and SIGHUP restore the
terminal and autosave a run with unsaved progress; an unhandled error exits 1 with a short message,
a traceback log and an autosave; without a terminal the app refuses to start (exit 2)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from core.checkpoint import load_checkpoint
from tests.cli_driving import ENV, ROOT
from tui import safety

APP_ARGS = ["app", "--dataset", "circle", "--n-samples", "200", "--hidden", "8", "--batch-size", "10",
            "--epochs", "100000"]
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"

#: Runs `scratchnet ARGS` with two test hooks: once the session is built it takes $STEPS steps and
#: then creates the file $MARKER (so the test knows when to act); with $CRASH, `?` raises an error.
DRIVER = """
import os, sys
from tui import cli
from tui.app import ScratchNetApp

steps, marker = int(os.environ["STEPS"]), os.environ["MARKER"]
mount = ScratchNetApp.on_mount

def on_mount(self):
    mount(self)
    def check():
        snap = None if self.session is None or self.loading else self.session.snapshot()
        if snap is None:
            return
        if snap.step == 0 and snap.state == "ready" and steps:
            self.session.step(steps)
        if snap.step >= steps and not os.path.exists(marker):
            open(marker, "w").close()
    self.set_interval(0.05, check)

ScratchNetApp.on_mount = on_mount
if os.environ.get("CRASH"):
    def action_help(self):
        raise ZeroDivisionError("injected for the test")
    ScratchNetApp.action_help = action_help
sys.exit(cli.main(sys.argv[1:]))
"""


class Terminal:
    """`python -c DRIVER ARGS` on a new 80x24 pseudo-terminal; everything it writes is kept in .output."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its stdin, stdout and stderr
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-c", DRIVER, *args], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""
        self.status: int | None = None
        self.hung_up = False

    def hang_up(self) -> None:
        """Close the terminal's controlling side, as a dropped SSH connection does."""
        os.close(self.fd)
        self.hung_up = True

    def read(self, timeout: float = 0.1) -> None:
        if self.hung_up:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:  # EIO: the child has closed the terminal
                pass

    def wait_for(self, condition, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; output so far: {self.output[-2000:]!r}")
            self.read()

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                self.read(0)
        return self.status is not None

    def finish(self) -> int:
        """The exit code, once the child has exited (after reading what is left of its output)."""
        self.wait_for(self.exited, "the app to exit")
        if self.hung_up:
            return self.status
        while select.select([self.fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk
        os.close(self.fd)
        return self.status

    def kill(self) -> None:
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            self.finish()


@pytest.fixture
def run_app(tmp_path):
    started: list[Terminal] = []

    def run(steps: int, crash: bool = False) -> tuple[Terminal, Path]:
        marker = tmp_path / f"ready-{len(started)}"
        env = {**ENV, "TERM": "xterm-256color", "STEPS": str(steps), "MARKER": str(marker),
               safety.HOME_ENV: str(tmp_path / "home")}
        env.pop("NO_COLOR", None)
        if crash:
            env["CRASH"] = "1"
        terminal = Terminal(APP_ARGS, env)
        started.append(terminal)
        terminal.wait_for(marker.exists, "the app to be ready")
        return terminal, tmp_path / "home"

    yield run
    for terminal in started:
        terminal.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_restores_the_terminal_and_autosaves_the_run(run_app, signum):
    terminal, home = run_app(steps=3)
    os.kill(terminal.pid, signum)
    assert terminal.finish() == 128 + signum
    tail = terminal.output[terminal.output.rfind(LEAVE_ALTERNATE_SCREEN):]
    assert LEAVE_ALTERNATE_SCREEN in terminal.output, "the alternate screen was left"
    saved = list((home / "autosave").glob("*.npz"))
    assert len(saved) == 1 and load_checkpoint(saved[0]).step == 3
    assert f"ended by {signal.Signals(signum).name}; the run was autosaved to {saved[0]}".encode() in tail


def test_a_signal_without_unsaved_progress_saves_nothing(run_app):
    terminal, home = run_app(steps=0)
    os.kill(terminal.pid, signal.SIGTERM)
    assert terminal.finish() == 128 + signal.SIGTERM
    assert LEAVE_ALTERNATE_SCREEN in terminal.output
    assert not list(home.glob("autosave/*.npz"))


def test_an_unhandled_error_exits_1_with_a_short_message_a_log_and_an_autosave(run_app):
    terminal, home = run_app(steps=2, crash=True)
    os.write(terminal.fd, b"?")
    assert terminal.finish() == 1
    after = terminal.output[terminal.output.rfind(LEAVE_ALTERNATE_SCREEN):].decode(errors="replace")
    message = " ".join(after.split())
    assert "the app failed: ZeroDivisionError: injected for the test" in message
    assert "Traceback" not in after and "action_help" not in after, "no traceback on the screen"
    logs = list((home / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and f"the full traceback is in {logs[0]}" in after
    log = logs[0].read_text()
    assert "Traceback (most recent call last)" in log and "action_help" in log and "ZeroDivisionError" in log
    saved = list((home / "autosave").glob("*.npz"))
    assert len(saved) == 1 and load_checkpoint(saved[0]).step == 2


@pytest.mark.parametrize("stdin, stdout", [("pipe", "tty"), ("tty", "pipe"), ("pipe", "pipe")])
def test_the_app_without_a_terminal_exits_2_pointing_to_train(stdin, stdout):
    controller, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tui.cli", *APP_ARGS], cwd=ROOT, env=ENV, timeout=60,
            stdin=follower if stdin == "tty" else subprocess.PIPE,
            stdout=follower if stdout == "tty" else subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        os.close(controller)
        os.close(follower)
    assert result.returncode == 2
    assert b"needs a terminal" in result.stderr and b"scratchnet train" in result.stderr


def test_a_dropped_connection_autosaves_the_run(run_app):
    """The terminal goes away (its controlling side closes, as when SSH drops): SIGHUP, then every
    write to the terminal fails; the run is saved all the same."""
    terminal, home = run_app(steps=3)
    terminal.hang_up()
    terminal.wait_for(terminal.exited, "the app to exit after the hang-up", timeout=safety.EXIT_GRACE + 30)
    assert terminal.status == 129
    saved = list((home / "autosave").glob("*.npz"))
    assert len(saved) == 1 and load_checkpoint(saved[0]).step == 3
