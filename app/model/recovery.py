"""Autosaves that outlive a crash: one file per running instance, offered once its owner is gone."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from app.model.design import Design, DesignError
from engine.files import write_atomic

try:
    import fcntl
except ImportError:  # not POSIX: ownership falls back to whether the process id is alive
    fcntl = None

FORMAT = "stepgrad.recovery"
VERSION = 1


def recovery_dir() -> Path:
    """Where autosaves live: `$XDG_STATE_HOME/stepgrad/recovery` (~/.local/state by default)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "stepgrad" / "recovery"


def key_for(source: Path | None) -> str:
    """The name autosaves of one design file share; designs never saved share 'unsaved'."""
    if source is None:
        return "unsaved"
    return hashlib.sha1(str(Path(source).resolve()).encode()).hexdigest()[:16]


class _Lock:
    """An exclusive lock on a file, held until released or the process ends (even by kill -9)."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def take(cls, path: Path) -> _Lock | None:
        """The lock, or None while another instance holds it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return None
        return cls(path, fd)

    def release(self, remove: bool) -> None:
        if self.fd < 0:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = -1


class Autosave:
    """This instance's autosave of the open design; its lock says the instance is alive."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else recovery_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lock = _Lock.take(self.folder / f"{self.token}.lock")
        self.path: Path | None = None  # the file last written, if it still exists

    def write(self, design_json: str, source: Path | None) -> None:
        """Keep `design_json` (the design opened from `source`) until `discard`."""
        target = self.folder / f"{key_for(source)}.{self.token}.json"
        payload = {
            "format": FORMAT,
            "version": VERSION,
            "source": str(Path(source).resolve()) if source is not None else None,
            "design": json.loads(design_json),
        }
        write_atomic(target, json.dumps(payload) + "\n", sync=False)  # at every edit
        if self.path is not None and self.path != target:
            self.path.unlink(missing_ok=True)  # the design was saved under another name
        self.path = target

    def discard(self) -> None:
        """The changes are saved or given up: nothing is left to recover."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    def close(self) -> None:
        """This instance is done with it. An autosave still there stays, to be offered."""
        if self._lock is not None:
            self._lock.release(remove=True)


@dataclass
class Orphan:
    """An autosave whose instance has stopped without saving or discarding it."""

    path: Path
    _lock: _Lock

    def load(self) -> tuple[Design, Path | None]:
        """The design it holds and the file it came from; DesignError if unreadable."""
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(payload, dict) or payload.get("format") != FORMAT:
                raise ValueError("not a stepgrad autosave")
            design = Design.from_dict(payload["design"])
            source = payload.get("source")
            return design, Path(source) if isinstance(source, str) else None
        except DesignError:
            raise
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            raise DesignError(f"{self.path}: cannot be read ({err})") from None

    def discard(self) -> None:
        """Delete it: it was recovered or given up."""
        self.path.unlink(missing_ok=True)
        self._lock.release(remove=True)

    def set_aside(self) -> Path:
        """Keep an unreadable autosave under another name, never offered again."""
        kept = self.path.with_suffix(".unreadable")
        os.replace(self.path, kept)
        self._lock.release(remove=True)
        return kept

    def release(self) -> None:
        """Leave it for a later start to offer again."""
        self._lock.release(remove=False)


def orphans(source: Path | None, folder: Path | None = None) -> list[Orphan]:
    """The autosaves of the design at `source` whose instances are gone, newest first.

    Each one comes locked, so two instances starting at once never both offer it.
    """
    folder = folder or recovery_dir()
    if not folder.is_dir():
        return []
    _sweep_locks(folder)
    found = []
    for path in folder.glob(f"{key_for(source)}.*.json"):
        token = path.name.split(".")[1]
        lock = _Lock.take(folder / f"{token}.lock")
        if lock is None:
            continue  # its instance is still running
        if fcntl is None and _pid_alive(token):
            lock.release(remove=False)
            continue
        found.append((path.stat().st_mtime, Orphan(path, lock)))
    return [orphan for _, orphan in sorted(found, key=lambda f: f[0], reverse=True)]


STALE_LOCK_S = 60  # a lock file this old, free, with no autosave, belongs to no one


def _sweep_locks(folder: Path) -> None:
    """Remove the lock files of instances that ended without an autosave to offer.

    An instance ended by a signal other than SIGKILL (a closed terminal's SIGHUP) leaves
    its lock file; once its lock is free it is removed here. A lock file younger than
    STALE_LOCK_S is left alone: its instance may be starting, between making the file
    and locking it.
    """
    now = time.time()
    for path in folder.glob("*.lock"):
        token = path.name[: -len(".lock")]
        try:
            if now - path.stat().st_mtime < STALE_LOCK_S or any(folder.glob(f"*.{token}.json")):
                continue
        except OSError:
            continue
        lock = _Lock.take(path)
        if lock is not None and (fcntl is not None or not _pid_alive(token)):
            lock.release(remove=True)
        elif lock is not None:
            lock.release(remove=False)


def _pid_alive(token: str) -> bool:
    try:
        os.kill(int(token.split("-")[0]), 0)
    except (ValueError, OSError):
        return False
    return True
