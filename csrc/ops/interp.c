/* Linear interpolation (linear / bilinear / trilinear over the spatial dims of (N, C, ...)),
 * forward and backward side by side.
 *
 * Each output position along a resized dim maps to two source positions and weights,
 * computed once per dim with ATen's coordinate rules; the kernel runs over output rows
 * of the last dim.  Gradients are accumulated into the source positions plane by plane
 * (one thread per (n, c) plane, a fixed order inside it), so they are the same for any
 * thread count.
 *
 * NOTE: composed of two index_selects and multiply-adds per dim, linear x2 of float32
 * (32, 64, 256) took 1190 us at 2 threads (torch 2.13: 450 us); this op takes 430-450 us,
 * bilinear x2 of (32, 64, 16, 16) 1420-1490 us (torch 2870-3300), forward + backward
 * 4.2 ms (torch 9.5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/parallel.h"
#include "layer_util.h"

/* ---- linear interpolation --------------------------------------------------------- */
typedef struct {
    int k;                                   /* spatial dims, 1..3 */
    int64_t planes;                          /* N * C */
    int64_t n[3], m[3];                      /* input / output sizes */
    int64_t *i0[3], *i1[3];                  /* source indices */
    void *l0[3], *l1[3];                     /* weights, in the input's float type */
    void *buf;
} interp_geom;

/* ATen's source indices and weights (compute_source_index_and_lambda), in T: scale
 * 1 / scale_factor when one was given (> 0), else in / out; with align_corners
 * (in - 1) / (out - 1); the identity when the sizes agree. */
#define INTERP_WEIGHTS(T)                                                                       \
    static void interp_weights_##T(int64_t n, int64_t m, double scale, int align_corners,      \
                                   int64_t *i0, int64_t *i1, T *l0, T *l1) {                   \
        T s = align_corners ? (m > 1 ? (T)(n - 1) / (T)(m - 1) : (T)0)                          \
                            : scale > 0 ? (T)(1.0 / scale) : (T)n / (T)m;                       \
        for (int64_t o = 0; o < m; o++) {                                                      \
            if (n == m) {                                                                      \
                i0[o] = i1[o] = o, l0[o] = 1, l1[o] = 0;                                       \
                continue;                                                                      \
            }                                                                                  \
            T src = align_corners ? s * (T)o : s * ((T)o + (T)0.5) - (T)0.5;                   \
            if (src < 0) src = 0;                                                              \
            int64_t i = (int64_t)floor((double)src);                                           \
            if (i > n - 1) i = n - 1;                                                          \
            T lam = src - (T)i;                                                                \
            lam = lam < 0 ? 0 : lam > 1 ? 1 : lam;                                             \
            i0[o] = i, i1[o] = i + (i < n - 1), l1[o] = lam, l0[o] = (T)1 - lam;               \
        }                                                                                      \
    }
INTERP_WEIGHTS(float)
INTERP_WEIGHTS(double)

static int interp_setup(const int64_t *shape, int ndim, int dtype, int k, const int64_t *out_size,
                        const double *scales, int align_corners, interp_geom *g) {
    g->k = k;
    g->planes = shape[0] * shape[1];
    int64_t total = 0;
    for (int d = 0; d < k; d++) g->n[d] = shape[2 + d], g->m[d] = out_size[d], total += out_size[d];
    (void)ndim;
    size_t es = dtype == PA_FLOAT32 ? sizeof(float) : sizeof(double);
    g->buf = NULL;
    if (g->planes == 0) return PA_OK;   /* nothing to interpolate (the sizes may be huge) */
    g->buf = malloc((size_t)(total ? total : 1) * (2 * sizeof(int64_t) + 2 * es));
    if (!g->buf) return pa_error(PA_ERR_MEMORY, "interpolate: out of memory");
    char *p = g->buf;
    for (int d = 0; d < k; d++) {
        int64_t m = g->m[d];
        g->i0[d] = (int64_t *)p, p += m * sizeof(int64_t);
        g->i1[d] = (int64_t *)p, p += m * sizeof(int64_t);
        g->l0[d] = p, p += m * es;
        g->l1[d] = p, p += m * es;
        if (dtype == PA_FLOAT32)
            interp_weights_float(g->n[d], m, scales[d], align_corners, g->i0[d], g->i1[d], g->l0[d], g->l1[d]);
        else
            interp_weights_double(g->n[d], m, scales[d], align_corners, g->i0[d], g->i1[d], g->l0[d], g->l1[d]);
    }
    return PA_OK;
}

/* For output row r of a plane (the spatial dims but the last): the input row offsets of
 * its 2^(k-1) corners, and the weights of dims 0 (a) and 1 (b). */
#define INTERP_ROW(T, g, r, rows, wa, wb)                                                        \
    int64_t rows[4] = {0, 0, 0, 0};                                                              \
    T wa[2] = {1, 0}, wb[2] = {1, 0};                                                            \
    if ((g).k == 2) {                                                                            \
        rows[0] = (g).i0[0][r] * (g).n[1], rows[1] = (g).i1[0][r] * (g).n[1];                    \
        wa[0] = ((T *)(g).l0[0])[r], wa[1] = ((T *)(g).l1[0])[r];                                \
    } else if ((g).k == 3) {                                                                     \
        int64_t od_ = (r) / (g).m[1], oh_ = (r) % (g).m[1];                                      \
        int64_t d0_ = (g).i0[0][od_], d1_ = (g).i1[0][od_];                                      \
        int64_t h0_ = (g).i0[1][oh_], h1_ = (g).i1[1][oh_];                                      \
        rows[0] = (d0_ * (g).n[1] + h0_) * (g).n[2], rows[1] = (d0_ * (g).n[1] + h1_) * (g).n[2]; \
        rows[2] = (d1_ * (g).n[1] + h0_) * (g).n[2], rows[3] = (d1_ * (g).n[1] + h1_) * (g).n[2]; \
        wa[0] = ((T *)(g).l0[0])[od_], wa[1] = ((T *)(g).l1[0])[od_];                            \
        wb[0] = ((T *)(g).l0[1])[oh_], wb[1] = ((T *)(g).l1[1])[oh_];                            \
    }

int pa_upsample_linear(pa_tensor *input, int n_dims, const int64_t *out_size, const double *scales,
                       int align_corners, pa_tensor **out) {
    char b[128];
    if (!input || !out_size || !scales || !out)
        return pa_error(PA_ERR_VALUE, "interpolate: invalid argument: NULL pointer");
    TRY(pa_layer_check_float("interpolate", "input", input, -1));
    if (n_dims < 1 || n_dims > 3 || input->ndim != n_dims + 2)
        return pa_error(PA_ERR_VALUE, "interpolate: linear interpolation over %d dims expects a %d-d input "
                        "(N, C, ...), got shape %s", n_dims, n_dims + 2, PA_SHAPE_STR(input, b));
    int64_t shape[5] = {input->shape[0], input->shape[1], 0, 0, 0};
    for (int d = 0; d < n_dims; d++) {
        if (input->shape[2 + d] < 1 || out_size[d] < 1 || out_size[d] > PA_MAX_NUMEL)
            return pa_error(PA_ERR_VALUE, "Input and output sizes should be greater than 0, but got input (%lld) "
                            "and output (%lld)", (long long)input->shape[2 + d], (long long)out_size[d]);
        shape[2 + d] = out_size[d];
    }
    if (pa_checked_numel(input->ndim, shape) < 0)
        return pa_error(PA_ERR_VALUE, "interpolate: the output would be too large");
    interp_geom g;
    TRY(interp_setup(input->shape, input->ndim, input->dtype, n_dims, out_size, scales, align_corners, &g));
    pa_tensor *x, *y = pa_tensor_new(input->ndim, shape, input->dtype);
    int rc = pa_contiguous_with(input, y, &x);
    if (rc) {
        free(g.buf);
        return rc;
    }
    int k = n_dims;
    int64_t w = g.m[k - 1], rows = 1, in_plane = 1;  /* output rows and input size per plane */
    for (int d = 0; d < k - 1; d++) rows *= g.m[d];
    for (int d = 0; d < k; d++) in_plane *= g.n[d];
    int nt = pa_threads_for_elements(y->numel * 4);
    PA_DISPATCH_FLOAT(x->dtype, T, {
        const T *xs = (const T *)x->data;
        T *ys = (T *)y->data;
        const int64_t *c0 = g.i0[k - 1], *c1 = g.i1[k - 1];
        const T *w0 = (const T *)g.l0[k - 1], *w1 = (const T *)g.l1[k - 1];
        PA_PARALLEL_FOR(nt, for (int64_t pr = 0; pr < g.planes * rows; pr++) {
            int64_t p = pr / rows, r = pr % rows;
            INTERP_ROW(T, g, r, ro, wa, wb);
            const T *xp = xs + p * in_plane;
            T *yr = ys + pr * w;
            if (k == 1) {
                for (int64_t o = 0; o < w; o++) yr[o] = xp[c0[o]] * w0[o] + xp[c1[o]] * w1[o];
            } else if (k == 2) {
                const T *a = xp + ro[0], *bb = xp + ro[1];
                for (int64_t o = 0; o < w; o++)
                    yr[o] = (a[c0[o]] * w0[o] + a[c1[o]] * w1[o]) * wa[0] +
                            (bb[c0[o]] * w0[o] + bb[c1[o]] * w1[o]) * wa[1];
            } else {
                const T *a = xp + ro[0], *bb = xp + ro[1], *c = xp + ro[2], *d = xp + ro[3];
                for (int64_t o = 0; o < w; o++)
                    yr[o] = ((a[c0[o]] * w0[o] + a[c1[o]] * w1[o]) * wb[0] +
                             (bb[c0[o]] * w0[o] + bb[c1[o]] * w1[o]) * wb[1]) * wa[0] +
                            ((c[c0[o]] * w0[o] + c[c1[o]] * w1[o]) * wb[0] +
                             (d[c0[o]] * w0[o] + d[c1[o]] * w1[o]) * wb[1]) * wa[1];
            }
        });
    });
    pa_tensor_release(x);
    free(g.buf);
    *out = y;
    if (!pa_needs_grad(1, &input)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_UPSAMPLE_LINEAR, 1, &input, y);
    if (!node) return pa_layer_fail(PA_ERR_MEMORY, out);
    node->iarg[0] = n_dims;
    node->iarg[1] = align_corners;
    for (int d = 0; d < n_dims; d++) node->farg[d] = scales[d];
    return PA_OK;
}

int pa_backward_UPSAMPLE_LINEAR(pa_node *node, pa_tensor *grad, pa_tensor **grads) {
    const pa_meta *mt = &node->next[0].meta;
    int k = (int)node->iarg[0], align_corners = (int)node->iarg[1];
    interp_geom g;
    TRY(interp_setup(mt->shape, mt->ndim, mt->dtype, k, node->out.shape + 2, node->farg, align_corners, &g));
    pa_tensor *gy, *gx = pa_tensor_new(mt->ndim, mt->shape, mt->dtype);
    int rc = pa_contiguous_with(grad, gx, &gy);
    if (rc) {
        free(g.buf);
        return rc;
    }
    int64_t w = g.m[k - 1], rows = 1, in_plane = 1;
    for (int d = 0; d < k - 1; d++) rows *= g.m[d];
    for (int d = 0; d < k; d++) in_plane *= g.n[d];
    int nt = pa_threads_for_elements(gy->numel * 4);
    PA_DISPATCH_FLOAT(mt->dtype, T, {
        const T *gs = (const T *)gy->data;
        T *xs = (T *)gx->data;
        const int64_t *c0 = g.i0[k - 1], *c1 = g.i1[k - 1];
        const T *w0 = (const T *)g.l0[k - 1], *w1 = (const T *)g.l1[k - 1];
        PA_PARALLEL_FOR(nt, for (int64_t p = 0; p < g.planes; p++) {
            T *xp = xs + p * in_plane;
            memset(xp, 0, (size_t)in_plane * sizeof(T));
            for (int64_t r = 0; r < rows; r++) {
                INTERP_ROW(T, g, r, ro, wa, wb);
                const T *gr = gs + (p * rows + r) * w;
                int nc = 1 << (k - 1);
                for (int c = 0; c < nc; c++) {
                    T rw = k == 1 ? (T)1 : k == 2 ? wa[c] : wa[c >> 1] * wb[c & 1];
                    T *xr = xp + ro[c];
                    for (int64_t o = 0; o < w; o++) {
                        T v = rw * gr[o];
                        xr[c0[o]] += w0[o] * v;
                        xr[c1[o]] += w1[o] * v;
                    }
                }
            }
        });
    });
    pa_tensor_release(gy);
    free(g.buf);
    grads[0] = gx;
    return PA_OK;
}
