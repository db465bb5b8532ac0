"""Pilot tests of the Train screen: start, pause, resume, stop, exact resume, NaN, lr, quit;
the evaluation behind its confusion matrix and strip of worst-classified images."""

from __future__ import annotations

import asyncio
import io
import time

import numpy as np
import pytest
from rich.console import Console
from textual import events
from textual.widgets import Input, Static

import engine
from app.model.design import Design
from app.sessions.training import TrainingSession
from app.tui.debug.screen import DebugScreen
from app.tui.train.screen import TrainScreen
from app.tui.train.view import Tally, evaluate_classifier, softmax
from engine import nn
from engine.utils.data import DataLoader, TensorDataset
from tests.app.tui.tui_helpers import app_on
from widgets.decision_map import DecisionMap
from widgets.image_strip import ImageStrip, caption
from widgets.plots import LinePlot, Series, compact


async def wait_for(condition, timeout: float = 20.0) -> None:
    """Let the app run until `condition()` holds (Pilot's own waits last while training runs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def send_keys(app, *keys: str) -> None:
    """Press keys without waiting for the app to go idle: a person pressing them in a row.

    `pilot.press` waits until the process is idle, up to two seconds a key while
    a run keeps the CPU busy.
    """
    for key in keys:
        app.post_message(events.Key(key, " " if key == "space" else key))
        await asyncio.sleep(0)


async def run_ends(pilot, screen: TrainScreen) -> None:
    """Wait for the run to end and the screen to draw its last report."""
    await wait_for(lambda: not screen.running)
    await pilot.pause()


async def answer_prompt(pilot, key: str, text: str) -> None:
    """Press `key`, type `text` into the prompt that opens (all at once) and accept it."""
    await pilot.press(key)
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def open_train(pilot, app, **training) -> TrainScreen:
    app.editor.design.training.update(training)
    await pilot.press("2")
    await pilot.pause()
    assert isinstance(app.screen, TrainScreen)
    return app.screen


def weights(model) -> dict:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


async def test_space_starts_pauses_and_resumes_and_s_stops(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=1000)
        assert "press space" in str(screen.query_one("#progress").render())
        await send_keys(app, "space")
        await wait_for(lambda: screen.running and screen.session.global_step > 0)
        await send_keys(app, "space")
        await wait_for(lambda: screen.session.status == "paused")
        step = screen.session.global_step
        await pilot.pause(0.1)
        assert screen.session.global_step == step and screen.running
        assert str(screen.query_one("#progress").render()).startswith("paused")
        await send_keys(app, "space")
        await wait_for(lambda: screen.session.global_step > step)
        await send_keys(app, "s")
        await run_ends(pilot, screen)
        await wait_for(lambda: not [w for w in app.workers if w.is_running])
        await pilot.pause()
        assert screen.session.status == "stopped" and screen.session.epoch < 1000
        assert str(screen.query_one("#progress").render()).startswith("stopped")


async def test_paused_then_resumed_run_equals_an_uninterrupted_one(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=3)
        design = Design.from_json(app.editor.design.to_json())
        await send_keys(app, "space")
        await wait_for(lambda: screen.running)
        await send_keys(app, "space")
        await wait_for(lambda: screen.session.status == "paused")
        assert 0 < screen.session.global_step < 3 * len(screen.session.train_loader)
        await send_keys(app, "space")
        await run_ends(pilot, screen)
        assert screen.session.status == "finished"
        trained = weights(screen.session.model)
    straight = TrainingSession(design)
    assert straight.run() == "finished"
    expected = weights(straight.model)
    assert trained.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(trained[key], expected[key])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
async def test_non_finite_loss_stops_and_offers_the_debugger(tmp_path):
    app = app_on("exploding_lr", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app)
        await pilot.press("space")
        await run_ends(pilot, screen)
        assert screen.session.status == "nonfinite"
        alert = screen.query_one("#alert")
        assert alert.display and "press 3 to debug this batch" in str(alert.render())
        assert app.state.bad_batch is screen.session.bad_batch is not None
        assert str(screen.query_one("#progress").render()).startswith("non-finite")


async def test_lr_change_is_applied_and_marked_on_the_loss_plot(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=2)
        await pilot.press("space")
        await run_ends(pilot, screen)
        step = screen.session.global_step
        await answer_prompt(pilot, "l", "0.002")
        assert screen.session.lr == 0.002
        assert [(m.x, m.label) for m in screen.query_one("#loss-plot", LinePlot).marks] == [
            (step, "lr 0.002")
        ]
        # two more epochs go on from there with the new rate
        app.editor.design.training["epochs"] = 4
        await pilot.press("space")
        await run_ends(pilot, screen)
        assert screen.session.epoch == 4 and screen.session.history[-1]["lr"] == 0.002
        decision = screen.query_one(DecisionMap)
        assert decision.display and decision.predicted.shape == (48, 64)


async def test_quitting_stops_the_run_and_leaves_no_training_thread(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=10_000)
        await send_keys(app, "space")
        await wait_for(lambda: screen.running and screen.session.global_step > 0)
        await send_keys(app, "1")  # training goes on behind the Build screen
        await wait_for(lambda: app.screen.SCOPE == "build")
        step = screen.session.global_step
        await wait_for(lambda: screen.session.global_step > step)
        await send_keys(app, "q")
        await wait_for(lambda: not app.is_running)
    assert screen.finished.wait(10)  # the thread ends on its own after its batch
    assert screen.session.status == "stopped"


async def test_a_paused_run_checkpoints_and_sets_the_weights_to_export(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=2)
        await pilot.press("space")
        await run_ends(pilot, screen)
        notes = tmp_path / "notes"
        notes.mkdir()
        (notes / "mine.txt").write_text("keep")
        await answer_prompt(pilot, "c", str(notes))  # not a checkpoint folder: refused
        assert (notes / "mine.txt").read_text() == "keep" and app.is_running
        assert app.state.trained_weights is None
        folder = tmp_path / "ckpt"
        await answer_prompt(pilot, "c", str(folder))
        assert (folder / "session.json").exists()
        assert app.state.trained_weights == folder / "weights.npz"
        saved = weights(screen.session.model)
        await pilot.press("r")  # fresh weights
        await run_ends(pilot, screen)
        await answer_prompt(pilot, "C", str(folder))
        assert screen.session.global_step == len(screen.session.losses)
        for key, value in weights(screen.session.model).items():
            np.testing.assert_array_equal(value, saved[key])


async def test_a_run_whose_loss_ran_away_says_so(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=2, optimizer={"type": "Adam", "lr": 50.0})
        await pilot.press("space")
        await run_ends(pilot, screen)
        alert = str(screen.query_one("#alert").render())
        assert screen.session.status == "finished"
        assert "diverged: the training loss rose from 2." in alert
        assert "lower the learning rate" in alert


# ----- the evaluation: one pass for the confusion matrix and the worst images ----------
# Each sample is a 1×3 "image" that a Flatten model passes through as its 3 logits.
LOGITS = [[5, 0, 0], [3, 0, 0], [0, 4, 0], [1, 0.5, 0], [0, 2, 0], [0, 0, 1]]
LABELS = [0, 1, 2, 0, 1, 2]  # samples 1 and 2 are wrong; 3, then 5, are the least sure right


def logit_loader(logits=LOGITS, labels=LABELS, batch_size: int = 2) -> DataLoader:
    x = engine.tensor(np.array(logits, dtype=np.float32).reshape(len(logits), 1, 1, -1))
    return DataLoader(TensorDataset(x, engine.tensor(labels)), batch_size)


def test_evaluation_counts_the_confusion_and_ranks_the_wrong_first():
    model = nn.Flatten()
    evaluation = evaluate_classifier(model, logit_loader(), 3, keep=4)
    np.testing.assert_array_equal(evaluation.confusion, [[2, 0, 0], [1, 1, 0], [0, 1, 1]])
    worst = evaluation.worst
    assert [e.index for e in worst] == [2, 1, 3, 5]  # wrong by p(true), then the least sure
    assert [(e.label, e.predicted, e.correct) for e in worst] == [
        (2, 1, False),
        (1, 0, False),
        (0, 0, True),
        (2, 2, True),
    ]
    probabilities = softmax(np.array(LOGITS))
    for e in worst:
        assert e.p_true == pytest.approx(probabilities[e.index, e.label])
        assert e.p_pred == pytest.approx(probabilities[e.index, e.predicted])
        np.testing.assert_array_equal(e.image, [LOGITS[e.index]])  # the 1×3 image itself
    assert worst[1].p_pred == pytest.approx(np.exp(3) / (np.exp(3) + 2))
    assert model.training  # its mode is given back


def test_evaluation_keeps_the_k_worst_across_batches_and_copies_their_images():
    loader = logit_loader(batch_size=1)
    evaluation = evaluate_classifier(nn.Flatten(), loader, 3, keep=2)
    assert [e.index for e in evaluation.worst] == [2, 1]
    first = evaluation.worst[0].image
    assert not np.shares_memory(first, loader.dataset.tensors[0].numpy())


def test_evaluation_fits_a_model_with_more_outputs_than_classes():
    evaluation = evaluate_classifier(nn.Flatten(), logit_loader([[0, 0, 9]], [1]), 2)
    np.testing.assert_array_equal(evaluation.confusion, [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert evaluation.worst[0].predicted == 2


def test_a_tally_counts_a_pass_only_every_so_often_and_whole():
    loader = logit_loader(batch_size=1)
    tally = Tally(3, every=3600)
    for _ in range(2):  # two passes within the hour: the second is not counted
        for x, y in loader:
            tally.add(x, y, x.reshape(len(x), -1))
        taken = tally.take()
        if _ == 0:
            assert taken.confusion.sum() == len(loader.dataset)
    assert taken is None
    tally.every = 0
    for x, y in loader:
        tally.add(x, y, x.reshape(len(x), -1))
    assert tally.take().confusion.sum() == len(loader.dataset)


def test_the_session_hands_each_validation_batch_to_its_hooks():
    session = TrainingSession(Design.load("sample_models/mlp_digits.json"))
    seen = []
    session.val_hooks.append(lambda x, y, out: seen.append((len(x), len(y), out.shape)))
    session.evaluate()
    assert sum(n for n, _, _ in seen) == len(session.data.val)
    assert all(n == m and shape == (n, 10) for n, m, shape in seen)


def test_softmax_is_stable_and_reads_log_probabilities_as_probabilities():
    np.testing.assert_allclose(softmax(np.array([[1000.0, 0.0]])), [[1.0, 0.0]], atol=1e-12)
    p = np.array([[0.7, 0.2, 0.1]])
    np.testing.assert_allclose(softmax(np.log(p)), p)
    assert np.isfinite(softmax(np.array([[np.nan, 0.0]]))).all()


async def test_an_epoch_on_digits_shows_the_confusion_and_the_worst_images(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_train(pilot, app, epochs=1)
        strip = screen.query_one(ImageStrip)
        assert strip.display and not strip.examples
        await pilot.press("space")
        await run_ends(pilot, screen)
        session = screen.session
        expected = evaluate_classifier(session.model, session.val_loader, 10)
        assert [caption(e) for e in strip.examples] == [caption(e) for e in expected.worst]
        assert expected.confusion.sum() == len(session.data.val)
        wrong = expected.confusion.sum() - np.trace(expected.confusion)
        assert [e.correct for e in expected.worst] == [
            i >= wrong for i in range(len(strip.examples))
        ]
        drawn = strip.render_line(5).text.split()  # under the images: "7→1 0.91  5→9 0.77 ..."
        assert drawn == " ".join(caption(e) for e in expected.worst[:9]).split()  # 9 fit
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(screen.query_one("#confusion", Static).content)
        table = console.export_text().splitlines()
        assert table[0].strip() == "confusion (val)"
        rows = [[int(n) for n in line.split()[1:]] for line in table[2:12]]
        np.testing.assert_array_equal(rows, expected.confusion)
        assert strip.region.height == 6 and strip.region.width > 80


async def test_toy_sets_hide_the_strip(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app)
        assert not screen.query_one(ImageStrip).display
        assert not screen.query_one("#confusion").display


async def test_a_key_while_training_holds_the_run_until_the_screen_is_drawn(tmp_path):
    from app.tui.dialogs.help import HelpScreen

    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=500)
        await pilot.press("space")
        await wait_for(lambda: screen.session is not None and screen.session.global_step > 3)
        calls = []
        make_way, go_on = screen.session.make_way, screen.session.go_on
        screen.session.make_way = lambda seconds: (calls.append(seconds), make_way(seconds))
        screen.session.go_on = lambda: (calls.append("go on"), go_on())
        app.post_message(events.Key("question_mark", "?"))
        await wait_for(lambda: isinstance(app.screen, HelpScreen) and "go on" in calls)
        assert calls[0] == pytest.approx(0.25)
        await send_keys(app, "escape", "s")
        await run_ends(pilot, screen)
        assert screen.session.status == "stopped"


async def test_opening_debug_mid_run_leaves_a_seeded_run_as_it_would_have_been(tmp_path):
    app = app_on("cnn_digits", tmp_path)  # its Dropout draws from the run's generator
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=2)
        design = Design.from_json(app.editor.design.to_json())
        await send_keys(app, "space")
        await wait_for(lambda: screen.running and screen.session.global_step > 0)
        assert app.state.training is screen.session  # told by the RunStarted message
        await send_keys(app, "3")
        await wait_for(lambda: isinstance(app.screen, DebugScreen))
        debug = app.screen
        await wait_for(lambda: debug.session is not None)
        assert screen.session.status == "paused"
        assert screen.session.global_step < 2 * len(screen.session.train_loader)
        await send_keys(app, "2")
        await wait_for(lambda: app.screen is screen)
        await send_keys(app, "space")
        await run_ends(pilot, screen)
        assert screen.session.status == "finished"
        losses, trained = list(screen.session.losses), weights(screen.session.model)
    straight = TrainingSession(design)
    assert straight.run() == "finished"
    assert losses == straight.losses
    expected = weights(straight.model)
    assert trained.keys() == expected.keys()
    assert all(np.array_equal(trained[k], expected[k]) for k in expected)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
async def test_the_status_line_names_the_batch_and_step_of_the_non_finite_loss(tmp_path):
    app = app_on("exploding_lr", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app)
        await pilot.press("space")
        await run_ends(pilot, screen)
        bad = screen.session.bad_batch
        line = str(screen.query_one("#progress").render())
        assert screen.nonfinite is not None
        where = f"batch {screen.nonfinite.batch} (step {screen.nonfinite.global_step})"
        assert line.startswith("non-finite loss at epoch") and where in line, line
        assert bad is not None


async def test_a_new_run_clears_the_last_runs_confusion_and_worst_images(tmp_path):
    app = app_on("mlp_digits", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=1)
        screen.query_one("#confusion", Static).update("old confusion")
        screen.query_one(ImageStrip).examples = ("old",)
        assert screen._new_session()
        assert str(screen.query_one("#confusion").render()) == ""
        assert screen.query_one(ImageStrip).examples == ()


async def test_a_loss_spanning_decades_gets_a_log_axis_with_short_labels_y_toggles_it(tmp_path):
    assert [compact(v) for v in (1e31, 2.5e-7, 0.25, 1500.0, 0)] == [
        "1e31",
        "2e-7",
        "0.25",
        "1500",
        "0",
    ]
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app)
        plot = screen.query_one("#loss-plot", LinePlot)
        plot.show([Series("train", (1, 2, 3, 4), (1e31, 1e10, 1.0, 0.5), color="cyan")])
        await pilot.pause()
        assert plot.uses_log()
        shot = app.export_screenshot()
        labels = plot.tick_labels_given[0]  # powers of ten, as many as the rows allow
        assert len(labels) >= 2 and all(label.startswith("1e") for label in labels), labels
        assert all(label in shot for label in labels) and "e+" not in shot
        await pilot.press("y")
        assert not plot.uses_log()
        await pilot.press("y")
        assert plot.uses_log()


async def test_an_lr_set_while_paused_shows_at_once_and_its_mark_keeps_the_legend(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=10_000)
        await send_keys(app, "space")
        await wait_for(lambda: screen.running and screen.session.global_step > 20)
        await send_keys(app, "space")
        await wait_for(lambda: screen.session.paused and screen.latest is not None)
        await answer_prompt(pilot, "l", "0.0042")
        await pilot.pause()
        assert "lr 0.0042" in str(screen.query_one("#progress").render())
        assert app.editor.design.training["optimizer"]["lr"] == 0.0042
        shot = app.export_screenshot()
        assert "train (smoothed)" in shot.replace("&#160;", " ")
        await send_keys(app, "s")
        await wait_for(lambda: not screen.running)


async def test_v_sets_the_pace_and_dot_steps_one_batch_from_a_pause(tmp_path):
    app = app_on("spiral_mlp", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, app, epochs=10_000)
        await pilot.press("v")
        assert screen.pace == 20.0
        await send_keys(app, "space")
        await wait_for(lambda: screen.running and screen.session.global_step > 0)
        assert screen.session.steps_per_second == 20.0
        await send_keys(app, "space")
        await wait_for(lambda: screen.session.paused and screen.session.wait_paused(0))
        step = screen.session.global_step
        await pilot.press("full_stop")
        await wait_for(lambda: screen.session.global_step == step + 1)
        await wait_for(lambda: screen.session.paused and screen.session.wait_paused(0))
        assert screen.session.global_step == step + 1
        await send_keys(app, "s")
        await wait_for(lambda: not screen.running)
