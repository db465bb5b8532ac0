"""A training session's checkpoint folder: weights, optimizer, metrics, design and position."""

from __future__ import annotations

import csv
import ctypes
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import engine
from app.model.weights import read_weights
from app.sessions import checkpoint_schema as schema
from app.sessions.setup import SessionError
from engine.files import open_regular, read_json, write_atomic

if TYPE_CHECKING:
    from app.sessions.training import TrainingSession

CHECKPOINT_FORMAT = "stepgrad.session"
CHECKPOINT_VERSION = 2  # 2: written as one unit, with a manifest of checksums
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "stepgrad.checkpoint"
FILES = ("weights.npz", "optimizer.npz", "metrics.json", "design.json", "session.json")
JSON_BYTES = 2**20  # session.json and manifest.json: a few hundred bytes
METRICS_BYTES = 256 * 2**20  # metrics.json: every batch's loss, some 20 bytes each
JSON_DEPTH = 8
CURVES = "metrics.csv"  # the curves for a spreadsheet; not read back, so not in the manifest
CURVE_COLUMNS = ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "lr")


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
        write_atomic(staging / CURVES, curves_csv(session.history))
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
    """Restore everything `write` put in `folder`, so training goes on exactly.

    Every file is checked before it is used: the weights and optimizer state against
    the session's model and optimizer (from the arrays' headers, before their data is
    read), the JSON files against their layout. Anything amiss raises SessionError.
    """
    folder = Path(os.path.abspath(folder))
    position = read_position(folder)
    owner = f"design {session.design.name!r}"
    try:
        weights = read_weights(folder / "weights.npz", session.model, owner)
        path = folder / "optimizer.npz"
        saved = engine.load(path, check=schema.optimizer_check(session, path))
    except (ValueError, OSError) as err:
        raise SessionError(_one_line(err)) from None
    metrics = _read_json(folder / "metrics.json", METRICS_BYTES, schema.METRICS)
    if position["batch"] > len(session.train_loader):
        raise SessionError(
            f"{folder / 'session.json'}: batch {position['batch']} of an epoch of "
            f"{len(session.train_loader)} batches"
        )
    try:
        session.model.load_state_dict(weights)
        session.optimizer.load_state_dict(saved["optimizer"])
        if session.scheduler is not None:
            session.scheduler.load_state_dict(saved["scheduler"])
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise SessionError(
            f"{folder}: the checkpoint does not fit this design ({_one_line(err)})"
        ) from None
    session.history, session.lr_changes = metrics["history"], metrics["lr_changes"]
    session.losses = metrics["losses"]
    session.restore_position(position)


def read_position(folder: Path) -> dict:
    """The checkpoint's session.json, once every file is checked against the manifest."""
    folder = Path(os.path.abspath(folder))
    _settle(folder)
    path = folder / "session.json"
    if not os.path.lexists(path):
        raise SessionError(f"{folder}: not a checkpoint folder (no session.json in it)")
    position = _read_json(path, JSON_BYTES, dict)
    if position.get("format") != CHECKPOINT_FORMAT:
        raise SessionError(f"{path}: not a stepgrad checkpoint")
    if position.get("version") != CHECKPOINT_VERSION:
        raise SessionError(
            f"{path}: checkpoint version {schema.short(position.get('version'))}; this "
            f"stepgrad reads {CHECKPOINT_VERSION} (checkpoints it can verify, with a manifest)"
        )
    _check(position, schema.POSITION, path)
    _verify(folder, position)
    return position


def _verify(folder: Path, position: dict) -> None:
    """Every file is the one the manifest names, and all are from the same step."""
    path = folder / MANIFEST
    if not os.path.lexists(path):
        raise SessionError(f"{folder}: torn checkpoint (no {MANIFEST}); not resumed")
    manifest = _read_json(path, JSON_BYTES, schema.MANIFEST)
    files = manifest["files"]
    if manifest["format"] != MANIFEST_FORMAT or set(files) != set(FILES):
        raise SessionError(f"{path}: not a stepgrad checkpoint manifest")
    for name in FILES:
        try:
            matches = _sha256(folder / name) == files[name]
        except FileNotFoundError:
            matches = False
        except OSError as err:
            raise SessionError(f"{folder}: torn or changed checkpoint ({_one_line(err)})") from None
        if not matches:
            raise SessionError(
                f"{folder}: torn or changed checkpoint ({name} is not the file its "
                "manifest names); not resumed"
            )
    if manifest["global_step"] != position["global_step"]:
        raise SessionError(f"{folder}: torn checkpoint (files from different steps); not resumed")


def _read_json(path: Path, max_bytes: int, layout) -> Any:
    """The JSON in `path`, bounded in size and depth and checked against `layout`."""
    try:
        value = read_json(path, max_bytes, JSON_DEPTH)
    except FileNotFoundError:
        raise SessionError(
            f"{path.parent}: incomplete checkpoint, {path.name} is missing"
        ) from None
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError among them
        raise SessionError(f"{path}: cannot be read ({_one_line(err)})") from None
    _check(value, layout, path)
    return value


def _check(value, layout, path: Path) -> None:
    try:
        schema.check(value, layout, path.name)
    except ValueError as err:
        raise SessionError(f"{path}: {err}") from None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as f:  # a FIFO or folder in a file's place is refused, not awaited
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _replaceable(folder: Path) -> bool:
    """An existing folder a checkpoint may replace: empty, or only a checkpoint's files."""
    if not folder.is_dir():
        return False
    names = {p.name for p in folder.iterdir()}
    return names <= set(FILES) | {MANIFEST, CURVES}


def curves_csv(history: list[dict]) -> str:
    """One line per finished epoch: epoch, global step, train and val loss/acc, lr."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for row in history:
        values = {**row, "step": row.get("global_step")}
        writer.writerow("" if values.get(c) is None else values[c] for c in CURVE_COLUMNS)
    return out.getvalue()


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
