"""Snapshots of the app's screens (pytest-textual-snapshot), at 80x24 and 120x40.

Everything shown is deterministic: seeded networks that have not trained (state ready, so no
speeds, times or ETAs), no notifications, no focused text field (no blinking cursor).
Regenerate with `pytest tests/test_app_snapshots.py --snapshot-update` and look at the SVGs
(tests/__snapshots__/test_app_snapshots/) before committing them.
"""

from __future__ import annotations

import time

import pytest

from core.config import TrainConfig
from tui.app import ScratchNetApp

SIZES = [(80, 24), (120, 40)]


async def loaded(pilot) -> None:
    app = pilot.app
    deadline = time.monotonic() + 20
    while app.session is None or app.loading:
        assert time.monotonic() < deadline, "the session was not built"
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare, size):
    # what `scratchnet` opens with: mnist-sample, one hidden layer of 100, relu, sgd, lr 0.1
    assert snap_compare(ScratchNetApp(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_weights_view(snap_compare, size):
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(24,)))
    assert snap_compare(app, terminal_size=size, press=["3"], run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_gradient_check_view(snap_compare, size):
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(16, 8)))

    async def check(pilot) -> None:
        await loaded(pilot)
        if size[0] < 100:
            await pilot.press("c")  # at 80 columns, the form makes room for the table
        await pilot.press("g")
        deadline = time.monotonic() + 20
        while app.gradcheck_result is None:
            assert time.monotonic() < deadline, "the gradient check did not finish"
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=check)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, size):
    app = ScratchNetApp(TrainConfig(dataset="circle", hidden=(8,)))
    assert snap_compare(app, terminal_size=size, press=["question_mark"], run_before=loaded)
