"""The run views mounted in a small app at 80x24: fed plain data, judged by what they draw."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, ProgressBar, Static

from core.gradcheck import GradCheckResult, ParamCheck, gradient_check
from core.config import TrainConfig
from core.network import MLP
from core.training import TrainingSession, load_data
from tui.drawing.curves import ema_debiased
from tui.drawing.weights import GLYPH_RAMP, diverging_colors, format_scale, quantize, symmetric_scale, unit_images
from tui.components import AccuracyChart, DecisionView, GradCheckView, LossChart, WeightsView, pacing
from tui.components.pacing import Run

SIZE = (80, 24)


class ViewApp(App):
    """One view, 14 rows tall (what the app gives a view at 80x24), under a 1-row spacer."""

    CSS = """
    #spacer { height: 1; }
    #view { height: 14; }
    """

    def __init__(self, view, no_color: bool = False) -> None:
        super().__init__()
        self.view = view
        if no_color:
            self.no_color = True

    def compose(self) -> ComposeResult:
        yield Static("spacer", id="spacer")
        self.view.id = "view"
        yield self.view


def lines(widget) -> list:
    return [widget.render_line(y) for y in range(widget.size.height)]


def shown(widget) -> str:
    """Everything a line-drawn widget shows, as plain text."""
    return "\n".join(strip.text for strip in lines(widget))


def mnist_weights(seed: int = 0) -> dict[str, np.ndarray]:
    net = MLP((784, 100, 10), weight_init="he", seed=seed)
    return {k: v.copy() for k, v in net.params.items()}


# --------------------------------------------------------------------------------------------
# charts


async def test_loss_chart_downsamples_smooths_and_redraws_only_on_change():
    chart = LossChart(smoothing=0.9)
    app = ViewApp(chart)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "no training steps" in shown(chart)
        plotted = []

        def spy(original):
            def record(*args, **kwargs):
                plotted.append(len(args[0]))
                return original(*args, **kwargs)
            return record

        chart.plt._draw = spy(chart.plt._draw)  # what plot and scatter call
        rng = np.random.default_rng(0)
        steps = np.arange(1, 20_001)
        losses = 2.3 * np.exp(-steps / 3000) + 0.1 + 0.05 * rng.random(len(steps))
        assert chart.set_data(steps, losses, [5000, 10000, 20000], [0.9, 0.5, 0.3])
        await pilot.pause()
        plain = shown(chart)
        assert chart.builds == 1
        # raw, smoothed and test series, each downsampled to at most twice the width
        assert len(plotted) == 3 and max(plotted) <= 2 * chart.size.width and plotted[0] >= chart.size.width
        assert plain.startswith("per step: ") and "smoothed (0.9)" in plain and "⣿ test 0.3" in plain
        assert any("\u2800" <= ch <= "\u28ff" for ch in plain)  # braille curve drawn
        assert chart.smoothed[:3] == pytest.approx(ema_debiased(losses[:3], 0.9))
        # same data again: nothing to redraw
        assert not chart.set_data(steps, losses, [5000, 10000, 20000], [0.9, 0.5, 0.3])
        chart.refresh()
        await pilot.pause()
        shown(chart)
        assert chart.builds == 1
        # the history grows: the smoothing continues where it was, equal to smoothing it all
        more = np.concatenate([losses, losses[:100]])
        assert chart.set_data(np.arange(1, len(more) + 1), more)
        assert np.allclose(chart.smoothed, ema_debiased(more, 0.9))
        await pilot.pause()
        shown(chart)
        assert chart.builds == 2
        # log y: a rebuild with a log axis
        chart.focus()
        await pilot.press("l")
        assert chart.log_y
        await pilot.pause()
        assert shown(chart).splitlines()[-1].startswith("loss (log)")
        assert chart.builds == 3
        # cleared (a reset): the message again, not the last plot
        chart.clear()
        await pilot.pause()
        assert shown(chart).startswith("Loss: no training steps yet.")


async def test_loss_chart_survives_a_diverged_run():
    chart = LossChart()
    async with ViewApp(chart).run_test(size=SIZE) as pilot:
        chart.set_data([1, 2, 3, 4], [2.0, 1.5, np.inf, np.nan])
        chart.log_y = True
        await pilot.pause()
        assert "loss" in shown(chart)


async def test_accuracy_chart():
    chart = AccuracyChart()
    async with ViewApp(chart).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "no evaluations" in shown(chart)
        chart.set_data([100, 200, 300], [0.8, 0.9, 0.95], [0.78, 0.85, 0.925], x_label="step")
        await pilot.pause()
        plain = shown(chart)
        assert "train 95.00%" in plain and "test 92.50%" in plain
        assert "70" in plain and "100" in plain  # the axis starts at a round number below 78%
        assert not chart.set_data([100, 200, 300], [0.8, 0.9, 0.95], [0.78, 0.85, 0.925])


# --------------------------------------------------------------------------------------------
# weights


async def test_weights_view_tiles_pages_and_palette():
    view = WeightsView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "none yet" in view.render_line(0).text
        weights = mnist_weights()
        view.set_weights(weights, (28, 28))
        await pilot.pause()
        assert view.size == (80, 14)
        # 13 rows under the header: auto takes 10x10 tiles (10 cells wide, 5 rows tall), two rows
        # of (80 + 1) // 11 = 7 of them
        assert view.tiles_on_page() == 14
        assert view.page_count == 8 + 2  # 8 pages of tiles, W2.T (10x100) in two pages of columns
        rendered = lines(view)
        header = rendered[0].text
        assert header.startswith("W1 units 1-14 of 100 (10x10)")
        pooled = unit_images(weights["W1"], (28, 28), 3)  # the scale is that of the pooled tiles
        scale = format_scale(symmetric_scale(pooled))[1:]
        assert f"-{scale}" in header and f"+{scale}" in header and "page 1/10" in header
        body = [seg for strip in rendered[1:] for seg in strip]
        assert any("▀" in seg.text for seg in body)
        # colours come from the palette only (plus the background): bounded and prebuilt
        palette = {tuple(map(int, c)) for c in diverging_colors(view.levels)}
        base = view.rich_style
        for seg in body:
            for color in (seg.style.color, seg.style.bgcolor):
                if color is not None and color not in (base.color, base.bgcolor):
                    assert tuple(color.get_truecolor()) in palette
        # tile 2's first cell (row 1 under the header, column 11): the top and bottom pixels of
        # unit 1's pooled image
        codes = quantize(pooled[1] / symmetric_scale(pooled), 1.0, view.levels)
        colors = diverging_colors(view.levels)
        seg = list(rendered[1].crop(11, 12))[0]
        if seg.text == "▀":
            assert tuple(seg.style.color.get_truecolor()) == tuple(colors[codes[0, 0]])
        else:
            assert codes[0, 0] == codes[1, 0]
        assert tuple(seg.style.bgcolor.get_truecolor()) == tuple(colors[codes[1, 0]])
        # the gap column between tiles, and the gap row between tile rows, are background
        gap = list(rendered[3].crop(10, 11))[0]
        assert gap.text == " " and gap.style.bgcolor == base.bgcolor
        assert rendered[6].text.strip() == "" and rendered[7].text.strip() != ""
        # paging by key and by method
        view.focus()
        await pilot.press("pagedown")
        assert view.page == 1
        assert view.render_line(0).text.startswith("W1 units 15-28 of 100")
        view.prev_page()
        view.prev_page()  # wraps to the last page: W2's second block of columns
        await pilot.pause()
        assert view.current_page.kind == "matrix"
        assert "W2 units 1-10 of 10, inputs 81-100 of 100" in view.render_line(1).text
        view.next_layer()  # back to W1's first page (the app's > key)
        assert view.page == 0
        view.toggle_zoom()  # full-size tiles (the app's z key): 28 wide, 2 fit across, cropped to 13 rows
        await pilot.pause()
        assert view.zoom == "full" and view.tiles_on_page() == 2
        assert "(28x28)" in view.render_line(0).text
        view.toggle_zoom()  # half: one row of five 14x14 tiles
        await pilot.pause()
        assert view.zoom == "half" and view.tiles_on_page() == 5
        assert view.render_line(0).text.startswith("W1 units 1-5 of 100 (14x14)")
        assert len(view._styles) == (view.levels + 1) ** 2


async def test_weights_view_redraws_only_on_new_weights():
    view = WeightsView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.set_weights(mnist_weights(), (28, 28))
        await pilot.pause()
        painted = view.renders
        assert painted == 1
        view.refresh()
        await pilot.pause()
        lines(view)
        assert view.renders == painted
        view.set_weights(mnist_weights(seed=1), (28, 28))
        await pilot.pause()
        assert view.renders == painted + 1


async def test_weights_view_no_color_uses_glyphs_without_colours():
    view = WeightsView()
    async with ViewApp(view, no_color=True).run_test(size=SIZE) as pilot:
        weights = mnist_weights()
        view.set_weights(weights, (28, 28))
        await pilot.pause()
        assert view.use_glyphs
        rendered = lines(view)
        base = view.rich_style
        for strip in rendered:
            for seg in strip:
                assert seg.style.color == base.color and seg.style.bgcolor == base.bgcolor, seg
        text = "".join(strip.text for strip in rendered[1:8])
        assert "▀" not in text
        assert set(text) <= set(GLYPH_RAMP)
        assert set(text) & set("=#")  # strong negative and positive weights show
        # tiles 10 columns wide, drawn reverse so that they stand apart from the background
        tile_cells = [seg for seg in rendered[1] if seg.style.reverse]
        assert sum(len(seg.text) for seg in tile_cells) == 7 * 10


async def test_weights_view_heatmaps_for_2d_data():
    net = MLP((2, 8, 8, 2), seed=0)
    view = WeightsView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.set_weights(net.params, None)
        await pilot.pause()
        assert view.page_count == 1 and view.tiles_on_page() == 0
        labels = view.render_line(1).text
        # rows x columns as drawn: W.T, one row per unit of the layer, one column per input
        assert labels.startswith("W1") and "W2 8x8" in labels and "W3 2x8" in labels
        assert any(seg.text.strip("▀▄ ") == "" and seg.style.bgcolor is not None
                   for seg in view.render_line(2))


# --------------------------------------------------------------------------------------------
# gradient check


async def test_gradcheck_view_table_progress_and_notes():
    view = GradCheckView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert view.state == "empty"
        view.set_running()
        await pilot.pause()
        bar = view.query_one(ProgressBar)
        assert bar.display and view.has_class("-running")
        view.set_progress(64, 128)
        assert bar.progress == 64 and bar.total == 128
        rng = np.random.default_rng(0)
        net = MLP((4, 5, 3), activation="sigmoid", seed=0)
        result = gradient_check(net, rng.normal(size=(6, 4)), rng.integers(0, 3, 6))
        view.set_result(result)
        await pilot.pause()
        assert not bar.display
        table = view.query_one(DataTable)
        assert table.row_count == 4
        labels = [str(c.label) for c in table.columns.values()]
        # the default delta inside log() gives every row a share to set aside: the column shows what is left
        assert labels == ["param", "verdict", "max rel err", "unexplained", "kinks", "max |diff|", "checked", "shape"]
        row = table.get_row("W1")
        assert row[labels.index("shape")] == "4x5" and str(row[labels.index("checked")]) == "20"
        assert str(row[labels.index("max rel err")]) == f"{result.rows[0].max_rel_error:.1e}"
        verdict = row[1]
        assert verdict.plain.endswith(result.rows[0].verdict) and verdict.style  # a coloured word
        summary = str(view.query_one("#gc-summary", Static).render())
        assert result.verdict.upper() in summary
        notes = str(view.query_one("#gc-notes", Static).render())
        assert result.notes[0][:30] in notes
        view.set_error("cancelled")
        await pilot.pause()
        assert "cancelled" in str(view.query_one("#gc-summary", Static).render())


async def test_gradcheck_view_kinks_column_and_verdict_colours():
    rows = (
        ParamCheck("W1", (784, 50), 30, 1e-9, 1e-10, 3e-3, 2, 2e-9, 1e-10),
        ParamCheck("b1", (50,), 30, 1e-3, 1e-4, 0.5, 0, 0.5, 1e-10),
    )
    result = GradCheckResult(rows=rows, notes=("ReLU kinks: ...", "Delta floor: ..."), h=1e-5, batch_size=3)
    view = GradCheckView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.set_result(result)
        await pilot.pause()
        table = view.query_one(DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert "unexplained" in labels
        w1 = table.get_row("W1")
        assert w1[labels.index("unexplained")].plain == "2.0e-09"
        assert labels.index("unexplained") == labels.index("max rel err") + 1
        assert w1[1].plain == "✓ good" and "#3fb950" in str(w1[1].style)
        b1 = table.get_row("b1")
        assert b1[1].plain == "✗ wrong" and "#f85149" in str(b1[1].style)
        assert "WRONG" in str(view.query_one("#gc-summary", Static).render())


# --------------------------------------------------------------------------------------------
# decision regions


def _linear(points: np.ndarray) -> np.ndarray:
    """Class 1 right of x = 0, confident far from it."""
    z = 4 * points[:, 0]
    p1 = 1 / (1 + np.exp(-z))
    return np.column_stack([1 - p1, p1])


async def test_decision_view_regions_and_points():
    view = DecisionView()
    x_train = np.array([[-3.0, 2.0], [3.0, -2.0]])
    x_test = np.array([[2.0, 2.0]])
    calls = []

    def predict(points):
        calls.append(len(points))
        return _linear(points)

    async with ViewApp(view).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "2-D problems" in view.render_line(0).text
        view.set_data(predict, x_train, np.array([0, 1]), x_test, np.array([0]), ("negative", "positive"),
                      x_range=(-4, 4), y_range=(-3, 3))
        await pilot.pause()
        width, height = view.size
        assert calls == [width * 2 * (height - 1)]  # one evaluation at pixel resolution
        header = view.render_line(0).text
        assert "negative" in header and "positive" in header and "● train" in header
        rendered = lines(view)
        body = rendered[1:]
        text = "".join(s.text for s in body)
        assert text.count("●") == 2 and text.count("○") == 1
        # the train point (-3, 2): column (1/8) * 80 = 10, row (1/6) * 13 = 2
        assert body[2].text[10] == "●"
        assert body[2].text[70] == " " and body[10].text[70] == "●"
        assert body[2].text[60] == "○"  # the test point (2, 2)
        # regions: left cells tinted towards class 0's colour, right cells towards class 1's
        row = list(body[6].crop(0, width))
        left, right = row[0].style.bgcolor.get_truecolor(), row[-1].style.bgcolor.get_truecolor()
        assert left.blue > left.red and right.red > right.blue
        # confidence: a cell near x = 0 is greyer (less saturated) than one at the edge
        near = list(body[6].crop(39, 40))[0].style.bgcolor.get_truecolor()
        saturation = lambda c: max(c) - min(c)  # noqa: E731
        assert saturation(near) < saturation(right) / 2
        # redraws without re-evaluating; a resize re-evaluates
        view.refresh()
        await pilot.pause()
        lines(view)
        assert len(calls) == 1
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        lines(view)
        assert len(calls) == 2


async def test_decision_view_says_whole_what_it_waits_for_in_a_narrow_pane():
    view = DecisionView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.styles.width = 48  # the view's width at 80x24 beside the configuration
        await pilot.pause()
        said = " ".join(shown(view).split())
        assert "choose one as the dataset), once a network exists." in said
        assert all(name in said for name in ("circle", "xor", "gauss", "spiral", "moons"))
        assert all(len(strip.text) == 48 for strip in lines(view))


async def test_decision_view_probability_grid_and_no_color():
    view = DecisionView()
    grid = np.zeros((4, 4, 2))
    grid[:, :2, 0] = 1.0  # class 0 on the left
    grid[:, 2:, 1] = 1.0
    async with ViewApp(view, no_color=True).run_test(size=SIZE) as pilot:
        view.set_data(grid, np.array([[-0.5, 0.5]]), np.array([1]), np.array([[0.5, -0.5]]), np.array([0]),
                      x_range=(-1, 1), y_range=(-1, 1))
        await pilot.pause()
        rendered = lines(view)
        base = view.rich_style
        for strip in rendered:
            for seg in strip:
                assert seg.style.color == base.color and seg.style.bgcolor == base.bgcolor
        body = [s.text for s in rendered[1:]]
        assert body[5][:20].strip(" x") == "" and set(body[5][41:]) == {"."}
        text = "".join(body)
        assert text.count("x") == 1  # the training point of class 1
        test_cells = [seg for s in rendered[1:] for seg in s if seg.style.reverse]
        assert [seg.text for seg in test_cells] == ["O"]  # the test point of class 0: upper case, reversed


async def test_weights_view_header_fits_a_narrow_pane():
    view = WeightsView()
    app = ViewApp(view)
    async with app.run_test(size=SIZE) as pilot:
        view.styles.width = 46
        view.set_weights(mnist_weights(), (28, 28))
        await pilot.pause()
        header = view.render_line(0).text
        assert len(header) == 46
        scale = format_scale(view.page_scale(view.current_page))
        assert header.startswith("W1 1-") and scale in header and f"1/{view.page_count}" in header


@pytest.mark.parametrize("theme", ["pro", "clear", "dark"])
def test_plot_rows_are_exactly_what_plotext_prints(theme):
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from rich.text import Text
    from textual_plotext.plot import Plot

    from tui.components.charts import plot_rows

    def figure() -> Plot:
        plt = Plot()
        plt.theme(theme)
        plt.plotsize(70, 20)
        x = np.linspace(0, 10, 140)
        plt.scatter(x.tolist(), np.sin(x).tolist(), marker="braille", color=(125, 135, 170))
        plt.plot(x.tolist(), np.cos(x).tolist(), marker="hd", color=(255, 170, 40))
        plt.scatter([1, 5, 9], [0.5, -0.5, 0.2], marker="x", color="red")
        plt.yticks([-1, 0, 1], ["-1", "0", "1"])
        return plt

    console = Console(width=70, color_system="truecolor")

    def runs(segments) -> list:
        """(text, style) of each run of one style: the same picture however it is cut into segments
        (no style and the null style are the same)."""
        plain = (Segment(s.text, s.style or Style.null()) for s in segments)
        return [(s.text, s.style) for s in Segment.simplify(plain)]

    printed = Text.from_ansi(figure().build(), no_wrap=True).split("\n")
    expected = [runs(line.render(console)) for line in printed]
    ours = [runs(row) for row in plot_rows(figure())]
    assert len(ours) == 20 and any(0x2800 < ord(c) <= 0x28FF for row in ours for text, _ in row for c in text)
    assert ours == expected


# --------------------------------------------------------------------------------------------
# show(snapshot, run): each view paces its own redraws and clears itself for a fresh network


def test_paced_draws_what_changed_at_most_once_per_interval(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: now[0]))
    view = pacing.Paced()
    view.INTERVAL = 1.0
    assert view.due("a")
    assert not view.due("a")  # the same again: nothing to draw
    now[0] += 0.5
    assert not view.due("b")  # changed, but within the interval
    assert view.due("b", force=True)  # unless forced
    now[0] += 1.0
    assert not view.due("b") and view.due("c")
    view.forget()
    assert not view.due("c")  # forgotten, but the interval holds
    view.restart()
    assert view.due("c")  # a fresh run: at once


def _snapshot(steps: int, state: str = "training", epoch: int = 0, evaluations=()) -> SimpleNamespace:
    return SimpleNamespace(loss_steps=np.arange(1, steps + 1), losses=np.linspace(2.0, 1.0, steps), step=steps,
                           evaluations=list(evaluations), state=state, epoch=epoch)


async def test_charts_show_snapshots_at_most_once_per_interval_and_clear():
    chart = LossChart()
    run = Run(session=object(), dataset=None)
    async with ViewApp(chart).run_test(size=SIZE) as pilot:
        chart.show(_snapshot(3), run)
        assert len(chart.steps) == 3
        chart.show(_snapshot(5), run)
        assert len(chart.steps) == 3  # within a second of the last redraw
        chart.show(_snapshot(5), run, force=True)
        assert len(chart.steps) == 5
        chart.clear()
        await pilot.pause()
        assert shown(chart).startswith("Loss: no training steps yet.")
        chart.show(_snapshot(5), run)
        assert len(chart.steps) == 5  # a fresh network's data draws at once
    accuracy = AccuracyChart()
    async with ViewApp(accuracy).run_test(size=SIZE):
        evaluation = SimpleNamespace(step=5, train_accuracy=0.5, test_accuracy=0.4)
        accuracy.show(_snapshot(5, evaluations=[evaluation]), run)
        assert list(accuracy.test_acc) == [0.4]
        accuracy.clear()
        assert not len(accuracy.x)


async def test_weights_view_shows_weights_once_per_epoch_while_training():
    weights = mnist_weights()
    session = SimpleNamespace(snapshot=lambda weights=False: SimpleNamespace(weights=mnist_weights()))
    run = Run(session=session, dataset=SimpleNamespace(image_shape=(28, 28)))
    view = WeightsView()
    async with ViewApp(view).run_test(size=SIZE):
        view.show(_snapshot(10, epoch=0), run)
        assert view.version == 1 and np.array_equal(view.weights["W1"], weights["W1"])
        view.show(_snapshot(20, epoch=0), run)
        assert view.version == 1  # the same epoch
        view.show(_snapshot(20, state="paused", epoch=0), run)
        assert view.version == 2  # paused: each new step
        view.clear()
        assert view.weights == {}


async def test_decision_view_shows_the_sessions_network_and_clears():
    config = TrainConfig(dataset="circle", hidden=(4,), n_samples=100, batch_size=10)
    session = TrainingSession(config, load_data(config))
    view = DecisionView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        view.show(session.snapshot(), Run(session, session.dataset))
        assert callable(view.predictor) and np.array_equal(view.points[0], session.dataset.x_train)
        view.clear()
        await pilot.pause()
        assert view.predictor is None and shown(view).startswith("Decision regions:")


async def test_gradcheck_view_clears_to_not_run():
    view = GradCheckView()
    async with ViewApp(view).run_test(size=SIZE) as pilot:
        net = MLP((4, 5, 3), seed=0)
        rng = np.random.default_rng(0)
        view.set_result(gradient_check(net, rng.normal(size=(6, 4)), rng.integers(0, 3, 6)))
        await pilot.pause()
        view.clear()
        await pilot.pause()
        assert view.state == "empty" and view.result is None and not view.query_one(DataTable).display
        assert "not run yet" in str(view.query_one("#gc-summary", Static).render())
