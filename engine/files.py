"""Reading files within bounds (kind, size, JSON depth); writing them whole or not at all."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np


class NotARegularFileError(OSError):
    """The path is a folder, device, FIFO or socket: nothing is read from it or written to it."""

    def __str__(self) -> str:  # "PATH: a folder; ...", without OSError's "[Errno 0]"
        return f"{self.filename}: {self.strerror}"


class FileTooLargeError(OSError):
    """The file is larger than the reader allows: nothing of it was read."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def open_regular(path: str | os.PathLike, max_bytes: int | None = None) -> BinaryIO:
    """`path` opened for binary reading, once it is known to be a regular file of sane size.

    Folders, FIFOs, devices and sockets raise NotARegularFileError without blocking
    (a FIFO is opened non-blocking, so no writer is waited for); a file over
    `max_bytes` raises FileTooLargeError naming both sizes. Other errors are the
    usual OSErrors (FileNotFoundError, PermissionError) naming `path`.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise NotARegularFileError(0, f"{kind}; nothing was read", os.fspath(path))
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileTooLargeError(
                0,
                f"{_bytes(info.st_size)}, more than the {_bytes(max_bytes)} this reader takes; "
                "nothing was read",
                os.fspath(path),
            )
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def parse_json(text: str, max_depth: int = 100):
    """`json.loads(text)`, once its nesting is known to be at most `max_depth` levels.

    Deeper documents raise ValueError before parsing, where the parser would raise
    RecursionError. Other errors are json's (JSONDecodeError, a ValueError).
    """
    depth = _nesting(text)
    if depth > max_depth:
        raise ValueError(f"JSON nested {depth} levels deep, more than the {max_depth} allowed")
    return json.loads(text)


def read_json(path: str | os.PathLike, max_bytes: int, max_depth: int = 100):
    """The JSON document in the file at `path`, read through `open_regular` and `parse_json`.

    Raises OSError (missing, not a regular file, over `max_bytes`) or ValueError
    (not UTF-8, not JSON, nested too deep).
    """
    with open_regular(path, max_bytes) as f:
        data = f.read(max_bytes + 1)  # bounded even if the file grew after the size check
    if len(data) > max_bytes:
        raise FileTooLargeError(0, f"more than the {_bytes(max_bytes)} this reader takes", path)
    return parse_json(data.decode("utf-8"), max_depth)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _nesting(text: str) -> int:
    """How deep brackets and braces nest in JSON text, outside strings."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def _bytes(n: int) -> str:
    """A byte count for people: 812 bytes, 3.1 MB, 2.0 GB."""
    if n < 1000:
        return f"{n} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def write_atomic(
    path: str | os.PathLike,
    data: bytes | str | Callable[[BinaryIO], None],
    sync: bool = True,
) -> Path:
    """Replace the file at `path` with `data` (bytes, text as UTF-8, or a writer of a binary file).

    The new content goes to a temporary file in the same folder, reaches the disk, and
    only then takes the file's place, so a crash leaves the old file or the new one.
    A symbolic link is followed (its target is written, the link stays); an existing
    file keeps its permission bits; a new one gets the usual ones (0666 less the umask).
    With `sync=False` the content is not forced to the disk before the rename: it still
    survives the process being killed, not a power cut (for autosaves made at every
    edit). Returns the file written. Errors name `path`, never the temporary file.
    """
    target = Path(os.path.realpath(path))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        kind = "a folder" if stat.S_ISDIR(existing.st_mode) else "not a regular file"
        raise NotARegularFileError(0, f"{kind}; nothing was written", os.fspath(path))
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_umask()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise _naming(err, path) from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            if callable(data):
                data(out)
            else:
                out.write(data.encode("utf-8") if isinstance(data, str) else data)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(tmp, target)
    except OSError as err:
        raise _naming(err, path) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def _naming(err: OSError, path) -> OSError:
    """The same error, naming the path asked for instead of the temporary file."""
    if err.errno is None:
        return err
    return type(err)(err.errno, err.strerror, os.fspath(path))


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else the common 0o022."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
