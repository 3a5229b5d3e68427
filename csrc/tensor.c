/* Tensors: headers (shape, strides, offset) over reference-counted storage; creation,
 * copies between layouts and dtypes, random fills. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "iter.h"
#include "kernels/parallel.h"
#include "kernels/transpose.h"

static int64_t live_tensors;

int64_t pa_live_tensors(void) { return __atomic_load_n(&live_tensors, __ATOMIC_RELAXED); }

size_t pa_dtype_size(int dtype) {
    switch (dtype) {
    case PA_FLOAT32: return 4;
    case PA_FLOAT64: return 8;
    case PA_INT64: return 8;
    case PA_BOOL: return 1;
    default: return 0;
    }
}

const char *pa_dtype_name(int dtype) {
    switch (dtype) {
    case PA_FLOAT32: return "float32";
    case PA_FLOAT64: return "float64";
    case PA_INT64: return "int64";
    case PA_BOOL: return "bool";
    default: return "unknown dtype";
    }
}

bool pa_is_float(int dtype) { return dtype == PA_FLOAT32 || dtype == PA_FLOAT64; }

const char *pa_shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < ndim && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (n < size) snprintf(buf + n, size - n, ndim == 1 ? ",)" : ")");
    return buf;
}

int64_t pa_shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

int64_t pa_checked_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    bool zero = false;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return -1;
        if (shape[d] == 0) zero = true;
    }
    if (zero) return 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] > PA_MAX_NUMEL / n) return -1;
        n *= shape[d];
    }
    return n;
}

void pa_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d] > 1 ? shape[d] : 1;
    }
}

bool pa_same_shape(const pa_tensor *a, const pa_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

int pa_tensor_is_contiguous(const pa_tensor *t) {
    if (!t) return 0;
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != s) return 0;
        s *= t->shape[d];
    }
    return 1;
}

int pa_normalize_dim(const char *op, int64_t dim, int ndim, int64_t *out) {
    int64_t n = ndim > 0 ? ndim : 1;
    if (dim < -n || dim >= n)
        return pa_error(PA_ERR_INDEX,
                        "%s: dimension out of range (expected to be in range of [%lld, %lld], "
                        "but got %lld)", op, (long long)-n, (long long)n - 1, (long long)dim);
    *out = dim < 0 ? dim + n : dim;
    return PA_OK;
}

/* ---- headers ------------------------------------------------------------------- */
pa_tensor *pa_tensor_wrap(pa_storage *storage, int64_t offset, int ndim,
                          const int64_t *shape, const int64_t *strides, int dtype) {
    pa_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        pa_error(PA_ERR_MEMORY, "out of memory allocating a tensor header");
        return NULL;
    }
    t->refcount = 1;
    t->storage = storage;
    pa_storage_retain(storage);
    t->offset = offset;
    t->ndim = ndim;
    t->dtype = dtype;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];  /* shape may be NULL when ndim == 0 */
    if (strides)
        for (int d = 0; d < ndim; d++) t->strides[d] = strides[d];
    else
        pa_contiguous_strides(ndim, shape, t->strides);
    t->numel = pa_shape_numel(ndim, shape);
    t->data = (char *)storage->data + offset * (int64_t)pa_dtype_size(dtype);
    __atomic_fetch_add(&live_tensors, 1, __ATOMIC_RELAXED);
    return t;
}

pa_tensor *pa_tensor_new(int ndim, const int64_t *shape, int dtype) {
    int64_t numel = pa_checked_numel(ndim, shape);
    if (numel < 0) {
        char b[160];
        pa_error(PA_ERR_MEMORY, "cannot allocate a tensor of shape %s: more than 2^50 elements",
                 pa_shape_str(ndim, shape, b, sizeof b));
        return NULL;
    }
    pa_storage *s = pa_storage_new((size_t)numel * pa_dtype_size(dtype));
    if (!s) return NULL;
    pa_tensor *t = pa_tensor_wrap(s, 0, ndim, shape, NULL, dtype);
    pa_storage_release(s);
    return t;
}

pa_tensor *pa_tensor_new_like(const pa_tensor *t) { return pa_tensor_new(t->ndim, t->shape, t->dtype); }

pa_tensor *pa_tensor_zeros(int ndim, const int64_t *shape, int dtype) {
    pa_tensor *t = pa_tensor_new(ndim, shape, dtype);
    if (t) memset(t->data, 0, (size_t)t->numel * pa_dtype_size(dtype));
    return t;
}

pa_tensor *pa_tensor_view_of(const pa_tensor *a, int64_t offset, int ndim,
                             const int64_t *shape, const int64_t *strides) {
    return pa_tensor_wrap(a->storage, offset, ndim, shape, strides, a->dtype);
}

void pa_tensor_retain(pa_tensor *t) {
    if (t) __atomic_fetch_add(&t->refcount, 1, __ATOMIC_RELAXED);
}

void pa_tensor_release(pa_tensor *t) {
    if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
    pa_tensor_release(t->grad);
    pa_hooks_free(t->hooks);
    if (t->grad_fn && t->grad_fn->retained == t) t->grad_fn->retained = NULL;
    pa_node_release(t->grad_fn);
    pa_storage_release(t->storage);
    free(t);
    __atomic_fetch_sub(&live_tensors, 1, __ATOMIC_RELAXED);
}

int64_t pa_tensor_version(const pa_tensor *t) { return t ? t->storage->version : -1; }

void pa_bump_version(pa_tensor *t) { __atomic_fetch_add(&t->storage->version, 1, __ATOMIC_RELAXED); }

int pa_check_no_internal_overlap(const char *op, const pa_tensor *t) {
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] > 1 && t->strides[d] == 0) {
            char b[128];
            return pa_error(PA_ERR_RUNTIME, "%s: unsupported operation: more than one element "
                            "of the written-to tensor (shape %s, a stride of 0 in dim %d) "
                            "refers to a single memory location. Please clone() the tensor "
                            "before performing the operation.", op, PA_SHAPE_STR(t, b), d);
        }
    return PA_OK;
}

/* ---- argument checks shared by the creation functions -------------------------- */
static int check_shape(const char *op, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > PA_MAX_DIMS)
        return pa_error(PA_ERR_VALUE, "%s: tensors may have at most %d dims, got %d", op,
                        PA_MAX_DIMS, ndim);
    if (ndim > 0 && !shape) return pa_error(PA_ERR_VALUE, "%s: shape is NULL", op);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return pa_error(PA_ERR_VALUE, "%s: negative dimension %lld in shape", op,
                            (long long)shape[d]);
        if (shape[d] > 0 && numel > (INT64_C(1) << 50) / shape[d])
            return pa_error(PA_ERR_MEMORY, "%s: shape too large", op);
        numel *= shape[d];
    }
    return PA_OK;
}

static int check_dtype(const char *op, int dtype) {
    if (dtype < PA_FLOAT32 || dtype > PA_BOOL)
        return pa_error(PA_ERR_TYPE, "%s: unknown dtype code %d", op, dtype);
    return PA_OK;
}

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)

int pa_empty(int ndim, const int64_t *shape, int dtype, pa_tensor **out) {
    PA_REQUIRE("empty", out, "NULL result pointer");
    TRY(check_shape("empty", ndim, shape));
    TRY(check_dtype("empty", dtype));
    *out = pa_tensor_new(ndim, shape, dtype);
    return *out ? PA_OK : PA_ERR_MEMORY;
}

/* Writes `value` into every element of a contiguous buffer. */
static void fill_contiguous(void *data, int64_t n, int dtype, double value) {
    PA_DISPATCH_ALL(dtype, T, {
        T v = (T)value;
        T *p = data;
        for (int64_t i = 0; i < n; i++) p[i] = v;
    });
}

int pa_full(int ndim, const int64_t *shape, int dtype, double value, pa_tensor **out) {
    TRY(pa_empty(ndim, shape, dtype, out));
    if (dtype == PA_BOOL) value = value != 0;
    fill_contiguous((*out)->data, (*out)->numel, dtype, value);
    return PA_OK;
}

int pa_arange(double start, double end, double step, int dtype, pa_tensor **out) {
    TRY(check_dtype("arange", dtype));
    if (step == 0 || !isfinite(start) || !isfinite(end) || !isfinite(step))
        return pa_error(PA_ERR_VALUE, "arange: step must be nonzero and bounds finite "
                        "(start=%g, end=%g, step=%g)", start, end, step);
    if ((end - start) / step < 0)
        return pa_error(PA_ERR_VALUE, "arange: upper bound and larger bound inconsistent with "
                        "step sign (start=%g, end=%g, step=%g)", start, end, step);
    double count = ceil((end - start) / step);
    if (!(count <= (double)PA_MAX_NUMEL))
        return pa_error(PA_ERR_VALUE, "arange: %g elements from start=%g to end=%g with step=%g "
                        "are too many (at most 2^50)", count, start, end, step);
    int64_t n = (int64_t)count;
    TRY(pa_empty(1, &n, dtype, out));
    PA_DISPATCH_ALL(dtype, T, {
        T *p = (T *)(*out)->data;
        for (int64_t i = 0; i < n; i++) p[i] = (T)(start + (double)i * step);
    });
    return PA_OK;
}

int pa_linspace(double start, double end, int64_t steps, int dtype, pa_tensor **out) {
    if (steps < 0) return pa_error(PA_ERR_VALUE, "linspace: number of steps must be non-negative, got %lld", (long long)steps);
    TRY(pa_empty(1, &steps, dtype, out));
    double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
    int64_t half = steps / 2;
    PA_DISPATCH_ALL(dtype, T, {
        T *p = (T *)(*out)->data;
        /* NOTE: like PyTorch, the second half counts back from `end` so both ends are exact. */
        for (int64_t i = 0; i < steps; i++)
            p[i] = (T)(i < half ? start + step * (double)i : end - step * (double)(steps - 1 - i));
    });
    return PA_OK;
}

int pa_eye(int64_t n, int64_t m, int dtype, pa_tensor **out) {
    int64_t shape[2] = {n, m < 0 ? n : m};
    TRY(pa_full(2, shape, dtype, 0, out));
    PA_DISPATCH_ALL(dtype, T, {
        T *p = (T *)(*out)->data;
        for (int64_t i = 0; i < shape[0] && i < shape[1]; i++) p[i * shape[1] + i] = (T)1;
    });
    return PA_OK;
}

int pa_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides,
                 int dtype, int64_t nbytes_available, void (*release)(void *), void *ctx,
                 pa_tensor **out) {
    PA_REQUIRE("from_numpy", out && (data || nbytes_available == 0) && (ndim == 0 || strides),
               "NULL data, strides or result pointer");
    TRY(check_shape("from_numpy", ndim, shape));
    TRY(check_dtype("from_numpy", dtype));
    /* Every element must lie inside the buffer: find the extreme offsets. */
    int64_t lo = 0, hi = 0, numel = pa_shape_numel(ndim, shape);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) break;
        int64_t span = strides[d] * (shape[d] - 1);
        if (span < 0) lo += span; else hi += span;
    }
    int64_t isz = (int64_t)pa_dtype_size(dtype);
    if (numel > 0 && (lo < 0 || (hi + 1) * isz > nbytes_available))
        return pa_error(PA_ERR_VALUE, "from_numpy: strides reach outside the %lld-byte buffer "
                        "(negative strides are not supported; copy the array first)",
                        (long long)nbytes_available);
    pa_storage *s = malloc(sizeof *s);
    if (!s) return pa_error(PA_ERR_MEMORY, "from_numpy: out of memory");
    *s = (pa_storage){.refcount = 1, .nbytes = (size_t)nbytes_available, .data = data,
                      .release = release, .release_ctx = ctx};
    *out = pa_tensor_wrap(s, 0, ndim, shape, strides, dtype);
    pa_storage_release(s);
    return *out ? PA_OK : PA_ERR_MEMORY;
}

int pa_from_data(const void *data, int64_t nbytes, int ndim, const int64_t *shape, int dtype,
                 pa_tensor **out) {
    PA_REQUIRE("tensor", data || nbytes == 0, "NULL data with a non-zero size");
    TRY(pa_empty(ndim, shape, dtype, out));
    int64_t need = (*out)->numel * (int64_t)pa_dtype_size(dtype);
    if (nbytes != need) {
        char buf[128];
        pa_tensor_release(*out);
        *out = NULL;
        return pa_error(PA_ERR_VALUE, "tensor: %lld bytes of data do not fill shape %s of %s (%lld bytes)",
                        (long long)nbytes, pa_shape_str(ndim, shape, buf, sizeof buf),
                        pa_dtype_name(dtype), (long long)need);
    }
    if (need) memcpy((*out)->data, data, (size_t)need);
    return PA_OK;
}

/* ---- copies -------------------------------------------------------------------- */
/* dst[i] = (TD)src[i] over an iterator with dst as operand 0 and src as operand 1. */
/* Elements [e0, e1) of the iteration (row by row, in order: pa_iter_next_row).
 * NOTE: a broadcast source row (stride 0: the expanded gradient of a sum, made
 * contiguous by the op it reaches) went through the strided loop: softmax(x).sum()
 * forward + backward on (1024, 1000), 1 thread, 1.78 -> 1.35 ms with the fill. */
#define COPY_RANGE(TD, TS, E0, E1)                                                    \
    do {                                                                              \
        int64_t idx[8], off[2], e = (E0), end = (E1), col = e % it.inner;             \
        pa_iter_start(&it, e / it.inner, idx, off);                                   \
        int64_t sd = it.strides[0][it.ndim - 1], ss = it.strides[1][it.ndim - 1];     \
        while (e < end) {                                                             \
            int64_t n = it.inner - col < end - e ? it.inner - col : end - e;          \
            TD *d = (TD *)dst->data + off[0] + col * sd;                              \
            const TS *s = (const TS *)src->data + off[1] + col * ss;                  \
            if (sd == 1 && ss == 1)                                                   \
                for (int64_t i = 0; i < n; i++) d[i] = (TD)s[i];                      \
            else if (sd == 1 && ss == 0) { /* a broadcast row: a fill */              \
                TD v_ = (TD)s[0];                                                     \
                for (int64_t i = 0; i < n; i++) d[i] = v_;                            \
            } else                                                                    \
                for (int64_t i = 0; i < n; i++) d[i * sd] = (TD)s[i * ss];            \
            e += n;                                                                   \
            col = 0;                                                                  \
            pa_iter_next_row(&it, idx, off);                                          \
        }                                                                             \
    } while (0)

/* All elements, split into one contiguous range per thread when the copy is large:
 * each element is copied once by the same expression, so the split changes nothing.
 * NOTE: split by elements, not rows: a contiguous copy is one long row (clone, and the
 * result of an in-place op copied into place, ran on one thread).
 * NOTE: the copy loop stays inline rather than going through pa_run_loop's per-row call
 * of a loop function: with short rows (the head merge transpose(1, 2).reshape of
 * (32, 64, 16, 16): 32,768 rows of 16) that call took it from 75 to 188 us, 2 threads. */
#define COPY_LOOP(TD, TS)                                                             \
    {                                                                                 \
        int64_t total = it.rows * it.inner;                                           \
        int nt = pa_threads_for_elements(total);                                      \
        PA_PARALLEL_FOR(nt, for (int t = 0; t < nt; t++) {                            \
            COPY_RANGE(TD, TS, total * t / nt, total * (t + 1) / nt);                 \
        });                                                                           \
    }

/* Strides of `src` aligned to a broadcast target shape (0 on broadcast dims). */
static void broadcast_strides(const pa_tensor *src, int ndim, const int64_t *shape,
                              int64_t *strides) {
    int lead = ndim - src->ndim;
    for (int d = 0; d < ndim; d++) {
        int sd = d - lead;
        strides[d] = (sd < 0 || src->shape[sd] == 1 || shape[d] == 1) ? 0 : src->strides[sd];
    }
}

/* A same-dtype copy whose last two (merged) dims are contiguous in opposite operands:
 * a transpose, done tile by tile (kernels/transpose.c) instead of reading one side down
 * its columns.  Returns 0 when the copy is not of that kind. */
static int copy_transposed(pa_tensor *dst, const pa_tensor *src, const pa_iter *it) {
    size_t es = pa_dtype_size(dst->dtype);
    int n = it->ndim;
    if (dst->dtype != src->dtype || (es != 4 && es != 8) || n < 2) return 0;
    const int64_t *sd = it->strides[0], *ss = it->strides[1];
    int64_t rows = it->shape[n - 2], cols = it->shape[n - 1];
    if (rows < 8 || cols < 8) return 0;
    /* dst[r][c] = src[r][c] with either dst or src walking rows along its unit stride */
    int dst_rows = sd[n - 1] == 1 && ss[n - 2] == 1 && ss[n - 1] > 0 && sd[n - 2] > 0;
    int src_rows = ss[n - 1] == 1 && sd[n - 2] == 1 && sd[n - 1] > 0 && ss[n - 2] > 0;
    if (!dst_rows && !src_rows) return 0;
    for (int64_t o = 0; o < it->rows / rows; o++) {
        int64_t off[2];
        pa_iter_offsets(it, o * rows, off);
        char *d = dst->data + off[0] * (int64_t)es;
        const char *s = src->data + off[1] * (int64_t)es;
        if (dst_rows)
            pa_kernel_transpose(es, rows, cols, s, ss[n - 1], d, sd[n - 2]);
        else  /* the transpose of the same copy: dst^T (cols x rows) from src^T */
            pa_kernel_transpose(es, cols, rows, s, ss[n - 2], d, sd[n - 1]);
    }
    return 1;
}

/* Copies src into dst (shapes broadcast-compatible, checked by the caller), casting
 * between any dtypes. */
static void copy_cast(pa_tensor *dst, const pa_tensor *src) {
    int64_t sstrides[PA_MAX_DIMS];
    broadcast_strides(src, dst->ndim, dst->shape, sstrides);
    const int64_t *strides[2] = {dst->strides, sstrides};
    pa_iter it;
    pa_iter_init(&it, dst->ndim, dst->shape, 2, strides);
    if (dst->dtype == PA_BOOL) {
        PA_DISPATCH_ALL(src->dtype, TS, {
            for (int64_t r = 0; r < it.rows; r++) {
                int64_t off[2];
                pa_iter_offsets(&it, r, off);
                uint8_t *d = (uint8_t *)dst->data + off[0];
                const TS *s = (const TS *)src->data + off[1];
                for (int64_t i = 0; i < it.inner; i++)
                    d[i * it.strides[0][it.ndim - 1]] = s[i * it.strides[1][it.ndim - 1]] != 0;
            }
        });
        return;
    }
    if (it.rows == 0 || copy_transposed(dst, src, &it)) return;
    PA_DISPATCH_ALL(dst->dtype, TD, { PA_DISPATCH_ALL(src->dtype, TS, { COPY_LOOP(TD, TS) }); });
}

void pa_copy_strided(pa_tensor *dst, const pa_tensor *src) { copy_cast(dst, src); }

pa_tensor *pa_contiguous_nograd(pa_tensor *a) {
    if (pa_tensor_is_contiguous(a)) {
        pa_tensor_retain(a);
        return a;
    }
    pa_tensor *c = pa_tensor_new_like(a);
    if (c) copy_cast(c, a);
    return c;
}

pa_tensor *pa_cast_nograd(pa_tensor *a, int dtype) {
    if (a->dtype == dtype) {
        pa_tensor_retain(a);
        return a;
    }
    pa_tensor *c = pa_tensor_new(a->ndim, a->shape, dtype);
    if (c) copy_cast(c, a);
    return c;
}

int pa_to_contiguous_buffer(const pa_tensor *t, void *dst, int64_t nbytes) {
    PA_REQUIRE("numpy", t && (dst || nbytes == 0), "NULL tensor or destination");
    int64_t need = t->numel * (int64_t)pa_dtype_size(t->dtype);
    if (nbytes != need)
        return pa_error(PA_ERR_VALUE, "numpy: buffer of %lld bytes for a tensor of %lld bytes",
                        (long long)nbytes, (long long)need);
    pa_storage s = {.refcount = 1, .nbytes = (size_t)nbytes, .data = dst};
    pa_tensor d = {.refcount = 1, .storage = &s, .data = dst, .ndim = t->ndim,
                   .dtype = t->dtype, .numel = t->numel};
    memcpy(d.shape, t->shape, sizeof d.shape);
    pa_contiguous_strides(t->ndim, t->shape, d.strides);
    copy_cast(&d, t);
    return PA_OK;
}

int pa_as_strided(pa_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                  int64_t storage_offset, pa_tensor **out) {
    PA_REQUIRE("as_strided", t && out && (ndim == 0 || (shape && strides)), "NULL tensor or argument");
    char b1[128];
    if (ndim < 0 || ndim > PA_MAX_DIMS)
        return pa_error(PA_ERR_VALUE, "as_strided: %d dims, at most %d", ndim, PA_MAX_DIMS);
    TRY(check_shape("as_strided", ndim, shape));
    if (storage_offset < 0)
        return pa_error(PA_ERR_RUNTIME, "as_strided: Tensor: invalid storage offset %lld",
                        (long long)storage_offset);
    int64_t numel = 1, last = storage_offset;
    for (int d = 0; d < ndim; d++) {
        if (strides[d] < 0)
            return pa_error(PA_ERR_RUNTIME, "as_strided: Negative strides are not supported at the moment, "
                            "got stride %lld in dim %d", (long long)strides[d], d);
        numel *= shape[d];
    }
    int64_t capacity = (int64_t)(t->storage->nbytes / pa_dtype_size(t->dtype)), step;
    for (int d = 0; numel > 0 && d < ndim; d++)  /* the last element reached, saturating */
        if (__builtin_mul_overflow(shape[d] - 1, strides[d], &step) || __builtin_add_overflow(last, step, &last))
            last = INT64_MAX;
    if (numel > 0 && last >= capacity) {
        pa_tensor tmp = {.ndim = ndim};
        memcpy(tmp.shape, shape, (size_t)ndim * sizeof *shape);
        return pa_error(PA_ERR_RUNTIME, "as_strided: shape %s with storage offset %lld reaches element %lld, "
                        "but the storage holds %lld", PA_SHAPE_STR(&tmp, b1), (long long)storage_offset,
                        (long long)last, (long long)capacity);
    }
    *out = pa_tensor_view_of(t, storage_offset, ndim, shape, strides);
    return *out ? PA_OK : PA_ERR_MEMORY;
}

/* In-place writes: refused into a tensor that requires grad (not recorded here), and,
 * unless every element gets the same value (fill_), into one whose elements overlap. */
static int check_inplace_grad(const char *op, const pa_tensor *t) {
    if (t->requires_grad && pa_is_grad_enabled() && !t->grad_fn)
        return pa_error(PA_ERR_RUNTIME, "%s: a leaf Variable that requires grad is being used "
                        "in an in-place operation (wrap it in no_grad())", op);
    if (t->requires_grad && pa_is_grad_enabled())
        return pa_error(PA_ERR_RUNTIME, "%s: writing in place into a tensor that requires grad "
                        "(the output of %s) is not recorded by pyautodiff's autograd; compute "
                        "the new values out of place (e.g. torch.where) or use no_grad()", op,
                        pa_op_name(t->grad_fn->op));
    return PA_OK;
}

static int check_inplace(const char *op, const pa_tensor *t) {
    TRY(check_inplace_grad(op, t));
    return pa_check_no_internal_overlap(op, t);
}

int pa_copy_(pa_tensor *dst, const pa_tensor *src) {
    PA_REQUIRE("copy_", dst && src, "NULL tensor");
    TRY(check_inplace("copy_", dst));
    int lead = dst->ndim - src->ndim;
    bool ok = lead >= 0;
    for (int d = 0; ok && d < src->ndim; d++)
        ok = src->shape[d] == 1 || src->shape[d] == dst->shape[d + lead];
    if (!ok) {
        char b1[128], b2[128];
        return pa_error(PA_ERR_VALUE, "copy_: source of shape %s cannot be broadcast to %s",
                        PA_SHAPE_STR(src, b1), PA_SHAPE_STR(dst, b2));
    }
    if (dst->storage == src->storage) {
        /* Overlap is possible: go through a temporary. */
        pa_tensor *tmp = pa_tensor_new(src->ndim, src->shape, src->dtype);
        PA_CHECK_OOM(tmp);
        copy_cast(tmp, src);
        copy_cast(dst, tmp);
        pa_tensor_release(tmp);
    } else {
        copy_cast(dst, src);
    }
    pa_bump_version(dst);
    return PA_OK;
}

int pa_fill_(pa_tensor *t, double value) {
    PA_REQUIRE("fill_", t, "NULL tensor or result pointer");
    TRY(check_inplace_grad("fill_", t));  /* (overlapping elements all get the value) */
    pa_tensor *src;
    TRY(pa_full(0, NULL, PA_FLOAT64, value, &src));
    copy_cast(t, src);
    pa_tensor_release(src);
    pa_bump_version(t);
    return PA_OK;
}

int pa_item(const pa_tensor *t, double *out) {
    PA_REQUIRE("item", t && out, "NULL tensor or result pointer");
    if (t->numel != 1) {
        char b[128];
        return pa_error(PA_ERR_VALUE, "item: a Tensor with %lld elements cannot be converted to "
                        "Scalar (shape %s)", (long long)t->numel, PA_SHAPE_STR(t, b));
    }
    PA_DISPATCH_ALL(t->dtype, T, { *out = (double)*(const T *)t->data; });
    return PA_OK;
}

/* ---- random -------------------------------------------------------------------- */
/* Fills t (any layout) with draws of `next()` in row-major order of its elements. */
#define RANDOM_FILL(t, T, expr)                                                       \
    do {                                                                              \
        pa_tensor *c_ = pa_tensor_new((t)->ndim, (t)->shape, (t)->dtype);             \
        PA_CHECK_OOM(c_);                                                             \
        T *p_ = (T *)c_->data;                                                        \
        for (int64_t i_ = 0; i_ < c_->numel; i_++) p_[i_] = (T)(expr);                \
        copy_cast((t), c_);                                                           \
        pa_tensor_release(c_);                                                        \
    } while (0)

static int check_float(const char *op, int dtype) {
    if (!pa_is_float(dtype))
        return pa_error(PA_ERR_TYPE, "%s: expected a floating-point dtype, got %s", op,
                        pa_dtype_name(dtype));
    return PA_OK;
}

int pa_uniform_(pa_tensor *t, double low, double high) {
    PA_REQUIRE("uniform_", t, "NULL tensor or result pointer");
    TRY(check_inplace("uniform_", t));
    TRY(check_float("uniform_", t->dtype));
    if (!(low <= high)) return pa_error(PA_ERR_VALUE, "uniform_: expects low <= high, got low=%g, high=%g", low, high);
    PA_DISPATCH_FLOAT(t->dtype, T, { RANDOM_FILL(t, T, low + (high - low) * pa_rng_uniform()); });
    pa_bump_version(t);
    return PA_OK;
}

int pa_normal_(pa_tensor *t, double mean, double std) {
    PA_REQUIRE("normal_", t, "NULL tensor or result pointer");
    TRY(check_inplace("normal_", t));
    TRY(check_float("normal_", t->dtype));
    if (!(std >= 0)) return pa_error(PA_ERR_VALUE, "normal_: expects std >= 0.0, got std=%g", std);
    PA_DISPATCH_FLOAT(t->dtype, T, { RANDOM_FILL(t, T, mean + std * pa_rng_normal()); });
    pa_bump_version(t);
    return PA_OK;
}

int pa_rand(int ndim, const int64_t *shape, int dtype, pa_tensor **out) {
    TRY(check_float("rand", dtype));
    TRY(pa_empty(ndim, shape, dtype, out));
    PA_DISPATCH_FLOAT(dtype, T, {
        T *p = (T *)(*out)->data;
        for (int64_t i = 0; i < (*out)->numel; i++) {
            T v;
            do v = (T)pa_rng_uniform(); while (v >= (T)1);  /* rounding to float may reach 1 */
            p[i] = v;
        }
    });
    return PA_OK;
}

int pa_randn(int ndim, const int64_t *shape, int dtype, pa_tensor **out) {
    TRY(check_float("randn", dtype));
    TRY(pa_empty(ndim, shape, dtype, out));
    PA_DISPATCH_FLOAT(dtype, T, {
        T *p = (T *)(*out)->data;
        for (int64_t i = 0; i < (*out)->numel; i++) p[i] = (T)pa_rng_normal();
    });
    return PA_OK;
}

/* Uniform integer in [0, n) without modulo bias (Lemire's method). */
static uint64_t rng_below(uint64_t n) {
    unsigned __int128 m = (unsigned __int128)pa_rng_next() * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            m = (unsigned __int128)pa_rng_next() * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int pa_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, pa_tensor **out) {
    if (high <= low)
        return pa_error(PA_ERR_VALUE, "randint: expects low < high, got low=%lld, high=%lld",
                        (long long)low, (long long)high);
    TRY(pa_empty(ndim, shape, PA_INT64, out));
    int64_t *p = (int64_t *)(*out)->data;
    uint64_t range = (uint64_t)high - (uint64_t)low;
    for (int64_t i = 0; i < (*out)->numel; i++) p[i] = low + (int64_t)rng_below(range);
    return PA_OK;
}

int pa_randperm(int64_t n, pa_tensor **out) {
    if (n < 0) return pa_error(PA_ERR_VALUE, "randperm: n must be non-negative, got %lld", (long long)n);
    TRY(pa_empty(1, &n, PA_INT64, out));
    int64_t *p = (int64_t *)(*out)->data;
    for (int64_t i = 0; i < n; i++) p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {  /* Fisher-Yates */
        int64_t j = (int64_t)rng_below((uint64_t)i + 1);
        int64_t tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    return PA_OK;
}
