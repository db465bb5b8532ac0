"""Timing a key in a headless app: from the press to the last frame the app drew for it."""

from __future__ import annotations

import time

from widgets._textual_internals import on_frame_written


class FrameClock:
    """Records when the app writes each rendered screen update."""

    def __init__(self, app) -> None:
        self.frames: list[float] = []
        on_frame_written(app, lambda screen: self.frames.append(time.perf_counter()))

    async def press(self, pilot, key: str) -> float | None:
        """Press `key`, wait for the app to settle; milliseconds to its last frame, None if
        it drew none. Pilot's own waiting after that frame is left out."""
        self.frames.clear()
        start = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        return (self.frames[-1] - start) * 1000 if self.frames else None
