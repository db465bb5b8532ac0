"""RNN, LSTM and GRU layers and their one-step cells, with PyTorch's parameter names."""

from __future__ import annotations

import math
import warnings

import numpy as np

from engine import _checks, creation, ops
from engine.dtypes import scalar_name
from engine.nn import functional as F
from engine.nn import init
from engine.nn.module import Module, Parameter
from engine.nn.utils.rnn import PackedSequence, _packed_rows, _sizes
from engine.ops.rnn import GRULayerOp, LSTMLayerOp, RNNLayerOp

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _run_layer(mode: str, xw, w_hh, b_hh, h0, c0, reverse: bool, w_hr=None, sizes=None):
    """One layer in one direction: (output (L, N, H), h_n, c_n or None).

    `sizes`: a packed sequence's batch sizes (the batch sorted by length, longest first).
    """
    extra = () if b_hh is None else (b_hh,)
    steps = xw.shape[0]
    kw = {"reverse": reverse, "batch_sizes": None if sizes is None else tuple(sizes)}
    if mode == "LSTM" and w_hr is not None:
        extra += (w_hr,)
        y = LSTMLayerOp.apply(xw, w_hh, h0, c0, *extra, projected=True, **kw)
        n_h = steps * h0.shape[0] * h0.shape[1]
        out = y[:n_h].reshape(steps, h0.shape[0], h0.shape[1])
        c_n = y[n_h:].reshape(c0.shape[0], c0.shape[1])
    elif mode == "LSTM":
        y = LSTMLayerOp.apply(xw, w_hh, h0, c0, *extra, **kw)
        out, c_n = y[:steps], y[steps]
    else:
        if mode == "GRU":
            out = GRULayerOp.apply(xw, w_hh, h0, *extra, **kw)
        else:
            nonlinearity = "tanh" if mode == "RNN_TANH" else "relu"
            out = RNNLayerOp.apply(xw, w_hh, h0, *extra, nonlinearity=nonlinearity, **kw)
        c_n = None
    if reverse or sizes is None or sizes[-1] == sizes[0]:
        return out, out[0 if reverse else steps - 1], c_n
    # each sequence's last state is at its own last step
    last = np.asarray(_lengths(sizes)) - 1
    return out, out[last, np.arange(len(last))], c_n


def _lengths(sizes) -> list[int]:
    """The length of each sequence of a packed batch, from its batch sizes."""
    return [sum(1 for b in sizes if b > n) for n in range(sizes[0])]


def _check_dtype(input, weight) -> None:
    if input.dtype != weight.dtype:
        raise ValueError(
            f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
            f"Convert input: input.to({weight.dtype}), or convert model: "
            f"model.to({input.dtype})"
        )


def _check_hidden_dtype(hidden, weight) -> None:
    """PyTorch's error for a hidden state of another dtype than the weights."""
    for h in hidden:
        if h is not None and h.dtype != weight.dtype:
            raise RuntimeError(
                "mat1 and mat2 must have the same dtype, but got "
                f"{scalar_name(h._data.dtype)} and {scalar_name(weight._data.dtype)}"
            )


class RNNBase(Module):
    """The layers shared by RNN, LSTM and GRU: stacked, optionally bidirectional."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = "RNN" if mode.startswith("RNN") else mode
        if not isinstance(dropout, int | float) or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        if not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        _checks.positive_int(name, "input_size", input_size, allow_zero=True)
        if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                UserWarning,
                stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size  # the size of each step's hidden state
        shapes = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            shapes += [(gate_size, layer_in), (gate_size, out_size)]
            shapes += [(gate_size,)] * (2 * bias) + [(proj_size, hidden_size)] * bool(proj_size)
        _checks.allocation(
            f"{name}({input_size}, {hidden_size}): its parameters", shapes * directions, dtype
        )
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
                shapes = [(gate_size, layer_in), (gate_size, out_size)]
                if bias:
                    names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                if proj_size:
                    names.append(f"weight_hr{suffix}")
                    shapes.append((proj_size, hidden_size))
                for n, shape in zip(names, shapes, strict=True):
                    t = creation.empty(*shape, dtype=dtype, device=device)
                    setattr(self, n, Parameter(t))
                self._flat_weights_names += names
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do here: the weights are separate arrays already (kept for PyTorch code)."""

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: [[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]."""
        per = (4 if self.bias else 2) + bool(self.proj_size)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def _layer_weights(self, k: int):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer-and-direction number k (None: absent)."""
        weights = self.all_weights[k]
        w_hr = weights.pop() if self.proj_size else None
        if not self.bias:
            weights += [None, None]
        return (*weights, w_hr)

    def _check_hidden(self, hx, expected: tuple, which: str = "hidden") -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {which} size {expected}, got {list(hx.shape)}")

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        return self._forward(input, hx)

    def _forward_packed(self, packed: PackedSequence, hx):
        """Run on the padded form of `packed`; each step runs only the sequences it holds."""
        sizes = _sizes(packed)
        steps, batch, data = len(sizes), sizes[0], packed.data
        rows = _packed_rows(sizes, batch)
        where = np.full(steps * batch, data.shape[0], dtype=np.int64)
        where[rows] = np.arange(data.shape[0])
        zero = creation.zeros(1, *data.shape[1:], dtype=data.dtype, device=data.device)
        padded = ops.cat([data, zero])[where].reshape(steps, batch, *data.shape[1:])
        order, back = packed.sorted_indices, packed.unsorted_indices
        if hx is not None and order is not None:
            hx = (
                tuple(h[:, order.numpy()] for h in hx)
                if self.mode == "LSTM"
                else hx[:, order.numpy()]
            )
        output, hidden = self._forward(padded, hx, sizes)
        output = output.reshape(steps * batch, output.shape[2])[rows]
        output = PackedSequence(output, packed.batch_sizes, order, back)
        if back is not None:
            back = back.numpy()
            hidden = tuple(h[:, back] for h in hidden) if self.mode == "LSTM" else hidden[:, back]
        return output, hidden

    def _forward(self, input, hx=None, sizes=None):
        is_lstm = self.mode == "LSTM"
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        batched = input.ndim == 3
        if hx is not None:
            hx = tuple(hx) if is_lstm else hx
            _check_hidden_dims(hx, batched, is_lstm)
        _check_dtype(input, self.weight_ih_l0)
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if is_lstm else hx.unsqueeze(1)
        elif self.batch_first and sizes is None:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]}"
            )
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.proj_size or self.hidden_size)
        expected_c = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            h0 = creation.zeros(*expected, dtype=input.dtype, device=input.device)
            c0 = creation.zeros(*expected_c, dtype=input.dtype, device=input.device)
            c0 = c0 if is_lstm else None
        elif is_lstm:
            h0, c0 = hx
            self._check_hidden(h0, expected, "hidden[0]")
            self._check_hidden(c0, expected_c, "hidden[1]")
        else:
            h0, c0 = hx, None
            self._check_hidden(h0, expected)
        if steps == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        _check_hidden_dtype((h0, c0), self.weight_ih_l0)
        layer_input, h_n, c_n = input, [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(k)
                xw = F.linear(layer_input, w_ih, b_ih)  # all steps in one matrix product
                c0_k = None if c0 is None else c0[k]
                out, h_last, c_last = _run_layer(
                    self.mode, xw, w_hh, b_hh, h0[k], c0_k, direction == 1, w_hr, sizes
                )
                outputs.append(out)
                h_n.append(h_last)
                c_n.append(c_last)
            layer_input = outputs[0] if directions == 1 else ops.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output, h_n = layer_input, ops.stack(h_n)
        c_n = ops.stack(c_n) if is_lstm else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first and sizes is None:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


def _check_hidden_dims(hx, batched: bool, is_lstm: bool) -> None:
    """PyTorch's error for a hidden state whose number of dims does not fit the input's."""
    want = 3 if batched else 2
    kind = "batched 3-D" if batched else "unbatched 2-D"
    if is_lstm:
        if hx[0].ndim != want or hx[1].ndim != want:
            raise RuntimeError(
                f"For {kind} input, hx and cx should also be {want}-D but got "
                f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors"
            )
    elif hx.ndim != want:
        raise RuntimeError(
            f"For {kind} input, hx should also be {want}-D but got {hx.ndim}-D tensor"
        )


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        proj_size: int = 0,  # accepted as PyTorch does, to refuse it with its error
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory layers; forward returns (output, (h_n, c_n))."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit layers; forward returns (output, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        proj_size: int = 0,  # accepted as PyTorch does, to refuse it with its error
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class RNNCellBase(Module):
    """One step of an RNN, LSTM or GRU: parameters weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, bias: bool, device=None, dtype=None
    ):
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = _checks.positive_int(name, "input_size", input_size, allow_zero=True)
        self.hidden_size = _checks.positive_int(name, "hidden_size", hidden_size, allow_zero=True)
        self.bias = bias
        gate_size = _GATES[mode] * hidden_size
        shapes = [(gate_size, input_size), (gate_size, hidden_size)] + [(gate_size,)] * (2 * bias)
        _checks.allocation(f"{name}({input_size}, {hidden_size}): its parameters", shapes, dtype)
        self.weight_ih = Parameter(creation.empty(*shapes[0], dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty(*shapes[1], dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(gate_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(creation.empty(gate_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def forward(self, input, hx=None):
        name = type(self).__name__
        is_lstm = self.mode == "LSTM"
        if getattr(self, "nonlinearity", "tanh") not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if hx is not None:
            for h in hx if is_lstm else (hx,):
                if h.ndim not in (1, 2):
                    raise ValueError(
                        f"{name}: Expected hidden to be 1D or 2D, got {h.ndim}D instead"
                    )
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[1]} expected "
                f"{self.input_size}"
            )
        batch = input.shape[0]
        if hx is None:
            h0 = creation.zeros(batch, self.hidden_size, dtype=input.dtype, device=input.device)
            c0 = h0
        else:
            h0, c0 = hx if is_lstm else (hx, None)
            if not batched:
                h0 = h0.unsqueeze(0)
                c0 = c0.unsqueeze(0) if is_lstm else None
            for i, h in enumerate((h0, c0) if is_lstm else (h0,)):
                if h.shape[0] != batch:
                    raise RuntimeError(
                        f"Input batch size {batch} doesn't match hidden{i} batch size {h.shape[0]}"
                    )
                if h.shape[1] != self.hidden_size:
                    raise RuntimeError(
                        f"hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                        f"{self.hidden_size}"
                    )
        _check_hidden_dtype((h0, c0), self.weight_ih)
        xw = F.linear(input, self.weight_ih, self.bias_ih).unsqueeze(0)
        out, h_last, c_last = _run_layer(self.mode, xw, self.weight_hh, self.bias_hh, h0, c0, False)
        if not batched:
            h_last = h_last.squeeze(0)
            c_last = c_last.squeeze(0) if is_lstm else None
        return (h_last, c_last) if is_lstm else h_last

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ):
        mode = "RNN_RELU" if nonlinearity == "relu" else "RNN_TANH"  # others fail in forward
        super().__init__(mode, input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step; forward returns (h', c')."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)


class GRUCell(RNNCellBase):
    """One GRU step; forward returns h'."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)
