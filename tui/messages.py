"""Messages the app's workers and widgets send (dataclasses, as Posting does).

Worker threads only ever `post_message` these (thread-safe, never blocking); none of them is sent
from the training loop itself: the UI pulls the session's snapshot on a timer instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.worker import Worker


@dataclass
class DatasetProgress(Message):
    """Bytes of a dataset download so far (total 0 when unknown)."""

    name: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DatasetProgress)


@dataclass
class SessionReady(Message):
    """A new training session was built (from the form, or loaded from a checkpoint)."""

    session: Any
    dataset: Any
    token: int = 0  # which request it answers (a newer request makes it stale)
    source: str = ""  # the checkpoint path it was loaded from, if any
    continued: bool = False  # True when it continues the app's current run (e.g. for more epochs)


@dataclass
class SessionFailed(Message):
    """Building a session (loading its dataset or a checkpoint) failed."""

    message: str
    field: str | None = None  # the config field at fault, when known
    token: int = 0


@dataclass
class GradCheckProgress(Message):
    """Parameters checked so far by a gradient check; its result comes with its worker's SUCCESS state."""

    done: int
    total: int
    worker: Worker  # the check's: a cancelled one's progress is not shown

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GradCheckProgress)


@dataclass
class CheckpointSaved(Message):
    """A save ended: written (`session` at `step` is in the file at `path`), or failed with `error`."""

    path: str
    error: str | None = None
    session: Any = None
    step: int = 0


@dataclass
class ConfigEdited(Message):
    """The configuration form changed; `errors` maps field ids to what is wrong with them.

    `committed`: the user finished editing a field (enter, or focus left it), as opposed to a keystroke
    on the way to a value (typing 5e-4 passes through 5).
    """

    errors: dict[str, str]
    committed: bool = False
