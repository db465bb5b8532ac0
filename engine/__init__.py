"""stepgrad's autograd engine: tensors, define-by-run graphs and ops with PyTorch's names."""

from engine import cuda
from engine.autograd import (
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from engine.creation import (
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from engine.dtypes import (
    bool_ as bool,  # PyTorch's name: engine.bool
)
from engine.dtypes import (
    device,
    double,
    dtype,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    uint8,
)
from engine.dtypes import float_ as float
from engine.dtypes import int_ as int
from engine.ops import (
    abs,
    acos,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    argmax,
    argmin,
    asin,
    atan,
    atan2,
    cat,
    ceil,
    clamp,
    clamp_max,
    clamp_min,
    cos,
    cosh,
    div,
    eq,
    exp,
    expm1,
    flatten,
    floor,
    floor_divide,
    fmod,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    nan_to_num,
    ne,
    neg,
    permute,
    pow,
    reciprocal,
    relu,
    remainder,
    reshape,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    t,
    tan,
    tanh,
    transpose,
    trunc,
    unsqueeze,
    var,
    where,
)
from engine.ops.aggregate import (
    all,
    amax,
    amin,
    any,
    log_softmax,
    logsumexp,
    norm,
    prod,
    softmax,
)
from engine.ops.indexing import (
    argsort,
    gather,
    index_add,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    sort,
    topk,
    unique,
)
from engine.ops.scan import cumprod, cumsum
from engine.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from engine.tensor import Size, Tensor

# ----- more movement, products, bitwise ops, erf, draws, comparisons, legacy types -------
# isort: split
from engine.dtypes import get_default_dtype, set_default_dtype
from engine.factories import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    empty_like,
    randint_like,
)
from engine.ops.bitwise import (
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
)
from engine.ops.compare import allclose, equal, isclose
from engine.ops.linalg_ops import addmm, bmm, dot, einsum, mv, outer
from engine.ops.sampling import bernoulli, multinomial, normal
from engine.ops.shape_ops import (
    chunk,
    diag,
    flip,
    fliplr,
    flipud,
    meshgrid,
    narrow,
    repeat_interleave,
    roll,
    split,
    tile,
    trace,
    tril,
    triu,
    unbind,
)
from engine.ops.special import erf

clip = clamp
__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()


# subpackages reachable as attributes, as in PyTorch (`torch.nn`, `torch.optim`); imported
# last because they import engine.tensor, which needs engine.autograd loaded first
from engine import accelerator, backends, datasets, linalg, nn, optim, utils  # noqa: E402

# normalisation, similarity and unflatten as torch.* has them, with the same arguments
# (torch.instance_norm and torch.kl_div take others: F's versions only)
from engine.ops.activation import prelu  # noqa: E402
from engine.ops.counting import bincount  # noqa: E402


def index_put(input, indices, values, accumulate=False):
    return input.index_put(indices, values, accumulate)


def index_put_(input, indices, values, accumulate=False):
    return input.index_put_(indices, values, accumulate)


from engine.ops.movement import unflatten  # noqa: E402
from engine.ops.normalization import group_norm  # noqa: E402
from engine.ops.similarity import cosine_similarity, pairwise_distance  # noqa: E402
from engine.serialization import load, save  # noqa: E402

# isort: split
# order statistics, NaN-aware reductions, running extrema, differences, histograms,
# searches; products, decompositions and solvers
# aliases, axis moves, splits and stacks, broadcasting helpers, counting,
# more pointwise math, creation helpers, inference mode, print options, numeric limits,
# indexing in place and diagonal views
from engine.more_creation import (  # noqa: E402
    block_diag,
    cartesian_prod,
    combinations,
    finfo,
    get_num_threads,
    iinfo,
    logspace,
    set_num_threads,
    set_printoptions,
    tril_indices,
    triu_indices,
    unravel_index,
    vander,
)
from engine.ops.linalg_more import (  # noqa: E402
    addbmm,
    addmv,
    addmv_,
    baddbmm,
    cdist,
    chain_matmul,
    cross,
    det,
    dist,
    ger,
    inner,
    kron,
    logdet,
    matrix_exp,
    matrix_power,
    pdist,
    pinverse,
    renorm,
    slogdet,
    svd,
    tensordot,
)
from engine.ops.linalg_more import cholesky_legacy as cholesky  # noqa: E402
from engine.ops.linalg_more import inv as inverse  # noqa: E402
from engine.ops.linalg_more import qr_legacy as qr  # noqa: E402
from engine.ops.more_index import (  # noqa: E402
    diag_embed,
    diagflat,
    diagonal,
    index_copy,
    index_fill,
    masked_scatter,
    put,
)
from engine.ops.more_pointwise import (  # noqa: E402
    addcdiv,
    addcmul,
    deg2rad,
    digamma,
    erfc,
    erfinv,
    exp2,
    float_power,
    fmax,
    fmin,
    frac,
    gcd,
    heaviside,
    hypot,
    isin,
    isneginf,
    isposinf,
    isreal,
    lcm,
    ldexp,
    lgamma,
    logaddexp,
    logaddexp2,
    logit,
    rad2deg,
    sgn,
    signbit,
    sinc,
    xlogy,
)
from engine.ops.more_shape import (  # noqa: E402
    absolute,
    argwhere,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    clone,
    column_stack,
    concat,
    concatenate,
    count_nonzero,
    divide,
    dsplit,
    dstack,
    greater,
    greater_equal,
    hsplit,
    hstack,
    is_complex,
    is_floating_point,
    is_nonzero,
    less,
    less_equal,
    moveaxis,
    movedim,
    multiply,
    negative,
    not_equal,
    positive,
    ravel,
    select,
    subtract,
    swapaxes,
    swapdims,
    take,
    take_along_dim,
    tensor_split,
    true_divide,
    vsplit,
    vstack,
)
from engine.ops.statistics import (  # noqa: E402
    aminmax,
    bucketize,
    cummax,
    cummin,
    cumulative_trapezoid,
    diff,
    histc,
    kthvalue,
    logcumsumexp,
    median,
    mode,
    msort,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    quantile,
    searchsorted,
    std_mean,
    trapezoid,
    trapz,
    unique_consecutive,
    var_mean,
)

# isort: split
# anomaly mode's switches as torch.* has them (the context managers live in engine.autograd)
from engine.autograd_extras import (  # noqa: E402
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)

# isort: split
# NumPy's names for `dim` and `keepdim` (axis=, keepdims=), accepted as PyTorch accepts them;
# the pairs that max, min, sort and topk return
from engine import return_types  # noqa: E402
from engine._aliases import numpy_names as _numpy_names  # noqa: E402

_DIM_FUNCTIONS = """all amax amin any argmax argmin argsort cat chunk concat cummax
cummin cumprod cumsum gather index_add index_select kthvalue log_softmax logcumsumexp logsumexp
max mean median min mode nanmean nansum narrow prod repeat_interleave scatter scatter_add
softmax sort squeeze stack std sum topk unbind unsqueeze var""".split()
globals().update({name: _numpy_names(globals()[name]) for name in _DIM_FUNCTIONS})
row_stack = vstack  # PyTorch's older name for vstack
from engine.memory_format import (  # noqa: E402
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
