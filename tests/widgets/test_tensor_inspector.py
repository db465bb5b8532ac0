"""Slice parsing, heatmap colours and Pilot tests of TensorInspector."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from widgets.heatmap import INF, LEVELS, NAN, Heatmap, colour_levels, describe, strides
from widgets.raw_table import RawTable
from widgets.slicing import default_slice, shift_index
from widgets.tensor_inspector import Histogram, TensorInspector, parse_slice

SHAPE = (64, 6, 28, 28)


def test_parse_slice_reads_integers_ranges_steps_and_ellipsis():
    assert parse_slice("[0, :, 1:5]", SHAPE) == (0, slice(None), slice(1, 5))
    assert parse_slice("-1, -6", SHAPE) == (-1, -6)
    assert parse_slice("[::2, 1:10:3, :-1]", SHAPE) == (
        slice(None, None, 2),
        slice(1, 10, 3),
        slice(None, -1),
    )
    assert parse_slice("[..., 27]", SHAPE) == (Ellipsis, 27)
    assert parse_slice("[0, ..., 3, 4]", SHAPE) == (0, Ellipsis, 3, 4)
    assert parse_slice("", SHAPE) == () and parse_slice("[]", SHAPE) == ()
    assert parse_slice("[...]", ()) == (Ellipsis,)
    a = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    assert a[parse_slice("[1, 2, ::7]", SHAPE)].shape == (4, 28)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[0, 9]", "index 9 is out of range for axis 1 of size 6"),
        ("[0, -7]", "index -7 is out of range for axis 1 of size 6"),
        ("[..., 28]", "index 28 is out of range for axis 3 of size 28"),
        ("[x]", "index 'x' is not an integer"),
        ("[0, 1:b]", "in '1:b', 'b' is not an integer"),
        ("[::0]", "the step in '::0' is zero"),
        ("[1:2:3:4]", "'1:2:3:4' has more than two ':'"),
        ("[0, 0, 0, 0, 0]", "5 indices for a 4-D array"),
        ("[..., 0, ...]", "only one '...' is allowed"),
        ("[0, , 1]", "nothing given for axis 1"),
        ("[0][1]", "stray bracket"),
    ],
)
def test_parse_slice_names_the_bad_part(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_slice(text, SHAPE)


def test_default_slice_leaves_at_most_two_dimensions():
    assert [default_slice(n) for n in range(6)] == [
        "[...]",
        "[:]",
        "[:, :]",
        "[0]",
        "[0, 0]",
        "[0, 0, 0]",
    ]


def test_shift_index_moves_within_the_axis():
    assert shift_index("[0, 0]", SHAPE, 1, 1) == "[0, 1]"
    assert shift_index("[0, 5]", SHAPE, 1, 1) == "[0, 5]"  # clamped to the last channel
    assert shift_index("[0, -1]", SHAPE, 1, -2) == "[0, 3]"
    assert shift_index("[3, 0]", SHAPE, 0, -10) == "[0, 0]"
    assert shift_index("[..., 2]", SHAPE, 1, 1) == "[..., 3]"  # position 1 indexes axis 3
    assert shift_index("[0, :]", SHAPE, 1, 1) is None
    assert shift_index("[0]", SHAPE, 1, 1) is None


def test_colour_levels_diverge_around_zero_and_mark_nan_and_inf():
    levels, scale = colour_levels(np.array([[-2.0, 0.0, 1.0], [np.nan, np.inf, -np.inf]]))
    assert scale == "diverging"
    assert levels[0].tolist() == [0, LEVELS // 2, 3 * (LEVELS - 1) // 4]
    assert levels[1].tolist() == [NAN, INF, INF]
    levels, scale = colour_levels(np.array([[1.0, 2.0, 3.0]]))
    assert scale == "sequential" and levels[0].tolist() == [0, LEVELS // 2, LEVELS - 1]
    levels, _ = colour_levels(np.zeros((2, 2)))
    assert (levels == LEVELS // 2).all()


def test_strides_fit_and_the_caption_says_so():
    assert strides(28, 28, 64, 64) == (1, 1)
    assert strides(512, 65, 64, 64) == (8, 2)
    assert describe(np.array([[1.0, np.nan], [-3.0, 2.0]])) == "min -3 max 2, 2×2"
    assert describe(np.zeros((512, 65)), 8, 2).endswith(", stride 8×2")


def stats_of(a: np.ndarray, bins: int = 20) -> SimpleNamespace:
    """What the engine's tensor statistics carry, computed here."""
    finite = a[np.isfinite(a)]
    counts, edges = np.histogram(finite, bins=bins) if bins else ([], [])
    return SimpleNamespace(
        shape=a.shape,
        count=a.size,
        min=float(finite.min()),
        max=float(finite.max()),
        mean=float(finite.mean()),
        std=float(finite.std()),
        norm=float(np.linalg.norm(finite)),
        nan_count=int(np.isnan(a).sum()),
        inf_count=int(np.isinf(a).sum()),
        zero_fraction=float((a == 0).mean()),
        hist_edges=list(edges),
        hist_counts=list(counts),
    )


def activations() -> np.ndarray:
    a = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    a[0, 0, 1, 1] = np.nan
    a[0, 0, 5, 5] = -7.25
    return a


class InspectorApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.slices: list[str] = []

    def compose(self) -> ComposeResult:
        yield TensorInspector()

    def on_tensor_inspector_slice_changed(self, event: TensorInspector.SliceChanged) -> None:
        self.slices.append(event.text)


def text_of(inspector: TensorInspector, selector: str) -> str:
    return str(inspector.query_one(selector, Static).render())


async def test_stats_histogram_and_default_slice_of_a_conv_output():
    app = InspectorApp()
    async with app.run_test(size=(100, 40)) as pilot:
        inspector = app.query_one(TensorInspector)
        a = activations()
        inspector.show("[b]conv2d[/] #3", stats_of(a), a, note="values at step 3")
        await pilot.pause()
        stats = text_of(inspector, "#stats")
        assert "-7.25" in stats and f"{np.nanmax(a):.4g}" in stats
        assert "NaN 1  Inf 0" in stats and "(64, 6, 28, 28)" in stats
        assert "values at step 3" in text_of(inspector, "#title")
        histogram = inspector.query_one(Histogram)
        assert histogram.display and len(histogram.bins[1]) == 20
        assert inspector.slice_text == "[0, 0]" == inspector.query_one(Input).value
        table = inspector.query_one(RawTable)
        assert table.shape == (28, 28) and text_of(inspector, "#table-caption") == ""
        header, first, second = (table.render_line(y).text.split() for y in range(3))
        assert header[:3] == ["0", "1", "2"]
        assert first[:3] == ["0", f"{a[0, 0, 0, 0]:.4g}", f"{a[0, 0, 0, 1]:.4g}"]
        assert second[:3] == ["1", f"{a[0, 0, 1, 0]:.4g}", "nan"]
        assert "min -7.25" in text_of(inspector, "#heatmap-caption")


async def test_typing_a_slice_changes_the_table_and_a_bad_one_keeps_it():
    app = InspectorApp()
    async with app.run_test(size=(100, 40)) as pilot:
        inspector = app.query_one(TensorInspector)
        a = activations()
        inspector.show("conv2d", stats_of(a), a)
        await pilot.pause()
        inspector.query_one(Input).focus()
        await pilot.press("end", "backspace", *", :5]")  # [0, 0, :5]
        await pilot.pause()
        table = inspector.query_one(RawTable)
        assert table.shape == (5, 28) and inspector.slice_text == "[0, 0, :5]"
        assert app.slices[-1] == "[0, 0, :5]"
        await pilot.press("home", *["right"] * 4, "delete", "9")  # [0, 9, :5]
        await pilot.pause()
        error = inspector.query_one("#slice-error", Static)
        assert error.display
        assert "index 9 is out of range for axis 1 of size 6" in str(error.render())
        assert table.shape == (5, 28) and inspector.slice_text == "[0, 0, :5]"
        inspector.query_one(Input).value = "[0]"  # three dimensions left
        await pilot.pause()
        assert "slice down to 2 dimensions" in text_of(inspector, "#heatmap-caption")
        assert not table.display and inspector.slice_text == "[0]"
        inspector.query_one(Input).value = "[0, 0, :5]"
        await pilot.pause()
        assert table.display and table.shape == (5, 28)
        # the same shape again keeps the user's slice
        inspector.show("conv2d", stats_of(a), a * 2)
        assert table.shape == (5, 28) and inspector.slice_text == "[0, 0, :5]"
        assert table.render_line(1).text.split()[1] == f"{2 * a[0, 0, 0, 0]:.4g}"


async def test_shift_slice_steps_the_channel():
    app = InspectorApp()
    async with app.run_test(size=(100, 40)) as pilot:
        inspector = app.query_one(TensorInspector)
        a = activations()
        inspector.show("conv2d", stats_of(a), a)
        await pilot.pause()
        inspector.shift_slice(1, +1)
        await pilot.pause()
        assert inspector.slice_text == "[0, 1]" == inspector.query_one(Input).value
        assert app.slices == ["[0, 1]"]
        assert "min -7.25" not in text_of(inspector, "#heatmap-caption")  # channel 1 now
        inspector.shift_slice(2, +1)  # no third index: nothing happens
        assert inspector.slice_text == "[0, 1]"


async def test_values_not_recorded_keeps_the_statistics():
    app = InspectorApp()
    async with app.run_test(size=(50, 20)) as pilot:
        inspector = app.query_one(TensorInspector)
        a = activations()
        inspector.show("conv2d", stats_of(a, bins=0), None, note="values dropped")
        await pilot.pause()
        assert "values not recorded" in text_of(inspector, "#heatmap-caption")
        assert "values not recorded" in text_of(inspector, "#table-caption")
        assert not inspector.query_one(RawTable).display
        assert "-7.25" in text_of(inspector, "#stats")
        assert not inspector.query_one(Histogram).display
        assert inspector.query_one("#no-histogram").display


async def test_a_big_matrix_is_subsampled_and_truncated():
    app = InspectorApp()
    async with app.run_test(size=(100, 40)) as pilot:
        inspector = app.query_one(TensorInspector)
        w = np.linspace(-1, 1, 300 * 200).reshape(300, 200)
        inspector.show("fc1.weight", stats_of(w), w)
        await pilot.pause()
        assert inspector.slice_text == "[:, :]"
        caption = text_of(inspector, "#heatmap-caption")
        rows, cols = map(int, re.search(r"300×200, stride (\d+)×(\d+)$", caption).groups())
        heatmap = inspector.query_one(Heatmap)  # subsampled to fit: two rows of values a line
        assert -(-300 // rows) <= 2 * heatmap.size.height and -(-200 // cols) <= heatmap.size.width
        assert "showing 128×32 of 300×200" in text_of(inspector, "#table-caption")
        assert inspector.query_one(RawTable).shape == (128, 32)
        inspector.query_one(Input).value = "[0, 0]"  # a scalar: a 1×1 heatmap
        await pilot.pause()
        assert inspector.query_one(RawTable).shape == (1, 1)
        assert text_of(inspector, "#table-caption") == ""
        inspector.query_one(Input).value = "[1:1]"  # nothing left
        await pilot.pause()
        assert "empty slice" in text_of(inspector, "#table-caption")


async def test_a_tensor_not_computed_yet_shows_no_statistics_until_it_is():
    app = InspectorApp()
    async with app.run_test(size=(100, 40)) as pilot:
        inspector = app.query_one(TensorInspector)
        inspector.show("relu", None, None, note="not reached yet")
        await pilot.pause()
        assert text_of(inspector, "#stats") == "no values yet"
        assert not inspector.query_one(Histogram).display
        a = np.arange(-3.0, 5.0).reshape(2, 4)
        inspector.show("relu", stats_of(a), a)
        await pilot.pause()
        assert "min   -3 " in text_of(inspector, "#stats")
        assert inspector.query_one(Histogram).display
