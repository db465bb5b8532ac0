"""A form of typed fields, generated from plain specs; it marks the fields its owner rejects."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from widgets.fixed_size import FixedSize


@dataclass(frozen=True)
class FieldSpec:
    """One field: `kind` is "text" (typed in), "bool" or "choice"; `value` as the field shows it."""

    name: str
    kind: str = "text"
    value: str | bool = ""
    choices: tuple[str, ...] = ()
    help: str = ""
    placeholder: str = ""


class FormInput(FixedSize, Input):
    """An Input whose size is set by the form, never by its text: a form shows another
    layer's arguments on every selection, and Textual's Input lays out the screen
    whenever the length of its text changes."""


class ParamForm(Vertical):
    """Posts `ParamForm.Changed` on every edit; the owner answers with `mark(name, error)`."""

    DEFAULT_CSS = """
    ParamForm { height: auto; }
    ParamForm .field-label { color: $text-muted; padding: 0 0 0 1; }
    ParamForm .field-error { color: $error; padding: 0 0 0 1; display: none; }
    ParamForm .field-error.shown { display: block; }
    ParamForm Input { margin: 0 1; }
    ParamForm Input.bad { background: $error 35%; }
    ParamForm Select { margin: 0 1; }
    ParamForm Checkbox { margin: 0 1; }
    ParamForm .form-title { text-style: bold; padding: 0 0 0 1; height: 1; }
    ParamForm .field-group { height: auto; }
    """

    class Changed(Message):
        """A field changed: `value` is the text typed, a bool or the chosen option."""

        def __init__(self, form: ParamForm, name: str, value: str | bool) -> None:
            self.form = form
            self.name = name
            self.value = value
            super().__init__()

        @property
        def control(self) -> ParamForm:
            return self.form

    def __init__(self, notes: bool = True, **kwargs) -> None:
        """`notes`: show each error under its field; without, the field turns red and the
        error is its tooltip (for an owner that shows errors elsewhere, in a place whose
        size does not change: a note coming or going lays out the whole screen)."""
        super().__init__(**kwargs)
        self.notes = notes
        self.key: object = None
        self.fields: list[FieldSpec] = []
        self.title = ""
        self._quiet = False  # set while the form writes its own values
        self._values: dict[str, str | bool] = {}  # what each field holds, to post real changes
        self._inputs: dict[str, Input | Checkbox | Select] = {}
        self._notes: dict[str, Static] = {}
        # one group of widgets per field layout, built once and then shown or hidden:
        # mounting and styling new widgets is what makes a form slow to switch
        self._groups: dict[tuple, tuple[VerticalScroll, dict, dict, Static]] = {}
        self._shown: tuple | None = None

    def show(self, key: object, title: str, fields: list[FieldSpec]) -> None:
        """Show `fields`; widgets of a layout seen before are reused, values updated in place."""
        same_key = key == self.key
        layout = tuple((f.name, f.kind, f.choices) for f in fields)
        self.key, self.fields, self.title = key, fields, title
        self._values = {f.name: f.value for f in fields if not (same_key and self._focused(f.name))}
        fresh = layout not in self._groups  # new widgets are built holding the values
        if fresh:
            self._inputs, self._notes = {}, {}
            title_widget = Static(self.title, classes="form-title")
            group = VerticalScroll(title_widget, *self._widgets(), classes="field-group")
            self._groups[layout] = (group, self._inputs, self._notes, title_widget)
            self.mount(group)
        group, self._inputs, self._notes, _ = self._groups[layout]
        if layout != self._shown:
            for other, *_ in self._groups.values():
                other.display = other is group
            self._shown = layout
        if not fresh:
            self._update_values(same_key)

    def _widgets(self) -> ComposeResult:
        for f in self.fields:
            tip = f.help or None
            if f.kind == "bool":
                widget = Checkbox(f.name, bool(f.value), name=f.name, tooltip=tip, compact=True)
            else:
                yield Label(f.name, classes="field-label")
                if f.kind == "choice":
                    options = [(c, c) for c in f.choices]
                    value = f.value if f.value in f.choices else Select.BLANK
                    blank = value is Select.BLANK
                    widget = Select(
                        options, value=value, allow_blank=blank, name=f.name, compact=True
                    )
                else:
                    widget = FormInput(
                        str(f.value),
                        placeholder=f.placeholder,
                        name=f.name,
                        tooltip=tip,
                        compact=True,
                    )
            self._inputs[f.name] = widget
            yield widget
            if self.notes:
                self._notes[f.name] = Static("", classes="field-error")
                yield self._notes[f.name]

    def _update_values(self, same_key: bool) -> None:
        self._quiet = True
        try:
            for f in self.fields:
                widget = self._inputs[f.name]
                if widget.has_focus and same_key:
                    continue
                if isinstance(widget, Input) and widget.value != str(f.value):
                    widget.value = str(f.value)
                elif isinstance(widget, Checkbox) and widget.value != bool(f.value):
                    widget.value = bool(f.value)
                elif isinstance(widget, Select) and f.value in f.choices:
                    widget.value = f.value
        finally:
            self._quiet = False
        title = self._groups[self._shown][3]
        if title.content != self.title:
            title.update(self.title, layout=False)  # one line, always

    def _focused(self, name: str) -> bool:
        widget = self._inputs.get(name)
        return widget is not None and widget.has_focus

    def mark(self, name: str, error: str | None) -> None:
        """Mark field `name` bad with `error`, or clear the mark (None)."""
        if not self.notes:
            widget = self._inputs.get(name)
            if widget is not None:
                widget.set_class(bool(error), "bad")
                tip = error or next((f.help for f in self.fields if f.name == name), "") or None
                if widget.tooltip != tip:
                    widget.tooltip = tip
            return
        note = self._notes.get(name)
        if note is None or note.has_class("shown") == bool(error) and note.content == (error or ""):
            return  # unchanged: an update would cost a layout pass
        if name in self._inputs:
            self._inputs[name].set_class(bool(error), "bad")
            self._notes[name].update(error or "")
            self._notes[name].set_class(bool(error), "shown")

    def focus_field(self, name: str | None = None) -> None:
        """Focus field `name`, or the first one."""
        fields = [f for f in self.fields if name is None or f.name == name]
        if fields:
            self._inputs[fields[0].name].focus()

    def value_of(self, name: str) -> str | bool:
        return self._inputs[name].value

    def widget_of(self, name: str) -> Input | Checkbox | Select:
        return self._inputs[name]

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        event.stop()
        name = event.control.name
        if self._quiet or name not in self._inputs or self._inputs[name] is not event.control:
            return
        value = event.value
        if value is Select.BLANK or self._values.get(name) == value or value != event.control.value:
            # a value the form set, or one the field has moved on from: the Changed message
            # of a value set in _update_values arrives after it, when the form shows another
            return
        self._values[name] = value
        self.post_message(self.Changed(self, name, value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()
