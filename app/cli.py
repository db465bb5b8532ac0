"""The `stepgrad` command line: open the app, or summarise, train and export a design."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

import engine.backend
from app import __version__
from app.model import budget
from app.model.analysis import Analysis, analyse
from app.model.data import DatasetError
from app.model.design import EMBED_NAME, Design, DesignError, shown
from app.model.export import ExportError, export_file
from app.sessions import checkpoints
from app.sessions.reports import BatchReport, EpochReport
from app.sessions.setup import SessionError
from app.sessions.training import TrainingSession, divergence

COMMANDS = ("summary", "train", "export")
EXIT_PROBLEMS = 1  # summary: the design has problems; train: the loss went non-finite or diverged
EXIT_USAGE = 2  # bad input: a file, an argument, a dataset, a design that cannot train
EXIT_INTERRUPTED = 130  # stopped by Ctrl+C (after saving a checkpoint)


class CLIError(Exception):
    """Bad input, said in one message; the command exits with status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise CLIError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the `stepgrad` subcommands."""
    parser = _Parser(
        prog="stepgrad",
        description="A terminal workbench for neural networks on stepgrad's autograd engine. "
        "`stepgrad [DESIGN] [--data DIR]` opens the app (DIR: the folder of the MNIST or "
        "Fashion-MNIST files, for designs that train on them); the commands below work "
        "headless. Opening a design or an exported .py never executes it (an exported file "
        "is read for its design and weights only); `run` and `debug` execute the script you "
        "name, as python would.",
    )
    parser.add_argument("--version", action="version", version=f"stepgrad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    summary = commands.add_parser(
        "summary",
        help="print a design's layers, shapes and parameter counts",
        description="Print each layer's output shape and parameters, the totals, and every "
        "problem found. Exits 0 for a valid design, 1 when it has problems, 2 when it "
        "cannot be read.",
    )
    summary.add_argument("design", metavar="DESIGN", help="a design .json or an exported .py")
    _budget_argument(summary)

    train = commands.add_parser(
        "train",
        help="train a design headless, with a progress bar",
        description="Train a design and write a checkpoint (weights.npz, optimizer.npz, "
        "metrics.json, session.json) after each epoch. Ctrl+C stops after the current "
        "batch and saves; --resume continues exactly where it stopped.",
    )
    train.add_argument("design", metavar="DESIGN", help="a design .json or an exported .py")
    train.add_argument(
        "--epochs", type=_positive_int, help="epochs in all, counting resumed ones (default: "
        "the design's)"
    )  # fmt: skip
    train.add_argument("--data", metavar="DIR", help="folder of the MNIST/Fashion-MNIST files")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    train.add_argument(
        "--out", metavar="DIR", help="checkpoint folder (default: runs/<design name>)"
    )
    train.add_argument("--resume", metavar="DIR", help="continue the run checkpointed in DIR")
    _budget_argument(train)

    export = commands.add_parser(
        "export",
        help="write a design as runnable Python for the engine or PyTorch",
        description="Write the design as a Python file that builds the model (and loads "
        "trained weights, with --weights) for stepgrad's engine or for PyTorch.",
    )
    export.add_argument("design", metavar="DESIGN", help="a design .json or an exported .py")
    export.add_argument("--target", choices=("engine", "torch"), default="engine")
    export.add_argument("-o", "--output", metavar="FILE", required=True, help="the .py to write")
    export.add_argument("--weights", metavar="W.npz", help="trained weights (a weights.npz)")
    export.add_argument(
        "--training",
        action="store_true",
        help="write a training script instead (for torch, it runs under torchrun too)",
    )
    export.add_argument(
        "--force", action="store_true", help="replace FILE even if it is not an earlier export"
    )
    _budget_argument(export)
    commands.add_parser(
        "run",
        help="run your own PyTorch script on the engine (see 'stepgrad run --help')",
        add_help=False,
    )
    commands.add_parser(
        "debug",
        help="step through your own PyTorch script in the app (see 'stepgrad debug --help')",
        add_help=False,
    )
    return parser


RUN_USAGE = """usage: stepgrad run [--explain-nan] SCRIPT.py [ARGS ...]

Run your own PyTorch script on stepgrad's engine, as `python SCRIPT.py ARGS` would run
it on PyTorch: `import torch` (and torch.nn, torch.nn.functional, torch.optim,
torch.utils.data, torchvision.datasets and torchvision.transforms) resolves to the
engine's modules for this run only. The exit status is the script's. When the script
fails inside tensor code, stderr gets FILE:LINE: the op and the problem, the line, the
shape and dtype of each tensor it names, and your own calling frames; exit 1.

  --explain-nan  also stop at the first op that produces NaN or Inf from finite
                 inputs (forward, backward or an optimizer step), with the same kind
                 of report: the op, its inputs' statistics, the module and the
                 iteration (counted in backward() calls); exit 1.

This executes the script, as python would. Opening a design or an exported .py with
plain `stepgrad FILE` never executes anything."""


def run_command(args: list[str]) -> int:
    """`stepgrad run [--explain-nan] SCRIPT.py [ARGS...]`: the script's exit status."""
    from app.sessions.scripts import run_script

    parsed = _script_arguments("run", RUN_USAGE, args, ("--explain-nan",))
    if isinstance(parsed, int):
        return parsed
    flags, script, script_args = parsed
    return run_script(script, script_args, explain_nan="--explain-nan" in flags)


def _script_arguments(command: str, usage: str, args: list[str], flags: tuple = ()):
    """(the flags given, SCRIPT, its ARGS) of `stepgrad COMMAND [FLAGS] SCRIPT [ARGS]`, or
    the exit status when there is no script to run (--help, a usage error)."""
    if not args or args[0] in ("-h", "--help"):
        print(usage)
        return 0 if args else EXIT_USAGE
    given = set()
    while args and args[0] in flags:
        given.add(args[0])
        args = args[1:]
    if not args:
        return _fail(f"{command}: {' '.join(sorted(given))} needs a script "
                     f"(see 'stepgrad {command} --help')")  # fmt: skip
    if args[0].startswith("-"):
        return _fail(f"{command}: unknown option {args[0]!r} (see 'stepgrad {command} --help')")
    return given, args[0], args[1:]


DEBUG_USAGE = """usage: stepgrad debug SCRIPT.py [ARGS ...]

Open the Debug screen on your own PyTorch script, run on stepgrad's engine as under
`stepgrad run`. It stops at the script's first call of backward(), with that
iteration's forward graph recorded (each op with your file, line and module); then
n/o/u step (op, over a module, out of it), c continues to a breakpoint (pressed
again while the script runs, it pauses), x runs to the next backward(), s to the next
optimizer.step(), m to the next call of the selected module, l sets a FILE:LINE
breakpoint, ! runs to the first NaN/Inf, e to an exception; < and > move between
iterations, f shows the script's frames and their tensors, p its output. 1 shows the
model read-only. q stops the script and quits.

This executes the script, as python would. Opening a design or an exported .py with
plain `stepgrad FILE` never executes anything."""


def debug_command(args: list[str]) -> int:
    """`stepgrad debug SCRIPT.py [ARGS...]`: the app over the script's run."""
    parsed = _script_arguments("debug", DEBUG_USAGE, args)
    if isinstance(parsed, int):
        return parsed
    _, script, script_args = parsed
    if not Path(script).is_file():
        return _fail(f"debug: {script}: no such file")
    from app.tui.script.app import ScriptApp  # the app's imports stay off the headless commands

    app = ScriptApp(script, script_args)
    status = app.run()
    report = app.session.report if app.session is not None else None
    if report is not None:  # what the screen showed stays in the terminal
        print(report.text(), file=sys.stderr)
    return status if isinstance(status, int) else 0


def _budget_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--memory-budget",
        metavar="SIZE",
        type=_budget_size,
        help="the memory one training step may need, estimated from the layers' sizes, "
        f"e.g. 512M or 16G (default {budget.size_text(budget.DEFAULT_BUDGET)})",
    )


def _budget_size(text: str) -> int:
    try:
        return budget.parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `stepgrad` command; returns the process exit status."""
    engine.backend.tune()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "run":
        return run_command(args_list[1:])
    if args_list and args_list[0] == "debug":
        return debug_command(args_list[1:])
    try:
        if not any(arg in COMMANDS or arg in ("-h", "--help", "--version") for arg in args_list):
            return open_app(*_app_arguments(args_list))
        args = build_parser().parse_args(args_list)
        if args.command is None:
            return open_app(None)
        if args.memory_budget is not None:
            budget.set_budget(args.memory_budget)
        run = {"summary": summary, "train": train, "export": export}[args.command]
        return run(args, Console(highlight=False))
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except (CLIError, DesignError, DatasetError, SessionError) as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"{err.filename or ''}: {err.strerror or err}".lstrip(": "))
    except KeyboardInterrupt:
        print("stepgrad: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def open_app(design_path: str | None, data_dir: Path | None = None) -> int:
    """Open the terminal app on a design (default: a copy of the mlp_digits sample)."""
    from app.model.editor import DesignEditor  # the app's imports stay off the headless commands
    from app.tui.app import StepgradApp

    editor = DesignEditor.open(design_path) if design_path is not None else None
    StepgradApp(editor, data_dir=data_dir).run()
    return 0


def _app_arguments(args_list: list[str]) -> tuple[str | None, Path | None]:
    """DESIGN and --data DIR of `stepgrad [DESIGN] [--data DIR]`; a missing folder is an error."""
    parser = _Parser(prog="stepgrad", add_help=False)
    parser.add_argument("design", nargs="?")
    parser.add_argument("--data", metavar="DIR")
    _budget_argument(parser)
    args = parser.parse_args(args_list)
    if args.memory_budget is not None:
        budget.set_budget(args.memory_budget)
    data = Path(args.data).expanduser() if args.data else None
    if data is not None and not data.is_dir():
        raise CLIError(f"--data {args.data}: no such folder")
    return args.design, data


def _fail(message: str) -> int:
    print(f"stepgrad: {message}", file=sys.stderr)
    return EXIT_USAGE


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# ----- summary ---------------------------------------------------------------
def summary(args: argparse.Namespace, console: Console) -> int:
    """Print the layer table, the totals and every problem of a design."""
    design = Design.load(args.design)
    analysis = analyse(design)
    console.print(summary_table(design, analysis))
    print(
        f"Input shape: {_shape(design.input_shape)}  output shape: {_shape(analysis.output_shape)}"
    )
    total = (
        f"{analysis.total_params:,}" if analysis.all_counted else "? (an error leaves some unknown)"
    )
    print(f"Total parameters: {total}")
    print(f"Activation memory per sample: {_size(analysis.activation_bytes)} (float32)")
    for warning in analysis.warnings:  # it builds and runs: the status stays 0
        print(f"warning: {warning}")
    if not analysis.problems:
        return 0
    print(f"{len(analysis.problems)} problem{'s' if len(analysis.problems) > 1 else ''}:")
    for problem in analysis.problems:
        print(f"  {problem}")
    return EXIT_PROBLEMS


def summary_table(design: Design, analysis: Analysis) -> Table:
    """One row a layer: position and name (children indented), type, output shape, params."""
    table = Table(title=design.name, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Layer")
    table.add_column("Type")
    table.add_column("Output shape")
    table.add_column("Params", justify="right")
    for info in analysis.layers:
        position = ".".join(str(i + 1) for i in info.path)
        label = (
            "  " * (len(info.path) - 1)
            + position
            + (f" {_printable(info.node.name)}" if info.node.name else "")
        )
        shape = "error" if info.problem else _shape(info.output_shape)
        params = "--" if info.node.layers is not None else f"{info.params:,}"
        if not info.counted and info.node.layers is None:  # after an error: not known
            params = "?"
        table.add_row(Text(label), Text(info.node.type), Text(shape), Text(params))
    return table


def _printable(name: str) -> str:
    return name if name.isprintable() else shown(name)


def _shape(shape: tuple | None) -> str:
    if shape is None:
        return "?"
    return f"({shape[0]},)" if len(shape) == 1 else str(tuple(shape))


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


# ----- train -----------------------------------------------------------------
def train(args: argparse.Namespace, console: Console) -> int:
    """Train headless, save a checkpoint each epoch and on stop, print how to resume."""
    design = _valid_design(args.design)
    if args.resume:
        session = TrainingSession.resume_from(args.resume, design, args.data, args.device)
    else:
        session = TrainingSession(design, args.data, args.device)
    out = Path(args.out or args.resume or Path("runs") / _slug(design.name))
    epochs = args.epochs or session.epochs
    if session.epoch >= epochs:
        print(f"{design.name}: {session.epoch} epochs already done; pass --epochs to train more")
        return 0
    checkpoints.check_target(out)
    data = session.data
    start = "resuming" if args.resume else "training"
    print(
        f"{start} {design.name} on {data.name} ({len(data.train):,} train, {len(data.val):,} "
        f"validation samples), epoch {session.epoch + 1} of {epochs}, {args.device}"
    )
    status = _train_with_progress(session, epochs, out, console)
    session.save_checkpoint(out)
    resume = f"stepgrad train {args.design} --resume {out}"
    if status == "stopped":
        print(
            f"stopped at epoch {session.epoch + 1}, batch {session.batch} (step "
            f"{session.global_step}); checkpoint in {out}\nresume with: {resume}"
        )
        return EXIT_INTERRUPTED
    if status == "nonfinite":
        bad = session.bad_batch
        print(
            f"stepgrad: the loss became {bad.loss} at epoch {bad.epoch + 1}, batch {bad.batch + 1} "
            f"(step {bad.global_step + 1}); training stopped before that update. Lower the "
            f"learning rate, or step through that batch in the app's debugger. The weights "
            f"before it are in {out}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    print(f"finished {session.epoch} epochs; checkpoint in {out}")
    diverged = divergence(session)
    if diverged is not None:
        print(f"stepgrad: {diverged}", file=sys.stderr)
        return EXIT_PROBLEMS
    return 0


def _train_with_progress(session: TrainingSession, epochs: int, out: Path, console) -> str:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}  {task.fields[rate]}  eta {task.fields[eta]}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # logs and pipes get the epoch lines only
    )

    def on_report(report) -> None:
        if isinstance(report, BatchReport):
            progress.update(
                task,
                description=f"epoch {report.epoch}/{epochs}",
                total=report.batches,
                completed=report.batch,
                loss=f"{report.smooth_loss:.4f}",
                rate=f"{report.samples_per_s:,.0f} samples/s",
                eta=f"{report.eta_s:.0f}s",
            )
        elif isinstance(report, EpochReport):
            progress.console.print(epoch_line(report, epochs), highlight=False, markup=False)
            session.save_checkpoint(out)
            progress.reset(task, description=f"epoch {report.epoch + 1}/{epochs}")

    with progress, _stop_on_interrupt(session, progress.console):
        task = progress.add_task(f"epoch {session.epoch + 1}/{epochs}", loss="-", rate="", eta="-")
        return session.run(epochs, on_report)


def epoch_line(report: EpochReport, epochs: int) -> str:
    """The line printed after an epoch: losses, accuracies and time."""

    def part(name: str, loss: float, acc: float | None) -> str:
        return f"{name} loss {loss:.4f}" + ("" if acc is None else f" acc {acc:.1%}")

    train_part = part("train", report.train_loss, report.train_acc)
    val_part = part("val", report.val_loss, report.val_acc)
    return f"epoch {report.epoch}/{epochs}  {train_part}  {val_part}  {report.seconds:.1f}s"


@contextmanager
def _stop_on_interrupt(session: TrainingSession, console: Console) -> Iterator[None]:
    """Ctrl+C asks the session to stop after its batch; a second Ctrl+C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked = False

    def handler(signum, frame):
        nonlocal asked
        if asked:
            raise KeyboardInterrupt
        asked = True
        session.request_stop()
        console.print("stopping after this batch (Ctrl+C again to quit without saving)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _valid_design(path: str) -> Design:
    """The design at `path`, or a CLIError listing its problems."""
    design = Design.load(path)
    problems = analyse(design).problems
    if problems:
        listed = "\n  ".join(str(p) for p in problems)
        raise CLIError(f"{path}: the design has problems (see stepgrad summary):\n  {listed}")
    return design


def _slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "untitled"


# ----- export ----------------------------------------------------------------
def export(args: argparse.Namespace, console: Console) -> int:
    """Write the design as Python for the engine or PyTorch."""
    design = _valid_design(args.design)
    _check_export_target(Path(args.design), Path(args.output), args.force)
    try:
        if args.training:
            from app.model.export_training import (
                export_training_file,
                how_to_run,
                training_files,
            )

            export_training_file(design, args.output, args.target)
        else:
            export_file(design, args.output, args.target, weights=args.weights)
    except ExportError as err:
        raise CLIError(str(err)) from None
    if not args.training:
        console.print(f"wrote {args.output} ({args.target})", markup=False)
        return 0
    script, *beside = training_files(design, args.output)
    console.print(
        f"wrote {script} ({args.target} training script), with "
        + " and ".join(p.name for p in beside)
        + " beside it; run it with:",
        markup=False,
        soft_wrap=True,
    )
    for line in how_to_run(design, args.output, args.target):
        console.print(f"  {line}", markup=False, soft_wrap=True)
    return 0


def _check_export_target(design: Path, output: Path, force: bool) -> None:
    """Refuse to replace the design itself, or a file that is not an earlier export."""
    if force or not output.is_file():
        return  # a missing file is made; a folder or device is refused by the writer
    if output.resolve() == design.resolve():
        raise CLIError(f"{output}: that is the design being exported; nothing was written")
    with open(output, "rb") as f:
        head = f.read(1 << 16)
    if f"{EMBED_NAME} = ".encode() not in head:
        raise CLIError(
            f"{output} exists and is not a file stepgrad exported; nothing was written "
            "(--force replaces it)"
        )
