"""The status line: state, step and epoch, learning rate, loss, train and test accuracy, speed,
elapsed time and ETA, in the words and counts of `scratchnet train`'s progress line.

Its groups ("step 669/1,250", "train 90.0%") sit on one line when the terminal is wide enough, on
two at 80 columns (the run's progress, then its measures), each line with the same gap between all
its groups; a last line holds the session's message (divergence, errors, loading) when there is
one. It redraws only when its text changes.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

STATE_STYLES = {
    "loading": "bold blue",
    "ready": "bold cyan",
    "training": "bold green",
    "paused": "bold yellow",
    "stopped": "bold magenta",
    "finished": "bold cyan",
    "diverged": "bold red",
    "error": "bold red",
}
#: The gaps between groups on a line: all the same, as wide as the line allows within these bounds.
MIN_GAP, MAX_GAP = 2, 4


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_number(value: float | None) -> str:
    """Four significant digits, without a trailing exponent unless needed: 0.2345, 1.2e+05, nan."""
    if value is None:
        return "--"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def fmt_percent(value: float | None) -> str:
    if value is None or not math.isfinite(float(value)):
        return "--"
    return f"{100 * float(value):.1f}%"


def fmt_count(value: int | None) -> str:
    return "--" if value is None else f"{int(value):,}"


def fmt_epoch(done: int | None, epochs: int | None) -> str:
    """The epoch under way out of the run's epochs, as `scratchnet train` counts: 1/5 before the first
    step, 5/5 once the last epoch is done (`done` is the number of whole epochs done)."""
    if done is None:
        return "--"
    current = int(done) + 1
    return f"{min(current, epochs)}/{epochs}" if epochs else f"{current}"


class StatusBar(Widget):
    """Call `show(snapshot)` (anything with the Snapshot's attributes) or `show_text(state, message)`."""

    DEFAULT_CSS = """
    StatusBar {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = "loading"
        self.groups: tuple[list[Text], list[Text]] = ([self._state_text("loading")], [])
        self.message = ""
        self._key: Any = None

    # ------------------------------------------------------------------------------- content

    def show(self, snap: Any, *, epochs: int | None = None, note: str = "") -> None:
        """Show a training snapshot; `epochs` is the run's planned number of epochs, `note` overrides the message."""
        get = lambda name, default=None: getattr(snap, name, default)  # noqa: E731
        state = str(get("state", "ready"))
        epoch, step, total = get("epoch"), get("step"), get("total_steps")
        loss, train_acc, test_acc = get("loss"), get("train_accuracy"), get("test_accuracy")
        lr, speed = get("learning_rate"), get("steps_per_second")
        elapsed, eta = get("elapsed"), get("eta")
        message = note or str(get("message") or "")
        key = (state, epoch, step, total, epochs, loss, train_acc, test_acc, lr,
               None if speed is None else round(float(speed)),
               None if elapsed is None else int(elapsed), None if eta is None else int(eta), message)
        if key == self._key:
            return
        self._key = key

        progress = [
            self._state_text(state),
            Text("step " + fmt_count(step) + (f"/{int(total):,}" if total else "")),
            Text(f"epoch {fmt_epoch(epoch, epochs)}"),
            Text(f"lr {fmt_number(lr)}"),
        ]
        speed_text = "--" if speed is None or not math.isfinite(float(speed)) else f"{float(speed):,.0f}"
        measures = [
            Text.assemble("loss ", (fmt_number(loss), "bold")),
            Text.assemble("train ", (fmt_percent(train_acc), "bold")),
            Text.assemble("test ", (fmt_percent(test_acc), "bold")),
            Text(f"{speed_text} steps/s"),
            Text(f"{fmt_duration(elapsed)} elapsed"),
            Text(f"ETA {fmt_duration(eta)}"),
        ]
        self._set(state, progress, measures, message)

    def show_text(self, state: str, message: str = "") -> None:
        """A state without a session behind it (loading, a failed load)."""
        key = ("text", state, message)
        if key == self._key:
            return
        self._key = key
        self._set(state, [self._state_text(state)], [], message)

    @staticmethod
    def _state_text(state: str) -> Text:
        return Text("● " + state.upper(), style=STATE_STYLES.get(state, "bold"))

    def _set(self, state: str, progress: list[Text], measures: list[Text], message: str) -> None:
        old_lines = self._line_count(self.size.width) if self.size.width else None
        self.state = state
        self.groups = (progress, measures)
        self.message = message
        if old_lines is not None and self._line_count(self.size.width) != old_lines:
            self.refresh(layout=True)
        else:
            self.refresh()

    @property
    def parts(self) -> tuple[Text, Text, str]:
        """(the run's progress, its measures, the message), the groups joined by the narrowest gap."""
        progress, measures = self.groups
        return Text(" " * MIN_GAP).join(progress), Text(" " * MIN_GAP).join(measures), self.message

    @property
    def text(self) -> str:
        """Everything shown, as plain text (for tests)."""
        head, body, message = self.parts
        return " ".join(part for part in (head.plain, body.plain, message) if part)

    # ------------------------------------------------------------------------------ drawing

    def _lines(self, width: int) -> list[Text]:
        progress, measures = self.groups
        message = self.message
        everything = progress + measures
        rows = [everything] if _length(everything, MIN_GAP) <= width else [g for g in (progress, measures) if g]
        gap = min(_widest_gap(groups, width) for groups in rows)  # the same gap on every line
        lines = [Text(" " * gap).join(groups) for groups in rows]
        if message:
            style = STATE_STYLES.get(self.state, "") if self.state in ("diverged", "error") else "italic"
            lines.append(Text(message, style=style))
        out = []
        for line in lines:
            line = line.copy()
            line.no_wrap = True
            line.truncate(max(width, 1), overflow="ellipsis")
            out.append(line)
        return out

    def _line_count(self, width: int) -> int:
        return len(self._lines(width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._line_count(width)

    def render(self) -> Text:
        return Text("\n").join(self._lines(self.content_size.width))


def _length(groups: list[Text], gap: int) -> int:
    return sum(len(group) for group in groups) + gap * (len(groups) - 1)


def _widest_gap(groups: list[Text], width: int) -> int:
    """The widest gap (MIN_GAP to MAX_GAP) that lets the groups fit `width` on one line."""
    if len(groups) < 2:
        return MAX_GAP
    spare = width - _length(groups, 0)
    return max(MIN_GAP, min(MAX_GAP, spare // (len(groups) - 1)))
