"""The session tests' fixtures."""

from __future__ import annotations

import pytest

from app.model.design import Design
from app.sessions.debugging import DebugSession
from tests.app.sessions.debug_helpers import load


@pytest.fixture
def open_session():
    """Builds DebugSessions and closes each one's stepper thread after the test."""
    opened: list[DebugSession] = []

    def open_(design: Design | str, **kwargs) -> DebugSession:
        session = DebugSession(load(design) if isinstance(design, str) else design, **kwargs)
        opened.append(session)
        return session

    yield open_
    for session in opened:
        session.close()
