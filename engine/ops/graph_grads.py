"""Gradients as differentiable ops, for backward(create_graph=True) and autograd.grad.

Each formula takes a recorded node and the gradient of its output as a Tensor and returns
the input gradients (None where not needed) computed with engine ops, so they carry a graph
of their own. A node's inputs and output come back as tensors of the first graph from what
the node saved: a leaf is its parent itself; an input made by an op is its saved array with
that op's node, as the tensor it was (`_input`, `_output`).
"""

from __future__ import annotations

from importlib import import_module

import numpy as np

from engine import backend, ops
from engine.autograd import Function
from engine.tensor import Tensor

# the modules themselves (engine.ops exports functions of the same names)
act, conv, ew, losses, matmul, movement, pw, reduce, unary = (
    import_module(f"engine.ops.{name}")
    for name in (
        "activation",
        "conv",
        "elementwise",
        "losses",
        "matmul",
        "movement",
        "pointwise",
        "reduce",
        "unary",
    )
)


def _input(node: Function, i: int, array) -> Tensor:
    """Input `i` of `node`, whose values are `array`, as a tensor in the graph."""
    parent = node.parents[i]
    if parent is None:
        return Tensor._make(array, False, None)
    if isinstance(parent, Function):
        return Tensor._make(array, True, parent)
    return parent


def _output(node: Function, array) -> Tensor:
    """The output of `node` (its values `array`), as a tensor in the graph."""
    return Tensor._make(array, True, node)


def _const(array) -> Tensor:
    return Tensor._make(array, False, None)


def _sum_to(g: Tensor, shape) -> Tensor:
    """Sum `g` back to `shape`, undoing broadcasting (the graph version of unbroadcast)."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = ops.sum(g, tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = ops.sum(g, axes, True)
    return g.reshape(shape) if tuple(g.shape) != shape else g


def _select(mask, g: Tensor) -> Tensor:
    """g where `mask` (an array) holds, exactly 0 elsewhere."""
    return ops.where(_const(mask), g, 0.0)


def _wants(node: Function, i: int) -> bool:
    """Whether input `i` needs a gradient: it requires one and, for autograd.grad, leads to
    an input asked for (`graph_wants`, set by the walk)."""
    wants = node.__dict__.get("graph_wants")
    return node.needs(i) and (wants is None or wants[i])


def _each(node: Function, *grads):
    return tuple(g() if _wants(node, i) else None for i, g in enumerate(grads))


FORMULAS: dict = {}


def formula(*classes):
    def register(fn):
        for cls in classes:
            FORMULAS[cls] = fn
        return fn

    return register


# ----- arithmetic -------------------------------------------------------------------------
@formula(ew.Add)
def _add(node, g):
    sa, sb = node.shapes
    return _each(node, lambda: _sum_to(g, sa), lambda: _sum_to(g, sb))


@formula(ew.Sub)
def _sub(node, g):
    sa, sb = node.shapes
    return _each(node, lambda: _sum_to(g, sa), lambda: _sum_to(-g, sb))


@formula(ew.Mul)
def _mul(node, g):
    a, b = _input(node, 0, node.a), _input(node, 1, node.b)
    return _each(node, lambda: _sum_to(g * b, a.shape), lambda: _sum_to(g * a, b.shape))


@formula(ew.Div)
def _div(node, g):
    a, b = _input(node, 0, node.a), _input(node, 1, node.b)
    return _each(node, lambda: _sum_to(g / b, a.shape), lambda: _sum_to(-g * (a / b / b), b.shape))


@formula(ew.Pow, ew.PowTensor)
def _pow(node, g):
    a, b = _input(node, 0, node.a), _input(node, 1, node.b)
    if _wants(node, 0) and (node.bool_exponent or node.python_bool):
        raise RuntimeError(
            "pow: differentiating its gradient (create_graph=True) is not "
            "supported yet for a bool exponent"
        )

    def grad_a():
        return _sum_to(_select(node.b != 0, g * b * a ** (b - 1)), a.shape)

    def grad_b():
        keep = (node.a != 0) | ~(node.b >= 0)
        return _sum_to(g * _select(keep, _output(node, node.out) * ops.log(a)), b.shape)

    return _each(node, grad_a, grad_b)


def _tie_split(node, g, a_loses, b_loses):
    tie = node.a == node.b
    share = ops.where(_const(tie), g * 0.5, g) if bool(tie.any()) else g
    return _each(
        node,
        lambda: _sum_to(_select(~a_loses, share), node.a.shape),
        lambda: _sum_to(_select(~b_loses, share), node.b.shape),
    )


@formula(ew.Maximum)
def _maximum(node, g):
    return _tie_split(node, g, node.a < node.b, node.a > node.b)


@formula(ew.Minimum)
def _minimum(node, g):
    return _tie_split(node, g, node.a > node.b, node.a < node.b)


@formula(ew.Where)
def _where(node, g):
    sa, sb = node.shapes
    cond = node.cond
    return (
        None,
        _sum_to(_select(cond, g), sa) if _wants(node, 1) else None,
        _sum_to(_select(~cond, g), sb) if _wants(node, 2) else None,
    )


@formula(ew.Cast)
def _cast(node, g):
    return (ew.Cast.apply(g, dtype=node.src),)


@formula(ew.ToDevice)
def _to_device(node, g):
    return (ew.ToDevice.apply(g, device=node.src),)


@formula(ew.Clone)
def _clone(node, g):
    return (g,)


# ----- one tensor -------------------------------------------------------------------------
@formula(unary.Neg)
def _neg(node, g):
    return (-g,)


@formula(unary.Abs)
def _abs(node, g):
    a = node.a
    xp = ew._xp(a)
    return (g * _const(xp.sign(xp.where(a == a, a, 0))),)


@formula(unary.Exp)
def _exp(node, g):
    return (g * _output(node, node.out),)


@formula(unary.Log)
def _log(node, g):
    return (g / _input(node, 0, node.a),)


@formula(unary.Sqrt)
def _sqrt(node, g):
    return (g / (2 * _output(node, node.out)),)


@formula(unary.Reciprocal)
def _reciprocal(node, g):
    out = _output(node, node.out)
    return (-g * (out * out),)


@formula(unary.Sin)
def _sin(node, g):
    return (g * ops.cos(_input(node, 0, node.a)),)


@formula(unary.Cos)
def _cos(node, g):
    return (-g * ops.sin(_input(node, 0, node.a)),)


@formula(unary.Clamp)
def _clamp(node, g):
    keep = np.True_ if node.lo is None else node.a >= node.lo
    if node.hi is not None:
        keep = keep & (node.a <= node.hi)
    return (_select(keep, g),)


@formula(act.TanhOp)
def _tanh(node, g):
    out = _output(node, node.out)
    return (g * (1 - out * out),)


@formula(act.SigmoidOp)
def _sigmoid(node, g):
    out = _output(node, node.out)
    return (g * (1 - out) * out,)


@formula(act.ReluOp)
def _relu(node, g):
    return (_select(~(node.out <= 0), g),)


@formula(act.LeakyReluOp)
def _leaky_relu(node, g):
    return (ops.where(_const(node.a > 0), g, g * node.slope),)


@formula(act.SoftplusOp)
def _softplus(node, g):
    a = _input(node, 0, node.a)
    linear = node.a * node.beta > node.threshold
    return (ops.where(_const(linear), g, g * ops.sigmoid(a * float(node.beta))),)


@formula(act.SoftmaxOp)
def _softmax(node, g):
    out = _output(node, node.out)
    return (out * (g - ops.sum(g * out, node.dim, True)),)


@formula(act.LogSoftmaxOp)
def _log_softmax(node, g):
    out = _output(node, node.out)
    return (g - ops.exp(out) * ops.sum(g, node.dim, True),)


@formula(act.SiluOp)
def _silu(node, g):
    a = _input(node, 0, node.a)
    s = ops.sigmoid(a)
    return (g * s * (1 + a * (1 - s)),)


@formula(act.MishOp)
def _mish(node, g):
    a = _input(node, 0, node.a)
    t = ops.tanh(ops.softplus(a))
    return (g * (t + a * ops.sigmoid(a) * (1 - t * t)),)


@formula(act.EluOp)
def _elu(node, g):
    neg, pos, inp = (float(c) for c in node.coefs)
    a = _input(node, 0, node.a)
    return (ops.where(_const(node.a > 0), g * pos, g * (inp * neg) * ops.exp(a * inp)),)


@formula(act.HardtanhOp)
def _hardtanh(node, g):
    return (_select((node.a > node.lo) & (node.a < node.hi), g),)


@formula(act.LogSigmoidOp)
def _log_sigmoid(node, g):
    return (g * ops.sigmoid(-_input(node, 0, node.a)),)


class NormalCdf(Function):
    """Φ(a), the standard normal CDF: the part of gelu's gradient that is differentiated."""

    op = "normal_cdf"

    def forward(self, a):
        self.a = a
        return 0.5 * (1 + backend.erf(a * (1 / np.sqrt(2))))

    def backward(self, g):
        a = self.a
        return (g * ew._xp(a).exp(-0.5 * a * a) * (1 / np.sqrt(2 * np.pi)),)


def _normal_pdf(a: Tensor) -> Tensor:
    return ops.exp(-0.5 * a * a) * float(1 / np.sqrt(2 * np.pi))


@formula(NormalCdf)
def _normal_cdf(node, g):
    return (g * _normal_pdf(_input(node, 0, node.a)),)


@formula(act.GeluOp)
def _gelu(node, g):
    a = _input(node, 0, node.a)
    if node.approximate == "tanh":
        k = float(np.sqrt(2 / np.pi))
        t = ops.tanh(k * (a + 0.044715 * a**3))
        dt = (1 - t * t) * k * (1 + 3 * 0.044715 * a * a)
        return (g * (0.5 * (1 + t) + 0.5 * a * dt),)
    return (g * (NormalCdf.apply(a) + a * _normal_pdf(a)),)


@formula(*(getattr(pw, name) for name in ("Floor", "Ceil", "Round", "Trunc", "Sign")))
def _flat(node, g):
    return (g * 0,)


@formula(pw.Log1p)
def _log1p(node, g):
    return (g / (_input(node, 0, node.a) + 1),)


@formula(pw.Expm1)
def _expm1(node, g):
    return (g * (_output(node, node.out) + 1),)


@formula(pw.Log2, pw.Log10)
def _log_base(node, g):
    base = 2.0 if isinstance(node, pw.Log2) else 10.0
    return (g / (_input(node, 0, node.a) * float(np.log(base))),)


@formula(pw.Rsqrt)
def _rsqrt(node, g):
    return (g * -0.5 * _output(node, node.out) ** 3,)


@formula(pw.Tan)
def _tan(node, g):
    out = _output(node, node.out)
    return (g * (1 + out * out),)


@formula(pw.Asin, pw.Acos)
def _asin_acos(node, g):
    a = _input(node, 0, node.a)
    d = 1 / ops.sqrt(-a * a + 1)
    return (g * d if isinstance(node, pw.Asin) else g * -d,)


@formula(pw.Atan)
def _atan(node, g):
    a = _input(node, 0, node.a)
    return (g / (a * a + 1),)


@formula(pw.Sinh)
def _sinh(node, g):
    return (g * ops.cosh(_input(node, 0, node.a)),)


@formula(pw.Cosh)
def _cosh(node, g):
    return (g * ops.sinh(_input(node, 0, node.a)),)


@formula(import_module("engine.ops.dropout").DropoutOp)
def _dropout(node, g):
    return (g * _const(node.scale),)


# ----- reductions and products -------------------------------------------------------------
def _restore(g, shape, axes, keepdim):
    if not keepdim and axes:
        kept = list(g.shape)
        for ax in sorted(axes):
            kept.insert(ax, 1)
        g = g.reshape(tuple(kept))
    return g.expand(*shape) if tuple(g.shape) != tuple(shape) else g


@formula(reduce.Sum)
def _sum(node, g):
    return (_restore(g, node.shape, node.axes, node.keepdim),)


@formula(reduce.Mean)
def _mean(node, g):
    return (_restore(g / max(node.n, 1), node.shape, node.axes, node.keepdim),)


@formula(reduce.Max, reduce.Min)
def _extremum(node, g):
    xp = ew._xp(node.a)
    hit = xp.isnan(node.a) if bool(xp.isnan(node.out)) else node.a == node.out
    return (_select(hit, g / float(hit.sum())),)


@formula(reduce.MaxDim, reduce.MinDim)
def _extremum_dim(node, g):
    if not node.shape:
        return (g,)
    # linear in g: ones at the indices taken, times g along the reduced dim
    unit = node.backward(ew._xp(g._data).ones(g.shape, g._data.dtype))[0]
    return (_const(unit) * (g if node.keepdim else g.unsqueeze(node.dim)),)


class Centred(Function):
    """a - mean(a) over `axes`, rebuilt over a variance node's input from what it saved."""

    op = "centred"

    def backward(self, g):
        return (g - g.mean(axis=self.axes, keepdims=True),)


@formula(Centred)
def _centred(node, g):
    return (g - ops.mean(g, node.axes, True),)


@formula(reduce.Var, reduce.Std)
def _var(node, g):
    if isinstance(node, reduce.Std):
        g = _select(node.out != 0, g / (2 * _output(node, node.out)))
    g = _restore(g, node.shape, node.axes, node.keepdim)
    if node.at_mean is not None:
        xp = ew._xp(node.at_mean)
        return (g * _const(xp.where(node.at_mean, np.nan, np.inf).astype(g._data.dtype)),)
    slope = float(node.slope if node.slope is not None else 2 / node.denom)
    centred = Centred()
    centred.axes, centred.parents, centred.seq = node.axes, node.parents, node.seq
    return (g * Tensor._make(node.centred, True, centred) * slope,)


@formula(matmul.Matmul)
def _matmul(node, g):
    a, b = _input(node, 0, node.a), _input(node, 1, node.b)
    if a.ndim == 1 and b.ndim == 1:
        return _each(node, lambda: g * b, lambda: g * a)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    if a.ndim == 1:
        g = g.unsqueeze(-2)
    if b.ndim == 1:
        g = g.unsqueeze(-1)
    return _each(
        node,
        lambda: _sum_to(ops.matmul(g, b2.transpose(-1, -2)), a2.shape).reshape(a.shape),
        lambda: _sum_to(ops.matmul(a2.transpose(-1, -2), g), b2.shape).reshape(b.shape),
    )


@formula(matmul.LinearOp)
def _linear(node, g):
    x, w = _input(node, 0, node.x), _input(node, 1, node.weight)
    g2 = g.reshape(-1, g.shape[-1]) if g.ndim else g.reshape(1, 1)
    grads = _each(
        node,
        lambda: ops.matmul(g, w),
        lambda: ops.matmul(g2.t(), x.reshape(-1, x.shape[-1])),
    )
    if not node.has_bias:
        return grads
    return (*grads, ops.sum(g2, 0) if _wants(node, 2) else None)


# ----- movement ----------------------------------------------------------------------------
@formula(movement.Reshape)
def _reshape(node, g):
    return (g.reshape(node.shape),)


@formula(movement.Permute)
def _permute(node, g):
    return (g.permute(*node.inverse),)


@formula(movement.Expand)
def _expand(node, g):
    return (_sum_to(g, node.shape),)


class IndexGrad(Function):
    """The gradient of indexing: `g` written (added, for an index with arrays) into zeros."""

    op = "index_backward"

    def forward(self, g, shape, index, add):
        self.index, self.add = index, add
        out = ew._xp(g).zeros(shape, dtype=g.dtype)
        if add:
            backend.index_add(out, index, g)
        else:
            out[index] = g
        return out

    def backward(self, gg):
        return (gg[self.index],)


@formula(movement.Index, movement.AdvancedIndex)
def _index(node, g):
    add = isinstance(node, movement.AdvancedIndex)
    return (IndexGrad.apply(g, shape=node.shape, index=node.index, add=add),)


@formula(IndexGrad)
def _index_grad(node, g):
    cls = movement.AdvancedIndex if node.add else movement.Index
    return (cls.apply(g, index=node.index),)


@formula(movement.Cat)
def _cat(node, g):
    out, start = {}, 0
    for i, size in zip(node.kept, node.sizes, strict=True):
        index = (slice(None),) * node.dim + (slice(start, start + size),)
        out[i] = movement.Index.apply(g, index=index)
        start += size
    empty = ew._xp(g._data).zeros((0,), g._data.dtype)
    return tuple(
        (out[i] if i in out else _const(empty)) if _wants(node, i) else None
        for i in range(len(node.parents))
    )


@formula(movement.Stack)
def _stack(node, g):
    return tuple(
        movement.Index.apply(g, index=(slice(None),) * node.dim + (i,)) if _wants(node, i) else None
        for i in range(len(node.parents))
    )


# ----- losses ------------------------------------------------------------------------------
@formula(losses.MSELossOp)
def _mse_loss(node, g):
    diff = ew.Sub()  # x - target as a node of the first graph, from what the loss saved
    diff.shapes, diff.parents, diff.seq = node.shapes, node.parents, node.seq
    grad = 2 * Tensor._make(node.diff, True, diff) * g
    return _each(
        node, lambda: _sum_to(grad, node.shapes[0]), lambda: _sum_to(-grad, node.shapes[1])
    )


@formula(losses.NLLLossOp)
def _nll_loss(node, g):
    # linear in g: the gradient at g = 1, scaled by g along the class dimension
    shape, reduction = node.meta[0], node.meta[5]
    unit = node.backward(ew._xp(g._data).ones(g.shape, g._data.dtype))[0]
    if reduction == "none" and len(shape) > 1:
        g = g.unsqueeze(1)
    return (_const(unit) * g,)


# ----- convolution -------------------------------------------------------------------------
def _conv_params(node) -> dict:
    _, _, _, stride, dilation, padding = node.geometry
    return dict(stride=stride, padding=padding, dilation=dilation, groups=node.wm.shape[0])


def _conv(x, w, params):
    """conv2d of arrays, no bias."""
    return conv.Conv2dOp().forward(x, w, None, **params)


def _conv_input_grad(g, w, x_shape, params):
    """The gradient of conv2d(x, w) with respect to an x of `x_shape`, for output gradient g."""
    node = conv.Conv2dOp()
    node.forward(ew._xp(g).zeros(x_shape, dtype=g.dtype), w, None, **params)
    node.parents = (True, None)
    return node.backward(g)[0].copy()


def _conv_weight_grad(x, g, w_shape, params):
    """The gradient of conv2d(x, w) with respect to a w of `w_shape`, for output gradient g."""
    node = conv.Conv2dOp()
    node.forward(x, ew._xp(g).zeros(w_shape, dtype=g.dtype), None, **params)
    node.parents = (None, True)
    return node.backward(g)[1].copy()


class Conv2dGradInput(Function):
    """conv2d's gradient with respect to its input, a function of the output gradient and
    the weight (a transposed convolution): bilinear, so its own backward is two convolutions."""

    op = "conv2d_backward"

    def forward(self, g, w, x_shape, params):
        self.g, self.w, self.params = g, w, params
        return _conv_input_grad(g, w, x_shape, params)

    def backward(self, gg):
        return (
            _conv(gg, self.w, self.params) if self.needs(0) else None,
            _conv_weight_grad(gg, self.g, self.w.shape, self.params) if self.needs(1) else None,
        )


class Conv2dGradWeight(Function):
    """conv2d's gradient with respect to its weight, a function of the input and the output
    gradient: bilinear too, its backward a transposed convolution and a convolution."""

    op = "conv2d_backward_weight"

    def forward(self, x, g, w_shape, params):
        self.x, self.g, self.params = x, g, params
        return _conv_weight_grad(x, g, w_shape, params)

    def backward(self, gg):
        return (
            _conv_input_grad(self.g, gg, self.x.shape, self.params) if self.needs(0) else None,
            _conv(self.x, gg, self.params) if self.needs(1) else None,
        )


def _saved_input(node, i: int):
    return next(array for _, _, what, array in node.saved if what == i)


@formula(conv.Conv2dOp)
def _conv2d(node, g):
    x_shape = node.geometry[0][1:] if node.unbatched else node.geometry[0]
    params = _conv_params(node)
    w = _input(node, 1, node.wm.reshape(node.w_shape))
    gx = gw = None
    if _wants(node, 0):
        gx = Conv2dGradInput.apply(g, w, x_shape=x_shape, params=params)
    if _wants(node, 1):
        x = _input(node, 0, _saved_input(node, 0))
        gw = Conv2dGradWeight.apply(x, g, w_shape=node.w_shape, params=params)
    if not node.has_bias:
        return gx, gw
    gb = ops.sum(g, (1, 2) if node.unbatched else (0, 2, 3)) if _wants(node, 2) else None
    return gx, gw, gb
