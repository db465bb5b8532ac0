"""A weights file for a model: every entry checked against the model before any array is read."""

from __future__ import annotations

import os

import engine
from engine.serialization import ArrayInfo

# what each kind of model entry may be loaded from: floating weights only from floating
# arrays (an integer, bool or complex array is not a set of trained weights)
_KINDS = {"f": ("f", "floating point"), "i": ("iu", "integers"), "u": ("iu", "integers")}
_KINDS["b"] = ("b", "true/false values")


def read_weights(path: str | os.PathLike, model: engine.nn.Module, owner: str) -> dict:
    """The state dict saved in `path` (by engine.save), once it fits `model` exactly.

    Each entry must be a tensor of the shape of the model's parameter or buffer of
    that name, floating where the model's is floating (integer where it is integer),
    with no entry missing or extra. Anything else raises ValueError naming the file,
    `owner` (what the weights are for, such as "design 'mlp'"), the entries and what
    each holds against what the model needs; it is raised from the arrays' headers,
    before any array data is read. OSError where the file can't be opened.
    """
    expected = {k: (tuple(v.shape), v._data.dtype) for k, v in model.state_dict().items()}

    def fits(saved) -> None:
        if not isinstance(saved, dict):
            raise ValueError(f"{path}: holds a {type(saved).__name__}, not a state dict")
        problems = [
            problem
            for k, (shape, dtype) in expected.items()
            if k in saved and (problem := _misfit(k, saved[k], shape, dtype))
        ]
        problems += [f"missing {k}" for k in expected if k not in saved]
        problems += [f"unexpected {_key(k)}" for k in saved if k not in expected]
        if problems:
            more = f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""
            raise ValueError(
                f"{path}: these weights do not fit {owner}: " + "; ".join(problems[:4]) + more
            )

    return engine.load(path, check=fits)


def _misfit(key: str, saved, shape: tuple, dtype) -> str | None:
    """What is wrong with `saved` as the value of model entry `key`, or None."""
    kinds, described = _KINDS.get(dtype.kind, (dtype.kind, str(dtype)))
    needs = f"{described} of shape {shape}"
    if not isinstance(saved, ArrayInfo):
        return f"{key} is {_key(saved)}, the model needs a tensor of {needs}"
    holds = f"{saved.dtype} of shape {saved.shape}"
    if not saved.tensor:
        return f"{key} is a numpy array of {holds}, the model needs a tensor of {needs}"
    if saved.dtype.kind not in kinds or saved.shape != shape:
        return f"{key} holds {holds}, the model needs {needs}"
    return None


def _key(value) -> str:
    """`value` for a message, cut to a line."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
