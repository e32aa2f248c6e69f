"""The status line at 80 columns: the CLI's words and epoch count, its groups evenly spaced."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from textual.app import App, ComposeResult

from tui import cli
from tui.components.status_bar import StatusBar


class StatusApp(App):
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")


def snapshot(**changes) -> SimpleNamespace:
    values = dict(state="paused", message="", step=669, total_steps=1250, epoch=26, steps_per_epoch=25,
                  learning_rate=0.03, loss=0.1238, train_accuracy=0.9, test_accuracy=0.92,
                  steps_per_second=3651.0, elapsed=12.0, eta=3.0)
    values.update(changes)
    return SimpleNamespace(**values)


def shown_lines(status: StatusBar) -> list[str]:
    return [line.plain for line in status._lines(status.content_size.width)]


@pytest.mark.parametrize("width", [80, 120, 200])
async def test_status_line_uses_the_cli_words_and_spaces_groups_evenly(width):
    app = StatusApp()
    async with app.run_test(size=(width, 10)) as pilot:
        status = app.query_one(StatusBar)
        snap = snapshot()
        status.show(snap, epochs=50)
        await pilot.pause()
        lines = shown_lines(status)
        text = " ".join(lines)
        assert "train 90.0%" in text and "test 92.0%" in text and "acc" not in text
        # the epoch under way, counted as `scratchnet train` counts it
        cli_epoch = re.search(r"epoch \S+", cli._progress_line(snap)).group()
        assert cli_epoch == "epoch 27/50" and cli_epoch in text
        assert len(lines) == {80: 2, 120: 2, 200: 1}[width]  # the run's progress, then its measures
        gaps = {len(gap) for line in lines for gap in re.findall(r" {2,}", line.strip())}
        assert len(gaps) == 1, f"uneven gaps {gaps} in {lines}"  # one gap width on every line
        assert all(len(line) <= width - 2 for line in lines)


async def test_status_line_epoch_count_from_first_step_to_finish():
    app = StatusApp()
    async with app.run_test(size=(80, 10)) as pilot:
        status = app.query_one(StatusBar)
        for epoch, step, state, expected in ((0, 0, "ready", "epoch 1/50"), (50, 1250, "finished", "epoch 50/50")):
            snap = snapshot(epoch=epoch, step=step, state=state)
            status.show(snap, epochs=50)
            await pilot.pause()
            assert expected in status.text
            assert expected in cli._progress_line(snap)
