"""NumPy-style slice text such as "[0, :, 1:5]": parsing, defaults and stepping an index."""

from __future__ import annotations

from types import EllipsisType

Index = int | slice | EllipsisType


def default_slice(ndim: int) -> str:
    """The slice first shown for an array of `ndim` dimensions: at most two left to look at."""
    if ndim == 0:
        return "[...]"
    if ndim == 1:
        return "[:]"
    if ndim == 2:
        return "[:, :]"
    if ndim == 3:
        return "[0]"
    return "[0, 0" + ", 0" * (ndim - 4) + "]"


def split_slice(text: str) -> list[str]:
    """The comma-separated parts of `text`, brackets around it optional."""
    body = text.strip().removeprefix("[").removesuffix("]")
    if not body.strip():
        return []
    return [part.strip() for part in body.split(",")]


def _axes(parts: list[str], ndim: int) -> list[int | None]:
    """The axis each part indexes (None for `...`), counting from the end after a `...`."""
    ellipses = parts.count("...")
    if ellipses > 1:
        raise ValueError("only one '...' is allowed")
    if len(parts) - ellipses > ndim:
        raise ValueError(f"{len(parts) - ellipses} indices for a {ndim}-D array")
    if not ellipses:
        return list(range(len(parts)))
    at = parts.index("...")
    after = len(parts) - at - 1
    return [*range(at), None, *range(ndim - after, ndim)]


def _integer(part: str, what: str) -> int:
    try:
        return int(part)
    except ValueError:
        raise ValueError(f"{what} {part!r} is not an integer") from None


def parse_slice(text: str, shape: tuple[int, ...]) -> tuple[Index, ...]:
    """The index tuple `text` means for an array of `shape`; `ValueError` names the bad part."""
    if any(bracket in text.strip().removeprefix("[").removesuffix("]") for bracket in "[]"):
        raise ValueError(f"stray bracket in {text!r}")
    parts = split_slice(text)
    index: list[Index] = []
    for part, axis in zip(parts, _axes(parts, len(shape)), strict=True):
        if axis is None:
            index.append(Ellipsis)
        elif not part:
            raise ValueError(f"nothing given for axis {axis}")
        elif ":" in part:
            bounds = part.split(":")
            if len(bounds) > 3:
                raise ValueError(f"{part!r} has more than two ':'")
            start, stop, step = (
                _integer(b, f"in {part!r},") if b.strip() else None for b in (*bounds, "")[:3]
            )
            if step == 0:
                raise ValueError(f"the step in {part!r} is zero")
            index.append(slice(start, stop, step))
        else:
            i, size = _integer(part, "index"), shape[axis]
            if not -size <= i < size:
                raise ValueError(f"index {i} is out of range for axis {axis} of size {size}")
            index.append(i)
    return tuple(index)


def shift_index(text: str, shape: tuple[int, ...], position: int, delta: int) -> str | None:
    """`text` with the integer at `position` moved by `delta` within its axis; None if not one."""
    parse_slice(text, shape)  # raises on a bad slice
    parts = split_slice(text)
    if not 0 <= position < len(parts):
        return None
    axis = _axes(parts, len(shape))[position]
    try:
        i = int(parts[position])
    except ValueError:
        return None
    size = shape[axis]
    parts[position] = str(min(max(i % size + delta, 0), size - 1))
    return "[" + ", ".join(parts) + "]"
