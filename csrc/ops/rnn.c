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
#include <string.h>

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
    /* rows [r0, r1): gates rows gs apart, c rows cs apart; h' and c' (and dh, dc', dg,  \
     * dc) contiguous */                                                                    \
    PA_CLONES static void lstm_forward_##SUFFIX(int64_t r0, int64_t r1, int64_t H,           \
                                                const T *gates, int64_t gs, const T *c,       \
                                                int64_t cs, T *h1, T *c1) {                   \
        for (int64_t r = r0; r < r1; r++) {                                                  \
            const T *g = gates + r * gs;                                                     \
            forward_row_##SUFFIX(H, g, g + H, g + 2 * H, g + 3 * H, c + r * cs, h1 + r * H,   \
                                 c1 + r * H);                                                 \
        }                                                                                    \
    }                                                                                        \
    PA_CLONES static void lstm_backward_##SUFFIX(int64_t r0, int64_t r1, int64_t H,          \
                                                 const T *gates, int64_t gs, const T *c,      \
                                                 int64_t cs, const T *dh, const T *dc1,       \
                                                 T *dg, T *dc) {                              \
        for (int64_t r = r0; r < r1; r++) {                                                  \
            const T *g = gates + r * gs;                                                     \
            T *o = dg + r * 4 * H;                                                           \
            backward_row_##SUFFIX(H, g, g + H, g + 2 * H, g + 3 * H, c + r * cs, dh + r * H,  \
                                  dc1 + r * H, o, o + H, o + 2 * H, o + 3 * H, dc + r * H);  \
        }                                                                                    \
    }
LSTM_ROWS(f32, float, pa_sigmoidf, pa_tanhf)
LSTM_ROWS(f64, double, pa_sigmoid, tanh)

/* The cell over all n rows (threads by rows), forward or backward: gates rows gs apart,
 * c rows cs apart, every other matrix contiguous. */
static void step_forward(int dtype, int64_t n, int64_t H, const void *gates, int64_t gs,
                         const void *c, int64_t cs, void *h1, void *c1) {
    int nt = pa_threads_for_elements(n * 4 * H * 8);
    if (dtype == PA_FLOAT32)
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_forward_f32(n * t / nt, n * (t + 1) / nt, H, gates, gs, c, cs, h1, c1);
        });
    else
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_forward_f64(n * t / nt, n * (t + 1) / nt, H, gates, gs, c, cs, h1, c1);
        });
}

static void step_backward(int dtype, int64_t n, int64_t H, const void *gates, int64_t gs,
                          const void *c, int64_t cs, const void *dh, const void *dc1, void *dg,
                          void *dc) {
    int nt = pa_threads_for_elements(n * 4 * H * 8);
    if (dtype == PA_FLOAT32)
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_backward_f32(n * t / nt, n * (t + 1) / nt, H, gates, gs, c, cs, dh, dc1, dg, dc);
        });
    else
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
            lstm_backward_f64(n * t / nt, n * (t + 1) / nt, H, gates, gs, c, cs, dh, dc1, dg, dc);
        });
}

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
    step_forward(gates->dtype, n, h, gates->data, gs, c->data, cs, y->data,
                 y->data + n * h * (int64_t)pa_dtype_size(gates->dtype));
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
    step_backward(gates->dtype, n, h, gates->data, gs, c->data, cs, gc->data,
                  gc->data + n * h * (int64_t)pa_dtype_size(gates->dtype), dg->data, dc->data);
    pa_tensor_release(gc);
    grads[0] = dg;
    grads[1] = dc;
    return PA_OK;
}

/* ---- the whole layer -------------------------------------------------------------
 * NOTE: nn.LSTM runs each layer and direction as one op: the steps' products, bias and
 * cell in C, and a backward through time that forms the gradient of W_hh as one product
 * over all steps, dW_hh = dG^T @ [h_prev of every step] (k = T*N), instead of T products
 * of k = N and T accumulations of a 4H x H matrix, and no autograd node per step.  The
 * forward rounds as the composed step did (bias rows, then the product accumulated
 * onto them, then + ih, then the cell), so its values are unchanged.  Measured: the
 * layers suite's LSTM training step (128 -> 256, 50 steps, batch 32, Adam), 2 threads,
 * AMD EPYC (Zen 4): 25.3-25.7 -> 21.7-21.8 ms (best of 30; PyTorch 2.13: 23.7). */

/* Step t of T (in the order run) works on time index tt; the h it reads is h0 at the
 * first step, else the output of the step before. */
static int64_t time_index(int64_t t, int64_t T, int reverse) { return reverse ? T - 1 - t : t; }

static int check_state(const char *op, const char *what, const pa_tensor *t, int64_t n,
                       int64_t h, int dtype) {
    TRY(pa_layer_check_float(op, what, t, dtype));
    if (t->ndim != 2 || t->shape[0] != n || t->shape[1] != h) {
        char b[128];
        return pa_error(PA_ERR_VALUE, "%s: expected %s of shape (%lld, %lld), got %s", op, what,
                        (long long)n, (long long)h, PA_SHAPE_STR(t, b));
    }
    return PA_OK;
}

/* The arguments of every layer op: ih (T, N, G*H) with T >= 1, w_hh (G*H, H), h0 (N, H)
 * and b_hh (G*H,) or NULL, all of ih's float dtype (G gates, named gh, "4H", in messages);
 * T, N and H out. */
static int check_layer(const char *op, int64_t G, const char *gh, const pa_tensor *ih,
                       const pa_tensor *h0, const pa_tensor *w_hh, const pa_tensor *b_hh,
                       int64_t *T, int64_t *N, int64_t *H) {
    TRY(pa_layer_check_float(op, "ih", ih, -1));
    TRY(pa_layer_check_float(op, "w_hh", w_hh, ih->dtype));
    char b1[128], b2[128];
    if (ih->ndim != 3 || ih->shape[0] < 1 || w_hh->ndim != 2 || w_hh->shape[0] != ih->shape[2] ||
        w_hh->shape[0] != G * w_hh->shape[1] || w_hh->shape[1] < 1)
        return pa_error(PA_ERR_VALUE, "%s: expected ih (T, N, %s) with T >= 1 and w_hh (%s, H), "
                        "got %s and %s", op, gh, gh, PA_SHAPE_STR(ih, b1), PA_SHAPE_STR(w_hh, b2));
    *T = ih->shape[0];
    *N = ih->shape[1];
    *H = w_hh->shape[1];
    TRY(check_state(op, "h0", h0, *N, *H, ih->dtype));
    if (b_hh) TRY(pa_layer_check_vector(op, "b_hh", b_hh, G * *H, ih->dtype));
    return PA_OK;
}

/* hh (N, G*H) = h @ W_hh^T + b_hh as linear() rounds it: the bias rows first, then the
 * product accumulated onto them. */
static void recurrent_product(int dtype, int64_t N, int64_t GH, int64_t H, const char *h,
                              const pa_tensor *w, const pa_tensor *b, char *hh) {
    size_t row = (size_t)GH * pa_dtype_size(dtype);
    for (int64_t r = 0; b && r < N; r++) memcpy(hh + r * row, b->data, row);
    pa_layer_gemm(dtype, 0, 1, N, GH, H, h, H, w->data, H, b ? 1.0 : 0.0, hh, GH);
}

/* out = the output's gradient at this step, plus (after the last step) the gradient that
 * came back through h from the step after it, dh. */
static void step_grad(int dtype, int64_t n, const char *gy, const char *dh, int last,
                      char *out) {
    PA_DISPATCH_FLOAT(dtype, S, {
        const S *a = (const S *)gy, *b = (const S *)dh;
        S *o = (S *)out;
        for (int64_t i = 0; i < n; i++) o[i] = last ? a[i] : a[i] + b[i];
    });
}

/* dW_hh (G*H, H) = the sum over steps of dG_tt^T @ h_prev, dg (T, N, G*H): one product
 * over the steps after the first, whose h_prev are the outputs next to them in time in
 * hs (T rows of N x H), then the first step's with h0. */
static pa_tensor *recurrent_weight_grad(int dtype, int64_t T, int64_t N, int64_t GH, int64_t H,
                                        int reverse, const char *dg, const char *hs,
                                        const char *h0) {
    int64_t shape[2] = {GH, H}, first = time_index(0, T, reverse), rest = (T - 1) * N;
    size_t es = pa_dtype_size(dtype), state = (size_t)(N * H) * es, grow = (size_t)GH * es;
    pa_tensor *dw = pa_tensor_new(2, shape, dtype);
    if (!dw) return NULL;
    if (rest > 0)
        pa_layer_gemm(dtype, 1, 0, GH, H, rest, dg + (reverse ? 0 : N * grow), GH,
                      hs + (reverse ? state : 0), H, 0.0, dw->data, H);
    pa_layer_gemm(dtype, 1, 0, GH, H, N, dg + first * N * grow, GH, h0, H,
                  rest > 0 ? 1.0 : 0.0, dw->data, H);
    return dw;
}

/* db_hh: the column sums of the (rows, cols) gate gradients dg. */
static int recurrent_bias_grad(pa_tensor *dg, int64_t rows, int64_t cols, pa_tensor **out) {
    int64_t shape[2] = {rows, cols}, dim0 = 0;
    pa_tensor *flat = NULL;
    int rc = pa_reshape(dg, 2, shape, &flat);
    if (!rc) rc = pa_sum(flat, 1, &dim0, 0, out);
    pa_tensor_release(flat);
    return rc;
}

/* The node of a layer op y = op(inputs), when one is needed: it saves saved[0..n_saved)
 * in that order and the direction (iarg[0]) and relu (iarg[1]).  Then *out = y, or y is
 * dropped on failure. */
static int record_layer(pa_op op, int n_in, pa_tensor **inputs, pa_tensor *y,
                        pa_tensor *const *saved, int n_saved, int reverse, int relu, int rc,
                        pa_tensor **out) {
    if (!rc && pa_needs_grad(n_in, inputs)) {
        pa_node *node = pa_node_new(op, n_in, inputs, y);
        rc = node ? PA_OK : PA_ERR_MEMORY;
        for (int i = 0; !rc && i < n_saved; i++) rc = pa_node_save(node, i, saved[i]);
        if (!rc) {
            node->iarg[0] = reverse;
            node->iarg[1] = relu;
        }
    }
    if (rc) {
        pa_tensor_release(y);
        return rc;
    }
    *out = y;
    return PA_OK;
}

int pa_lstm_layer(pa_tensor *ih, pa_tensor *h0, pa_tensor *c0, pa_tensor *w_hh, pa_tensor *b_hh,
                  int reverse, pa_tensor **out) {
    PA_REQUIRE("lstm_layer", ih && h0 && c0 && w_hh && out, "NULL tensor or result pointer");
    int64_t T, N, H;
    TRY(check_layer("lstm_layer", 4, "4H", ih, h0, w_hh, b_hh, &T, &N, &H));
    int dtype = ih->dtype;
    TRY(check_state("lstm_layer", "c0", c0, N, H, dtype));
    int64_t oshape[3] = {T + 1, N, H}, gshape[3] = {T, N, 4 * H}, ashape[3] = {T + 2, N, H};
    pa_tensor *ihc = pa_contiguous_nograd(ih), *h0c = pa_contiguous_nograd(h0);
    pa_tensor *c0c = pa_contiguous_nograd(c0), *wc = pa_contiguous_nograd(w_hh);
    pa_tensor *bc = b_hh ? pa_contiguous_nograd(b_hh) : NULL;
    pa_tensor *y = pa_tensor_new(3, oshape, dtype), *gates = pa_tensor_new(3, gshape, dtype);
    pa_tensor *aux = pa_tensor_new(3, ashape, dtype);  /* c before each step, c_T, h0 */
    int rc = ihc && h0c && c0c && wc && (bc || !b_hh) && y && gates && aux ? PA_OK : PA_ERR_MEMORY;
    if (!rc) {
        size_t es = pa_dtype_size(dtype), state = (size_t)(N * H) * es, grow = (size_t)(4 * H) * es;
        char *yd = y->data, *gd = gates->data, *ad = aux->data;
        memcpy(ad, c0c->data, state);
        memcpy(ad + (T + 1) * state, h0c->data, state);
        for (int64_t t = 0; t < T; t++) {
            int64_t tt = time_index(t, T, reverse);
            const char *hprev = t == 0 ? h0c->data : yd + time_index(t - 1, T, reverse) * state;
            char *g = gd + tt * N * grow;
            recurrent_product(dtype, N, 4 * H, H, hprev, wc, bc, g);
            PA_DISPATCH_FLOAT(dtype, S, {
                S *gs = (S *)g;
                const S *is = (const S *)(ihc->data + tt * N * grow);
                for (int64_t i = 0; i < N * 4 * H; i++) gs[i] = gs[i] + is[i];
            });
            step_forward(dtype, N, H, g, 4 * H, ad + t * state, H, yd + tt * state,
                         ad + (t + 1) * state);
        }
        memcpy(yd + T * state, ad + T * state, state);
    }
    pa_tensor_release(ihc);
    pa_tensor_release(h0c);
    pa_tensor_release(c0c);
    pa_tensor_release(wc);
    pa_tensor_release(bc);
    pa_tensor *inputs[5] = {ih, h0, c0, w_hh, b_hh}, *saved[4] = {gates, aux, y, w_hh};
    rc = record_layer(PA_OP_LSTM_LAYER, 5, inputs, y, saved, 4, reverse, 0, rc, out);
    pa_tensor_release(gates);
    pa_tensor_release(aux);
    return rc;
}

int pa_backward_LSTM_LAYER(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pa_tensor *gates = node->saved[0], *aux = node->saved[1], *y = node->saved[2];
    int64_t T = gates->shape[0], N = gates->shape[1], H = aux->shape[2];
    int reverse = (int)node->iarg[0], dtype = gates->dtype;
    int64_t sshape[2] = {N, H};
    size_t es = pa_dtype_size(dtype), state = (size_t)(N * H) * es, grow = (size_t)(4 * H) * es;
    pa_tensor *gy = pa_contiguous_nograd(grad), *w = pa_contiguous_nograd(node->saved[3]);
    pa_tensor *dg = pa_tensor_new(3, gates->shape, dtype);
    pa_tensor *dh = pa_tensor_new(2, sshape, dtype), *dht = pa_tensor_new(2, sshape, dtype);
    pa_tensor *dc = pa_tensor_new(2, sshape, dtype), *dc2 = pa_tensor_new(2, sshape, dtype);
    int rc = gy && w && dg && dh && dht && dc && dc2 ? PA_OK : PA_ERR_MEMORY;
    if (!rc) memcpy(dc->data, gy->data + T * state, state);
    for (int64_t t = T - 1; !rc && t >= 0; t--) {
        int64_t tt = time_index(t, T, reverse);
        step_grad(dtype, N * H, gy->data + tt * state, dh->data, t == T - 1, dht->data);
        step_backward(dtype, N, H, gates->data + tt * N * grow, 4 * H, aux->data + t * state, H,
                      dht->data, dc->data, dg->data + tt * N * grow, dc2->data);
        pa_tensor *swap = dc;
        dc = dc2;
        dc2 = swap;
        if (t > 0 || pa_input_needs_grad(node, 1))
            pa_layer_gemm(dtype, 0, 0, N, H, 4 * H, dg->data + tt * N * grow, 4 * H, w->data, H,
                          0.0, dh->data, H);
    }
    if (!rc && pa_input_needs_grad(node, 3) &&
        !(grads[3] = recurrent_weight_grad(dtype, T, N, 4 * H, H, reverse, dg->data, y->data,
                                           aux->data + (T + 1) * state)))
        rc = PA_ERR_MEMORY;
    if (!rc && pa_input_needs_grad(node, 4)) rc = recurrent_bias_grad(dg, T * N, 4 * H, &grads[4]);
    if (!rc && pa_input_needs_grad(node, 0)) grads[0] = dg, dg = NULL;
    if (!rc && pa_input_needs_grad(node, 1)) grads[1] = dh, dh = NULL;
    if (!rc && pa_input_needs_grad(node, 2)) grads[2] = dc, dc = NULL;
    pa_tensor_release(gy);
    pa_tensor_release(w);
    pa_tensor_release(dg);
    pa_tensor_release(dh);
    pa_tensor_release(dht);
    pa_tensor_release(dc);
    pa_tensor_release(dc2);
    return rc;
}

/* ---- a whole GRU layer -------------------------------------------------------------
 * NOTE: nn.GRU's layers run as one op each, as LSTM's do: per step hh = h W_hh^T + b_hh
 * (bias rows, then the product accumulated onto them), then
 *   r = sigmoid(hh_r + ih_r), z = sigmoid(hh_z + ih_z), n = tanh(ih_n + hh_n r),
 *   h' = (h - n) z + n,
 * each rounded as the composed step rounds it (its values are unchanged), keeping r, z,
 * n and hh_n for the backward, which forms dW_hh as one product over all steps.
 * Measured: GRU 128 -> 256, 50 steps, batch 32, training step (Adam), 2 threads, AMD
 * EPYC (Zen 4), best of 30 in alternating processes: 29.6-30.8 -> 16.5-18.9 ms. */
#define GRU_ROWS(SUFFIX, T, SIG, TANH)                                                       \
    PA_CLONES static void gru_forward_##SUFFIX(int64_t n, const T *restrict hh,              \
                                               const T *restrict ih, const T *restrict h,    \
                                               T *restrict keep, T *restrict h1) {           \
        for (int64_t j = 0; j < n; j++) {                                                    \
            T r = SIG(hh[j] + ih[j]), z = SIG(hh[n + j] + ih[n + j]);                        \
            T hn = hh[2 * n + j], nn = TANH(ih[2 * n + j] + hn * r);                         \
            keep[j] = r;                                                                     \
            keep[n + j] = z;                                                                 \
            keep[2 * n + j] = nn;                                                            \
            keep[3 * n + j] = hn;                                                            \
            h1[j] = (h[j] - nn) * z + nn;                                                    \
        }                                                                                    \
    }                                                                                        \
    /* from dh (the gradient of h'), the gate gradients dih = [dr, dz, dn] (the             \
     * pre-activations'), dhh = [dr, dz, dn r] and the direct part of h's gradient, dh z */ \
    PA_CLONES static void gru_backward_##SUFFIX(int64_t n, const T *restrict keep,           \
                                                const T *restrict h, const T *restrict dh,   \
                                                T *restrict dih, T *restrict dhh,            \
                                                T *restrict dh0) {                           \
        for (int64_t j = 0; j < n; j++) {                                                    \
            T r = keep[j], z = keep[n + j], nn = keep[2 * n + j], hn = keep[3 * n + j];      \
            T g = dh[j], dnn = g - g * z, dz = g * (h[j] - nn);                              \
            T dpn = dnn * ((T)1 - nn * nn), dr = dpn * hn;                                   \
            T dpr = dr * (r * ((T)1 - r)), dpz = dz * (z * ((T)1 - z));                      \
            dih[j] = dhh[j] = dpr;                                                           \
            dih[n + j] = dhh[n + j] = dpz;                                                   \
            dih[2 * n + j] = dpn;                                                            \
            dhh[2 * n + j] = dpn * r;                                                        \
            dh0[j] = g * z;                                                                  \
        }                                                                                    \
    }
GRU_ROWS(f32, float, pa_sigmoidf, pa_tanhf)
GRU_ROWS(f64, double, pa_sigmoid, tanh)

/* The GRU rows [r0, r1) of a step; keep holds (N, 4H) rows [r z n hh_n], the gradients
 * (N, 3H) rows. */
static void gru_step(int dtype, int64_t N, int64_t H, const char *hh, const char *ih,
                     const char *h, char *keep, char *h1) {
    size_t es = pa_dtype_size(dtype);
    int nt = pa_threads_for_elements(N * 3 * H * 8);
    PA_PARALLEL_FOR(nt, for (int64_t r = 0; r < N; r++) {
        size_t g3 = (size_t)(r * 3 * H) * es, g4 = (size_t)(r * 4 * H) * es, g1 = (size_t)(r * H) * es;
        if (dtype == PA_FLOAT32)
            gru_forward_f32(H, (const float *)(hh + g3), (const float *)(ih + g3),
                            (const float *)(h + g1), (float *)(keep + g4), (float *)(h1 + g1));
        else
            gru_forward_f64(H, (const double *)(hh + g3), (const double *)(ih + g3),
                            (const double *)(h + g1), (double *)(keep + g4), (double *)(h1 + g1));
    });
}

static void gru_step_back(int dtype, int64_t N, int64_t H, const char *keep, const char *h,
                          const char *dh, char *dih, char *dhh, char *dh0) {
    size_t es = pa_dtype_size(dtype);
    int nt = pa_threads_for_elements(N * 3 * H * 8);
    PA_PARALLEL_FOR(nt, for (int64_t r = 0; r < N; r++) {
        size_t g3 = (size_t)(r * 3 * H) * es, g4 = (size_t)(r * 4 * H) * es, g1 = (size_t)(r * H) * es;
        if (dtype == PA_FLOAT32)
            gru_backward_f32(H, (const float *)(keep + g4), (const float *)(h + g1),
                             (const float *)(dh + g1), (float *)(dih + g3), (float *)(dhh + g3),
                             (float *)(dh0 + g1));
        else
            gru_backward_f64(H, (const double *)(keep + g4), (const double *)(h + g1),
                             (const double *)(dh + g1), (double *)(dih + g3), (double *)(dhh + g3),
                             (double *)(dh0 + g1));
    });
}

int pa_gru_layer(pa_tensor *ih, pa_tensor *h0, pa_tensor *w_hh, pa_tensor *b_hh, int reverse,
                 pa_tensor **out) {
    PA_REQUIRE("gru_layer", ih && h0 && w_hh && out, "NULL tensor or result pointer");
    int64_t T, N, H;
    TRY(check_layer("gru_layer", 3, "3H", ih, h0, w_hh, b_hh, &T, &N, &H));
    int dtype = ih->dtype;
    int64_t oshape[3] = {T, N, H}, kshape[3] = {T, N, 4 * H}, hshape[2] = {N, 3 * H};
    pa_tensor *ihc = pa_contiguous_nograd(ih), *h0c = pa_contiguous_nograd(h0);
    pa_tensor *wc = pa_contiguous_nograd(w_hh), *bc = b_hh ? pa_contiguous_nograd(b_hh) : NULL;
    pa_tensor *y = pa_tensor_new(3, oshape, dtype), *keep = pa_tensor_new(3, kshape, dtype);
    pa_tensor *hh = pa_tensor_new(2, hshape, dtype);
    int rc = ihc && h0c && wc && (bc || !b_hh) && y && keep && hh ? PA_OK : PA_ERR_MEMORY;
    if (!rc) {
        size_t es = pa_dtype_size(dtype), state = (size_t)(N * H) * es, grow = (size_t)(3 * H) * es;
        char *yd = y->data;
        for (int64_t t = 0; t < T; t++) {
            int64_t tt = time_index(t, T, reverse);
            const char *hprev = t == 0 ? h0c->data : yd + time_index(t - 1, T, reverse) * state;
            recurrent_product(dtype, N, 3 * H, H, hprev, wc, bc, hh->data);
            gru_step(dtype, N, H, hh->data, ihc->data + tt * N * grow, hprev,
                     keep->data + tt * N * 4 * H * es, yd + tt * state);
        }
    }
    pa_tensor_release(ihc);
    pa_tensor_release(wc);
    pa_tensor_release(bc);
    pa_tensor_release(hh);
    pa_tensor *inputs[4] = {ih, h0, w_hh, b_hh}, *saved[4] = {keep, y, w_hh, h0c};
    rc = record_layer(PA_OP_GRU_LAYER, 4, inputs, y, saved, 4, reverse, 0, rc, out);
    pa_tensor_release(h0c);
    pa_tensor_release(keep);
    return rc;
}

int pa_backward_GRU_LAYER(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pa_tensor *keep = node->saved[0], *y = node->saved[1], *h0 = node->saved[3];
    int64_t T = keep->shape[0], N = keep->shape[1], H = keep->shape[2] / 4;
    int reverse = (int)node->iarg[0], dtype = keep->dtype;
    int64_t sshape[2] = {N, H}, gshape[3] = {T, N, 3 * H};
    size_t es = pa_dtype_size(dtype), state = (size_t)(N * H) * es, grow = (size_t)(3 * H) * es;
    pa_tensor *gy = pa_contiguous_nograd(grad), *w = pa_contiguous_nograd(node->saved[2]);
    pa_tensor *dih = pa_tensor_new(3, gshape, dtype), *dhh = pa_tensor_new(3, gshape, dtype);
    pa_tensor *dh = pa_tensor_new(2, sshape, dtype), *dht = pa_tensor_new(2, sshape, dtype);
    int rc = gy && w && dih && dhh && dh && dht ? PA_OK : PA_ERR_MEMORY;
    for (int64_t t = T - 1; !rc && t >= 0; t--) {
        int64_t tt = time_index(t, T, reverse);
        const char *hprev = t == 0 ? h0->data : y->data + time_index(t - 1, T, reverse) * state;
        step_grad(dtype, N * H, gy->data + tt * state, dh->data, t == T - 1, dht->data);
        gru_step_back(dtype, N, H, keep->data + tt * N * 4 * H * es, hprev, dht->data,
                      dih->data + tt * N * grow, dhh->data + tt * N * grow, dh->data);
        if (t > 0 || pa_input_needs_grad(node, 1))  /* dh = dh z + dhh @ W_hh */
            pa_layer_gemm(dtype, 0, 0, N, H, 3 * H, dhh->data + tt * N * grow, 3 * H, w->data, H,
                          1.0, dh->data, H);
    }
    if (!rc && pa_input_needs_grad(node, 2) &&
        !(grads[2] = recurrent_weight_grad(dtype, T, N, 3 * H, H, reverse, dhh->data, y->data,
                                           h0->data)))
        rc = PA_ERR_MEMORY;
    if (!rc && pa_input_needs_grad(node, 3)) rc = recurrent_bias_grad(dhh, T * N, 3 * H, &grads[3]);
    if (!rc && pa_input_needs_grad(node, 0)) grads[0] = dih, dih = NULL;
    if (!rc && pa_input_needs_grad(node, 1)) grads[1] = dh, dh = NULL;
    pa_tensor_release(gy);
    pa_tensor_release(w);
    pa_tensor_release(dih);
    pa_tensor_release(dhh);
    pa_tensor_release(dh);
    pa_tensor_release(dht);
    return rc;
}

/* ---- a whole Elman RNN layer ---------------------------------------------------------
 * NOTE: nn.RNN's layers run as one op each too: per step h' = tanh(hh + ih) (or relu)
 * with hh = h W_hh^T + b_hh (bias rows, then the product accumulated onto them), rounded
 * as the composed step; the backward needs only the outputs (h' gives tanh's and relu's
 * derivatives) and forms dW_hh as one product over all steps.  Measured: RNN 128 ->
 * 256, 50 steps, batch 32, training step (Adam), 2 threads, AMD EPYC (Zen 4), best of 40
 * in alternating processes: 6.69-7.21 -> 5.21-5.29 ms. */
#define RNN_ROWS(SUFFIX, T, TANH)                                                            \
    PA_CLONES static void rnn_forward_##SUFFIX(int64_t n, int relu, const T *restrict hh,    \
                                               const T *restrict ih, T *restrict h1) {       \
        if (relu)                                                                            \
            for (int64_t j = 0; j < n; j++) {                                                \
                T x = hh[j] + ih[j];                                                         \
                h1[j] = x > 0 ? x : (x != x ? x : (T)0);                                     \
            }                                                                                \
        else                                                                                 \
            for (int64_t j = 0; j < n; j++) h1[j] = TANH(hh[j] + ih[j]);                     \
    }                                                                                        \
    /* the pre-activation's gradient from the output's (dh) and the output (y) */           \
    PA_CLONES static void rnn_backward_##SUFFIX(int64_t n, int relu, const T *restrict y,    \
                                                const T *restrict dh, T *restrict dpre) {    \
        if (relu)                                                                            \
            for (int64_t j = 0; j < n; j++) dpre[j] = y[j] > 0 ? dh[j] : (T)0;               \
        else                                                                                 \
            for (int64_t j = 0; j < n; j++) dpre[j] = dh[j] * ((T)1 - y[j] * y[j]);          \
    }
RNN_ROWS(f32, float, pa_tanhf)
RNN_ROWS(f64, double, tanh)

static void rnn_rows(int dtype, int backward, int64_t n, int relu, const char *a, const char *b,
                     char *out) {
    int nt = pa_threads_for_elements(n * (relu ? 1 : 8));
    PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {
        int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
        size_t es = pa_dtype_size(dtype), off = (size_t)lo * es;
        if (dtype == PA_FLOAT32 && !backward)
            rnn_forward_f32(hi - lo, relu, (const float *)(a + off), (const float *)(b + off),
                            (float *)(out + off));
        else if (dtype == PA_FLOAT32)
            rnn_backward_f32(hi - lo, relu, (const float *)(a + off), (const float *)(b + off),
                             (float *)(out + off));
        else if (!backward)
            rnn_forward_f64(hi - lo, relu, (const double *)(a + off), (const double *)(b + off),
                            (double *)(out + off));
        else
            rnn_backward_f64(hi - lo, relu, (const double *)(a + off), (const double *)(b + off),
                             (double *)(out + off));
    });
}

int pa_rnn_layer(pa_tensor *ih, pa_tensor *h0, pa_tensor *w_hh, pa_tensor *b_hh, int relu,
                 int reverse, pa_tensor **out) {
    PA_REQUIRE("rnn_layer", ih && h0 && w_hh && out, "NULL tensor or result pointer");
    int64_t T, N, H;
    TRY(check_layer("rnn_layer", 1, "H", ih, h0, w_hh, b_hh, &T, &N, &H));
    int dtype = ih->dtype;
    int64_t oshape[3] = {T, N, H}, hshape[2] = {N, H};
    pa_tensor *ihc = pa_contiguous_nograd(ih), *h0c = pa_contiguous_nograd(h0);
    pa_tensor *wc = pa_contiguous_nograd(w_hh), *bc = b_hh ? pa_contiguous_nograd(b_hh) : NULL;
    pa_tensor *y = pa_tensor_new(3, oshape, dtype), *hh = pa_tensor_new(2, hshape, dtype);
    int rc = ihc && h0c && wc && (bc || !b_hh) && y && hh ? PA_OK : PA_ERR_MEMORY;
    if (!rc) {
        size_t state = (size_t)(N * H) * pa_dtype_size(dtype);
        char *yd = y->data;
        for (int64_t t = 0; t < T; t++) {
            int64_t tt = time_index(t, T, reverse);
            const char *hprev = t == 0 ? h0c->data : yd + time_index(t - 1, T, reverse) * state;
            recurrent_product(dtype, N, H, H, hprev, wc, bc, hh->data);
            rnn_rows(dtype, 0, N * H, relu, hh->data, ihc->data + tt * state, yd + tt * state);
        }
    }
    pa_tensor_release(ihc);
    pa_tensor_release(wc);
    pa_tensor_release(bc);
    pa_tensor_release(hh);
    pa_tensor *inputs[4] = {ih, h0, w_hh, b_hh}, *saved[3] = {y, w_hh, h0c};
    rc = record_layer(PA_OP_RNN_LAYER, 4, inputs, y, saved, 3, reverse, relu, rc, out);
    pa_tensor_release(h0c);
    return rc;
}

int pa_backward_RNN_LAYER(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pa_tensor *y = node->saved[0], *h0 = node->saved[2];
    int64_t T = y->shape[0], N = y->shape[1], H = y->shape[2];
    int reverse = (int)node->iarg[0], relu = (int)node->iarg[1], dtype = y->dtype;
    int64_t sshape[2] = {N, H};
    size_t state = (size_t)(N * H) * pa_dtype_size(dtype);
    pa_tensor *gy = pa_contiguous_nograd(grad), *w = pa_contiguous_nograd(node->saved[1]);
    pa_tensor *dpre = pa_tensor_new(3, y->shape, dtype);
    pa_tensor *dh = pa_tensor_new(2, sshape, dtype), *dht = pa_tensor_new(2, sshape, dtype);
    int rc = gy && w && dpre && dh && dht ? PA_OK : PA_ERR_MEMORY;
    for (int64_t t = T - 1; !rc && t >= 0; t--) {
        int64_t tt = time_index(t, T, reverse);
        step_grad(dtype, N * H, gy->data + tt * state, dh->data, t == T - 1, dht->data);
        rnn_rows(dtype, 1, N * H, relu, y->data + tt * state, dht->data, dpre->data + tt * state);
        if (t > 0 || pa_input_needs_grad(node, 1))
            pa_layer_gemm(dtype, 0, 0, N, H, H, dpre->data + tt * state, H, w->data, H, 0.0,
                          dh->data, H);
    }
    if (!rc && pa_input_needs_grad(node, 2) &&
        !(grads[2] = recurrent_weight_grad(dtype, T, N, H, H, reverse, dpre->data, y->data,
                                           h0->data)))
        rc = PA_ERR_MEMORY;
    if (!rc && pa_input_needs_grad(node, 3)) rc = recurrent_bias_grad(dpre, T * N, H, &grads[3]);
    if (!rc && pa_input_needs_grad(node, 0)) grads[0] = dpre, dpre = NULL;
    if (!rc && pa_input_needs_grad(node, 1)) grads[1] = dh, dh = NULL;
    pa_tensor_release(gy);
    pa_tensor_release(w);
    pa_tensor_release(dpre);
    pa_tensor_release(dh);
    pa_tensor_release(dht);
    return rc;
}
