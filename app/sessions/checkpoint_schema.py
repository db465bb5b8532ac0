"""What each file of a checkpoint folder must hold, checked before any of it is used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import engine
from app.sessions.setup import make_optimizer
from engine.serialization import ArrayInfo

if TYPE_CHECKING:
    from pathlib import Path

    from app.sessions.training import TrainingSession

_COUNT = (0, 2**63 - 1)  # counters: steps, epochs, batches, samples
_RNG = {  # numpy's PCG64 state, as Generator.get_state() returns it
    "bit_generator": "PCG64",
    "state": {"state": (0, 2**128 - 1), "inc": (0, 2**128 - 1)},
    "has_uint32": (0, 1),
    "uinteger": (0, 2**32 - 1),
}
_SUMS = {"loss": float, "correct": _COUNT, "seen": _COUNT}
POSITION = {
    "format": str,
    "version": int,
    "design": str,
    "epoch": _COUNT,
    "batch": _COUNT,
    "global_step": _COUNT,
    "rng_state": _RNG,
    "epoch_shuffle_state": _RNG,
    "sums": _SUMS,
    "smooth": [float, _COUNT],
}
MANIFEST = {"format": str, "version": int, "global_step": _COUNT, "files": dict}
_EPOCH = {
    "epoch": _COUNT,
    "train_loss": float,
    "train_acc": (float, None),
    "val_loss": float,
    "val_acc": (float, None),
    "seconds": float,
    "lr": float,
    "global_step": _COUNT,
}
METRICS = {
    "history": ([_EPOCH],),
    "lr_changes": ([{"step": _COUNT, "lr": float}],),
    "losses": ([float],),
}


def check(value: Any, schema: Any, where: str) -> None:
    """Raise ValueError, naming the place and the value, unless `value` follows `schema`.

    A schema is `str`, `int` or `float` (any number, not a bool); a (low, high) pair of
    whole numbers; a literal string; None; a tuple of alternatives, (schema,) or
    (schema, None); a list of one schema (a list of any length, each item following it)
    or of several (a list of that length); or a dict (exactly those keys).
    """
    if schema is None or isinstance(schema, str):
        if value != schema or value is True or value is False:
            raise ValueError(f"{where} is {short(value)}, expected {schema!r}")
    elif schema is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} is {short(value)}, expected a string")
    elif schema in (int, float):
        whole = schema is int
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            raise ValueError(f"{where} is {short(value)}, expected a number")
        if isinstance(value, int) and abs(value) > 2**63:
            raise ValueError(f"{where} is {short(value)}, expected a number under 2**63")
    elif isinstance(schema, tuple) and len(schema) == 2 and all(type(b) is int for b in schema):
        low, high = schema
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{where} is {short(value)}, expected a whole number {low}..{high}")
    elif isinstance(schema, tuple):
        problems = []
        for option in schema:
            try:
                return check(value, option, where)
            except ValueError as err:
                problems.append(str(err))
        raise ValueError(problems[0])
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise ValueError(f"{where} is {short(value)}, expected a list")
        if len(schema) > 1 and len(value) != len(schema):
            raise ValueError(f"{where} has {len(value)} items, expected {len(schema)}")
        for i, item in enumerate(value):
            check(item, schema[0] if len(schema) == 1 else schema[i], f"{where}[{i}]")
    elif schema in (dict, list):
        if not isinstance(value, schema):
            kind = "an object" if schema is dict else "a list"
            raise ValueError(f"{where} is {short(value)}, expected {kind}")
    else:
        if not isinstance(value, dict):
            raise ValueError(f"{where} is {short(value)}, expected an object")
        if set(value) != set(schema):
            missing = sorted(set(schema) - set(value))
            extra = sorted(map(str, set(value) - set(schema)))
            raise ValueError(f"{where} lacks {missing} or has extra {extra}")
        for key, part in schema.items():
            check(value[key], part, f"{where}.{key}")


def optimizer_check(session: TrainingSession, path: Path):
    """A check for engine.load of optimizer.npz at `path`: the state of `session`'s
    optimizer and schedule, in their layout, each buffer a floating tensor of its
    parameter's shape. Its ValueError names `path` and the entry."""
    params = [p for group in session.optimizer.param_groups for p in group["params"]]
    own = session.optimizer.state_dict()
    keys = _state_keys(session)
    scheduler = session.scheduler.state_dict() if session.scheduler is not None else None

    def fits(saved) -> None:
        try:
            _fits(saved)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None

    def _fits(saved) -> None:
        check(saved, {"optimizer": dict, "scheduler": (dict, None)}, "the saved object")
        optimizer = saved["optimizer"]
        check(optimizer, {"state": dict, "param_groups": list}, "optimizer")
        _conforms(optimizer["param_groups"], own["param_groups"], "param_groups")
        if [g["params"] for g in optimizer["param_groups"]] != [
            g["params"] for g in own["param_groups"]
        ]:
            raise ValueError("param_groups list other parameters than this optimizer's")
        for index, state in optimizer["state"].items():
            where = f"optimizer state {short(index)}"
            if type(index) is not int or not 0 <= index < len(params):
                raise ValueError(f"{where} is for no parameter (there are {len(params)})")
            if not isinstance(state, dict) or set(state) != keys:
                found = sorted(map(str, state)) if isinstance(state, dict) else short(state)
                raise ValueError(f"{where} holds {found}, this optimizer keeps {sorted(keys)}")
            for key, value in state.items():
                _buffer_fits(value, key, tuple(params[index].shape), f"{where}.{key}")
        if scheduler is None or saved["scheduler"] is None:
            if (scheduler is None) != (saved["scheduler"] is None):
                raise ValueError("the design's schedule differs from the checkpoint's")
        else:
            _conforms(saved["scheduler"], scheduler, "scheduler")

    return fits


def _state_keys(session: TrainingSession) -> set[str]:
    """The names of the state this optimizer keeps per parameter, found by one trial step."""
    probe = engine.zeros(1, requires_grad=True)
    probe.grad = engine.zeros(1)
    trial = make_optimizer(session.design.training.get("optimizer"), [probe])
    trial.step()
    return set(trial.state[probe])


def _buffer_fits(value, key: str, shape: tuple, where: str) -> None:
    if key == "step" and not isinstance(value, ArrayInfo):
        check(value, float, where)
        if not 0 <= value < 2**63:
            raise ValueError(f"{where} is {short(value)}, expected a count of steps")
    elif not isinstance(value, ArrayInfo) or not value.tensor:
        raise ValueError(f"{where} is {short(value)}, expected a tensor of shape {shape}")
    elif key == "step" and (value.shape != () or value.dtype.kind not in "iuf"):
        raise ValueError(f"{where} holds {value.dtype} {value.shape}, expected a count of steps")
    elif key != "step" and (value.shape != shape or value.dtype.kind != "f"):
        raise ValueError(
            f"{where} holds {value.dtype} of shape {value.shape}, expected floating point "
            f"of shape {shape}"
        )


def _conforms(saved, own, where: str) -> None:
    """`saved` has `own`'s layout: the same keys, lengths and kinds of value, numbers for
    numbers (which may differ: a schedule changes the lr)."""
    if isinstance(own, bool):
        if not isinstance(saved, bool):
            raise ValueError(f"{where} is {short(saved)}, expected true or false")
    elif own is None or isinstance(own, str):  # settings, such as a schedule's mode
        check(saved, own, where)
    elif isinstance(own, int | float):
        check(saved, float, where)
    elif isinstance(own, list | tuple):
        if not isinstance(saved, list | tuple) or len(saved) != len(own):
            raise ValueError(f"{where} is {short(saved)}, expected {len(own)} items")
        for i, (mine, theirs) in enumerate(zip(own, saved, strict=True)):
            _conforms(theirs, mine, f"{where}[{i}]")
    elif isinstance(own, dict):
        if not isinstance(saved, dict) or set(saved) != set(own):
            raise ValueError(f"{where} is {short(saved)}, expected keys {sorted(map(str, own))}")
        for key, mine in own.items():
            _conforms(saved[key], mine, f"{where}.{key}")
    elif saved != own:
        raise ValueError(f"{where} is {short(saved)}, expected {short(own)}")


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
