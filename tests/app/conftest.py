"""App tests never touch the user's real recovery file."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
