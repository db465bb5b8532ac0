"""A footer whose keys always fit: compact when the full one would be cut, and then without
the app-wide keys a person reaches through help (the screen's own keys, help and quit stay)."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEPT_APP_ACTIONS = frozenset({"help", "quit_app", "quit"})  # never dropped: the way to the rest


def key_width(key: str, description: str, compact: bool) -> int:
    """Columns a FooterKey takes: its key and description with the footer's padding."""
    return len(key) + len(description) + (2 if compact else 3)


def fitting_keys(
    keys: list[tuple[str, str, bool]], palette: int, width: int
) -> tuple[bool, list[int]]:
    """Whether to draw compact and which keys (by index) to keep, so the row fits `width`.

    `keys` holds (key display, description, droppable) in footer order; `palette` is the
    columns the command-palette key takes, docked on the right. The droppable keys go
    from the right, only as far as needed."""
    kept = list(range(len(keys)))
    for compact in (False, True):
        total = sum(key_width(k, d, compact) for k, d, _ in keys) + palette + 1
        if total <= width:
            return compact, kept
    droppable = [i for i, (_, _, may_drop) in enumerate(keys) if may_drop]
    for index in reversed(droppable):
        kept.remove(index)
        total = sum(key_width(*keys[i][:2], compact=True) for i in kept) + palette + 1
        if total <= width:
            break
    return True, kept


class FittingFooter(Footer):
    """The screen's keys in one row that is never cut: see `fitting_keys`."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        app = self.app
        shown = [
            (node, binding, enabled, tooltip)
            for node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        ]
        seen: set[str] = set()
        unique = []
        for row in shown:  # one key per action, as Footer shows it
            if row[1].action not in seen:
                seen.add(row[1].action)
                unique.append(row)
        rows = [
            (
                app.get_key_display(binding),
                binding.description,
                node is app and binding.action not in KEPT_APP_ACTIONS,
            )
            for node, binding, _, _ in unique
        ]
        palette = 0
        palette_row = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette_row = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette_row is not None:
                binding = palette_row[1]
                palette = len(app.get_key_display(binding)) + len(binding.description) + 4
        compact, kept = fitting_keys(rows, palette, app.size.width)
        self.set_class(compact, "-compact")
        self.set_reactive(Footer.compact, compact)
        for index in kept:
            _, binding, enabled, tooltip = unique[index]
            yield FooterKey(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette_row is not None:
            _, binding, enabled, tooltip = palette_row
            yield FooterKey(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: events.Resize) -> None:
        if self.is_attached and self._bindings_ready:
            self.call_after_refresh(self.recompose)
