"""Neural-network building blocks with PyTorch's names."""

from engine.nn import functional, init
from engine.nn.activation import (
    ELU,
    GELU,
    GLU,
    SELU,
    Dropout,
    Dropout2d,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
)
from engine.nn.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Residual,
    Sequential,
)
from engine.nn.conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from engine.nn.linear import Embedding, EmbeddingBag, Flatten, Identity, Linear, Unflatten
from engine.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from engine.nn.module import Module, Parameter
from engine.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from engine.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from engine.nn.transformer import (
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "ELU",
    "GLU",
    "SELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LogSigmoid",
    "Mish",
    "ReLU6",
    "SiLU",
    "Softplus",
    "Softsign",
    "Tanhshrink",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "EmbeddingBag",
    "Flatten",
    "GELU",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "MSELoss",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "MultiheadAttention",
    "RNN",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
]

# torch.nn.utils: a subpackage, reachable as `nn.utils` as in PyTorch
from engine.nn import utils

__all__ += ["utils"]

# convolution, pooling and resampling layers beyond 2-d conv/pool
from engine.nn.conv import Conv1d, ConvTranspose2d  # noqa: E402
from engine.nn.pooling import AdaptiveMaxPool2d, AvgPool1d, MaxPool1d  # noqa: E402
from engine.nn.resample import Fold, Unfold, Upsample, ZeroPad2d  # noqa: E402

__all__ += [
    "AdaptiveMaxPool2d", "AvgPool1d", "Conv1d", "ConvTranspose2d", "Fold", "MaxPool1d", "Unfold",
    "Upsample", "ZeroPad2d",
]  # fmt: skip

__all__ += [
    "Dropout2d", "GroupNorm", "HuberLoss", "InstanceNorm2d", "KLDivLoss", "ModuleDict", "PReLU",
    "ParameterDict", "ParameterList", "SmoothL1Loss", "Unflatten",
]  # fmt: skip

# more activations, dropouts, padding, pooling, shuffling, norms, embedding bags and losses
from engine.nn.more_layers import (  # noqa: E402
    CELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AlphaDropout,
    Bilinear,
    ChannelShuffle,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ConvTranspose1d,
    CosineSimilarity,
    CTCLoss,
    Dropout1d,
    FeatureAlphaDropout,
    Hardshrink,
    LazyLinear,
    LocalResponseNorm,
    LPPool1d,
    LPPool2d,
    MaxUnpool1d,
    MaxUnpool2d,
    MultiLabelMarginLoss,
    PairwiseDistance,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    RMSNorm,
    RReLU,
    Softmax2d,
    Softmin,
    Softshrink,
    Threshold,
    TripletMarginWithDistanceLoss,
    UninitializedParameter,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
    ZeroPad1d,
)

__all__ += [
    "CELU", "AlphaDropout", "CosineSimilarity", "Dropout1d", "FeatureAlphaDropout", "Hardshrink",
    "PairwiseDistance", "RReLU", "Softmax2d", "Softmin", "Softshrink", "Threshold",
    "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "ChannelShuffle", "ConstantPad1d",
    "ConstantPad2d", "ConstantPad3d", "ConvTranspose1d", "LPPool1d", "LPPool2d", "MaxUnpool1d",
    "MaxUnpool2d", "PixelShuffle", "PixelUnshuffle", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "UpsamplingBilinear2d", "UpsamplingNearest2d",
    "ZeroPad1d", "Bilinear", "LazyLinear",
    "LocalResponseNorm", "RMSNorm", "UninitializedParameter",
    "MultiLabelMarginLoss",

    "TripletMarginWithDistanceLoss", "AdaptiveAvgPool3d",
    "CTCLoss",
]  # fmt: skip

# margin, ranking, embedding and likelihood losses
from engine.nn.loss import (  # noqa: E402
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)

__all__ += [
    "CosineEmbeddingLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "PoissonNLLLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
]

# more ranks of batch and instance normalisation
from engine.nn.normalization import BatchNorm3d, InstanceNorm1d, InstanceNorm3d  # noqa: E402

__all__ += ["BatchNorm3d", "InstanceNorm1d", "InstanceNorm3d"]
