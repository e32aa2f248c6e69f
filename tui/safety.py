"""What keeps a trained network and the terminal safe when the app ends unexpectedly.

- SIGTERM and SIGHUP (a `kill`, an SSH connection dropping) autosave a run with unsaved progress
  into the user data folder, then end the app the normal way, which leaves the alternate screen.
- An unhandled error autosaves the same way, writes the full traceback to a log file and ends the
  app with exit code 1 and a short message naming that log.
- The next start finds the autosave (`pending_autosaves`) and the app offers to open it.

Everything goes under `data_dir()`: platformdirs.user_data_dir("scratchnet"), or the folder named by
the SCRATCHNET_HOME environment variable (tests point it at a temporary folder).
"""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from core.checkpoint import save_checkpoint
from core.files import atomic_write

HOME_ENV = "SCRATCHNET_HOME"
#: The signals after which the app autosaves and exits, with the exit codes a shell gives them.
EXIT_SIGNALS = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGHUP: 128 + signal.SIGHUP}
#: Seconds the app has, after such a signal, to shut down the normal way before the process ends
#: regardless: with its terminal gone, Textual's output thread can die on a write error, and closing
#: the driver then waits for it forever (seen under load). The run is autosaved before this starts.
EXIT_GRACE = 5.0


def data_dir() -> Path:
    """ScratchNet's own folder for autosaves and crash logs."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("scratchnet"))


def autosave_dir() -> Path:
    return data_dir() / "autosave"


def log_dir() -> Path:
    return data_dir() / "logs"


def _stamp() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


# ---------------------------------------------------------------------------------- autosaves


def autosave(app: Any, reason: str) -> Path | None:
    """Save the app's run into the autosave folder if it has unsaved progress; the file, or None
    (nothing to save, or the save failed: an autosave never raises)."""
    session = app.session
    try:
        if session is None or app.unsaved_steps == 0:
            return None
        checkpoint = session.checkpoint()
        folder = autosave_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_stamp()}-step{checkpoint.step}-{reason}.npz"
        save_checkpoint(path, checkpoint)
    except Exception:
        return None
    app.mark_saved(checkpoint.step)
    return path


def pending_autosaves() -> list[Path]:
    """The autosaved runs not yet opened or discarded, newest first."""
    try:
        return sorted(autosave_dir().glob("*.npz"), key=lambda p: p.name, reverse=True)
    except OSError:
        return []


def is_autosave(path: str | os.PathLike) -> bool:
    try:
        return Path(path).resolve().parent == autosave_dir().resolve()
    except (OSError, ValueError):
        return False


def discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# ------------------------------------------------------------------------------------- signals


def has_terminal() -> bool:
    """Are standard input and output both a terminal (as the app needs)?"""
    return sys.stdin is not None and sys.stdout is not None and sys.stdin.isatty() and sys.stdout.isatty()


def install_signal_handlers(app: Any) -> None:
    """On SIGTERM or SIGHUP: autosave, then end the app (its driver restores the terminal) with the
    signal's conventional exit code. Called from the app's event loop (on_mount)."""
    loop = asyncio.get_running_loop()
    for signum in EXIT_SIGNALS:
        try:
            loop.add_signal_handler(signum, _on_signal, app, signum)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread: signals go elsewhere
            return


def remove_signal_handlers() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for signum in EXIT_SIGNALS:
        try:
            loop.remove_signal_handler(signum)
        except (ValueError, RuntimeError):
            pass


def _on_signal(app: Any, signum: int) -> None:
    name = signal.Signals(signum).name
    path = autosave(app, name.lower())
    saved = f"; the run was autosaved to {path} (the next `scratchnet` offers to open it)" if path else ""
    app._stop_threads()
    app.farewell = f"scratchnet: ended by {name}{saved}"
    deadline = threading.Timer(EXIT_GRACE, os._exit, args=(EXIT_SIGNALS[signum],))
    deadline.daemon = True  # a normal exit within the grace ends it with the process
    deadline.start()
    app.exit(return_code=EXIT_SIGNALS[signum])


# ---------------------------------------------------------------------------------- crashes


def crash_report(app: Any, error: BaseException) -> str:
    """After an unhandled error: autosave the run, write the full traceback to a log file, and
    return the short message to show once the terminal is restored."""
    path = autosave(app, "crash")
    log = write_crash_log(error)
    lines = [f"scratchnet: the app failed: {type(error).__name__}: {error}"]
    lines.append(f"  the full traceback is in {log}" if log else "  (the traceback could not be written)")
    if path:
        lines.append(f"  the run was autosaved to {path} (the next `scratchnet` offers to open it)")
    return "\n".join(lines)


def write_crash_log(error: BaseException) -> Path | None:
    """The traceback of `error` in a new file under log_dir(); None if it cannot be written."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{_stamp()}-{os.getpid()}.log"
        atomic_write(path, lambda file: file.write(text.encode("utf-8", "replace")))
    except Exception:
        return None
    return path
