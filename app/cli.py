"""The `stepgrad` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from app import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `stepgrad`."""
    parser = argparse.ArgumentParser(
        prog="stepgrad",
        description="A terminal workbench for neural networks on stepgrad's autograd engine.",
    )
    parser.add_argument("--version", action="version", version=f"stepgrad {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `stepgrad` command; returns the process exit status."""
    build_parser().parse_args(argv)
    print(f"stepgrad {__version__}")
    print(
        "The terminal app arrives in a later release; the engine is usable now: "
        "`import engine as torch`."
    )
    return 0
