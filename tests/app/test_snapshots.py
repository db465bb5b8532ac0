"""Snapshot tests of the Build screen on a fixed sample, at 80x24 and 160x48."""

from __future__ import annotations

import pytest

from tests.app.tui_helpers import app_on


class TestBuildScreen:
    @pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
    def test_cnn_sample(self, snap_compare, size):
        assert snap_compare(app_on("cnn_digits"), terminal_size=size)

    @pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
    def test_shape_error_marked(self, snap_compare, size):
        assert snap_compare(app_on("shape_mismatch"), press=["down"] * 3, terminal_size=size)
