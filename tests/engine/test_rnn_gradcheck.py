"""RNN, LSTM and GRU through the gradcheck helper: finite differences in float64, PyTorch
when installed, and the same again on cuda (test_gpu_ops collects this test there)."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.engine.gradcheck import check_op

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "LSTM_PROJ", "GRU"]
_WEIGHTS = {}


def make(lib, mode: str, *args, **kwargs):
    """An RNN, LSTM or GRU of `lib` (engine or torch)."""
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"
        return lib.nn.RNN(*args, **kwargs)
    if mode == "LSTM_PROJ":
        return lib.nn.LSTM(*args, proj_size=2, **kwargs)
    return getattr(lib.nn, mode)(*args, **kwargs)


def _fixed_weights(mode: str) -> dict:
    """One set of weights per mode for a 2-layer bidirectional layer, drawn once."""
    if mode not in _WEIGHTS:
        rng = np.random.default_rng(10)
        state = make(engine, mode, 2, 3, 2, bidirectional=True).state_dict()
        _WEIGHTS[mode] = {k: rng.uniform(-0.6, 0.6, tuple(v.shape)) for k, v in state.items()}
    return _WEIGHTS[mode]


def _layer_fn(mode: str):
    def fn(lib, x, *hidden):
        module = make(lib, mode, 2, 3, 2, bidirectional=True)
        module.load_state_dict({k: lib.tensor(v) for k, v in _fixed_weights(mode).items()})
        module = module.to(x.dtype).to(x.device)
        lstm = mode.startswith("LSTM")
        out, h_n = module(x, tuple(hidden) if lstm else hidden[0])
        return (out, *h_n) if lstm else (out, h_n)

    return fn


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")  # torch's note
@pytest.mark.parametrize("mode", MODES)
def test_recurrent_gradcheck(mode):
    rng = np.random.default_rng(11)
    hidden = [rng.standard_normal((4, 2, 2 if mode == "LSTM_PROJ" else 3))]
    if mode.startswith("LSTM"):
        hidden.append(rng.standard_normal((4, 2, 3)))
    check_op(_layer_fn(mode), rng.standard_normal((3, 2, 2)), *hidden)


def _packed_fn(mode: str):
    def fn(lib, x, *hidden):
        rnn_utils = lib.nn.utils.rnn
        module = make(lib, mode, 2, 3, 2, bidirectional=True)
        module.load_state_dict({k: lib.tensor(v) for k, v in _fixed_weights(mode).items()})
        module = module.to(x.dtype).to(x.device)
        packed = rnn_utils.pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False)
        lstm = mode.startswith("LSTM")
        out, h_n = module(packed, tuple(hidden) if lstm else hidden[0])
        padded = rnn_utils.pad_packed_sequence(out)[0]
        return (padded, *h_n) if lstm else (padded, h_n)

    return fn


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")  # torch's note
@pytest.mark.parametrize("mode", MODES)
def test_packed_recurrent_gradcheck(mode):
    rng = np.random.default_rng(12)
    hidden = [rng.standard_normal((4, 3, 2 if mode == "LSTM_PROJ" else 3))]
    if mode.startswith("LSTM"):
        hidden.append(rng.standard_normal((4, 3, 3)))
    check_op(_packed_fn(mode), rng.standard_normal((3, 3, 2)), *hidden)
