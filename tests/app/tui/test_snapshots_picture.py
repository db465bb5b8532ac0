"""Snapshot tests of the Build screen's picture of the network, on a residual sample."""

from __future__ import annotations

import pytest

from tests.app.tui.tui_helpers import app_on


class TestNetworkPicture:
    @pytest.mark.parametrize("size", [(80, 24), (120, 35)], ids=["80x24", "120x35"])
    def test_residual_block_selected(self, snap_compare, size):
        """The picture (p) with the first residual block selected: its skip and add point."""
        press = ["p", "down", "down", "down"]
        assert snap_compare(app_on("residual_mlp"), press=press, terminal_size=size)
