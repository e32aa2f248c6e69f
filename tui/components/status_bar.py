"""The status line: state, epoch and step, loss, accuracy, speed, elapsed and ETA, learning rate.

One line when the terminal is wide enough, two at 80 columns, plus a line for the session's message
(divergence, errors, loading) when there is one. It redraws only when its text changes.
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
SEPARATOR = "  "


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
        self.parts: tuple[Text, Text, str] = (Text("LOADING", style=STATE_STYLES["loading"]), Text(""), "")
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

        head = Text()
        head.append("● " + state.upper(), style=STATE_STYLES.get(state, "bold"))
        epoch_text = fmt_count(epoch) + (f"/{epochs}" if epochs else "")
        head.append(f"{SEPARATOR}epoch {epoch_text}")
        step_text = fmt_count(step) + (f"/{int(total):,}" if total else "")
        head.append(f"{SEPARATOR}step {step_text}")
        head.append(f"{SEPARATOR}lr {fmt_number(lr)}")

        body = Text()
        body.append("loss ")
        body.append(fmt_number(loss), style="bold")
        body.append(f"{SEPARATOR}acc ")
        body.append(fmt_percent(train_acc), style="bold")
        body.append(f" test {fmt_percent(test_acc)}")
        speed_text = "--" if speed is None or not math.isfinite(float(speed)) else f"{float(speed):,.0f}"
        body.append(f"{SEPARATOR}{speed_text} steps/s")
        body.append(f"{SEPARATOR}{fmt_duration(elapsed)} elapsed{SEPARATOR}ETA {fmt_duration(eta)}")
        self._set(state, head, body, message)

    def show_text(self, state: str, message: str = "") -> None:
        """A state without a session behind it (loading, a failed load)."""
        key = ("text", state, message)
        if key == self._key:
            return
        self._key = key
        head = Text("● " + state.upper(), style=STATE_STYLES.get(state, "bold"))
        self._set(state, head, Text(""), message)

    def _set(self, state: str, head: Text, body: Text, message: str) -> None:
        old_lines = self._line_count(self.size.width) if self.size.width else None
        self.state = state
        self.parts = (head, body, message)
        if old_lines is not None and self._line_count(self.size.width) != old_lines:
            self.refresh(layout=True)
        else:
            self.refresh()

    @property
    def text(self) -> str:
        """Everything shown, as plain text (for tests)."""
        head, body, message = self.parts
        return " ".join(part for part in (head.plain, body.plain, message) if part)

    # ------------------------------------------------------------------------------ drawing

    def _lines(self, width: int) -> list[Text]:
        head, body, message = self.parts
        lines: list[Text] = []
        if not body.plain:
            lines.append(head)
        elif len(head) + len(body) + 5 <= width:
            lines.append(Text.assemble(head, Text("  │  ", style="dim"), body))
        else:
            lines.extend((head, body))
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
