"""The one table of actions: it feeds every screen's BINDINGS and the command palette."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from app.model.registry import REGISTRY


@dataclass(frozen=True)
class Action:
    """One thing a person can do: its key(s), footer label, palette name and where it works."""

    id: str
    key: str  # Textual key names, comma-separated; "" for palette-only actions
    description: str  # the footer and help label
    palette: str  # "category: verb"
    scope: str  # "app" (everywhere) or a screen's SCOPE, such as "build"
    method: str  # the Textual action run on the app (scope "app") or the screen
    show: bool = False  # shown in the footer
    key_display: str | None = None


ACTIONS: tuple[Action, ...] = (
    Action("screen.build", "1", "Build", "screen: build", "app", "switch_mode('build')"),
    Action("screen.train", "2", "Train", "screen: train", "app", "switch_mode('train')"),
    Action("screen.debug", "3", "Debug", "screen: debug", "app", "switch_mode('debug')"),
    Action("help.keys", "question_mark", "Help", "help: keys", "app", "help", True, "?"),
    Action("design.save", "ctrl+s", "Save", "design: save", "app", "save", True),
    Action("design.save_as", "", "Save as", "design: save as", "app", "save(True)"),
    Action("design.open", "ctrl+o", "Open", "design: open", "app", "open"),
    Action("design.new", "ctrl+n", "New", "design: new from sample", "app", "new"),
    Action("export.dialog", "ctrl+e", "Export", "export: dialog", "app", "export", True),
    Action("export.engine", "", "Export", "export: to engine", "app", "export('engine')"),
    Action("export.torch", "", "Export", "export: to PyTorch", "app", "export('torch')"),
    Action("app.quit", "q", "Quit", "app: quit", "app", "quit_app", True),
    Action("layer.add", "a", "Add", "layer: add (focus palette)", "build", "focus_palette", True),
    Action("layer.tree", "escape", "Tree", "layer: focus tree", "build", "focus_tree"),
    Action("layer.delete", "d,delete", "Delete", "layer: delete", "build", "delete", True),
    Action("layer.duplicate", "c", "Duplicate", "layer: duplicate", "build", "duplicate"),
    Action("layer.up", "shift+up,K", "Move up", "layer: move up", "build", "move(-1)"),
    Action("layer.down", "shift+down,J", "Move down", "layer: move down", "build", "move(1)"),
    Action("layer.wrap", "w", "Wrap", "layer: wrap in Residual", "build", "wrap"),
    Action("layer.rename", "r", "Rename", "layer: rename", "build", "rename"),
    Action("layer.fix", "f", "Fix", "layer: apply fix", "build", "fix", True),
    Action("layer.edit", "e", "Edit args", "layer: edit arguments", "build", "edit_args"),
    Action("edit.undo", "ctrl+z", "Undo", "edit: undo", "build", "undo", True),
    Action("edit.redo", "ctrl+y", "Redo", "edit: redo", "build", "redo"),
    Action("design.training", "t", "Training", "design: training settings", "build", "training"),
    Action("design.rename", "R", "Rename design", "design: rename", "build", "app.rename_design"),
    Action("design.picture", "p", "Picture", "design: picture of the network", "build", "picture"),
    Action(
        "train.toggle",
        "space",
        "Start/Pause",
        "train: start, pause or resume",
        "train",
        "toggle",
        True,
    ),
    Action("train.stop", "s", "Stop", "train: stop", "train", "stop", True),
    Action(
        "train.restart", "r", "Restart", "train: restart with fresh weights", "train", "restart"
    ),
    Action("train.lr", "l", "Set lr", "train: set the learning rate", "train", "set_lr", True),
    Action("train.save", "c", "Checkpoint", "train: save a checkpoint", "train", "save_checkpoint"),
    Action("train.load", "C", "Load ckpt", "train: load a checkpoint", "train", "load_checkpoint"),
    Action("debug.step", "n", "Next", "debug: next op", "debug", "step", True),
    Action("debug.over", "o", "Over", "debug: step over the module", "debug", "step_over"),
    Action("debug.out", "u", "Out", "debug: step out of the module", "debug", "step_out"),
    Action(
        "debug.resume", "c", "Continue", "debug: continue to a breakpoint", "debug", "resume", True
    ),
    Action(
        "debug.run_to", "t", "Run to", "debug: run to the selected node", "debug", "run_to", True
    ),
    Action("debug.back", "left", "Back", "debug: back through the history", "debug", "back"),
    Action(
        "debug.forward",
        "right",
        "Forward",
        "debug: forward through the history",
        "debug",
        "forward",
    ),
    Action("debug.break", "b", "Break", "debug: toggle a breakpoint", "debug", "breakpoint", True),
    Action(
        "debug.condition", "B", "Break if", "debug: conditional breakpoint", "debug", "condition"
    ),
    Action("debug.restart", "r", "Restart", "debug: restart the pass", "debug", "restart"),
    Action(
        "debug.gradcheck",
        "g",
        "Gradcheck",
        "debug: check the node's gradient",
        "debug",
        "gradcheck",
    ),
    Action(
        "debug.anomaly",
        "exclamation_mark",
        "Find NaN",
        "debug: jump to the first NaN/Inf",
        "debug",
        "anomaly",
        True,
        "!",
    ),
    Action("debug.input", "i", "Input", "debug: select an input of the node", "debug", "input"),
    Action("debug.tab", "v", "View", "debug: next inspector tab", "debug", "next_tab"),
    Action(
        "debug.values",
        "w",
        "Values",
        "debug: histogram, heatmap or raw values of the slice",
        "debug",
        "values_view",
    ),
    Action(
        "debug.channel_up",
        "right_square_bracket",
        "Channel +",
        "debug: next channel",
        "debug",
        "slice(1, 1)",
    ),
    Action(
        "debug.channel_down",
        "left_square_bracket",
        "Channel -",
        "debug: previous channel",
        "debug",
        "slice(1, -1)",
    ),
    Action(
        "debug.sample_up",
        "right_curly_bracket",
        "Sample +",
        "debug: next sample",
        "debug",
        "slice(0, 1)",
    ),
    Action(
        "debug.sample_down",
        "left_curly_bracket",
        "Sample -",
        "debug: previous sample",
        "debug",
        "slice(0, -1)",
    ),
    Action(
        "script.backward",
        "x",
        "Next iter",
        "script: run to the next backward()",
        "script",
        "run_script('run_to_backward')",
        True,
    ),
    Action(
        "script.update",
        "s",
        "To step",
        "script: run to the next optimizer.step()",
        "script",
        "run_script('run_to_update')",
    ),
    Action(
        "script.error",
        "e",
        "To error",
        "script: run to an exception (or the end)",
        "script",
        "run_script('run_to_error')",
    ),
    Action(
        "script.module",
        "m",
        "To module",
        "script: run to the next call of the selected module",
        "script",
        "to_module",
    ),
    Action("script.line", "l", "Line break", "script: break at FILE:LINE", "script", "line"),
    Action(
        "script.prev",
        "pageup,less_than_sign",
        "Prev iter",
        "script: look at the previous iteration",
        "script",
        "page(-1)",
        key_display="<",
    ),
    Action(
        "script.next",
        "pagedown,greater_than_sign",
        "Next iter",
        "script: look at the next iteration",
        "script",
        "page(1)",
        key_display=">",
    ),
    Action(
        "script.frames", "f", "Frames", "script: its frames and their tensors", "script", "frames"
    ),
    Action(
        "script.output", "p", "Output", "script: more or less of its output", "script", "output"
    ),
    Action(
        "train.unfocus",
        "escape",
        "Leave form",
        "train: leave the settings form",
        "train",
        "unfocus",
    ),
    Action("train.log_y", "y", "Log y", "train: log or linear loss axis", "train", "toggle_log"),
    Action(
        "train.step",
        "full_stop",
        "Step",
        "train: one batch, from a pause",
        "train",
        "step_once",
        key_display=".",
    ),
    Action(
        "train.speed", "v", "Speed", "train: steps per second (max, 20, 5, 1)", "train", "speed"
    ),
    Action(
        "train.view",
        "w",
        "View",
        "train: next view (all, curves, map or images, layer health)",
        "train",
        "next_view",
        True,
    ),
    Action(
        "train.compare",
        "p",
        "Compare",
        "train: show or hide the previous run's curves",
        "train",
        "compare",
    ),
)


ACTION_BY_ID = {a.id: a for a in ACTIONS}


def key_of(action_id: str) -> str:
    """The key that runs an action, as a hint names it (its display form, else its first key)."""
    action = ACTION_BY_ID[action_id]
    return action.key_display or action.key.split(",")[0]


def bindings_for(scope: str) -> list[Binding]:
    """The key bindings of one scope, ready for a class's BINDINGS."""
    return [
        Binding(a.key, a.method, a.description, show=a.show, key_display=a.key_display, id=a.id)
        for a in ACTIONS
        if a.scope == scope and a.key
    ]


def actions_for(scope: str | None) -> list[Action]:
    """The actions available on a screen of `scope`: its own and the app's."""
    return [a for a in ACTIONS if a.scope in ("app", scope)]


class ActionCommands(Provider):
    """The command palette: every screen's actions, each with its key, and `layer: add <Type>`
    for every type. Another screen's action switches to that screen, then runs there."""

    def _commands(self):
        screen = self.screen
        scope = getattr(screen, "SCOPE", None)
        modes = getattr(self.app, "MODES", {})
        scopes = ("app", *modes) if scope in modes else ("app", scope)
        for action in ACTIONS:
            if action.scope not in scopes:
                continue
            if action.scope == "app":
                run = partial(self.app.run_action, action.method)
            elif action.scope == scope:
                run = partial(screen.run_action, action.method)
            else:
                run = partial(self._elsewhere, action)
            key = f"  {key_of(action.id)}" if action.key else ""
            yield action.palette, key, run, action.description
        for type_name, layer_spec in REGISTRY.items():
            run = partial(self.app.run_action, f"add_layer('{type_name}')")
            yield f"layer: add {type_name}", "", run, layer_spec.help

    async def _elsewhere(self, action: Action) -> None:
        """Switch to the screen `action` belongs to, then run it there."""
        await self.app.switch_mode(action.scope)
        await self.app.screen.run_action(action.method)

    async def discover(self) -> Hits:
        for name, key, run, help_text in self._commands():
            shown = Content(name) + Content.styled(key, "bold")
            yield DiscoveryHit(shown, run, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, key, run, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                shown = matcher.highlight(name) + Content.styled(key, "bold")
                yield Hit(score, shown, run, text=name, help=help_text)
