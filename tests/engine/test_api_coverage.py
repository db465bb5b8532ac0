"""The PyTorch names tutorials and courses use exist in the engine, under the same paths.

The list is the engine's promised surface: a name that goes missing fails here, and
each one is also checked to exist in PyTorch, so the list cannot drift from it.
"""

from __future__ import annotations

import importlib
import importlib.util

import pytest

SURFACE = {
    "": """
        tensor zeros ones full empty arange linspace eye rand randn randint randperm
        zeros_like ones_like full_like empty_like rand_like randn_like randint_like
        from_numpy as_tensor manual_seed no_grad enable_grad set_grad_enabled is_grad_enabled
        set_default_dtype get_default_dtype save load cat stack
        softmax log_softmax all any amax amin prod cumsum cumprod logsumexp norm sort
        argsort topk unique gather scatter scatter_add index_select masked_fill
        masked_select nonzero where flip roll chunk split unbind narrow tile
        repeat_interleave tril triu diag trace einsum bmm dot outer mv addmm matmul mm
        floor ceil round trunc sign log1p expm1 log2 log10 erf rsqrt reciprocal square
        tan asin acos atan atan2 sinh cosh isnan isinf isfinite nan_to_num
        logical_and logical_or logical_not logical_xor remainder fmod floor_divide
        clamp clamp_min clamp_max lerp meshgrid normal bernoulli multinomial equal
        allclose isclose LongTensor FloatTensor DoubleTensor
    """,
    "Tensor": """
        softmax log_softmax all any amax amin prod cumsum cumprod logsumexp norm sort
        argsort topk unique gather scatter scatter_ scatter_add index_select index_add_
        masked_fill masked_fill_ masked_select nonzero flip roll chunk split unbind
        narrow repeat tile repeat_interleave tril triu diag trace bmm dot outer mv addmm
        floor ceil round trunc sign log1p expm1 log2 log10 erf rsqrt reciprocal square
        tan asin acos atan atan2 sinh cosh isnan isinf isfinite nan_to_num
        logical_and logical_or logical_not logical_xor remainder fmod floor_divide
        clamp_min clamp_max lerp new_ones new_zeros new_full new_tensor stride
        is_contiguous contiguous mT type_as view_as expand_as reshape_as
        __and__ __or__ __xor__ __invert__ __floordiv__ __mod__ __lshift__
        exp_ log_ relu_ sqrt_ sigmoid_ tanh_ clamp_ abs_ neg_ pow_ mul_ add_ sub_ div_
        fill_ zero_ uniform_ normal_ register_hook retain_grad backward detach
        requires_grad_ item tolist numpy size dim numel view reshape permute transpose
    """,
    "autograd": "grad backward Function gradcheck",
    "linalg": "norm vector_norm",
    "nn.functional": """
        conv1d conv2d conv_transpose2d max_pool1d max_pool2d avg_pool1d avg_pool2d
        adaptive_avg_pool2d adaptive_max_pool2d interpolate pad unfold fold embedding
        one_hot relu leaky_relu gelu sigmoid tanh silu elu selu softplus mish hardtanh
        relu6 hardswish logsigmoid glu softmax log_softmax normalize cosine_similarity
        pairwise_distance dropout dropout2d cross_entropy nll_loss mse_loss l1_loss
        binary_cross_entropy binary_cross_entropy_with_logits kl_div smooth_l1_loss
        huber_loss batch_norm layer_norm group_norm instance_norm
        scaled_dot_product_attention
    """,
    "nn": """
        Module Sequential ModuleList ModuleDict Parameter ParameterList ParameterDict
        Linear Conv1d Conv2d ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d
        AdaptiveAvgPool2d AdaptiveMaxPool2d BatchNorm1d BatchNorm2d LayerNorm GroupNorm
        InstanceNorm2d Dropout Dropout2d Embedding Flatten Unflatten Identity Upsample
        ZeroPad2d ReLU LeakyReLU PReLU GELU Sigmoid Tanh Softmax LogSoftmax SiLU ELU SELU
        Softplus Mish Hardtanh ReLU6 LogSigmoid CrossEntropyLoss NLLLoss MSELoss L1Loss
        BCELoss BCEWithLogitsLoss SmoothL1Loss HuberLoss KLDivLoss RNN LSTM GRU
        MultiheadAttention TransformerEncoderLayer
    """,
    "nn.utils": "clip_grad_norm_ clip_grad_value_ parameters_to_vector vector_to_parameters",
    "nn.init": """
        orthogonal_ trunc_normal_ xavier_uniform_ xavier_normal_ kaiming_uniform_
        kaiming_normal_ zeros_ ones_ constant_ normal_ uniform_
    """,
    "optim": "SGD Adam AdamW RMSprop Adagrad Adadelta Adamax NAdam RAdam",
    "optim.lr_scheduler": """
        StepLR MultiStepLR ExponentialLR CosineAnnealingLR ReduceLROnPlateau LambdaLR
        MultiplicativeLR OneCycleLR CyclicLR LinearLR ConstantLR PolynomialLR
        CosineAnnealingWarmRestarts SequentialLR ChainedScheduler
    """,
    "utils.data": """
        Dataset TensorDataset DataLoader Subset random_split Sampler SequentialSampler
        RandomSampler BatchSampler SubsetRandomSampler WeightedRandomSampler ConcatDataset
    """,
}

# more of what courses and answers use, beyond the list above
MORE = {
    "": """
        abs absolute add addcdiv addcmul argmax argmin atleast_1d atleast_2d baddbmm
        bincount bitwise_and block_diag broadcast_tensors broadcast_to bucketize
        cartesian_prod cdist clip clone column_stack combinations concat concatenate
        count_nonzero cross cummax cummin deg2rad det diag_embed diagflat diagonal
        diff digamma dist div divide dsplit dstack eq erfc erfinv exp exp2 flatten
        fliplr flipud float_power fmax fmin frac gcd ge ger gt heaviside histc
        hsplit hstack hypot inner inverse is_floating_point is_nonzero is_tensor
        isin isneginf isposinf isreal kron kthvalue lcm ldexp le lgamma log
        logaddexp logaddexp2 logcumsumexp logdet logit logspace lt matrix_exp max
        maximum mean median min minimum mode moveaxis movedim msort mul multiply
        nanmean nanmedian nansum ne neg negative not_equal numel permute pinverse
        pow quantile rad2deg ravel renorm reshape searchsorted select sgn sigmoid
        signbit sin sinc slogdet sqrt squeeze std std_mean sub subtract sum svd
        swapaxes swapdims t take take_along_dim tanh tensor_split tensordot
        transpose trapezoid trapz tril_indices triu_indices true_divide
        unique_consecutive unravel_index unsqueeze vander var var_mean vsplit vstack
        xlogy seed initial_seed get_rng_state set_rng_state inference_mode
        is_inference_mode_enabled set_printoptions set_num_threads get_num_threads
        device dtype finfo iinfo Size Generator float32 float64 float16 int8 int16
        int32 int64 uint8 bool long half double is_complex cuda
    """,
    "Tensor": """
        abs add addcmul_ addcdiv_ apply_ argmax argmin bernoulli_ bool byte char
        clamp clip clone copy_ cos cpu cuda data data_ptr detach_ device diagonal
        div double dtype element_size eq equal exp expand fill_diagonal_ flatten
        float ge get_device grad grad_fn gt half index_copy_ index_fill_ index_put_
        int is_cuda is_floating_point is_leaf le log long lt map_ masked_scatter_
        matmul max mean min mm mul nansum ndim ndimension ne neg nelement new_empty
        pin_memory pow put_ random_ relu requires_grad resize_ retains_grad select
        shape short sigmoid sin sqrt squeeze std sub sum sum_to_size swapaxes t t_
        tanh to type unfold unsqueeze unsqueeze_ var where T H mH itemsize nbytes
        argwhere count_nonzero diff exponential_ geometric_ log_normal_ cauchy_
        lerp_ addmm_ baddbmm_ ger kthvalue median mode msort nan_to_num_ positive
        sgn signbit std var aminmax frac take
    """,
    "nn": """
        AdaptiveAvgPool1d AdaptiveAvgPool3d AdaptiveMaxPool1d AlphaDropout
        BatchNorm3d Bilinear CELU CTCLoss ChannelShuffle ConstantPad1d ConstantPad2d
        ConvTranspose1d CosineEmbeddingLoss CosineSimilarity Dropout1d EmbeddingBag
        Fold GLU GRUCell GaussianNLLLoss Hardshrink Hardsigmoid Hardswish
        HingeEmbeddingLoss InstanceNorm1d LPPool2d LSTMCell LazyLinear
        LocalResponseNorm MarginRankingLoss MaxUnpool2d MultiLabelMarginLoss
        MultiLabelSoftMarginLoss MultiMarginLoss PairwiseDistance PixelShuffle
        PixelUnshuffle PoissonNLLLoss RMSNorm RNNCell RReLU ReflectionPad1d
        ReflectionPad2d ReplicationPad1d ReplicationPad2d SoftMarginLoss Softmax2d
        Softmin Softshrink Softsign Tanhshrink Threshold Transformer
        TransformerDecoder TransformerDecoderLayer TransformerEncoder
        TripletMarginLoss Unfold UpsamplingBilinear2d UpsamplingNearest2d ZeroPad1d
        init utils functional
    """,
    "nn.functional": """
        adaptive_avg_pool1d adaptive_max_pool1d bilinear celu conv_transpose1d
        cosine_embedding_loss dropout1d embedding_bag gaussian_nll_loss
        gumbel_softmax hardshrink hardsigmoid hinge_embedding_loss linear
        local_response_norm lp_pool2d margin_ranking_loss max_unpool2d
        multi_margin_loss multilabel_margin_loss multilabel_soft_margin_loss pdist
        pixel_shuffle pixel_unshuffle poisson_nll_loss prelu relu_ rms_norm rrelu
        soft_margin_loss softmin softshrink softsign tanhshrink threshold
        triplet_margin_loss upsample
    """,
    "optim": """
        ASGD LBFGS Optimizer Rprop SparseAdam lr_scheduler
    """,
    "optim.lr_scheduler": """
        LRScheduler
    """,
    "autograd": """
        gradgradcheck Variable set_detect_anomaly detect_anomaly no_grad enable_grad
        set_grad_enabled functional
    """,
    "nn.init": """
        calculate_gain dirac_ eye_ sparse_ xavier_uniform
    """,
    "nn.utils": """
        rnn weight_norm spectral_norm parametrizations
    """,
    "utils.data": """
        IterableDataset default_collate get_worker_info ChainDataset StackDataset
    """,
}

# torchvision's names, which the engine keeps under engine.datasets
VISION = {
    ("datasets", "datasets"): "MNIST FashionMNIST CIFAR10 ImageFolder",
    ("datasets.transforms", "transforms"): """
        Compose ToTensor Normalize RandomCrop RandomHorizontalFlip Resize
    """,
}

CASES = [
    (space, name)
    for table in (SURFACE, MORE)
    for space, names in table.items()
    for name in names.split()
]
VISION_CASES = [(spaces, name) for spaces, names in VISION.items() for name in names.split()]


def _resolve(root: str, space: str):
    """The module or class at `space` under package `root` (imported as needed)."""
    obj = importlib.import_module(root)
    for part in space.split(".") if space else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    return obj


@pytest.mark.parametrize(("space", "name"), CASES, ids=[f"{s or 'torch'}.{n}" for s, n in CASES])
def test_engine_has_the_name(space, name):
    assert hasattr(_resolve("engine", space), name), f"engine.{space}.{name} is missing"


@pytest.mark.parametrize(
    ("spaces", "name"), VISION_CASES, ids=[f"torchvision.{s[1]}.{n}" for s, n in VISION_CASES]
)
def test_engine_has_the_vision_name(spaces, name):
    assert hasattr(_resolve("engine", spaces[0]), name), f"engine.{spaces[0]}.{name} is missing"


@pytest.mark.torch
def test_every_name_is_pytorchs():
    """The list itself is PyTorch's surface: a typo here would test nothing."""
    pytest.importorskip("torch")
    missing = [f"{s}.{n}" for s, n in CASES if not hasattr(_resolve("torch", s), n)]
    assert missing == []
    if importlib.util.find_spec("torchvision") is not None:
        missing = [
            f"{s[1]}.{n}" for s, n in VISION_CASES if not hasattr(_resolve("torchvision", s[1]), n)
        ]
        assert missing == []
