/* Indexing along one dim with an index tensor: gather (and take_along_dim), scatter /
 * scatter_add / scatter_reduce, and index_add / index_copy / index_fill (a 1-d index,
 * broadcast over the other dims, is the same walk), forward and backward side by side,
 * over one kernel; and the flat positions of a bool mask (x[mask]). */
#include <stdlib.h>

#include "../kernels/parallel.h"
#include "loops.h"

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

/* ---- the walk ------------------------------------------------------------------ */
/* Three operands share the iteration shape of the index: T, read (gather) or written
 * (scatter) at the index's value along dim; P, the other side (gather's output,
 * scatter's source), at the iteration's own position; X, the index.  The dims other
 * than `dim` are split into `outer` (decomposed once per work item) and `inner` (one
 * stride), or all go to `outer` when the inner ones do not collapse into one stride. */
enum { OP_T, OP_P, OP_X, N_OPS };

typedef struct {
    int nouter;
    int64_t oshape[PA_MAX_DIMS];
    int64_t ostride[N_OPS][PA_MAX_DIMS];
    int64_t outer, n, inner, size;        /* size: T's extent along dim (negative wrap) */
    int64_t dstride[N_OPS], istride[N_OPS];
} walk;

/* Whether dims [from, ndim) of shape collapse into one stride for `strides` (size-1
 * dims ignored); the stride (of the last dim that is not size 1) in *out. */
static bool collapses(int ndim, const int64_t *shape, const int64_t *strides, int from, int64_t *out) {
    int64_t expect = 0;
    bool any = false;
    *out = 0;
    for (int k = ndim - 1; k >= from; k--) {
        if (shape[k] == 1) continue;
        if (any && strides[k] != expect) return false;
        if (!any) *out = strides[k];
        any = true;
        expect = strides[k] * shape[k];
    }
    return true;
}

static void walk_init(walk *w, int ndim, const int64_t *shape, int d, int64_t size,
                      const int64_t *const *strides) {
    w->size = size;
    w->n = shape[d];
    w->inner = 1;
    bool inner_ok = true;
    for (int o = 0; o < N_OPS; o++) {
        w->dstride[o] = strides[o][d];
        inner_ok = inner_ok && collapses(ndim, shape, strides[o], d + 1, &w->istride[o]);
    }
    if (inner_ok)
        for (int k = d + 1; k < ndim; k++) w->inner *= shape[k];
    else
        for (int o = 0; o < N_OPS; o++) w->istride[o] = 0;
    w->nouter = 0;
    w->outer = 1;
    for (int k = 0; k < ndim; k++) {
        if (k == d || (k > d && inner_ok) || shape[k] == 1) continue;
        w->oshape[w->nouter] = shape[k];
        for (int o = 0; o < N_OPS; o++) w->ostride[o][w->nouter] = strides[o][k];
        w->nouter++;
        w->outer *= shape[k];
    }
    for (int k = 0; k < ndim; k++)
        if (shape[k] == 0) w->outer = 0;
}

static inline void walk_offsets(const walk *w, int64_t q, int64_t *off) {
    off[0] = off[1] = off[2] = 0;
    for (int k = w->nouter - 1; k >= 0; k--) {
        int64_t c = q % w->oshape[k];
        q /= w->oshape[k];
        for (int o = 0; o < N_OPS; o++) off[o] += c * w->ostride[o][k];
    }
}

/* Besides PA_SCATTER_COPY / ADD / FILL: gather, and scatter_reduce's other reductions
 * (COUNT adds 1 per index: how many values a position received). */
enum { MODE_GATHER = -1, MODE_PROD = -2, MODE_AMAX = -3, MODE_AMIN = -4, MODE_COUNT = -5 };

/* NOTE: work items are (outer index, chunk of inner) pairs: every element of T that a
 * scatter writes is reached from one such pair only, and within it the index is walked
 * in order, so repeated indices resolve (last write wins; sums in index order, PyTorch's
 * CPU order) the same for any thread count.  Chunks split `inner` when `outer` alone is
 * too short to share among the threads (dim 0 of a matrix: outer is 1). */
#define WALK_LOOP(T, BODY)                                                                   \
    do {                                                                                     \
        int64_t chunk_ = w->inner, nchunks_;                                                 \
        if (nt > 1 && w->outer < 4 * nt) {                                                   \
            chunk_ = (w->inner + 4 * nt - 1) / (4 * nt);                                     \
            chunk_ = (chunk_ + 63) / 64 * 64;                                                \
        }                                                                                    \
        if (chunk_ < 1) chunk_ = 1;                                                          \
        nchunks_ = (w->inner + chunk_ - 1) / chunk_;                                         \
        int64_t items_ = w->outer * nchunks_;                                                \
        PA_PARALLEL_FOR(nt, for (int64_t it_ = 0; it_ < items_; it_++) {                     \
            int64_t off_[N_OPS];                                                             \
            walk_offsets(w, it_ / nchunks_, off_);                                           \
            int64_t k0_ = it_ % nchunks_ * chunk_;                                           \
            int64_t k1_ = k0_ + chunk_ < w->inner ? k0_ + chunk_ : w->inner;                 \
            T *t_ = (T *)tdata + off_[OP_T];                                                 \
            T *p_ = (T *)pdata + off_[OP_P];                                                 \
            const int64_t *x_ = xdata + off_[OP_X];                                          \
            const int64_t dt_ = w->dstride[OP_T],                                            \
                          dp_ = w->dstride[OP_P], dx_ = w->dstride[OP_X];                    \
            const int64_t it_s = w->istride[OP_T],                                           \
                          ip_s = w->istride[OP_P], ix_s = w->istride[OP_X];                  \
            const int64_t size_ = w->size;                                                   \
            if (w->inner == 1 && dx_ == 1 && dp_ == 1 && dt_ == 1) {  /* the last dim */     \
                for (int64_t i_ = 0; i_ < w->n; i_++) {                                      \
                    int64_t j_ = x_[i_];                                                     \
                    if (j_ < 0) j_ += size_;                                                 \
                    T *tp = t_ + j_;                                                         \
                    T *pp = p_ + i_;                                                         \
                    (void)pp; BODY;                                                          \
                }                                                                            \
                continue;                                                                    \
            }                                                                                \
            if (w->inner == 1) { /* one element per index: no row loop */                    \
                for (int64_t i_ = 0; i_ < w->n; i_++) {                                      \
                    int64_t j_ = x_[i_ * dx_];                                               \
                    if (j_ < 0) j_ += size_;                                                 \
                    T *tp = t_ + j_ * dt_;                                                   \
                    T *pp = p_ + i_ * dp_;                                                   \
                    (void)pp; BODY;                                                          \
                }                                                                            \
                continue;                                                                    \
            }                                                                                \
            for (int64_t i_ = 0; i_ < w->n; i_++) {                                          \
                const int64_t *xi_ = x_ + i_ * dx_;                                          \
                T *pi_ = p_ + i_ * dp_;                                                      \
                if (ix_s == 0) { /* one index for the whole row: a row copy / add */         \
                    int64_t j_ = xi_[0] < 0 ? xi_[0] + size_ : xi_[0];                       \
                    T *tj_ = t_ + j_ * dt_;                                                  \
                    if (it_s == 1 && ip_s == 1) {                                            \
                        for (int64_t k_ = k0_; k_ < k1_; k_++) {                             \
                            T *tp = tj_ + k_;                                                \
                            T *pp = pi_ + k_;                                                \
                            (void)pp; BODY;                                                  \
                        }                                                                    \
                    } else {                                                                 \
                        for (int64_t k_ = k0_; k_ < k1_; k_++) {                             \
                            T *tp = tj_ + k_ * it_s;                                         \
                            T *pp = pi_ + k_ * ip_s;                                         \
                            (void)pp; BODY;                                                  \
                        }                                                                    \
                    }                                                                        \
                } else {                                                                     \
                    for (int64_t k_ = k0_; k_ < k1_; k_++) {                                 \
                        int64_t j_ = xi_[k_ * ix_s];                                         \
                        if (j_ < 0) j_ += size_;                                             \
                        T *tp = t_ + j_ * dt_ + k_ * it_s;                                   \
                        T *pp = pi_ + k_ * ip_s;                                             \
                        (void)pp; BODY;                                                      \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        });                                                                                  \
    } while (0)

/* Runs the walk: mode MODE_GATHER copies T[index] to P; the scatter modes write P (or
 * `value`) to T[index], adding alpha * P for ADD.  Indices were checked. */
static void walk_run(const walk *w, int mode, int dtype, char *tdata, char *pdata,
                     const int64_t *xdata, double value, double alpha) {
    int nt = pa_threads_for_elements(w->outer * w->n * w->inner);
    if (mode == MODE_GATHER) {
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, *pp = *tp); });
    } else if (mode == PA_SCATTER_COPY) {
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, *tp = *pp); });
    } else if (mode == PA_SCATTER_FILL) {
        if (dtype == PA_BOOL) value = value != 0;
        PA_DISPATCH_ALL(dtype, T, { const T v = (T)value; WALK_LOOP(T, *tp = v); });
    } else if (mode == MODE_COUNT) {
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, *tp = (T)(*tp + 1)); });
    } else if (mode == MODE_PROD) {  /* (bool: and) */
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, *tp = (T)(*tp * *pp)); });
    } else if (mode == MODE_AMAX) {
        /* NOTE: a NaN wins, as PyTorch's (`v != v`); a NaN already there stays, since no
         * comparison with it is true.  The store is unconditional so that the choice
         * compiles to a select: a branch on random data mispredicts half the time. */
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, { T v = *pp; T c = *tp; *tp = v != v || c < v ? v : c; }); });
    } else if (mode == MODE_AMIN) {
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, { T v = *pp; T c = *tp; *tp = v != v || v < c ? v : c; }); });
    } else if (dtype == PA_BOOL) {
        WALK_LOOP(uint8_t, *tp = (uint8_t)(*tp | *pp));
    } else if (alpha == 1) {
        PA_DISPATCH_ALL(dtype, T, { WALK_LOOP(T, *tp = *tp + *pp); });
    } else {
        PA_DISPATCH_ALL(dtype, T, { const T al = (T)alpha; WALK_LOOP(T, *tp = *tp + *pp * al); });
    }
}

/* ---- checks -------------------------------------------------------------------- */
/* Whether every element of the int64 tensor ic (contiguous) is in [lo, size). */
static bool all_in_range(const pa_tensor *ic, int64_t lo, int64_t size) {
    const int64_t *v = (const int64_t *)ic->data;
    int64_t n = ic->numel;
    /* NOTE: branch-free and threaded (one unsigned compare per index); the branchy scan
     * took 0.2 ms of gather(1, (1024, 512) index)'s 0.5 ms, 2 threads. */
    uint64_t span = (uint64_t)(size - lo);
    int nt = pa_threads_for_elements(n / 4);
    int bad = 0;
    if (nt > 1) {
        PA_PRAGMA(omp parallel for num_threads(nt) schedule(static) reduction(|:bad))
        for (int64_t i = 0; i < n; i++) bad |= (uint64_t)v[i] - (uint64_t)lo >= span;
    } else {
        for (int64_t i = 0; i < n; i++) bad |= (uint64_t)v[i] - (uint64_t)lo >= span;
    }
    return !bad;
}

/* Every element of ic in [-size, size) (negative allowed) or [0, size); else error
 * `code` (IndexError; RuntimeError where PyTorch's op raises one) naming op and the
 * first bad value. */
static int check_range_as(int code, const char *op, const pa_tensor *ic, int64_t d, int64_t size,
                          bool negative) {
    int64_t lo = negative ? -size : 0;
    if (all_in_range(ic, lo, size)) return PA_OK;
    const int64_t *v = (const int64_t *)ic->data;
    for (int64_t i = 0; i < ic->numel; i++)
        if (v[i] < lo || v[i] >= size)
            return pa_error(code, "%s: index %lld is out of bounds for dimension %lld with size %lld",
                            op, (long long)v[i], (long long)d, (long long)size);
    return PA_OK;
}

static int check_range(const char *op, const pa_tensor *ic, int64_t d, int64_t size, bool negative) {
    return check_range_as(PA_ERR_INDEX, op, ic, d, size, negative);
}

static int check_index_dtype(const char *op, const pa_tensor *index) {
    if (index->dtype != PA_INT64)
        return pa_error(PA_ERR_TYPE, "%s: index must be an int64 tensor, got %s", op,
                        pa_dtype_name(index->dtype));
    return PA_OK;
}

/* ---- the shared forward --------------------------------------------------------- */
/* out (or `a` itself, inplace) = a with src / value written along d at the positions of
 * `index` (an int64 view with a's ndim, maybe expanded, whose values were checked);
 * src is a view of index's shape (or NULL for FILL), of a's dtype.  Records the SCATTER
 * node when needed (the caller refuses inplace then). */
static int scatter_into(pa_tensor *a, int64_t d, pa_tensor *index, pa_tensor *src, pa_tensor *src_input,
                        double value, double alpha, int mode, bool inplace, pa_tensor **out) {
    pa_tensor *own = NULL;
    if (inplace && src && src->storage == a->storage) {  /* x[i] = x[j:k]: read a copy */
        own = pa_tensor_new(src->ndim, src->shape, src->dtype);
        PA_CHECK_OOM(own);
        pa_copy_strided(own, src);
        src = own;
    }
    pa_tensor *o = inplace ? a : pa_tensor_new(a->ndim, a->shape, a->dtype);
    if (!o) pa_tensor_release(own);
    PA_CHECK_OOM(o);
    if (inplace) {
        pa_tensor_retain(o);
        pa_bump_version(o);
    } else {
        pa_copy_strided(o, a);
    }
    if (index->numel > 0) {
        /* A 0-dim a: every index (0 or -1) names its one element; src is 0-dim too. */
        /* (no src, as for a fill: zero strides for every dim the walk reads) */
        static const int64_t zeros[PA_MAX_DIMS] = {0}, one = 1;
        int ndim = a->ndim ? a->ndim : 1;
        const int64_t *shape = a->ndim ? index->shape : &index->numel;
        const int64_t *strides[N_OPS] = {a->ndim ? o->strides : zeros,
                                         src && a->ndim ? src->strides : zeros,
                                         a->ndim ? index->strides : &one};
        walk w;
        walk_init(&w, ndim, shape, (int)d, a->ndim ? a->shape[d] : 1, strides);
        walk_run(&w, mode, a->dtype, o->data, src ? src->data : NULL, (const int64_t *)index->data,
                 value, alpha);
    }
    pa_tensor_release(own);
    *out = o;
    if (inplace) return PA_OK;
    pa_tensor *inputs[2] = {a, src_input};
    int n_inputs = src_input ? 2 : 1;
    if (!pa_is_float(a->dtype) || !pa_needs_grad(n_inputs, inputs)) return PA_OK;
    pa_node *node = pa_node_new(PA_OP_SCATTER, n_inputs, inputs, o);
    int rc = node ? pa_node_save(node, 0, index) : PA_ERR_MEMORY;
    if (rc) {
        pa_tensor_release(o);
        *out = NULL;
        return rc;
    }
    node->iarg[0] = d;
    node->iarg[1] = mode;
    node->farg[0] = alpha;
    return PA_OK;
}

/* out (index's shape, a's dtype) = a gathered along d at index (values checked). */
static pa_tensor *gather_raw(pa_tensor *a, int64_t d, pa_tensor *index) {
    pa_tensor *o = pa_tensor_new(index->ndim, index->shape, a->dtype);
    if (!o || o->numel == 0) return o;
    int ndim = a->ndim ? a->ndim : 1;
    int64_t zero = 0, count = index->numel;
    const int64_t *shape = a->ndim ? index->shape : &count;
    const int64_t *strides[N_OPS] = {a->ndim ? a->strides : &zero, a->ndim ? o->strides : (int64_t[]){1},
                                     a->ndim ? index->strides : (int64_t[]){1}};
    walk w;
    walk_init(&w, ndim, shape, (int)d, a->ndim ? a->shape[d] : 1, strides);
    walk_run(&w, MODE_GATHER, a->dtype, a->data, o->data, (const int64_t *)index->data, 0, 1);
    return o;
}

/* ---- gather, take_along_dim ----------------------------------------------------- */
/* How the index values of gather_checked may lie: in [-size, size) (negative ones wrap),
 * in [0, size), or anywhere (taken modulo size, as Python's %). */
enum { RANGE_NEGATIVE, RANGE_STRICT, RANGE_MODULO };

/* The contiguous index with every value taken modulo size into [0, size) (a new
 * reference; ic itself when all lie in [-size, size) already: the walk wraps those). */
static pa_tensor *index_modulo(pa_tensor *ic, int64_t size) {
    if (all_in_range(ic, -size, size)) {
        pa_tensor_retain(ic);
        return ic;
    }
    pa_tensor *w = pa_tensor_new(ic->ndim, ic->shape, PA_INT64);
    if (!w) return NULL;
    const int64_t *v = (const int64_t *)ic->data;
    int64_t *r = (int64_t *)w->data, n = ic->numel;
    int nt = pa_threads_for_elements(n / 4);
    PA_PARALLEL_FOR(nt, for (int64_t i = 0; i < n; i++) {
        int64_t m = v[i] >= 0 && v[i] < size ? v[i] : v[i] % size;  /* (a division only where needed) */
        r[i] = m < 0 ? m + size : m;
    });
    return w;
}

/* gather of a (dim d, normalised) at index, whose values lie as `range` says (else
 * error `code` naming op); records GatherBackward. */
static int gather_checked(const char *op, int code, pa_tensor *a, int64_t d, pa_tensor *index, int range,
                          pa_tensor **out) {
    char b1[128], b2[128];
    TRY(check_index_dtype(op, index));
    if (index->ndim != a->ndim && !(a->ndim == 0 && index->ndim <= 1))
        return pa_error(PA_ERR_VALUE, "%s: index %s and input %s must have the same number of "
                        "dimensions", op, PA_SHAPE_STR(index, b1), PA_SHAPE_STR(a, b2));
    for (int k = 0; k < a->ndim; k++)
        if (k != d && index->shape[k] > a->shape[k])
            return pa_error(PA_ERR_VALUE, "%s: size of index %s does not fit input %s at dim %d", op,
                            PA_SHAPE_STR(index, b1), PA_SHAPE_STR(a, b2), k);
    int64_t size = a->ndim ? a->shape[d] : 1;
    if (range == RANGE_MODULO && size == 0 && index->numel > 0)
        return pa_error(code, "%s: cannot take indices along dimension %lld of size 0 (the index "
                        "is taken modulo the size)", op, (long long)d);
    pa_tensor *ic = pa_contiguous_nograd(index);
    PA_CHECK_OOM(ic);
    int rc = PA_OK;
    if (range == RANGE_MODULO) {
        pa_tensor *w = index_modulo(ic, size);
        pa_tensor_release(ic);
        PA_CHECK_OOM(w);
        ic = w;
    } else {
        rc = check_range_as(code, op, ic, d, size, range == RANGE_NEGATIVE);
    }
    pa_tensor *o = rc ? NULL : gather_raw(a, d, ic);
    if (!rc && !o) rc = PA_ERR_MEMORY;
    if (!rc && pa_needs_grad(1, &a)) {
        pa_node *node = pa_node_new(PA_OP_GATHER, 1, &a, o);
        rc = node ? pa_node_save(node, 0, ic) : PA_ERR_MEMORY;
        if (!rc) node->iarg[0] = d;
    }
    pa_tensor_release(ic);
    if (rc) {
        pa_tensor_release(o);
        return rc;
    }
    *out = o;
    return PA_OK;
}

int pa_gather(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor **out) {
    PA_REQUIRE("gather", a && index && out, "NULL tensor or result pointer");
    int64_t d;
    TRY(pa_normalize_dim("gather", dim, a->ndim, &d));
    return gather_checked("gather", PA_ERR_INDEX, a, d, index, RANGE_NEGATIVE, out);
}

int pa_take_along_dim(pa_tensor *a, int64_t dim, pa_tensor *index, int modulo, pa_tensor **out) {
    PA_REQUIRE("take_along_dim", a && index && out, "NULL tensor or result pointer");
    int64_t d;
    TRY(pa_normalize_dim("take_along_dim", dim, a->ndim, &d));
    return gather_checked("take_along_dim", PA_ERR_RUNTIME, a, d, index, modulo ? RANGE_MODULO : RANGE_STRICT,
                          out);
}

/* The gradient is scatter_add of g into zeros (repeats accumulate in index order). */
int pa_backward_GATHER(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    const pa_meta *m = &node->next[0].meta;
    pa_tensor *z = pa_tensor_zeros(m->ndim, m->shape, m->dtype);
    PA_CHECK_OOM(z);
    int rc = scatter_into(z, node->iarg[0], node->saved[0], g, NULL, 0, 1, PA_SCATTER_ADD, true, &grads[0]);
    pa_tensor_release(z);
    return rc;
}

/* ---- scatter / scatter_add ----------------------------------------------------- */
/* src cast to dtype and narrowed to shape (a new reference). */
static pa_tensor *narrowed_source(pa_tensor *src, int ndim, const int64_t *shape, int dtype) {
    pa_tensor *s = pa_tensor_view_of(src, src->offset, ndim, shape, src->strides);
    if (!s || s->dtype == dtype) return s;
    pa_tensor *c = pa_cast_nograd(s, dtype);
    pa_tensor_release(s);
    return c;
}

static int check_inplace_allowed(const char *op, pa_tensor *a, pa_tensor *src) {
    pa_tensor *inputs[2] = {a, src};
    if (pa_needs_grad(src ? 2 : 1, inputs))
        return pa_error(PA_ERR_RUNTIME, "%s_: the in-place form records no gradient; a tensor "
                        "involved requires grad (use the out-of-place form)", op);
    return pa_check_no_internal_overlap(op, a);
}

int pa_scatter(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor *src, double value, int mode,
               int inplace, pa_tensor **out) {
    PA_REQUIRE("scatter", a && index && out, "NULL tensor or result pointer");
    PA_REQUIRE("scatter", mode == PA_SCATTER_COPY || mode == PA_SCATTER_ADD || mode == PA_SCATTER_FILL,
               "mode must be PA_SCATTER_COPY, PA_SCATTER_ADD or PA_SCATTER_FILL");
    PA_REQUIRE("scatter", (src != NULL) == (mode != PA_SCATTER_FILL), "src is required unless mode is FILL");
    const char *op = mode == PA_SCATTER_ADD ? "scatter_add" : "scatter";
    char b1[128], b2[128];
    int64_t d;
    TRY(pa_normalize_dim(op, dim, a->ndim, &d));
    TRY(check_index_dtype(op, index));
    if (index->ndim != a->ndim || (src && src->ndim != a->ndim))
        return pa_error(PA_ERR_VALUE, "%s: index %s%s must have the same number of dimensions as "
                        "self %s", op, PA_SHAPE_STR(index, b1), src ? " and src" : "", PA_SHAPE_STR(a, b2));
    for (int k = 0; k < a->ndim; k++) {
        if (k != d && index->shape[k] > a->shape[k])
            return pa_error(PA_ERR_VALUE, "%s: index %s does not fit self %s at dim %d", op,
                            PA_SHAPE_STR(index, b1), PA_SHAPE_STR(a, b2), k);
        if (src && index->shape[k] > src->shape[k])
            return pa_error(PA_ERR_VALUE, "%s: index %s does not fit src %s at dim %d", op,
                            PA_SHAPE_STR(index, b1), PA_SHAPE_STR(src, b2), k);
    }
    if (inplace) TRY(check_inplace_allowed(op, a, src));
    pa_tensor *ic = pa_contiguous_nograd(index);
    PA_CHECK_OOM(ic);
    int rc = check_range(op, ic, d, a->ndim ? a->shape[d] : 1, false);
    pa_tensor *s = NULL;
    if (!rc && src && !(s = narrowed_source(src, ic->ndim, ic->shape, a->dtype))) rc = PA_ERR_MEMORY;
    if (!rc) rc = scatter_into(a, d, ic, s, src, value, 1, mode, inplace, out);
    pa_tensor_release(s);
    pa_tensor_release(ic);
    return rc;
}

/* ---- scatter_reduce ------------------------------------------------------------ */
/* One walk over index (ic, contiguous, values checked) writing t along d, reading s (NULL:
 * zero strides, for FILL and COUNT); t has ndim >= 1. */
static void walk_pass(pa_tensor *t, int64_t d, pa_tensor *ic, pa_tensor *s, int mode, double value) {
    static const int64_t zeros[PA_MAX_DIMS] = {0};
    const int64_t *strides[N_OPS] = {t->strides, s ? s->strides : zeros, ic->strides};
    walk w;
    walk_init(&w, t->ndim, ic->shape, (int)d, t->shape[d], strides);
    walk_run(&w, mode, t->dtype, t->data, s ? s->data : NULL, (const int64_t *)ic->data, value, 1);
}

/* o (contiguous, int64 or floating) divided by the count of values each position took
 * (count 0 leaves it, as PyTorch's count.masked_fill_(count == 0, 1)); integers by floor
 * division, as PyTorch's div_(count, rounding_mode="floor"). */
static void divide_by_count(pa_tensor *o, const pa_tensor *count) {
    int64_t n = o->numel;
    int nt = pa_threads_for_elements(n);
    if (o->dtype == PA_INT64) {
        int64_t *v = (int64_t *)o->data;
        const int64_t *c = (const int64_t *)count->data;
        PA_PARALLEL_FOR(nt, for (int64_t i = 0; i < n; i++) {
            if (c[i] > 1) v[i] = v[i] / c[i] - (v[i] % c[i] < 0);
        });
    } else {
        PA_DISPATCH_FLOAT(o->dtype, T, {
            T *v = (T *)o->data;
            const T *c = (const T *)count->data;
            PA_PARALLEL_FOR(nt, for (int64_t i = 0; i < n; i++) {
                if (c[i] > 1) v[i] /= c[i];
            });
        });
    }
}

/* t reduced in place with s at ic along d (t, ic, s of ndim >= 1, checked; t contiguous
 * for MEAN). */
static int reduce_into(pa_tensor *t, int64_t d, pa_tensor *ic, pa_tensor *s, int reduce, bool include_self) {
    if (ic->numel == 0) return PA_OK;
    if (!include_self) {
        /* NOTE: positions that receive values start from the reduction's identity.  amax
         * and amin have none that every dtype can hold (int64 has no infinity), so they
         * start from a copy of one of the values they receive: the max of a set and one of
         * its members is the max of the set, NaN included. */
        if (reduce == PA_REDUCE_AMAX || reduce == PA_REDUCE_AMIN)
            walk_pass(t, d, ic, s, PA_SCATTER_COPY, 0);
        else
            walk_pass(t, d, ic, NULL, PA_SCATTER_FILL, reduce == PA_REDUCE_PROD ? 1 : 0);
    }
    static const int modes[] = {[PA_REDUCE_SUM] = PA_SCATTER_ADD, [PA_REDUCE_PROD] = MODE_PROD,
                                [PA_REDUCE_MEAN] = PA_SCATTER_ADD, [PA_REDUCE_AMAX] = MODE_AMAX,
                                [PA_REDUCE_AMIN] = MODE_AMIN};
    walk_pass(t, d, ic, s, modes[reduce], 0);
    if (reduce != PA_REDUCE_MEAN) return PA_OK;
    pa_tensor *count = NULL;
    if (include_self)
        TRY(pa_full(t->ndim, t->shape, t->dtype, 1, &count));
    else
        PA_CHECK_OOM(count = pa_tensor_zeros(t->ndim, t->shape, t->dtype));
    walk_pass(count, d, ic, NULL, MODE_COUNT, 0);
    divide_by_count(t, count);
    pa_tensor_release(count);
    return PA_OK;
}

/* t itself when it has dims, else a 1-d view of its one element (a new reference):
 * scatter_reduce takes a 0-dim tensor as shape (1,), as PyTorch. */
static pa_tensor *with_dims(pa_tensor *t) {
    static const int64_t one = 1, zero = 0;
    if (t->ndim) {
        pa_tensor_retain(t);
        return t;
    }
    return pa_tensor_view_of(t, t->offset, 1, &one, &zero);
}

int pa_scatter_reduce(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor *src, int reduce, int include_self,
                      int inplace, pa_tensor **out) {
    const char *op = "scatter_reduce";
    PA_REQUIRE(op, a && index && src && out, "NULL tensor or result pointer");
    PA_REQUIRE(op, reduce >= PA_REDUCE_SUM && reduce <= PA_REDUCE_AMIN,
               "reduce must be PA_REDUCE_SUM, _PROD, _MEAN, _AMAX or _AMIN");
    char b1[128], b2[128], b3[128];
    int64_t d;
    TRY(pa_normalize_dim(op, dim, a->ndim, &d));
    if (index->dtype != PA_INT64)
        return pa_error(PA_ERR_RUNTIME, "scatter_reduce(): Expected dtype int64 for index, got %s",
                        pa_dtype_name(index->dtype));
    if (src->dtype != a->dtype)
        return pa_error(PA_ERR_RUNTIME, "scatter_reduce(): Expected self.dtype to be equal to src.dtype "
                        "(self %s, src %s)", pa_dtype_name(a->dtype), pa_dtype_name(src->dtype));
    if (reduce == PA_REDUCE_MEAN && a->dtype == PA_BOOL)
        return pa_error(PA_ERR_TYPE, "scatter_reduce(): reduce=\"mean\" is not implemented for bool");
    /* (ndims as PyTorch counts them: a 0-dim tensor has one) */
    int nd = a->ndim ? a->ndim : 1;
    if ((index->ndim ? index->ndim : 1) != nd)
        return pa_error(PA_ERR_RUNTIME, "scatter_reduce(): Index tensor %s must have the same number of "
                        "dimensions as self tensor %s", PA_SHAPE_STR(index, b1), PA_SHAPE_STR(a, b2));
    if ((src->ndim ? src->ndim : 1) != nd)
        return pa_error(PA_ERR_RUNTIME, "scatter_reduce(): Index tensor %s must have the same number of "
                        "dimensions as src tensor %s", PA_SHAPE_STR(index, b1), PA_SHAPE_STR(src, b2));
    for (int k = 0; k < nd; k++) {
        int64_t ni = index->ndim ? index->shape[k] : 1, na = a->ndim ? a->shape[k] : 1;
        if ((k != d && ni > na) || ni > (src->ndim ? src->shape[k] : 1))
            return pa_error(PA_ERR_RUNTIME, "scatter_reduce(): Expected index %s to be no larger than self "
                            "%s apart from dimension %lld and to be no larger size than src %s",
                            PA_SHAPE_STR(index, b1), PA_SHAPE_STR(a, b2), (long long)d, PA_SHAPE_STR(src, b3));
    }
    if (inplace) TRY(check_inplace_allowed(op, a, src));
    pa_tensor *ic = NULL, *xv = NULL, *sv = NULL, *s = NULL, *o = NULL, *ov = NULL;
    int rc = PA_OK;
    /* In place, what a's writes could change is read from copies: src or index in a's
     * memory (x.scatter_reduce_(0, i, x[1:], ...)). */
    if (!(ic = pa_contiguous_nograd(index))) rc = PA_ERR_MEMORY;
    if (!rc && inplace && ic->storage == a->storage) {
        pa_tensor *c = pa_tensor_new(ic->ndim, ic->shape, PA_INT64);
        if (c) pa_copy_strided(c, ic);
        pa_tensor_release(ic);
        if (!(ic = c)) rc = PA_ERR_MEMORY;
    }
    if (!rc) rc = check_range_as(PA_ERR_RUNTIME, "scatter_reduce()", ic, d, a->ndim ? a->shape[d] : 1, false);
    if (!rc && !((xv = with_dims(ic)) && (sv = with_dims(src)))) rc = PA_ERR_MEMORY;
    if (!rc && !(s = narrowed_source(sv, xv->ndim, xv->shape, a->dtype))) rc = PA_ERR_MEMORY;
    if (!rc && inplace && src->storage == a->storage) {
        pa_tensor *c = pa_tensor_new(s->ndim, s->shape, s->dtype);
        if (c) pa_copy_strided(c, s);
        pa_tensor_release(s);
        if (!(s = c)) rc = PA_ERR_MEMORY;
    }
    /* Reduced into a itself in place, except for mean, which divides a contiguous copy
     * (copied back below). */
    if (!rc) {
        if (inplace && reduce != PA_REDUCE_MEAN) {
            pa_tensor_retain(a);
            o = a;
        } else if ((o = pa_tensor_new(a->ndim, a->shape, a->dtype))) {
            pa_copy_strided(o, a);
        }
        if (!o || !(ov = with_dims(o))) rc = PA_ERR_MEMORY;
    }
    if (!rc) rc = reduce_into(ov, d, xv, s, reduce, include_self);
    pa_tensor_release(ov);
    pa_tensor_release(s);
    pa_tensor_release(sv);
    pa_tensor_release(xv);
    pa_tensor_release(ic);
    if (rc) {
        pa_tensor_release(o);
        return rc;
    }
    if (inplace) {
        if (o != a) {
            pa_copy_strided(a, o);
            pa_tensor_release(o);
            pa_tensor_retain(a);
            o = a;
        }
        pa_bump_version(a);
    }
    *out = o;
    return PA_OK;
}

/* ---- index_add / index_copy / index_fill --------------------------------------- */
int pa_index_put(pa_tensor *a, int64_t dim, pa_tensor *index, pa_tensor *src, double value, double alpha,
                 int mode, int inplace, pa_tensor **out) {
    PA_REQUIRE("index_put", a && index && out, "NULL tensor or result pointer");
    PA_REQUIRE("index_put", mode == PA_SCATTER_COPY || mode == PA_SCATTER_ADD || mode == PA_SCATTER_FILL,
               "mode must be PA_SCATTER_COPY, PA_SCATTER_ADD or PA_SCATTER_FILL");
    PA_REQUIRE("index_put", (src != NULL) == (mode != PA_SCATTER_FILL), "src is required unless mode is FILL");
    const char *op = mode == PA_SCATTER_ADD ? "index_add_()" : mode == PA_SCATTER_COPY ? "index_copy_()"
                                                                                       : "index_fill_()";
    char b1[128], b2[128];
    int64_t d;
    TRY(pa_normalize_dim(op, dim, a->ndim, &d));
    TRY(check_index_dtype(op, index));
    if (index->ndim > 1 || (a->ndim == 0 && index->numel > 1))
        return pa_error(PA_ERR_VALUE, "%s: index must be 0-d or 1-d (one element for a 0-dim self), "
                        "got shape %s", op, PA_SHAPE_STR(index, b1));
    int64_t shape[PA_MAX_DIMS], istrides[PA_MAX_DIMS] = {0};
    memcpy(shape, a->shape, sizeof shape);
    if (a->ndim) shape[d] = index->numel;
    if (src) {
        bool match = src->ndim == a->ndim || (a->ndim <= 1 && src->ndim <= 1);
        for (int k = 0; match && k < a->ndim; k++)
            match = (src->ndim ? src->shape[k] : 1) == shape[k];
        if (!match)
            return pa_error(PA_ERR_VALUE, "%s: source %s must have self's shape %s with %lld along dim "
                            "%lld (the number of indices)", op, PA_SHAPE_STR(src, b1), PA_SHAPE_STR(a, b2),
                            (long long)index->numel, (long long)d);
    }
    if (inplace) TRY(check_inplace_allowed(op, a, src));
    pa_tensor *ic = pa_contiguous_nograd(index);
    PA_CHECK_OOM(ic);
    int rc = check_range(op, ic, d, a->ndim ? a->shape[d] : 1, mode == PA_SCATTER_FILL);
    /* The 1-d index seen with a's ndim: stride 1 along d, 0 (broadcast) elsewhere. */
    if (a->ndim) istrides[d] = 1;
    pa_tensor *x = rc ? NULL : a->ndim ? pa_tensor_view_of(ic, ic->offset, a->ndim, shape, istrides)
                                       : pa_tensor_view_of(ic, ic->offset, ic->ndim, ic->shape, ic->strides);
    pa_tensor *s = NULL;
    if (!rc && !x) rc = PA_ERR_MEMORY;
    if (!rc && src && !(s = narrowed_source(src, a->ndim, shape, a->dtype))) rc = PA_ERR_MEMORY;
    if (!rc) rc = scatter_into(a, d, x, s, src, value, alpha, mode, inplace, out);
    pa_tensor_release(s);
    pa_tensor_release(x);
    pa_tensor_release(ic);
    return rc;
}

/* Input: g itself (ADD), or g with the written positions zeroed.  Source: g gathered at
 * the index (times alpha), zero where the source reached beyond the index's shape. */
int pa_backward_SCATTER(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    int64_t d = node->iarg[0];
    int mode = (int)node->iarg[1];
    pa_tensor *index = node->saved[0];
    if (pa_input_needs_grad(node, 0)) {
        if (mode == PA_SCATTER_ADD) {
            pa_tensor_retain(g);
            grads[0] = g;
        } else {
            TRY(scatter_into(g, d, index, NULL, NULL, 0, 1, PA_SCATTER_FILL, false, &grads[0]));
        }
    }
    if (node->n_inputs < 2 || !pa_input_needs_grad(node, 1)) return PA_OK;
    pa_tensor *picked = gather_raw(g, d, index);
    PA_CHECK_OOM(picked);
    double alpha = node->farg[0];
    if (alpha != 1) {
        pa_tensor *scaled;
        int rc = pa_binary_scalar(PA_BIN_MUL, picked, alpha, 1, 0, &scaled);
        pa_tensor_release(picked);
        TRY(rc);
        picked = scaled;
    }
    const pa_meta *m = &node->next[1].meta;
    if (pa_shape_numel(m->ndim, m->shape) == picked->numel) {  /* (0-dim src: index of shape (1,)) */
        int rc = pa_reshape(picked, m->ndim, m->shape, &grads[1]);
        pa_tensor_release(picked);
        return rc;
    }
    pa_tensor *z = pa_tensor_zeros(m->ndim, m->shape, picked->dtype), *v = NULL;
    if (z) v = pa_tensor_view_of(z, 0, picked->ndim, picked->shape, z->strides);
    if (v) pa_copy_strided(v, picked);
    pa_tensor_release(v);
    pa_tensor_release(picked);
    if (!v) {
        pa_tensor_release(z);
        return PA_ERR_MEMORY;
    }
    grads[1] = z;
    return PA_OK;
}

/* ---- mask positions ------------------------------------------------------------ */
int pa_mask_positions(pa_tensor *mask, pa_tensor **out) {
    PA_REQUIRE("mask_positions", mask && out, "NULL tensor or result pointer");
    if (mask->dtype != PA_BOOL)
        return pa_error(PA_ERR_TYPE, "mask_positions: mask must be a bool tensor, got %s",
                        pa_dtype_name(mask->dtype));
    pa_tensor *mc = pa_contiguous_nograd(mask);
    PA_CHECK_OOM(mc);
    const uint8_t *m = (const uint8_t *)mc->data;
    int64_t count = 0;
    for (int64_t i = 0; i < mc->numel; i++) count += m[i] != 0;
    pa_tensor *o = pa_tensor_new(1, &count, PA_INT64);
    if (o) {
        /* NOTE: branch-free (write every position, advance by the mask): a random mask
         * made the branchy loop mispredict half the time. */
        int64_t *p = (int64_t *)o->data, k = 0;
        for (int64_t i = 0; i < mc->numel && k < count; i++) {
            p[k] = i;
            k += m[i] != 0;
        }
    }
    pa_tensor_release(mc);
    PA_CHECK_OOM(o);
    *out = o;
    return PA_OK;
}

/* ---- several index tensors (x[i, :, j]) ---------------------------------------- */
/* The result of a[i0, ..., im-1] over dims d0 < ... < dm-1 is laid out as (P, B, Q): B
 * the broadcast shape of the indices, P and Q the other dims of a (P: those before d0
 * when the dims are adjacent, else none; Q: the rest).  Element (p, b, q) is a's element
 * at poff[p] + boff[b] + qoff[q], with boff[b] = sum_j idx_j[b] * stride(d_j). */
typedef struct {
    int m, bnd, pnd, qnd;
    int64_t dims[PA_MAX_DIMS];
    int64_t bshape[PA_MAX_DIMS], pshape[PA_MAX_DIMS], qshape[PA_MAX_DIMS];
    int pdim[PA_MAX_DIMS], qdim[PA_MAX_DIMS];   /* which dims of a */
    int64_t np, nb, nq;
} multi_layout;

/* Fills P and Q from a's shape and the (checked) dims; B and nb are set by the caller. */
static void multi_split(multi_layout *L, int ndim, const int64_t *shape) {
    bool adjacent = L->dims[L->m - 1] - L->dims[0] == L->m - 1;
    L->pnd = L->qnd = 0;
    L->np = L->nq = 1;
    for (int k = 0, j = 0; k < ndim; k++) {
        if (j < L->m && L->dims[j] == k) {
            j++;
        } else if (adjacent && k < L->dims[0]) {
            L->pdim[L->pnd] = k;
            L->pshape[L->pnd++] = shape[k];
            L->np *= shape[k];
        } else {
            L->qdim[L->qnd] = k;
            L->qshape[L->qnd++] = shape[k];
            L->nq *= shape[k];
        }
    }
}

/* Offsets of the n = prod(shape) positions of dims `which` (row-major) for `strides`. */
static void dim_offsets(int nd, const int *which, const int64_t *shape, const int64_t *strides,
                        int64_t n, int64_t *off) {
    int64_t c[PA_MAX_DIMS] = {0}, cur = 0;
    for (int64_t i = 0; i < n; i++) {
        off[i] = cur;
        for (int k = nd - 1; k >= 0; k--) {
            cur += strides[which[k]];
            if (++c[k] < shape[k]) break;
            cur -= c[k] * strides[which[k]];
            c[k] = 0;
        }
    }
}

/* boff[b] (and lin[b] for contiguous strides `cstrides`, when lin) from the contiguous
 * int64 indices, each checked in [-size, size). */
static int multi_offsets(const multi_layout *L, pa_tensor *const *ic, const int64_t *shape,
                         const int64_t *strides, const int64_t *cstrides, int64_t *boff, int64_t *lin) {
    const int64_t nb = L->nb, bnd = L->bnd;
    for (int j = 0; j < L->m; j++) {
        const pa_tensor *x = ic[j];
        int64_t d = L->dims[j], size = shape[d];
        TRY(check_range("index", x, d, size, true));
        for (int pass = 0; pass < (lin ? 2 : 1); pass++) {
            int64_t *off = pass ? lin : boff, st = pass ? cstrides[d] : strides[d];
            const int64_t *v = (const int64_t *)x->data;
            if (x->numel == nb) {  /* not broadcast: x's elements in b order */
                for (int64_t b = 0; b < nb; b++) {
                    int64_t i = v[b] < 0 ? v[b] + size : v[b];
                    off[b] = (j ? off[b] : 0) + i * st;
                }
                continue;
            }
            /* x's strides within B (right-aligned, 0 where broadcast). */
            int64_t xs[PA_MAX_DIMS] = {0}, c[PA_MAX_DIMS] = {0}, bshape[PA_MAX_DIMS], pos = 0, run = 1;
            for (int k = 0; k < bnd; k++) bshape[k] = L->bshape[k];
            for (int k = x->ndim - 1; k >= 0; k--) {
                xs[bnd - x->ndim + k] = x->shape[k] == 1 ? 0 : run;
                run *= x->shape[k];
            }
            for (int64_t b = 0; b < nb; b++) {
                int64_t i = v[pos] < 0 ? v[pos] + size : v[pos];
                off[b] = (j ? off[b] : 0) + i * st;
                for (int64_t k = bnd - 1; k >= 0; k--) {
                    pos += xs[k];
                    if (++c[k] < bshape[k]) break;
                    pos -= c[k] * xs[k];
                    c[k] = 0;
                }
            }
        }
    }
    return PA_OK;
}

/* Whether the Q dims of `strides` walk as one stride (*qs); size-1 dims ignored. */
static bool multi_q_stride(const multi_layout *L, const int64_t *strides, int64_t *qs) {
    int64_t expect = 0;
    bool any = false;
    *qs = 0;
    for (int k = L->qnd - 1; k >= 0; k--) {
        int64_t st = strides[L->qdim[k]];
        if (L->qshape[k] == 1) continue;
        if (any && st != expect) return false;
        if (!any) *qs = st;
        any = true;
        expect = st * L->qshape[k];
    }
    return true;
}

/* Checks the arguments of pa_index_multi / pa_index_multi_put (op names them) and
 * fills the layout L and the result's shape. */
static int multi_prepare(const char *op, pa_tensor *a, int m, const int64_t *dims, pa_tensor **indices,
                         multi_layout *Lp, int64_t *shape, int *ndim_out) {
    char b1[128], b2[128];
    multi_layout L;
    if (m < 1 || m > a->ndim)
        return pa_error(PA_ERR_VALUE, "%s: expected 1 to %d index tensors for a tensor of shape %s, "
                        "got %d", op, a->ndim, PA_SHAPE_STR(a, b1), m);
    L.m = m;
    L.bnd = 0;
    for (int j = 0; j < m; j++) {
        if (!indices[j]) return pa_error(PA_ERR_VALUE, "%s: index tensor %d is NULL", op, j);
        if (dims[j] < 0 || dims[j] >= a->ndim || (j && dims[j] <= dims[j - 1]))
            return pa_error(PA_ERR_VALUE, "%s: dims must be increasing and in [0, %d), got %lld at "
                            "position %d", op, a->ndim, (long long)dims[j], j);
        TRY(check_index_dtype(op, indices[j]));
        L.dims[j] = dims[j];
        if (indices[j]->ndim > L.bnd) L.bnd = indices[j]->ndim;
    }
    for (int k = 0; k < L.bnd; k++) L.bshape[k] = 1;
    for (int j = 0; j < m; j++) {
        const pa_tensor *x = indices[j];
        for (int k = 0; k < x->ndim; k++) {
            int64_t *s = &L.bshape[L.bnd - x->ndim + k];
            if (x->shape[k] != 1 && *s != 1 && *s != x->shape[k])
                return pa_error(PA_ERR_INDEX, "%s: shape mismatch: indexing tensors could not be "
                                "broadcast together (index %d of shape %s)", op, j, PA_SHAPE_STR(x, b2));
            if (x->shape[k] != 1) *s = x->shape[k];
        }
    }
    L.nb = pa_shape_numel(L.bnd, L.bshape);
    multi_split(&L, a->ndim, a->shape);
    int ndim = L.pnd + L.bnd + L.qnd;
    if (ndim > PA_MAX_DIMS)
        return pa_error(PA_ERR_VALUE, "%s: the result would have %d dims (at most %d)", op, ndim, PA_MAX_DIMS);
    memcpy(shape, L.pshape, (size_t)L.pnd * sizeof *shape);
    memcpy(shape + L.pnd, L.bshape, (size_t)L.bnd * sizeof *shape);
    memcpy(shape + L.pnd + L.bnd, L.qshape, (size_t)L.qnd * sizeof *shape);
    *Lp = L;
    *ndim_out = ndim;
    return PA_OK;
}

int pa_index_multi(pa_tensor *a, int m, const int64_t *dims, pa_tensor **indices, pa_tensor **out) {
    PA_REQUIRE("index", a && dims && indices && out, "NULL tensor or result pointer");
    multi_layout L;
    int64_t shape[PA_MAX_DIMS];
    int ndim;
    TRY(multi_prepare("index", a, m, dims, indices, &L, shape, &ndim));

    bool grad = pa_is_float(a->dtype) && pa_needs_grad(1, &a);
    pa_tensor *ic[PA_MAX_DIMS] = {0}, *o = NULL, *lin = NULL;
    int64_t *boff = malloc((size_t)(L.nb + 1) * sizeof *boff);
    int64_t *poff = malloc((size_t)(L.np + 1) * sizeof *poff), *qoff = malloc((size_t)(L.nq + 1) * sizeof *qoff);
    int rc = boff && poff && qoff ? PA_OK : PA_ERR_MEMORY;
    for (int j = 0; !rc && j < m; j++)
        if (!(ic[j] = pa_contiguous_nograd(indices[j]))) rc = PA_ERR_MEMORY;
    if (!rc && grad && !(lin = pa_tensor_new(1, &L.nb, PA_INT64))) rc = PA_ERR_MEMORY;
    int64_t cstrides[PA_MAX_DIMS];
    pa_contiguous_strides(a->ndim, a->shape, cstrides);
    if (!rc) rc = multi_offsets(&L, ic, a->shape, a->strides, cstrides, boff, lin ? (int64_t *)lin->data : NULL);
    if (!rc && !(o = pa_tensor_new(ndim, shape, a->dtype))) rc = PA_ERR_MEMORY;
    if (!rc && o->numel) {
        dim_offsets(L.pnd, L.pdim, L.pshape, a->strides, L.np, poff);
        int64_t qs, nb = L.nb, nq = L.nq, rows = L.np * L.nb;
        bool one = multi_q_stride(&L, a->strides, &qs);
        if (!one) dim_offsets(L.qnd, L.qdim, L.qshape, a->strides, L.nq, qoff);
        int nt = pa_threads_for_elements(o->numel);
        /* NOTE: one offset per (p, b) row, then a row of Q read with one stride (or an
         * offset table): x[i, :, j] on (64, 128, 128) with two 1024-element indices
         * replaced NumPy's linear index plus a permuted copy of x (608 us). */
        /* Rows go in runs (one division per run, not two per row): a pick of single
         * elements (x[arange(1024), labels]) took 6.7 us in the kernel with them. */
        int64_t run = (rows + 4 * nt - 1) / (4 * nt);
        if (run < 256) run = 256;
        int64_t runs = (rows + run - 1) / run;
        PA_DISPATCH_ALL(a->dtype, T, {
            const T *src = (const T *)a->data;
            T *dst = (T *)o->data;
            PA_PARALLEL_FOR(nt, for (int64_t c = 0; c < runs; c++) {
                int64_t r0 = c * run, r1 = r0 + run < rows ? r0 + run : rows;
                int64_t p = r0 / nb, b = r0 % nb;
                for (int64_t r = r0; r < r1; r++) {
                    const T *s = src + poff[p] + boff[b];
                    T *d = dst + r * nq;
                    if (nq == 1)
                        d[0] = s[0];
                    else if (!one)
                        for (int64_t q = 0; q < nq; q++) d[q] = s[qoff[q]];
                    else if (qs == 1)
                        memcpy(d, s, (size_t)nq * sizeof(T));
                    else
                        for (int64_t q = 0; q < nq; q++) d[q] = s[q * qs];
                    if (++b == nb) {
                        b = 0;
                        p++;
                    }
                }
            });
        });
    }
    if (!rc && grad) {
        pa_node *node = pa_node_new(PA_OP_INDEX_MULTI, 1, &a, o);
        rc = node ? pa_node_save(node, 0, lin) : PA_ERR_MEMORY;
        if (!rc) {
            node->iarg[0] = m;
            for (int j = 0; j < m; j++) node->iarg[1 + j] = dims[j];
        }
    }
    for (int j = 0; j < m; j++) pa_tensor_release(ic[j]);
    pa_tensor_release(lin);
    free(boff);
    free(poff);
    free(qoff);
    if (rc) {
        pa_tensor_release(o);
        return rc;
    }
    *out = o;
    return PA_OK;
}

/* The gradient: g's rows added into zeros at the positions read, an index_put with
 * accumulate.  Work items are (p, chunk of Q): items never share a target element (they
 * differ in a dim no index addresses), and each walks b in order, so repeated indices sum
 * in index order for any thread count. */
int pa_backward_INDEX_MULTI(pa_node *node, pa_tensor *g, pa_tensor **grads) {
    const pa_meta *mt = &node->next[0].meta;
    pa_tensor *lin = node->saved[0];
    multi_layout L;
    L.m = (int)node->iarg[0];
    for (int j = 0; j < L.m; j++) L.dims[j] = node->iarg[1 + j];
    L.nb = lin->numel;
    multi_split(&L, mt->ndim, mt->shape);
    pa_tensor *z = pa_tensor_zeros(mt->ndim, mt->shape, mt->dtype), *gc = NULL;
    int64_t *poff = malloc((size_t)(L.np + 1) * sizeof *poff), *qoff = malloc((size_t)(L.nq + 1) * sizeof *qoff);
    int rc = z && poff && qoff ? PA_OK : PA_ERR_MEMORY;
    if (!rc && !(gc = g->dtype == mt->dtype ? pa_contiguous_nograd(g) : pa_cast_nograd(g, mt->dtype)))
        rc = PA_ERR_MEMORY;
    if (!rc && gc->numel) {
        int64_t cs[PA_MAX_DIMS];
        pa_contiguous_strides(mt->ndim, mt->shape, cs);
        dim_offsets(L.pnd, L.pdim, L.pshape, cs, L.np, poff);
        dim_offsets(L.qnd, L.qdim, L.qshape, cs, L.nq, qoff);
        int64_t nb = L.nb, nq = L.nq, np = L.np;
        int nt = pa_threads_for_elements(gc->numel);
        int64_t chunk = nq;
        if (nt > 1 && np < 4 * nt) chunk = ((nq + 4 * nt - 1) / (4 * nt) + 63) / 64 * 64;
        if (chunk < 1) chunk = 1;
        int64_t nchunks = (nq + chunk - 1) / chunk, items = np * nchunks;
        const int64_t *lv = (const int64_t *)lin->data;
        PA_DISPATCH_FLOAT(mt->dtype, T, {
            T *zs = (T *)z->data;
            const T *gs = (const T *)gc->data;
            PA_PARALLEL_FOR(nt, for (int64_t it = 0; it < items; it++) {
                int64_t p = it / nchunks, q0 = it % nchunks * chunk;
                int64_t q1 = q0 + chunk < nq ? q0 + chunk : nq;
                for (int64_t b = 0; b < nb; b++) {
                    T *t = zs + poff[p] + lv[b];
                    const T *s = gs + (p * nb + b) * nq;
                    for (int64_t q = q0; q < q1; q++) t[qoff[q]] += s[q];
                }
            });
        });
    }
    pa_tensor_release(gc);
    free(poff);
    free(qoff);
    if (rc) {
        pa_tensor_release(z);
        return rc;
    }
    grads[0] = z;
    return PA_OK;
}

/* a[indices...] = src (COPY; the last write wins among repeated positions), += src
 * (ADD) or = value (FILL), in place, without autograd.  Work items as in the backward:
 * (p, chunk of Q), each walking b in order, so repeats resolve the same for any thread
 * count. */
int pa_index_multi_put(pa_tensor *a, int m, const int64_t *dims, pa_tensor **indices, pa_tensor *src,
                       double value, int mode) {
    PA_REQUIRE("index_put_", a && dims && indices, "NULL tensor or result pointer");
    PA_REQUIRE("index_put_", mode == PA_SCATTER_COPY || mode == PA_SCATTER_ADD || mode == PA_SCATTER_FILL,
               "mode must be PA_SCATTER_COPY, PA_SCATTER_ADD or PA_SCATTER_FILL");
    PA_REQUIRE("index_put_", (src != NULL) == (mode != PA_SCATTER_FILL), "src is required unless mode is FILL");
    multi_layout L;
    int64_t shape[PA_MAX_DIMS];
    int ndim;
    char b1[128], b2[128];
    TRY(multi_prepare("index_put_", a, m, dims, indices, &L, shape, &ndim));
    if (src) {
        bool match = src->ndim == ndim && src->dtype == a->dtype;
        for (int k = 0; match && k < ndim; k++) match = src->shape[k] == shape[k];
        if (!match)
            return pa_error(PA_ERR_VALUE, "index_put_: values %s of dtype %s must have the indexed shape %s "
                            "and dtype %s", PA_SHAPE_STR(src, b1), pa_dtype_name(src->dtype),
                            pa_shape_str(ndim, shape, b2, sizeof b2), pa_dtype_name(a->dtype));
    }
    TRY(check_inplace_allowed("index_put", a, src));
    pa_tensor *ic[PA_MAX_DIMS] = {0}, *s = NULL;
    int64_t *boff = malloc((size_t)(L.nb + 1) * sizeof *boff);
    int64_t *poff = malloc((size_t)(L.np + 1) * sizeof *poff), *qoff = malloc((size_t)(L.nq + 1) * sizeof *qoff);
    int rc = boff && poff && qoff ? PA_OK : PA_ERR_MEMORY;
    for (int j = 0; !rc && j < m; j++)
        if (!(ic[j] = pa_contiguous_nograd(indices[j]))) rc = PA_ERR_MEMORY;
    if (!rc && src) {  /* contiguous, and a copy when it shares a's memory (x[i, j] = x[k, l]) */
        s = src->storage == a->storage ? pa_tensor_new(src->ndim, src->shape, src->dtype) : pa_contiguous_nograd(src);
        if (!s) rc = PA_ERR_MEMORY;
        else if (src->storage == a->storage) pa_copy_strided(s, src);
    }
    if (!rc) rc = multi_offsets(&L, ic, a->shape, a->strides, a->strides, boff, NULL);
    int64_t total = L.np * L.nb * L.nq;
    if (!rc) pa_bump_version(a);
    if (!rc && total) {
        dim_offsets(L.pnd, L.pdim, L.pshape, a->strides, L.np, poff);
        dim_offsets(L.qnd, L.qdim, L.qshape, a->strides, L.nq, qoff);
        int64_t nb = L.nb, nq = L.nq, np = L.np;
        int nt = pa_threads_for_elements(total);
        int64_t chunk = nq;
        if (nt > 1 && np < 4 * nt) chunk = ((nq + 4 * nt - 1) / (4 * nt) + 63) / 64 * 64;
        if (chunk < 1) chunk = 1;
        int64_t nchunks = (nq + chunk - 1) / chunk, items = np * nchunks;
        if (a->dtype == PA_BOOL) value = value != 0;
        PA_DISPATCH_ALL(a->dtype, T, {
            T *ts = (T *)a->data;
            const T *ss = s ? (const T *)s->data : NULL;
            const T v = (T)value;
            PA_PARALLEL_FOR(nt, for (int64_t it = 0; it < items; it++) {
                int64_t p = it / nchunks, q0 = it % nchunks * chunk;
                int64_t q1 = q0 + chunk < nq ? q0 + chunk : nq;
                for (int64_t b = 0; b < nb; b++) {
                    T *t = ts + poff[p] + boff[b];
                    const T *sr = ss ? ss + (p * nb + b) * nq : NULL;
                    if (mode == PA_SCATTER_FILL)
                        for (int64_t q = q0; q < q1; q++) t[qoff[q]] = v;
                    else if (mode == PA_SCATTER_COPY)
                        for (int64_t q = q0; q < q1; q++) t[qoff[q]] = sr[q];
                    else if (sizeof(T) == 1)  /* bool: or */
                        for (int64_t q = q0; q < q1; q++) t[qoff[q]] = (T)((t[qoff[q]] != 0) | (sr[q] != 0));
                    else
                        for (int64_t q = q0; q < q1; q++) t[qoff[q]] = (T)(t[qoff[q]] + sr[q]);
                }
            });
        });
    }
    for (int j = 0; j < m; j++) pa_tensor_release(ic[j]);
    pa_tensor_release(s);
    free(boff);
    free(poff);
    free(qoff);
    return rc;
}
