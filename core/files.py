"""The files a user names: outputs checked before any work starts and written atomically, inputs
read within bounds.

    path = check_output("run.npz", "checkpoint", is_ours=is_checkpoint)   # PathError if unusable
    atomic_write(path, lambda file: file.write(data))                      # the old file or the new one
    data = read_input("run.toml", "config file", max_bytes=1 << 20)       # PathError if not a small file

An output may replace only a regular file that is one of ours (`is_ours`), unless the caller has
asked the user (`overwrite=True`). An atomic write goes to a temporary file `.<name>.XXXXXXXX.tmp`
beside the target, locked while it is written, flushed to disk and renamed over the target; a
process killed mid-write leaves that file behind, and the next write into the same folder removes
it (nobody holds its lock any more).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

#: Characters the temporary file adds to the target's name: "." + name + "." + 8 random + ".tmp".
TEMP_EXTRA = 1 + 1 + 8 + 4
_TEMP_PATTERN = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp")


class PathError(ValueError):
    """A path that cannot be used: the message names the file and what is wrong.

    `overwritable` is True when the only problem is an existing file that is not ours: asking the
    user (a CLI flag, a confirmation in the app) and passing overwrite=True makes it usable.
    """

    def __init__(self, message: str, *, overwritable: bool = False) -> None:
        super().__init__(message)
        self.overwritable = overwritable


def expand(text: str | os.PathLike, what: str) -> Path:
    """`text` as a Path with ~ expanded; PathError if it is empty or names an unknown ~user."""
    text = os.fspath(text)
    if not text.strip():
        raise PathError(f"no {what} file named (the name is empty)")
    path = Path(os.path.expanduser(text))  # an unknown ~user stays as it is
    if str(path).startswith("~"):
        raise PathError(f"{what} {text}: {text.split(os.sep)[0]} is not a user's home folder here")
    return path


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_output(text: str | os.PathLike, what: str, *, is_ours: Callable[[Path], bool] | None = None,
                 overwrite: bool = False) -> Path:
    """The path an output named `text` may be written to, or PathError saying why not.

    Refused: an empty name, a trailing slash, a folder, a device, FIFO or socket, a missing or
    unwritable folder, a name too long once the temporary suffix is added, and an existing file
    for which `is_ours` is false (unless `overwrite`).
    """
    raw = os.fspath(text)
    path = expand(raw, what)
    if raw.endswith(("/", os.sep)):
        raise PathError(f"{what} {raw}: names a folder (it ends in {raw[-1]}); name a file")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise PathError(f"{what} {raw}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise PathError(f"{what} {raw}: is {_kind(mode)}, not a file ScratchNet may write")
    folder = path.parent
    if not folder.is_dir():
        raise PathError(f"{what} {raw}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PathError(f"{what} {raw}: the folder {folder} is not writable")
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = None
    if limit is not None and len(os.fsencode(path.name)) + TEMP_EXTRA > limit:
        raise PathError(f"{what} {raw}: the name is too long for this filesystem "
                        f"(at most {limit - TEMP_EXTRA} bytes, as the save writes a temporary file first)")
    if mode is not None and not overwrite and (is_ours is None or not is_ours(path)):
        raise PathError(f"{what} {raw}: a file of that name exists and is not a ScratchNet {what}",
                        overwritable=True)
    return path


def check_distinct(outputs: dict[str, Path]) -> None:
    """PathError if two of the outputs ({what: path}) are the same file."""
    seen: dict[str, str] = {}
    for what, path in outputs.items():
        real = os.path.realpath(path)
        if real in seen:
            raise PathError(f"the {seen[real]} and the {what} would both be written to {path}: name two files")
        seen[real] = what


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temporary files that interrupted writes of `path` left in its folder (those whose
    lock nobody holds); returns what was removed."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent if str(path.parent) else "."):
            match = _TEMP_PATTERN.fullmatch(entry.name)
            if match is None or match["name"] != path.name or not entry.is_file(follow_symlinks=False):
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a writer still at work holds it
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
            finally:
                os.close(fd)
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object], mode: int = 0o644) -> None:
    """Call `write(file)` on a temporary file beside `path`, then rename it over `path`: a crash at
    any point leaves the old file or the new one. OSError if it cannot be written (nothing is left)."""
    path = Path(path)
    remove_stale_temps(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    lock = os.open(temp, os.O_RDONLY)  # held until the rename: remove_stale_temps leaves it alone
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.fchmod(fd, mode)  # an ordinary file to the user (mkstemp makes it private)
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        os.close(lock)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """fsync the folder, so that the rename itself survives a power cut."""
    fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_input(text: str | os.PathLike, what: str, *, max_bytes: int) -> BinaryIO:
    """`text` opened for reading, once it is known to be a regular file of at most `max_bytes`
    (checked on the open file, which a FIFO or device cannot block); PathError otherwise."""
    raw = os.fspath(text)
    path = expand(raw, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PathError(f"no {what} at {raw}") from None
    except OSError as exc:
        raise PathError(f"cannot read {what} {raw}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PathError(f"{what} {raw}: is {_kind(info.st_mode)}, not a file")
        if info.st_size > max_bytes:
            raise PathError(f"{what} {raw}: is {info.st_size:,} bytes, more than the {max_bytes:,} "
                            f"a {what} may have")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(text: str | os.PathLike, what: str, *, max_bytes: int) -> bytes:
    """The bytes of `text` (see open_input), never more than `max_bytes`, even if the file grows."""
    with open_input(text, what, max_bytes=max_bytes) as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PathError(f"{what} {os.fspath(text)}: grew past {max_bytes:,} bytes while being read")
    return data
