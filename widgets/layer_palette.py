"""The layer palette: layer types grouped by category, with a filter box."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

PaletteGroups = list[tuple[str, list[tuple[str, str]]]]  # (category, [(type, help)])


class LayerPalette(Vertical):
    """Pick a layer type: Enter or a click on an entry posts `LayerPalette.Chosen`."""

    DEFAULT_CSS = """
    LayerPalette { height: 1fr; }
    LayerPalette > Input { margin: 0 0 1 0; }
    LayerPalette > OptionList { height: 1fr; border: none; padding: 0; }
    """

    class Chosen(Message):
        """A layer type was picked."""

        def __init__(self, type_name: str) -> None:
            self.type_name = type_name
            super().__init__()

    def __init__(self, groups: PaletteGroups, **kwargs) -> None:
        super().__init__(**kwargs)
        self.groups = groups

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter layers", id="palette-filter", compact=True)
        yield OptionList(id="palette-list")

    def on_mount(self) -> None:
        self.show_matching("")

    def show_matching(self, text: str) -> None:
        """List the types whose name, category or help contains `text`."""
        text = text.strip().lower()
        options: list[Option] = []
        for category, entries in self.groups:
            hits = [
                (t, h)
                for t, h in entries
                if not text or text in t.lower() or text in category.lower() or text in h.lower()
            ]
            if hits:
                options.append(Option(f"[b $text-muted]{category}[/]", disabled=True))
                options.extend(Option(f" {t}", id=t) for t, _ in hits)
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        listing.highlighted = first

    @property
    def highlighted_type(self) -> str | None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None:
            return None
        return listing.get_option_at_index(listing.highlighted).id

    def focus_filter(self) -> None:
        """Focus the filter box at once (the keys read after `a` follow the focus)."""
        self.screen.set_focus(self.query_one(Input))

    def clear_filter(self) -> None:
        """Empty the filter box: every type listed again."""
        self.query_one(Input).value = ""
        self.show_matching("")

    @on(Input.Changed, "#palette-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self.show_matching(event.value)

    @on(Input.Submitted, "#palette-filter")
    def _choose_first(self, event: Input.Submitted) -> None:
        event.stop()
        if self.highlighted_type:
            self.post_message(self.Chosen(self.highlighted_type))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))

    def on_key(self, event) -> None:
        """Down from the filter box moves into the list."""
        if event.key == "down" and self.query_one(Input).has_focus:
            event.stop()
            self.query_one(OptionList).focus()
