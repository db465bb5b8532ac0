"""stepgrad's terminal app: the CLI, design documents, sessions and screens."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stepgrad")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"
