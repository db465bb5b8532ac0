"""RNN, LSTM, GRU, their cells, MultiheadAttention and the Transformer encoder against PyTorch."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
IN, HID, SEQ, BATCH, PROJ = 3, 4, 5, 2, 2


def make(lib, mode: str, *args, **kwargs):
    """An RNN, LSTM or GRU of `lib` (engine or torch)."""
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"
        return lib.nn.RNN(*args, **kwargs)
    if mode == "LSTM_PROJ":
        return lib.nn.LSTM(*args, proj_size=PROJ, **kwargs)
    return getattr(lib.nn, mode)(*args, **kwargs)


def to_engine(state: dict) -> dict:
    return {k: engine.tensor(v.detach().numpy().copy()) for k, v in state.items()}


def to_torch(state: dict) -> dict:
    return {k: torch.tensor(v.numpy().copy()) for k, v in state.items()}


def pair(mode: str, *args, from_engine: bool = False, **kwargs):
    """The same float64 module in both libraries, its weights copied one way."""
    ours = make(engine, mode, *args, **kwargs).double()
    theirs = make(torch, mode, *args, **kwargs).double()
    if from_engine:
        theirs.load_state_dict(to_torch(ours.state_dict()))
    else:
        ours.load_state_dict(to_engine(theirs.state_dict()))
    return ours, theirs


def close(ours, theirs, what: str, tol: float = 1e-10) -> None:
    assert ours is not None and theirs is not None, what
    a = ours.detach().numpy() if isinstance(ours, engine.Tensor) else ours
    b = theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)


def leaves(arrays: list, lib):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def weighted_sum(outs, weights, lib):
    """A loss that sends a different gradient to every element of every output."""
    total = 0
    for out, w in zip(outs, weights, strict=True):
        total = total + (out * lib.tensor(w)).sum()
    return total


def run_both(ours, theirs, x, hidden):
    """Forward and backward in both libraries; returns the outputs and the leaves."""
    results = []
    for lib, module in ((engine, ours), (torch, theirs)):
        xs = leaves([x], lib)[0]
        hs = leaves(hidden, lib) if hidden else []
        if not hs:
            out = module(xs)
        elif len(hs) == 2:
            out = module(xs, tuple(hs))
        else:
            out = module(xs, hs[0])
        flat = [out[0], *out[1]] if isinstance(out[1], tuple) else list(out)
        results.append((flat, xs, hs))
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(tuple(t.shape)) for t in results[1][0]]
    weighted_sum(results[0][0], weights, engine).backward()
    weighted_sum(results[1][0], weights, torch).backward()
    return results


def compare(ours, theirs, results) -> None:
    (our_outs, our_x, our_h), (their_outs, their_x, their_h) = results
    for i, (a, b) in enumerate(zip(our_outs, their_outs, strict=True)):
        close(a, b, f"output {i}")
    close(our_x.grad, their_x.grad, "input grad")
    for i, (a, b) in enumerate(zip(our_h, their_h, strict=True)):
        close(a.grad, b.grad, f"hidden {i} grad")
    ours_named = dict(ours.named_parameters())
    theirs_named = dict(theirs.named_parameters())
    assert list(ours_named) == list(theirs_named)
    for name, p in theirs_named.items():
        close(ours_named[name].grad, p.grad, f"{name} grad")


COMBOS = list(
    itertools.product([*MODES, "LSTM_PROJ"], [1, 2], [False, True], [False, True], [False, True])
)


@pytest.mark.parametrize("with_h0", [False, True], ids=["no_h0", "h0"])
@pytest.mark.parametrize(
    "mode,layers,bidirectional,batch_first,bias",
    COMBOS,
    ids=[f"{m}-l{n}-{'bi' if b else 'uni'}-{'bf' if f else 'sf'}-{'b' if c else 'nb'}"
         for m, n, b, f, c in COMBOS],
)  # fmt: skip
def test_layers_match_torch(mode, layers, bidirectional, batch_first, bias, with_h0):
    ours, theirs = pair(
        mode, IN, HID, layers, bias=bias, batch_first=batch_first,
        bidirectional=bidirectional, from_engine=with_h0,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, IN) if batch_first else (SEQ, BATCH, IN))
    n_h = layers * (2 if bidirectional else 1)
    hidden = []
    if with_h0:
        hidden = [rng.standard_normal((n_h, BATCH, HID))]
        if mode.startswith("LSTM"):
            hidden.append(rng.standard_normal((n_h, BATCH, HID)))
        if mode == "LSTM_PROJ":
            hidden[0] = rng.standard_normal((n_h, BATCH, PROJ))
    compare(ours, theirs, run_both(ours, theirs, x, hidden))


@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input(mode, with_h0):
    ours, theirs = pair(mode, IN, HID, 2, bidirectional=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((SEQ, IN))
    hidden = []
    if with_h0:
        hidden = [rng.standard_normal((4, HID)) for _ in range(2 if mode == "LSTM" else 1)]
    results = run_both(ours, theirs, x, hidden)
    assert tuple(results[0][0][0].shape) == (SEQ, 2 * HID)
    compare(ours, theirs, results)


def test_float32_default_matches_torch():
    ours, theirs = make(engine, "LSTM", IN, HID, 2), make(torch, "LSTM", IN, HID, 2)
    ours.load_state_dict(to_engine(theirs.state_dict()))
    x = np.random.default_rng(3).standard_normal((SEQ, BATCH, IN)).astype(np.float32)
    out, (h, c) = ours(engine.tensor(x))
    t_out, (t_h, t_c) = theirs(torch.tensor(x))
    for a, b in ((out, t_out), (h, t_h), (c, t_c)):
        close(a, b, "float32", tol=1e-5)


@pytest.mark.parametrize("mode", [*MODES, "LSTM_PROJ"])
def test_state_dict_keys_shapes_and_init(mode):
    ours = make(engine, mode, IN, HID, 2, bidirectional=True)
    theirs = make(torch, mode, IN, HID, 2, bidirectional=True)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    bound = 1 / np.sqrt(HID)
    for key, value in theirs_state.items():
        assert tuple(ours_state[key].shape) == tuple(value.shape), key
        assert ours_state[key].dtype == engine.float32
        assert np.abs(ours_state[key].numpy()).max() <= bound
    assert ours_state["weight_ih_l0"].numpy().std() > bound / 3  # uniform, not zeros
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("mode", MODES)
def test_dropout_between_layers(mode):
    ours, theirs = pair(mode, IN, HID, 3, dropout=0.5)
    x = np.random.default_rng(4).standard_normal((SEQ, BATCH, IN))
    ours.eval()
    theirs.eval()
    close(ours(engine.tensor(x))[0], theirs(torch.tensor(x))[0], "eval output")
    ours.train()
    engine.manual_seed(0)
    dropped = ours(engine.tensor(x))[0].detach().numpy()
    assert not np.allclose(dropped, ours.eval()(engine.tensor(x))[0].detach().numpy())
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        make(engine, mode, IN, HID, 1, dropout=0.5)


def assert_same_error(call) -> None:
    """`call(lib)` raises the same exception type in both libraries."""
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(theirs.type):
        call(engine)


def _lstm(lib):
    lib.manual_seed(0)
    return lib.nn.LSTM(IN, HID, 2)


def _zeros(lib, *shape):
    return lib.zeros(*shape)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: _lstm(lib)(_zeros(lib, SEQ, BATCH, IN + 1)),  # wrong input size
        lambda lib: _lstm(lib)(_zeros(lib, SEQ, BATCH, IN, 1)),  # 4-D input
        lambda lib: _lstm(lib)(_zeros(lib, 0, BATCH, IN)),  # no steps
        lambda lib: _lstm(lib)(_zeros(lib, SEQ, BATCH, IN).double()),  # dtype
        lambda lib: _lstm(lib)(
            _zeros(lib, SEQ, BATCH, IN), (_zeros(lib, 2, 3, HID), _zeros(lib, 2, 3, HID))
        ),  # hidden batch
        lambda lib: _lstm(lib)(
            _zeros(lib, SEQ, IN), (_zeros(lib, 2, 1, HID), _zeros(lib, 2, 1, HID))
        ),  # 3-D hidden for 2-D input
        lambda lib: lib.nn.GRU(IN, HID)(_zeros(lib, SEQ, BATCH, IN), _zeros(lib, 2, BATCH, HID)),
        lambda lib: lib.nn.GRU(IN, HID)(_zeros(lib, SEQ, BATCH, IN), _zeros(lib, BATCH, HID)),
        lambda lib: lib.nn.RNN(IN, HID, nonlinearity="sigmoid"),
        lambda lib: lib.nn.LSTM(IN, HID, 0),
        lambda lib: lib.nn.LSTM(IN, 0),
        lambda lib: lib.nn.GRU(IN, HID, 2, dropout=1.5),
        lambda lib: lib.nn.GRU(IN, HID)(
            _zeros(lib, SEQ, BATCH, IN), _zeros(lib, 1, BATCH, HID).double()
        ),  # hidden dtype
        lambda lib: lib.nn.GRUCell(IN, HID)(
            _zeros(lib, BATCH, IN), _zeros(lib, BATCH, HID).double()
        ),
        lambda lib: lib.nn.LSTM(IN, HID, proj_size=HID),
        lambda lib: lib.nn.LSTM(IN, HID, proj_size=-1),
        lambda lib: lib.nn.GRU(IN, HID, proj_size=1),
        lambda lib: lib.nn.LSTM(IN, HID, proj_size=PROJ)(
            _zeros(lib, SEQ, BATCH, IN), (_zeros(lib, 1, BATCH, HID), _zeros(lib, 1, BATCH, HID))
        ),
        lambda lib: lib.nn.LSTMCell(IN, HID)(_zeros(lib, BATCH, IN + 1)),
        lambda lib: lib.nn.LSTMCell(IN, HID)(_zeros(lib, BATCH, IN, 1)),
        lambda lib: lib.nn.GRUCell(IN, HID)(_zeros(lib, BATCH, IN), _zeros(lib, BATCH + 1, HID)),
        lambda lib: lib.nn.RNNCell(IN, HID)(_zeros(lib, BATCH, IN), _zeros(lib, BATCH, HID + 1)),
        lambda lib: lib.nn.RNNCell(IN, HID, nonlinearity="sigmoid")(_zeros(lib, BATCH, IN)),
    ],
)
def test_errors_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(call)


CELLS = list(itertools.product(MODES, [False, True], [False, True], [False, True]))


@pytest.mark.parametrize(
    "mode,bias,batched,with_h", CELLS,
    ids=[f"{m}-{b}-{n}-{h}" for m, b, n, h in CELLS],
)  # fmt: skip
def test_cells_match_torch(mode, bias, batched, with_h):
    def cell(lib):
        name = "RNNCell" if mode.startswith("RNN") else f"{mode}Cell"
        kwargs = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
        return getattr(lib.nn, name)(IN, HID, bias=bias, **kwargs).double()

    ours, theirs = cell(engine), cell(torch)
    ours.load_state_dict(to_engine(theirs.state_dict()))
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((BATCH, IN) if batched else (IN,))
    hshape = (BATCH, HID) if batched else (HID,)
    hidden = [rng.standard_normal(hshape) for _ in range(2 if mode == "LSTM" else 1)]
    results = []
    for lib, module in ((engine, ours), (torch, theirs)):
        xs = leaves([x], lib)[0]
        hs = leaves(hidden, lib) if with_h else []
        args = () if not with_h else ((tuple(hs),) if mode == "LSTM" else (hs[0],))
        out = module(xs, *args)
        results.append(([*out] if mode == "LSTM" else [out], xs, hs))
    weights = [rng.standard_normal(tuple(t.shape)) for t in results[1][0]]
    weighted_sum(results[0][0], weights, engine).backward()
    weighted_sum(results[1][0], weights, torch).backward()
    compare(ours, theirs, results)


# ----- attention ------------------------------------------------------------------


def mha_pair(**kwargs):
    ours = engine.nn.MultiheadAttention(8, 2, **kwargs).double()
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(to_engine(theirs.state_dict()))
    return ours, theirs


MHA_CASES = [
    {},
    {"batch_first": True},
    {"kdim": 3, "vdim": 5},
    {"bias": False},
    {"add_bias_kv": True, "add_zero_attn": True},
]


@pytest.mark.parametrize("masks", ["none", "bool", "float", "3d"])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("kwargs", MHA_CASES, ids=lambda k: "-".join(k) or "default")
def test_multihead_attention_matches_torch(kwargs, need_weights, average, masks):
    ours, theirs = mha_pair(**kwargs)
    rng = np.random.default_rng(6)
    tgt, src, batch, bf = 4, 5, 3, kwargs.get("batch_first", False)

    def shape(length, dim):
        return (batch, length, dim) if bf else (length, batch, dim)

    q = rng.standard_normal(shape(tgt, 8))
    k = rng.standard_normal(shape(src, kwargs.get("kdim", 8)))
    v = rng.standard_normal(shape(src, kwargs.get("vdim", 8)))
    padding = np.zeros((batch, src), bool)
    padding[0, -2:] = True
    attn = rng.standard_normal((tgt, src)) > 1.2
    if masks == "3d":
        attn = rng.standard_normal((batch * 2, tgt, src)) > 1.2
    results = []
    for lib, module in ((engine, ours), (torch, theirs)):
        qs, ks, vs = leaves([q, k, v], lib)
        mask_args = {}
        if masks in ("bool", "3d"):
            mask_args = {"key_padding_mask": lib.tensor(padding), "attn_mask": lib.tensor(attn)}
        elif masks == "float":
            mask_args = {"attn_mask": lib.tensor(np.where(attn, -1e4, 0.5))}
        out, weights = module(
            qs, ks, vs, need_weights=need_weights, average_attn_weights=average, **mask_args
        )
        (
            out * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        ).sum().backward()
        results.append((out, weights, qs, ks, vs))
    (out, weights, *ins), (t_out, t_weights, *t_ins) = results
    close(out, t_out, "attn_output")
    if need_weights:
        close(weights, t_weights, "attn_weights")
    else:
        assert weights is None and t_weights is None
    for name, a, b in zip("qkv", ins, t_ins, strict=True):
        close(a.grad, b.grad, f"{name} grad")
    for name, p in theirs.named_parameters():
        close(dict(ours.named_parameters())[name].grad, p.grad, f"{name} grad")


def test_multihead_attention_self_attention_unbatched_and_fully_masked():
    ours, theirs = mha_pair()
    x = np.random.default_rng(7).standard_normal((4, 8))
    padding = np.array([False, False, True, True])
    for need_weights in (True, False):
        outs = []
        for lib, module in ((engine, ours), (torch, theirs)):
            xs = lib.tensor(x)
            outs.append(
                module(xs, xs, xs, key_padding_mask=lib.tensor(padding), need_weights=need_weights)
            )
        close(outs[0][0], outs[1][0], "unbatched self-attention")
    # every key masked: weights are NaN with need_weights, zeros (no NaN) without, as in torch
    full = np.ones((1, 3), bool)
    q = np.random.default_rng(8).standard_normal((2, 1, 8))
    for need_weights in (True, False):
        e_q = engine.tensor(q, requires_grad=True)
        t_q = torch.tensor(q, requires_grad=True)
        e_out = ours(
            e_q,
            e_q[:1].expand(3, 1, 8),
            e_q[:1].expand(3, 1, 8),
            need_weights=need_weights,
            key_padding_mask=engine.tensor(full),
        )[0]
        t_out = theirs(
            t_q,
            t_q[:1].expand(3, 1, 8),
            t_q[:1].expand(3, 1, 8),
            need_weights=need_weights,
            key_padding_mask=torch.tensor(full),
        )[0]
        np.testing.assert_array_equal(
            np.isnan(e_out.detach().numpy()), np.isnan(t_out.detach().numpy())
        )
        if not need_weights:
            close(e_out, t_out, "fully masked")
            e_out.sum().backward()
            t_out.sum().backward()
            close(e_q.grad, t_q.grad, "fully masked grad")


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.MultiheadAttention(6, 4),
        lambda lib: lib.nn.MultiheadAttention(0, 2),
        lambda lib: _mha(lib)(_zeros(lib, 2, 3, 8, 1), _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8)),
        lambda lib: _mha(lib)(_zeros(lib, 2, 3, 8), _zeros(lib, 2, 8), _zeros(lib, 2, 3, 8)),
        lambda lib: _mha(lib)(_zeros(lib, 2, 3, 7), _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8)),
        lambda lib: _mha(lib)(_zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8), _zeros(lib, 4, 3, 8)),
        lambda lib: _mha(lib)(
            _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8),
            attn_mask=_zeros(lib, 3, 2).bool(),
        ),
        lambda lib: _mha(lib)(
            _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8),
            key_padding_mask=_zeros(lib, 3, 3).bool(),
        ),
        lambda lib: _mha(lib)(
            _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8), _zeros(lib, 2, 3, 8),
            attn_mask=_zeros(lib, 2, 2).int(),
        ),
        lambda lib: lib.nn.TransformerEncoderLayer(8, 2, activation="tanh"),
    ],
)  # fmt: skip
def test_attention_errors_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(call)


def _mha(lib):
    return lib.nn.MultiheadAttention(8, 2)


ENCODER_CASES = [
    {},
    {"batch_first": True},
    {"norm_first": True, "activation": "gelu"},
    {"batch_first": True, "norm_first": True, "bias": False},
]


@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("kwargs", ENCODER_CASES, ids=lambda k: "-".join(k) or "default")
def test_transformer_encoder_matches_torch(kwargs, masks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note about nested tensors and norm_first
        theirs = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(8, 2, 16, **kwargs), 2, enable_nested_tensor=False
        ).double()
    ours = engine.nn.TransformerEncoder(engine.nn.TransformerEncoderLayer(8, 2, 16, **kwargs), 2)
    ours = ours.double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(to_engine(theirs.state_dict()))
    ours.eval()
    theirs.eval()  # dropout off; the gradients below keep torch off its fused inference path
    rng = np.random.default_rng(9)
    bf = kwargs.get("batch_first", False)
    x = rng.standard_normal((3, 4, 8) if bf else (4, 3, 8))
    padding = np.zeros((3, 4), bool)
    padding[1, -1] = True
    causal = np.triu(np.ones((4, 4), bool), 1)
    results = []
    for lib, module in ((engine, ours), (torch, theirs)):
        xs = leaves([x], lib)[0]
        mask_args = {}
        if masks:
            mask_args = {"mask": lib.tensor(causal), "src_key_padding_mask": lib.tensor(padding)}
        out = module(xs, **mask_args)
        (out * out).sum().backward()
        results.append((out, xs))
    close(results[0][0], results[1][0], "encoder output")
    close(results[0][1].grad, results[1][1].grad, "input grad")
    for name, p in theirs.named_parameters():
        close(dict(ours.named_parameters())[name].grad, p.grad, f"{name} grad")
    assert repr(ours.layers[0].self_attn) == repr(theirs.layers[0].self_attn)


def test_transformer_encoder_layer_train_mode_dropout():
    layer = engine.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = engine.randn(4, 3, 8)
    engine.manual_seed(0)
    trained = layer(x)
    assert tuple(trained.shape) == (4, 3, 8)
    assert not np.allclose(trained.detach().numpy(), layer.eval()(x).detach().numpy())


# ----- packed sequences ----------------------------------------------------------------


def _rnn_utils(lib):
    return engine.nn.utils.rnn if lib is engine else torch.nn.utils.rnn


PACKED = list(itertools.product([*MODES, "LSTM_PROJ"], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize(
    "mode,bidirectional,enforce_sorted,with_h0", PACKED,
    ids=[f"{m}-{'bi' if b else 'uni'}-{'sorted' if s else 'any'}-{'h0' if h else 'no_h0'}"
         for m, b, s, h in PACKED],
)  # fmt: skip
def test_packed_sequence_matches_torch(mode, bidirectional, enforce_sorted, with_h0):
    ours, theirs = pair(mode, IN, HID, 2, bidirectional=bidirectional, batch_first=True)
    rng = np.random.default_rng(12)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x = rng.standard_normal((4, 5, IN))  # batch first
    n_h = 2 * (2 if bidirectional else 1)
    hidden = []
    if with_h0:
        hidden = [rng.standard_normal((n_h, 4, PROJ if mode == "LSTM_PROJ" else HID))]
        if mode.startswith("LSTM"):
            hidden.append(rng.standard_normal((n_h, 4, HID)))
    results = []
    for lib, module in ((engine, ours), (torch, theirs)):
        utils = _rnn_utils(lib)
        xs = leaves([x], lib)[0]
        hs = leaves(hidden, lib)
        packed = utils.pack_padded_sequence(
            xs, lib.tensor(lengths), batch_first=True, enforce_sorted=enforce_sorted
        )
        args = () if not hs else ((tuple(hs),) if len(hs) == 2 else (hs[0],))
        out, h_n = module(packed, *args)
        padded, out_lengths = utils.pad_packed_sequence(out, batch_first=True, total_length=6)
        flat = [out.data, padded, *(h_n if isinstance(h_n, tuple) else (h_n,))]
        results.append((flat, xs, hs, out, out_lengths))
    weights = [rng.standard_normal(tuple(t.shape)) for t in results[1][0]]
    weighted_sum(results[0][0], weights, engine).backward()
    weighted_sum(results[1][0], weights, torch).backward()
    compare(ours, theirs, [r[:3] for r in results])
    (_, _, _, out, out_lengths), (_, _, _, t_out, t_lengths) = results
    np.testing.assert_array_equal(out_lengths.numpy(), t_lengths.numpy())
    assert out_lengths.dtype == engine.int64
    np.testing.assert_array_equal(out.batch_sizes.numpy(), t_out.batch_sizes.numpy())
    for ours_idx, theirs_idx in ((out.sorted_indices, t_out.sorted_indices),
                                 (out.unsorted_indices, t_out.unsorted_indices)):  # fmt: skip
        if theirs_idx is None:
            assert ours_idx is None
        else:
            np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_and_pack_sequence(batch_first, padding_side):
    rng = np.random.default_rng(13)
    arrays = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    results = []
    for lib in (engine, torch):
        utils = _rnn_utils(lib)
        xs = leaves(arrays, lib)
        padded = utils.pad_sequence(
            xs, batch_first=batch_first, padding_value=-1.5, padding_side=padding_side
        )
        packed = utils.pack_sequence(xs, enforce_sorted=False)
        (padded.sum() * 2 + (packed.data**2).sum()).backward()
        results.append((padded, packed, xs))
    (padded, packed, xs), (t_padded, t_packed, t_xs) = results
    close(padded, t_padded, "pad_sequence")
    close(packed.data, t_packed.data, "pack_sequence data")
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), t_packed.batch_sizes.numpy())
    for a, b in zip(xs, t_xs, strict=True):
        close(a.grad, b.grad, "grad")


@pytest.mark.parametrize(
    "call",
    [
        lambda u, lib: u.pack_padded_sequence(lib.zeros(3, 2, 1), [1, 2]),  # not sorted
        lambda u, lib: u.pack_padded_sequence(lib.zeros(3, 2, 1), [2, 0]),  # empty sequence
        lambda u, lib: u.pad_packed_sequence(
            u.pack_padded_sequence(lib.zeros(3, 2, 1), [3, 2]), total_length=2
        ),
        lambda u, lib: u.pad_sequence([lib.zeros(2, 1)], padding_side="middle"),
        lambda u, lib: u.pad_sequence([]),
        lambda u, lib: u.pack_padded_sequence(lib.zeros(3, 2, 1), [3, 2, 1]),  # lengths
        lambda u, lib: lib.nn.GRU(1, 2)(  # hidden state for another batch size
            u.pack_padded_sequence(lib.zeros(3, 2, 1), [3, 2]), lib.zeros(1, 3, 2)
        ),
    ],
)
def test_packing_errors_match_torch(call):
    assert_same_error(lambda lib: call(_rnn_utils(lib), lib))
