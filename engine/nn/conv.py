"""Conv2d and the 2-D pooling layers."""

from __future__ import annotations

import math

from engine import _checks, creation
from engine.nn import functional as F
from engine.nn import init
from engine.nn.module import Module, Parameter


class Conv2d(Module):
    """2-D convolution over NCHW input."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = "Conv2d"
        self.in_channels = _checks.positive_int(name, "in_channels", in_channels)
        self.out_channels = _checks.positive_int(name, "out_channels", out_channels)
        self.groups = _checks.positive_int(name, "groups", groups)
        if in_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels must be divisible by groups ({in_channels} % {groups} != 0)"
            )
        if out_channels % groups:
            raise ValueError(
                f"Conv2d: out_channels must be divisible by groups ({out_channels} % {groups} != 0)"
            )
        self.kernel_size = _checks.pair(name, "kernel_size", kernel_size)
        self.stride = _checks.pair(name, "stride", stride)
        if isinstance(padding, str):
            self.padding = _checks.choice(name, "padding", padding, ("valid", "same"))
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
        else:
            self.padding = _checks.pair(name, "padding", padding, allow_zero=True)
        self.dilation = _checks.pair(name, "dilation", dilation)
        self.padding_mode = _checks.choice(
            name, "padding_mode", padding_mode, ("zeros", "reflect", "replicate", "circular")
        )
        kh, kw = self.kernel_size
        if self.padding == "same":  # the odd pixel goes after, as in PyTorch
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size, strict=True)]
            per_side = [(t // 2, t - t // 2) for t in totals]
        elif self.padding == "valid":
            per_side = [(0, 0), (0, 0)]
        else:
            per_side = [(p, p) for p in self.padding]
        # F.pad's order: last dim first
        self._reversed_padding_repeated_twice = (*per_side[1], *per_side[0])
        _checks.allocation(
            f"Conv2d({in_channels}, {out_channels}, kernel_size={kernel_size}): its parameters",
            [(out_channels, in_channels // groups, kh, kw)] + [(out_channels,)] * bool(bias),
            dtype,
        )
        self.weight = Parameter(
            creation.empty(out_channels, in_channels // groups, kh, kw, dtype=dtype, device=device)
        )
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(
                padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups
            )
        return F.conv2d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        return _conv_extra_repr(self, (0, 0), (1, 1))


class MaxPool2d(Module):
    """Maximum over each kernel window."""

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        _checks.pair("MaxPool2d", "kernel_size", kernel_size)
        if stride is not None:
            _checks.pair("MaxPool2d", "stride", stride)
        _checks.pair("MaxPool2d", "padding", padding, allow_zero=True)
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over each kernel window."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__()
        _checks.pair("AvgPool2d", "kernel_size", kernel_size)
        if stride is not None:
            _checks.pair("AvgPool2d", "stride", stride)
        _checks.pair("AvgPool2d", "padding", padding, allow_zero=True)
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed output size."""

    def __init__(self, output_size):
        super().__init__()
        _checks.pair("AdaptiveAvgPool2d", "output_size", output_size)
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


def _conv_extra_repr(m, zeros, ones) -> str:
    """PyTorch's _ConvNd.extra_repr: the non-default arguments, tuples as tuples."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding != zeros:
        s += f", padding={m.padding}"
    if m.dilation != ones:
        s += f", dilation={m.dilation}"
    if getattr(m, "output_padding", zeros) != zeros:
        s += f", output_padding={m.output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


def _tuple(layer: str, name: str, value, n: int, allow_zero: bool = False) -> tuple:
    items = (value,) * n if isinstance(value, int) else tuple(value)
    if len(items) != n:
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(_checks.positive_int(layer, name, v, allow_zero) for v in items)


class _WeightedConv(Module):
    """Channels, groups, weight and bias as PyTorch's conv layers keep them; the weight is
    `weight_shape` and both are initialised by reset_parameters."""

    def _setup(self, name, in_channels, out_channels, groups, bias, weight_shape, device, dtype):
        self.in_channels = _checks.positive_int(name, "in_channels", in_channels)
        self.out_channels = _checks.positive_int(name, "out_channels", out_channels)
        self.groups = _checks.positive_int(name, "groups", groups)
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if n % groups:
                raise ValueError(
                    f"{name}: {what} must be divisible by groups ({n} % {groups} != 0)"
                )
        _checks.allocation(
            f"{name}({in_channels}, {out_channels}, kernel_size={self.kernel_size}): "
            "its parameters",
            [weight_shape] + [(out_channels,)] * bool(bias),
            dtype,
        )
        self.weight = Parameter(creation.empty(*weight_shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)


class Conv1d(_WeightedConv):
    """1-D convolution over (N, C, L) input."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = "Conv1d"
        self.kernel_size = _tuple(name, "kernel_size", kernel_size, 1)
        self.stride = _tuple(name, "stride", stride, 1)
        self.dilation = _tuple(name, "dilation", dilation, 1)
        if isinstance(padding, str):
            self.padding = _checks.choice(name, "padding", padding, ("valid", "same"))
            if padding == "same" and self.stride != (1,):
                raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
        else:
            self.padding = _tuple(name, "padding", padding, 1, allow_zero=True)
        self.padding_mode = _checks.choice(
            name, "padding_mode", padding_mode, ("zeros", "reflect", "replicate", "circular")
        )
        if self.padding == "same":  # the odd element goes after, as in PyTorch
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            self._reversed_padding_repeated_twice = (total // 2, total - total // 2)
        elif self.padding == "valid":
            self._reversed_padding_repeated_twice = (0, 0)
        else:
            self._reversed_padding_repeated_twice = self.padding * 2
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self._setup(name, in_channels, out_channels, groups, bias, shape, device, dtype)

    def forward(self, input):
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv1d(
                padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups
            )
        return F.conv1d(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        return _conv_extra_repr(self, (0,), (1,))


class ConvTranspose2d(_WeightedConv):
    """Transposed 2-D convolution (the gradient of Conv2d with respect to its input),
    weights (in_channels, out_channels / groups, kH, kW)."""

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
        super().__init__()
        name = "ConvTranspose2d"
        if padding_mode != "zeros":
            raise ValueError(
                f'Only "zeros" padding mode is supported for {name}, got {padding_mode!r}'
            )
        self.padding_mode = padding_mode
        self.kernel_size = _checks.pair(name, "kernel_size", kernel_size)
        self.stride = _checks.pair(name, "stride", stride)
        self.padding = _checks.pair(name, "padding", padding, allow_zero=True)
        self.output_padding = _checks.pair(name, "output_padding", output_padding, allow_zero=True)
        self.dilation = _checks.pair(name, "dilation", dilation)
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self._setup(name, in_channels, out_channels, groups, bias, shape, device, dtype)

    def _output_padding(self, input, output_size) -> tuple[int, int]:
        """The output_padding that gives `output_size` (its last two entries are used)."""
        if output_size is None:
            return self.output_padding
        size = [int(n) for n in output_size][-2:]
        if len(size) != 2:
            raise ValueError(
                f"ConvTranspose2d: output_size must have 2 or more elements, got {output_size}"
            )
        extra = []
        for axis, n in enumerate(size):
            smallest = (
                (input.shape[axis - 2] - 1) * self.stride[axis]
                - 2 * self.padding[axis]
                + self.dilation[axis] * (self.kernel_size[axis] - 1)
                + 1
            )
            largest = smallest + self.stride[axis] - 1
            if not smallest <= n <= largest:
                raise ValueError(
                    f"ConvTranspose2d: requested an output size of {size}, but valid sizes range "
                    f"from {smallest} to {largest} along axis {axis} (for an input of "
                    f"{tuple(input.shape[-2:])})"
                )
            extra.append(n - smallest)
        return tuple(extra)

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )

    def extra_repr(self) -> str:
        return _conv_extra_repr(self, (0, 0), (1, 1))
