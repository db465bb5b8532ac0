"""A training session's checkpoint folder: weights, optimizer, metrics, design and position."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import engine
from app.sessions.setup import SessionError
from engine.files import write_atomic

if TYPE_CHECKING:
    from app.sessions.training import TrainingSession

CHECKPOINT_FORMAT = "stepgrad.session"
CHECKPOINT_VERSION = 2  # 2: written as one unit, with a manifest of checksums
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "stepgrad.checkpoint"
FILES = ("weights.npz", "optimizer.npz", "metrics.json", "design.json", "session.json")


def write(session: TrainingSession, folder: Path) -> Path:
    """Write weights, optimizer, metrics, design and position into `folder` as one unit.

    Everything goes to a new folder beside it, with a manifest of each file's checksum
    written last; that folder then takes the old one's place. A stop at any moment
    leaves the previous checkpoint or the new one, whole. No pickle anywhere. Call it
    while the session is not running, or paused.
    """
    folder = Path(os.path.abspath(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    _settle(folder)
    for left in folder.parent.glob(f".{folder.name}.new-*"):
        shutil.rmtree(left, ignore_errors=True)  # a write that was stopped part way
    if folder.exists() and not _replaceable(folder):
        raise SessionError(
            f"{folder}: holds files that are not a stepgrad checkpoint; "
            "choose a new or empty folder for checkpoints"
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        engine.save(session.model.state_dict(), staging / "weights.npz")
        scheduler = session.scheduler.state_dict() if session.scheduler is not None else None
        engine.save(
            {"optimizer": session.optimizer.state_dict(), "scheduler": scheduler},
            staging / "optimizer.npz",
        )
        metrics = {
            "history": session.history,
            "lr_changes": session.lr_changes,
            "losses": session.losses,
        }
        write_atomic(staging / "metrics.json", json.dumps(metrics) + "\n")
        write_atomic(staging / "design.json", session.design.to_json())
        position = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "design": session.design.name,
            **session.position(),
        }
        write_atomic(staging / "session.json", json.dumps(position, indent=2) + "\n")
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": CHECKPOINT_VERSION,
            "global_step": session.global_step,
            "files": {name: _sha256(staging / name) for name in FILES},
        }
        write_atomic(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        _sync_folder(staging)
        _put_in_place(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_into(session: TrainingSession, folder: Path) -> None:
    """Restore everything `write` put in `folder`, so training goes on exactly."""
    position = read_position(folder)
    try:
        session.model.load_state_dict(engine.load(folder / "weights.npz"))
        saved = engine.load(folder / "optimizer.npz")
        session.optimizer.load_state_dict(saved["optimizer"])
        if (session.scheduler is None) != (saved["scheduler"] is None):
            raise ValueError("the design's schedule differs from the checkpoint's")
        if session.scheduler is not None:
            session.scheduler.load_state_dict(saved["scheduler"])
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SessionError(f"{folder}: incomplete checkpoint, {err.filename} is missing") from None
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise SessionError(f"{folder}: the checkpoint does not fit this design ({err})") from None
    session.history, session.lr_changes = metrics["history"], metrics["lr_changes"]
    session.losses = metrics.get("losses", [])
    session.restore_position(position)


def read_position(folder: Path) -> dict:
    """The checkpoint's session.json, once every file is checked against the manifest."""
    folder = Path(os.path.abspath(folder))
    _settle(folder)
    path = folder / "session.json"
    try:
        position = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SessionError(f"{folder}: not a checkpoint folder (no session.json in it)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SessionError(f"{path}: cannot be read ({err})") from None
    if not isinstance(position, dict) or position.get("format") != CHECKPOINT_FORMAT:
        raise SessionError(f"{path}: not a stepgrad checkpoint")
    if position.get("version") != CHECKPOINT_VERSION:
        raise SessionError(
            f"{path}: checkpoint version {position.get('version')!r}; this stepgrad reads "
            f"{CHECKPOINT_VERSION} (checkpoints it can verify, with a manifest)"
        )
    _verify(folder, position)
    return position


def _verify(folder: Path, position: dict) -> None:
    """Every file is the one the manifest names, and all are from the same step."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format") != MANIFEST_FORMAT or set(files) != set(FILES):
            raise ValueError("not a stepgrad checkpoint manifest")
    except FileNotFoundError:
        raise SessionError(f"{folder}: torn checkpoint (no {MANIFEST}); not resumed") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise SessionError(f"{folder / MANIFEST}: cannot be read ({err})") from None
    for name in FILES:
        try:
            matches = _sha256(folder / name) == files[name]
        except FileNotFoundError:
            matches = False
        if not matches:
            raise SessionError(
                f"{folder}: torn or changed checkpoint ({name} is not the file its "
                "manifest names); not resumed"
            )
    if manifest.get("global_step") != position.get("global_step"):
        raise SessionError(f"{folder}: torn checkpoint (files from different steps); not resumed")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _replaceable(folder: Path) -> bool:
    """An existing folder a checkpoint may replace: empty, or only a checkpoint's files."""
    if not folder.is_dir():
        return False
    names = {p.name for p in folder.iterdir()}
    return names <= set(FILES) | {MANIFEST}


def _put_in_place(staging: Path, folder: Path) -> None:
    """Make `staging` the folder's content: an atomic exchange where Linux has one."""
    if not folder.exists():
        os.rename(staging, folder)
    elif not _exchange(staging, folder):
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        os.rename(folder, old)  # a stop here leaves `old`, which _settle puts back
        os.rename(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
        return
    _sync_folder(folder.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False if unavailable."""
    renameat2 = getattr(_libc(), "renameat2", None) if sys.platform.startswith("linux") else None
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) != 0:
        return False
    shutil.rmtree(a, ignore_errors=True)  # now the previous checkpoint
    return True


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _settle(folder: Path) -> None:
    """Finish what a stop between the two renames left: put the previous checkpoint back."""
    if folder.exists():
        return
    for old in sorted(folder.parent.glob(f".{folder.name}.old-*")):
        if (old / MANIFEST).exists():
            os.rename(old, folder)
            return


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_target(folder: str | os.PathLike) -> Path:
    """Make sure checkpoints can be written to `folder` before any training is spent on them.

    The folder (and its parents) is made if missing; a folder holding other files, a
    file in its place, or a place that cannot be written raises SessionError.
    """
    folder = Path(os.path.abspath(folder))
    if folder.exists() and not _replaceable(folder):
        kind = "is not a folder" if not folder.is_dir() else "holds files that are not a checkpoint"
        raise SessionError(
            f"{folder}: {kind}; choose a new or empty folder for checkpoints (nothing was trained)"
        )
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    except OSError as err:
        raise SessionError(
            f"{folder}: checkpoints cannot be written there ({err.strerror or err}); "
            "nothing was trained"
        ) from None
    return folder
