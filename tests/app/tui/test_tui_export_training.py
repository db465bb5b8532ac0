"""The export dialog's training-script choice writes what `stepgrad export --training` writes."""

from __future__ import annotations

from textual.widgets import Button, Checkbox, Input, RadioSet

from app.tui.dialogs.export import ExportDialog
from tests.app.tui.tui_helpers import app_on


async def test_the_training_box_previews_and_writes_the_training_script(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    written = []
    weights = tmp_path / "weights.npz"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.push_screen(ExportDialog(app.editor.design, "torch", weights), written.append)
        await pilot.pause()
        dialog = app.screen
        box = dialog.query_one("#export-training", Checkbox)
        assert str(box.label) == "training script: no"
        assert "def main():" not in dialog.query_one("#export-preview").code
        await pilot.click("#export-training")
        await pilot.pause()
        assert str(box.label) == "training script: yes"
        assert dialog.query_one("#export-weights", Checkbox).disabled
        path = dialog.query_one("#export-path", Input)
        assert path.value == "mlp_digits_torch_train.py"
        code = dialog.query_one("#export-preview").code
        assert "class StepgradOrder" in code and "import torch\n" in code
        dialog.query_one("#export-target", RadioSet).focus()
        await pilot.press("enter")  # the engine
        await pilot.pause()
        assert path.value == "mlp_digits_engine_train.py"
        code = dialog.query_one("#export-preview").code
        assert "import engine as torch" in code and '"mlp_digits_engine_train_digits.npz"' in code
        path.value = str(tmp_path / "model.py")
        await pilot.pause()
        assert '"model_digits.npz"' in dialog.query_one("#export-preview").code
        dialog.query_one("#export-write", Button).press()
        await pilot.pause()
        await pilot.pause()
    assert written == [tmp_path / "model.py"]
    names = {p.name for p in tmp_path.iterdir()}
    assert {"model.py", "model_init.npz", "model_digits.npz"} <= names
    text = (tmp_path / "model.py").read_text()
    assert "import engine as torch" in text and "def main():" in text
