"""NumPy's argument names that PyTorch's functions also take: axis for dim, keepdims for keepdim."""

from __future__ import annotations

import functools

_NUMPY_NAMES = (("axis", "dim"), ("keepdims", "keepdim"))


def numpy_names(fn):
    """`fn`, also called with `axis=` for `dim=` and `keepdims=` for `keepdim=`, as
    PyTorch's argument parser allows for every function that has those arguments."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs:
            for alias, name in _NUMPY_NAMES:
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(
                            f"{fn.__name__}() received an invalid combination of arguments: "
                            f"both {name!r} and its alias {alias!r}"
                        )
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return call
