"""The Build screen: the layer palette, the network as a tree, the selected layer's arguments."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Collapsible, Static

from app.model.analysis import without_advice
from app.model.editor import DesignEditor
from app.model.registry import by_category, spec
from app.tui.actions import bindings_for, key_of
from app.tui.build.view import (
    layer_fields,
    layer_rows,
    parse_arg,
    parse_training,
    shape_text,
    totals_text,
    training_fields,
)
from widgets.footer import FittingFooter
from widgets.header import AppHeader
from widgets.layer_palette import LayerPalette
from widgets.layer_tree import LayerTree
from widgets.network_picture import NetworkPicture
from widgets.param_form import ParamForm

COMPACT_WIDTH = 100  # narrower: the palette shows only while it is in use, the tree has its room


class BuildScreen(Screen):
    """Assemble a network: every edit goes to the app's DesignEditor, which redraws this."""

    SCOPE = "build"
    CSS_PATH = "build.tcss"
    BINDINGS = bindings_for("build")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.typed_errors: dict[str, str] = {}  # fields whose text does not parse
        self._form_key: object = None
        self.picture_shown = False  # the network's picture in place of the tree

    @property
    def editor(self) -> DesignEditor:
        return self.app.editor

    def compose(self) -> ComposeResult:
        groups = [
            (category, [(s.type, s.help) for s in specs])
            for category, specs in by_category().items()
        ]
        yield AppHeader()
        with Horizontal(id="build"):
            yield LayerPalette(groups, id="palette")
            with Vertical(id="centre"):
                yield LayerTree(id="tree")
                yield NetworkPicture(id="picture")
                yield Static(id="problem")
                yield Static(id="totals")
            with VerticalScroll(id="side"):
                yield ParamForm(id="args", notes=False)  # its errors show in #problem
                with Collapsible(title="Training settings", id="training-panel"):
                    yield ParamForm(id="training")
        yield FittingFooter()

    def on_mount(self) -> None:
        picture = self.query_one(NetworkPicture)
        picture.border_title = f"the network · {key_of('design.picture')} for the tree"
        add = key_of("layer.add")
        self.query_one(LayerTree).empty_text = f"press {add} to add the first layer"
        self.app.editor_listeners.append(self.show)
        self.show(self.editor)
        self.query_one(LayerTree).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#build").set_class(event.size.width < COMPACT_WIDTH, "-compact")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        palette = self.query_one(LayerPalette)
        if palette not in event.widget.ancestors_with_self:  # the palette is left: it folds away
            self.query_one("#build").remove_class("-palette-open")

    def on_unmount(self) -> None:
        if self.show in self.app.editor_listeners:
            self.app.editor_listeners.remove(self.show)

    # ----- drawing --------------------------------------------------------------
    def show(self, editor: DesignEditor) -> None:
        """Draw the editor's design, analysis and selection."""
        analysis, sel = editor.analysis, editor.selection
        tree = self.query_one(LayerTree)
        rows = layer_rows(analysis)
        if rows != tree.rows:
            tree.show(rows, sel)
        elif sel != tree.selection:
            tree.show(rows, sel)
        title = f"input {shape_text(editor.design.input_shape)}"
        if tree.border_title != title:
            tree.border_title = title
        if self.picture_shown:
            self._show_picture(editor)
        self._show_form(editor)
        self._show_problem(editor)
        totals, text = self.query_one("#totals", Static), totals_text(editor.design, analysis)
        if totals.content != text:
            totals.update(text, layout=False)  # a fixed height
        self.query_one("#training", ParamForm).show(
            "training", "", training_fields(editor.design.training)
        )

    def _show_picture(self, editor: DesignEditor) -> None:
        picture = self.query_one(NetworkPicture)
        picture.show(
            self.query_one(LayerTree).rows, shape_text(editor.design.input_shape), editor.selection
        )

    def _show_problem(self, editor: DesignEditor) -> None:
        """The problem in view: a field that does not parse, a layer at fault.

        The box keeps its height when there is none, so that a problem coming or going
        needs no layout pass (a layout pass of this screen costs more than the edit).
        """
        box = self.query_one("#problem", Static)
        text = self._problem_text(editor)
        box.set_class(text is not None, "-problem")
        box.set_class(text is None and bool(editor.analysis.warnings), "-warning")
        if text is None and editor.analysis.warnings:
            warning = editor.analysis.warnings[0]
            if editor.analysis.output_fixes:  # the fix says how: the advice goes, the key stays
                warning = without_advice(warning)
            text = Text.assemble(("⚠ ", "bold yellow"), warning)
            if editor.analysis.output_fixes:
                text.append("\npress ")
                text.append("f", style="bold reverse")
                text.append(f" to {editor.analysis.output_fixes[0].label}")
        elif text is None:
            text = Text("✓ every shape fits", style="green")
        if box.content != text:
            box.update(text, layout=False)

    def _problem_text(self, editor: DesignEditor) -> Text | None:
        node = editor.selected
        if self.typed_errors and node is not None:  # a field of the selected layer
            error = next(iter(self.typed_errors.values()))
            return Text.assemble(("✗ ", "bold red"), (node.name or node.type, "bold"), f": {error}")
        problem = self._current_problem()
        if problem is None:
            return None
        # a problem of the input or the training settings has no layer: its place names it
        layer = editor.design.node(problem.path) if problem.path else None
        subject = (layer.name or layer.type) if layer is not None else problem.where
        message, fix = problem.message, problem.fixes[0].label if problem.fixes else None
        if fix is not None:
            message = message.removesuffix(f": {fix}")  # said once, with its key
        text = Text.assemble(("✗ ", "bold red"), (subject, "bold"), f": {message}")
        if fix is not None:
            text.append("\npress ")
            text.append("f", style="bold reverse")
            text.append(f" to {fix}")
        return text

    def _current_problem(self):
        problems = self.editor.analysis.problems
        sel = self.editor.selection
        mine = [p for p in problems if p.path == sel]
        return (mine or problems or [None])[0]

    def _show_form(self, editor: DesignEditor) -> None:
        form = self.query_one("#args", ParamForm)
        node = editor.selected
        if node is None:  # one line, in the form's narrow column
            form.show(None, "no layer selected" if editor.design.layers else "no layers yet", [])
            return
        key = (editor.selection, node.type)
        if key != self._form_key:
            self.typed_errors.clear()
            self._form_key = key
        form.show(key, f"{node.type} · arguments", layer_fields(node))
        info = editor.analysis.info(editor.selection)
        problem = info.problem if info else None
        for p in editor.analysis.problems:
            if p.path == editor.selection and p.arg:
                problem = p
        for field in form.fields:
            error = self.typed_errors.get(field.name)
            if error is None and problem is not None and problem.arg == field.name:
                error = problem.message
            form.mark(field.name, error)

    # ----- messages from the widgets --------------------------------------------
    @on(LayerTree.Selected)
    def _selected(self, event: LayerTree.Selected) -> None:
        # a message the tree has moved on from (keys pressed faster than redraws) is stale
        if event.path == self.query_one(LayerTree).selection != self.editor.selection:
            self.editor.select(event.path)

    @on(NetworkPicture.Selected)
    def _picture_selected(self, event: NetworkPicture.Selected) -> None:
        if event.path != self.editor.selection:
            self.editor.select(event.path)

    @on(LayerTree.Activated)
    def _activated(self, event: LayerTree.Activated) -> None:
        self.action_edit_args()

    @on(LayerPalette.Chosen)
    def _chosen(self, event: LayerPalette.Chosen) -> None:
        self.add_layer(event.type_name)
        if self.query_one("#palette-filter").has_focus:
            self.query_one(LayerPalette).clear_filter()  # a narrowed list would stay in view
            self.query_one(LayerTree).focus()

    @on(ParamForm.Changed, "#args")
    def _arg_changed(self, event: ParamForm.Changed) -> None:
        self._apply_arg(event)
        self._show_problem(self.editor)  # a field that does not parse shows there

    def _apply_arg(self, event: ParamForm.Changed) -> None:
        node, form = self.editor.selected, event.form
        if node is None:
            return
        if event.name == "name":
            if event.value.strip() != node.name:
                try:
                    self.editor.rename(event.value)
                    self.typed_errors.pop("name", None)
                except ValueError as err:
                    self.typed_errors["name"] = str(err)
                    form.mark("name", str(err))
            return
        arg = spec(node.type).arg(event.name)
        value, error = parse_arg(arg, event.value)
        if error:
            self.typed_errors[event.name] = f"{event.name} {error}"
            form.mark(event.name, self.typed_errors[event.name])
            return
        self.typed_errors.pop(event.name, None)
        current = node.args.get(arg.name, None if arg.required else arg.default)
        if value == current or (value is None and arg.name not in node.args):
            form.mark(event.name, None)
            return
        self.editor.set_arg(arg.name, value)

    @on(ParamForm.Changed, "#training")
    def _training_changed(self, event: ParamForm.Changed) -> None:
        training = self.editor.design.training
        key, value, error = parse_training(training, event.name, event.value)
        event.form.mark(event.name, error and f"{event.name} {error}")
        if error is None and training.get(key) != value:
            self.editor.set_training(key, value)

    # ----- actions ----------------------------------------------------------------
    def add_layer(self, type_name: str) -> None:
        self.editor.add_layer(type_name)

    def action_picture(self, shown: bool | None = None, focus: bool = True) -> None:
        """Show the picture of the network in place of the tree, or the tree again."""
        self.picture_shown = not self.picture_shown if shown is None else shown
        self.query_one("#build").set_class(self.picture_shown, "-picture")
        if self.picture_shown:
            self._show_picture(self.editor)
        if focus:
            self.set_focus(self.query_one(NetworkPicture if self.picture_shown else LayerTree))

    def action_focus_palette(self) -> None:
        # the palette adds after the layer the tree shows
        self.action_picture(False, focus=False)
        palette = self.query_one(LayerPalette)
        self.query_one("#build").add_class("-palette-open")
        palette.clear_filter()
        palette.focus_filter()

    def action_focus_tree(self) -> None:
        self.action_picture(False)

    def action_delete(self) -> None:
        self.editor.delete()

    def action_duplicate(self) -> None:
        self.editor.duplicate()

    def action_move(self, offset: int) -> None:
        self.editor.move(offset)

    def action_wrap(self) -> None:
        self.editor.wrap_in_residual()

    def action_rename(self) -> None:
        if self.editor.selected is not None:
            self.query_one("#args", ParamForm).focus_field("name")

    def action_edit_args(self) -> None:
        form = self.query_one("#args", ParamForm)
        if len(form.fields) > 1:
            form.focus_field(form.fields[1].name)
        elif form.fields:
            form.focus_field("name")

    def action_training(self) -> None:
        panel = self.query_one("#training-panel", Collapsible)
        panel.collapsed = False
        self.call_after_refresh(self.query_one("#training", ParamForm).focus_field)

    def action_fix(self) -> None:
        problem = self._current_problem()
        fixes = problem.fixes if problem is not None else self.editor.analysis.output_fixes
        if not fixes:
            self.notify("nothing to fix here" if problem is None else "no fix on offer")
            return
        fix = fixes[0]
        self.editor.apply_fix(fix)
        self.notify(f"fixed: {fix.label}", timeout=3)

    def action_undo(self) -> None:
        if not self.editor.undo():
            self.notify("nothing to undo", timeout=2)

    def action_redo(self) -> None:
        if not self.editor.redo():
            self.notify("nothing to redo", timeout=2)
