"""The strip of worst-classified images: scaling, half-block greys, captions and how many fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.color import Color
from textual.app import App, ComposeResult

from widgets.image_strip import (
    BRIGHTEST,
    DARKEST,
    TITLE,
    ImageStrip,
    caption,
    fit_image,
    grey,
    strip_lines,
)


@dataclass
class Shown:
    image: np.ndarray
    label: int
    predicted: int
    p_pred: float


def digits(n: int, correct_from: int | None = None) -> list[Shown]:
    """`n` 8×8 examples captioned `i→(i+1)`, right (`i→i`) from index `correct_from` on."""
    rng = np.random.default_rng(0)
    return [
        Shown(
            rng.random((8, 8)),
            i % 10,
            i % 10 if correct_from is not None and i >= correct_from else (i + 1) % 10,
            0.5,
        )
        for i in range(n)
    ]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(Color.parse(hex_colour).get_truecolor())


def test_small_images_grow_by_a_whole_factor_with_square_pixels():
    image = np.arange(64.0).reshape(8, 8)
    np.testing.assert_array_equal(fit_image(image, 8, 4), image)  # native: 8 columns, 4 rows
    grown = fit_image(image, 16, 8)
    assert grown.shape == (16, 16)
    np.testing.assert_array_equal(grown[::2, ::2], image)
    np.testing.assert_array_equal(grown[1::2, 1::2], image)
    assert fit_image(image, 20, 8).shape == (16, 16)  # the height limits the zoom


def test_large_images_shrink_by_block_means():
    image = np.arange(28.0 * 28).reshape(28, 28)
    small = fit_image(image, 14, 7)  # MNIST: 14 columns, 7 rows of two pixels
    assert small.shape == (14, 14)
    np.testing.assert_allclose(small, image.reshape(14, 2, 14, 2).mean(axis=(1, 3)))
    # 5 pixels into 2 shrink by 3: the edge block averages the pixels it has
    odd = fit_image(np.arange(25.0).reshape(5, 5), 2, 1)
    np.testing.assert_allclose(odd, [[6.0, 8.5], [18.5, 21.0]])


def test_a_two_by_two_image_is_one_line_of_half_blocks_in_its_own_greys():
    image = np.array([[0.0, 4.0], [2.0, 1.0]])  # greys from its own min 0 to max 4
    lines = strip_lines([Shown(image, 3, 5, 0.91)], width=20, height=3)
    assert lines[0].text.startswith(TITLE[:20])
    cells = [(s.text, s.style) for s in lines[1] if s.text.strip()]
    assert [text for text, _ in cells] == ["▀", "▀"]
    (_, left), (_, right) = cells
    assert rgb(left.color.name) == (DARKEST,) * 3  # upper left: the image's minimum
    assert rgb(right.color.name) == (BRIGHTEST,) * 3  # upper right: its maximum
    assert left.bgcolor.name == grey(12) and right.bgcolor.name == grey(6)  # 2/4 and 1/4 up
    assert lines[2].text.rstrip() == "3→5 0.91"


def test_as_many_images_as_the_width_holds_and_red_or_yellow_captions():
    examples = digits(10, correct_from=3)
    # an 8×8 image is 8 cells wide at height 6, as is its caption; 2 columns between
    for width, count in [(48, 5), (47, 4), (8, 1), (120, 10)]:
        captions = strip_lines(examples, width, 6)[5].text.split()
        assert len(captions) == 2 * count, width
    line = strip_lines(examples, 48, 6)[5]
    shown = [(s.text.strip(), s.style.color.name) for s in line if s.text.strip()]
    assert shown == [
        ("0→1 0.50", "red"),
        ("1→2 0.50", "red"),
        ("2→3 0.50", "red"),
        ("3→3 0.50", "yellow"),
        ("4→4 0.50", "yellow"),
    ]
    assert caption(Shown(np.zeros((2, 2)), 7, 1, 0.905)) == "7→1 0.91"


def test_a_taller_strip_draws_larger_images():
    lines = strip_lines(digits(3), 60, 10)  # 8 lines for the images: 16×16 pixels
    assert len(lines) == 10
    image_lines = [line.text for line in lines[1:9]]
    assert all(text.startswith("▀" * 16 + "  " + "▀" * 16) for text in image_lines)
    assert lines[9].text.split()[::2] == ["0→1", "1→2", "2→3"]


class StripApp(App):
    CSS = "ImageStrip { height: 6; }"

    def compose(self) -> ComposeResult:
        yield ImageStrip()


async def test_the_widget_draws_the_examples_it_is_shown_and_redraws_for_new_ones():
    app = StripApp()
    async with app.run_test(size=(40, 8)) as pilot:
        strip = app.query_one(ImageStrip)
        assert "after each epoch" in strip.render_line(1).text
        strip.show(digits(6))
        await pilot.pause()
        assert strip.render_line(5).text.split()[::2] == ["0→1", "1→2", "2→3", "3→4"]
        strip.show(digits(2, correct_from=0))
        await pilot.pause()
        assert strip.render_line(5).text.split()[::2] == ["0→0", "1→1"]
        assert strip.size.height == 6
