/* Neural-network ops: softmax, log_softmax and the fused cross-entropy loss.
 *
 * All three work on a (outer, C, inner) decomposition of a contiguous input around the
 * class dim, so a (N, C) batch and an (N, C, H, W) segmentation map share one code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/parallel.h"
#include "loops.h"
#include "vmath.h"

/* float32 rows: exp through pa_expf (<= 1 ulp, inlined) in functions compiled per ISA,
 * instead of a libm double exp call per element.  sum_c exp(x[c * inner] - mx), in
 * double; a contiguous row (inner == 1) is summed in 16 interleaved partial sums, which
 * vectorise.  The order depends on C alone, never on the thread count. */
PA_CLONES static double expsum_f32(const float *x, int64_t C, int64_t inner, float mx) {
    double s = 0;
    int64_t c = 0;
    if (inner == 1 && C >= 16) {
        double part[16] = {0};
        for (; c + 16 <= C; c += 16)
            for (int j = 0; j < 16; j++) part[j] += (double)pa_expf(x[c + j] - mx);
        for (int j = 0; j < 16; j++) s += part[j];
    }
    for (; c < C; c++) s += (double)pa_expf(x[c * inner] - mx);
    return s;
}

/* y[c * inner] = exp((x[c * inner] - mx) - logsum) for a float32 row. */
PA_CLONES static void exp_shifted_f32(const float *x, int64_t C, int64_t inner, float mx,
                                      double logsum, float *y) {
    if (inner == 1)
        for (int64_t c = 0; c < C; c++) y[c] = pa_expf((float)((double)(x[c] - mx) - logsum));
    else
        for (int64_t c = 0; c < C; c++)
            y[c * inner] = pa_expf((float)((double)(x[c * inner] - mx) - logsum));
}

/* NOTE: rows of few classes (the article's (N, 10) logits) spent their time in loop
 * overhead, one scalar exp at a time.  Full blocks of ROW_BLOCK contiguous float32 rows
 * with C < ROW_BLOCK are transposed into a C x ROW_BLOCK tile so that every step runs
 * across the rows in SIMD.  Each row gets the operations of the one-row path in the same
 * order (C < 16 sums sequentially there too), so the results are bit-identical.
 * Measured: cross-entropy forward + backward on 1024 x 10, one thread, 167 -> 48 us. */
enum { ROW_BLOCK = 16 };
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* Lane by lane v > m ? v : m (gcc does not vectorise that select written on arrays).  A
 * macro: a function returning a 64-byte vector would have a per-ISA ABI. */
#define LANES_MAX(v, m)                                                                    \
    ({                                                                                     \
        v16i gt_ = (v) > (m);                                                              \
        (v16f)((gt_ & (v16i)(v)) | (~gt_ & (v16i)(m)));                                    \
    })

static int row_tile(size_t es, int64_t C, int64_t inner, int64_t rows) {
    return es == 4 && inner == 1 && C < ROW_BLOCK && rows == ROW_BLOCK;
}

/* Tile transposes: t[c][j] = x[j * C + c] and back. */
#define TILE_IN(t, x, C)                                                                \
    for (int64_t c_ = 0; c_ < (C); c_++)                                                \
        for (int j_ = 0; j_ < ROW_BLOCK; j_++) (t)[c_][j_] = (x)[j_ * (C) + c_]
#define TILE_OUT(y, t, C)                                                               \
    for (int64_t c_ = 0; c_ < (C); c_++)                                                \
        for (int j_ = 0; j_ < ROW_BLOCK; j_++) (y)[j_ * (C) + c_] = (t)[c_][j_]

/* st[2j], st[2j + 1] = the max and log-sum-exp of row j of a tile x (ROW_BLOCK rows of C),
 * as ROW_MAX_LOGSUM computes them.  Returns 0, leaving st to the one-row path, when the
 * tile holds an infinity or a NaN (v - v is then NaN), whose max the one-row path
 * defines. */
PA_CLONES static int tile_max_logsum_f32(const float *x, int64_t C, double *st) {
    _Alignas(64) float t[ROW_BLOCK][ROW_BLOCK], m[ROW_BLOCK], z[ROW_BLOCK];
    double s[ROW_BLOCK] = {0};
    TILE_IN(t, x, C);
    v16f mv, zv = {0};
    for (int j = 0; j < ROW_BLOCK; j++) mv[j] = -INFINITY;
    for (int64_t c = 0; c < C; c++) {
        v16f v;
        memcpy(&v, t[c], sizeof v);
        mv = LANES_MAX(v, mv);
        zv += v - v;
    }
    memcpy(m, &mv, sizeof m);
    memcpy(z, &zv, sizeof z);
    for (int j = 0; j < ROW_BLOCK; j++)
        if (z[j] != 0) return 0;
    for (int64_t c = 0; c < C; c++)
        for (int j = 0; j < ROW_BLOCK; j++) s[j] += (double)pa_expf(t[c][j] - m[j]);
    for (int j = 0; j < ROW_BLOCK; j++) st[2 * j] = m[j], st[2 * j + 1] = log(s[j]);
    return 1;
}

/* t = exp((x - max) - logsum) over a tile, as exp_shifted_f32 computes it per row. */
static inline void tile_probs(float t[ROW_BLOCK][ROW_BLOCK], const float *x, int64_t C,
                              const double *st) {
    float m[ROW_BLOCK];
    double ls[ROW_BLOCK];
    for (int j = 0; j < ROW_BLOCK; j++) m[j] = (float)st[2 * j], ls[j] = st[2 * j + 1];
    TILE_IN(t, x, C);
    for (int64_t c = 0; c < C; c++)
        for (int j = 0; j < ROW_BLOCK; j++)
            t[c][j] = pa_expf((float)((double)(t[c][j] - m[j]) - ls[j]));
}

PA_CLONES static void tile_exp_shifted_f32(const float *x, int64_t C, const double *st, float *y) {
    float t[ROW_BLOCK][ROW_BLOCK];
    tile_probs(t, x, C, st);
    TILE_OUT(y, t, C);
}

/* The cross-entropy gradient of a tile, as pa_backward_CROSS_ENTROPY computes it per row:
 * y = wt (p - [c == t]) + smooth (csum p - w_c), w_c = 1 without class weights ws. */
PA_CLONES static void tile_xent_grad_f32(const float *x, int64_t C, const double *st,
                                         const int64_t *tr, const double *wt,
                                         const double *smooth, double csum, const float *ws,
                                         double eps, float *y) {
    float t[ROW_BLOCK][ROW_BLOCK];
    tile_probs(t, x, C, st);
    for (int64_t c = 0; c < C; c++) {
        double wc = ws ? (double)ws[c] : 1.0;
        for (int j = 0; j < ROW_BLOCK; j++) {
            double p = (double)t[c][j], v = wt[j] * (p - (double)(c == tr[j]));
            if (eps > 0) v += smooth[j] * (csum * p - wc);
            t[c][j] = (float)v;
        }
    }
    TILE_OUT(y, t, C);
}

/* NOTE: a wide float32 row's max ran one compare and branch per element (the NaN rule
 * below blocks vectorisation): 16 lanes of v > m ? v : m instead, with v - v summed to
 * catch an infinity or NaN, which sends the row back to the one-row loop that defines
 * them.  For finite values the lanes find the same maximum; only the sign of a zero
 * maximum can differ, which no output sees (x - (+0) == x - (-0) but for x = -0, whose
 * exp and log-probability are the same).  Returns 0 for the fallback. */
PA_CLONES static int row_max_f32(const float *x, int64_t C, float *mx) {
    v16f m, z = {0};
    memcpy(&m, x, sizeof m);
    int64_t c = 16;
    for (; c + 16 <= C; c += 16) {
        v16f v;
        memcpy(&v, x + c, sizeof v);
        m = LANES_MAX(v, m);
        z += v - v;
    }
    float best = m[0], zs = z[0] + (m[0] - m[0]);
    for (int j = 1; j < 16; j++) {
        best = m[j] > best ? m[j] : best;
        zs += z[j] + (m[j] - m[j]);
    }
    for (; c < C; c++) {
        best = x[c] > best ? x[c] : best;
        zs += x[c] - x[c];
    }
    *mx = best;
    return zs == 0;
}

/* y[c] = (x[c] - mx) - logsum, rounded once from double: a float32 row of log_softmax. */
PA_CLONES static void log_shifted_f32(const float *x, int64_t C, float mx, double logsum,
                                      float *y) {
    for (int64_t c = 0; c < C; c++) y[c] = (float)((double)(x[c] - mx) - logsum);
}

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

static void split_dims(const pa_tensor *t, int64_t d, int64_t *outer, int64_t *c, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int k = 0; k < d; k++) *outer *= t->shape[k];
    for (int k = (int)d + 1; k < t->ndim; k++) *inner *= t->shape[k];
    *c = t->ndim ? t->shape[d] : 1;
}

/* The max m of the C values x[0], x[inner], ... and log(sum(exp(x - m))).
 * NOTE: log-probabilities are formed as (x - m) - logsum, never x - (m + logsum): for
 * large logits m + logsum would round away the small logsum. */
#define ROW_MAX_LOGSUM(T, x, C, inner, max_out, logsum_out)                        \
    do {                                                                           \
        T mx_ = -INFINITY;                                                         \
        float fmx_;                                                                \
        if (sizeof(T) == 4 && (inner) == 1 && (C) >= 16 &&                         \
            row_max_f32((const float *)(x), (C), &fmx_))                           \
            mx_ = (T)fmx_;                                                         \
        else                                                                       \
            for (int64_t c_ = 0; c_ < (C); c_++)                                   \
                if ((x)[c_ * (inner)] > mx_ || (x)[c_ * (inner)] != (x)[c_ * (inner)]) \
                    mx_ = (x)[c_ * (inner)];                                       \
        double s_ = 0;                                                             \
        max_out = mx_;                                                             \
        logsum_out = 0;                                                            \
        if (sizeof(T) == 4)                                                        \
            s_ = expsum_f32((const float *)(x), (C), (inner), (float)mx_);         \
        else                                                                       \
            for (int64_t c_ = 0; c_ < (C); c_++) s_ += exp((double)((x)[c_ * (inner)] - mx_)); \
        logsum_out = log(s_);                                                      \
    } while (0)

/* st[2 (r - lo)] and st[2 (r - lo) + 1]: ROW_MAX_LOGSUM of rows [lo, hi) of a contiguous
 * xs, row r = n * inner + i starting at xs[n * C * inner + i]. */
#define ROWS_MAX_LOGSUM(T, xs, C, inner, lo, hi, st)                                    \
    do {                                                                                \
        if (!row_tile(sizeof(T), (C), (inner), (hi) - (lo)) ||                          \
            !tile_max_logsum_f32((const float *)(xs) + (lo) * (C), (C), (st)))          \
            for (int64_t r_ = (lo); r_ < (hi); r_++) {                                  \
                const T *xr_ = (xs) + r_ / (inner) * (C) * (inner) + r_ % (inner);      \
                T rmx_;                                                                 \
                double rls_;                                                            \
                ROW_MAX_LOGSUM(T, xr_, C, inner, rmx_, rls_);                           \
                (st)[2 * (r_ - (lo))] = (double)rmx_;                                   \
                (st)[2 * (r_ - (lo)) + 1] = rls_;                                       \
            }                                                                           \
    } while (0)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* NOTE: an exp and a log per element cost ~10x a memory-bound pass, so the row ops take
 * a second thread from 4K elements (the elementwise threshold is 64K): measured on
 * 1024 x 10 cross-entropy forward + backward, 48 -> 38 us. */
static int row_threads(int64_t elements) { return pa_kernel_threads_for(elements, 1 << 12); }

/* log_softmax (log = 1) or softmax (log = 0) of a contiguous x into y, ROW_BLOCK rows at
 * a time. */
static void softmax_forward(const pa_tensor *x, pa_tensor *y, int64_t d, int take_log) {
    int64_t outer, C, inner;
    split_dims(x, d, &outer, &C, &inner);
    int64_t rows = outer * inner, blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
    int nt = row_threads(x->numel);
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data;
        T *ys = (T *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t lo = blk * ROW_BLOCK, hi = min64(lo + ROW_BLOCK, rows);
            double st[2 * ROW_BLOCK];
            ROWS_MAX_LOGSUM(T, xs, C, inner, lo, hi, st);
            if (!take_log && row_tile(sizeof(T), C, inner, hi - lo)) {
                tile_exp_shifted_f32((const float *)xs + lo * C, C, st, (float *)ys + lo * C);
                continue;
            }
            for (int64_t r = lo; r < hi; r++) {
                int64_t base = r / inner * C * inner + r % inner;
                const T *xr = xs + base;
                T *yr = ys + base, mx = (T)st[2 * (r - lo)];
                double logsum = st[2 * (r - lo) + 1];
                if (!take_log && sizeof(T) == 4)
                    exp_shifted_f32((const float *)xr, C, inner, (float)mx, logsum, (float *)yr);
                else if (sizeof(T) == 4 && inner == 1)
                    log_shifted_f32((const float *)xr, C, (float)mx, logsum, (float *)yr);
                else
                    for (int64_t c = 0; c < C; c++) {
                        T v = (T)((double)(xr[c * inner] - mx) - logsum);
                        yr[c * inner] = take_log ? v : (T)exp(v);
                    }
            }
        });
    });
}

static int softmax_impl(pa_tensor *a, int64_t dim, int take_log, pa_tensor **out) {
    const char *op = take_log ? "log_softmax" : "softmax";
    PA_REQUIRE(op, a && out, "NULL tensor or result pointer");
    int64_t d;
    TRY(pa_normalize_dim(op, dim, a->ndim, &d));
    if (!pa_is_float(a->dtype))
        return pa_error(PA_ERR_TYPE, "%s: expected a floating-point tensor, got %s", op,
                        pa_dtype_name(a->dtype));
    pa_tensor *x = pa_contiguous_nograd(a);
    PA_CHECK_OOM(x);
    pa_tensor *y = pa_tensor_new_like(x);
    if (y) softmax_forward(x, y, d, take_log);
    pa_tensor_release(x);
    PA_CHECK_OOM(y);
    *out = y;
    if (!pa_needs_grad(1, &a)) return PA_OK;
    pa_node *node = pa_node_new(take_log ? PA_OP_LOG_SOFTMAX : PA_OP_SOFTMAX, 1, &a, y);
    int rc = node ? pa_node_save(node, 0, y) : PA_ERR_MEMORY;
    if (rc) {
        pa_tensor_release(y);
        *out = NULL;
        return rc;
    }
    node->iarg[0] = d;
    return PA_OK;
}

int pa_softmax(pa_tensor *a, int64_t dim, pa_tensor **out) { return softmax_impl(a, dim, 0, out); }
int pa_log_softmax(pa_tensor *a, int64_t dim, pa_tensor **out) { return softmax_impl(a, dim, 1, out); }

/* log_softmax: gx = g - exp(y) * sum(g);  softmax: gx = y * (g - sum(g * y)). */
static int softmax_backward(pa_node *node, pa_tensor *grad, pa_tensor **grads, int take_log) {
    pa_tensor *y = node->saved[0], *g, *gx = pa_tensor_new_like(y);
    TRY(pa_contiguous_with(grad, gx, &g));
    int64_t outer, C, inner;
    split_dims(y, node->iarg[0], &outer, &C, &inner);
    int nt = pa_threads_for_elements(y->numel);
    PA_DISPATCH_FLOAT(y->dtype, T, {
        const T *ys = (const T *)y->data, *gs = (const T *)g->data;
        T *out = (T *)gx->data;
        PA_PARALLEL_FOR2(nt, for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t base = o * C * inner + i;
                double s = 0;
                for (int64_t c = 0; c < C; c++)
                    s += take_log ? (double)gs[base + c * inner]
                             : (double)gs[base + c * inner] * (double)ys[base + c * inner];
                for (int64_t c = 0; c < C; c++) {
                    int64_t k = base + c * inner;
                    out[k] = take_log ? (T)(gs[k] - exp((double)ys[k]) * s) : (T)(ys[k] * (gs[k] - s));
                }
            });
    });
    pa_tensor_release(g);
    grads[0] = gx;
    return PA_OK;
}

int pa_backward_SOFTMAX(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    return softmax_backward(node, g, grads, 0);
}

int pa_backward_LOG_SOFTMAX(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    return softmax_backward(node, g, grads, 1);
}

/* ---- cross entropy ------------------------------------------------------------- */
static int check_cross_entropy(const pa_tensor *x, const pa_tensor *target, const pa_tensor *weight,
                               int reduction, double eps) {
    char b1[128], b2[128];
    if (!pa_is_float(x->dtype))
        return pa_error(PA_ERR_TYPE, "cross_entropy: expected floating-point logits, got %s",
                        pa_dtype_name(x->dtype));
    if (target->dtype != PA_INT64)
        return pa_error(PA_ERR_TYPE, "cross_entropy: expected int64 class indices as target, got %s",
                        pa_dtype_name(target->dtype));
    if (reduction < PA_REDUCTION_NONE || reduction > PA_REDUCTION_SUM)
        return pa_error(PA_ERR_VALUE, "cross_entropy: unknown reduction code %d", reduction);
    if (!(eps >= 0 && eps <= 1))
        return pa_error(PA_ERR_VALUE, "cross_entropy: label_smoothing must be between 0.0 and 1.0, "
                        "got %g", eps);
    bool ok = (x->ndim == 1 && target->ndim == 0) || (x->ndim >= 2 && target->ndim == x->ndim - 1);
    for (int d = 0; ok && x->ndim >= 2 && d < target->ndim; d++)
        ok = target->shape[d] == x->shape[d == 0 ? 0 : d + 1];
    if (!ok)
        return pa_error(PA_ERR_VALUE, "cross_entropy: input of shape %s and target of shape %s do "
                        "not match (expected input (N, C, ...) and target (N, ...))",
                        PA_SHAPE_STR(x, b1), PA_SHAPE_STR(target, b2));
    int64_t C = x->ndim == 1 ? x->shape[0] : x->shape[1];
    if (weight && (weight->ndim != 1 || weight->shape[0] != C || weight->dtype != x->dtype))
        return pa_error(PA_ERR_VALUE, "cross_entropy: weight of shape %s and dtype %s must be 1-d with "
                        "%lld entries (one per class) of dtype %s", PA_SHAPE_STR(weight, b1),
                        pa_dtype_name(weight->dtype), (long long)C, pa_dtype_name(x->dtype));
    return PA_OK;
}

int pa_cross_entropy(pa_tensor *logits, pa_tensor *target, pa_tensor *weight, int reduction,
                     int64_t ignore_index, double eps, pa_tensor **out) {
    PA_REQUIRE("cross_entropy", logits && target && out, "NULL tensor or result pointer");
    TRY(check_cross_entropy(logits, target, weight, reduction, eps));
    int64_t cdim = logits->ndim == 1 ? 0 : 1, N, C, inner;
    split_dims(logits, cdim, &N, &C, &inner);
    pa_tensor *x = pa_contiguous_nograd(logits), *t = x ? pa_contiguous_nograd(target) : NULL;
    pa_tensor *w = t && weight ? pa_contiguous_nograd(weight) : NULL;
    int64_t rows = N * inner;
    pa_tensor *lse = NULL, *loss = NULL;
    int rc = !x || !t || (weight && !w) ? PA_ERR_MEMORY : PA_OK;
    /* Every target must be a class or ignore_index before anything is computed. */
    const int64_t *tv = t ? (const int64_t *)t->data : NULL;
    for (int64_t r = 0; !rc && r < rows; r++)
        if (tv[r] != ignore_index && (tv[r] < 0 || tv[r] >= C))
            rc = pa_error(PA_ERR_INDEX, "cross_entropy: target %lld is out of bounds for %lld "
                          "classes (at flat position %lld)", (long long)tv[r], (long long)C,
                          (long long)r);
    if (!rc) {
        int64_t pairs = 2 * rows;  /* (max, logsum) per row, for backward */
        lse = pa_tensor_new(1, &pairs, PA_FLOAT64);
        loss = pa_tensor_new(target->ndim, target->shape, logits->dtype);
        if (!lse || !loss) rc = PA_ERR_MEMORY;
    }
    double wsum = 0, total = 0, csum = 0;
    if (!rc) {
        int nt = row_threads(rows * C);
        int64_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
        PA_DISPATCH_FLOAT(logits->dtype, T, {
            const T *xs = (const T *)x->data, *ws = w ? (const T *)w->data : NULL;
            double *ls = (double *)lse->data;
            T *lv = (T *)loss->data;
            for (int64_t c = 0; c < C; c++) csum += ws ? (double)ws[c] : 1.0;
            PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
                int64_t lo = blk * ROW_BLOCK, hi = min64(lo + ROW_BLOCK, rows);
                ROWS_MAX_LOGSUM(T, xs, C, inner, lo, hi, ls + 2 * lo);
                for (int64_t r = lo; r < hi; r++) {
                    const T *xr = xs + r / inner * C * inner + r % inner;
                    T mx = (T)ls[2 * r];
                    double logsum = ls[2 * r + 1];
                    int64_t tr = tv[r];
                    if (tr == ignore_index) {
                        lv[r] = 0;
                        continue;
                    }
                    double wt = ws ? (double)ws[tr] : 1.0;
                    double v = -((double)(xr[tr * inner] - mx) - logsum) * wt * (1.0 - eps);
                    if (eps > 0) {
                        double smooth = 0;
                        for (int64_t c = 0; c < C; c++)
                            smooth -= (ws ? (double)ws[c] : 1.0) * ((double)(xr[c * inner] - mx) - logsum);
                        v += smooth * eps / (double)C;
                    }
                    lv[r] = (T)v;
                }
            });
            /* Sequential, fixed-order sums: the same for any thread count. */
            for (int64_t r = 0; r < rows; r++) {
                total += (double)lv[r];
                if (tv[r] != ignore_index) wsum += ws ? (double)ws[tv[r]] : 1.0;
            }
        });
    }
    if (!rc && reduction != PA_REDUCTION_NONE) {
        double v = reduction == PA_REDUCTION_MEAN ? total / wsum : total;
        pa_tensor_release(loss);
        loss = NULL;
        rc = pa_full(0, NULL, logits->dtype, v, &loss);
    }
    pa_tensor *inputs[1] = {logits};
    if (!rc && pa_needs_grad(1, inputs)) {
        pa_node *node = pa_node_new(PA_OP_CROSS_ENTROPY, 1, inputs, loss);
        if (!node) rc = PA_ERR_MEMORY;
        if (!rc) rc = pa_node_save(node, 0, x);
        if (!rc) rc = pa_node_save(node, 1, t);
        if (!rc && w) rc = pa_node_save(node, 2, w);
        if (!rc) rc = pa_node_save(node, 3, lse);
        if (!rc) {
            node->iarg[0] = reduction;
            node->iarg[1] = ignore_index;
            node->iarg[2] = cdim;
            node->farg[0] = eps;
            node->farg[1] = wsum;
            node->farg[2] = csum;
        }
    }
    pa_tensor_release(x);
    pa_tensor_release(t);
    pa_tensor_release(w);
    pa_tensor_release(lse);
    if (rc) {
        pa_tensor_release(loss);
        return rc;
    }
    *out = loss;
    return PA_OK;
}

/* d loss_r / d x_c = s_r * ((1-eps) w_t (p_c - [c == t]) + eps/C (W p_c - w_c)), with
 * s_r the incoming gradient of row r (divided by the weight sum for mean). */
int pa_backward_CROSS_ENTROPY(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pa_tensor *x = node->saved[0], *t = node->saved[1], *w = node->saved[2], *lse = node->saved[3];
    int reduction = (int)node->iarg[0];
    int64_t ignore_index = node->iarg[1], N, C, inner;
    double eps = node->farg[0], wsum = node->farg[1], csum = node->farg[2];
    split_dims(x, node->iarg[2], &N, &C, &inner);
    pa_tensor *g, *gx = pa_tensor_new_like(x);
    TRY(pa_contiguous_with(grad, gx, &g));
    int64_t rows = N * inner;
    const int64_t *tv = (const int64_t *)t->data;
    int nt = row_threads(rows * C);
    int64_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data, *gs = (const T *)g->data;
        const double *ls = (const double *)lse->data;
        const T *ws = w ? (const T *)w->data : NULL;
        T *out = (T *)gx->data;
        PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t lo = blk * ROW_BLOCK, hi = min64(lo + ROW_BLOCK, rows);
            double wt[ROW_BLOCK], smooth[ROW_BLOCK];
            for (int64_t r = lo; r < hi; r++) {
                double s = reduction == PA_REDUCTION_NONE ? (double)gs[r]
                           : reduction == PA_REDUCTION_MEAN ? (double)gs[0] / wsum : (double)gs[0];
                int64_t tr = tv[r];
                wt[r - lo] = tr == ignore_index ? 0 : (ws ? (double)ws[tr] : 1.0) * (1.0 - eps) * s;
                smooth[r - lo] = eps / (double)C * s;
            }
            if (row_tile(sizeof(T), C, inner, hi - lo))
                tile_xent_grad_f32((const float *)xs + lo * C, C, ls + 2 * lo, tv + lo, wt, smooth,
                                   csum, (const float *)ws, eps, (float *)out + lo * C);
            else
                for (int64_t r = lo; r < hi; r++) {
                    int64_t base = r / inner * C * inner + r % inner, tr = tv[r];
                    const T *xr = xs + base;
                    T *orow = out + base;
                    if (sizeof(T) == 4)  /* the probabilities first, into the output row */
                        exp_shifted_f32((const float *)xr, C, inner, (float)ls[2 * r],
                                        ls[2 * r + 1], (float *)orow);
                    for (int64_t c = 0; c < C; c++) {
                        double p = sizeof(T) == 4 ? (double)orow[c * inner]
                                                  : exp((double)(xr[c * inner] - (T)ls[2 * r]) - ls[2 * r + 1]);
                        double v = wt[r - lo] * (p - (c == tr));
                        if (eps > 0) v += smooth[r - lo] * (csum * p - (ws ? (double)ws[c] : 1.0));
                        orow[c * inner] = (T)v;
                    }
                }
            for (int64_t r = lo; r < hi; r++)  /* ignored rows: exactly zero */
                if (tv[r] == ignore_index)
                    for (int64_t c = 0; c < C; c++) out[r / inner * C * inner + r % inner + c * inner] = 0;
        });
    });
    pa_tensor_release(g);
    grads[0] = gx;
    return PA_OK;
}
