from .activation import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .activation_extra import (ELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, Mish, ReLU6, SiLU, Softplus,
                               Softsign)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv2d
from .conv3d import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, Conv3d, ConvTranspose3d, MaxPool3d
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import CrossEntropyLoss, L1Loss, MSELoss
from .loss_extra import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss,
                         HuberLoss, KLDivLoss, MarginRankingLoss, MultiLabelSoftMarginLoss, NLLLoss, PoissonNLLLoss,
                         SmoothL1Loss, SoftMarginLoss, TripletMarginLoss)
from .misc import (AdaptiveMaxPool1d, AdaptiveMaxPool2d, AlphaDropout, ChannelShuffle, CosineSimilarity,
                   FeatureAlphaDropout, Fold, InstanceNorm1d, InstanceNorm2d, LocalResponseNorm, MultiMarginLoss,
                   PairwiseDistance, RReLU, Unfold)
from .module import Module
from .more import (CELU, GLU, SELU, AvgPool1d, Conv1d, ConvTranspose1d, ConvTranspose2d, Dropout1d, Dropout2d,
                   EmbeddingBag, GroupNorm, Hardshrink, LogSigmoid, MaxPool1d, PReLU, RMSNorm, Softmin, Softshrink, Tanhshrink, Threshold, Upsample,
                   UpsamplingBilinear2d, UpsamplingNearest2d, ZeroPad1d, ZeroPad2d, ConstantPad1d, ConstantPad2d,
                   ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, CircularPad1d, CircularPad2d,
                   PixelShuffle, PixelUnshuffle, Softmax2d, AdaptiveAvgPool1d)
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

__all__ = ["Module", "Linear", "Identity", "Bilinear", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict", "ReLU", "LeakyReLU",
           "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax", "SiLU", "Softplus", "ELU", "Hardtanh", "ReLU6",
           "Mish", "Hardswish", "Hardsigmoid", "Softsign", "Flatten", "Unflatten", "Conv2d", "MaxPool2d",
           "Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
           "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "Dropout",
           "Embedding", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "Transformer", "Conv1d", "MaxPool1d",
           "AvgPool1d", "GroupNorm", "RMSNorm", "EmbeddingBag", "Dropout1d", "Dropout2d", "SELU", "CELU",
           "LogSigmoid", "Softmin", "GLU", "PReLU", "Hardshrink", "Softshrink", "Tanhshrink", "Threshold",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "ConvTranspose1d", "ConvTranspose2d",
           "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "PixelShuffle", "PixelUnshuffle",
           "Softmax2d", "AdaptiveAvgPool1d",
           "CrossEntropyLoss", "CTCLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss",
           "GaussianNLLLoss", "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "Unfold", "Fold", "ChannelShuffle", "CosineSimilarity", "PairwiseDistance",
           "AlphaDropout", "FeatureAlphaDropout", "RReLU", "MultiMarginLoss"]
