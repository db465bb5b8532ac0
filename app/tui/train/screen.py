"""The Train screen: settings, progress, curves, decision map or confusion and worst images."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from app.model.data import IMAGE_SETS, TOY_SETS, DatasetError
from app.model.design import Design
from app.sessions.reports import BatchReport, EpochReport, NonFiniteReport, Report
from app.sessions.setup import SessionError
from app.sessions.training import TrainingSession, divergence, same_network
from app.tui.actions import bindings_for, key_of
from app.tui.build.view import parse_training, training_fields
from app.tui.dialogs.prompt import PromptScreen
from app.tui.state import BadBatchKept, CheckpointSaved, RunStarted
from app.tui.train.view import (
    PreviousRun,
    Tally,
    accuracy_series,
    confusion_text,
    decision_grid,
    fitted,
    health_rows,
    health_text,
    loss_series,
    lr_marks,
    previous_run,
    progress_text,
)
from engine.backend import quiet_float_errors
from engine.debug.monitor import Monitor
from widgets.decision_map import DecisionMap
from widgets.footer import FittingFooter
from widgets.header import AppHeader
from widgets.image_strip import ImageStrip
from widgets.param_form import ParamForm
from widgets.plots import LinePlot

# what the main area shows: everything, or one panel alone ("map": the decision map, or
# the worst images and the confusion matrix of an image set)
VIEWS = ("all", "curves", "map", "health")
VIEW_NAMES = {
    "all": "all panels",
    "curves": "curves",
    "map": "decision map",
    "health": "layer health",
}
FRAME_S = 0.05  # the longest closing the screen waits for the run's thread


class TrainScreen(Screen):
    """Trains the open design in a thread worker and draws what its session reports."""

    SCOPE = "train"
    CSS_PATH = "train.tcss"
    BINDINGS = bindings_for("train")
    AUTO_FOCUS = None  # keys such as space go to the screen, not to the settings form
    # low: the worst images only in their own view; tall: room for larger images
    VERTICAL_BREAKPOINTS = [(0, "-low"), (30, "-short"), (40, "-tall")]
    # slim: fewer panels beside the settings, which a single panel's view hides
    HORIZONTAL_BREAKPOINTS = [(0, "-slim"), (100, "-narrow"), (150, "-wide")]
    show_timing: ClassVar[bool] = True  # samples/s and ETA; tests that snapshot turn it off
    health_every: ClassVar[int] = 50  # steps between layer-health samples (a few a second)
    ui_interval: ClassVar[float] = 1.0  # seconds between redraws of the views mid-run
    progress_interval: ClassVar[float] = 0.25  # seconds between redraws of the progress line

    class Reported(Message):
        """A session report, with what the worker computed for the views alongside it and
        the newest batch report (which may have been held back)."""

        def __init__(
            self,
            session: TrainingSession,
            report: Report | None,
            status: str,
            extras: dict,
            latest: BatchReport | None,
        ) -> None:
            self.session, self.report, self.status = session, report, status
            self.extras, self.latest = extras, latest
            super().__init__()

        def can_replace(self, message: Message) -> bool:
            # a batch report with nothing else is superseded by the next batch report
            return (
                isinstance(message, TrainScreen.Reported)
                and isinstance(self.report, BatchReport)
                and isinstance(message.report, BatchReport)
                and not self.extras
            )

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session: TrainingSession | None = None
        self.monitor: Monitor | None = None
        self.latest: BatchReport | None = None
        self.pace: float | None = None  # steps per second while watching; None: full speed
        self.nonfinite: NonFiniteReport | None = None  # the batch that stopped this run
        self.run_epochs = 0  # the epochs the current run goes to
        self.finished = threading.Event()  # clear while a worker trains
        self.finished.set()
        self._last_drawn = 0.0  # the worker's clock of the last decision map
        self._health_shown = None  # the monitor report in the table
        self._drawn_at = 0.0  # the UI's clock of the last redraw
        self._progress_at = 0.0  # and of the last progress line
        self._pending_extras: dict = {}  # views computed by the worker, not drawn yet
        self.tally: Tally | None = None  # the last validation pass, for image sets
        self.view = "all"  # one of VIEWS
        self.previous: PreviousRun | None = None  # the curves of the run before this one
        self.compare = True  # whether the plots show them
        self.dataset = ""  # the name of the data the views are for

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="train"):
            with VerticalScroll(id="settings"):
                yield ParamForm(id="training")
            with Vertical(id="main"):
                yield Static(id="progress")
                yield Static(id="alert")
                with Horizontal(id="plots"):
                    yield LinePlot("loss", "step", id="loss-plot")
                    yield LinePlot("accuracy", "epoch", id="acc-plot")
                yield ImageStrip(id="worst")
                with Horizontal(id="lower"):
                    yield DecisionMap(id="decision")
                    yield Static(id="confusion")
                    yield Static(id="health")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one("#alert").display = False
        self.app.editor_listeners.append(self.show_settings)
        self.show_settings()
        self.show_progress()
        self._show_kind(str(self.app.editor.design.training.get("dataset")))

    def on_unmount(self) -> None:
        """Stop the run: its thread ends after the batch it is in, without being waited for."""
        if self.show_settings in self.app.editor_listeners:
            self.app.editor_listeners.remove(self.show_settings)
        if self.session is not None:
            self.session.request_stop()
        self.finished.wait(timeout=FRAME_S)  # a small batch ends within a frame

    # ----- state ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A worker is training (or paused inside a run)."""
        return not self.finished.is_set()

    @property
    def run_status(self) -> str:
        if self.session is None:
            return "ready"
        if self.running and self.session.paused:
            return "paused"
        if self.session.status == "nonfinite" and self.nonfinite is not None:
            bad = self.nonfinite
            return (
                f"non-finite loss at epoch {bad.epoch} batch {bad.batch} (step {bad.global_step})"
            )
        return {"nonfinite": "non-finite loss"}.get(self.session.status, self.session.status)

    def _epochs_wanted(self) -> int:
        epochs = self.app.editor.design.training.get("epochs")
        return epochs if isinstance(epochs, int) and epochs > 0 else 1

    # ----- drawing ---------------------------------------------------------------------
    def show_settings(self, *_) -> None:
        training = self.app.editor.design.training
        self.query_one("#training", ParamForm).show(
            "training", "Training", training_fields(training)
        )

    def show_progress(self) -> None:
        progress = self.query_one("#progress", Static)
        width = progress.content_size.width or None  # None: not laid out yet
        epochs = self.run_epochs if self.running else self._epochs_wanted()
        batch_size = self.session.batch_size if self.session else 1
        text = progress_text(
            self.run_status, epochs, self.latest, self.show_timing, batch_size, width
        )
        if self.session is not None and self.session.status == "nonfinite" and self.nonfinite:
            bad = self.nonfinite
            where = f"non-finite loss at epoch {bad.epoch} batch {bad.batch}"
            lines = [
                f"{self.run_status} · loss {bad.loss} · {epochs} epochs",
                f"{self.run_status} · loss {bad.loss}",
                f"{where} · loss {bad.loss}",
                where,
            ]
            text = fitted(lines, width)
        progress.update(text, layout=False)  # fixed height: no layout

    def on_resize(self) -> None:
        self.call_after_refresh(self.refit)

    def refit(self) -> None:
        """Draw again what fits its width: the progress line and the health table."""
        self.show_progress()
        self.show_health()

    def show_alert(self, text: Text | str | None) -> None:
        alert = self.query_one("#alert", Static)
        alert.display = text is not None
        alert.update(text or "")

    def show_curves(self) -> None:
        session = self.session
        if session is None:
            return
        marks = lr_marks(session.lr_changes)
        loss = loss_series(session.losses[: session.global_step], session.history)
        accuracy = accuracy_series(session.history)
        if self.previous is not None and self.compare:  # drawn first: beneath this run's
            loss, accuracy = [self.previous.loss, *loss], [self.previous.accuracy, *accuracy]
        self.query_one("#loss-plot", LinePlot).show(loss, marks)
        waiting = "after each epoch" if session.classifies else "none for this loss"
        self.query_one("#acc-plot", LinePlot).show(accuracy, empty=waiting)

    def _show_kind(self, dataset: str) -> None:
        """The decision map for toy sets, the confusion matrix and worst images for image sets,
        each in the views that hold it (train.tcss says which)."""
        self.dataset = dataset
        kind = "toy" if dataset in TOY_SETS else "images" if dataset in IMAGE_SETS else "plain"
        self.query_one("#main").set_classes([f"-view-{self.view}", f"-{kind}"])
        self.set_class(self.view != "all", "-one-panel")  # a narrow screen gives it the width

    def _show_extras(self, extras: dict) -> None:
        if "grid" in extras:
            g = extras["grid"]
            self.query_one(DecisionMap).show(g.classes, g.points, g.labels, g.extent)
        if "health" in extras and extras["health"] is not self._health_shown:
            self._health_shown = extras["health"]
            self.show_health()
        if "evaluation" in extras:
            evaluation = extras["evaluation"]
            box = self.query_one("#confusion", Static)
            # the table keeps its size from one epoch to the next: repaint, no layout
            box.update(confusion_text(evaluation.confusion), layout=not box.content)
            self.query_one(ImageStrip).show(evaluation.worst)  # fixed height: a repaint

    def show_health(self) -> None:
        """The last health sample, compact where the panel is too narrow for the full table."""
        if self._health_shown is None:
            return
        box = self.query_one("#health", Static)
        text = health_text(health_rows(self._health_shown), box.content_size.width or None)
        box.update(text, layout=False)  # a fixed size

    # ----- reports from the worker -----------------------------------------------------
    @on(Reported)
    def _reported(self, event: Reported) -> None:
        if event.session is not self.session:
            return  # the last run's final report, handled after a new run began
        report = event.report
        if event.latest is not None:
            self.latest = event.latest
        if isinstance(report, NonFiniteReport):
            self.nonfinite = report
            self.post_message(BadBatchKept(self.session.bad_batch))
            self.show_alert(
                Text.assemble(
                    ("✗ non-finite loss ", "bold red"),
                    f"({report.loss}) at epoch {report.epoch}, batch {report.batch} "
                    f"(step {report.global_step}); training stopped before that update.\n  press ",
                    ("3", "bold reverse"),
                    " to debug this batch",
                )
            )
        if report is None and event.status == "finished":
            diverged = divergence(self.session)
            if diverged is not None:
                self.show_alert(Text.assemble(("⚠ diverged: ", "bold yellow"), diverged))
        # Drawing the views (plotext, tables, images) costs more than a small epoch and
        # competes with the training thread for the interpreter: mid-run, they are drawn
        # every ui_interval seconds (the interface's share of a small MLP's run: 15% of
        # the time at 0.5 s, 8% at 1 s), the one-line progress more often; the end of a
        # run, a stop and a pause are always drawn.
        self._pending_extras.update(event.extras)
        now = time.monotonic()
        mid_run = isinstance(report, BatchReport | EpochReport) and not self.session.paused
        if mid_run and now - self._drawn_at < self.ui_interval:
            if now - self._progress_at >= self.progress_interval:
                self._progress_at = now
                self.show_progress()
            return
        self._drawn_at = self._progress_at = now
        self._show_extras(self._pending_extras)
        self._pending_extras = {}
        self.show_curves()
        self.show_progress()

    # ----- training ------------------------------------------------------------------
    def _new_session(self) -> bool:
        design = Design.from_json(self.app.editor.design.to_json())  # edits stay out of the run
        try:
            session = TrainingSession(design, self.app.state.data_dir)
        except (SessionError, DatasetError) as err:
            self.show_alert(Text.assemble(("✗ cannot train: ", "bold red"), str(err)))
            return False
        if self.monitor is not None:
            self.monitor.close()
        if self.session is not None and self.session.global_step:
            self.previous = previous_run(self.session, design)
        self.session, self.latest = session, None
        session.steps_per_second = self.pace
        self.post_message(RunStarted(session))  # the Debug screen copies its weights
        self.monitor = Monitor(session.model, every=self.health_every)
        session.step_hooks.append(self.monitor.step)
        self.tally = None
        if session.data.name in IMAGE_SETS:  # the confusion and worst images, from the
            self.tally = Tally(session.data.num_classes, every=self.ui_interval)  # session's pass
            session.val_hooks.append(self.tally.add)
        self.nonfinite = None
        self._clear_views()
        return True

    def _clear_views(self) -> None:
        """Every view shows the new run only: its fresh network's map, or nothing yet."""
        session = self.session
        self._pending_extras, self._health_shown = {}, None
        self.show_alert(None)
        self._show_kind(session.data.name)
        self.query_one("#health", Static).update("", layout=False)
        self.query_one("#confusion", Static).update("")
        self.query_one(ImageStrip).show(())
        decision = self.query_one(DecisionMap)
        if session.data.name in TOY_SETS:  # where the boundary starts from
            g = decision_grid(session.model, session.data.train, session.device)
            decision.show(g.classes, g.points, g.labels, g.extent)
        else:
            decision.clear()
        self.show_curves()
        self.show_progress()

    def _same_network(self) -> bool:
        return same_network(self.app.editor.design, self.session.design)

    def start(self) -> None:
        """Go on with the session when the design is unchanged and epochs remain, else anew."""
        session, epochs = self.session, self._epochs_wanted()
        if (
            session is None
            or session.status == "nonfinite"
            or not self._same_network()
            or session.epoch >= epochs
        ):
            if not self._new_session():
                return
        self.finished.clear()
        self.run_epochs = epochs
        self.session.will_run()
        self.train(self.session, epochs)
        self.show_progress()

    @work(thread=True, exclusive=True, group="train")
    def train(self, session: TrainingSession, epochs: int) -> str:
        """Run the session in this thread; reports go to the screen as merging messages."""
        worker = get_current_worker()
        held: dict = {}  # the extras of reports not posted yet
        posted_at, latest = -math.inf, None

        def relay(report: Report) -> None:
            # A small model ends dozens of epochs a second: routine reports are posted at
            # most every report_interval, each message carrying what the held ones had.
            nonlocal posted_at, latest
            if worker.is_cancelled:
                session.request_stop()
            held.update(self._extras(report))
            if isinstance(report, BatchReport):
                latest = report
            now = time.monotonic()
            routine = isinstance(report, BatchReport | EpochReport) and not session.paused
            if routine and now - posted_at < session.report_interval:
                return
            posted_at = now
            self.post_message(self.Reported(session, report, session.status, dict(held), latest))
            held.clear()

        try:
            with quiet_float_errors():  # a diverging run shows its NaN, not warnings on screen
                status = session.run(epochs, on_report=relay)
            held.update(self._extras(None))
            self.post_message(self.Reported(session, None, status, held, latest))
            return status
        finally:
            self.finished.set()

    def _extras(self, report: Report | None) -> dict:
        """What the views need besides the report, computed here in the training thread."""
        session, extras = self.session, {}
        if self.monitor is not None and self.monitor.reports:
            extras["health"] = self.monitor.reports[-1]
        final = report is None
        if (isinstance(report, EpochReport) or final) and self.tally is not None:
            evaluation = self.tally.take()
            if evaluation is not None:
                extras["evaluation"] = evaluation
            if not final and report.epoch == self.run_epochs - 1:
                self.tally.count_next()
        # the decision map costs a pass over the grid: no more often than it is drawn, and
        # mid-epoch too, so a slow pace or single steps show the boundary move
        now = time.monotonic()
        if session.data.name not in TOY_SETS or (
            not final and now - self._last_drawn < self.ui_interval
        ):
            return extras
        self._last_drawn = now
        extras["grid"] = decision_grid(session.model, session.data.train, session.device)
        return extras

    # ----- actions ---------------------------------------------------------------------
    def action_toggle(self) -> None:
        """Start, pause or resume."""
        if not self.running:
            self.start()
        elif self.session.paused:
            self.session.resume()
        else:
            self.session.request_pause()
        self.show_progress()

    def action_step_once(self) -> None:
        if self.session is not None and self.running and self.session.paused:
            self.session.step_once()

    def action_speed(self) -> None:
        """Cycle the pace: as fast as it goes, then 20, 5 and 1 steps per second."""
        paces = (None, 20.0, 5.0, 1.0)
        self.pace = paces[(paces.index(self.pace) + 1) % len(paces)]
        if self.session is not None:
            self.session.steps_per_second = self.pace
        self.notify(f"speed: {'max' if self.pace is None else f'{self.pace:g} steps/s'}", timeout=2)

    def action_next_view(self) -> None:
        """Show everything, or one panel filling the screen: curves, map or images, health."""
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self._show_kind(self.dataset)
        self.call_after_refresh(self.refit)  # the settings may have made room or taken it
        images = self.dataset in IMAGE_SETS
        name = VIEW_NAMES[self.view] if self.view != "map" or not images else "worst images"
        hidden = self.has_class("-slim") and self.view != "all"  # the settings, for room
        where = ", settings in all panels" if hidden else ""
        self.notify(f"view: {name} ({key_of('train.view')}: next{where})", timeout=2)

    def action_compare(self) -> None:
        """Show or hide the previous run's curves."""
        if self.previous is None:
            self.notify("no previous run yet: its curves stay when a new run starts", timeout=3)
            return
        self.compare = not self.compare
        self.show_curves()
        shown = "shown" if self.compare else "hidden"
        self.notify(f"the previous run's curves ({self.previous.loss.label}): {shown}", timeout=3)

    def action_toggle_log(self) -> None:
        self.query_one("#loss-plot", LinePlot).toggle_log()

    def action_stop(self) -> None:
        if self.running:
            self.session.request_stop()

    def action_restart(self) -> None:
        if self.running:
            self.notify("stop the run first (s)", timeout=3)
        elif self._new_session():
            self.start()

    def action_unfocus(self) -> None:
        self.set_focus(None)

    @work
    async def action_set_lr(self) -> None:
        """Ask for a learning rate: the session's from the next batch on, else the design's."""
        current = (
            self.session.lr
            if self.session
            else self.app.editor.design.training.get("optimizer", {}).get("lr", 0.001)
        )
        typed = await self.app.push_screen_wait(PromptScreen("Learning rate", f"{current:g}"))
        if typed is None:
            return
        training = self.app.editor.design.training
        key, value, error = parse_training(training, "lr", typed)
        if error:
            self.notify(f"lr {error}", severity="error")
            return
        if self.session is None:
            self.app.editor.set_training(key, value)
            return
        self.session.set_lr(value["lr"])
        self.app.editor.set_training(key, value)  # the settings panel shows it at once
        if self.latest is not None:
            self.latest = dataclasses.replace(self.latest, lr=value["lr"])
        self.show_progress()
        self.show_curves()
        self.notify(f"lr {value['lr']:g} from the next batch on", timeout=3)

    @work
    async def action_save_checkpoint(self) -> None:
        session = self.session
        if session is None or (self.running and session.status != "paused"):
            self.notify("pause or stop the run first", timeout=3)
            return
        default = f"checkpoints/{session.design.name}"
        typed = await self.app.push_screen_wait(PromptScreen("Save a checkpoint in", default))
        if typed is None:
            return
        try:
            folder = session.save_checkpoint(Path(typed).expanduser())
        except (OSError, SessionError) as err:  # SessionError: a folder of other files
            self.notify(f"not saved: {err}", severity="error")
            return
        self.post_message(CheckpointSaved(folder / "weights.npz"))
        self.notify(f"checkpoint saved in {folder}", timeout=3)

    @work
    async def action_load_checkpoint(self) -> None:
        if self.running:
            self.notify("stop the run first (s)", timeout=3)
            return
        typed = await self.app.push_screen_wait(PromptScreen("Load the checkpoint in", ""))
        if typed is None or not self._new_session():
            return
        try:
            self.session.load_checkpoint(Path(typed).expanduser())
        except SessionError as err:
            self.notify(str(err), severity="error", timeout=8)
            return
        self.post_message(CheckpointSaved(Path(typed).expanduser() / "weights.npz"))
        self._clear_views()  # the map of the loaded weights
        self.notify(f"loaded {typed}: epoch {self.session.epoch}, step {self.session.global_step}")

    # ----- the settings form ---------------------------------------------------------------
    @on(ParamForm.Changed, "#training")
    def _training_changed(self, event: ParamForm.Changed) -> None:
        training = self.app.editor.design.training
        key, value, error = parse_training(training, event.name, event.value)
        event.form.mark(event.name, error and f"{event.name} {error}")
        if error is None and training.get(key) != value:
            self.app.editor.set_training(key, value)
            if not self.running:
                self.show_progress()
