/* 2-d pooling: max_pool2d (with argmax indices), avg_pool2d and adaptive_avg_pool2d,
 * forward and backward side by side.
 *
 * Inputs are (N, C, H, W) or (C, H, W): every (H, W) plane is pooled on its own, so the
 * loops run over planes (one thread per plane, a fixed order inside it: results are
 * the same for any thread count).  Window bounds follow PyTorch's CPU kernels exactly,
 * ceil_mode and padding included. */
#include <math.h>
#include <stdlib.h>

#include "../kernels/parallel.h"
#include "layer_util.h"

typedef struct {
    int64_t planes, h, w, oh, ow;
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
} pool_geom;

/* The input as planes of (H, W); `out_shape` gets its leading dims. */
static int plane_dims(const char *op, const pa_tensor *x, pool_geom *g) {
    char b[128];
    TRY(pa_layer_check_float(op, "input", x, -1));
    if (x->ndim != 3 && x->ndim != 4)
        return pa_error(PA_ERR_VALUE, "%s: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got "
                        "shape %s", op, PA_SHAPE_STR(x, b));
    g->planes = x->shape[0] * (x->ndim == 4 ? x->shape[1] : 1);
    g->h = x->shape[x->ndim - 2];
    g->w = x->shape[x->ndim - 1];
    if (g->h < 1 || g->w < 1)
        return pa_error(PA_ERR_VALUE, "%s: expected non-empty spatial dims, got input of shape %s", op,
                        PA_SHAPE_STR(x, b));
    return PA_OK;
}

/* PyTorch's pooling_output_shape: floor or ceil of the window count, where a last
 * window must start inside the input or its left padding. */
static int64_t pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, int ceil_mode) {
    int64_t num = in + 2 * pad - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);
    int64_t out = q + 1;
    if (ceil_mode && (out - 1) * s >= in + pad) out--;
    return out;
}

/* Checks window parameters and computes the output size; prm = {kh, kw, sh, sw, ph, pw,
 * dh, dw}. */
static int window_geom(const char *op, const pa_tensor *x, const int64_t *prm, int ceil_mode,
                       pool_geom *g) {
    char b[128];
    TRY(plane_dims(op, x, g));
    g->kh = prm[0], g->kw = prm[1], g->sh = prm[2], g->sw = prm[3];
    g->ph = prm[4], g->pw = prm[5], g->dh = prm[6], g->dw = prm[7];
    for (int k = 0; k < 8; k++)
        if (prm[k] > INT32_MAX)
            return pa_error(PA_ERR_VALUE, "%s: kernel_size, stride, padding and dilation must be at "
                            "most %d, got %lld", op, INT32_MAX, (long long)prm[k]);
    if (g->kh < 1 || g->kw < 1)
        return pa_error(PA_ERR_VALUE, "%s: kernel_size must be positive, got (%lld, %lld)", op,
                        (long long)g->kh, (long long)g->kw);
    if (g->sh < 1 || g->sw < 1)
        return pa_error(PA_ERR_VALUE, "%s: stride must be positive, got (%lld, %lld)", op,
                        (long long)g->sh, (long long)g->sw);
    if (g->dh < 1 || g->dw < 1)
        return pa_error(PA_ERR_VALUE, "%s: dilation must be positive, got (%lld, %lld)", op,
                        (long long)g->dh, (long long)g->dw);
    if (g->ph < 0 || g->pw < 0 || g->ph > g->kh / 2 || g->pw > g->kw / 2)
        return pa_error(PA_ERR_VALUE, "%s: padding should be non-negative and at most half of the "
                        "kernel size, got padding (%lld, %lld) for kernel_size (%lld, %lld)", op,
                        (long long)g->ph, (long long)g->pw, (long long)g->kh, (long long)g->kw);
    g->oh = pool_out_size(g->h, g->kh, g->ph, g->sh, g->dh, ceil_mode);
    g->ow = pool_out_size(g->w, g->kw, g->pw, g->sw, g->dw, ceil_mode);
    if (g->oh < 1 || g->ow < 1)
        return pa_error(PA_ERR_VALUE, "%s: input of shape %s is too small for kernel_size (%lld, %lld) "
                        "with dilation (%lld, %lld) and padding (%lld, %lld): the output would be "
                        "(%lld x %lld)", op, PA_SHAPE_STR(x, b), (long long)g->kh, (long long)g->kw,
                        (long long)g->dh, (long long)g->dw, (long long)g->ph, (long long)g->pw,
                        (long long)g->oh, (long long)g->ow);
    return PA_OK;
}

/* A new tensor shaped like x with its last two dims replaced by (oh, ow). */
static pa_tensor *pooled_like(const pa_tensor *x, int64_t oh, int64_t ow, int dtype) {
    int64_t shape[4];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof shape[0]);
    shape[x->ndim - 2] = oh;
    shape[x->ndim - 1] = ow;
    return pa_tensor_new(x->ndim, shape, dtype);
}

static void geom_to_node(const pool_geom *g, pa_node *node) {
    const int64_t v[8] = {g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->dh, g->dw};
    memcpy(node->iarg, v, sizeof v);
}

static void geom_from_node(const pa_node *node, pool_geom *g) {
    const pa_meta *m = &node->next[0].meta;
    g->planes = m->shape[0] * (m->ndim == 4 ? m->shape[1] : 1);
    g->h = m->shape[m->ndim - 2], g->w = m->shape[m->ndim - 1];
    g->oh = node->out.shape[m->ndim - 2], g->ow = node->out.shape[m->ndim - 1];
    g->kh = node->iarg[0], g->kw = node->iarg[1], g->sh = node->iarg[2], g->sw = node->iarg[3];
    g->ph = node->iarg[4], g->pw = node->iarg[5], g->dh = node->iarg[6], g->dw = node->iarg[7];
}

/* ---- max_pool2d and adaptive_max_pool2d ----------------------------------------- */
/* Each output's window along one dim, as taps start, start + d, ... < end: win holds
 * the starts of the oh rows, their ends, then the starts and ends of the ow columns.
 * Windows of max_pool2d are PyTorch's (clipped to the input, the start moved past the
 * padding in whole dilation steps); those of adaptive_max_pool2d are
 * [floor(i*H/oH), ceil((i+1)*H/oH)).  Returns NULL when out of memory. */
static int64_t adaptive_start(int64_t o, int64_t out, int64_t in) { return o * in / out; }
static int64_t adaptive_end(int64_t o, int64_t out, int64_t in) { return ((o + 1) * in + out - 1) / out; }

static int64_t *max_pool_windows(const pool_geom *g, int adaptive) {
    int64_t *win = malloc((size_t)(2 * (g->oh + g->ow)) * sizeof *win);
    if (!win) return NULL;
    for (int dim = 0; dim < 2; dim++) {
        int64_t n = dim ? g->ow : g->oh, in = dim ? g->w : g->h;
        int64_t k = dim ? g->kw : g->kh, s = dim ? g->sw : g->sh, p = dim ? g->pw : g->ph;
        int64_t d = dim ? g->dw : g->dh;
        int64_t *start = win + (dim ? 2 * g->oh : 0), *end = start + n;
        for (int64_t o = 0; o < n; o++) {
            if (adaptive) {
                start[o] = adaptive_start(o, n, in);
                end[o] = adaptive_end(o, n, in);
                continue;
            }
            int64_t a = o * s - p, b = a + (k - 1) * d + 1;
            while (a < 0) a += d;
            start[o] = a;
            end[o] = b < in ? b : in;
        }
    }
    return win;
}

/* NOTE: the columns whose whole window lies inside the input, [lo, hi), are done a
 * kernel tap at a time across the output row (each tap one strided, vectorisable pass
 * that keeps a running maximum and its index per output), the rest one window at a
 * time.  Either way each output sees its taps row by row, left to right, and keeps the
 * first maximum, or the last NaN, as PyTorch does.  max_pool1d k2 of (32, 64, 256), 2
 * threads: 1414 us one window at a time, 207 us so (PyTorch 2.13: 125 us). */
#define PA_MAX_POOL_PLANE(NAME, T)                                                           \
    PA_CLONES static void NAME(const T *in, T *out, int64_t *idx, const pool_geom *gp,       \
                               const int64_t *win, int64_t lo, int64_t hi) {               \
        const pool_geom g = *gp;                                                             \
        const int64_t *rs = win, *re = win + g.oh, *cs = win + 2 * g.oh, *ce = cs + g.ow;   \
        for (int64_t oy = 0; oy < g.oh; oy++) {                                              \
            T *o = out + oy * g.ow;                                                          \
            int64_t *ix = idx + oy * g.ow, y0 = rs[oy], y1 = re[oy];                         \
            for (int64_t ox = 0; ox < g.ow; ox++) {                                          \
                if (ox == lo && lo < hi) ox = hi;                                            \
                if (ox >= g.ow) break;                                                       \
                int64_t best = y0 * g.w + cs[ox];                                            \
                T mx = -INFINITY;                                                            \
                for (int64_t iy = y0; iy < y1; iy += g.dh)                                   \
                    for (int64_t c = cs[ox]; c < ce[ox]; c += g.dw) {                        \
                        T v = in[iy * g.w + c];                                              \
                        if (v > mx || v != v) mx = v, best = iy * g.w + c;                   \
                    }                                                                        \
                o[ox] = mx;                                                                  \
                ix[ox] = best;                                                               \
            }                                                                                \
            if (lo >= hi) continue;                                                          \
            for (int64_t ox = lo; ox < hi; ox++) {                                           \
                o[ox] = -INFINITY;                                                           \
                ix[ox] = y0 * g.w + cs[ox];                                                  \
            }                                                                                \
            for (int64_t iy = y0; iy < y1; iy += g.dh)                                       \
                for (int64_t kx = 0; kx < g.kw; kx++) {                                      \
                    int64_t off = iy * g.w + kx * g.dw - g.pw;                               \
                    const T *row = in + off;                                                 \
                    for (int64_t ox = lo; ox < hi; ox++) {                                   \
                        T v = row[ox * g.sw], m = o[ox];                                     \
                        int take = v > m || v != v;                                          \
                        o[ox] = take ? v : m;                                                \
                        ix[ox] = take ? off + ox * g.sw : ix[ox];                            \
                    }                                                                        \
                }                                                                            \
        }                                                                                    \
    }
PA_MAX_POOL_PLANE(max_pool_plane_f32, float)
PA_MAX_POOL_PLANE(max_pool_plane_f64, double)

/* Values and flat argmax indices of every plane; adaptive selects the windows. */
static int max_pool_forward(const pool_geom *g, int adaptive, const pa_tensor *x, pa_tensor *y,
                            pa_tensor *idx) {
    int64_t *win = max_pool_windows(g, adaptive);
    PA_CHECK_OOM(win);
    int64_t lo = 0, hi = 0;  /* the columns whose window is whole and inside the input */
    if (!adaptive) {
        int64_t last = g->w - 1 - (g->kw - 1) * g->dw + g->pw;
        lo = (g->pw + g->sw - 1) / g->sw;
        hi = last < 0 ? 0 : last / g->sw + 1;
        if (hi > g->ow) hi = g->ow;
        if (hi < lo) hi = lo;
    }
    int64_t taps = adaptive ? (g->h / g->oh + 1) * (g->w / g->ow + 1) : g->kh * g->kw;
    int nt = pa_threads_for_elements(g->planes * g->oh * g->ow * taps);
    int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;
    int64_t *is = (int64_t *)idx->data;
    if (x->dtype == PA_FLOAT32) {
        const float *xs = (const float *)x->data;
        float *ys = (float *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g->planes; p++)
            max_pool_plane_f32(xs + p * in_plane, ys + p * out_plane, is + p * out_plane, g, win, lo, hi););
    } else {
        const double *xs = (const double *)x->data;
        double *ys = (double *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g->planes; p++)
            max_pool_plane_f64(xs + p * in_plane, ys + p * out_plane, is + p * out_plane, g, win, lo, hi););
    }
    free(win);
    return PA_OK;
}

/* The pooled values of input (geometry g) and their indices; records a node of kind op. */
static int max_pool_run(pa_tensor *input, const pool_geom *g, int adaptive, int op, pa_tensor **out,
                        pa_tensor **indices) {
    pa_tensor *x = pa_contiguous_nograd(input);
    PA_CHECK_OOM(x);
    pa_tensor *y = pooled_like(input, g->oh, g->ow, input->dtype);
    pa_tensor *idx = y ? pooled_like(input, g->oh, g->ow, PA_INT64) : NULL;
    int rc = idx ? max_pool_forward(g, adaptive, x, y, idx) : PA_ERR_MEMORY;
    pa_tensor_release(x);
    if (rc) {
        pa_tensor_release(y);
        pa_tensor_release(idx);
        return rc;
    }
    *out = y;
    if (pa_needs_grad(1, &input)) {
        pa_node *node = pa_node_new(op, 1, &input, y);
        rc = node ? pa_node_save(node, 0, idx) : PA_ERR_MEMORY;
        if (node) geom_to_node(g, node);
    }
    if (!rc && indices) {
        *indices = idx;
        return PA_OK;
    }
    pa_tensor_release(idx);
    return rc ? pa_layer_fail(rc, out) : PA_OK;
}

int pa_max_pool2d(pa_tensor *input, int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                  int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dilation_h,
                  int64_t dilation_w, int ceil_mode, pa_tensor **out, pa_tensor **indices) {
    int64_t prm[8] = {kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w};
    pool_geom g;
    TRY(window_geom("max_pool2d", input, prm, ceil_mode, &g));
    return max_pool_run(input, &g, 0, PA_OP_MAX_POOL2D, out, indices);
}

int pa_adaptive_max_pool2d(pa_tensor *input, int64_t out_h, int64_t out_w, pa_tensor **out,
                           pa_tensor **indices) {
    pool_geom g = {0};
    TRY(plane_dims("adaptive_max_pool2d", input, &g));
    if (out_h < 1 || out_w < 1 || out_h > INT32_MAX || out_w > INT32_MAX)
        return pa_error(PA_ERR_VALUE, "adaptive_max_pool2d: output_size must be in [1, %d], got "
                        "(%lld, %lld)", INT32_MAX, (long long)out_h, (long long)out_w);
    g.oh = out_h, g.ow = out_w;
    g.dh = g.dw = 1;
    return max_pool_run(input, &g, 1, PA_OP_ADAPTIVE_MAX_POOL2D, out, indices);
}

/* The gradient of either max pool: each output's gradient added at its saved index. */
int pa_backward_MAX_POOL2D(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pool_geom g;
    geom_from_node(node, &g);
    const pa_meta *m = &node->next[0].meta;
    pa_tensor *gy, *gx = pa_tensor_new(m->ndim, m->shape, m->dtype);
    TRY(pa_contiguous_with(grad, gx, &gy));
    const int64_t *is = (const int64_t *)node->saved[0]->data;
    int nt = pa_threads_for_elements(g.planes * g.h * g.w);
    PA_DISPATCH_FLOAT(m->dtype, T, {
        const T *gs = (const T *)gy->data;
        T *xs = (T *)gx->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++) {
            T *plane = xs + p * g.h * g.w;
            for (int64_t k = 0; k < g.h * g.w; k++) plane[k] = 0;
            for (int64_t k = p * g.oh * g.ow; k < (p + 1) * g.oh * g.ow; k++) plane[is[k]] += gs[k];
        });
    });
    pa_tensor_release(gy);
    grads[0] = gx;
    return PA_OK;
}

int pa_backward_ADAPTIVE_MAX_POOL2D(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    return pa_backward_MAX_POOL2D(node, grad, grads);
}

/* ---- avg_pool2d ---------------------------------------------------------------- */
/* The window of output (oy, ox) clipped to the input, and the divisor PyTorch uses. */
typedef struct {
    int64_t y0, y1, x0, x1;
    double divisor;
} avg_window;

static avg_window avg_window_at(const pool_geom *g, int64_t oy, int64_t ox, int count_include_pad,
                                int64_t divisor_override) {
    avg_window a;
    a.y0 = oy * g->sh - g->ph, a.x0 = ox * g->sw - g->pw;
    a.y1 = a.y0 + g->kh, a.x1 = a.x0 + g->kw;
    if (a.y1 > g->h + g->ph) a.y1 = g->h + g->ph;
    if (a.x1 > g->w + g->pw) a.x1 = g->w + g->pw;
    int64_t padded = (a.y1 - a.y0) * (a.x1 - a.x0);
    if (a.y0 < 0) a.y0 = 0;
    if (a.x0 < 0) a.x0 = 0;
    if (a.y1 > g->h) a.y1 = g->h;
    if (a.x1 > g->w) a.x1 = g->w;
    a.divisor = divisor_override ? (double)divisor_override
                : count_include_pad ? (double)padded : (double)((a.y1 - a.y0) * (a.x1 - a.x0));
    return a;
}

int pa_avg_pool2d(pa_tensor *input, int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                  int64_t stride_w, int64_t pad_h, int64_t pad_w, int ceil_mode,
                  int count_include_pad, int64_t divisor_override, pa_tensor **out) {
    int64_t prm[8] = {kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, 1, 1};
    pool_geom g;
    TRY(window_geom("avg_pool2d", input, prm, ceil_mode, &g));
    if (divisor_override < 0)
        return pa_error(PA_ERR_VALUE, "avg_pool2d: divisor_override must be positive, got %lld",
                        (long long)divisor_override);
    pa_tensor *x, *y = pooled_like(input, g.oh, g.ow, input->dtype);
    TRY(pa_contiguous_with(input, y, &x));
    int nt = pa_threads_for_elements(g.planes * g.oh * g.ow * g.kh * g.kw);
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data;
        T *ys = (T *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++)
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    avg_window a = avg_window_at(&g, oy, ox, count_include_pad, divisor_override);
                    T s = 0;
                    for (int64_t iy = a.y0; iy < a.y1; iy++)
                        for (int64_t ix = a.x0; ix < a.x1; ix++) s += xs[(p * g.h + iy) * g.w + ix];
                    ys[(p * g.oh + oy) * g.ow + ox] = a.y0 < a.y1 && a.x0 < a.x1 ? (T)(s / (T)a.divisor) : 0;
                });
    });
    pa_tensor_release(x);
    *out = y;
    if (!pa_needs_grad(1, &input)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_AVG_POOL2D, 1, &input, y);
    if (!node) return pa_layer_fail(PA_ERR_MEMORY, out);
    geom_to_node(&g, node);
    node->iarg[8] = count_include_pad;
    node->iarg[9] = divisor_override;
    return PA_OK;
}

int pa_backward_AVG_POOL2D(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    pool_geom g;
    geom_from_node(node, &g);
    int count_include_pad = (int)node->iarg[8];
    int64_t divisor_override = node->iarg[9];
    const pa_meta *m = &node->next[0].meta;
    pa_tensor *gy, *gx = pa_tensor_new(m->ndim, m->shape, m->dtype);
    TRY(pa_contiguous_with(grad, gx, &gy));
    int nt = pa_threads_for_elements(g.planes * g.oh * g.ow * g.kh * g.kw);
    PA_DISPATCH_FLOAT(m->dtype, T, {
        const T *gs = (const T *)gy->data;
        T *xs = (T *)gx->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++) {
            T *plane = xs + p * g.h * g.w;
            for (int64_t k = 0; k < g.h * g.w; k++) plane[k] = 0;
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    avg_window a = avg_window_at(&g, oy, ox, count_include_pad, divisor_override);
                    T v = gs[(p * g.oh + oy) * g.ow + ox] / (T)a.divisor;
                    for (int64_t iy = a.y0; iy < a.y1; iy++)
                        for (int64_t ix = a.x0; ix < a.x1; ix++) plane[iy * g.w + ix] += v;
                }
        });
    });
    pa_tensor_release(gy);
    grads[0] = gx;
    return PA_OK;
}

/* ---- adaptive_avg_pool2d ------------------------------------------------------- */
/* NOTE: to (1, 1) (a global average) the window loop summed each plane one element at a
 * time: 124 us for float32 (32, 64, 16, 16) at 2 threads against torch's 19 (a mean
 * over the last two dims).  A plane is summed instead in 16 interleaved partial sums
 * (in T, at most 256 terms each before they are added into a double; double partials
 * took 32-34 us), which vectorise: 24-25 us. */
#define PLANE_SUM(T)                                                                      \
    static inline __attribute__((always_inline)) double chunk_sum_##T(const T *x, int64_t n) { \
        T part[16] = {0};                                                                 \
        double s = 0;                                                                     \
        int64_t i = 0;                                                                    \
        for (; i + 16 <= n; i += 16)                                                      \
            for (int j = 0; j < 16; j++) part[j] += x[i + j];                             \
        for (; i < n; i++) s += (double)x[i];                                             \
        for (int j = 0; j < 16; j++) s += (double)part[j];                                \
        return s;                                                                         \
    }                                                                                     \
    PA_CLONES static double plane_sum_##T(const T *x, int64_t n) {                        \
        if (n <= 4096) return chunk_sum_##T(x, n);                                        \
        double s = 0;                         /* at most 256 terms per partial */         \
        for (int64_t c = 0; c < n; c += 4096) s += chunk_sum_##T(x + c, n - c < 4096 ? n - c : 4096); \
        return s;                                                                         \
    }
PLANE_SUM(float)
PLANE_SUM(double)


int pa_adaptive_avg_pool2d(pa_tensor *input, int64_t out_h, int64_t out_w, pa_tensor **out) {
    pool_geom g;
    TRY(plane_dims("adaptive_avg_pool2d", input, &g));
    if (out_h < 1 || out_w < 1 || out_h > INT32_MAX || out_w > INT32_MAX)
        return pa_error(PA_ERR_VALUE, "adaptive_avg_pool2d: output_size must be in [1, %d], got "
                        "(%lld, %lld)", INT32_MAX, (long long)out_h, (long long)out_w);
    g.oh = out_h, g.ow = out_w;
    pa_tensor *x, *y = pooled_like(input, g.oh, g.ow, input->dtype);
    TRY(pa_contiguous_with(input, y, &x));
    int nt = pa_threads_for_elements(g.planes * g.h * g.w);
    int64_t hw = g.h * g.w;
    if (g.oh == 1 && g.ow == 1 && x->dtype == PA_FLOAT32) {
        const float *xs = (const float *)x->data;
        float *ys = (float *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++)
            ys[p] = (float)(plane_sum_float(xs + p * hw, hw) / (double)hw););
    } else if (g.oh == 1 && g.ow == 1) {
        const double *xs = (const double *)x->data;
        double *ys = (double *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++)
            ys[p] = plane_sum_double(xs + p * hw, hw) / (double)hw;);
    } else PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data;
        T *ys = (T *)y->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++)
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    int64_t y0 = adaptive_start(oy, g.oh, g.h), y1 = adaptive_end(oy, g.oh, g.h);
                    int64_t x0 = adaptive_start(ox, g.ow, g.w), x1 = adaptive_end(ox, g.ow, g.w);
                    T s = 0;
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++) s += xs[(p * g.h + iy) * g.w + ix];
                    ys[(p * g.oh + oy) * g.ow + ox] = s / (T)((y1 - y0) * (x1 - x0));
                });
    });
    pa_tensor_release(x);
    *out = y;
    if (!pa_needs_grad(1, &input)) return PA_OK;
    return pa_node_new(PA_OP_ADAPTIVE_AVG_POOL2D, 1, &input, y) ? PA_OK
                                                                : pa_layer_fail(PA_ERR_MEMORY, out);
}

int pa_backward_ADAPTIVE_AVG_POOL2D(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    const pa_meta *m = &node->next[0].meta;
    int64_t planes = m->shape[0] * (m->ndim == 4 ? m->shape[1] : 1);
    int64_t h = m->shape[m->ndim - 2], w = m->shape[m->ndim - 1];
    int64_t oh = node->out.shape[m->ndim - 2], ow = node->out.shape[m->ndim - 1];
    pa_tensor *gy, *gx = pa_tensor_new(m->ndim, m->shape, m->dtype);
    TRY(pa_contiguous_with(grad, gx, &gy));
    int nt = pa_threads_for_elements(planes * h * w);
    PA_DISPATCH_FLOAT(m->dtype, T, {
        const T *gs = (const T *)gy->data;
        T *xs = (T *)gx->data;
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < planes; p++) {
            T *plane = xs + p * h * w;
            if (oh == 1 && ow == 1) {   /* a global average: every element gets the same share */
                T v = gs[p] / (T)(h * w);
                for (int64_t k = 0; k < h * w; k++) plane[k] = v;
                continue;
            }
            for (int64_t k = 0; k < h * w; k++) plane[k] = 0;
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    int64_t y0 = adaptive_start(oy, oh, h), y1 = adaptive_end(oy, oh, h);
                    int64_t x0 = adaptive_start(ox, ow, w), x1 = adaptive_end(ox, ow, w);
                    T v = gs[(p * oh + oy) * ow + ox] / (T)((y1 - y0) * (x1 - x0));
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++) plane[iy * w + ix] += v;
                }
        });
    });
    pa_tensor_release(gy);
    grads[0] = gx;
    return PA_OK;
}
