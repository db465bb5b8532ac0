"""The named pairs that max, min, sort, topk, median, mode and the like return, as
torch.return_types has them."""

from __future__ import annotations

from collections import namedtuple


def _pair(name: str, fields=("values", "indices")) -> type:
    class Pair(namedtuple(name, fields)):
        __slots__ = ()

        def __repr__(self) -> str:
            body = ",\n".join(
                f"{field}={value!r}" for field, value in zip(fields, self, strict=True)
            )
            return f"engine.return_types.{name}(\n{body})"

    Pair.__name__ = Pair.__qualname__ = name
    Pair.__module__ = __name__
    return Pair


max = _pair("max")
min = _pair("min")
sort = _pair("sort")
topk = _pair("topk")
median = _pair("median")
nanmedian = _pair("nanmedian")
kthvalue = _pair("kthvalue")
mode = _pair("mode")
cummax = _pair("cummax")
cummin = _pair("cummin")
aminmax = _pair("aminmax", ("min", "max"))
