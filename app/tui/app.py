"""The Textual app: three screens around one DesignEditor, and the app-wide actions."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

from textual import events, on, work
from textual.app import App
from textual.screen import ModalScreen

from app.model.design import Design, DesignError
from app.model.editor import DesignEditor
from app.model.recovery import Autosave, orphans
from app.tui.actions import ACTIONS, ActionCommands, bindings_for
from app.tui.build.screen import BuildScreen
from app.tui.debug.screen import DebugScreen
from app.tui.dialogs.choose import ChooseScreen
from app.tui.dialogs.confirm import ConfirmScreen
from app.tui.dialogs.export import ExportDialog
from app.tui.dialogs.help import SCREENS, HelpScreen, scopes_for
from app.tui.dialogs.open import OpenDialog
from app.tui.dialogs.prompt import PromptScreen
from app.tui.state import BadBatchKept, CheckpointSaved, RunStarted, SharedState
from app.tui.train.screen import TrainScreen
from app.tui.typing_ahead import TypingAhead
from sample_models import DEFAULT_SAMPLE, sample_names, sample_path

REGISTRY_METHODS = {a.method.split("(")[0] for a in ACTIONS if a.scope == "app"}
KEY_WAY_SECONDS = 0.25  # the longest a training run waits for a key to be answered


def editor_from_sample(name: str = DEFAULT_SAMPLE) -> DesignEditor:
    """A new, unsaved design copied from a shipped sample (saving asks where)."""
    return DesignEditor(Design.load(sample_path(name)))


class StepgradApp(TypingAhead, App[int]):
    """stepgrad's terminal app: Build, Train and Debug screens over the open design."""

    CSS_PATH = "app.tcss"
    TITLE = "stepgrad"
    export_target = "engine"  # the export dialog's target the last time it closed
    BINDINGS = bindings_for("app")
    COMMANDS = {ActionCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    MODES = {
        "build": BuildScreen,
        "train": TrainScreen,
        "debug": DebugScreen,
    }
    DEFAULT_MODE = "build"

    def __init__(
        self,
        editor: DesignEditor | None = None,
        offer_recovery: bool = True,
        data_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self._typing_ahead_setup()
        self.editor_listeners: list[Callable[[DesignEditor], None]] = []
        self.editor = editor or editor_from_sample()
        self.editor.listeners.append(self._editor_changed)
        self.offer_recovery = offer_recovery
        self.autosave = Autosave()  # this instance's; offered after a crash, never before
        self.editor.recovery = self.autosave
        self.state = SharedState(data_dir=data_dir)

    async def on_event(self, event: events.Event) -> None:
        # A key or click is answered first: training waits before its next batch until
        # the screen has been redrawn (or KEY_WAY_SECONDS have passed).
        session = self.state.training
        if isinstance(event, events.Key | events.MouseDown) and session is not None:
            if session.status == "running":
                session.make_way(KEY_WAY_SECONDS)
                self.call_after_refresh(session.go_on)
        if self.hold_or_note(event):
            return
        await super().on_event(event)

    # ----- the shared state: written here, from the screens' messages --------------------
    @on(RunStarted)
    def _run_started(self, message: RunStarted) -> None:
        self.state.training, self.state.bad_batch = message.session, None

    @on(BadBatchKept)
    def _bad_batch_kept(self, message: BadBatchKept) -> None:
        self.state.bad_batch = message.bad

    @on(CheckpointSaved)
    def _checkpoint_saved(self, message: CheckpointSaved) -> None:
        self.state.trained_weights = message.weights

    def on_mount(self) -> None:
        self._editor_changed(self.editor)
        # What exists once the first screen is up lives as long as the app: leave it out
        # of the garbage collector's full passes, which otherwise walk it all (measured:
        # a 64 ms pause in the middle of a key).
        self.call_after_refresh(gc.freeze)
        if self.offer_recovery:
            self.recover()

    def on_unmount(self) -> None:
        self.autosave.close()  # unsaved changes, if any, stay to be offered next time

    # ----- the open design ---------------------------------------------------------
    def use_editor(self, editor: DesignEditor) -> None:
        """Make `editor` the open design and redraw everything."""
        self.editor.listeners.remove(self._editor_changed)
        self.editor.discard_recovery()  # its changes were saved or given up before this
        self.editor.recovery = None
        self.editor = editor
        editor.recovery = self.autosave
        editor.autosave()
        editor.listeners.append(self._editor_changed)
        self._editor_changed(editor)

    def _editor_changed(self, editor: DesignEditor) -> None:
        with self.batch_update():  # one repaint for all the widgets an edit touches
            title = editor.design.name + (" ●" if editor.modified else "")
            sub_title = display_path(editor.path) if editor.path else "not saved yet"
            if (title, sub_title) != (self.title, self.sub_title):
                self.title, self.sub_title = title, sub_title
            for listener in list(self.editor_listeners):
                listener(editor)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """The registry's app actions wait while a dialog is open."""
        if action in REGISTRY_METHODS and isinstance(self.screen, ModalScreen):
            return False
        return True

    @work
    async def recover(self) -> None:
        """Offer what an instance that stopped without saving left of this design."""
        for orphan in orphans(self.editor.path):
            try:
                design, source = orphan.load()
            except DesignError as err:
                kept = orphan.set_aside()
                self.notify(f"an autosave could not be read and was kept as {kept}: {err}")
                continue
            where = f" (from {display_path(source)})" if source else ""
            answer = await self.push_screen_wait(
                ConfirmScreen(
                    f"stepgrad stopped without saving changes to "
                    f"[b]{design.name}[/b]{where}. Recover them?",
                    [
                        ("recover", "Recover", "primary"),
                        ("discard", "Discard", "error"),
                        ("later", "Ask next time", "default"),
                    ],
                )
            )
            if answer == "recover":
                recovered = DesignEditor(design, source)
                recovered.modified = True
                self.use_editor(recovered)  # autosaved under this instance first
                orphan.discard()
                return
            if answer == "discard":
                orphan.discard()
            else:  # "later", or Escape: nothing is lost
                orphan.release()

    # ----- actions -------------------------------------------------------------------
    def action_help(self) -> None:
        # built once a screen and kept: composing its table of keys took 80 ms a time
        mode = self.current_mode if self.current_mode in SCREENS else "build"
        if not self.is_screen_installed(f"help-{mode}"):
            self.install_screen(HelpScreen(scopes_for(mode)), f"help-{mode}")
        self.push_screen(f"help-{mode}")

    def action_add_layer(self, type_name: str) -> None:
        self.switch_mode("build")
        self.editor.add_layer(type_name)

    @work
    async def action_save(self, ask: bool = False) -> bool:
        """Save to the design's file, asking for one when it has none."""
        path, name = self.editor.path, self.editor.design.name
        if path is None or ask:
            default = str(path or Path(f"{self.editor.design.name}.json"))
            typed = await self.push_screen_wait(PromptScreen("Save the design as", default))
            if typed is None:
                return False
            path = Path(typed).expanduser()
        try:
            try:
                saved = self.editor.save(path)
            except FileExistsError as exists:
                answer = await self.push_screen_wait(
                    ConfirmScreen(
                        f"[b]{display_path(Path(exists.filename))}[/b] is another file. "
                        "Replace it with this design?",
                        [("replace", "Replace", "error"), ("cancel", "Cancel", "default")],
                    )
                )
                if answer != "replace":
                    self.notify("not saved", timeout=3)
                    return False
                saved = self.editor.save(path, replace=True)
        except (OSError, ValueError) as err:
            self.notify(f"not saved: {err}", severity="error")
            return False
        self._follow_rename(name)  # saved as another file, the design has that file's name
        problems = self.editor.analysis.problems
        if problems:
            self.notify(
                f"saved {saved}, with {plural(len(problems), 'problem')}: {problems[0].message}",
                severity="warning",
                timeout=8,
            )
        else:
            self.notify(f"saved {saved}", timeout=3)
        return True

    @work
    async def action_rename_design(self) -> None:
        """Ask for a new name for the design (and its file, when it has one)."""
        name = self.editor.design.name
        typed = await self.push_screen_wait(PromptScreen("Rename the design", name))
        if typed is None:
            return
        try:
            self.editor.rename_design(typed)
        except (OSError, ValueError) as err:
            self.notify(f"not renamed: {err}", severity="error", timeout=8)
            return
        self._follow_rename(name)
        path = self.editor.path
        where = f": {display_path(path)}" if path is not None and path.suffix == ".json" else ""
        self.notify(f"renamed {name} to {self.editor.design.name}{where}", timeout=4)

    def _follow_rename(self, old: str) -> None:
        """A run of the design goes on under its new name, and saves its checkpoints so."""
        session = self.state.training
        if session is not None and session.design.name == old:
            session.design.name = self.editor.design.name

    @work
    async def action_open(self) -> None:
        if not await self._may_replace():
            return
        path = await self.push_screen_wait(OpenDialog(Path.cwd()))
        if path is not None:
            self.open_design(path)

    def open_design(self, path: Path) -> bool:
        try:
            self.use_editor(DesignEditor.open(path))
        except DesignError as err:
            self.notify(str(err), severity="error", timeout=8)
            return False
        return True

    @work
    async def action_new(self) -> None:
        if not await self._may_replace():
            return
        options = [(BLANK, "blank design (no layers)")] + [(n, n) for n in sample_names()]
        name = await self.push_screen_wait(ChooseScreen("New design", options))
        if name == BLANK:
            self.use_editor(DesignEditor(Design()))
        elif name is not None:
            self.use_editor(editor_from_sample(name))

    def action_export(self, target: str | None = None) -> None:
        """The export dialog, on `target` or else the target chosen the last time."""
        dialog = ExportDialog(
            self.editor.design, target or self.export_target, self.state.trained_weights
        )
        self.push_screen(dialog, lambda _: setattr(self, "export_target", dialog.target))

    @work
    async def action_quit_app(self) -> None:
        """Quit, asking first when there are unsaved changes."""
        if await self._may_replace(leaving=True):
            self.exit(0)

    async def action_quit(self) -> None:
        self.action_quit_app()

    async def _may_replace(self, leaving: bool = False) -> bool:
        """True when the open design may be closed: saved, or the changes saved or discarded."""
        if not self.editor.modified:
            return True
        verb = "Quit" if leaving else "Continue"
        problems = self.editor.analysis.problems
        warning = f" It has {plural(len(problems), 'problem')}." if problems else ""
        answer = await self.push_screen_wait(
            ConfirmScreen(
                f"[b]{self.editor.design.name}[/b] has unsaved changes.{warning}",
                [
                    ("save", "Save", "primary"),
                    ("discard", f"{verb} without saving", "error"),
                    ("cancel", "Cancel", "default"),
                ],
                focus="cancel",
            )
        )
        if answer == "save":
            return await self.action_save().wait()
        if answer == "discard":
            self.editor.discard_recovery()
            return True
        return False


BLANK = "(blank)"  # the new-design choice that is no sample (no sample has parentheses)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def display_path(path: Path) -> str:
    """A path as the header shows it: relative to the working folder when inside it."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        home = Path.home()
        return "~/" + str(path.relative_to(home)) if path.is_relative_to(home) else str(path)
