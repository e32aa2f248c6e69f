"""Every key does one thing, wherever the focus is: the weights view's keys work from anywhere, a text
field types what it is given, and the footer offers only keys that work in the focused widget."""

from __future__ import annotations

from textual.binding import BindingsMap
from textual.keys import key_to_character
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from core.config import TrainConfig
from tests.app_driving import ready
from tests.test_app import LONG_CIRCLE, snap
from tui.app import COMMANDS, ScratchNetApp, ViewsPane
from tui.components.charts import AccuracyChart, LossChart
from tui.components.config_form import ConfigForm
from tui.components.file_dialog import PathDialog
from tui.components.help_screen import HelpScreen
from tui.components.weights_view import WeightsView


def footer_keys(app: ScratchNetApp) -> dict[str, str]:
    """What the footer shows: {key as displayed: description}."""
    return {key.key_display: key.description for key in app.screen.query(FooterKey)}


def bound_keys(*owners: type) -> dict[str, set[str]]:
    """{key: the actions bound to it} over the bindings of the app and of widgets that take the focus."""
    actions: dict[str, set[str]] = {}
    for owner in owners:
        for key, bindings in BindingsMap(owner.BINDINGS).key_to_bindings.items():
            for binding in bindings:
                name = binding.action.removeprefix("app.").split("(")[0]
                actions.setdefault(key, set()).add(name)
    return actions


def test_no_key_means_two_things():
    keys = bound_keys(ScratchNetApp, ConfigForm, ViewsPane, LossChart, AccuracyChart, WeightsView)
    doubled = {key: names for key, names in keys.items() if len(names) > 1}
    assert not doubled, doubled


async def test_the_weights_keys_work_without_focusing_the_view_and_l_only_toggles_the_log_axis():
    app = ScratchNetApp(TrainConfig(dataset="mnist-sample", hidden=(16,)))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        view = app.query_one(WeightsView)
        assert app.focused.id == "views"  # the pane, not the weights view
        await pilot.pause()
        assert view.current_page.layer == "W1"
        await pilot.press("greater_than_sign")
        assert view.current_page.layer == "W2"
        await pilot.press("less_than_sign")
        assert view.current_page.layer == "W1"
        zoom = view.zoom
        await pilot.press("z")
        assert view.zoom != zoom
        view.focus()
        await pilot.press("greater_than_sign", "l")  # in the view too: l is the log axis, nothing else
        assert view.current_page.layer == "W2"
        assert app.view == "loss" and app.query_one(LossChart).log_y
        await pilot.press("z")  # from another view: shows the weights, at the next tile size
        assert app.view == "weights"


async def test_weight_matrix_labels_say_rows_x_columns_as_drawn():
    app = ScratchNetApp(LONG_CIRCLE)  # 2 inputs, 8 hidden units, 2 classes
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await pilot.pause()
        view = app.query_one(WeightsView)
        labels = view.render_line(1).text
        # W1 is 2x8 (inputs x units) and drawn transposed: a row per unit, a column per input
        assert "W1 8x2" in labels and "W2 2x8" in labels, labels


async def test_with_a_text_field_focused_every_key_types_or_does_what_the_footer_says():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert footer_keys(app).get("?") == "Help" and "space" in footer_keys(app)
        field = app.query_one("#f-hidden", Input)
        field.focus()
        field.value = ""
        await pilot.pause()
        shown = footer_keys(app)
        assert shown.get("f1") == "Help" and "?" not in shown
        assert not [key for key in shown if len(key) == 1 or key == "space"], shown  # they would type
        typed = ""
        for binding in ScratchNetApp.BINDINGS:
            for key in binding.key.split(","):
                character = key_to_character(key)
                if character is not None and character.isprintable():
                    await pilot.press(key)
                    typed += character
        assert field.value == typed  # each typed, none acted
        assert app.screen is app.main and app.is_running and snap(app).step == 0 and app.view == "loss"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert app.focused is field
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PathDialog)
        await pilot.press("escape")
        await pilot.press("escape")  # leaves the form
        assert app.focused.id == "views"


async def test_help_and_palette_list_the_weights_keys():
    app = ScratchNetApp(LONG_CIRCLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        keys = {command.keys: command.action for command in COMMANDS}
        assert keys["z"] == "weights_zoom" and keys["< >"].startswith("weights_layer")
        await pilot.press("question_mark")
        rows = [key for key, _ in app.screen.rows]
        assert "z" in rows and "< >" in rows and "? f1" in rows
