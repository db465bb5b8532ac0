"""The named (values, indices) pairs that max, min, sort and topk return (torch.return_types)."""

from __future__ import annotations

from collections import namedtuple


def _pair(name: str) -> type:
    class Pair(namedtuple(name, ["values", "indices"])):
        __slots__ = ()

        def __repr__(self) -> str:
            return (
                f"engine.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"
            )

    Pair.__name__ = Pair.__qualname__ = name
    Pair.__module__ = __name__
    return Pair


max = _pair("max")
min = _pair("min")
sort = _pair("sort")
topk = _pair("topk")
