/* The layer ops of the op table (see PA_OP_LIST in internal.h): one line per op,
 * X(ENUM_NAME, "PrintedBackwardName"), each with a pa_backward_ENUM_NAME beside its
 * forward in ops/. */
#ifndef PA_OPS_LAYER_OPS_H
#define PA_OPS_LAYER_OPS_H

#define PA_OP_LIST_LAYERS(X)

#endif
