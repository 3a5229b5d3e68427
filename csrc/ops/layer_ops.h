/* The layer ops of the op table (see PA_OP_LIST in internal.h): one line per op,
 * X(ENUM_NAME, "PrintedBackwardName"), each with a pa_backward_ENUM_NAME beside its
 * forward in ops/. */
#ifndef PA_OPS_LAYER_OPS_H
#define PA_OPS_LAYER_OPS_H

#define PA_OP_LIST_LAYERS(X)                                  \
    X(CONV2D, "ConvolutionBackward")                          \
    X(UNFOLD, "Im2ColBackward")                               \
    X(FOLD, "Col2ImBackward")                                 \
    X(MAX_POOL2D, "MaxPool2DWithIndicesBackward")             \
    X(AVG_POOL2D, "AvgPool2DBackward")                        \
    X(ADAPTIVE_AVG_POOL2D, "AdaptiveAvgPool2DBackward")       \
    X(ADAPTIVE_MAX_POOL2D, "AdaptiveMaxPool2DBackward")       \
    X(BATCH_NORM, "NativeBatchNormBackward")                  \
    X(LAYER_NORM, "NativeLayerNormBackward")                  \
    X(DROPOUT, "NativeDropoutBackward")                       \
    X(EMBEDDING, "EmbeddingBackward")                         \
    X(LEAKY_RELU, "LeakyReluBackward")                        \
    X(ELU, "EluBackward")                                     \
    X(SOFTPLUS, "SoftplusBackward")                           \
    X(HARDSIGMOID, "HardsigmoidBackward")                     \
    X(HARDSWISH, "HardswishBackward")                         \
    X(HARDTANH, "HardtanhBackward")                           \
    X(LSTM_CELL, "LstmCellBackward")                          \
    X(LSTM_LAYER, "MkldnnRnnLayerBackward")                   \
    X(GRU_LAYER, "GruLayerBackward")                          \
    X(RNN_LAYER, "RnnLayerBackward")                          \
    X(PAD, "PadBackward")                                     \
    X(UPSAMPLE_LINEAR, "UpsampleLinearBackward")              \
    X(SMOOTH_L1_LOSS, "SmoothL1LossBackward")                 \
    X(HUBER_LOSS, "HuberLossBackward")                        \
    X(MSE_LOSS, "MseLossBackward")                            \
    X(L1_LOSS, "L1LossBackward")

#endif
