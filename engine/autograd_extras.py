"""torch.autograd's smaller names: Variable, and anomaly mode (NaN checks in backward)."""

from __future__ import annotations

import math
import warnings

from engine import backend
from engine.autograd import state
from engine.tensor import Tensor


class VariableMeta(type):
    """Makes `isinstance(t, Variable)` true for every tensor, as in PyTorch."""

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=VariableMeta):
    """PyTorch 0.3's wrapper, kept for old code: `Variable(t, requires_grad=True)` returns a
    tensor sharing `t`'s data, detached from any graph, with `requires_grad` set.
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
        if data is None:
            from engine import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


# ----- anomaly mode -------------------------------------------------------------------------
_anomaly = {"enabled": False, "check_nan": True}


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on (set by detect_anomaly or set_detect_anomaly)."""
    return _anomaly["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks backward outputs for NaN."""
    return _anomaly["check_nan"]


def _has_nan(g) -> bool:
    arr = g._data if isinstance(g, Tensor) else g
    if arr is None or arr.dtype.kind not in "fc" or arr.size == 0:
        return False
    with backend.quiet_float_errors():
        if not math.isnan(float(abs(arr).sum())):
            return False
    return bool(backend.array_module(arr).isnan(arr).any())


class _AnomalyInstrument:
    """An instrument that checks each backward node's outputs for NaN, passing everything
    else through to the instrument that was active before it (if any)."""

    def __init__(self, previous):
        self.previous = previous

    def apply(self, cls, inputs, kwargs):
        if self.previous is not None:
            return self.previous.apply(cls, inputs, kwargs)
        return cls.run(inputs, kwargs)

    def call_module(self, module, args, kwargs):
        if self.previous is not None:
            return self.previous.call_module(module, args, kwargs)
        return module.forward(*args, **kwargs)

    def update(self, optimizer, p, update, group) -> None:
        if self.previous is not None:
            self.previous.update(optimizer, p, update, group)

    def _checked(self, steps):
        for step in steps:
            if _anomaly["check_nan"]:
                for i, g in enumerate(step.grad_inputs):
                    if g is not None and _has_nan(g):
                        name = step.node.name() if hasattr(step.node, "name") else "Function"
                        raise RuntimeError(
                            f"Function '{name}' returned nan values in its {i}th output."
                        )
            yield step

    def backward(self, steps) -> None:
        steps = self._checked(steps)
        if self.previous is not None:
            self.previous.backward(steps)
            return
        with backend.quiet_float_errors():
            for _ in steps:
                pass


def _set_anomaly(enabled: bool, check_nan: bool) -> None:
    current = state.instrument
    if enabled and not isinstance(current, _AnomalyInstrument):
        state.instrument = _AnomalyInstrument(current)
    elif not enabled and isinstance(current, _AnomalyInstrument):
        state.instrument = current.previous
    _anomaly["enabled"], _anomaly["check_nan"] = enabled, check_nan


class detect_anomaly:
    """Context manager: while on, a backward node that returns NaN raises
    RuntimeError naming it ("Function 'SqrtBackward0' returned nan values in its 0th output.").
    """

    def __init__(self, check_nan: bool = True):
        self.prev, self.prev_check_nan = is_anomaly_enabled(), is_anomaly_check_nan_enabled()
        self.check_nan = check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            UserWarning,
            stacklevel=2,
        )

    def __enter__(self) -> None:
        self.prev, self.prev_check_nan = is_anomaly_enabled(), is_anomaly_check_nan_enabled()
        _set_anomaly(True, self.check_nan)

    def __exit__(self, *exc) -> bool:
        _set_anomaly(self.prev, self.prev_check_nan)
        return False


class set_detect_anomaly:
    """Turn anomaly mode on or off now; as a context manager, restore the old mode on exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev, self.prev_check_nan = is_anomaly_enabled(), is_anomaly_check_nan_enabled()
        _set_anomaly(bool(mode), check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> bool:
        _set_anomaly(self.prev, self.prev_check_nan)
        return False


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly mode on or off (torch.set_anomaly_enabled)."""
    _set_anomaly(bool(enabled), check_nan)
