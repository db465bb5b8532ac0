"""The app of `stepgrad debug SCRIPT.py`: the script's Debug screen and its model, read-only."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual import events
from textual.app import App
from textual.binding import Binding

from app.sessions.script_debugging import ScriptDebugSession
from app.tui.actions import ACTION_BY_ID, ACTIONS, Action, ActionCommands, key_of
from app.tui.dialogs.help import HelpScreen
from app.tui.script.debug import ScriptDebugScreen
from app.tui.script.model import ScriptModelScreen
from app.tui.typing_ahead import TypingAhead

APP_KEYS = ("screen.build", "screen.debug", "help.keys", "app.quit")


class ScriptCommands(ActionCommands):
    """The palette of `stepgrad debug`: the app keys it has and the Debug screen's actions,
    not a design's (saving, exporting, adding a layer have nothing to act on here)."""

    def _commands(self):
        for action in ACTIONS:
            if action.scope == "app" and action.id in APP_KEYS:
                run = partial(self.app.run_action, action.method)
            elif action.scope in ("debug", "script"):
                run = partial(self._on_debug_screen, action)
            else:
                continue
            key = f"  {key_of(action.id)}" if action.key else ""
            yield action.palette, key, run, action.description

    async def _on_debug_screen(self, action: Action) -> None:
        if not isinstance(self.app.screen, ScriptDebugScreen):
            await self.app.switch_mode("debug")
        await self.app.screen.run_action(action.method)


class ScriptApp(TypingAhead, App[int]):
    """Debug (the default) and Build (the script's model, read-only) over one script's run.

    Quitting stops the script; the app's return value is the script's exit status when
    it ended, else None."""

    CSS_PATH = "../app.tcss"
    TITLE = "stepgrad debug"
    COMMANDS = {ScriptCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    MODES = {"build": ScriptModelScreen, "debug": ScriptDebugScreen}
    DEFAULT_MODE = "debug"
    BINDINGS = [
        Binding(a.key, a.method, a.description, show=a.show, key_display=a.key_display, id=a.id)
        for a in map(ACTION_BY_ID.get, APP_KEYS)
    ] + [Binding("2", "no_train", show=False)]

    def __init__(self, script: str | Path, args: list[str] | None = None) -> None:
        super().__init__()
        self._typing_ahead_setup()
        self.script, self.args = Path(script), list(args or [])
        self.session: ScriptDebugSession | None = None
        self.sub_title = " ".join([str(self.script), *self.args])

    async def on_event(self, event: events.Event) -> None:
        if not self.hold_or_note(event):
            await super().on_event(event)

    def script_session(self) -> ScriptDebugSession:
        """The session over the script, made on first use (once the app captures output)."""
        if self.session is None:
            self.session = ScriptDebugSession(self.script, self.args)
        return self.session

    def action_no_train(self) -> None:
        self.notify("a script trains itself: the Train screen is for designs", timeout=3)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(("script", "debug", "app"), APP_KEYS))

    async def action_quit_app(self) -> None:
        self.exit(self.session.stepper.exit_status if self.session else None)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()
