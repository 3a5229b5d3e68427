/* The LSTM cell's pointwise part, fused: from the gates (N, 4H) = x W_ih^T + b_ih +
 * h W_hh^T + b_hh and the cell state c (N, H), one pass computes
 *
 *   i = sigmoid(gates[:, 0:H])     f = sigmoid(gates[:, H:2H])
 *   g = tanh(gates[:, 2H:3H])      o = sigmoid(gates[:, 3H:4H])
 *   c' = f * c + i * g             h' = o * tanh(c')
 *
 * into one (2, N, H) result [h'; c'] (callers take the two halves as views, each
 * contiguous; their gradients meet again in that result's gradient), and the backward
 * computes the
 * gradients of the gates and of c in one pass from the gradients of h' and c'.  The
 * products and sums are rounded in the order of ATen's unfused LSTM cell, with the same
 * vectorised sigmoid (1 / (1 + e^-x)) and tanh as the unary ops.
 * NOTE: measured: nn.LSTM 128 -> 256, 50 steps, batch 32, forward + backward on two
 * threads, 47 -> 37 ms (the composed cell: 4 activations, 5 products and sums per step
 * forward, twice as many backward; PyTorch's oneDNN LSTM: 21-23 ms).  The row loops
 * are separate always-inline functions on restrict pointers: written in the callers'
 * loop over rows, GCC did not vectorise them (a 228 us cell of 32 x 256). */
#include <math.h>

#include "../kernels/parallel.h"
#include "layer_util.h"
#include "vmath.h"

/* One row of the forward and of the backward, on plain restrict pointers so that the
 * loops vectorise in each clone of the callers (PA_CLONES). */
#define LSTM_ROWS(SUFFIX, T, SIG, TANH)                                                      \
    __attribute__((always_inline)) static inline void forward_row_##SUFFIX(                  \
        int64_t H, const T *restrict gi, const T *restrict gf, const T *restrict gg,          \
        const T *restrict go, const T *restrict cr, T *restrict hr, T *restrict cn) {         \
        for (int64_t j = 0; j < H; j++) {                                                     \
            T i = SIG(gi[j]), f = SIG(gf[j]), g = TANH(gg[j]), o = SIG(go[j]);                \
            T fc = f * cr[j], ig = i * g;                                                     \
            T c1 = fc + ig;                                                                  \
            cn[j] = c1;                                                                      \
            hr[j] = o * TANH(c1);                                                            \
        }                                                                                    \
    }                                                                                        \
    __attribute__((always_inline)) static inline void backward_row_##SUFFIX(                 \
        int64_t H, const T *restrict gi, const T *restrict gf, const T *restrict gg,          \
        const T *restrict go, const T *restrict cr, const T *restrict dh,                     \
        const T *restrict dcn, T *restrict di, T *restrict df, T *restrict dgg,               \
        T *restrict dgo, T *restrict dcr) {                                                   \
        for (int64_t j = 0; j < H; j++) {                                                     \
            T i = SIG(gi[j]), f = SIG(gf[j]), g = TANH(gg[j]), o = SIG(go[j]);                \
            T c1 = f * cr[j] + i * g, tc = TANH(c1);                                          \
            T dct = dcn[j] + dh[j] * o * ((T)1 - tc * tc);                                    \
            di[j] = dct * g * i * ((T)1 - i);                                                 \
            df[j] = dct * cr[j] * f * ((T)1 - f);                                             \
            dgg[j] = dct * i * ((T)1 - g * g);                                                \
            dgo[j] = dh[j] * tc * o * ((T)1 - o);                                             \
            dcr[j] = dct * f;                                                                \
        }                                                                                    \
    }                                                                                        \
    /* rows [r0, r1) of n: gates row stride gs, c row stride cs; out and grad (2, n, H),  \
     * dg and dc contiguous */                                                              \
    PA_CLONES static void lstm_forward_##SUFFIX(int64_t r0, int64_t r1, int64_t n, int64_t H, \
                                                const T *gates, int64_t gs, const T *c,       \
                                                int64_t cs, T *out) {                         \
        for (int64_t r = r0; r < r1; r++) {                                                  \
            const T *g = gates + r * gs;                                                     \
            forward_row_##SUFFIX(H, g, g + H, g + 2 * H, g + 3 * H, c + r * cs, out + r * H,  \
                                 out + (n + r) * H);                                          \
        }                                                                                    \
    }                                                                                        \
    PA_CLONES static void lstm_backward_##SUFFIX(int64_t r0, int64_t r1, int64_t n, int64_t H, \
                                                 const T *gates, int64_t gs, const T *c,      \
                                                 int64_t cs, const T *grad, T *dg, T *dc) {   \
        for (int64_t r = r0; r < r1; r++) {                                                  \
            const T *g = gates + r * gs;                                                     \
            T *o = dg + r * 4 * H;                                                           \
            backward_row_##SUFFIX(H, g, g + H, g + 2 * H, g + 3 * H, c + r * cs, grad + r * H, \
                                  grad + (n + r) * H, o, o + H, o + 2 * H, o + 3 * H,       \
                                  dc + r * H);                                               \
        }                                                                                    \
    }
LSTM_ROWS(f32, float, pa_sigmoidf, pa_tanhf)
LSTM_ROWS(f64, double, pa_sigmoid, tanh)

/* A 2-d tensor whose rows are contiguous: its row stride, or -1. */
static int64_t row_stride(const pa_tensor *t) {
    if (t->ndim != 2) return -1;
    if (t->shape[1] > 1 && t->strides[1] != 1) return -1;
    return t->shape[0] > 1 ? t->strides[0] : t->shape[1];
}

int pa_lstm_cell(pa_tensor *gates, pa_tensor *c, pa_tensor **out) {
    PA_REQUIRE("lstm_cell", gates && c && out, "NULL tensor or result pointer");
    TRY(pa_layer_check_float("lstm_cell", "gates", gates, -1));
    TRY(pa_layer_check_float("lstm_cell", "c", c, gates->dtype));
    char b1[128], b2[128];
    if (gates->ndim != 2 || c->ndim != 2 || gates->shape[0] != c->shape[0] ||
        gates->shape[1] != 4 * c->shape[1])
        return pa_error(PA_ERR_VALUE, "lstm_cell: expected gates (N, 4H) and c (N, H), got %s and %s",
                        PA_SHAPE_STR(gates, b1), PA_SHAPE_STR(c, b2));
    int64_t gs = row_stride(gates), cs = row_stride(c);
    if (gs < 0 || cs < 0)
        return pa_error(PA_ERR_VALUE, "lstm_cell: gates and c need contiguous rows (got strides "
                        "(%lld, %lld) and (%lld, %lld))", (long long)gates->strides[0],
                        (long long)gates->strides[1], (long long)c->strides[0], (long long)c->strides[1]);
    int64_t n = c->shape[0], h = c->shape[1], shape[3] = {2, n, h};
    pa_tensor *y = pa_tensor_new(3, shape, gates->dtype);
    PA_CHECK_OOM(y);
    int nt = pa_threads_for_elements(n * 4 * h * 8);
    if (gates->dtype == PA_FLOAT32)
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_forward_f32(n * t / nt, n * (t + 1) / nt, n, h, (const float *)gates->data, gs,
                             (const float *)c->data, cs, (float *)y->data);
        });
    else
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_forward_f64(n * t / nt, n * (t + 1) / nt, n, h, (const double *)gates->data, gs,
                             (const double *)c->data, cs, (double *)y->data);
        });
    *out = y;
    pa_tensor *inputs[2] = {gates, c};
    if (!pa_needs_grad(2, inputs)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_LSTM_CELL, 2, inputs, y);
    int rc = node ? pa_node_save(node, 0, gates) : PA_ERR_MEMORY;
    if (!rc) rc = pa_node_save(node, 1, c);
    return rc ? pa_layer_fail(rc, out) : PA_OK;
}

int pa_backward_LSTM_CELL(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pa_tensor *gates = node->saved[0], *c = node->saved[1];
    int64_t n = c->shape[0], h = c->shape[1], gshape[2] = {n, 4 * h};
    int64_t gs = row_stride(gates), cs = row_stride(c);
    pa_tensor *gc = pa_contiguous_nograd(grad);  /* it may be an expanded zero, or a view */
    pa_tensor *dg = gc ? pa_tensor_new(2, gshape, gates->dtype) : NULL;
    pa_tensor *dc = dg ? pa_tensor_new(2, c->shape, c->dtype) : NULL;
    if (!dc) {
        pa_tensor_release(gc);
        pa_tensor_release(dg);
        return pa_error(PA_ERR_MEMORY, "lstm_cell: out of memory");
    }
    int nt = pa_threads_for_elements(n * 4 * h * 8);
    if (gates->dtype == PA_FLOAT32)
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_backward_f32(n * t / nt, n * (t + 1) / nt, n, h, (const float *)gates->data, gs,
                              (const float *)c->data, cs, (const float *)gc->data, (float *)dg->data,
                              (float *)dc->data);
        });
    else
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_backward_f64(n * t / nt, n * (t + 1) / nt, n, h, (const double *)gates->data, gs,
                              (const double *)c->data, cs, (const double *)gc->data, (double *)dg->data,
                              (double *)dc->data);
        });
    pa_tensor_release(gc);
    grads[0] = dg;
    grads[1] = dc;
    return PA_OK;
}
