"""Random tensor programs run on the engine and on PyTorch, step by step, and compared.

A program is Python source: each step is one line (`v3 = torch.maximum(v0, v2)`,
`v1 += v2`, `v0[1:] = v4`) executed with `torch` bound to the engine in one namespace
and to PyTorch in the other, so a failing program is its own reproducer. Steps are drawn
one at a time from the values so far (PyTorch's results say what shapes and dtypes
exist), through a `Chooser`: Hypothesis's draws in the tests, `random.Random` in the
survey (`python -m tests.engine.differential`). After every step each live value is
compared (values, NaN and inf positions, dtype, shape, requires_grad, is_leaf), with the
sides synchronised to PyTorch's floats so rounding never compounds; at the end a weighted
sum of every value that requires grad is backpropagated and each leaf's `.grad` compared.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

import engine
import engine.nn.functional

DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")
FLOATS = ("float32", "float64")
# rtol, and atol as a fraction of the step's largest finite magnitude
TOLERANCE = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12)}
GRAD_TOLERANCE = {"float32": (2e-3, 2e-4), "float64": (1e-7, 1e-9)}
# torch's NotImplementedError ("not implemented for 'Bool'") is a RuntimeError, as in Python
ERRORS = (IndexError, TypeError, ValueError, RuntimeError)


# ----- choices ------------------------------------------------------------------------


class Chooser:
    """Where a program's choices come from; every draw shrinks toward its first option."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def pick(self, options: Sequence):
        return options[self.integer(0, len(options) - 1)]

    def coin(self, p: float) -> bool:
        """True with probability about p (False is the simpler answer)."""
        return self.integer(0, 99) >= 100 - round(100 * p)


class RandomChooser(Chooser):
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class HypothesisChooser(Chooser):
    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))


# ----- values -----------------------------------------------------------------------

_NICE = (0.0, 1.0, -1.0, 0.5, -2.0, 2.0, 3.0, -0.5, 0.25, 1.5, -3.0, 4.0)
_WILD = (float("nan"), float("inf"), float("-inf"), -0.0, 1e30, -1e30, 1e-30, 3e38, 100.0, -88.5)
_INTS = (0, 1, -1, 2, 3, -2, 5, -4, 7)
_WILD_INTS = {
    "int64": (2**62, -(2**62), 2**63 - 1, -(2**63)),
    "int32": (2**31 - 1, -(2**31), 70000),
    "uint8": (255, 128, 200),
}


def draw_values(c: Chooser, dtype: str, n: int, wild: bool) -> list:
    out = []
    for _ in range(n):
        if dtype == "bool":
            out.append(c.coin(0.5))
        elif dtype in FLOATS:
            if wild and c.coin(0.15):
                out.append(c.pick(_WILD))
            elif c.coin(0.3):
                out.append(c.integer(-300, 300) / 64)
            else:
                out.append(c.pick(_NICE))
        else:
            if wild and c.coin(0.15):
                out.append(c.pick(_WILD_INTS[dtype]))
            else:
                v = c.pick(_INTS)
                out.append(abs(v) if dtype == "uint8" else v)
    return out


def draw_shape(c: Chooser, lo: int = 0, hi: int = 3) -> tuple[int, ...]:
    ndim = c.integer(lo, hi)
    return tuple(c.pick((2, 3, 1, 4, 0)) if c.coin(0.9) else c.pick((0, 5)) for _ in range(ndim))


def leaf_source(name: str, shape, dtype: str, values: list, requires_grad: bool) -> str:
    """One line that builds the same leaf in either library."""
    rg = ", requires_grad=True" if requires_grad else ""
    if math.prod(shape) == 0:
        return f"{name} = torch.zeros({tuple(shape)}, dtype=torch.{dtype}{rg})"
    arr = np.array(values, dtype=object).reshape(shape)
    return f"{name} = torch.tensor({_literal(arr.tolist())}, dtype=torch.{dtype}{rg})"


def _literal(x) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_literal(v) for v in x) + "]"
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return repr(x)


# ----- what exists so far -------------------------------------------------------------


@dataclass
class Info:
    """What PyTorch says about a value of the program."""

    name: str
    shape: tuple
    dtype: str
    requires_grad: bool
    is_leaf: bool

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def floating(self) -> bool:
        return self.dtype in FLOATS


def broadcastable(a: tuple, b: tuple) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b), strict=False))


class Builder:
    """Draws steps for a program over the values that exist so far."""

    def __init__(self, c: Chooser, wild: bool):
        self.c, self.wild = c, wild
        self.values: dict[str, Info] = {}
        self.count = 0

    def new_name(self) -> str:
        self.count += 1
        return f"v{self.count - 1}"

    def leaf(self, shape=None, dtype=None, grad=None) -> tuple[str, str]:
        c = self.c
        shape = draw_shape(c) if shape is None else shape
        dtype = (c.pick(DTYPES) if c.coin(0.4) else "float32") if dtype is None else dtype
        values = draw_values(c, dtype, math.prod(shape), self.wild)
        rg = dtype in FLOATS and (c.coin(0.6) if grad is None else grad)
        name = self.new_name()
        return leaf_source(name, shape, dtype, values, rg), name

    def tensor(self, pred: Callable[[Info], bool] | None = None) -> Info | None:
        """A value that satisfies `pred` (now and then any value, to probe the errors)."""
        options = list(self.values.values())
        fitting = [v for v in options if pred is None or pred(v)]
        if not fitting or self.c.coin(0.04):
            return self.c.pick(options) if options and pred is None else None
        return self.c.pick(fitting)

    def dim(self, t: Info, allow_none: bool = False):
        c = self.c
        if allow_none and c.coin(0.3):
            return None
        if c.coin(0.05):
            return c.pick((t.ndim, -t.ndim - 1, 5))  # out of range
        n = max(t.ndim, 1)
        d = c.integer(0, n - 1)
        return d - n if c.coin(0.3) else d

    def scalar(self, kind: str | None = None):
        kind = kind or self.c.pick(("int", "float", "int", "float", "bool", "wild"))
        if kind == "int":
            return self.c.pick((2, 1, 0, -1, 3, 300, -7))
        if kind == "float":
            return self.c.pick((0.5, 2.0, -1.5, 0.0, 1e-3, 2.5))
        if kind == "bool":
            return self.c.pick((True, False))
        return self.c.pick((float("inf"), float("nan"), 1e30, 2**40, -(2**63)))

    def step(self) -> tuple[str, str] | None:
        """(source line, op name) of one more step, or None when the drawn op has no operands."""
        name, make = self.c.pick(OPS)
        line = make(self)
        return None if line is None else (line, name)


def _lit(x) -> str:
    return _literal(x)


# ----- the ops ------------------------------------------------------------------------
# Each draws its operands and returns one line of source (or None when nothing fits).


def _binary_operator(b: Builder):
    op = b.c.pick(("+", "-", "*", "/", "**", "==", "!=", "<", "<=", ">", ">="))
    x = b.tensor()
    if x is None:
        return None
    if b.c.coin(0.35):
        s = _lit(b.scalar())
        lhs, rhs = (s, x.name) if b.c.coin(0.3) else (x.name, s)
    else:
        y = b.tensor(lambda v: broadcastable(v.shape, x.shape))
        if y is None:
            return None
        lhs, rhs = x.name, y.name
    return f"{b.new_name()} = {lhs} {op} {rhs}"


def _binary_function(b: Builder):
    fn = b.c.pick(("add", "sub", "mul", "div", "maximum", "minimum", "pow", "eq", "lt", "ge"))
    x = b.tensor()
    if x is None:
        return None
    y = b.tensor(lambda v: broadcastable(v.shape, x.shape))
    other = _lit(b.scalar()) if y is None or (fn != "maximum" and b.c.coin(0.2)) else y.name
    extra = ""
    if fn in ("add", "sub") and b.c.coin(0.4):
        extra = f", alpha={_lit(b.c.pick((2, -1, 0.5, True)))}"
    if b.c.coin(0.3):
        return f"{b.new_name()} = {x.name}.{fn}({other}{extra})"
    return f"{b.new_name()} = torch.{fn}({x.name}, {other}{extra})"


def _unary(b: Builder):
    fn = b.c.pick(
        ("neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu")
        + ("floor", "sign", "log1p", "expm1", "rsqrt", "square", "atan", "sinh", "isnan")
        + ("F.relu", "F.leaky_relu", "F.gelu", "F.sigmoid", "F.tanh")
    )
    x = b.tensor()
    if x is None:
        return None
    if fn.startswith("F.") or b.c.coin(0.5):
        mod = "" if fn.startswith("F.") else "torch."
        return f"{b.new_name()} = {mod}{fn}({x.name})"
    return f"{b.new_name()} = {x.name}.{fn}()"


def _clamp(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    kind = b.c.pick(("int", "float", "float", "int"))
    lo = b.scalar(kind) if b.c.coin(0.7) else None
    hi = b.scalar(kind) if lo is None or b.c.coin(0.5) else None
    fn = b.c.pick(("torch.clamp({x}, {a})", "{x}.clamp({a})", "{x}.clip({a})"))
    args = ", ".join(f"{k}={_lit(v)}" for k, v in (("min", lo), ("max", hi)) if v is not None)
    return f"{b.new_name()} = " + fn.format(x=x.name, a=args)


def _where(b: Builder):
    cond = b.tensor(lambda v: v.dtype == "bool")
    if cond is None:
        return None
    x = b.tensor(lambda v: broadcastable(v.shape, cond.shape))
    if x is None:
        return None
    y = b.tensor(lambda v: broadcastable(v.shape, x.shape) and broadcastable(v.shape, cond.shape))
    other = _lit(b.scalar()) if y is None or b.c.coin(0.25) else y.name
    if b.c.coin(0.3):
        return f"{b.new_name()} = {x.name}.where({cond.name}, {other})"
    return f"{b.new_name()} = torch.where({cond.name}, {x.name}, {other})"


def _masked(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    m = b.tensor(lambda v: v.dtype == "bool" and v.shape == x.shape)
    if m is None:
        return None
    form = b.c.pick(("{x}[{m}]", "{x} * {m}", "torch.where({m}, {x}, 0)"))
    return f"{b.new_name()} = " + form.format(x=x.name, m=m.name)


def _cast(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    form = b.c.pick(
        ("float()", "double()", "long()", "int()", "bool()", "to(torch.uint8)", "clone()")
        + ("detach()", "to(torch.float64)", "type(torch.int32)")
    )
    return f"{b.new_name()} = {x.name}.{form}"


def _reduction(b: Builder):
    fn = b.c.pick(("sum", "mean", "var", "std", "max", "min", "argmax", "argmin"))
    x = b.tensor()
    if x is None:
        return None
    dim = b.dim(x, allow_none=True)
    if fn in ("sum", "mean", "var", "std") and dim is not None and x.ndim >= 2 and b.c.coin(0.3):
        dim = (0, -1)
    args = []
    if dim is not None:
        args.append(f"dim={_lit(dim)}" if b.c.coin(0.5) else _lit(dim))
    if dim is not None and b.c.coin(0.4):  # without dim, PyTorch takes no keepdim at all
        args.append(f"keepdim={b.c.pick((True, False))}")
    if fn in ("var", "std") and dim is not None and b.c.coin(0.3):
        args.append(f"unbiased={b.c.pick((False, True))}")
    call = f"{fn}({', '.join(args)})"
    text = f"torch.{fn}({', '.join([x.name, *args])})" if b.c.coin(0.3) else f"{x.name}.{call}"
    if fn in ("max", "min") and dim is not None:
        text += b.c.pick((".values", ".indices", "[0]"))
    return f"{b.new_name()} = {text}"


def _softmax(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    fn = b.c.pick(("F.softmax", "F.log_softmax"))
    extra = f", dtype=torch.{b.c.pick(FLOATS)}" if b.c.coin(0.1) else ""
    return f"{b.new_name()} = {fn}({x.name}, {b.dim(x)}{extra})"


def _reduction_more(b: Builder):
    fn = b.c.pick(("amax", "amin", "all", "any", "prod", "logsumexp", "cumsum", "cumprod"))
    fn = b.c.pick((fn, "norm"))
    x = b.tensor()
    if x is None:
        return None
    c = b.c
    dim = b.dim(x, allow_none=fn in ("amax", "amin", "all", "any", "prod", "norm"))
    if fn in ("amax", "amin", "logsumexp", "norm") and x.ndim >= 2 and c.coin(0.3):
        dim = (0, -1)
    args = [] if dim is None else [_lit(dim)]
    if fn == "norm":
        args.insert(0, _lit(c.pick((2, 1, math.inf, "fro", 3, -math.inf))))
    if (dim is not None or fn in ("all", "any", "norm")) and fn[:3] != "cum" and c.coin(0.4):
        args.append(f"keepdim={c.pick((True, False))}")
    if fn in ("prod", "cumsum", "cumprod") and c.coin(0.15):
        args.append(f"dtype=torch.{c.pick(('float64', 'int64', 'float32'))}")
    if c.coin(0.4):
        return f"{b.new_name()} = torch.{fn}({', '.join([x.name, *args])})"
    return f"{b.new_name()} = {x.name}.{fn}({', '.join(args)})"


def _sort(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    c = b.c
    # past 16 elements PyTorch's default sort is not stable: ties may come in any order
    stable = max(x.shape, default=1) > 16 or c.coin(0.2)
    args = []
    if c.coin(0.7):  # with stable=, PyTorch takes dim only as a keyword
        args.append(f"{'dim=' if stable or c.coin(0.3) else ''}{_lit(b.dim(x))}")
    if c.coin(0.5):
        args.append(f"descending={c.pick((True, False))}")
    if stable:
        args.append("stable=True")
    if c.coin(0.3):
        return f"{b.new_name()} = torch.argsort({', '.join([x.name, *args])})"
    return f"{b.new_name()} = {x.name}.sort({', '.join(args)}){c.pick(('.values', '.indices'))}"


def _index_ops(b: Builder):
    c = b.c
    form = c.pick(("gather", "index_select", "masked_fill", "masked_select", "nonzero"))
    form = c.pick((form, form, "scatter_", "masked_fill_"))
    x = b.tensor(lambda v: v.ndim >= 1)
    if x is None:
        return None
    d = c.integer(0, x.ndim - 1)
    size = x.shape[d]
    if form in ("gather", "scatter_"):
        shape = [c.integer(0, n) for n in x.shape]
        shape[d] = c.integer(0, 3)
        picks = [c.integer(0, size - 1) if size else 0 for _ in range(math.prod(shape))]
        if not size and picks:
            return None
        index = f"torch.tensor({picks}, dtype=torch.int64).reshape({tuple(shape)})"
        if form == "scatter_":  # a value, not a src: repeated indices write the same thing
            return f"{b.new_name()} = {x.name}.scatter_({d}, {index}, {_lit(b.scalar())})"
        return f"{b.new_name()} = {x.name}.gather({d}, {index})"
    if form == "index_select":
        picks = [c.integer(0, size - 1) for _ in range(c.integer(0, 3))] if size else []
        return f"{b.new_name()} = torch.index_select({x.name}, {d}, torch.tensor({picks}).long())"
    if form == "nonzero":
        return f"{b.new_name()} = {x.name}.nonzero()"
    m = b.tensor(lambda v: v.dtype == "bool" and broadcastable(v.shape, x.shape))
    if m is None:
        return None
    if form == "masked_select":
        return f"{b.new_name()} = torch.masked_select({x.name}, {m.name})"
    return f"{b.new_name()} = {x.name}.{form}({m.name}, {_lit(b.scalar())})"


def _reshape(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    c = b.c
    form = c.pick(("reshape", "view", "flatten", "reshape-1", "squeeze", "unsqueeze", "T"))
    n = x.numel
    if form in ("reshape", "view"):
        dims = [d for d in (1, 2, 3, 4, 6) if n and n % d == 0] or [0]
        first = c.pick(dims)
        shape = (first, -1) if c.coin(0.6) and first else (n,)
        if c.coin(0.1):
            shape = c.pick(((-1, -1), (n + 1,), ()))
        return f"{b.new_name()} = {x.name}.{form}{_lit(tuple(shape))}".replace(",)", ")")
    if form == "reshape-1":
        return f"{b.new_name()} = {x.name}.reshape(-1)"
    if form == "flatten":
        if x.ndim >= 2 and c.coin(0.5):
            return f"{b.new_name()} = torch.flatten({x.name}, 1)"
        return f"{b.new_name()} = {x.name}.flatten()"
    if form == "squeeze":
        return f"{b.new_name()} = {x.name}.squeeze({'' if c.coin(0.4) else b.dim(x)})"
    if form == "unsqueeze":
        return f"{b.new_name()} = {x.name}.unsqueeze({c.integer(-x.ndim - 1, x.ndim)})"
    return f"{b.new_name()} = {x.name}.T"


def _transpose(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    c = b.c
    form = c.pick(("transpose", "permute", "t", "expand"))
    if form == "transpose":
        return f"{b.new_name()} = {x.name}.transpose({b.dim(x)}, {b.dim(x)})"
    if form == "permute":
        dims = list(range(x.ndim))
        c_rng = random.Random(c.integer(0, 1000))
        c_rng.shuffle(dims)
        if c.coin(0.05):
            dims = dims[:-1] or [1]
        return f"{b.new_name()} = {x.name}.permute({_lit(tuple(dims))})"
    if form == "t":
        return f"{b.new_name()} = {x.name}.t()"
    sizes = [c.pick((3, 2)) if s == 1 else (s if c.coin(0.8) else -1) for s in x.shape]
    if c.coin(0.3):
        sizes.insert(0, 2)
    return f"{b.new_name()} = {x.name}.expand({_lit(tuple(sizes))})"


def _index(b: Builder):
    x = b.tensor(lambda v: v.ndim >= 1)
    if x is None:
        return None
    c = b.c
    parts = []
    for size in x.shape[: c.integer(1, x.ndim)]:
        kind = c.pick(("int", "slice", "slice", "int", "none", "list", "neg-step", "ellipsis"))
        if kind == "int":
            parts.append(str(c.integer(-size, size - 1) if size and c.coin(0.95) else size))
        elif kind == "slice":
            lo, hi = c.integer(-3, 3), c.integer(-3, 4)
            step = c.pick(("", ":2", ":1", ":3"))
            parts.append(f"{lo if c.coin(0.7) else ''}:{hi if c.coin(0.6) else ''}{step}")
        elif kind == "none":
            parts.append("None")
        elif kind == "list":
            idx = [c.integer(-size, size - 1) for _ in range(c.integer(1, 3))] if size else []
            parts.append(f"torch.tensor({idx}, dtype=torch.int64)" if c.coin(0.5) else str(idx))
        elif kind == "neg-step":
            parts.append("::-1")
        else:
            parts.append("...")
    return f"{b.new_name()} = {x.name}[{', '.join(parts)}]"


def _cat_stack(b: Builder):
    x = b.tensor()
    if x is None:
        return None
    fn = b.c.pick(("cat", "stack"))
    d = b.dim(x) if fn == "cat" else b.c.integer(-x.ndim - 1, x.ndim)
    same = b.tensor(lambda v: v.shape == x.shape)
    others = [same.name if same is not None else x.name]
    if fn == "cat" and isinstance(d, int) and -x.ndim <= d < x.ndim:
        axis = d % x.ndim
        near = b.tensor(
            lambda v: (
                v.ndim == x.ndim
                and all(
                    p == q
                    for i, (p, q) in enumerate(zip(v.shape, x.shape, strict=True))
                    if i != axis
                )
            )
        )
        if near is not None:
            others.append(near.name)
    return f"{b.new_name()} = torch.{fn}([{', '.join([x.name, *others])}], {d})"


def _matmul(b: Builder):
    x = b.tensor(lambda v: v.ndim >= 1)
    if x is None:
        return None
    k = x.shape[-1]
    y = b.tensor(lambda v: v.ndim >= 1 and (v.shape[0] if v.ndim == 1 else v.shape[-2]) == k)
    if y is None:
        return None
    form = b.c.pick(("{x} @ {y}", "torch.matmul({x}, {y})", "{x}.mm({y})", "torch.mm({x}, {y})"))
    xn, yn = x.name, y.name
    if b.wild and x.dtype == y.dtype == "float32":
        # as for conv2d: where an inf meets a product that overflows float32, the NaN
        # positions depend on PyTorch's summation order (fused multiply-adds or not),
        # so a program that may hold such values multiplies in float64
        xn, yn = f"{xn}.double()", f"{yn}.double()"
    return f"{b.new_name()} = " + form.format(x=xn, y=yn)


def _loss(b: Builder):
    c = b.c
    fn = c.pick(("mse_loss", "l1_loss", "cross_entropy", "nll_loss", "bce", "bce_logits"))
    red = f", reduction={c.pick(('mean', 'sum', 'none'))!r}" if c.coin(0.4) else ""
    x = b.tensor(lambda v: v.floating)
    if x is None:
        return None
    if fn in ("mse_loss", "l1_loss", "bce", "bce_logits"):
        y = b.tensor(lambda v: v.shape == x.shape and v.floating)
        if y is None:
            return None
        if fn == "bce":
            target = y.name if c.coin(0.1) else f"{y.name}.sigmoid()"
            return f"{b.new_name()} = F.binary_cross_entropy({x.name}.sigmoid(), {target}{red})"
        if fn == "bce_logits":
            return f"{b.new_name()} = F.binary_cross_entropy_with_logits({x.name}, {y.name}{red})"
        return f"{b.new_name()} = F.{fn}({x.name}, {y.name}{red})"
    if x.ndim not in (1, 2) or x.numel == 0:
        return None
    classes = x.shape[-1]
    target_shape = () if x.ndim == 1 else x.shape[:1]
    labels = [c.integer(0, classes - 1) for _ in range(math.prod(target_shape))]
    if c.coin(0.05):
        labels = [classes] * len(labels)
    target = f"torch.tensor({labels[0] if not target_shape else labels}, dtype=torch.int64)"
    return f"{b.new_name()} = F.{fn}({x.name}, {target}{red})"


def _norm_similarity(b: Builder):
    """normalize, cosine_similarity, pairwise_distance, group_norm, prelu, and the smooth-L1,
    Huber and KL losses."""
    c = b.c
    fn = c.pick(("normalize", "cosine", "pairwise", "group_norm", "prelu", "smooth_l1",
                 "huber", "kl_div"))  # fmt: skip
    x = b.tensor(lambda v: v.floating)
    if x is None:
        return None
    out = b.new_name()
    if fn == "normalize":
        p = c.pick((2, 1, 3, "float('inf')", 0.5))
        return f"{out} = F.normalize({x.name}, {p}, {b.dim(x)})"
    if fn == "group_norm":
        # PyTorch's float32 statistics merge per-lane partial moments, and a lane that saw
        # nothing gives 0 * inf = NaN once a square overflows (|x| above ~1.8e19): programs
        # that may hold such values leave group_norm out, as the engine's stats stay finite
        if x.ndim < 2 or x.numel == 0 or b.wild:
            return None
        groups = c.pick([g for g in (1, 2, 3) if x.shape[1] % g == 0] or [1])
        return f"{out} = F.group_norm({x.name}, {groups}, eps={c.pick((1e-5, 0.1))})"
    if fn == "prelu":
        w = b.tensor(lambda v: v.floating and v.ndim == 1 and v.shape[0] == 1)
        return None if w is None else f"{out} = F.prelu({x.name}, {w.name})"
    y = b.tensor(lambda v: v.shape == x.shape and v.floating)
    if y is None:
        return None
    if fn == "cosine":
        return f"{out} = F.cosine_similarity({x.name}, {y.name}, {b.dim(x)})"
    if fn == "pairwise":
        return f"{out} = F.pairwise_distance({x.name}, {y.name}, {c.pick((2.0, 1.0, 3.0))})"
    red = c.pick(("mean", "sum", "none"))
    if fn == "smooth_l1":
        beta = c.pick((1.0, 0.5, 0.0))
        return f"{out} = F.smooth_l1_loss({x.name}, {y.name}, reduction={red!r}, beta={beta})"
    if fn == "huber":
        return f"{out} = F.huber_loss({x.name}, {y.name}, {red!r}, {c.pick((1.0, 0.3))})"
    red = c.pick(("batchmean", "sum", "none"))
    log_target = c.pick((True, False))
    if y.dtype != x.dtype and not c.coin(0.1):
        # a float32 target drawn through sigmoid here may be an ulp off PyTorch's, which a
        # float64 input then shows at float64's tolerance: mostly keep the dtypes alike
        return None
    target = y.name if log_target or c.coin(0.1) else f"{y.name}.sigmoid()"
    return f"{out} = F.kl_div({x.name}, {target}, reduction={red!r}, log_target={log_target})"


def _conv_pool(b: Builder):
    c = b.c
    fn = c.pick(("conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"))
    x = b.tensor(lambda v: v.ndim in (3, 4) and v.floating and v.numel > 0)
    lines = []
    if x is None:
        n, ch, h, w = c.integer(1, 2), c.integer(1, 2), c.integer(2, 5), c.integer(2, 5)
        xdtype = c.pick(FLOATS)
        line, name = b.leaf((n, ch, h, w), xdtype)
        lines.append(line)
        shape, dtype, xname = (n, ch, h, w), None, name
        xline = line
    else:
        xline = ""  # the values of a tensor made earlier are not looked at
        shape, dtype, xname = x.shape, x.dtype, x.name
        xdtype = dtype
    ch = shape[-3]
    k = c.pick((1, 2, 3))
    stride = c.pick((1, 2, None))
    pad = c.pick((0, 1, 0))
    if fn == "conv2d":
        out_ch = c.integer(1, 3)
        wline, wname = b.leaf((out_ch, ch, k, k), dtype or "float32")
        lines.append(wline)
        bias = ""
        if c.coin(0.5):
            bline, bname = b.leaf((out_ch,), dtype or "float32")
            lines.append(bline)
            bias = f", {bname}"
        if pad and xdtype == "float32" and len(shape) == 4 and shape[0] > 1:
            if "inf" in wline or "nan" in wline:
                # PyTorch's answer depends on its algorithm here: a float32 batch of more
                # than one goes to oneDNN, which skips the padding, while its own kernel
                # (one image, float64, and the engine) multiplies the padding's zeros, so
                # an inf weight there gives NaN; the engine does not copy that choice
                pad = 0
        both = wline + xline
        if xdtype == "float32" and ("inf" in both or "nan" in both):
            if "e+30" in both or "e+38" in both:
                # an inf term beside a finite one whose product overflows float32:
                # PyTorch adds each product into its sum with a fused multiply-add, so
                # inf + (3e38 * -2) stays inf there while BLAS rounds the product to -inf
                # first and gets NaN; which comes out depends on the kernel's order, so
                # this conv runs in float64, where nothing overflows
                xname, wname = f"{xname}.double()", f"{wname}.double()"
                bias = f"{bias}.double()" if bias else ""
        s = f", stride={stride}" if stride else ""
        lines.append(f"{b.new_name()} = F.conv2d({xname}, {wname}{bias}{s}, padding={pad})")
    elif fn == "adaptive_avg_pool2d":
        lines.append(f"{b.new_name()} = F.adaptive_avg_pool2d({xname}, {c.integer(1, 3)})")
    else:
        s = f", stride={stride}" if stride else ""
        extra = ", dilation=2" if fn == "max_pool2d" and c.coin(0.1) else ""
        if extra and any(_padding_window(n, k, stride or k, pad, 2) for n in shape[-2:]):
            extra = ""  # torch 2.13's backward then writes outside its buffer (heap corruption)
        lines.append(f"{b.new_name()} = F.{fn}({xname}, {k}{s}, padding={pad}{extra})")
    return "\n".join(lines)


def _padding_window(n: int, k: int, stride: int, pad: int, dilation: int) -> bool:
    """Whether a pooling window over n inputs lies wholly in the padding."""
    span = dilation * (k - 1) + 1
    for o in range(max(0, (n + 2 * pad - span) // stride + 1)):
        start = o * stride - pad
        if not any(0 <= start + j * dilation < n for j in range(k)):
            return True
    return False


def _inplace(b: Builder):
    c = b.c
    x = b.tensor()
    if x is None:
        return None
    form = c.pick(("add_", "sub_", "mul_", "div_", "clamp_", "zero_", "fill_", "+=", "-=", "*="))
    form = c.pick((form, "setitem", "copy_"))
    y = b.tensor(lambda v: broadcastable(x.shape, v.shape) and v.ndim <= x.ndim)
    other = y.name if y is not None and c.coin(0.7) else _lit(b.scalar())
    if form in ("+=", "-=", "*="):
        return f"{x.name} {form} {other}"
    if form == "setitem":
        if x.ndim == 0:
            return f"{x.name}[...] = {other}"
        return f"{x.name}[{c.integer(-x.shape[0], max(x.shape[0] - 1, 0))}] = {_lit(b.scalar())}"
    if form == "clamp_":
        return f"{b.new_name()} = {x.name}.clamp_(min={_lit(b.scalar(c.pick(('int', 'float'))))})"
    if form == "zero_":
        return f"{b.new_name()} = {x.name}.zero_()"
    if form == "fill_":
        return f"{b.new_name()} = {x.name}.fill_({_lit(b.scalar())})"
    if form == "copy_":
        return None if y is None else f"{b.new_name()} = {x.name}.copy_({y.name})"
    return f"{b.new_name()} = {x.name}.{form}({other})"


def _leaf(b: Builder):
    return b.leaf()[0]


OPS: list[tuple[str, Callable[[Builder], str | None]]] = [
    ("binary-operator", _binary_operator),
    ("binary-operator", _binary_operator),
    ("binary-function", _binary_function),
    ("unary", _unary),
    ("unary", _unary),
    ("clamp", _clamp),
    ("where", _where),
    ("masked", _masked),
    ("cast", _cast),
    ("reduction", _reduction),
    ("reduction", _reduction),
    ("softmax", _softmax),
    ("reduction-more", _reduction_more),
    ("sort", _sort),
    ("index-ops", _index_ops),
    ("reshape", _reshape),
    ("transpose", _transpose),
    ("index", _index),
    ("cat-stack", _cat_stack),
    ("matmul", _matmul),
    ("loss", _loss),
    ("norm-similarity", _norm_similarity),
    ("conv-pool", _conv_pool),
    ("inplace", _inplace),
    ("leaf", _leaf),
]


# ----- running and comparing ----------------------------------------------------------


@dataclass
class Mismatch:
    """The first disagreement found, with the program up to it."""

    kind: str  # e.g. "value", "dtype", "raises-only-engine", "exception-type", "grad"
    op: str  # the op family of the step (or "backward")
    detail: str
    source: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        program = "\n".join("    " + line for line in self.source)
        return f"{self.kind} in {self.op}: {self.detail}\n  program:\n{program}"


def _namespace(lib) -> dict:
    return {"torch": lib, "F": lib.nn.functional, "nan": math.nan, "inf": math.inf}


def _error_kind(exc: BaseException) -> str:
    for cls in ERRORS:
        if isinstance(exc, cls):
            return cls.__name__
    return type(exc).__name__


def _run_line(ns: dict, line: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                exec(line, ns)
            except Exception as exc:
                return exc
    return None


def _arrays(e, t) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(e.detach()._data), t.detach().numpy()


def _scale(arrays) -> float:
    biggest = 1.0
    for a in arrays:
        if a.dtype.kind == "f" and a.size:
            finite = np.abs(a[np.isfinite(a)])
            if finite.size:
                biggest = max(biggest, float(finite.max()))
    return min(biggest, 1e300)


def compare_arrays(ea: np.ndarray, ta: np.ndarray, dtype: str, scale: float, tol) -> str | None:
    """Why two arrays differ (None when they agree): exact for ints, tolerances for floats."""
    if ea.shape != ta.shape:
        return f"shape {ea.shape} vs torch {ta.shape}"
    if dtype not in tol:
        if not np.array_equal(ea, ta):
            return f"values {ea.tolist()} vs torch {ta.tolist()}"
        return None
    e64, t64 = ea.astype(np.float64), ta.astype(np.float64)
    if not np.array_equal(np.isnan(e64), np.isnan(t64)):
        return f"NaN positions differ: {ea.tolist()} vs torch {ta.tolist()}"
    inf_e, inf_t = np.isinf(e64), np.isinf(t64)
    if not np.array_equal(inf_e, inf_t) or not np.array_equal(e64[inf_e], t64[inf_t]):
        # a float32 result at the edge of the range may round to inf on one side only
        return f"inf positions differ: {ea.tolist()} vs torch {ta.tolist()}"
    rtol, atol = tol[dtype]
    finite = np.isfinite(t64)
    diff = np.abs(e64[finite] - t64[finite])
    limit = rtol * np.abs(t64[finite]) + atol * scale
    if np.any(diff > limit):
        worst = int(np.argmax(diff - limit))
        return (
            f"values differ (worst {e64[finite][worst]!r} vs torch {t64[finite][worst]!r}): "
            f"{ea.tolist()} vs torch {ta.tolist()}"
        )
    return None


def compare_tensors(e, t, scale: float) -> tuple[str, str] | None:
    """(kind, detail) of the first way an engine value differs from torch's."""
    if not isinstance(e, engine.Tensor):
        return "type", f"engine gives {type(e).__name__}, torch gives {type(t).__name__}"
    tdtype = str(t.dtype).removeprefix("torch.")
    edtype = str(np.asarray(e._data).dtype)  # not e.dtype: it raises for uint64 and the like
    if edtype != tdtype:
        return "dtype", f"{edtype} vs torch {tdtype}"
    if tuple(e.shape) != tuple(t.shape):
        return "shape", f"{tuple(e.shape)} vs torch {tuple(t.shape)}"
    if e.requires_grad != t.requires_grad:
        return "requires_grad", f"{e.requires_grad} vs torch {t.requires_grad}"
    if e.is_leaf != t.is_leaf:
        return "is_leaf", f"{e.is_leaf} vs torch {t.is_leaf}"
    why = compare_arrays(*_arrays(e, t), tdtype, scale, TOLERANCE)
    return None if why is None else ("value", why)


def _sync(e, t) -> None:
    """Give the engine PyTorch's floats (already found close) so rounding never compounds."""
    arr = e._data
    if arr.dtype.kind == "f" and arr.size and getattr(arr, "flags", None) and arr.flags.writeable:
        src = t.detach().numpy()
        if not np.array_equal(arr, src, equal_nan=True):
            arr[...] = src


def _tensors(ns: dict, torch) -> dict:
    return {k: v for k, v in ns.items() if k.startswith("v") and isinstance(v, torch.Tensor)}


def _weights_line(name: str, shape) -> str:
    n = math.prod(shape)
    w = [1 + (k % 5) * 0.25 for k in range(n)]
    return f"torch.tensor({w}, dtype=torch.float64).reshape({tuple(shape)})"


class Run:
    """One program executed on both libraries, step by step."""

    def __init__(self):
        import torch

        self.torch = torch
        self.ns_e, self.ns_t = _namespace(engine), _namespace(torch)
        self.source: list[str] = []
        self.failure: Mismatch | None = None

    def execute(self, line: str, op: str) -> bool:
        """Run one step on both sides; False once they disagree or both raise."""
        self.source.append(line)
        err_e, err_t = _run_line(self.ns_e, line), _run_line(self.ns_t, line)
        if err_t is not None and "INTERNAL ASSERT FAILED" in str(err_t):
            # a bug in torch itself (2.13: backward of `True ** x`, "unknown ivalue tag 4"),
            # not an answer to compare with: the program stops here, as if both had raised
            self.source.pop()
            return False
        if err_e is not None or err_t is not None:
            if err_e is None:
                self._fail("raises-only-torch", op, f"torch: {type(err_t).__name__}: {err_t}")
            elif err_t is None:
                self._fail("raises-only-engine", op, f"engine: {type(err_e).__name__}: {err_e}")
            elif _error_kind(err_e) != _error_kind(err_t):
                self._fail(
                    "exception-type",
                    op,
                    f"engine {type(err_e).__name__}: {err_e} / torch "
                    f"{type(err_t).__name__}: {err_t}",
                )
            self.source.pop()  # the failing step is not part of the program that follows
            if self.failure is not None:
                self.source.append(line)
            return False
        return self._check_all(op)

    def _check_all(self, op: str) -> bool:
        torch_values = _tensors(self.ns_t, self.torch)
        scale = _scale([t.detach().numpy() for t in torch_values.values()])
        for name, t in torch_values.items():
            e = self.ns_e.get(name)
            found = compare_tensors(e, t, scale)
            if found is not None:
                kind, detail = found
                self._fail(kind, op, f"{name}: {detail}")
                return False
        for name, t in torch_values.items():
            _sync(self.ns_e[name], t)
        return True

    def _fail(self, kind: str, op: str, detail: str) -> None:
        self.failure = Mismatch(kind, op, detail, list(self.source))

    def backward(self) -> None:
        """Backpropagate a weighted sum of every value that requires grad; compare .grad."""
        values = _tensors(self.ns_t, self.torch)
        terms = [
            f"({k}.double() * {_weights_line(k, v.shape)}).sum()"
            for k, v in values.items()
            if v.requires_grad
        ]
        if not terms:
            return
        leaves = [k for k, v in values.items() if v.requires_grad and v.is_leaf]
        # a float64 leaf's gradient that passed through a float32 value is only as
        # exact as float32 (its rounding differs with the formula)
        single = any(v.requires_grad and v.dtype == self.torch.float32 for v in values.values())
        lines = [f"loss = {' + '.join(terms)}", "loss.backward()"]
        for line in lines:
            if not self.execute(line, "backward"):
                return
        for name in leaves:
            e, t = self.ns_e[name].grad, self.ns_t[name].grad
            if (e is None) != (t is None):
                self._fail("grad", "backward", f"{name}.grad is {e!r} vs torch {t!r}")
                return
            if t is None:
                continue
            tdtype = str(t.dtype).removeprefix("torch.")
            if not isinstance(e, engine.Tensor) or e.dtype.name != tdtype:
                self._fail("grad", "backward", f"{name}.grad dtype {e.dtype} vs torch {tdtype}")
                return
            ea, ta = _arrays(e, t)
            exact = "float32" if single else tdtype
            why = compare_arrays(ea, ta, exact, _scale([ta]), GRAD_TOLERANCE)
            if why is not None:
                self._fail("grad", "backward", f"{name}.grad: {why}")
                return


def run_program(c: Chooser, min_steps: int = 3, max_steps: int = 12) -> Run:
    """Draw and run one program; `run.failure` holds the first mismatch, if any."""
    run = Run()
    b = Builder(c, wild=c.coin(0.3))
    for _ in range(c.integer(1, 3)):
        line, _ = b.leaf()
        if not run.execute(line, "leaf"):
            return run
        _learn(b, run)
    for _ in range(c.integer(min_steps, max_steps)):
        drawn = b.step()
        if drawn is None:
            continue
        line, op = drawn
        ok = all(run.execute(part, op) for part in line.split("\n"))
        if not ok:
            break
        _learn(b, run)
    if run.failure is None:
        run.backward()
    return run


def _learn(b: Builder, run: Run) -> None:
    """Tell the builder what values exist now, as PyTorch sees them."""
    b.values = {
        k: Info(k, tuple(v.shape), str(v.dtype).removeprefix("torch."), v.requires_grad, v.is_leaf)
        for k, v in _tensors(run.ns_t, run.torch).items()
    }


# ----- mismatches whose fixes are in flight ------------------------------------------
# Each entry names the regression test (an xfail in test_differential_regressions.py) that
# flips when its fix merges: then delete the entry, and the fuzzer checks that class too.


def _program(f: Mismatch) -> str:
    return "\n".join(f.source)


KNOWN: list[tuple[str, Callable[[Mismatch], bool]]] = []


def known_mismatch(f: Mismatch) -> str | None:
    """The name of the known class `f` belongs to, or None for a new mismatch."""
    for name, matches in KNOWN:
        if matches(f):
            return name
    return None


def assert_same(source: str) -> None:
    """Run a program (one step a line) on both libraries, then backward; fail on a mismatch."""
    run = Run()
    for line in (ln.strip() for ln in source.strip().splitlines()):
        if line and not run.execute(line, "step"):
            break
    else:
        run.backward()
    assert run.failure is None, str(run.failure)


# ----- the survey: many programs, mismatches counted by class ----------------------


def survey(programs: int, seed: int, show: int = 1) -> Counter:
    """Run `programs` random programs; print each mismatch class with its shortest program."""
    import torch

    torch.set_num_threads(1)
    classes: Counter = Counter()
    shortest: dict[tuple, Mismatch] = {}
    start = time.perf_counter()
    for i in range(programs):
        try:
            run = run_program(RandomChooser(seed + i))
        except Exception:
            print(f"harness error at seed {seed + i}:\n{traceback.format_exc()}")
            continue
        f = run.failure
        if f is None:
            continue
        known = known_mismatch(f)
        key = ("known", known) if known else (f.kind, f.op, _signature(f))
        classes[key] += 1
        if key not in shortest or len(f.source) < len(shortest[key].source):
            shortest[key] = f
    took = time.perf_counter() - start
    failed = sum(classes.values())
    print(
        f"{programs} programs in {took:.1f} s: {programs - failed} match "
        f"({100 * (programs - failed) / programs:.1f}%), {failed} mismatch"
    )
    for key, n in classes.most_common():
        print(f"\n[{n}] {key}")
        if show:
            print(str(shortest[key])[:1500])
    return classes


_CALL = re.compile(r"torch\.\w+|F\.\w+|\.\w+(?=\()|\[|[-+*/@<>=!]=?|\.T\b")


def _signature(f: Mismatch) -> str:
    """A short name for what went wrong, to group programs that found the same thing."""
    line = f.source[-1].split("=", 1)[-1] if f.source else ""
    if "+=" in f.source[-1] or "-=" in f.source[-1] or "*=" in f.source[-1]:
        line = f.source[-1]
    calls = [m for m in _CALL.findall(line) if m not in ("torch.tensor", "torch.int64")]
    detail = re.sub(r"v\d+", "v", f.detail)
    if f.kind in ("value", "grad"):
        detail = re.sub(r"\(worst.*", "", detail)
    detail = re.sub(r"[\[(][^\])]*[\])]|\d+", "#", detail)
    return f"{' '.join(calls[:2])} | {detail[:70]}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    survey(args.programs, args.seed)
