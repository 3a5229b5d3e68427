/* Small helpers shared by the layer ops (conv.c, pool.c, norm.c, dropout.c,
 * embedding.c): argument checks with uniform messages and node recording. */
#ifndef PA_OPS_LAYER_UTIL_H
#define PA_OPS_LAYER_UTIL_H

#include "../kernels/gemm.h"
#include "loops.h"

#ifndef TRY
#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)
#endif

/* `t` (the op's argument `what`) must be float32/float64, and of `dtype` when dtype >= 0. */
static inline int pa_layer_check_float(const char *op, const char *what, const pa_tensor *t,
                                       int dtype) {
    if (!t) return pa_error(PA_ERR_VALUE, "%s: invalid argument: %s is NULL", op, what);
    if (!pa_is_float(t->dtype))
        return pa_error(PA_ERR_TYPE, "%s: expected %s to be float32 or float64, got %s", op, what,
                        pa_dtype_name(t->dtype));
    if (dtype >= 0 && t->dtype != dtype)
        return pa_error(PA_ERR_TYPE, "%s: expected %s to have dtype %s (as the input), got %s", op,
                        what, pa_dtype_name(dtype), pa_dtype_name(t->dtype));
    return PA_OK;
}

/* `t` (argument `what`) must be 1-d with n entries. */
static inline int pa_layer_check_vector(const char *op, const char *what, const pa_tensor *t,
                                        int64_t n, int dtype) {
    TRY(pa_layer_check_float(op, what, t, dtype));
    if (t->ndim != 1 || t->shape[0] != n) {
        char b[128];
        return pa_error(PA_ERR_VALUE, "%s: expected %s of shape (%lld,), got %s", op, what,
                        (long long)n, PA_SHAPE_STR(t, b));
    }
    return PA_OK;
}

/* C = op(A) @ op(B) + beta * C in float32 or float64 (dtype), alpha 1: the row-major
 * GEMM kernel of that type (kernels/gemm.h). */
static inline void pa_layer_gemm(int dtype, int ta, int tb, int64_t m, int64_t n, int64_t k,
                                 const void *a, int64_t lda, const void *b, int64_t ldb,
                                 double beta, void *c, int64_t ldc) {
    if (dtype == PA_FLOAT32)
        pa_kernel_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, (float)beta, c, ldc);
    else
        pa_kernel_dgemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}

/* On failure after the output exists: drops it and returns rc. */
static inline int pa_layer_fail(int rc, pa_tensor **out) {
    pa_tensor_release(*out);
    *out = NULL;
    return rc;
}

#endif
