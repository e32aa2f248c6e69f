"""Focus is unmistakable in 256 colours and with NO_COLOR: focusing any widget changes what the
screen shows in characters or text styles (bold, reverse, underline), not only in colour, near
the widget itself. Also: an open dropdown is framed, and notifications leave the status line and
the footer free."""

from __future__ import annotations

import io

import pytest
from rich.color import ColorSystem
from rich.console import Console
from rich.segment import Segment
from textual.widgets import Select
from textual.widgets._toast import Toast

from core.config import TrainConfig
from tests.app_driving import ready, wait_for
from tui.app import ScratchNetApp

SIZE = (80, 24)


def screen_cells(app, colours: str) -> list[list[tuple]]:
    """Each row of the screen as cells (character, bold, reverse, underline, italic[, colours]): what a
    terminal without colour shows, or with `colours` "256", what a 256-colour terminal shows."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    rows = []
    for line in Segment.split_lines(console.render(update)):
        row = []
        for text, style, control in line:
            if control:
                continue
            attributes = (bool(style.bold), bool(style.reverse), bool(style.underline), bool(style.italic)) \
                if style else (False,) * 4
            if colours == "256" and style:
                attributes += tuple(c.downgrade(ColorSystem.EIGHT_BIT).number if c else None
                                    for c in (style.color, style.bgcolor))
            row.extend((ch,) + attributes for ch in text)
        rows.append(row)
    return rows


async def shows_focus(pilot, widget, colours: str) -> set[int]:
    """The screen rows (outside the footer) that change when `widget` gets the focus; the screen's
    scrolling is the same in both pictures."""
    app = pilot.app
    widget.focus()
    await pilot.pause()
    focused = screen_cells(app, colours)
    app.screen.set_focus(None, scroll_visible=False)
    await pilot.pause()
    blurred = screen_cells(app, colours)
    footer = app.size.height - 1
    return {y for y, (a, b) in enumerate(zip(focused, blurred)) if a != b and y != footer}


def near(widget, rows: set[int]) -> bool:
    region = widget.region
    return any(region.y - 1 <= y <= region.bottom for y in rows)


@pytest.fixture(params=["256", "no_color"])
def colours(request, monkeypatch):
    if request.param == "no_color":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "256")
    return request.param


async def test_focus_shows_in_every_field_and_view(colours):
    app = ScratchNetApp(TrainConfig(dataset="circle", n_samples=200, hidden=(8,)))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.no_color == (colours == "no_color")
        views = app.query_one("#views")
        for key in "12345":
            await pilot.press(key)
            await pilot.pause()
            in_view = [w for w in app.screen.focus_chain if w is views or views in w.ancestors]
            # the form's fields: one of each kind (their focus styles are the kind's)
            fields = {type(w): w for w in reversed(app.screen.focus_chain) if w.id != "config" and w not in in_view}
            for widget in in_view + (list(fields.values()) if key == "1" else []):
                changed = await shows_focus(pilot, widget, colours)
                assert changed and near(widget, changed), f"no visible focus on {widget!r} in view {key}"
        # the form as a whole (it takes the focus when it is entered with no field to return to)
        form = app.query_one("#config")
        assert await shows_focus(pilot, form, colours), "no visible focus on the form"


async def test_focus_shows_on_a_dialog_s_field_and_buttons(colours):
    app = ScratchNetApp(TrainConfig(dataset="circle", n_samples=200, hidden=(8,)))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not app.screen_stack[0], what="the save dialog")
        await pilot.pause(0.1)
        widgets = list(app.screen.focus_chain)
        assert {type(w).__name__ for w in widgets} >= {"Input", "Button"}
        for widget in widgets:
            changed = await shows_focus(pilot, widget, colours)
            assert changed and near(widget, changed), f"no visible focus on {widget!r}"


async def test_open_dropdown_is_framed(colours):
    app = ScratchNetApp(TrainConfig(dataset="circle", n_samples=200, hidden=(8,)))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        select = app.query_one("#f-activation", Select)
        select.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: select.expanded, what="the open dropdown")
        await pilot.pause(0.1)
        overlay = select.query_one("SelectOverlay")
        rows = screen_cells(app, colours)
        region = overlay.region
        top = "".join(cell[0] for cell in rows[region.y][region.x:region.right])
        left = "".join(rows[y][region.x][0] for y in range(region.y + 1, region.bottom - 1))
        assert top.startswith("╭") and top.endswith("╮") and set(left) == {"│"}


async def test_notifications_leave_the_status_line_and_footer_free():
    app = ScratchNetApp(TrainConfig(dataset="circle", n_samples=200, hidden=(8,)))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        app.notify("A notification long enough to wrap onto a third line of its box at 80 columns",
                   title="Training finished")
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 1, what="the notification")
        await pilot.pause(0.1)
        toast = app.screen.query_one(Toast)
        status = app.query_one("#status")
        assert toast.region.height >= 4
        assert toast.region.bottom <= status.region.y, (toast.region, status.region)
