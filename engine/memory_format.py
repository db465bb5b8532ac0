"""PyTorch's memory formats, the layouts clone() and contiguous() may be asked for."""

from __future__ import annotations


class memory_format:
    """One memory layout: contiguous_format (row-major), preserve_format (the input's),
    channels_last and channels_last_3d (kept row-major here: values and gradients are the
    same, strides are not)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"engine.{self.name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def copy_order(fmt) -> str:
    """The array order a copy in memory format `fmt` takes."""
    if fmt is None or fmt is preserve_format:
        return "K"
    if not isinstance(fmt, memory_format):
        raise TypeError(f"memory_format must be a torch.memory_format, not {type(fmt).__name__}")
    return "C"
