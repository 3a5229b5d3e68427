/* Neural-network ops: softmax, log_softmax and the fused cross-entropy loss.
 *
 * All three work on a (outer, C, inner) decomposition of a contiguous input around the
 * class dim, so a (N, C) batch and an (N, C, H, W) segmentation map share one code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/parallel.h"
#include "loops.h"
#include "rowstats.h"
#include "vmath.h"

/* y[c * inner] = exp((x[c * inner] - mx) - logsum) for a float32 row.  A contiguous row
 * gets its arguments first, then their exps in place, by pa_expf_normal when all are in
 * its range (see exp_row_normal in rowstats.h).
 * NOTE: pa_expf throughout: cross-entropy forward + backward of (1024, 1000), 1 thread,
 * see pa_backward_CROSS_ENTROPY. */
PA_CLONES static void exp_shifted_f32(const float *x, int64_t C, int64_t inner, float mx,
                                      double logsum, float *y) {
    if (inner == 1) {
        int32_t rare = 0;
        for (int64_t c = 0; c < C; c++) {
            y[c] = (float)((double)(x[c] - mx) - logsum);
            rare |= PA_EXP_RARE(y[c]);
        }
        if (rare)
            for (int64_t c = 0; c < C; c++) y[c] = pa_expf(y[c]);
        else
            for (int64_t c = 0; c < C; c++) y[c] = pa_expf_normal(y[c]);
    } else
        for (int64_t c = 0; c < C; c++)
            y[c * inner] = pa_expf((float)((double)(x[c * inner] - mx) - logsum));
}

/* NOTE: softmax of a float32 row ran two exps per element: one in its sum (expsum_f32),
 * one in exp((x - mx) - logsum).  Here e = exp(x - mx) is stored while it is summed, in
 * expsum_f32's order, and scaled by 1 / sum in double: one exp per element, and within
 * the same ulp bounds (both round x - mx to float first).  Measured on 512 x 1024, 2
 * threads: see softmax_forward. */
PA_CLONES static void row_softmax_f32(const float *x, int64_t C, float mx, float lowest,
                                      float *y) {
    double part[16] = {0}, s = 0;
    int64_t c = 0;
#define EXP_STORE_SUM(EXP)                                  \
    for (; c + 16 <= C; c += 16)                            \
        for (int j = 0; j < 16; j++) {                      \
            float e = EXP(x[c + j] - mx);                   \
            y[c + j] = e;                                   \
            part[j] += (double)e;                           \
        }
    if (!exp_row_normal(lowest, mx))
        EXP_STORE_SUM(pa_expf)
    else
        EXP_STORE_SUM(pa_expf_normal)
#undef EXP_STORE_SUM
    for (int j = 0; j < 16; j++) s += part[j];
    for (; c < C; c++) {
        float e = pa_expf(x[c] - mx);
        y[c] = e;
        s += (double)e;
    }
    double inv = 1.0 / s;
    for (c = 0; c < C; c++) y[c] = (float)((double)y[c] * inv);
}

/* Whether some exp(v[c]) leaves pa_expf_normal's range (see exp_row_normal in rowstats.h):
 * a pass over a row about to be read anyway.  NOTE: log_softmax's backward took pa_expf
 * throughout: forward + backward of (1024, 1000), 1 thread, 2.8 ms, PyTorch's 1.4. */
PA_CLONES static int any_exp_rare(const float *v, int64_t C) {
    int32_t any = 0;
    for (int64_t c = 0; c < C; c++) any |= PA_EXP_RARE(v[c]);
    return any != 0;
}

/* The gradient of a float32 row of softmax (gx = y (g - sum(g y))) or log_softmax
 * (gx = g - exp(y) sum(g)), its sum in 16 interleaved partial sums in double. */
PA_CLONES static void row_softmax_grad_f32(const float *y, const float *g, int64_t C,
                                           int take_log, float *out) {
    double part[16] = {0}, s = 0;
    int64_t c = 0;
    if (take_log)  /* (the choice outside the loops: inside, gcc left the sum of g scalar) */
        for (; c + 16 <= C; c += 16)
            for (int j = 0; j < 16; j++) part[j] += (double)g[c + j];
    else
        for (; c + 16 <= C; c += 16)
            for (int j = 0; j < 16; j++) part[j] += (double)g[c + j] * (double)y[c + j];
    for (int j = 0; j < 16; j++) s += part[j];
    for (; c < C; c++) s += take_log ? (double)g[c] : (double)g[c] * (double)y[c];
    if (take_log && any_exp_rare(y, C))
        for (c = 0; c < C; c++) out[c] = (float)((double)g[c] - (double)pa_expf(y[c]) * s);
    else if (take_log)
        for (c = 0; c < C; c++) out[c] = (float)((double)g[c] - (double)pa_expf_normal(y[c]) * s);
    else
        for (c = 0; c < C; c++) out[c] = (float)((double)y[c] * ((double)g[c] - s));
}

/* NOTE: rows of few classes (the article's (N, 10) logits) spent their time in loop
 * overhead, one scalar exp at a time.  Full blocks of ROW_BLOCK contiguous float32 rows
 * with C < ROW_BLOCK are transposed into a C x ROW_BLOCK tile so that every step runs
 * across the rows in SIMD.  Each row gets the operations of the one-row path in the same
 * order (C < 16 sums sequentially there too), so the results are bit-identical.
 * Measured: cross-entropy forward + backward on 1024 x 10, one thread, 167 -> 48 us. */
enum { ROW_BLOCK = 16 };
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
 * as ROW_MAX_LOGSUM computes them.  Returns 0, leaving st to the one-row path, when a
 * row holds a NaN or its maximum is not finite (see finite_row_max_f32). */
PA_CLONES static int tile_max_logsum_f32(const float *x, int64_t C, double *st) {
    _Alignas(64) float t[ROW_BLOCK][ROW_BLOCK], m[ROW_BLOCK];
    int32_t z[ROW_BLOCK];
    double s[ROW_BLOCK] = {0};
    TILE_IN(t, x, C);
    v16f mv;
    v16i zv = {0};
    for (int j = 0; j < ROW_BLOCK; j++) mv[j] = -INFINITY;
    for (int64_t c = 0; c < C; c++) {
        v16f v;
        memcpy(&v, t[c], sizeof v);
        mv = LANES_MAX(v, mv);
        zv |= v != v;
    }
    memcpy(m, &mv, sizeof m);
    memcpy(z, &zv, sizeof z);
    for (int j = 0; j < ROW_BLOCK; j++)
        if (z[j] != 0 || !isfinite(m[j])) return 0;
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

/* ---- blocks of rows with inner > 1 -------------------------------------------------
 * NOTE: with the class dim not last (softmax over dim 0 of (1024, 512), over the
 * channels of (N, C, H, W), a segmentation cross-entropy) each row walked its C values
 * `inner` elements apart, one cache line per value, and paid a scalar exp each: 12-16x
 * PyTorch's time.  The rows o * inner + i0 ... + i0 + W - 1 (W <= LANE_BLOCK) of one
 * outer index o lie side by side along every class, so they run as W lanes of one loop
 * over c, 16 lanes to a vector.  Each lane does the one-row path's operations in its
 * order: the results are its bits.  Blocks of 16 lanes (one cache line per class) were
 * latency-bound when inner is a large power of two (every class in one cache set):
 * log_softmax forward + backward over dim 0 of (64, 128, 128) took 6.2 ms at 16 lanes,
 * see softmax_forward for 256. */
enum { LANE_BLOCK = 256 };

/* lanes[j] = x[j] for j < W (<= 16), 0 beyond (a partial vector's padding). */
#define LANES_LOAD(lanes, x, W)                                                            \
    do {                                                                                   \
        if ((W) >= 16) {                                                                   \
            memcpy(&(lanes), (x), sizeof(lanes));                                          \
        } else {                                                                           \
            memset(&(lanes), 0, sizeof(lanes));                                            \
            memcpy(&(lanes), (x), (size_t)(W) * sizeof((x)[0]));                           \
        }                                                                                  \
    } while (0)

/* Runs BODY for the 16-lane vectors of a block at class c: j0 is the first lane, w the
 * lanes present (16 but in a last partial vector). */
#define FOR_VECTORS(W, ...)                                                                \
    for (int j0 = 0; j0 < (W); j0 += 16) {                                                 \
        int w = (W) - j0 < 16 ? (W) - j0 : 16;                                             \
        __VA_ARGS__                                                                        \
    }

/* st[2j], st[2j + 1] = ROW_MAX_LOGSUM of lane j of a block; 0 (st left to the one-row
 * path) when a lane holds a NaN or its maximum is not finite. */
PA_CLONES static int lanes_max_logsum_f32(const float *x, int64_t C, int64_t inner, int W,
                                          double *st) {
    _Alignas(64) float m[LANE_BLOCK];
    _Alignas(64) int32_t z[LANE_BLOCK];
    double s[LANE_BLOCK];
    for (int j = 0; j < LANE_BLOCK; j++) m[j] = -INFINITY, z[j] = 0, s[j] = 0;
    for (int64_t c = 0; c < C; c++)
        FOR_VECTORS(W, {
            v16f v, mv;
            v16i zv;
            LANES_LOAD(v, x + c * inner + j0, w);
            memcpy(&mv, m + j0, sizeof mv);
            memcpy(&zv, z + j0, sizeof zv);
            mv = LANES_MAX(v, mv);
            zv |= v != v;
            memcpy(m + j0, &mv, sizeof mv);
            memcpy(z + j0, &zv, sizeof zv);
        })
    for (int j = 0; j < W; j++)
        if (z[j] != 0 || !isfinite(m[j])) return 0;
    for (int64_t c = 0; c < C; c++)
        FOR_VECTORS(W, {
            float t[16];
            LANES_LOAD(t, x + c * inner + j0, w);
            for (int j = 0; j < 16; j++) s[j0 + j] += (double)pa_expf(t[j] - m[j0 + j]);
        })
    for (int j = 0; j < W; j++) st[2 * j] = m[j], st[2 * j + 1] = log(s[j]);
    return 1;
}

/* The float64 lanes, as ROW_MAX_LOGSUM computes a double row (libm exp). */
static int lanes_max_logsum_f64(const double *x, int64_t C, int64_t inner, int W, double *st) {
    double m[LANE_BLOCK], z[LANE_BLOCK], s[LANE_BLOCK];
    for (int j = 0; j < W; j++) m[j] = -INFINITY, z[j] = 0, s[j] = 0;
    for (int64_t c = 0; c < C; c++)
        for (int j = 0; j < W; j++) {
            double v = x[c * inner + j];
            m[j] = v > m[j] ? v : m[j];
            z[j] += v != v;
        }
    for (int j = 0; j < W; j++)
        if (z[j] != 0 || !isfinite(m[j])) return 0;
    for (int64_t c = 0; c < C; c++)
        for (int j = 0; j < W; j++) s[j] += exp(x[c * inner + j] - m[j]);
    for (int j = 0; j < W; j++) st[2 * j] = m[j], st[2 * j + 1] = log(s[j]);
    return 1;
}

/* m and ls: a block's maxima as float and log-sums, zero for lanes W and beyond. */
static void lanes_stats(const double *st, int W, float *m, double *ls) {
    for (int j = 0; j < LANE_BLOCK; j++) m[j] = 0, ls[j] = 0;
    for (int j = 0; j < W; j++) m[j] = (float)st[2 * j], ls[j] = st[2 * j + 1];
}

/* y = log_softmax (take_log) or softmax of a block, from its st. */
PA_CLONES static void lanes_softmax_f32(const float *x, int64_t C, int64_t inner, int W,
                                        const double *st, int take_log, float *y) {
    float m[LANE_BLOCK];
    double ls[LANE_BLOCK];
    lanes_stats(st, W, m, ls);
    for (int64_t c = 0; c < C; c++)
        FOR_VECTORS(W, {
            float t[16], r[16];
            LANES_LOAD(t, x + c * inner + j0, w);
            if (take_log)
                for (int j = 0; j < 16; j++) r[j] = (float)((double)(t[j] - m[j0 + j]) - ls[j0 + j]);
            else
                for (int j = 0; j < 16; j++)
                    r[j] = pa_expf((float)((double)(t[j] - m[j0 + j]) - ls[j0 + j]));
            memcpy(y + c * inner + j0, r, (size_t)w * sizeof(float));
        })
}

/* The cross-entropy gradient of a block, as pa_backward_CROSS_ENTROPY computes a row
 * (see tile_xent_grad_f32); tr, wt and smooth hold LANE_BLOCK entries. */
PA_CLONES static void lanes_xent_grad_f32(const float *x, int64_t C, int64_t inner, int W,
                                          const double *st, const int64_t *tr,
                                          const double *wt, const double *smooth, double csum,
                                          const float *ws, double eps, float *y) {
    float m[LANE_BLOCK];
    double ls[LANE_BLOCK];
    lanes_stats(st, W, m, ls);
    for (int64_t c = 0; c < C; c++) {
        double wc = ws ? (double)ws[c] : 1.0;
        FOR_VECTORS(W, {
            float t[16], r[16];
            LANES_LOAD(t, x + c * inner + j0, w);
            for (int j = 0; j < 16; j++) {
                double p = (double)pa_expf((float)((double)(t[j] - m[j0 + j]) - ls[j0 + j]));
                double v = wt[j0 + j] * (p - (double)(c == tr[j0 + j]));
                if (eps > 0) v += smooth[j0 + j] * (csum * p - wc);
                r[j] = (float)v;
            }
            memcpy(y + c * inner + j0, r, (size_t)w * sizeof(float));
        })
    }
}

/* The softmax or log_softmax gradient of a block, each lane's sum in order over c. */
PA_CLONES static void lanes_softmax_grad_f32(const float *y, const float *g, int64_t C,
                                             int64_t inner, int W, int take_log, float *out) {
    double s[LANE_BLOCK] = {0};
    for (int64_t c = 0; c < C; c++)
        FOR_VECTORS(W, {
            float gc[16], yc[16];
            LANES_LOAD(gc, g + c * inner + j0, w);
            LANES_LOAD(yc, y + c * inner + j0, w);
            if (take_log)
                for (int j = 0; j < 16; j++) s[j0 + j] += (double)gc[j];
            else
                for (int j = 0; j < 16; j++) s[j0 + j] += (double)gc[j] * (double)yc[j];
        })
    for (int64_t c = 0; c < C; c++)
        FOR_VECTORS(W, {
            float gc[16], yc[16], r[16];
            LANES_LOAD(gc, g + c * inner + j0, w);
            LANES_LOAD(yc, y + c * inner + j0, w);
            if (take_log)
                for (int j = 0; j < 16; j++)
                    r[j] = (float)((double)gc[j] - (double)pa_expf(yc[j]) * s[j0 + j]);
            else
                for (int j = 0; j < 16; j++)
                    r[j] = (float)((double)yc[j] * ((double)gc[j] - s[j0 + j]));
            memcpy(out + c * inner + j0, r, (size_t)w * sizeof(float));
        })
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
        float fmx_, fmn_ = -INFINITY;                                              \
        if (sizeof(T) == 4 && (inner) == 1 && (C) >= 16 &&                         \
            finite_row_max_f32((const float *)(x), (C), &fmx_, &fmn_))             \
            mx_ = (T)fmx_;                                                         \
        else                                                                       \
            for (int64_t c_ = 0; c_ < (C); c_++)                                   \
                if ((x)[c_ * (inner)] > mx_ || (x)[c_ * (inner)] != (x)[c_ * (inner)]) \
                    mx_ = (x)[c_ * (inner)];                                       \
        double s_ = 0;                                                             \
        max_out = mx_;                                                             \
        logsum_out = 0;                                                            \
        if (sizeof(T) == 4)                                                        \
            s_ = expsum_f32((const float *)(x), (C), (inner), (float)mx_, fmn_);   \
        else                                                                       \
            for (int64_t c_ = 0; c_ < (C); c_++) s_ += exp((double)((x)[c_ * (inner)] - mx_)); \
        logsum_out = log(s_);                                                      \
    } while (0)

/* st[2 (r - lo)] and st[2 (r - lo) + 1]: ROW_MAX_LOGSUM of rows [lo, hi) of a contiguous
 * xs, row r = n * inner + i starting at xs[n * C * inner + i]. */
#define ROWS_MAX_LOGSUM(T, xs, C, inner, lo, hi, st)                                    \
    do {                                                                                \
        const T *xb_ = (xs) + row_base((lo), (C), (inner));                             \
        int w_ = (int)((hi) - (lo)), done_ = 0;                                         \
        if ((inner) > 1)                                                                \
            done_ = sizeof(T) == 4                                                      \
                ? lanes_max_logsum_f32((const float *)xb_, (C), (inner), w_, (st))      \
                : lanes_max_logsum_f64((const double *)xb_, (C), (inner), w_, (st));    \
        else if (row_tile(sizeof(T), (C), (inner), (hi) - (lo)))                        \
            done_ = tile_max_logsum_f32((const float *)xb_, (C), (st));                 \
        if (!done_)                                                                     \
            for (int64_t r_ = (lo); r_ < (hi); r_++) {                                  \
                const T *xr_ = (xs) + row_base(r_, (C), (inner));                       \
                T rmx_;                                                                 \
                double rls_;                                                            \
                ROW_MAX_LOGSUM(T, xr_, C, inner, rmx_, rls_);                           \
                (st)[2 * (r_ - (lo))] = (double)rmx_;                                   \
                (st)[2 * (r_ - (lo)) + 1] = rls_;                                       \
            }                                                                           \
    } while (0)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Blocks of rows: ROW_BLOCK consecutive rows, or with inner > 1 up to LANE_BLOCK
 * consecutive positions of one outer index (a block never straddles two). */
static int64_t row_blocks(int64_t rows, int64_t inner) {
    if (inner <= 1) return (rows + ROW_BLOCK - 1) / ROW_BLOCK;
    return rows / inner * ((inner + LANE_BLOCK - 1) / LANE_BLOCK);
}

static void block_rows(int64_t blk, int64_t rows, int64_t inner, int64_t *lo, int64_t *hi) {
    if (inner <= 1) {
        *lo = blk * ROW_BLOCK;
        *hi = min64(*lo + ROW_BLOCK, rows);
        return;
    }
    int64_t per = (inner + LANE_BLOCK - 1) / LANE_BLOCK, i = blk % per * LANE_BLOCK;
    *lo = blk / per * inner + i;
    *hi = *lo + min64(LANE_BLOCK, inner - i);
}

/* Where row r of a contiguous (outer, C, inner) tensor starts. */
static int64_t row_base(int64_t r, int64_t C, int64_t inner) {
    return r / inner * C * inner + r % inner;
}

/* NOTE: an exp and a log per element cost ~10x a memory-bound pass, so the row ops take
 * a second thread from 4K elements (the elementwise threshold is 64K): measured on
 * 1024 x 10 cross-entropy forward + backward, 48 -> 38 us. */
static int row_threads(int64_t elements) { return pa_kernel_threads_for(elements, 1 << 12); }

/* log_softmax (log = 1) or softmax (log = 0) of a contiguous x into y, ROW_BLOCK rows at
 * a time. */
static void softmax_forward(const pa_tensor *x, pa_tensor *y, int64_t d, int take_log) {
    int64_t outer, C, inner;
    split_dims(x, d, &outer, &C, &inner);
    int64_t rows = outer * inner, blocks = row_blocks(rows, inner);
    int nt = row_threads(x->numel);
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data;
        T *ys = (T *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t lo, hi, b0;
            block_rows(blk, rows, inner, &lo, &hi);
            b0 = row_base(lo, C, inner);
            double st[2 * LANE_BLOCK];
            if (sizeof(T) == 4 && inner == 1 && !take_log && C >= ROW_BLOCK) {
                for (int64_t r = lo; r < hi; r++) {
                    const float *xr = (const float *)xs + r * C;
                    float *yr = (float *)ys + r * C, mx, mn;
                    if (finite_row_max_f32(xr, C, &mx, &mn)) {
                        row_softmax_f32(xr, C, mx, mn, yr);
                        continue;
                    }
                    ROWS_MAX_LOGSUM(T, xs, C, inner, r, r + 1, st);  /* an inf or a NaN */
                    exp_shifted_f32(xr, C, 1, (float)st[0], st[1], yr);
                }
                continue;
            }
            ROWS_MAX_LOGSUM(T, xs, C, inner, lo, hi, st);
            if (!take_log && row_tile(sizeof(T), C, inner, hi - lo)) {
                tile_exp_shifted_f32((const float *)xs + lo * C, C, st, (float *)ys + lo * C);
                continue;
            }
            if (inner > 1 && sizeof(T) == 4) {
                lanes_softmax_f32((const float *)xs + b0, C, inner, (int)(hi - lo), st, take_log,
                                  (float *)ys + b0);
                continue;
            }
            if (inner > 1) {  /* float64 lanes: the row loop below, class by class */
                for (int64_t c = 0; c < C; c++)
                    for (int64_t j = 0; j < hi - lo; j++) {
                        T v = (T)((double)(xs[b0 + c * inner + j] - (T)st[2 * j]) - st[2 * j + 1]);
                        ys[b0 + c * inner + j] = take_log ? v : (T)exp(v);
                    }
                continue;
            }
            for (int64_t r = lo; r < hi; r++) {
                int64_t base = row_base(r, C, inner);
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
    int64_t rows = outer * inner, blocks = row_blocks(rows, inner);
    PA_DISPATCH_FLOAT(y->dtype, T, {
        const T *ys = (const T *)y->data, *gs = (const T *)g->data;
        T *out = (T *)gx->data;
        /* Each row's sum runs over c in order; a block's rows are its lanes (see
         * lanes_max_logsum_f32), or one row after another when inner == 1. */
        PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t lo, hi;
            block_rows(blk, rows, inner, &lo, &hi);
            int64_t lanes = inner > 1 ? hi - lo : 1;
            for (int64_t r = lo; r < hi; r += lanes) {
                int64_t base = row_base(r, C, inner);
                if (sizeof(T) == 4 && inner == 1) {
                    row_softmax_grad_f32((const float *)ys + base, (const float *)gs + base, C,
                                         take_log, (float *)out + base);
                    continue;
                }
                if (sizeof(T) == 4) {
                    lanes_softmax_grad_f32((const float *)ys + base, (const float *)gs + base, C,
                                           inner, (int)lanes, take_log, (float *)out + base);
                    continue;
                }
                double s[LANE_BLOCK] = {0};
                for (int64_t c = 0; c < C; c++) {
                    const T *gc = gs + base + c * inner, *yc = ys + base + c * inner;
                    for (int64_t j = 0; j < lanes; j++)
                        s[j] += take_log ? (double)gc[j] : (double)gc[j] * (double)yc[j];
                }
                for (int64_t c = 0; c < C; c++)
                    for (int64_t j = 0; j < lanes; j++) {
                        int64_t k = base + c * inner + j;
                        out[k] = take_log ? (T)(gs[k] - exp((double)ys[k]) * s[j])
                                          : (T)(ys[k] * (gs[k] - s[j]));
                    }
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
        int64_t blocks = row_blocks(rows, inner);
        PA_DISPATCH_FLOAT(logits->dtype, T, {
            const T *xs = (const T *)x->data, *ws = w ? (const T *)w->data : NULL;
            double *ls = (double *)lse->data;
            T *lv = (T *)loss->data;
            for (int64_t c = 0; c < C; c++) csum += ws ? (double)ws[c] : 1.0;
            PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
                int64_t lo, hi;
                block_rows(blk, rows, inner, &lo, &hi);
                ROWS_MAX_LOGSUM(T, xs, C, inner, lo, hi, ls + 2 * lo);
                for (int64_t r = lo; r < hi; r++) {
                    const T *xr = xs + row_base(r, C, inner);
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

/* A contiguous float32 row's gradient from its probabilities p (in o, overwritten), as
 * the loop of pa_backward_CROSS_ENTROPY computes it element by element: every class as
 * a non-target first, then the target's entry (c == tr, if in range) from its saved p.
 * NOTE: that loop (a compare with the target and an eps test per element, not compiled
 * per ISA) took a quarter of cross-entropy forward + backward of (1024, 1000), 1 thread. */
PA_CLONES static void row_xent_grad_f32(float *o, int64_t C, int64_t tr, double wt,
                                        double smooth, double csum, const float *ws, double eps) {
    double pt = tr >= 0 && tr < C ? (double)o[tr] : 0;
    if (eps > 0)
        for (int64_t c = 0; c < C; c++) {
            double p = (double)o[c];
            o[c] = (float)(wt * p + smooth * (csum * p - (ws ? (double)ws[c] : 1.0)));
        }
    else
        for (int64_t c = 0; c < C; c++) o[c] = (float)(wt * (double)o[c]);
    if (tr >= 0 && tr < C) {
        double v = wt * (pt - 1);
        if (eps > 0) v += smooth * (csum * pt - (ws ? (double)ws[tr] : 1.0));
        o[tr] = (float)v;
    }
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
    int64_t blocks = row_blocks(rows, inner);
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data, *gs = (const T *)g->data;
        const double *ls = (const double *)lse->data;
        const T *ws = w ? (const T *)w->data : NULL;
        T *out = (T *)gx->data;
        PA_PARALLEL_FOR(nt, for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t lo, hi, b0, tb[LANE_BLOCK];
            block_rows(blk, rows, inner, &lo, &hi);
            b0 = row_base(lo, C, inner);
            double wt[LANE_BLOCK] = {0}, smooth[LANE_BLOCK] = {0};
            for (int j = 0; j < LANE_BLOCK; j++) tb[j] = lo + j < hi ? tv[lo + j] : -1;
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
            else if (inner > 1 && sizeof(T) == 4)
                lanes_xent_grad_f32((const float *)xs + b0, C, inner, (int)(hi - lo), ls + 2 * lo,
                                    tb, wt, smooth, csum, (const float *)ws, eps, (float *)out + b0);
            else
                for (int64_t r = lo; r < hi; r++) {
                    int64_t base = row_base(r, C, inner), tr = tv[r];
                    const T *xr = xs + base;
                    T *orow = out + base;
                    if (sizeof(T) == 4)  /* the probabilities first, into the output row */
                        exp_shifted_f32((const float *)xr, C, inner, (float)ls[2 * r],
                                        ls[2 * r + 1], (float *)orow);
                    if (sizeof(T) == 4 && inner == 1) {
                        row_xent_grad_f32((float *)orow, C, tr, wt[r - lo], smooth[r - lo], csum,
                                          (const float *)ws, eps);
                        continue;
                    }
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
                    for (int64_t c = 0; c < C; c++) out[row_base(r, C, inner) + c * inner] = 0;
        });
    });
    pa_tensor_release(g);
    grads[0] = gx;
    return PA_OK;
}

/* ---- nll_loss ------------------------------------------------------------------ */
/* NOTE: one pass in C instead of ~12 composed ops and two .item() syncs for the range
 * check: F.nll_loss on (1024, 1000) float32 log-probabilities took 54-58 us (PyTorch 7-9). */
int pa_nll_loss(pa_tensor *input, pa_tensor *target, pa_tensor *weight, int reduction,
                int64_t ignore_index, pa_tensor **out) {
    PA_REQUIRE("nll_loss", input && target && out, "NULL tensor or result pointer");
    char b1[128], b2[128];
    if (!pa_is_float(input->dtype))
        return pa_error(PA_ERR_TYPE, "nll_loss: expected floating-point input, got %s", pa_dtype_name(input->dtype));
    if (target->dtype != PA_INT64)
        return pa_error(PA_ERR_TYPE, "nll_loss: target must be an int64 tensor of class indices, got %s",
                        pa_dtype_name(target->dtype));
    if (reduction < PA_REDUCTION_NONE || reduction > PA_REDUCTION_SUM)
        return pa_error(PA_ERR_VALUE, "nll_loss: unknown reduction code %d", reduction);
    bool ok = (input->ndim == 1 && target->ndim == 0) || (input->ndim >= 2 && target->ndim == input->ndim - 1);
    for (int d = 0; ok && input->ndim >= 2 && d < target->ndim; d++)
        ok = target->shape[d] == input->shape[d == 0 ? 0 : d + 1];
    if (!ok)
        return pa_error(PA_ERR_VALUE, "nll_loss: target of shape %s does not fit input of shape %s",
                        PA_SHAPE_STR(target, b1), PA_SHAPE_STR(input, b2));
    int64_t cdim = input->ndim == 1 ? 0 : 1, N, C, inner;
    split_dims(input, cdim, &N, &C, &inner);
    if (weight && (weight->ndim != 1 || weight->shape[0] != C || weight->dtype != input->dtype))
        return pa_error(PA_ERR_VALUE, "nll_loss: weight of shape %s and dtype %s must be 1-d with %lld "
                        "entries (one per class) of dtype %s", PA_SHAPE_STR(weight, b1),
                        pa_dtype_name(weight->dtype), (long long)C, pa_dtype_name(input->dtype));
    int64_t rows = N * inner;
    pa_tensor *t = pa_contiguous_nograd(target);
    PA_CHECK_OOM(t);
    const int64_t *tv = (const int64_t *)t->data;
    int64_t lo = 0, hi = 0;
    bool any = false;
    for (int64_t r = 0; r < rows; r++) {
        int64_t v = tv[r];
        if (v == ignore_index) continue;
        if (!any || v < lo) lo = v;
        if (!any || v > hi) hi = v;
        any = true;
    }
    if (any && (lo < 0 || hi >= C)) {
        pa_tensor_release(t);
        return pa_error(PA_ERR_INDEX, "nll_loss: target %lld is out of bounds for %lld classes",
                        (long long)(lo < 0 ? lo : hi), (long long)C);
    }
    pa_tensor *x = pa_contiguous_nograd(input), *w = x && weight ? pa_contiguous_nograd(weight) : NULL;
    pa_tensor *loss = x && (!weight || w) ? pa_tensor_new(target->ndim, target->shape, input->dtype) : NULL;
    int rc = loss ? PA_OK : PA_ERR_MEMORY;
    double total = 0, wsum = 0;
    if (!rc) {
        PA_DISPATCH_FLOAT(input->dtype, T, {
            const T *xs = (const T *)x->data, *ws = w ? (const T *)w->data : NULL;
            T *lv = (T *)loss->data;
            for (int64_t r = 0; r < rows; r++) {
                int64_t tr = tv[r];
                if (tr == ignore_index) {
                    lv[r] = 0;
                    continue;
                }
                T wt = ws ? ws[tr] : (T)1;
                lv[r] = -xs[row_base(r, C, inner) + tr * inner] * wt;
                total += (double)lv[r];
                wsum += (double)wt;
            }
        });
    }
    if (!rc && reduction != PA_REDUCTION_NONE) {
        pa_tensor_release(loss);
        loss = NULL;
        rc = pa_full(0, NULL, input->dtype, reduction == PA_REDUCTION_MEAN ? total / wsum : total, &loss);
    }
    if (!rc && pa_needs_grad(1, &input)) {
        pa_node *node = pa_node_new(PA_OP_NLL_LOSS, 1, &input, loss);
        if (!node) rc = PA_ERR_MEMORY;
        if (!rc) rc = pa_node_save(node, 0, t);
        if (!rc && w) rc = pa_node_save(node, 1, w);
        if (!rc) {
            node->iarg[0] = reduction;
            node->iarg[1] = ignore_index;
            node->farg[0] = wsum;
        }
    }
    pa_tensor_release(x);
    pa_tensor_release(w);
    pa_tensor_release(t);
    if (rc) {
        pa_tensor_release(loss);
        return rc;
    }
    *out = loss;
    return PA_OK;
}

/* d loss_r / d x[r, t_r] = -w_t s_r (s_r: the incoming gradient of row r, over the
 * weight sum for 'mean'); zero elsewhere and on ignored rows. */
int pa_backward_NLL_LOSS(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    const pa_meta *m = &node->next[0].meta;
    pa_tensor *t = node->saved[0], *w = node->saved[1];
    int reduction = (int)node->iarg[0];
    int64_t ignore_index = node->iarg[1];
    double wsum = node->farg[0];
    int64_t C = m->ndim == 1 ? m->shape[0] : m->shape[1], inner = 1;
    for (int k = 2; k < m->ndim; k++) inner *= m->shape[k];
    pa_tensor *gx = pa_tensor_zeros(m->ndim, m->shape, m->dtype), *g = NULL;
    PA_CHECK_OOM(gx);
    g = grad->dtype == m->dtype ? pa_contiguous_nograd(grad) : pa_cast_nograd(grad, m->dtype);
    if (!g) {
        pa_tensor_release(gx);
        return PA_ERR_MEMORY;
    }
    const int64_t *tv = (const int64_t *)t->data;
    PA_DISPATCH_FLOAT(m->dtype, T, {
        const T *gs = (const T *)g->data, *ws = w ? (const T *)w->data : NULL;
        T *out = (T *)gx->data;
        for (int64_t r = 0; r < t->numel; r++) {
            int64_t tr = tv[r];
            if (tr == ignore_index) continue;
            T s = reduction == PA_REDUCTION_NONE ? gs[r]
                  : reduction == PA_REDUCTION_MEAN ? (T)((double)gs[0] / wsum) : gs[0];
            out[row_base(r, C, inner) + tr * inner] = -(ws ? ws[tr] : (T)1) * s;
        }
    });
    pa_tensor_release(g);
    grads[0] = gx;
    return PA_OK;
}
