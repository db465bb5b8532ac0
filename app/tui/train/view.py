"""What the Train screen shows, as plain data: progress, plot lines, grids, health. No Textual."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
from rich.text import Text

import engine
from app.model.design import Design
from app.sessions.reports import BatchReport
from app.sessions.training import SMOOTHING
from engine.debug.monitor import HealthReport
from widgets.plots import Mark, Series

TOY_GRID = (64, 48)  # columns and rows of the decision map's grid of predictions
# At most this many points a line: a plot is 40-80 columns of two dots, and plotext
# takes 15 ms to draw two lines of 150 points, 37 ms for 600.
PLOT_POINTS = 160


def duration_text(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def progress_text(
    status: str,
    epochs: int,
    report: BatchReport | None,
    timing: bool,
    batch_size: int = 1,
    width: int | None = None,
) -> str:
    """The progress line: status, epoch, batch, step, loss, lr; speed and ETA when `timing`.

    A paused run shows neither: single steps apart say nothing of the speed. A run that
    has ended shows the speed it had, and no ETA. Within `width` columns when given:
    the step goes first, then the word "batch", the speed, the lr and the ETA.
    """
    if report is None:
        lines = [f"{status} · {epochs} epochs · press space to start", f"{status} · space: start"]
        return fitted(lines, width)
    batch = f"{report.batch}/{report.batches}"
    head = [status, f"epoch {report.epoch}/{epochs}"]
    tail = [f"loss {report.smooth_loss:.4g}", f"lr {report.lr:.3g}"]
    speed, eta = [], []
    left = report.batches - report.batch + (epochs - report.epoch) * report.batches
    if not timing:
        speed = ["—/s"]
    elif report.samples_per_s > 0 and status != "paused":
        speed = [f"{report.samples_per_s:,.0f}/s"]
        if status == "running":
            eta = [f"ETA {duration_text(left * batch_size / report.samples_per_s)}"]
    loss = tail[:1]  # the lr alone: the settings beside the line show it too
    lines = [
        [*head, f"batch {batch}", f"step {report.global_step}", *tail, *speed, *eta],
        [*head, f"batch {batch}", *tail, *speed, *eta],
        [*head, batch, *tail, *speed, *eta],
        [*head, batch, *tail, *eta],
        [*head, batch, *loss, *eta],
        [*head, batch, *loss],
    ]
    return fitted([" · ".join(parts) for parts in lines], width)


def fitted(lines: list[str], width: int | None) -> str:
    """The first of `lines` (longest first) within `width` columns; the shortest if none is."""
    return next((line for line in lines if width is None or len(line) <= width), lines[-1])


def smoothed(losses: list[float], weight: float = SMOOTHING) -> list[float]:
    """The running average of `losses` the session reports, debiased at the start."""
    out, average = [], 0.0
    for count, loss in enumerate(losses, 1):
        average = weight * average + (1 - weight) * loss
        out.append(average / (1 - weight**count))
    return out


def thinned(xs: list, ys: list, limit: int = PLOT_POINTS) -> tuple[tuple, tuple]:
    """At most `limit` evenly spread points of a line, always keeping the last."""
    if len(xs) <= limit:
        return tuple(xs), tuple(ys)
    keep = np.unique(np.linspace(0, len(xs) - 1, limit).round().astype(int))
    return tuple(xs[i] for i in keep), tuple(ys[i] for i in keep)


def loss_series(losses: list[float], history: list[dict]) -> list[Series]:
    """The training loss per step (smoothed) and the validation loss at each epoch's end."""
    finite = [v if math.isfinite(v) else math.nan for v in losses]
    train = thinned(list(range(1, len(finite) + 1)), smoothed(finite))
    val = thinned([h["global_step"] for h in history], [h["val_loss"] for h in history])
    return [
        Series("train (smoothed)", *train, color="cyan"),
        Series("val", *val, "orange", "dot"),
    ]


def lr_marks(lr_changes: list[dict]) -> list[Mark]:
    """One mark per step where the lr changed, labelled with the rate it ended at there."""
    last = {change["step"]: change["lr"] for change in lr_changes}
    return [Mark(step, f"lr {lr:.3g}") for step, lr in last.items()]


def accuracy_series(history: list[dict]) -> list[Series]:
    """Train and validation accuracy per epoch; empty for regression."""
    rows = [h for h in history if h["train_acc"] is not None]
    epochs = [h["epoch"] for h in rows]
    return [
        Series("train", *thinned(epochs, [h["train_acc"] for h in rows]), "cyan", "dot"),
        Series("val", *thinned(epochs, [h["val_acc"] for h in rows]), "orange", "dot"),
    ]


# ----- the previous run, drawn faintly beside the current one ------------------------------
PREVIOUS_COLOR = "gray"
DIFFERENCES_NAMED = 2  # settings a legend names before "…"


@dataclass(frozen=True)
class PreviousRun:
    """The curves of the run before the current one, labelled with what it did differently."""

    loss: Series  # the smoothed training loss per step
    accuracy: Series  # the validation accuracy per epoch (no points for regression)


def previous_run(session, design: Design) -> PreviousRun:
    """The curves `session` drew, named for how its design differs from `design`."""
    named = run_difference(session.design, design)
    # short: plotext leaves out a legend wider than its plot (at 80 columns, 22 wide)
    label = f"prev: {named}" if named else "previous run"
    train = loss_series(session.losses[: session.global_step], session.history)[0]
    val = accuracy_series(session.history)[1]
    return PreviousRun(
        replace(train, label=label, color=PREVIOUS_COLOR),
        replace(val, label=label, color=PREVIOUS_COLOR, marker="braille"),  # finer than •
    )


def run_difference(old: Design, new: Design) -> str:
    """The settings `old` trained with that `new` does not, in a few words: "lr 0.1",
    "SGD, batch_size 64", "other layers"; "" when only the epochs differ."""
    before, after = _settings(old.training), _settings(new.training)
    words = [word for name, word in before.items() if after.get(name) != word]
    words += [f"no {name}" for name in after if name not in before]
    if (old.to_dict()["layers"], old.input_shape) != (new.to_dict()["layers"], new.input_shape):
        words.append("other layers")
    if len(words) > DIFFERENCES_NAMED:
        words = [*words[:DIFFERENCES_NAMED], "…"]
    return ", ".join(words)


def _settings(training: dict) -> dict[str, str]:
    """Each training setting but the epochs, as a word to show: "batch_size 32"; an
    optimizer or schedule by its type ("Adam") and its arguments ("lr 0.01")."""
    words = {}
    for key, value in training.items():
        if key == "epochs":
            continue
        if not isinstance(value, dict):
            words[key] = f"{key} {_shown(value)}"
            continue
        for arg, v in value.items():
            words[key if arg == "type" else f"{key}.{arg}"] = (
                str(v) if arg == "type" else f"{arg} {_shown(v)}"
            )
    return words


def _shown(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# ----- the decision map of 2-D toy sets --------------------------------------------
@dataclass
class DecisionGrid:
    """The predicted class over a grid (row 0 at the top) and the points drawn on it."""

    classes: np.ndarray  # (rows, columns) ints
    points: np.ndarray  # (n, 2) floats
    labels: np.ndarray  # (n,) ints
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1


def decision_grid(model, dataset, device: str = "cpu", size=TOY_GRID) -> DecisionGrid:
    """The model's predicted class over the dataset's extent; runs the model in eval mode."""
    x, y = dataset.tensors
    points, labels = x.numpy(), y.numpy()
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) * 0.05 + 1e-6
    x0, y0 = low - pad
    x1, y1 = high + pad
    columns, rows = size
    gx, gy = np.meshgrid(np.linspace(x0, x1, columns), np.linspace(y1, y0, rows))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    was_training = model.training
    model.eval()
    try:
        with engine.no_grad():
            out = model(engine.tensor(grid).to(device)).cpu().numpy()
    finally:
        model.train(was_training)
    predicted = out.argmax(axis=1) if out.ndim == 2 and out.shape[1] > 1 else out.ravel() > 0
    classes = predicted.astype(int).reshape(rows, columns)
    return DecisionGrid(classes, points, labels.astype(int), (x0, x1, y0, y1))


# ----- layer health ----------------------------------------------------------------------
@dataclass(frozen=True)
class HealthRow:
    """One layer's line in the health table; `warning` says what looks wrong, or ""."""

    layer: str
    dead: str
    act_std: str
    update_ratio: str
    warning: str


def health_rows(report: HealthReport) -> list[HealthRow]:
    """One row per layer: dead-ReLU fraction, activation std and its weight's update ratio."""
    ratios: dict[str, float] = {}
    for p in report.params:
        if p.update_ratio is not None and p.name.endswith("weight"):
            ratios[p.name.rsplit(".", 1)[0]] = p.update_ratio
    rows = []
    for layer in report.layers:
        ratio = ratios.get(layer.name)
        warnings = []
        if layer.dead_fraction is not None and layer.dead_fraction >= 0.5:
            warnings.append("dead ReLUs")
        if math.isfinite(layer.act_std) and layer.act_std < 1e-3:
            warnings.append("vanishing")
        if not math.isfinite(layer.act_std) or layer.act_std > 1e3:
            warnings.append("exploding")
        if ratio is not None and (ratio > 0.1 or not math.isfinite(ratio)):
            warnings.append("lr too high?")
        elif ratio is not None and ratio < 1e-5:
            warnings.append("lr too low?")
        rows.append(
            HealthRow(
                f"{layer.name} {layer.kind}",
                "" if layer.dead_fraction is None else f"{layer.dead_fraction:.0%}",
                f"{layer.act_std:.3g}",
                "" if ratio is None else f"{ratio:.1e}",
                ", ".join(warnings),
            )
        )
    return rows


HEALTH_COLUMNS = ("layer", "dead", "act std", "upd/w")
HEALTH_COMPACT = ("layer", "dead", "std", "upd/w")  # and each layer by its name alone


def health_text(rows: list[HealthRow], width: int | None = None) -> Text:
    """The health table as lines of aligned columns, a warning badge where one applies;
    compact (short headers, layers without their type) when wider than `width`.

    Plain lines, not a table widget: redrawn a few times a second while training, a
    DataTable's rows and a Rich table's measuring cost more than the drawing.
    """
    full = _health_lines(HEALTH_COLUMNS, rows, [r.layer for r in rows])
    if width is None or max(map(len, full.plain.splitlines())) <= width:
        return full
    return _health_lines(HEALTH_COMPACT, rows, [r.layer.split(" ")[0] for r in rows])


def _health_lines(columns: tuple[str, ...], rows: list[HealthRow], names: list[str]) -> Text:
    lines = [
        columns,
        *[(n, r.dead, r.act_std, r.update_ratio) for n, r in zip(names, rows, strict=True)],
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]

    def aligned(line: tuple) -> str:  # the layer's name to the left, numbers to the right
        cells = zip(line, widths, strict=True)
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells))

    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(aligned(columns), style="bold dim")
    for row, line in zip(rows, lines[1:], strict=True):
        text.append("\n" + aligned(line))
        if row.warning:
            text.append(f"  ⚠ {row.warning}", style="bold yellow")
    return text


def confusion_text(matrix) -> Text:
    """Rows are true classes, columns predicted: the diagonal in green, errors in red."""
    width = max(3, len(str(int(matrix.max()))) if matrix.size else 1) + 1
    text = Text("confusion (val)\n", style="bold", no_wrap=True)
    text.append("  " + "".join(str(c).rjust(width) for c in range(len(matrix))), style="dim")
    for r, row in enumerate(matrix):
        text.append(f"\n{r:>2}", style="dim")
        for c, n in enumerate(row):
            style = "bold green" if r == c else ("red" if n else "dim")
            text.append(str(int(n)).rjust(width), style=style)
    return text


# ----- one evaluation pass: the confusion matrix and the worst-classified images ------
WORST_KEPT = 12  # examples an evaluation keeps: more than a wide strip shows


@dataclass(frozen=True)
class Example:
    """One validation image, its true and predicted class and the probabilities of both."""

    image: np.ndarray  # 2-D floats, a host copy
    label: int
    predicted: int
    p_true: float
    p_pred: float
    index: int  # its position in the loader's order

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


@dataclass
class Evaluation:
    """Counts of (true class, predicted class) and the worst-classified examples, worst first."""

    confusion: np.ndarray
    worst: list[Example]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Class probabilities from rows of logits; shifting by the row's max keeps exp finite.

    Log-probabilities (a model ending in LogSoftmax, trained with NLLLoss) give back the
    same probabilities, since softmax(log p) = p.
    """
    scores = np.asarray(scores, dtype=np.float64)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    # a diverged model's NaN or infinite scores read as no confidence at all
    return np.nan_to_num(shifted / shifted.sum(axis=1, keepdims=True), nan=0.0)


class Tally:
    """An Evaluation built batch by batch from a model's outputs: the confusion matrix and
    the `keep` worst-classified examples.

    Outputs are read as logits (or log-probabilities: see `softmax`). Worst means
    misclassified, lowest probability of the true class first; when fewer than `keep`
    are wrong, the least confident right ones follow. The matrix is square over
    `classes`, or over the outputs when the model gives more scores than classes.

    A pass (the batches between two takes) is counted only when `every` seconds have
    gone since the last one counted: a small model's epochs come faster than they can
    be drawn, and counting costs a tenth of such an epoch.
    """

    def __init__(self, classes: int, keep: int = WORST_KEPT, every: float = 0.0) -> None:
        self.classes, self.keep, self.every = classes, keep, every
        self._taken_at = -math.inf
        self._deciding, self._counting = True, True  # whether this pass is counted
        self.reset()

    def reset(self) -> None:
        self.matrix = np.zeros((self.classes, self.classes), dtype=np.int64)
        self.worst: list[Example] = []
        self.seen = 0

    def add(self, x, y, out) -> None:
        """One batch: inputs, labels and the model's outputs (tensors, on any device)."""
        if self._deciding:  # the pass's first batch
            self._deciding = False
            self._counting = time.monotonic() - self._taken_at >= self.every
        if not self._counting:
            return
        scores = out.cpu().numpy()
        labels, predicted = y.cpu().numpy().astype(int), scores.argmax(axis=1)
        if scores.shape[1] > len(self.matrix):
            grow = scores.shape[1] - len(self.matrix)
            self.matrix = np.pad(self.matrix, ((0, grow), (0, grow)))
        np.add.at(self.matrix, (labels, predicted), 1)
        images = x.cpu().numpy()
        self.worst = _worst(
            self.worst, images, labels, predicted, softmax(scores), self.seen, self.keep
        )
        self.seen += len(labels)

    def count_next(self) -> None:
        """Count the next pass however soon it comes: the one a run ends with is always
        shown, so a finished run shows the same whatever the timing."""
        self._taken_at = -math.inf

    def take(self) -> Evaluation | None:
        """What the pass since the last take adds up to; None if it was not counted."""
        self._deciding = True
        if not self.seen:
            return None
        evaluation = Evaluation(self.matrix, self.worst)
        self._taken_at = time.monotonic()
        self.reset()
        return evaluation


def evaluate_classifier(
    model, loader, classes: int, device: str = "cpu", keep: int = WORST_KEPT
) -> Evaluation:
    """A Tally of `model` over `loader`, in eval mode (the model's mode is put back)."""
    tally = Tally(classes, keep)
    was_training = model.training
    model.eval()
    try:
        with engine.no_grad():
            for x, y in loader:
                tally.add(x, y, model(x.to(device)))
    finally:
        model.train(was_training)
    return tally.take() or Evaluation(tally.matrix, [])


def _worst(kept, images, labels, predicted, probabilities, offset: int, keep: int) -> list:
    """The `keep` worst of the examples kept so far and this batch's."""
    rows = np.arange(len(labels))
    p_true, p_pred = probabilities[rows, labels], probabilities[rows, predicted]
    order = np.lexsort((p_true, labels == predicted))[:keep]  # wrong first, then unsure
    batch = [
        Example(
            _as_image(images[i]),
            int(labels[i]),
            int(predicted[i]),
            float(p_true[i]),
            float(p_pred[i]),
            offset + int(i),
        )
        for i in order
    ]
    return sorted(kept + batch, key=lambda e: (e.correct, e.p_true, e.index))[:keep]


def _as_image(sample: np.ndarray) -> np.ndarray:
    """A (channels, height, width) sample as one grey 2-D image: the channels' mean."""
    sample = np.asarray(sample, dtype=np.float32)
    return sample.mean(axis=0) if sample.ndim == 3 else sample.copy()
