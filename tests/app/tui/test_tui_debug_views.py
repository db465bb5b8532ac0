"""The Debug screen's inspector views at 80×24, and the script debugger's frames and `!`."""

from __future__ import annotations

from pathlib import Path

from app.tui.dialogs.help import HelpScreen
from app.tui.script.app import ScriptApp
from tests.app.tui.test_tui_debug import inspector, open_debug
from tests.app.tui.test_tui_debug_fit import conv_gradient, screen_text
from tests.app.tui.test_tui_script import opened, press, text_of
from tests.app.tui.tui_helpers import ROOT, app_on, settled
from widgets.heatmap import Heatmap
from widgets.raw_table import RawTable


async def test_w_gives_the_heatmap_then_the_raw_values_rows_at_80x24(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, _ = await conv_gradient(pilot)
        heatmap, table = screen.query_one(Heatmap), screen.query_one(RawTable)
        assert "w: heatmap" in screen_text(app)  # the way to the rows the histogram leaves none
        await pilot.press("w")
        await settled(pilot)
        assert inspector(app).view == "heatmap"
        assert heatmap.region.height >= 8 and heatmap.region.width >= 30, heatmap.region
        assert "w: raw values" in screen_text(app)
        await pilot.press("w")
        await settled(pilot)
        assert table.region.height >= 8 and table.region.width >= 30, table.region
        shown = screen_text(app)
        assert "w: histogram" in shown and "1.559e-05" in shown  # raw values, whole
        await pilot.press("w")
        await settled(pilot)
        assert inspector(app).view == "all" and "count 32,768" in screen_text(app)


async def test_at_120x35_the_histogram_heatmap_and_table_show_together(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen, _ = await conv_gradient(pilot)
        assert screen.query_one(Heatmap).region.height >= 3
        assert screen.query_one(RawTable).region.height >= 3
        assert "w: heatmap" in screen_text(app)


async def test_w_from_the_split_tab_opens_the_values(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, _ = await conv_gradient(pilot)
        screen.query_one("#tabs").active = "split"
        await settled(pilot)
        await pilot.press("w")
        await settled(pilot)
        assert screen.query_one("#tabs").active == "value"
        assert screen.query_one(Heatmap).region.height >= 8


async def test_help_names_the_values_key(tmp_path):
    app = app_on("cnn_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await conv_gradient(pilot)
        await pilot.press("question_mark")
        await settled(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = text_of(app, "HelpScreen Static:last-of-type")
        assert "histogram, heatmap or raw values" in keys


def script_app(monkeypatch, name: str) -> ScriptApp:
    monkeypatch.chdir(ROOT)
    return ScriptApp(Path("examples") / name)


async def test_a_module_in_the_frames_reads_as_its_class_and_parameters(monkeypatch):
    app = script_app(monkeypatch, "lenet_mnist.py")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await press(pilot, "f")
        model = next(
            local for frame in screen.session.frames for local in frame.locals
            if local.name in ("model", "net")
        )  # fmt: skip
        params = sum(p.numel() for p in screen.session.modules()[model.name].parameters())
        assert model.text == f"LeNet (module, {params:,} params)", model.text
        assert f"LeNet (module, {params:,} params)" in screen_text(app)
        assert "LeNet(" not in screen_text(app)


async def test_find_nan_in_a_script_names_the_op_its_line_inputs_and_cause(monkeypatch):
    app = script_app(monkeypatch, "bug_log_zero.py")
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await opened(pilot)
        await press(pilot, "exclamation_mark")
        assert screen.session.current.node.op == "log"
        alert = text_of(app, "#alert")
        assert "first NaN/Inf: forward pass: log (#" in alert
        assert "Inf of 64 values" in alert
        assert "bug_log_zero.py:21" in alert and "torch.log(p)" in alert
        assert "input 0 (#" in alert and "zeros" in alert
        assert "likely cause: the log of 0 is -Inf" in alert


async def test_a_past_iterations_update_says_its_values_were_dropped(monkeypatch):
    app = script_app(monkeypatch, "lenet_mnist.py")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await press(pilot, "x", "less_than_sign")
        assert screen.session.current.phase == "update"
        title = str(screen.query_one("#tensor #title").render())
        assert "not reached" not in title and "lr 0.01" in title, title
        assert "past iteration keeps statistics only" in title


async def test_a_module_line_names_a_container_without_empty_brackets(monkeypatch):
    app = script_app(monkeypatch, "lenet_mnist.py")
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await opened(pilot)
        relu = next(r for r in screen.session.trace.nodes if r.op == "relu")
        layer = screen.session.layer_of(relu)
        assert layer.startswith("module model: LeNet\n"), layer
        fc1 = next(r for r in screen.session.trace.nodes if r.scope == "model.fc1")
        assert "Linear(in_features=256" in screen.session.layer_of(fc1)


async def test_the_frames_at_80x24_cut_and_wrap_no_statistic(monkeypatch):
    app = script_app(monkeypatch, "lenet_mnist.py")
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await press(pilot, "f")
        shown = screen_text(app)
        for whole in (
            "min -0.75 max 1.75",
            "std 0.8156",
            "nan/inf 0/0",
            "CrossEntropyLoss (module)",
        ):
            assert whole in shown, whole


async def test_the_split_tab_of_the_input_says_no_gradient_flows_into_it(tmp_path):
    app = app_on("dead_relu", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_debug(pilot)
        screen.query_one("#tabs").active = "split"
        await settled(pilot)
        shown = screen_text(app)
        assert "an input: no gradient flows into it" in shown
        assert "see the Gradient tab" not in shown
