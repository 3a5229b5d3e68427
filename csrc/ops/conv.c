/* 2-d convolution (torch.nn.functional.conv2d), forward and backward side by side.
 *
 * im2col on top of the GEMM kernels.  The batch is processed in chunks of `nb` samples
 * whose columns sit side by side in one (C*kh*kw, nb*L) matrix (L = output pixels), so
 * each group is one large product that the GEMM threads itself:
 *
 *   forward      Y_g (Og x nbL)  = W_g (Og x K) @ col_g (K x nbL)
 *   grad weight  dW_g (Og x K)  += dY_g (Og x nbL) @ col_g^T          (trans_b)
 *                or, for K > Og > 16, dW_g^T += col_g @ dY_g^T, transposed at the end
 *   grad input   dcol_g (K x nbL) = W_g^T @ dY_g, then col2im          (trans_a)
 *
 * When the weight needs a gradient and the whole batch's columns are few enough
 * (KEEP_COL_ELEMENTS), the forward builds them as one chunk and the node keeps them, so
 * the backward's weight gradient needs no im2col of its own.
 *
 * The chunk size depends only on the shapes, the K sums stay whole inside the GEMM,
 * and im2col/col2im/bias loops give each output element to one thread with a fixed
 * order of additions: results are bit-identical for any thread count. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/parallel.h"
#include "layer_util.h"

/* NOTE: 1M elements (4 MB in float32) of columns per chunk keeps the GEMM large while
 * bounding the scratch memory for big inputs. */
enum { COL_CHUNK_ELEMENTS = 1 << 20 };

typedef struct {
    int64_t n, c, h, w;         /* input (N, C, H, W) */
    int64_t o, kh, kw;          /* weight (O, C / groups, kh, kw) */
    int64_t oh, ow;             /* output spatial size */
    int64_t sh, sw, ph, pw, dh, dw, groups;
} conv_geom;

static int conv_check(const pa_tensor *x, const pa_tensor *w, const pa_tensor *b,
                      const int64_t *prm, conv_geom *g) {
    char b1[128], b2[128];
    TRY(pa_layer_check_float("conv2d", "input", x, -1));
    TRY(pa_layer_check_float("conv2d", "weight", w, x->dtype));
    if (x->ndim != 4)
        return pa_error(PA_ERR_VALUE, "conv2d: expected a 4-d input (N, C, H, W), got shape %s",
                        PA_SHAPE_STR(x, b1));
    if (w->ndim != 4)
        return pa_error(PA_ERR_VALUE, "conv2d: expected a 4-d weight (out_channels, in_channels / "
                        "groups, kH, kW), got shape %s", PA_SHAPE_STR(w, b1));
    for (int k = 0; k < 2; k++) {
        if (prm[k] < 1)
            return pa_error(PA_ERR_VALUE, "conv2d: stride must be positive, got (%lld, %lld)",
                            (long long)prm[0], (long long)prm[1]);
        if (prm[2 + k] < 0)
            return pa_error(PA_ERR_VALUE, "conv2d: padding must be non-negative, got (%lld, %lld)",
                            (long long)prm[2], (long long)prm[3]);
        if (prm[4 + k] < 1)
            return pa_error(PA_ERR_VALUE, "conv2d: dilation must be positive, got (%lld, %lld)",
                            (long long)prm[4], (long long)prm[5]);
    }
    for (int k = 0; k < 7; k++)
        if (prm[k] > INT32_MAX)
            return pa_error(PA_ERR_VALUE, "conv2d: stride, padding, dilation and groups must be at "
                            "most %d, got %lld", INT32_MAX, (long long)prm[k]);
    int64_t groups = prm[6];
    if (groups < 1)
        return pa_error(PA_ERR_VALUE, "conv2d: groups must be positive, got %lld", (long long)groups);
    *g = (conv_geom){.n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
                     .o = w->shape[0], .kh = w->shape[2], .kw = w->shape[3],
                     .sh = prm[0], .sw = prm[1], .ph = prm[2], .pw = prm[3], .dh = prm[4],
                     .dw = prm[5], .groups = groups};
    if (g->o % groups != 0 || w->shape[1] * groups != g->c || g->o == 0)
        return pa_error(PA_ERR_VALUE, "conv2d: given groups=%lld, weight of shape %s expects the "
                        "input %s to have %lld channels (and out_channels divisible by groups), but "
                        "it has %lld", (long long)groups, PA_SHAPE_STR(w, b1), PA_SHAPE_STR(x, b2),
                        (long long)(w->shape[1] * groups), (long long)g->c);
    if (g->kh < 1 || g->kw < 1)
        return pa_error(PA_ERR_VALUE, "conv2d: weight of shape %s has an empty kernel",
                        PA_SHAPE_STR(w, b1));
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    int64_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    if (eh > hp || ew > wp)
        return pa_error(PA_ERR_VALUE, "conv2d: padded input size per channel (%lld x %lld) is "
                        "smaller than the dilated kernel size (%lld x %lld) (input %s, weight %s)",
                        (long long)hp, (long long)wp, (long long)eh, (long long)ew,
                        PA_SHAPE_STR(x, b1), PA_SHAPE_STR(w, b2));
    if (b) TRY(pa_layer_check_vector("conv2d", "bias", b, g->o, x->dtype));
    g->oh = (hp - eh) / g->sh + 1;
    g->ow = (wp - ew) / g->sw + 1;
    return PA_OK;
}

/* Range [lo, hi) of output positions o whose input position o*s + off lies in [0, size). */
static void valid_range(int64_t off, int64_t s, int64_t size, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = size - off <= 0 ? 0 : (size - off + s - 1) / s;
    *lo = a < out ? a : out;
    *hi = b < out ? b : out;
    if (*hi < *lo) *hi = *lo;
}

/* Columns of samples [n0, n0 + nb) of x into col (C*kh*kw, nb*L), rows ld >= nb*L apart. */
static void im2col(const conv_geom *g, const pa_tensor *x, int64_t n0, int64_t nb, char *col,
                   int64_t ld) {
    int64_t L = g->oh * g->ow, rows = g->c * g->kh * g->kw;
    int nt = pa_threads_for_elements(rows * ld);
    /* NOTE: row by row, a 14-pixel row costs a few loops' overhead more than its copy:
     * (64, 16, 14, 14), 3x3, padding 1 spent 21% of its forward + backward here. */
    const int flat = g->sh == 1 && g->sw == 1 && g->ow == g->w;
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data;
        T *cs = (T *)col;
        PA_PARALLEL_FOR2(nt, for (int64_t r = 0; r < rows; r++)
            for (int64_t s = 0; s < nb; s++) {
                int64_t c = r / (g->kh * g->kw), i = r / g->kw % g->kh, j = r % g->kw;
                const T *plane = xs + ((n0 + s) * g->c + c) * g->h * g->w;
                T *dst = cs + r * ld + s * L;
                int64_t oy0, oy1, ox0, ox1;
                valid_range(i * g->dh - g->ph, g->sh, g->h, g->oh, &oy0, &oy1);
                valid_range(j * g->dw - g->pw, g->sw, g->w, g->ow, &ox0, &ox1);
                if (flat) {
                    /* rows of the input and of the column are equally long: the valid
                     * rows are one run of memory, from the first valid element to the
                     * last; then the columns a tap reads outside the row are zeroed */
                    if (oy1 <= oy0 || ox1 <= ox0) {
                        memset(dst, 0, (size_t)L * sizeof(T));
                        continue;
                    }
                    memset(dst, 0, (size_t)(oy0 * g->ow + ox0) * sizeof(T));
                    const T *src = plane + (oy0 + i * g->dh - g->ph) * g->w + ox0 + j * g->dw - g->pw;
                    int64_t run = (oy1 - 1 - oy0) * g->ow + ox1 - ox0;
                    memcpy(dst + oy0 * g->ow + ox0, src, (size_t)run * sizeof(T));
                    memset(dst + (oy1 - 1) * g->ow + ox1, 0,
                           (size_t)(L - (oy1 - 1) * g->ow - ox1) * sizeof(T));
                    if (ox0 > 0 || ox1 < g->ow)
                        for (int64_t oy = oy0; oy < oy1 - 1; oy++) {
                            T *d = dst + oy * g->ow;
                            for (int64_t ox = ox1; ox < g->ow; ox++) d[ox] = 0;
                            for (int64_t ox = 0; ox < ox0; ox++) d[g->ow + ox] = 0;
                        }
                    continue;
                }
                for (int64_t oy = 0; oy < g->oh; oy++) {
                    T *d = dst + oy * g->ow;
                    if (oy < oy0 || oy >= oy1) {
                        for (int64_t ox = 0; ox < g->ow; ox++) d[ox] = 0;
                        continue;
                    }
                    const T *src = plane + (oy * g->sh + i * g->dh - g->ph) * g->w + j * g->dw - g->pw;
                    for (int64_t ox = 0; ox < ox0; ox++) d[ox] = 0;
                    if (g->sw == 1)
                        for (int64_t ox = ox0; ox < ox1; ox++) d[ox] = src[ox];
                    else
                        for (int64_t ox = ox0; ox < ox1; ox++) d[ox] = src[ox * g->sw];
                    for (int64_t ox = ox1; ox < g->ow; ox++) d[ox] = 0;
                }
            });
    });
}

/* dx[n0 + s] = the columns of col (C*kh*kw, nb*L), rows ld apart, added back onto their
 * input pixels.  One thread per (sample, channel) plane, kernel offsets in a fixed order. */
static void col2im(const conv_geom *g, const char *col, int64_t n0, int64_t nb, int64_t ld,
                   pa_tensor *dx) {
    int64_t L = g->oh * g->ow, khw = g->kh * g->kw;
    int nt = pa_threads_for_elements(g->c * khw * ld);
    PA_DISPATCH_FLOAT(dx->dtype, T, {
        const T *cs = (const T *)col;
        T *xs = (T *)dx->data;
        PA_PARALLEL_FOR2(nt, for (int64_t s = 0; s < nb; s++)
            for (int64_t c = 0; c < g->c; c++) {
                T *plane = xs + ((n0 + s) * g->c + c) * g->h * g->w;
                for (int64_t p = 0; p < g->h * g->w; p++) plane[p] = 0;
                for (int64_t r = c * khw; r < (c + 1) * khw; r++) {
                    int64_t i = r / g->kw % g->kh, j = r % g->kw;
                    const T *src = cs + r * ld + s * L;
                    int64_t oy0, oy1, ox0, ox1;
                    valid_range(i * g->dh - g->ph, g->sh, g->h, g->oh, &oy0, &oy1);
                    valid_range(j * g->dw - g->pw, g->sw, g->w, g->ow, &ox0, &ox1);
                    for (int64_t oy = oy0; oy < oy1; oy++) {
                        T *d = plane + (oy * g->sh + i * g->dh - g->ph) * g->w + j * g->dw - g->pw;
                        const T *sr = src + oy * g->ow;
                        for (int64_t ox = ox0; ox < ox1; ox++) d[ox * g->sw] += sr[ox];
                    }
                }
            });
    });
}

/* Copies y (N, O, L) samples [n0, n0 + nb) to/from buf (O, nb*L); to_buf selects. */
static void shuffle_chunk(const conv_geom *g, char *y, char *buf, int64_t n0, int64_t nb,
                          int to_buf, size_t isz) {
    int64_t L = g->oh * g->ow;
    int nt = pa_threads_for_elements(g->o * nb * L);
    PA_PARALLEL_FOR2(nt, for (int64_t o = 0; o < g->o; o++)
        for (int64_t s = 0; s < nb; s++) {
            char *yp = y + (((n0 + s) * g->o + o) * L) * (int64_t)isz;
            char *bp = buf + (o * nb * L + s * L) * (int64_t)isz;
            if (to_buf) memcpy(bp, yp, (size_t)L * isz);
            else memcpy(yp, bp, (size_t)L * isz);
        });
}

static int64_t chunk_size(const conv_geom *g) {
    int64_t per = g->c * g->kh * g->kw * g->oh * g->ow;
    int64_t nb = per > 0 ? COL_CHUNK_ELEMENTS / per : g->n;
    if (nb < 1) nb = 1;
    return nb < g->n ? nb : (g->n > 0 ? g->n : 1);
}

/* Row stride of a chunk's columns (n elements a row), a multiple of 64 bytes: the GEMM
 * then reads the rows in place (b_in_place in kernels/gemm.c) instead of packing them.
 * NOTE: measured, 64x16x14x14 -> 32 3x3, whose 7252-element rows were packed before
 * (the same bits either way): forward 1 thread 1.71 -> 1.49 ms, forward + weight
 * gradient 2 threads 1.80 -> 1.68 ms (best of 15 rounds). */
static int64_t col_ld(int64_t n) { return (n + 15) / 16 * 16; }

/* Scratch matrices for one chunk: columns (C*kh*kw, nb*L) (unless !want_col) and
 * outputs (O, nb*L). */
static int chunk_buffers(const conv_geom *g, int64_t nb, int dtype, int want_col,
                         pa_tensor **col, pa_tensor **buf) {
    int64_t L = g->oh * g->ow;
    int64_t ncol = g->c * g->kh * g->kw * col_ld(nb * L), nbuf = g->o * nb * L;
    *col = want_col ? pa_tensor_new(1, &ncol, dtype) : NULL;
    *buf = *col || !want_col ? pa_tensor_new(1, &nbuf, dtype) : NULL;
    if (*buf) return PA_OK;
    pa_tensor_release(*col);
    *col = NULL;
    return PA_ERR_MEMORY;
}

static void conv_forward(const conv_geom *g, const pa_tensor *x, const pa_tensor *w,
                         const pa_tensor *b, pa_tensor *y, pa_tensor *col, pa_tensor *buf, int64_t nb) {
    int64_t L = g->oh * g->ow, og = g->o / g->groups, K = g->c / g->groups * g->kh * g->kw;
    size_t isz = pa_dtype_size(x->dtype);
    for (int64_t n0 = 0; n0 < g->n; n0 += nb) {
        int64_t cur = g->n - n0 < nb ? g->n - n0 : nb, ld = cur * L, cld = col_ld(ld);
        im2col(g, x, n0, cur, col->data, cld);
        for (int64_t gr = 0; gr < g->groups; gr++)
            pa_layer_gemm(x->dtype, 0, 0, og, ld, K, w->data + gr * og * K * (int64_t)isz, K,
                          col->data + gr * K * cld * (int64_t)isz, cld, 0.0,
                          buf->data + gr * og * ld * (int64_t)isz, ld);
        if (b) {
            int nt = pa_threads_for_elements(g->o * ld);
            PA_DISPATCH_FLOAT(x->dtype, T, {
                T *bs = (T *)buf->data;
                const T *bias = (const T *)b->data;
                PA_PARALLEL_FOR(nt, for (int64_t o = 0; o < g->o; o++)
                    for (int64_t k = 0; k < ld; k++) bs[o * ld + k] += bias[o];);
            });
        }
        shuffle_chunk(g, y->data, buf->data, n0, cur, 0, isz);
    }
}

/* ---- depthwise: one input channel per group ---------------------------------------
 * NOTE: with C / groups == 1 each group's product is (O/groups x kh*kw) @ (kh*kw x L),
 * too thin for the GEMM; these direct loops run a kernel tap at a time across an output
 * row (vectorised over the row when the stride is 1), one thread per (sample, channel)
 * plane for the output and the input gradient, per output channel for the weight
 * gradient (each element a fixed order of additions: the same bits for any thread count).
 * (32, 64, 16, 16) 3x3 groups=64, 2 threads: forward 2356 -> 925 us, forward + backward
 * 11.3 -> 3.3 ms; conv1d k7 (32, 64, 256): 1656 -> 262 us (PyTorch 2.13 in the same
 * process: 480 us, 3.9 ms, 488 us; the machine shared). */
/* Runs the body for every kernel tap (i, j) with the output rows [oy0, oy1) and columns
 * [ox0, ox1) that read inside the input; TAP_AT(g, i, j, oy) is where the input row of
 * output row oy starts for that tap (its column ox at + ox * sw). */
#define FOR_TAPS(g, ...)                                                                      \
    for (int64_t i = 0; i < (g).kh; i++) {                                                    \
        int64_t oy0, oy1;                                                                     \
        valid_range(i * (g).dh - (g).ph, (g).sh, (g).h, (g).oh, &oy0, &oy1);                  \
        for (int64_t j = 0; j < (g).kw; j++) {                                                \
            int64_t ox0, ox1;                                                                 \
            valid_range(j * (g).dw - (g).pw, (g).sw, (g).w, (g).ow, &ox0, &ox1);              \
            __VA_ARGS__                                                                       \
        }                                                                                     \
    }
#define TAP_AT(g, i, j, oy) \
    (((oy) * (g).sh + (i) * (g).dh - (g).ph) * (g).w + (j) * (g).dw - (g).pw)

/* The vector forms' step: acc += wv * (the vector at p) in the lanes of mask m, the other
 * lanes kept as they are (a blend: a tap that reads padding adds nothing, not even to
 * -0.0); DW_TAP_ROW takes it over the nch vectors of a row.  vt, vi and L are the
 * calling kernel's vector types and lanes. */
#define DW_TAP(acc, p, wv, m)                                                            \
    do {                                                                                 \
        vt b_, s_;                                                                       \
        memcpy(&b_, (p), sizeof b_);                                                     \
        s_ = (acc) + (wv) * b_;                                                          \
        (acc) = (vt)(((vi)s_ & (m)) | ((vi)(acc) & ~(m)));                               \
    } while (0)
#define DW_TAP_ROW(acc, src, wv, masks, nch)                                             \
    _Pragma("GCC unroll 8") for (int c_ = 0; c_ < DW_MAX_CHUNKS; c_++) {                 \
        if (c_ >= (nch)) break;                                                          \
        DW_TAP((acc)[c_], (src) + c_ * L, wv, (masks)[c_]);                              \
    }

/* Rows of at most DW_MAX_CHUNKS vectors take the vector forms (kernels at most DW_MAX_KW
 * wide where a mask is kept per tap column). */
enum { DW_MAX_CHUNKS = 8, DW_MAX_KW = 16 };
#define PA_DEPTHWISE_KERNELS(SUFFIX, T, TI)                                                       \
    PA_CLONES static void depthwise_plane_##SUFFIX(const conv_geom *gp, const T *x, const T *w, \
                                                   T bias, T *y) {                            \
        const conv_geom g = *gp;                                                              \
        for (int64_t k = 0; k < g.oh * g.ow; k++) y[k] = bias;                                \
        FOR_TAPS(g, {                                                                         \
            T wv = w[i * g.kw + j];                                                           \
            for (int64_t oy = oy0; oy < oy1; oy++) {                                          \
                const T *src = x + TAP_AT(g, i, j, oy);                                       \
                T *d = y + oy * g.ow;                                                         \
                if (g.sw == 1)                                                                \
                    for (int64_t ox = ox0; ox < ox1; ox++) d[ox] += wv * src[ox];             \
                else                                                                          \
                    for (int64_t ox = ox0; ox < ox1; ox++) d[ox] += wv * src[ox * g.sw];      \
            }                                                                                 \
        })                                                                                    \
    }                                                                                         \
    /* dx plane += the taps of one output channel's gradient dy (called per channel). */     \
    PA_CLONES static void depthwise_grad_input_##SUFFIX(const conv_geom *gp, const T *dy,    \
                                                        const T *w, T *dx) {                  \
        const conv_geom g = *gp;                                                              \
        FOR_TAPS(g, {                                                                         \
            T wv = w[i * g.kw + j];                                                           \
            for (int64_t oy = oy0; oy < oy1; oy++) {                                          \
                T *d = dx + TAP_AT(g, i, j, oy);                                              \
                const T *src = dy + oy * g.ow;                                                \
                if (g.sw == 1)                                                                \
                    for (int64_t ox = ox0; ox < ox1; ox++) d[ox] += wv * src[ox];             \
                else                                                                          \
                    for (int64_t ox = ox0; ox < ox1; ox++) d[ox * g.sw] += wv * src[ox];      \
            }                                                                                 \
        })                                                                                    \
    }                                                                                         \
    /* dw[i][j] += sum over the plane of dy * x at tap (i, j), in double. */                  \
    PA_CLONES static void depthwise_grad_weight_##SUFFIX(const conv_geom *gp, const T *dy,   \
                                                         const T *x, double *dw) {            \
        const conv_geom g = *gp;                                                              \
        FOR_TAPS(g, {                                                                         \
            double acc = 0;                                                                   \
            for (int64_t oy = oy0; oy < oy1; oy++) {                                          \
                const T *src = x + TAP_AT(g, i, j, oy);                                       \
                const T *d = dy + oy * g.ow;                                                  \
                T row = 0;                                                                    \
                for (int64_t ox = ox0; ox < ox1; ox++) row += d[ox] * src[ox * g.sw];         \
                acc += (double)row;                                                           \
            }                                                                                 \
            dw[i * g.kw + j] += acc;                                                          \
        })                                                                                    \
    }                                                                                         \
    /* The same sums for a stride-1 row (sw == 1), vectorised along the output row: dp is  \
     * dy with rows padded to owr (a multiple of the vector), xp is x with each row at      \
     * column pw of a wp-wide row; for each tap a vector of partial sums runs down the      \
     * rows, lanes outside the tap's valid columns masked out (so a padding zero never      \
     * meets an infinity), and the lanes are added in double.  A fixed order: the same      \
     * bits for any thread count.                                                          \
     * NOTE: the scalar form sums each row in one dependent chain: (64, 1, 28, 28) -> 16    \
     * channels, 3x3, forward + backward took 3.1 ms, PyTorch 1.9, 2 threads, AMD EPYC      \
     * (Zen 4). */                                                                          \
    PA_CLONES static void depthwise_grad_weight_vec_##SUFFIX(const conv_geom *gp,             \
                                                             const T *dp, int64_t owr,        \
                                                             const T *xp, int64_t wp,         \
                                                             double *dw) {                    \
        enum { L = 64 / (int)sizeof(T) };                                                     \
        typedef T vt __attribute__((vector_size(64)));                                        \
        typedef TI vi __attribute__((vector_size(64)));                                       \
        const conv_geom g = *gp;                                                              \
        const int64_t nch = owr / L;                                                          \
        vi lane;                                                                              \
        for (int l = 0; l < L; l++) lane[l] = (TI)l;                                          \
        FOR_TAPS(g, {                                                                         \
            vi mask[DW_MAX_CHUNKS];                                                           \
            for (int64_t c = 0; c < nch; c++) {                                               \
                vi at = lane + (TI)(c * L);                                                   \
                mask[c] = (at >= (TI)ox0) & (at < (TI)ox1);                                   \
            }                                                                                 \
            vt acc0 = {0}, acc1 = {0};                                                        \
            for (int64_t oy = oy0; oy < oy1; oy++) {                                          \
                const T *src = xp + (oy * g.sh + i * g.dh - g.ph) * wp + j * g.dw;            \
                const T *d = dp + oy * owr;                                                   \
                for (int64_t c = 0; c < nch; c++) {                                           \
                    vt a, b;                                                                  \
                    memcpy(&a, d + c * L, sizeof a);                                          \
                    memcpy(&b, src + c * L, sizeof b);                                        \
                    vt p = (vt)((vi)(a * b) & mask[c]);                                       \
                    if (c & 1) acc1 += p;                                                     \
                    else acc0 += p;                                                           \
                }                                                                             \
            }                                                                                 \
            acc0 += acc1;                                                                     \
            double sum = 0;                                                                   \
            for (int l = 0; l < L; l++) sum += (double)acc0[l];                               \
            dw[i * g.kw + j] += sum;                                                          \
        })                                                                                    \
    }                                                                                         \
    /* One output plane for stride-1 rows, vectorised along the row: xp is x with each row \
     * at column pw of a wp-wide row (zeros around).  Each output row's vectors start at    \
     * the bias and take the taps in the scalar form's order; lanes where a tap reads       \
     * padding keep their value (a blend, so the padding adds nothing, not even to -0.0).   \
     * NOTE: the scalar form passes over the output row once per tap, with a vector loop    \
     * and its remainder each time: (64, 1, 28, 28) -> 16, 3x3 took 1.38 ms on 1 thread of  \
     * an AMD EPYC (Zen 4). */                                                              \
    PA_CLONES static void depthwise_plane_vec_##SUFFIX(const conv_geom *gp, const T *xp,     \
                                                       int64_t wp, int64_t owr, const T *w,   \
                                                       T bias, T *y) {                        \
        enum { L = 64 / (int)sizeof(T) };                                                     \
        typedef T vt __attribute__((vector_size(64)));                                        \
        typedef TI vi __attribute__((vector_size(64)));                                       \
        const conv_geom g = *gp;                                                              \
        const int64_t nch = owr / L;                                                          \
        vi lane, mask[DW_MAX_KW][DW_MAX_CHUNKS];                                              \
        for (int l = 0; l < L; l++) lane[l] = (TI)l;                                          \
        for (int64_t j = 0; j < g.kw; j++) {                                                  \
            int64_t ox0, ox1;                                                                 \
            valid_range(j * g.dw - g.pw, 1, g.w, g.ow, &ox0, &ox1);                           \
            for (int64_t c = 0; c < nch; c++) {                                               \
                vi at = lane + (TI)(c * L);                                                   \
                mask[j][c] = (at >= (TI)ox0) & (at < (TI)ox1);                                \
            }                                                                                 \
        }                                                                                     \
        int64_t oy = 0;                                                                       \
        if (nch == 1) /* one vector a row: four rows at a time, four independent chains */   \
            for (; oy + 4 <= g.oh; oy += 4) {                                                 \
                vt acc[4];                                                                    \
                _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) acc[r] = (vt){0} + bias;  \
                for (int64_t i = 0; i < g.kh; i++)                                            \
                    for (int64_t j = 0; j < g.kw; j++) {                                      \
                        T wv = w[i * g.kw + j];                                               \
                        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                 \
                            int64_t iy = (oy + r) * g.sh + i * g.dh - g.ph;                   \
                            if (iy < 0 || iy >= g.h) continue;                                \
                            DW_TAP(acc[r], xp + iy * wp + j * g.dw, wv, mask[j][0]);          \
                        }                                                                     \
                    }                                                                         \
                _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                         \
                    const T *row = (const T *)&acc[r];                                        \
                    for (int64_t k = 0; k < g.ow; k++) y[(oy + r) * g.ow + k] = row[k];       \
                }                                                                             \
            }                                                                                 \
        for (; oy < g.oh; oy++) {                                                             \
            vt acc[DW_MAX_CHUNKS];                                                            \
            _Pragma("GCC unroll 8") for (int c = 0; c < DW_MAX_CHUNKS; c++) acc[c] = (vt){0} + bias; \
            for (int64_t i = 0; i < g.kh; i++) {                                              \
                int64_t iy = oy * g.sh + i * g.dh - g.ph;                                     \
                if (iy < 0 || iy >= g.h) continue;                                            \
                for (int64_t j = 0; j < g.kw; j++) {                                          \
                    const T *src = xp + iy * wp + j * g.dw;                                   \
                    T wv = w[i * g.kw + j];                                                   \
                    DW_TAP_ROW(acc, src, wv, mask[j], nch);                                   \
                }                                                                             \
            }                                                                                 \
            const T *row = (const T *)acc;                                                    \
            for (int64_t k = 0; k < g.ow; k++) y[oy * g.ow + k] = row[k];                     \
        }                                                                                     \
    }                                                                                         \
    /* One input plane's gradient for stride 1 (sh == sw == 1), vectorised along the input  \
     * row: dyp holds the group's m output gradients, each row at column off = (kw-1)*dw of \
     * a dpw-wide row (zeros around).  Each dx row's vectors start at 0 and take, output by  \
     * output, the taps in the scalar form's order; lanes whose tap falls outside dy keep    \
     * their value (a blend): the scalar form's operations, the same bits.                   \
     * NOTE: the scalar form passes over the input row once per tap and output channel:      \
     * (32, 64, 16, 16) groups=64, 3x3 spent 28% of its forward + backward there. */        \
    PA_CLONES static void depthwise_grad_input_vec_##SUFFIX(const conv_geom *gp, const T *dyp, \
                                                            int64_t dpw, int64_t m,           \
                                                            const T *w, T *dx) {              \
        enum { L = 64 / (int)sizeof(T) };                                                     \
        typedef T vt __attribute__((vector_size(64)));                                        \
        typedef TI vi __attribute__((vector_size(64)));                                       \
        const conv_geom g = *gp;                                                              \
        const int64_t nch = (g.w + L - 1) / L, off = (g.kw - 1) * g.dw, kk = g.kh * g.kw;     \
        vi lane, mask[DW_MAX_KW][DW_MAX_CHUNKS];                                              \
        for (int l = 0; l < L; l++) lane[l] = (TI)l;                                          \
        for (int64_t j = 0; j < g.kw; j++)                                                    \
            for (int64_t c = 0; c < nch; c++) {                                               \
                vi ox = lane + (TI)(c * L - j * g.dw + g.pw); /* the tap's output column */   \
                mask[j][c] = (ox >= (TI)0) & (ox < (TI)g.ow);                                 \
            }                                                                                 \
        int64_t iy = 0;                                                                       \
        if (nch == 1) /* one vector a row: four rows at a time, four independent chains */   \
            for (; iy + 4 <= g.h; iy += 4) {                                                  \
                vt acc[4];                                                                    \
                _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) acc[r] = (vt){0};         \
                for (int64_t o = 0; o < m; o++)                                               \
                    for (int64_t i = 0; i < g.kh; i++)                                        \
                        for (int64_t j = 0; j < g.kw; j++) {                                  \
                            T wv = w[o * kk + i * g.kw + j];                                  \
                            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {             \
                                int64_t oy = iy + r - i * g.dh + g.ph;                        \
                                if (oy < 0 || oy >= g.oh) continue;                           \
                                DW_TAP(acc[r], dyp + (o * g.oh + oy) * dpw + off - j * g.dw + g.pw, \
                                       wv, mask[j][0]);                                       \
                            }                                                                 \
                        }                                                                     \
                _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {                         \
                    const T *row = (const T *)&acc[r];                                        \
                    for (int64_t k = 0; k < g.w; k++) dx[(iy + r) * g.w + k] = row[k];        \
                }                                                                             \
            }                                                                                 \
        for (; iy < g.h; iy++) {                                                              \
            vt acc[DW_MAX_CHUNKS];                                                            \
            _Pragma("GCC unroll 8") for (int c = 0; c < DW_MAX_CHUNKS; c++) acc[c] = (vt){0}; \
            for (int64_t o = 0; o < m; o++)                                                   \
                for (int64_t i = 0; i < g.kh; i++) {                                          \
                    int64_t oy = iy - i * g.dh + g.ph;                                        \
                    if (oy < 0 || oy >= g.oh) continue;                                       \
                    for (int64_t j = 0; j < g.kw; j++) {                                      \
                        const T *src = dyp + (o * g.oh + oy) * dpw + off - j * g.dw + g.pw;   \
                        T wv = w[o * kk + i * g.kw + j];                                      \
                        DW_TAP_ROW(acc, src, wv, mask[j], nch);                               \
                    }                                                                         \
                }                                                                             \
            const T *row = (const T *)acc;                                                    \
            for (int64_t k = 0; k < g.w; k++) dx[iy * g.w + k] = row[k];                      \
        }                                                                                     \
    }                                                                                         \
    /* rows x cols elements of src (row stride sld) into dst at column dcol of rows dld  \
     * apart: a plane into its zero-padded copy for the vector forms */                     \
    static void pad_rows_##SUFFIX(T *dst, int64_t dld, int64_t dcol, const T *src,           \
                                  int64_t sld, int64_t rows, int64_t cols) {                  \
        for (int64_t r = 0; r < rows; r++)                                                    \
            for (int64_t k = 0; k < cols; k++) dst[r * dld + dcol + k] = src[r * sld + k];    \
    }                                                                                         \
    /* The drivers: y = conv(x) (+ bias), dx, and dw accumulated in double (acc, O x kh*kw). */ \
    static void depthwise_forward_##SUFFIX(const conv_geom *g, const void *xs_, const void *ws_, \
                                           const void *bs_, void *ys_) {                     \
        const T *xs = (const T *)xs_, *ws = (const T *)ws_, *bs = (const T *)bs_;             \
        T *ys = (T *)ys_;                                                                     \
        int64_t m = g->o / g->groups, kk = g->kh * g->kw;                                     \
        int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;                            \
        int nt = pa_threads_for_elements(g->n * g->o * out_plane * kk);                       \
        enum { L = 64 / (int)sizeof(T) };                                                     \
        int64_t owr = (g->ow + L - 1) / L * L, wp = owr + (g->kw - 1) * g->dw;                \
        if (g->sw == 1 && owr <= DW_MAX_CHUNKS * L && g->kw <= DW_MAX_KW) {                   \
            /* per input plane: x copied once into a padded plane, then its m outputs */      \
            PA_PARALLEL_FOR2(nt, for (int64_t n = 0; n < g->n; n++)                           \
                for (int64_t c = 0; c < g->c; c++) {                                          \
                    const T *x = xs + (n * g->c + c) * in_plane;                              \
                    T *xp = (T *)calloc((size_t)(g->h * wp), sizeof(T));                      \
                    if (xp) pad_rows_##SUFFIX(xp, wp, g->pw, x, g->w, g->h, g->w);            \
                    for (int64_t o = c * m; o < (c + 1) * m; o++) {                           \
                        T *y = ys + (n * g->o + o) * out_plane, bias = bs ? bs[o] : 0;        \
                        if (xp) depthwise_plane_vec_##SUFFIX(g, xp, wp, owr, ws + o * kk, bias, y); \
                        else depthwise_plane_##SUFFIX(g, x, ws + o * kk, bias, y);            \
                    }                                                                         \
                    free(xp);                                                                 \
                });                                                                           \
            return;                                                                           \
        }                                                                                     \
        PA_PARALLEL_FOR2(nt, for (int64_t n = 0; n < g->n; n++)                               \
            for (int64_t o = 0; o < g->o; o++)                                                \
                depthwise_plane_##SUFFIX(g, xs + (n * g->c + o / m) * in_plane, ws + o * kk,  \
                                         bs ? bs[o] : 0, ys + (n * g->o + o) * out_plane););  \
    }                                                                                         \
    static void depthwise_grad_x_##SUFFIX(const conv_geom *g, const void *dys_, const void *ws_, \
                                          void *dxs_) {                                       \
        const T *dys = (const T *)dys_, *ws = (const T *)ws_;                                 \
        T *dxs = (T *)dxs_;                                                                   \
        int64_t m = g->o / g->groups, kk = g->kh * g->kw;                                     \
        int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;                            \
        int nt = pa_threads_for_elements(g->n * g->o * out_plane * kk);                       \
        enum { L = 64 / (int)sizeof(T) };                                                     \
        int64_t iwr = (g->w + L - 1) / L * L, off = (g->kw - 1) * g->dw;                      \
        int64_t dpw = iwr + off + g->pw; /* a padded dy row: dy at column off */              \
        int vec = g->sh == 1 && g->sw == 1 && iwr <= DW_MAX_CHUNKS * L && g->kw <= DW_MAX_KW; \
        PA_PARALLEL_FOR2(nt, for (int64_t n = 0; n < g->n; n++)                               \
            for (int64_t c = 0; c < g->c; c++) {                                              \
                T *dx = dxs + (n * g->c + c) * in_plane;                                      \
                T *dyp = vec ? (T *)calloc((size_t)(m * g->oh * dpw), sizeof(T)) : NULL;      \
                if (dyp) {                                                                    \
                    pad_rows_##SUFFIX(dyp, dpw, off, dys + (n * g->o + c * m) * out_plane,    \
                                      g->ow, m * g->oh, g->ow);                               \
                    depthwise_grad_input_vec_##SUFFIX(g, dyp, dpw, m, ws + c * m * kk, dx);   \
                    free(dyp);                                                                \
                    continue;                                                                 \
                }                                                                             \
                for (int64_t k = 0; k < in_plane; k++) dx[k] = 0;                             \
                for (int64_t o = c * m; o < (c + 1) * m; o++)                                 \
                    depthwise_grad_input_##SUFFIX(g, dys + (n * g->o + o) * out_plane,        \
                                                  ws + o * kk, dx);                           \
            });                                                                               \
    }                                                                                         \
    static void depthwise_grad_w_##SUFFIX(const conv_geom *g, const void *dys_, const void *xs_, \
                                          double *acc, void *dws_) {                          \
        const T *dys = (const T *)dys_, *xs = (const T *)xs_;                                 \
        T *dws = (T *)dws_;                                                                   \
        enum { L = 64 / (int)sizeof(T) };                                                     \
        int64_t m = g->o / g->groups, kk = g->kh * g->kw;                                     \
        int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;                            \
        int64_t owr = (g->ow + L - 1) / L * L, wp = owr + (g->kw - 1) * g->dw;                \
        int vec = g->sw == 1 && owr <= DW_MAX_CHUNKS * L;                                     \
        int nt = pa_threads_for_elements(g->n * g->o * out_plane * kk);                       \
        PA_PARALLEL_FOR(nt, for (int64_t o = 0; o < g->o; o++) {                              \
            for (int64_t k = 0; k < kk; k++) acc[o * kk + k] = 0;                             \
            /* the padded planes of the vector form (zeros stay where no value is copied) */  \
            T *xp = vec ? (T *)calloc((size_t)(g->h * wp + g->oh * owr), sizeof(T)) : NULL;   \
            T *dp = xp ? xp + g->h * wp : NULL;                                               \
            for (int64_t n = 0; n < g->n; n++) {                                              \
                const T *dy = dys + (n * g->o + o) * out_plane;                               \
                const T *x = xs + (n * g->c + o / m) * in_plane;                              \
                if (!xp) {                                                                    \
                    depthwise_grad_weight_##SUFFIX(g, dy, x, acc + o * kk);                   \
                    continue;                                                                 \
                }                                                                             \
                pad_rows_##SUFFIX(xp, wp, g->pw, x, g->w, g->h, g->w);                        \
                pad_rows_##SUFFIX(dp, owr, 0, dy, g->ow, g->oh, g->ow);                       \
                depthwise_grad_weight_vec_##SUFFIX(g, dp, owr, xp, wp, acc + o * kk);         \
            }                                                                                 \
            free(xp);                                                                         \
            for (int64_t k = 0; k < kk; k++) dws[o * kk + k] = (T)acc[o * kk + k];            \
        });                                                                                   \
    }
PA_DEPTHWISE_KERNELS(f32, float, int32_t)
PA_DEPTHWISE_KERNELS(f64, double, int64_t)

static int is_depthwise(const conv_geom *g) { return g->c == g->groups; }

/* NOTE: when the weight will need a gradient and the whole batch's columns are at most
 * KEEP_COL_ELEMENTS, the forward builds them in one chunk and the node keeps them for the
 * backward, which then skips its im2col (old PyTorch's slow_conv2d kept its `finput` the
 * same way).  The memory is held from the forward to the backward, hence the bound
 * (16 MB of float32); the one chunk's output buffer is then as large as the output.  Measured in one process, alternating, best of 15 rounds, AMD EPYC
 * (Zen 4): 64x16x14x14 -> 32 3x3 forward + weight gradient, 2 threads 1.69-1.73 ->
 * 1.54-1.58 ms, 1 thread 3.46 -> 3.29 ms; the forward alone unchanged. */
enum { KEEP_COL_ELEMENTS = 1 << 22 };

static int keeps_columns(const conv_geom *g, pa_tensor *weight) {
    int64_t cols = g->c * g->kh * g->kw * col_ld(g->n * g->oh * g->ow);
    return g->n > 0 && cols <= KEEP_COL_ELEMENTS && pa_needs_grad(1, &weight);
}

int pa_conv2d(pa_tensor *input, pa_tensor *weight, pa_tensor *bias, int64_t stride_h,
              int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dilation_h,
              int64_t dilation_w, int64_t groups, pa_tensor **out) {
    int64_t prm[7] = {stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups};
    conv_geom g;
    TRY(conv_check(input, weight, bias, prm, &g));
    int64_t shape[4] = {g.n, g.o, g.oh, g.ow};
    pa_tensor *x = pa_contiguous_nograd(input), *w = x ? pa_contiguous_nograd(weight) : NULL;
    pa_tensor *b = w && bias ? pa_contiguous_nograd(bias) : NULL;
    pa_tensor *y = w && (b || !bias) ? pa_tensor_new(4, shape, input->dtype) : NULL;
    pa_tensor *col = NULL, *buf = NULL;
    int depthwise = is_depthwise(&g), keep = !depthwise && keeps_columns(&g, weight);
    int64_t nb = keep ? g.n : chunk_size(&g);
    int rc = !y          ? PA_ERR_MEMORY
             : depthwise ? PA_OK
                         : chunk_buffers(&g, nb, input->dtype, 1, &col, &buf);
    if (!rc && depthwise && input->dtype == PA_FLOAT32)
        depthwise_forward_f32(&g, x->data, w->data, b ? b->data : NULL, y->data);
    else if (!rc && depthwise)
        depthwise_forward_f64(&g, x->data, w->data, b ? b->data : NULL, y->data);
    else if (!rc)
        conv_forward(&g, x, w, b, y, col, buf, nb);
    pa_tensor_release(x);
    pa_tensor_release(w);
    pa_tensor_release(b);
    pa_tensor_release(buf);
    if (rc) {
        pa_tensor_release(col);
        pa_tensor_release(y);
        return rc;
    }
    *out = y;
    pa_tensor *inputs[3] = {input, weight, bias};
    pa_node *node = pa_needs_grad(3, inputs) ? pa_node_new(PA_OP_CONV2D, 3, inputs, y) : NULL;
    if (node && pa_input_needs_grad(node, 1)) rc = pa_node_save(node, 0, input);
    if (node && !rc && pa_input_needs_grad(node, 0)) rc = pa_node_save(node, 1, weight);
    if (node && !rc && keep) rc = pa_node_save(node, 2, col);
    if (node) memcpy(node->iarg, prm, sizeof prm);
    pa_tensor_release(col);
    if (!node && pa_needs_grad(3, inputs)) return pa_layer_fail(PA_ERR_MEMORY, out);
    return rc ? pa_layer_fail(rc, out) : PA_OK;
}

/* Bias gradient: per output channel, the sum over samples and pixels in a fixed order. */
static pa_tensor *bias_grad(const conv_geom *g, const pa_tensor *gy) {
    pa_tensor *db = pa_tensor_new(1, &g->o, gy->dtype);
    if (!db) return NULL;
    int64_t L = g->oh * g->ow;
    int nt = pa_threads_for_elements(g->n * g->o * L);
    PA_DISPATCH_FLOAT(gy->dtype, T, {
        const T *gs = (const T *)gy->data;
        T *out = (T *)db->data;
        PA_PARALLEL_FOR(nt, for (int64_t o = 0; o < g->o; o++) {
            double s = 0;
            for (int64_t n = 0; n < g->n; n++)
                for (int64_t k = 0; k < L; k++) s += (double)gs[(n * g->o + o) * L + k];
            out[o] = (T)s;
        });
    });
    return db;
}

int pa_backward_CONV2D(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    bool need_x = pa_input_needs_grad(node, 0), need_w = pa_input_needs_grad(node, 1);
    conv_geom g;
    const pa_meta *mx = &node->next[0].meta, *mw = &node->next[1].meta;
    g = (conv_geom){.n = mx->shape[0], .c = mx->shape[1], .h = mx->shape[2], .w = mx->shape[3],
                    .o = mw->shape[0], .kh = mw->shape[2], .kw = mw->shape[3],
                    .oh = node->out.shape[2], .ow = node->out.shape[3],
                    .sh = node->iarg[0], .sw = node->iarg[1], .ph = node->iarg[2],
                    .pw = node->iarg[3], .dh = node->iarg[4], .dw = node->iarg[5],
                    .groups = node->iarg[6]};
    int dtype = node->out.dtype;
    size_t isz = pa_dtype_size(dtype);
    pa_tensor *gy = pa_contiguous_nograd(grad);
    PA_CHECK_OOM(gy);
    int rc = PA_OK;
    if (pa_input_needs_grad(node, 2) && !(grads[2] = bias_grad(&g, gy))) rc = PA_ERR_MEMORY;
    pa_tensor *x = NULL, *w = NULL, *col = NULL, *buf = NULL, *dx = NULL, *dw = NULL;
    const pa_tensor *kept = need_w ? node->saved[2] : NULL;  /* the forward's columns */
    int64_t nb = kept ? g.n : chunk_size(&g);
    int depthwise = is_depthwise(&g);
    if (!rc && !depthwise && (need_x || need_w))
        rc = chunk_buffers(&g, nb, dtype, need_x || !kept, &col, &buf);
    /* NOTE: with more column rows K = C/groups*kh*kw than output channels per group, the
     * weight gradient is formed transposed, dW_g^T = col_g @ dY_g^T, and transposed
     * back at the end: the product then reads the columns in place and packs dY
     * (O x nbL) transposed, where dW_g = dY_g @ col_g^T packs all K x nbL columns
     * transposed.  Both products take the blocked GEMM path (more than 16 outputs per
     * group: 16 is the widest thin product of any kernel set, thin_max_n in
     * kernels/gemm_avx512.c; narrower ones go to the thin kernel), where every element
     * is the same chain of multiply-adds with the same k blocks, so the bits do not
     * change.  Measured: 64x16x14x14 -> 32 forward + weight gradient 2.81 -> 2.57 ms. */
    int64_t og_ = g.o / g.groups, K_ = g.c / g.groups * g.kh * g.kw;
    int transposed = !depthwise && K_ > og_ && og_ > 16;
    pa_tensor *dwt = NULL;
    if (!rc && need_w) {
        int64_t wshape[4] = {g.o, g.c / g.groups, g.kh, g.kw}, nwt = g.o * K_;
        x = pa_contiguous_nograd(node->saved[0]);
        dw = x ? pa_tensor_new(4, wshape, dtype) : NULL;
        if (dw && transposed) dwt = pa_tensor_new(1, &nwt, dtype);
        if (!dw || (transposed && !dwt)) rc = PA_ERR_MEMORY;
    }
    if (!rc && need_x) {
        w = pa_contiguous_nograd(node->saved[1]);
        dx = w ? pa_tensor_new(4, mx->shape, dtype) : NULL;
        if (!dx) rc = PA_ERR_MEMORY;
    }
    int64_t L = g.oh * g.ow, og = g.o / g.groups, K = g.c / g.groups * g.kh * g.kw;
    if (!rc && depthwise && need_w) {
        double *acc = malloc((size_t)(g.o * g.kh * g.kw) * sizeof *acc + 1);
        if (!acc) rc = PA_ERR_MEMORY;
        else if (dtype == PA_FLOAT32) depthwise_grad_w_f32(&g, gy->data, x->data, acc, dw->data);
        else depthwise_grad_w_f64(&g, gy->data, x->data, acc, dw->data);
        free(acc);
    }
    if (!rc && depthwise && need_x) {
        if (dtype == PA_FLOAT32) depthwise_grad_x_f32(&g, gy->data, w->data, dx->data);
        else depthwise_grad_x_f64(&g, gy->data, w->data, dx->data);
    }
    for (int64_t n0 = 0; !rc && !depthwise && (need_x || need_w) && n0 < g.n; n0 += nb) {
        int64_t cur = g.n - n0 < nb ? g.n - n0 : nb, ld = cur * L, cld = col_ld(ld);
        shuffle_chunk(&g, gy->data, buf->data, n0, cur, 1, isz);
        if (need_w) {
            const char *cw = kept ? kept->data : col->data;
            if (!kept) im2col(&g, x, n0, cur, col->data, cld);
            for (int64_t gr = 0; gr < g.groups; gr++)
                if (dwt)  /* dW_g^T (K x og) += col_g @ dY_g^T, see the NOTE above */
                    pa_layer_gemm(dtype, 0, 1, K, og, ld, cw + gr * K * cld * (int64_t)isz, cld,
                                  buf->data + gr * og * ld * (int64_t)isz, ld, n0 > 0 ? 1.0 : 0.0,
                                  dwt->data + gr * K * og * (int64_t)isz, og);
                else
                    pa_layer_gemm(dtype, 0, 1, og, K, ld, buf->data + gr * og * ld * (int64_t)isz, ld,
                                  cw + gr * K * cld * (int64_t)isz, cld, n0 > 0 ? 1.0 : 0.0,
                                  dw->data + gr * og * K * (int64_t)isz, K);
        }
        if (need_x) {
            for (int64_t gr = 0; gr < g.groups; gr++)
                pa_layer_gemm(dtype, 1, 0, K, ld, og, w->data + gr * og * K * (int64_t)isz, K,
                              buf->data + gr * og * ld * (int64_t)isz, ld, 0.0,
                              col->data + gr * K * cld * (int64_t)isz, cld);
            col2im(&g, col->data, n0, cur, cld, dx);
        }
    }
    if (!rc && need_w && g.n == 0) rc = pa_fill_(dwt ? dwt : dw, 0);
    if (!rc && dwt)  /* dw[gr][o][k] = dwt[gr][k][o] */
        PA_DISPATCH_FLOAT(dtype, T, {
            const T *src = (const T *)dwt->data;
            T *dst = (T *)dw->data;
            for (int64_t gr = 0; gr < g.groups; gr++)
                for (int64_t o = 0; o < og; o++)
                    for (int64_t k = 0; k < K; k++)
                        dst[(gr * og + o) * K + k] = src[(gr * K + k) * og + o];
        });
    if (!rc) {
        grads[0] = dx;
        grads[1] = dw;
        dx = dw = NULL;
    }
    pa_tensor_release(gy);
    pa_tensor_release(x);
    pa_tensor_release(w);
    pa_tensor_release(col);
    pa_tensor_release(buf);
    pa_tensor_release(dx);
    pa_tensor_release(dw);
    pa_tensor_release(dwt);
    return rc;
}

/* ---- unfold (im2col) and fold (col2im) -------------------------------------------
 * Each is the other's adjoint, so each one's backward is the other's forward.
 * prm = {kh, kw, dh, dw, ph, pw, sh, sw} in the order of torch's (kernel_size, dilation,
 * padding, stride). */
static int window_check(const char *op, const int64_t *prm, int64_t h, int64_t w, conv_geom *g) {
    if (!prm) return pa_error(PA_ERR_VALUE, "%s: invalid argument: window is NULL", op);
    for (int k = 0; k < 8; k++) {
        int64_t least = k >= 4 && k < 6 ? 0 : 1;
        if (prm[k] < least || prm[k] > INT32_MAX)
            return pa_error(PA_ERR_VALUE, "%s: kernel_size, dilation and stride must be positive "
                            "and padding non-negative (all at most %d), got kernel_size (%lld, %lld), "
                            "dilation (%lld, %lld), padding (%lld, %lld), stride (%lld, %lld)", op,
                            INT32_MAX, (long long)prm[0], (long long)prm[1], (long long)prm[2],
                            (long long)prm[3], (long long)prm[4], (long long)prm[5],
                            (long long)prm[6], (long long)prm[7]);
    }
    g->kh = prm[0], g->kw = prm[1], g->dh = prm[2], g->dw = prm[3];
    g->ph = prm[4], g->pw = prm[5], g->sh = prm[6], g->sw = prm[7];
    g->h = h, g->w = w, g->groups = 1;
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    int64_t hp = h + 2 * g->ph, wp = w + 2 * g->pw;
    g->oh = hp >= eh ? (hp - eh) / g->sh + 1 : 0;
    g->ow = wp >= ew ? (wp - ew) / g->sw + 1 : 0;
    if (g->oh < 1 || g->ow < 1)
        return pa_error(PA_ERR_VALUE, "%s: the kernel (%lld, %lld) with dilation (%lld, %lld) does not "
                        "fit in the padded input of size (%lld, %lld)", op, (long long)g->kh,
                        (long long)g->kw, (long long)g->dh, (long long)g->dw, (long long)hp,
                        (long long)wp);
    if (g->oh > (INT64_C(1) << 50) / g->ow)
        return pa_error(PA_ERR_MEMORY, "%s: %lld x %lld sliding blocks are too many (more than 2^50)",
                        op, (long long)g->oh, (long long)g->ow);
    return PA_OK;
}

static void window_to_node(const int64_t *prm, pa_node *node) { memcpy(node->iarg, prm, 8 * sizeof *prm); }

/* cols (N, C*kh*kw, L) of x (N, C, H, W): one sample's columns at a time. */
static pa_tensor *unfold_run(const conv_geom *g, const pa_tensor *x) {
    int64_t shape[3] = {g->n, g->c * g->kh * g->kw, g->oh * g->ow};
    pa_tensor *cols = pa_tensor_new(3, shape, x->dtype);
    if (!cols) return NULL;
    size_t per = (size_t)(shape[1] * shape[2]) * pa_dtype_size(x->dtype);
    for (int64_t n = 0; n < g->n; n++) im2col(g, x, n, 1, cols->data + n * per, shape[2]);
    return cols;
}

/* y (N, C, H, W) from columns (N, C*kh*kw, L), overlapping values summed. */
static pa_tensor *fold_run(const conv_geom *g, const pa_tensor *cols) {
    int64_t shape[4] = {g->n, g->c, g->h, g->w};
    pa_tensor *y = pa_tensor_new(4, shape, cols->dtype);
    if (!y) return NULL;
    size_t per = (size_t)(g->c * g->kh * g->kw * g->oh * g->ow) * pa_dtype_size(cols->dtype);
    for (int64_t n = 0; n < g->n; n++) col2im(g, cols->data + n * per, n, 1, g->oh * g->ow, y);
    return y;
}

static void geom_from_window_node(const pa_node *node, const int64_t *image_shape, conv_geom *g) {
    const int64_t *p = node->iarg;
    *g = (conv_geom){.n = image_shape[0], .c = image_shape[1], .h = image_shape[2], .w = image_shape[3],
                     .kh = p[0], .kw = p[1], .dh = p[2], .dw = p[3], .ph = p[4], .pw = p[5],
                     .sh = p[6], .sw = p[7], .groups = 1};
    g->oh = (g->h + 2 * g->ph - g->dh * (g->kh - 1) - 1) / g->sh + 1;
    g->ow = (g->w + 2 * g->pw - g->dw * (g->kw - 1) - 1) / g->sw + 1;
}

int pa_unfold(pa_tensor *input, const int64_t *window, pa_tensor **out) {
    char b[128];
    TRY(pa_layer_check_float("unfold", "input", input, -1));
    if (input->ndim != 4)
        return pa_error(PA_ERR_VALUE, "unfold: expected a 4-d input (N, C, H, W), got shape %s",
                        PA_SHAPE_STR(input, b));
    conv_geom g;
    TRY(window_check("unfold", window, input->shape[2], input->shape[3], &g));
    g.n = input->shape[0], g.c = input->shape[1];
    pa_tensor *x = pa_contiguous_nograd(input);
    PA_CHECK_OOM(x);
    pa_tensor *cols = unfold_run(&g, x);
    pa_tensor_release(x);
    PA_CHECK_OOM(cols);
    *out = cols;
    if (!pa_needs_grad(1, &input)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_UNFOLD, 1, &input, cols);
    if (!node) return pa_layer_fail(PA_ERR_MEMORY, out);
    window_to_node(window, node);
    return PA_OK;
}

/* unfold's gradient is the fold of its gradient, and fold's the unfold: `run` of the
 * contiguous gradient, with the window saved on the node over the image's shape. */
static int window_backward(pa_node *node, const int64_t *image_shape, pa_tensor *grad,
                           pa_tensor *(*run)(const conv_geom *, const pa_tensor *),
                           pa_tensor **grads) {
    conv_geom g;
    geom_from_window_node(node, image_shape, &g);
    pa_tensor *gy = pa_contiguous_nograd(grad);
    PA_CHECK_OOM(gy);
    grads[0] = run(&g, gy);
    pa_tensor_release(gy);
    return grads[0] ? PA_OK : PA_ERR_MEMORY;
}

int pa_backward_UNFOLD(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return window_backward(node, node->next[0].meta.shape, grad, fold_run, grads);
}

int pa_fold(pa_tensor *input, int64_t out_h, int64_t out_w, const int64_t *window, pa_tensor **out) {
    char b[128];
    TRY(pa_layer_check_float("fold", "input", input, -1));
    if (input->ndim != 3)
        return pa_error(PA_ERR_VALUE, "fold: expected a 3-d input (N, C * kH * kW, L), got shape %s",
                        PA_SHAPE_STR(input, b));
    if (out_h < 1 || out_w < 1 || out_h > INT32_MAX || out_w > INT32_MAX)
        return pa_error(PA_ERR_VALUE, "fold: output_size must be in [1, %d], got (%lld, %lld)",
                        INT32_MAX, (long long)out_h, (long long)out_w);
    conv_geom g;
    TRY(window_check("fold", window, out_h, out_w, &g));
    int64_t kk = g.kh * g.kw;
    if (input->shape[1] % kk != 0)
        return pa_error(PA_ERR_VALUE, "fold: expected size of input's dimension 1 to be divisible by "
                        "the product of kernel_size, but got input.size(1)=%lld and kernel_size=(%lld, "
                        "%lld)", (long long)input->shape[1], (long long)g.kh, (long long)g.kw);
    if (input->shape[2] != g.oh * g.ow)
        return pa_error(PA_ERR_VALUE, "fold: given output_size=(%lld, %lld), expected size of input's "
                        "dimension 2 to match the calculated number of sliding blocks %lld * %lld = "
                        "%lld, but got input.size(2)=%lld", (long long)out_h, (long long)out_w,
                        (long long)g.oh, (long long)g.ow, (long long)(g.oh * g.ow),
                        (long long)input->shape[2]);
    g.n = input->shape[0], g.c = input->shape[1] / kk;
    pa_tensor *cols = pa_contiguous_nograd(input);
    PA_CHECK_OOM(cols);
    pa_tensor *y = fold_run(&g, cols);
    pa_tensor_release(cols);
    PA_CHECK_OOM(y);
    *out = y;
    if (!pa_needs_grad(1, &input)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_FOLD, 1, &input, y);
    if (!node) return pa_layer_fail(PA_ERR_MEMORY, out);
    window_to_node(window, node);
    return PA_OK;
}

int pa_backward_FOLD(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return window_backward(node, node->out.shape, grad, unfold_run, grads);
}
