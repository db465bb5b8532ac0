"""Pilot tests of the app shell: screens, help, palette, quit, open, new, recovery, export."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from app.model.editor import DesignEditor
from app.model.recovery import recovery_dir
from app.tui.actions import ACTIONS, bindings_for
from app.tui.app import StepgradApp
from app.tui.debug.screen import DebugScreen
from app.tui.dialogs.confirm import ConfirmScreen
from app.tui.dialogs.export import ExportDialog
from app.tui.dialogs.help import HelpScreen
from app.tui.train.screen import TrainScreen
from sample_models import SAMPLES_DIR, sample_names
from tests.app.tui.tui_helpers import SAMPLES, app_on


def test_the_samples_have_one_copy_the_app_reads():
    assert SAMPLES_DIR.resolve() == SAMPLES.resolve()
    assert sample_names() == sorted(p.stem for p in SAMPLES.glob("*.json"))
    app_dir = SAMPLES.parent / "app"
    assert not [p for p in app_dir.rglob("*.json") if p.stem in sample_names()]


def test_palette_names_are_category_verb_and_keys_are_unique():
    for action in ACTIONS:
        category, _, verb = action.palette.partition(": ")
        assert category and verb, action.palette
    for scope in ("app", "build", "train", "debug"):
        keys = [k for b in bindings_for(scope) for k in b.key.split(",")]
        assert len(keys) == len(set(keys)), scope


async def test_number_keys_switch_screens_and_help_lists_every_binding(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("3")
        assert isinstance(app.screen, DebugScreen)
        await pilot.press("1")
        assert app.screen.SCOPE == "build"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_screen = app.screen
        await pilot.press("escape")
        assert app.screen.SCOPE == "build"
        await pilot.press("question_mark")  # the same help again: built once a screen
        assert app.screen is help_screen
        await pilot.press("escape", "2", "question_mark")  # the Train screen's keys first
        assert isinstance(app.screen, HelpScreen) and app.screen is not help_screen
        assert app.screen.scopes[0] == "train"
        await pilot.press("q")
        assert isinstance(app.screen, TrainScreen)


async def test_command_palette_adds_a_layer_by_name(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        count = len(app.editor.design.layers)
        await pilot.press("ctrl+p", *"layer: add Dropout")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.editor.design.layers) == count + 1
        assert app.editor.design.layers[1].type == "Dropout"


async def test_quit_without_changes_exits_0_at_once(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_quit_with_changes_asks_first(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test() as pilot:
        await pilot.press("d", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # cancel: still running, still modified
        await pilot.pause()
        assert app.editor.modified and autosaves()
        await pilot.press("q")
        await pilot.pause()
        await pilot.click("#answer-discard")
        await pilot.pause()
    assert app.return_value == 0
    assert not autosaves()


def autosaves() -> list[Path]:
    return sorted(recovery_dir().glob("*.json"))


def crash_while_editing(path: Path) -> None:
    """An instance edits the design at `path` and stops without saving or discarding."""
    crashed = StepgradApp(DesignEditor.open(path), offer_recovery=False)
    crashed.editor.delete()  # autosaves
    crashed.autosave.close()  # what the process's end does to its lock


async def answer_recovery(app: StepgradApp, pilot, answer: str | None) -> None:
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)
    if answer is None:
        await pilot.press("escape")
    else:
        await pilot.click(f"#answer-{answer}")
    await pilot.pause()


async def test_recovery_is_offered_after_a_crash_for_the_file_opened(tmp_path):
    shutil.copy(SAMPLES / "mlp_digits.json", tmp_path / "mine.json")
    crash_while_editing(tmp_path / "mine.json")
    app = StepgradApp(DesignEditor.open(tmp_path / "mine.json"))
    async with app.run_test() as pilot:
        await answer_recovery(app, pilot, "recover")
        assert app.editor.design.name == "mlp_digits" and app.editor.modified
        assert app.editor.path == (tmp_path / "mine.json").resolve()
        assert len(app.editor.design.layers) == 3
        assert [p.name.split(".")[1] for p in autosaves()] == [app.autosave.token]


async def test_discarding_a_recovery_deletes_it_and_the_app_goes_on(tmp_path):
    shutil.copy(SAMPLES / "mlp_digits.json", tmp_path / "mine.json")
    crash_while_editing(tmp_path / "mine.json")
    app = StepgradApp(DesignEditor.open(tmp_path / "mine.json"))
    async with app.run_test() as pilot:
        await answer_recovery(app, pilot, "discard")
        assert not app.editor.modified and len(app.editor.design.layers) == 4
        assert not autosaves()
        await pilot.press("2")  # still running
        assert isinstance(app.screen, TrainScreen)


async def test_escape_keeps_the_recovery_for_the_next_start(tmp_path):
    shutil.copy(SAMPLES / "mlp_digits.json", tmp_path / "mine.json")
    crash_while_editing(tmp_path / "mine.json")
    for answer in (None, "later"):
        app = StepgradApp(DesignEditor.open(tmp_path / "mine.json"))
        async with app.run_test() as pilot:
            await answer_recovery(app, pilot, answer)
            assert not app.editor.modified
        assert len(autosaves()) == 1


async def test_another_files_recovery_is_not_offered(tmp_path):
    shutil.copy(SAMPLES / "mlp_digits.json", tmp_path / "mine.json")
    crash_while_editing(tmp_path / "mine.json")
    app = StepgradApp(DesignEditor.open(SAMPLES / "cnn_digits.json"))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.editor.design.name == "cnn_digits"
    assert len(autosaves()) == 1


async def test_a_second_instance_is_not_offered_a_running_ones_edits(tmp_path):
    shutil.copy(SAMPLES / "mlp_digits.json", tmp_path / "mine.json")
    first = StepgradApp(DesignEditor.open(tmp_path / "mine.json"), offer_recovery=False)
    first.editor.delete()  # live edits, autosaved, its instance still running
    second = StepgradApp(DesignEditor.open(tmp_path / "mine.json"))
    async with second.run_test() as pilot:
        await pilot.pause()
        assert not isinstance(second.screen, ConfirmScreen)
    assert len(autosaves()) == 1
    first.autosave.close()


async def test_an_unreadable_recovery_is_set_aside_and_the_app_starts(tmp_path):
    shutil.copy(SAMPLES / "mlp_digits.json", tmp_path / "mine.json")
    crash_while_editing(tmp_path / "mine.json")
    autosaves()[0].write_text("{ broken")
    app = StepgradApp(DesignEditor.open(tmp_path / "mine.json"))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.editor.design.name == "mlp_digits"
    assert not autosaves()
    [kept] = recovery_dir().glob("*.unreadable")
    assert kept.read_text() == "{ broken"


async def test_open_a_design_by_typing_its_path(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#open-path").value = str(SAMPLES / "cnn_digits.json")
        await pilot.press("tab", "enter")  # from the tree to the path box
        await pilot.pause()
        assert app.editor.design.name == "cnn_digits"


async def test_new_from_a_sample_is_unsaved_and_asks_where_to_save(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("home", "down", "enter")  # the first sample, cnn_digits
        await pilot.pause()
        assert app.editor.design.name == "cnn_digits" and app.editor.path is None
        await pilot.press("ctrl+s", "enter")  # accept the proposed cnn_digits.json
        await pilot.pause()
        assert (tmp_path / "cnn_digits.json").exists() and not app.editor.modified


async def test_export_to_both_targets_and_run_the_files(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        for target, key in (("engine", None), ("torch", "down")):
            await pilot.press("ctrl+e")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, ExportDialog)
            if key:
                dialog.query_one("#export-target").focus()
                await pilot.press("down", "enter")
                await pilot.pause()
            assert dialog.target == target
            assert "build_model" in dialog.query_one("#export-preview").code
            dialog.query_one("#export-path").value = str(tmp_path / f"out_{target}.py")
            await pilot.click("#export-write")
            await pilot.pause()
            assert (tmp_path / f"out_{target}.py").exists()
        # writing again asks before overwriting
        await pilot.press("ctrl+e")
        await pilot.pause()
        app.screen.query_one("#export-path").value = str(tmp_path / "out_engine.py")
        await pilot.click("#export-write")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape", "escape")
    engine_run = subprocess.run(
        [sys.executable, str(tmp_path / "out_engine.py")], capture_output=True, text=True
    )
    assert engine_run.returncode == 0, engine_run.stderr
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    torch_run = subprocess.run(
        [sys.executable, str(tmp_path / "out_torch.py")], capture_output=True, text=True
    )
    assert torch_run.returncode == 0, torch_run.stderr


async def test_ctrl_s_asks_before_replacing_another_file(tmp_path):
    design = DesignEditor.open(SAMPLES / "mlp_digits.json").design
    py = tmp_path / "model.py"
    py.write_text(f"DESIGN_JSON = {design.to_json()!r}\n")
    unrelated = tmp_path / "model.json"
    unrelated.write_text("my own notes")
    app = StepgradApp(DesignEditor.open(py), offer_recovery=False)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#answer-cancel")
        await pilot.pause()
        assert unrelated.read_text() == "my own notes"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.click("#answer-replace")
        await pilot.pause()
    assert '"stepgrad.design"' in unrelated.read_text()
