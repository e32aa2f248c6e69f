"""The view on screen is the app's reactive `view`: setting it is all it takes to switch views."""

from __future__ import annotations

from textual.widgets import ContentSwitcher

from core.config import TrainConfig
from tests.app_driving import ready
from tui.app import ScratchNetApp, ViewTabs
from tui.components.weights_view import WeightsView


async def test_setting_the_view_switches_the_pane_and_the_tabs_and_draws_it():
    app = ScratchNetApp(TrainConfig(dataset="circle", hidden=(4,), n_samples=100, batch_size=10))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.view = "weights"
        await pilot.pause()
        assert app.query_one(ContentSwitcher).current == "view-weights"
        assert app.query_one(ViewTabs).current == "weights"
        assert app.query_one(WeightsView).display and app.query_one(WeightsView).weights  # drawn at once
