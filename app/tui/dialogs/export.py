"""Export the design as Python for the engine or PyTorch (the model, or a training script),
with a preview of the code."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Static

from app.model.design import Design
from app.model.export import ExportError, _relative, export_file, export_source
from app.model.export_training import export_training_file, training_source
from app.tui.dialogs.confirm import ConfirmScreen
from widgets.code_view import CodeView

TARGETS = {"engine": "stepgrad engine", "torch": "PyTorch"}


def default_export_path(design: Design, target: str, training: bool = False) -> str:
    return f"{design.name}_{target}{'_train' if training else ''}.py"


def weights_label(included: bool) -> str:
    """The box's label says its state in words, so it reads without the tick's colour."""
    return f"include weights: {'yes' if included else 'no'}"


def training_label(training: bool) -> str:
    return f"training script: {'yes' if training else 'no'}"


class ExportDialog(ModalScreen[Path | None]):
    """Dismisses with the file written, or None when cancelled."""

    CSS_PATH = "dialog.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self, design: Design, target: str = "engine", weights: Path | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.design, self.target, self.weights = design, target, weights

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export"):
            yield Static(self._title(), classes="question", id="export-title")
            with Horizontal(id="export-options"):
                with RadioSet(id="export-target"):
                    for target, label in TARGETS.items():
                        yield RadioButton(label, value=target == self.target, name=target)
                with Vertical(id="export-choices"):
                    yield Checkbox(
                        weights_label(False),
                        False,
                        id="export-weights",
                        disabled=self.weights is None,
                        tooltip=None if self.weights else "train the model in this session first",
                        compact=True,
                    )
                    yield Checkbox(
                        training_label(False),
                        False,
                        id="export-training",
                        tooltip="a script that trains the design as stepgrad does, with its "
                        "starting weights and data beside it (torch: also under torchrun)",
                        compact=True,
                    )
            yield Label("write to")
            yield Input(
                default_export_path(self.design, self.target), id="export-path", compact=True
            )
            yield CodeView(id="export-preview")
            yield Static("", id="export-status")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="export-cancel", compact=True)
                yield Button("Write", id="export-write", variant="primary", compact=True)

    def _title(self) -> str:
        """The title names the target chosen, in words: the radio buttons tell it by colour."""
        return f"[b]Export[/b] {self.design.name} · target: {TARGETS[self.target]}"

    def on_mount(self) -> None:
        self._preview()
        # not the path: focused, its text is selected and the first key typed replaces it
        self.query_one("#export-target", RadioSet).focus()

    def _path(self) -> Path:
        return Path(self.query_one("#export-path", Input).value.strip()).expanduser()

    def _weights(self) -> Path | None:
        include = self.query_one("#export-weights", Checkbox).value
        return self.weights if include and not self._training() else None

    def _training(self) -> bool:
        return self.query_one("#export-training", Checkbox).value

    def _preview(self) -> None:
        status = self.query_one("#export-status", Static)
        weights = self._weights()
        try:
            # the same relative path as the file written will hold
            named = _relative(weights, self._path().parent) if weights else None
            if self._training():
                code = training_source(self.design, self._path(), self.target)
            else:
                code = export_source(self.design, self.target, named)
        except ExportError as err:
            status.update(f"[red]{err}[/red]")
            self.query_one("#export-write", Button).disabled = True
            return
        status.update("")
        self.query_one("#export-write", Button).disabled = False
        self.query_one(CodeView).show(code)

    @on(RadioSet.Changed)
    def _target(self, event: RadioSet.Changed) -> None:
        old = default_export_path(self.design, self.target, self._training())
        self.target = event.pressed.name
        self.query_one("#export-title", Static).update(self._title())
        self._default_path(old)
        self._preview()

    def _default_path(self, old: str) -> None:
        """Follow the choices with the file's name, unless the person typed one."""
        path = self.query_one("#export-path", Input)
        if path.value == old:
            path.value = default_export_path(self.design, self.target, self._training())

    @on(Checkbox.Changed, "#export-weights")
    def _weights_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = weights_label(event.value)
        self._preview()

    @on(Checkbox.Changed, "#export-training")
    def _training_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = training_label(event.value)
        # a training script starts from the design's seed, not from trained weights
        self.query_one("#export-weights", Checkbox).disabled = event.value or self.weights is None
        self._default_path(default_export_path(self.design, self.target, not event.value))
        self._preview()

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        if self._weights() is not None or self._training():
            self._preview()

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-write")
    def _write_pressed(self) -> None:
        self.write()

    @work
    async def write(self) -> None:
        """Write the file, asking first when it would replace one."""
        path = self._path()
        if path.suffix != ".py":
            self.query_one("#export-status", Static).update("[red]the file must end in .py[/red]")
            return
        if path.exists():
            answer = await self.app.push_screen_wait(
                ConfirmScreen(
                    f"{path} exists. Replace it?",
                    [("replace", "Replace", "warning"), ("cancel", "Cancel", "default")],
                )
            )
            if answer != "replace":
                return
        try:
            if self._training():
                export_training_file(self.design, path, self.target)
            else:
                export_file(self.design, path, self.target, weights=self._weights())
        except (ExportError, OSError) as err:
            self.query_one("#export-status", Static).update(f"[red]{err}[/red]")
            return
        what = "training script" if self._training() else "model"
        self.notify(f"wrote {path} ({TARGETS[self.target]} {what})")
        self.dismiss(path)
