"""Losses: nll, cross-entropy, mse, l1, binary cross-entropy, smooth l1, huber, kl-div."""

from __future__ import annotations

import warnings

import numpy as np

from engine import backend
from engine.autograd import Function, OpError, unbroadcast
from engine.dtypes import scalar_name
from engine.ops import unary
from engine.ops.activation import log_softmax
from engine.ops.elementwise import _operands, _xp, where
from engine.tensor import Tensor


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction!r} is not a valid value for reduction (mean, sum or none)")


class NLLLossOp(Function):
    op = "nll_loss"
    saves = ((0, None),)
    saves_others = True  # the target

    def forward(self, logp, target, weight, ignore_index, reduction):
        xp = _xp(logp)
        classes = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
        flat = xp.moveaxis(logp, 1, -1).reshape(-1, classes) if logp.ndim > 1 else logp[None]
        t = target.reshape(-1)
        valid = t != ignore_index
        safe = xp.where(valid, t, 0)
        if safe.size and (int(safe.min()) < 0 or int(safe.max()) >= classes):
            bad = int(safe.max()) if int(safe.max()) >= classes else int(safe.min())
            raise IndexError(f"target {bad} is out of bounds for {classes} classes")
        w = valid.astype(logp.dtype) if weight is None else weight[safe] * valid
        rows = xp.arange(t.size)
        losses = -flat[rows, safe] * w
        self.meta = (logp.shape, classes, rows[valid], safe[valid], w[valid], reduction, valid)
        if reduction == "none":
            return losses.reshape(target.shape)
        if reduction == "sum":
            return losses.sum()
        self.total = w.sum()
        return losses.sum() / self.total

    def backward(self, g):
        # only the rows whose target is not ignored are written: an ignored row gets
        # exactly 0 even when the mean over no rows made the incoming gradient inf
        shape, classes, rows, safe, w, reduction, valid = self.meta
        xp = _xp(g)
        if reduction == "none":
            scale = g.reshape(-1)[valid]
        elif reduction == "sum":
            scale = g
        else:
            scale = g / self.total
        flat = xp.zeros((valid.size, classes), dtype=g.dtype)
        flat[rows, safe] = -w * scale
        if len(shape) == 1:
            return (flat[0],)
        moved = flat.reshape((shape[0],) + tuple(shape[2:]) + (classes,))
        return (xp.moveaxis(moved, -1, 1),)


def _check_devices(op, input, *others) -> None:
    """Targets and weights reach an op as arguments, outside Function.run's device check."""
    if backend.cuda_used:
        backend.check_same_device(op, [input._data] + [t._data for t in others if t is not None])


def _check_targets(input, target, op, weight=None):
    """PyTorch's checks of class-index targets (and of the class weights), with its errors."""
    name = target._data.dtype.name
    if name not in ("int64", "uint8"):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {scalar_name(target._data.dtype)}"
        )
    if input.ndim >= 3 and name == "uint8":
        raise RuntimeError("expected scalar type Long but found Byte")
    if input.ndim <= 2:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if input.ndim == 2 and target.shape[0] != input.shape[0]:
            raise ValueError(
                f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                f"({target.shape[0]})."
            )
        if input.ndim == 1 and target.ndim != 0:
            raise ValueError(
                f"{op}: a 1-D input (one sample of {input.shape[0]} classes) needs a 0-D "
                f"target, got shape {tuple(target.shape)}"
            )
    else:
        expect = (input.shape[0],) + tuple(input.shape[2:])
        if target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(
                f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                f"({target.shape[0]})."
            )
        if tuple(target.shape) != expect:
            raise RuntimeError(f"Expected target size {list(expect)}, got {list(target.shape)}")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != classes):
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean",
):  # fmt: skip
    """Negative log-likelihood of class indices under log-probabilities."""
    reduction = _reduction_of(size_average, reduce, reduction)
    _check_targets(input, target, "nll_loss", weight)
    _check_devices("nll_loss", input, target, weight)
    _reduce_name(reduction)
    return NLLLossOp.apply(
        input,
        target=target._data,
        weight=None if weight is None else weight._data,
        ignore_index=ignore_index,
        reduction=reduction,
    )


def _reduce_name(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction!r} is not a valid value for reduction (mean, sum or none)")


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,
    reduction="mean",
    label_smoothing=0.0,
):
    """log_softmax over dim 1, then nll_loss (or soft targets of the input's shape)."""
    reduction = _reduction_of(size_average, reduce, reduction)
    if label_smoothing > 1.0:  # PyTorch's check (a negative value passes through it too)
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _reduce_name(reduction)
    logp = log_softmax(input, dim=1 if input.ndim > 1 else 0)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    class_shape = (classes,) + (1,) * (input.ndim - 2) if input.ndim > 1 else (classes,)
    if target._data.dtype.kind == "f":  # class probabilities
        if tuple(target.shape) != tuple(input.shape):  # then read as class indices
            kind = "Double" if target._data.dtype.itemsize == 8 else "Float"
            raise RuntimeError(
                f"expected target dtype to be Long or Byte, but got {kind} (soft targets need "
                f"the input's shape {tuple(input.shape)}, got {tuple(target.shape)})"
            )
        probs = target
        if label_smoothing > 0:  # PyTorch smooths only then (a negative value means none)
            probs = target * (1 - label_smoothing) + label_smoothing / classes
        weighted = logp * probs if weight is None else logp * probs * weight.reshape(class_shape)
        return _reduce(-weighted.sum(dim=1 if input.ndim > 1 else 0), reduction)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return loss
    w = 1.0 if weight is None else weight.reshape(class_shape)
    valid = target != ignore_index
    smooth = where(valid, -(logp * w).sum(dim=1 if input.ndim > 1 else 0), 0.0)
    if reduction == "mean":
        safe = where(valid, target, 0)
        denom = valid.sum() if weight is None else (weight[safe] * valid.to(weight.dtype)).sum()
        smooth = smooth.sum() / denom.to(logp.dtype)
    else:
        smooth = _reduce(smooth, reduction)
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _check_same_shape(input, target, op):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"{op}: target size {tuple(target.shape)} differs from input size "
            f"{tuple(input.shape)}; broadcasting may give a wrong result",
            stacklevel=3,
        )


class MSELossOp(Function):
    """(x - t)², one node as in PyTorch, which saves the input and the target themselves."""

    op = "mse_loss"
    saves = ((0, None), (1, None))

    def forward(self, x, target):
        self.diff, self.shapes = x - target, (x.shape, target.shape)
        return self.diff * self.diff

    def backward(self, g):
        grad = 2 * self.diff * g
        return (
            unbroadcast(grad, self.shapes[0]) if self.needs(0) else None,
            unbroadcast(-grad, self.shapes[1]) if self.needs(1) else None,
        )


def _weighted(loss, weight, input, reduction: str):
    """PyTorch's weighted mse/l1: weight has the input's size; 'mean' divides by its sum."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_shape(input, target, "mse_loss")
    reduction = _reduction_of(size_average, reduce, reduction)
    x, t = _operands(input, target)
    if weight is not None:
        return _weighted(MSELossOp.apply(x, t), weight, input, reduction)
    return _reduce(MSELossOp.apply(x, t), reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_shape(input, target, "l1_loss")
    reduction = _reduction_of(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(unary.abs(input - target), weight, input, reduction)
    return _reduce(unary.abs(input - target), reduction)


class BinaryCrossEntropyOp(Function):
    """-w (t log x + (1 - t) log(1 - x)), differentiable in the input x and the target t."""

    op = "binary_cross_entropy"
    saves = ((0, None), (1, None))  # the input and the target

    def forward(self, x, target, weight):
        xp = _xp(x)
        if x.size and not bool(((x >= 0) & (x <= 1)).all()):  # NaN is out of range too
            raise OpError("binary_cross_entropy: all elements of input should be between 0 and 1")
        self.x, self.target, self.weight = x, target, weight
        # log clamped at -100, as PyTorch does, so a confident mistake is large but finite
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log(1 - x), -100)
        loss = -(target * log_x + (1 - target) * log_1mx)
        return loss if weight is None else loss * weight

    def backward(self, g):
        x, t, xp = self.x, self.target, _xp(g)
        if self.weight is not None:
            g = g * self.weight
        gx = gt = None
        if self.needs(0):
            eps = x.dtype.type(np.float32(1e-12))  # PyTorch's EPSILON is a float
            gx = g * (x - t) / xp.maximum((1 - x) * x, eps)
        if self.needs(1):  # -logit(x), unclamped as in PyTorch: +-inf at x = 0 or 1
            gt = -g * xp.log(x / (1 - x))
        return gx, gt


def _as_input_dtype(target: Tensor, input: Tensor) -> Tensor:
    return target if target.dtype == input.dtype else target.to(input.dtype)


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    reduction = _reduction_of(size_average, reduce, reduction)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"binary_cross_entropy: target size {tuple(target.shape)} must match input size "
            f"{tuple(input.shape)}"
        )
    _check_devices("binary_cross_entropy", input, target, weight)
    if target._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {target.dtype} but expected {input.dtype}")
    t = target._data
    if t.size and not bool(((t >= 0) & (t <= 1)).all()):
        raise RuntimeError("binary_cross_entropy: all elements of target should be between 0 and 1")
    _reduce_name(reduction)
    w = None if weight is None else _xp(input._data).broadcast_to(weight._data, input.shape)
    loss = BinaryCrossEntropyOp.apply(input, _as_input_dtype(target, input), weight=w)
    return _reduce(loss, reduction)


def _log_sigmoid(xp, x):
    """log(sigmoid(x)) without overflow: min(x, 0) - log1p(exp(-|x|)), as PyTorch."""
    if x.dtype != np.float32:
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
    # NumPy's float32 exp and log1p are an ulp off where PyTorch's are not, which shows once
    # the loss meets a float64 target: each step in float64, rounded to float32 as there
    e = xp.exp(-xp.abs(x).astype(np.float64)).astype(np.float32)
    return xp.minimum(x, 0) - xp.log1p(e.astype(np.float64)).astype(np.float32)


class BCEWithLogitsOp(Function):
    """(1 - t) x - lw log(sigmoid(x)), lw = 1 + (pos_weight - 1) t; differentiable in x and t."""

    op = "binary_cross_entropy_with_logits"
    saves = ((0, None), (1, None))  # the input and the target

    def forward(self, x, target, pos_weight):
        xp = _xp(x)
        self.x, self.target, self.pos_weight = x, target, pos_weight
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
        return (1 - target) * x - lw * _log_sigmoid(xp, x)

    def backward(self, g):
        x, t, pw, xp = self.x, self.target, self.pos_weight, _xp(g)
        gx = gt = None
        if self.needs(0):  # PyTorch's forms: sigmoid(x) - t, or (pw t + 1 - t) sigmoid(x) - pw t
            sig = 1 / (1 + xp.exp(-x))
            gx = g * (sig - t if pw is None else (pw * t + 1 - t) * sig - pw * t)
        if self.needs(1):
            gt = g * (-x if pw is None else _log_sigmoid(xp, -x) - _log_sigmoid(xp, x) * pw)
        return gx, gt


def _bce_with_logits_in_target_dtype(input, target, pos_weight):
    """PyTorch's steps where target and input differ in dtype: (1 - t) x in their promoted
    dtype, log-sigmoid in the input's, the loss in the target's (the in-place form there)."""
    ones = Tensor._make(_xp(input._data).ones(input.shape, dtype=input._data.dtype), False, None)
    softplus_neg = BCEWithLogitsOp.apply(input, ones, pos_weight=None)  # -log sigmoid
    if pos_weight is not None:
        softplus_neg = softplus_neg * (1 + (pos_weight - 1) * target).to(input.dtype)
    return ((1 - target) * input + softplus_neg).to(target.dtype)


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction="mean",
    pos_weight=None,
):
    """Sigmoid and binary cross-entropy in one numerically stable step."""
    reduction = _reduction_of(size_average, reduce, reduction)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"binary_cross_entropy_with_logits: target size {tuple(target.shape)} must match "
            f"input size {tuple(input.shape)}"
        )
    _check_devices("binary_cross_entropy_with_logits", input, target, pos_weight)
    _reduce_name(reduction)
    if target._data.dtype.kind != "f":
        raise RuntimeError(
            f"result type {input.dtype} can't be cast to the desired output type {target.dtype}"
        )
    if target._data.dtype != input._data.dtype:
        loss = _bce_with_logits_in_target_dtype(input, target, pos_weight)
    else:
        loss = BCEWithLogitsOp.apply(
            input, target, pos_weight=None if pos_weight is None else pos_weight._data
        )
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _reduction_of(size_average, reduce, reduction: str) -> str:
    """`reduction`, or the one the deprecated size_average and reduce flags stand for."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce, stacklevel=4)
    return reduction


def _legacy_reduction(size_average, reduce, stacklevel: int = 3) -> str:
    """The reduction that PyTorch's deprecated size_average and reduce flags stand for."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    name = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{name}' instead.",
        stacklevel=stacklevel,
    )
    return name


class SmoothL1LossOp(Function):
    """0.5 d² / beta where |d| < beta, else |d| - 0.5 beta, with d = x - t (huber: delta scales
    the linear part, and the quadratic part is not divided)."""

    op = "smooth_l1_loss"
    saves = ((0, None), (1, None))

    def forward(self, x, target, beta, huber, refuse=None):
        xp = _xp(x)
        self.refuse = refuse  # (input, target) dtype names: PyTorch's huber backward fails
        d = x - target
        a = xp.abs(d)
        b = d.dtype.type(beta)
        half = d.dtype.type(0.5)
        if huber:
            out = xp.where(a < b, half * d * d, b * (a - half * b))
        else:
            out = xp.where(a < b, half * d * d / b, a - half * b)
        self.d, self.beta, self.huber, self.shapes = d, b, huber, (x.shape, target.shape)
        self.x, self.target = x, target
        return out

    def _check_dtypes(self) -> None:
        if self.refuse is not None:
            ours, theirs = self.refuse if self.needs(0) else self.refuse[::-1]
            raise RuntimeError(f"Found dtype {theirs} but expected {ours}")

    def backward(self, g):
        self._check_dtypes()
        xp, d, b = _xp(g), self.d, self.beta
        slope = xp.clip(d, -b, b) if self.huber else xp.clip(d / b, -1, 1)
        grad = slope * g
        return (
            unbroadcast(grad, self.shapes[0]) if self.needs(0) else None,
            unbroadcast(-grad, self.shapes[1]) if self.needs(1) else None,
        )

    def backward_graph(self, g):
        from engine.ops import graph_grads as gg

        self._check_dtypes()
        d = gg._input(self, 0, self.x) - gg._input(self, 1, self.target)
        b = float(self.beta)
        grad = (unary.clamp(d, -b, b) if self.huber else unary.clamp(d / b, -1.0, 1.0)) * g
        return gg._each(
            self,
            lambda: gg._sum_to(grad, self.shapes[0]),
            lambda: gg._sum_to(-grad, self.shapes[1]),
        )


def _check_elementwise_loss(op, input, target, kernel):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )
    _check_devices(op, input, target)
    x, t = _operands(input, target)
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for {scalar_name(x._data.dtype)!r}')
    try:
        np.broadcast_shapes(tuple(x.shape), tuple(t.shape))
    except ValueError:
        raise RuntimeError(
            f"{op}: the size of input {tuple(input.shape)} must match the size of target "
            f"{tuple(target.shape)} at each non-singleton dimension"
        ) from None
    return x, t


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Squared error below beta, absolute error above, joined smoothly."""
    x, t = _check_elementwise_loss("smooth_l1_loss", input, target, "smooth_l1_cpu")
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    _reduce_name_torch(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return _reduce(unary.abs(x - t), reduction)
    return _reduce(SmoothL1LossOp.apply(x, t, beta=float(beta), huber=False), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Squared error below delta, delta-scaled absolute error above."""
    x, t = _check_elementwise_loss("huber_loss", input, target, "huber_cpu")
    if weight is None:
        _reduce_name_torch(reduction)
    elif tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    refuse = None
    if input.dtype != target.dtype:
        refuse = (scalar_name(input._data.dtype), scalar_name(target._data.dtype))
    loss = SmoothL1LossOp.apply(x, t, beta=float(delta), huber=True, refuse=refuse)
    if loss.dtype != input.dtype:  # PyTorch writes the loss in the input's dtype
        loss = loss.to(input.dtype)
    if weight is None:
        return _reduce(loss, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'."
        )
    return _reduce(loss * weight, reduction)


def _reduce_name_torch(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _rounded(fn, xp, a):
    """fn(a), for float32 taken in float64 and rounded once: NumPy's float32 exp and log can
    be an ulp off PyTorch's, which shows once the result is promoted or scaled."""
    if a.dtype != np.float32:
        return fn(a)
    return fn(a.astype(np.float64)).astype(np.float32)


class KLDivOp(Function):
    """t (log t - x), or with log_target exp(t) (t - x): the pointwise KL divergence of the
    target from the input's log-probabilities."""

    op = "kl_div"
    # PyTorch's steps save the target, and the input where the target wants a gradient;
    # with log_target only exp(target) and target - input, which forward keeps here
    saves = ((1, None), (0, 1))
    saves_others = True

    def forward(self, x, target, log_target, own):
        # x and target come in their promoted dtype; `own` is the target in its own dtype,
        # in which PyTorch takes exp(target) and xlogy(target, target) before promoting
        xp = _xp(x)
        self.x, self.target, self.log_target = x, target, log_target
        self.shapes = (x.shape, target.shape)
        if log_target:
            self.saves = ()
            self.e = _rounded(xp.exp, xp, own).astype(x.dtype, copy=False)
            self.diff = target - x
            return self.e * self.diff
        zero = own == 0  # 0 log 0 is 0, as torch.xlogy has it
        xlogy = xp.where(zero, 0, own * _rounded(xp.log, xp, xp.where(zero, 1, own)))
        return xlogy.astype(x.dtype, copy=False) - target * x

    def backward(self, g):
        xp, x, t = _xp(g), self.x, self.target
        gx = gt = None
        e = self.e if self.log_target else t
        if self.needs(0):
            gx = unbroadcast(-e * g, self.shapes[0])
        if self.needs(1):  # each term as PyTorch's steps give it, summed in their order
            if self.log_target:
                gt = g * e + (g * self.diff) * e
            else:  # d/dt xlogy(t, t) = log t (0 where t = 0) + t / t (NaN at 0, as in PyTorch)
                zero = t == 0
                log_t = xp.where(zero, 0, xp.log(xp.where(zero, 1, t)))
                gt = (-g * x + g * log_t) + (g * t) / t
            gt = unbroadcast(gt, self.shapes[1])
        return gx, gt

    def backward_graph(self, g):
        from engine.ops import graph_grads as gg

        x, t = gg._input(self, 0, self.x), gg._input(self, 1, self.target)
        if self.log_target:
            e = unary.exp(t)
            return gg._each(
                self,
                lambda: gg._sum_to(-e * g, self.shapes[0]),
                lambda: gg._sum_to(g * e * (t - x + 1), self.shapes[1]),
            )
        zero = gg._const(self.target == 0)
        log_t = where(zero, 0.0, unary.log(where(zero, 1.0, t)))
        return gg._each(
            self,
            lambda: gg._sum_to(-t * g, self.shapes[0]),
            lambda: gg._sum_to(g * (log_t + t / t - x), self.shapes[1]),
        )


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of target (probabilities, or log-probabilities with log_target) from
    input (log-probabilities)."""
    if input._data.dtype.kind not in "fc" or target._data.dtype.kind not in "fc":
        raise RuntimeError("kl_div: Integral inputs not supported.")
    _check_devices("kl_div", input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            stacklevel=2,
        )
    if reduction != "batchmean":
        _reduce_name_torch(reduction)
    x, t = _operands(input, target)
    try:
        np.broadcast_shapes(tuple(x.shape), tuple(t.shape))
    except ValueError:
        raise RuntimeError(
            f"kl_div: the size of input {tuple(input.shape)} must match the size of target "
            f"{tuple(target.shape)} at each non-singleton dimension"
        ) from None
    loss = KLDivOp.apply(x, t, log_target=bool(log_target), own=target._data)
    if reduction != "batchmean":
        return _reduce(loss, reduction)
    total = loss.sum()
    return total / input.shape[0] if input.ndim else total
