/* A tiny test harness for the C tests of the core.
 *
 *   CHECK(cond)            a failed condition is printed (file:line and the expression)
 *                          and counted; the test goes on.
 *   CHECK_NEAR(a, b, tol)  |a - b| <= tol * (1 + |b|), with both values printed.
 *   CHECK_ERR(expr, code, text)
 *                          expr returns the PA_ERR_* `code` and the recorded message
 *                          contains `text`.
 *   OK(expr)               expr must return PA_OK; otherwise the error message is
 *                          printed and the program exits (later lines would use the
 *                          result).
 *
 * Each program's main() runs its RUN(test) lines and returns check_finish(): non-zero
 * when any check failed.  Helpers build tensors from double arrays and read them back. */
#ifndef PA_TESTS_CHECK_H
#define PA_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyautodiff.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        check_count++;                                                                   \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double a_ = (a), b_ = (b);                                                       \
        check_count++;                                                                   \
        if (!(fabs(a_ - b_) <= (tol) * (1 + fabs(b_)))) {                                \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.17g, %s = %.17g (tol %g)\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));                 \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

#define CHECK_ERR(expr, code, text)                                                      \
    do {                                                                                 \
        pa_clear_error();                                                                \
        int rc_ = (expr);                                                                \
        check_count++;                                                                   \
        if (rc_ != (code) || pa_last_error_code() != (code) ||                           \
            !strstr(pa_last_error_message(), (text))) {                                  \
            fprintf(stderr, "%s:%d: CHECK_ERR failed: %s returned %d (want %d), "         \
                    "message \"%s\" (want \"%s\")\n", __FILE__, __LINE__, #expr, rc_,     \
                    (int)(code), pa_last_error_message(), (text));                       \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

#define OK(expr)                                                                         \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_ != PA_OK) {                                                              \
            fprintf(stderr, "%s:%d: %s failed with code %d: %s\n", __FILE__, __LINE__,   \
                    #expr, rc_, pa_last_error_message());                                \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#define RUN(test)                                                                        \
    do {                                                                                 \
        int before_ = check_failures;                                                    \
        test();                                                                          \
        printf("%-32s %s\n", #test, check_failures == before_ ? "ok" : "FAILED");        \
    } while (0)

static int check_finish(const char *program) {
    printf("%s: %d checks, %d failed\n", program, check_count, check_failures);
    return check_failures ? 1 : 0;
}

/* The live-object counters at the start of a program, compared at its end. */
typedef struct {
    int64_t tensors, nodes, bytes;
} live_counts;

static live_counts live_now(void) {
    return (live_counts){pa_live_tensors(), pa_live_nodes(), pa_live_storage_bytes()};
}

#define CHECK_LIVE(base)                                                                 \
    do {                                                                                 \
        live_counts now_ = live_now();                                                   \
        CHECK(now_.tensors == (base).tensors);                                           \
        CHECK(now_.nodes == (base).nodes);                                               \
        CHECK(now_.bytes == (base).bytes);                                               \
    } while (0)

/* A contiguous tensor of `dtype` (float32, float64 or int64) holding `v`. */
static pa_tensor *make(int ndim, const int64_t *shape, int dtype, const double *v) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    size_t isz = pa_dtype_size(dtype);
    char *buf = malloc((size_t)(n > 0 ? n : 1) * isz);
    if (!buf) abort();
    for (int64_t i = 0; i < n; i++) {
        if (dtype == PA_FLOAT32) ((float *)buf)[i] = (float)v[i];
        else if (dtype == PA_FLOAT64) ((double *)buf)[i] = v[i];
        else if (dtype == PA_INT64) ((int64_t *)buf)[i] = (int64_t)v[i];
        else ((unsigned char *)buf)[i] = v[i] != 0;
    }
    pa_tensor *t = NULL;
    OK(pa_from_data(buf, n * (int64_t)isz, ndim, shape, dtype, &t));
    free(buf);
    return t;
}

/* t's elements in row-major order (any layout, any dtype) into v[0 .. numel). */
static void values(const pa_tensor *t, double *v) {
    size_t isz = pa_dtype_size(t->dtype);
    char *buf = malloc((size_t)(t->numel > 0 ? t->numel : 1) * isz);
    if (!buf) abort();
    OK(pa_to_contiguous_buffer(t, buf, t->numel * (int64_t)isz));
    for (int64_t i = 0; i < t->numel; i++) {
        if (t->dtype == PA_FLOAT32) v[i] = ((float *)buf)[i];
        else if (t->dtype == PA_FLOAT64) v[i] = ((double *)buf)[i];
        else if (t->dtype == PA_INT64) v[i] = (double)((int64_t *)buf)[i];
        else v[i] = ((unsigned char *)buf)[i];
    }
    free(buf);
}

/* Checks t's shape and values against the expected ones. */
#define CHECK_TENSOR(t, ndim_, shape_, expect_, tol)                                     \
    do {                                                                                 \
        const pa_tensor *t_ = (t);                                                       \
        const int64_t *s_ = (shape_);                                                    \
        const double *e_ = (expect_);                                                    \
        CHECK(t_->ndim == (ndim_));                                                      \
        int same_ = t_->ndim == (ndim_);                                                 \
        for (int d_ = 0; same_ && d_ < (ndim_); d_++) same_ = t_->shape[d_] == s_[d_];    \
        CHECK(same_);                                                                    \
        if (same_) {                                                                     \
            double *v_ = malloc((size_t)(t_->numel > 0 ? t_->numel : 1) * sizeof *v_);   \
            if (!v_) abort();                                                            \
            values(t_, v_);                                                              \
            for (int64_t i_ = 0; i_ < t_->numel; i_++) {                                 \
                check_count++;                                                           \
                if (!(fabs(v_[i_] - e_[i_]) <= (tol) * (1 + fabs(e_[i_])))) {            \
                    fprintf(stderr, "%s:%d: CHECK_TENSOR failed: %s[%lld] = %.17g, want " \
                            "%.17g (tol %g)\n", __FILE__, __LINE__, #t, (long long)i_,    \
                            v_[i_], e_[i_], (double)(tol));                              \
                    check_failures++;                                                    \
                }                                                                        \
            }                                                                            \
            free(v_);                                                                    \
        }                                                                                \
    } while (0)

static double item(const pa_tensor *t) {
    double v = NAN;
    OK(pa_item(t, &v));
    return v;
}

#endif
