"""A training session's checkpoint folder: weights, optimizer, metrics, design and position."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import engine
from app.sessions.setup import SessionError
from engine.files import write_atomic

if TYPE_CHECKING:
    from app.sessions.training import TrainingSession

CHECKPOINT_FORMAT = "stepgrad.session"
CHECKPOINT_VERSION = 1


def write(session: TrainingSession, folder: Path) -> Path:
    """Write weights, optimizer, metrics and position into `folder`; no pickle anywhere.

    Each file is replaced atomically and session.json goes last. Call it while
    the session is not running, or paused.
    """
    folder.mkdir(parents=True, exist_ok=True)
    engine.save(session.model.state_dict(), folder / "weights.npz")
    scheduler = session.scheduler.state_dict() if session.scheduler is not None else None
    engine.save(
        {"optimizer": session.optimizer.state_dict(), "scheduler": scheduler},
        folder / "optimizer.npz",
    )
    metrics = {
        "history": session.history,
        "lr_changes": session.lr_changes,
        "losses": session.losses,
    }
    write_atomic(folder / "metrics.json", json.dumps(metrics) + "\n")
    write_atomic(folder / "design.json", session.design.to_json())
    position = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "design": session.design.name,
        **session.position(),
    }
    write_atomic(folder / "session.json", json.dumps(position, indent=2) + "\n")
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
    """The checkpoint's session.json, checked for its format and version."""
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
            f"{CHECKPOINT_VERSION}"
        )
    return position
