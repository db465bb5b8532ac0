"""More layers with PyTorch's names: shrinking and thresholding activations, randomised
ReLU, channel and alpha dropouts, similarity layers, padding, pooling, shuffling, norms,
bags of embeddings, bilinear and lazy linear maps, and margin/likelihood losses."""

from __future__ import annotations

from engine.nn import functional as F
from engine.nn.activation import _DropoutNd
from engine.nn.module import Module


def _flag(inplace):
    return ", inplace=True" if inplace else ""


class CELU(Module):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _flag(self.inplace)


class Hardshrink(Module):
    """x where |x| > lambd, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x shrunk towards 0 by lambd, 0 within [-lambd, lambd]."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class Softmin(Module):
    """softmax(-x) along dim."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels of each (C, H, W) or (N, C, H, W) location."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + _flag(self.inplace)


class RReLU(Module):
    """Leaky ReLU with a random negative slope from U(lower, upper) while training."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + _flag(self.inplace)


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along dim."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """p-norm of x1 - x2 + eps along the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels of (N, C, L) input with probability p while training."""

    _fn = staticmethod(F.dropout1d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's self-normalising mean and variance."""

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    _fn = staticmethod(F.feature_alpha_dropout)


# ----- padding ---------------------------------------------------------------------------------
def _padding(name, padding, n):
    """An int for every side, or the tuple as given (F.pad checks it when called)."""
    return (padding,) * (2 * n) if isinstance(padding, int) else tuple(padding)


class _ConstantPadNd(Module):
    n = 1

    def __init__(self, padding, value: float):
        super().__init__()
        self.padding, self.value = _padding(type(self).__name__, padding, self.n), value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with a constant: `padding` is an int or (left, right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with a constant: an int or (left, right, top, bottom)."""

    n = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dims with a constant: an int or a 6-tuple."""

    n = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    n, mode = 1, "reflect"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self.n)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    """Pads the last dim with its reflection at the edges."""


class ReflectionPad2d(_ModePadNd):
    """Pads the last two dims with their reflection at the edges."""

    n = 2


class ReplicationPad1d(_ModePadNd):
    """Pads the last dim by repeating the edge values."""

    mode = "replicate"


class ReplicationPad2d(_ModePadNd):
    """Pads the last two dims by repeating the edge values."""

    n, mode = 2, "replicate"


# ----- pooling, unpooling, shuffling, resampling ----------------------------------------------
class AdaptiveAvgPool1d(Module):
    """Mean pooling of (N, C, L) input to a fixed length."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    """Max pooling of (N, C, L) input to a fixed length."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _LPPool(Module):
    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input):
        return self._fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPool):
    """p-norm over each window of (N, C, L) input."""

    _fn = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    """p-norm over each window of (N, C, H, W) input."""

    _fn = staticmethod(F.lp_pool2d)


class _MaxUnpool(Module):
    n = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        k = tuple(kernel_size) if isinstance(kernel_size, list | tuple) else (kernel_size,) * self.n
        self.kernel_size = k
        s = k if stride is None else stride
        self.stride = tuple(s) if isinstance(s, list | tuple) else (s,) * self.n
        self.padding = tuple(padding) if isinstance(padding, list | tuple) else (padding,) * self.n

    def forward(self, input, indices, output_size=None):
        return self._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """The inverse of MaxPool1d given its indices: maxima back in place, zeros elsewhere."""

    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """The inverse of MaxPool2d given its indices: maxima back in place, zeros elsewhere."""

    n = 2
    _fn = staticmethod(F.max_unpool2d)


class PixelShuffle(Module):
    """(*, C r², H, W) -> (*, C, H r, W r)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r², H, W)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleaves the channels of `groups` groups."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


from engine.nn.resample import Upsample  # noqa: E402


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) input with align_corners=True."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


from engine.nn.conv import ConvTranspose2d  # noqa: E402


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution, weights (in_channels, out_channels / groups, k)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        def one(name, v):
            v = tuple(v) if isinstance(v, list | tuple) else (v,)
            if len(v) != 1:
                raise ValueError(f"ConvTranspose1d: {name} must be an int or a 1-tuple")
            return v

        Module.__init__(self)
        if padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose1d')
        self.padding_mode = padding_mode
        self.kernel_size = one("kernel_size", kernel_size)
        self.stride = one("stride", stride)
        self.padding = one("padding", padding)
        self.output_padding = one("output_padding", output_padding)
        self.dilation = one("dilation", dilation)
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self._setup(
            "ConvTranspose1d", in_channels, out_channels, groups, bias, shape, device, dtype
        )

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            n = int(list(output_size)[-1])
            smallest = (
                (input.shape[-1] - 1) * self.stride[0]
                - 2 * self.padding[0]
                + self.dilation[0] * (self.kernel_size[0] - 1)
                + 1
            )
            if not smallest <= n < smallest + self.stride[0]:
                raise ValueError(
                    f"requested an output size of {[n]}, but valid sizes range from {smallest} "
                    f"to {smallest + self.stride[0] - 1} (for an input of {[input.shape[-1]]})"
                )
            output_padding = (n - smallest,)
        return F.conv_transpose1d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )

    def extra_repr(self) -> str:
        from engine.nn.conv import _conv_extra_repr

        return _conv_extra_repr(self, (0,), (1,))


# ----- norms, bags of embeddings, bilinear and lazy linear maps -----------------------------
import math  # noqa: E402

from engine import creation  # noqa: E402
from engine.nn import init  # noqa: E402
from engine.nn.module import Parameter  # noqa: E402


class LocalResponseNorm(Module):
    """Normalisation of each channel by its `size` neighbouring channels."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing normalized_shape dims, times weight."""

    def __init__(
        self, normalized_shape, eps=None, elementwise_affine: bool = True, device=None, dtype=None
    ):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(
                creation.empty(*self.normalized_shape, dtype=dtype, device=device)
            )
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class Bilinear(Module):
    """y = x1ᵀ A x2 + b, weight (out_features, in1_features, in2_features)."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={in1_features})")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(
            creation.empty(out_features, in1_features, in2_features, dtype=dtype, device=device)
        )
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


from engine.nn.linear import Linear  # noqa: E402


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet: a lazy layer gives it one on its first call."""


class LazyLinear(Linear):
    """Linear whose in_features is read from its first input; it then becomes a Linear."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._factory = {"device": device, "dtype": dtype}
        self.weight = UninitializedParameter(creation.empty(0, dtype=dtype, device=device))
        if bias:
            self.bias = UninitializedParameter(creation.empty(0, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.in_features != 0:
            super().reset_parameters()

    def _materialize(self, in_features: int) -> None:
        self.in_features = in_features
        self.weight = Parameter(creation.empty(self.out_features, in_features, **self._factory))
        if self.bias is not None:
            self.bias = Parameter(creation.empty(self.out_features, **self._factory))
        del self._factory
        Linear.reset_parameters(self)
        self.__class__ = self.cls_to_become

    def forward(self, input):
        self._materialize(input.shape[-1])
        return Linear.forward(self, input)

    def load_state_dict(self, state_dict, strict: bool = True):
        if "weight" in state_dict:
            self._materialize(state_dict["weight"].shape[-1])
        return Linear.load_state_dict(self, state_dict, strict)


# ----- margin and likelihood losses ---------------------------------------------------------
from engine.ops.losses import _legacy_reduction  # noqa: E402


class _MoreLoss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        self.reduction = reduction


class MultiLabelMarginLoss(_MoreLoss):
    """Multi-class multi-label hinge loss: listed classes against the others."""

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_MoreLoss):
    """Triplet margin loss with any distance function (PairwiseDistance by default)."""

    def __init__(
        self, *, distance_function=None, margin: float = 1.0, swap=False, reduction="mean"
    ):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(
                "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead"
            )
        self.distance_function = (
            distance_function if distance_function is not None else PairwiseDistance()
        )
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction,
        )  # fmt: skip


class AdaptiveAvgPool3d(Module):
    """Mean pooling of (N, C, D, H, W) input to a fixed size."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class CTCLoss(_MoreLoss):
    """Connectionist temporal classification loss."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(
            log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
            self.zero_infinity,
        )  # fmt: skip
